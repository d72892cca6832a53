"""The chain head, written outside the database: whoever can wipe the audit tables (and the head
and checkpoint rows with them) cannot reach the log, the file or the receiver of the webhook, so
`manage.py audit_verify --expect-head SEQ:HASH` with a saved head catches the wipe.

The beat writes the head every ELEVATE_AUDIT_ANCHOR_SECONDS to the log and, as the admin
chooses, appends it to ELEVATE_AUDIT_ANCHOR_FILE and/or POSTs it to ELEVATE_AUDIT_ANCHOR_WEBHOOK.
"""

from __future__ import annotations

import logging
from pathlib import Path

from django.conf import settings

from requests_app.auditing.verify import chain_head
from requests_app.clock import now
from requests_app.errors import PolicyViolation
from requests_app.models import AuditEvent
from requests_app.providers.base import http_client, send

log = logging.getLogger("elevate.audit.anchor")


def head_text(seq: int, hash_: str) -> str:
    return f"{seq}:{hash_}"


def parse_head(text: str) -> tuple[int, str]:
    """ "SEQ:HASH" as the anchor writes it; PolicyViolation when it is not that."""
    seq, _, hash_ = text.strip().partition(":")
    if not (seq.isascii() and seq.isdigit() and len(hash_) == 64 and all(c in "0123456789abcdef" for c in hash_)):
        raise PolicyViolation(f"{text!r} is not a saved chain head (SEQ:HASH, a number and 64 hex digits).")
    return int(seq), hash_


def publish_head() -> str:
    """Write the current head to the log, the file and the webhook that are configured."""
    seq, hash_ = chain_head()
    text = head_text(seq, hash_)
    at = now().isoformat()
    log.info("audit chain head %s at %s", text, at)
    if path := settings.ELEVATE_AUDIT_ANCHOR_FILE:
        with Path(path).open("a", encoding="utf-8") as anchor_file:  # appended: earlier heads stay
            anchor_file.write(f"{at} {text}\n")
    if url := settings.ELEVATE_AUDIT_ANCHOR_WEBHOOK:
        with http_client("", {"Content-Type": "application/json"}) as client:
            send(client, "POST", url, "audit anchor webhook", json={"head": text, "seq": seq, "hash": hash_, "at": at})
    return text


def saved_head_problem(seq: int, hash_: str) -> str:
    """What is wrong with the chain as seen against a head saved outside the database, or ''."""
    current_seq, _ = chain_head()
    if current_seq < seq:
        return (
            f"the saved head is #{seq} but the chain head is #{current_seq}: "
            "events were removed (the audit tables were wiped or rolled back)"
        )
    stored = AuditEvent.objects.filter(seq=seq).values_list("hash", flat=True).first()
    if stored is None:
        return f"event #{seq} of the saved head is missing"
    if stored != hash_:
        return f"event #{seq} hashes to {stored}, not the saved {hash_}: the chain was rewritten"
    return ""
