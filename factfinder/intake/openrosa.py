"""The OpenRosa channel: XForms served to ODK Collect and its kin, their app users, and their submissions.

Implements the storage side of OpenRosa 1.0 (the Form List, Form Submission
and Authentication APIs, https://docs.getodk.org/openrosa/) with ODK Central's
rules for what a repeated or edited submission means, so that a phone that
queued its work through a blackout can send it, and send it again, without
anything being lost or counted twice:

- A form's XForm bytes are an item of the case (channel ``openrosa-form``): a
  submission is only as readable as the form it answered. A new version of a
  form is a new row, never an edit. Media files a form names (its manifest)
  are recorded in the same batch as the form.
- A submission is identified by its ``instanceID``. The first arrival records
  the XML and every attachment that came with it, and an :class:`OdkAttachment`
  row for each file the XML names (empty until it arrives), all in one custody
  transaction. The same ``instanceID`` with byte-identical XML adds the
  attachments still missing (a split submission, or a retry after a dropped
  line) and nothing else; different XML under a known ``instanceID`` is a
  conflict. An edit names the submission it replaces in ``deprecatedID``; both stay.
- An encrypted submission (ODK's envelope) is stored exactly as received: the
  ciphertext is the evidentiary original.
- App users are per-campaign device credentials: a random token, stored only as
  its SHA-256 (for token URLs) and as the HTTP Digest ``HA1`` (for Digest auth).

Nothing here knows about HTTP (``factfinder.web.openrosa`` does) and nothing
here logs an answer: submissions hold testimony.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, BinaryIO
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from factfinder.db import engine as dbengine
from factfinder.db.models import (
    Item,
    ItemText,
    OdkAppUser,
    OdkAttachment,
    OdkForm,
    OdkSubmission,
    Receipt,
    TextReading,
)
from factfinder.intake.odkcrypto import is_encrypted_envelope
from factfinder.intake.webform import clean_filename
from factfinder.vault import custody, sealing
from factfinder.vault.blobs import StoredBlob
from factfinder.vault.case import Case, NewReceipt, Recorded
from factfinder.vault.errors import IntakeError, VaultError

if TYPE_CHECKING:
    from factfinder.vault.audit import AuditReport

CHANNEL = "openrosa"
FORM_CHANNEL = "openrosa-form"
REALM = "factfinder"  # the HTTP Digest realm; part of every app user's stored HA1, so never changed
MEDIA_PREFIX = re.compile(r"jr://(?:images|audio|video|file|file-csv)/([^\s\"'<>]+)")
MAX_XML_BYTES = 10 << 20  # a submission's XML; its media come as separate parts
MAX_DEPTH = 200  # elements nested in a submission; a form's groups and repeats nest a dozen deep at most
STATES = ("open", "closing", "closed")  # closing: no longer listed, still takes what devices queued


class OpenRosaError(IntakeError):
    """Input an OpenRosa client sent that cannot be taken in; ``status`` is the HTTP status it answers."""

    status = 400


class FormNotFound(OpenRosaError):
    status = 404


class FormNotOpen(OpenRosaError):
    """The form is closed: it takes no more submissions (as ODK Central answers, 409)."""

    status = 409


class FormNotAllowed(FormNotFound):
    """A form this device may not use: answered exactly as a form that does not exist, so a device
    learns nothing of the forms of other campaigns."""


class EditTargetNotFound(OpenRosaError):
    """An edit names (in ``deprecatedID``) a submission that is not here, or not one this device sent."""

    status = 404


class SubmissionConflict(OpenRosaError):
    """Another XML, or another file under an attachment's name, for an instance already held."""

    status = 409


class AppUserError(VaultError):
    """An app user cannot be made, found or revoked as asked."""


# -- forms -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedForm:
    """What the server needs from an XForm: its identity, its media, its encryption key, its binary fields."""

    form_id: str
    version: str
    title: str
    media: tuple[str, ...]
    public_key: str | None
    binary_paths: frozenset[str]  # instance paths without the root, e.g. "photo" or "rep/photo"
    identifying: tuple[str, ...] = ()  # questions that look as if they ask who a witness is (sealed answers)


@dataclass(frozen=True)
class FormInfo:
    """One version of a form as the case holds it."""

    row_id: int
    form_id: str
    version: str
    title: str
    item_sha256: str
    encrypted: bool
    state: str
    media: tuple[str, ...]
    campaign: str | None = None  # None: for app users without a campaign (and for every team account)


@dataclass(frozen=True)
class FormMedia:
    """A media file of a form (an image in a label, a CSV for a choice list): its name and its item."""

    name: str
    sha256: str


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _parse_xml(data: bytes, what: str) -> Element:
    """Parse untrusted XML with entity expansion and external references refused."""
    try:
        root = SafeET.fromstring(data)
    except (SafeET.ParseError, DefusedXmlException, ValueError) as exc:
        raise OpenRosaError(f"the {what} is not well-formed XML ({type(exc).__name__})") from None
    if not isinstance(root, Element):
        raise OpenRosaError(f"the {what} is not XML")
    return root


def parse_xform(data: bytes) -> ParsedForm:
    """Read an XForm's form id, version, title, media files, encryption key and binary fields.

    The form id and version are the ``id`` and ``version`` attributes of the
    first child of the model's primary ``<instance>``, as OpenRosa defines them.
    """
    root = _parse_xml(data, "form")
    model = next((e for e in root.iter() if _local(e.tag) == "model"), None)
    if model is None:
        raise OpenRosaError("the form has no <model>: is it an XForm?")
    primary = next((e for e in model if _local(e.tag) == "instance" and "id" not in e.attrib), None)
    data_node = next(iter(primary), None) if primary is not None else None
    if data_node is None:
        raise OpenRosaError("the form has no primary <instance> with a data element")
    form_id = (data_node.get("id") or "").strip()
    if not form_id:
        raise OpenRosaError("the form's instance has no id attribute (the form id)")
    if len(form_id) > 255 or any(c in form_id for c in "/\\?#") or not form_id.isprintable():
        raise OpenRosaError("the form id must be printable, at most 255 characters, without / \\ ? #")
    version = (data_node.get("version") or "").strip()
    title_node = next((e for e in root.iter() if _local(e.tag) == "title"), None)
    title = (title_node.text or "").strip() if title_node is not None else ""
    media: list[str] = []
    for element in root.iter():
        for text in [element.text or "", *element.attrib.values()]:
            for name in MEDIA_PREFIX.findall(text):
                if name not in media:
                    media.append(name)
    submission = next((e for e in model if _local(e.tag) == "submission"), None)
    key = submission.get("base64RsaPublicKey") if submission is not None else None
    root_name = "/" + _local(data_node.tag) + "/"
    binary = {
        (bind.get("nodeset") or "").removeprefix(root_name)
        for bind in model
        if _local(bind.tag) == "bind" and (bind.get("type") or "").split(":")[-1] == "binary"
    }
    return ParsedForm(
        form_id,
        version,
        title or form_id,
        tuple(media),
        key.strip() if key else None,
        frozenset(binary),
        tuple(_identifying(root)),
    )


