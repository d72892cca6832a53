"""The demo provider: a platform simulated in the portal's own database.

It lets the whole lifecycle run with nothing external. `connection.options` tunes it:
`latency_ms` (each call sleeps), `failure_rate` (0..1, transient errors at random),
`fail_next` (the next N calls fail transiently), `permanent_failure` (every grant is refused).
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import datetime

from requests_app.providers.base import (
    CheckResult,
    DeviceInfo,
    GrantRequest,
    GrantResult,
    GrantStatus,
    Provider,
    ProviderError,
)


class DemoProvider(Provider):
    kind = "demo"
    label = "Demo"
    enforces_expiry = False

    def _call(self, what: str) -> None:
        from requests_app.models import ProviderConnection

        options = self.connection.options or {}
        latency = float(options.get("latency_ms", 0)) / 1000
        if latency:
            time.sleep(latency)
        if options.get("fail_next"):
            # Counted in the database so every worker process sees the same budget.
            remaining = int(options["fail_next"]) - 1
            options["fail_next"] = max(0, remaining)
            ProviderConnection.objects.filter(pk=self.connection.pk).update(options=options)
            raise ProviderError(f"{what}: demo provider injected a transient failure")
        if random.random() < float(options.get("failure_rate", 0)):
            raise ProviderError(f"{what}: demo provider injected a transient failure")

    def lookup_user(self, email: str) -> str:
        return f"demo:{email.lower()}"

    def list_devices(self, user_external_id: str) -> list[DeviceInfo]:
        from requests_app.models import Device

        email = user_external_id.removeprefix("demo:")
        devices = Device.objects.filter(connection=self.connection, users__email__iexact=email, removed_at=None)
        return [
            DeviceInfo(d.external_id, d.hostname, d.os, d.os_family, d.last_contact_at, tuple(d.groups))
            for d in devices
        ]

    def grant(self, request: GrantRequest) -> GrantResult:
        from requests_app.models import DemoGrant

        self._call("grant")
        if (self.connection.options or {}).get("permanent_failure"):
            raise ProviderError("grant: the demo provider is set to refuse every grant", permanent=True)
        grant = DemoGrant.objects.create(
            reference=uuid.uuid4().hex,
            idempotency_key=request.idempotency_key,
            user_external_id=request.user_external_id,
            target_external_id=request.target_external_id,
            expires_at=request.expires_at,
        )
        return GrantResult(grant.reference, confirmed=True, expires_at=grant.expires_at)

    def find_grant(self, request: GrantRequest) -> GrantResult | None:
        from requests_app.models import DemoGrant

        grant = DemoGrant.objects.filter(idempotency_key=request.idempotency_key, revoked_at=None).first()
        return GrantResult(grant.reference, True, grant.expires_at) if grant else None

    def status(self, reference: str) -> GrantStatus:
        from requests_app.clock import now
        from requests_app.models import DemoGrant

        self._call("status")
        grant = DemoGrant.objects.filter(reference=reference).first()
        if grant is None:
            return GrantStatus("missing")
        if grant.revoked_at:
            return GrantStatus("ended", grant.expires_at, "revoked")
        if grant.expires_at <= now():
            return GrantStatus("ended", grant.expires_at, "expired")
        return GrantStatus("active", grant.expires_at)

    def extend(self, reference: str, expires_at: datetime) -> GrantResult | None:
        from requests_app.models import DemoGrant

        self._call("extend")
        if not DemoGrant.objects.filter(reference=reference, revoked_at=None).update(expires_at=expires_at):
            raise ProviderError("extend: the grant no longer exists at the demo provider", permanent=True)
        return GrantResult(reference, True, expires_at)

    def revoke(self, reference: str) -> None:
        from requests_app.clock import now
        from requests_app.models import DemoGrant

        self._call("revoke")
        DemoGrant.objects.filter(reference=reference, revoked_at=None).update(revoked_at=now())

    def test_connection(self) -> list[CheckResult]:
        return [CheckResult("demo platform", True, "built in; no credentials needed")]
