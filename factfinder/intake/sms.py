"""The SMS channel: messages from an SMS gateway (Twilio, or a RapidPro/TextIt "External API" gateway) as items.

Issue 8, "Field intake through a blackout". When the town's internet is cut,
SMS from the surrounding region may still get through; a witness can also
text the SHA-256 of a photo kept on the phone ("hash first, media later"), so
that the photo's existence is anchored in the custody log before its bytes can
be carried out. This module turns what a gateway delivers into vault items; the
HTTP front door is :mod:`factfinder.web.sms`.

What it implements, and the choices made:

- **Twilio Messaging webhooks** (form fields ``From``, ``To``, ``Body``,
  ``MessageSid``, ``NumMedia``, ``MediaUrl{N}``, ``MediaContentType{N}``) and
  their ``X-Twilio-Signature``: base64 HMAC-SHA1, keyed with the account's
  auth token, over the full URL Twilio called followed by every POST
  parameter, sorted by name, name and value concatenated (HMAC-SHA256 when
  ``X-Twilio-Webhooks-Signature-Settings`` names it). :func:`twilio_signature`
  computes it as Twilio's own ``RequestValidator`` does; the URL is tried with
  and without the default port, as that validator does too.
- **RapidPro/TextIt's External API channel** receive format: form fields
  ``from`` (or ``sender``), ``text``, and an optional RFC 3339 ``date`` (or
  ``time``), exactly what a gateway configured for a RapidPro External
  channel posts, so such a gateway can post here instead. That format carries
  no message id: a gateway may add ``id``; without one the id is an HMAC,
  keyed with the channel's shared secret, of sender, date and text, so a
  retried POST adds nothing while the database holds nothing from which the
  sender's number could be guessed by trying every number.
- **One item per message**: the text exactly as received, UTF-8, channel
  ``sms``; the sender's number is sealed as the ``witness_phone`` protected
  field and is never stored in clear nor logged. An :class:`SmsMessage` row
  (provider, message id, digest, custody entry) is written in the same
  transaction as the custody entries, so a retried webhook finds it and adds
  nothing, and a process killed midway leaves neither.
- **MMS media** are fetched (https, or http on loopback only; no credentials
  sent to another host after a redirect; at most the server's upload limit)
  and recorded in that same transaction as items of their own. A medium that
  cannot be fetched does not stop the message: it is stored, and its receipt's
  note says which media are missing and where they were (Twilio keeps them
  until deleted, so an investigator can fetch them later). The webhook is then
  still answered 200: Twilio does not retry a failed messaging webhook (it
  only tries the fallback URL), so a 5xx would not bring the media back and
  would only tell the witness, wrongly, that nothing arrived.
- **Anchors** ("hash first, media later"): a token ``H <64 hex>`` (also
  ``#h <64 hex>``, any case, optionally ``H:``) anywhere in the text names
  the SHA-256 of evidence held elsewhere. Only a full digest anchors: a prefix
  could later match bytes made to fit it. Each anchor is an
  :class:`SmsAnchor` row tied to the message's custody entry; :func:`anchors`
  tells whether an item with those bytes has since arrived, by any channel,
  and at which entry.

The reply a gateway relays to the witness names the first characters of the
message's digest (and the anchors), never the text or a number, because the
reply may be read on a phone that is later seized.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx
from sqlalchemy import Connection, insert, select
from sqlalchemy.orm import Session

from factfinder.db import engine as dbengine
from factfinder.db.models import Item, Receipt, SmsAnchor, SmsMessage
from factfinder.vault import custody
from factfinder.vault.blobs import StoredBlob
from factfinder.vault.case import Case, NewReceipt, Recorded
from factfinder.vault.errors import IntakeError

CHANNEL = "sms"
TWILIO = "twilio"
RAPIDPRO = "rapidpro"
PROVIDERS = {TWILIO: "SMS via Twilio", RAPIDPRO: "SMS via RapidPro/TextIt external channel"}
MAX_TEXT_BYTES = 8192  # Twilio stops at 1600 UTF-16 units (at most 4800 UTF-8 bytes); refuse what no SMS can be
MAX_MEDIA = 10  # Twilio's own limit per MMS
MAX_ID_CHARS = 255
REF_CHARS = 12  # the digest prefix a reply names: what `factfinder show` and the receipt page accept
REDIRECTS = 5
FETCH_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
SIGNATURE_ALGORITHMS: dict[str, Callable[..., Any]] = {"HMAC_SHA1": hashlib.sha1, "HMAC_SHA256": hashlib.sha256}

_ANCHOR = re.compile(r"(?<![0-9a-z#])#?h\s*:?\s*([0-9a-f]+)(?![0-9a-z])", re.IGNORECASE)
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_MIN_PREFIX = 16  # a shorter run of hex after "H" is taken for ordinary text, not an attempted digest


class SmsError(IntakeError):
    """A delivery that cannot be taken in as it is (a missing field, a bad date); the gateway gets a 400."""


class MessageTooLong(SmsError):
    """A text longer than any SMS can be: refused rather than stored, so no one can flood the case."""


class _AlreadyRecorded(Exception):
    """Raised inside the recording transaction when a concurrent delivery of the same message won."""


# -- what arrives ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Media:
    """An MMS attachment as the gateway names it: where to fetch it and the type it claims."""

    url: str
    content_type: str | None = None


@dataclass(frozen=True)
class IncomingSms:
    """One message as a gateway delivered it, checked, before anything is stored."""

    provider: str
    message_id: str
    sender: str  # a witness's phone number: sealed, never stored in clear, never logged
    text: str
    received_at_claimed: str | None = None  # the gateway's date, if it gives one
    to: str | None = None  # the commission's own number the message was sent to
    media: tuple[Media, ...] = ()
    account: str | None = None  # Twilio's AccountSid, to fetch media when HTTP auth protects them


@dataclass(frozen=True)
class Outcome:
    """What became of a message: its item, its custody entry, the digests it anchored, and its media."""

    sha256: str
    log_index: int
    anchored: tuple[str, ...]
    duplicate: bool = False  # a retried delivery: nothing new was stored
    recorded: tuple[Recorded, ...] = ()  # what this delivery recorded: the text first, then its media
    media_missing: int = 0
    incomplete_digests: int = 0  # "H" followed by a run of hex too short to be a SHA-256

    @property
    def ref(self) -> str:
        return self.sha256[:REF_CHARS]


def _one(params: Sequence[tuple[str, str]], name: str) -> str | None:
    values = [v for k, v in params if k == name]
    if len(values) > 1:
        raise SmsError(f"the field {name} is given more than once")
    return values[0] if values else None


def _required(params: Sequence[tuple[str, str]], name: str) -> str:
    value = _one(params, name)
    if value is None or not value.strip():
        raise SmsError(f"the field {name} is missing")
    return value


def _check_text(text: str) -> str:
    if len(text.encode("utf-8")) > MAX_TEXT_BYTES:
        raise MessageTooLong(f"the message text is over {MAX_TEXT_BYTES} bytes, longer than any SMS")
    if "\x00" in text:
        raise SmsError("the message text holds a NUL character")
    return text


def _check_id(value: str, name: str) -> str:
    value = value.strip()
    if len(value) > MAX_ID_CHARS or any(ord(c) < 0x20 for c in value):
        raise SmsError(f"the field {name} is not a message id")
    return value


def twilio_message(params: Sequence[tuple[str, str]]) -> IncomingSms:
    """A Twilio Messaging webhook's fields as a message; :class:`SmsError` if one it needs is missing."""
    sender = _required(params, "From")
    sid = _check_id(_required(params, "MessageSid"), "MessageSid")
    body = _one(params, "Body")
    if body is None:
        raise SmsError("the field Body is missing")
    count_s = _one(params, "NumMedia") or "0"
    if not count_s.isdigit() or int(count_s) > MAX_MEDIA:
        raise SmsError(f"NumMedia must be a number from 0 to {MAX_MEDIA}")
    media = []
    for n in range(int(count_s)):
        url = _required(params, f"MediaUrl{n}")
        media.append(Media(url.strip(), (_one(params, f"MediaContentType{n}") or "").strip()[:255] or None))
    if not body and not media:
        raise SmsError("the message has neither text nor media")
    return IncomingSms(
        provider=TWILIO,
        message_id=sid,
        sender=sender.strip(),
        text=_check_text(body),
        to=(_one(params, "To") or "").strip()[:64] or None,
        media=tuple(media),
        account=(_one(params, "AccountSid") or "").strip() or None,
    )


