"""HTML pages: the public submission page, sign-in, the team's case pages, the media pages and the claims pages."""

from __future__ import annotations

import mimetypes
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Form, HTTPException, Path, Query, Request
from fastapi.responses import FileResponse, PlainTextResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile as StarletteUploadFile

from factfinder import accounts, browse
from factfinder.intake import uploads, webform
from factfinder.media import analyse, redact
from factfinder.permissions import Permission, Role
from factfinder.text import store as text_store
from factfinder.text.claims import KINDS
from factfinder.text.corrections import COUNT_WHATS, EVENT_TYPES, ClaimError
from factfinder.vault import keys
from factfinder.vault.case import Case
from factfinder.vault.errors import IntakeError, ItemNotFoundError, VaultError
from factfinder.web import i18n, mediascan
from factfinder.web.app import claim_strings_for, render
from factfinder.web.auth import SESSION_COOKIE, Caller, check_csrf, need
from factfinder.web.views import (
    STATES,
    claim_list,
    claim_or_404,
    claim_rows,
    claims_view,
    cluster_list,
    cluster_view,
    copy_replaces_original,
    correction_from_form,
    item_view,
    log_view,
    masked_original,
    media_view,
    published_copy_or_404,
    receipt_check,
    visible_item_or_404,
    with_corrections_after,
)

router = APIRouter(include_in_schema=False)
PREVIEW_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp", "video/mp4", "video/webm", "audio/mpeg"}
SANDBOX = "default-src 'none'; sandbox"  # a served file is shown, never run, whatever it holds
ClusterId = Annotated[int, Path(ge=0, le=2**31 - 1)]  # item ids (32-bit): larger is no cluster, not an SQL error
ClaimId = Annotated[int, Path(ge=0, le=2**31 - 1)]


def _case(request: Request) -> Case:
    case: Case = request.app.state.case
    return case


# -- public -----------------------------------------------------------------------------


@router.get("/")
def home(request: Request, who: Annotated[Caller, Depends(need(Permission.PUBLIC))]) -> Response:
    return RedirectResponse("/case" if who.account else "/submit", 303)


@router.get("/submit")
def submit_form(
    request: Request,
    who: Annotated[Caller, Depends(need(Permission.PUBLIC))],
    lang: str | None = None,
    campaign: str | None = None,
) -> Response:
    code = i18n.pick(lang, request.headers.get("accept-language"))
    return render(
        request,
        "submit.html",
        who,
        t=i18n.STRINGS[code],
        lang=code,
        languages=i18n.LANGUAGES,
        campaign=campaign,
        max_bytes=request.app.state.settings.max_upload_bytes,
    )


@router.post("/submit")
async def submit(
    request: Request, tasks: BackgroundTasks, who: Annotated[Caller, Depends(need(Permission.PUBLIC))]
) -> Response:
    await check_csrf(request, who)
    case = _case(request)
    form = await request.form(max_files=50, max_fields=100)
    code = i18n.pick(_field(form, "lang"), None)
    t = i18n.STRINGS[code]
    files: list[tuple[Any, str | None]] = []
    limit = request.app.state.settings.max_upload_bytes
    try:
        chosen = [v for v in form.getlist("files") if isinstance(v, StarletteUploadFile) and (v.filename or v.size)]
        if any((value.size or 0) > limit for value in chosen):
            raise UploadTooLarge(f"{t['too_large']} (> {limit:,} bytes)")
        upload_ids = [v for v in form.getlist("upload") if isinstance(v, str) and v]
        completed = uploads.take_completed(case, upload_ids)  # before storing: a bad id leaves no stray blob
        for value in chosen:
            files.append((case.blobs.put_file(value.file), value.filename))
        files += completed
        sub = webform.Submission(
            testimony=_field(form, "testimony") or "",
            language=code,
            campaign=_field(form, "campaign"),
            contact=webform.contact_fields(_field(form, "name"), _field(form, "phone"), _field(form, "contact")),
            files=files,
        )
        recorded = webform.submit(case, sub)
        uploads.forget(case, upload_ids)
    except IntakeError as exc:
        message = t["empty"] if "needs a testimony" in str(exc) else str(exc)
        status = 413 if isinstance(exc, UploadTooLarge) else 400
        return render(
            request,
            "submit.html",
            who,
            t=t,
            lang=code,
            languages=i18n.LANGUAGES,
            campaign=_field(form, "campaign"),
            max_bytes=request.app.state.settings.max_upload_bytes,
            error=message,
            status=status,
        )
    from factfinder import pipeline

    pipeline.index_items(case, digests=[r.sha256 for r in recorded])
    mediascan.schedule(tasks, case, recorded)  # after the receipt has gone out
    return render(request, "submitted.html", who, t=t, lang=code, recorded=recorded)


