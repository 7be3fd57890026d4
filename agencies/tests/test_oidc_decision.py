"""The pure parts of single sign-on: the second-factor decision, the session's end, the audited claims."""

from __future__ import annotations

import pytest

from agencies.oidc import audit_claims, provider_second_factor_accepted, session_ends_at
from agencies.sso_models import MfaPolicy


@pytest.mark.parametrize(
    ("policy", "accepted", "acr", "amr", "expected"),
    [
        # amr policy (RFC 8176 values, Entra v1, Keycloak)
        (MfaPolicy.AMR_CONTAINS, ["mfa"], None, ["pwd", "mfa"], True),
        (MfaPolicy.AMR_CONTAINS, ["mfa"], None, ["pwd"], False),
        (MfaPolicy.AMR_CONTAINS, ["mfa"], None, None, False),  # Entra v2 sends no amr
        (MfaPolicy.AMR_CONTAINS, ["mfa"], None, "mfa", False),  # not a list: wrong shape
        (MfaPolicy.AMR_CONTAINS, ["mfa"], None, [["mfa"]], False),
        (MfaPolicy.AMR_CONTAINS, ["mfa", "hwk"], None, ["hwk"], True),
        (MfaPolicy.AMR_CONTAINS, ["mfa"], "mfa", ["pwd"], False),  # acr does not count for an amr policy
        (MfaPolicy.AMR_CONTAINS, [], None, ["mfa"], False),  # nothing accepted: nothing passes
        # acr policy (NHS CIS2 levels)
        (MfaPolicy.ACR_IN, ["AAL2_OR_AAL3_ANY", "AAL3_ANY"], "AAL3_ANY", None, True),
        (MfaPolicy.ACR_IN, ["AAL2_OR_AAL3_ANY"], "AAL1_USERPASS", ["mfa"], False),
        (MfaPolicy.ACR_IN, ["AAL3_ANY"], ["AAL3_ANY"], None, False),  # not a string: wrong shape
        (MfaPolicy.ACR_IN, ["AAL3_ANY"], "aal3_any", None, False),  # exact match only
        # Convene's own code, always
        (MfaPolicy.CONVENE_TOTP, ["mfa"], "AAL3_ANY", ["mfa"], False),
        # an unknown policy fails closed
        ("trust_everything", ["mfa"], None, ["mfa"], False),
    ],
)
def test_second_factor_decision(
    policy: str, accepted: list[str], acr: object, amr: object, expected: bool
) -> None:
    assert provider_second_factor_accepted(policy, accepted, acr, amr) is expected


def test_the_session_ends_at_the_earlier_of_the_token_and_the_max_age() -> None:
    now = 1_800_000_000.0
    # a token expiring in 5 minutes ends a session allowed 8 hours
    assert session_ends_at({"exp": now + 300, "auth_time": now}, 480, now) == now + 300
    # a max age of 30 minutes counts from when the provider authenticated the person
    assert session_ends_at({"exp": now + 7200, "auth_time": now - 600}, 30, now) == now + 1200
    # without auth_time, from the token's iat; without either, from now
    assert session_ends_at({"exp": now + 7200, "iat": now - 60}, 30, now) == now + 1740
    assert session_ends_at({"exp": now + 7200}, 30, now) == now + 1800


def test_only_short_acr_and_amr_strings_are_kept_for_the_audit() -> None:
    kept = audit_claims({"acr": "x" * 500, "amr": ["pwd", 7, "m" * 90] + ["otp"] * 20, "id_token": "eyJ..."})
    assert kept["acr"] == "x" * 100
    assert kept["amr"][:2] == ["pwd", "m" * 40] and len(kept["amr"]) <= 10
    assert set(kept) == {"acr", "amr"}
    assert audit_claims({"acr": 3, "amr": "mfa"}) == {"acr": None, "amr": None}
