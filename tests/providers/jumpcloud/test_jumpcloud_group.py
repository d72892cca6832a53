"""JumpCloudGroupProvider (user-group sudo) against JumpCloudSimulator over real HTTP."""

from __future__ import annotations

import json
import time

import pytest

from requests_app.providers.base import ProviderError
from requests_app.providers.jumpcloud.provider import GroupGrantReference, JumpCloudGroupProvider

RICH_ATTRIBUTES = {
    "posixGroups": [{"id": 5001, "name": "engineering"}],
    "ldapGroups": [{"name": "eng"}],
    "radius": {"reply": [{"name": "Class", "value": "eng"}]},
    "sambaEnabled": True,
}


@pytest.fixture
def engineering(jumpcloud, org):
    """A user group with every kind of field and attribute, bound to the server group."""
    group_id = jumpcloud.add_group(
        "engineering",
        members=[org.jane],
        attributes=json.loads(json.dumps(RICH_ATTRIBUTES)),
        description="Engineers — with a non-ASCII dash",
        email="eng@example.com",
        membershipMethod="DYNAMIC_REVIEW_REQUIRED",
        memberQuery={"queryType": "FilterQuery", "filters": ["department:eq:Engineering"]},
        memberQueryExemptions=[{"id": org.bob, "type": "user"}],
        memberSuggestionsNotify=True,
    )
    jumpcloud.associate(group_id, "system_group", org.servers)
    return group_id


def test_group_mode_sets_sudo_and_reverts_keeping_everything_else_byte_for_byte(
    jumpcloud, org, engineering, group_provider, group_request
):
    before = jumpcloud.group_json(engineering)

    result = group_provider.grant(group_request(engineering))

    attributes = json.loads(jumpcloud.group_json(engineering))["attributes"]
    assert attributes == {**RICH_ATTRIBUTES, "sudo": {"enabled": True, "withoutPassword": False}}
    assert group_provider.status(result.reference).state == "active"
    # Jane, a member, now has sudo on the server the group reaches.
    assert jumpcloud.traverse(org.jane)[org.server]["compiledAttributes"]["sudo"]["enabled"]

    group_provider.revoke(result.reference)

    assert jumpcloud.group_json(engineering) == before
    assert group_provider.status(result.reference).state == "ended"


def test_group_mode_puts_the_whole_group_back(jumpcloud, engineering, group_provider, group_request):
    group_provider.grant(group_request(engineering))

    assert [call[:2] for call in jumpcloud.calls(path_regex="/usergroups/")] == [
        ("GET", f"/api/v2/usergroups/{engineering}"),
        ("PUT", f"/api/v2/usergroups/{engineering}"),
    ]


def test_group_mode_grant_twice_changes_the_group_once(jumpcloud, engineering, group_provider, group_request):
    first = group_provider.grant(group_request(engineering))
    second = group_provider.grant(group_request(engineering))

    assert first.reference == second.reference
    assert len(jumpcloud.calls("PUT")) == 1


def test_revert_twice_is_harmless(jumpcloud, engineering, group_provider, group_request):
    before = jumpcloud.group_json(engineering)
    reference = group_provider.grant(group_request(engineering)).reference

    group_provider.revoke(reference)
    group_provider.revoke(reference)

    assert len(jumpcloud.calls("PUT")) == 2  # grant + one revert
    assert jumpcloud.group_json(engineering) == before


def test_revert_puts_back_a_disabled_sudo_where_it_was(jumpcloud, group_provider, group_request):
    group_id = jumpcloud.add_group(
        "ops",
        attributes={
            "posixGroups": [{"id": 7, "name": "ops"}],
            "sudo": {"enabled": False, "withoutPassword": False},
            "sambaEnabled": False,
        },
    )
    before = jumpcloud.group_json(group_id)

    reference = group_provider.grant(group_request(group_id, without_password=True)).reference
    granted = json.loads(jumpcloud.group_json(group_id))["attributes"]
    group_provider.revoke(reference)

    assert granted["sudo"] == {"enabled": True, "withoutPassword": True}
    assert list(granted) == ["posixGroups", "sudo", "sambaEnabled"]
    assert jumpcloud.group_json(group_id) == before
    assert GroupGrantReference.parse(reference).prior_sudo == {"enabled": False, "withoutPassword": False}


def test_group_with_no_attributes_gets_sudo_and_loses_it(jumpcloud, group_provider, group_request):
    group_id = jumpcloud.add_group("plain")
    before = jumpcloud.group_json(group_id)

    reference = group_provider.grant(group_request(group_id)).reference
    group_provider.revoke(reference)

    assert jumpcloud.group_json(group_id) == before


def test_revert_of_a_deleted_group_counts_as_done(jumpcloud, engineering, group_provider, group_request):
    reference = group_provider.grant(group_request(engineering)).reference
    del jumpcloud.user_groups[engineering]

    group_provider.revoke(reference)

    assert group_provider.status(reference).state == "missing"


def test_preflight_refuses_a_group_that_already_has_sudo(org, group_provider, group_request):
    with pytest.raises(ProviderError, match="already has sudo") as caught:
        group_provider.preflight(group_request(org.admins))

    assert caught.value.permanent


