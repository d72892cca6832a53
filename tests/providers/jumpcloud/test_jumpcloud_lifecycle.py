"""The portal's lifecycle (services, execution steps, sweep) against the JumpCloud simulator.

The steps are driven in-process, one call at a time, so each injected fault (429, 5xx,
timeouts) is seen exactly where it happens; the last test runs a real worker and beat.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from allauth.account.signals import user_logged_in

from helpers import state_of, wait_for
from requests_app import clock, execution, services
from requests_app.devices import sync_user_devices
from requests_app.errors import PolicyViolation, ProviderUnavailable
from requests_app.lifecycle import State
from requests_app.models import AuditEvent, Device, Elevation, ProviderConnection, ProviderIdentity
from requests_app.providers import gate
from requests_app.providers.jumpcloud import services as jumpcloud_services
from requests_app.providers.jumpcloud.sync import sync_user_devices_task

API_KEY = "test-api-key"
ORG_ID = "5f0c1d2e3f4a5b6c7d8e9f00"
RICH_ATTRIBUTES = {"posixGroups": [{"id": 5001, "name": "eng"}], "ldapGroups": [{"name": "eng"}], "sambaEnabled": True}


@pytest.fixture
def erin(jumpcloud, employee):
    """The `employee` persona in JumpCloud: a Mac, a Windows laptop, and a server via a group."""
    user_id = jumpcloud.add_user(employee.email)
    mac = jumpcloud.add_system("ERIN-MBP")
    windows = jumpcloud.add_system("ERIN-WIN", os="Windows", os_family="windows")
    jumpcloud.bind(user_id, mac)
    jumpcloud.bind(user_id, windows)
    server = jumpcloud.add_system("build-01", os="Ubuntu", os_family="linux")
    servers = jumpcloud.add_system_group("linux-servers", [server])
    engineering = jumpcloud.add_group(
        "engineering", members=[user_id], attributes=json.loads(json.dumps(RICH_ATTRIBUTES)), description="Eng"
    )
    jumpcloud.associate(engineering, "system_group", servers)
    return {"id": user_id, "mac": mac, "windows": windows, "server": server, "servers": servers, "group": engineering}


@pytest.fixture
def connection(jumpcloud, db):
    return ProviderConnection.objects.create(
        name="JumpCloud", kind="jumpcloud", base_url=jumpcloud.base_url, org_id=ORG_ID, secret=API_KEY,
        options={"timeout": 0.5},
    )  # fmt: skip


@pytest.fixture
def group_connection(jumpcloud, db):
    return ProviderConnection.objects.create(
        name="JumpCloud groups", kind="jumpcloud_group", base_url=jumpcloud.base_url, org_id=ORG_ID,
        secret=API_KEY, options={"timeout": 0.5},
    )  # fmt: skip


@pytest.fixture
def erin_devices(erin, employee, connection, default_policy):
    devices = sync_user_devices(user=employee, connection=connection)
    return {device.hostname: device for device in devices}


def request_quietly(django_capture_on_commit_callbacks, service, **kwargs):
    """Call a service without running its on-commit Celery sends: the test drives the steps."""
    with django_capture_on_commit_callbacks(execute=False):
        return service(**kwargs)


def created_access_requests(jumpcloud) -> int:
    return len([call for call in jumpcloud.calls("POST", "/accessrequests$") if call[2] == 200])


# ---------------------------------------------------------------------------------------------
# Device mode
# ---------------------------------------------------------------------------------------------


def test_device_lifecycle_survives_429_5xx_and_timeouts_and_grants_once(
    jumpcloud, erin, employee, erin_devices, django_capture_on_commit_callbacks
):
    mac = erin_devices["ERIN-MBP"]
    elevation = request_quietly(
        django_capture_on_commit_callbacks, services.elevation_request,
        requester=employee, device=mac, minutes=60, reason="install a printer driver",
    )  # fmt: skip
    assert elevation.state == State.APPROVED

    # A 5xx after sending may have granted: the step after it looks before it creates.
    jumpcloud.add_fault(method="POST", path="/accessrequests$", status=503)
    assert execution.grant_step(elevation.pk) is not None
    assert state_of(elevation) == State.GRANTING
    assert Elevation.objects.get(pk=elevation.pk).possibly_granted

    # Slow enough for the client to give up, but JumpCloud creates the request all the same.
    jumpcloud.add_fault(method="POST", path="/accessrequests$", delay=1.0)
    assert execution.grant_step(elevation.pk) is not None
    assert "did not answer in time" in Elevation.objects.get(pk=elevation.pk).last_error
    # JumpCloud finishes the slow request after the client gave up.
    wait_for(lambda: jumpcloud.live_requests(erin["id"], erin["mac"]), 5, message="the late access request")

    # The search is rate-limited once: the step waits out Retry-After in place and goes on.
    jumpcloud.add_fault(method="GET", path="/accessrequests$", status=429, retry_after="1")
    assert execution.grant_step(elevation.pk) is None
    assert state_of(elevation) == State.ACTIVE
    assert jumpcloud.calls_inside_retry_after() == 0
    live = jumpcloud.live_requests(erin["id"], erin["mac"])
    assert [r["accessId"] for r in live] == [elevation.provider_ref]
    assert created_access_requests(jumpcloud) == 1  # the timed-out one, found again afterwards
    assert len(jumpcloud.access_requests) == 1
    assert execution.grant_step(elevation.pk) is None  # a duplicate delivery does nothing

    with django_capture_on_commit_callbacks(execute=False):
        services.elevation_extend(elevation=elevation, actor=employee, minutes=60)
    jumpcloud.add_fault(method="PUT", path="/accessrequests/", status=500)
    assert execution.sync_expiry_step(elevation.pk) is not None
    assert execution.sync_expiry_step(elevation.pk) is None
    elevation.refresh_from_db()
    assert jumpcloud.access_request(elevation.provider_ref)["expiry"] == elevation.expires_at.strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    assert elevation.provider_expires_at == elevation.expires_at

    with django_capture_on_commit_callbacks(execute=False):
        services.elevation_revoke(elevation=elevation, actor=employee, reason="done")
    jumpcloud.add_fault(method="POST", path="/revoke$", close=True, times=None)  # every copy of it
    assert execution.revoke_step(elevation.pk) is not None
    assert state_of(elevation) == State.REVOKING
    jumpcloud.clear_faults()
    assert execution.revoke_step(elevation.pk) is None
    assert state_of(elevation) == State.REVOKED
    assert jumpcloud.access_request(elevation.provider_ref)["accessState"] == "revoked"
    assert execution.revoke_step(elevation.pk) is None  # again: nothing happens


@pytest.fixture
def active_hour(jumpcloud, erin, employee, erin_devices, django_capture_on_commit_callbacks):
    """An hour of admin on Erin's Mac, granted at JumpCloud."""
    elevation = request_quietly(
        django_capture_on_commit_callbacks, services.elevation_request,
        requester=employee, device=erin_devices["ERIN-MBP"], minutes=60, reason="update Xcode",
    )  # fmt: skip
    execution.grant_step(elevation.pk)
    assert state_of(elevation) == State.ACTIVE
    return elevation


