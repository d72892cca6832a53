"""Forms of the employee portal. They shape input and offer what policy allows; services decide."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from django import forms

from requests_app import identity_problems, permissions, policy, selectors
from requests_app.errors import PortalError
from requests_app.lifecycle import State
from requests_app.models import Device, Elevation, Policy, ProviderConnection, User, UserAuthorization

CUSTOM = "custom"
# States in which the owner may still push the expiry out, or end the elevation early.
EXTENDABLE_STATES = frozenset({State.PENDING_APPROVAL, State.APPROVED, State.GRANTING, State.ACTIVE})
REVOCABLE_STATES = frozenset({State.REQUESTED, State.PENDING_APPROVAL, State.APPROVED, State.GRANTING, State.ACTIVE})


def extend_choices(elevation: Elevation, chooser: policy.PolicyChooser | None = None) -> list[int]:
    """The policy's increments that still fit: none once extensions or the total are used up."""
    if elevation.state not in EXTENDABLE_STATES:
        return []
    rules = permissions.policy_of(elevation, chooser)
    if elevation.extensions >= rules.max_extensions:
        return []
    room = rules.max_total_minutes - elevation.total_minutes
    return sorted({m for m in rules.increments if m <= min(room, rules.max_duration_minutes)})


def may_revoke(elevation: Elevation) -> bool:
    return elevation.state in REVOCABLE_STATES


@dataclass(frozen=True)
class DeviceOption:
    """One entry of the device picker, with the policy that governs it (for presets and limits)."""

    device: Device
    rules: Policy
    live: Elevation | None

    @property
    def approval_note(self) -> str:
        return approval_note(self.rules)


def approval_note(rules: Policy) -> str:
    """What the policy's approval rule means for the person asking."""
    if not rules.requires_approval:
        return "Granted right away, no approval needed."
    if rules.auto_approve_up_to_minutes:
        quick = policy.human_minutes(rules.auto_approve_up_to_minutes)
        return f"Up to {quick} is granted right away; longer needs approval."
    return "An approver has to agree first."


