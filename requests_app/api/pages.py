"""Settings → API tokens: create (the secret is shown once), list, revoke. Admins see everyone's."""

from __future__ import annotations

from typing import cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from requests_app.api import scopes, tokens
from requests_app.auth.stepup import step_up_required
from requests_app.errors import PortalError
from requests_app.models import ApiToken, ApiTokenPolicy


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="Where it is used, e.g. “laptop CLI” or “deploy pipeline”.")
    scopes = forms.MultipleChoiceField(choices=(), widget=forms.CheckboxSelectMultiple)
    days = forms.IntegerField(min_value=1, label="Expires after (days)")

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        offered = scopes.role_scopes(user)
        cast(forms.MultipleChoiceField, self.fields["scopes"]).choices = [
            (s, f"{s} — {scopes.DESCRIPTIONS[s]}") for s in scopes.SCOPES if s in offered
        ]
        lifetimes = ApiTokenPolicy.current()  # the service checks the maximum; the field shows it
        self.fields["days"].initial = lifetimes.default_days
        self.fields["days"].widget.attrs["max"] = lifetimes.max_days


def _page(request, form: TokenForm, created: str = "", status: int = 200):
    user = request.user
    context = {
        "form": form,
        "created": created,
        "tokens": tokens.tokens_of(user),
        "all_tokens": ApiToken.objects.select_related("user").exclude(user=user) if user.is_superuser else None,
        "needs_mfa": bool(scopes.role_scopes(user) & scopes.STAFF_SCOPES) and not scopes.has_mfa(user),
    }
    return render(request, "api/tokens.html", context, status=status)


@login_required
@require_GET
def token_list(request):
    return _page(request, TokenForm(user=request.user))


@login_required
@step_up_required
@require_POST
def token_create(request):
    form = TokenForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            _, secret = tokens.token_create(user=request.user, **form.cleaned_data)
        except PortalError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            # Rendered, not redirected: the secret must not travel through the session or a URL.
            return _page(request, TokenForm(user=request.user), created=secret)
    return _page(request, form, status=200)


@login_required
@require_POST
def token_revoke(request, public_id):
    queryset = ApiToken.objects.all() if request.user.is_superuser else tokens.tokens_of(request.user)
    token = get_object_or_404(queryset, public_id=public_id)
    try:
        tokens.token_revoke(token=token, actor=request.user)
    except PortalError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Revoked the token “{token.name}”.")
    return redirect("tokens:list")
