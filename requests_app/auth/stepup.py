"""Step-up: a fresh sign-in (or re-authentication) before asking for admin rights.

The portal notes when a session signed in (`user_logged_in`, SSO and password alike); allauth
notes re-authentications. If the newest of those is older than ELEVATE_STEP_UP_SECONDS, the
protected view is not run: the user confirms who they are first (password or MFA through
allauth's re-authentication, which replays the request afterwards; or the IdP again, with
`prompt=login`, for SSO users who have neither).
"""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from allauth.account.internal.flows.login import get_authentication_records
from allauth.account.internal.flows.reauthentication import get_reauthentication_flows
from allauth.core.exceptions import ReauthenticationRequired
from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from requests_app.clock import now

SIGNED_IN_AT = "elevate_signed_in_at"


@receiver(user_logged_in, dispatch_uid="elevate_note_sign_in_time")
def note_sign_in_time(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        request.session[SIGNED_IN_AT] = now().timestamp()


def last_authenticated_at(request) -> float | None:
    """Unix time of this session's newest sign-in or re-authentication."""
    times = [request.session.get(SIGNED_IN_AT)]
    records = get_authentication_records(request, request.user)
    times += [record.get("at") for record in records if record.get("reauthenticated")]
    times = [t for t in times if isinstance(t, int | float)]
    return max(times) if times else None


def step_up_due(request) -> bool:
    limit = settings.ELEVATE_STEP_UP_SECONDS
    if not limit or not request.user.is_authenticated:
        return False
    at = last_authenticated_at(request)
    return at is None or now().timestamp() - at > limit


def step_up_required(view):
    """Run `view`'s POSTs only for a session that authenticated recently enough (else confirm first)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        # Showing the form is fine; submitting it is what needs a fresh sign-in.
        if request.method not in ("GET", "HEAD", "OPTIONS") and step_up_due(request):
            return step_up_response(request)
        return view(request, *args, **kwargs)

    return wrapper


def step_up_response(request):
    """Confirm first, then back to the page the form was on (its `next`), else this URL."""
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = request.get_full_path()
    if not request.htmx and get_reauthentication_flows(request.user):
        # allauth's middleware stores this POST, asks for the password or MFA code, then replays it.
        raise ReauthenticationRequired()
    url = reverse("portal_auth:step_up") + "?" + urlencode({"next": back})
    if request.htmx:
        from django_htmx.http import HttpResponseClientRedirect

        return HttpResponseClientRedirect(url)
    return redirect(url)
