"""The state machine table, walked whole."""

import pytest

from requests_app.errors import InvalidTransition, StaleTransition
from requests_app.lifecycle import LIVE_STATES, TERMINAL_STATES, TRANSITIONS, State, can_transition, transition
from requests_app.models import AuditEvent, Elevation


def test_terminal_states_allow_no_move():
    for state in TERMINAL_STATES:
        assert TRANSITIONS[state] == frozenset()
    assert TERMINAL_STATES.isdisjoint(LIVE_STATES)
    assert set(State) == TERMINAL_STATES | LIVE_STATES


def test_failed_is_reached_from_revoking_only_after_a_grant_that_may_exist_was_looked_for():
    # granting never fails directly once a call may have reached the provider: it goes through
    # revoking (end state failed); an approved row whose window passed unsent fails at once.
    assert can_transition(State.GRANTING, State.REVOKING)
    assert can_transition(State.REVOKING, State.FAILED)
    assert can_transition(State.APPROVED, State.FAILED)
    assert not can_transition(State.ACTIVE, State.FAILED)


@pytest.fixture
def elevation(employee, device):
    from requests_app import services

    return services.elevation_request(requester=employee, device=device, minutes=60, reason="install tools")


@pytest.mark.parametrize("source", list(State))
@pytest.mark.parametrize("target", list(State))
def test_every_pair_in_the_table_is_allowed_or_raises(source, target, elevation):
    Elevation.objects.filter(pk=elevation.pk).update(state=source)
    elevation.refresh_from_db()
    events_before = AuditEvent.objects.count()
    if can_transition(source, target):
        transition(elevation, target)
        elevation.refresh_from_db()
        assert elevation.state == target
        assert AuditEvent.objects.count() == events_before + 1
        assert AuditEvent.objects.latest("seq").action == f"elevation.{target}"
    else:
        with pytest.raises(InvalidTransition):
            transition(elevation, target)
        elevation.refresh_from_db()
        assert elevation.state == source
        assert AuditEvent.objects.count() == events_before


def test_a_transition_on_a_stale_copy_is_refused(elevation):
    stale = Elevation.objects.get(pk=elevation.pk)
    transition(elevation, State.GRANTING)
    with pytest.raises(StaleTransition):
        transition(stale, State.CANCELLED)
    elevation.refresh_from_db()
    assert elevation.state == State.GRANTING