def xlsform_to_xform(data: bytes) -> bytes:
    """Convert an XLSForm workbook to an XForm with pyxform, as ODK Central does on upload."""
    from io import BytesIO

    from pyxform.errors import PyXFormError
    from pyxform.xls2xform import convert

    try:
        result = convert(xlsform=BytesIO(data), pretty_print=True)
    except PyXFormError as exc:
        raise OpenRosaError(f"the XLSForm cannot be converted: {exc}") from None
    except Exception as exc:  # pyxform lets a workbook reader's own errors through
        raise OpenRosaError(f"the XLSForm cannot be read ({type(exc).__name__})") from None
    return str(result.xform).encode("utf-8")


SENSITIVE_IN_NAMES = (
    "contact", "phone", "name", "sensitive", "mail", "address", "whatsapp", "telegram", "passport", "fio",
)  # fmt: skip
"""Question names holding one of these (``witness_phone``, ``instanceName``, ``email2``) are sealed."""
SENSITIVE_NAME_PARTS = ("tel", "mobile", "mob", "addr", "iin")  # whole parts of a name: ``tel``, ``mob_2``
SENSITIVE_IN_LABELS = re.compile(
    r"\b(?:contact|phone|telephone|mobile|e-?mail|full name|your name|first name|last name|surname|address|"
    r"whatsapp|telegram|passport|sensitive|confidential|reach you|"
    r"телефон|контакт|имя|фамили|адрес|почт|паспорт|конфиденциальн|связаться|"
    r"байланыс|аты-жөн|мекенжай|құпия)",
    re.IGNORECASE,
)
"""Words in a label or hint (English, Russian, Kazakh; word starts) that make a question's answers sealed."""
_JR_PRELOAD = "{http://openrosa.org/javarosa}preload"
_CONTROLS = frozenset({"input", "select", "select1", "upload", "range", "rank", "group", "repeat", "trigger"})


def identifying_fields(data: bytes) -> list[str]:
    """The questions (and groups) of an XForm that look as if they ask who a witness is or how to reach them.

    A question counts when its name holds one of :data:`SENSITIVE_IN_NAMES`
    or :data:`SENSITIVE_NAME_PARTS`, or its label or hint, in any of the
    form's languages or written inline, says one of
    :data:`SENSITIVE_IN_LABELS`, or the phone fills it in from its own
    properties (``jr:preload="property"``: device id, phone number, SIM
    serial, subscriber id, user name, e-mail); a group counts the same way,
    and then every answer in it does. A heuristic that errs towards sealing. In an
    unencrypted form the answers to these questions are sealed as witness
    fields at intake and masked for everyone who may not open them, but they
    still sit in clear in the XML on the intake server; an encrypted form
    keeps them from the server altogether."""
    return _identifying(_parse_xml(data, "form"))


def _sensitive_name(name: str) -> bool:
    lowered = name.lower()
    parts = re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])", name)  # mob_2 -> mob; telNo -> tel, No
    return any(w in lowered for w in SENSITIVE_IN_NAMES) or any(p.lower() in SENSITIVE_NAME_PARTS for p in parts)


def _identifying(root: Element) -> list[str]:
    found: list[str] = []

    def flag(path: str) -> None:
        field = path.rsplit("/", 1)[-1]
        if field and field not in found:
            found.append(field)

    def says(element: Element) -> bool:
        return SENSITIVE_IN_LABELS.search(" ".join(element.itertext())) is not None

    for element in root.iter():
        tag = _local(element.tag)
        if tag == "bind":
            nodeset = element.get("nodeset") or ""
            # jr:preload="property" fills in the phone's own deviceid, phonenumber, simserial, subscriberid,
            # username or email: the device and the person holding it, whatever the question is called
            if _sensitive_name(nodeset.rsplit("/", 1)[-1]) or element.get(_JR_PRELOAD) == "property":
                flag(nodeset)
        elif tag == "text" and (element.get("id") or "").endswith((":hint", ":label")):
            if says(element):
                flag((element.get("id") or "").rsplit(":", 1)[0])
        elif tag in _CONTROLS:  # a label or hint written inline (pyxform does so for a form in one language)
            ref = element.get("ref") or element.get("nodeset") or ""
            if any(_local(c.tag) in ("label", "hint") and says(c) for c in element):
                flag(ref)
    return found


def unsealable_fields(names: Sequence[str]) -> list[str]:
    """Those of ``names`` that cannot be sealed under their own name (too long, or not an XML name)."""
    return [n for n in names if not sealing.is_protected_field(sealing.ANSWER_PREFIX + n)]


_SUBMISSION_TAG = re.compile(rb"<((?:[A-Za-z_][\w.-]*:)?)submission(?=[\s/>])")
_MODEL_END = re.compile(rb"</((?:[A-Za-z_][\w.-]*:)?)model\s*>")


