"""Lifecycle signals, sent after the transaction that made the change has committed.

Integrations (notifications, Jira comments) connect here instead of being called from the
lifecycle, so a slow or broken integration can never block or undo a grant.
"""

from django.dispatch import Signal

# kwargs: elevation_ids (the rows that made the same move together: one for a person's action,
# many for a batch of expiries), from_state, to_state, action (e.g. "elevation.extended")
elevation_changed = Signal()

# kwargs: elevation_id, message. Sent when a revoke keeps failing: a person must look.
elevation_alert = Signal()
