from __future__ import annotations

from django import forms

from requests_app.reviews.services import COMMENT_MAX_LENGTH

DECISIONS = [("sign_off", "Sign off"), ("flag", "Flag"), ("resolve", "Resolve")]


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=DECISIONS)
    comment = forms.CharField(required=False, max_length=COMMENT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 2}))


class RaiseForm(forms.Form):
    comment = forms.CharField(
        label="What looks wrong? (optional, but it helps the auditors)",
        required=False,
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
