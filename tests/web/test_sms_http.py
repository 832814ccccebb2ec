"""The SMS webhooks over HTTP: Twilio (signed with Twilio's own ``RequestValidator``) and RapidPro/TextIt.

Media are served by a real HTTP server on loopback, which asks for the
credentials Twilio's "HTTP Basic Authentication for media" asks for, and
redirects as Twilio's media URLs do. Every test ends with a full audit.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

from factfinder import config
from factfinder.db import engine as dbengine
from factfinder.db.models import Item, Receipt, SmsMessage
from factfinder.intake import sms
from factfinder.vault import audit, custody
from factfinder.vault.case import Case
from factfinder.web import sms as sms_web
from factfinder.web.app import Settings, create_app

TOKEN = "test-auth-token-0123456789abcdef"  # a placeholder, not a real Twilio token
ACCOUNT = "AC00000000000000000000000000000000"
SECRET = "rapidpro-channel-secret-abcdef012345"
PHONE = "+77015550142"  # a placeholder, never a real witness's number
URL = "http://testserver/sms/twilio"
PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40  # JPEG magic, then filler
CLIP = b"RIFF" + bytes(2000)


class Media(http.server.BaseHTTPRequestHandler):
    """Serves /photo.jpg behind Basic auth, /moved redirecting to it, /elsewhere redirecting to another origin."""

    other_origin = ""
    seen_auth: list[tuple[str, str | None]] = []  # noqa: RUF012  (what each request carried, for the assertions)

    def do_GET(self) -> None:
        auth = self.headers.get("Authorization")
        Media.seen_auth.append((self.path, auth))
        want = "Basic " + base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
        if self.path == "/moved":
            self._redirect("/photo.jpg")
        elif self.path == "/elsewhere":
            self._redirect(f"{Media.other_origin}/open/clip.wav")
        elif self.path == "/open/clip.wav":
            self._send(CLIP)
        elif self.path == "/big":
            self._send(bytes(300_000))
        elif self.path == "/photo.jpg" and auth == want:
            self._send(PHOTO)
        elif self.path == "/photo.jpg":
            self.send_response(401)
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def _redirect(self, where: str) -> None:
        self.send_response(302)
        self.send_header("Location", where)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send(self, data: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def media_server() -> Iterator[str]:
    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), Media) for _ in range(2)]
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    base, other = (f"http://127.0.0.1:{s.server_address[1]}" for s in servers)
    Media.other_origin = other.replace("127.0.0.1", "localhost")  # another origin: no credentials go there
    yield base
    for s in servers:
        s.shutdown()
        s.server_close()


@pytest.fixture
def scheduled(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The digests handed to the after-response scan, which is not run here.

    The scan itself (a child process reading texts for claims, some ten seconds
    each) is tested in test_media_pages; here it is enough that the SMS items reach it.
    """
    handed: list[str] = []
    monkeypatch.setattr(
        sms_web.mediascan, "schedule", lambda tasks, case, recorded: handed.extend(r.sha256 for r in recorded)
    )
    return handed


@pytest.fixture
def app(case: Case, scheduled: list[str]) -> Iterator[FastAPI]:
    settings = Settings(max_upload_bytes=100_000)
    web = create_app(case, settings)
    if not any(getattr(r, "path", None) == "/sms/twilio" for r in web.routes):  # until app.py includes the router
        web.include_router(sms_web.router)
    web.state.settings.twilio_auth_token = TOKEN
    web.state.settings.rapidpro_secret = SECRET
    yield web
    report = audit.verify_case(case)
    with dbengine.snapshot(case.engine) as conn:
        entries = {i: custody.decode_entry(e) for i, e in case.log.entries(conn, 0, case.log.size(conn))}
        sms.check_rows(Session(bind=conn), entries, report)
    sms.check_anchor_texts(case, report)
    assert report.ok, report.problems


@pytest.fixture
def client(app: FastAPI) -> TestClient:
    return TestClient(app)


def form(body: str = "Shots near the akimat", sid: str = "SM0001", **extra: str) -> dict[str, str]:
    return {
        "From": PHONE,
        "To": "+15005550006",
        "Body": body,
        "MessageSid": sid,
        "AccountSid": ACCOUNT,
        "NumMedia": "0",
        **extra,
    }


def post_twilio(client: TestClient, params: dict[str, str], *, url: str = URL, signature: str | None = None) -> Any:
    sig = RequestValidator(TOKEN).compute_signature(url, params) if signature is None else signature
    return client.post("/sms/twilio", data=params, headers={"X-Twilio-Signature": sig})


