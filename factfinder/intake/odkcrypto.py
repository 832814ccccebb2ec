"""ODK encrypted submissions: the ODK XForms "Encryption" sub-specification, both ends of it.

A form that carries an RSA public key (``<submission base64RsaPublicKey="...">``) makes ODK Collect (and
Enketo, KoboCollect, Tella) encrypt each filled form on the phone before it leaves: a seized phone's queue or
an intercepted upload gives nothing away, and neither does the intake server, which only ever holds ciphertext.
What arrives is a *submission manifest* (we call it the envelope: the XML part of the OpenRosa POST) and the
encrypted files it names. The scheme, as Collect v1.22 implements it and the shared test vectors confirm:

- a fresh AES-256 key per submission, wrapped with the form's RSA key using RSA-OAEP with SHA-256 and
  MGF1-SHA-256 (``base64EncryptedKey``). Enketo's encryptor uses MGF1-SHA-1, so unwrapping tries that second;
- every file (the media in the order the envelope lists them, then ``submission.xml``) is encrypted with
  AES-CFB (128-bit feedback) and PKCS#7 padding, and named ``<name>.enc``;
- the IVs come from one seed, MD5(instanceID as UTF-8 + AES key): before file *i*, byte *i* mod 16 of the seed
  is incremented (wrapping at 256), and the seed as it then stands is that file's IV;
- ``base64EncryptedElementSignature`` is the MD5 of the lines: form id, form version (only when the form has
  one), ``base64EncryptedKey``, instanceID, then ``name::md5hex(plaintext)`` for each media file and for the
  submission XML (names without ``.enc``), each line ending with ``\\n``; the 16-byte digest is RSA-OAEP-
  encrypted with the form's public key.

CFB has no authentication, so a wrong key or an altered byte could decrypt to garbage; we refuse that twice:
the padding must be valid, and the element signature must open and match the plaintexts. Mind what the
"signature" proves: anyone holding the public key (it is in the form) can make a whole new submission with a
valid one, so it shows that the files were not altered or swapped after the phone encrypted them, not who
sent them. Custody of who sent what is the custody log's job.

The envelope and the ``.enc`` files are evidentiary originals and stay as received; :func:`decrypt_case_
submissions` adds the plaintexts as working copies (step ``odk-decrypt``), each derived from its ciphertext.
The working copies are plaintext in the blob store: decrypt on the investigators' machine, not on an exposed
intake server.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.decrepit.ciphers.modes import CFB
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import padding as asym
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from factfinder.db.models import Derivative, Item, OdkAttachment, OdkSubmission
from factfinder.vault import sniff
from factfinder.vault.blobs import SNIFF_BYTES
from factfinder.vault.case import Case, NewDerivative
from factfinder.vault.errors import IntakeError

DECRYPT_STEP = "odk-decrypt"
DECRYPT_STEP_VERSION = "1"
ENCRYPTED_NS = "http://www.opendatakit.org/xforms/encrypted"  # what Collect writes; the spec shows another
OPENROSA_NS = "http://openrosa.org/xforms"
SUBMISSION_XML = "submission.xml"
ENC_SUFFIX = ".enc"
AES_KEY_BYTES = 32
IV_BYTES = 16
MIN_RSA_BITS = 2048
MAX_ENVELOPE_BYTES = 1 << 20  # a manifest is a few KiB; a megabyte names thousands of files

PrivateKeyInput = bytes | str | RSAPrivateKey
PublicKeyInput = bytes | str | RSAPublicKey


class OdkCryptoError(IntakeError):
    """An encrypted submission cannot be read: malformed envelope, wrong key, altered or missing file.

    The message says which, and never contains plaintext."""


@dataclass(frozen=True)
class Envelope:
    """What a submission manifest says; the files it names are listed with their ``.enc`` names."""

    form_id: str
    version: str | None  # None: the form has no version (then it is not part of the signature)
    instance_id: str
    encrypted_key_b64: str
    encrypted_xml_file: str
    media_files: tuple[str, ...]  # in the order they were encrypted: file i has IV i
    element_signature_b64: str

    @property
    def files(self) -> tuple[str, ...]:
        """Every encrypted file, in IV order: the media, then the submission XML."""
        return (*self.media_files, self.encrypted_xml_file)


@dataclass(frozen=True)
class Decrypted:
    """A submission opened and checked: the form data and its media, by their names on the phone."""

    envelope: Envelope
    submission_xml: bytes
    media: dict[str, bytes]  # original name (without ".enc") -> plaintext, in the envelope's order


@dataclass
class DecryptReport:
    """What a case-level decryption run did: submissions opened, copies added, and each refusal with why."""

    decrypted: list[str] = field(default_factory=list)  # instanceIDs
    copies: int = 0  # working copies recorded
    failed: list[tuple[str, str]] = field(default_factory=list)  # (instanceID, reason)


# -- the envelope ------------------------------------------------------------------------


class _NoDoctype(ET.TreeBuilder):
    """A tree builder that refuses a DOCTYPE: no entity expansion, no external entities, ever."""

    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        raise OdkCryptoError("the submission XML has a DOCTYPE, which no ODK client sends; refused")


def _parse_xml(xml: bytes) -> ET.Element:
    if len(xml) > MAX_ENVELOPE_BYTES:
        raise OdkCryptoError(f"the submission manifest is larger than {MAX_ENVELOPE_BYTES} bytes")
    parser = ET.XMLParser(target=_NoDoctype())
    try:
        parser.feed(xml)
        root: ET.Element = parser.close()
    except ET.ParseError as exc:
        raise OdkCryptoError(f"the submission manifest is not well-formed XML ({exc})") from None
    return root


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _children(el: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in el if _local(c.tag) == name]


def _one_text(root: ET.Element, name: str) -> str:
    found = _children(root, name)
    if len(found) != 1:
        raise OdkCryptoError(f"the submission manifest must have exactly one <{name}> (it has {len(found)})")
    text = (found[0].text or "").strip()
    if not text:
        raise OdkCryptoError(f"the submission manifest's <{name}> is empty")
    return text


def _file_name(name: str, what: str) -> str:
    """An encrypted file's name as the envelope gives it: a plain ``.enc`` name, never a path."""
    if (
        not name.endswith(ENC_SUFFIX)
        or len(name) <= len(ENC_SUFFIX)
        or "/" in name
        or "\\" in name
        or "\x00" in name
        or name.startswith(".")
    ):
        raise OdkCryptoError(f"the submission manifest names {what} {name!r}, which is not a plain '.enc' file name")
    return name


