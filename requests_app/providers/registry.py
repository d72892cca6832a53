"""Lazy registry from a connection's kind to its provider class (imported only when used)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from requests_app.models import ProviderConnection
    from requests_app.providers.base import Provider

PROVIDER_CLASSES: dict[str, str] = {
    "demo": "requests_app.providers.demo.provider.DemoProvider",
    "jumpcloud": "requests_app.providers.jumpcloud.provider.JumpCloudDeviceProvider",
    "jumpcloud_group": "requests_app.providers.jumpcloud.provider.JumpCloudGroupProvider",
    "sailpoint": "requests_app.providers.sailpoint.provider.SailPointProvider",
}

KIND_CHOICES = [
    ("demo", "Demo (built in)"),
    ("jumpcloud", "JumpCloud device admin"),
    ("jumpcloud_group", "JumpCloud user-group sudo"),
    ("sailpoint", "SailPoint JIT activations"),
]


def provider_class(kind: str) -> type[Provider]:
    try:
        return import_string(PROVIDER_CLASSES[kind])
    except KeyError:
        raise ValueError(f"unknown provider kind {kind!r}") from None


def provider_for(connection: ProviderConnection) -> Provider:
    return provider_class(connection.kind)(connection)