class RequestForm(forms.Form):
    device = forms.ModelChoiceField(
        queryset=Device.objects.none(),
        to_field_name="public_id",
        error_messages={
            "required": "Pick the device you need admin rights on.",
            "invalid_choice": "Pick one of your own devices.",
        },
    )
    minutes = forms.ChoiceField(label="Duration", error_messages={"required": "Choose how long you need admin rights."})
    custom_minutes = forms.IntegerField(
        required=False, min_value=1, label="Custom duration (minutes)", widget=forms.NumberInput(attrs={"step": 1})
    )
    reason = forms.CharField(
        max_length=policy.REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Say why you need admin rights."},
        help_text="Shown to approvers and kept in the audit trail.",
    )
    ticket_ref = forms.CharField(required=False, max_length=100, label="Ticket (optional)")
    without_password = forms.BooleanField(required=False, label="Use sudo without a password")

    def __init__(self, *args, user: User, live: list[Elevation] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        if self.is_bound:  # only a post chooses one (an unbound form lists self.devices)
            cast(forms.ModelChoiceField, self.fields["device"]).queryset = selectors.devices_for_user(user)
        if live is None:
            live = selectors.my_live_elevations(user)
        self._live_by_device = {e.device_id: e for e in live if e.device_id}
        self._options: list[DeviceOption] | None = None
        self.devices = list(selectors.devices_for_user(user))
        # Shared with the page's live rows, so they need no policy queries of their own.
        self.policy_chooser = policy.PolicyChooser(user)
        presets = sorted({m for o in self.device_options for m in self._presets(o.rules)})
        self.presets = presets or self._presets(self.policy_chooser(None))
        cast(forms.ChoiceField, self.fields["minutes"]).choices = [
            (str(m), policy.human_minutes(m)) for m in self.presets
        ] + [(CUSTOM, "Custom")]
        self.max_minutes = max((o.rules.max_duration_minutes for o in self.device_options), default=0)
        self.fields["custom_minutes"].widget.attrs["max"] = self.max_minutes or None
        # The box is only offered where a policy allows it; a forged post is refused by the service.
        self.passwordless_possible = any(o.rules.allow_passwordless for o in self.device_options)
        if not self.is_bound and self.presets and "minutes" not in self.initial:
            self.initial["minutes"] = str(60 if 60 in self.presets else self.presets[0])

    def identity_problems(self) -> list[str]:
        """Why the user's address matched no account on an enabled provider (no-devices help)."""
        connection_ids = list(ProviderConnection.objects.filter(enabled=True).values_list("pk", flat=True))
        return identity_problems.for_user(self.user.pk, connection_ids)

    def sailpoint_to_connect(self) -> bool:
        """Whether an enabled SailPoint connection waits for this user to connect their identity."""
        connected = UserAuthorization.objects.filter(user=self.user, revoked_at=None).values("connection_id")
        return ProviderConnection.objects.filter(kind="sailpoint", enabled=True).exclude(pk__in=connected).exists()

    @staticmethod
    def _presets(rules: Policy) -> list[int]:
        return [m for m in rules.allowed_durations if m <= rules.max_duration_minutes]

    @property
    def device_options(self) -> list[DeviceOption]:
        """The user's devices, each with its policy."""
        if self._options is None:
            self._options = [
                DeviceOption(device, self.policy_chooser(device), self._live_by_device.get(device.pk))
                for device in self.devices
            ]
        return self._options

    def selected_device_id(self) -> str:
        value = self["device"].value()
        if value:
            return str(getattr(value, "public_id", value))
        return str(self.device_options[0].device.public_id) if len(self.device_options) == 1 else ""

    @property
    def approval_note(self) -> str:
        """The selected device's approval rule; before a choice, the rule all devices share, if any."""
        selected = self.selected_device_id()
        for option in self.device_options:
            if str(option.device.public_id) == selected:
                return option.approval_note
        notes = {option.approval_note for option in self.device_options}
        return notes.pop() if len(notes) == 1 else ""

    def clean(self):
        data = super().clean()
        if data.get("minutes") == CUSTOM:
            if not data.get("custom_minutes") and "custom_minutes" not in self.errors:
                self.add_error("custom_minutes", "Enter how many minutes you need.")
            data["minutes"] = data.get("custom_minutes")
        elif data.get("minutes"):
            data["minutes"] = int(data["minutes"])
        return data

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "device": data["device"],
            "minutes": data["minutes"],
            "reason": data["reason"],
            "ticket_ref": data["ticket_ref"],
            "without_password": data["without_password"],
        }

    def add_portal_error(self, exc: PortalError) -> None:
        """Show a refusal from a service next to the field it is about."""
        field = exc.field if exc.field in self.fields else None
        if field == "without_password" and not self.passwordless_possible:
            field = None  # the box is not on the page: say it above the form
        if field == "minutes" and self.data.get("minutes") == CUSTOM:
            field = "custom_minutes"
        self.add_error(field, exc.message)


class ExtendForm(forms.Form):
    minutes = forms.TypedChoiceField(
        coerce=int,
        error_messages={
            "required": "Choose how much longer you need.",
            "invalid_choice": "That extension is not offered for this elevation.",
        },
    )
    reason = forms.CharField(required=False, max_length=policy.REASON_MAX_LENGTH)

    def __init__(self, *args, elevation: Elevation, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        choices = extend_choices(elevation)
        cast(forms.TypedChoiceField, self.fields["minutes"]).choices = [
            (str(m), policy.human_minutes(m)) for m in choices
        ]
        if not choices:
            self.fields["minutes"].error_messages["invalid_choice"] = "This elevation cannot be extended any further."


class RevokeForm(forms.Form):
    reason = forms.CharField(required=False, max_length=policy.REASON_MAX_LENGTH)


def first_error(form: forms.Form) -> str:
    return next((str(error) for errors in form.errors.values() for error in errors), "Check the form.")
