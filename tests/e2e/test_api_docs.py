"""Journey: a signed-in member opens the API description; Swagger UI renders under the CSP."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


def test_the_swagger_page_renders_under_the_content_security_policy(page, sign_in, shot, e2e_server):
    # given a practitioner signed in with both factors, and every console message and request kept
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    page.on("pageerror", lambda error: messages.append(str(error)))
    offsite: list[str] = []
    page.on(
        "request",
        lambda request: None if request.url.startswith(e2e_server.base_url) else offsite.append(request.url),
    )
    failed: list[str] = []
    page.on("response", lambda response: failed.append(response.url) if response.status >= 400 else None)
    sign_in(page, "health.practitioner")

    # when they open the API description
    page.goto("/api/docs/")

    # then Swagger UI draws the schema's title and its operations, loading nothing from elsewhere
    page.locator(".swagger-ui .info .title").wait_for(timeout=30_000)
    assert "Convene API" in page.locator(".swagger-ui .info .title").inner_text()
    page.locator(".opblock").first.wait_for(timeout=30_000)
    assert page.locator(".opblock").count() > 10
    shot(page, "api-docs")
    assert offsite == []
    # and the CSP needed no exception: no script, connection, image or font was refused (Swagger UI
    # also tries one inline style, which the CSP blocks without harm to the page)
    refused = [m for m in messages if "Content Security Policy" in m and "inline style" not in m]
    assert refused == [], refused
    assert not [m for m in messages if "Uncaught" in m], messages
    assert failed == [], failed
