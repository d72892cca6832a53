"""Reading what a call sent: validated bodies, and a device named by id or hostname."""

from __future__ import annotations

import uuid

from django.db.models import Q


def valid(serializer_class, request) -> dict:
    """The body, validated (400 with messages by field otherwise)."""
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def device_match(value: str, prefix: str = "") -> Q:
    """A device by its public id, or else by its hostname (case-insensitive)."""
    try:
        return Q(**{f"{prefix}public_id": uuid.UUID(value)})
    except ValueError:
        return Q(**{f"{prefix}hostname__iexact": value})
