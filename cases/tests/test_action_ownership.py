"""Actions owned by their agency (issue 16 item 2).

The practitioners and chairs of the agency an action is assigned to update its progress and
complete it, on the page and through the API, while that agency works on the case (it leads it or
holds a live share). The lead agency, or the chair of the review that created the action,
reassigns it, to someone in an agency working on the case only. Anyone else is answered as if the
action did not exist, and nothing is written.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from cases import choices as c
from cases.models import Action
from cases.services import do_add_action, do_reassign_action
from core.errors import DomainError
from sharing import policy
from sharing.services import do_revoke_share

OWNER_AGENCIES = ("probation", "health", "cps", "isac")


def _action(world, agency_key, owner=None, due_in=3):
    return do_add_action(
        case=world.case,
        agency=world.agencies["police"],
        acting_user=world.police_practitioner,
        pillar=c.Pillar.SUPERVISION,
        text="Confirm the licence conditions with the offender manager.",
        owner=owner or world.users[f"{agency_key}_practitioner"],
        action_agency=world.agencies[agency_key],
        due_on=timezone.localdate() + timedelta(days=due_in),
    )


def _status_page(world, action):
    return f"/cases/{world.case.pk}/actions/{action.pk}/status/"


def _api(world, action):
    return f"/api/v1/cases/{world.case.pk}/actions/{action.pk}/"


@pytest.mark.parametrize("agency_key", OWNER_AGENCIES)
def test_the_owner_agency_completes_its_action_on_the_page(world, signed_in, agency_key):
    # given an action assigned to this partner agency's practitioner
    action = _action(world, agency_key)
    client = signed_in(world.users[f"{agency_key}_practitioner"])
    # when they open the status page and mark it done
    assert client.get(_status_page(world, action)).status_code == 200
    response = client.post(_status_page(world, action), {"version": action.version, "status": "done"})
    # then it is done, audited in their own agency's name
    assert response.status_code == 302, response.content
    action.refresh_from_db()
    assert action.status == c.ActionStatus.DONE and action.completed_at is not None
    event = AuditEvent.objects.filter(object_id=str(action.pk)).order_by("-id").first()
    assert event is not None and event.actor_agency_id == world.agencies[agency_key].pk


@pytest.mark.parametrize("agency_key", OWNER_AGENCIES)
def test_the_owner_agency_updates_and_completes_its_action_through_the_api(world, api, agency_key):
    # given an action assigned to this partner agency's practitioner
    action = _action(world, agency_key)
    client = api(world.users[f"{agency_key}_practitioner"])
    # when they record progress and then complete it
    update = client.post(f"{_api(world, action)}updates/", {"text": "Visit booked"}, format="json")
    progress = client.patch(_api(world, action), {"version": 1, "status": "in_progress"}, format="json")
    done = client.patch(_api(world, action), {"version": 2, "status": "done"}, format="json")
    # then each step is accepted
    assert update.status_code == 201, update.content
    assert progress.status_code == 200, progress.content
    assert done.status_code == 200 and done.json()["status"] == "done"


def test_a_chair_of_the_owner_agency_completes_it_too(world, api):
    action = _action(world, "probation")
    response = api(world.probation_chair).patch(
        _api(world, action), {"version": 1, "status": "done"}, format="json"
    )
    assert response.status_code == 200


def test_another_partner_cannot_touch_an_action_it_does_not_own(world, api, signed_in):
    # given an action owned by probation
    action = _action(world, "probation")
    # when health tries to complete it or add an update, on the page and through the API
    patch = api(world.health_practitioner).patch(
        _api(world, action), {"version": 1, "status": "done"}, format="json"
    )
    post = api(world.health_practitioner).post(f"{_api(world, action)}updates/", {"text": "x"}, format="json")
    page = signed_in(world.health_practitioner).post(
        _status_page(world, action), {"version": 1, "status": "done"}
    )
    # then it looks like not-found and nothing is written
    assert (patch.status_code, post.status_code, page.status_code) == (404, 404, 404)
    action.refresh_from_db()
    assert action.status == c.ActionStatus.OPEN and action.version == 1
    assert not action.updates.exists()


def test_an_owner_agency_whose_share_was_revoked_cannot_update_it(world, api):
    # given probation's action, then the case's share with probation revoked
    action = _action(world, "probation")
    share = world.case.shares.get(agency=world.agencies["probation"])
    do_revoke_share(share=share, reason="Probation no longer supervises", acting_user=world.police_chair)
    # when probation tries to complete it
    response = api(world.probation_practitioner).patch(
        _api(world, action), {"version": 1, "status": "done"}, format="json"
    )
    # then it is not found and unchanged
    assert response.status_code == 404
    action.refresh_from_db()
    assert action.status == c.ActionStatus.OPEN


def test_a_stale_version_is_a_conflict_for_the_owner(world, api):
    action = _action(world, "isac")
    client = api(world.isac_practitioner)
    assert (
        client.patch(_api(world, action), {"version": 1, "status": "in_progress"}, format="json").status_code
        == 200
    )
    stale = client.patch(_api(world, action), {"version": 1, "status": "done"}, format="json")
    assert stale.status_code == 409
    action.refresh_from_db()
    assert action.status == c.ActionStatus.IN_PROGRESS


# --- reassigning ------------------------------------------------------------------------------------
def test_the_lead_reassigns_to_an_agency_working_on_the_case(world, api):
    # given probation's action
    action = _action(world, "probation")
    # when the lead reassigns it to the CPS practitioner
    response = api(world.police_practitioner).post(
        f"{_api(world, action)}reassign/",
        {"version": 1, "owner": world.cps_practitioner.pk, "agency": world.agencies["cps"].pk},
        format="json",
    )
    # then CPS owns it now, and CPS (not probation) may complete it
    assert response.status_code == 200, response.content
    action.refresh_from_db()
    assert (action.owner_id, action.agency_id) == (world.cps_practitioner.pk, world.agencies["cps"].pk)
    assert policy.can_update_action(world.cps_practitioner, action)
    assert not policy.can_update_action(world.probation_practitioner, action)


def test_the_lead_reassigns_on_the_page(world, signed_in):
    action = _action(world, "probation")
    client = signed_in(world.police_practitioner)
    url = f"/cases/{world.case.pk}/actions/{action.pk}/reassign/"
    html = client.get(url).content.decode()
    assert f'value="{world.health_practitioner.pk}"' in html
    response = client.post(url, {"version": 1, "owner": world.health_practitioner.pk})
    assert response.status_code == 302
    action.refresh_from_db()
    assert action.agency_id == world.agencies["health"].pk


def test_reassigning_to_an_agency_without_a_live_share_is_refused(world, api):
    # given the share with health revoked
    action = _action(world, "probation")
    share = world.case.shares.get(agency=world.agencies["health"])
    do_revoke_share(share=share, reason="Discharged", acting_user=world.police_chair)
    # when the lead reassigns the action to health, through the API and straight through the service
    response = api(world.police_practitioner).post(
        f"{_api(world, action)}reassign/",
        {"version": 1, "owner": world.health_practitioner.pk, "agency": world.agencies["health"].pk},
        format="json",
    )
    with pytest.raises(DomainError):
        do_reassign_action(
            action=action,
            version=1,
            agency=world.agencies["police"],
            acting_user=world.police_practitioner,
            owner=world.health_practitioner,
            action_agency=world.agencies["health"],
        )
    # then both refuse, and probation still owns it
    assert response.status_code == 400
    action.refresh_from_db()
    assert action.agency_id == world.agencies["probation"].pk and action.version == 1


def test_the_owner_agency_cannot_reassign(world, api):
    action = _action(world, "probation")
    response = api(world.probation_practitioner).post(
        f"{_api(world, action)}reassign/",
        {"version": 1, "owner": world.cps_practitioner.pk, "agency": world.agencies["cps"].pk},
        format="json",
    )
    assert response.status_code == 404
    action.refresh_from_db()
    assert action.agency_id == world.agencies["probation"].pk


def test_a_stale_reassignment_is_a_conflict(world, api):
    action = _action(world, "probation")
    api(world.probation_practitioner).patch(
        _api(world, action), {"version": 1, "status": "in_progress"}, format="json"
    )
    response = api(world.police_practitioner).post(
        f"{_api(world, action)}reassign/",
        {"version": 1, "owner": world.cps_practitioner.pk, "agency": world.agencies["cps"].pk},
        format="json",
    )
    assert response.status_code == 409
    action.refresh_from_db()
    assert action.agency_id == world.agencies["probation"].pk


# --- the policy's three forms agree -----------------------------------------------------------------
def test_the_updatable_queryset_matches_the_predicate(world):
    actions = [_action(world, key) for key in ("police", *OWNER_AGENCIES)]
    share = world.case.shares.get(agency=world.agencies["cps"])
    do_revoke_share(share=share, reason="Charged", acting_user=world.police_chair)
    for user in world.users.values():
        policy.forget(user)
        expected = {
            a.pk
            for a in Action.objects.filter(pk__in=[x.pk for x in actions])
            if policy.can_update_action(user, a)
        }
        assert set(policy.actions_updatable_by(user).values_list("pk", flat=True)) == expected, user.username
        expected = {
            a.pk
            for a in Action.objects.filter(pk__in=[x.pk for x in actions])
            if policy.can_reassign_action(user, a)
        }
        assert set(policy.actions_reassignable_by(user).values_list("pk", flat=True)) == expected, (
            user.username
        )