def counts(case: Case) -> tuple[int, int, int]:
    with case.engine.connect() as conn:
        return (
            conn.execute(select(func.count(Item.id))).scalar_one(),
            conn.execute(select(func.count(Receipt.id))).scalar_one(),
            conn.execute(select(func.count(SmsMessage.id))).scalar_one(),
        )


def test_signed_message_is_recorded_and_confirmed(client: TestClient, case: Case, scheduled: list[str]) -> None:
    text = "Стреляют у акимата. 16.12"
    r = post_twilio(client, form(text))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/xml")
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert r.text == (
        f'<?xml version="1.0" encoding="UTF-8"?><Response><Message>Received. Ref {sha[:12]}.</Message></Response>'
    )
    assert PHONE not in r.text and "акимата" not in r.text
    assert scheduled == [sha]  # read for claims after the response, like any text that arrives
    with case.blobs.open(sha) as fh:
        assert fh.read() == text.encode("utf-8")
    assert counts(case) == (1, 1, 1)


def test_wrong_or_missing_signature_stores_nothing(client: TestClient, case: Case) -> None:
    before = counts(case)
    bad = RequestValidator("another token").compute_signature(URL, form())
    for headers in ({"X-Twilio-Signature": bad}, {}):
        r = client.post("/sms/twilio", data=form(), headers=headers)
        assert r.status_code == 403 and "X-Twilio-Signature" in r.text
    tampered = form()
    sig = RequestValidator(TOKEN).compute_signature(URL, tampered)
    tampered["Body"] = "a different text"
    assert post_twilio(client, tampered, signature=sig).status_code == 403
    assert counts(case) == before == (0, 0, 0)
    assert not list(case.blobs.digests())


def test_replay_gets_the_same_reply(client: TestClient, case: Case) -> None:
    first = post_twilio(client, form())
    again = post_twilio(client, form())
    assert first.status_code == again.status_code == 200
    assert again.text == first.text
    assert counts(case) == (1, 1, 1)


def test_public_url_behind_a_proxy(app: FastAPI, client: TestClient, case: Case) -> None:
    app.state.settings.public_url = "https://sms.example.org"
    assert post_twilio(client, form()).status_code == 403  # signed for the URL the app sees, not the public one
    r = post_twilio(client, form(), url="https://sms.example.org/sms/twilio")
    assert r.status_code == 200, r.text
    assert counts(case) == (1, 1, 1)


def test_anchor_by_sms(client: TestClient, case: Case) -> None:
    digest = hashlib.sha256(PHOTO).hexdigest()
    r = post_twilio(client, form(f"H {digest}"))
    assert f"Digest anchored: {digest[:12]}." in r.text
    case.add_bytes(PHOTO, actor="courier", channel="usb")
    [anchor] = sms.anchors(case)
    assert anchor.claimed_sha256 == digest and anchor.arrived_after


def test_mms_media_fetched_from_loopback(client: TestClient, case: Case, media_server: str) -> None:
    Media.seen_auth.clear()
    params = form(
        "photos",
        NumMedia="3",
        MediaUrl0=f"{media_server}/moved",
        MediaContentType0="image/jpeg",
        MediaUrl1=f"{media_server}/elsewhere",
        MediaContentType1="audio/wav",
        MediaUrl2=f"{media_server}/gone",
    )
    r = post_twilio(client, params)
    assert r.status_code == 200, r.text
    text_sha = hashlib.sha256(b"photos").hexdigest()
    with Session(case.engine) as s:
        receipts = s.scalars(select(Receipt).order_by(Receipt.log_index)).all()
        digests = [s.get(Item, rc.item_id).sha256 for rc in receipts]  # type: ignore[union-attr]
    assert digests == [text_sha, hashlib.sha256(PHOTO).hexdigest(), hashlib.sha256(CLIP).hexdigest()]
    assert len({rc.log_index for rc in receipts}) == 3 and all(rc.channel == "sms" for rc in receipts)
    note = receipts[0].note or ""
    assert "3 media attached, 2 fetched" in note and "media 3 NOT FETCHED: the server answered HTTP 404" in note
    assert f"{text_sha}" in (receipts[1].note or "")
    by_path = dict(Media.seen_auth)
    assert by_path["/moved"] is not None and by_path["/photo.jpg"] is not None  # the origin the webhook named
    assert by_path["/open/clip.wav"] is None  # never sent to another origin after a redirect


