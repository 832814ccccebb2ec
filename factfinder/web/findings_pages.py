"""The findings pages: incidents, one incident with the analysts' decisions on it, counts, timeline, map, report.

Every page reads the findings through ``findings_views.seen_by``, so a caller who
sees only published items (observers, admins) gets the findings of published items,
redacted, everywhere, and only the redacted report. The forms that shape incidents
post with the session's CSRF token; the decision waits for the custody log's lock in
a worker thread, as a claim review does, and the browser is sent back to the
incident (after a redirect, so reloading does not decide twice).
"""

from __future__ import annotations

import tempfile
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from factfinder.findings.store import FindingsError
from factfinder.permissions import Permission, allows
from factfinder.reports import report
from factfinder.text.corrections import EVENT_TYPES
from factfinder.vault.case import Case
from factfinder.web.app import findings_strings_for, render
from factfinder.web.auth import Caller, check_csrf, need
from factfinder.web.findings_views import (
    LEVELS,
    NotFound,
    Seen,
    decide,
    incident_or_404,
    incident_row,
    incident_view,
    map_view,
    matching,
    notice,
    seen_by,
    tables_view,
    timeline_view,
)

router = APIRouter(include_in_schema=False)
Ref = Annotated[str, Path(max_length=100, description="an incident's name: I- and 10 hex digits")]
MAX_CLAIMS = 10_000
REPORT_CSP = report.CSP + "; frame-ancestors 'none'"
"""The report's own policy (inline style, nothing loaded, no script), and never framed."""


def _case(request: Request) -> Case:
    case: Case = request.app.state.case
    return case


def _can_decide(who: Caller) -> bool:
    return allows(who.account.role if who.account else None, Permission.DECIDE_INCIDENTS)


