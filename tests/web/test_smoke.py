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


def test_investigator_adds_evidence_under_their_name(sign_in: Callable[[Role], TestClient]) -> None:
    investigator = sign_in(Role.INVESTIGATOR)
    token = csrf_of(investigator, "/add")
    r = investigator.post(
        "/add",
        data={
            "csrf_token": token,
            "source": "courier <b>A</b>",
            "channel": "usb",
            "collected_at": "2011-12-17",
            "witness_name": "Placeholder Courier",
        },
        files=[("files", ("../../clip.mp4", b"not really a video\n")), ("files", ("note.txt", b"a note\n"))],
    )
    assert r.status_code == 200, r.text
    assert r.text.count("new item") == 2
    items = investigator.get("/api/v1/items", params={"channel": "usb"}).json()["items"]
    assert len(items) == 2
    detail = investigator.get(f"/api/v1/items/{items[0]['sha256']}").json()
    receipt = detail["receipts"][0]
    assert receipt["actor"] == "investigator1"
    assert receipt["collected_at_claimed"] == "2011-12-17"
    assert receipt["sealed"] == ["witness_name"]
    assert receipt["original_name"] in {"clip.mp4", "note.txt"}
    bad = investigator.post(
        "/add", data={"csrf_token": token, "collected_at": "yesterday"}, files=[("files", ("x", b"x"))]
    )
    assert bad.status_code == 400
    assert "ISO 8601" in bad.text
    assert sign_in(Role.ANALYST).get("/add").status_code == 403