def with_public_key(data: bytes, public_key_b64: str) -> bytes:
    """The XForm with ``<submission base64RsaPublicKey="...">``: ODK Collect then encrypts every filled form.

    Rewritten as text, not re-serialised, so that every other byte (and every
    namespace prefix an XPath in the form relies on) stays as it was; the
    result is parsed again and must carry exactly this key. A form that
    already carries this key is returned as it is; another key is refused."""
    parsed = parse_xform(data)
    if parsed.public_key is not None:
        if parsed.public_key == public_key_b64:
            return data
        raise OpenRosaError("the form already carries another encryption key: remove it first, or use that key")
    attribute = f' base64RsaPublicKey="{public_key_b64}"'.encode()
    tags = list(_SUBMISSION_TAG.finditer(data))
    if len(tags) == 1:
        result = data[: tags[0].end()] + attribute + data[tags[0].end() :]
    elif not tags:
        ends = list(_MODEL_END.finditer(data))
        if len(ends) != 1:
            raise OpenRosaError("the form's <model> cannot be found to add the encryption key")
        prefix = ends[0].group(1)
        result = data[: ends[0].start()] + b"<" + prefix + b"submission" + attribute + b"/>" + data[ends[0].start() :]
    else:
        raise OpenRosaError("the form has more than one <submission> element")
    if parse_xform(result).public_key != public_key_b64:
        raise OpenRosaError("the encryption key could not be added to this form safely")
    return result


def add_form(
    case: Case,
    data: bytes,
    *,
    actor: str,
    original_name: str | None = None,
    media: Sequence[tuple[str, bytes]] = (),
    campaign: str | None = None,
    public_key_b64: str | None = None,
) -> tuple[FormInfo, bool]:
    """Record an XForm (or an XLSForm, converted) and its media files; return the form and whether it is new.

    The same bytes again change nothing; another form under a version already
    held is refused (a changed form must carry a new version, as Collect
    caches forms by id and version). Media files the form names must all be given.
    ``campaign`` puts the form in a campaign (a new version without one keeps
    the campaign of the version before); ``public_key_b64`` (see
    :func:`factfinder.intake.odkcrypto.public_key_for_form`) makes it an
    encrypted form, and the recorded item is that encrypted variant.
    """
    if data[:4] == b"PK\x03\x04":  # an .xlsx workbook (a zip), not XML
        data = xlsform_to_xform(data)
        original_name = (original_name or "form").rsplit(".", 1)[0] + ".xml"
    if public_key_b64 is not None:
        data = with_public_key(data, public_key_b64)
    parsed = parse_xform(data)
    unsealable = unsealable_fields(parsed.identifying) if parsed.public_key is None else []
    if unsealable:
        raise OpenRosaError(
            f"question {unsealable[0][:80]!r} looks as if it asks who a witness is or how to reach them, but its"
            " answers cannot be sealed under a name that long (56 characters at most): shorten it, or encrypt the form"
        )
    campaign = (campaign or "").strip() or None
    if campaign is not None and (len(campaign) > 255 or not campaign.isprintable()):
        raise OpenRosaError("a campaign's name must be printable and at most 255 characters")
    given = {clean_filename(name) or "": content for name, content in media}
    missing = [m for m in parsed.media if m not in given]
    if missing:
        raise OpenRosaError(f"the form names media files that were not given: {', '.join(missing)}")
    extra = sorted(set(given) - set(parsed.media))
    if extra:
        raise OpenRosaError(f"these files are not named by the form: {', '.join(extra)}")
    sha = hashlib.sha256(data).hexdigest()
    with Session(case.engine) as s:
        held = s.scalar(select(OdkForm).where(OdkForm.form_id == parsed.form_id, OdkForm.version == parsed.version))
        before = s.scalar(select(OdkForm).where(OdkForm.form_id == parsed.form_id).order_by(OdkForm.id.desc()).limit(1))
        if campaign is None and before is not None:
            campaign = before.campaign
        state = before.state if before is not None else "open"
        if held is not None:
            if held.item_sha256 == sha:
                return _form_info(held, parsed.media), False
            raise OpenRosaError(
                f"form {parsed.form_id} version {parsed.version!r} is already here with other content: "
                "give the changed form a new version"
            )
    label = f"form {parsed.form_id} version {parsed.version or '(none)'}"
    receipts = [
        NewReceipt(
            blob=case.blobs.put_bytes(data),
            channel=FORM_CHANNEL,
            source=f"XForm for ODK Collect ({label})",
            note=f"the form's definition, as served to devices: {parsed.title}",
            original_name=clean_filename(original_name) or f"{parsed.form_id}.xml",
        )
    ]
    for name in parsed.media:
        receipts.append(
            NewReceipt(
                blob=case.blobs.put_bytes(given[name]),
                channel=FORM_CHANNEL,
                source=f"media file of an XForm ({label})",
                note=f"media file {name} of {label}",
                original_name=name,
            )
        )
    row: dict[str, Any] = {}

    def write_form(conn: Connection, recorded: list[Recorded]) -> None:
        at = conn.execute(select(Receipt.received_at_vault_clock).where(Receipt.log_index == recorded[0].log_index))
        row.update(
            form_id=parsed.form_id,
            version=parsed.version,
            title=parsed.title,
            item_sha256=sha,
            encrypted=parsed.public_key is not None,
            public_key=parsed.public_key,
            state=state,
            campaign=campaign,
            actor=actor,
            at_vault_clock=at.scalar_one(),
        )
        row["id"] = conn.execute(insert(OdkForm).values(**row)).inserted_primary_key[0]  # type: ignore[index]

    try:
        case.record(receipts, actor=actor, extra=write_form)
    except IntegrityError:
        raise OpenRosaError(f"form {parsed.form_id} version {parsed.version!r} was added meanwhile") from None
    return FormInfo(
        row["id"], parsed.form_id, parsed.version, parsed.title, sha, row["encrypted"], state, parsed.media, campaign
    ), True


def _form_info(row: OdkForm, media: tuple[str, ...]) -> FormInfo:
    return FormInfo(
        row.id, row.form_id, row.version, row.title, row.item_sha256, row.encrypted, row.state, media, row.campaign
    )


@lru_cache(maxsize=256)
def _parsed_cached(sha256: str, data: bytes) -> ParsedForm:
    return parse_xform(data)


