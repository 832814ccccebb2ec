"""schemathesis against the API's own OpenAPI schema: generated requests find no server error.

Run twice over every operation: anonymous (what a witness's browser can do) and
with an investigator's bearer token (everything else), on a case that holds a
few items so that paths can hit real digests as well as random ones.
"""

from __future__ import annotations

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings

from factfinder import accounts
from factfinder.permissions import Role
from factfinder.vault.case import Case
from tests.web.conftest import USERS


@pytest.fixture
def api_schema(web_app: FastAPI, web_case: Case) -> schemathesis.BaseSchema:
    for i in range(3):
        web_case.add_bytes(f"testimony {i} about the square\n".encode(), actor="tester", channel="web")
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", web_app)


@pytest.fixture
def bearer(web_case: Case) -> str:
    user = next(u for u in accounts.list_users(web_case.engine) if u.username == USERS[Role.INVESTIGATOR])
    account = accounts.Account(user.id, user.username, Role(user.role))
    return accounts.create_token(web_case.engine, account, "schemathesis")


def _exercise(schema: schemathesis.BaseSchema, headers: dict[str, str]) -> int:
    """Generate requests for every operation; fail on the first 5xx. Returns how many operations ran."""
    ran = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: schemathesis.Case) -> None:
            response = case.call(headers=headers)
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:500]}"
            )

        check()
        ran += 1
    return ran


@pytest.mark.once_on_postgres  # refused at the guard; the token run reaches the database code on PostgreSQL
def test_no_server_errors_anonymous(api_schema: schemathesis.BaseSchema) -> None:
    assert _exercise(api_schema, {}) >= 10


def test_no_server_errors_with_a_token(api_schema: schemathesis.BaseSchema, bearer: str) -> None:
    assert _exercise(api_schema, {"Authorization": f"Bearer {bearer}"}) >= 10
