from __future__ import annotations

from celery import shared_task

from requests_app.integrations.slack_app import posts
from requests_app.providers.base import ProviderError


@shared_task(name="integrations.slack_refresh", bind=True, max_retries=5)
def refresh(self, elevation_id: int) -> int:
    """Update every Slack message about one elevation (idempotent: renders the current state)."""
    try:
        return posts.refresh(elevation_id)
    except ProviderError as exc:
        if exc.permanent:
            return 0
        raise self.retry(countdown=exc.retry_after or 5) from exc
