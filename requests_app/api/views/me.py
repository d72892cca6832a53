"""Who the token belongs to, and what it may do right now."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from requests_app.api.access import effective_scopes
from requests_app.api.base import ApiView
from requests_app.api.serializers import MeSerializer


@extend_schema(summary="The token's owner and the scopes it may use", responses=MeSerializer)
class Me(ApiView):
    def get(self, request):
        user, token = request.user, request.auth
        body = {
            "email": user.email,
            "name": str(user),
            "timezone": user.timezone,
            "token": token.name,
            "scopes": sorted(effective_scopes(request)),
            "token_expires_at": token.expires_at,
        }
        return Response(MeSerializer(body).data)
