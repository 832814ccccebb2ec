"""The OpenRosa channel without HTTP: forms, app users, and ODK Central's rules for submissions.

Each test works on a real case on disk and ends with the full audit, which
checks the OpenRosa rows against the custody log (``openrosa.check_rows``).
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

import factfinder.cli_odk  # noqa: F401  (registers ``factfinder odk``; cli.py imports it too once wired)
from factfinder.db.models import OdkAttachment, OdkSubmission, Receipt
from factfinder.intake import odkcrypto, openrosa
from factfinder.vault import audit, keys
from factfinder.vault.case import Case
from tests.conftest import ROOT, Cli

FORM = ROOT / "samples" / "forms" / "testimony.xml"
XLSFORM = ROOT / "samples" / "forms" / "testimony.xlsx"
VERSION = "2024010101"


def submission(
    instance: str = "uuid:0001",
    *,
    what: str = "Shots near the town square.",
    photo: str | None = "photo-1.jpg",
    deprecated: str | None = None,
    form_id: str = "testimony",
    version: str = VERSION,
    contact: str | None = None,
) -> bytes:
    """A filled testimony form as Collect writes it (placeholder answers only)."""
    meta = f"<instanceID>{instance}</instanceID>" + (f"<deprecatedID>{deprecated}</deprecatedID>" if deprecated else "")
    return (
        f'<?xml version="1.0"?><data xmlns:jr="http://openrosa.org/javarosa" xmlns:orx="http://openrosa.org/xforms"'
        f' id="{form_id}" version="{version}"><start>2011-12-16T11:05:00.000+05:00</start>'
        f"<end>2011-12-16T11:20:00.000+05:00</end><consent>yes</consent><what_happened>{what}</what_happened>"
        f"<photo>{photo or ''}</photo><video/><audio/>"
        + (f"<contact>{contact}</contact>" if contact is not None else "<contact/>")
        + f"<meta>{meta}</meta></data>"
    ).encode()


def incoming(xml: bytes, files: dict[str, bytes] | None = None, user: str = "phone-1") -> openrosa.Incoming:
    return openrosa.Incoming(xml, "instance.xml", [(n, io.BytesIO(b)) for n, b in (files or {}).items()], user)


def counts(case: Case) -> tuple[int, int, int]:
    with Session(case.engine) as s:
        return (
            s.scalar(select(func.count(Receipt.id))) or 0,
            s.scalar(select(func.count(OdkSubmission.id))) or 0,
            s.scalar(select(func.count(OdkAttachment.id))) or 0,
        )


def verified(case: Case) -> None:
    report = audit.verify_case(case)
    assert report.ok, report.problems
    problems: audit.AuditReport = audit.AuditReport()
    with Session(case.engine) as s:
        entries = _entries(case)
        openrosa.check_rows(s, entries, problems)
    assert problems.ok, problems.problems


def _entries(case: Case) -> dict[int, dict[str, object]]:
    from factfinder.vault import custody

    with case.engine.connect() as conn:
        return {i: custody.decode_entry(case.log.entry(conn, i)) for i in range(case.log.size(conn))}


@pytest.fixture
def form_case(case: Case) -> Case:
    openrosa.add_form(case, FORM.read_bytes(), actor="tester", original_name="testimony.xml")
    return case


# -- forms -------------------------------------------------------------------------------------


def test_the_sample_form_is_what_pyxform_makes_of_the_xlsform() -> None:
    made = openrosa.xlsform_to_xform(XLSFORM.read_bytes())
    assert made.decode().strip() == FORM.read_text(encoding="utf-8").strip()
    parsed = openrosa.parse_xform(FORM.read_bytes())
    assert (parsed.form_id, parsed.version, parsed.title) == ("testimony", VERSION, "Testimony")
    assert parsed.binary_paths == {"photo", "video", "audio"}
    assert parsed.public_key is None and parsed.media == ()
    text = FORM.read_text(encoding="utf-8")
    for lang in ("English (en)", "Russian (ru)", "Kazakh (kk)"):
        assert f'lang="{lang}"' in text


def test_a_form_is_an_item_and_a_row_and_adding_it_again_changes_nothing(case: Case) -> None:
    form, new = openrosa.add_form(case, FORM.read_bytes(), actor="tester", original_name="testimony.xml")
    assert new and form.form_id == "testimony"
    assert case.resolve(form.item_sha256).size == len(FORM.read_bytes())
    again, new_again = openrosa.add_form(case, FORM.read_bytes(), actor="tester")
    assert not new_again and again.row_id == form.row_id
    changed = FORM.read_bytes().replace(b"<h:title>Testimony</h:title>", b"<h:title>Changed</h:title>")
    with pytest.raises(openrosa.OpenRosaError, match="new version"):
        openrosa.add_form(case, changed, actor="tester")
    newer = changed.replace(f'version="{VERSION}"'.encode(), b'version="2024010102"')
    v2, _ = openrosa.add_form(case, newer, actor="tester")
    assert openrosa.latest_form(case, "testimony").version == "2024010102"
    assert len(openrosa.list_forms(case, all_versions=True)) == 2 and v2.title == "Changed"
    verified(case)


def test_an_xlsform_is_converted_and_a_broken_one_refused(case: Case) -> None:
    form, _ = openrosa.add_form(case, XLSFORM.read_bytes(), actor="tester", original_name="testimony.xlsx")
    with case.blobs.open(form.item_sha256) as f:
        assert f.read() == FORM.read_bytes()  # the same XForm as the sample, byte for byte
    with pytest.raises(openrosa.OpenRosaError, match="XLSForm"):
        openrosa.add_form(case, b"PK\x03\x04 not really a workbook", actor="tester")
    with pytest.raises(openrosa.OpenRosaError, match="well-formed"):
        openrosa.add_form(case, b"<h:html><unclosed>", actor="tester")


def test_form_media_must_be_given_and_is_served_from_the_same_batch(case: Case) -> None:
    xml = FORM.read_bytes().replace(
        b"<value>A photo</value>", b'<value>A photo</value><value form="image">jr://images/map.png</value>', 1
    )
    with pytest.raises(openrosa.OpenRosaError, match=r"map\.png"):
        openrosa.add_form(case, xml, actor="tester")
    form, _ = openrosa.add_form(case, xml, actor="tester", media=[("map.png", b"\x89PNG placeholder")])
    assert form.media == ("map.png",)
    [media] = openrosa.form_media(case, form)
    with case.blobs.open(media.sha256) as f:
        assert f.read() == b"\x89PNG placeholder"
    verified(case)


# -- submissions -------------------------------------------------------------------------------


def test_a_submission_is_the_xml_and_its_files_in_one_transaction(form_case: Case) -> None:
    before = counts(form_case)
    out = openrosa.receive(form_case, incoming(submission(), {"photo-1.jpg": b"jpeg bytes 1", "stray.txt": b"x"}))
    assert out.result == "created" and out.complete and out.unnamed == ("stray.txt",)
    assert counts(form_case) == (before[0] + 3, 1, 1)  # the XML, the photo, and the stray file kept apart
    [sub] = openrosa.list_submissions(form_case)
    assert sub.attachments == ((("photo-1.jpg", out.recorded[1].sha256)),)
    _, receipts, _, _ = form_case.item_detail(sub.xml_sha256)
    assert receipts[0].channel == "openrosa" and receipts[0].collected_at_claimed == "2011-12-16T11:05:00.000+05:00"
    assert receipts[0].source == "OpenRosa submission (form testimony, app user phone-1)"
    _, stray, _, _ = form_case.item_detail(out.recorded[2].sha256)
    assert stray[0].note == "sent with submission uuid:0001 but not named by its XML"
    assert not list(form_case.blobs.tmp.glob("*.part"))
    again = openrosa.receive(form_case, incoming(submission(), {"photo-1.jpg": b"jpeg bytes 1", "stray.txt": b"x"}))
    assert again.result == "unchanged" and counts(form_case) == (before[0] + 3, 1, 1)  # a retry adds nothing
    verified(form_case)


def test_the_same_submission_again_adds_nothing_and_another_xml_is_a_conflict(form_case: Case) -> None:
    files = {"photo-1.jpg": b"jpeg bytes 1"}
    openrosa.receive(form_case, incoming(submission(), files))
    before = counts(form_case)
    again = openrosa.receive(form_case, incoming(submission(), files))
    assert again.result == "unchanged" and again.complete
    assert counts(form_case) == before
    with pytest.raises(openrosa.SubmissionConflict, match="different submission"):
        openrosa.receive(form_case, incoming(submission(what="Another account"), files))
    assert counts(form_case) == before
    # A different file under a name already held: still 409, but the bytes are kept, as an item of their own.
    with pytest.raises(openrosa.SubmissionConflict, match=r"another file.*kept apart"):
        openrosa.receive(form_case, incoming(submission(), {"photo-1.jpg": b"other bytes"}))
    assert counts(form_case) == (before[0] + 1, before[1], before[2])
    [held] = [s for s in openrosa.list_submissions(form_case)]
    assert dict(held.attachments)["photo-1.jpg"] != hashlib.sha256(b"other bytes").hexdigest()
    _, receipts, _, _ = form_case.item_detail(hashlib.sha256(b"other bytes").hexdigest())
    assert receipts[0].note == "a second, different file named photo-1.jpg for submission uuid:0001"
    with pytest.raises(openrosa.SubmissionConflict, match="another file"):  # sent again: nothing more
        openrosa.receive(form_case, incoming(submission(), {"photo-1.jpg": b"other bytes"}))
    assert counts(form_case) == (before[0] + 1, before[1], before[2])
    verified(form_case)


def test_an_edit_names_the_submission_it_replaces_and_both_stay(form_case: Case) -> None:
    openrosa.receive(form_case, incoming(submission(photo=None)))
    edit = submission("uuid:0002", what="Corrected: shots near the square", photo=None, deprecated="uuid:0001")
    openrosa.receive(form_case, incoming(edit))
    subs = {s.instance_id: s for s in openrosa.list_submissions(form_case)}
    assert subs["uuid:0002"].deprecated_id == "uuid:0001" and subs["uuid:0001"].deprecated_id is None
    verified(form_case)


def _as(user: openrosa.AppUser, xml: bytes) -> openrosa.Incoming:
    return openrosa.Incoming(xml, "instance.xml", [], user.name, user)


def test_an_edit_must_replace_a_current_submission_of_the_same_form_sent_by_the_same_device(
    form_case: Case,
) -> None:
    phone, _ = openrosa.add_app_user(form_case, "phone-1")
    other, _ = openrosa.add_app_user(form_case, "phone-2")
    openrosa.receive(form_case, _as(phone, submission(photo=None)))
    other_form = FORM.read_bytes().replace(b'id="testimony"', b'id="other"')
    openrosa.add_form(form_case, other_form, actor="tester")
    openrosa.receive(form_case, _as(phone, submission("uuid:o-1", photo=None, form_id="other")))
    before = counts(form_case)
    refused: list[tuple[bytes, openrosa.AppUser, type[openrosa.OpenRosaError], str]] = [
        (submission("uuid:e-1", photo=None, deprecated="uuid:nothing"), phone, openrosa.EditTargetNotFound, "not here"),
        (submission("uuid:e-2", photo=None, deprecated="uuid:0001"), other, openrosa.EditTargetNotFound, "not here"),
        (submission("uuid:e-3", photo=None, deprecated="uuid:o-1"), phone, openrosa.SubmissionConflict, "another form"),
    ]
    for xml, user, error, message in refused:
        with pytest.raises(error, match=message) as info:
            openrosa.receive(form_case, _as(user, xml))
        assert info.value.status == (404 if error is openrosa.EditTargetNotFound else 409)
    assert counts(form_case) == before
    openrosa.receive(form_case, _as(phone, submission("uuid:0002", photo=None, deprecated="uuid:0001")))
    with pytest.raises(openrosa.SubmissionConflict, match="already replaced by the edit uuid:0002") as info:
        openrosa.receive(form_case, _as(phone, submission("uuid:0003", photo=None, deprecated="uuid:0001")))
    assert info.value.status == 409
    openrosa.receive(form_case, _as(phone, submission("uuid:0003", photo=None, deprecated="uuid:0002")))  # the chain
    # A team account (Basic auth, no app user) may edit any device's submission of the form.
    openrosa.receive(form_case, incoming(submission("uuid:0004", photo=None, deprecated="uuid:0003"), user="account x"))
    assert counts(form_case)[1] == before[1] + 3
    verified(form_case)


def test_deeply_nested_xml_is_refused_clearly() -> None:
    deep = (
        b'<data id="testimony">'
        + b"<a>" * 5000
        + b"</a>" * 5000
        + b"<meta><instanceID>uuid:x</instanceID></meta></data>"
    )
    with pytest.raises(openrosa.OpenRosaError, match="nests elements more than") as info:
        openrosa.parse_submission(deep)
    assert info.value.status == 400
    assert openrosa.parse_submission(submission()).instance_id == "uuid:0001"


def test_a_split_submission_is_complete_only_when_every_file_has_arrived(form_case: Case) -> None:
    xml = submission(photo="photo-1.jpg").replace(b"<audio/>", b"<audio>voice.m4a</audio>")
    first = openrosa.receive(form_case, incoming(xml, {"photo-1.jpg": b"jpeg"}))
    assert first.result == "created" and not first.complete and first.missing == ("voice.m4a",)
    [sub] = openrosa.list_submissions(form_case)
    assert not sub.complete and dict(sub.attachments)["voice.m4a"] is None
    verified(form_case)  # a missing attachment is not a damaged case
    second = openrosa.receive(form_case, incoming(xml, {"voice.m4a": b"audio", "photo-1.jpg": b"jpeg"}))
    assert second.result == "added" and second.complete and len(second.recorded) == 1
    [sub] = openrosa.list_submissions(form_case)
    assert sub.complete and all(sha for _, sha in sub.attachments)
    verified(form_case)


@pytest.mark.parametrize(
    ("xml", "error", "message"),
    [
        (submission(form_id="nosuchform"), openrosa.FormNotFound, "no form 'nosuchform'"),
        (submission(version="1999"), openrosa.OpenRosaError, "version '1999'"),
        (submission().replace(b"<instanceID>uuid:0001</instanceID>", b""), openrosa.OpenRosaError, "no instanceID"),
        (b"<data id='testimony'><unclosed></data>", openrosa.OpenRosaError, "well-formed"),
        (
            b'<!DOCTYPE d [<!ENTITY a "aaaa">]><data id="testimony">&a;</data>',
            openrosa.OpenRosaError,
            "well-formed",
        ),
    ],
)
def test_bad_submissions_are_refused_clearly_and_store_nothing(
    form_case: Case, xml: bytes, error: type[Exception], message: str
) -> None:
    before = counts(form_case)
    with pytest.raises(error, match=message):
        openrosa.receive(form_case, incoming(xml, {"photo-1.jpg": b"jpeg"}))
    assert counts(form_case) == before
    assert not list(form_case.blobs.tmp.glob("*.part"))
    verified(form_case)


def test_closed_forms_and_forms_outside_a_campaign_are_refused(form_case: Case) -> None:
    with pytest.raises(openrosa.AppUserError, match="not forms of campaign 'other'"):
        openrosa.add_app_user(form_case, "phone-2", campaign="other", form_ids=["testimony"])
    user, token = openrosa.add_app_user(form_case, "phone-2", form_ids=["testimony"])
    assert openrosa.app_user_by_token(form_case, token) == user and user.may_use("testimony", None)
    narrow = openrosa.AppUser(9, "phone-3", None, ("something-else",), False, "")
    with pytest.raises(openrosa.FormNotAllowed) as info:
        openrosa.receive(form_case, openrosa.Incoming(submission(), None, [], "phone-3", narrow))
    assert info.value.status == 404  # as for a form that does not exist: nothing to learn
    openrosa.set_form_state(form_case, "testimony", "closing")  # not listed; what devices queued still arrives
    assert openrosa.receive(form_case, incoming(submission(photo=None))).result == "created"
    openrosa.set_form_state(form_case, "testimony", "closed")
    with pytest.raises(openrosa.FormNotOpen, match="closed"):
        openrosa.receive(form_case, incoming(submission("uuid:0002")))
    with pytest.raises(openrosa.OpenRosaError, match="one of: open, closing, closed"):
        openrosa.set_form_state(form_case, "testimony", "shut")
    assert counts(form_case)[1] == 1


def test_campaigns_decide_which_forms_a_device_uses(case: Case) -> None:
    openrosa.add_form(case, FORM.read_bytes(), actor="tester", campaign="Zhanaozen")
    other = FORM.read_bytes().replace(b'id="testimony"', b'id="elsewhere"')
    openrosa.add_form(case, other, actor="tester", campaign="Shetpe")
    team_wide = FORM.read_bytes().replace(b'id="testimony"', b'id="team"')
    openrosa.add_form(case, team_wide, actor="tester")
    assert openrosa.latest_form(case, "testimony").campaign == "Zhanaozen"
    z, _ = openrosa.add_app_user(case, "z", campaign="Zhanaozen")
    z_narrow, _ = openrosa.add_app_user(case, "z-narrow", campaign="Zhanaozen", form_ids=["testimony"])
    listed, _ = openrosa.add_app_user(case, "listed", form_ids=["team", "elsewhere"])
    everything, _ = openrosa.add_app_user(case, "all")
    forms = openrosa.list_forms(case)

    def usable(user: openrosa.AppUser) -> set[str]:
        return {f.form_id for f in forms if user.may_use(f.form_id, f.campaign)}

    assert usable(z) == usable(z_narrow) == {"testimony"}  # a campaign's forms only; the list narrows further
    assert usable(listed) == {"team", "elsewhere"} and usable(everything) == {"testimony", "elsewhere", "team"}
    with pytest.raises(openrosa.FormNotAllowed, match="no form 'elsewhere'"):
        openrosa.receive(case, _as(z, submission(photo=None, form_id="elsewhere")))
    assert openrosa.receive(case, _as(z, submission(photo=None))).result == "created"
    # A new version without a campaign keeps the campaign of the version before.
    newer = FORM.read_bytes().replace(f'version="{VERSION}"'.encode(), b'version="2024010102"')
    assert openrosa.add_form(case, newer, actor="tester")[0].campaign == "Zhanaozen"
    verified(case)


def test_app_users_keep_only_digests_and_revoking_stops_the_token(case: Case) -> None:
    user, token = openrosa.add_app_user(case, "phone-1", campaign="Zhanaozen")
    with Session(case.engine) as s:
        stored = json.dumps([list(r) for r in s.execute(select(*openrosa.OdkAppUser.__table__.c))], default=str)
    assert token not in stored
    assert openrosa.app_user_ha1(case, "phone-1") == (user, openrosa.digest_ha1("phone-1", token))
    with pytest.raises(openrosa.AppUserError, match="exists"):
        openrosa.add_app_user(case, "phone-1")
    with pytest.raises(openrosa.AppUserError, match="no such form"):
        openrosa.add_app_user(case, "phone-9", form_ids=["nope"])
    openrosa.revoke_app_user(case, "phone-1")
    assert openrosa.app_user_by_token(case, token) is None and openrosa.app_user_ha1(case, "phone-1") is None


def test_an_encrypted_envelope_is_stored_as_received_with_its_files(form_case: Case, testdata: Path) -> None:
    public = (testdata / "odk" / "collect-test-public-key.pem").read_bytes()
    envelope, files = odkcrypto.encrypt_submission(
        submission("uuid:enc-1"), {"photo-1.jpg": b"jpeg"}, public, "testimony", VERSION, "uuid:enc-1"
    )
    out = openrosa.receive(form_case, incoming(envelope, files))
    assert out.result == "created" and out.complete
    [sub] = openrosa.list_submissions(form_case)
    assert sub.encrypted and {n for n, _ in sub.attachments} == set(files)
    with form_case.blobs.open(sub.xml_sha256) as f:
        assert f.read() == envelope
    verified(form_case)


CONTACT = "+7 700 555 0142 (placeholder)"


def test_identifying_answers_are_sealed_and_masked_wherever_the_text_is_read(form_case: Case) -> None:
    """The contact question of an unencrypted form: sealed on the receipt, masked in search text and claims."""
    from factfinder import pipeline
    from factfinder.db.models import ItemText, ProtectedField, TextClaim
    from factfinder.text import store as text_store
    from factfinder.vault import keys, masking

    assert openrosa.parse_xform(FORM.read_bytes()).identifying == ("contact",)
    what = "Police fired on the strikers in the square and 12 people were killed."
    out = openrosa.receive(form_case, incoming(submission(what=what, photo=None, contact=CONTACT)))
    xml_sha = out.recorded[0].sha256
    with Session(form_case.engine) as s:
        sealed = s.scalars(select(ProtectedField)).all()
        assert [p.field for p in sealed] == ["answer:contact"]
        assert CONTACT.encode() not in sealed[0].ciphertext
    identity = keys.load_identity(form_case.path / "keys" / "witness-identity.age")
    [(_, opened)] = form_case.reveal(xml_sha, identity, actor="investigator")
    assert opened == {"answer:contact": CONTACT}
    with form_case.blobs.open(xml_sha) as f:
        assert CONTACT.encode() in f.read()  # the original is kept byte for byte

    pipeline.process(form_case, [xml_sha])
    item = form_case.resolve(xml_sha)
    with Session(form_case.engine) as s:
        indexed = s.scalars(select(ItemText.body).where(ItemText.item_id == item.id)).one()
    assert "+7 700" not in indexed and "0142" not in indexed and "strikers in the square" in indexed
    text = text_store.item_text(form_case, item)
    assert "0142" not in text and masking.MASK in text
    with Session(form_case.engine) as s:
        claims = s.scalars(select(TextClaim).where(TextClaim.item_id == item.id)).all()
    assert claims and all("0142" not in c.body and "+7 700" not in c.body for c in claims)
    original = form_case.blobs.path(xml_sha).read_text(encoding="utf-8")
    assert all(original[c.start : c.end] == c.quote for c in claims)  # offsets hold in the original too
    verified(form_case)


def test_an_encrypted_or_contactless_submission_seals_nothing(form_case: Case) -> None:
    from factfinder.db.models import ProtectedField

    openrosa.receive(form_case, incoming(submission("uuid:quiet", photo=None)))
    with Session(form_case.engine) as s:
        assert s.scalar(select(func.count(ProtectedField.id))) == 0
    parsed = openrosa.parse_submission(submission("uuid:x", contact=CONTACT))
    form = openrosa.parse_xform(FORM.read_bytes())
    assert openrosa.sealed_answers(parsed, form) == {"answer:contact": CONTACT}
    import dataclasses

    assert openrosa.sealed_answers(dataclasses.replace(parsed, encrypted=True), form) == {}


INLINE_FORM = b"""<h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml">
<h:head><h:title>Inline</h:title><model>
<instance><data id="inline" version="1"><q1/><witness><a1/><a2/></witness><story/><meta><instanceID/></meta></data>
</instance>
<bind nodeset="/data/q1" type="string"/><bind nodeset="/data/witness/a1" type="string"/>
<bind nodeset="/data/witness/a2" type="string"/><bind nodeset="/data/story" type="string"/>
</model></h:head>
<h:body>
<input ref="/data/q1"><label>Witness full name</label></input>
<group ref="/data/witness"><label>Contact details</label>
<input ref="/data/witness/a1"><label>First</label></input><input ref="/data/witness/a2"><label>Second</label></input>
</group>
<input ref="/data/story"><label>What happened?</label><hint>In your own words.</hint></input>
</h:body></h:html>"""


def test_inline_labels_and_groups_seal_their_answers(case: Case) -> None:
    """pyxform writes a one-language form's labels inline; a group's label seals every answer in it."""
    from factfinder.text import store as text_store

    assert openrosa.identifying_fields(INLINE_FORM) == ["q1", "witness"]
    openrosa.add_form(case, INLINE_FORM, actor="tester")
    xml = (
        b"<data id='inline' version='1'><q1>Placeholder Name-Sealed</q1><witness><a1>+7 705 555 0111</a1>"
        b"<a2>placeholder_tg</a2></witness><story>The square at noon.</story>"
        b"<meta><instanceID>uuid:inline-1</instanceID></meta></data>"
    )
    sha = openrosa.receive(case, incoming(xml)).recorded[0].sha256
    identity = keys.load_identity(case.path / "keys" / "witness-identity.age")
    [(_, opened)] = case.reveal(sha, identity, actor="investigator")
    assert opened == {"answer:q1": "Placeholder Name-Sealed", "answer:witness": "+7 705 555 0111\nplaceholder_tg"}
    shown = text_store.item_text(case, case.resolve(sha))
    for secret in ("Name-Sealed", "0111", "placeholder_tg"):
        assert secret not in shown
    assert "The square at noon." in shown
    verified(case)


def test_what_the_phone_fills_in_about_itself_is_sealed() -> None:
    """XLSForm's deviceid, simserial, subscriberid (and phonenumber, username, email) metadata."""
    binds = "".join(
        f'<bind nodeset="/data/{n}" type="string" jr:preload="property" jr:preloadParams="{n}"/>'
        for n in ("deviceid", "simserial", "subscriberid")
    )
    form = INLINE_FORM.replace(b"<h:html ", b'<h:html xmlns:jr="http://openrosa.org/javarosa" ', 1).replace(
        b"</model>", binds.encode() + b"</model>", 1
    )
    assert openrosa.identifying_fields(form) == ["deviceid", "simserial", "subscriberid", "q1", "witness"]


