"""The dashboard's summary over the chosen range, computed in the database and cached.

Peer flags: a user is flagged when their elevation count or elevated hours in the range are
far above their peers' (everyone elevated in the range under the same filters, bar the user
filter): above median + 3.5 x 1.4826 x MAD, i.e. a modified z-score over 3.5 (Iglewicz and
Hoaglin). When more than half the peers have the same value (MAD = 0) the scale is
1.2533 x the mean absolute deviation from the median instead; with fewer than 5 peers nobody
is flagged.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, replace
from datetime import date, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import (
    Aggregate,
    Count,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Greatest, Least, TruncDate
from django.utils import timezone

from requests_app.auditing import selectors
from requests_app.auditing.filters import AuditFilters
from requests_app.clock import now
from requests_app.lifecycle import State
from requests_app.models import AuditEvent, Device, Elevation, User

MIN_PEERS = 5
Z_LIMIT = 3.5
TOP = 10
CHART_WIDTH = 900  # SVG user units; the chart is 170 high
# Moves that follow from a request or an approval, not an override of someone else's elevation.
ROUTING_ACTIONS = ("elevation.auto_approved", "elevation.pending_approval", "elevation.approved", "elevation.denied")


class Median(Aggregate):
    """PostgreSQL's percentile_cont(0.5); works on intervals too."""

    function = "percentile_cont"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"


@dataclass(frozen=True)
class Bar:
    day: date
    count: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Peer:
    label: str
    key: str  # e-mail or hostname: what the user/device filter takes
    count: int
    hours: float
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Summary:
    active_now: int
    started: int
    bars: list[Bar]
    max_per_day: int
    median_duration: timedelta | None
    longest_duration: timedelta | None
    longest_public_id: str | None
    top_requesters: list[Peer]
    top_devices: list[Peer]
    hours_per_user: list[Peer]
    hours_per_device: list[Peer]
    flagged: list[Peer]
    count_threshold: float | None
    hours_threshold: float | None
    failed_grants: int
    helpdesk_overrides: int

    @property
    def median_text(self) -> str:
        return duration_text(self.median_duration)

    @property
    def longest_text(self) -> str:
        return duration_text(self.longest_duration)


def summary_key(filters: AuditFilters) -> str:
    """The summary's cache key: this minute, the viewer's time zone (days are local) and the filters.
    Cached for the minute (ELEVATE_AUDIT_SUMMARY_CACHE_SECONDS, default 60): the figures
    aggregate whole tables, and a busy trail appends events every second, so the head is no key."""
    zone = timezone.get_current_timezone_name()
    return f"audit-summary:{now():%Y%m%d%H%M}:{zone}:{filters.cache_key()}"


def cache_seconds() -> int:
    return getattr(settings, "ELEVATE_AUDIT_SUMMARY_CACHE_SECONDS", 60)


def compute_summary(filters: AuditFilters) -> Summary:
    at = now()
    elevations = selectors.elevations_matching(filters)
    started = elevations.filter(activated_at__gte=filters.start, activated_at__lt=filters.end)
    bars, max_per_day = _bars(filters, started)
    median, longest, longest_id = _durations(started, at)
    users, devices, count_limit, hours_limit = _peers(filters, at)
    shown = [p for p in users if filters.user is None or p.key == filters.user.email]
    return Summary(
        active_now=selectors.elevations_matching(replace(filters, state="")).filter(state=State.ACTIVE).count(),
        started=sum(bar.count for bar in bars),
        bars=bars,
        max_per_day=max_per_day,
        median_duration=median,
        longest_duration=longest,
        longest_public_id=longest_id,
        top_requesters=sorted(shown, key=lambda p: (-p.count, p.label))[:TOP],
        top_devices=sorted(devices, key=lambda p: (-p.count, p.label))[:TOP],
        hours_per_user=sorted(shown, key=lambda p: (-p.hours, p.label))[: TOP * 2],
        hours_per_device=sorted(devices, key=lambda p: (-p.hours, p.label))[: TOP * 2],
        flagged=[p for p in shown if p.flags],
        count_threshold=count_limit,
        hours_threshold=hours_limit,
        failed_grants=elevations.filter(
            state=State.FAILED, ended_at__gte=filters.start, ended_at__lt=filters.end
        ).count(),
        helpdesk_overrides=_overrides(filters).count(),
    )


