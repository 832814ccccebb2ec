"""The register pages: the persons, one person's records side by side, the review queue, entry and import, the estimate.

Only callers with ``view-register`` see any of them (analysts and investigators);
observers and admins are refused like any caller without the permission. Forms
post with the session's CSRF token; a record, an imported list and a review are
each a custody entry, made in a worker thread (they wait for the custody log's
lock, and linkage may run after them), and the browser is sent on after a
redirect, so reloading does not record twice. A form that cannot be done as
asked comes back as a 400 with what was wrong, the values kept (but never a
sealed value: a relative's contact is typed again, not echoed).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile as StarletteUploadFile

from factfinder.findings.persons import store
from factfinder.findings.persons.lists import MAPPABLE
from factfinder.findings.persons.model import STATUSES
from factfinder.findings.persons.store import SOURCE_TYPES, PersonsError
from factfinder.permissions import Permission, allows
from factfinder.vault.case import Case
from factfinder.vault.errors import VaultError
from factfinder.web.app import render
from factfinder.web.auth import Caller, check_csrf, need
from factfinder.web.persons_views import (
    CORROBORATION,
    CORROBORATION_LABELS,
    FIELD_LABELS,
    PAGE,
    STRATA,
    add_entry,
    check_filters,
    entry_from,
    estimate,
    estimate_view,
    form_values_of,
    imported_notice,
    matching,
    next_after_review,
    pair_view,
    person_or_404,
    person_summary,
    person_view,
    queue_row,
    read_mapping_lines,
    recorded_notice,
    ref_ok,
    register_counts,
    register_of,
    review_notice,
    waiting,
)

router = APIRouter(include_in_schema=False)
Ref = Annotated[str, Path(max_length=100, description="a person (P- and 10 hex digits) or a record's digest prefix")]
RecordRef = Annotated[str, Path(max_length=71, description="a record's digest, or its first digits (6 or more)")]
LogIndex = Annotated[int | None, Query(ge=0, le=2**62)]
ReviewId = Annotated[int | None, Query(ge=0, le=2**31 - 1)]


def _case(request: Request) -> Case:
    case: Case = request.app.state.case
    return case


def _can(who: Caller, permission: Permission) -> bool:
    return allows(who.account.role if who.account else None, permission)


def _actor(who: Caller) -> str:
    assert who.account is not None
    return who.account.username


def _field(form: Any, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


# -- the register ------------------------------------------------------------------------------------------


@router.get("/persons")
def persons_page(
    request: Request,
    who: Annotated[Caller, Depends(need(Permission.VIEW_REGISTER))],
    status: Annotated[str | None, Query(max_length=32)] = None,
    list_name: Annotated[str | None, Query(alias="list", max_length=200)] = None,
    corroboration: Annotated[str | None, Query(max_length=32)] = None,
    q: Annotated[str | None, Query(max_length=500)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """The register: one row per linked person, with filters, the counts, and links to the queue and the estimate."""
    f = {
        "status": (status or "").strip() or None,
        "list": (list_name or "").strip() or None,
        "corroboration": (corroboration or "").strip() or None,
        "q": (q or "").strip() or None,
    }
    check_filters(f["status"], f["corroboration"])
    reg = register_of(_case(request))
    found = matching(reg.persons, status=f["status"], list_name=f["list"], corroboration=f["corroboration"], q=f["q"])
    pages = max(1, -(-len(found) // PAGE))
    page = min(page, pages)
    shown = found[(page - 1) * PAGE : page * PAGE]
    return render(
        request,
        "persons.html",
        who,
        reg=reg,
        f=f,
        counts=register_counts(reg),
        found=len(found),
        rows=[person_summary(p) for p in shown],
        page=page,
        pages=pages,
        statuses=STATUSES,
        levels=CORROBORATION,
        level_labels=CORROBORATION_LABELS,
        can_record=_can(who, Permission.RECORD_PERSONS),
    )


# -- entering and importing records (before /persons/{ref}, which would take "new") -------------------------


def _new_page(request: Request, who: Caller, **context: Any) -> Response:
    case = _case(request)
    context.setdefault("values", {"source_type": "other", "status": "killed"})
    context.setdefault("import_values", {"source_type": "other", "status": "killed"})
    return render(
        request,
        "person_new.html",
        who,
        source_types=SOURCE_TYPES,
        statuses=STATUSES,
        lists=store.lists(case),
        mappable=MAPPABLE,
        labels=FIELD_LABELS,
        max_bytes=request.app.state.settings.max_upload_bytes,
        **context,
    )


@router.get("/persons/new")
def new_person_form(
    request: Request,
    who: Annotated[Caller, Depends(need(Permission.RECORD_PERSONS))],
    recorded: Annotated[str | None, Query(max_length=71)] = None,
    imported: LogIndex = None,
    corrects: Annotated[str | None, Query(max_length=71)] = None,
) -> Response:
    """The forms to enter one record and to import a list; after one of them, what it recorded."""
    case = _case(request)
    notice = recorded_notice(case, recorded)
    context: dict[str, Any] = {"recorded": notice, "imported": imported_notice(case, imported)}
    if corrects:
        if not ref_ok(corrects.strip().lower()):
            raise HTTPException(404, f"no person record {corrects[:40]!r}")
        try:
            old = store.record(case, corrects)
        except PersonsError as exc:
            raise HTTPException(404, str(exc)) from exc
        context["values"] = form_values_of(old)
        context["correcting"] = old
    elif notice is not None:  # the next entry is most likely from the same list
        r = notice["record"]
        context["values"] = {
            "list_name": r.list_name,
            "source": r.source or "",
            "source_type": r.source_type,
            "status": r.record.status,
            "item": r.item_sha256 or "",
        }
    return _new_page(request, who, **context)


@router.post("/persons")
async def add_person(request: Request, who: Annotated[Caller, Depends(need(Permission.RECORD_PERSONS))]) -> Response:
    """Record one list entry (a custody entry); back to the form, which says what was recorded."""
    await check_csrf(request, who)
    case = _case(request)
    form = await request.form(max_files=0, max_fields=100)
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    try:
        entry = entry_from(values)
        stored = await run_in_threadpool(add_entry, case, entry, actor=_actor(who))
    except VaultError as exc:  # PersonsError, or an item digest that names nothing
        kept = {k: v for k, v in values.items() if k != "relative_contact"}  # a sealed value is never echoed
        dropped = bool((values.get("relative_contact") or "").strip())
        return _new_page(request, who, values=kept, error=str(exc), contact_dropped=dropped, status=400)
    return RedirectResponse(f"/persons/new?recorded={stored.sha256}#recorded", 303)


@router.post("/persons/import")
async def import_persons(
    request: Request, who: Annotated[Caller, Depends(need(Permission.RECORD_PERSONS))]
) -> Response:
    """Import a list file (CSV): it goes into the vault, and every row becomes a record, all or none."""
    await check_csrf(request, who)
    case = _case(request)
    form = await request.form(max_files=1, max_fields=50)
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    upload = form.get("file")
    limit = request.app.state.settings.max_upload_bytes
    try:
        if not isinstance(upload, StarletteUploadFile) or not (upload.filename or upload.size):
            raise PersonsError("choose the list file (CSV, UTF-8)")
        if (upload.size or 0) > limit:
            raise PersonsError(f"the file is too large (> {limit:,} bytes)")
        data = await upload.read()
        status = (values.get("status") or "killed").strip()
        mapping = read_mapping_lines(values.get("mapping") or "")
        result = await run_in_threadpool(
            store.import_list,
            case,
            data,
            list_name=values.get("list_name") or "",
            source=(values.get("source") or "").strip() or None,
            source_type=(values.get("source_type") or "other").strip(),
            actor=_actor(who),
            mapping=mapping,
            original_name=upload.filename or None,
            default_status=status,
        )
    except VaultError as exc:
        return _new_page(request, who, import_values=values, import_error=str(exc), status=400)
    return RedirectResponse(f"/persons/new?imported={result.log_index}#imported", 303)


# -- records proposed from the claims (before /persons/{ref}, which would take "proposals") -----------------


def _proposals_page(request: Request, who: Caller, **context: Any) -> Response:
    from factfinder.findings.persons import proposals

    rows = proposals.proposals(_case(request))
    return render(
        request, "persons_proposals.html", who, rows=rows[:PAGE], default_list=proposals.CLAIMS_LIST, **context
    )


@router.get("/persons/proposals")
def proposals_page(request: Request, who: Annotated[Caller, Depends(need(Permission.RECORD_PERSONS))]) -> Response:
    """People named in texts where a killing or an arrest is told: each can be accepted as a record."""
    return _proposals_page(request, who)


@router.post("/persons/proposals/{claim_id}")
async def accept_proposal(
    request: Request,
    claim_id: Annotated[int, Path(ge=1, le=2**62)],
    who: Annotated[Caller, Depends(need(Permission.RECORD_PERSONS))],
) -> Response:
    """Make a proposal a record (a custody entry); on to the entry form, which says what was recorded."""
    from factfinder.findings.persons import proposals

    await check_csrf(request, who)
    form = await request.form(max_files=0, max_fields=10)
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        made = await run_in_threadpool(
            proposals.accept,
            _case(request),
            claim_id,
            actor=_actor(who),
            list_name=(values.get("list_name") or proposals.CLAIMS_LIST),
            reason=values.get("reason") or None,
        )
    except VaultError as exc:
        return _proposals_page(request, who, error=str(exc), status=400)
    return RedirectResponse(f"/persons/new?recorded={made.sha256}#recorded", 303)


# -- the review queue (before /persons/{ref}, which would take "review") ---------------------------------


@router.get("/persons/review")
def review_queue(
    request: Request,
    who: Annotated[Caller, Depends(need(Permission.VIEW_REGISTER))],
    reviewed: ReviewId = None,
) -> Response:
    """The pairs of records in the uncertain band that no one has reviewed yet, most probable first."""
    case = _case(request)
    reg = register_of(case)
    queue = waiting(reg)
    return render(
        request,
        "persons_review.html",
        who,
        reg=reg,
        rows=[queue_row(q) for q in queue[:PAGE]],
        total=len(queue),
        notice=review_notice(case, reviewed),
    )


def _pair_page(request: Request, who: Caller, a: str, b: str, *, reviewed: int | None = None, **extra: Any) -> Response:
    case = _case(request)
    try:
        found = store.pair(case, a, b)
    except PersonsError as exc:
        raise HTTPException(404, str(exc)) from exc
    if found.a.sha256 == found.b.sha256:
        raise HTTPException(404, "a record cannot be compared with itself")
    return render(
        request,
        "person_pair.html",
        who,
        v=pair_view(found, register_of(case)),
        notice=review_notice(case, reviewed),
        can_review=_can(who, Permission.REVIEW_LINKS),
        **extra,
    )


@router.get("/persons/review/{a}/{b}")
def compare_records(
    request: Request,
    a: RecordRef,
    b: RecordRef,
    who: Annotated[Caller, Depends(need(Permission.VIEW_REGISTER))],
    reviewed: ReviewId = None,
) -> Response:
    """Two records side by side: every field, the differences marked, the model's view, and the review form."""
    return _pair_page(request, who, a, b, reviewed=reviewed)