def test_a_form_whose_identifying_question_cannot_be_sealed_is_refused(case: Case) -> None:
    long_name = "witness_contact_" + "x" * 50
    form = INLINE_FORM.replace(b"/data/q1", f"/data/{long_name}".encode()).replace(b"<q1/>", f"<{long_name}/>".encode())
    with pytest.raises(openrosa.OpenRosaError, match="cannot be sealed"):
        openrosa.add_form(case, form, actor="tester")
    assert openrosa.list_forms(case) == []


def test_a_submission_that_is_not_utf8_is_refused(form_case: Case) -> None:
    xml = submission("uuid:utf16", photo=None, contact=CONTACT).decode()
    xml = xml.replace('version="1.0"?>', 'version="1.0" encoding="UTF-16"?>', 1)
    with pytest.raises(openrosa.OpenRosaError, match="not UTF-8"):
        openrosa.receive(form_case, incoming(xml.encode("utf-16")))
    assert counts(form_case) == (1, 0, 0)  # the form's receipt only


def test_xml_indexed_before_its_answers_were_sealed_is_indexed_again_masked(form_case: Case) -> None:
    """The same XML added as a file first, then submitted: its unmasked search text and reading go."""
    from factfinder import pipeline
    from factfinder.db.models import ItemText

    xml = submission("uuid:twice", what="A placeholder account.", photo=None, contact=CONTACT)
    first = form_case.add_bytes(xml, actor="tester", channel="files", original_name="found-on-a-laptop.xml")
    pipeline.process(form_case, [first.sha256])
    item = form_case.resolve(first.sha256)
    with Session(form_case.engine) as s:
        assert "0142" in s.scalars(select(ItemText.body).where(ItemText.item_id == item.id)).one()
    openrosa.receive(form_case, incoming(xml))
    pipeline.process(form_case, [first.sha256])
    with Session(form_case.engine) as s:
        body = s.scalars(select(ItemText.body).where(ItemText.item_id == item.id)).one()
    assert "0142" not in body and "A placeholder account." in body
    verified(form_case)


