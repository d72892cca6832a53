"""Realistic bench data, written fast (bulk_create; audit events by COPY through the audit generator).

`seed()` is additive: calling it twice appends (the bench seeds a small stage, counts each
page's queries, then seeds the rest and counts again). Everything it makes is named `bench-…`.

Shape: one user per 100 elevations, two devices each (demo provider), a default policy without
approval. History is mostly ended elevations over the past year; every fifth user has one live
one; one in 500 is an unreviewed break-glass elevation. Audit events walk the seeded elevations
through their lifecycle, one per second up to now.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.utils import timezone

from requests_app.lifecycle import State
from requests_app.models import DemoGrant, Device, Elevation, Policy, ProviderConnection, User
from requests_app.roles import ensure_roles

PREFIX = "bench"
ELEVATIONS_PER_USER = 100
DEVICES_PER_USER = 2
LIVE_EVERY_NTH_USER = 5
REVIEW_EVERY_NTH = 500
ENDED_STATES = (State.REVOKED, State.EXPIRED, State.EXPIRED, State.REVOKED, State.FAILED)
BATCH = 5000


@dataclass(frozen=True)
class Personas:
    """Who the bench signs in as: an employee with history, the helpdesk, an auditor."""

    employee: User
    helpdesk: User
    auditor: User
    connection: ProviderConnection


def base() -> Personas:
    """The connection, default policy and the three persona users (idempotent)."""
    ensure_roles()
    conn, _ = ProviderConnection.objects.get_or_create(name=f"{PREFIX} demo", defaults={"kind": "demo"})
    if not Policy.objects.filter(is_default=True).exists():
        Policy.objects.create(
            name=f"{PREFIX} default",
            is_default=True,
            allowed_durations=[15, 30, 60, 120, 240],
            max_duration_minutes=240,
            max_total_minutes=480,
            max_extensions=3,
            extension_increments=[15, 30, 60],
        )
    employee = _ensure_users(1)[0]
    helpdesk = _persona(f"{PREFIX}-helpdesk@example.com", ["employee", "helpdesk"])
    auditor = _persona(f"{PREFIX}-auditor@example.com", ["auditor"])
    _give_second_factor(helpdesk)
    return Personas(employee, helpdesk, auditor, conn)


def _persona(email: str, roles: list[str]) -> User:
    user, _ = User.objects.get_or_create(email=email, defaults={"username": email, "first_name": email.split("@")[0]})
    user.groups.set(Group.objects.filter(name__in=roles))
    return user


def _give_second_factor(user: User) -> None:
    # Staff pages send users without MFA to set it up; a TOTP authenticator lets the bench in
    # through the same middleware (and its query) that production runs.
    from allauth.mfa.models import Authenticator

    Authenticator.objects.get_or_create(
        user=user, type=Authenticator.Type.TOTP, defaults={"data": {"secret": "JBSWY3DPEHPK3PXP"}}
    )


def bench_users() -> list[User]:
    return list(User.objects.filter(username__startswith=f"{PREFIX}-user-").order_by("pk"))


def _ensure_users(count: int) -> list[User]:
    """At least `count` employees named bench-user-N, each with DEVICES_PER_USER devices."""
    existing = bench_users()
    if len(existing) >= count:
        return existing
    conn = ProviderConnection.objects.get(name=f"{PREFIX} demo")
    new = User.objects.bulk_create(
        [
            User(username=f"{PREFIX}-user-{n}", email=f"{PREFIX}-user-{n}@example.com", first_name=f"User{n}")
            for n in range(len(existing), count)
        ],
        batch_size=BATCH,
    )
    employee = Group.objects.get(name="employee")
    User.groups.through.objects.bulk_create(
        [User.groups.through(user_id=u.pk, group_id=employee.pk) for u in new], batch_size=BATCH
    )
    give_devices(conn, [(u, f"{u.username}-host{d}") for u in new for d in range(DEVICES_PER_USER)])
    return existing + new


def give_devices(conn, owners: list[tuple[User, str]]) -> None:
    """One device per (owner, hostname), bound to its owner (bulk)."""
    contact = timezone.now() - timedelta(minutes=5)
    devices = Device.objects.bulk_create(
        [
            Device(
                connection=conn,
                external_id=f"{PREFIX}-{hostname}",
                hostname=hostname,
                os="Ubuntu 24.04",
                os_family="linux",
                last_contact_at=contact,
            )
            for _owner, hostname in owners
        ],
        batch_size=BATCH,
    )
    Device.users.through.objects.bulk_create(
        [
            Device.users.through(device_id=d.pk, user_id=owner.pk)
            for d, (owner, _h) in zip(devices, owners, strict=True)
        ],
        batch_size=BATCH,
    )


def seed(*, elevations: int, events: int, events_end=None) -> dict[str, int]:
    """Append `elevations` ended elevations (plus the live ones) and `events` audit events."""
    personas = base()
    already = Elevation.objects.filter(connection=personas.connection).count()
    users = _ensure_users(max(10, (already + elevations) // ELEVATIONS_PER_USER))
    devices = _devices_by_user(users)
    rows = _ended_elevations(users, devices, personas.connection, start=already, count=elevations)
    _live_elevations(users, devices, personas.connection)
    _audit_events(events, rows, events_end)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # as autovacuum would have, long before a real table got this big
    return {
        "elevations": Elevation.objects.count(),
        "audit_events": _audit_count(),
        "users": len(users),
    }


def _devices_by_user(users: list[User]) -> dict[int, list[Device]]:
    by_user: dict[int, list[Device]] = {}
    links = Device.users.through.objects.filter(user__in=users).select_related("device").order_by("device_id")
    for link in links:
        by_user.setdefault(link.user_id, []).append(link.device)
    return by_user


def _ended_elevations(users, devices, conn, *, start: int, count: int) -> list[tuple[int, int, str]]:
    """History: `count` ended elevations spread over the past year, oldest first (COPY)."""
    now = timezone.now()
    year = timedelta(days=365)
    rows, made = [], []
    for n in range(start, start + count):
        user = users[n % len(users)]
        device = devices[user.pk][(n // len(users)) % DEVICES_PER_USER]
        created = now - year + year * (n - start) / max(1, count) - timedelta(hours=2)
        review = n % REVIEW_EVERY_NTH == REVIEW_EVERY_NTH - 1
        state = ENDED_STATES[n % len(ENDED_STATES)]
        failed = state == State.FAILED
        rows.append(
            {
                "requester_id": user.pk,
                "beneficiary_id": user.pk,
                "connection_id": conn.pk,
                "device_id": device.pk,
                "reason": f"bench history {n}",
                "ticket_ref": f"IT-{n}",
                "requested_minutes": 60,
                "total_minutes": 60,
                "starts_at": created,
                "expires_at": created + timedelta(hours=1),
                "state": state,
                "provider_ref": "" if failed else uuid.uuid4().hex,
                "break_glass": review,
                "needs_review": review,
                "source": "break_glass" if review else "web",
                "created_at": created,
                "updated_at": created + timedelta(hours=1),
                "activated_at": None if failed else created,
                "ended_at": created + timedelta(hours=1),
            }
        )
        made.append((user.pk, device.hostname))
    ids = copy_rows(Elevation, rows)
    return [(pk, user_id, hostname) for pk, (user_id, hostname) in zip(ids, made, strict=True)]


def copy_rows(model, rows: list[dict]) -> list[int]:
    """COPY `rows` (attname -> value; the rest take the field default) into `model`'s table; their new ids.

    Model instances and Django's INSERT compiler cost ~0.5 ms a row; COPY of tuples is ~20x faster.
    """
    if not rows:
        return []
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    fixed = {f.attname: f.get_default() for f in fields if not callable(f.default)}
    json_fields = {f.attname for f in fields if f.get_internal_type() == "JSONField"}
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}")  # noqa: S608 (names from the model)
        (before,) = cursor.fetchone()
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                values = [
                    row[f.attname] if f.attname in row else fixed.get(f.attname) or f.get_default() for f in fields
                ]
                copy.write_row(
                    [json.dumps(v) if f.attname in json_fields else v for f, v in zip(fields, values, strict=True)]
                )
        cursor.execute(f"SELECT id FROM {table} WHERE id > %s ORDER BY id", [before])  # noqa: S608
        return [pk for (pk,) in cursor.fetchall()]


def _live_elevations(users, devices, conn) -> None:
    """Every fifth user has one active elevation on their first device (skipped if present)."""
    now = timezone.now()
    wanted = [u for n, u in enumerate(users) if n % LIVE_EVERY_NTH_USER == 0]
    have = set(
        Elevation.objects.filter(beneficiary__in=wanted, state=State.ACTIVE).values_list("beneficiary_id", flat=True)
    )
    fresh = [u for u in wanted if u.pk not in have]
    for n, user in enumerate(fresh):
        expires = now + timedelta(minutes=30 + n % 200)
        make_live(user=user, device=devices[user.pk][0], conn=conn, expires_at=expires, reason="bench live")


def make_live(*, user, device, conn, expires_at, reason: str) -> None:
    make_live_many([(user, device)], conn=conn, expiries=[expires_at], reason=reason)


def make_live_many(pairs, *, conn, expiries, reason: str) -> list[Elevation]:
    """Active elevations (with their demo grants) as a worker's activation would leave them."""
    now = timezone.now()
    grants, rows = [], []
    for (user, device), expires in zip(pairs, expiries, strict=True):
        reference = uuid.uuid4().hex
        public_id = uuid.uuid4()
        grants.append(
            DemoGrant(
                reference=reference,
                idempotency_key=str(public_id),
                user_external_id=f"demo:{user.email}",
                target_external_id=device.external_id,
                expires_at=expires,
            )
        )
        rows.append(
            Elevation(
                public_id=public_id,
                requester=user,
                beneficiary=user,
                connection=conn,
                device=device,
                reason=reason,
                requested_minutes=60,
                total_minutes=60,
                starts_at=now,
                expires_at=expires,
                state=State.ACTIVE,
                provider_ref=reference,
                provider_expires_at=expires,
                created_at=now,
                updated_at=now,
                activated_at=now,
            )
        )
    with transaction.atomic():
        DemoGrant.objects.bulk_create(grants, batch_size=BATCH)
        return Elevation.objects.bulk_create(rows, batch_size=BATCH)