def _rfc3339(value: str) -> str:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise SmsError("the date is not an RFC 3339 date-time") from None
    return value


def rapidpro_message(params: Sequence[tuple[str, str]], secret: str) -> IncomingSms:
    """A RapidPro External API channel delivery as a message.

    The id is the gateway's ``id`` if it sends one; otherwise an HMAC keyed with
    the channel's ``secret`` (which is not in the database) over sender, date and
    text: the same delivery retried gets the same id, and the stored id reveals
    nothing about the sender. Two identical texts from one sender with no date
    count as one message (the bytes and sender are the same; only a second
    arrival time would be lost): a gateway that wants them apart sends ``date``.
    """
    sender = _one(params, "from") or _one(params, "sender")
    if sender is None or not sender.strip():
        raise SmsError("must have one of 'from' or 'sender' set")
    text = _one(params, "text")
    if text is None or not text:
        raise SmsError("the field text is missing or empty")
    date = _one(params, "date") or _one(params, "time")
    date = _rfc3339(date.strip()) if date and date.strip() else None
    given = _one(params, "id")
    if given is not None and given.strip():
        message_id = "id:" + _check_id(given, "id")
    else:
        mac = hmac.new(secret.encode("utf-8"), digestmod=hashlib.sha256)
        for part in (sender.strip(), date or "", text):
            mac.update(part.encode("utf-8") + b"\x00")
        message_id = "derived:" + mac.hexdigest()
    return IncomingSms(RAPIDPRO, message_id, sender.strip(), _check_text(text), received_at_claimed=date)