class UploadTooLarge(IntakeError):
    """A file over ``Settings.max_upload_bytes``: refused before anything is stored."""


def _field(form: Any, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


@router.get("/receipt")
def receipt(
    request: Request,
    who: Annotated[Caller, Depends(need(Permission.PUBLIC))],
    entry: Annotated[int | None, Query(ge=0)] = None,
    digest: str | None = None,
) -> Response:
    result = receipt_check(_case(request), entry, digest) if entry is not None and digest else None
    return render(request, "receipt.html", who, result=result, entry=entry, digest=digest or "")


@router.get("/receipt/proof")
def receipt_proof(
    request: Request,
    who: Annotated[Caller, Depends(need(Permission.PUBLIC))],
    entry: Annotated[int, Query(ge=0)],
    digest: str,
) -> Response:
    result = receipt_check(_case(request), entry, digest)
    if result is None or not result.get("proof"):
        raise HTTPException(404, "no such entry for that digest")
    return _proof_download(result["proof"], digest)


def _proof_download(text: str, sha: str) -> Response:
    return PlainTextResponse(text, headers={"content-disposition": f'attachment; filename="{sha[:16]}.tlog-proof"'})


# -- signing in -------------------------------------------------------------------------


@router.get("/login")
def login_form(
    request: Request, who: Annotated[Caller, Depends(need(Permission.PUBLIC))], next: str = "/case"
) -> Response:
    return render(request, "login.html", who, next=_safe_next(next))


def _safe_next(target: str) -> str:
    """Only local paths: a crafted link must not send people elsewhere after signing in."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/case"


@router.post("/login")
async def login(
    request: Request,
    who: Annotated[Caller, Depends(need(Permission.PUBLIC))],
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form()] = "/case",
) -> Response:
    await check_csrf(request, who)
    limiter = request.app.state.login_limiter
    address = request.client.host if request.client else "unknown"
    keys_ = (f"addr:{address}", f"user:{username.strip().lower()}")
    if limiter.blocked(*keys_):
        return render(
            request, "login.html", who, next=_safe_next(next), error="too many attempts: wait 15 minutes", status=429
        )
    account = accounts.authenticate(_case(request).engine, username, password)
    if account is None:
        limiter.hit(*keys_)
        return render(request, "login.html", who, next=_safe_next(next), error="wrong username or password", status=401)
    limiter.clear(f"user:{account.username}")
    signed = accounts.start_session(_case(request).engine, account)
    response = RedirectResponse(_safe_next(next), 303)
    response.set_cookie(
        SESSION_COOKIE,
        signed.session_token,
        max_age=accounts.SESSION_SECONDS,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.secure_cookies,
    )
    return response


@router.post("/logout")
async def logout(request: Request, who: Annotated[Caller, Depends(need(Permission.SIGNED_IN))]) -> Response:
    await check_csrf(request, who)
    if token := request.cookies.get(SESSION_COOKIE):
        accounts.end_session(_case(request).engine, token)
    response = RedirectResponse("/login", 303)
    response.delete_cookie(SESSION_COOKIE)
    return response


# -- case pages -------------------------------------------------------------------------


@router.get("/case")
def dashboard(request: Request, who: Annotated[Caller, Depends(need(Permission.VIEW_PUBLISHED))]) -> Response:
    case = _case(request)
    only = who.only_published
    latest = browse.list_items(case, browse.Filters(only_published=only))
    counts = case.counts()
    with case.engine.connect() as conn:
        checkpoint = case.log.latest_checkpoint(conn)
    return render(
        request,
        "dashboard.html",
        who,
        title=case.config.title,
        counts=counts,
        published=browse.list_items(case, browse.Filters(only_published=True)).total,
        latest=latest.items[:10],
        checkpoint=checkpoint if not only else None,
        only_published=only,
    )


@router.get("/items")
def items(
    request: Request,
    who: Annotated[Caller, Depends(need(Permission.VIEW_PUBLISHED))],
    q: str | None = None,
    channel: str | None = None,
    source: str | None = None,
    media_type: str | None = None,
    received_from: str | None = None,
    received_to: str | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    f = browse.Filters(q, channel, source, media_type, received_from, received_to, page, who.only_published)
    listing = browse.list_items(_case(request), f)
    return render(request, "items.html", who, listing=listing, f=f)


@router.get("/items/{ref}")
def item_page(
    request: Request,
    ref: str,
    who: Annotated[Caller, Depends(need(Permission.VIEW_PUBLISHED))],
    reviewed: Annotated[int | None, Query(ge=0, le=2**31 - 1)] = None,
) -> Response:
    """An item; ``reviewed`` (after a review form) says that the decision on that claim was recorded."""
    return _item_page(request, who, item_view(_case(request), ref, who), reviewed=reviewed)


def _item_page(
    request: Request, who: Caller, view: dict[str, Any], *, reviewed: int | None = None, **extra: Any
) -> Response:
    """The item page: receipts and custody from ``view``, plus what the media and text steps found."""
    case = _case(request)
    media = media_view(case, view["item"], who)
    ct = claim_strings_for(request)
    claims = claims_view(case, view["item"], who, ct, reviewed)
    return render(
        request, "item.html", who, v=view, media=media, claims=claims, ct=ct, preview_types=PREVIEW_TYPES, **extra
    )


@router.get("/items/{ref}/original")
def original(request: Request, ref: str, who: Annotated[Caller, Depends(need(Permission.VIEW_PUBLISHED))]) -> Response:
    """The original as a download; for an observer, a photo's or video's published copy instead.

    The original of a published photo may still hold where it was taken and
    the serial number of the phone that took it: observers get the copy made
    without them when it was published (see ``factfinder.media.redact``).
    """
    case = _case(request)
    item = visible_item_or_404(case, ref, who)
    sha, media_type, name = item.sha256, item.media_type, item.sha256
    if copy_replaces_original(item, who):
        copy = published_copy_or_404(case, item)
        sha, media_type, name = copy.sha256, copy.media_type, f"{item.sha256}-published"
    ext = mimetypes.guess_extension(media_type) or ".bin"
    masked = masked_original(case, item, who, ext=ext)  # sealed answers: only for those who may open them
    if masked is not None:
        return masked
    # Always a download as octet-stream: an uploaded HTML or SVG file must never run in our origin.
    return FileResponse(
        case.blobs.path(sha),
        media_type="application/octet-stream",
        filename=f"{name}{ext}",
        content_disposition_type="attachment",
    )


@router.get("/items/{ref}/preview")
def preview(request: Request, ref: str, who: Annotated[Caller, Depends(need(Permission.VIEW_PUBLISHED))]) -> Response:
    """The file shown inline (pictures, video, audio only); observers see the published copy, as for downloads."""
    case = _case(request)
    item = visible_item_or_404(case, ref, who)
    sha, media_type = item.sha256, item.media_type
    if copy_replaces_original(item, who):
        copy = published_copy_or_404(case, item)
        sha, media_type = copy.sha256, copy.media_type
    if media_type not in PREVIEW_TYPES:
        raise HTTPException(404, "no preview for this media type")
    response = FileResponse(case.blobs.path(sha), media_type=media_type)
    response.headers["content-security-policy"] = SANDBOX
    return response


@router.get("/items/{ref}/thumbnail")
def thumbnail(request: Request, ref: str, who: Annotated[Caller, Depends(need(Permission.VIEW_PUBLISHED))]) -> Response:
    """The media step's small JPEG of a picture or video (re-encoded without any of the file's metadata)."""
    case = _case(request)
    item = visible_item_or_404(case, ref, who)
    copy = case.derivative(item, analyse.THUMBNAIL_STEP)
    if copy is None:
        raise HTTPException(404, "no thumbnail for this item (not a picture or video, or not analysed yet)")
    response = FileResponse(case.blobs.path(copy.sha256), media_type="image/jpeg")
    response.headers["content-security-policy"] = SANDBOX
    return response


@router.get("/items/{ref}/proof")
def item_proof(
    request: Request, ref: str, who: Annotated[Caller, Depends(need(Permission.VIEW_PUBLISHED))]
) -> Response:
    case = _case(request)
    item = visible_item_or_404(case, ref, who)
    return _proof_download(case.proof(item.sha256), item.sha256)


@router.post("/items/{ref}/reveal")
async def reveal(
    request: Request, ref: str, who: Annotated[Caller, Depends(need(Permission.REVEAL_PROTECTED))]
) -> Response:
    await check_csrf(request, who)
    case = _case(request)
    form = await request.form(max_files=1)
    identity_file = request.app.state.settings.identity_file
    upload = form.get("identity")
    try:
        if isinstance(upload, StarletteUploadFile) and upload.size:
            text = (await upload.read(1 << 16)).decode("utf-8", errors="replace")
            identity = keys.parse_identity(text)
        elif identity_file is not None:
            identity = keys.load_identity(identity_file)
        else:
            raise VaultError("choose the case's witness identity file to open sealed fields")
        assert who.account is not None
        opened = case.reveal(ref, identity, actor=who.account.username)
    except ItemNotFoundError as exc:
        raise HTTPException(404, str(exc)) from exc
    except VaultError as exc:
        raise HTTPException(400, str(exc)) from exc
    view = item_view(case, ref, who, opened={r.id: values for r, values in opened})
    return _item_page(request, who, view)


@router.post("/items/{ref}/publish")
async def publish(request: Request, ref: str, who: Annotated[Caller, Depends(need(Permission.PUBLISH))]) -> Response:
    """Mark an item publishable and make the copy observers get of a photo or video (publishing again retries it)."""
    await check_csrf(request, who)
    assert who.account is not None
    case = _case(request)
    try:
        item = case.resolve(ref)
    except VaultError as exc:
        raise HTTPException(404, str(exc)) from exc
    case.publish(item.sha256, actor=who.account.username)
    try:
        # In a worker thread: a remux or re-encode takes seconds and must not hold up the event loop.
        await run_in_threadpool(redact.make_redacted_copy, case, item, actor=who.account.username)
    except redact.RedactionError as exc:
        # Published, but observers get nothing of the file until a copy can be made: say so on the page.
        return _item_page(request, who, item_view(case, item.sha256, who), copy_error=str(exc))
    return RedirectResponse(f"/items/{item.sha256}", 303)


@router.get("/add")
def add_form(request: Request, who: Annotated[Caller, Depends(need(Permission.ADD_EVIDENCE))]) -> Response:
    return render(request, "add.html", who, max_bytes=request.app.state.settings.max_upload_bytes)


@router.post("/add")
async def add_evidence(
    request: Request, tasks: BackgroundTasks, who: Annotated[Caller, Depends(need(Permission.ADD_EVIDENCE))]
) -> Response:
    """Files an investigator brings in (a USB stick, an e-mail): recorded under their account."""
    await check_csrf(request, who)
    assert who.account is not None
    case = _case(request)
    form = await request.form(max_files=200, max_fields=50)
    limit = request.app.state.settings.max_upload_bytes
    chosen = [v for v in form.getlist("files") if isinstance(v, StarletteUploadFile) and (v.filename or v.size)]
    try:
        if any((value.size or 0) > limit for value in chosen):
            raise UploadTooLarge(f"a file is too large (> {limit:,} bytes)")
        ev = webform.Evidence(
            files=[(case.blobs.put_file(v.file), v.filename) for v in chosen],
            channel=_field(form, "channel") or "web-upload",
            source=_field(form, "source"),
            note=_field(form, "note"),
            collected_at_claimed=_field(form, "collected_at"),
            collected_by_claimed=_field(form, "collected_by"),
            contact=webform.contact_fields(
                _field(form, "witness_name"), _field(form, "witness_phone"), _field(form, "witness_contact")
            ),
        )
        recorded = webform.add_evidence(case, ev, actor=who.account.username)
    except VaultError as exc:
        status = 413 if isinstance(exc, UploadTooLarge) else 400
        return render(request, "add.html", who, max_bytes=limit, error=str(exc), status=status)
    from factfinder import pipeline

    pipeline.index_items(case, digests=[r.sha256 for r in recorded])
    mediascan.schedule(tasks, case, recorded)
    return render(request, "add.html", who, max_bytes=limit, recorded=recorded)


@router.get("/media/clusters")
def clusters_page(
    request: Request,
    who: Annotated[Caller, Depends(need(Permission.VIEW_PUBLISHED))],
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """Groups of items showing the same picture or footage (for observers: of published items only)."""
    return render(request, "clusters.html", who, v=cluster_list(_case(request), who, page))


@router.get("/media/clusters/{cluster_id}")
def cluster_page(
    request: Request, cluster_id: ClusterId, who: Annotated[Caller, Depends(need(Permission.VIEW_PUBLISHED))]
) -> Response:
    """One cluster: its members, how each matched, and which copy is most likely the earliest and why."""
    return render(request, "cluster.html", who, v=cluster_view(_case(request), cluster_id, who))


@router.get("/claims")
def claims_page(
    request: Request,
    who: Annotated[Caller, Depends(need(Permission.VIEW_PUBLISHED))],
    kind: Annotated[str | None, Query(max_length=16)] = None,
    event_type: Annotated[str | None, Query(max_length=100)] = None,
    what: Annotated[str | None, Query(max_length=32)] = None,
    decision: Annotated[str | None, Query(max_length=16)] = None,
    q: Annotated[str | None, Query(max_length=500)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """The claims read from the case's texts, with filters (for observers: of published items only)."""
    case = _case(request)
    ct = claim_strings_for(request)
    f = {"kind": kind, "event_type": event_type, "what": what, "decision": decision, "q": q}
    f = {k: (v.strip() or None) if v is not None else None for k, v in f.items()}
    try:
        found, total, page, pages = claim_list(case, who, page=page, **f)
    except ClaimError as exc:
        raise HTTPException(400, str(exc)) from exc
    return render(
        request,
        "claims.html",
        who,
        ct=ct,
        f=f,
        rows=claim_rows(case, with_corrections_after(found), who, ct),
        total=total,
        page=page,
        pages=pages,
        kinds=KINDS,
        event_types=EVENT_TYPES,
        whats=COUNT_WHATS,
        states=STATES,
    )