def _audit_events(count: int, elevations: list[tuple[int, int, str]], end=None) -> None:
    """`count` events one second apart ending at `end` (default now), after any existing ones."""
    if count <= 0:
        return
    from bench.audit_chain import append_events, synthetic_events

    end = end or timezone.now()
    start = end - timedelta(seconds=count)
    newest = _newest_audit_time()
    if newest and start <= newest:
        start = newest + timedelta(milliseconds=1)
    append_events(synthetic_events(count, start=start, step=(end - start) / count, elevations=elevations))


def _newest_audit_time():
    from requests_app.models import AuditEvent

    return AuditEvent.objects.order_by("-seq").values_list("at", flat=True).first()


def _audit_count() -> int:
    from requests_app.models import AuditChainHead

    head = AuditChainHead.objects.first()
    return head.seq if head else 0


def settle() -> None:
    """Bring the freshly loaded database to a steady state before anything is timed: VACUUM sets
    the rows' hint bits and visibility map (else the first reads of each page write it), and
    CHECKPOINT writes out the load's dirty pages now (else the checkpointer does it during the
    first figures, and their queries wait on that I/O). A real database is not mid-bulk-load."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
        cursor.execute("CHECKPOINT")


def user_with_devices(name: str, count: int, roles: tuple[str, ...] = ("employee",)) -> tuple[User, list[Device]]:
    """A fresh bench user `name` with `count` devices of their own (for one figure's own rows)."""
    conn = base().connection
    user = _persona(f"{PREFIX}-{name}@example.com", list(roles))
    have = Device.objects.filter(users=user).count()
    give_devices(conn, [(user, f"{name}-host{n}") for n in range(have, count)])
    return user, list(Device.objects.filter(users=user).order_by("pk")[:count])


def mark_chain_verified() -> None:
    """Record the seeded chain as verified, as the periodic verify task would have long ago;
    otherwise its first walk (all of a fresh million events) would run in the middle of the bench.
    The generator hashes exactly as audit.record() does; `manage.py audit_verify` can confirm."""
    from requests_app.models import AuditChainHead, AuditCheckpoint

    head = AuditChainHead.objects.first()
    if head is None:
        return
    at = timezone.now()
    AuditCheckpoint.objects.update_or_create(
        pk=1,
        defaults={"verified_seq": head.seq, "verified_hash": head.hash, "checked_at": at, "full_checked_at": at},
    )
