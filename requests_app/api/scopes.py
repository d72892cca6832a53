"""What a token may do. A scope is offered only to a user whose roles allow it, and each call
uses only the scopes its owner still holds: a token never outlives a role taken away.

Staff scopes act on other people's elevations or read the whole trail; like the staff pages they
need MFA on the account (a token cannot answer a second-factor prompt, so the account must
have one set up, and keep it, for the scope to work)."""

from __future__ import annotations

from allauth.mfa.utils import is_mfa_enabled

from requests_app import permissions
from requests_app.models import User

READ, REQUEST, APPROVE, HELPDESK, AUDIT = "read", "request", "approve", "helpdesk", "audit"
SCOPES = (READ, REQUEST, APPROVE, HELPDESK, AUDIT)
STAFF_SCOPES = frozenset({APPROVE, HELPDESK, AUDIT})
DESCRIPTIONS = {
    READ: "See your devices, elevations and the policies that apply to you",
    REQUEST: "Ask for, extend and revoke your own elevations",
    APPROVE: "Approve or deny requests you are an approver of",
    HELPDESK: "Search people and devices, grant on behalf, extend and revoke anyone's, bulk revoke",
    AUDIT: "Read and export the audit trail",
}


def role_scopes(user: User) -> set[str]:
    """The scopes the user's roles allow, MFA aside."""
    if not user.is_active:
        return set()
    allowed = {READ, REQUEST}
    if permissions.approves_any(user):
        allowed.add(APPROVE)
    if user.has_perm(permissions.ACT_FOR_OTHERS):
        allowed.add(HELPDESK)
    if user.has_perm(permissions.VIEW_AUDIT):
        allowed.add(AUDIT)
    return allowed


def has_mfa(user: User) -> bool:
    return is_mfa_enabled(user, permissions.SECOND_FACTORS)


def allowed_scopes(user: User) -> set[str]:
    """The scopes a token of this user may hold right now (staff scopes only with MFA)."""
    allowed = role_scopes(user)
    if allowed & STAFF_SCOPES and not has_mfa(user):
        allowed -= STAFF_SCOPES
    return allowed
