"""Walk the audit hash chain and report the first broken link; exit status 1 when broken."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from requests_app import audit
from requests_app.auditing import anchor, verify
from requests_app.errors import PortalError


class Command(BaseCommand):
    help = (
        "Verify the audit trail's hash chain from the first event (streaming, constant memory). "
        "Prints the first broken link (which seq, what is wrong) and exits 1 if there is one; "
        "also updates the checkpoint the audit dashboard shows."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--incremental",
            action="store_true",
            help="Start from the last verified checkpoint instead of the first event.",
        )
        parser.add_argument("--batch-size", type=int, default=2000, help="Events read per query (default 2000).")
        parser.add_argument(
            "--expect-head",
            metavar="SEQ:HASH",
            help="A chain head saved outside the database (the anchor's log line, file or webhook): "
            "fail unless that event is still in the chain with that hash, which catches a wipe.",
        )

    def handle(self, *args, incremental: bool, batch_size: int, expect_head: str | None, **options):
        try:
            expected = anchor.parse_head(expect_head) if expect_head else None
        except PortalError as exc:
            raise CommandError(exc.message, returncode=2) from exc
        with audit.acting_as(audit.RequestContext(label="audit_verify")):
            report = verify.verify_and_checkpoint(full=not incremental, batch_size=batch_size)
        if not report.ok:
            raise CommandError(report.describe(), returncode=1)
        if expected and (problem := anchor.saved_head_problem(*expected)):
            raise CommandError(f"Saved head #{expected[0]} does not hold: {problem}.", returncode=1)
        self.stdout.write(self.style.SUCCESS(report.describe()))
        if expected:
            self.stdout.write(self.style.SUCCESS(f"Saved head #{expected[0]} is in the chain."))