@pytest.mark.parametrize(
    "fault",
    # The 429 takes a round trip to come back (here 50 ms): both copies leave before it is known.
    [{"status": 500}, {"status": 429, "retry_after": "1", "delay": 0.05}, {"close": True}],
    ids=["500", "429", "no answer"],
)
@pytest.mark.django_db(transaction=True)  # the copies' threads commit what they store (the 429's pause)
def test_a_persons_revoke_goes_out_twice_at_once_so_one_lost_call_does_not_delay_it(
    jumpcloud, employee, active_hour, django_capture_on_commit_callbacks, fault
):
    """A revoke is one idempotent call at JumpCloud: the engine sends two copies at once, and the
    copy that gets through ends the row in this step, whatever the other one met."""
    elevation = active_hour
    with django_capture_on_commit_callbacks(execute=False):
        services.elevation_revoke(elevation=elevation, actor=employee, reason="done")
    jumpcloud.add_fault(method="POST", path="/revoke$", **fault)

    assert execution.revoke_step(elevation.pk) is None
    assert state_of(elevation) == State.REVOKED
    assert jumpcloud.access_request(elevation.provider_ref)["accessState"] == "revoked"
    # The step does not wait for the other copy's answer; it is on its way all the same.
    wait_for(lambda: len(jumpcloud.calls("POST", "/revoke$")) == 2, 5, message="the second copy")
    assert jumpcloud.calls_inside_retry_after() == 0
    if fault.get("status") == 429:
        # The rate-limited copy is not tried again once its pause is over: its twin got through.
        wait_for(gate.paused_connections, 5, message="the pause of the rate-limited copy")
        wait_for(lambda: not gate.paused_connections(), 5, message="the pause to pass")
        time.sleep(0.3)
        assert len(jumpcloud.calls("POST", "/revoke$")) == 2


