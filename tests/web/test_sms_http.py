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

# The HTTP layer (signatures, replies, media fetching); the intake's database code (replays, sealed numbers,
# concurrent deliveries) runs on PostgreSQL in tests/intake/test_sms.py.
pytestmark = pytest.mark.once_on_postgres

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
    slow = threading.Event()  # never set: a pause the server can take
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
        elif self.path == "/slow":  # a body that trickles in, past any deadline a test sets
            self.send_response(200)
            self.send_header("Content-Length", "4000")
            self.end_headers()
            try:
                for _ in range(40):
                    self.wfile.write(bytes(100))
                    self.wfile.flush()
                    Media.slow.wait(0.1)
            except OSError:
                pass  # the client gave up, as it should
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
    web.state.settings.sms_media_allow_loopback = True  # the media server here is on loopback, over plain http
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
    assert f"Ref {text_sha[:12]}." in r.text
    with Session(case.engine) as s:
        receipts = s.scalars(select(Receipt).order_by(Receipt.log_index)).all()
        digests = [s.get(Item, rc.item_id).sha256 for rc in receipts]  # type: ignore[union-attr]
    assert digests[:3] == [text_sha, hashlib.sha256(PHOTO).hexdigest(), hashlib.sha256(CLIP).hexdigest()]
    assert len({rc.log_index for rc in receipts}) == 4 and all(rc.channel == "sms" for rc in receipts)
    assert "3 media attached" in (receipts[0].note or "")
    for media_receipt in receipts[1:]:
        assert text_sha in (media_receipt.note or "") and "SM0001" in (media_receipt.note or "")
    assert receipts[3].original_name == sms.REPORT_NAME
    with case.blobs.open(digests[3]) as fh:
        report = fh.read().decode()
    assert "3 attached, 2 fetched, 1 NOT FETCHED" in report
    assert "MMS media 3 of 3: NOT FETCHED: the server answered HTTP 404" in report
    by_path = dict(Media.seen_auth)
    assert by_path["/moved"] is not None and by_path["/photo.jpg"] is not None  # the origin the webhook named
    assert by_path["/open/clip.wav"] is None  # never sent to another origin after a redirect


def test_media_over_the_limit_is_not_stored(client: TestClient, case: Case, media_server: str) -> None:
    r = post_twilio(client, form("big", NumMedia="1", MediaUrl0=f"{media_server}/big"))
    assert r.status_code == 200
    assert counts(case) == (2, 2, 1)  # the message, and the report saying its medium is missing
    assert "over the server's limit" in missing_report(case)


def missing_report(case: Case) -> str:
    with Session(case.engine) as s:
        sha = s.scalars(select(Item.sha256).join(Receipt).where(Receipt.original_name == sms.REPORT_NAME)).one()
    with case.blobs.open(sha) as fh:
        return fh.read().decode()


def test_loopback_media_need_the_development_setting(
    app: FastAPI, client: TestClient, case: Case, media_server: str
) -> None:
    app.state.settings.sms_media_allow_loopback = False
    Media.seen_auth.clear()
    r = post_twilio(client, form("photo", NumMedia="1", MediaUrl0=f"{media_server}/moved"))
    assert r.status_code == 200 and "Received. Ref" in r.text
    assert Media.seen_auth == []  # nothing was asked of the internal host, let alone with the token
    assert "NOT FETCHED: not one of Twilio's media hosts over https" in missing_report(case)


def test_media_urls_no_library_can_parse_cost_nothing_but_the_media(client: TestClient, case: Case) -> None:
    params = form(
        "three links",
        NumMedia="3",
        MediaUrl0="https://[::1",
        MediaUrl1="https://" + "a" * 64 + ".twiliocdn.com/x",
        MediaUrl2="https://xn--ls8h.la/",
    )
    r = post_twilio(client, params)
    assert r.status_code == 200, r.text
    assert f"Ref {hashlib.sha256(b'three links').hexdigest()[:12]}." in r.text
    assert counts(case) == (2, 2, 1)
    assert "3 attached, 0 fetched, 3 NOT FETCHED" in missing_report(case)


def test_a_medium_that_will_not_finish_meets_the_deadline(
    app: FastAPI, client: TestClient, case: Case, media_server: str
) -> None:
    app.state.settings.sms_media_deadline_s = 0.3
    r = post_twilio(client, form("slow", NumMedia="1", MediaUrl0=f"{media_server}/slow"))
    assert r.status_code == 200 and "Received. Ref" in r.text
    assert "NOT FETCHED: the time allowed for the message's media ran out" in missing_report(case)


def test_a_full_disk_while_fetching_costs_only_the_medium(
    client: TestClient, case: Case, media_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_put_file = case.blobs.put_file

    def full(stream: Any, **kw: Any) -> Any:  # the disk fills while a medium streams in, not before
        if isinstance(stream, sms._Capped):
            raise OSError(28, "No space left on device")
        return real_put_file(stream, **kw)

    monkeypatch.setattr(case.blobs, "put_file", full)
    r = post_twilio(client, form("photo", NumMedia="1", MediaUrl0=f"{media_server}/moved"))
    assert r.status_code == 200 and "Received. Ref" in r.text
    assert "NOT FETCHED: fetch failed (OSError)" in missing_report(case)


def test_shared_key_signatures(app: FastAPI, client: TestClient, case: Case, caplog: pytest.LogCaptureFixture) -> None:
    """Signed with a webhook SharedKey: refused loudly without its secret, checked against it when set."""
    key, params = "shared-key-secret-0123456789", form("keyed")
    sig = RequestValidator(key).compute_signature(URL, params, algorithm="HMAC_SHA256")
    headers = {"X-Twilio-Signature": sig, "X-Twilio-Webhooks-Signature-Settings": "key=KS1,algorithm=HMAC_SHA256"}
    with caplog.at_level("WARNING"):
        r = client.post("/sms/twilio", data=params, headers=headers)
    assert r.status_code == 403 and "SharedKey" in r.text
    assert "SharedKey" in caplog.text and PHONE not in caplog.text and "keyed" not in caplog.text
    assert counts(case) == (0, 0, 0)
    app.state.settings.twilio_webhook_key = key
    assert client.post("/sms/twilio", data=params, headers=headers).status_code == 200
    assert post_twilio(client, form("token-signed", sid="SM2")).status_code == 200  # the auth token still works
    assert counts(case) == (2, 2, 2)


def test_a_failure_after_intake_still_gets_the_receipt(
    client: TestClient, case: Case, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object, **kw: object) -> None:
        raise RuntimeError(f"index failed on {PHONE}: Shots near the akimat")

    monkeypatch.setattr(sms_web.pipeline, "index_items", broken)
    monkeypatch.setattr(sms_web.mediascan, "schedule", broken)
    with caplog.at_level("ERROR"):
        r = post_twilio(client, form())
    assert r.status_code == 200 and "Received. Ref" in r.text
    assert counts(case) == (1, 1, 1)
    assert "RuntimeError" in caplog.text and PHONE not in caplog.text and "akimat" not in caplog.text


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