@router.post("/claims/{claim_id}/review")
async def review_claim(
    request: Request, claim_id: ClaimId, who: Annotated[Caller, Depends(need(Permission.REVIEW_CLAIMS))]
) -> Response:
    """Confirm, correct or reject a claim; back to its item, where the decision shows (or what was wrong with it)."""
    await check_csrf(request, who)
    assert who.account is not None
    case = _case(request)
    claim = claim_or_404(case, claim_id, who)
    form = await request.form(max_files=0, max_fields=100)
    decision = _field(form, "decision") or ""
    try:
        correction = correction_from_form(claim, form) if decision == "corrected" else None
        await run_in_threadpool(  # the review waits for the custody log's lock: not on the event loop
            text_store.review,
            case,
            claim.id,
            decision,
            actor=who.account.username,
            reason=_field(form, "reason"),
            correction=correction,
        )
    except ClaimError as exc:
        view = item_view(case, claim.item_sha256, who)
        return _item_page(request, who, view, claim_error=str(exc), status=400)
    return RedirectResponse(f"/items/{claim.item_sha256}?reviewed={claim.id}#claim-{claim.id}", 303)


@router.get("/log")
def log_page(
    request: Request,
    who: Annotated[Caller, Depends(need(Permission.VIEW_EVIDENCE))],
    page: Annotated[int | None, Query(ge=1, le=10_000_000)] = None,
) -> Response:
    return render(request, "log.html", who, v=log_view(_case(request), page))


