"""A first pass through the app as each kind of user meets it."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from factfinder.permissions import Role
from tests.web.conftest import csrf_of


def test_witness_submits_and_analyst_finds_it_without_the_name(
    anon: TestClient, sign_in: Callable[[Role], TestClient]
) -> None:
    r = anon.post(
        "/submit",
        data={
            "csrf_token": anon.cookies.get("ff_csrf"),
            "testimony": "Shots near the akimat at noon",
            "name": "Placeholder Witness",
            "lang": "kk",
        },
    )
    assert r.status_code == 200
    assert "Рахмет" in r.text
    analyst = sign_in(Role.ANALYST)
    found = analyst.get("/api/v1/items", params={"q": "akimat"}).json()
    assert found["total"] == 1
    sha = found["items"][0]["sha256"]
    page = analyst.get(f"/items/{sha}").text
    assert "Placeholder Witness" not in page
    assert "W-0001" in page
    assert csrf_of(analyst)
