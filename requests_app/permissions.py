"""Who may see, change, approve or act for whom, and the MFA rule that comes with acting on
someone else's elevation. The one place these are decided: selectors, services, forms, views,
one-click links and notifications ask here, so a link can never do what the page would not.

Refusals: an elevation the user may not see is answered as if it did not exist (404, from the
selectors); a page or an action the user's role does not cover is 403; a staff member without
the second factor their role needs is sent to set it up (auth.mfa.mfa_setup_redirect).
"""

from __future__ import annotations

from collections.abc import Collection

from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required

from requests_app import policy
from requests_app.errors import NotAllowed, SecondFactorRequired
from requests_app.lifecycle import State
from requests_app.models import Elevation, Policy, User

ACT_FOR_OTHERS = "requests_app.act_for_others"  # helpdesk
APPROVE = "requests_app.approve_elevation"
VIEW_AUDIT = "requests_app.view_audit"  # auditors
BREAK_GLASS = "requests_app.break_glass"

SECOND_FACTORS = [Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]


def is_party(user: User, elevation: Elevation) -> bool:
    """The person it is for, or the one who asked for it."""
    return user.pk in (elevation.beneficiary_id, elevation.requester_id)


def policy_of(elevation: Elevation, chooser: policy.PolicyChooser | None = None) -> Policy:
    """The policy the elevation was created under, else the one that applies to it now.
    `chooser` (built for its beneficiary) saves the lookup's queries."""
    if elevation.policy is not None:
        return elevation.policy
    if chooser is not None:
        return chooser(elevation.device)
    return policy.policy_for(elevation.beneficiary, elevation.device)


# ---------------------------------------------------------------------------------------------
# Roles
# ---------------------------------------------------------------------------------------------


def sees_everyones(user: User) -> bool:
    """Helpdesk and auditors read every elevation (the MFA rule below still applies)."""
    return user.has_perm(ACT_FOR_OTHERS) or user.has_perm(VIEW_AUDIT)


def may_act_for(actor: User, beneficiary: User) -> bool:
    """Ask for, extend or end admin rights for `beneficiary`: themselves, or helpdesk for anyone."""
    return actor.pk == beneficiary.pk or actor.has_perm(ACT_FOR_OTHERS)


def approves_any(user: User) -> bool:
    """Someone may_approve could accept for some request: the approver role, a manager, or a
    member of a policy's approver group (what an API token's approve scope is offered for)."""
    if user.has_perm(APPROVE) or user.reports.exists():
        return True
    groups = Policy.objects.exclude(approver_group=None).values_list("approver_group", flat=True)
    return user.groups.filter(pk__in=groups).exists()


def may_break_glass(user: User) -> bool:
    return user.has_perm(BREAK_GLASS)


def role_required(perm: str):
    """A view for one role: signed out, to sign-in; signed in without `perm`, 403 (every role's
    pages answer the same)."""

    def decorator(view):
        return login_required(permission_required(perm, raise_exception=True)(view))

    return decorator


# ---------------------------------------------------------------------------------------------
# One elevation
# ---------------------------------------------------------------------------------------------


def may_view(user: User, elevation: Elevation) -> bool:
    """Own elevations; helpdesk and auditors any; an approver the requests theirs to decide."""
    if is_party(user, elevation) or sees_everyones(user):
        return True
    if elevation.state == State.PENDING_APPROVAL and may_approve(user, elevation):
        return True
    return elevation.approvals.filter(approver=user).exists()  # they decided on it before


def may_change(user: User, elevation: Elevation) -> bool:
    """Extend or revoke: own elevations (asked for or held); helpdesk anyone's."""
    return is_party(user, elevation) or user.has_perm(ACT_FOR_OTHERS)


def may_approve(user: User, elevation: Elevation, *, group_ids: Collection[int] | None = None) -> bool:
    """Decide on the request: never one's own; the beneficiary's manager where the policy says so;
    the policy's approver group (or a superuser) when it names one; else the approver role.
    `group_ids`: the user's groups, when the caller asks about many requests (else queried)."""
    if is_party(user, elevation):
        return False
    rules = policy_of(elevation)
    if rules.approval_by_manager and elevation.beneficiary.manager_id == user.pk:
        return True
    if rules.approver_group_id:
        if user.is_superuser:
            return True
        if group_ids is None:
            group_ids = policy.user_group_ids(user)
        return rules.approver_group_id in group_ids
    return user.has_perm(APPROVE)


# ---------------------------------------------------------------------------------------------
# MFA
# ---------------------------------------------------------------------------------------------


def mfa_required_for(user: User) -> bool:
    """True when one of the user's roles needs MFA (ELEVATE_MFA_REQUIRED_ROLES; superusers count)."""
    return user.is_authenticated and user.has_role(*settings.ELEVATE_MFA_REQUIRED_ROLES)


def needs_mfa_setup(user: User) -> bool:
    """A role that needs MFA, and no second factor yet. The factor is looked up first: staff who
    have one (nearly every staff view) cost one query, not two."""
    return user.is_authenticated and not is_mfa_enabled(user, SECOND_FACTORS) and mfa_required_for(user)


def needs_mfa_for(user: User, elevation: Elevation) -> bool:
    """Reading, changing or deciding on someone else's elevation needs the MFA the staff pages
    need, wherever it happens: its own page (a URL owners share, so no path prefix can guard it),
    a one-click link, an htmx poll. One's own elevations never do."""
    return not is_party(user, elevation) and needs_mfa_setup(user)


def check_mfa_for(user: User, elevation: Elevation) -> None:
    if needs_mfa_for(user, elevation):
        raise SecondFactorRequired()


# ---------------------------------------------------------------------------------------------
# The checks services run (NotAllowed with a message for the person who asked)
# ---------------------------------------------------------------------------------------------


def check_may_act_for(actor: User, beneficiary: User) -> None:
    if not may_act_for(actor, beneficiary):
        raise NotAllowed("Only helpdesk may act on someone else's elevation.")


def check_may_change(actor: User, elevation: Elevation) -> None:
    if not may_change(actor, elevation):
        raise NotAllowed("Only helpdesk may change someone else's elevation.")
    check_mfa_for(actor, elevation)


def check_may_approve(approver: User, elevation: Elevation) -> None:
    if is_party(approver, elevation):
        raise NotAllowed("Nobody approves their own request.")
    if not may_approve(approver, elevation):
        raise NotAllowed("You are not an approver for this request.")
    check_mfa_for(approver, elevation)


# ---------------------------------------------------------------------------------------------
# One-click links: the page's rules, nothing more
# ---------------------------------------------------------------------------------------------

LINK_RULES = {"approve": may_approve, "deny": may_approve, "extend": may_change}


def may_follow_link(user: User, action: str, elevation: Elevation) -> bool:
    """Whether the link's action is this person's to take, as on the page. Anyone else learns
    nothing about the elevation from it."""
    return LINK_RULES[action](user, elevation)
