"""JumpCloudSimulator keeps to the contract notes: shapes, validation and error bodies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from requests_app.providers.jumpcloud.client import DEVICE_ADMIN_OPERATION_ID


@pytest.fixture
def http(jumpcloud):
    with httpx.Client(base_url=jumpcloud.base_url, headers={"x-api-key": "test-api-key"}) as client:
        yield client


def _create_body(user_id, system_id, **overrides):
    body = {
        "requestorId": user_id,
        "resourceId": system_id,
        "resourceType": "device",
        "operationId": DEVICE_ADMIN_OPERATION_ID,
        "expiry": (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "remarks": "",
        "additionalAttributes": {"sudo": {"enabled": True, "withoutPassword": False}},
    }
    body.update(overrides)
    return body


def test_create_answers_200_with_only_the_id(http, org):
    response = http.post("/api/v2/accessrequests", json=_create_body(org.jane, org.mac))

    assert response.status_code == 200
    assert list(response.json()) == ["id"] and len(response.json()["id"]) == 24


def test_get_returns_the_documented_record(http, org):
    access_id = http.post("/api/v2/accessrequests", json=_create_body(org.jane, org.mac)).json()["id"]

    record = http.get(f"/api/v2/accessrequests/{access_id}").json()

    assert isinstance(record["id"], int) and record["accessId"] == access_id
    assert record["accessState"] == "granted"
    assert isinstance(record["additionalAttributes"], str)
    assert record["expiry"].endswith("Z") and "." not in record["expiry"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"requestorId": ""}, "requestorId"),
        ({"resourceType": "application"}, "resourceType"),
        ({"expiry": "tomorrow"}, "expiry"),
        ({"expiry": "2020-01-01T00:00:00Z"}, "expiry"),
        ({"operationId": "x"}, "operationId"),
        ({"additionalAttributes": {"sudo": {"enabled": False, "withoutPassword": True}}}, "additionalAttributes"),
    ],
)
def test_create_validation_errors_name_the_field(http, org, overrides, field):
    response = http.post("/api/v2/accessrequests", json=_create_body(org.jane, org.mac, **overrides))

    body = response.json()
    assert response.status_code == 400 and body["code"] == 3
    assert body["message"].startswith("error validating CreateAccessRequest: invalid ")
    assert body["details"][0]["fieldViolations"][0]["field"] == field


def test_second_live_request_for_the_same_device_conflicts(http, org):
    http.post("/api/v2/accessrequests", json=_create_body(org.jane, org.mac))

    response = http.post("/api/v2/accessrequests", json=_create_body(org.jane, org.mac))

    assert response.status_code == 409 and response.json()["code"] == 6


def test_missing_api_key_is_401(jumpcloud):
    response = httpx.get(f"{jumpcloud.base_url}/api/v2/usergroups")

    assert response.status_code == 401
    assert response.json() == {"code": 401, "message": "Unauthorized", "status": "Unauthorized"}


def test_malformed_org_id_is_400(http):
    response = http.get("/api/v2/usergroups", headers={"x-org-id": "nope"})

    assert response.status_code == 400 and response.json()["message"] == "Malformed ID"


def test_v1_filter_needs_dollar_operators(http, org):
    good = http.get("/api/systemusers", params={"filter": "email:$eq:jane@example.com"})
    bad = http.get("/api/systemusers", params={"filter": "email:eq:jane@example.com"})

    assert good.json()["totalCount"] == 1 and good.json()["results"][0]["_id"] == org.jane
    assert bad.status_code == 400


def test_v1_filter_is_case_sensitive(http, org):
    response = http.get("/api/systemusers", params={"filter": "email:$eq:JANE@example.com"})

    assert response.json() == {"totalCount": 0, "results": []}


def test_put_is_a_full_update_that_drops_fields_left_out(jumpcloud, http, org):
    group_id = jumpcloud.add_group("eng", description="keep me", attributes={"sambaEnabled": True})

    response = http.put(f"/api/v2/usergroups/{group_id}", json={"name": "eng"})

    assert response.status_code == 200
    assert "description" not in response.json() and "attributes" not in response.json()


def test_put_requires_a_name_and_valid_sudo(jumpcloud, http):
    group_id = jumpcloud.add_group("eng")

    nameless = http.put(f"/api/v2/usergroups/{group_id}", json={"description": "x"})
    bad_sudo = http.put(
        f"/api/v2/usergroups/{group_id}",
        json={"name": "eng", "attributes": {"sudo": {"enabled": True}}},
    )

    assert nameless.status_code == 400
    assert nameless.json()["details"][0]["fieldViolations"][0]["field"] == "name"
    assert bad_sudo.status_code == 400 and "withoutPassword" in bad_sudo.json()["message"]


def test_association_update_of_a_missing_edge_is_404(jumpcloud, http, org):
    group_id = jumpcloud.add_group("eng")

    response = http.post(
        f"/api/v2/usergroups/{group_id}/associations",
        json={"op": "update", "type": "system_group", "id": org.servers, "attributes": {}},
    )

    assert response.status_code == 404


def test_associations_need_a_targets_parameter(http, org):
    assert http.get(f"/api/v2/usergroups/{org.admins}/associations").status_code == 400
    edges = http.get(f"/api/v2/usergroups/{org.admins}/associations", params={"targets": "system_group"})
    assert edges.json() == [
        {
            "to": {
                "id": org.servers,
                "type": "system_group",
                "attributes": None,
            },
            "attributes": None,
        }
    ]


def test_traversal_shows_group_paths_and_compiled_sudo(http, org):
    systems = http.get(f"/api/v2/users/{org.bob}/systems").json()

    assert [s["id"] for s in systems] == [org.server]
    assert systems[0]["compiledAttributes"] == {"sudo": {"enabled": True, "withoutPassword": False}}
    assert [hop["to"]["type"] for hop in systems[0]["paths"][0]] == ["user_group", "system_group", "system"]


def test_seed_demo_gives_every_user_two_devices():
    from requests_app.providers.jumpcloud.simulator import JumpCloudSimulator

    simulator = JumpCloudSimulator(api_key=None)
    ids = simulator.seed_demo(["ann@example.com", "ben@example.com"])

    assert set(ids["users"]) == {"ann@example.com", "ben@example.com"}
    assert len(simulator.traverse(ids["users"]["ann@example.com"])) == 3  # Mac, Windows, server
    assert len(simulator.traverse(ids["users"]["ben@example.com"])) == 2