# -- Twilio's request signature -------------------------------------------------------------------


def twilio_signature(token: str, url: str, params: Iterable[tuple[str, str]], algorithm: str = "HMAC_SHA1") -> str:
    """``X-Twilio-Signature`` for a request: the URL, then each parameter name+value, names sorted.

    Repeated names contribute each distinct value in sorted order, as Twilio's
    reference validator computes it.
    """
    by_name: dict[str, set[str]] = {}
    for name, value in params:
        by_name.setdefault(name, set()).add(value)
    signed = url + "".join(name + value for name in sorted(by_name) for value in sorted(by_name[name]))
    mac = hmac.new(token.encode("utf-8"), signed.encode("utf-8"), SIGNATURE_ALGORITHMS[algorithm])
    return base64.b64encode(mac.digest()).decode("ascii")


def signature_algorithm(settings_header: str | None) -> str | None:
    """The algorithm ``X-Twilio-Webhooks-Signature-Settings`` names (HMAC-SHA1 without it); None if unknown."""
    for part in (settings_header or "").split(","):
        name, sep, value = part.partition("=")
        if sep and name.strip() == "algorithm" and value.strip():
            wanted = value.strip().upper()
            return wanted if wanted in SIGNATURE_ALGORITHMS else None
    return "HMAC_SHA1"


