"""Figure 2: expiry lateness. N live elevations expire within one window; for each, the time from
its expiry to the provider's revoke call (the DemoGrant row's revoked_at).

The rows are written as activation leaves them, and each gets what activation sends on commit
(`queueing.schedule_expiry`); the worker with its beat sweep does the rest.
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from bench import data
from bench.stats import latency, show


def _lateness(ids: list[int]) -> tuple[list[float], int]:
    from requests_app.models import DemoGrant, Elevation

    expiries = dict(Elevation.objects.filter(pk__in=ids).values_list("provider_ref", "expires_at"))
    revoked = dict(DemoGrant.objects.filter(reference__in=expiries).values_list("reference", "revoked_at"))
    late = [(revoked[ref] - expires).total_seconds() for ref, expires in expiries.items() if revoked.get(ref)]
    return late, len(expiries) - len(late)


def one_size(count: int, window: float, latency_ms: int = 0) -> dict:
    from requests_app import queueing
    from requests_app.lifecycle import State
    from requests_app.models import Elevation

    user, devices = data.user_with_devices(f"expiry-{count}-{latency_ms}", count)
    connection = devices[0].connection
    connection.options = {**(connection.options or {}), "latency_ms": latency_ms}
    connection.save(update_fields=["options"])
    started = time.monotonic()
    lead = 1 + count / 800  # time to write the rows and queue their messages before the first is due
    first = timezone.now() + timedelta(seconds=lead)
    expiries = [first + timedelta(seconds=window * n / count) for n in range(count)]
    rows = data.make_live_many(
        [(user, d) for d in devices], conn=devices[0].connection, expiries=expiries, reason="bench expiry"
    )
    for elevation in rows:
        queueing.schedule_expiry(elevation)
    ids = [e.pk for e in rows]
    setup = time.monotonic() - started  # rows written and runs queued; must be under the lead
    deadline = time.monotonic() + lead + window + 120
    while time.monotonic() < deadline:
        if not Elevation.objects.filter(pk__in=ids, state__in=[State.ACTIVE, State.REVOKING]).exists():
            break
        time.sleep(0.5)
    late, missing = _lateness(ids)
    connection.options = {k: v for k, v in connection.options.items() if k != "latency_ms"}
    connection.save(update_fields=["options"])
    return {
        "elevations": count,
        "provider_latency_ms": latency_ms,
        "window_s": window,
        "lateness": latency(late),
        "not_revoked": missing,
        "setup_s": round(setup, 1),
        "lead_s": round(lead, 1),
    }


def run(scale) -> dict:
    sizes = [one_size(count, scale.expiry_window) for count in scale.expiry_sizes]
    # The same largest burst against a provider that takes 200 ms a call, as real ones do.
    sizes.append(one_size(scale.expiry_sizes[-1], scale.expiry_window, latency_ms=200))
    from requests_app.queueing import EXPIRY_TICK_SECONDS

    lines = [
        f"sweep every {settings.ELEVATE_SWEEP_SECONDS} s; an expiry run is queued for every {EXPIRY_TICK_SECONDS} s"
        " tick with an expiry (at activation, and by the sweep as expiries come near)"
    ]
    for size in sizes:
        lat = size["lateness"]
        lines.append(
            f"{size['elevations']:>6,} expiring within {size['window_s']:g} s"
            + (f", provider {size['provider_latency_ms']} ms" if size["provider_latency_ms"] else "")
            + f":  p50 {lat['p50_ms'] / 1000:6.2f} s"
            f"  p99 {lat['p99_ms'] / 1000:6.2f} s  max {lat['max_ms'] / 1000:6.2f} s"
            + (f"  NOT REVOKED {size['not_revoked']}" if size["not_revoked"] else "")
            + (
                f"  (setup {size['setup_s']} s overran the {size['lead_s']} s lead)"
                if size["setup_s"] > size["lead_s"]
                else ""
            )
        )
    lines.append("target at the largest size: p99 <= 2 s, max <= 5 s; with the provider at 200 ms: p99 <= 5 s")
    show("Expiry lateness (expiry -> provider revoke call)", lines)
    return {"sweep_seconds": settings.ELEVATE_SWEEP_SECONDS, "tick_seconds": EXPIRY_TICK_SECONDS, "sizes": sizes}
