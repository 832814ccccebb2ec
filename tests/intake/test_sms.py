"""The SMS channel's intake (factfinder.intake.sms), on a real case: messages, replays, anchors, verify.

The HTTP side (signatures as Twilio's own library makes them, MMS fetched from
a loopback server) is in tests/web/test_sms_http.py.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator

import pytest
from pyrage import x25519
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

from factfinder import cli_sms  # noqa: F401  (registers `factfinder sms` until cli.py imports it)
from factfinder.db import engine as dbengine
from factfinder.db.models import Item, ProtectedField, Receipt, SmsAnchor, SmsMessage
from factfinder.intake import sms
from factfinder.vault import audit, custody, keys
from factfinder.vault.case import Case
from tests.conftest import Cli

PHONE = "+7 701 555 0199"  # a placeholder, never a real witness's number
EVIDENCE = b"bytes of a photo kept on a phone in Zhanaozen"
DIGEST = hashlib.sha256(EVIDENCE).hexdigest()


@pytest.fixture
def checked(case: Case) -> Iterator[Case]:
    """The case, fully audited (SMS rows included) after the test."""
    yield case
    report = audit.verify_case(case)
    assert report.ok, report.problems
    assert audit_problems(case) == []


def message(text: str, sid: str = "SM0001", **kw: object) -> sms.IncomingSms:
    return sms.IncomingSms(provider=sms.TWILIO, message_id=sid, sender=PHONE, text=text, **kw)  # type: ignore[arg-type]


def counts(case: Case) -> tuple[int, int, int]:
    with case.engine.connect() as conn:
        return (
            conn.execute(select(func.count(Item.id))).scalar_one(),
            conn.execute(select(func.count(Receipt.id))).scalar_one(),
            conn.execute(select(func.count(SmsMessage.id))).scalar_one(),
        )


def audit_problems(case: Case) -> list[audit.Problem]:
    report = audit.AuditReport()
    with dbengine.snapshot(case.engine) as conn:
        entries = {i: custody.decode_entry(e) for i, e in case.log.entries(conn, 0, case.log.size(conn))}
        sms.check_rows(Session(bind=conn), entries, report)
    sms.check_anchor_texts(case, report)
    return report.problems


# -- the signature, against Twilio's own validator ---------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"From": "+77015550199", "Body": "Здравствуйте, 16 декабря", "MessageSid": "SM1", "NumMedia": "0"},
        {"Body": "a&b=c d+e%", "To": "+15005550006", "MediaUrl0": "https://api.twilio.com/x?y=1"},
    ],
)
def test_signature_is_twilios(params: dict[str, str]) -> None:
    url = "https://sms.example.org/sms/twilio?campaign=1"
    want = RequestValidator("12345").compute_signature(url, params)
    assert sms.twilio_signature("12345", url, list(params.items())) == want
    assert sms.twilio_signature_ok("12345", url, list(params.items()), want)
    assert not sms.twilio_signature_ok("12346", url, list(params.items()), want)
    assert not sms.twilio_signature_ok("12345", url + "&x", list(params.items()), want)
    assert not sms.twilio_signature_ok("12345", url, list(params.items()), None)


def test_signature_with_port_and_sha256() -> None:
    params = [("Body", "hi"), ("From", "+1")]
    validator = RequestValidator("tok")
    with_port = validator.compute_signature("https://sms.example.org:443/sms/twilio", dict(params))
    assert sms.twilio_signature_ok("tok", "https://sms.example.org/sms/twilio", params, with_port)
    s256 = validator.compute_signature("https://h/sms/twilio", dict(params), algorithm="HMAC_SHA256")
    assert sms.twilio_signature_ok("tok", "https://h/sms/twilio", params, s256, "key=k1,algorithm=HMAC_SHA256")
    assert not sms.twilio_signature_ok("tok", "https://h/sms/twilio", params, s256)  # SHA-1 expected without it
    assert not sms.twilio_signature_ok("tok", "https://h/sms/twilio", params, s256, "algorithm=HMAC_MD5")


# -- fields -----------------------------------------------------------------------------------------


def test_twilio_fields() -> None:
    got = sms.twilio_message(
        [
            ("From", PHONE),
            ("To", "+15005550006"),
            ("Body", ""),
            ("MessageSid", "MM9"),
            ("NumMedia", "1"),
            ("MediaUrl0", "https://api.twilio.com/m/1"),
            ("MediaContentType0", "image/jpeg"),
            ("AccountSid", "AC1"),
        ]
    )
    assert got.media == (sms.Media("https://api.twilio.com/m/1", "image/jpeg"),)
    assert got.text == "" and got.account == "AC1" and got.sender == PHONE
    for broken, needle in [
        ([("Body", "x"), ("MessageSid", "SM1")], "From"),
        ([("From", PHONE), ("Body", "x")], "MessageSid"),
        ([("From", PHONE), ("MessageSid", "SM1")], "Body"),
        ([("From", PHONE), ("MessageSid", "SM1"), ("Body", "")], "neither"),
        ([("From", PHONE), ("MessageSid", "SM1"), ("Body", "x"), ("NumMedia", "1")], "MediaUrl0"),
        ([("From", PHONE), ("MessageSid", "SM1"), ("Body", "x"), ("NumMedia", "11")], "NumMedia"),
        ([("From", PHONE), ("From", "+2"), ("MessageSid", "SM1"), ("Body", "x")], "more than once"),
    ]:
        with pytest.raises(sms.SmsError, match=needle):
            sms.twilio_message(broken)
    with pytest.raises(sms.MessageTooLong):
        sms.twilio_message([("From", PHONE), ("MessageSid", "SM1"), ("Body", "я" * 5000)])


def test_rapidpro_fields() -> None:
    a = sms.rapidpro_message([("from", PHONE), ("text", "hello"), ("date", "2011-12-16T10:05:00Z")], "s" * 20)
    b = sms.rapidpro_message([("sender", PHONE), ("text", "hello"), ("time", "2011-12-16T10:05:00Z")], "s" * 20)
    assert a.message_id == b.message_id and a.message_id.startswith("derived:")
    assert a.received_at_claimed == "2011-12-16T10:05:00Z"
    assert PHONE not in a.message_id and "7015550199" not in a.message_id
    other_key = sms.rapidpro_message([("from", PHONE), ("text", "hello"), ("date", "2011-12-16T10:05:00Z")], "t" * 20)
    assert other_key.message_id != a.message_id  # keyed: the id alone tells nothing about the sender
    given = sms.rapidpro_message([("from", PHONE), ("text", "hello"), ("id", "42")], "s" * 20)
    assert given.message_id == "id:42"
    # the sender is not in the derived id: with the secret and the stored rows, no number can be tried against it
    fields = [("from", "+1 555 0100"), ("text", "hello"), ("date", "2011-12-16T10:05:00Z")]
    another_sender = sms.rapidpro_message(fields, "s" * 20)
    assert another_sender.message_id == a.message_id
    want = hmac.new(b"s" * 20, b"2011-12-16T10:05:00Z\x00hello\x00", hashlib.sha256).hexdigest()
    assert a.message_id == "derived:" + want
    with pytest.raises(sms.SmsError, match="RFC 3339"):
        sms.rapidpro_message([("from", PHONE), ("text", "x"), ("date", "yesterday")], "s" * 20)
    with pytest.raises(sms.SmsError, match="from"):
        sms.rapidpro_message([("text", "x")], "s" * 20)


def test_rapidpro_undated_retry_is_known_in_memory_only() -> None:
    """Neither id nor date: a random id, the same again for the same sender and text within the window only."""
    now = [0.0]
    recent = sms.RecentUndated(window_s=600, clock=lambda: now[0])

    def deliver(sender: str = PHONE, text: str = "hello") -> str:
        return sms.rapidpro_message([("from", sender), ("text", text)], "s" * 20, recent).message_id

    first = deliver()
    assert first.startswith("undated:") and deliver() == first
    assert deliver(sender="+1 555 0100") != first and deliver(text="hello!") != first
    assert sms.RecentUndated().message_id(PHONE, "hello") != first  # another process: nothing to match it with
    now[0] = 601.0
    assert deliver() != first  # after the window it is a second arrival


def test_parse_anchors() -> None:
    upper = DIGEST.upper()
    assert sms.parse_anchors(f"H {DIGEST}") == ([DIGEST], 0)
    assert sms.parse_anchors(f"photo of the square\n#h {upper}\nh:{DIGEST}") == ([DIGEST], 0)
    other = hashlib.sha256(b"x").hexdigest()
    assert sms.parse_anchors(f"H {DIGEST} H {other}.") == ([DIGEST, other], 0)
    assert sms.parse_anchors(f"H {DIGEST[:20]}") == ([], 1)  # a prefix anchors nothing
    assert sms.parse_anchors(f"H {DIGEST}0") == ([], 1)
    assert sms.parse_anchors(f"each {DIGEST}") == ([], 0)  # no code, no anchor
    assert sms.parse_anchors(f"X{DIGEST} hash abc") == ([], 0)


# -- recording ----------------------------------------------------------------------------------------


def test_message_is_an_item_with_sealed_sender(checked: Case) -> None:
    text = "Стреляли на площади, 16 декабря. Many wounded."
    out = sms.receive(checked, message(text, to="+15005550006"), max_media_bytes=1 << 20)
    assert not out.duplicate and out.ref == out.sha256[:12]
    assert out.sha256 == hashlib.sha256(text.encode("utf-8")).hexdigest()
    with checked.blobs.open(out.sha256) as fh:
        assert fh.read() == text.encode("utf-8")
    with Session(checked.engine) as s:
        receipt = s.scalars(select(Receipt).where(Receipt.log_index == out.log_index)).one()
        assert receipt.channel == "sms" and receipt.source == "SMS via Twilio"
        assert receipt.note is not None and "SM0001" in receipt.note and PHONE not in receipt.note
        sealed = s.scalars(select(ProtectedField).where(ProtectedField.receipt_id == receipt.id)).all()
        assert [p.field for p in sealed] == ["witness_phone"]
        assert PHONE.encode() not in sealed[0].ciphertext
        row = s.scalars(select(SmsMessage)).one()
        assert (row.provider, row.message_id, row.sha256, row.log_index) == (
            "twilio",
            "SM0001",
            out.sha256,
            out.log_index,
        )
    opened = checked.reveal(out.sha256, _identity(checked), actor="tester")
    assert opened[0][1] == {"witness_phone": PHONE}
    assert sms.reply_text(out) == f"Received. Ref {out.sha256[:12]}."


def _identity(case: Case) -> x25519.Identity:
    return keys.load_identity(case.path / "keys" / "witness-identity.age")


def test_replay_adds_nothing(checked: Case) -> None:
    first = sms.receive(checked, message("We are at the hospital"), max_media_bytes=1 << 20)
    before = counts(checked)
    again = sms.receive(checked, message("We are at the hospital"), max_media_bytes=1 << 20)
    assert counts(checked) == before == (1, 1, 1)
    assert again.duplicate and (again.sha256, again.log_index) == (first.sha256, first.log_index)
    assert sms.reply_text(again) == sms.reply_text(first)
    # the same words from another message id are a second arrival of the same item
    sms.receive(checked, message("We are at the hospital", sid="SM0002"), max_media_bytes=1 << 20)
    assert counts(checked) == (1, 2, 2)


def test_concurrent_deliveries_record_once(checked: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    """Four deliveries of one message at once, each past the quick check before any is recorded:
    the check inside the recording transaction lets exactly one through."""
    start = threading.Barrier(4)
    outcomes: list[sms.Outcome] = []
    looked = threading.local()
    real_find = sms.find

    def find_after_the_race(case: Case, provider: str, message_id: str) -> sms.Outcome | None:
        if not getattr(looked, "once", False):
            looked.once = True
            return None  # every delivery misses the quick check, as when they arrive together
        return real_find(case, provider, message_id)

    monkeypatch.setattr(sms, "find", find_after_the_race)

    def deliver() -> None:
        start.wait()
        outcomes.append(sms.receive(checked, message("Same message, four deliveries"), max_media_bytes=1 << 20))

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counts(checked) == (1, 1, 1)
    assert len({(o.sha256, o.log_index) for o in outcomes}) == 1 and sum(not o.duplicate for o in outcomes) == 1


def test_anchor_then_media_arrives(checked: Case, cli: Cli) -> None:
    out = sms.receive(checked, message(f"photo of the square: H {DIGEST.upper()}"), max_media_bytes=1 << 20)
    assert out.anchored == (DIGEST,)
    assert "Digest anchored: " + DIGEST[:12] in sms.reply_text(out)
    [pending] = sms.anchors(checked)
    assert (pending.claimed_sha256, pending.log_index, pending.arrived) == (DIGEST, out.log_index, False)
    arrived = checked.add_bytes(EVIDENCE, actor="courier", channel="usb")
    [anchor] = sms.anchors(checked)
    assert anchor.arrived and anchor.arrived_after
    assert anchor.item_log_index == arrived.log_index > anchor.log_index
    assert anchor.message_sha256 == out.sha256
    _, stdout, _ = cli("sms", "anchors", checked.path, "--json")
    [shown] = json.loads(stdout)
    assert shown["arrived_after_anchor"] is True and shown["item_log_index"] == arrived.log_index
    assert shown["anchor_log_index"] == out.log_index
    _, table, _ = cli("sms", "anchors", checked.path)
    assert "arrived after the SMS" in table and "1 anchored, 1 arrived" in table


def test_anchor_of_bytes_already_held(checked: Case) -> None:
    held = checked.add_bytes(EVIDENCE, actor="tester", channel="usb")
    sms.receive(checked, message(f"#h {DIGEST}"), max_media_bytes=1 << 20)
    [anchor] = sms.anchors(checked)
    assert anchor.arrived and not anchor.arrived_after and anchor.item_log_index == held.log_index


def test_incomplete_digest_is_a_message_not_an_anchor(checked: Case) -> None:
    out = sms.receive(checked, message(f"H {DIGEST[:30]}"), max_media_bytes=1 << 20)
    assert out.anchored == () and sms.anchors(checked) == []
    assert "incomplete" in sms.reply_text(out)
    again = sms.receive(checked, message(f"H {DIGEST[:30]}"), max_media_bytes=1 << 20)
    assert sms.reply_text(again) == sms.reply_text(out)


def receipts_of(case: Case) -> list[tuple[str, str]]:
    """(digest, note) of every receipt, in custody order."""
    with case.engine.connect() as conn:
        rows = conn.execute(
            select(Item.sha256, Receipt.note).join(Item, Item.id == Receipt.item_id).order_by(Receipt.log_index)
        ).all()
    return [(sha, note or "") for sha, note in rows]


def report_text(case: Case, out: sms.Outcome) -> str:
    assert out.missing_report is not None
    with case.blobs.open(out.missing_report.sha256) as fh:
        return fh.read().decode("utf-8")


def test_unfetchable_media_are_reported_not_lost(checked: Case) -> None:
    """URLs that are refused, or that no HTTP library could even parse, cost the media but never the message."""
    urls = [
        "ftp://example.org/photo.jpg",
        "http://example.org/a.jpg",
        "https://[::1",  # ValueError from urlsplit
        "https://" + "a" * 64 + ".twilio.com/x",  # a label too long for IDNA
        "https://xn--ls8h.la/",  # an IDNA name the idna codec refuses
        "https://AC1:hunter2-auth-token@api.twilio.com/2010-04-01/Accounts/AC1/Media/ME1",
        "https://api.twilio.com.example.org/x",
        "http://127.0.0.1:9/loopback-without-the-setting",
    ]
    media = tuple(sms.Media(u, "image/jpeg" if n == 0 else None) for n, u in enumerate(urls))
    out = sms.receive(checked, message("photos attached", media=media), max_media_bytes=1 << 20)
    assert len(out.recorded) == 1 and out.media_missing == len(urls)
    [(text_sha, note), (report_sha, report_note)] = receipts_of(checked)
    assert text_sha == out.sha256 and f"{len(urls)} media attached" in note
    assert report_sha == out.missing_report.sha256  # type: ignore[union-attr]
    assert out.sha256 in report_note and "SM0001" in report_note
    report = report_text(checked, out)
    assert f"{len(urls)} attached, 0 fetched, {len(urls)} NOT FETCHED" in report
    assert "MMS media 1 of 8 (claimed type image/jpeg): NOT FETCHED: not one of Twilio's media hosts" in report
    assert "MMS media 3 of 8: NOT FETCHED: not a valid URL" in report
    assert "MMS media 6 of 8: NOT FETCHED: the URL holds credentials" in report
    assert "hunter2" not in report and "hunter2" not in note + report_note
    assert sms.find(checked, sms.TWILIO, "SM0001") is not None


def test_message_is_held_before_any_medium_is_fetched(checked: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    """Any exception from a medium (here one whose text holds a URL with a token) is noted by its class only."""
    seen: list[tuple[int, int, int]] = []

    def fetch(case: Case, media: sms.Media, **kw: object) -> object:
        seen.append(counts(case))
        if media.url.endswith("2"):
            raise OSError(28, "No space left on device")
        raise RuntimeError("failed at https://AC1:hunter2@api.twilio.com/m/1")

    monkeypatch.setattr(sms, "fetch_media", fetch)
    media = (sms.Media("https://api.twilio.com/m/1"), sms.Media("https://api.twilio.com/m/2"))
    out = sms.receive(checked, message(f"H {DIGEST}", media=media), max_media_bytes=1 << 20)
    assert seen == [(1, 1, 1), (1, 1, 1)]  # the text, its receipt and its SmsMessage row were in before each fetch
    assert out.anchored == (DIGEST,) and out.media_missing == 2
    report = report_text(checked, out)
    assert "NOT FETCHED: fetch failed (RuntimeError)" in report and "fetch failed (OSError)" in report
    assert "hunter2" not in report
    assert sms.reply_text(out) == f"Received. Ref {out.ref}. Digest anchored: {DIGEST[:12]}."


def test_media_that_cannot_be_recorded_leave_the_message(checked: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    """The second transaction failing (a full disk, say) is logged; the message and its reply stand."""
    monkeypatch.setattr(sms, "fetch_media", lambda case, media, **kw: case.blobs.put_bytes(b"photo"))
    real_record = Case.record
    calls = []

    def record(self: Case, receipts: list[object], **kw: object) -> object:
        calls.append(len(receipts))
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real_record(self, receipts, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(Case, "record", record)
    out = sms.receive(checked, message("photo", media=(sms.Media("https://api.twilio.com/m/1"),)), max_media_bytes=99)
    assert calls == [1, 1] and out.media_missing == 1 and len(out.recorded) == 1
    assert counts(checked) == (1, 1, 1)


def test_the_deadline_covers_all_media(checked: Case) -> None:
    policy = sms.MediaPolicy(deadline_s=0, allow_loopback=True)
    media = (sms.Media("http://127.0.0.1:9/a"), sms.Media("http://127.0.0.1:9/b"))
    out = sms.receive(checked, message("late", media=media), max_media_bytes=1 << 20, media_policy=policy)
    assert out.media_missing == 2
    assert report_text(checked, out).count("ran out before this one") == 2


def test_the_deadline_covers_a_resolver_that_never_answers(checked: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    """A DNS lookup cannot be interrupted: the fetch stops waiting for it at the deadline, the message stands."""
    released = threading.Event()
    asked: list[str] = []

    def hung(host: str, port: int) -> list[str]:
        asked.append(host)
        released.wait(30)
        return ["54.172.60.1"]

    monkeypatch.setattr(sms, "_resolve", hung)
    try:
        media = (sms.Media("https://api.twilio.com/m/1"),)
        policy = sms.MediaPolicy(deadline_s=0.5)
        out = sms.receive(checked, message("slow dns", media=media), max_media_bytes=1 << 20, media_policy=policy)
    finally:
        released.set()
    assert asked == ["api.twilio.com"]
    assert out.media_missing == 1 and len(out.recorded) == 1
    assert "while the host's name was looked up" in report_text(checked, out)


# -- where media may be fetched from ----------------------------------------------------------------


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """A DNS that answers what the test says (and nothing from the network)."""
    answers: dict[str, list[str]] = {}
    monkeypatch.setattr(sms, "_resolve", lambda host, port: answers.get(host, []))
    return answers


def test_media_hosts_are_twilios_only(dns: dict[str, list[str]]) -> None:
    strict, loose = sms.MediaPolicy(), sms.MediaPolicy(allow_loopback=True)
    public = "54.172.60.1"
    dns.update({"api.twilio.com": [public], "mms.twiliocdn.com": [public], "evil.example.org": [public]})
    dns.update({"127.0.0.1": ["127.0.0.1"]})
    ok = sms.check_media_url("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1", strict)
    assert ok.addresses == (public,)
    sms.check_media_url("https://mms.twiliocdn.com/AC1/x", strict, first=False, came_from="https")
    refusals = [
        ("https://mms.twiliocdn.com/AC1/x", strict, True, None, "Twilio's media hosts"),  # storage: by redirect only
        ("https://evil.example.org/x", strict, False, "https", "Twilio's media hosts"),
        ("http://api.twilio.com/x", strict, True, None, "Twilio's media hosts"),
        ("http://127.0.0.1/x", strict, True, None, "Twilio's media hosts"),
        ("http://127.0.0.1/x", loose, False, "https", "from https to plain http"),
        ("http://api.twilio.com/x", loose, False, "https", "from https to plain http"),
        ("https://u:p@api.twilio.com/x", strict, True, None, "credentials"),
    ]
    for url, policy, first, came_from, why in refusals:
        with pytest.raises(sms.IntakeError, match=why):
            sms.check_media_url(url, policy, first=first, came_from=came_from)
    assert sms.check_media_url("http://127.0.0.1/x", loose).addresses == ("127.0.0.1",)


@pytest.mark.parametrize("address", ["10.0.0.5", "127.0.0.1", "169.254.169.254", "::1", "fd00::1", "100.64.0.1"])
def test_a_twilio_name_resolving_inside_is_refused(dns: dict[str, list[str]], address: str) -> None:
    dns["api.twilio.com"] = ["54.172.60.1", address]
    with pytest.raises(sms.IntakeError, match="private, loopback or link-local"):
        sms.check_media_url("https://api.twilio.com/x", sms.MediaPolicy(allow_loopback=True))


def test_credentials_go_to_api_twilio_only(dns: dict[str, list[str]]) -> None:
    dns.update({"api.twilio.com": ["54.172.60.1"], "mms.twiliocdn.com": ["54.172.60.2"]})
    api = sms.check_media_url("https://api.twilio.com/x", sms.MediaPolicy())
    cdn = sms.check_media_url("https://mms.twiliocdn.com/x", sms.MediaPolicy(), first=False, came_from="https")
    assert sms._credentials_for(api, api, sms.MediaPolicy())
    assert not sms._credentials_for(cdn, api, sms.MediaPolicy())
    target, headers, extensions = sms._pinned(api, "54.172.60.1")
    assert target == "https://54.172.60.1:443/x" and headers == {"Host": "api.twilio.com"}
    assert extensions == {"sni_hostname": "api.twilio.com"}  # the certificate is checked for the real name


def test_check_rows_sees_tampering(checked: Case) -> None:
    out = sms.receive(checked, message(f"H {DIGEST}"), max_media_bytes=1 << 20)
    other = sms.receive(checked, message("another", sid="SM0002"), max_media_bytes=1 << 20)
    assert audit_problems(checked) == []
    with dbengine.write_transaction(checked.engine) as conn:
        conn.execute(update(SmsAnchor).values(claimed_sha256=hashlib.sha256(b"forged").hexdigest()))
    assert [p.detail for p in audit_problems(checked)] == ["its digest is not written in the message"]
    with dbengine.write_transaction(checked.engine) as conn:
        conn.execute(update(SmsAnchor).values(claimed_sha256=DIGEST, log_index=other.log_index))
    assert "names" not in str(audit_problems(checked))
    assert any("not that of the SMS" in p.detail for p in audit_problems(checked))
    with dbengine.write_transaction(checked.engine) as conn:
        conn.execute(update(SmsAnchor).values(log_index=out.log_index))
        conn.execute(update(SmsMessage).where(SmsMessage.message_id == "SM0002").values(sha256=out.sha256))
    assert [p.subject for p in audit_problems(checked)] == [f"SMS message 2 (twilio, entry {other.log_index})"]
    with dbengine.write_transaction(checked.engine) as conn:  # put it back, so the final audit passes
        conn.execute(update(SmsMessage).where(SmsMessage.message_id == "SM0002").values(sha256=other.sha256))
