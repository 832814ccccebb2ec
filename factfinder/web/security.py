"""HTTP hardening: security headers, request body limits, CSRF tokens, sign-in rate limits.

The submission page is visited by people whose devices may be watched, over
networks that may be hostile, so every response forbids framing, leaks no
referrer, loads nothing from another origin and runs no inline script (the
Content-Security-Policy has no ``unsafe-inline``).
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from python_multipart.multipart import parse_options_header
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "media-src 'self' blob:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
]


class SecurityHeaders:
    """Adds the headers above to every response; pages are never cached."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                given = message.get("headers", [])
                # A route may set a stricter policy of its own (the media preview's sandbox): keep it.
                own_csp = [h for h in given if h[0].lower() == b"content-security-policy"]
                headers = [h for h in given if h[0].lower() not in dict(HEADERS)]
                headers += [h for h in HEADERS if not (own_csp and h[0] == b"content-security-policy")] + own_csp
                if not static and not any(h[0].lower() == b"cache-control" for h in headers):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


class BodyTooLarge(HTTPException):
    """Raised while a body streams in; an HTTPException so that form parsing passes it on."""

    def __init__(self) -> None:
        super().__init__(413, "the upload is larger than this server accepts")


class BodyLimit:
    """Refuses request bodies over ``limit`` bytes, by header at once or by counting as they stream."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers", [])
        for name, value in headers:
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                # An OpenRosa client (ODK Collect) expects the protocol's header on every answer, refusals too.
                extra = [(b"x-openrosa-version", b"1.0")] if any(n == b"x-openrosa-version" for n, _ in headers) else []
                await _plain(send, 413, "the upload is larger than this server accepts", extra)
                return
        seen = 0
        started = False

        async def counting() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge
            return message

        async def tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting, tracking)
        except BodyTooLarge:
            if not started:
                await _plain(send, 413, "the upload is larger than this server accepts")


class CompleteMultipart:
    """Refuses a multipart body that ends before its closing boundary (400, via MultiPartException).

    The multipart parser takes a body cut off mid-part as a shorter form, so a
    dropped connection behind a proxy could record half a submission. Browsers
    send no epilogue after the closing ``--boundary--``; only line breaks may follow.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        boundary = _multipart_boundary(scope) if scope["type"] == "http" else None
        if boundary is None:
            await self.app(scope, receive, send)
            return
        closing = b"--" + boundary + b"--"
        tail = b""

        async def checking() -> Message:
            nonlocal tail
            message = await receive()
            if message["type"] == "http.request":
                tail = (tail + message.get("body", b""))[-(len(closing) + 8) :]
                if not message.get("more_body", False) and not tail.rstrip(b"\r\n").endswith(closing):
                    raise MultiPartException("the upload was cut off before its end: please send it again")
            return message

        await self.app(scope, checking, send)


def _multipart_boundary(scope: Scope) -> bytes | None:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            kind, params = parse_options_header(value.decode("latin-1"))
            if kind == b"multipart/form-data":
                return params.get(b"boundary", b"")
    return None


async def _plain(send: Send, status: int, text: str, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    body = text.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                *HEADERS,
                *(extra or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def new_csrf_secret() -> str:
    return secrets.token_urlsafe(32)


def csrf_ok(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison; a missing token on either side never matches."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


class RateLimiter:
    """At most ``limit`` events per ``window`` seconds per key (client address, username).

    In memory, per process: enough to make guessing passwords slow against one
    server; a deployment behind several workers shares nothing, and says so.
    """

    def __init__(self, limit: int = 10, window: float = 900.0) -> None:
        self.limit = limit
        self.window = window
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._events.setdefault(key, deque())
        while q and q[0] <= now - self.window:
            q.popleft()
        return q

    def blocked(self, *keys: str) -> bool:
        now = time.monotonic()
        with self._lock:
            return any(len(self._recent(k, now)) >= self.limit for k in keys)

    def hit(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for k in keys:
                self._recent(k, now).append(now)

    def clear(self, *keys: str) -> None:
        with self._lock:
            for k in keys:
                self._events.pop(k, None)
