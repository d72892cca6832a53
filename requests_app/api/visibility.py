"""Which elevations a call may see: what the pages show the user (permissions.may_view),
narrowed to the token's scopes (a helpdesk member's `read` token sees their own, not everyone's)."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from requests_app import permissions, selectors
from requests_app.api.access import effective_scopes
from requests_app.api.scopes import APPROVE, AUDIT, HELPDESK
from requests_app.models import Elevation

SEE_ALL = frozenset({HELPDESK, AUDIT})


def elevations_for(request) -> QuerySet[Elevation]:
    """Everyone's with a helpdesk or audit scope (held only with those roles: sees_everyones);
    else the ones the user is a party to or decided on. Requests still to decide are listed
    under /approvals."""
    user = request.user
    queryset = Elevation.objects.select_related("device", "connection", "beneficiary", "requester")
    if effective_scopes(request) & SEE_ALL and permissions.sees_everyones(user):
        return queryset
    return queryset.filter(Q(beneficiary=user) | Q(requester=user) | Q(approvals__approver=user)).distinct()


def elevation_for(request, public_id) -> Elevation:
    """The elevation the page would show (else 404; the MFA rule as on the page), if the
    token's scopes reach it (else 404)."""
    elevation = selectors.elevation_for_user(public_id=public_id, user=request.user)
    user, scopes = request.user, effective_scopes(request)
    if permissions.is_party(user, elevation) or scopes & SEE_ALL:
        return elevation
    if elevation.approvals.filter(approver=user).exists():
        return elevation
    if APPROVE in scopes and permissions.may_approve(user, elevation):
        return elevation
    raise Http404("No such elevation.")