# -- accounts ---------------------------------------------------------------------------


@router.get("/users")
def users(request: Request, who: Annotated[Caller, Depends(need(Permission.MANAGE_USERS))]) -> Response:
    return render(request, "users.html", who, users=accounts.list_users(_case(request).engine), roles=list(Role))


@router.post("/users")
async def add_user(
    request: Request,
    who: Annotated[Caller, Depends(need(Permission.MANAGE_USERS))],
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    role: Annotated[str, Form(max_length=20)],
) -> Response:
    await check_csrf(request, who)
    engine = _case(request).engine
    try:
        accounts.add_user(engine, username, password, role)
    except VaultError as exc:
        return render(
            request, "users.html", who, users=accounts.list_users(engine), roles=list(Role), error=str(exc), status=400
        )
    return RedirectResponse("/users", 303)


@router.post("/users/{user_id}/disable")
async def disable_user(
    request: Request, user_id: int, who: Annotated[Caller, Depends(need(Permission.MANAGE_USERS))]
) -> Response:
    return await _set_disabled(request, who, user_id, True)


@router.post("/users/{user_id}/enable")
async def enable_user(
    request: Request, user_id: int, who: Annotated[Caller, Depends(need(Permission.MANAGE_USERS))]
) -> Response:
    return await _set_disabled(request, who, user_id, False)


