"""Approvals (queue, approve, deny) and the helpdesk (search, grant on behalf, bulk revoke)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from requests_app import selectors, services
from requests_app.api.base import ApiView
from requests_app.api.inputs import device_match, valid
from requests_app.api.problems import refuse_unless_valid
from requests_app.api.scopes import APPROVE, HELPDESK
from requests_app.api.serializers import (
    BulkRevokeInput,
    DenyInput,
    DeviceSerializer,
    ElevationSerializer,
    GrantInput,
    PersonSerializer,
    ReasonInput,
    RequestOutcomeSerializer,
)
from requests_app.api.views.elevations import ask
from requests_app.approvals import selectors as approval_selectors
from requests_app.approvals.forms import ApproveForm, DenyForm
from requests_app.errors import PolicyViolation
from requests_app.helpdesk import selectors as helpdesk_selectors
from requests_app.helpdesk.forms import ReasonForm, SearchForm
from requests_app.models import Elevation, User


@extend_schema(summary="Requests waiting for my decision, oldest first", responses=ElevationSerializer(many=True))
class ApprovalQueue(ApiView):
    required_scope = APPROVE

    def get(self, request):
        return Response(ElevationSerializer(approval_selectors.queue_for(request.user), many=True).data)


class _Decide(ApiView):
    required_scope = APPROVE
    form_class: type[ApproveForm | DenyForm] = ApproveForm
    decide: Callable[..., Elevation] = staticmethod(services.elevation_approve)

    def post(self, request, public_id):
        elevation = selectors.elevation_for_user(public_id=public_id, user=request.user)
        self.audited_elevation = elevation
        data = valid(DenyInput if self.form_class is DenyForm else ReasonInput, request)
        cleaned = refuse_unless_valid(self.form_class({"reason": data.get("reason", "")}))
        self.decide(elevation=elevation, approver=request.user, reason=cleaned["reason"])
        elevation.refresh_from_db()
        return Response(ElevationSerializer(elevation).data)


@extend_schema(summary="Approve a request", request=ReasonInput, responses=ElevationSerializer)
class Approve(_Decide):
    pass


@extend_schema(
    summary="Deny a request (the reason is told to the requester)", request=DenyInput, responses=ElevationSerializer
)
class Deny(_Decide):
    form_class = DenyForm
    decide = staticmethod(services.elevation_deny)


QUERY = OpenApiParameter("q", str, description="Name, e-mail or hostname (part of)")


def _query(request) -> str:
    """The console's search form cleans the text (length, no NUL characters)."""
    return refuse_unless_valid(SearchForm(request.query_params))["q"]


@extend_schema(summary="Search people", parameters=[QUERY], responses=PersonSerializer(many=True))
class PeopleSearch(ApiView):
    required_scope = HELPDESK

    def get(self, request):
        found = helpdesk_selectors.search_users(_query(request))
        return Response(PersonSerializer(found, many=True).data)


@extend_schema(summary="Search devices", parameters=[QUERY], responses=DeviceSerializer(many=True))
class DeviceSearch(ApiView):
    required_scope = HELPDESK

    def get(self, request):
        found = helpdesk_selectors.search_devices(_query(request))
        return Response(DeviceSerializer(found, many=True).data)


def _person(email: str) -> User:
    person = User.objects.filter(email__iexact=email, is_active=True).first()
    if person is None:
        raise PolicyViolation("No active user has that e-mail address.", field="user")
    return person


@extend_schema(
    summary="Grant admin rights on behalf of someone, on one of their devices",
    request=GrantInput,
    responses={201: RequestOutcomeSerializer, 200: RequestOutcomeSerializer},
)
class Grant(ApiView):
    required_scope = HELPDESK

    def post(self, request):
        data = valid(GrantInput, request)
        person = _person(data["user"])
        device = selectors.devices_for_user(person).filter(device_match(data["device"])).first()
        if device is None:
            raise PolicyViolation(f"Pick one of {person}'s devices.", field="device")
        return ask(self, data, device=device, beneficiary=person)


@extend_schema(
    summary="Revoke every live elevation of a person or of a device",
    request=BulkRevokeInput,
    responses=inline_serializer("BulkRevoked", {"revoked": serializers.ListField(child=serializers.UUIDField())}),
)
class BulkRevoke(ApiView):
    required_scope = HELPDESK

    def post(self, request):
        data = valid(BulkRevokeInput, request)
        cleaned = refuse_unless_valid(ReasonForm({"reason": data["reason"]}))
        target = {}
        if data.get("user"):
            target["beneficiary"] = _person(data["user"])
        if data.get("device"):
            try:
                target["device"] = helpdesk_selectors.device_by_public_id(data["device"])
            except Http404 as exc:
                raise PolicyViolation("No such device.", field="device") from exc
        ended = services.elevations_revoke_all(actor=request.user, reason=cleaned["reason"], **target)
        return Response({"revoked": [str(e.public_id) for e in ended]})