@pytest.mark.django_db(transaction=True)
def test_when_both_copies_fail_the_next_wave_carries_two_fresh_ones(
    jumpcloud, employee, active_hour, django_capture_on_commit_callbacks
):
    """One copy met a 429, the other a 500: two fresh copies wait out the pause and go together."""
    elevation = active_hour
    with django_capture_on_commit_callbacks(execute=False):
        services.elevation_revoke(elevation=elevation, actor=employee, reason="done")
    jumpcloud.add_fault(method="POST", path="/revoke$", status=429, retry_after="1", delay=0.05)
    jumpcloud.add_fault(method="POST", path="/revoke$", status=500, delay=0.2)

    assert execution.revoke_step(elevation.pk) is None
    assert state_of(elevation) == State.REVOKED
    wait_for(lambda: len(jumpcloud.calls("POST", "/revoke$")) == 4, 5, message="two copies in the second wave")
    assert [status for _m, _p, status in jumpcloud.calls("POST", "/revoke$")][:2] == [429, 500]
    assert jumpcloud.calls_inside_retry_after() == 0


@pytest.mark.django_db(transaction=True)
def test_an_operator_on_a_tight_call_budget_switches_hedging_off(
    jumpcloud, employee, active_hour, django_capture_on_commit_callbacks, settings
):
    """ELEVATE_HEDGE_REVOKES=false: a person's revoke is one call, not two copies."""
    settings.ELEVATE_HEDGE_REVOKES = False
    elevation = active_hour
    with django_capture_on_commit_callbacks(execute=False):
        services.elevation_revoke(elevation=elevation, actor=employee, reason="done")

    assert execution.revoke_step(elevation.pk) is None
    assert state_of(elevation) == State.REVOKED
    time.sleep(0.3)  # a second copy, were there one, would be on its way by now
    assert len(jumpcloud.calls("POST", "/revoke$")) == 1


