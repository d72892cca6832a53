"""The domain's errors. Services raise them; views turn them into messages, tasks into retries."""


class PortalError(Exception):
    """A use case was refused; `message` is safe to show to the person who asked."""

    field: str | None = None

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if field is not None:
            self.field = field


class PolicyViolation(PortalError):
    """The request breaks the policy (duration, caps, extensions, schedule)."""


class NotAllowed(PortalError):
    """The actor may not do this (wrong role, own approval, someone else's device)."""


class InvalidTransition(PortalError):
    """The state machine forbids this move."""


class StaleTransition(PortalError):
    """Someone else changed the elevation first; reload and try again."""


class ProviderUnavailable(PortalError):
    """The user or device cannot be used at the provider (no identity, device removed...)."""


class SecondFactorRequired(NotAllowed):
    """The actor's role needs MFA for this and they have none yet (permissions.needs_mfa_for).
    Uncaught in a view, the MFA middleware sends them to set it up."""

    def __init__(self, message: str = "Your role needs two-factor authentication for this: set it up first.") -> None:
        super().__init__(message)
