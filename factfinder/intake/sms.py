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
  keyed with the channel's shared secret, of date and text only (never the
  sender: a seized server holds the secret, and an id derived from the number
  could be matched by trying every number), so a retried POST adds nothing.
  With neither ``id`` nor ``date``, a retry is recognised only in memory, for
  a short while (:class:`RecentUndated`).
- **One item per message**: the text exactly as received, UTF-8, channel
  ``sms``; the sender's number is sealed as the ``witness_phone`` protected
  field and is never stored in clear nor logged. An :class:`SmsMessage` row
  (provider, message id, digest, custody entry) and the anchors are written in
  the same transaction as the custody entry, before any medium is fetched, so
  a retried webhook finds it and adds nothing, a process killed midway leaves
  neither, and nothing that happens to a medium can lose the message.
- **MMS media** are fetched afterwards, all of a message's media within
  :data:`MEDIA_DEADLINE_S` together (Twilio gives up on a webhook after 15 s),
  and recorded in a second transaction as items of their own, each note naming
  the message's digest and provider id. Only https to Twilio's hosts is
  fetched (:class:`MediaPolicy`): ``MediaUrl`` on api.twilio.com, redirects to
  its media stores; never from https to http; never to an address that is not
  public once the name is resolved (the connection goes to the address checked);
  the account's credentials only to api.twilio.com. A medium that cannot be had,
  for whatever reason, does not stop the others: a short text item
  (``sms-media-missing.txt``) says which are missing, why (our own words, or
  the exception's class, never the URL's text) and where they were (Twilio
  keeps them until deleted). The webhook is still answered 200: Twilio does
  not retry a failed messaging webhook (it only tries the fallback URL), so a
  5xx would not bring the media back and would only tell the witness, wrongly,
  that nothing arrived. For the same reason a retried delivery of a message
  already held fetches nothing again: which media came is in the case, and a
  missing one is fetched from Twilio by hand.
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
import dataclasses
import hashlib
import hmac
import ipaddress
import logging
import re
import secrets
import socket
import threading
import time
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

logger = logging.getLogger(__name__)

CHANNEL = "sms"
TWILIO = "twilio"
RAPIDPRO = "rapidpro"
PROVIDERS = {TWILIO: "SMS via Twilio", RAPIDPRO: "SMS via RapidPro/TextIt external channel"}
MAX_TEXT_BYTES = 8192  # Twilio stops at 1600 UTF-16 units (at most 4800 UTF-8 bytes); refuse what no SMS can be
MAX_MEDIA = 10  # Twilio's own limit per MMS
MAX_ID_CHARS = 255
REF_CHARS = 12  # the digest prefix a reply names: what `factfinder show` and the receipt page accept
REDIRECTS = 5
MEDIA_DEADLINE_S = 10.0  # all of a message's media together: Twilio gives up on a webhook after 15 s
TWILIO_API_HOST = "api.twilio.com"  # where MediaUrl points; the only host the account's credentials go to
TWILIO_MEDIA_HOSTS = ("s3-external-1.amazonaws.com",)  # older public media, reached by redirect only
TWILIO_MEDIA_SUFFIX = ".twiliocdn.com"  # mms.twiliocdn.com and its kin: media storage, reached by redirect only
REPORT_NAME = "sms-media-missing.txt"
UNDATED_WINDOW_S = 600.0  # how long an undated, id-less RapidPro delivery is remembered (in memory) as a retry
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
    missing_report: Recorded | None = None  # the item saying which media were not fetched and why

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


