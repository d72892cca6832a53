from __future__ import annotations

from django import forms

from requests_app.policy import REASON_MAX_LENGTH


class RequestForm(forms.Form):
    device = forms.UUIDField(widget=forms.HiddenInput)
    minutes = forms.IntegerField(min_value=1, label="Duration (minutes)")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=REASON_MAX_LENGTH)
    ticket_ref = forms.CharField(required=False, max_length=100, label="Ticket (optional)")
    without_password = forms.BooleanField(required=False, label="sudo without password")


class ExtendForm(forms.Form):
    minutes = forms.IntegerField(min_value=1)
    reason = forms.CharField(required=False, max_length=REASON_MAX_LENGTH)


class RevokeForm(forms.Form):
    reason = forms.CharField(required=False, max_length=REASON_MAX_LENGTH)