def _url_variants(url: str) -> list[str]:
    """The URL as given, without its port and with the scheme's default port (Twilio signs either)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    shown = f"[{host}]" if ":" in host else host
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = userinfo + "@" if userinfo else ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    without = urlunsplit(parts._replace(netloc=prefix + shown))
    with_port = urlunsplit(parts._replace(netloc=f"{prefix}{shown}:{port}"))
    return list(dict.fromkeys([url, without, with_port]))


def twilio_signature_ok(
    token: str, url: str, params: Sequence[tuple[str, str]], signature: str | None, settings_header: str | None = None
) -> bool:
    """Whether ``signature`` is the one Twilio makes for this URL and these parameters (compared in constant time)."""
    algorithm = signature_algorithm(settings_header)
    if not token or not signature or algorithm is None:
        return False
    given = signature.strip().encode("utf-8")
    ok = False
    for variant in _url_variants(url):
        ok |= hmac.compare_digest(twilio_signature(token, variant, params, algorithm).encode("ascii"), given)
    return ok


# -- anchors --------------------------------------------------------------------------------------


def parse_anchors(text: str) -> tuple[list[str], int]:
    """The full SHA-256 digests the text anchors (lower case, each once), and how many tokens were too short.

    A token is ``H`` or ``#h`` (any case), an optional colon, then hex digits;
    exactly 64 of them anchor. 16 to 63 (or more than 64) are counted as
    incomplete so the reply can ask for the whole digest; fewer are ordinary text.
    """
    found: list[str] = []
    incomplete = 0
    for match in _ANCHOR.finditer(text):
        digits = match.group(1).lower()
        if _DIGEST.match(digits):
            if digits not in found:
                found.append(digits)
        elif len(digits) >= _MIN_PREFIX:
            incomplete += 1
    return found, incomplete


@dataclass(frozen=True)
class Anchor:
    """A digest announced by SMS, and whether bytes with that digest are in the case now."""

    claimed_sha256: str
    message_sha256: str
    log_index: int  # the SMS's custody entry: the bytes existed no later than this
    anchored_at_vault_clock: str
    item_log_index: int | None = None  # the first custody entry of an item with those bytes, if any
    item_received_at_vault_clock: str | None = None

    @property
    def arrived(self) -> bool:
        return self.item_log_index is not None

    @property
    def arrived_after(self) -> bool:
        """The evidence came in after the SMS that anchored it: the case the anchor exists for."""
        return self.item_log_index is not None and self.item_log_index > self.log_index

    def to_json(self) -> dict[str, Any]:
        return {
            "claimed_sha256": self.claimed_sha256,
            "message_sha256": self.message_sha256,
            "anchor_log_index": self.log_index,
            "anchored_at_vault_clock": self.anchored_at_vault_clock,
            "arrived": self.arrived,
            "arrived_after_anchor": self.arrived_after,
            "item_log_index": self.item_log_index,
            "item_received_at_vault_clock": self.item_received_at_vault_clock,
        }


def anchors(case: Case) -> list[Anchor]:
    """Every anchored digest, oldest first, with the first arrival of matching bytes (by any channel)."""
    with case.engine.connect() as conn:
        rows = conn.execute(
            select(
                SmsAnchor.claimed_sha256,
                SmsAnchor.message_sha256,
                SmsAnchor.log_index,
                SmsAnchor.at_vault_clock,
                Item.first_log_index,
                Item.received_at_vault_clock,
            )
            .outerjoin(Item, Item.sha256 == SmsAnchor.claimed_sha256)
            .order_by(SmsAnchor.log_index, SmsAnchor.id)
        ).all()
    return [Anchor(*row) for row in rows]


# -- fetching MMS media ---------------------------------------------------------------------------


class _Capped:
    """A readable stream over an HTTP response body that refuses to go past ``limit`` bytes."""

    def __init__(self, chunks: Iterator[bytes], limit: int) -> None:
        self.chunks = chunks
        self.limit = limit
        self.size = 0
        self.buffer = b""

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self.buffer) < n:
            chunk = next(self.chunks, b"")
            if not chunk:
                break
            self.size += len(chunk)
            if self.size > self.limit:
                raise IntakeError(f"larger than the server's limit of {self.limit} bytes")
            self.buffer += chunk
        if n < 0:
            data, self.buffer = self.buffer, b""
        else:
            data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data


def _allowed(url: str) -> bool:
    """https anywhere; plain http only to this machine (a gateway on loopback, the tests)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return True
    if parts.scheme != "http" or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


def fetch_media(case: Case, media: Media, *, limit: int, auth: tuple[str, str] | None = None) -> StoredBlob:
    """Stream one attachment into the blob store; :class:`IntakeError` saying why if it cannot be had.

    Redirects are followed by hand (Twilio answers media URLs with a redirect to
    its storage), each hop checked by :func:`_allowed`, and the credentials are
    sent only to the host the signed webhook named, never to where it redirects.
    """
    url = media.url
    first = _origin(url)
    with httpx.Client(timeout=FETCH_TIMEOUT, follow_redirects=False, trust_env=False) as client:
        for _ in range(REDIRECTS + 1):
            if not _allowed(url):
                raise IntakeError("not an https URL (plain http is fetched only on loopback)")
            use_auth = auth if auth is not None and _origin(url) == first else None
            try:
                with client.stream("GET", url, auth=use_auth) as response:
                    if response.is_redirect and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    if response.status_code != 200:
                        raise IntakeError(f"the server answered HTTP {response.status_code}")
                    length = response.headers.get("content-length", "")
                    if length.isdigit() and int(length) > limit:
                        raise IntakeError(f"{length} bytes, over the server's limit of {limit}")
                    return case.blobs.put_file(_Capped(response.iter_bytes(), limit))  # type: ignore[arg-type]
            except httpx.HTTPError as exc:
                raise IntakeError(f"fetch failed ({type(exc).__name__})") from None
    raise IntakeError(f"more than {REDIRECTS} redirects")


# -- recording ------------------------------------------------------------------------------------


