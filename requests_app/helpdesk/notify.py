"""Break-glass is loud: the moment one starts, admins are alerted (e-mail, and Slack channels that
take admin alerts) and the log says so. Receivers only enqueue; the task does the sending."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.dispatch import receiver
from django.urls import reverse

from requests_app.lifecycle import State
from requests_app.signals import elevation_changed

log = logging.getLogger("elevate.break_glass")


@receiver(elevation_changed, dispatch_uid="helpdesk.on_break_glass")
def on_break_glass(sender, elevation_ids, from_state, to_state, action=None, **kwargs):
    if action != "elevation.auto_approved" or from_state != State.REQUESTED:
        return
    from requests_app.models import Elevation

    for elevation_id in Elevation.objects.filter(pk__in=elevation_ids, break_glass=True).values_list("pk", flat=True):
        log.warning("break-glass elevation %s started", elevation_id)
        try:
            break_glass_alert.delay(elevation_id)
        except Exception:  # the broker is down: the log line above and the review flag remain
            log.exception("could not queue the break-glass alert for elevation %s", elevation_id)


def alert_text(elevation) -> str:
    return (
        f"BREAK-GLASS: {elevation.requester} gave {elevation.beneficiary} admin on {elevation.target_name} "
        f"for {elevation.requested_minutes} min without approval. Reason: {elevation.reason}. "
        "It is flagged for review in the helpdesk console."
    )


@shared_task(name="helpdesk.break_glass_alert")
def break_glass_alert(elevation_id: int) -> int:
    """Tell every admin. Uses the notifications integration when present, else plain e-mail."""
    from requests_app.models import Elevation

    elevation = Elevation.objects.select_related("requester", "beneficiary", "device").get(pk=elevation_id)
    url = settings.ELEVATE_BASE_URL + reverse("requests_app:detail", args=[elevation.public_id])
    try:
        from requests_app.integrations.notifications import announce_admin_alert
    except ImportError:
        return _email_admins(elevation, url)
    return len(announce_admin_alert(f"break_glass:{elevation.pk}", alert_text(elevation), url))


def _email_admins(elevation, url: str) -> int:
    from django.core.mail import send_mail
    from django.db.models import Q

    from requests_app.models import User

    recipients = list(
        User.objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__name="admin"))
        .exclude(email="")
        .values_list("email", flat=True)
        .distinct()
    )
    if recipients:
        send_mail("Break-glass elevation started", f"{alert_text(elevation)}\n\n{url}", None, recipients)
    return len(recipients)
