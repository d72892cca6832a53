"""Signal receivers of the core app. Integrations connect their own in their AppConfig/ready."""

from __future__ import annotations

from allauth.account.signals import user_logged_in, user_logged_out
from django.dispatch import receiver

from requests_app import audit
from requests_app.attestation import receivers as _attestation_receivers  # noqa: F401  (after an elevation ends)
from requests_app.auditing import receivers as _auditing_receivers  # noqa: F401  (role changes, verify task)
from requests_app.auth import receivers as _auth_receivers  # noqa: F401  (SSO, step-up, break-glass)
from requests_app.digests import tasks as _digest_tasks  # noqa: F401  (registers the weekly digest task)
from requests_app.evidence import tasks as _evidence_tasks  # noqa: F401  (registers the pack builder)
from requests_app.providers.jumpcloud import sync as _jumpcloud_sync  # noqa: F401  (device sync on sign-in)
from requests_app.reviews import receivers as _review_receivers  # noqa: F401  (review selection on end)


@receiver(user_logged_in)
def audit_sign_in(sender, request, user, **kwargs):
    audit.record("auth.sign_in", actor=user, target=user)


@receiver(user_logged_out)
def audit_sign_out(sender, request, user, **kwargs):
    if user is not None:
        audit.record("auth.sign_out", actor=user, target=user)
