"""Building a pack in the worker: claim it (a duplicate delivery is a no-op), build, store the
ZIP in the default storage, record the outcome. A worker that died mid-way leaves the pack
"running"; after BUILD_LEASE it can be claimed again."""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

from django.core.files import File
from django.db import transaction

from requests_app import audit
from requests_app.clock import now
from requests_app.evidence import builder
from requests_app.models import EvidencePack

log = logging.getLogger(__name__)
BUILD_LEASE = timedelta(minutes=30)
Status = EvidencePack.Status


def pack_build(pack_id: int) -> EvidencePack | None:
    """Build the pack if this call claims it (a duplicate delivery is a no-op); never raises."""
    if not _claim(pack_id):
        return None
    pack = EvidencePack.objects.select_related("requested_by").get(pk=pack_id)
    built = None
    try:
        built = builder.build(pack, progress=lambda percent, step: _progress(pack.pk, percent, step))
        with built.path.open("rb") as handle:
            pack.file.save(f"{pack.public_id}.zip", File(handle), save=False)
            handle.seek(0)
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
        done = {"sha256": digest, "size": built.path.stat().st_size, "manifest_sha256": built.manifest_sha256}
        with transaction.atomic():
            EvidencePack.objects.filter(pk=pack.pk).update(
                status=Status.DONE,
                progress=100,
                step="Ready",
                file=pack.file.name,
                chain_head_seq=built.head_seq,
                chain_head_hash=built.head_hash,
                finished_at=now(),
                **done,
            )
            audit.record(
                "evidence.generated",
                target=pack,
                after={
                    "period": pack.period_label,
                    "for": pack.requested_by.email,
                    **done,
                    "chain_head": built.head_seq,
                },
            )
    except Exception as exc:  # the pack says why; the worker goes on
        log.exception("evidence pack %s failed", pack.pk)
        message = f"{type(exc).__name__}: {exc}"[:1000]
        EvidencePack.objects.filter(pk=pack.pk).update(status=Status.FAILED, error=message, finished_at=now())
        audit.record("evidence.failed", target=pack, reason=message)
    finally:
        if built is not None:
            built.path.unlink(missing_ok=True)
    pack.refresh_from_db()
    return pack


def _claim(pack_id: int) -> bool:
    stale = now() - BUILD_LEASE
    claimable = EvidencePack.objects.filter(pk=pack_id, status__in=[Status.QUEUED, Status.RUNNING])
    claimable = claimable.exclude(status=Status.RUNNING, started_at__gt=stale)
    return bool(claimable.update(status=Status.RUNNING, started_at=now(), progress=1, step="Starting"))


def _progress(pack_id: int, percent: int, step: str) -> None:
    EvidencePack.objects.filter(pk=pack_id, status=Status.RUNNING).update(progress=percent, step=step)
