"""The Jira Automation intake endpoint: authentication, validation, idempotency, policy."""

from __future__ import annotations

import json
import time

import pytest
from django.urls import reverse
from integration_helpers import intake_body

from requests_app.integrations.jira.intake import sign
from requests_app.integrations.models import JiraIntake
from requests_app.lifecycle import State
from requests_app.models import Elevation

pytestmark = pytest.mark.django_db


def test_automation_call_creates_one_elevation_for_the_reporter(post_intake, device, employee):
    response = post_intake(intake_body())

    assert response.status_code == 201
    payload = response.json()
    assert payload["ok"] is True
    assert payload["outcome"] == "created"
    elevation = Elevation.objects.get()
    assert payload["elevation"]["id"] == str(elevation.public_id)
    assert payload["elevation"]["url"].endswith(f"/elevations/{elevation.public_id}/")
    assert elevation.beneficiary == employee
    assert elevation.requester == employee
    assert elevation.device == device
    assert elevation.source == Elevation.Source.JIRA
    assert elevation.source_ref == "IT-42"
    assert elevation.ticket_ref == "IT-42"
    assert elevation.requested_minutes == 60
    assert elevation.state == State.APPROVED


def test_same_issue_sent_three_times_creates_exactly_one_elevation(post_intake, device):
    answers = [post_intake(intake_body()) for _ in range(3)]

    assert [a.status_code for a in answers] == [201, 200, 200]
    assert Elevation.objects.count() == 1
    assert answers[2].json()["outcome"] == "duplicate"
    assert answers[2].json()["created"] is False
    assert answers[2].json()["elevation"]["id"] == answers[0].json()["elevation"]["id"]
    assert JiraIntake.objects.get().calls == 3


def test_expiry_instead_of_duration(post_intake, device):
    from requests_app.clock import now

    expiry = (now().replace(microsecond=0) + __import__("datetime").timedelta(minutes=90)).isoformat()
    response = post_intake(intake_body(duration="", expiry=expiry))

    assert response.status_code == 201
    assert Elevation.objects.get().requested_minutes in (90, 91)


@pytest.mark.parametrize("secret", ["", "wrong-secret", "automation-shared-secret2"])
def test_bad_secret_is_401_and_creates_nothing(post_intake, device, secret):
    response = post_intake(intake_body(), secret=secret)

    assert response.status_code == 401
    assert response.json()["error"] == "bad_secret"
    assert not Elevation.objects.exists()
    assert not JiraIntake.objects.exists()


def test_secret_as_bearer_token_is_accepted(post_intake, device):
    response = post_intake(intake_body(), secret="", headers={"Authorization": "Bearer automation-shared-secret"})
    assert response.status_code == 201


def test_body_that_is_not_json_is_400(post_intake, device):
    response = post_intake(None, raw=b"issueKey=IT-42")

    assert response.status_code == 400
    assert response.json() == {"ok": False, "error": "bad_body", "message": "the body is not JSON"}
    assert not Elevation.objects.exists()


def test_bad_body_lists_every_problem_and_creates_nothing(post_intake, device):
    response = post_intake({"issueKey": "nope", "reporterEmail": "erin@example.com", "duration": "forever"})

    assert response.status_code == 400
    payload = response.json()
    assert payload["error"] == "bad_body"
    assert set(payload["errors"]) == {"issueKey", "device", "reason", "duration"}
    assert not Elevation.objects.exists()
    assert not JiraIntake.objects.exists()


def test_unknown_reporter_is_422_and_creates_nothing(post_intake, device):
    response = post_intake(intake_body(reporterEmail="nobody@example.com"))

    assert response.status_code == 422
    assert response.json()["error"] == "unknown_reporter"
    assert "nobody@example.com" in response.json()["message"]
    assert not Elevation.objects.exists()
    assert not JiraIntake.objects.exists()