@router.get("/incidents")
def incidents_page(
    request: Request,
    who: Annotated[Caller, Depends(need(Permission.VIEW_PUBLISHED))],
    event_type: Annotated[str | None, Query(max_length=100)] = None,
    level: Annotated[str | None, Query(max_length=32)] = None,
    q: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    """The case's incidents, filtered by event type, corroboration level and words."""
    ft = findings_strings_for(request)
    seen = seen_by(_case(request), who)
    f = {"event_type": (event_type or "").strip() or None, "level": (level or "").strip() or None, "q": q}
    if f["level"] is not None and f["level"] not in LEVELS:
        raise HTTPException(400, f"level: one of {', '.join(LEVELS)}")
    found = matching(seen.findings.incidents, event_type=f["event_type"], level=f["level"], q=f["q"])
    return render(
        request,
        "incidents.html",
        who,
        ft=ft,
        seen=seen,
        f=f,
        rows=[incident_row(i, ft) for i in found],
        total=len(seen.findings.incidents),
        event_types=EVENT_TYPES,
        levels=LEVELS,
    )


@router.get("/incidents/{ref}")
def incident_page(
    request: Request,
    ref: Ref,
    who: Annotated[Caller, Depends(need(Permission.VIEW_PUBLISHED))],
    decided: Annotated[int | None, Query(ge=0, le=2**31 - 1)] = None,
) -> Response:
    """One incident; ``decided`` (after a decision form) says that the decision was recorded."""
    seen = seen_by(_case(request), who)
    inc = incident_or_404(seen, ref)
    if inc.ref != ref.strip():  # the name of an incident since merged into this one: send the reader there
        return RedirectResponse(f"/incidents/{inc.ref}", 308)
    return _incident_page(request, who, seen, inc.ref, decided=decided)


def _incident_page(
    request: Request, who: Caller, seen: Seen, ref: str, *, decided: int | None = None, **extra: Any
) -> Response:
    ft = findings_strings_for(request)
    inc = incident_or_404(seen, ref)
    return render(
        request,
        "incident.html",
        who,
        ft=ft,
        seen=seen,
        v=incident_view(seen, inc, ft),
        notice=notice(seen, inc, decided, ft) if _can_decide(who) else None,
        can_decide=_can_decide(who),
        **extra,
    )


async def _decide(request: Request, ref: str, who: Caller, action: str) -> Response:
    """Read a decision form, make the decision, and go back to the incident (or say what was wrong, as a 400)."""
    await check_csrf(request, who)
    case = _case(request)
    form = await request.form(max_files=0, max_fields=MAX_CLAIMS + 20)
    reason = _field(form, "reason")
    try:
        claims = [int(v) for v in form.getlist("claim") if isinstance(v, str) and v.strip()]
    except ValueError:
        claims = None
    try:
        if claims is None:
            raise FindingsError("a report to move is named by its claim number")
        done = await run_in_threadpool(  # the decision waits for the custody log's lock: not on the event loop
            decide,
            case,
            who,
            ref,
            action,
            other=_field(form, "other"),
            claims=claims,
            item=_field(form, "item"),
            cluster=_field(form, "cluster") is not None,
            reason=reason,
        )
    except NotFound as exc:
        raise HTTPException(404, f"no incident {ref[:40]!r} (incidents are named like I-3fa9c2d1e0)") from exc
    except FindingsError as exc:
        seen = seen_by(case, who)
        return _incident_page(request, who, seen, ref, decision_error=str(exc), failed=action, status=400)
    target = done.incident or ref
    return RedirectResponse(f"/incidents/{target}?decided={done.decision_id}#decisions", 303)


def _field(form: Any, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


@router.post("/incidents/{ref}/merge")
async def merge_incident(
    request: Request, ref: Ref, who: Annotated[Caller, Depends(need(Permission.DECIDE_INCIDENTS))]
) -> Response:
    """Merge the incident chosen in the form into this one (this one keeps its name)."""
    return await _decide(request, ref, who, "merge")


@router.post("/incidents/{ref}/split")
async def split_incident(
    request: Request, ref: Ref, who: Annotated[Caller, Depends(need(Permission.DECIDE_INCIDENTS))]
) -> Response:
    """Move the checked reports out of this incident into a new one."""
    return await _decide(request, ref, who, "split")


@router.post("/incidents/{ref}/attach")
async def attach_item(
    request: Request, ref: Ref, who: Annotated[Caller, Depends(need(Permission.DECIDE_INCIDENTS))]
) -> Response:
    """Attach an item (or its whole media cluster) to this incident as evidence of it."""
    return await _decide(request, ref, who, "attach")


@router.post("/incidents/{ref}/detach")
async def detach_item(
    request: Request, ref: Ref, who: Annotated[Caller, Depends(need(Permission.DECIDE_INCIDENTS))]
) -> Response:
    """Take an attached item off this incident (the attachment stays in the custody log)."""
    return await _decide(request, ref, who, "detach")


@router.get("/counts")
def counts_page(request: Request, who: Annotated[Caller, Depends(need(Permission.VIEW_PUBLISHED))]) -> Response:
    """The case's count tables: every figure for each thing counted, reconciled."""
    ft = findings_strings_for(request)
    seen = seen_by(_case(request), who)
    return render(request, "counts.html", who, ft=ft, seen=seen, tables=tables_view(seen.findings.counts, ft))


@router.get("/timeline")
def timeline_page(request: Request, who: Annotated[Caller, Depends(need(Permission.VIEW_PUBLISHED))]) -> Response:
    """Incidents and attached items in time, as an inline SVG and a table (no script)."""
    ft = findings_strings_for(request)
    seen = seen_by(_case(request), who)
    return render(request, "timeline.html", who, ft=ft, seen=seen, tl=timeline_view(seen.findings, ft))


@router.get("/map")
def map_page(request: Request, who: Annotated[Caller, Depends(need(Permission.VIEW_PUBLISHED))]) -> Response:
    """The incidents (and, for those who see evidence, the items' GPS) on an inline SVG map (nothing fetched)."""
    ft = findings_strings_for(request)
    seen = seen_by(_case(request), who)
    return render(request, "map.html", who, ft=ft, seen=seen, m=map_view(seen, ft))


def _redacted(who: Caller, asked: int) -> bool:
    """Callers who see only published items get the redacted report whatever they ask for."""
    return who.only_published or bool(asked)


@router.get("/report")
def report_page(
    request: Request,
    who: Annotated[Caller, Depends(need(Permission.VIEW_PUBLISHED))],
    redacted: Annotated[int, Query(ge=0, le=1)] = 0,
) -> Response:
    """The case report as its own self-contained document (its own CSP: inline style, nothing loaded)."""
    seen = seen_by(_case(request), who)
    html = report.render_html(seen.basis, redacted=_redacted(who, redacted))
    name = "case-report-redacted.html" if _redacted(who, redacted) else "case-report.html"
    return HTMLResponse(
        html,
        headers={"content-security-policy": REPORT_CSP, "content-disposition": f'inline; filename="{name}"'},
    )


@router.get("/report.pdf")
async def report_pdf(
    request: Request,
    who: Annotated[Caller, Depends(need(Permission.VIEW_PUBLISHED))],
    redacted: Annotated[int, Query(ge=0, le=1)] = 0,
) -> Response:
    """The case report as an A4 PDF download, laid out in a worker thread (it takes seconds)."""
    seen = await run_in_threadpool(seen_by, _case(request), who)
    flag = _redacted(who, redacted)
    data = await run_in_threadpool(_pdf, seen, flag)
    name = "case-report-redacted.pdf" if flag else "case-report.pdf"
    return Response(
        data, media_type="application/pdf", headers={"content-disposition": f'attachment; filename="{name}"'}
    )


def _pdf(seen: Seen, redacted: bool) -> bytes:
    """The PDF's bytes, written by WeasyPrint into a temporary folder that is removed at once."""
    with tempfile.TemporaryDirectory(prefix="factfinder-report-") as folder:
        path = FilePath(folder) / "report.pdf"
        report.write_pdf(seen.basis, path, redacted=redacted)
        return path.read_bytes()
