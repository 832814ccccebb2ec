"""SMS gateway webhooks: ``POST /sms/twilio`` (Twilio Messaging) and ``POST /sms/rapidpro/{secret}`` (RapidPro/TextIt).

Issue 8's SMS channel, as HTTP; what a message becomes is
:mod:`factfinder.intake.sms`. These routes are guarded by
``need(Permission.PUBLIC)`` because a gateway has no account: it proves itself
inside the route instead, and nothing is stored until it has.

- Twilio signs every request (``X-Twilio-Signature``) with the account's auth
  token over the URL it called and the form parameters. The URL is the public
  one Twilio was given: behind a reverse proxy or TLS terminator the app sees
  another scheme or host, so ``public_url`` (the server's base URL as the world
  reaches it) replaces the scheme, host and port the request arrived with. A
  missing or wrong signature is answered 403 and nothing is stored. A webhook
  signed with a SharedKey instead (Twilio then adds
  ``X-Twilio-Webhooks-Signature-Settings``) is checked against the SharedKey
  secret the server is given (``twilio_webhook_key``), and refused with a
  403 that says so, and a warning in the log, when none is set. The answer
  to a good request is TwiML with a one-line confirmation, relayed to the
  witness by SMS.
- A RapidPro External API gateway posts ``from``, ``text`` and ``date``; it
  cannot sign and many gateways cannot add headers, only be given a receive URL
  (as RapidPro gives each External channel a URL holding its channel UUID). So
  the shared secret is in the URL path, compared in constant time; the server
  keeps no access log (``factfinder serve`` runs uvicorn without one), so the
  secret is not written to disk with each request. Answers are JSON shaped as
  RapidPro's own receive endpoint answers (``{"message": ..., "data": [...]}``).

No CSRF token is asked for: nothing here reads a cookie, so another site
cannot make a visitor's browser send a request that carries authority. The
body is read up to :data:`MAX_FORM_BYTES` and parsed here (strict UTF-8),
before any signature check, so an oversized or undecodable request is refused
with a clear status and never reaches the vault.
"""

from __future__ import annotations

import hmac
import logging
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit
from xml.sax.saxutils import escape

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from factfinder import pipeline
from factfinder.intake import sms
from factfinder.permissions import Permission
from factfinder.vault.case import Case
from factfinder.vault.errors import IntakeError
from factfinder.web import mediascan
from factfinder.web.auth import Caller, need

router = APIRouter(tags=["sms"])
logger = logging.getLogger(__name__)

MAX_FORM_BYTES = 64 << 10  # a Twilio webhook with ten media URLs is a few KiB; an SMS is at most a few KiB
MIN_SECRET_CHARS = 16
FORM = "application/x-www-form-urlencoded"
Public = Annotated[Caller, Depends(need(Permission.PUBLIC))]
SHARED_KEY_REFUSAL = (
    "this request is signed with a Twilio webhook SharedKey (X-Twilio-Webhooks-Signature-Settings), "
    "and this server has no SharedKey secret set to check it"
)


