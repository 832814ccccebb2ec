"""The resumable upload protocol of /api/v1/uploads, as a witness's browser on a bad line uses it.

Create (announce the size), PATCH chunks each naming the offset it starts at,
complete with the whole file's SHA-256, then name the upload in a submission.
Every test ends with a full audit of the case.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from factfinder.db.models import Item, Receipt, Upload
from factfinder.vault import audit
from factfinder.vault.case import Case
from factfinder.web.app import Settings, create_app

LIMIT = 1 << 20
DATA = os.urandom(300_000)
SHA = hashlib.sha256(DATA).hexdigest()


@pytest.fixture
def client(case: Case) -> Iterator[TestClient]:
    yield TestClient(create_app(case, Settings(max_upload_bytes=LIMIT)))
    report = audit.verify_case(case)
    assert report.ok, report.problems
    assert not [p for p in report.problems if p.kind == audit.ORPHAN_BLOB], "a refused upload left a stray blob"


def create(client: TestClient, size: int = len(DATA), filename: str = "video.mp4") -> str:
    r = client.post("/api/v1/uploads", json={"size": size, "filename": filename})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["offset"] == 0 and body["size"] == size and body["complete"] is False
    return str(body["id"])


def patch(client: TestClient, upload_id: str, offset: int, chunk: bytes) -> Any:
    return client.patch(
        f"/api/v1/uploads/{upload_id}",
        content=chunk,
        headers={"upload-offset": str(offset), "content-type": "application/offset+octet-stream"},
    )


def send(client: TestClient, upload_id: str, data: bytes, start: int = 0, chunk: int = 64_000) -> None:
    for offset in range(start, len(data), chunk):
        r = patch(client, upload_id, offset, data[offset : offset + chunk])
        assert r.status_code == 200, r.text
        assert r.json()["offset"] == min(len(data), offset + chunk)


def complete(client: TestClient, upload_id: str, sha: str = SHA) -> Any:
    return client.post(f"/api/v1/uploads/{upload_id}/complete", json={"sha256": sha})


def counts(case: Case) -> tuple[int, int, int]:
    with case.engine.connect() as conn:
        items = conn.execute(select(func.count()).select_from(Item)).scalar_one()
        receipts = conn.execute(select(func.count()).select_from(Receipt)).scalar_one()
        size = case.log.size(conn)
    return int(items), int(receipts), size


def test_chunks_in_order_complete_and_the_submission_records_the_file(client: TestClient, case: Case) -> None:
    upload_id = create(client)
    send(client, upload_id, DATA)
    r = complete(client, upload_id)
    assert r.status_code == 200 and r.json() == {
        "id": upload_id,
        "size": len(DATA),
        "offset": len(DATA),
        "complete": True,
    }
    assert client.get(f"/api/v1/uploads/{upload_id}").json()["complete"] is True
    r = client.post("/api/v1/submissions", json={"testimony": "", "uploads": [upload_id]})
    assert r.status_code == 201, r.text
    [receipt] = r.json()["receipts"]
    assert receipt["sha256"] == SHA and receipt["new_item"] is True
    assert counts(case)[:2] == (1, 1)
    assert case.blobs.path(SHA).read_bytes() == DATA
    with case.engine.connect() as conn:
        assert conn.execute(select(Receipt.original_name)).scalar_one() == "video.mp4"
        assert conn.execute(select(func.count()).select_from(Upload)).scalar_one() == 0  # used up
    assert not list((case.blobs.tmp / "uploads").iterdir())  # no partial bytes left behind
    r = client.post("/api/v1/submissions", json={"uploads": [upload_id]})
    assert r.status_code == 400  # an upload is used by one submission only
    assert counts(case)[:2] == (1, 1)


def test_a_replayed_chunk_is_refused_with_the_offset_and_not_duplicated(client: TestClient, case: Case) -> None:
    upload_id = create(client)
    first = DATA[:100_000]
    assert patch(client, upload_id, 0, first).status_code == 200
    r = patch(client, upload_id, 0, first)  # the same chunk again: the reply to the first was lost
    assert r.status_code == 409
    assert r.json()["offset"] == 100_000
    r = patch(client, upload_id, 50_000, DATA[50_000:150_000])  # overlapping
    assert r.status_code == 409 and r.json()["offset"] == 100_000
    send(client, upload_id, DATA, start=100_000)
    assert patch(client, upload_id, len(DATA) - 10, DATA[-10:]).status_code == 409  # replay of the last chunk
    assert complete(client, upload_id).status_code == 200
    assert patch(client, upload_id, len(DATA), b"").status_code == 409  # nothing more once complete
    assert client.post("/api/v1/submissions", json={"uploads": [upload_id]}).status_code == 201
    assert case.blobs.path(SHA).stat().st_size == len(DATA)


def test_a_chunk_ahead_of_the_offset_is_refused(client: TestClient) -> None:
    upload_id = create(client)
    r = patch(client, upload_id, 1000, DATA[1000:2000])
    assert r.status_code == 409 and r.json()["offset"] == 0
    assert client.get(f"/api/v1/uploads/{upload_id}").json()["offset"] == 0


def test_a_dropped_connection_resumes_from_the_status(client: TestClient, case: Case) -> None:
    upload_id = create(client)
    send(client, upload_id, DATA[:120_000], chunk=40_000)
    browser_after_reconnect = TestClient(client.app)  # a new connection, no cookies: the id is all it has
    status = browser_after_reconnect.get(f"/api/v1/uploads/{upload_id}").json()
    assert status == {"id": upload_id, "size": len(DATA), "offset": 120_000, "complete": False}
    send(browser_after_reconnect, upload_id, DATA, start=status["offset"])
    assert complete(browser_after_reconnect, upload_id).status_code == 200
    r = browser_after_reconnect.post("/api/v1/submissions", json={"testimony": "resumed", "uploads": [upload_id]})
    assert r.status_code == 201
    assert [x["sha256"] for x in r.json()["receipts"]][1] == SHA
    assert case.blobs.path(SHA).read_bytes() == DATA


def test_a_final_digest_that_does_not_match_discards_the_upload(client: TestClient, case: Case) -> None:
    upload_id = create(client)
    send(client, upload_id, DATA)
    r = complete(client, upload_id, hashlib.sha256(b"something else").hexdigest())
    assert r.status_code == 422
    assert "SHA-256" in r.json()["detail"]
    assert client.get(f"/api/v1/uploads/{upload_id}").status_code == 404
    assert complete(client, upload_id).status_code == 404  # the right digest is too late
    assert patch(client, upload_id, len(DATA), b"x").status_code == 404
    r = client.post("/api/v1/submissions", json={"testimony": "with the discarded file", "uploads": [upload_id]})
    assert r.status_code == 400
    assert counts(case) == (0, 0, 1)
    assert SHA not in set(case.blobs.digests())
    assert not list((case.blobs.tmp / "uploads").iterdir())


def test_completing_before_all_bytes_arrived_is_refused(client: TestClient) -> None:
    upload_id = create(client)
    send(client, upload_id, DATA[:100_000])
    r = complete(client, upload_id)
    assert r.status_code == 409 and r.json()["offset"] == 100_000
    assert client.get(f"/api/v1/uploads/{upload_id}").json()["offset"] == 100_000  # still resumable


def test_a_chunk_past_the_announced_size_is_refused(client: TestClient) -> None:
    upload_id = create(client, size=1000)
    r = patch(client, upload_id, 0, DATA[:1001])
    assert r.status_code == 400 and "past the announced size" in r.json()["detail"]
    assert patch(client, upload_id, 0, DATA[:600]).status_code == 200
    assert patch(client, upload_id, 600, DATA[600:1001]).status_code == 400
    assert client.get(f"/api/v1/uploads/{upload_id}").json()["offset"] == 600
    assert patch(client, upload_id, 600, DATA[600:1000]).status_code == 200
    assert complete(client, upload_id, hashlib.sha256(DATA[:1000]).hexdigest()).status_code == 200


@pytest.mark.parametrize("upload_id", ["nothing-here", "..%2F..%2Fetc%2Fpasswd", "x" * 64])
def test_an_unknown_upload_is_404(client: TestClient, upload_id: str) -> None:
    assert client.get(f"/api/v1/uploads/{upload_id}").status_code == 404
    assert patch(client, upload_id, 0, b"abc").status_code == 404
    assert complete(client, upload_id).status_code == 404


def test_a_submission_naming_an_incomplete_or_unknown_upload_records_nothing(client: TestClient, case: Case) -> None:
    unfinished = create(client)
    send(client, unfinished, DATA[:64_000])
    finished = create(client, size=5, filename="ok.txt")
    send(client, finished, b"hello")
    assert complete(client, finished, hashlib.sha256(b"hello").hexdigest()).status_code == 200
    before = counts(case)
    for named in ([unfinished], ["unknown"], [finished, unfinished], [finished, "unknown"]):
        r = client.post("/api/v1/submissions", json={"testimony": "must not be recorded", "uploads": named})
        assert r.status_code == 400, r.text
        assert counts(case) == before
        client.get("/submit")
        page = client.post(
            "/submit",
            data={"csrf_token": client.cookies.get("ff_csrf"), "testimony": "nor by the page", "upload": named},
        )
        assert page.status_code == 400
        assert counts(case) == before
    assert client.get(f"/api/v1/uploads/{finished}").json()["complete"] is True  # still there to use
    r = client.post("/api/v1/submissions", json={"uploads": [finished]})
    assert r.status_code == 201
    assert counts(case)[:2] == (1, 1)
    # only the submitted upload's bytes entered the blob store
    assert set(case.blobs.digests()) == {hashlib.sha256(b"hello").hexdigest()}


def test_the_same_upload_named_twice_is_one_file(client: TestClient, case: Case) -> None:
    upload_id = create(client, size=5)
    send(client, upload_id, b"twice")
    assert complete(client, upload_id, hashlib.sha256(b"twice").hexdigest()).status_code == 200
    r = client.post("/api/v1/submissions", json={"uploads": [upload_id, upload_id]})
    assert r.status_code == 201, r.text
    assert len(r.json()["receipts"]) == 1
    assert counts(case)[:2] == (1, 1)


def test_announcing_more_than_the_limit_is_413(client: TestClient) -> None:
    r = client.post("/api/v1/uploads", json={"size": LIMIT + 1})
    assert r.status_code == 413 and str(LIMIT) in r.json()["detail"]
    assert client.post("/api/v1/uploads", json={"size": -1}).status_code == 422