def test_device_grant_expires_at_jumpcloud_on_its_own_and_jumpcloud_confirms_it(jumpcloud, active_hour):
    elevation = active_hour

    clock.set_offset(timedelta(minutes=60, seconds=1))
    jumpcloud.advance(60 * 60 + 1)
    calls_before = len(jumpcloud.log)
    assert elevation.pk in execution.due_work(clock.now())["revoke"]
    # JumpCloud ends the access request at the expiry it was given: the row ends on time, with
    # no call that a rate-limited JumpCloud could delay.
    assert execution.revoke_step(elevation.pk) is None
    assert state_of(elevation) == State.EXPIRED
    assert len(jumpcloud.log) == calls_before

    # A little later JumpCloud is asked to confirm, once.
    assert elevation.pk not in execution.due_work(clock.now())["confirm_end"]
    clock.set_offset(timedelta(minutes=60, seconds=12))
    assert elevation.pk in execution.due_work(clock.now())["confirm_end"]
    assert execution.confirm_end_step(elevation.pk) is None
    assert execution.confirm_end_step(elevation.pk) is None  # a duplicate delivery asks nothing
    asked = [call[:2] for call in jumpcloud.log[calls_before:]]
    assert asked == [("GET", f"/api/v2/accessrequests/{elevation.provider_ref}")]
    assert jumpcloud.calls("POST", "/revoke$") == []
    elevation.refresh_from_db()
    assert elevation.next_attempt_at is None and not elevation.drift
    assert AuditEvent.objects.filter(elevation=elevation, action="elevation.end_confirmed").count() == 1


def test_a_grant_jumpcloud_failed_to_end_is_revoked_and_flagged_at_the_confirmation(jumpcloud, active_hour):
    elevation = active_hour
    clock.set_offset(timedelta(minutes=60, seconds=1))  # JumpCloud's clock stands still: still granted
    assert execution.revoke_step(elevation.pk) is None
    assert state_of(elevation) == State.EXPIRED

    clock.set_offset(timedelta(minutes=60, seconds=12))
    jumpcloud.add_fault(method="POST", path="/revoke$", status=500, times=None)  # every copy of it
    assert execution.confirm_end_step(elevation.pk) is not None  # retried, like every revoke
    jumpcloud.clear_faults()
    gate.forget_pauses()  # the pause after that run of 5xx is another test's subject
    assert execution.confirm_end_step(elevation.pk) is None
    assert jumpcloud.access_request(elevation.provider_ref)["accessState"] == "revoked"
    elevation.refresh_from_db()
    assert elevation.next_attempt_at is None
    assert elevation.drift == "still granted at the provider after its end time; revoked"
    assert AuditEvent.objects.filter(elevation=elevation, action="elevation.drift").exists()


def test_a_confirmation_does_not_hold_a_revoke_thread_while_jumpcloud_rate_limits(jumpcloud, active_hour):
    """The check after an expiry yields: a revoke worker's threads are for revokes and expiries.
    Asked while JumpCloud has paused the connection, it gives its thread back at once and asks
    again when the pause is over, without counting the 429 against the row."""
    elevation = active_hour
    clock.set_offset(timedelta(minutes=60, seconds=1))
    jumpcloud.advance(60 * 60 + 1)
    assert execution.revoke_step(elevation.pk) is None
    clock.set_offset(timedelta(minutes=60, seconds=12))
    jumpcloud.add_fault(method="GET", path="/accessrequests/", status=429, retry_after="4", times=1)

    started = time.monotonic()
    again_in = execution.confirm_end_step(elevation.pk)

    assert time.monotonic() - started < 1.5, "it did not wait out the pause on the thread"
    assert again_in is not None and again_in >= 3
    elevation.refresh_from_db()
    assert elevation.attempts == 0 and elevation.next_attempt_at is not None
    assert len(jumpcloud.calls("GET", "/accessrequests/")) == 1


def test_preflight_refuses_group_sudo_and_notes_windows(
    jumpcloud, erin, employee, connection, erin_devices, django_capture_on_commit_callbacks
):
    admins = jumpcloud.add_group(
        "server-admins", members=[erin["id"]], attributes={"sudo": {"enabled": True, "withoutPassword": False}}
    )
    jumpcloud.associate(admins, "system", erin["mac"])

    with pytest.raises(PolicyViolation, match="through the JumpCloud user group server-admins"):
        services.elevation_request(requester=employee, device=erin_devices["ERIN-MBP"], minutes=60, reason="x")
    windows = request_quietly(
        django_capture_on_commit_callbacks, services.elevation_request,
        requester=employee, device=erin_devices["ERIN-WIN"], minutes=60, reason="install a driver",
    )  # fmt: skip

    assert any("sign out" in note for note in windows.notes)
    assert Elevation.objects.count() == 1
    assert jumpcloud.access_requests == {}


