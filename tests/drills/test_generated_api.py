"""Generated requests against the OpenAPI schema (issue 9): schemathesis as signed-in partner and
lead practitioners and as an auditor. No server error; every documented response matches the
schema. The operations are driven here with hypothesis directly (one test per persona), which
keeps the run inside pytest-django's database handling."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from agencies.services import do_issue_token

SENT: Counter[str] = Counter()
FIGURES = Path(__file__).resolve().parents[2] / "test-artifacts" / "generated-api.json"
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
EXAMPLES_PER_OPERATION = 4


def _schema():
    from drf_spectacular.generators import SchemaGenerator

    from config.wsgi import application

    document = json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True), default=str))
    schema = schemathesis.openapi.from_dict(document)
    schema.app = application
    return schema


def _exercise(persona: str, token: str) -> list[str]:
    # schemathesis calls the WSGI application directly, which would close the test's database
    # connection between requests (Django's own test client disconnects this handler the same way)
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        return _exercise_operations(persona, token)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _exercise_operations(persona: str, token: str) -> list[str]:
    failures: list[str] = []
    for result in _schema().get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def run(case):
            response = case.call(headers={"Authorization": f"Bearer {token}"})
            SENT[persona] += 1
            case.validate_response(response, checks=CHECKS)

        try:
            run()
        except Exception as exc:  # noqa: BLE001 - collect every failing operation, then fail once
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc).splitlines()[0][:300]}")
    return failures


@pytest.mark.parametrize("persona", ["health_practitioner", "police_auditor"])
def test_generated_requests_get_no_server_error_and_match_the_schema(world, persona):
    # given a persona signed in through an API token
    token = do_issue_token(user=getattr(world, persona), days=1)[1]
    # when every operation of the schema is called with generated input
    failures = _exercise(persona, token)
    # then none answered with a server error or outside its schema
    assert not failures, "\n".join(failures)


def teardown_module(module) -> None:
    FIGURES.parent.mkdir(exist_ok=True)
    FIGURES.write_text(json.dumps({"generated_requests": dict(SENT), "total": sum(SENT.values())}, indent=2))