def _attribute(root: ET.Element, name: str) -> str | None:
    for key, value in root.attrib.items():
        if _local(key) == name:
            return value
    return None


def is_encrypted_envelope(xml: bytes) -> bool:
    """Whether an OpenRosa submission's XML part is an encrypted-submission manifest (never raises).

    True when the root says ``encrypted="yes"`` or carries a ``base64EncryptedKey``: such a part is to be
    kept as an envelope and read with :func:`parse_envelope`, which says what is wrong if it is malformed."""
    try:
        root = _parse_xml(xml)
    except OdkCryptoError:
        return False
    return (_attribute(root, "encrypted") or "").strip().lower() == "yes" or bool(_children(root, "base64EncryptedKey"))


def parse_envelope(xml: bytes) -> Envelope:
    """Read a submission manifest; :class:`OdkCryptoError` saying what is wrong if it is not a usable one."""
    root = _parse_xml(xml)
    if (_attribute(root, "encrypted") or "").strip().lower() != "yes":
        raise OdkCryptoError('the submission manifest does not say encrypted="yes"')
    form_id = (_attribute(root, "id") or "").strip()
    if not form_id:
        raise OdkCryptoError("the submission manifest has no form id")
    version = _attribute(root, "version")
    metas = _children(root, "meta")
    if len(metas) != 1:
        raise OdkCryptoError("the submission manifest must have exactly one <meta> with the instanceID")
    instance_id = _one_text(metas[0], "instanceID")
    encrypted_key = "".join(_one_text(root, "base64EncryptedKey").split())
    xml_file = _file_name(_one_text(root, "encryptedXmlFile"), "its form data file")
    media: list[str] = []
    for block in _children(root, "media"):
        for f in _children(block, "file"):
            media.append(_file_name((f.text or "").strip(), "a media file"))
    names = [*media, xml_file]
    if len(set(names)) != len(names):
        raise OdkCryptoError("the submission manifest names the same file twice")
    signature = "".join(_one_text(root, "base64EncryptedElementSignature").split())
    return Envelope(form_id, version, instance_id, encrypted_key, xml_file, tuple(media), signature)


