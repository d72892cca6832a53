"""API clients: a Django test client that sends a personal access token."""

from __future__ import annotations

import pytest
from django.test import Client

from requests_app.api.tokens import token_create


class TokenClient:
    """JSON calls to /api/v1/ with `Authorization: Bearer <token>`."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")

    def get(self, path: str, data=None, **headers):
        return self.client.get(f"/api/v1/{path}", data, headers=headers)

    def post(self, path: str, data=None, **headers):
        return self.client.post(f"/api/v1/{path}", data or {}, content_type="application/json", headers=headers)


def token_for(user, *scopes: str, days: int | None = None) -> TokenClient:
    _, secret = token_create(user=user, name="test", scopes=list(scopes), days=days)
    return TokenClient(secret)


@pytest.fixture
def api():
    return token_for


@pytest.fixture
def bearer():
    """TokenClient, for a secret the test holds."""
    return TokenClient