def find(case: Case, provider: str, message_id: str) -> Outcome | None:
    """A message already recorded under this provider's id (a retried webhook), or None."""
    with case.engine.connect() as conn:
        row = conn.execute(
            select(SmsMessage.sha256, SmsMessage.log_index).where(
                SmsMessage.provider == provider, SmsMessage.message_id == message_id
            )
        ).first()
        if row is None:
            return None
        anchored = tuple(
            conn.execute(
                select(SmsAnchor.claimed_sha256).where(SmsAnchor.log_index == row[1]).order_by(SmsAnchor.id)
            ).scalars()
        )
    try:
        with case.blobs.open(row[0]) as fh:  # the text again, so the reply can say again what it said
            incomplete = parse_anchors(fh.read(MAX_TEXT_BYTES + 1).decode("utf-8", "replace"))[1]
    except OSError:
        incomplete = 0
    return Outcome(row[0], row[1], anchored, duplicate=True, incomplete_digests=incomplete)


def _media_note(sms: IncomingSms, failures: list[tuple[int, Media, str]]) -> str:
    parts = [f"{PROVIDERS[sms.provider]}, message id {sms.message_id}"]
    if sms.to:
        parts.append(f"to {sms.to}")
    if sms.media:
        parts.append(f"{len(sms.media)} media attached, {len(sms.media) - len(failures)} fetched")
    for n, media, why in failures:
        kind = f" ({media.content_type})" if media.content_type else ""
        parts.append(f"media {n + 1}{kind} NOT FETCHED: {why}; it was at {media.url}")
    return "; ".join(parts)


def receive(
    case: Case,
    sms: IncomingSms,
    *,
    max_media_bytes: int,
    media_auth: tuple[str, str] | None = None,
) -> Outcome:
    """Record a message, its anchors and its media in one transaction; a retried delivery adds nothing."""
    known = find(case, sms.provider, sms.message_id)
    if known is not None:
        return known
    fetched: list[tuple[int, StoredBlob]] = []
    failures: list[tuple[int, Media, str]] = []
    for n, media in enumerate(sms.media):
        try:
            fetched.append((n, fetch_media(case, media, limit=max_media_bytes, auth=media_auth)))
        except IntakeError as exc:
            failures.append((n, media, str(exc)))
    text_blob = case.blobs.put_bytes(sms.text.encode("utf-8"))
    anchored, incomplete = parse_anchors(sms.text)
    source = PROVIDERS[sms.provider]
    receipts = [
        NewReceipt(
            blob=text_blob,
            channel=CHANNEL,
            source=source,
            note=_media_note(sms, failures),
            original_name="sms.txt",
            collected_at_claimed=sms.received_at_claimed,
            protected={"witness_phone": sms.sender},
        )
    ]
    for n, blob in fetched:
        claimed = f" (claimed type {sms.media[n].content_type})" if sms.media[n].content_type else ""
        receipts.append(
            NewReceipt(
                blob=blob,
                channel=CHANNEL,
                source=source,
                note=f"MMS media {n + 1} of {len(sms.media)}{claimed} of SMS item {text_blob.sha256}",
                collected_at_claimed=sms.received_at_claimed,
            )
        )

    def rows(conn: Connection, recorded: list[Recorded]) -> None:
        taken = conn.execute(
            select(SmsMessage.id).where(SmsMessage.provider == sms.provider, SmsMessage.message_id == sms.message_id)
        ).first()
        if taken is not None:  # a concurrent delivery of the same message committed first
            raise _AlreadyRecorded
        message = recorded[0]
        now = conn.execute(select(Receipt.received_at_vault_clock).where(Receipt.log_index == message.log_index))
        at = now.scalar_one()
        conn.execute(
            insert(SmsMessage).values(
                provider=sms.provider,
                message_id=sms.message_id,
                sha256=message.sha256,
                log_index=message.log_index,
                at_vault_clock=at,
            )
        )
        if anchored:
            conn.execute(
                insert(SmsAnchor),
                [
                    {
                        "claimed_sha256": digest,
                        "message_sha256": message.sha256,
                        "log_index": message.log_index,
                        "at_vault_clock": at,
                    }
                    for digest in anchored
                ],
            )

    try:
        recorded = case.record(receipts, actor=f"sms-{sms.provider}", extra=rows)
    except _AlreadyRecorded:
        again = find(case, sms.provider, sms.message_id)
        assert again is not None
        return again
    return Outcome(
        recorded[0].sha256,
        recorded[0].log_index,
        tuple(anchored),
        recorded=tuple(recorded),
        media_missing=len(failures),
        incomplete_digests=incomplete,
    )


