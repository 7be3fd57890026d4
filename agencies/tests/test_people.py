"""Agency admins manage memberships of their own agency only; another agency's look like they do not exist."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from agencies.models import Membership, User
from agencies.services import do_add_membership, do_change_role
from audit.models import AuditEvent
from sharing import policy


def members_url(world: Any, key: str) -> str:
    return f"/people/{world.agencies[key].slug}/"


def test_admin_sees_the_members_of_their_own_agency(world: Any, signed_in: Any) -> None:
    # Given the police admin
    client = signed_in(world.police_admin)
    # When they open People, they land on Northshire Police's members
    response = client.get("/people/")
    assert response.status_code == 302 and response["Location"] == members_url(world, "police")
    page = client.get(members_url(world, "police")).content.decode()
    # Then they see police staff, and nobody from another agency
    assert "police_chair" in page and "police_practitioner" in page
    assert "health_practitioner" not in page and "outsider_admin" not in page


def test_member_list_takes_a_constant_number_of_queries(world: Any, signed_in: Any) -> None:
    client = signed_in(world.police_admin)
    client.get(members_url(world, "police"))
    with CaptureQueriesContext(connection) as few:
        client.get(members_url(world, "police"))
    for i in range(8):
        person = User.objects.create_user(username=f"extra{i}", password="x" * 14)
        do_add_membership(user=person, agency=world.agencies["police"], role="practitioner", acting_user=None)
    with CaptureQueriesContext(connection) as many:
        page = client.get(members_url(world, "police"))
    assert "extra7" in page.content.decode()
    assert len(many.captured_queries) == len(few.captured_queries)


@pytest.mark.parametrize(
    "path",
    [
        "/people/{slug}/",
        "/people/{slug}/add/",
        "/people/{slug}/{pk}/role/",
        "/people/{slug}/{pk}/end/",
    ],
)
def test_another_agencys_memberships_are_not_found(world: Any, signed_in: Any, path: str) -> None:
    # Given the police admin and a health membership
    client = signed_in(world.police_admin)
    health = world.agencies["health"]
    membership = world.memberships["health_practitioner"]
    url = path.format(slug=health.slug, pk=membership.pk)
    # When they try to see or change it, by page or by form, then it is not found
    assert client.get(url).status_code == 404
    assert (
        client.post(url, {"role": "chair", "version": 1, "existing_username": "police_chair"}).status_code
        == 404
    )
    # And nothing changed
    membership.refresh_from_db()
    assert membership.role == "practitioner" and membership.ended_at is None
    assert not Membership.objects.filter(agency=health, user=world.police_chair).exists()


def test_a_membership_of_another_agency_under_my_agency_url_is_not_found(world: Any, signed_in: Any) -> None:
    # Given the police admin, and a health membership addressed through the police URL
    client = signed_in(world.police_admin)
    pk = world.memberships["health_practitioner"].pk
    url = f"/people/{world.agencies['police'].slug}/{pk}/end/"
    # Then it is not found and not ended
    assert client.post(url).status_code == 404
    assert Membership.objects.get(pk=pk).ended_at is None


@pytest.mark.parametrize("who", ["police_chair", "police_practitioner", "police_dpo", "health_admin"])
def test_only_the_agencys_own_admins_manage_it(world: Any, signed_in: Any, who: str) -> None:
    client = signed_in(world.users[who])
    assert client.get(members_url(world, "police")).status_code == 404


def test_admin_adds_a_new_person_and_sees_the_one_time_password_once(world: Any, signed_in: Any) -> None:
    client = signed_in(world.police_admin)
    # When the police admin adds a new practitioner
    response = client.post(
        f"{members_url(world, 'police')}add/",
        {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "username": "ada.lovelace",
            "email": "ada@police.example",
            "role": "practitioner",
            "vetting_level": "nppv2",
        },
    )
    # Then the password is shown once, not cached, and works with the new username
    assert response.status_code == 201
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]
    page = response.content.decode()
    shown = re.search(r"One-time password</dt><dd[^>]*><code[^>]*>([^<]+)</code>", page)
    assert shown is not None
    password = shown.group(1)
    person = User.objects.get(username="ada.lovelace")
    assert person.check_password(password)
    assert policy.has_role(person, "practitioner", world.agencies["police"])
    # And the creation and the membership are audited, without the password
    events = AuditEvent.objects.filter(op="membership", actor_username="police_admin")
    assert events.count() >= 2
    assert password not in str(list(events.values()))
    # And the list does not show it again
    assert password not in client.get(members_url(world, "police")).content.decode()


def test_admin_gives_an_existing_account_a_role(world: Any, signed_in: Any) -> None:
    # Given a probation practitioner who also works for the police
    client = signed_in(world.police_admin)
    response = client.post(
        f"{members_url(world, 'police')}add/",
        {"existing_username": "probation_practitioner", "role": "auditor", "vetting_level": "none"},
    )
    assert response.status_code == 201
    assert "One-time password" not in response.content.decode()
    assert policy.has_role(world.probation_practitioner, "auditor", world.agencies["police"])


@pytest.mark.parametrize(
    ("data", "field_message"),
    [
        ({"role": "chair"}, "Give the username of an existing account"),
        ({"existing_username": "nobody.here", "role": "chair"}, "There is no account with that username"),
        ({"username": "x.y", "first_name": "X", "role": "chair"}, "Enter the new person&#x27;s last name"),
        ({"username": "Bad Name!", "first_name": "X", "last_name": "Y", "role": "chair"}, "A username uses"),
        ({"username": "police_chair", "first_name": "X", "last_name": "Y", "role": "chair"}, "taken"),
        ({"existing_username": "police_chair", "role": "chair"}, "already holds that role"),
        ({"existing_username": "police_chair", "role": "emperor"}, "Select a valid choice"),
    ],
)
def test_bad_input_names_the_problem_and_writes_nothing(
    world: Any, signed_in: Any, data: dict[str, str], field_message: str
) -> None:
    client = signed_in(world.police_admin)
    before = (User.objects.count(), Membership.objects.count(), AuditEvent.objects.count())
    response = client.post(f"{members_url(world, 'police')}add/", {"vetting_level": "none", **data})
    assert response.status_code == 400
    assert field_message in response.content.decode()
    assert (User.objects.count(), Membership.objects.count()) == before[:2]


def test_admin_changes_a_role_with_the_version(world: Any, signed_in: Any) -> None:
    client = signed_in(world.police_admin)
    membership = world.memberships["police_practitioner"]
    url = f"{members_url(world, 'police')}{membership.pk}/role/"
    assert client.get(url).status_code == 200
    response = client.post(url, {"role": "chair", "version": membership.version})
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.role == "chair" and membership.version == 2


def test_a_stale_role_change_is_refused_with_a_conflict_message(world: Any, signed_in: Any) -> None:
    # Given the police admin opened the form at version 1, then someone else changed the role
    client = signed_in(world.police_admin)
    membership = world.memberships["police_practitioner"]
    do_change_role(membership=membership, role="auditor", version=1, acting_user=world.police_admin)
    # When the admin submits their change based on version 1
    response = client.post(
        f"{members_url(world, 'police')}{membership.pk}/role/", {"role": "chair", "version": 1}
    )
    # Then it is refused with a conflict that says what to do, and the other change stands
    assert response.status_code == 409
    assert "changed" in response.content.decode() and "Reload" in response.content.decode()
    membership.refresh_from_db()
    assert membership.role == "auditor"


def test_ending_a_membership_asks_first_then_ends_access_at_once(world: Any, signed_in: Any) -> None:
    # Given the health practitioner can see the shared case
    assert policy.case_access(world.health_practitioner, world.case) is not None
    client = signed_in(world.health_admin)
    membership = world.memberships["health_practitioner"]
    url = f"{members_url(world, 'health')}{membership.pk}/end/"
    # When the health admin opens the end page, they are asked to confirm, and nothing ends yet
    page = client.get(url)
    assert page.status_code == 200 and "End this role" in page.content.decode()
    assert Membership.objects.get(pk=membership.pk).ended_at is None
    # And when they confirm
    response = client.post(url)
    assert response.status_code == 302
    # Then the membership has ended and the practitioner's access to the case is gone
    membership.refresh_from_db()
    assert membership.ended_at is not None and membership.ended_by == world.health_admin
    fresh = User.objects.get(pk=world.health_practitioner.pk)
    assert policy.case_access(fresh, world.case) is None
    # And ending it twice names the problem
    assert client.post(url).status_code == 400


def test_ended_member_can_no_longer_use_pages_or_api(world: Any, signed_in: Any, api: Any) -> None:
    practitioner = signed_in(world.health_practitioner)
    assert practitioner.get("/api/v1/me/").status_code == 200
    signed_in(world.health_admin).post(
        f"{members_url(world, 'health')}{world.memberships['health_practitioner'].pk}/end/"
    )
    assert practitioner.get("/api/v1/me/").status_code == 403


def test_django_admin_is_for_superusers_only(world: Any, signed_in: Any) -> None:
    # Given the police admin, even if marked as staff
    User.objects.filter(pk=world.police_admin.pk).update(is_staff=True)
    client = signed_in(User.objects.get(pk=world.police_admin.pk))
    # When they open the Django admin's membership list, they are not let in and see no membership
    response = client.get("/django-admin/agencies/membership/")
    assert response.status_code == 302
    assert "health_practitioner" not in client.get(response["Location"]).content.decode()
    # While a superuser with both factors can read it (read-only)
    root = User.objects.create_superuser(username="root", password="x" * 14)
    superuser = signed_in(root)
    assert superuser.get("/django-admin/agencies/membership/").status_code == 200
    membership = world.memberships["health_practitioner"]
    change = superuser.post(f"/django-admin/agencies/membership/{membership.pk}/change/", {"role": "chair"})
    assert change.status_code in (200, 403)
    membership.refresh_from_db()
    assert membership.role == "practitioner"


def test_django_admin_needs_the_second_factor(world: Any) -> None:
    root = User.objects.create_superuser(username="root", password="x" * 14)
    client = Client()
    client.force_login(root)
    response = client.get("/django-admin/")
    assert response.status_code == 302 and response["Location"].startswith("/signin/")
