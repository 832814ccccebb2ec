"""The FastAPI application: pages for the team and witnesses, and the JSON API under /api/v1.

Routes are thin: each checks its one permission, then calls the vault, the
intake channels or the accounts module, exactly as the CLI does. Nothing here
writes evidence by itself. The findings (incidents, counts, timeline, map,
report) have page and API routers of their own (``findings_pages``,
``findings_api``), included here like the others.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException  # FastAPI's is a subclass: this catches Starlette's 404/405 too
from starlette.formparsers import MultiPartException

from factfinder import __version__
from factfinder.db.engine import UnstorableTextError
from factfinder.permissions import Permission, allows
from factfinder.vault.case import Case
from factfinder.web import i18n, security
from factfinder.web.auth import ANON_CSRF_COOKIE, Caller, NotSignedIn

HERE = Path(__file__).parent
JSON_PREFIXES = ("/api/", "/sync/")  # machine-facing paths: errors as JSON, 401 rather than a sign-in page
logger = logging.getLogger(__name__)


@dataclass
class Settings:
    """What ``factfinder serve`` can set."""

    max_upload_bytes: int = 512 << 20
    secure_cookies: bool = False  # set behind TLS: cookies then never travel in clear
    identity_file: Path | None = None  # lets investigators reveal without uploading the identity
    login_attempts: int = 10  # per 15 minutes, per address and per username
    twilio_auth_token: str | None = None  # SMS via Twilio: the account's auth token, which signs its webhooks
    rapidpro_secret: str | None = None  # SMS via a RapidPro External channel: the secret in its receive URL
    public_url: str | None = None  # the base URL as gateways reach it (behind a proxy), for webhook signatures
    twilio_webhook_key: str | None = None  # Twilio's SharedKey secret, where webhooks are signed with one
    sms_media_deadline_s: float = 10.0  # total seconds to fetch one message's MMS media
    sms_media_allow_loopback: bool = False  # tests and development only: MMS media from http://127.0.0.1


def create_app(case: Case, settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = FastAPI(
        title="factfinder",
        version=__version__,
        description="Evidence vault with a verifiable custody log. Token auth: `Authorization: Bearer fft_...`.",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    app.state.case = case
    app.state.settings = settings
    app.state.login_limiter = security.RateLimiter(settings.login_attempts, 900)
    app.state.templates = Jinja2Templates(directory=HERE / "templates")  # autoescapes
    app.state.templates.env.filters["replace_page"] = _replace_page
    app.state.templates.env.globals["claim_strings"] = claim_strings_for  # the nav link
    app.state.templates.env.globals["findings_strings"] = findings_strings_for  # the nav links
    app.state.templates.env.globals["can"] = can  # nav links shown only to those the route admits
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    from factfinder.web import (
        api,
        findings_api,
        findings_pages,
        openrosa,
        pages,
        persons_api,
        persons_pages,
        sms,
        sync,
    )

    app.include_router(pages.router)
    app.include_router(findings_pages.router)
    app.include_router(persons_pages.router)
    app.include_router(api.router, prefix="/api/v1")
    app.include_router(findings_api.router, prefix="/api/v1")
    app.include_router(persons_api.router, prefix="/api/v1")
    app.include_router(openrosa.router)  # ODK Collect and its kin: OpenRosa 1.0 at the root, as they expect
    app.include_router(sms.router)  # SMS gateways' webhooks (Twilio, RapidPro)
    app.include_router(sync.router)  # archive-to-archive sync, /sync/v1/

    @app.exception_handler(NotSignedIn)
    async def _not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        if request.url.path.startswith(JSON_PREFIXES):
            return JSONResponse({"detail": "sign in or send a bearer token"}, 401, {"WWW-Authenticate": "Bearer"})
        return RedirectResponse(f"/login?next={quote(request.url.path)}", 303)

    @app.exception_handler(Exception)
    async def _server_error(request: Request, exc: Exception) -> Response:
        # Runs in Starlette's outermost error middleware, outside SecurityHeaders: add them here.
        # The detail stays generic: an exception's text may hold paths, SQL or a witness's input.
        # The route's template, not the path: a device link (/key/<token>/...) or an SMS gateway's URL
        # (/sms/rapidpro/<secret>) carries a secret in the path itself.
        logger.error("server error on %s %s: %s", request.method, route_template(request), type(exc).__name__)
        response = PlainTextResponse("internal server error", 500)
        for name, value in security.HEADERS:
            response.headers[name.decode()] = value.decode()
        response.headers["cache-control"] = "no-store"
        return response

    @app.exception_handler(MultiPartException)
    async def _bad_multipart(request: Request, exc: MultiPartException) -> Response:
        return error_response(request, 400, f"malformed upload: {exc.message}")

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        return error_response(request, exc.status_code, str(exc.detail), exc.headers)

    @app.exception_handler(UnstorableTextError)
    async def _nul_in_text(request: Request, exc: UnstorableTextError) -> Response:
        return error_response(request, 400, str(exc))  # PostgreSQL cannot hold NUL characters in text

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        if request.url.path.startswith(JSON_PREFIXES):
            return JSONResponse({"detail": exc.errors()}, 422)
        return error_response(request, 422, "some fields of the form are missing or invalid")

    unguarded = [path for path, _, route in api_routes(app) if route_permission(route) is None]
    if unguarded:
        raise RuntimeError(f"routes without a permission: {unguarded}")
    app.add_middleware(security.CompleteMultipart)
    app.add_middleware(security.BodyLimit, limit=settings.max_upload_bytes + (1 << 20))  # room for other fields
    app.add_middleware(security.SecurityHeaders)  # outermost: every response gets the headers
    return app


def route_template(request: Request) -> str:
    """The path pattern of the route that served ``request`` (``/key/{token}/submission``), never its values."""
    route = request.scope.get("route")
    return str(getattr(route, "path", None) or "(no route)")


def _replace_page(params: Any, page: int) -> str:
    """The current query string with another page number (filters kept)."""
    from urllib.parse import urlencode

    pairs = [(k, v) for k, v in params.multi_items() if k != "page"]
    return urlencode([*pairs, ("page", str(page))])


def can(who: Caller | None, permission: str) -> bool:
    """Whether ``who``'s role grants ``permission`` (its value, as templates name it: ``view-register``)."""
    role = who.account.role if who is not None and who.account is not None else None
    return allows(role, Permission(permission))