def parsed_form(case: Case, row: OdkForm | FormInfo) -> ParsedForm:
    """The parsed XForm behind a form row (read from the vault; cached by digest)."""
    with case.blobs.open(row.item_sha256) as f:
        data = f.read()
    return _parsed_cached(row.item_sha256, data)


def list_forms(case: Case, *, all_versions: bool = False) -> list[FormInfo]:
    """The forms the case holds: the latest version of each (every version with ``all_versions``)."""
    with Session(case.engine) as s:
        rows = list(s.scalars(select(OdkForm).order_by(OdkForm.form_id, OdkForm.id)))
    if not all_versions:
        latest: dict[str, OdkForm] = {}
        for r in rows:
            latest[r.form_id] = r
        rows = list(latest.values())
    return [_form_info(r, parsed_form(case, r).media) for r in rows]


def latest_form(case: Case, form_id: str) -> FormInfo:
    """The newest version of a form; :class:`FormNotFound` if the case has none by that id."""
    with Session(case.engine) as s:
        row = s.scalar(select(OdkForm).where(OdkForm.form_id == form_id).order_by(OdkForm.id.desc()).limit(1))
    if row is None:
        raise FormNotFound(f"no form {form_id!r} here")
    return _form_info(row, parsed_form(case, row).media)


def form_media(case: Case, form: FormInfo) -> list[FormMedia]:
    """A form's media files: the items recorded in the same batch as the form's XForm, by their names."""
    with Session(case.engine) as s:
        form_row = s.get(OdkForm, form.row_id)
        if form_row is None:
            return []
        rows = s.execute(
            select(Receipt.original_name, Item.sha256)
            .join(Item, Item.id == Receipt.item_id)
            .where(
                Receipt.channel == FORM_CHANNEL,
                Receipt.actor == form_row.actor,
                Receipt.received_at_vault_clock == form_row.at_vault_clock,
                Item.sha256 != form_row.item_sha256,
            )
        ).all()
    found = {name: sha for name, sha in rows if name in form.media}
    return [FormMedia(name, found[name]) for name in form.media if name in found]


def set_form_state(case: Case, form_id: str, state: str) -> int:
    """Set a form's state (every version), as ODK Central names them.

    ``open``: listed and taking submissions. ``closing``: no longer listed or
    served, but still taking submissions, so what devices queued during a
    blackout still arrives. ``closed``: refusing submissions too (409)."""
    if state not in STATES:
        raise OpenRosaError(f"a form's state is one of: {', '.join(STATES)}")
    with dbengine.write_transaction(case.engine) as conn:
        changed = conn.execute(update(OdkForm).where(OdkForm.form_id == form_id).values(state=state)).rowcount
    if not changed:
        raise FormNotFound(f"no form {form_id!r} here")
    return int(changed)


# -- app users -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AppUser:
    """A device credential's public side: who, for which campaign and forms, and whether still valid."""

    id: int
    name: str
    campaign: str | None
    form_ids: tuple[str, ...] | None  # None: every open form
    revoked: bool
    created_at_vault_clock: str

    def may_use(self, form_id: str, form_campaign: str | None) -> bool:
        """Whether this device may see, download and fill a form.

        An app user with a campaign uses the forms of that campaign; a list
        of forms, if it was given, narrows that further (a form must be in
        both). One without a campaign uses the forms of its list, or, with no
        list, every form."""
        if self.campaign is not None and form_campaign != self.campaign:
            return False
        return self.form_ids is None or form_id in self.form_ids


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def digest_ha1(name: str, secret: str) -> str:
    """HTTP Digest's HA1 = MD5(username:realm:password) (RFC 7616 with MD5, as OpenRosa specifies)."""
    return hashlib.md5(f"{name}:{REALM}:{secret}".encode(), usedforsecurity=False).hexdigest()


def _app_user(row: OdkAppUser) -> AppUser:
    forms = tuple(json.loads(row.form_ids)) if row.form_ids else None
    return AppUser(row.id, row.name, row.campaign, forms, row.revoked, row.created_at_vault_clock)


def add_app_user(
    case: Case, name: str, *, campaign: str | None = None, form_ids: Sequence[str] = ()
) -> tuple[AppUser, str]:
    """Make an app user; return it and its token, which is shown this once and never stored in clear."""
    name = name.strip()
    if not name or len(name) > 255 or not name.isprintable() or ":" in name or '"' in name:
        raise AppUserError("an app user's name must be printable, at most 255 characters, without : or \"")
    if name.lower().startswith("account "):  # how a team account's submissions are marked
        raise AppUserError("an app user's name cannot start with 'account '")
    campaign = (campaign or "").strip() or None
    with Session(case.engine) as s:
        known = {r.form_id: r.campaign for r in s.scalars(select(OdkForm).order_by(OdkForm.id))}  # latest wins
    unknown = sorted(set(form_ids) - set(known))
    if unknown:
        raise AppUserError(f"no such form: {', '.join(unknown)}")
    outside = sorted(f for f in set(form_ids) if campaign is not None and known[f] != campaign)
    if outside:
        raise AppUserError(f"not forms of campaign {campaign!r}: {', '.join(outside)}")
    token = secrets.token_urlsafe(32)
    try:
        with dbengine.write_transaction(case.engine) as conn:
            new_id = conn.execute(
                insert(OdkAppUser).values(
                    name=name,
                    token_sha256=_token_digest(token),
                    digest_ha1=digest_ha1(name, token),
                    campaign=campaign,
                    form_ids=json.dumps(sorted(set(form_ids))) if form_ids else None,
                    revoked=False,
                    created_at_vault_clock=custody.vault_clock(),
                )
            ).inserted_primary_key[0]  # type: ignore[index]
    except IntegrityError:
        raise AppUserError(f"an app user named {name!r} exists already") from None
    return app_user_named(case, name, include_revoked=True) or AppUser(new_id, name, None, None, False, ""), token


def list_app_users(case: Case) -> list[AppUser]:
    with Session(case.engine) as s:
        return [_app_user(r) for r in s.scalars(select(OdkAppUser).order_by(OdkAppUser.id))]


