"""Property-based: no sequence of requests, approvals, extends, revokes, crashes and clock moves
leaves an elevation active past its expiry, a grant live at the provider after the elevation
ended, or a state change without its audit event."""

import contextlib
import itertools
from datetime import timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import scripted_provider
from helpers import make_persona
from requests_app import clock, execution, services, tasks
from requests_app.errors import PortalError
from requests_app.lifecycle import HELD_AT_PROVIDER, LIVE_STATES, TERMINAL_STATES, State
from requests_app.models import AuditEvent, Device, Elevation, Policy, ProviderConnection
from requests_app.providers import registry

_examples = itertools.count()
QUEUE: list[tuple[str, int]] = []
STEPS = {"grant": execution.grant_step, "revoke": execution.revoke_step, "sync": execution.sync_expiry_step}


class ElevationLifecycle(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        n = next(_examples)
        # Each example runs in a savepoint rolled back in teardown(): examples never see each other.
        self.savepoint = transaction.savepoint()
        scripted_provider.reset()
        QUEUE.clear()
        clock.set_offset(timedelta(0))
        Policy.objects.filter(is_default=True).update(requires_approval=False)
        self.employee = make_persona(f"emp{n}@example.com", "employee")
        self.approver = make_persona(f"appr{n}@example.com", "employee", "approver")
        connection = ProviderConnection.objects.create(name=f"Scripted {n}", kind="scripted")
        self.devices = []
        for i in range(2):
            device = Device.objects.create(connection=connection, external_id=f"d{n}-{i}", hostname=f"h{n}-{i}")
            device.users.add(self.employee)
            self.devices.append(device)
        self.settled = True

    def mine(self):
        return Elevation.objects.filter(beneficiary=self.employee)

    # -- what people do ----------------------------------------------------------------
    @rule(device=st.integers(0, 1), minutes=st.sampled_from([15, 60, 240]))
    def request(self, device, minutes):
        self.settled = False
        with contextlib.suppress(PortalError):
            services.elevation_request(
                requester=self.employee, device=self.devices[device], minutes=minutes, reason="property test"
            )

    @rule(minutes=st.sampled_from([15, 60]))
    def extend(self, minutes):
        self.settled = False
        for elevation in self.mine().filter(state__in=LIVE_STATES):
            with contextlib.suppress(PortalError):
                services.elevation_extend(elevation=elevation, actor=self.employee, minutes=minutes)

    @rule()
    def revoke(self):
        self.settled = False
        for elevation in self.mine().filter(state__in=LIVE_STATES):
            with contextlib.suppress(PortalError):
                services.elevation_revoke(elevation=elevation, actor=self.employee)

    @rule()
    def approve(self):
        self.settled = False
        for elevation in self.mine().filter(state=State.PENDING_APPROVAL):
            services.elevation_approve(elevation=elevation, approver=self.approver)

    @rule(needed=st.booleans())
    def toggle_approval(self, needed):
        Policy.objects.filter(is_default=True).update(requires_approval=needed)

    # -- what the machinery does -----------------------------------------------------------
    @rule(minutes=st.integers(1, 300))
    def time_passes(self, minutes):
        self.settled = False
        clock.set_offset(clock._offset + timedelta(minutes=minutes))

    @rule()
    def sweep(self):
        self.settled = False
        execution.sweep()

    @precondition(lambda self: QUEUE)
    @rule(duplicate=st.booleans())
    def deliver(self, duplicate):
        self.settled = False
        kind, pk = QUEUE.pop(0)
        run_step(kind, pk)
        if duplicate:
            run_step(kind, pk)  # the broker delivers a message twice

    @rule(verb=st.sampled_from(["grant", "revoke"]))
    def next_call_crashes_after_acting(self, verb):
        scripted_provider.SCRIPT[f"{verb}_crash"].append(True)

    @rule(verb=st.sampled_from(["grant", "revoke", "extend"]), permanent=st.booleans())
    def next_call_fails(self, verb, permanent):
        scripted_provider.SCRIPT[verb].append(
            scripted_provider.permanent() if permanent else scripted_provider.transient(retry_after=30)
        )

    @rule()
    def settle(self):
        """Let the worker and beat catch up: sweep and run everything due until quiet."""
        scripted_provider.SCRIPT.clear()  # faults are finite; the platform recovers
        for _ in range(50):
            execution.sweep()
            if not QUEUE:
                pending = self.mine().filter(state__in=[State.GRANTING, State.REVOKING]).exists()
                if not pending and not execution.due_work(clock.now())["revoke"]:
                    break
                # Retries and leases wait for their time: let it pass.
                clock.set_offset(clock._offset + execution.step_lease() + timedelta(seconds=1))
                continue
            while QUEUE:
                run_step(*QUEUE.pop(0))
        self.settled = True

    # -- what must always hold -------------------------------------------------------------
    @invariant()
    def nothing_active_past_its_expiry_once_settled(self):
        if self.settled:
            late = self.mine().filter(state=State.ACTIVE, expires_at__lte=clock.now())
            assert not late.exists(), list(late.values("pk", "expires_at"))

    @invariant()
    def ended_elevations_hold_nothing_at_the_provider_once_settled(self):
        if not self.settled:
            return
        ended = {str(k) for k in self.mine().filter(state__in=TERMINAL_STATES).values_list("public_id", flat=True)}
        live = [g for g in scripted_provider.GRANTS.values() if g["live"] and g["key"] in ended]
        assert not live

    @invariant()
    def never_two_live_grants_for_one_elevation(self):
        keys = [g["key"] for g in scripted_provider.GRANTS.values() if g["live"]]
        assert len(keys) == len(set(keys))

    @invariant()
    def every_state_has_its_audit_event(self):
        for elevation in self.mine():
            states = [
                e.after["state"]
                for e in AuditEvent.objects.filter(elevation=elevation).order_by("seq")
                if e.after and "state" in e.after
            ]
            assert states, f"no audited transition for {elevation.pk}"
            assert states[-1] == elevation.state

    @invariant()
    def granted_means_a_reference_is_kept(self):
        for elevation in self.mine().filter(state=State.ACTIVE):
            assert elevation.provider_ref
        assert not self.mine().filter(state__in=HELD_AT_PROVIDER - {State.ACTIVE}, attempts__gt=100).exists()

    def teardown(self):
        transaction.savepoint_rollback(self.savepoint)
        clock.set_offset(timedelta(0))


def run_step(kind, pk):
    try:
        delay = STEPS[kind](pk)
    except scripted_provider.WorkerKilled:
        return  # the step's transaction rolled back; the sweep re-drives the row
    if delay is not None:
        QUEUE.append((kind, pk))


@pytest.mark.django_db
def test_the_lifecycle_holds_under_any_sequence(monkeypatch, default_policy):
    monkeypatch.setitem(registry.PROVIDER_CLASSES, "scripted", "scripted_provider.ScriptedProvider")
    for kind, task in (("grant", tasks.grant), ("revoke", tasks.revoke), ("sync", tasks.sync_expiry)):
        monkeypatch.setattr(task, "delay", lambda pk, _kind=kind: QUEUE.append((_kind, pk)))
        monkeypatch.setattr(task, "apply_async", lambda args, _kind=kind, **kw: QUEUE.append((_kind, args[0])))
    ElevationLifecycle.TestCase.settings = settings(
        max_examples=12,
        stateful_step_count=20,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    ElevationLifecycle.TestCase().runTest()