def _bars(filters: AuditFilters, started: QuerySet[Elevation]) -> tuple[list[Bar], int]:
    tz = timezone.get_current_timezone()
    per_day = dict(
        started.annotate(day=TruncDate("activated_at", tzinfo=tz))
        .values_list("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    days = filters.days
    top = max(per_day.values(), default=0)
    width, height = CHART_WIDTH / max(len(days), 1), 140
    bars = []
    for n, day in enumerate(days):
        count = per_day.get(day, 0)
        bar_height = height * count / top if top else 0
        bars.append(
            Bar(
                day,
                count,
                round(n * width, 2),
                round(150 - bar_height, 2),
                round(max(width - 1, 0.5), 2),
                round(bar_height, 2),
            )
        )
    return bars, top


def _duration(at) -> ExpressionWrapper:
    return ExpressionWrapper(Coalesce(F("ended_at"), Value(at)) - F("activated_at"), output_field=DurationField())


def _durations(started: QuerySet[Elevation], at) -> tuple[timedelta | None, timedelta | None, str | None]:
    longest = (
        started.annotate(duration=_duration(at)).order_by("-duration").values_list("duration", "public_id").first()
    )
    if longest is None:
        return None, None, None
    if connection.vendor == "postgresql":
        median = started.aggregate(m=Median(_duration(at), output_field=DurationField()))["m"]
    else:  # the embedded SQLite has no percentile function; its tables are small
        median = statistics.median(started.annotate(duration=_duration(at)).values_list("duration", flat=True))
    return median, longest[0], str(longest[1])


def _overlap_hours(filters: AuditFilters, at):
    """Elevated time inside the range: from max(activated, start) to min(ended or now, end)."""
    ended = Coalesce(F("ended_at"), Value(at), output_field=DateTimeField())
    return ExpressionWrapper(
        Least(ended, Value(filters.end, output_field=DateTimeField()))
        - Greatest(F("activated_at"), Value(filters.start, output_field=DateTimeField())),
        output_field=DurationField(),
    )


def _peers(filters: AuditFilters, at) -> tuple[list[Peer], list[Peer], float | None, float | None]:
    peers = selectors.elevations_matching(replace(filters, user=None))
    requested = peers.filter(created_at__gte=filters.start, created_at__lt=filters.end)
    elevated = peers.filter(activated_at__lt=filters.end).filter(
        Q(ended_at__gt=filters.start) | Q(ended_at__isnull=True, activated_at__lt=at)
    )
    elevated = elevated.annotate(overlap=_overlap_hours(filters, at))

    def per(field: str) -> dict[int, list]:
        rows: dict[int, list] = {}
        for key, n in requested.values_list(field).annotate(n=Count("id")).values_list(field, "n"):
            rows[key] = [n, 0.0]
        for key, total in elevated.values_list(field).annotate(t=Sum("overlap")).values_list(field, "t"):
            rows.setdefault(key, [0, 0.0])[1] = max(total.total_seconds(), 0) / 3600 if total else 0.0
        rows.pop(None, None)  # type: ignore[call-overload]  # values without a user or device
        return rows

    by_user, by_device = per("beneficiary"), per("device")
    count_limit = robust_threshold([v[0] for v in by_user.values()])
    hours_limit = robust_threshold([v[1] for v in by_user.values()])
    emails = dict(User.objects.filter(pk__in=by_user).values_list("pk", "email"))
    users = [
        Peer(
            emails.get(pk, f"user {pk}"),
            emails.get(pk, ""),
            n,
            round(hours, 1),
            _flags(n, hours, count_limit, hours_limit),
        )
        for pk, (n, hours) in by_user.items()
    ]
    hostnames = dict(Device.objects.filter(pk__in=by_device).values_list("pk", "hostname"))
    devices = [
        Peer(hostnames.get(pk, f"device {pk}"), hostnames.get(pk, ""), n, round(h, 1))
        for pk, (n, h) in by_device.items()
    ]
    return users, devices, count_limit, hours_limit


def robust_threshold(values: list[float]) -> float | None:
    """median + 3.5 robust standard deviations of `values`, or None when there are too few."""
    if len(values) < MIN_PEERS:
        return None
    middle = statistics.median(values)
    deviations = [abs(v - middle) for v in values]
    scale = 1.4826 * statistics.median(deviations) or 1.2533 * statistics.fmean(deviations)
    return middle + Z_LIMIT * scale if scale else None


def _flags(count: int, hours: float, count_limit: float | None, hours_limit: float | None) -> tuple[str, ...]:
    flags = []
    if count_limit is not None and count > count_limit:
        flags.append(f"{count} elevations (peers' limit {count_limit:.1f})")
    if hours_limit is not None and hours > hours_limit:
        flags.append(f"{hours:.1f} h elevated (peers' limit {hours_limit:.1f} h)")
    return tuple(flags)


def _overrides(filters: AuditFilters) -> QuerySet[AuditEvent]:
    """Helpdesk actions, and anyone acting on an elevation that is not theirs (bar approvals)."""
    events = selectors.events_matching(replace(filters, action="", actor=None, actor_label=""))
    on_someone_else = (
        Q(elevation__isnull=False, actor__isnull=False)
        & ~Q(actor_id=F("elevation__beneficiary_id"))
        & ~Q(action__in=ROUTING_ACTIONS)
        & ~Q(action__startswith="approval.")
    )
    return events.filter(Q(action__startswith="helpdesk.") | on_someone_else)


def duration_text(value: timedelta | None) -> str:
    if value is None:
        return "-"
    minutes = int(value.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = (
        [f"{days} d"] * bool(days)
        + [f"{hours} h"] * bool(hours)
        + [f"{minutes} min"] * (bool(minutes) or not (days or hours))
    )
    return " ".join(parts)