def test_preflight_reads_a_synced_devices_name_and_os_from_the_sync_not_jumpcloud(
    jumpcloud, erin, employee, erin_devices, django_capture_on_commit_callbacks
):
    """Whether the device is still bound is asked live; its name and OS come from the device sync:
    one call fewer per grant while JumpCloud is rate-limiting."""
    jumpcloud.log.clear()
    windows = request_quietly(
        django_capture_on_commit_callbacks, services.elevation_request,
        requester=employee, device=erin_devices["ERIN-WIN"], minutes=60, reason="install a driver",
    )  # fmt: skip

    assert any("sign out" in note and "ERIN-WIN" in note for note in windows.notes)
    assert not jumpcloud.calls("GET", "/systems/"), "the device record was read from the sync"
    assert jumpcloud.calls("GET", "/users/.*/systems"), "the binding was asked live"


def test_one_request_for_several_devices_makes_one_elevation_each(
    jumpcloud, erin, employee, erin_devices, django_capture_on_commit_callbacks
):
    devices = [erin_devices["ERIN-MBP"], erin_devices["ERIN-WIN"]]

    elevations = request_quietly(
        django_capture_on_commit_callbacks, jumpcloud_services.elevations_request_devices,
        requester=employee, devices=devices, minutes=60, reason="rotate certificates",
    )  # fmt: skip
    for elevation in elevations:
        execution.grant_step(elevation.pk)

    assert [e.device.hostname for e in elevations] == ["ERIN-MBP", "ERIN-WIN"]
    assert all(state_of(e) == State.ACTIVE for e in elevations)
    assert len(jumpcloud.live_requests(erin["id"], erin["mac"])) == 1
    assert len(jumpcloud.live_requests(erin["id"], erin["windows"])) == 1


def test_a_several_device_request_with_one_bad_device_creates_nothing(
    jumpcloud, erin, employee, erin_devices, django_capture_on_commit_callbacks
):
    jumpcloud.remove_system(erin["windows"])
    sync_user_devices(user=employee, connection=erin_devices["ERIN-MBP"].connection)
    devices = Device.objects.filter(pk__in=[d.pk for d in erin_devices.values()]).order_by("hostname")

    with pytest.raises(ProviderUnavailable, match="ERIN-WIN: ERIN-WIN is no longer listed"):
        request_quietly(
            django_capture_on_commit_callbacks, jumpcloud_services.elevations_request_devices,
            requester=employee, devices=devices, minutes=60, reason="rotate certificates",
        )  # fmt: skip

    assert Elevation.objects.count() == 0


# ---------------------------------------------------------------------------------------------
# Identities and devices
# ---------------------------------------------------------------------------------------------


def test_identity_is_looked_up_once_and_cached(jumpcloud, erin, employee, connection, default_policy):
    sync_user_devices(user=employee, connection=connection)
    sync_user_devices(user=employee, connection=connection)

    assert ProviderIdentity.objects.get(user=employee, connection=connection).external_id == erin["id"]
    assert len(jumpcloud.calls("GET", "^/api/systemusers$")) == 1


def test_no_jumpcloud_account_is_said_plainly(jumpcloud, employee, connection, default_policy):
    with pytest.raises(ProviderUnavailable, match=r"No JumpCloud user has the e-mail address erin@example\.com"):
        sync_user_devices(user=employee, connection=connection)


def test_a_device_that_disappears_can_no_longer_be_requested(jumpcloud, erin, employee, erin_devices):
    jumpcloud.remove_system(erin["windows"])

    sync_user_devices(user=employee, connection=erin_devices["ERIN-WIN"].connection)

    windows = Device.objects.get(pk=erin_devices["ERIN-WIN"].pk)
    assert windows.removed_at is not None
    with pytest.raises(ProviderUnavailable, match="no longer listed"):
        services.elevation_request(requester=employee, device=windows, minutes=60, reason="x")


