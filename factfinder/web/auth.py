"""Who is asking: session cookies for browsers, bearer tokens for scripts, and the route guard.

Every route depends on :func:`need` with exactly one permission from
:mod:`factfinder.permissions`; ``create_app`` refuses to start if a route has
none, and the authorization test walks the same list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import HTTPException, Request

from factfinder import accounts
from factfinder.accounts import Account
from factfinder.permissions import Permission, allows
from factfinder.web import security

SESSION_COOKIE = "ff_session"
ANON_CSRF_COOKIE = "ff_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


class NotSignedIn(Exception):
    """Raised for a page that needs an account; HTML gets a redirect, the API a 401."""


@dataclass(frozen=True)
class Caller:
    account: Account | None
    csrf_secret: str | None  # None for token callers: a bearer token cannot be sent by another site
    via_token: bool = False

    @property
    def only_published(self) -> bool:
        """Whether this caller sees only published items (observers, admins, the public)."""
        return not allows(self.account.role if self.account else None, Permission.VIEW_EVIDENCE)


def caller(request: Request) -> Caller:
    cached = getattr(request.state, "caller", None)
    if isinstance(cached, Caller):
        return cached
    engine = request.app.state.case.engine
    result = Caller(None, request.cookies.get(ANON_CSRF_COOKIE))
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        account = accounts.token_account(engine, header[7:].strip())
        if account is None:
            raise HTTPException(401, "invalid or revoked token", headers={"WWW-Authenticate": "Bearer"})
        result = Caller(account, None, via_token=True)
    elif token := request.cookies.get(SESSION_COOKIE):
        found = accounts.session_account(engine, token)
        if found is not None:
            result = Caller(found[0], found[1])
    request.state.caller = result
    return result


def need(permission: Permission) -> Callable[[Request], Caller]:
    """A FastAPI dependency that admits only callers whose role grants ``permission``."""

    def guard(request: Request) -> Caller:
        who = caller(request)
        role = who.account.role if who.account else None
        if not allows(role, permission):
            if who.account is None:
                raise NotSignedIn
            raise HTTPException(403, "your role does not allow this")
        return who

    guard.permission = permission  # type: ignore[attr-defined]
    return guard


async def check_csrf(request: Request, who: Caller) -> None:
    """State-changing browser requests must carry the session's (or anonymous) CSRF token."""
    if request.method not in UNSAFE or who.via_token:
        return
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not security.csrf_ok(who.csrf_secret, given):
        raise HTTPException(403, "the form's security token is missing or wrong: reload the page and try again")