def test_verify_notices_an_altered_openrosa_row(form_case: Case) -> None:
    openrosa.receive(form_case, incoming(submission(), {"photo-1.jpg": b"jpeg bytes 1"}))
    with form_case.engine.begin() as conn:
        conn.execute(update(OdkAttachment).values(sha256="0" * 64))
        conn.execute(update(OdkSubmission).values(complete=False))
    problems = audit.AuditReport()
    with Session(form_case.engine) as s:
        openrosa.check_rows(s, _entries(form_case), problems)
    details = " ".join(str(p) for p in problems.problems)
    assert not problems.ok and "attachment photo-1.jpg" in details and "complete flag" in details


# -- the CLI -----------------------------------------------------------------------------------


@pytest.mark.once_on_postgres  # the commands and keys; their database work runs on PostgreSQL in the tests above
def test_the_odk_commands(cli: Cli, tmp_path: Path, testdata: Path) -> None:
    case_dir = tmp_path / "c"
    cli("init", case_dir, "--title", "ODK")
    _, out, err = cli("odk", "form", "add", case_dir, XLSFORM, "--campaign", "Z")
    assert "form testimony version 2024010101 added" in out
    assert "warning" in err and "contact" in err and "not encrypted" in err  # the contact question, in clear
    assert "sealed and masked" in err
    _, out, _ = cli("odk", "form", "list", case_dir, "--json")
    assert json.loads(out)[0]["form_id"] == "testimony"
    _, out, _ = cli("odk", "app-user", "add", case_dir, "phone-1", "--campaign", "Z", "--form", "testimony")
    token = out.split("/key/", 1)[1].split()[0]
    _, out, _ = cli("odk", "app-user", "list", case_dir, "--json")
    assert json.loads(out) == [
        {
            "name": "phone-1",
            "campaign": "Z",
            "forms": ["testimony"],
            "revoked": False,
            "created_at_vault_clock": json.loads(out)[0]["created_at_vault_clock"],
        }
    ]
    assert token not in out
    with Case.open(case_dir) as case:
        openrosa.receive(case, incoming(submission(), {"photo-1.jpg": b"jpeg"}))
    _, out, _ = cli("odk", "submissions", case_dir, "--json")
    assert json.loads(out)[0]["instance_id"] == "uuid:0001" and json.loads(out)[0]["complete"] is True
    cli("odk", "app-user", "revoke", case_dir, "phone-1")
    _, _, err = cli("odk", "app-user", "revoke", case_dir, "nobody", code=2)
    assert "no app user named 'nobody'" in err
    _, _, err = cli("odk", "form", "add", case_dir, FORM.with_name("make_testimony.py"), code=2)
    assert "well-formed" in err
    key = testdata / "odk" / "collect-test-private-key.pem"
    _, out, _ = cli("odk", "decrypt", case_dir, "--key", key)
    assert "0 submission(s) decrypted" in out
    _, out, _ = cli("verify", case_dir)
    cli("odk", "form", "close", case_dir, "testimony")
    _, out, _ = cli("odk", "form", "list", case_dir, "--json")
    assert json.loads(out)[0]["state"] == "closing" and json.loads(out)[0]["campaign"] == "Z"
    cli("odk", "form", "close", case_dir, "testimony", "--refuse")
    _, out, _ = cli("odk", "form", "list", case_dir, "--json")
    assert json.loads(out)[0]["state"] == "closed"


