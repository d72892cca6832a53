"""Helpdesk forms: every action on someone else's elevation carries a reason."""

from __future__ import annotations

from typing import cast

from django import forms

from requests_app.models import Device, User
from requests_app.policy import REASON_MAX_LENGTH


class ReasonField(forms.CharField):
    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("max_length", REASON_MAX_LENGTH)
        kwargs.setdefault("widget", forms.TextInput(attrs={"placeholder": "Reason (required, audited)"}))
        kwargs.setdefault("error_messages", {"required": "Give a reason: it goes into the audit trail."})
        super().__init__(**kwargs)

    def clean(self, value):
        return super().clean((value or "").strip())


class SearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search people and devices")


class ReasonForm(forms.Form):
    reason = ReasonField()


class ExtendForm(forms.Form):
    minutes = forms.IntegerField(min_value=1, max_value=24 * 60, initial=60)
    reason = ReasonField()


class GrantForm(forms.Form):
    """Grant on behalf of `beneficiary`, on one of their devices (break-glass uses it too)."""

    device = forms.ModelChoiceField(queryset=Device.objects.none(), to_field_name="public_id")
    minutes = forms.IntegerField(min_value=1, max_value=24 * 60, initial=60)
    reason = ReasonField(widget=forms.Textarea(attrs={"rows": 2}))
    ticket_ref = forms.CharField(required=False, max_length=100, label="Ticket")

    def __init__(self, *args, beneficiary: User, devices, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.beneficiary = beneficiary
        cast(forms.ModelChoiceField, self.fields["device"]).queryset = devices