# -- keys --------------------------------------------------------------------------------


def load_private_key(private_key_pem: PrivateKeyInput, password: str | bytes | None = None) -> RSAPrivateKey:
    """The investigators' RSA private key from PEM (PKCS#1 or PKCS#8, encrypted with ``password`` or not)."""
    if isinstance(private_key_pem, RSAPrivateKey):
        return private_key_pem
    data = private_key_pem.encode() if isinstance(private_key_pem, str) else private_key_pem
    pw = password.encode() if isinstance(password, str) else password
    try:
        key = serialization.load_pem_private_key(data, pw)
    except TypeError:
        raise OdkCryptoError(
            "the private key is protected by a passphrase: give it"
            if pw is None
            else "the private key is not protected by a passphrase: give none"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise OdkCryptoError("the private key is not a PEM RSA key, or the passphrase is wrong") from None
    if not isinstance(key, RSAPrivateKey):
        raise OdkCryptoError("the private key is not an RSA key (ODK encryption uses RSA)")
    return key


def load_public_key(public_key: PublicKeyInput) -> RSAPublicKey:
    """A form's RSA public key, from PEM or from the base64 DER a form's ``base64RsaPublicKey`` holds."""
    if isinstance(public_key, RSAPublicKey):
        return public_key
    data = public_key.encode() if isinstance(public_key, str) else public_key
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            key = serialization.load_pem_public_key(data)
        else:
            key = serialization.load_der_public_key(base64.b64decode(b"".join(data.split()), validate=True))
    except (ValueError, binascii.Error, UnsupportedAlgorithm):
        raise OdkCryptoError("the public key is neither a PEM public key nor base64 DER") from None
    if not isinstance(key, RSAPublicKey):
        raise OdkCryptoError("the public key is not an RSA key (ODK encryption uses RSA)")
    if key.key_size < MIN_RSA_BITS:
        raise OdkCryptoError(f"the RSA key has {key.key_size} bits; ODK forms need at least {MIN_RSA_BITS}")
    return key


def public_key_for_form(public_key_pem: PublicKeyInput) -> str:
    """The value of an XForm's ``<submission base64RsaPublicKey="...">``: base64 DER SubjectPublicKeyInfo."""
    der = load_public_key(public_key_pem).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode("ascii")


def generate_key_pair(passphrase: bytes, bits: int = 3072) -> tuple[bytes, bytes]:
    """A new RSA key pair for an encrypted form: (private PEM encrypted with ``passphrase``, public PEM).

    The private key stays with the investigators, never on the intake server; the passphrase protects it on a
    seized laptop or a backup. The public key goes into the form (``odk form add --encrypt-to``)."""
    if not passphrase:
        raise OdkCryptoError("the private key needs a passphrase")
    if bits < MIN_RSA_BITS:
        raise OdkCryptoError(f"an RSA key for ODK forms needs at least {MIN_RSA_BITS} bits")
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase),
    )
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


def private_key_is_encrypted(private_key_pem: bytes) -> bool:
    """Whether a PEM private key needs a passphrase to open (so the CLI knows whether to ask for one)."""
    try:
        serialization.load_pem_private_key(private_key_pem, None)
    except TypeError:
        return True
    except (ValueError, UnsupportedAlgorithm):
        return False  # not a key at all: loading it says so, with the passphrase or without
    return False


def _oaep(mgf_hash: hashes.HashAlgorithm) -> asym.OAEP:
    return asym.OAEP(mgf=asym.MGF1(mgf_hash), algorithm=hashes.SHA256(), label=None)


def _rsa_open(ciphertext_b64: str, key: RSAPrivateKey, what: str) -> bytes:
    """RSA-OAEP-SHA256 decryption: MGF1-SHA-256 as Collect does, else MGF1-SHA-1 as Enketo does."""
    try:
        ciphertext = base64.b64decode(ciphertext_b64, validate=True)
    except binascii.Error:
        raise OdkCryptoError(f"the {what} is not valid base64") from None
    for mgf_hash in (hashes.SHA256(), hashes.SHA1()):
        try:
            return key.decrypt(ciphertext, _oaep(mgf_hash))
        except ValueError:
            continue
    raise OdkCryptoError(
        f"the private key cannot open the {what}: the submission was encrypted to another key, or altered"
    )


