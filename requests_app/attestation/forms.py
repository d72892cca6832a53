from __future__ import annotations

from django import forms

from requests_app.attestation.services import TEXT_MAX_LENGTH


class AttestationForm(forms.Form):
    text = forms.CharField(
        label="What did you do with the admin rights?",
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Say what you did with the admin rights."},
    )
    ticket_ref = forms.CharField(label="Ticket (optional)", max_length=100, required=False)