def claim_strings_for(request: Request) -> dict[str, str]:
    """The claims pages' strings in the caller's language (``?lang=``, else the browser's, else English)."""
    return i18n.claim_strings(request.query_params.get("lang"), request.headers.get("accept-language"))


def findings_strings_for(request: Request) -> dict[str, str]:
    """The findings pages' strings in the caller's language (``?lang=``, else the browser's, else English)."""
    return i18n.findings_strings(request.query_params.get("lang"), request.headers.get("accept-language"))


def api_routes(app: FastAPI) -> list[tuple[str, str, APIRoute]]:
    """Every (path, method, route) the app serves through FastAPI, prefixes of included routers applied.

    ``app.routes`` holds included routers as single entries in this FastAPI, so
    walking it alone would see none of the pages or API routes.
    """
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            path = context.path or route.path
            found += [(path, method, route) for method in sorted(context.methods or route.methods or ())]
    return found


def route_permission(route: APIRoute) -> Any:
    """The permission a route's guard names, or None."""
    for dep in route.dependant.dependencies:
        perm = getattr(dep.call, "permission", None)
        if perm is not None:
            return perm
    return None


def error_response(request: Request, status: int, detail: str, headers: Mapping[str, str] | None = None) -> Response:
    if request.url.path.startswith(JSON_PREFIXES):
        return JSONResponse({"detail": detail}, status, headers)
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(
        request, "error.html", {"status": status, "detail": detail, "who": None}, status_code=status, headers=headers
    )


def render(request: Request, template: str, who: Caller, **context: Any) -> HTMLResponse:
    """A page, with the caller's CSRF token; an anonymous visitor gets one in a cookie."""
    csrf = who.csrf_secret
    fresh = None
    if csrf is None:
        csrf = fresh = security.new_csrf_secret()
    templates: Jinja2Templates = request.app.state.templates
    response = templates.TemplateResponse(
        request, template, {"who": who, "csrf": csrf, **context}, status_code=context.pop("status", 200)
    )
    if fresh is not None:
        response.set_cookie(
            ANON_CSRF_COOKIE,
            fresh,
            httponly=True,
            samesite="strict",
            secure=request.app.state.settings.secure_cookies,
        )
    return response