def revoke_app_user(case: Case, name: str) -> None:
    """Revoke a device's access at once: its token URL and its Digest password both stop working."""
    with dbengine.write_transaction(case.engine) as conn:
        if not conn.execute(update(OdkAppUser).where(OdkAppUser.name == name).values(revoked=True)).rowcount:
            raise AppUserError(f"no app user named {name!r}")


def app_user_by_token(case: Case, token: str) -> AppUser | None:
    """The valid app user holding ``token``, else None (unknown and revoked look the same)."""
    with Session(case.engine) as s:
        row = s.scalar(select(OdkAppUser).where(OdkAppUser.token_sha256 == _token_digest(token)))
    return _app_user(row) if row is not None and not row.revoked else None


def app_user_named(case: Case, name: str, *, include_revoked: bool = False) -> AppUser | None:
    with Session(case.engine) as s:
        row = s.scalar(select(OdkAppUser).where(OdkAppUser.name == name))
    if row is None or (row.revoked and not include_revoked):
        return None
    return _app_user(row)


def app_user_ha1(case: Case, name: str) -> tuple[AppUser, str] | None:
    """A valid app user and its stored Digest HA1, for checking a Digest response."""
    with Session(case.engine) as s:
        row = s.scalar(select(OdkAppUser).where(OdkAppUser.name == name))
    if row is None or row.revoked or not row.digest_ha1:
        return None
    return _app_user(row), row.digest_ha1


# -- submissions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedSubmission:
    """What the server reads from a submission's XML: identity, form, edit, envelope, named files."""

    instance_id: str
    form_id: str
    version: str
    deprecated_id: str | None
    encrypted: bool
    started_at: str | None  # meta/timeStart or start: the device's clock, a claim
    texts: dict[str, set[str]]  # element path (without the root) -> the texts under it
    envelope_files: tuple[str, ...]  # an encrypted envelope's media files and its encrypted XML


def parse_submission(data: bytes) -> ParsedSubmission:
    """Read a submission's instanceID (``meta/instanceID`` or ``@instanceID``), form, version and edit."""
    if len(data) > MAX_XML_BYTES:
        raise OpenRosaError(f"the submission's XML is larger than {MAX_XML_BYTES >> 20} MiB")
    try:  # what every OpenRosa client writes; the masking of sealed answers reads the XML as UTF-8
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise OpenRosaError("the submission's XML is not UTF-8") from None
    root = _parse_xml(data, "submission")
    texts: dict[str, set[str]] = {}
    stack: list[tuple[Element, str, int]] = [(root, "", 0)]  # a loop, not recursion: depth is the sender's choice
    while stack:
        element, path, depth = stack.pop()
        if depth >= MAX_DEPTH:
            raise OpenRosaError(f"the submission's XML nests elements more than {MAX_DEPTH} deep: no form does that")
        for child in element:
            sub = f"{path}/{_local(child.tag)}" if path else _local(child.tag)
            if child.text and child.text.strip():
                texts.setdefault(sub, set()).add(child.text.strip())
            stack.append((child, sub, depth + 1))
    meta: dict[str, str] = {}
    for child in root:
        if _local(child.tag) == "meta":
            meta.update({_local(e.tag): (e.text or "").strip() for e in child})
    instance_id = meta.get("instanceID") or (root.get("instanceID") or "").strip()
    if not instance_id:
        raise OpenRosaError("the submission has no instanceID (meta/instanceID)")
    if len(instance_id) > 255 or not instance_id.isprintable():
        raise OpenRosaError("the submission's instanceID is not a printable identifier of at most 255 characters")
    form_id = (root.get("id") or "").strip()
    if not form_id:
        raise OpenRosaError("the submission does not say which form it answers (no id attribute on its root)")
    encrypted = is_encrypted_envelope(data)  # ODK's envelope: kept as received, decrypted into copies later
    envelope: list[str] = []
    if encrypted:
        envelope = [t for p in ("media/file", "encryptedXmlFile") for t in sorted(texts.get(p, ()))]
    started = meta.get("timeStart") or next(iter(texts.get("start", ())), None)
    try:
        from factfinder.vault.case import validate_claimed_time

        started = validate_claimed_time(started)
    except VaultError:
        started = None  # a device's odd clock string is no reason to refuse the testimony
    deprecated = meta.get("deprecatedID") or None
    return ParsedSubmission(
        instance_id,
        form_id,
        (root.get("version") or "").strip(),
        deprecated,
        encrypted,
        started,
        texts,
        tuple(envelope),
    )


@dataclass
class Incoming:
    """One POST of a submission: the XML, the files that came with it, and who sent it."""

    xml: bytes
    xml_name: str | None
    files: list[tuple[str | None, BinaryIO]] = field(default_factory=list)  # (file name, its bytes)
    submitter: str = "unknown"
    app_user: AppUser | None = None  # None for a signed-in account (Basic auth)


@dataclass(frozen=True)
class Outcome:
    """What a POST did: ``created`` (a new submission), ``added`` (missing files), ``unchanged``."""

    result: str
    instance_id: str
    form_id: str
    recorded: tuple[Recorded, ...]
    complete: bool
    missing: tuple[str, ...]
    unnamed: tuple[str, ...] = ()  # files sent that the XML does not name: kept as items of their own

    @property
    def files(self) -> tuple[Recorded, ...]:
        """The attachments this POST recorded (a new submission's first record is its XML)."""
        return self.recorded[1:] if self.result == "created" else self.recorded


@dataclass(frozen=True)
class SubmissionInfo:
    instance_id: str
    form_id: str
    form_version: str | None
    xml_sha256: str
    deprecated_id: str | None
    encrypted: bool
    complete: bool
    submitter: str
    log_index: int
    at_vault_clock: str
    attachments: tuple[tuple[str, str | None], ...]  # (name, sha256 or None)


class _Raced(Exception):
    """Another request changed the same submission between our check and our write: check again."""


