"""Integration endpoints: Jira intake (JSON), one-click links, notification preferences."""

from __future__ import annotations

import json
import logging

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from requests_app import permissions, services
from requests_app.clock import now
from requests_app.errors import PortalError
from requests_app.integrations import links, outbound
from requests_app.integrations.conf import setting
from requests_app.integrations.jira import intake, service
from requests_app.integrations.models import ALL_EVENTS, EVENT_CHOICES, JiraConnection, UsedLink
from requests_app.integrations.notifications import preference_of
from requests_app.middleware import client_ip
from requests_app.models import Elevation
from requests_app.throttle import over_limit

log = logging.getLogger(__name__)


def _rejected(error: intake.IntakeRejected) -> JsonResponse:
    response = JsonResponse(error.as_json(), status=error.status)
    if error.retry_after:
        response["Retry-After"] = str(error.retry_after)
    return response


def _throttle(key: str, limit_setting: str) -> None:
    """429 with Retry-After once `key` made more calls this minute than the setting allows."""
    retry_after = over_limit(key, setting(limit_setting), 60)
    if retry_after is not None:
        raise intake.IntakeRejected(
            "throttled", f"too many calls; try again in {retry_after} s", status=429, retry_after=retry_after
        )


@csrf_exempt  # a machine caller authenticated by its shared secret, not a browser session
@require_http_methods(["POST"])
def jira_intake(request, public_id):
    connection = JiraConnection.objects.filter(public_id=public_id, enabled=True).first()
    address = client_ip(request) or "unknown"
    try:
        _throttle(f"jira-intake-address:{address}", "ELEVATE_JIRA_INTAKE_PER_ADDRESS_PER_MINUTE")
        if connection is None:
            raise intake.IntakeRejected("unknown_endpoint", "no enabled Jira connection has this URL", status=404)
        _authenticate(request, connection)
        _throttle(f"jira-intake-connection:{connection.pk}", "ELEVATE_JIRA_INTAKE_PER_CONNECTION_PER_MINUTE")
        body = _json_body(request)
        parsed = intake.parse_intake(body, now=now())
        record, created = service.receive(connection=connection, request=parsed)
    except intake.IntakeRejected as error:
        # Every refused call is logged; the ones that suggest an attack (bad secret or
        # signature, a forged reporter, a flood) as warnings.
        level = logging.WARNING if error.status in (401, 409, 429) else logging.INFO
        log.log(level, "Jira intake refused from %s: %s (%s)", address, error.code, error.status)
        return _rejected(error)
    return JsonResponse(service.describe(record, created=created), status=201 if created else 200)


def _json_body(request):
    try:
        return json.loads(request.body or b"null")
    except RecursionError:  # a deeply nested array: Python's parser gives up, we answer
        raise intake.IntakeRejected("bad_body", "the body is nested too deeply") from None
    except ValueError:
        raise intake.IntakeRejected("bad_body", "the body is not JSON") from None


def _authenticate(request, connection: JiraConnection) -> None:
    if not intake.secret_matches(intake.presented_secret(request.headers), connection.intake_secret):
        raise intake.IntakeRejected("bad_secret", "the shared secret is missing or wrong", status=401)
    if connection.signing_secret:
        intake.verify_signature(
            request.body,
            request.headers.get(intake.SIGNATURE_HEADER),
            connection.signing_secret,
            now=now(),
            first_use=lambda key, ttl: cache.add(key, 1, ttl),
        )


# -- one-click links ----------------------------------------------------------------------------


class DecisionForm(forms.Form):
    reason = forms.CharField(required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))


@login_required
@require_http_methods(["GET", "POST"])
def action_link(request, token):
    """A link can never do what its person could not do on the page: the same permissions and the
    same MFA rule (permissions.may_follow_link, needs_mfa_for). Anyone else is told it is not for
    them, and learns nothing about the elevation."""
    try:
        link = links.read_link(token)
        elevation = (
            Elevation.objects.select_related("beneficiary", "device").filter(public_id=link.elevation_public_id).first()
        )
        if elevation is None:
            raise links.LinkInvalid("This request no longer exists.")
        if link.user_id not in (None, request.user.pk) or not permissions.may_follow_link(
            request.user, link.action, elevation
        ):
            return render(request, "integrations/link.html", {"problem": NOT_FOR_YOU}, status=403)
        if UsedLink.objects.filter(token_id=link.token_id).exists():
            raise links.LinkInvalid("This link was already used.")
    except links.LinkInvalid as exc:
        return render(request, "integrations/link.html", {"problem": exc.message}, status=400)
    permissions.check_mfa_for(request.user, elevation)  # else to MFA set-up, as on the pages
    form = DecisionForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            _use_link(request.user, link, elevation, form.cleaned_data["reason"])
        except PortalError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, {"approve": "Approved.", "deny": "Denied.", "extend": "Extended."}[link.action])
        return redirect("requests_app:detail", public_id=elevation.public_id)
    context = {"link": link, "elevation": elevation, "form": form}
    return render(request, "integrations/link.html", context)


NOT_FOR_YOU = "This link is not for you. If it was sent to you, sign in as the person it was sent to."


def _use_link(user, link: links.ActionLink, elevation: Elevation, reason: str) -> None:
    """Mark the link used and act, together: a refused action leaves the link usable."""
    try:
        with transaction.atomic():
            UsedLink.objects.create(token_id=link.token_id, used_by=user, used_at=now())
            if link.action == "approve":
                services.elevation_approve(elevation=elevation, approver=user, reason=reason)
            elif link.action == "deny":
                services.elevation_deny(elevation=elevation, approver=user, reason=reason)
            else:
                services.elevation_extend(elevation=elevation, actor=user, minutes=link.minutes or 15, reason=reason)
    except IntegrityError:
        raise PortalError("This link was already used.") from None


# -- preferences --------------------------------------------------------------------------------


class PreferenceForm(forms.Form):
    email_events = forms.MultipleChoiceField(choices=EVENT_CHOICES, required=False, widget=forms.CheckboxSelectMultiple)
    slack_events = forms.MultipleChoiceField(choices=EVENT_CHOICES, required=False, widget=forms.CheckboxSelectMultiple)
    slack_webhook_url = forms.URLField(
        required=False, assume_scheme="https", help_text="Leave empty to keep the current one."
    )
    clear_slack_webhook = forms.BooleanField(required=False)

    def clean_slack_webhook_url(self) -> str:
        url = self.cleaned_data["slack_webhook_url"]
        if url:
            try:
                outbound.check_webhook_url(url)
            except outbound.UnsafeUrl as exc:
                raise forms.ValidationError(exc.message) from exc
        return url


@login_required
@require_http_methods(["GET", "POST"])
def notification_preferences(request):
    preference = preference_of(request.user)
    initial = {"email_events": preference.email_events, "slack_events": preference.slack_events}
    form = PreferenceForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        preference.email_events = [e for e in ALL_EVENTS if e in data["email_events"]]
        preference.slack_events = [e for e in ALL_EVENTS if e in data["slack_events"]]
        if data["clear_slack_webhook"]:
            preference.slack_webhook_url = ""
        elif data["slack_webhook_url"]:
            preference.slack_webhook_url = data["slack_webhook_url"]
        preference.save()
        messages.success(request, "Notification settings saved.")
        return redirect("integrations:preferences")
    context = {"form": form, "has_webhook": bool(preference.slack_webhook_url)}
    return render(request, "integrations/preferences.html", context)
