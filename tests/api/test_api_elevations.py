"""The elevation resources answer like the pages: same services, same refusals, source=api."""

from __future__ import annotations

import pytest

from requests_app.lifecycle import State
from requests_app.models import AuditEvent, Elevation

pytestmark = pytest.mark.django_db


def test_request_creates_an_api_sourced_elevation_and_audits_the_call(api, employee, device):
    client = api(employee, "read", "request")
    response = client.post("elevations", {"device": "erin-laptop", "minutes": 60, "reason": "Install a driver"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["outcome"] == "requested"
    assert body["state"] == State.APPROVED
    elevation = Elevation.objects.get(public_id=body["id"])
    assert elevation.source == Elevation.Source.API
    call = AuditEvent.objects.filter(action="api.call").last()
    assert call.after["source"] == "api"
    assert call.after["token"] == str(employee.api_tokens.get().public_id)
    assert call.elevation_id == elevation.pk
    assert client.secret not in str(call.after)


def test_a_second_request_for_the_same_device_extends_instead(api, employee, device):
    client = api(employee, "request")
    first = client.post("elevations", {"device": str(device.public_id), "minutes": 60, "reason": "Driver"})
    second = client.post("elevations", {"device": str(device.public_id), "minutes": 15, "reason": "More"})
    assert second.status_code == 200
    assert second.json()["outcome"] == "extended"
    assert second.json()["id"] == first.json()["id"]


def test_a_duration_beyond_the_policy_is_refused_by_field(api, employee, device):
    response = api(employee, "request").post("elevations", {"device": "erin-laptop", "minutes": 999, "reason": "x"})
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert set(response.json()["errors"]) == {"minutes"}
    assert not Elevation.objects.exists()


def test_someone_elses_device_is_refused_by_field(api, outsider, device):
    response = api(outsider, "request").post("elevations", {"device": "erin-laptop", "minutes": 60, "reason": "x"})
    assert response.status_code == 422
    assert response.json()["errors"] == {"device": ["Pick one of your own devices."]}


def test_list_filters_by_state_and_shows_only_own_elevations(
    api, employee, outsider, device, make_device, make_elevation
):
    mine = make_elevation(employee, device)
    make_elevation(employee, device, state=State.EXPIRED)
    make_elevation(outsider, make_device(outsider))
    body = api(employee, "read").get("elevations", {"state": "active"}).json()
    assert [row["id"] for row in body["results"]] == [str(mine.public_id)]


def test_extend_offers_only_the_policy_increments(api, employee, device, make_elevation):
    elevation = make_elevation(employee, device)
    client = api(employee, "request")
    refused = client.post(f"elevations/{elevation.public_id}/extend", {"minutes": 45})
    assert refused.status_code == 422
    assert "minutes" in refused.json()["errors"]
    done = client.post(f"elevations/{elevation.public_id}/extend", {"minutes": 15})
    assert done.status_code == 200
    assert done.json()["extensions"] == 1


def test_revoke_of_an_active_elevation_starts_revoking(api, employee, device, make_elevation):
    elevation = make_elevation(employee, device)
    response = api(employee, "request").post(f"elevations/{elevation.public_id}/revoke", {})
    assert response.status_code == 200
    assert response.json()["state"] == State.REVOKING


def test_someone_elses_elevation_is_a_404(api, outsider, employee, device, make_elevation):
    elevation = make_elevation(employee, device)
    client = api(outsider, "read", "request")
    assert client.get(f"elevations/{elevation.public_id}").status_code == 404
    assert client.post(f"elevations/{elevation.public_id}/revoke", {}).status_code == 404
    elevation.refresh_from_db()
    assert elevation.state == State.ACTIVE


def test_devices_lists_my_devices(api, employee, device):
    body = api(employee, "read").get("devices").json()
    assert [d["hostname"] for d in body] == ["erin-laptop"]


def test_policies_show_the_one_governing_my_devices(api, employee, device):
    body = api(employee, "read").get("policies").json()
    assert [p["name"] for p in body] == ["Default"]