class RecentUndated:
    """Undated, id-less RapidPro deliveries seen lately, held in memory only, so a retry adds nothing.

    A delivery with neither ``id`` nor ``date`` has nothing stable to derive a
    stored id from without the sender, and a stored id derived from the sender
    can be reversed by trying every phone number with the channel secret (which
    a seized server holds). So such a delivery gets a random id, and the same
    sender and text again within ``window_s`` seconds is taken for a retry of
    it: the mark that says so is an HMAC under a key made at start-up and never
    written down, and it is forgotten after the window. After a restart, or
    after the window, the same text is recorded again as a second arrival.
    """

    def __init__(self, window_s: float = UNDATED_WINDOW_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.window_s = window_s
        self.clock = clock
        self._key = secrets.token_bytes(32)
        self._seen: dict[bytes, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def message_id(self, sender: str, text: str) -> str:
        mark = hmac.new(self._key, sender.encode("utf-8") + b"\x00" + text.encode("utf-8"), hashlib.sha256).digest()
        now = self.clock()
        with self._lock:
            self._seen = {k: v for k, v in self._seen.items() if now - v[0] < self.window_s}
            if mark not in self._seen:
                self._seen[mark] = (now, "undated:" + secrets.token_hex(16))
            return self._seen[mark][1]


UNDATED = RecentUndated()


def rapidpro_message(
    params: Sequence[tuple[str, str]], secret: str, undated: RecentUndated | None = None
) -> IncomingSms:
    """A RapidPro External API channel delivery as a message.

    The id is the gateway's ``id`` if it sends one. Otherwise, with a ``date``,
    an HMAC keyed with the channel's ``secret`` over date and text only: the
    same delivery retried gets the same id, and since the sender is not in it,
    the secret and the stored rows together still give no way to test phone
    numbers against it. Two senders who send the same text with the same date
    therefore count as one message (the bytes are held; the second sender's
    sealed number is not): a gateway that can tell them apart sends ``id``.
    With neither, see :class:`RecentUndated`.
    """
    sender = _one(params, "from") or _one(params, "sender")
    if sender is None or not sender.strip():
        raise SmsError("must have one of 'from' or 'sender' set")
    text = _one(params, "text")
    if text is None or not text:
        raise SmsError("the field text is missing or empty")
    text = _check_text(text)
    date = _one(params, "date") or _one(params, "time")
    date = _rfc3339(date.strip()) if date and date.strip() else None
    given = _one(params, "id")
    if given is not None and given.strip():
        message_id = "id:" + _check_id(given, "id")
    elif date is not None:
        mac = hmac.new(secret.encode("utf-8"), digestmod=hashlib.sha256)
        for part in (date, text):
            mac.update(part.encode("utf-8") + b"\x00")
        message_id = "derived:" + mac.hexdigest()
    else:
        message_id = (undated or UNDATED).message_id(sender.strip(), text)
    return IncomingSms(RAPIDPRO, message_id, sender.strip(), text, received_at_claimed=date)


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


def signed_with_shared_key(settings_header: str | None) -> bool:
    """Whether the request was signed with a webhook SharedKey's secret rather than the account's auth token.

    Twilio adds ``X-Twilio-Webhooks-Signature-Settings`` (``key=<SharedKey id>,
    algorithm=...``) only to webhooks signed with a SharedKey, so its presence
    alone says which secret to check against.
    """
    return bool((settings_header or "").strip())


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


@dataclass(frozen=True)
class MediaPolicy:
    """Where MMS media may be fetched from, and how long all of a message's media may take together.

    Twilio's ``MediaUrl`` names ``https://api.twilio.com/...``, which redirects
    to its media storage (``mms.twiliocdn.com`` when HTTP authentication is
    enforced on media, ``s3-external-1.amazonaws.com`` for older public media).
    Nothing else is fetched: a webhook whose signature checks could still name
    any URL if the auth token leaked, and the fetch carries that token.
    ``allow_loopback`` lets plain http to this machine through, for the tests
    and a development gateway only; it is never on in production.
    """

    deadline_s: float = MEDIA_DEADLINE_S
    allow_loopback: bool = False


class _Deadline(IntakeError):
    """The overall time for a message's media ran out while one was being fetched."""


class _Capped:
    """A readable stream over an HTTP response body that stops at ``limit`` bytes or at the deadline."""

    def __init__(self, chunks: Iterator[bytes], limit: int, deadline: float) -> None:
        self.chunks = chunks
        self.limit = limit
        self.deadline = deadline
        self.size = 0
        self.buffer = b""

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self.buffer) < n:
            if time.monotonic() > self.deadline:
                raise _Deadline("the time allowed for the message's media ran out during the download")
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


def _twilio_host(host: str, *, first: bool) -> bool:
    """Twilio's API host (where ``MediaUrl`` points), or after a redirect one of its media stores."""
    if host == TWILIO_API_HOST:
        return True
    return not first and (host in TWILIO_MEDIA_HOSTS or host.endswith(TWILIO_MEDIA_SUFFIX))


def _loopback_name(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to now (a seam the tests replace to play a poisoned DNS)."""
    return list(dict.fromkeys(str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)))


def _resolve_by(host: str, port: int, deadline: float | None) -> list[str]:
    """:func:`_resolve` within ``deadline``: a resolver that never answers must not hold the media task.

    ``getaddrinfo`` cannot be interrupted, so it runs on a daemon thread that
    is left behind if the deadline passes first (it ends when the resolver's
    own timeout does).
    """
    if deadline is None:
        return _resolve(host, port)
    _time_left(deadline)
    answer: list[list[str]] = []
    failure: list[OSError] = []

    def lookup() -> None:
        try:
            answer.append(_resolve(host, port))
        except OSError as error:
            failure.append(error)

    worker = threading.Thread(target=lookup, name="sms-media-dns", daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))
    if failure:
        raise IntakeError(f"the host's name could not be resolved ({type(failure[0]).__name__})")
    if not answer:
        raise _Deadline("the time allowed for the message's media ran out while the host's name was looked up")
    return answer[0]


@dataclass(frozen=True)
class _Hop:
    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]


def check_media_url(
    url: str,
    policy: MediaPolicy,
    *,
    first: bool = True,
    came_from: str | None = None,
    deadline: float | None = None,
) -> _Hop:
    """One hop of a media fetch, checked; :class:`IntakeError` saying why it is refused.

    https to Twilio's hosts only (plain http to loopback only when the policy
    allows it, and never after an https hop); no credentials in the URL; every
    address the name resolves to must be public (loopback when loopback is
    allowed), so a poisoned DNS answer cannot turn the fetch onto an internal
    service. The connection is then made to one of these checked addresses.
    The name lookup ends by ``deadline`` (a :func:`time.monotonic` time) when one is given.
    """
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise IntakeError("not a valid URL") from None
    if parts.username is not None or parts.password is not None:
        raise IntakeError("the URL holds credentials")
    if parts.scheme == "https" and _twilio_host(host, first=first):
        loopback = False
    elif parts.scheme == "http" and policy.allow_loopback and _loopback_name(host):
        loopback = True
    elif parts.scheme == "http" and came_from == "https":
        raise IntakeError("redirected from https to plain http")
    else:
        raise IntakeError("not one of Twilio's media hosts over https")
    if came_from == "https" and parts.scheme != "https":
        raise IntakeError("redirected from https to plain http")
    addresses = _resolve_by(host, port, deadline)
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if (loopback and not ip.is_loopback) or (not loopback and not ip.is_global):
            raise IntakeError("the host resolves to a private, loopback or link-local address")
    if not addresses:
        raise IntakeError("the host resolves to no address")
    return _Hop(url, parts.scheme, host, port, tuple(addresses))


def _pinned(hop: _Hop, address: str) -> tuple[str, dict[str, str], dict[str, Any]]:
    """The request URL naming the checked address, and the Host header and TLS name of the real host."""
    parts = urlsplit(hop.url)
    shown = f"[{address}]" if ":" in address else address
    default = 443 if hop.scheme == "https" else 80
    host_header = hop.host if hop.port == default else f"{hop.host}:{hop.port}"
    target = urlunsplit((hop.scheme, f"{shown}:{hop.port}", parts.path or "/", parts.query, ""))
    extensions: dict[str, Any] = {"sni_hostname": hop.host} if hop.scheme == "https" else {}
    return target, {"Host": host_header}, extensions


def _credentials_for(hop: _Hop, first: _Hop, policy: MediaPolicy) -> bool:
    """The account's credentials go to api.twilio.com over https only (or, in tests, the loopback origin named)."""
    if hop.scheme == "https" and hop.host == TWILIO_API_HOST:
        return True
    return policy.allow_loopback and (hop.scheme, hop.host, hop.port) == (first.scheme, first.host, first.port)


def _time_left(deadline: float) -> float:
    """Seconds left before ``deadline``; :class:`_Deadline` when none are, before the next step starts."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise _Deadline("the time allowed for the message's media ran out before this one")
    return left


def _timeout(deadline: float) -> httpx.Timeout:
    left = _time_left(deadline)
    return httpx.Timeout(min(left, 30.0), connect=min(left, 10.0))


def fetch_media(
    case: Case,
    media: Media,
    *,
    limit: int,
    auth: tuple[str, str] | None = None,
    policy: MediaPolicy | None = None,
    deadline: float | None = None,
) -> StoredBlob:
    """Stream one attachment into the blob store; :class:`IntakeError` saying why if it cannot be had.

    Redirects are followed by hand (Twilio answers media URLs with a redirect to
    its storage), each hop checked by :func:`check_media_url`; the credentials go
    only to api.twilio.com. ``deadline`` (a :func:`time.monotonic` time) bounds
    the whole fetch, download included.
    """
    policy = policy or MediaPolicy()
    deadline = time.monotonic() + policy.deadline_s if deadline is None else deadline
    first = hop = check_media_url(media.url, policy, deadline=deadline)
    with httpx.Client(follow_redirects=False, trust_env=False) as client:
        for redirects in range(REDIRECTS + 1):
            use_auth = auth if auth is not None and _credentials_for(hop, first, policy) else None
            response = _connect(client, hop, use_auth, deadline)
            try:
                if response.is_redirect and "location" in response.headers:
                    if redirects == REDIRECTS:
                        break
                    hop = check_media_url(
                        urljoin(hop.url, response.headers["location"]),
                        policy,
                        first=False,
                        came_from=hop.scheme,
                        deadline=deadline,
                    )
                    continue
                if response.status_code != 200:
                    raise IntakeError(f"the server answered HTTP {response.status_code}")
                length = response.headers.get("content-length", "")
                if length.isdigit() and int(length) > limit:
                    raise IntakeError(f"{length} bytes, over the server's limit of {limit}")
                body = _Capped(response.iter_bytes(), limit, deadline)
                return case.blobs.put_file(body)  # type: ignore[arg-type]
            except httpx.TimeoutException:
                raise _Deadline("the time allowed for the message's media ran out") from None
            finally:
                response.close()
    raise IntakeError(f"more than {REDIRECTS} redirects")


def _connect(client: httpx.Client, hop: _Hop, auth: tuple[str, str] | None, deadline: float) -> httpx.Response:
    """The response's head, from the first of the hop's checked addresses that takes the connection."""
    failure: Exception = IntakeError("no address to connect to")
    for address in hop.addresses:
        target, headers, extensions = _pinned(hop, address)
        request = client.build_request("GET", target, headers=headers, extensions=extensions)
        request.extensions["timeout"] = _timeout(deadline).as_dict()
        if auth is not None:
            pair = f"{auth[0]}:{auth[1]}".encode()
            request.headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        try:
            return client.send(request, stream=True)
        except httpx.ConnectError as exc:
            failure = exc
        except httpx.TimeoutException:
            raise _Deadline("the time allowed for the message's media ran out") from None
    raise failure


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


def shown_url(url: str) -> str:
    """A media URL as a note may show it: scheme, host, port and path; never credentials, query or fragment."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(not a valid URL)"
    shown = urlunsplit((parts.scheme, (f"[{host}]" if ":" in host else host) + port, parts.path, "", ""))
    return shown[:300] if shown.isprintable() else "(not a printable URL)"


def _message_note(sms: IncomingSms) -> str:
    parts = [f"{PROVIDERS[sms.provider]}, message id {sms.message_id}"]
    if sms.to:
        parts.append(f"to {sms.to}")
    if sms.media:
        parts.append(
            f"{len(sms.media)} media attached, fetched after this text was recorded: each is an item whose note "
            f"names this message; any not fetched are listed in an item named {REPORT_NAME}"
        )
    return "; ".join(parts)


def _media_name(sms: IncomingSms, n: int) -> str:
    kind = f" (claimed type {sms.media[n].content_type})" if sms.media[n].content_type else ""
    return f"MMS media {n + 1} of {len(sms.media)}{kind}"


def _of_message(sms: IncomingSms, sha256: str) -> str:
    return f"of SMS item {sha256} ({PROVIDERS[sms.provider]}, message id {sms.message_id})"


def _missing_report(sms: IncomingSms, sha256: str, fetched: dict[int, str], failures: dict[int, str]) -> bytes:
    lines = [
        f"MMS media {_of_message(sms, sha256)}: {len(sms.media)} attached, {len(fetched)} fetched, "
        f"{len(failures)} NOT FETCHED."
    ]
    for n, media in enumerate(sms.media):
        if n in fetched:
            lines.append(f"{_media_name(sms, n)}: fetched, sha256 {fetched[n]}")
        else:
            lines.append(f"{_media_name(sms, n)}: NOT FETCHED: {failures[n]}; it was at {shown_url(media.url)}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _reason(exc: Exception) -> str:
    """Why a medium was not fetched: our own message, or only the exception's class (its text may hold the URL)."""
    if isinstance(exc, IntakeError):
        return str(exc)
    return f"fetch failed ({type(exc).__name__})"


def receive(
    case: Case,
    sms: IncomingSms,
    *,
    max_media_bytes: int,
    media_auth: tuple[str, str] | None = None,
    media_policy: MediaPolicy | None = None,
) -> Outcome:
    """Record a message and its anchors, then fetch and record its media; a retried delivery adds nothing.

    The text, its sealed sender, the :class:`SmsMessage` row and the anchors go
    in first, in one transaction, before any medium is fetched: nothing that
    happens to a medium can lose the message. The media then get the time the
    policy allows, together, and are recorded in a second transaction with,
    if any could not be had, a short text item saying which and why. A retried
    delivery of a message already held does not fetch again (see the module
    docstring).
    """
    known = find(case, sms.provider, sms.message_id)
    if known is not None:
        return known
    text_blob = case.blobs.put_bytes(sms.text.encode("utf-8"))
    anchored, incomplete = parse_anchors(sms.text)
    message_receipt = NewReceipt(
        blob=text_blob,
        channel=CHANNEL,
        source=PROVIDERS[sms.provider],
        note=_message_note(sms),
        original_name="sms.txt",
        collected_at_claimed=sms.received_at_claimed,
        protected={"witness_phone": sms.sender},
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
        [message] = case.record([message_receipt], actor=f"sms-{sms.provider}", extra=rows)
    except _AlreadyRecorded:
        again = find(case, sms.provider, sms.message_id)
        assert again is not None
        return again
    outcome = Outcome(
        message.sha256, message.log_index, tuple(anchored), recorded=(message,), incomplete_digests=incomplete
    )
    if not sms.media:
        return outcome
    return _receive_media(case, sms, outcome, max_media_bytes, media_auth, media_policy or MediaPolicy())


def _receive_media(
    case: Case,
    sms: IncomingSms,
    outcome: Outcome,
    limit: int,
    auth: tuple[str, str] | None,
    policy: MediaPolicy,
) -> Outcome:
    """Fetch a recorded message's media within the policy's deadline and record them; never raises for a medium."""
    deadline = time.monotonic() + policy.deadline_s
    blobs: dict[int, StoredBlob] = {}
    failures: dict[int, str] = {}
    for n, media in enumerate(sms.media):
        try:
            blobs[n] = fetch_media(case, media, limit=limit, auth=auth, policy=policy, deadline=deadline)
        except Exception as exc:  # whatever happens to one medium, the others and the report go on
            failures[n] = _reason(exc)
    source = PROVIDERS[sms.provider]
    receipts = [
        NewReceipt(
            blob=blob,
            channel=CHANNEL,
            source=source,
            note=f"{_media_name(sms, n)} {_of_message(sms, outcome.sha256)}",
            collected_at_claimed=sms.received_at_claimed,
        )
        for n, blob in blobs.items()
    ]
    if failures:
        fetched = {n: blob.sha256 for n, blob in blobs.items()}
        report = case.blobs.put_bytes(_missing_report(sms, outcome.sha256, fetched, failures))
        receipts.append(
            NewReceipt(
                blob=report,
                channel=CHANNEL,
                source=source,
                note=f"which MMS media {_of_message(sms, outcome.sha256)} were not fetched, and why",
                original_name=REPORT_NAME,
                collected_at_claimed=sms.received_at_claimed,
            )
        )
    try:
        recorded = case.record(receipts, actor=f"sms-{sms.provider}")
    except Exception as exc:  # the message is held, and its note says media were attached
        logger.error("SMS media of a recorded message could not be recorded (%s)", type(exc).__name__)
        return dataclasses.replace(outcome, media_missing=len(sms.media))
    media_items = tuple(recorded[: len(blobs)])
    return dataclasses.replace(
        outcome,
        recorded=outcome.recorded + media_items,
        media_missing=len(failures),
        missing_report=recorded[len(blobs)] if failures else None,
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
    "MediaPolicy",
    "MessageTooLong",
    "Outcome",
    "RecentUndated",
    "SmsError",
    "anchors",
    "check_anchor_texts",
    "check_media_url",
    "check_rows",
    "fetch_media",
    "find",
    "parse_anchors",
    "rapidpro_message",
    "receive",
    "reply_text",
    "shown_url",
    "signed_with_shared_key",
    "twilio_message",
    "twilio_signature",
    "twilio_signature_ok",
]
