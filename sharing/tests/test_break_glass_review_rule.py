"""Nobody reviews their own break-glass use: one policy rule (policy.can_review_break_glass) that
the page, the API and the queue's review form all follow, and one queue (policy.break_glass_queue)."""

from __future__ import annotations

from agencies.models import Role
from agencies.services import do_add_membership
from sharing import policy
from sharing.models import BreakGlass
from sharing.tests.personas import build_persona


def _self_reviewer(world):
    """The break-glass user is also an auditor of the lead agency, so a reviewer of its cases."""
    persona = build_persona(world, "break_glass_live")
    user = persona.user
    do_add_membership(
        user=user, agency=world.agencies["police"], role=Role.AUDITOR, acting_user=world.police_admin
    )
    policy.forget(user)
    return user, BreakGlass.objects.select_related("case").get(user=user)


def test_the_policy_refuses_a_review_of_ones_own_break_glass(world):
    user, glass = _self_reviewer(world)
    # then they see it in their queue, may not review it, and another reviewer may
    assert glass in policy.break_glass_queue(user, "pending")
    assert policy.can_review_break_glass(user, glass) is False
    assert policy.can_review_break_glass(world.police_chair, glass) is True


def test_page_and_api_refuse_ones_own_review_and_the_queue_offers_no_form(world, signed_in, api):
    user, glass = _self_reviewer(world)
    # when they try to review their own access on the page and through the API
    page = signed_in(user).post(f"/sharing/break-glass/{glass.pk}/review/", {"outcome": "justified"})
    rest = api(user).post(
        f"/api/v1/break-glass/{glass.pk}/review/", {"outcome": "justified", "note": ""}, format="json"
    )
    # then both look as if there were nothing to review, and nothing is recorded
    assert page.status_code == 404
    assert rest.status_code == 404
    assert BreakGlass.objects.get(pk=glass.pk).reviewed_at is None
    # and the queue lists it without a review form
    html = signed_in(user).get("/sharing/break-glass/").content.decode()
    assert "Your own access: another reviewer decides." in html
    assert f"/sharing/break-glass/{glass.pk}/review/" not in html