def test_unknown_device_is_422_and_creates_nothing(post_intake, device):
    response = post_intake(intake_body(device="NO-SUCH-HOST"))

    assert response.status_code == 422
    assert response.json()["error"] == "unknown_device"
    assert not Elevation.objects.exists()
    assert not JiraIntake.objects.exists()


def test_someone_elses_device_is_refused(post_intake, device, make_device, outsider):
    make_device(outsider, hostname="oscar-pc")

    response = post_intake(intake_body(device="oscar-pc"))

    assert response.status_code == 422
    assert response.json()["error"] == "not_allowed"
    assert not Elevation.objects.exists()


def test_device_by_provider_id_or_portal_id(post_intake, device):
    assert post_intake(intake_body(device=device.external_id)).status_code == 201
    second = post_intake(intake_body(issueKey="IT-43", device=str(device.public_id)))
    assert second.status_code == 201
    assert second.json()["outcome"] == "extended"  # the live one from IT-42 was extended
    assert Elevation.objects.count() == 1


def test_policy_violation_is_422_and_creates_nothing(post_intake, device):
    response = post_intake(intake_body(duration="10h"))

    assert response.status_code == 422
    assert response.json()["error"] == "policy_violation"
    assert "longer than" in response.json()["message"]
    assert not JiraIntake.objects.exists()
    # the same issue, corrected, is then accepted: a refusal stores nothing
    assert post_intake(intake_body(duration="2h")).status_code == 201


def test_policy_requiring_approval_leaves_it_pending(post_intake, device, default_policy):
    default_policy.requires_approval = True
    default_policy.save()

    response = post_intake(intake_body())

    assert response.status_code == 201
    assert response.json()["elevation"]["state"] == State.PENDING_APPROVAL


def test_signature_is_required_when_configured(post_intake, device, jira_connection):
    jira_connection.signing_secret = "hmac-key"
    jira_connection.save()
    raw = json.dumps(intake_body()).encode()

    unsigned = post_intake(None, raw=raw)
    header = sign(raw, "hmac-key", int(time.time()))
    signed = post_intake(None, raw=raw, headers={"X-Elevate-Signature": header})
    replayed = post_intake(None, raw=raw, headers={"X-Elevate-Signature": header})

    assert unsigned.status_code == 401
    assert unsigned.json()["error"] == "bad_signature"
    assert signed.status_code == 201
    assert replayed.status_code == 401
    assert replayed.json()["error"] == "replayed"


def test_disabled_connection_is_404(post_intake, device, jira_connection):
    jira_connection.enabled = False
    jira_connection.save()
    response = post_intake(intake_body())
    assert response.status_code == 404
    assert response.json()["error"] == "unknown_endpoint"


def test_get_is_405(client, post_intake):
    assert client.get(post_intake.url).status_code == 405


@pytest.fixture
def admin_with_mfa(admin, admin_client):
    """Staff pages want MFA set up; the admin has a TOTP authenticator."""
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    TOTP.activate(admin, generate_totp_secret())
    return admin_client


def test_admin_checks_the_jira_sign_in(admin_with_mfa, jira_connection):
    admin_client = admin_with_mfa
    from django.contrib.messages import get_messages

    url = reverse("admin:integrations_jiraconnection_changelist")
    response = admin_client.post(url, {"action": "check_sign_in", "_selected_action": [jira_connection.pk]})

    assert response.status_code == 302
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert texts == ["IT Jira: signed in as Elevate bot."]


def test_admin_never_shows_the_secrets_back(admin_with_mfa, jira_connection):
    admin_client = admin_with_mfa
    page = admin_client.get(reverse("admin:integrations_jiraconnection_change", args=[jira_connection.pk]))

    assert page.status_code == 200
    body = page.content.decode()
    assert "jira-api-token" not in body
    assert "automation-shared-secret" not in body
    assert f"/integrations/jira/{jira_connection.public_id}/intake" in body
