"""`Authorization: Bearer elv_…`: the only way into the API (no session, so no CSRF to mind)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from requests_app.api.tokens import note_use, token_for_secret


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """Authenticates a personal access token; `request.auth` is the ApiToken."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        token = token_for_secret(secret.strip())
        if token is None:
            raise exceptions.AuthenticationFailed("The token is unknown, expired or revoked.")
        note_use(token)
        return token.user, token

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="elevate"'


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = BearerTokenAuthentication
    name = "personalAccessToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A personal access token (Settings → API tokens)."}
