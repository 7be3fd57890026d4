"""The API description (/api/schema/, /api/docs/) is for members signed in with both factors, and its
Swagger page loads everything from our own static files, with no inline script (the CSP holds)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

URLS = ["/api/schema/", "/api/docs/", "/api/docs/?script="]


@pytest.mark.parametrize("url", URLS)
def test_anonymous_visitors_get_nothing(world: Any, url: str) -> None:
    response = Client().get(url)
    assert response.status_code in (401, 403)
    assert b"openapi" not in response.content and b"swagger" not in response.content.lower()


@pytest.mark.parametrize("url", URLS)
def test_a_password_only_session_gets_nothing(world: Any, url: str) -> None:
    # given a person who gave their password but not their second factor
    client = Client()
    client.force_login(world.police_practitioner)
    # then the API description is refused, as every API route is
    response = client.get(url)
    assert response.status_code in (401, 403)
    assert b"openapi" not in response.content


def test_a_member_with_both_factors_reads_the_schema(world: Any, signed_in: Any) -> None:
    response = signed_in(world.health_practitioner).get("/api/schema/")
    assert response.status_code == 200
    assert b"openapi" in response.content and b"/api/v1/cases/" in response.content


def test_the_swagger_page_loads_only_local_assets_and_no_inline_script(world: Any, signed_in: Any) -> None:
    client = signed_in(world.health_practitioner)
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and all(a.startswith("/") for a in assets), assets  # no CDN, nothing off-site
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in assets
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)  # every script is a file
    assert "<style" not in html  # the CSP allows no inline style either
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "cdn" not in response["Content-Security-Policy"]
    # and the start-up script it loads is served to the same person
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()
