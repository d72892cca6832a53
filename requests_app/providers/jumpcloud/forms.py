"""The helpdesk form for elevating a JumpCloud user group."""

from __future__ import annotations

from typing import cast

from django import forms

from requests_app.errors import PortalError
from requests_app.models import ProviderConnection
from requests_app.providers.jumpcloud.services import GROUP_KIND


class GroupElevationForm(forms.Form):
    """Which group (and optionally which device group), for how long, and why."""

    connection = forms.ModelChoiceField(
        queryset=ProviderConnection.objects.none(),
        empty_label=None,
        error_messages={"required": "Choose the JumpCloud organisation."},
    )
    group_id = forms.CharField(
        label="User group",
        max_length=100,
        help_text="The JumpCloud user group id (pick from the list or paste it).",
        error_messages={"required": "Choose the user group to elevate."},
    )
    device_group_id = forms.CharField(
        label="Only on this device group",
        max_length=100,
        required=False,
        help_text="Optional: a device group id. Empty means every device the group reaches.",
    )
    minutes = forms.IntegerField(label="Minutes", min_value=1, initial=60)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=1000)
    ticket_ref = forms.CharField(label="Ticket", max_length=100, required=False)
    without_password = forms.BooleanField(label="sudo without a password", required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["connection"]).queryset = ProviderConnection.objects.filter(
            kind=GROUP_KIND, enabled=True
        )

    def service_arguments(self) -> dict:
        return dict(self.cleaned_data)

    def add_portal_error(self, exc: PortalError) -> None:
        field = {"group": "group_id", "connection": "connection"}.get(exc.field or "", exc.field)
        self.add_error(field if field in self.fields else None, exc.message)
