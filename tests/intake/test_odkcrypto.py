"""ODK encrypted submissions: Collect's own vectors, both directions of the scheme, refusals, case working copies."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import Connection, insert, select
from sqlalchemy.orm import Session

from factfinder.db.models import Derivative, Item, OdkAttachment, OdkSubmission
from factfinder.intake import odkcrypto
from factfinder.intake.odkcrypto import OdkCryptoError
from factfinder.vault import audit, custody
from factfinder.vault.case import Case, NewReceipt, Recorded
from factfinder.vault.errors import IntakeError

ODK = "odk"
FORM_ID = "testimony"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(range(256)) * 3 + b"\xff\xd9"


def plain_form(instance_id: str, photo: str = "photo.jpg") -> bytes:
    return (
        f'<?xml version="1.0"?><data id="{FORM_ID}" version="3"><meta><instanceID>{instance_id}</instanceID></meta>'
        f"<account>Shooting near the square</account><photo>{photo}</photo></data>"
    ).encode()


@pytest.fixture(scope="module")
def vectors(testdata: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((testdata / ODK / "collect-encryption-vectors.json").read_text())
    return data


@pytest.fixture(scope="module")
def private_pem(testdata: Path) -> bytes:
    return (testdata / ODK / "collect-test-private-key.pem").read_bytes()


@pytest.fixture(scope="module")
def public_pem(testdata: Path) -> bytes:
    return (testdata / ODK / "collect-test-public-key.pem").read_bytes()


@pytest.fixture(scope="module")
def other_private_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


# -- Collect's vectors -------------------------------------------------------------------


def test_key_unwrap_gives_the_vectors_aes_key(vectors: dict[str, Any], private_pem: bytes) -> None:
    v = vectors["key_unwrap"]
    assert odkcrypto.unwrap_key(v["encrypted_key_b64"], private_pem) == base64.b64decode(v["aes_key_b64"])


def test_every_iv_is_the_vectors(vectors: dict[str, Any]) -> None:
    v = vectors["ivs"]
    key = base64.b64decode(v["aes_key_b64"])
    assert v["expected_hex"]  # the vectors hold IVs to check
    for index, expected in v["expected_hex"].items():
        assert odkcrypto.file_iv(v["instance_id"], key, int(index)).hex() == expected, index


def test_end_to_end_vector_decrypts_byte_exact(vectors: dict[str, Any], private_pem: bytes) -> None:
    v = vectors["end_to_end"]
    key = odkcrypto.unwrap_key(v["encrypted_key_b64"], private_pem)
    iv = odkcrypto.file_iv(v["instance_id"], key, v["iv_index"])
    assert odkcrypto.decrypt_file(base64.b64decode(v["ciphertext_b64"]), key, iv) == v["plaintext"].encode()


def test_a_wrong_private_key_is_a_clear_error(vectors: dict[str, Any], other_private_pem: bytes) -> None:
    with pytest.raises(OdkCryptoError, match="cannot open the submission's key"):
        odkcrypto.unwrap_key(vectors["key_unwrap"]["encrypted_key_b64"], other_private_pem)


def test_a_flipped_last_byte_fails_the_padding(vectors: dict[str, Any], private_pem: bytes) -> None:
    v = vectors["end_to_end"]
    key = odkcrypto.unwrap_key(v["encrypted_key_b64"], private_pem)
    ciphertext = bytearray(base64.b64decode(v["ciphertext_b64"]))
    ciphertext[-1] ^= 0x01
    with pytest.raises(OdkCryptoError, match="wrong key, or its bytes were altered"):
        odkcrypto.decrypt_file(bytes(ciphertext), key, odkcrypto.file_iv(v["instance_id"], key, v["iv_index"]))


def test_a_wrong_aes_key_or_truncated_file_is_refused(vectors: dict[str, Any]) -> None:
    v = vectors["end_to_end"]
    ciphertext = base64.b64decode(v["ciphertext_b64"])
    with pytest.raises(OdkCryptoError, match="multiple of 16"):
        odkcrypto.decrypt_file(ciphertext[:-1], bytes(32), bytes(16))
    with pytest.raises(OdkCryptoError, match="32 bytes"):
        odkcrypto.decrypt_file(ciphertext, bytes(16), bytes(16))


def test_a_passphrase_protected_key(vectors: dict[str, Any], private_pem: bytes) -> None:
    key = serialization.load_pem_private_key(private_pem, None)
    locked = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"road block"),
    )
    v = vectors["key_unwrap"]
    assert odkcrypto.unwrap_key(v["encrypted_key_b64"], locked, "road block") == base64.b64decode(v["aes_key_b64"])
    with pytest.raises(OdkCryptoError, match="passphrase"):
        odkcrypto.unwrap_key(v["encrypted_key_b64"], locked)
    with pytest.raises(OdkCryptoError, match="passphrase is wrong"):
        odkcrypto.unwrap_key(v["encrypted_key_b64"], locked, "wrong")


# -- both ends: encrypt as Collect does, decrypt as a server does ---------------------------------


def test_round_trip_with_media(public_pem: bytes, private_pem: bytes) -> None:
    iid = "uuid:5b1c5f0e-0000-4000-8000-000000000001"
    media = {"photo.jpg": JPEG, "voice.m4a": b"\x00\x00\x00\x18ftypM4A " + b"a" * 40}
    envelope_xml, files = odkcrypto.encrypt_submission(plain_form(iid), media, public_pem, FORM_ID, "3", iid)
    assert set(files) == {"photo.jpg.enc", "voice.m4a.enc", "submission.xml.enc"}
    assert JPEG not in files["photo.jpg.enc"]
    assert odkcrypto.is_encrypted_envelope(envelope_xml)
    assert not odkcrypto.is_encrypted_envelope(plain_form(iid))
    envelope = odkcrypto.parse_envelope(envelope_xml)
    assert (envelope.form_id, envelope.version, envelope.instance_id) == (FORM_ID, "3", iid)
    assert envelope.files == ("photo.jpg.enc", "voice.m4a.enc", "submission.xml.enc")
    opened = odkcrypto.decrypt_submission(envelope_xml, files, private_pem)
    assert opened.submission_xml == plain_form(iid)
    assert opened.media == media
    assert list(opened.media) == ["photo.jpg", "voice.m4a"]


def test_round_trip_without_version_or_media_and_with_the_forms_key(public_pem: bytes, private_pem: bytes) -> None:
    iid = "uuid:5b1c5f0e-0000-4000-8000-000000000002"
    form_key = odkcrypto.public_key_for_form(public_pem)
    spki = serialization.load_pem_public_key(public_pem).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert base64.b64decode(form_key) == spki
    envelope_xml, files = odkcrypto.encrypt_submission(plain_form(iid), {}, form_key, FORM_ID, None, iid)
    assert b"version=" not in envelope_xml.split(b"?>", 1)[1]  # only the XML declaration's
    assert odkcrypto.parse_envelope(envelope_xml).version is None
    assert odkcrypto.decrypt_submission(envelope_xml, files, private_pem).submission_xml == plain_form(iid)


def test_an_altered_middle_byte_fails_the_element_signature(public_pem: bytes, private_pem: bytes) -> None:
    """CFB lets a flipped byte in the middle decrypt with good padding: the signature is what catches it."""
    iid = "uuid:5b1c5f0e-0000-4000-8000-000000000003"
    envelope_xml, files = odkcrypto.encrypt_submission(
        plain_form(iid), {"photo.jpg": JPEG}, public_pem, FORM_ID, "3", iid
    )
    altered = bytearray(files["photo.jpg.enc"])
    altered[100] ^= 0x20
    with pytest.raises(OdkCryptoError, match="element signature does not match"):
        odkcrypto.decrypt_submission(envelope_xml, {**files, "photo.jpg.enc": bytes(altered)}, private_pem)


def test_swapped_or_missing_files_and_wrong_key_are_refused(
    public_pem: bytes, private_pem: bytes, other_private_pem: bytes
) -> None:
    a, b = "uuid:5b1c5f0e-0000-4000-8000-00000000000a", "uuid:5b1c5f0e-0000-4000-8000-00000000000b"
    env_a, files_a = odkcrypto.encrypt_submission(plain_form(a), {"photo.jpg": JPEG}, public_pem, FORM_ID, "3", a)
    _, files_b = odkcrypto.encrypt_submission(plain_form(b), {"photo.jpg": JPEG}, public_pem, FORM_ID, "3", b)
    with pytest.raises(OdkCryptoError):
        odkcrypto.decrypt_submission(env_a, {**files_a, "photo.jpg.enc": files_b["photo.jpg.enc"]}, private_pem)
    with pytest.raises(OdkCryptoError, match=r"missing its file 'photo\.jpg\.enc'"):
        odkcrypto.decrypt_submission(env_a, {"submission.xml.enc": files_a["submission.xml.enc"]}, private_pem)
    with pytest.raises(OdkCryptoError, match="cannot open"):
        odkcrypto.decrypt_submission(env_a, files_a, other_private_pem)


def test_verify_signature_on_its_own(public_pem: bytes, private_pem: bytes) -> None:
    iid = "uuid:5b1c5f0e-0000-4000-8000-000000000004"
    envelope_xml, _ = odkcrypto.encrypt_submission(plain_form(iid), {"photo.jpg": JPEG}, public_pem, FORM_ID, "3", iid)
    envelope = odkcrypto.parse_envelope(envelope_xml)
    odkcrypto.verify_signature(envelope, plain_form(iid), {"photo.jpg": JPEG}, private_pem)
    with pytest.raises(OdkCryptoError, match="does not match"):
        odkcrypto.verify_signature(envelope, plain_form(iid), {"photo.jpg": JPEG[:-1]}, private_pem)


# -- malformed envelopes ---------------------------------------------------------------------

GOOD = (
    '<data xmlns="http://www.opendatakit.org/xforms/encrypted" id="f" encrypted="yes">'
    "<base64EncryptedKey>AAAA</base64EncryptedKey>"
    '<meta xmlns="http://openrosa.org/xforms"><instanceID>uuid:1</instanceID></meta>'
    "{media}<encryptedXmlFile>{xml}</encryptedXmlFile>"
    "<base64EncryptedElementSignature>AAAA</base64EncryptedElementSignature></data>"
)


def envelope(media: str = "<media><file>a.jpg.enc</file></media>", xml: str = "submission.xml.enc") -> bytes:
    return GOOD.format(media=media, xml=xml).encode()


def test_a_well_formed_envelope_parses() -> None:
    parsed = odkcrypto.parse_envelope(envelope())
    assert parsed.media_files == ("a.jpg.enc",) and parsed.encrypted_xml_file == "submission.xml.enc"
    assert parsed.instance_id == "uuid:1" and parsed.version is None


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        (b"not xml at all", "not well-formed"),
        (
            b'<!DOCTYPE data [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><data encrypted="yes">&b;</data>',
            "DOCTYPE",
        ),
        (b'<!DOCTYPE data SYSTEM "file:///etc/passwd"><data encrypted="yes"/>', "DOCTYPE"),
        (envelope().replace(b'encrypted="yes"', b""), 'encrypted="yes"'),
        (envelope().replace(b'id="f" ', b""), "no form id"),
        (envelope().replace(b"<base64EncryptedKey>AAAA</base64EncryptedKey>", b""), "base64EncryptedKey"),
        (envelope().replace(b"<instanceID>uuid:1</instanceID>", b"<instanceID/>"), "instanceID"),
        (envelope(media="<media><file>../../etc/passwd.enc</file></media>"), "not a plain '.enc' file name"),
        (envelope(media="<media><file>a.jpg</file></media>"), "not a plain '.enc' file name"),
        (envelope(xml="a.jpg.enc"), "same file twice"),
        (
            envelope().replace(b"<base64EncryptedElementSignature>AAAA</base64EncryptedElementSignature>", b""),
            "base64EncryptedElementSignature",
        ),
    ],
)
def test_a_malformed_envelope_is_refused_with_a_reason(xml: bytes, message: str) -> None:
    with pytest.raises(OdkCryptoError, match=message):
        odkcrypto.parse_envelope(xml)


def test_the_error_is_an_intake_error() -> None:
    assert issubclass(OdkCryptoError, IntakeError)
    assert not odkcrypto.is_encrypted_envelope(b"<!DOCTYPE x><x/>")


def test_weak_or_non_rsa_public_keys_are_refused() -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    pem = weak.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(OdkCryptoError, match="at least 2048"):
        odkcrypto.public_key_for_form(pem)
    with pytest.raises(OdkCryptoError, match="neither"):
        odkcrypto.public_key_for_form("not a key")


# -- the case: ciphertext kept as received, plaintext as working copies ----------------------------------


def receive(case: Case, envelope_xml: bytes, files: dict[str, bytes]) -> None:
    """Store an encrypted submission as OpenRosa intake does: each part an item, its rows in the same transaction."""
    parsed = odkcrypto.parse_envelope(envelope_xml)
    names = ["submission.xml", *files]
    receipts = [
        NewReceipt(blob=case.blobs.put_bytes(data), channel="openrosa", original_name=name)
        for name, data in [(names[0], envelope_xml), *files.items()]
    ]

    def rows(conn: Connection, recorded: list[Recorded]) -> None:
        now = custody.vault_clock()
        sub_id = conn.execute(
            insert(OdkSubmission).values(
                instance_id=parsed.instance_id,
                form_id=parsed.form_id,
                form_version=parsed.version,
                xml_sha256=recorded[0].sha256,
                encrypted=True,
                complete=True,
                submitter="device-1",
                log_index=recorded[0].log_index,
                at_vault_clock=now,
            )
        ).inserted_primary_key[0]
        conn.execute(
            insert(OdkAttachment),
            [
                {"submission_id": sub_id, "name": name, "sha256": r.sha256, "log_index": r.log_index}
                for name, r in zip(names[1:], recorded[1:], strict=True)
            ],
        )

    case.record(receipts, actor="openrosa", extra=rows)


def copies_of(case: Case, sha256: str) -> list[Derivative]:
    with Session(case.engine) as s:
        rows = list(
            s.scalars(select(Derivative).join(Item, Item.id == Derivative.item_id).where(Item.sha256 == sha256))
        )
        s.expunge_all()
        return rows


def test_case_decrypts_into_working_copies_once(case: Case, public_pem: bytes, private_pem: bytes) -> None:
    import hashlib

    good, bad = "uuid:5b1c5f0e-0000-4000-8000-0000000000c1", "uuid:5b1c5f0e-0000-4000-8000-0000000000c2"
    env_good, files_good = odkcrypto.encrypt_submission(
        plain_form(good), {"photo.jpg": JPEG}, public_pem, FORM_ID, "3", good
    )
    env_bad, files_bad = odkcrypto.encrypt_submission(
        plain_form(bad), {"photo.jpg": JPEG}, public_pem, FORM_ID, "3", bad
    )
    altered = bytearray(files_bad["photo.jpg.enc"])
    altered[50] ^= 0x01
    files_bad["photo.jpg.enc"] = bytes(altered)
    receive(case, env_good, files_good)
    receive(case, env_bad, files_bad)

    report = odkcrypto.decrypt_case_submissions(case, private_pem, actor="investigator")
    assert report.decrypted == [good]
    assert report.copies == 2
    assert [iid for iid, _ in report.failed] == [bad]
    assert "element signature does not match" in report.failed[0][1]

    (xml_copy,) = copies_of(case, hashlib.sha256(env_good).hexdigest())
    assert (xml_copy.step, xml_copy.step_version, xml_copy.media_type) == ("odk-decrypt", "1", "application/xml")
    with case.blobs.open(xml_copy.sha256) as fh:
        assert fh.read() == plain_form(good)
    (photo_copy,) = copies_of(case, hashlib.sha256(files_good["photo.jpg.enc"]).hexdigest())
    assert photo_copy.media_type == "image/jpeg"
    assert photo_copy.sha256 == hashlib.sha256(JPEG).hexdigest()

    # The altered submission: kept exactly as received, nothing derived from it.
    for data in (env_bad, *files_bad.values()):
        sha = hashlib.sha256(data).hexdigest()
        assert case.blobs.exists(sha)
        assert copies_of(case, sha) == []

    size = case.counts()["log_size"]
    again = odkcrypto.decrypt_case_submissions(case, private_pem, actor="investigator")
    assert (again.decrypted, again.copies, [iid for iid, _ in again.failed]) == ([], 0, [bad])
    assert case.counts()["log_size"] == size
    assert audit.verify_case(case).ok


def test_case_with_the_wrong_key_writes_nothing(case: Case, public_pem: bytes, other_private_pem: bytes) -> None:
    iid = "uuid:5b1c5f0e-0000-4000-8000-0000000000d1"
    env, files = odkcrypto.encrypt_submission(plain_form(iid), {}, public_pem, FORM_ID, "3", iid)
    receive(case, env, files)
    size = case.counts()["log_size"]
    report = odkcrypto.decrypt_case_submissions(case, other_private_pem, actor="investigator")
    assert report.decrypted == [] and report.copies == 0
    assert report.failed and report.failed[0][0] == iid and "cannot open" in report.failed[0][1]
    assert case.counts()["log_size"] == size
    assert audit.verify_case(case).ok


def test_a_generated_key_pair_is_passphrase_protected_and_works() -> None:
    private, public = odkcrypto.generate_key_pair(b"a passphrase", bits=2048)
    assert odkcrypto.private_key_is_encrypted(private) and b"ENCRYPTED" in private
    with pytest.raises(odkcrypto.OdkCryptoError, match="protected by a passphrase"):
        odkcrypto.load_private_key(private)
    envelope, files = odkcrypto.encrypt_submission(b"<data id='f'/>", {}, public, "f", None, "uuid:k-1")
    opened = odkcrypto.decrypt_submission(envelope, files, odkcrypto.load_private_key(private, b"a passphrase"))
    assert opened.submission_xml == b"<data id='f'/>"
    with pytest.raises(odkcrypto.OdkCryptoError, match="needs a passphrase"):
        odkcrypto.generate_key_pair(b"")
    with pytest.raises(odkcrypto.OdkCryptoError, match="at least 2048"):
        odkcrypto.generate_key_pair(b"x", bits=1024)