def test_sign_in_queues_a_device_sync_that_binds_the_devices(
    jumpcloud, erin, employee, connection, default_policy, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr(sync_user_devices_task, "delay", queued.append)

    with django_capture_on_commit_callbacks(execute=True):
        user_logged_in.send(sender=type(employee), request=None, user=employee)
    assert queued == [employee.pk]
    assert sync_user_devices_task(employee.pk) == 1

    assert sorted(employee.devices.values_list("hostname", flat=True)) == ["ERIN-MBP", "ERIN-WIN", "build-01"]


def test_sign_in_sync_looks_the_user_up_again_when_the_cached_id_is_gone(
    jumpcloud, erin, employee, connection, default_policy
):
    ProviderIdentity.objects.create(user=employee, connection=connection, external_id="f" * 24)

    assert sync_user_devices_task(employee.pk) == 1

    assert ProviderIdentity.objects.get(user=employee, connection=connection).external_id == erin["id"]
    assert employee.devices.count() == 3


def test_sign_in_survives_a_broker_that_is_down(employee, django_capture_on_commit_callbacks, monkeypatch, caplog):
    attempts = []

    def broken(user_id):
        attempts.append(user_id)
        raise ConnectionError("broker down")

    monkeypatch.setattr(sync_user_devices_task, "delay", broken)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        user_logged_in.send(sender=type(employee), request=None, user=employee)

    assert len(callbacks) == 1 and attempts == [employee.pk]  # the sync was tried once, after commit
    assert f"could not queue the sign-in device sync for user {employee.pk}: broker down" in caplog.text


# ---------------------------------------------------------------------------------------------
# Group mode
# ---------------------------------------------------------------------------------------------


def test_group_elevation_and_revert_survive_faults_and_keep_the_group_byte_for_byte(
    jumpcloud, erin, helpdesk, group_connection, default_policy, django_capture_on_commit_callbacks
):
    before = jumpcloud.group_json(erin["group"])
    elevation = request_quietly(
        django_capture_on_commit_callbacks, jumpcloud_services.group_elevation_request,
        requester=helpdesk, connection=group_connection, group_id=erin["group"], minutes=60,
        reason="incident 42: patch the build servers",
    )  # fmt: skip
    assert elevation.target_label == "engineering" and elevation.state == State.APPROVED

    jumpcloud.add_fault(method="PUT", path="/usergroups/", status=500)
    assert execution.grant_step(elevation.pk) is not None
    assert jumpcloud.group_json(erin["group"]) == before
    assert execution.grant_step(elevation.pk) is None
    assert state_of(elevation) == State.ACTIVE
    assert jumpcloud.traverse(erin["id"])[erin["server"]]["compiledAttributes"]["sudo"]["enabled"]

    with django_capture_on_commit_callbacks(execute=False):
        services.elevation_extend(elevation=elevation, actor=helpdesk, minutes=30)
    assert execution.sync_expiry_step(elevation.pk) is None  # JumpCloud knows no end: nothing to send

    elevation.refresh_from_db()
    clock.set_offset(elevation.expires_at - clock.now() + timedelta(seconds=1))
    assert elevation.pk in execution.due_work(clock.now())["revoke"]
    jumpcloud.add_fault(method="PUT", path="/usergroups/", delay=1.0)  # timeout; applied late
    assert execution.revoke_step(elevation.pk) is not None
    assert state_of(elevation) == State.REVOKING  # not given up: the sweep comes back
    # JumpCloud applies the slow PUT after the client gave up.
    wait_for(lambda: jumpcloud.group_json(erin["group"]) == before, 5, message="the late group PUT")
    # Rate-limited once: the step waits out Retry-After in place and the revert goes through.
    jumpcloud.add_fault(method="PUT", path="/usergroups/", status=429, retry_after="1")
    assert execution.revoke_step(elevation.pk) is None
    assert jumpcloud.calls_inside_retry_after() == 0

    assert state_of(elevation) == State.EXPIRED
    assert jumpcloud.group_json(erin["group"]) == before
    assert not jumpcloud.traverse(erin["id"])[erin["server"]]["compiledAttributes"]["sudo"]["enabled"]


def test_association_mode_elevates_the_group_on_a_device_group_and_reverts(
    jumpcloud, erin, helpdesk, group_connection, default_policy, django_capture_on_commit_callbacks
):
    before = jumpcloud.group_json(erin["group"])
    elevation = request_quietly(
        django_capture_on_commit_callbacks, jumpcloud_services.group_elevation_request,
        requester=helpdesk, connection=group_connection, group_id=erin["group"],
        device_group_id=erin["servers"], minutes=60, reason="incident 43",
    )  # fmt: skip
    assert elevation.target_label == "engineering on linux-servers"

    jumpcloud.add_fault(method="POST", path="/associations$", status=503)
    execution.grant_step(elevation.pk)
    execution.grant_step(elevation.pk)
    assert state_of(elevation) == State.ACTIVE
    assert jumpcloud.edge_attributes(erin["group"], "system_group", erin["servers"])["sudo"]["enabled"]

    with django_capture_on_commit_callbacks(execute=False):
        services.elevation_revoke(elevation=elevation, actor=helpdesk, reason="fixed")
    assert execution.revoke_step(elevation.pk) is None

    assert state_of(elevation) == State.REVOKED
    assert jumpcloud.edge_attributes(erin["group"], "system_group", erin["servers"]) == {}
    assert jumpcloud.group_json(erin["group"]) == before


def test_reconciling_an_ended_group_elevation_leaves_its_successor_alone(
    jumpcloud, erin, helpdesk, group_connection, default_policy, django_capture_on_commit_callbacks
):
    kwargs = {"connection": group_connection, "group_id": erin["group"], "minutes": 60, "reason": "incident"}
    first = request_quietly(
        django_capture_on_commit_callbacks, jumpcloud_services.group_elevation_request, requester=helpdesk, **kwargs
    )
    execution.grant_step(first.pk)
    with django_capture_on_commit_callbacks(execute=False):
        services.elevation_revoke(elevation=first, actor=helpdesk, reason="done")
    execution.revoke_step(first.pk)
    second = request_quietly(
        django_capture_on_commit_callbacks, jumpcloud_services.group_elevation_request, requester=helpdesk, **kwargs
    )
    execution.grant_step(second.pk)
    assert (state_of(first), state_of(second)) == (State.REVOKED, State.ACTIVE)

    # Both grants look alike at JumpCloud (a sudo flag); the ended one must not revert the live one.
    execution.reconcile()

    assert "sudo" in json.loads(jumpcloud.group_json(erin["group"]))["attributes"]
    assert Elevation.objects.get(pk=first.pk).drift == ""
    assert Elevation.objects.get(pk=second.pk).drift == ""


def test_a_group_cannot_be_elevated_twice_at_once(
    jumpcloud, erin, helpdesk, admin, group_connection, default_policy, django_capture_on_commit_callbacks
):
    kwargs = {"connection": group_connection, "group_id": erin["group"], "minutes": 60, "reason": "incident"}
    request_quietly(
        django_capture_on_commit_callbacks, jumpcloud_services.group_elevation_request, requester=helpdesk, **kwargs
    )

    with pytest.raises(PolicyViolation, match="already elevated"):
        jumpcloud_services.group_elevation_request(requester=admin, **kwargs)


def test_only_helpdesk_and_admins_elevate_groups(employee, group_connection, default_policy):
    from requests_app.errors import NotAllowed

    with pytest.raises(NotAllowed):
        jumpcloud_services.group_elevation_request(
            requester=employee, connection=group_connection, group_id="a" * 24, minutes=60, reason="please"
        )


def test_a_group_with_permanent_sudo_is_refused_before_anything_is_stored(
    jumpcloud, helpdesk, group_connection, default_policy
):
    admins = jumpcloud.add_group("it-admins", attributes={"sudo": {"enabled": True, "withoutPassword": False}})

    with pytest.raises(PolicyViolation, match="already has sudo"):
        jumpcloud_services.group_elevation_request(
            requester=helpdesk, connection=group_connection, group_id=admins, minutes=60, reason="x"
        )
    assert Elevation.objects.count() == 0


# ---------------------------------------------------------------------------------------------
# Admin: test connection
# ---------------------------------------------------------------------------------------------


def test_admin_test_connection_reports_each_check_without_the_key(jumpcloud, erin, admin, admin_client, connection):
    from allauth.mfa.models import Authenticator

    Authenticator.objects.create(user=admin, type=Authenticator.Type.TOTP, data={})  # staff pages need MFA
    broken = ProviderConnection.objects.create(
        name="JumpCloud read-only", kind="jumpcloud", base_url=jumpcloud.base_url, secret="read-only-key"
    )
    jumpcloud.read_only_keys.add("read-only-key")

    response = admin_client.post(
        "/admin/requests_app/providerconnection/",
        {"action": "test_connection", "_selected_action": [connection.pk, broken.pk]},
        follow=True,
    )

    text = [str(message) for message in response.context["messages"]]
    assert "JumpCloud — Access requests (write role): works. the API key may create and revoke access requests" in text
    assert any(t.startswith("JumpCloud read-only — Access requests (write role): FAILS.") for t in text)
    assert not any(API_KEY in t or "read-only-key" in t for t in text)
    assert API_KEY not in response.content.decode()
    assert AuditEvent.objects.filter(action="config.providerconnection.tested").count() == 2


# ---------------------------------------------------------------------------------------------
# A real worker and beat: the revert survives a worker killed in the middle of it
# ---------------------------------------------------------------------------------------------


@pytest.mark.worker
def test_group_revert_survives_a_worker_killed_mid_call(
    jumpcloud, erin, helpdesk, group_connection, default_policy, worker_factory
):
    before = jumpcloud.group_json(erin["group"])
    worker = worker_factory(beat=True, sweep_seconds=1)
    with clock.travel(timedelta(seconds=8 - 60)):  # a one-minute window that ends in 8 s
        elevation = jumpcloud_services.group_elevation_request(
            requester=helpdesk, connection=group_connection, group_id=erin["group"], minutes=1, reason="incident"
        )
    wait_for(lambda: state_of(elevation) == State.ACTIVE, 20, message="the group elevation to be active")
    assert "sudo" in json.loads(jumpcloud.group_json(erin["group"]))["attributes"]

    # The revert's PUT hangs; the worker is killed while it waits.
    fault = jumpcloud.add_fault(method="PUT", path="/usergroups/", delay=30.0)
    wait_for(lambda: fault not in jumpcloud.faults, 30, message="the revert to reach JumpCloud")
    worker.kill()
    # The step's transaction died with the worker: the row is still due, nothing is lost.
    assert state_of(elevation) in (State.ACTIVE, State.REVOKING)
    jumpcloud.clear_faults()
    # Fast-forward the dead worker's lease (its length is the sweep's business, not this test's).
    Elevation.objects.filter(pk=elevation.pk).update(next_attempt_at=clock.now())

    worker_factory(beat=True, sweep_seconds=1)
    wait_for(lambda: state_of(elevation) == State.EXPIRED, 30, message="the revert to finish after the crash")
    assert "sudo" not in json.loads(jumpcloud.group_json(erin["group"]))["attributes"]
    assert jumpcloud.group_json(erin["group"]) == before
