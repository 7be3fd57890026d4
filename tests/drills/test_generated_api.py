"""Generated requests against the project's own OpenAPI schema (issues 9 and 14): schemathesis as an
outsider practitioner (Southshire Police, party to no agreement), a partner practitioner and an
auditor, with the real case's and agreement's ids in the paths as well as generated ones. Valid input
(positive) and schema-breaking input (negative): no server error, ever; every documented response to
valid input matches the schema; the outsider is never answered 2xx about the real case. The
operations are driven here with hypothesis directly (one test per persona), which keeps the run inside
pytest-django's database handling; a few examples per operation keep it to about two minutes."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.generation.feedback import NO_FEEDBACK
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from agencies.services import do_issue_token

SENT: Counter[str] = Counter()
FIGURES = Path(__file__).resolve().parents[2] / "test-artifacts" / "generated-api.json"
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
NEGATIVE_CHECKS = [not_a_server_error]  # a 400 to schema-breaking input need not be documented
EXAMPLES_PER_OPERATION = 4
NEGATIVE_EXAMPLES_PER_OPERATION = 2
PERSONAS = ["outsider_practitioner", "health_practitioner", "police_auditor"]


def _schema():
    from drf_spectacular.generators import SchemaGenerator

    from config.wsgi import application

    document = json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True), default=str))
    schema = schemathesis.openapi.from_dict(document)
    schema.app = application
    return schema


def _exercise(persona: str, token: str, real: dict[str, str]) -> list[str]:
    # schemathesis calls the WSGI application directly, which would close the test's database
    # connection between requests (Django's own test client disconnects this handler the same way)
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        return _exercise_operations(persona, token, real)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _real_path_parameters(path: str, real: dict[str, str]) -> dict[str, str]:
    """The real case's id where a path names a case, the real agreement's where it names one."""
    if path.startswith("/api/v1/cases/{id}"):
        return {"id": real["case"]}
    if path.startswith("/api/v1/cases/{case_id}"):
        return {"case_id": real["case"]}
    if path.startswith("/api/v1/agreements/{id}"):
        return {"id": real["agreement"]}
    return {}


def _runner(persona, headers, operation, mode, examples, checks, path_parameters):
    """One hypothesis test of one operation in one generation mode."""
    about_real_case = bool(path_parameters) and persona.startswith("outsider")

    # No constants extracted from the schema's own text: the same words would then be generated both
    # as a note body (an encrypted value the log scan tracks) and as a path in a 404 log line.
    strategy = operation.as_strategy(
        generation_mode=mode, path_parameters=path_parameters or None, feedback=NO_FEEDBACK
    )

    @given(case=strategy)
    @hypothesis_settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def run(case):
        response = case.call(headers=headers)
        SENT[persona] += 1
        case.validate_response(response, checks=checks)
        if about_real_case and response.status_code < 300:
            raise AssertionError(f"the outsider was answered {response.status_code} about the real case")

    return run


def _exercise_operations(persona: str, token: str, real: dict[str, str]) -> list[str]:
    failures: list[str] = []
    headers = {"Authorization": f"Bearer {token}"}
    for result in _schema().get_all_operations():
        operation = result.ok()
        fixed = _real_path_parameters(operation.path, real)
        runs: list[tuple[GenerationMode, int, list[Any], dict[str, str]]] = [
            (GenerationMode.POSITIVE, EXAMPLES_PER_OPERATION, CHECKS, {})
        ]
        if fixed:
            runs.append((GenerationMode.POSITIVE, EXAMPLES_PER_OPERATION, CHECKS, fixed))
        runs.append((GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES_PER_OPERATION, NEGATIVE_CHECKS, {}))
        for mode, examples, checks, path_parameters in runs:
            ids = ", real ids" if path_parameters else ""
            label = f"{operation.method.upper()} {operation.path} ({mode.value}{ids})"
            run = _runner(persona, headers, operation, mode, examples, checks, path_parameters)
            try:
                run()
            except Exception as exc:  # noqa: BLE001 - collect every failing operation, then fail once
                failures.append(f"{label}: {str(exc).splitlines()[0][:300]}")
    return failures


@pytest.mark.parametrize("persona", PERSONAS)
def test_generated_requests_get_no_server_error_and_match_the_schema(world, persona):
    # given a persona signed in through an API token, and the real case and agreement
    token = do_issue_token(user=getattr(world, persona), days=1)[1]
    real = {"case": str(world.case.pk), "agreement": str(world.agreement.pk)}
    # when every operation of the schema is called with generated input, valid and invalid
    failures = _exercise(persona, token, real)
    # then none answered with a server error, none outside its schema, and the outsider learnt nothing
    assert not failures, "\n".join(failures)


def teardown_module(module) -> None:
    FIGURES.parent.mkdir(exist_ok=True)
    FIGURES.write_text(json.dumps({"generated_requests": dict(SENT), "total": sum(SENT.values())}, indent=2))