def test_media_over_the_limit_is_not_stored(client: TestClient, case: Case, media_server: str) -> None:
    r = post_twilio(client, form("big", NumMedia="1", MediaUrl0=f"{media_server}/big"))
    assert r.status_code == 200
    assert counts(case) == (1, 1, 1)
    with Session(case.engine) as s:
        note = s.scalars(select(Receipt.note)).one() or ""
    assert "over the server's limit" in note


@pytest.mark.parametrize(
    ("body", "content_type", "status", "needle"),
    [
        (urlencode(form("x" * 9000)).encode(), "application/x-www-form-urlencoded", 413, "longer than any SMS"),
        (b"Body=" + b"x" * 70_000, "application/x-www-form-urlencoded", 413, "far more than any SMS"),
        (b"Body=\xff\xfe&From=1", "application/x-www-form-urlencoded", 400, "not UTF-8"),
        (b"Body=%ff%fe&From=1", "application/x-www-form-urlencoded", 400, "not UTF-8"),
        (b'{"Body": "x"}', "application/json", 415, "x-www-form-urlencoded"),
    ],
)
def test_bad_requests_store_nothing(
    client: TestClient, case: Case, body: bytes, content_type: str, status: int, needle: str
) -> None:
    from urllib.parse import parse_qsl

    try:
        params = dict(parse_qsl(body.decode(), keep_blank_values=True, errors="strict"))
        sig = RequestValidator(TOKEN).compute_signature(URL, params)
    except (UnicodeDecodeError, ValueError):
        sig = ""
    r = client.post("/sms/twilio", content=body, headers={"content-type": content_type, "X-Twilio-Signature": sig})
    assert r.status_code == status and needle in r.text, r.text
    assert counts(case) == (0, 0, 0)


def test_missing_field_is_400(client: TestClient, case: Case) -> None:
    params = form()
    del params["MessageSid"]
    r = post_twilio(client, params)
    assert r.status_code == 400 and "MessageSid" in r.text
    assert counts(case) == (0, 0, 0)


def test_not_set_up_is_404(app: FastAPI, client: TestClient, case: Case) -> None:
    app.state.settings.twilio_auth_token = None
    app.state.settings.rapidpro_secret = None
    assert post_twilio(client, form()).status_code == 404
    assert client.post(f"/sms/rapidpro/{SECRET}", data={"from": PHONE, "text": "x"}).status_code == 404
    assert counts(case) == (0, 0, 0)


def test_rapidpro(client: TestClient, case: Case) -> None:
    fields = {"from": PHONE, "text": "Road to Aktau closed", "date": "2011-12-17T08:30:00Z"}
    assert client.post("/sms/rapidpro/wrong-secret-wrong-secret", data=fields).status_code == 403
    assert counts(case) == (0, 0, 0)
    r = client.post(f"/sms/rapidpro/{SECRET}", data=fields)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["message"] == "Message Accepted"
    [data] = body["data"]
    assert data["sha256"] == hashlib.sha256(fields["text"].encode()).hexdigest() and data["duplicate"] is False
    assert PHONE not in r.text and "Aktau" not in r.text
    again = client.post(f"/sms/rapidpro/{SECRET}", data=fields).json()["data"][0]
    assert again["duplicate"] is True and again["sha256"] == data["sha256"] and again["reply"] == data["reply"]
    assert counts(case) == (1, 1, 1)
    with Session(case.engine) as s:
        receipt = s.scalars(select(Receipt)).one()
        assert receipt.collected_at_claimed == "2011-12-17T08:30:00Z" and receipt.channel == "sms"
    r = client.post(f"/sms/rapidpro/{SECRET}", data={"from": PHONE, "text": "x", "date": "Dec 17"})
    assert r.status_code == 400 and "RFC 3339" in r.json()["data"][0]["error"]


@pytest.mark.sqlite_only  # reads the SQLite file's bytes
def test_number_is_never_in_the_database_in_clear(client: TestClient, case: Case) -> None:
    post_twilio(client, form("first"))
    client.post(f"/sms/rapidpro/{SECRET}", data={"from": PHONE, "text": "second"})
    files = [p for p in case.path.iterdir() if p.name.startswith(config.DB_FILE)]  # the database, its WAL
    assert files
    held = b"".join(p.read_bytes() for p in files if p.is_file())
    for form_of_number in (PHONE, PHONE.lstrip("+"), PHONE[-7:]):
        assert form_of_number.encode() not in held
        assert form_of_number.encode("utf-16-le") not in held
