"""PreparedQuery: the same model instances as the queryset it was built from, compiled once."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import Count, Window
from django.test.utils import CaptureQueriesContext

from requests_app import selectors
from requests_app.clock import now
from requests_app.lifecycle import State
from requests_app.models import Device, User
from requests_app.prepared import PreparedQuery

ROOT = Path(__file__).resolve().parents[2]


def loaded(obj) -> dict:
    """What an instance holds: every loaded field, which ones are deferred, the annotations."""
    deferred = obj.get_deferred_fields()
    fields = {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields if f.attname not in deferred}
    extra = {k: v for k, v in vars(obj).items() if not k.startswith("_") and k not in fields}
    return {"model": type(obj), "fields": fields, "deferred": deferred, "extra": extra}


@pytest.fixture
def two_users(employee, make_device, make_elevation):
    other = User.objects.create(username="other", email="other@example.com")
    mine = [make_device(employee, hostname=name) for name in ("zulu", "alpha")]
    theirs = make_device(other, hostname="theirs", groups=["lab"], last_contact_at=now())
    for n, device in enumerate(mine * 3):
        state = State.REVOKED if n % 2 else State.EXPIRED
        make_elevation(employee, device, state, minutes=15 + n, updated_at=now() - timedelta(days=n))
    make_elevation(other, theirs, State.EXPIRED)
    return employee, other


def test_devices_come_back_as_the_queryset_returns_them_with_their_connection(two_users):
    for user in two_users:  # one compiled query, bound to each user in turn
        expected = list(selectors.devices_for_user(user))
        got = selectors.my_devices(user)
        assert [loaded(d) for d in got] == [loaded(d) for d in expected]
        assert [loaded(d.connection) for d in got] == [loaded(d.connection) for d in expected]
        with CaptureQueriesContext(connection) as queries:
            [d.connection.name for d in got]
        assert len(queries) == 0  # select_related: the connection came with the row


@pytest.mark.parametrize("start", [0, 2, 5, 50])
def test_a_history_page_carries_only_its_columns_and_the_total(two_users, start):
    employee, _ = two_users
    expected = list(selectors.my_history(employee).annotate(total=Window(Count("pk")))[start : start + 3])
    got = selectors.my_history_page(employee, start, 3)
    assert [loaded(e) for e in got] == [loaded(e) for e in expected]
    if got:
        assert got[0].total == 6 and "target_options" in got[0].get_deferred_fields()
    assert len(got) == max(0, min(3, 6 - start))


def test_the_sql_is_built_once_and_each_call_is_one_query(two_users):
    employee, other = two_users
    builds = []

    def build(user_id):
        builds.append(user_id)
        return Device.objects.filter(users=user_id).order_by("hostname")

    devices = PreparedQuery(build, user_id=int)
    assert [d.hostname for d in devices(user_id=employee.pk)] == ["alpha", "zulu"]
    assert len(builds) == 2  # twice, with two different stand-ins, to find where the value goes
    with CaptureQueriesContext(connection) as queries:
        assert [d.hostname for d in devices(user_id=other.pk)] == ["theirs"]
        assert devices(user_id=-1) == []
    assert len(builds) == 2 and len(queries) == 2
    assert str(other.pk) in queries[0]["sql"]


def test_a_shape_argument_compiles_its_own_sql(two_users):
    employee, _ = two_users
    page = PreparedQuery(
        lambda start, user_id: Device.objects.filter(users=user_id).order_by("hostname")[start:], user_id=int
    )
    assert [d.hostname for d in page(0, user_id=employee.pk)] == ["alpha", "zulu"]
    assert [d.hostname for d in page(1, user_id=employee.pk)] == ["zulu"]


def test_a_query_that_matches_nothing_by_construction_runs_no_sql(two_users):
    employee, _ = two_users
    nothing = PreparedQuery(lambda user_id: Device.objects.filter(users=user_id, pk__in=[]), user_id=int)
    with CaptureQueriesContext(connection) as queries:
        assert nothing(user_id=employee.pk) == []
    assert len(queries) == 0


def test_a_value_the_lookup_rewrites_is_refused_rather_than_bound_wrong(db):
    search = PreparedQuery(lambda text: Device.objects.filter(hostname__icontains=text), text=str)
    with pytest.raises(ImproperlyConfigured, match=r"text.*did not reach the SQL as plain parameters"):
        search(text="mac")


def test_a_value_that_changes_the_sql_must_be_a_shape(db):
    changing = PreparedQuery(
        lambda n: (
            Device.objects.filter(pk=n).exclude(hostname="") if n > 2_147_000_500 else Device.objects.filter(pk=n)
        ),
        n=int,
    )
    with pytest.raises(ImproperlyConfigured, match="pass what changes it as shape"):
        changing(n=1)


def test_wrong_arguments_and_unsupported_querysets_say_so(db):
    with pytest.raises(ImproperlyConfigured, match="int or str"):
        PreparedQuery(lambda when: Device.objects.filter(synced_at=when), when=object)
    with pytest.raises(TypeError, match="user_id"):
        PreparedQuery(lambda user_id: Device.objects.filter(users=user_id), user_id=int)(user=1)
    with pytest.raises(ImproperlyConfigured, match="values"):
        PreparedQuery(lambda: Device.objects.values("hostname"))()
    with pytest.raises(ImproperlyConfigured, match="prefetch_related"):
        PreparedQuery(lambda: Device.objects.prefetch_related("users"))()


def test_the_embedded_sqlite_default_returns_the_same_instances(tmp_path):
    """`make run` runs on SQLite, whose datetimes and JSON come back through Django's converters."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env |= {"ELEVATE_VAR_DIR": str(tmp_path), "DATABASE_URL": ""}
    script = """
from datetime import timedelta
from django.db.models import Count, Window
from requests_app import selectors
from requests_app.clock import now
from requests_app.models import Device, Elevation, ProviderConnection, User
u = User.objects.create(username='x', email='x@example.com')
c = ProviderConnection.objects.create(name='Demo', kind='demo', secret='s3cret')
d = Device.objects.create(connection=c, external_id='1', hostname='h', groups=['lab'], last_contact_at=now())
d.users.add(u)
for n in range(3):
    Elevation.objects.create(
        requester=u, beneficiary=u, connection=c, device=d, reason='r', requested_minutes=n + 1,
        total_minutes=n + 1, starts_at=now(), expires_at=now() + timedelta(minutes=n), state='expired',
        ended_at=now(), created_at=now(), updated_at=now() - timedelta(minutes=n))
def same(a, b):
    return [(x.__dict__.keys(), [getattr(x, f.attname) for f in x._meta.concrete_fields
             if f.attname not in x.get_deferred_fields()]) for x in a] == \\
           [(x.__dict__.keys(), [getattr(x, f.attname) for f in x._meta.concrete_fields
             if f.attname not in x.get_deferred_fields()]) for x in b]
got, expected = selectors.my_devices(u), list(selectors.devices_for_user(u))
assert same(got, expected) and got[0].connection.secret == 's3cret' and got[0].groups == ['lab']
got = selectors.my_history_page(u, 1, 5)
assert same(got, list(selectors.my_history(u).annotate(total=Window(Count('pk')))[1:6]))
assert got[0].total == 3 and got[0].ended_at.tzinfo is not None
print('same')
"""
    for args in (["migrate", "-v0"], ["shell", "-c", script]):
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("same")
