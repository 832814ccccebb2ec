"""OpenRosa 1.0 over HTTP, as ODK Collect speaks it: form list, download, HEAD pre-flight, multipart POST.

Driven through the real app (TestClient), and once through a live uvicorn
server with httpx's own Digest implementation, as a device would be.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import secrets
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from factfinder.db.models import OdkSubmission, Receipt
from factfinder.intake import openrosa
from factfinder.permissions import Role
from factfinder.vault import audit
from factfinder.vault.case import Case
from factfinder.web import openrosa as web_openrosa
from factfinder.web.app import create_app
from tests.intake.test_openrosa import FORM, submission
from tests.web.conftest import PASSWORD, TEAM_SETTINGS, USERS, Team

# The HTTP layer (OpenRosa headers, Digest, device URLs); the intake's database code (duplicates, edits, split
# submissions, races) runs on PostgreSQL in tests/intake/test_openrosa.py.
pytestmark = pytest.mark.once_on_postgres

OR = {"X-OpenRosa-Version": "1.0"}
RESPONSE = "{http://openrosa.org/http/response}"
LIST = "{http://openrosa.org/xforms/xformsList}"
MANIFEST = "{http://openrosa.org/xforms/xformsManifest}"
LIMIT = TEAM_SETTINGS.max_upload_bytes


@pytest.fixture(scope="module")
def odk(team: Team) -> tuple[FastAPI, str]:
    """The team's app with the testimony form and a device token limited to that form. One case for the
    module: argon2 makes accounts slow."""
    openrosa.add_form(team.case, FORM.read_bytes(), actor="tester", campaign="Zhanaozen")
    _, token = openrosa.add_app_user(team.case, "phone-1", campaign="Zhanaozen", form_ids=["testimony"])
    return team.app, token


@pytest.fixture(autouse=True)
def _no_media_scan(scans_handed: list[str]) -> None:
    """Attachments go to the media scan after the answer (checked in test_odk_engine.py); not run here."""


@pytest.fixture
def web_case(team: Team, odk: tuple[FastAPI, str]) -> Case:
    return team.case


@pytest.fixture
def web_app(team: Team, odk: tuple[FastAPI, str]) -> FastAPI:
    """The app ``live_server`` serves: the team's."""
    return team.app


@pytest.fixture
def device(odk: tuple[FastAPI, str]) -> Iterator[tuple[TestClient, str]]:
    """A client sending the OpenRosa header, and the URL prefix carrying its app user's token."""
    app, token = odk
    with TestClient(app, headers=OR) as client:
        yield client, f"/key/{token}"


def held(case: Case, instance_id: str) -> openrosa.SubmissionInfo:
    [found] = [s for s in openrosa.list_submissions(case) if s.instance_id == instance_id]
    return found


def post(client: TestClient, url: str, xml: bytes, files: dict[str, bytes] | None = None, **kw: Any) -> httpx.Response:
    parts: list[tuple[str, Any]] = [("xml_submission_file", ("instance.xml", xml, "text/xml"))]
    parts += [(name, (name, data, "application/octet-stream")) for name, data in (files or {}).items()]
    return client.post(url, files=parts, **kw)


def message(r: httpx.Response) -> tuple[str | None, str]:
    root = ET.fromstring(r.content)
    assert root.tag == f"{RESPONSE}OpenRosaResponse"
    node = root.find(f"{RESPONSE}message")
    assert node is not None
    return node.get("nature"), node.text or ""


def state(case: Case) -> tuple[int, int, int]:
    with Session(case.engine) as s:
        return (
            s.scalar(select(func.count(Receipt.id))) or 0,
            s.scalar(select(func.count(OdkSubmission.id))) or 0,
            len(list(case.blobs.digests())),
        )


def assert_verified(case: Case) -> None:
    report = audit.verify_case(case)
    assert report.ok, report.problems