def _check_form(case: Case, parsed: ParsedSubmission, app_user: AppUser | None) -> tuple[OdkForm, ParsedForm]:
    with Session(case.engine) as s:
        versions = list(s.scalars(select(OdkForm).where(OdkForm.form_id == parsed.form_id).order_by(OdkForm.id)))
    not_here = f"this server has no form {parsed.form_id!r}: download the forms again"
    if not versions:
        raise FormNotFound(not_here)
    if app_user is not None and not app_user.may_use(parsed.form_id, versions[-1].campaign):
        raise FormNotAllowed(not_here)  # the same answer as for no form: nothing to learn about other campaigns
    if versions[-1].state == "closed":
        raise FormNotOpen(f"form {parsed.form_id!r} is closed and takes no more submissions")
    row = next((v for v in versions if v.version == parsed.version), None)
    if row is None:
        raise OpenRosaError(
            f"version {parsed.version!r} of form {parsed.form_id!r} is not known here: download the form again"
        )
    return row, parsed_form(case, row)


def _named_files(parsed: ParsedSubmission, form: ParsedForm, uploaded: Iterable[str]) -> list[str]:
    """The file names the XML refers to: answers to binary questions, any text naming an uploaded file,
    and an encrypted envelope's files (ODK Central's rules)."""
    names: list[str] = []

    def add(name: str) -> None:
        clean = clean_filename(name)
        if clean and clean not in names:
            names.append(clean)

    for path in sorted(form.binary_paths):
        for text in sorted(parsed.texts.get(path, ())):
            add(text)
    all_texts = {t for values in parsed.texts.values() for t in values}
    for name in uploaded:
        if name in all_texts:
            add(name)
    for name in parsed.envelope_files:
        add(name)
    return names


def receive(case: Case, incoming: Incoming) -> Outcome:
    """Take in one POST of a submission, by ODK Central's rules (see the module's docstring).

    The XML is read and its form checked before any file is stored, so a
    refused submission leaves nothing behind; files stored but not recorded
    (already held) are removed again. Files the XML does not name are kept
    as items of their own, with a note saying so (see :class:`Outcome`).
    """
    xml_sha = hashlib.sha256(incoming.xml).hexdigest()
    parsed = parse_submission(incoming.xml)
    form_row, form = _check_form(case, parsed, incoming.app_user)
    stored: list[StoredBlob] = []
    try:
        uploads: dict[str, StoredBlob] = {}
        for name, src in incoming.files:
            clean = clean_filename(name)
            if clean is None:
                continue
            blob = case.blobs.put_file(src, defer_sync=True)
            stored.append(blob)
            if clean in uploads and uploads[clean].sha256 != blob.sha256:
                raise OpenRosaError(f"two different files named {clean!r} in one submission")
            uploads[clean] = blob
        named = _named_files(parsed, form, uploads)
        for _ in range(3):
            try:
                return _receive_once(case, incoming, parsed, form_row, form, xml_sha, named, uploads)
            except (_Raced, IntegrityError):  # rolled back; the blobs it settled are named now
                uploads = {n: _settled(case, b) for n, b in uploads.items()}
        raise OpenRosaError("the submission changed while it was being stored: send it again")
    finally:
        for blob in stored:  # recorded blobs were moved to their names; what is left was not needed
            if blob.pending is not None:
                blob.pending.unlink(missing_ok=True)


def _settled(case: Case, blob: StoredBlob) -> StoredBlob:
    if blob.pending is not None and not blob.pending.exists():
        return case.blobs.stored(blob.sha256)
    return blob


def _held(conn: Connection, instance_id: str) -> tuple[int, str, dict[str, str | None]] | None:
    found = conn.execute(
        select(OdkSubmission.id, OdkSubmission.xml_sha256).where(OdkSubmission.instance_id == instance_id)
    ).first()
    if found is None:
        return None
    attachments = {
        name: sha
        for name, sha in conn.execute(
            select(OdkAttachment.name, OdkAttachment.sha256).where(OdkAttachment.submission_id == found[0])
        )
    }
    return found[0], found[1], attachments


def _check_edit(conn: Connection, parsed: ParsedSubmission, incoming: Incoming) -> None:
    """An edit must replace a submission that is here, of the same form, not yet replaced, and (for an app
    user) one this device sent: otherwise a seized phone could mark anyone's testimony as superseded.

    A submission not here and another device's submission get the same answer (404), so nothing is learnt
    of what others sent; the device keeps the edit and may send it again once the original has arrived."""
    if not parsed.deprecated_id:
        return
    target = conn.execute(
        select(OdkSubmission.form_id, OdkSubmission.submitter).where(OdkSubmission.instance_id == parsed.deprecated_id)
    ).first()
    if target is None or (incoming.app_user is not None and target.submitter != incoming.submitter):
        raise EditTargetNotFound(
            f"the submission this edit replaces ({parsed.deprecated_id}) is not here: send it first"
        )
    if target.form_id != parsed.form_id:
        raise SubmissionConflict(f"the submission this edit replaces ({parsed.deprecated_id}) answers another form")
    replaced = conn.execute(
        select(OdkSubmission.instance_id).where(OdkSubmission.deprecated_id == parsed.deprecated_id)
    ).scalar()
    if replaced is not None:
        raise SubmissionConflict(
            f"submission {parsed.deprecated_id} was already replaced by the edit {replaced}: edit that one instead"
        )


def _not_held(case: Case, names: Iterable[str], uploads: dict[str, StoredBlob]) -> list[str]:
    """Of these uploads, those whose bytes the case does not hold yet (a device's retry adds nothing twice)."""
    names = list(names)
    if not names:
        return []
    with Session(case.engine) as s:
        held = set(s.scalars(select(Item.sha256).where(Item.sha256.in_([uploads[n].sha256 for n in names]))))
    return [n for n in names if uploads[n].sha256 not in held]


def _extra_receipt(blob: StoredBlob, name: str, note: str, parsed: ParsedSubmission, source: str) -> NewReceipt:
    return NewReceipt(
        blob=blob,
        channel=CHANNEL,
        source=source,
        note=note,
        original_name=name,
        collected_at_claimed=parsed.started_at,
    )


