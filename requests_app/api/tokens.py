"""Personal access tokens: create (the secret is returned once), revoke, and find by secret.

A token reads `elv_<prefix>_<secret>`; only its SHA-256 is stored. The secret has 256 bits of
randomness, so a fast hash is as safe as a slow one and costs nothing per call.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction

from requests_app import audit
from requests_app.api.scopes import SCOPES, STAFF_SCOPES, allowed_scopes, role_scopes
from requests_app.clock import now
from requests_app.errors import NotAllowed, PolicyViolation
from requests_app.models import ApiToken, ApiTokenPolicy, User

TOKEN_START = "elv_"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_create(*, user: User, name: str, scopes: list[str], days: int | None = None) -> tuple[ApiToken, str]:
    """A new token and its secret (shown once). Refuses scopes beyond the user's roles, staff
    scopes without MFA, and lifetimes beyond the admins' maximum."""
    name = (name or "").strip()
    if not name:
        raise PolicyViolation("Name the token (e.g. the laptop or the script it is for).", field="name")
    wanted = list(dict.fromkeys(scopes))
    if not wanted or any(scope not in SCOPES for scope in wanted):
        raise PolicyViolation(f"Choose scopes among: {', '.join(SCOPES)}.", field="scopes")
    beyond = set(wanted) - role_scopes(user)
    if beyond:
        raise NotAllowed(f"Your roles do not allow the scope {', '.join(sorted(beyond))}.", field="scopes")
    if set(wanted) & STAFF_SCOPES and not set(wanted) <= allowed_scopes(user):
        raise NotAllowed("Staff scopes need two-factor authentication on your account first.", field="scopes")
    lifetimes = ApiTokenPolicy.current()
    days = lifetimes.default_days if days is None else days
    if not 1 <= days <= lifetimes.max_days:
        raise PolicyViolation(f"A token lasts 1 to {lifetimes.max_days} days.", field="days")
    prefix = secrets.token_hex(4)
    secret = f"{TOKEN_START}{prefix}_{secrets.token_urlsafe(32)}"
    current = now()
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name[:100],
            prefix=prefix,
            token_hash=hash_secret(secret),
            scopes=wanted,
            created_at=current,
            expires_at=current + timedelta(days=days),
        )
        audit.record(
            "api_token.created",
            actor=user,
            target=token,
            after={"name": token.name, "scopes": wanted, "expires_at": token.expires_at.isoformat()},
        )
    return token, secret


def token_revoke(*, token: ApiToken, actor: User) -> ApiToken:
    """End a token now: its owner, or an admin, may."""
    if actor.pk != token.user_id and not actor.is_superuser:
        raise NotAllowed("Only the token's owner or an admin may revoke it.")
    if token.revoked_at is not None:
        return token
    with transaction.atomic():
        token.revoked_at, token.revoked_by = now(), actor
        token.save(update_fields=["revoked_at", "revoked_by"])
        audit.record("api_token.revoked", actor=actor, target=token, after={"owner": token.user.email})
    return token


def token_for_secret(secret: str) -> ApiToken | None:
    """The live token with this secret (not revoked, not expired, owner active), else None."""
    if not secret.startswith(TOKEN_START):
        return None
    token = ApiToken.objects.select_related("user").filter(token_hash=hash_secret(secret)).first()
    if token is None or token.revoked_at is not None or token.expires_at <= now() or not token.user.is_active:
        return None
    return token


def note_use(token: ApiToken) -> None:
    """Last-used time, written at most once a minute per token (every call would be a write)."""
    current = now()
    if token.last_used_at is None or current - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=current)
        token.last_used_at = current


def tokens_of(user: User):
    return ApiToken.objects.filter(user=user).order_by("-created_at")
