"""A first pass through the app as each kind of user meets it."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

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


def test_api_adds_evidence_from_uploads_and_reveals_with_logging(
    sign_in: Callable[[Role], TestClient], identity_file: Path
) -> None:
    investigator = sign_in(Role.INVESTIGATOR)
    headers = {"x-csrf-token": csrf_of(investigator)}
    data = b"frame of a video from the square\n" * 100
    up = investigator.post("/api/v1/uploads", json={"size": len(data), "filename": "frame.bin"}, headers=headers)
    upload_id = up.json()["id"]
    investigator.patch(f"/api/v1/uploads/{upload_id}", content=data, headers={**headers, "upload-offset": "0"})
    done = investigator.post(
        f"/api/v1/uploads/{upload_id}/complete", json={"sha256": hashlib.sha256(data).hexdigest()}, headers=headers
    )
    assert done.status_code == 200, done.text
    r = investigator.post(
        "/api/v1/items",
        json={"uploads": [upload_id], "channel": "usb", "witness_name": "Placeholder Source"},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    [receipt] = r.json()["receipts"]
    assert receipt["sha256"] == hashlib.sha256(data).hexdigest()
    assert "Placeholder Source" not in investigator.get(f"/api/v1/items/{receipt['sha256']}").text
    opened = investigator.post(
        f"/api/v1/items/{receipt['sha256']}/reveal", json={"identity": identity_file.read_text()}, headers=headers
    )
    assert opened.status_code == 200, opened.text
    assert opened.json()["opened"][0]["fields"] == {"witness_name": "Placeholder Source"}
    log = investigator.get("/api/v1/log").json()["entries"]
    assert [e["actor"] for e in log if e["action"] == "protected.opened"] == ["investigator1"]
    wrong = investigator.post(
        f"/api/v1/items/{receipt['sha256']}/reveal",
        json={"identity": "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ"},
        headers=headers,
    )
    assert wrong.status_code == 400
    assert len([e for e in investigator.get("/api/v1/log").json()["entries"] if e["action"] == "protected.opened"]) == 1
