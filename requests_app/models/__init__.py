"""The domain's models, one module per concept."""

from requests_app.models.attestations import Attestation
from requests_app.models.audit_trail import AuditChainHead, AuditCheckpoint, AuditEvent
from requests_app.models.connections import ProviderConnection, ProviderPause
from requests_app.models.demo import DemoGrant
from requests_app.models.devices import Device, ProviderIdentity
from requests_app.models.elevations import Approval, Elevation, Heartbeat
from requests_app.models.evidence import EvidencePack
from requests_app.models.policies import Policy
from requests_app.models.reviews import ReviewItem
from requests_app.models.tokens import ApiToken, ApiTokenPolicy, IdempotencyKey
from requests_app.models.user_authorizations import UserAuthorization
from requests_app.models.users import User

__all__ = [
    "ApiToken",
    "ApiTokenPolicy",
    "Approval",
    "Attestation",
    "AuditChainHead",
    "AuditCheckpoint",
    "AuditEvent",
    "DemoGrant",
    "Device",
    "Elevation",
    "EvidencePack",
    "Heartbeat",
    "IdempotencyKey",
    "Policy",
    "ProviderConnection",
    "ProviderIdentity",
    "ProviderPause",
    "ReviewItem",
    "User",
    "UserAuthorization",
]
