"""Helpers for the portal's view tests: htmx request headers."""

from __future__ import annotations

import pytest


@pytest.fixture
def hx():
    """Headers of an htmx request aimed at the element with id `target`."""

    def headers(target: str = "") -> dict:
        return {"HTTP_HX_REQUEST": "true", **({"HTTP_HX_TARGET": target} if target else {})}

    return headers
