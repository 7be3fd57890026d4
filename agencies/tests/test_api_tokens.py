"""/api/v1/me/ and API tokens: a token acts as exactly its user; expired or revoked tokens get 401."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from agencies.models import ApiToken
from agencies.services import do_issue_token, do_revoke_token
from audit.models import AuditEvent


def bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_me_names_the_user_and_their_memberships(world: Any, api: Any) -> None:
    # Given the police chair signed in with both factors
    client = api(world.police_chair)
    # When they ask who they are
    response = client.get("/api/v1/me/")
    # Then they see their username and their one membership, as chair of Northshire Police
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "police_chair" and body["authenticated_by"] == "session"
    assert [(m["agency"]["name"], m["role"]) for m in body["memberships"]] == [("Northshire Police", "chair")]


def test_a_valid_token_acts_as_its_user(world: Any) -> None:
    # Given a token issued to the health practitioner
    token, raw = do_issue_token(user=world.health_practitioner, days=7)
    # When an integration calls the API with it
    response = bearer(raw).get("/api/v1/me/")
    # Then it is the health practitioner, with exactly their membership, and the use is noted
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "health_practitioner" and body["authenticated_by"] == "token"
    assert [m["role"] for m in body["memberships"]] == ["practitioner"]
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_an_expired_token_gets_401(world: Any) -> None:
    # Given a token that expired a minute ago
    token, raw = do_issue_token(user=world.police_practitioner, days=1)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    # When it is used, then the API refuses it with 401 and says why
    response = bearer(raw).get("/api/v1/me/")
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_a_revoked_token_gets_401(world: Any) -> None:
    # Given a token that was revoked
    token, raw = do_issue_token(user=world.police_practitioner, days=30)
    do_revoke_token(token=token)
    # When it is used, then 401
    assert bearer(raw).get("/api/v1/me/").status_code == 401


def test_an_unknown_token_gets_401(world: Any) -> None:
    assert bearer("cvn_deadbeef_not-a-real-token").get("/api/v1/me/").status_code == 401


def test_a_token_of_a_deactivated_person_gets_401(world: Any) -> None:
    # Given a token whose person has left (deactivated)
    _, raw = do_issue_token(user=world.cps_practitioner, days=30)
    world.cps_practitioner.is_active = False
    world.cps_practitioner.save()
    # Then the token no longer works
    assert bearer(raw).get("/api/v1/me/").status_code == 401


def test_a_session_without_the_second_factor_gets_401(world: Any) -> None:
    # Given the police chair signed in with a password only
    client = APIClient()
    client.force_login(world.police_chair)
    # When they call the API, then it refuses them until the second factor is passed
    assert client.get("/api/v1/me/").status_code in (401, 403)


def test_no_credentials_gets_401(db: Any) -> None:
    assert APIClient().get("/api/v1/me/").status_code == 401


def test_tokens_are_stored_hashed_and_listed_without_secret(world: Any, api: Any) -> None:
    # Given two tokens of the police admin
    token, raw = do_issue_token(user=world.police_admin, days=30, name="nDelius bridge")
    do_issue_token(user=world.police_admin, days=5)
    do_issue_token(user=world.police_chair, days=5)
    # Then the secret is not in the database
    assert raw not in str(list(ApiToken.objects.values_list("key_hash", "prefix", "name")))
    # When the admin lists their tokens, they see only their own two, with no secret
    response = api(world.police_admin).get("/api/v1/me/tokens/")
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 2
    assert raw not in response.content.decode()
    assert {r["prefix"] for r in results} >= {token.prefix}


def test_revoking_my_own_token_works_and_is_audited(world: Any, api: Any) -> None:
    # Given a token of the police admin
    token, raw = do_issue_token(user=world.police_admin, days=30)
    # When they revoke it
    response = api(world.police_admin).post(f"/api/v1/me/tokens/{token.pk}/revoke/")
    # Then it is revoked, audited, and no longer works
    assert response.status_code == 200 and response.json()["usable"] is False
    assert AuditEvent.objects.filter(op="token_revoked", object_id=str(token.pk)).exists()
    assert bearer(raw).get("/api/v1/me/").status_code == 401


def test_revoking_someone_elses_token_looks_like_not_found(world: Any, api: Any) -> None:
    # Given a token of the police chair
    token, raw = do_issue_token(user=world.police_chair, days=30)
    # When the police admin tries to revoke it, then 404 and it still works
    assert api(world.police_admin).post(f"/api/v1/me/tokens/{token.pk}/revoke/").status_code == 404
    assert bearer(raw).get("/api/v1/me/").status_code == 200


def test_revoking_twice_names_the_problem(world: Any, api: Any) -> None:
    token, _ = do_issue_token(user=world.police_admin, days=30)
    client = api(world.police_admin)
    client.post(f"/api/v1/me/tokens/{token.pk}/revoke/")
    response = client.post(f"/api/v1/me/tokens/{token.pk}/revoke/")
    assert response.status_code == 400
    assert "already revoked" in response.json()["detail"]


@pytest.mark.parametrize("days", [0, -3, 366])
def test_a_token_lasts_between_one_and_365_days(world: Any, days: int) -> None:
    from core.errors import DomainError

    with pytest.raises(DomainError) as raised:
        do_issue_token(user=world.police_admin, days=days)
    assert raised.value.field == "days"