async def _set_disabled(request: Request, who: Caller, user_id: int, disabled: bool) -> Response:
    await check_csrf(request, who)
    if disabled and who.account is not None and who.account.id == user_id:
        raise HTTPException(400, "you cannot disable your own account")
    try:
        accounts.set_disabled(_case(request).engine, user_id, disabled)
    except VaultError as exc:
        raise HTTPException(404, str(exc)) from exc
    return RedirectResponse("/users", 303)


@router.get("/account")
def account_page(request: Request, who: Annotated[Caller, Depends(need(Permission.SIGNED_IN))]) -> Response:
    assert who.account is not None
    return render(
        request, "account.html", who, token=None, tokens=accounts.list_tokens(_case(request).engine, who.account)
    )


@router.post("/account/tokens")
async def new_token(
    request: Request,
    who: Annotated[Caller, Depends(need(Permission.SIGNED_IN))],
    label: Annotated[str, Form(max_length=255)] = "script",
) -> Response:
    await check_csrf(request, who)
    assert who.account is not None
    token = accounts.create_token(_case(request).engine, who.account, label)
    return render(
        request, "account.html", who, token=token, tokens=accounts.list_tokens(_case(request).engine, who.account)
    )


@router.post("/account/tokens/{token_id}/revoke")
async def revoke_token(
    request: Request, token_id: int, who: Annotated[Caller, Depends(need(Permission.SIGNED_IN))]
) -> Response:
    await check_csrf(request, who)
    assert who.account is not None
    try:
        accounts.revoke_token(_case(request).engine, who.account, token_id)
    except VaultError as exc:
        raise HTTPException(404, str(exc)) from exc
    return RedirectResponse("/account", 303)
