"""Which elevations a call may see: what the pages show the user, narrowed to the token's scopes
(a helpdesk member's `read` token sees their own, not everyone's)."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from requests_app import selectors, services
from requests_app.api.access import effective_scopes
from requests_app.api.scopes import APPROVE, AUDIT, HELPDESK
from requests_app.models import Elevation

SEE_ALL = frozenset({HELPDESK, AUDIT})


def elevations_for(request) -> QuerySet[Elevation]:
    queryset = selectors.elevations_visible_to(request.user)
    if not effective_scopes(request) & SEE_ALL:
        user = request.user
        queryset = queryset.filter(Q(beneficiary=user) | Q(requester=user) | Q(approvals__approver=user)).distinct()
    return queryset


def elevation_for(request, public_id) -> Elevation:
    """The elevation the page would show (else 404), if the token's scopes reach it (else 404)."""
    elevation = selectors.elevation_for_user(public_id=public_id, user=request.user)
    user, scopes = request.user, effective_scopes(request)
    if user.pk in (elevation.beneficiary_id, elevation.requester_id) or scopes & SEE_ALL:
        return elevation
    if elevation.approvals.filter(approver=user).exists():
        return elevation
    if APPROVE in scopes and services.may_approve(user, elevation):
        return elevation
    raise Http404("No such elevation.")


def is_own(request, elevation: Elevation) -> bool:
    return request.user.pk in (elevation.beneficiary_id, elevation.requester_id)
