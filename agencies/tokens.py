"""Bearer-token authentication for integrations: ``Authorization: Bearer cvn_…``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from rest_framework import authentication, exceptions

from .models import ApiToken
from .services import hash_token

LAST_USED_PRECISION = timedelta(minutes=1)


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
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
            # At most one write a minute per token: a busy integration must not turn every read
            # into a write and a commit.
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        # A token stands in for both factors: it was issued to a verified person by an operator.
        token.user.is_verified = lambda: True
        return token.user, token

    def authenticate_header(self, request: Any) -> str:
        return self.keyword
