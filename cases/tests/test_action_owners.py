"""Who may own an action on a case: an active practitioner or chair of the lead agency or of an
agency the case is shared with now (a live share). A revoked share no longer makes its agency's
people owners, on the page or in the API; the policy answers both (policy.action_owners)."""

from __future__ import annotations

from django.utils import timezone

from cases.models import Action
from sharing import policy
from sharing.services import do_revoke_share


def _revoke_probation(world):
    share = world.case.shares.get(agency=world.agencies["probation"])
    do_revoke_share(share=share, reason="Probation no longer supervises", acting_user=world.police_chair)


def _form(world, owner):
    return {
        "pillar": "supervision",
        "text": "Home visit",
        "owner": owner.pk,
        "due_on": str(timezone.localdate()),
    }


def test_the_page_offers_owners_from_live_shares_only(world, signed_in):
    # given the case's share with probation is revoked
    _revoke_probation(world)
    client = signed_in(world.police_practitioner)
    # when the lead opens the action form
    html = client.get(f"/cases/{world.case.pk}/actions/new/").content.decode()
    # then health (still shared) is offered and probation is not
    assert f'value="{world.health_practitioner.pk}"' in html
    assert f'value="{world.probation_practitioner.pk}"' not in html


def test_the_page_refuses_an_owner_whose_share_was_revoked(world, signed_in):
    # given the case's share with probation is revoked
    _revoke_probation(world)
    client = signed_in(world.police_practitioner)
    # when the lead assigns the action to probation's practitioner
    response = client.post(f"/cases/{world.case.pk}/actions/new/", _form(world, world.probation_practitioner))
    # then it is refused and no action exists
    assert response.status_code == 400
    assert not Action.objects.filter(case=world.case).exists()


def test_the_page_still_assigns_to_an_agency_with_a_live_share(world, signed_in):
    _revoke_probation(world)
    client = signed_in(world.police_practitioner)
    response = client.post(f"/cases/{world.case.pk}/actions/new/", _form(world, world.health_practitioner))
    assert response.status_code == 302
    action = Action.objects.get(case=world.case)
    assert action.owner_id == world.health_practitioner.pk and action.agency == world.agencies["health"]


def test_the_api_refuses_an_owner_whose_share_was_revoked(world, api):
    # given the case's share with probation is revoked
    _revoke_probation(world)
    # when the lead assigns an action to probation through the API
    response = api(world.police_practitioner).post(
        f"/api/v1/cases/{world.case.pk}/actions/",
        {**_form(world, world.probation_practitioner), "agency": world.agencies["probation"].pk},
        format="json",
    )
    # then it is refused and no action exists
    assert response.status_code == 400
    assert not Action.objects.filter(case=world.case).exists()


def test_action_owners_are_the_lead_and_live_shares_content_members(world):
    _revoke_probation(world)
    owners = policy.action_owners(world.case)
    agencies = {m.agency_id for m in owners}
    assert agencies == {world.agencies[k].pk for k in ("police", "health", "cps", "isac")}
    assert {m.role for m in owners} <= set(policy.CONTENT_ROLES)
    # and the per-membership answer agrees with the set
    for membership in world.memberships.values():
        assert policy.can_own_action(membership.user, membership.agency_id, world.case) == (
            membership in owners
        ), membership
