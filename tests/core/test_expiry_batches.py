"""Many expiries at once end as batches: one UPDATE, one chained audit insert and one
announcement per move, with the same trail a single expiry leaves."""

from datetime import timedelta

import pytest

from requests_app import clock, execution, services
from requests_app.auditing.verify import verify_chain
from requests_app.lifecycle import State
from requests_app.models import AuditEvent, DemoGrant, Elevation
from requests_app.signals import elevation_changed


@pytest.fixture
def five_active(employee, make_device, default_policy):
    rows = []
    for _ in range(5):
        elevation = services.elevation_request(
            requester=employee, device=make_device(employee), minutes=60, reason="batch"
        )
        execution.grant_step(elevation.pk)
        rows.append(Elevation.objects.get(pk=elevation.pk))
    assert {row.state for row in rows} == {State.ACTIVE}
    return rows


@pytest.fixture
def announced():
    heard = []

    def listen(sender, elevation_ids, from_state, to_state, **kwargs):
        heard.append((from_state, to_state, sorted(elevation_ids)))

    elevation_changed.connect(listen, dispatch_uid="test_expiry_batches")
    yield heard
    elevation_changed.disconnect(dispatch_uid="test_expiry_batches")


def test_due_elevations_expire_together_with_one_announcement_per_move(
    five_active, announced, django_capture_on_commit_callbacks
):
    ids = sorted(e.pk for e in five_active)
    with clock.travel(timedelta(minutes=61)), django_capture_on_commit_callbacks(execute=True):
        assert execution.expire_due(limit=50) == 5
    assert set(Elevation.objects.filter(pk__in=ids).values_list("state", flat=True)) == {State.EXPIRED}
    assert not DemoGrant.objects.filter(idempotency_key__in=[str(e.public_id) for e in five_active], revoked_at=None)
    assert announced == [(State.ACTIVE, State.REVOKING, ids), (State.REVOKING, State.EXPIRED, ids)]


def test_a_batch_leaves_one_event_per_row_and_move_on_an_intact_chain(five_active):
    before = AuditEvent.objects.count()
    with clock.travel(timedelta(minutes=61)):
        execution.expire_due(limit=2)  # three batches: 2, 2 and 1
    events = list(AuditEvent.objects.order_by("seq")[before:])
    assert len(events) == 10
    assert [e.seq for e in events] == list(range(events[0].seq, events[0].seq + 10))
    for elevation in five_active:
        actions = [e.action for e in events if e.elevation_id == elevation.pk]
        assert actions == ["elevation.expiring", "elevation.expired"]
    expired = next(e for e in events if e.action == "elevation.expired")
    assert expired.before["state"] == State.REVOKING and expired.after["state"] == State.EXPIRED
    assert verify_chain().ok


def test_a_batch_move_is_all_or_nothing(five_active):
    from requests_app.errors import StaleTransition
    from requests_app.lifecycle import transition_many

    before = AuditEvent.objects.count()
    Elevation.objects.filter(pk=five_active[0].pk).update(state=State.REVOKING)  # moved by someone else
    with pytest.raises(StaleTransition):
        transition_many(five_active, State.REVOKING, end_state=State.REVOKED)
    assert Elevation.objects.filter(pk__in=[e.pk for e in five_active[1:]], state=State.ACTIVE).count() == 4
    assert AuditEvent.objects.count() == before


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("latency_ms, parallel", [(0, False), (300, True)])
def test_a_batch_calls_a_fast_provider_in_turn_and_a_slow_one_in_parallel(
    employee, make_device, default_policy, monkeypatch, latency_ms, parallel
):
    """Threads cost a database connection each: worth it only while the provider is slow."""
    import threading
    import time

    from requests_app.providers.demo.provider import DemoProvider

    rows = []
    for _ in range(6):
        elevation = services.elevation_request(
            requester=employee, device=make_device(employee), minutes=60, reason="batch"
        )
        execution.grant_step(elevation.pk)
        rows.append(elevation)
    connection = rows[0].connection
    connection.options = {"latency_ms": latency_ms}
    connection.save()
    callers = set()
    revoke = DemoProvider.revoke
    monkeypatch.setattr(
        DemoProvider, "revoke", lambda self, ref: (callers.add(threading.get_ident()), revoke(self, ref))
    )

    clock.set_offset(timedelta(minutes=61))
    started = time.monotonic()
    assert execution.expire_due() == 6
    took = time.monotonic() - started

    assert {e.state for e in Elevation.objects.filter(pk__in=[e.pk for e in rows])} == {State.EXPIRED}
    if parallel:
        assert len(callers) > 1 and took < 6 * 0.3, f"{took:.2f} s on {len(callers)} threads"
    else:
        assert callers == {threading.get_ident()}
