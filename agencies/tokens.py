"""Bearer-token authentication for integrations: ``Authorization: Bearer cvn_…``."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from rest_framework import authentication, exceptions

from .models import ApiToken
from .services import hash_token


class TokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Any) -> tuple[Any, ApiToken] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, raw = header.partition(" ")
        if scheme.lower() not in ("bearer", "token") or not raw.strip():
            return None
        token = ApiToken.objects.select_related("user").filter(key_hash=hash_token(raw.strip())).first()
        if token is None or not token.is_usable() or not token.user.is_active:
            raise exceptions.AuthenticationFailed("The token is not valid, has expired or was revoked.")
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        # A token stands in for both factors: it was issued to a verified person by an operator.
        token.user.is_verified = lambda: True  # type: ignore[method-assign]
        return token.user, token

    def authenticate_header(self, request: Any) -> str:
        return self.keyword
