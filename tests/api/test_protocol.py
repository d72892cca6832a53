"""The API's protocol: problem+json, Idempotency-Key, per-token throttling, the schema and docs."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client, override_settings

from requests_app.models import Elevation, IdempotencyKey

pytestmark = pytest.mark.django_db


def test_errors_are_problem_documents(api, employee):
    response = Client().get("/api/v1/me")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert set(response.json()) >= {"type", "title", "status", "detail"}
    missing = api(employee, "read").get("elevations/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    assert missing.json()["status"] == 404


def test_a_session_is_not_enough_for_the_api(employee_client):
    assert employee_client.get("/api/v1/me").status_code == 401


def test_bad_json_is_a_400_problem(api, employee, device):
    client = api(employee, "request")
    response = client.client.post("/api/v1/elevations", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"


def test_a_retried_post_returns_the_first_answer_and_acts_once(api, employee, device):
    client = api(employee, "request")
    body = {"device": "erin-laptop", "minutes": 60, "reason": "Driver"}
    first = client.post("elevations", body, **{"Idempotency-Key": "abc-1"})
    again = client.post("elevations", body, **{"Idempotency-Key": "abc-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Elevation.objects.get().extensions == 0


def test_a_refusal_is_replayed_too(api, employee, device):
    client = api(employee, "request")
    body = {"device": "erin-laptop", "minutes": 999, "reason": "Driver"}
    first = client.post("elevations", body, **{"Idempotency-Key": "k"})
    again = client.post("elevations", body, **{"Idempotency-Key": "k"})
    assert first.status_code == again.status_code == 422
    assert again["Content-Type"] == "application/problem+json"


def test_the_same_key_with_another_body_is_refused(api, employee, device):
    client = api(employee, "request")
    client.post("elevations", {"device": "erin-laptop", "minutes": 60, "reason": "a"}, **{"Idempotency-Key": "k"})
    other = client.post(
        "elevations", {"device": "erin-laptop", "minutes": 15, "reason": "b"}, **{"Idempotency-Key": "k"}
    )
    assert other.status_code == 422
    assert Elevation.objects.get().extensions == 0


def test_a_key_still_running_is_a_409(api, employee, device):
    client = api(employee, "request")
    body = {"device": "erin-laptop", "minutes": 60, "reason": "a"}
    client.post("elevations", body, **{"Idempotency-Key": "k"})
    IdempotencyKey.objects.update(status_code=None)  # as if the first call had not answered yet
    assert client.post("elevations", body, **{"Idempotency-Key": "k"}).status_code == 409


@override_settings(ELEVATE_API_RATE="3/min")
def test_calls_are_throttled_per_token(api, employee):
    cache.clear()
    first, second = api(employee, "read"), api(employee, "read")
    statuses = [first.get("me").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = first.get("me")
    assert int(refused["Retry-After"]) >= 1
    assert second.get("me").status_code == 200  # another token has its own budget


def test_the_schema_and_the_docs_need_no_token():
    schema = Client().get("/api/v1/schema", headers={"Accept": "application/vnd.oai.openapi+json"})
    assert schema.status_code == 200
    assert schema.json()["openapi"].startswith("3.")
    assert "/api/v1/elevations" in schema.json()["paths"]
    docs = Client().get("/api/v1/docs")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content
    script = Client().get("/api/v1/docs?script")  # the start-up script is a file: no inline script for a CSP
    assert script.status_code == 200
    assert b"SwaggerUIBundle" in script.content


@pytest.mark.parametrize(("path", "query"), [("helpdesk/people", {"q": "a\x00b"}), ("elevations", {"device": "a\x00"})])
def test_a_nul_character_in_a_query_is_a_client_error(api, helpdesk, with_mfa, path, query):
    with_mfa(helpdesk)
    response = api(helpdesk, "read", "helpdesk").get(path, query)
    assert response.status_code in (400, 422)
    assert response["Content-Type"] == "application/problem+json"
