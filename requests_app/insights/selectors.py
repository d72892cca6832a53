"""Reason insights over the audit dashboard's filters: the most frequent kinds of reasons per
device group, and the software most often named, with how many people asked."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.core.cache import cache

from requests_app.auditing import selectors as audit_selectors
from requests_app.auditing import stats
from requests_app.auditing.filters import AuditFilters
from requests_app.insights import reasons

NO_GROUP = "(no device group)"
TOP_KINDS = 3
TOP_GROUPS = 12
TOP_SOFTWARE = 15
MAX_ROWS = 50_000  # the newest, when a period holds more (the insight is in the frequent ones)


@dataclass
class GroupKinds:
    group: str
    total: int
    kinds: list[tuple[str, int]]


@dataclass
class Software:
    name: str
    count: int
    people: int
    groups: list[str]
    example: str


@dataclass
class Insights:
    analysed: int
    groups: list[GroupKinds] = field(default_factory=list)
    software: list[Software] = field(default_factory=list)


def compute(filters: AuditFilters) -> Insights:
    rows = (
        audit_selectors.elevations_matching(filters)
        .filter(created_at__gte=filters.start, created_at__lt=filters.end)
        .order_by("-created_at")
        .values_list("reason", "beneficiary_id", "device__groups")[:MAX_ROWS]
    )
    per_group: dict[str, Counter] = defaultdict(Counter)
    named: dict[str, dict] = {}
    analysed = 0
    for reason, person, groups in rows:
        analysed += 1
        reading = reasons.read(reason)
        for group in groups or [NO_GROUP]:
            per_group[str(group)][reading.kind] += 1
        if reading.software:
            entry = named.setdefault(
                reading.software, {"count": 0, "people": set(), "groups": Counter(), "example": reason}
            )
            entry["count"] += 1
            entry["people"].add(person)
            entry["groups"].update(str(g) for g in (groups or [NO_GROUP]))
    group_rows = sorted(
        (GroupKinds(g, sum(c.values()), c.most_common(TOP_KINDS)) for g, c in per_group.items()),
        key=lambda row: (-row.total, row.group),
    )[:TOP_GROUPS]
    software_rows = sorted(
        (
            Software(name, e["count"], len(e["people"]), [g for g, _ in e["groups"].most_common(3)], e["example"])
            for name, e in named.items()
        ),
        key=lambda row: (-row.count, row.name),
    )[:TOP_SOFTWARE]
    return Insights(analysed, group_rows, software_rows)


def cached(filters: AuditFilters) -> Insights:
    """Cached with the dashboard's summary key (same minute, zone and filters)."""
    key = f"{stats.summary_key(filters)}:reasons"
    found = cache.get(key)
    if found is None:
        found = compute(filters)
        cache.set(key, found, stats.cache_seconds())
    return found
