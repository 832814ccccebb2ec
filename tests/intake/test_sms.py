"""The SMS channel's intake (factfinder.intake.sms), on a real case: messages, replays, anchors, verify.

The HTTP side (signatures as Twilio's own library makes them, MMS fetched from
a loopback server) is in tests/web/test_sms_http.py.
"""

from __future__ import annotations

import hashlib
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
    with pytest.raises(sms.SmsError, match="RFC 3339"):
        sms.rapidpro_message([("from", PHONE), ("text", "x"), ("date", "yesterday")], "s" * 20)
    with pytest.raises(sms.SmsError, match="from"):
        sms.rapidpro_message([("text", "x")], "s" * 20)


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


def test_unfetchable_media_is_noted_not_lost(checked: Case) -> None:
    media = (sms.Media("ftp://example.org/photo.jpg", "image/jpeg"), sms.Media("http://example.org/a.jpg"))
    out = sms.receive(checked, message("photos attached", media=media), max_media_bytes=1 << 20)
    assert len(out.recorded) == 1 and out.media_missing == 2
    with Session(checked.engine) as s:
        note = s.scalars(select(Receipt.note).where(Receipt.log_index == out.log_index)).one()
    assert note is not None
    assert "media 1 (image/jpeg) NOT FETCHED" in note and "ftp://example.org/photo.jpg" in note
    assert "media 2 NOT FETCHED" in note and "2 media attached, 0 fetched" in note


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
