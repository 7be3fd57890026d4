"""Revoking a share asks the same policy on the page and in the API (policy.access_share, then
policy.can_revoke_share): a share the user may not see is a 404 on both; one they see but may not
revoke is a 404 on the page and a 403 in the API; only the case owner and the lead's chairs revoke."""

from __future__ import annotations

from sharing import policy
from sharing.models import CaseShare

MAY_REVOKE = {"police_practitioner", "police_chair"}


def test_page_and_api_refuse_everyone_else_alike(world, signed_in, api):
    # given the case's live share with probation
    share = world.case.shares.get(agency=world.agencies["probation"])
    for name, user in sorted(world.users.items()):
        if name in MAY_REVOKE or name == "system_setup":
            continue
        policy.forget(user)
        sees = (
            policy.shares_visible_to(user, world.case).filter(pk=share.pk).exists()
            if policy.can_view_case(user, world.case)
            else False
        )
        # when anyone else tries to revoke it on the page and through the API
        page = signed_in(user).post(f"/sharing/shares/{share.pk}/revoke/", {"reason": "Not needed"})
        rest = api(user).post(f"/api/v1/shares/{share.pk}/revoke/", {"reason": "Not needed"}, format="json")
        # then both refuse, and the API says 403 only to someone who may see the share
        assert page.status_code == 404, name
        assert rest.status_code == (403 if sees else 404), name
    assert CaseShare.objects.get(pk=share.pk).revoked_at is None


def test_a_chair_of_the_lead_revokes_on_the_page(world, signed_in):
    share = world.case.shares.get(agency=world.agencies["probation"])
    response = signed_in(world.police_chair).post(
        f"/sharing/shares/{share.pk}/revoke/", {"reason": "Not needed"}
    )
    assert response.status_code == 302
    assert CaseShare.objects.get(pk=share.pk).revoked_at is not None
    # and a second attempt finds nothing to revoke
    again = signed_in(world.police_chair).post(f"/sharing/shares/{share.pk}/revoke/", {"reason": "Again"})
    assert again.status_code == 404
