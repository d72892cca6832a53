"""What each notification says, once, rendered for e-mail, Slack and Jira."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.urls import reverse

from requests_app import policy
from requests_app.integrations import links
from requests_app.integrations.jira.client import adf_document, adf_paragraph, adf_text
from requests_app.integrations.slack import SlackMessage
from requests_app.permissions import policy_of

TITLES = {
    "approval_needed": "Approval needed: temporary admin",
    "granted": "Temporary admin granted",
    "extended": "Temporary admin extended",
    "expiring_soon": "Temporary admin ends soon",
    "expired": "Temporary admin expired",
    "revoked": "Temporary admin revoked",
    "failed": "Temporary admin could not be granted",
    "denied": "Temporary admin request denied",
    "admin_alert": "Elevate needs an admin",
}
# The footer under every e-mail, but those that are not a preference (the managers' digest).
PREFERENCE_FOOTER = "-- Elevate (you can change these e-mails under Notifications in the portal)"


@dataclass
class Rendered:
    title: str
    text: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)  # (label, absolute url)
    footer: str = PREFERENCE_FOOTER

    def email(self) -> tuple[str, str]:
        lines = [self.text, ""]
        lines += [f"{label}: {value}" for label, value in self.fields]
        if self.links:
            lines.append("")
            lines += [f"{label}: {url}" for label, url in self.links]
        lines += ["", self.footer]
        return f"[Elevate] {self.title}", "\n".join(lines)

    def slack(self) -> SlackMessage:
        return SlackMessage(self.title, self.text, self.fields, self.links, context="Elevate")

    def jira(self) -> dict:
        paragraphs = [adf_paragraph(adf_text(self.text))]
        paragraphs += [adf_paragraph(adf_text(f"{label}: ", strong=True), value) for label, value in self.fields]
        paragraphs += [adf_paragraph(adf_text(label, href=url)) for label, url in self.links]
        return adf_document(*paragraphs)


def portal_url(elevation) -> str:
    return settings.ELEVATE_BASE_URL + reverse("requests_app:detail", args=[elevation.public_id])


def when(moment: datetime | None, timezone_name: str = "UTC") -> str:
    if moment is None:
        return "-"
    try:
        zone = zoneinfo.ZoneInfo(timezone_name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def render(event: str, elevation, *, recipient=None, bind_links: bool = True, detail: str = "") -> Rendered:
    """The message for `event` on `elevation`, times in the recipient's zone (else UTC).

    `bind_links` ties one-click links to the recipient; channel posts (Slack channels, Jira)
    carry unbound links that still require the signed-in person to be allowed to act.
    """
    zone = getattr(recipient, "timezone", "UTC") if recipient is not None else "UTC"
    who = elevation.beneficiary.email
    target = elevation.target_name
    until = when(elevation.expires_at, zone)
    texts = {
        "approval_needed": f"{who} asks for admin on {target} for {policy.human_minutes(elevation.requested_minutes)}.",
        "granted": f"Admin on {target} is granted to {who} until {until}.",
        "extended": f"Admin on {target} for {who} is extended until {until}.",
        "expiring_soon": f"Admin on {target} for {who} ends at {until}.",
        "expired": f"Admin on {target} for {who} expired at {until}.",
        "revoked": f"Admin on {target} for {who} was revoked.",
        "failed": f"Admin on {target} for {who} could not be granted: "
        f"{elevation.last_error or 'the provider refused it'}.",
        "denied": f"The request for admin on {target} for {who} was denied.",
    }
    fields = [("Device", target), ("Reason", elevation.reason[:300])]
    if elevation.ticket_ref:
        fields.append(("Ticket", elevation.ticket_ref))
    user = recipient if bind_links else None
    action_links: list[tuple[str, str]] = []
    if event == "approval_needed":
        action_links = [
            ("Approve", links.make_link(action="approve", elevation=elevation, user=user)),
            ("Deny", links.make_link(action="deny", elevation=elevation, user=user)),
        ]
    elif event in ("expired", "revoked") and elevation.activated_at and _is_beneficiary(recipient, elevation):
        # The "ended" message asks what the rights were used for (requests_app/attestation).
        action_links = [("Say what you did with it", attest_url(elevation))]
    elif event == "expiring_soon" and elevation.extensions < policy_of(elevation).max_extensions:
        minutes = (policy_of(elevation).increments or [15])[0]
        label = f"Extend by {policy.human_minutes(minutes)}"
        action_links = [(label, links.make_link(action="extend", elevation=elevation, user=user, minutes=minutes))]
    return Rendered(
        TITLES[event],
        detail or texts[event],
        fields,
        [*action_links, ("Open in Elevate", portal_url(elevation))],
    )


def attest_url(elevation) -> str:
    return settings.ELEVATE_BASE_URL + reverse("attestation:attest", args=[elevation.public_id])


def _is_beneficiary(recipient, elevation) -> bool:
    return recipient is not None and recipient.pk == elevation.beneficiary_id


def render_payload(payload: dict) -> Rendered:
    """A message composed elsewhere and kept in the delivery's payload (the managers' digest)."""
    return Rendered(
        payload["title"],
        payload["text"],
        [tuple(pair) for pair in payload.get("fields", [])],
        [tuple(pair) for pair in payload.get("links", [])],
        footer=payload.get("footer", PREFERENCE_FOOTER),
    )


def render_admin_alert(text: str, url: str = "") -> Rendered:
    return Rendered(TITLES["admin_alert"], text, [], [("Open Elevate", url)] if url else [])
