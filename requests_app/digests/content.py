"""What one manager's digest says: their team's elevations of one week, as a message payload."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse

from requests_app import policy
from requests_app.integrations.messages import when
from requests_app.models import Elevation, User
from requests_app.reviews.links import make_raise_link

SLACK_BUTTONS = 20  # Slack shows at most 25 buttons in one block; the rest are in the e-mail
FOOTER = "-- Elevate sends this to every manager each week, as part of the access review."


@dataclass(frozen=True)
class Week:
    """Monday 00:00 UTC to the next Monday (end exclusive)."""

    start: datetime

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=7)

    @classmethod
    def before(cls, moment: datetime) -> Week:
        """The last whole week before `moment`."""
        monday = (moment - timedelta(days=moment.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
        return cls(monday - timedelta(days=7))


def team_elevations(manager: User, week: Week) -> QuerySet[Elevation]:
    return (
        Elevation.objects.filter(beneficiary__manager=manager, created_at__gte=week.start, created_at__lt=week.end)
        .select_related("beneficiary", "device", "attestation")
        .order_by("created_at")
    )


def attestation_text(elevation: Elevation) -> str:
    attestation = getattr(elevation, "attestation", None)
    if attestation is None:
        return "not asked"
    if attestation.is_given:
        return f"“{attestation.text}”"
    return "not given yet" + (" (required)" if attestation.required else "")


def line(number: int, elevation: Elevation, zone: str) -> str:
    extensions = f", {elevation.extensions} extension{'s' if elevation.extensions != 1 else ''}"
    return (
        f"{number}. {elevation.beneficiary} ({elevation.beneficiary.email}) on {elevation.target_name}: "
        f"{policy.human_minutes(elevation.total_minutes)}{extensions if elevation.extensions else ''}, "
        f"from {when(elevation.activated_at or elevation.starts_at, zone)}, {elevation.get_state_display().lower()}"
        f"{', break-glass' if elevation.break_glass else ''}. Reason: “{elevation.reason}”. "
        f"What was done: {attestation_text(elevation)}."
    )


def digest_payload(manager: User, week: Week, elevations: list[Elevation]) -> dict:
    """The message: one numbered line per elevation, and a "looks wrong" link for each."""
    zone = manager.timezone or "UTC"
    last_day = (week.end - timedelta(days=1)).date()
    text = "\n".join(
        [
            f"Your team's temporary admin rights from {week.start.date()} to {last_day}. "
            "If one looks wrong, follow its link: it goes to the auditors.",
            "",
            *(line(n, e, zone) for n, e in enumerate(elevations, start=1)),
        ]
    )
    links = [
        (f"#{n} looks wrong", make_raise_link(elevation=e, manager=manager)) for n, e in enumerate(elevations, start=1)
    ]
    links.append(("Open Elevate", settings.ELEVATE_BASE_URL + reverse("requests_app:my_elevations")))
    return {
        "title": f"Your team's admin rights, week of {week.start.date()}",
        "text": text,
        "fields": [("Elevations", str(len(elevations)))],
        "links": links,
        "footer": FOOTER,
    }


def slack_payload(payload: dict) -> dict:
    """The same digest trimmed to what one Slack message holds (the e-mail has it all)."""
    text = payload["text"]
    if len(text) > 2900:
        text = text[:2850].rsplit("\n", 1)[0] + "\n… the rest is in your e-mail."
    return {**payload, "text": text, "links": payload["links"][:SLACK_BUTTONS] + payload["links"][-1:]}
