"""OpenRosa 1.0 over HTTP: the form list, form download, manifests and the submission API.

Implements https://docs.getodk.org/openrosa/ (FormListAPI, FormSubmissionAPI,
Authentication, HTTP Request API) the way ODK Central serves it, so that ODK
Collect, KoboCollect, Enketo and Tella submit to factfinder unchanged:

- ``GET /formList``, ``GET /forms/{formId}/form.xml``, ``.../manifest`` and
  ``.../media/{name}``; ``HEAD /submission`` (204 with
  ``X-OpenRosa-Accept-Content-Length``) and ``POST /submission`` (multipart:
  ``xml_submission_file`` and media parts, 201 with an ``OpenRosaResponse``).
- Every response of these routes carries ``X-OpenRosa-Version: 1.0``, errors
  included (the route class below adds it), and every request must carry it,
  as OpenRosa clients do; ``Date`` comes from the HTTP server (uvicorn).
- Auth, three ways: an app user's token in the URL (``/key/{token}/...``, like
  Central's ``/v1/key/{token}/projects/...``), which also limits the device to
  its campaign's forms; HTTP Digest (RFC 7616, MD5, ``qop=auth``) with the app
  user's name and token; and, only over TLS, HTTP Basic with a team account
  allowed to add evidence. A browser's session cookie is never enough: these
  routes take no cookies, so no other site can make a browser submit here,
  which is why they need no CSRF token.

The app refuses routes without a permission, so these name ``Permission.PUBLIC``
(anyone may reach them) and then do their own auth: devices have no accounts.
Answers are never logged; nor are tokens.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import logging
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException

from factfinder import accounts, config
from factfinder.intake import openrosa
from factfinder.permissions import Permission, allows
from factfinder.vault import keys
from factfinder.vault.case import Case
from factfinder.vault.errors import VaultError
from factfinder.web import mediascan
from factfinder.web.auth import need

logger = logging.getLogger(__name__)

VERSION_HEADER = "X-OpenRosa-Version"
XML = "text/xml; charset=utf-8"
RESPONSE_NS = "http://openrosa.org/http/response"
FORMS_LIST_NS = "http://openrosa.org/xforms/xformsList"
MANIFEST_NS = "http://openrosa.org/xforms/xformsManifest"
NONCE_SECONDS = 30 * 60  # Collect reuses a nonce for a session of sends; a stale one gets a fresh challenge
_DIGEST_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))')


def openrosa_response(
    status: int, message: str, *, nature: str = "", headers: dict[str, str] | None = None
) -> Response:
    """An ``OpenRosaResponse`` document: what Collect shows its user after a send."""
    attr = f' nature="{escape(nature)}"' if nature else ""
    body = f'<OpenRosaResponse xmlns="{RESPONSE_NS}"><message{attr}>{escape(message)}</message></OpenRosaResponse>'
    return Response(body, status, headers=headers, media_type=XML)


class OpenRosaRoute(APIRoute):
    """Adds ``X-OpenRosa-Version`` to every response and answers errors as ``OpenRosaResponse`` documents.

    Errors raised before the handler runs (the route guard, a body over the
    size limit while it streams) are caught here too, so a device always gets
    a message it can show."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        inner = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                response = await inner(request)
            except HTTPException as exc:
                response = openrosa_response(exc.status_code, str(exc.detail), headers=dict(exc.headers or {}))
                if isinstance(exc, Refused) and exc.basic:  # a second challenge header: a dict cannot hold it
                    response.headers.append("WWW-Authenticate", f'Basic realm="{openrosa.REALM}", charset="UTF-8"')
            except MultiPartException as exc:
                response = openrosa_response(400, f"malformed upload: {exc.message}")
            response.headers[VERSION_HEADER] = "1.0"
            return response

        return handler


router = APIRouter(route_class=OpenRosaRoute)
Guard = Depends(need(Permission.PUBLIC))  # devices have no accounts: the handlers authenticate them (see above)