@router.post("/persons/review")
async def review_pair(request: Request, who: Annotated[Caller, Depends(need(Permission.REVIEW_LINKS))]) -> Response:
    """Decide that two records are the same person or different people (a custody entry); on to the next pair."""
    await check_csrf(request, who)
    case = _case(request)
    form = await request.form(max_files=0, max_fields=20)
    a, b = (_field(form, "a") or "").strip(), (_field(form, "b") or "").strip()
    decision = (_field(form, "decision") or "").strip()
    reason = _field(form, "reason")
    if not a or not b:
        raise HTTPException(400, "name the two records (a and b)")
    try:
        review_id = await run_in_threadpool(store.review, case, a, b, decision, actor=_actor(who), reason=reason)
    except PersonsError as exc:
        try:  # the pair again, with what was wrong and the reason as typed
            return await run_in_threadpool(
                _pair_page, request, who, a, b, review_error=str(exc), reason_value=reason or "", status=400
            )
        except HTTPException:  # a record that is not there: nothing to show but the message
            raise HTTPException(400, str(exc)) from exc
    target = await run_in_threadpool(next_after_review, case, review_id)
    return RedirectResponse(target, 303)


# -- one person ----------------------------------------------------------------------------------------


@router.get("/persons/{ref}")
def person_page(
    request: Request, ref: Ref, who: Annotated[Caller, Depends(need(Permission.VIEW_REGISTER))]
) -> Response:
    """One person: every record that is them side by side, with its list, row and the item it came from."""
    case = _case(request)
    reg = register_of(case)
    p = person_or_404(case, reg, ref)
    if p.ref != ref.strip():  # a record of theirs, or a name they had before: send the reader to their page
        return RedirectResponse(f"/persons/{p.ref}", 308)
    return render(
        request,
        "person.html",
        who,
        v=person_view(p),
        can_record=_can(who, Permission.RECORD_PERSONS),
    )


# -- the estimate ------------------------------------------------------------------------------------------


@router.get("/estimate")
async def estimate_page(
    request: Request,
    who: Annotated[Caller, Depends(need(Permission.VIEW_REGISTER))],
    what: Annotated[str, Query(max_length=32)] = "killed",
    strata: Annotated[list[str] | None, Query(max_length=3)] = None,
    official: Annotated[int | None, Query(ge=0, le=10**9)] = None,
) -> Response:
    """The three figures (official, documented, estimated with its interval), apart, with their assumptions."""
    chosen = [s for s in (strata or []) if s]
    try:
        result = await run_in_threadpool(estimate, _case(request), what=what, strata=chosen, official=official)
    except PersonsError as exc:
        raise HTTPException(400, str(exc)) from exc
    return render(
        request,
        "estimate.html",
        who,
        what=what,
        strata=chosen,
        official=official,
        statuses=STATUSES,
        all_strata=STRATA,
        result=result,
        e=estimate_view(result.report) if result.report is not None else None,
    )
