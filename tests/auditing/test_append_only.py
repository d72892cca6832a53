"""The trail is append-only: the ORM refuses edits, and on PostgreSQL so does the database."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from requests_app import audit
from requests_app.models import AuditChainHead, AuditEvent
from requests_app.models.audit_trail import AuditEventImmutable


@pytest.fixture
def events(db):
    return [audit.record("test.event", reason=f"event {n}") for n in range(3)]


def test_raw_update_of_an_audit_row_is_refused_by_the_database(events):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE requests_app_auditevent SET reason = 'edited' WHERE seq = %s", [events[1].seq])
    assert AuditEvent.objects.get(seq=events[1].seq).reason == "event 1"


def test_raw_delete_of_an_audit_row_is_refused_by_the_database(events):
    count = AuditEvent.objects.count()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM requests_app_auditevent")
    assert AuditEvent.objects.count() == count


def test_the_orm_refuses_to_change_or_delete_events(events):
    event = AuditEvent.objects.get(seq=events[0].seq)
    event.reason = "edited"
    with pytest.raises(AuditEventImmutable):
        event.save()
    with pytest.raises(AuditEventImmutable):
        event.delete()
    with pytest.raises(AuditEventImmutable):
        AuditEvent.objects.filter(seq=event.seq).update(reason="edited")
    with pytest.raises(AuditEventImmutable):
        AuditEvent.objects.all().delete()


def test_deleting_a_user_leaves_their_events_untouched(events, outsider):
    event = audit.record("test.by_user", actor=outsider)
    outsider.delete()
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.actor_id == event.actor_id
    assert stored.actor_label == "oscar@example.com"
    assert audit.event_hash(stored) == stored.hash


def test_a_forged_forwarded_address_does_not_fail_the_write(db):
    with audit.acting_as(audit.RequestContext(ip="unknown, 10.0.0.1", user_agent="x" * 1000)):
        event = audit.record("test.event")
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.ip is None
    assert len(stored.user_agent) == 400
    assert audit.event_hash(stored) == stored.hash


def test_ipv6_addresses_hash_the_same_after_the_round_trip(db):
    with audit.acting_as(audit.RequestContext(ip="2001:DB8:0:0:1:0:0:1")):
        event = audit.record("test.event")
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.ip == "2001:db8::1:0:0:1"
    assert audit.event_hash(stored) == stored.hash


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round", [1, 2])
def test_flush_between_transactional_tests_still_works(round):
    # Django's flush TRUNCATEs (no row trigger fires): each of these tests starts on a fresh chain.
    audit.record("test.event")
    head = AuditChainHead.objects.get()
    assert head.seq == AuditEvent.objects.count()
    assert AuditEvent.objects.filter(action="test.event").count() == 1
