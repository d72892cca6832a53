from __future__ import annotations

from django import forms

from requests_app.policy import REASON_MAX_LENGTH


class ApproveForm(forms.Form):
    reason = forms.CharField(required=False, max_length=REASON_MAX_LENGTH)


class DenyForm(forms.Form):
    reason = forms.CharField(
        max_length=REASON_MAX_LENGTH, error_messages={"required": "Say why you deny it: the requester is told."}
    )