def _rsa_seal(plaintext: bytes, key: RSAPublicKey) -> str:
    return base64.b64encode(key.encrypt(plaintext, _oaep(hashes.SHA256()))).decode("ascii")


def unwrap_key(encrypted_key_b64: str, private_key_pem: PrivateKeyInput, password: str | bytes | None = None) -> bytes:
    """The submission's AES-256 key, unwrapped from ``base64EncryptedKey`` with the investigators' key."""
    key = _rsa_open(encrypted_key_b64, load_private_key(private_key_pem, password), "submission's key")
    if len(key) != AES_KEY_BYTES:
        raise OdkCryptoError(f"the submission's key has {len(key)} bytes, not the {AES_KEY_BYTES} of AES-256")
    return key


# -- files -------------------------------------------------------------------------------


def file_iv(instance_id: str, key: bytes, index: int) -> bytes:
    """The IV of file ``index`` (0 is the first media file; the submission XML comes after the media).

    The seed is MD5(instanceID + key); before each file one more byte of it is incremented, cycling through
    the 16 bytes, so file ``index`` sees every increment up to and including its own."""
    if index < 0:
        raise ValueError("a file index is 0 or more")
    seed = bytearray(hashlib.md5(instance_id.encode("utf-8") + key).digest())
    for i in range(index + 1):
        seed[i % IV_BYTES] = (seed[i % IV_BYTES] + 1) % 256
    return bytes(seed)


def _aes_cfb(key: bytes, iv: bytes) -> Cipher[CFB]:
    if len(key) != AES_KEY_BYTES or len(iv) != IV_BYTES:
        raise OdkCryptoError("an AES-256 key has 32 bytes and its IV 16")
    return Cipher(algorithms.AES(key), CFB(iv))


def decrypt_file(ciphertext: bytes, key: bytes, iv: bytes) -> bytes:
    """One ``.enc`` file's plaintext; :class:`OdkCryptoError` if its length or padding shows it is not.

    Padding catches most wrong keys and altered last blocks, not all: :func:`verify_signature` is the check
    that the plaintext is the one the phone encrypted."""
    if not ciphertext or len(ciphertext) % 16:
        raise OdkCryptoError(f"an encrypted file has {len(ciphertext)} bytes, not a positive multiple of 16")
    decryptor = _aes_cfb(key, iv).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise OdkCryptoError("an encrypted file does not decrypt: wrong key, or its bytes were altered") from None


def encrypt_file(plaintext: bytes, key: bytes, iv: bytes) -> bytes:
    """AES-256-CFB with PKCS#7 padding: a ``.enc`` file as Collect writes it."""
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = _aes_cfb(key, iv).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


# -- the element signature -----------------------------------------------------------------


def _plain_name(enc_name: str) -> str:
    return enc_name[: -len(ENC_SUFFIX)]


def signature_source(
    form_id: str,
    version: str | None,
    encrypted_key_b64: str,
    instance_id: str,
    files: Sequence[tuple[str, bytes]],
) -> bytes:
    """The text the element signature digests: one line per element, each ending in a newline.

    ``files`` are (name without ``.enc``, plaintext) pairs: the media in order, then the submission XML."""
    lines = [form_id, *([version] if version is not None else []), encrypted_key_b64, instance_id]
    lines += [f"{name}::{hashlib.md5(data).hexdigest()}" for name, data in files]
    return "".join(line + "\n" for line in lines).encode("utf-8")


def verify_signature(
    envelope: Envelope,
    submission_xml: bytes,
    media: Mapping[str, bytes],
    private_key_pem: PrivateKeyInput,
    password: str | bytes | None = None,
) -> None:
    """Check the element signature against the plaintexts; :class:`OdkCryptoError` if it does not match.

    ``media`` is keyed by original name (without ``.enc``). A match shows the files are the ones the client
    encrypted, unaltered and not swapped between submissions."""
    try:
        files = [(_plain_name(n), media[_plain_name(n)]) for n in envelope.media_files]
    except KeyError as exc:
        raise OdkCryptoError(f"the media file {exc.args[0]!r} is missing") from None
    files.append((_plain_name(envelope.encrypted_xml_file), submission_xml))
    source = signature_source(
        envelope.form_id, envelope.version, envelope.encrypted_key_b64, envelope.instance_id, files
    )
    key = load_private_key(private_key_pem, password)
    digest = _rsa_open(envelope.element_signature_b64, key, "element signature")
    if not hmac.compare_digest(digest, hashlib.md5(source).digest()):
        raise OdkCryptoError(
            "the element signature does not match: a file was altered, swapped or decrypted with the wrong key"
        )