def test_form_list_download_and_manifest(device: tuple[TestClient, str], web_case: Case) -> None:
    client, prefix = device
    r = client.get(f"{prefix}/formList")
    assert r.status_code == 200 and r.headers["x-openrosa-version"] == "1.0"
    assert r.headers["content-type"].startswith("text/xml")
    [xform] = ET.fromstring(r.content).findall(f"{LIST}xform")
    fields = {child.tag.removeprefix(LIST): child.text for child in xform}
    data = FORM.read_bytes()
    assert fields["formID"] == "testimony" and fields["version"] == "2024010101" and fields["name"] == "Testimony"
    assert fields["hash"] == "md5:" + hashlib.md5(data).hexdigest()
    assert "manifestUrl" not in fields  # no media
    url = fields["downloadUrl"] or ""
    assert url.startswith(f"http://testserver{prefix}/forms/testimony/form.xml")
    download = client.get(url)
    assert download.status_code == 200 and download.content == data
    assert download.headers["x-openrosa-version"] == "1.0"
    missing = client.get(f"{prefix}/forms/nosuchform/form.xml")
    assert missing.status_code == 404 and "nosuchform" in message(missing)[1]
    # A form with a media file: listed with a manifest, whose file downloads.
    with_media = data.replace(b'id="testimony"', b'id="with-media"').replace(
        b"<value>A photo</value>", b'<value>A photo</value><value form="image">jr://images/map.png</value>', 1
    )
    openrosa.add_form(web_case, with_media, actor="tester", media=[("map.png", b"\x89PNG placeholder")])
    _, token = openrosa.add_app_user(web_case, "phone-all")
    listed = ET.fromstring(client.get(f"/key/{token}/formList", params={"formID": "with-media"}).content)
    [xform] = listed.findall(f"{LIST}xform")
    manifest_url = xform.findtext(f"{LIST}manifestUrl") or ""
    manifest = ET.fromstring(client.get(manifest_url).content)
    assert manifest.tag == f"{MANIFEST}manifest"
    [media] = manifest.findall(f"{MANIFEST}mediaFile")
    assert media.findtext(f"{MANIFEST}filename") == "map.png"
    assert media.findtext(f"{MANIFEST}hash") == "md5:" + hashlib.md5(b"\x89PNG placeholder").hexdigest()
    assert client.get(media.findtext(f"{MANIFEST}downloadUrl") or "").content == b"\x89PNG placeholder"
    # phone-1 is limited to the testimony form: the other one is neither listed nor served to it.
    assert b"with-media" not in client.get(f"{prefix}/formList").content
    assert client.get(f"{prefix}/forms/with-media/form.xml").status_code == 404


def test_head_preflight(device: tuple[TestClient, str]) -> None:
    client, prefix = device
    r = client.head(f"{prefix}/submission")
    assert r.status_code == 204
    assert r.headers["x-openrosa-accept-content-length"] == str(LIMIT)
    assert r.headers["x-openrosa-version"] == "1.0"
    assert r.headers["location"] == f"http://testserver{prefix}/submission"


def test_submit_again_edit_and_conflict(device: tuple[TestClient, str], web_case: Case) -> None:
    client, prefix = device
    before = state(web_case)
    r = post(client, f"{prefix}/submission", submission("uuid:a-1"), {"photo-1.jpg": b"jpeg bytes"})
    assert r.status_code == 201, r.text
    assert message(r)[0] == "submit_success" and r.headers["x-openrosa-version"] == "1.0"
    assert r.headers["x-openrosa-accept-content-length"] == str(LIMIT)
    after = state(web_case)
    assert after[:2] == (before[0] + 2, before[1] + 1)
    again = post(client, f"{prefix}/submission", submission("uuid:a-1"), {"photo-1.jpg": b"jpeg bytes"})
    assert again.status_code == 201 and message(again)[0] == "submit_success"
    assert state(web_case) == after
    other = post(client, f"{prefix}/submission", submission("uuid:a-1", what="Another account"))
    assert other.status_code == 409 and "uuid:a-1" in message(other)[1]
    assert other.headers["x-openrosa-version"] == "1.0"
    assert state(web_case) == after
    edit = submission("uuid:a-2", what="Corrected account", photo=None, deprecated="uuid:a-1")
    assert post(client, f"{prefix}/submission", edit).status_code == 201
    assert held(web_case, "uuid:a-2").deprecated_id == "uuid:a-1"
    assert held(web_case, "uuid:a-1").deprecated_id is None  # the old one stays
    assert_verified(web_case)


