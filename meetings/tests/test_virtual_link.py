"""A meeting's virtual link is an https address (http only with DEBUG on): never a script URL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from cases import choices as cc
from core.errors import DomainError
from meetings import services
from meetings.models import Meeting


def schedule(world: Any, link: str) -> Meeting:
    return services.do_schedule_meeting(
        forum=cc.Forum.MAPPA,
        title="MAPPA level 2 review",
        scheduled_for=timezone.now() + timedelta(days=3),
        chair=world.police_chair,
        chair_agency=world.agencies["police"],
        acting_user=world.police_chair,
        virtual_link=link,
    )


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(document.cookie)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "\x01javascript:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "http://meet.example.org/room",
        "https://",
        "https://user:pass@evil.example/",
        "//meet.example.org/room",
        "meet.example.org/room",
        "https://meet.example.org/" + "a" * 500,
    ],
)
def test_a_link_that_is_not_https_is_refused_naming_the_field(world: Any, link: str) -> None:
    with pytest.raises(DomainError) as refused:
        schedule(world, link)
    assert refused.value.field == "virtual_link"
    assert not Meeting.objects.exists()


def test_an_https_link_is_kept_and_an_empty_one_means_none(world: Any) -> None:
    assert schedule(world, " https://meet.example.org/northshire-mappa?pwd=1 ").virtual_link == (
        "https://meet.example.org/northshire-mappa?pwd=1"
    )
    assert schedule(world, "").virtual_link == ""


def test_http_is_accepted_only_in_development(world: Any, settings: Any) -> None:
    settings.DEBUG = True
    assert schedule(world, "http://127.0.0.1:8000/room").virtual_link == "http://127.0.0.1:8000/room"
    with pytest.raises(DomainError):
        schedule(world, "javascript:alert(1)")


def test_the_schedule_page_shows_the_refusal_on_the_field(world: Any, signed_in: Any) -> None:
    response = signed_in(world.police_chair).post(
        "/meetings/new/",
        {
            "forum": cc.Forum.MAPPA,
            "title": "Review",
            "scheduled_for": (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
            "virtual_link": "javascript:alert(1)",
        },
    )
    assert response.status_code in (200, 400)
    assert "https://" in response.content.decode()
    assert not Meeting.objects.exists()