# -- whole submissions ---------------------------------------------------------------------


def _inner_instance_id(submission_xml: bytes) -> str | None:
    """The instanceID the form data itself carries, if it can be read."""
    try:
        parser = ET.XMLParser(target=_NoDoctype())
        parser.feed(submission_xml)
        data = parser.close()
    except (ET.ParseError, OdkCryptoError):
        return None
    for meta in _children(data, "meta"):
        for iid in _children(meta, "instanceID"):
            return (iid.text or "").strip() or None
    return None


def decrypt_submission(
    envelope_xml: bytes,
    files: Mapping[str, bytes],
    private_key_pem: PrivateKeyInput,
    password: str | bytes | None = None,
) -> Decrypted:
    """Open an encrypted submission and check it; ``files`` maps the ``.enc`` names to their bytes.

    Raises :class:`OdkCryptoError` for a malformed envelope, a missing file, a wrong key, bad padding, a
    signature that does not match, or form data whose instanceID is not the envelope's."""
    envelope = parse_envelope(envelope_xml)
    key_rsa = load_private_key(private_key_pem, password)
    aes_key = unwrap_key(envelope.encrypted_key_b64, key_rsa)
    plain: list[bytes] = []
    for index, name in enumerate(envelope.files):
        if name not in files:
            raise OdkCryptoError(f"the submission is missing its file {name!r}")
        try:
            plain.append(decrypt_file(files[name], aes_key, file_iv(envelope.instance_id, aes_key, index)))
        except OdkCryptoError as exc:
            raise OdkCryptoError(f"{name}: {exc}") from None
    media = {_plain_name(n): data for n, data in zip(envelope.media_files, plain[:-1], strict=True)}
    submission_xml = plain[-1]
    verify_signature(envelope, submission_xml, media, key_rsa)
    inner = _inner_instance_id(submission_xml)
    if inner is not None and inner != envelope.instance_id:
        raise OdkCryptoError("the form data's instanceID is not the one its envelope gives")
    return Decrypted(envelope, submission_xml, media)


def _manifest(
    form_id: str, version: str | None, instance_id: str, encrypted_key_b64: str, media: Sequence[str], sig: str
) -> bytes:
    """A submission manifest laid out as Collect writes it (one ``<media>`` per file, as Collect does)."""
    version_attr = f" version={quoteattr(version)}" if version is not None else ""
    parts = [
        "<?xml version='1.0' encoding='UTF-8' ?>",
        f'<data xmlns="{ENCRYPTED_NS}" id={quoteattr(form_id)}{version_attr} encrypted="yes">',
        f"<base64EncryptedKey>{encrypted_key_b64}</base64EncryptedKey>",
        f'<meta xmlns="{OPENROSA_NS}"><instanceID>{escape(instance_id)}</instanceID></meta>',
        *(f"<media><file>{escape(name)}</file></media>" for name in media),
        f"<encryptedXmlFile>{SUBMISSION_XML}{ENC_SUFFIX}</encryptedXmlFile>",
        f"<base64EncryptedElementSignature>{sig}</base64EncryptedElementSignature>",
        "</data>",
    ]
    return "".join(parts).encode("utf-8")


def encrypt_submission(
    plain_xml: bytes,
    media: Mapping[str, bytes],
    public_key_pem: PublicKeyInput,
    form_id: str,
    version: str | None,
    instance_id: str,
) -> tuple[bytes, dict[str, bytes]]:
    """Encrypt a filled form as Collect does: the envelope XML and the ``.enc`` files by name.

    For tests and tools that must make realistic encrypted submissions without a phone; ``media`` is keyed
    by the file names the form data refers to, and is encrypted in that order."""
    public_key = load_public_key(public_key_pem)
    for name in media:
        _file_name(name + ENC_SUFFIX, "a media file")
    aes_key = os.urandom(AES_KEY_BYTES)
    encrypted_key_b64 = _rsa_seal(aes_key, public_key)
    plain = [*media.items(), (SUBMISSION_XML, plain_xml)]
    files = {
        name + ENC_SUFFIX: encrypt_file(data, aes_key, file_iv(instance_id, aes_key, index))
        for index, (name, data) in enumerate(plain)
    }
    source = signature_source(form_id, version, encrypted_key_b64, instance_id, plain)
    signature = _rsa_seal(hashlib.md5(source).digest(), public_key)
    media_names = [name + ENC_SUFFIX for name in media]
    return _manifest(form_id, version, instance_id, encrypted_key_b64, media_names, signature), files