def sealed_answers(parsed: ParsedSubmission, form: ParsedForm) -> dict[str, str]:
    """The answers to the form's identifying questions, to be sealed on the submission's receipt.

    Keyed ``answer:QUESTION``; the answers of a question asked in a repeat,
    or of every question in a flagged group (keyed by the group), are joined,
    one per line. An encrypted envelope has no answers in clear."""
    if parsed.encrypted or not form.identifying:
        return {}
    asked = set(form.identifying)
    answers: dict[str, list[str]] = {}
    for path in sorted(parsed.texts):
        # the outermost flagged element on the path: a question, or a group whose every answer is sealed
        question = next((part for part in path.split("/") if part in asked), None)
        if question is not None:
            answers.setdefault(question, []).extend(sorted(parsed.texts[path]))
    return {sealing.answer_field(q): "\n".join(values) for q, values in answers.items()}


def _receive_once(
    case: Case,
    incoming: Incoming,
    parsed: ParsedSubmission,
    form_row: OdkForm,
    form: ParsedForm,
    xml_sha: str,
    named: list[str],
    uploads: dict[str, StoredBlob],
) -> Outcome:
    with case.engine.connect() as conn:
        held = _held(conn, parsed.instance_id)
        if held is None:
            _check_edit(conn, parsed, incoming)  # again inside the transaction below, against a race
    source = f"OpenRosa submission (form {parsed.form_id}, app user {incoming.submitter})"
    # Files the XML does not name are kept as items of their own (a device's stray or a renamed file), never
    # thrown away while the device is told thank you; so is a second, different file under a name already held.
    unnamed = [n for n in uploads if n not in named]
    stray_note = f"sent with submission {parsed.instance_id} but not named by its XML"

    def apart(names: list[str], note: Callable[[str], str], taken: set[str]) -> list[NewReceipt]:
        """Receipts for files kept apart: not already held, and each bytes once in the batch (``taken``)."""
        kept = []
        for n in _not_held(case, names, uploads):
            if uploads[n].sha256 not in taken:
                taken.add(uploads[n].sha256)
                kept.append(_extra_receipt(uploads[n], n, note(n), parsed, source))
        return kept

    if held is not None:
        sub_id, held_sha, attachments = held
        if held_sha != xml_sha:
            raise SubmissionConflict(
                f"a different submission with instanceID {parsed.instance_id} is already here; "
                "an edit must carry a new instanceID and name this one as its deprecatedID"
            )
        to_add: list[str] = []
        clashing: list[str] = []
        for name, blob in uploads.items():
            if name not in attachments:
                continue
            if attachments[name] is None:
                to_add.append(name)
            elif attachments[name] != blob.sha256:
                clashing.append(name)
        taken = {uploads[n].sha256 for n in to_add}
        extras = apart(
            clashing, lambda n: f"a second, different file named {n} for submission {parsed.instance_id}", taken
        ) + apart(unnamed, lambda n: stray_note, taken)
        if not to_add and not extras:
            if clashing:
                raise SubmissionConflict(f"another file named {clashing[0]!r} is already held for this submission")
            missing = tuple(n for n, sha in attachments.items() if sha is None)
            return Outcome("unchanged", parsed.instance_id, parsed.form_id, (), not missing, missing, tuple(unnamed))
        receipts = [_attachment_receipt(uploads[n], n, parsed, source) for n in to_add] + extras
        state: dict[str, Any] = {}

        def fill(conn: Connection, recorded: list[Recorded]) -> None:
            now = _held(conn, parsed.instance_id)
            if now is None or now[2] != attachments:
                raise _Raced
            for name, r in zip(to_add, recorded[: len(to_add)], strict=True):
                conn.execute(
                    update(OdkAttachment)
                    .where(OdkAttachment.submission_id == sub_id, OdkAttachment.name == name)
                    .values(sha256=r.sha256, log_index=r.log_index)
                )
            left = [n for n, sha in attachments.items() if sha is None and n not in to_add]
            conn.execute(update(OdkSubmission).where(OdkSubmission.id == sub_id).values(complete=not left))
            state["missing"] = tuple(left)

        recorded = case.record(receipts, actor=_actor(incoming), extra=fill)
        if clashing:
            raise SubmissionConflict(
                f"another file named {clashing[0]!r} is already held for this submission; "
                "the file sent was kept apart, as a separate item"
            )
        missing = state["missing"]
        return Outcome(
            "added", parsed.instance_id, parsed.form_id, tuple(recorded), not missing, missing, tuple(unnamed)
        )
    arrived = [n for n in named if n in uploads]
    extras = apart(unnamed, lambda n: stray_note, {uploads[n].sha256 for n in arrived})
    receipts = [
        NewReceipt(
            blob=case.blobs.put_bytes(incoming.xml),
            channel=CHANNEL,
            source=source,
            note=f"submission {parsed.instance_id}"
            + (f", an edit of {parsed.deprecated_id}" if parsed.deprecated_id else "")
            + (" (encrypted envelope, stored as received)" if parsed.encrypted else ""),
            original_name=clean_filename(incoming.xml_name) or "submission.xml",
            collected_at_claimed=parsed.started_at,
            protected=sealed_answers(parsed, form),
        ),
        *[_attachment_receipt(uploads[n], n, parsed, source) for n in arrived],
        *extras,
    ]
    made: dict[str, tuple[str, ...]] = {}

    def create(conn: Connection, recorded: list[Recorded]) -> None:
        if _held(conn, parsed.instance_id) is not None:
            raise _Raced
        _check_edit(conn, parsed, incoming)
        if receipts[0].protected and not recorded[0].new_item:
            _forget_unmasked(conn, recorded[0].sha256)
        carried = _carried_over(conn, parsed, [n for n in named if n not in uploads])
        missing = made["missing"] = tuple(n for n in named if n not in uploads and n not in carried)
        at = conn.execute(
            select(Receipt.received_at_vault_clock).where(Receipt.log_index == recorded[0].log_index)
        ).scalar_one()
        sub_id = conn.execute(
            insert(OdkSubmission).values(
                instance_id=parsed.instance_id,
                form_id=parsed.form_id,
                form_version=form_row.version,
                xml_sha256=xml_sha,
                deprecated_id=parsed.deprecated_id,
                encrypted=parsed.encrypted,
                complete=not missing,
                submitter=incoming.submitter,
                log_index=recorded[0].log_index,
                at_vault_clock=at,
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        by_name = dict(zip(arrived, recorded[1 : 1 + len(arrived)], strict=True))
        if named:
            conn.execute(
                insert(OdkAttachment),
                [
                    {
                        "submission_id": sub_id,
                        "name": n,
                        "sha256": by_name[n].sha256 if n in by_name else carried.get(n, (None, None))[0],
                        "log_index": by_name[n].log_index if n in by_name else carried.get(n, (None, None))[1],
                    }
                    for n in named
                ],
            )

    recorded = case.record(receipts, actor=_actor(incoming), extra=create)
    missing = made["missing"]
    return Outcome("created", parsed.instance_id, parsed.form_id, tuple(recorded), not missing, missing, tuple(unnamed))


def _forget_unmasked(conn: Connection, sha256: str) -> None:
    """The same XML was here before its answers were sealed (added as a file, say): its search text and its
    reading were made unmasked, so both go, and the after-intake steps make them again, masked. Claims an
    analyst has reviewed stay, as they do whenever an item is read again."""
    item_id = conn.execute(select(Item.id).where(Item.sha256 == sha256)).scalar_one()
    conn.execute(delete(ItemText).where(ItemText.item_id == item_id))
    conn.execute(delete(TextReading).where(TextReading.item_id == item_id))


def _carried_over(conn: Connection, parsed: ParsedSubmission, unsent: list[str]) -> dict[str, tuple[str, int]]:
    """ODK Central's rule for an edit: a file the edit names but does not send is the edited submission's file
    of that name, if it has arrived (name -> its digest and custody entry). Clients re-send only changed files."""
    if not parsed.deprecated_id or not unsent:
        return {}
    rows = conn.execute(
        select(OdkAttachment.name, OdkAttachment.sha256, OdkAttachment.log_index)
        .join(OdkSubmission, OdkSubmission.id == OdkAttachment.submission_id)
        .where(OdkSubmission.instance_id == parsed.deprecated_id, OdkAttachment.name.in_(unsent))
    )
    return {name: (sha, index) for name, sha, index in rows if sha is not None and index is not None}


def _actor(incoming: Incoming) -> str:
    return f"openrosa:{incoming.submitter}"


def _attachment_receipt(blob: StoredBlob, name: str, parsed: ParsedSubmission, source: str) -> NewReceipt:
    note = f"attachment {name} of submission {parsed.instance_id}"
    if parsed.encrypted:
        note += " (encrypted, stored as received)"
    return _extra_receipt(blob, name, note, parsed, source)


def list_submissions(case: Case, *, form_id: str | None = None) -> list[SubmissionInfo]:
    """The submissions held, oldest first, each with its attachments (digest, or None while missing)."""
    with Session(case.engine) as s:
        q = select(OdkSubmission).order_by(OdkSubmission.id)
        if form_id is not None:
            q = q.where(OdkSubmission.form_id == form_id)
        subs = list(s.scalars(q))
        files: dict[int, list[tuple[str, str | None]]] = {}
        for sid, name, sha in s.execute(
            select(OdkAttachment.submission_id, OdkAttachment.name, OdkAttachment.sha256).order_by(OdkAttachment.id)
        ):
            files.setdefault(sid, []).append((name, sha))
    return [
        SubmissionInfo(
            x.instance_id,
            x.form_id,
            x.form_version,
            x.xml_sha256,
            x.deprecated_id,
            x.encrypted,
            x.complete,
            x.submitter,
            x.log_index,
            x.at_vault_clock,
            tuple(files.get(x.id, [])),
        )
        for x in subs
    ]


# -- verify ----------------------------------------------------------------------------------


def check_rows(session: Session, entries: dict[int, dict[str, Any]], report: AuditReport) -> None:
    """The OpenRosa rows against the custody log: each must name what its entries recorded.

    A form row must point at a receipt of its XForm (same actor, same vault
    clock, channel ``openrosa-form``); a submission's XML digest and an
    attachment's digest must be those of the entry at their ``log_index``; a
    submission is ``complete`` exactly when every attachment has arrived.
    """
    from factfinder.vault.audit import LOG_TRUNCATED, ROW_ALTERED

    def entry_names(subject: str, index: int, sha: str) -> None:
        entry = entries.get(index)
        if entry is None:
            report.add(LOG_TRUNCATED, subject, f"its custody entry {index} is not in the log")
        elif (
            entry.get("action") not in custody.ITEM_ACTIONS
            or entry.get("item_sha256") != sha
            or entry.get("channel") != CHANNEL
        ):
            report.add(ROW_ALTERED, subject, f"custody entry {index} does not record receiving it over OpenRosa")

    for form in session.scalars(select(OdkForm)):
        receipt = session.execute(
            select(Receipt.log_index)
            .join(Item, Item.id == Receipt.item_id)
            .where(
                Item.sha256 == form.item_sha256,
                Receipt.channel == FORM_CHANNEL,
                Receipt.actor == form.actor,
                Receipt.received_at_vault_clock == form.at_vault_clock,
            )
        ).first()
        if receipt is None:
            report.add(ROW_ALTERED, f"form {form.form_id} version {form.version!r}", "no receipt of its XForm matches")
    attachments: dict[int, list[OdkAttachment]] = {}
    for a in session.scalars(select(OdkAttachment)):
        attachments.setdefault(a.submission_id, []).append(a)
    for sub in session.scalars(select(OdkSubmission)):
        subject = f"submission {sub.instance_id} (entry {sub.log_index})"
        entry_names(subject, sub.log_index, sub.xml_sha256)
        files = attachments.get(sub.id, [])
        for a in files:
            if a.sha256 is None or a.log_index is None:
                if a.sha256 is not None or a.log_index is not None:
                    report.add(ROW_ALTERED, f"attachment {a.name} of {subject}", "half of its arrival is recorded")
                continue
            entry_names(f"attachment {a.name} of {subject}", a.log_index, a.sha256)
        if sub.complete != all(a.sha256 is not None for a in files):
            report.add(ROW_ALTERED, subject, "its complete flag does not match its attachments")
