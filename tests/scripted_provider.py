"""A provider whose answers a test scripts call by call, to pin down the execution steps."""

from __future__ import annotations

import itertools
from collections import defaultdict

from requests_app.providers.base import GrantResult, GrantStatus, NotFound, Provider, ProviderError

# Shared between instances (each step builds a fresh provider): script[verb] is a list of
# outcomes, each an exception to raise or a value to return; once empty, the default applies.
SCRIPT: dict[str, list] = defaultdict(list)
CALLS: list[tuple[str, object]] = []
GRANTS: dict[str, dict] = {}
_ids = itertools.count(1)


def reset() -> None:
    SCRIPT.clear()
    CALLS.clear()
    GRANTS.clear()


class ScriptedProvider(Provider):
    kind = "scripted"

    def _next(self, verb: str, argument):
        CALLS.append((verb, argument))
        if SCRIPT[verb]:
            outcome = SCRIPT[verb].pop(0)
            if isinstance(outcome, BaseException):
                raise outcome
            return outcome
        return None

    @staticmethod
    def _crash_after(verb: str) -> bool:
        """A scripted CRASH: the call takes effect at the provider, then the worker dies."""
        if SCRIPT[f"{verb}_crash"]:
            SCRIPT[f"{verb}_crash"].pop(0)
            return True
        return False

    def lookup_user(self, email):
        return f"user:{email}"

    def grant(self, request):
        scripted = self._next("grant", request)
        if scripted is not None:
            return scripted
        reference = f"g{next(_ids)}"
        GRANTS[reference] = {"key": request.idempotency_key, "live": True, "expires_at": request.expires_at}
        if self._crash_after("grant"):
            raise WorkerKilled("killed after the provider granted")
        return GrantResult(reference, True, request.expires_at)

    def find_grant(self, request):
        self._next("find_grant", request)
        for reference, grant in GRANTS.items():
            if grant["key"] == request.idempotency_key and grant["live"]:
                return GrantResult(reference, True, grant["expires_at"])
        return None

    def status(self, reference):
        scripted = self._next("status", reference)
        if scripted is not None:
            return scripted
        grant = GRANTS.get(reference)
        if grant is None:
            return GrantStatus("missing")
        return GrantStatus("active" if grant["live"] else "ended", grant["expires_at"])

    def extend(self, reference, expires_at):
        self._next("extend", reference)
        if reference not in GRANTS:
            raise NotFound()
        GRANTS[reference]["expires_at"] = expires_at
        return GrantResult(reference, True, expires_at)

    def revoke(self, reference):
        self._next("revoke", reference)
        if reference not in GRANTS or not GRANTS[reference]["live"]:
            raise NotFound()
        GRANTS[reference]["live"] = False
        if self._crash_after("revoke"):
            raise WorkerKilled("killed after the provider revoked")


class WorkerKilled(Exception):
    """Stands for SIGKILL in the middle of a step: the step's transaction never commits."""


def transient(message="upstream hiccup", retry_after=None):
    return ProviderError(message, retry_after=retry_after, status_code=503)


def permanent(message="refused"):
    return ProviderError(message, permanent=True, status_code=403)