# -- the case's working copies ---------------------------------------------------------------


def _open_stored(case: Case, envelope_item: Item, named: Mapping[str, Item], key: RSAPrivateKey) -> Decrypted:
    """Read a stored submission's envelope and ``.enc`` items from the blob store and open them."""
    try:
        with case.blobs.open(envelope_item.sha256) as fh:
            envelope_xml = fh.read()
        files: dict[str, bytes] = {}
        for name, item in named.items():
            with case.blobs.open(item.sha256) as fh:
                files[name] = fh.read()
    except OSError as exc:
        raise OdkCryptoError(f"a stored file of the submission cannot be read ({exc.strerror})") from None
    return decrypt_submission(envelope_xml, files, key)


def decrypt_case_submissions(
    case: Case, private_key_pem: PrivateKeyInput, *, actor: str, password: str | bytes | None = None
) -> DecryptReport:
    """Decrypt every complete encrypted submission not yet decrypted into working copies.

    The plaintext form data becomes a working copy of the envelope item, each plaintext media file a
    working copy of its own ``.enc`` item (one copy per item and step), all of a submission in one custody
    transaction. A submission that does not open (wrong key, altered or missing file) is reported by its
    instanceID with the reason, and nothing is written for it; its ciphertext stays as received. Running it
    again adds nothing for what is done, and retries what failed."""
    key = load_private_key(private_key_pem, password)
    report = DecryptReport()
    with Session(case.engine) as s:
        done = and_(
            Derivative.item_id == Item.id,
            Derivative.step == DECRYPT_STEP,
            Derivative.step_version == DECRYPT_STEP_VERSION,
        )
        pending = s.execute(
            select(OdkSubmission, Item)
            .join(Item, Item.sha256 == OdkSubmission.xml_sha256)
            .where(OdkSubmission.encrypted.is_(True), OdkSubmission.complete.is_(True))
            .where(~select(Derivative.id).where(done).exists())
            .order_by(OdkSubmission.id)
        ).all()
        attachments: dict[int, dict[str, str]] = {}
        for sub_id, name, sha in s.execute(
            select(OdkAttachment.submission_id, OdkAttachment.name, OdkAttachment.sha256).where(
                OdkAttachment.submission_id.in_([sub.id for sub, _ in pending])
            )
        ):
            if sha is not None:  # not arrived yet (a complete submission has none such)
                attachments.setdefault(sub_id, {})[name] = sha
        items = {
            i.sha256: i
            for i in s.scalars(
                select(Item).where(
                    Item.sha256.in_(sorted({sha for names in attachments.values() for sha in names.values()}))
                )
            )
        }
        s.expunge_all()
    for submission, envelope_item in pending:
        named = {name: items[sha] for name, sha in attachments.get(submission.id, {}).items() if sha in items}
        try:
            opened = _open_stored(case, envelope_item, named, key)
            if opened.envelope.instance_id != submission.instance_id:
                raise OdkCryptoError("the envelope's instanceID is not the one the submission was received under")
        except OdkCryptoError as exc:
            report.failed.append((submission.instance_id, str(exc)))
            continue
        copies = [
            NewDerivative(
                envelope_item,
                case.blobs.put_bytes(opened.submission_xml),
                DECRYPT_STEP,
                DECRYPT_STEP_VERSION,
                "application/xml",
            )
        ]
        for enc_name in opened.envelope.media_files:
            data = opened.media[_plain_name(enc_name)]
            copies.append(
                NewDerivative(
                    named[enc_name],
                    case.blobs.put_bytes(data),
                    DECRYPT_STEP,
                    DECRYPT_STEP_VERSION,
                    sniff.media_type(data[:SNIFF_BYTES]),
                )
            )
        report.copies += case.record_derivatives(copies, actor=actor)
        report.decrypted.append(submission.instance_id)
    return report