@pytest.mark.once_on_postgres  # the commands and keys; their database work runs on PostgreSQL in the tests above
def test_keygen_encrypted_forms_and_decrypting_with_a_passphrase(cli: Cli, tmp_path: Path) -> None:
    case_dir, prefix, phrase = tmp_path / "c", tmp_path / "keys" / "team", tmp_path / "phrase.txt"
    phrase.write_text("correct horse battery staple\n")
    cli("init", case_dir, "--title", "ODK")
    _, _, err = cli("odk", "keygen", prefix, "--bits", "2048", code=2)  # no terminal to ask at, no file
    assert "passphrase" in err
    cli("odk", "keygen", prefix, "--bits", "2048", "--passphrase-file", phrase)
    private, public = prefix.with_name("team-private.pem"), prefix.with_name("team-public.pem")
    assert private.stat().st_mode & 0o077 == 0 and b"ENCRYPTED PRIVATE KEY" in private.read_bytes()
    _, _, err = cli("odk", "keygen", prefix, "--bits", "2048", "--passphrase-file", phrase, code=2)
    assert "exists already" in err
    _, out, err = cli("odk", "form", "add", case_dir, FORM, "--encrypt-to", public)
    assert "encrypted submissions" in out and "warning" not in err
    with Case.open(case_dir) as case:
        [info] = openrosa.list_forms(case)
        with case.blobs.open(info.item_sha256) as f:
            served = f.read()
        key = openrosa.parse_xform(served).public_key
        assert info.encrypted and key == odkcrypto.public_key_for_form(public.read_bytes())
        envelope, files = odkcrypto.encrypt_submission(
            submission("uuid:enc-1"), {"photo-1.jpg": b"jpeg"}, public.read_bytes(), "testimony", VERSION, "uuid:enc-1"
        )
        openrosa.receive(case, incoming(envelope, files))
    _, _, err = cli("odk", "decrypt", case_dir, "--key", private, code=2)  # encrypted key, no terminal, no file
    assert "passphrase" in err
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("not it\n")
    _, _, err = cli("odk", "decrypt", case_dir, "--key", private, "--passphrase-file", wrong, code=2)
    assert "passphrase is wrong" in err
    _, out, _ = cli("odk", "decrypt", case_dir, "--key", private, "--passphrase-file", phrase)
    assert "1 submission(s) decrypted" in out
    # Another key for a form that carries one already is refused; the same key again changes nothing.
    other = tmp_path / "other"
    cli("odk", "keygen", other, "--bits", "2048", "--passphrase-file", phrase)
    _, _, err = cli("odk", "form", "add", case_dir, FORM, "--encrypt-to", other.with_name("other-public.pem"), code=2)
    assert "already" in err  # the encrypted variant of this version is held: a new key needs a new version
    cli("verify", case_dir)


def test_the_key_goes_into_a_form_byte_for_byte_elsewhere(testdata: Path) -> None:
    public = (testdata / "odk" / "collect-test-public-key.pem").read_bytes()
    key = odkcrypto.public_key_for_form(public)
    data = FORM.read_bytes()
    encrypted = openrosa.with_public_key(data, key)
    assert openrosa.parse_xform(encrypted).public_key == key
    head, _, tail = encrypted.partition(f'<submission base64RsaPublicKey="{key}"/>'.encode())
    assert head + tail == data  # nothing else changed
    assert openrosa.with_public_key(encrypted, key) == encrypted
    with pytest.raises(openrosa.OpenRosaError, match="another encryption key"):
        openrosa.with_public_key(encrypted.replace(key[10:20].encode(), b"A" * 10), key)
    with_tag = data.replace(b"</model>", b'<submission method="post"/></model>')
    assert b'<submission base64RsaPublicKey="' in openrosa.with_public_key(with_tag, key)
    assert openrosa.identifying_fields(data) == ["contact"]