def test_split_submission_over_two_posts(device: tuple[TestClient, str], web_case: Case) -> None:
    client, prefix = device
    xml = submission("uuid:s-1").replace(b"<audio/>", b"<audio>voice.m4a</audio>")
    first = client.post(
        f"{prefix}/submission",
        files=[
            ("xml_submission_file", ("instance.xml", xml, "text/xml")),
            ("photo-1.jpg", ("photo-1.jpg", b"jpeg bytes", "image/jpeg")),
        ],
        data={"*isIncomplete*": "yes"},
    )
    assert first.status_code == 201 and "1 file(s) not yet received" in message(first)[1]
    assert not held(web_case, "uuid:s-1").complete
    second = post(client, f"{prefix}/submission", xml, {"voice.m4a": b"audio bytes"})
    assert second.status_code == 201
    sub = held(web_case, "uuid:s-1")
    assert sub.complete and len(sub.attachments) == 2
    assert_verified(web_case)


def _multipart(boundary: str, xml: bytes, name: str, data: bytes) -> list[bytes]:
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="xml_submission_file"; filename="instance.xml"\r\n'
        "Content-Type: text/xml\r\n\r\n"
    ).encode()
    media = (
        f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{name}"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    return [head, xml, media, data[: len(data) // 2], data[len(data) // 2 :], f"\r\n--{boundary}--\r\n".encode()]


def test_chunked_body_and_size_limits(device: tuple[TestClient, str], web_case: Case) -> None:
    client, prefix = device
    boundary = secrets.token_hex(8)
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    chunks = _multipart(boundary, submission("uuid:c-1"), "photo-1.jpg", b"jpeg bytes" * 100)
    r = client.post(f"{prefix}/submission", content=iter(chunks), headers=headers)
    assert r.status_code == 201, r.text
    assert "content-length" not in r.request.headers and r.request.headers["transfer-encoding"] == "chunked"
    assert held(web_case, "uuid:c-1").complete
    before = state(web_case)
    big = post(client, f"{prefix}/submission", submission("uuid:c-big"), {"photo-1.jpg": b"x" * (LIMIT + 1)})
    assert big.status_code == 413 and "larger" in message(big)[1]
    huge = _multipart(boundary, submission("uuid:c-huge"), "photo-1.jpg", b"x" * ((1 << 20) + LIMIT + 10))
    r = client.post(f"{prefix}/submission", content=iter(huge), headers=headers)
    assert r.status_code == 413 and r.headers["x-openrosa-version"] == "1.0"
    # Refused up front by its Content-Length: still an OpenRosa answer.
    whole = b"".join(huge)
    r = client.post(f"{prefix}/submission", content=whole, headers={**headers, "Content-Length": str(len(whole))})
    assert r.status_code == 413 and r.headers["x-openrosa-version"] == "1.0"
    cut = _multipart(boundary, submission("uuid:c-cut"), "photo-1.jpg", b"jpeg")[:-1]
    r = client.post(f"{prefix}/submission", content=iter(cut), headers=headers)
    assert r.status_code == 400 and "cut off" in message(r)[1]
    assert state(web_case) == before
    assert_verified(web_case)


def test_refusals_are_clear_and_store_nothing(odk: tuple[FastAPI, str], team: Team, web_case: Case) -> None:
    app, _ = odk
    _, token = openrosa.add_app_user(web_case, "phone-lost", form_ids=["testimony"])
    client, prefix = TestClient(app, headers=OR), f"/key/{token}"
    before = state(web_case)
    unknown = post(client, f"{prefix}/submission", submission("uuid:r-1", form_id="nosuchform"))
    assert unknown.status_code == 404 and "no form 'nosuchform'" in message(unknown)[1]
    no_xml = client.post(f"{prefix}/submission", files={"photo": ("p.jpg", b"jpeg", "image/jpeg")})
    assert no_xml.status_code == 400 and "xml_submission_file" in message(no_xml)[1]
    r = TestClient(app).post(f"{prefix}/submission", files={"xml_submission_file": ("i.xml", submission("uuid:r-2"))})
    assert r.status_code == 400 and "X-OpenRosa-Version" in message(r)[1]
    assert r.headers["x-openrosa-version"] == "1.0"
    assert state(web_case) == before
    openrosa.revoke_app_user(web_case, "phone-lost")
    revoked = post(client, f"{prefix}/submission", submission("uuid:r-3"))
    assert revoked.status_code == 403 and "revoked" in message(revoked)[1]
    assert client.get(f"{prefix}/formList").status_code == 403
    # A signed-in browser's session cookie alone authorises nothing here.
    browser = team.session(Role.INVESTIGATOR).client
    r = post(browser, "/submission", submission("uuid:r-4"), headers=OR)
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Digest ")
    assert state(web_case) == before
    assert_verified(web_case)


def test_basic_auth_only_over_tls_and_only_for_those_who_add_evidence(odk: tuple[FastAPI, str], web_case: Case) -> None:
    app, _ = odk
    plain = TestClient(app, headers=OR)
    r = post(plain, "/submission", submission("uuid:b-1"), auth=(USERS[Role.INVESTIGATOR], PASSWORD))
    assert r.status_code == 401 and "plain HTTP" in message(r)[1]
    assert len(r.headers.get_list("www-authenticate")) == 1  # Digest only
    tls = TestClient(app, headers=OR, base_url="https://testserver")
    challenge = tls.head("/submission")
    assert challenge.status_code == 401
    schemes = sorted(h.split()[0] for h in challenge.headers.get_list("www-authenticate"))
    assert schemes == ["Basic", "Digest"]
    assert post(tls, "/submission", submission("uuid:b-1"), auth=(USERS[Role.OBSERVER], PASSWORD)).status_code == 403
    assert post(tls, "/submission", submission("uuid:b-1"), auth=(USERS[Role.INVESTIGATOR], "wrong")).status_code == 401
    assert not [s for s in openrosa.list_submissions(web_case) if s.instance_id == "uuid:b-1"]
    ok = post(tls, "/submission", submission("uuid:b-1"), auth=(USERS[Role.INVESTIGATOR], PASSWORD))
    assert ok.status_code == 201
    assert held(web_case, "uuid:b-1").submitter == f"account {USERS[Role.INVESTIGATOR]}"
    assert_verified(web_case)


def test_digest_auth_against_a_live_server(odk: tuple[FastAPI, str], live_server: str, web_case: Case) -> None:
    _, token = odk
    with httpx.Client(base_url=live_server, headers=OR) as client:
        challenge = client.head("/submission")
        assert challenge.status_code == 401 and 'qop="auth"' in challenge.headers["www-authenticate"]
        assert challenge.headers["x-openrosa-version"] == "1.0" and "date" in challenge.headers
        wrong = client.get("/formList", auth=httpx.DigestAuth("phone-1", "not the token"))
        assert wrong.status_code == 401
        auth = httpx.DigestAuth("phone-1", token)
        assert client.head("/submission", auth=auth).status_code == 204
        listed = client.get("/formList", auth=auth)
        assert listed.status_code == 200 and b"<formID>testimony</formID>" in listed.content
        assert "/key/" not in listed.text  # Digest devices get plain URLs
        r = client.post(
            "/submission",
            files={
                "xml_submission_file": ("instance.xml", submission("uuid:d-1"), "text/xml"),
                "photo-1.jpg": ("photo-1.jpg", b"jpeg bytes", "image/jpeg"),
            },
            auth=auth,
        )
        assert r.status_code == 201, r.text
        assert "date" in r.headers
    sub = held(web_case, "uuid:d-1")
    assert sub.submitter == "phone-1" and sub.complete
    assert_verified(web_case)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def digest(method: str, uri: str, user: str, password: str, nonce: str, nc: int, response: str | None = None) -> str:
    """An ``Authorization: Digest`` header as a device computes it (RFC 7616, MD5, qop=auth)."""
    ha1, ha2 = _md5(f"{user}:factfinder:{password}"), _md5(f"{method}:{uri}")
    response = response or _md5(f"{ha1}:{nonce}:{nc:08x}:c0ffee:auth:{ha2}")
    return (
        f'Digest username="{user}", realm="factfinder", nonce="{nonce}", uri="{uri}", response="{response}",'
        f' qop=auth, nc={nc:08x}, cnonce="c0ffee", algorithm=MD5'
    )


def nonce_of(r: httpx.Response) -> str:
    found = re.search(r'nonce="([^"]+)"', r.headers["www-authenticate"])
    assert found
    return found.group(1)


def test_a_captured_digest_header_cannot_be_replayed(odk: tuple[FastAPI, str], web_case: Case) -> None:
    app, token = odk
    client = TestClient(app, headers=OR)
    nonce = nonce_of(client.head("/submission"))
    first = digest("HEAD", "/submission", "phone-1", token, nonce, 1)
    assert client.head("/submission", headers={"Authorization": first}).status_code == 204
    replay = client.head("/submission", headers={"Authorization": first})
    assert replay.status_code == 401 and "stale=true" in replay.headers["www-authenticate"]
    assert (
        client.head(
            "/submission", headers={"Authorization": digest("HEAD", "/submission", "phone-1", token, nonce, 2)}
        ).status_code
        == 204
    )
    # A captured POST header sent again with another body: refused, nothing stored.
    header = {"Authorization": digest("POST", "/submission", "phone-1", token, nonce, 3)}
    assert post(client, "/submission", submission("uuid:dr-1", photo=None), headers=header).status_code == 201
    before = state(web_case)
    again = post(client, "/submission", submission("uuid:dr-2", photo=None), headers=header)
    assert again.status_code == 401 and "already used" in message(again)[1]
    assert state(web_case) == before
    # An older count under the same nonce is a replay too.
    old = digest("HEAD", "/submission", "phone-1", token, nonce, 2)
    assert client.head("/submission", headers={"Authorization": old}).status_code == 401
    assert_verified(web_case)


def test_digest_nonces_survive_a_restart_and_odd_ones_are_answered_clearly(
    odk: tuple[FastAPI, str], web_case: Case
) -> None:
    app, token = odk
    client = TestClient(app, headers=OR)
    nonce = nonce_of(client.head("/submission"))
    key_file = web_case.path / "keys" / web_openrosa.NONCE_KEY_FILE
    assert key_file.stat().st_mode & 0o077 == 0
    # Another process of the server (here: another app on the same case) accepts the nonce.
    restarted = TestClient(create_app(web_case, TEAM_SETTINGS), headers=OR)
    ok = restarted.head(
        "/submission", headers={"Authorization": digest("HEAD", "/submission", "phone-1", token, nonce, 1)}
    )
    assert ok.status_code == 204
    # A well-formed nonce this case did not sign (an older key), with the right password: stale, so the device
    # answers the new challenge without asking its user again. With a wrong password: not stale.
    foreign = f"{int(time.time())}.{'0' * 16}.{'0' * 32}"
    r = client.head(
        "/submission", headers={"Authorization": digest("HEAD", "/submission", "phone-1", token, foreign, 1)}
    )
    assert r.status_code == 401 and "stale=true" in r.headers["www-authenticate"]
    r = client.head("/submission", headers={"Authorization": digest("HEAD", "/submission", "phone-1", "x", foreign, 1)})
    assert r.status_code == 401 and "stale" not in r.headers["www-authenticate"]
    # An expired nonce of ours: stale.
    old_nonce = app.state.openrosa_nonces.issue(time.time() - web_openrosa.NONCE_SECONDS - 60)
    r = client.get("/formList", headers={"Authorization": digest("GET", "/formList", "phone-1", token, old_nonce, 1)})
    assert r.status_code == 401 and "expired" in message(r)[1] and "stale=true" in r.headers["www-authenticate"]
    # A response that is not 32 hex digits (here: not even ASCII) is a clear 401, not a server error.
    odd = digest("HEAD", "/submission", "phone-1", token, nonce, 9, response="é" * 32).encode("utf-8")
    r = client.head("/submission", headers={"Authorization": odd})  # type: ignore[dict-item]
    assert r.status_code == 401
    r = client.get("/formList", headers={"Authorization": odd})  # type: ignore[dict-item]
    assert r.status_code == 401 and "malformed" in message(r)[1]


def test_the_nonce_book_is_bounded_without_letting_a_replay_through() -> None:
    book = web_openrosa.NonceBook(b"k" * 32, size=2)
    now = time.time()
    first, second, third = (book.issue(now + i) for i in range(3))
    assert book.state(first, now + 3) == "fresh" and book.use(first, 1, now + 3)
    assert not book.use(first, 1, now + 3) and book.use(first, 2, now + 3)
    assert book.use(second, 1, now + 3) and book.use(third, 1, now + 3)  # the first is forgotten now
    assert book.state(first, now + 3) == "stale" and not book.use(first, 3, now + 3)
    assert book.state(third, now + 3) == "fresh" and book.state(first[:-1] + "0", now + 3) in ("forged", "stale")
    assert book.state("1.2.3", now) == "forged"


def test_deeply_nested_xml_gets_a_clear_400(device: tuple[TestClient, str], web_case: Case) -> None:
    client, prefix = device
    before = state(web_case)
    deep = b'<data id="testimony">' + b"<a>" * 20000 + b"</a>" * 20000 + b"</data>"
    r = post(client, f"{prefix}/submission", deep)
    assert r.status_code == 400 and "nests elements" in message(r)[1]
    assert state(web_case) == before


def test_public_url_and_quoted_names_in_device_urls(odk: tuple[FastAPI, str], web_case: Case) -> None:
    spaced = FORM.read_bytes().replace(b'id="testimony"', b'id="testimony two"')
    openrosa.add_form(web_case, spaced, actor="tester")
    _, token = openrosa.add_app_user(web_case, "phone-public")
    app = create_app(web_case, dataclasses.replace(TEAM_SETTINGS, public_url="https://ff.example.org/intake/"))
    client = TestClient(app, headers=OR)
    listed = ET.fromstring(client.get(f"/key/{token}/formList", params={"formID": "testimony two"}).content)
    [xform] = listed.findall(f"{LIST}xform")
    url = xform.findtext(f"{LIST}downloadUrl") or ""
    assert url == f"https://ff.example.org/intake/key/{token}/forms/testimony%20two/form.xml"
    assert client.get(url.removeprefix("https://ff.example.org/intake")).content == spaced
    head = client.head(f"/key/{token}/submission")
    assert head.headers["location"] == f"https://ff.example.org/intake/key/{token}/submission"


def test_a_closing_form_is_not_listed_but_takes_what_devices_queued(odk: tuple[FastAPI, str], web_case: Case) -> None:
    app, _ = odk
    queued = FORM.read_bytes().replace(b'id="testimony"', b'id="queued"')
    openrosa.add_form(web_case, queued, actor="tester")
    _, token = openrosa.add_app_user(web_case, "phone-queue")
    client, prefix = TestClient(app, headers=OR), f"/key/{token}"
    openrosa.set_form_state(web_case, "queued", "closing")
    assert b"<formID>queued</formID>" not in client.get(f"{prefix}/formList").content
    assert client.get(f"{prefix}/forms/queued/form.xml").status_code == 404
    r = post(client, f"{prefix}/submission", submission("uuid:q-1", form_id="queued", photo=None))
    assert r.status_code == 201
    openrosa.set_form_state(web_case, "queued", "closed")
    r = post(client, f"{prefix}/submission", submission("uuid:q-2", form_id="queued", photo=None))
    assert r.status_code == 409 and "closed" in message(r)[1]


def test_a_restricted_device_gets_the_same_404_as_for_no_form_and_stray_files_are_kept(
    device: tuple[TestClient, str], web_case: Case
) -> None:
    client, prefix = device
    openrosa.add_form(web_case, FORM.read_bytes().replace(b'id="testimony"', b'id="elsewhere"'), actor="tester")
    other = post(client, f"{prefix}/submission", submission("uuid:x-1", form_id="elsewhere"))
    none = post(client, f"{prefix}/submission", submission("uuid:x-1", form_id="nowhere"))
    assert other.status_code == none.status_code == 404
    assert message(other)[1] == message(none)[1].replace("nowhere", "elsewhere")
    r = post(client, f"{prefix}/submission", submission("uuid:x-2", photo=None), {"notes.txt": b"stray notes"})
    assert r.status_code == 201 and "Kept apart" in message(r)[1] and "notes.txt" in message(r)[1]
    assert web_case.resolve(hashlib.sha256(b"stray notes").hexdigest()).size == len(b"stray notes")
    assert_verified(web_case)
