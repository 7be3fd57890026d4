"""OpenAPI descriptions of Convene's two API authentications (for drf-spectacular)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "agencies.tokens.TokenAuthentication"
    name = "bearerToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token from `python manage.py issue_token USERNAME` (cvn_…). "
            "It acts with exactly its user's permissions.",
        }


class VerifiedSessionScheme(OpenApiAuthenticationExtension):
    target_class = "agencies.api.VerifiedSessionAuthentication"
    name = "verifiedSession"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionid",
            "description": "The browser session, once both password and security code have been passed. "
            "Unsafe methods also need the CSRF token.",
        }
