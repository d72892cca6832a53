"""My devices, elevations (list, get, request, extend, revoke) and the policies that apply."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from requests_app import permissions, policy, selectors, services
from requests_app.api import visibility
from requests_app.api.access import effective_scopes, require_scope
from requests_app.api.base import ApiView
from requests_app.api.inputs import device_match, valid
from requests_app.api.problems import refuse_unless_valid
from requests_app.api.scopes import AUDIT, HELPDESK, READ, REQUEST
from requests_app.api.serializers import (
    DeviceSerializer,
    ElevationSerializer,
    ExtendInput,
    PolicySerializer,
    ReasonInput,
    RequestInput,
    RequestOutcomeSerializer,
)
from requests_app.errors import NotAllowed, PolicyViolation
from requests_app.forms import ExtendForm, RevokeForm
from requests_app.helpdesk import forms as helpdesk_forms
from requests_app.models import Elevation, Policy
from requests_app.states import LIVE_STATES, State


class NewestFirst(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 50


@extend_schema(summary="My devices", responses=DeviceSerializer(many=True))
class DeviceList(ApiView):
    required_scope = READ

    def get(self, request):
        return Response(DeviceSerializer(selectors.devices_for_user(request.user), many=True).data)


@extend_schema(summary="The policies that apply to my devices (all of them for helpdesk and audit)")
class PolicyList(ApiView, generics.ListAPIView):
    required_scope = READ
    serializer_class = PolicySerializer
    pagination_class = None

    def get_queryset(self):
        if effective_scopes(self.request) & {HELPDESK, AUDIT}:
            return Policy.objects.all()
        chooser = policy.PolicyChooser(self.request.user)
        names = {chooser(device).name for device in selectors.devices_for_user(self.request.user)} or {
            chooser(None).name
        }
        return Policy.objects.filter(name__in=names)


STATE_FILTER = OpenApiParameter(
    "state", str, many=True, enum=[*State.values, "live"], description="live: any live state"
)


@extend_schema(
    methods=["GET"],
    summary="Elevations I may see, newest first",
    parameters=[STATE_FILTER, OpenApiParameter("device", str, description="A device id or hostname")],
)
@extend_schema(
    methods=["POST"],
    summary="Ask for admin rights on one of my devices (a live one is extended instead)",
    request=RequestInput,
    responses={201: RequestOutcomeSerializer, 200: RequestOutcomeSerializer},
)
class ElevationList(ApiView, generics.ListAPIView):
    required_scope = {"GET": READ, "POST": REQUEST}
    serializer_class = ElevationSerializer
    pagination_class = NewestFirst

    def get_queryset(self):
        queryset = visibility.elevations_for(self.request)
        query = ElevationQuery(data={"state": self.request.query_params.getlist("state"), **_single(self.request)})
        query.is_valid(raise_exception=True)
        states = set(query.validated_data.get("state", []))
        if "live" in states:
            states = (states - {"live"}) | set(LIVE_STATES)
        if states:
            queryset = queryset.filter(state__in=states)
        device = query.validated_data.get("device", "").strip()
        if device:
            queryset = queryset.filter(device_match(device, "device__"))
        return queryset

    def post(self, request):
        data = valid(RequestInput, request)
        return ask(self, data, device=_my_device(request.user, data["device"]))


class ElevationQuery(serializers.Serializer):
    state = serializers.ListField(child=serializers.ChoiceField(choices=[*State.values, "live"]), required=False)
    device = serializers.CharField(required=False, allow_blank=True, max_length=255)


def _single(request) -> dict:
    return {"device": request.query_params["device"]} if "device" in request.query_params else {}


def ask(view: ApiView, data: dict, *, device, beneficiary=None) -> Response:
    """The request service with a validated RequestInput (or GrantInput), answered as the page
    would: 201 for a new elevation, 200 when a live one was extended instead."""
    elevation = services.elevation_request(
        requester=view.request.user,
        beneficiary=beneficiary,
        device=device,
        minutes=data["minutes"],
        reason=data["reason"],
        ticket_ref=data["ticket"],
        without_password=data["without_password"],
        source=Elevation.Source.API,
    )
    view.audited_elevation = elevation
    return outcome_response(elevation)


def outcome_response(elevation: Elevation) -> Response:
    """201 for a new elevation; 200 when a live one was extended instead (as the page says)."""
    extended = bool(elevation.extensions)
    body = {**ElevationSerializer(elevation).data, "outcome": "extended" if extended else "requested"}
    return Response(body, status=200 if extended else 201)


def _my_device(user, value: str):
    device = selectors.devices_for_user(user).filter(device_match(value)).first()
    if device is None:
        raise PolicyViolation("Pick one of your own devices.", field="device")
    return device


@extend_schema(summary="One elevation", responses=ElevationSerializer)
class ElevationDetail(ApiView):
    required_scope = READ

    def get(self, request, public_id):
        elevation = visibility.elevation_for(request, public_id)
        self.audited_elevation = elevation
        return Response(ElevationSerializer(elevation).data)


class _ChangeView(ApiView):
    """Own elevations need the request scope; someone else's the helpdesk scope (and its MFA)."""

    required_scope = None  # by whose elevation it is: changeable()

    def changeable(self, request, public_id) -> Elevation:
        elevation = visibility.elevation_for(request, public_id)
        self.audited_elevation = elevation
        own = permissions.is_party(request.user, elevation)
        require_scope(request, REQUEST if own else HELPDESK)
        if not permissions.may_change(request.user, elevation):
            raise NotAllowed("You cannot change this elevation.")
        return elevation


@extend_schema(
    summary="Extend by one of the increments the policy offers", request=ExtendInput, responses=ElevationSerializer
)
class ElevationExtend(_ChangeView):
    def post(self, request, public_id):
        elevation = self.changeable(request, public_id)
        data = valid(ExtendInput, request)
        fields = {"minutes": str(data["minutes"]), "reason": data.get("reason", "")}
        if permissions.is_party(request.user, elevation):
            cleaned = refuse_unless_valid(ExtendForm(fields, elevation=elevation))
        else:
            cleaned = refuse_unless_valid(helpdesk_forms.ExtendForm(fields))
        services.elevation_extend(elevation=elevation, actor=request.user, **cleaned)
        elevation.refresh_from_db()
        return Response(ElevationSerializer(elevation).data)


@extend_schema(
    summary="Revoke now (a request not yet granted is cancelled)", request=ReasonInput, responses=ElevationSerializer
)
class ElevationRevoke(_ChangeView):
    def post(self, request, public_id):
        elevation = self.changeable(request, public_id)
        data = valid(ReasonInput, request)
        form_class = RevokeForm if permissions.is_party(request.user, elevation) else helpdesk_forms.ReasonForm
        cleaned = refuse_unless_valid(form_class({"reason": data.get("reason", "")}))
        services.elevation_revoke(elevation=elevation, actor=request.user, **cleaned)
        elevation.refresh_from_db()
        return Response(ElevationSerializer(elevation).data)