class Refused(HTTPException):
    """A request these routes refuse, with the message a device shows; ``basic``: offer Basic auth too."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None, basic: bool = False) -> None:
        super().__init__(status, message, headers)
        self.basic = basic


@dataclass(frozen=True)
class Device:
    """Who is sending: an app user (by token or Digest), or a team account (Basic over TLS)."""

    submitter: str
    app_user: openrosa.AppUser | None
    token: str | None  # the token in the URL, to build further URLs under it


def _case(request: Request) -> Case:
    case: Case = request.app.state.case
    return case


# -- auth ------------------------------------------------------------------------------------

NONCE_KEY_FILE = "openrosa-digest-nonce.key"  # in the case's keys/ folder: every process of the server shares it
NONCE_BOOK_SIZE = 20_000  # nonces in use remembered at once; one held by each device sending


def _nonce_key(case: Case) -> bytes:
    """The key that signs Digest nonces, derived from a secret in the case's ``keys/`` folder.

    Stored rather than drawn per process, so a nonce stays good across a
    restart and between the workers of one server. A case copied read-only
    (no ``keys/`` to write to) falls back to a key for this process only:
    devices then answer one more challenge after a restart, nothing worse."""
    path = case.path / config.KEYS_DIR / NONCE_KEY_FILE
    try:
        with contextlib.suppress(FileExistsError):
            keys.write_secret(path, secrets.token_hex(32) + "\n")
        secret = bytes.fromhex(path.read_text(encoding="utf-8").strip())
        if len(secret) < 32:
            raise ValueError("a short nonce key")  # another worker is still writing it: this process's own
    except (OSError, ValueError):
        logger.warning("no Digest nonce key in the case's keys/ folder: nonces last only as long as this process")
        secret = secrets.token_bytes(32)
    return hmac.new(secret, b"factfinder openrosa digest nonce v1", hashlib.sha256).digest()


class NonceBook:
    """Digest nonces: issued (signed, with their time), and the last nonce count each was used with.

    RFC 7616 §3.4 and §5.5: a server that keeps each nonce's count
    can refuse a replayed ``Authorization`` header. A header is only good
    with a nonce count higher than any accepted before under its nonce, and
    only while the nonce is fresh (``NONCE_SECONDS``). Counts are recorded
    only after the response is verified, so a stranger's guesses cannot burn
    a device's nonce. The book is bounded: when it is full the oldest nonces
    are forgotten and every nonce issued no later than them is then answered
    as stale (the device answers a new challenge), so forgetting never lets a
    replay through. The book is per process: with several server workers a
    captured header could be replayed once to each other worker within the
    nonce's lifetime; the nonce key is shared so that no device notices them.
    """

    def __init__(self, key: bytes, size: int = NONCE_BOOK_SIZE) -> None:
        self._key = key
        self._size = size
        self._used: OrderedDict[str, tuple[int, int]] = OrderedDict()  # nonce -> (issued at, last nc)
        self._floor = -1  # every nonce issued at or before this was forgotten or expired
        self._lock = threading.Lock()

    def _mac(self, body: str) -> str:
        return hmac.new(self._key, body.encode(), hashlib.sha256).hexdigest()[:32]

    def issue(self, now: float | None = None) -> str:
        """A new nonce: its issue time, a random part (each challenge its own nonce) and their MAC."""
        body = f"{int(now if now is not None else time.time())}.{secrets.token_hex(8)}"
        return f"{body}.{self._mac(body)}"

    def state(self, nonce: str, now: float | None = None) -> str:
        """``fresh``, ``stale`` (ours but expired or forgotten) or ``forged`` (not signed by this case's key)."""
        found = _NONCE.fullmatch(nonce)
        if found is None or not hmac.compare_digest(self._mac(found["body"]).encode(), found["mac"].encode()):
            return "forged"
        issued = int(found["stamp"])
        age = (now if now is not None else time.time()) - issued
        if not 0 <= age <= NONCE_SECONDS:
            return "stale"
        with self._lock:
            if nonce not in self._used and issued <= self._floor:
                return "stale"
        return "fresh"

    def use(self, nonce: str, count: int, now: float | None = None) -> bool:
        """Record a verified use of a fresh nonce; False when ``count`` is not higher than the last (a replay)."""
        issued = int(nonce.partition(".")[0])
        moment = now if now is not None else time.time()
        with self._lock:
            held = self._used.get(nonce)
            if held is None and issued <= self._floor:
                return False
            if held is not None and count <= held[1]:
                return False
            self._used[nonce] = (issued, count)
            self._used.move_to_end(nonce)
            while self._used and next(iter(self._used.values()))[0] < moment - NONCE_SECONDS:
                self._used.popitem(last=False)  # expired: refused by its time anyway
            while len(self._used) > self._size:
                _, (forgotten, _) = self._used.popitem(last=False)
                self._floor = max(self._floor, forgotten)
        return True


_NONCE = re.compile(r"(?P<body>(?P<stamp>[0-9]{1,12})\.[0-9a-f]{16})\.(?P<mac>[0-9a-f]{32})")
_HEX32 = re.compile(r"[0-9a-fA-F]{32}")
_NC = re.compile(r"[0-9a-fA-F]{8}")
_BOOK_LOCK = threading.Lock()


def nonce_book(request: Request) -> NonceBook:
    """This app's nonce book, made on first use with the key from the case folder."""
    state = request.app.state
    with _BOOK_LOCK:
        book: NonceBook | None = getattr(state, "openrosa_nonces", None)
        if book is None:
            book = state.openrosa_nonces = NonceBook(_nonce_key(_case(request)))
    return book


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or bool(request.app.state.settings.secure_cookies)


def _challenge(request: Request, message: str, *, stale: bool = False) -> Refused:
    """401 with a Digest challenge (and a Basic one where the line is encrypted)."""
    digest = f'Digest realm="{openrosa.REALM}", qop="auth", algorithm=MD5, nonce="{nonce_book(request).issue()}"'
    if stale:
        digest += ", stale=true"
    return Refused(401, message, {"WWW-Authenticate": digest}, basic=_secure(request))


# Failed sign-ins are rate-limited for Basic only, where the secret is a person's password. Tokens (URL or
# Digest password) are 256 random bits, which no rate of guessing reaches; limiting them would only let anyone
# behind the same address (a carrier's NAT, a town's one connection) lock the field devices out.


def _limiter_keys(request: Request, name: str | None) -> list[str]:
    host = request.client.host if request.client else "unknown"
    return [f"openrosa-addr:{host}"] + ([f"openrosa-user:{name.lower()}"] if name else [])


def _failed(request: Request, name: str | None, message: str) -> Refused:
    request.app.state.login_limiter.hit(*_limiter_keys(request, name))
    return _challenge(request, message)


def _check_blocked(request: Request, name: str | None) -> None:
    if request.app.state.login_limiter.blocked(*_limiter_keys(request, name)):
        raise Refused(429, "too many failed attempts: wait a quarter of an hour and try again")


def _parse_digest(value: str) -> dict[str, str]:
    return {k.lower(): (quoted if quoted else bare) for k, quoted, bare in _DIGEST_PARAM.findall(value)}


def _digest_device(request: Request, value: str) -> Device:
    """Check a Digest ``Authorization`` (RFC 7616, MD5, ``qop=auth``), refusing a replayed one.

    ``qop=auth`` signs the method and the address, not the body: only TLS
    keeps a submission from being altered on the way (see docs/intake.md)."""
    params = _parse_digest(value)
    name = params.get("username", "")
    needed = ("username", "realm", "nonce", "uri", "response", "qop", "nc", "cnonce")
    if any(not params.get(k) for k in needed) or params["qop"] != "auth" or params["realm"] != openrosa.REALM:
        raise _challenge(request, "incomplete Digest credentials (qop=auth with MD5 is required)")
    if params.get("algorithm", "MD5").upper() != "MD5":
        raise _challenge(request, "only the MD5 Digest algorithm is offered, as OpenRosa specifies")
    if not _HEX32.fullmatch(params["response"]) or not _NC.fullmatch(params["nc"]):
        raise _challenge(request, "malformed Digest credentials (response or nonce count)")
    path = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1")
    query = request.scope.get("query_string", b"").decode("latin-1")
    if params["uri"] not in (path, f"{path}?{query}"):
        raise _challenge(request, "the Digest credentials are for another address")
    book = nonce_book(request)
    found = openrosa.app_user_ha1(_case(request), name)
    ha1 = found[1] if found else "0" * 32
    ha2 = hashlib.md5(f"{request.method}:{params['uri']}".encode(), usedforsecurity=False).hexdigest()
    expected = hashlib.md5(
        f"{ha1}:{params['nonce']}:{params['nc']}:{params['cnonce']}:auth:{ha2}".encode(), usedforsecurity=False
    ).hexdigest()
    if found is None or not hmac.compare_digest(expected.encode(), params["response"].lower().encode()):
        raise _challenge(request, "wrong app user name or password")
    # The password is right; whatever is wrong with the nonce, the device need only answer a new challenge.
    state = book.state(params["nonce"])
    if state == "forged":
        raise _challenge(request, "the Digest nonce was not issued here (or before a key change)", stale=True)
    if state == "stale":
        raise _challenge(request, "the Digest nonce has expired: answer the new challenge", stale=True)
    if not book.use(params["nonce"], int(params["nc"], 16)):
        raise _challenge(request, "these Digest credentials were already used: answer the new challenge", stale=True)
    return Device(found[0].name, found[0], None)


def _basic_device(request: Request, value: str) -> Device:
    if not _secure(request):
        raise _challenge(request, "Basic credentials are refused over plain HTTP: use Digest or an app-user link")
    try:
        name, _, password = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise _failed(request, None, "malformed Basic credentials") from None
    _check_blocked(request, name)
    account = accounts.authenticate(_case(request).engine, name, password)
    if account is None:
        raise _failed(request, name, "wrong user name or password")
    if not allows(account.role, Permission.ADD_EVIDENCE):
        raise Refused(403, "this account may not add evidence")
    return Device(f"account {account.username}", None, None)


def device(request: Request) -> Device:
    """Check the OpenRosa header, then who is asking (see the module's docstring); raise :class:`Refused`."""
    if VERSION_HEADER.lower() not in request.headers:
        raise Refused(400, f"not an OpenRosa request: the {VERSION_HEADER} header is missing")
    token = request.path_params.get("token")
    if token is not None:
        user = openrosa.app_user_by_token(_case(request), token)
        if user is None:
            raise Refused(403, "this device's link is wrong or was revoked: ask the investigators for a new one")
        return Device(user.name, user, token)
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "digest":
        return _digest_device(request, value)
    if scheme.lower() == "basic":
        return _basic_device(request, value.strip())
    raise _challenge(request, "sign in: this server needs an app user's name and password")


def _answer(fn: Callable[[Request, Device], Response]) -> Callable[[Request], Response]:
    """A sync handler: authenticate, run, turn the intake's errors into OpenRosa responses."""

    def handler(request: Request) -> Response:
        try:
            return fn(request, device(request))
        except openrosa.OpenRosaError as exc:
            return openrosa_response(exc.status, str(exc))

    handler.__name__ = fn.__name__
    handler.__doc__ = fn.__doc__
    return handler


# -- forms -----------------------------------------------------------------------------------


def _base(request: Request, dev: Device) -> str:
    """The address devices reach this server at: ``public_url`` where set (behind a proxy the request's own
    host and scheme are the proxy's view), else the request's; under the device's token for token URLs."""
    public: str | None = request.app.state.settings.public_url
    root = public.rstrip("/") if public else str(request.base_url).rstrip("/")
    return f"{root}/key/{_segment(dev.token)}" if dev.token else root


def _segment(text: str) -> str:
    """One path segment of a URL, percent-encoded (a form id or a media file's name may hold any character)."""
    return quote(text, safe="")


def _usable(dev: Device, form: openrosa.FormInfo) -> bool:
    return dev.app_user is None or dev.app_user.may_use(form.form_id, form.campaign)


def _visible(request: Request, dev: Device, form_id: str) -> openrosa.FormInfo:
    """An open form this device may use; any other (closing, closed, another campaign's, none) is not found."""
    not_found = openrosa.FormNotFound(f"no form {form_id!r} for this device")
    try:
        form = openrosa.latest_form(_case(request), form_id)
    except openrosa.FormNotFound:
        raise not_found from None
    if form.state != "open" or not _usable(dev, form):
        raise not_found
    return form


def _md5(case: Case, sha256: str) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with case.blobs.open(sha256) as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return f"md5:{digest.hexdigest()}"


def _xml(body: str) -> Response:
    return Response('<?xml version="1.0" encoding="UTF-8"?>\n' + body, 200, media_type=XML)


def form_list(request: Request, dev: Device) -> Response:
    """The forms this device may fill (OpenRosa FormListAPI); ``?formID=`` narrows it to one."""
    case = _case(request)
    wanted = request.query_params.get("formID")
    base = _base(request, dev)
    parts = []
    for form in openrosa.list_forms(case):
        if form.state != "open" or not _usable(dev, form):
            continue
        if wanted and form.form_id != wanted:
            continue
        url = f"{base}/forms/{_segment(form.form_id)}"
        manifest = f"<manifestUrl>{escape(url)}/manifest</manifestUrl>" if form.media else ""
        parts.append(
            "<xform>"
            f"<formID>{escape(form.form_id)}</formID><name>{escape(form.title)}</name>"
            f"<version>{escape(form.version)}</version><hash>{_md5(case, form.item_sha256)}</hash>"
            f"<downloadUrl>{escape(url)}/form.xml</downloadUrl>{manifest}"
            "</xform>"
        )
    return _xml(f'<xforms xmlns="{FORMS_LIST_NS}">{"".join(parts)}</xforms>')


def form_xml(request: Request, dev: Device) -> Response:
    """The latest version of a form, byte for byte as the case holds it."""
    form = _visible(request, dev, request.path_params["form_id"])
    with _case(request).blobs.open(form.item_sha256) as f:
        data = f.read()
    return Response(data, 200, media_type=XML)


def manifest(request: Request, dev: Device) -> Response:
    """The media files of a form (OpenRosa xformsManifest), each with its MD5 and download URL."""
    case = _case(request)
    form = _visible(request, dev, request.path_params["form_id"])
    url = f"{_base(request, dev)}/forms/{_segment(form.form_id)}/media"
    files = "".join(
        f"<mediaFile><filename>{escape(m.name)}</filename><hash>{_md5(case, m.sha256)}</hash>"
        f"<downloadUrl>{escape(url)}/{escape(_segment(m.name))}</downloadUrl></mediaFile>"
        for m in openrosa.form_media(case, form)
    )
    return _xml(f'<manifest xmlns="{MANIFEST_NS}">{files}</manifest>')


def media_file(request: Request, dev: Device) -> Response:
    """One media file of a form."""
    case = _case(request)
    form = _visible(request, dev, request.path_params["form_id"])
    name = request.path_params["name"]
    found = next((m for m in openrosa.form_media(case, form) if m.name == name), None)
    if found is None:
        raise openrosa.FormNotFound(f"form {form.form_id!r} has no media file {name!r}")
    with case.blobs.open(found.sha256) as f:
        data = f.read()
    return Response(data, 200, media_type="application/octet-stream")


# -- submissions -----------------------------------------------------------------------------


def _accept_headers(request: Request, dev: Device) -> dict[str, str]:
    return {
        "X-OpenRosa-Accept-Content-Length": str(request.app.state.settings.max_upload_bytes),
        "Location": f"{_base(request, dev)}/submission",
    }


def submission_head(request: Request, dev: Device) -> Response:
    """The pre-flight Collect makes before sending: where to send, and how much this server takes."""
    return Response(status_code=204, headers=_accept_headers(request, dev))


async def submission_post(request: Request) -> Response:
    """One POST of a submission (OpenRosa FormSubmissionAPI): 201 when it is held, with what is still missing."""
    dev = await run_in_threadpool(device, request)
    limit = request.app.state.settings.max_upload_bytes
    form = await request.form(max_files=1000, max_fields=100)
    try:
        xml_part = form.get("xml_submission_file")
        if not isinstance(xml_part, UploadFile):
            raise openrosa.OpenRosaError("the submission has no xml_submission_file part")
        incomplete = any("isIncomplete" in key and value == "yes" for key, value in form.multi_items())
        files = []
        for key, value in form.multi_items():
            if isinstance(value, UploadFile) and key != "xml_submission_file":
                if (value.size or 0) > limit:
                    return openrosa_response(413, f"a file is larger than this server accepts ({limit:,} bytes)")
                files.append((value.filename, value.file))
        xml = await xml_part.read(openrosa.MAX_XML_BYTES + 1)
        incoming = openrosa.Incoming(xml, xml_part.filename, files, dev.submitter, dev.app_user)
        outcome = await run_in_threadpool(openrosa.receive, _case(request), incoming)
    except openrosa.OpenRosaError as exc:
        return openrosa_response(exc.status, str(exc))
    except VaultError as exc:
        return openrosa_response(400, str(exc))
    finally:
        await form.close()
    logger.info(
        "openrosa submission %s: %s, %d file(s) recorded", outcome.instance_id, outcome.result, len(outcome.recorded)
    )
    if outcome.complete:
        message = "Form received: thank you." if outcome.result != "unchanged" else "Already received: thank you."
    else:
        waiting = "; the rest may follow" if incomplete else ""
        message = f"Form received; {len(outcome.missing)} file(s) not yet received{waiting}."
    if outcome.unnamed:
        message += f" Kept apart, as the form does not name them: {', '.join(outcome.unnamed)}."
    response = openrosa_response(201, message, nature="submit_success", headers=_accept_headers(request, dev))
    tasks = BackgroundTasks()
    # Photos, video and audio are analysed after the answer, like any upload; the submission's XML is not read
    # as prose for claims (its answers sit between tags).
    mediascan.schedule(tasks, _case(request), outcome.files)
    response.background = tasks
    return response


# -- the routes, served twice: plain (Digest/Basic) and under an app user's token ---------------

_SYNC: list[tuple[str, Callable[[Request, Device], Response], list[str]]] = [
    ("/formList", form_list, ["GET"]),
    ("/forms/{form_id}/form.xml", form_xml, ["GET"]),
    ("/forms/{form_id}/manifest", manifest, ["GET"]),
    ("/forms/{form_id}/media/{name}", media_file, ["GET"]),
    ("/submission", submission_head, ["HEAD"]),
]
for _prefix in ("", "/key/{token}"):
    for _path, _fn, _methods in _SYNC:
        router.add_api_route(
            _prefix + _path, _answer(_fn), methods=_methods, dependencies=[Guard], include_in_schema=False
        )
    router.add_api_route(
        _prefix + "/submission", submission_post, methods=["POST"], dependencies=[Guard], include_in_schema=False
    )
