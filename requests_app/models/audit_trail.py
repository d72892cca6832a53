"""The audit trail's tables: the events, the chain head, the verification checkpoint.
Written only through requests_app.audit.record(); read by requests_app.auditing."""

from __future__ import annotations

from django.conf import settings
from django.db import models

GENESIS_HASH = "0" * 64


class AuditEventImmutable(Exception):
    """Raised when code tries to edit or delete an audit event: the trail is append-only."""


class AppendOnlyQuerySet(models.QuerySet):
    """Bulk UPDATE and DELETE are refused here too, not only by the PostgreSQL trigger."""

    def update(self, **kwargs):
        raise AuditEventImmutable("Audit events are append-only; they cannot be updated.")

    def delete(self):
        raise AuditEventImmutable("Audit events are append-only; they cannot be deleted.")

    delete.queryset_only = True  # type: ignore[attr-defined]  # Django's flag: no Manager.delete()


class AuditEvent(models.Model):
    """One append-only entry of the audit trail, linked into a hash chain.

    `hash` is the SHA-256 of the event's canonical content, which includes `prev_hash`, so
    editing or deleting any event breaks every link after it (`manage.py audit_verify`).
    On PostgreSQL a trigger refuses UPDATE and DELETE (migration 0002); here `save()` of an
    existing row, `delete()` and the queryset's `update()`/`delete()` raise.
    """

    seq = models.BigIntegerField(unique=True, help_text="Position in the hash chain.")
    at = models.DateTimeField(db_index=True)
    # DO_NOTHING, not SET_NULL: deleting a user must not rewrite (and so break) their events;
    # actor_label keeps who it was.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
    )
    actor_label = models.CharField(max_length=255, blank=True)
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=255, blank=True)
    elevation = models.ForeignKey(
        "requests_app.Elevation",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="events",
        db_constraint=False,
    )
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["seq"]
        # The dashboard pages newest first by seq (keyset), filtered by action, actor or
        # elevation: each filter has an index ending in seq. (action, at) serves the counts
        # over a date range.
        indexes = [
            models.Index(fields=["action", "at"], name="audit_action_at"),
            models.Index(fields=["action", "seq"], name="audit_action_seq"),
            models.Index(fields=["actor", "seq"], name="audit_actor_seq"),
            models.Index(fields=["elevation", "seq"], name="audit_elevation_seq"),
            models.Index(fields=["target_type", "target_id"], name="audit_target"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} by {self.actor_label or 'system'}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AuditEventImmutable("Audit events are append-only; they cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditEventImmutable("Audit events are append-only; they cannot be deleted.")


class AuditChainHead(models.Model):
    """The newest link of the chain. Locking this one row serialises appends."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS_HASH)

    def __str__(self) -> str:
        return f"chain head #{self.seq}"


class AuditCheckpoint(models.Model):
    """How far the chain is known to be intact, so the dashboard need not rehash it per view.

    Written by the periodic verify task and `manage.py audit_verify`: events up to
    `verified_seq` were rehashed and linked; `verified_hash` is the hash of that event, the
    anchor the next incremental run starts from. `broken_seq`/`problem` hold the first
    broken link found, if any.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    verified_seq = models.BigIntegerField(default=0)
    verified_hash = models.CharField(max_length=64, default=GENESIS_HASH)
    checked_at = models.DateTimeField(null=True, blank=True)
    full_checked_at = models.DateTimeField(null=True, blank=True, help_text="Last walk from the first event.")
    broken_seq = models.BigIntegerField(null=True, blank=True)
    problem = models.TextField(blank=True)

    def __str__(self) -> str:
        state = f"broken at #{self.broken_seq}" if self.broken_seq else "intact"
        return f"verified to #{self.verified_seq} ({state})"
