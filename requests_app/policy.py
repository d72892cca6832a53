"""Which policy applies, and the checks it imposes on requests and extensions."""

from __future__ import annotations

from datetime import datetime, timedelta

from requests_app.errors import PolicyViolation
from requests_app.lifecycle import State
from requests_app.models import Device, Elevation, Policy, User

REASON_MAX_LENGTH = 1000

BUILT_IN_DEFAULT = dict(
    name="Built-in default",
    is_default=True,
    allowed_durations=[15, 60, 240],
    max_duration_minutes=240,
    max_total_minutes=480,
    max_extensions=2,
)


def policy_for(user: User, device: Device | None) -> Policy:
    """The most specific policy: overrides for the device's or the user's groups, else default."""
    return PolicyChooser(user)(device)


def user_group_ids(user: User) -> set[int]:
    """The ids of the user's groups (policies name a user group; so do approver rules)."""
    return set(user.groups.values_list("pk", flat=True))


class PolicyChooser:
    """policy_for() for one user and any of their devices, from two small queries: every policy
    (an admin's handful, cheaper to load whole than to filter) and the user's group ids."""

    def __init__(self, user: User) -> None:
        self.user_group_ids = user_group_ids(user)
        self.policies = list(Policy.objects.order_by("-priority", "name"))
        self.overrides = [p for p in self.policies if not p.is_default]
        self.default = next((p for p in self.policies if p.is_default), None) or Policy(**BUILT_IN_DEFAULT)

    def __call__(self, device: Device | None) -> Policy:
        device_groups = set(device.groups or []) if device is not None else ()
        for override in self.overrides:  # highest priority first, as the database ordered them
            if override.user_group_id in self.user_group_ids or override.device_group in device_groups:
                return override
        return self.default


def check_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise PolicyViolation("Say why you need admin rights.", field="reason")
    if len(reason) > REASON_MAX_LENGTH:
        raise PolicyViolation(
            f"Keep the reason under {REASON_MAX_LENGTH} characters (it has {len(reason)}).", field="reason"
        )
    return reason


def check_duration(policy: Policy, minutes: int) -> None:
    if not isinstance(minutes, int) or minutes <= 0:
        raise PolicyViolation("Choose how long you need admin rights.", field="minutes")
    if minutes > policy.max_duration_minutes:
        raise PolicyViolation(
            f"{_human(minutes)} is longer than the {_human(policy.max_duration_minutes)} this policy allows.",
            field="minutes",
        )


def check_start(policy: Policy, starts_at: datetime, now: datetime) -> None:
    if starts_at < now - timedelta(minutes=1):
        raise PolicyViolation("The start time is in the past.", field="starts_at")
    if starts_at > now + timedelta(hours=policy.max_schedule_ahead_hours):
        raise PolicyViolation(f"Schedule at most {policy.max_schedule_ahead_hours} hours ahead.", field="starts_at")


def check_weekly_cap(policy: Policy, user: User, extra_minutes: int, now: datetime) -> None:
    """Elevated minutes this week (including the one being extended) plus `extra_minutes`."""
    if not policy.weekly_cap_hours:
        return
    used = sum(
        Elevation.objects.filter(beneficiary=user, starts_at__gte=now - timedelta(days=7))
        .exclude(state__in=[State.DENIED, State.CANCELLED, State.FAILED])
        .values_list("total_minutes", flat=True)
    )
    if used + extra_minutes > policy.weekly_cap_hours * 60:
        left = max(0, policy.weekly_cap_hours * 60 - used)
        raise PolicyViolation(
            f"This would exceed your weekly limit of {policy.weekly_cap_hours} elevated hours "
            f"({_human(left)} left this week).",
            field="minutes",
        )


def check_extension(policy: Policy, elevation: Elevation, minutes: int) -> None:
    check_duration(policy, minutes)
    if elevation.extensions >= policy.max_extensions:
        raise PolicyViolation(
            f"This elevation was already extended {elevation.extensions} times, the most the policy allows.",
            field="minutes",
        )
    if elevation.total_minutes + minutes > policy.max_total_minutes:
        left = max(0, policy.max_total_minutes - elevation.total_minutes)
        raise PolicyViolation(
            f"That would exceed the {_human(policy.max_total_minutes)} total this policy allows ({_human(left)} left).",
            field="minutes",
        )


def _human(minutes: int) -> str:
    hours, mins = divmod(minutes, 60)
    if hours and mins:
        return f"{hours} h {mins} min"
    return f"{hours} h" if hours else f"{mins} min"


human_minutes = _human
