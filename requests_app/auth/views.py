"""The step-up page (confirm who you are before asking for admin rights) and account settings."""

from __future__ import annotations

from urllib.parse import urlencode

from allauth.account.internal.flows.reauthentication import get_reauthentication_flows
from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from portal.adapters import sso_apps


@login_required
@require_http_methods(["GET"])
def step_up(request):
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = reverse("requests_app:my_elevations")
    linked = set(SocialAccount.objects.filter(user=request.user).values_list("provider", flat=True))
    sso = [
        {
            "name": app.name,
            # prompt=login makes the IdP ask again even though it still has a session.
            "url": reverse("openid_connect_login", kwargs={"provider_id": app.provider_id})
            + "?"
            + urlencode({"process": "login", "next": next_url, "auth_params": "prompt=login&max_age=0"}),
        }
        for app in sso_apps(request)
        if app.provider_id in linked or not linked
    ]
    flows = {flow["id"] for flow in get_reauthentication_flows(request.user)}
    context = {
        "next": next_url,
        "sso": sso,
        "password_url": reverse("account_reauthenticate") + "?" + urlencode({"next": next_url})
        if "reauthenticate" in flows
        else "",
        "mfa_url": reverse("mfa_reauthenticate") + "?" + urlencode({"next": next_url})
        if "mfa_reauthenticate" in flows
        else "",
    }
    return render(request, "account/step_up.html", context)


@login_required
@require_http_methods(["GET"])
def account_settings(request):
    """One page linking to everything a person can set about their account."""
    context = {
        "mfa_enabled": Authenticator.objects.filter(user=request.user).exists(),
        "has_password": request.user.has_usable_password(),
        "linked_sso": SocialAccount.objects.filter(user=request.user).exists(),
    }
    return render(request, "portal_auth/settings.html", context)
