"""On every SSO sign-in: portal roles from the IdP's groups claim, and the manager, if configured."""

from __future__ import annotations

from allauth.account.signals import user_logged_in
from allauth.socialaccount.models import SocialAccount
from django.conf import settings
from django.contrib.auth.models import Group
from django.dispatch import receiver

from requests_app import audit
from requests_app.models import User
from requests_app.roles import ROLES, ensure_roles


def claims_of(sociallogin) -> dict:
    """The user's claims as the IdP sent them this time (userinfo preferred, else the ID token)."""
    data = sociallogin.account.extra_data or {}
    return data.get("userinfo") or data.get("id_token") or data


def address_as_sent(user: User) -> str:
    """The user's e-mail address with the capitals the identity provider sent, else `user.email`.

    The portal keeps addresses in lower case; some providers (JumpCloud's v1 filter) match them
    case-sensitively, so the original spelling is the best first guess there.
    """
    for extra_data in SocialAccount.objects.filter(user=user).values_list("extra_data", flat=True):
        data = extra_data or {}
        sent = str((data.get("userinfo") or data.get("id_token") or data).get("email") or "").strip()
        if sent and sent.casefold() == (user.email or "").casefold():
            return sent
    return user.email


def roles_from_claims(claims: dict) -> set[str] | None:
    """The portal roles the IdP's groups claim maps to; None when no mapping is configured."""
    mapping: dict[str, str] = settings.ELEVATE_SSO_GROUP_ROLES
    if not mapping:
        return None
    groups = claims.get(settings.ELEVATE_SSO_GROUPS_CLAIM) or []
    if isinstance(groups, str):
        groups = [groups]
    roles = {mapping[g] for g in groups if g in mapping}
    roles |= set(settings.ELEVATE_SSO_DEFAULT_ROLES)
    return {role for role in roles if role in ROLES}


def sync_roles(user: User, claims: dict) -> None:
    """Make the user's portal role groups match the IdP; other Django groups are left alone."""
    wanted = roles_from_claims(claims)
    if wanted is None:
        return
    ensure_roles()
    held = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
    if held == wanted:
        return
    user.groups.remove(*Group.objects.filter(name__in=held - wanted))
    user.groups.add(*Group.objects.filter(name__in=wanted - held))
    audit.record(
        "auth.roles_synced",
        actor=user,
        target=user,
        before={"roles": sorted(held)},
        after={"roles": sorted(wanted)},
        reason="Roles from the identity provider's groups claim.",
    )


def sync_manager(user: User, claims: dict) -> None:
    claim = settings.ELEVATE_SSO_MANAGER_CLAIM
    if not claim or not claims.get(claim):
        return
    manager = User.objects.filter(email__iexact=str(claims[claim]).strip()).exclude(pk=user.pk).first()
    if manager is not None and manager.pk != user.manager_id:
        before = user.manager.email if user.manager else None
        User.objects.filter(pk=user.pk).update(manager=manager)
        user.manager = manager
        audit.record(
            "user.manager_changed",
            actor=user,
            target=user,
            before={"manager": before},
            after={"manager": manager.email},
            reason=f"From the identity provider's {claim} claim.",
        )


@receiver(user_logged_in, dispatch_uid="elevate_sso_sync")
def sync_from_identity_provider(sender, request, user, sociallogin=None, **kwargs):
    if sociallogin is None:
        return
    claims = claims_of(sociallogin)
    sync_roles(user, claims)
    sync_manager(user, claims)
