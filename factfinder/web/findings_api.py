"""The findings in the JSON API under /api/v1: incidents, counts, and the analysts' decisions on incidents.

The documents are ``factfinder.reports.exports.to_json``'s pieces (the same fields as
the JSON export, so a script reads both alike), of the findings the caller may see
(``findings_views.seen_by``): for observers and admins, those of published items,
redacted, with no decision's author, reason or body. Decisions are POSTed as JSON; a
signed-in browser sends the ``X-CSRF-Token`` header, a script its bearer token.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from factfinder.findings.store import MAX_REASON, FindingsError
from factfinder.permissions import Permission
from factfinder.vault.case import Case
from factfinder.web.auth import Caller, check_csrf, need
from factfinder.web.findings_views import (
    Decided,
    NotFound,
    decide,
    document,
    incident_json,
    incident_summary,
    matching,
    seen_by,
)

router = APIRouter(tags=["findings"])
Ref = Annotated[str, Path(max_length=100, description="an incident's name: I- and 10 hex digits")]
Reason = Annotated[str | None, Field(max_length=MAX_REASON, description="why: kept in the case, shown to analysts")]


def _case(request: Request) -> Case:
    case: Case = request.app.state.case
    return case


async def _csrf(request: Request, who: Caller) -> None:
    if who.account is not None:  # only a signed-in browser carries ambient authority worth forging
        await check_csrf(request, who)


# -- documents (the fields of exports.to_json) --------------------------------------------------------


class SourceOut(BaseModel):
    name: str = Field(description="who gives it: the source the text cites, else the item's publisher")
    type: str = Field(description="official, media, ngo, witness, hospital or unknown")
    origin: str = Field(description="claims of one origin are one source however many items repeat them")
    cited: bool


class FigureOut(BaseModel):
    claim_id: int
    item_id: int
    item_sha256: str
    what: str
    low: int
    high: int | None = Field(description="null: open above (at least `low`)")
    text: str
    qualifier: str
    hedged: bool
    quote: str
    source: SourceOut
    reported_on: str
    group: int = Field(description="figures of one group are one source repeated: they count once")
    repeats: int | None = Field(description="the claim of the same group this figure only repeats")


class OfficialFigureOut(BaseModel):
    claim_id: int
    text: str
    reported_on: str
    source: str


class CountTableOut(BaseModel):
    """Every figure given for one thing counted, reconciled (ACLED's rule: the most conservative figure)."""

    what: str
    conservative: int | None
    conservative_reason: str
    independent_low: int | None
    independent_high: int | None
    independent_sources: int
    disputes: list[str]
    official_history: list[OfficialFigureOut]
    figures: list[FigureOut]


class RecordOut(BaseModel):
    """One report of the event: an event claim (or a figure) with its place and days."""

    claim_id: int
    digest: str
    item_id: int
    item_sha256: str
    event_type: str | None
    sub_event_type: str | None
    negated: bool
    quote: str
    place: str | None
    latitude: float | None
    longitude: float | None
    admin1: str | None
    country: str | None
    geo_precision: int | None
    earliest: str
    latest: str
    time_precision: int
    source: SourceOut
    reported_on: str
    figures: list[int]


class AttachedOut(BaseModel):
    item_id: int
    item_sha256: str
    media_type: str
    via: str = Field(description="item (attached by hand) or cluster (with its media cluster)")


class CorroborationOut(BaseModel):
    level: str = Field(description="contradicted, confirmed, multiple or single")
    label: str
    reasons: list[str]


class DecisionOut(BaseModel):
    """An analyst's decision on incidents, as the custody log records it."""

    id: int
    action: str = Field(description="merge, split, attach or detach")
    body: dict[str, Any] | None = Field(description="what it names (claims, items); null for observers")
    reason: str | None = Field(description="null for callers who see only published items")
    actor: str | None = Field(description="null for callers who see only published items")
    at_vault_clock: str
    log_index: int
    applied: bool = Field(description="false when what it names is gone (kept, but it changes nothing)")


class IncidentSummary(BaseModel):
    ref: str
    label: str
    event_type: str | None
    sub_event_type: str | None
    types: dict[str, int] = Field(description="how many independent sources call it each event type")
    earliest: str
    latest: str
    time_precision: int = Field(description="ACLED: 1 the day, 2 within a week, 3 within a month")
    dates_disagree: bool
    place: str | None
    latitude: float | None
    longitude: float | None
    admin1: str | None
    country: str | None
    geo_precision: int | None = Field(description="ACLED: 1 the town, 2 near it or part of a region, 3 the region")
    radius_km: float | None
    fatalities: int | None = Field(description="the conservative figure of those killed")
    corroboration: CorroborationOut
    independent_sources: int
    actors: list[str]


class IncidentOut(IncidentSummary):
    items: list[str] = Field(description="SHA-256 of every item it rests on")
    records: list[RecordOut]
    counts: dict[str, CountTableOut]
    attached: list[AttachedOut]
    decisions: list[DecisionOut] = Field(description="the decisions that shaped it, in log order")


class Checkpoint(BaseModel):
    size: int
    root: str
    note: str


class IncidentList(BaseModel):
    checkpoint: Checkpoint | None = Field(
        description="the custody log checkpoint the findings were made at (null for callers who see only published "
        "items: its size tells how much the case holds)"
    )
    incidents: list[IncidentSummary]
    total: int = Field(description="incidents in the case (before the filters)")


class CountsOut(BaseModel):
    checkpoint: Checkpoint | None
    counts: dict[str, CountTableOut] = Field(description="the whole case's tables, by thing counted")


class MergeIn(BaseModel):
    other: str = Field(min_length=1, max_length=100, description="the incident to merge into this one")
    reason: Reason = None


class SplitIn(BaseModel):
    claims: list[Annotated[int, Field(ge=0, le=2**31 - 1)]] = Field(
        min_length=1, max_length=10_000, description="claim ids of this incident's reports to move into a new incident"
    )
    reason: Reason = None


class AttachIn(BaseModel):
    item: str = Field(min_length=1, max_length=71, description="the item's SHA-256, or its first digits (4 or more)")
    cluster: bool = Field(default=False, description="attach the item's whole media cluster")
    reason: Reason = None


class DetachIn(BaseModel):
    item: str = Field(min_length=1, max_length=71, description="the item's SHA-256, or its first digits (4 or more)")
    reason: Reason = None


class DecidedOut(BaseModel):
    decision_id: int
    action: str
    log_index: int = Field(description="the decision's custody log entry")
    incident: str | None = Field(description="the incident decided on, as it is named now")
    new_incident: str | None = Field(description="for a split: the incident the reports went into")


# -- routes ----------------------------------------------------------------------------------------------


@router.get("/incidents")
def list_incidents(
    request: Request,
    who: Annotated[Caller, Depends(need(Permission.VIEW_PUBLISHED))],
    event_type: Annotated[str | None, Query(max_length=100)] = None,
    level: Literal["contradicted", "confirmed", "multiple", "single"] | None = None,
    q: Annotated[str | None, Query(max_length=500, description="words its name, place, actors or reports hold")] = None,
) -> IncidentList:
    """The case's incidents, in time order (observers: made from published items, redacted)."""
    seen = seen_by(_case(request), who)
    doc = document(seen)
    keep = {i.ref for i in matching(seen.findings.incidents, event_type=event_type or None, level=level, q=q)}
    return IncidentList.model_validate(
        {
            "checkpoint": None if seen.redacted else doc["checkpoint"],
            "incidents": [incident_summary(i) for i in doc["incidents"] if i["ref"] in keep],
            "total": len(doc["incidents"]),
        }
    )


@router.get("/incidents/{ref}")
def get_incident(
    request: Request, ref: Ref, who: Annotated[Caller, Depends(need(Permission.VIEW_PUBLISHED))]
) -> IncidentOut:
    """One incident: its reports, count tables, attached items, corroboration and the decisions that shaped it."""
    try:
        return IncidentOut.model_validate(incident_json(seen_by(_case(request), who), ref.strip()))
    except NotFound as exc:
        raise HTTPException(404, f"no incident {ref[:40]!r} (incidents are named like I-3fa9c2d1e0)") from exc


@router.get("/counts")
def get_counts(request: Request, who: Annotated[Caller, Depends(need(Permission.VIEW_PUBLISHED))]) -> CountsOut:
    """The whole case's count tables: every figure for each thing counted, reconciled."""
    seen = seen_by(_case(request), who)
    doc = document(seen)
    return CountsOut.model_validate(
        {"checkpoint": None if seen.redacted else doc["checkpoint"], "counts": doc["counts"]}
    )


async def _decided(request: Request, who: Caller, ref: str, action: str, **details: Any) -> DecidedOut:
    await _csrf(request, who)
    try:
        done: Decided = await run_in_threadpool(  # waits for the custody log's lock: not on the event loop
            decide, _case(request), who, ref, action, **details
        )
    except NotFound as exc:
        raise HTTPException(404, f"no incident {ref[:40]!r} (incidents are named like I-3fa9c2d1e0)") from exc
    except FindingsError as exc:
        raise HTTPException(400, str(exc)) from exc
    return DecidedOut(
        decision_id=done.decision_id,
        action=done.action,
        log_index=done.log_index,
        incident=done.incident,
        new_incident=done.new_incident,
    )


@router.post("/incidents/{ref}/merge", status_code=201)
async def merge_incident(
    request: Request, ref: Ref, body: MergeIn, who: Annotated[Caller, Depends(need(Permission.DECIDE_INCIDENTS))]
) -> DecidedOut:
    """Merge incident `other` into this one (this one keeps its name): one custody entry."""
    return await _decided(request, who, ref, "merge", other=body.other, reason=body.reason)


@router.post("/incidents/{ref}/split", status_code=201)
async def split_incident(
    request: Request, ref: Ref, body: SplitIn, who: Annotated[Caller, Depends(need(Permission.DECIDE_INCIDENTS))]
) -> DecidedOut:
    """Move reports (by claim id) out of this incident into a new one; at least one must stay."""
    return await _decided(request, who, ref, "split", claims=list(body.claims), reason=body.reason)


@router.post("/incidents/{ref}/attach", status_code=201)
async def attach_item(
    request: Request, ref: Ref, body: AttachIn, who: Annotated[Caller, Depends(need(Permission.DECIDE_INCIDENTS))]
) -> DecidedOut:
    """Attach an item (or its whole media cluster) to this incident as evidence of it."""
    return await _decided(request, who, ref, "attach", item=body.item, cluster=body.cluster, reason=body.reason)


@router.post("/incidents/{ref}/detach", status_code=201)
async def detach_item(
    request: Request, ref: Ref, body: DetachIn, who: Annotated[Caller, Depends(need(Permission.DECIDE_INCIDENTS))]
) -> DecidedOut:
    """Take an attached item off this incident."""
    return await _decided(request, who, ref, "detach", item=body.item, reason=body.reason)
