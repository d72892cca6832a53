"""What the API shows and takes. Output shapes name objects by their public UUIDs, never pks."""

from __future__ import annotations

from rest_framework import serializers

from requests_app.models import Device, Elevation, Policy, User
from requests_app.policy import REASON_MAX_LENGTH
from requests_app.states import State


class DeviceSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    provider = serializers.CharField(source="connection.name", read_only=True)

    class Meta:
        model = Device
        fields = ("id", "hostname", "os", "os_family", "provider", "last_contact_at")


class PersonSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="get_full_name", read_only=True)

    class Meta:
        model = User
        fields = ("id", "email", "name")


class ElevationSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    target = serializers.CharField(source="target_name", read_only=True)
    device = serializers.UUIDField(source="device.public_id", read_only=True, allow_null=True, default=None)
    beneficiary = serializers.EmailField(source="beneficiary.email", read_only=True)
    requester = serializers.EmailField(source="requester.email", read_only=True)
    state = serializers.ChoiceField(choices=State.choices, read_only=True)
    ticket = serializers.CharField(source="ticket_ref", read_only=True)

    class Meta:
        model = Elevation
        fields: tuple[str, ...] = (
            *("id", "state", "target", "device", "beneficiary", "requester", "reason", "ticket", "source"),
            *("requested_minutes", "total_minutes", "extensions", "starts_at", "expires_at", "decide_by"),
            *("created_at", "activated_at", "ended_at", "break_glass", "notes", "last_error"),
        )


class RequestOutcomeSerializer(ElevationSerializer):
    outcome = serializers.ChoiceField(
        choices=["requested", "extended"], help_text="extended: a live elevation on that device was extended instead."
    )

    class Meta(ElevationSerializer.Meta):
        fields = (*ElevationSerializer.Meta.fields, "outcome")


class PolicySerializer(serializers.ModelSerializer):
    class Meta:
        model = Policy
        fields = (
            *("name", "is_default", "device_group", "allowed_durations", "max_duration_minutes"),
            *("max_total_minutes", "max_extensions", "extension_increments", "weekly_cap_hours"),
            *("requires_approval", "auto_approve_up_to_minutes", "approvals_required", "allow_passwordless"),
        )


def reason_field(*, required: bool) -> serializers.CharField:
    return serializers.CharField(required=required, allow_blank=not required, max_length=REASON_MAX_LENGTH)


class RequestInput(serializers.Serializer):
    device = serializers.CharField(help_text="The device's id, or its hostname.")
    minutes = serializers.IntegerField(min_value=1, max_value=7 * 24 * 60)
    reason = reason_field(required=True)
    ticket = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    without_password = serializers.BooleanField(required=False, default=False)


class ExtendInput(serializers.Serializer):
    minutes = serializers.IntegerField(min_value=1, max_value=7 * 24 * 60)
    reason = reason_field(required=False)


class ReasonInput(serializers.Serializer):
    reason = reason_field(required=False)


class DenyInput(serializers.Serializer):
    reason = reason_field(required=True)


class GrantInput(RequestInput):
    user = serializers.EmailField(help_text="The person to grant admin rights to.")


class BulkRevokeInput(serializers.Serializer):
    user = serializers.EmailField(required=False)
    device = serializers.UUIDField(required=False)
    reason = reason_field(required=True)


class AuditEventSerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    at = serializers.DateTimeField()
    actor = serializers.IntegerField(source="actor_id", allow_null=True)
    actor_label = serializers.CharField()
    action = serializers.CharField()
    target_type = serializers.CharField()
    target_id = serializers.CharField()
    target_label = serializers.CharField()
    elevation = serializers.UUIDField(source="elevation__public_id", allow_null=True)
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)
    reason = serializers.CharField()
    ip = serializers.CharField(allow_null=True)
    user_agent = serializers.CharField()
    prev_hash = serializers.CharField()
    hash = serializers.CharField()


class AuditPageSerializer(serializers.Serializer):
    events = AuditEventSerializer(many=True)
    older = serializers.IntegerField(allow_null=True, help_text="Pass as ?before= for the next, older page.")
    newer = serializers.IntegerField(allow_null=True, help_text="Pass as ?after= for the previous, newer page.")


class MeSerializer(serializers.Serializer):
    email = serializers.EmailField()
    name = serializers.CharField()
    timezone = serializers.CharField()
    token = serializers.CharField(help_text="The token's name.")
    scopes = serializers.ListField(child=serializers.CharField(), help_text="Scopes this call may use.")
    token_expires_at = serializers.DateTimeField()
