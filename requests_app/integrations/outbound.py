"""Outgoing URLs that someone other than an admin can set (a personal Slack webhook): where the
portal may be made to send a request, checked when the URL is saved and again when it is used.

Without this, any employee could point the notification worker at `http://127.0.0.1:…` or a
cloud metadata address (server-side request forgery). The rule: `https` on a host listed in
ELEVATE_WEBHOOK_ALLOWED_HOSTS (default `hooks.slack.com`), resolving only to public addresses,
and the request goes to the address that was checked (no second DNS answer), without redirects.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings

from requests_app.errors import PolicyViolation


class UnsafeUrl(PolicyViolation):
    """An outgoing URL the portal refuses to call."""


@dataclass(frozen=True)
class PinnedUrl:
    """A checked URL, rewritten to the address that was checked; send it with `headers` and
    `extensions` so the Host header and the TLS name stay the original host's."""

    url: str
    host: str
    port: int | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Host": f"{self.host}:{self.port}" if self.port else self.host}

    @property
    def extensions(self) -> dict[str, str]:
        return {"sni_hostname": self.host}


def allowed_hosts() -> list[str]:
    return [host.lower() for host in settings.ELEVATE_WEBHOOK_ALLOWED_HOSTS]


def check_webhook_url(url: str) -> str:
    """The URL if its form is acceptable (scheme, host on the list); else UnsafeUrl. No DNS."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" and not (parts.scheme == "http" and _loopback_http_allowed(host)):
        raise UnsafeUrl("A webhook URL must start with https://.", field="slack_webhook_url")
    if parts.username or parts.password:
        raise UnsafeUrl("A webhook URL cannot carry a user name or password.", field="slack_webhook_url")
    hosts = allowed_hosts()
    if host not in hosts:
        raise UnsafeUrl(
            f"Webhooks may only go to {', '.join(hosts) or 'no host (none is allowed)'}.", field="slack_webhook_url"
        )
    return url.strip()


def pinned(url: str) -> PinnedUrl:
    """Check the URL again and resolve its host now: every address must be public (not loopback,
    private, link-local, multicast or reserved). The answer is the URL with the address in it."""
    check_webhook_url(url)
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        answers = {str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)}
    except (OSError, UnicodeError) as exc:
        raise UnsafeUrl(f"The webhook host {host} cannot be resolved.", field="slack_webhook_url") from exc
    addresses = sorted(ipaddress.ip_address(answer.split("%")[0]) for answer in answers)
    if not addresses or any(not _public(address, host) for address in addresses):
        raise UnsafeUrl(f"The webhook host {host} resolves to an internal address.", field="slack_webhook_url")
    address = addresses[0]
    netloc = f"[{address}]" if address.version == 6 else str(address)
    if parts.port:
        netloc += f":{parts.port}"
    return PinnedUrl(url=urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")), host=host, port=parts.port)


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address, host: str) -> bool:
    if address.is_loopback and _loopback_http_allowed(host):
        return True
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_global and not (address.is_multicast or address.is_reserved or address.is_unspecified)


def _loopback_http_allowed(host: str) -> bool:
    """Test stacks only: a simulator on a loopback host that is itself on the allowed list."""
    return settings.ELEVATE_WEBHOOK_ALLOW_LOOPBACK and host in allowed_hosts()
