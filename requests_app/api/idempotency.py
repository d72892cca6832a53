"""`Idempotency-Key` on POST: a retried request gets the first answer, not a second action.

The key is claimed (a row) before the action runs, so two concurrent retries cannot both act:
the second is told 409 while the first runs. A claim whose call died (no answer after
CLAIM_SECONDS) may be taken again; keys are kept for KEEP_HOURS.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.db import IntegrityError, transaction
from rest_framework import exceptions

from requests_app.clock import now
from requests_app.models import IdempotencyKey

HEADER = "Idempotency-Key"
CLAIM_SECONDS = 60
KEEP_HOURS = 24


class Replay(Exception):
    """The key was answered before: send that answer again."""

    def __init__(self, record: IdempotencyKey) -> None:
        super().__init__(record.key)
        self.record = record


class KeyInUse(exceptions.APIException):
    status_code = 409
    default_detail = "A request with this Idempotency-Key is still running; retry in a moment."
    default_code = "idempotency_key_in_use"


class KeyReused(exceptions.APIException):
    status_code = 422
    default_detail = "This Idempotency-Key was used for a different request."
    default_code = "idempotency_key_reused"


def _fingerprint(request) -> str:
    return hashlib.sha256(b"\n".join([request.method.encode(), request.path.encode(), request.body])).hexdigest()


def claim(request) -> IdempotencyKey | None:
    """Claim the request's key (None without one); raise Replay, KeyInUse or KeyReused."""
    key = request.headers.get(HEADER, "").strip()
    if request.method != "POST" or not key:
        return None
    if len(key) > 255:
        raise exceptions.ValidationError({HEADER: ["At most 255 characters."]})
    current, fingerprint = now(), _fingerprint(request)
    IdempotencyKey.objects.filter(token=request.auth, created_at__lt=current - timedelta(hours=KEEP_HOURS)).delete()
    record = IdempotencyKey.objects.filter(token=request.auth, key=key).first()
    if record is not None:
        if record.fingerprint != fingerprint:
            raise KeyReused()
        if record.status_code is not None:
            raise Replay(record)
        if record.created_at > current - timedelta(seconds=CLAIM_SECONDS):
            raise KeyInUse()
        record.delete()  # the first call died without an answer: this one may act
    try:
        with transaction.atomic():
            return IdempotencyKey.objects.create(
                token=request.auth, key=key, fingerprint=fingerprint, created_at=current
            )
    except IntegrityError as exc:
        raise KeyInUse() from exc


def remember(record: IdempotencyKey, response) -> None:
    """Keep the answer for replays (server errors are not kept: a retry may act again)."""
    if response.status_code >= 500 or not hasattr(response, "data"):
        record.delete()
        return
    record.status_code, record.response = response.status_code, response.data
    record.save(update_fields=["status_code", "response"])