def test_preflight_of_a_plain_group_mentions_windows_sign_out(engineering, group_provider, group_request):
    notes = group_provider.preflight(group_request(engineering))

    assert any("sign out" in note for note in notes)


def test_rate_limit_on_the_put_is_transient_and_the_retry_keeps_the_group(
    jumpcloud, engineering, group_provider, group_request
):
    before = jumpcloud.group_json(engineering)
    jumpcloud.add_fault(method="PUT", path="/usergroups/", status=429, retry_after="3")

    with pytest.raises(ProviderError) as caught:
        group_provider.grant(group_request(engineering))

    assert not caught.value.permanent and caught.value.retry_after == 3.0
    assert jumpcloud.group_json(engineering) == before
    reference = group_provider.grant(group_request(engineering)).reference
    group_provider.revoke(reference)
    assert jumpcloud.group_json(engineering) == before


def test_timeout_on_the_put_then_find_grant_sees_it(jumpcloud, engineering, make_connection, group_request):
    provider = JumpCloudGroupProvider(make_connection(jumpcloud, kind="jumpcloud_group", timeout=0.3))
    before = jumpcloud.group_json(engineering)
    jumpcloud.add_fault(method="PUT", path="/usergroups/", delay=0.8)

    with pytest.raises(ProviderError, match="did not answer in time") as caught:
        provider.grant(group_request(engineering))
    assert not caught.value.permanent
    time.sleep(0.7)

    found = provider.find_grant(group_request(engineering))
    provider.revoke(found.reference)

    assert jumpcloud.group_json(engineering) == before


def test_server_error_on_revert_is_transient_and_changes_nothing(jumpcloud, engineering, group_provider, group_request):
    reference = group_provider.grant(group_request(engineering)).reference
    granted = jumpcloud.group_json(engineering)
    jumpcloud.add_fault(method="PUT", path="/usergroups/", status=500)

    with pytest.raises(ProviderError) as caught:
        group_provider.revoke(reference)

    assert not caught.value.permanent
    assert jumpcloud.group_json(engineering) == granted


def test_association_mode_sets_sudo_on_the_edge_and_reverts_with_empty_attributes(
    jumpcloud, org, engineering, group_provider, group_request
):
    before = jumpcloud.group_json(engineering)
    request = group_request(engineering, device_group_id=org.servers)
    group_provider.preflight(request)

    result = group_provider.grant(request)

    reference = GroupGrantReference.parse(result.reference)
    assert (reference.group_id, reference.target_type, reference.target_id) == (
        engineering,
        "system_group",
        org.servers,
    )
    assert reference.elevation == request.idempotency_key
    assert jumpcloud.edge_attributes(engineering, "system_group", org.servers) == {
        "sudo": {"enabled": True, "withoutPassword": False}
    }
    assert jumpcloud.traverse(org.jane)[org.server]["compiledAttributes"]["sudo"]["enabled"]
    assert group_provider.status(result.reference).state == "active"

    group_provider.revoke(result.reference)

    assert jumpcloud.edge_attributes(engineering, "system_group", org.servers) == {}
    assert group_provider.status(result.reference).state == "ended"
    assert jumpcloud.group_json(engineering) == before  # the group itself was never touched
    assert jumpcloud.calls("PUT") == []
    assert [c[2] for c in jumpcloud.calls("POST", "/associations$")] == [204, 204]


def test_association_mode_refuses_a_group_not_bound_to_the_device_group(jumpcloud, org, group_provider, group_request):
    lonely = jumpcloud.add_group("lonely", members=[org.jane])

    with pytest.raises(ProviderError, match="not bound") as caught:
        group_provider.preflight(group_request(lonely, device_group_id=org.servers))

    assert caught.value.permanent


def test_association_mode_refuses_an_edge_that_already_has_sudo(jumpcloud, org, group_provider, group_request):
    group_id = jumpcloud.add_group("ops")
    jumpcloud.associate(group_id, "system_group", org.servers, {"sudo": {"enabled": True, "withoutPassword": False}})

    with pytest.raises(ProviderError, match="already has sudo"):
        group_provider.preflight(group_request(group_id, device_group_id=org.servers))


def test_association_revert_after_the_edge_was_removed_counts_as_done(
    jumpcloud, org, engineering, group_provider, group_request
):
    reference = group_provider.grant(group_request(engineering, device_group_id=org.servers)).reference
    del jumpcloud.group_edges[(engineering, "system_group", org.servers)]

    group_provider.revoke(reference)

    assert group_provider.status(reference).state == "ended"


def test_list_user_groups_for_the_picker(org, engineering, group_provider):
    assert group_provider.list_user_groups() == [(engineering, "engineering"), (org.admins, "server-admins")]


def test_group_reference_round_trips():
    plain = GroupGrantReference("a" * 24)
    edge = GroupGrantReference("a" * 24, "system_group", "b" * 24)
    prior = GroupGrantReference(
        "a" * 24, prior_sudo={"enabled": False, "withoutPassword": False}, elevation="0b7f8f0e-0000-4000-8000-1"
    )

    for reference in (plain, edge, prior):
        assert GroupGrantReference.parse(str(reference)) == reference
    with pytest.raises(ProviderError):
        GroupGrantReference.parse("something-else")
