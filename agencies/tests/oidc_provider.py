"""A small, real OpenID provider for the tests, served over HTTP on 127.0.0.1 in a thread.

It publishes a discovery document and a JWKS, and runs the authorization code flow with PKCE:
``/authorize`` (the person is whoever the test says signs in next, with the amr/acr it chooses),
``/token`` (checks the client secret, the redirect URI and the PKCE verifier, and issues an
RS256-signed ID token with joserfc), and ``/logout`` (RP-initiated logout, end_session_endpoint).
Each code works once. Tests may also make the next ID token wrong on purpose (audience, expiry).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit
from wsgiref.simple_server import WSGIRequestHandler, make_server

from joserfc import jwt
from joserfc.jwk import RSAKey

StartResponse = Callable[..., Any]


@dataclass
class NextLogin:
    """Who signs in at the provider next, and anything wrong with the token it will issue."""

    sub: str
    email: str
    amr: list[str] | None = None
    acr: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    audience: str | None = None  # None: the client id
    lifetime_seconds: int = 600  # negative: already expired when issued
    omit: tuple[str, ...] = ()  # claims the token leaves out (such as auth_time)
    # RS256 with the provider's key; "HS256" keyed with its public key (algorithm confusion); "none"
    alg: str = "RS256"


@dataclass
class Provider:
    client_id: str
    client_secret: str
    redirect_uris: set[str]
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "test-key-1"}))
    issuer: str = ""
    next_login: NextLogin | None = None
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    logouts: list[dict[str, str]] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)  # every code, verifier and token it handled
    # A test may change the discovery document (None removes a key), or have it redirect elsewhere.
    discovery_changes: dict[str, Any] = field(default_factory=dict)
    discovery_redirect: str | None = None

    # --- the WSGI app ---------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        routes = {
            "/.well-known/openid-configuration": self._discovery,
            "/jwks": self._jwks,
            "/authorize": self._authorize,
            "/token": self._token,
            "/logout": self._logout,
        }
        handler = routes.get(path)
        if handler is None:
            return _json(start_response, "404 Not Found", {"error": "not_found"})
        return handler(environ, query, start_response)

    def _discovery(
        self, environ: dict[str, Any], query: dict[str, str], start: StartResponse
    ) -> Iterable[bytes]:
        if self.discovery_redirect:
            start("302 Found", [("Location", self.discovery_redirect), ("Content-Length", "0")])
            return [b""]
        document: dict[str, Any] = {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "end_session_endpoint": f"{self.issuer}/logout",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        }
        document.update(self.discovery_changes)
        return _json(start, "200 OK", {k: v for k, v in document.items() if v is not None})

    def _jwks(self, environ: dict[str, Any], query: dict[str, str], start: StartResponse) -> Iterable[bytes]:
        return _json(start, "200 OK", {"keys": [self.key.as_dict(private=False)]})

    def _authorize(
        self, environ: dict[str, Any], query: dict[str, str], start: StartResponse
    ) -> Iterable[bytes]:
        self.authorize_requests.append(query)
        if query.get("client_id") != self.client_id or query.get("redirect_uri") not in self.redirect_uris:
            return _json(start, "400 Bad Request", {"error": "invalid_request"})
        if query.get("response_type") != "code" or "openid" not in query.get("scope", "").split():
            return _json(start, "400 Bad Request", {"error": "invalid_request"})
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return _json(start, "400 Bad Request", {"error": "invalid_request", "error_description": "PKCE"})
        login = self.next_login
        if login is None:
            return _json(start, "400 Bad Request", {"error": "login_required"})
        code = secrets.token_urlsafe(24)
        self.codes[code] = {
            "redirect_uri": query["redirect_uri"],
            "challenge": query["code_challenge"],
            "nonce": query.get("nonce"),
            "login": login,
            "auth_time": int(time.time()),
        }
        location = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query.get('state', '')})}"
        start("302 Found", [("Location", location), ("Content-Length", "0")])
        return [b""]

    def _client_authenticated(self, environ: dict[str, Any], form: dict[str, str]) -> bool:
        header = environ.get("HTTP_AUTHORIZATION", "")
        if header.startswith("Basic "):
            from urllib.parse import unquote

            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            return unquote(user) == self.client_id and unquote(password) == self.client_secret
        return form.get("client_id") == self.client_id and form.get("client_secret") == self.client_secret

    def _token(self, environ: dict[str, Any], query: dict[str, str], start: StartResponse) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length).decode()
        form = {k: v[0] for k, v in parse_qs(body).items()}
        self.token_requests.append({k: v for k, v in form.items() if k in ("grant_type", "redirect_uri")})
        if not self._client_authenticated(environ, form):
            return _json(start, "401 Unauthorized", {"error": "invalid_client"})
        grant = self.codes.pop(form.get("code", ""), None)  # every code works once
        if form.get("grant_type") != "authorization_code" or grant is None:
            return _json(start, "400 Bad Request", {"error": "invalid_grant"})
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return _json(start, "400 Bad Request", {"error": "invalid_grant"})
        verifier = form.get("code_verifier", "")
        self.issued += [form.get("code", ""), verifier]
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if not verifier or digest != grant["challenge"]:
            return _json(start, "400 Bad Request", {"error": "invalid_grant", "error_description": "PKCE"})
        login: NextLogin = grant["login"]
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": login.sub,
            "aud": login.audience or self.client_id,
            "iat": now if login.lifetime_seconds > 0 else now + login.lifetime_seconds - 60,
            "exp": now + login.lifetime_seconds,
            "auth_time": grant["auth_time"],
            "email": login.email,
            **login.extra,
        }
        for name in login.omit:
            claims.pop(name, None)
        if grant["nonce"]:
            claims["nonce"] = grant["nonce"]
        if login.amr is not None:
            claims["amr"] = login.amr
        if login.acr is not None:
            claims["acr"] = login.acr
        id_token = self._sign(login.alg, claims)
        access_token = secrets.token_urlsafe(24)
        self.issued += [id_token, access_token]
        return _json(
            start,
            "200 OK",
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": id_token,
            },
        )

    def _sign(self, alg: str, claims: dict[str, Any]) -> str:
        if alg not in ("none", "HS256"):
            return jwt.encode({"alg": alg, "kid": self.key.kid}, claims, self.key)
        # By hand: joserfc rightly refuses to make either of these
        parts = [{"alg": alg, "kid": self.key.kid, "typ": "JWT"}, claims]
        signing_input = ".".join(_b64(json.dumps(part).encode()) for part in parts)
        if alg == "none":
            return f"{signing_input}."
        public_pem = self.key.as_pem(private=False)
        return (
            f"{signing_input}.{_b64(hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest())}"
        )

    def _logout(
        self, environ: dict[str, Any], query: dict[str, str], start: StartResponse
    ) -> Iterable[bytes]:
        self.logouts.append(query)
        target = query.get("post_logout_redirect_uri")
        if not target:
            return _json(start, "200 OK", {"signed_out": True})
        separator = "&" if urlsplit(target).query else "?"
        location = f"{target}{separator}{urlencode({'state': query.get('state', '')})}"
        start("302 Found", [("Location", location), ("Content-Length", "0")])
        return [b""]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _json(start: StartResponse, status: str, payload: dict[str, Any]) -> Iterable[bytes]:
    body = json.dumps(payload).encode()
    start(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  # wsgiref's signature
        return


@contextmanager
def running_provider(client_id: str, client_secret: str, redirect_uris: set[str]) -> Iterator[Provider]:
    """Serve a provider on a free port of 127.0.0.1 for the duration of the block."""
    provider = Provider(client_id=client_id, client_secret=client_secret, redirect_uris=redirect_uris)
    server = make_server("127.0.0.1", 0, provider, handler_class=_Quiet)
    provider.issuer = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
