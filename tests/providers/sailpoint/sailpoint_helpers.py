"""Shared by the SailPoint tests (imported by name: no conftest magic)."""

from __future__ import annotations

from helpers import connect_sailpoint_identity as connect_identity

CLIENT_ID = "portal"
CLIENT_SECRET = "s3cret"

__all__ = ["CLIENT_ID", "CLIENT_SECRET", "connect_identity"]
