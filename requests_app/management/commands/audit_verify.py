"""Walk the audit hash chain and report the first broken link; exit status 1 when broken."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from requests_app import audit
from requests_app.auditing import verify


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

    def handle(self, *args, incremental: bool, batch_size: int, **options):
        with audit.acting_as(audit.RequestContext(label="audit_verify")):
            report = verify.verify_and_checkpoint(full=not incremental, batch_size=batch_size)
        if not report.ok:
            raise CommandError(report.describe(), returncode=1)
        self.stdout.write(self.style.SUCCESS(report.describe()))