def reply_text(outcome: Outcome) -> str:
    """The confirmation the gateway sends back: the digest's first characters, never the text or a number.

    It depends only on what is stored, so a retried webhook gets the same reply.
    """
    parts = [f"Received. Ref {outcome.ref}."]
    if len(outcome.anchored) == 1:
        parts.append(f"Digest anchored: {outcome.anchored[0][:REF_CHARS]}.")
    elif outcome.anchored:
        parts.append(f"{len(outcome.anchored)} digests anchored.")
    if outcome.incomplete_digests:
        parts.append("A digest was incomplete: send all 64 characters.")
    return " ".join(parts)


# -- verify ---------------------------------------------------------------------------------------


ROW_ALTERED = "database row altered"  # the kinds factfinder.vault.audit reports, named the same
LOG_TRUNCATED = "log truncated"


def check_rows(session: Session, entries: dict[int, dict[str, Any]], report: Any) -> None:
    """SMS rows against the custody log: each message's digest and time must be its receipt's entry's.

    An anchor must hang off a recorded message (same entry, same digest) and
    name a full SHA-256: an anchor added, moved to another message or altered
    afterwards no longer matches. (That the digest is written in the message's
    text is checked by :func:`check_anchor_texts`, which needs the blobs.)
    """
    messages: dict[int, str] = {}
    for m in session.scalars(select(SmsMessage)):
        subject = f"SMS message {m.id} ({m.provider}, entry {m.log_index})"
        messages[m.log_index] = m.sha256
        entry = entries.get(m.log_index)
        if entry is None:
            report.add(LOG_TRUNCATED, subject, "its custody entry is not in the log")
            continue
        want = {
            "item_sha256": m.sha256,
            "channel": CHANNEL,
            "received_at_vault_clock": m.at_vault_clock,
        }
        wrong = sorted(k for k, v in want.items() if entry.get(k) != v)
        if entry.get("action") not in custody.ITEM_ACTIONS:
            wrong.append("action")
        if wrong:
            report.add(ROW_ALTERED, subject, f"differs from its custody entry in: {', '.join(wrong)}")
    for a in session.scalars(select(SmsAnchor)):
        subject = f"SMS anchor {a.id} (entry {a.log_index})"
        if a.log_index not in messages:
            report.add(ROW_ALTERED, subject, "names no recorded SMS message")
        elif messages[a.log_index] != a.message_sha256:
            report.add(ROW_ALTERED, subject, "its message digest is not that of the SMS at its entry")
        elif not _DIGEST.match(a.claimed_sha256):
            report.add(ROW_ALTERED, subject, "its anchored digest is not a SHA-256")
        elif (entries.get(a.log_index) or {}).get("received_at_vault_clock") != a.at_vault_clock:
            report.add(ROW_ALTERED, subject, "its time is not that of the SMS's custody entry")


def check_anchor_texts(case: Case, report: Any) -> None:
    """Each anchored digest must be written in its message's text (read from the blob store)."""
    with dbengine.snapshot(case.engine) as conn:
        rows = conn.execute(select(SmsAnchor.id, SmsAnchor.claimed_sha256, SmsAnchor.message_sha256)).all()
    texts: dict[str, list[str]] = {}
    for anchor_id, claimed, message_sha in rows:
        if message_sha not in texts:
            try:
                with case.blobs.open(message_sha) as fh:
                    texts[message_sha] = parse_anchors(fh.read(MAX_TEXT_BYTES + 1).decode("utf-8", "replace"))[0]
            except (OSError, ValueError):
                continue  # a missing blob is reported by the blob check
        if claimed not in texts[message_sha]:
            report.add(ROW_ALTERED, f"SMS anchor {anchor_id}", "its digest is not written in the message")


__all__ = [
    "Anchor",
    "IncomingSms",
    "Media",
    "MessageTooLong",
    "Outcome",
    "SmsError",
    "anchors",
    "check_anchor_texts",
    "check_rows",
    "fetch_media",
    "find",
    "parse_anchors",
    "rapidpro_message",
    "receive",
    "reply_text",
    "twilio_message",
    "twilio_signature",
    "twilio_signature_ok",
]