class Refused(Exception):
    """A request refused before anything was stored: its status and a one-line reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _setting(request: Request, name: str) -> Any:
    return getattr(request.app.state.settings, name, None)


async def _form(request: Request) -> list[tuple[str, str]]:
    """The url-encoded body's fields, in order; :class:`Refused` if it is too large, not a form or not UTF-8."""
    if not request.headers.get("content-type", "").lower().startswith(FORM):
        raise Refused(415, f"send the fields as {FORM}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise Refused(413, f"the request is over {MAX_FORM_BYTES} bytes, far more than any SMS")
    try:
        return parse_qsl(
            bytes(body).decode("utf-8"), keep_blank_values=True, encoding="utf-8", errors="strict", max_num_fields=200
        )
    except UnicodeDecodeError:
        raise Refused(400, "the request is not UTF-8") from None
    except ValueError:
        raise Refused(400, "the request is not a well-formed form") from None


def signed_url(request: Request, public_url: str | None) -> str:
    """The URL Twilio called: the request's own, or its path and query under ``public_url`` behind a proxy."""
    if not public_url:
        return str(request.url)
    base = urlsplit(public_url.rstrip("/"))
    here = request.url
    return urlunsplit((base.scheme, base.netloc, base.path + here.path, here.query, ""))


def media_policy(request: Request) -> sms.MediaPolicy:
    """How MMS media are fetched on this server: the deadline, and loopback for tests and development only."""
    deadline = _setting(request, "sms_media_deadline_s")
    return sms.MediaPolicy(
        deadline_s=sms.MEDIA_DEADLINE_S if deadline is None else float(deadline),
        allow_loopback=bool(_setting(request, "sms_media_allow_loopback")),
    )


async def _receive(
    request: Request, tasks: BackgroundTasks, message: sms.IncomingSms, token: str | None
) -> sms.Outcome:
    """Record the message (and fetch its media), then hand what was recorded on; the answer depends on the first only.

    Once the message is stored its receipt is owed to the gateway: a failure in
    the steps after intake (search text, the media scan) is logged, by its kind
    only, and the webhook is still answered 200, since a 5xx would tell the
    witness that nothing arrived.
    """
    case: Case = request.app.state.case
    limit = int(_setting(request, "max_upload_bytes") or 0)
    auth = (message.account, token) if message.account and token else None
    policy = media_policy(request)

    def work() -> sms.Outcome:
        outcome = sms.receive(case, message, max_media_bytes=limit, media_auth=auth, media_policy=policy)
        if outcome.recorded:
            try:
                pipeline.index_items(case, digests=[r.sha256 for r in outcome.recorded])
            except Exception as exc:  # the message is held; its search text can be built later
                logger.error("SMS recorded, but indexing it failed (%s)", type(exc).__name__)
        return outcome

    outcome = await run_in_threadpool(work)  # media fetches and the custody lock: not on the event loop
    try:
        mediascan.schedule(tasks, case, outcome.recorded)
    except Exception as exc:  # the message is held; a scan can be run later
        logger.error("SMS recorded, but scheduling its scan failed (%s)", type(exc).__name__)
    return outcome


def _twiml(text: str, status: int = 200) -> Response:
    body = f'<?xml version="1.0" encoding="UTF-8"?><Response><Message>{escape(text)}</Message></Response>'
    return Response(body, status, media_type="text/xml")


@router.post("/sms/twilio")
async def twilio_webhook(request: Request, tasks: BackgroundTasks, who: Public) -> Response:
    """A Twilio Messaging webhook: checked against its signature, recorded, answered with TwiML."""
    token = _setting(request, "twilio_auth_token")
    if not token:
        return PlainTextResponse("SMS via Twilio is not set up on this server", 404)
    signature_settings = request.headers.get("x-twilio-webhooks-signature-settings")
    signing_secret = token
    try:
        if sms.signed_with_shared_key(signature_settings):
            signing_secret = _setting(request, "twilio_webhook_key")
            if not signing_secret:  # said loudly, or every message would be refused without a word
                logger.warning(
                    "Twilio webhook refused: signed with a webhook SharedKey, and no SharedKey secret is set "
                    "(set twilio_webhook_key, or stop signing this webhook with a SharedKey)"
                )
                raise Refused(403, SHARED_KEY_REFUSAL)
        params = await _form(request)
        ok = sms.twilio_signature_ok(
            signing_secret,
            signed_url(request, _setting(request, "public_url")),
            params,
            request.headers.get("x-twilio-signature"),
            signature_settings,
        )
        if not ok:  # logged so an operator sees a wrong token or public_url; nothing of the request is
            logger.warning("Twilio webhook refused: signature missing or wrong (check the auth token and public_url)")
            raise Refused(403, "the request's X-Twilio-Signature is missing or wrong")
        message = sms.twilio_message(params)
    except Refused as exc:
        return PlainTextResponse(exc.reason, exc.status)
    except sms.MessageTooLong as exc:
        return PlainTextResponse(str(exc), 413)
    except IntakeError as exc:
        return PlainTextResponse(str(exc), 400)
    outcome = await _receive(request, tasks, message, token)
    return _twiml(sms.reply_text(outcome))


def _rapidpro_error(status: int, reason: str) -> Response:
    return JSONResponse({"message": "Error", "data": [{"type": "error", "error": reason}]}, status)


@router.post("/sms/rapidpro/{secret}")
async def rapidpro_receive(request: Request, secret: str, tasks: BackgroundTasks, who: Public) -> Response:
    """A RapidPro/TextIt External API channel's incoming message; the path's secret authenticates the gateway."""
    configured = _setting(request, "rapidpro_secret")
    if not configured or len(configured) < MIN_SECRET_CHARS:
        return _rapidpro_error(404, "SMS via RapidPro is not set up on this server")
    if not hmac.compare_digest(secret.encode("utf-8"), str(configured).encode("utf-8")):
        return _rapidpro_error(403, "wrong channel secret")
    try:
        message = sms.rapidpro_message(await _form(request), configured)
    except Refused as exc:
        return _rapidpro_error(exc.status, exc.reason)
    except sms.MessageTooLong as exc:
        return _rapidpro_error(413, str(exc))
    except IntakeError as exc:
        return _rapidpro_error(400, str(exc))
    outcome = await _receive(request, tasks, message, None)
    data = {
        "type": "msg",
        "ref": outcome.ref,
        "sha256": outcome.sha256,
        "log_index": outcome.log_index,
        "anchored": list(outcome.anchored),
        "duplicate": outcome.duplicate,
        "reply": sms.reply_text(outcome),
    }
    return JSONResponse({"message": "Message Accepted", "data": [data]}, 200)
