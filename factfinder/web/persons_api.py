"""The person register in the JSON API under /api/v1: persons, one person, the review queue, reviews, records, estimate.

The register document is ``factfinder.reports.registerexport.register_json``'s, not
redacted: only callers with ``view-register`` (analysts, investigators) get it,
and they see names on the pages too. No answer holds a sealed value (a relative's
contact): a record carries only the names of its sealed fields. Reviews and new
records are POSTed as JSON, one custody entry each; a signed-in browser sends the
``X-CSRF-Token`` header, a script its bearer token.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from factfinder.findings.persons import store
from factfinder.findings.persons.lists import MAX_FIELD
from factfinder.findings.persons.model import Status
from factfinder.findings.persons.store import MAX_LIST_NAME, MAX_REASON, PersonsError, StoredRecord
from factfinder.permissions import Permission
from factfinder.reports.registerexport import register_json
from factfinder.vault.case import Case
from factfinder.vault.errors import VaultError
from factfinder.web.auth import Caller, check_csrf, need
from factfinder.web.persons_views import (
    PAGE,
    add_entry,
    clean,
    entry_from,
    estimate,
    evidence,
    matching,
    person_or_404,
    register_of,
    review_notice,
    waiting,
)

router = APIRouter(tags=["persons"])
Ref = Annotated[str, Path(max_length=100, description="a person (P- and 10 hex digits) or a record's digest prefix")]
Reason = Annotated[str | None, Field(max_length=MAX_REASON, description="why: kept in the case, its digest logged")]
Text = Annotated[str, Field(max_length=MAX_FIELD)]


def _case(request: Request) -> Case:
    case: Case = request.app.state.case
    return case


async def _csrf(request: Request, who: Caller) -> None:
    if who.account is not None:  # only a signed-in browser carries ambient authority worth forging
        await check_csrf(request, who)


def _actor(who: Caller) -> str:
    assert who.account is not None
    return who.account.username


# -- documents -----------------------------------------------------------------------------------------


class ListOut(BaseModel):
    name: str
    source_type: str = Field(description="family, hospital, morgue, forensic, lawyer, ngo, journalist, official, other")
    records: int = Field(description="its current records (corrected ones left out)")


class RecordLink(BaseModel):
    """A record of a person, in the register document."""

    record: str = Field(description="the record's SHA-256 (of its canonical JSON, sealed fields excluded)")
    list: str
    row: int = Field(description="its row in the list file (from 1), or 1 for an entry typed in")
    item: str | None = Field(description="SHA-256 of the item it came from (the list file), if any")
    status: str
    name: str = Field(description="the name as the list wrote it")


class PersonSummary(BaseModel):
    """One linked person, as the register export gives them ("" where the records disagree or say nothing)."""

    person: str = Field(description="P- and 10 hex digits: the digest of the person's first record")
    name: str = Field(description="the names the lists wrote, each once, joined by ' | '")
    statuses: str = Field(description="every status the records give, joined by '; '")
    sex: str
    age_min: int | str
    age_max: int | str
    birth: str
    residence: str
    event_date_start: str
    event_date_end: str
    event_place: str
    perpetrator: str
    lists: str = Field(description="the lists that recorded the person, joined by '; '")
    records: list[RecordLink]
    corroboration: str = Field(description="documentary, multiple-sources or single-source")


class RegisterOut(BaseModel):
    threshold: float = Field(description="the match probability at which two records are one person")
    review_band: list[float] = Field(description="pairs scored in [low, high) wait for a reviewer")
    lists: list[ListOut]
    persons: list[PersonSummary]
    linkage_run: int | None = Field(description="the linkage run the register was made from")
    total: int = Field(description="persons in the register (before the filters)")
    waiting: int = Field(description="pairs waiting for review")


class RecordOut(BaseModel):
    """One record, every field as its list gave it, and where it comes from (never a sealed value)."""

    sha256: str
    ref: str = Field(description="its first 12 hex digits")
    list_name: str
    source: str | None
    source_type: str
    origin: str = Field(description="import (a list file), entry (typed in) or claim (read from a text)")
    row: int
    item_sha256: str | None
    log_index: int = Field(description="the custody log entry that recorded it")
    sealed_fields: list[str] = Field(description="names of its sealed fields (their values are never shown)")
    supersedes: str | None = Field(description="the record it corrects")
    superseded_by: str | None = Field(description="the record that corrects it")
    full_name: str
    given_name: str
    patronymic: str
    surname: str
    sex: str | None
    age_min: int | None
    age_max: int | None
    birth_date: str | None = Field(description="ISO 8601, possibly partial: 1987, 1987-05")
    residence: str
    status: str
    event_date_start: str | None
    event_date_end: str | None
    event_place: str
    perpetrator: str
    list_record_id: str
    notes: str


class PersonOut(BaseModel):
    person: str
    names: list[str] = Field(description="the names the lists wrote, each once")
    statuses: list[str]
    lists: list[str]
    corroboration: str = Field(description="documentary, multiple-sources or single-source")
    corroboration_reason: str
    records: list[RecordOut]


class PairOut(BaseModel):
    """Two records the model cannot tell apart or together: its probability, weight and reasons."""

    a: RecordOut
    b: RecordOut
    probability: float = Field(description="the model's probability that they are the same person")
    match_weight: float = Field(description="log2 of the Bayes factor (Fellegi-Sunter)")
    reasons: list[str]
    decision: str | None = Field(description="same or different when reviewed; null when waiting")


class QueueOut(BaseModel):
    pairs: list[PairOut] = Field(description="the pairs waiting for review, most probable first (at most 200)")
    total: int
    review_band: list[float]


class ReviewIn(BaseModel):
    a: str = Field(min_length=6, max_length=71, description="one record: its SHA-256 or first digits (6 or more)")
    b: str = Field(min_length=6, max_length=71, description="the other record")
    decision: Literal["same", "different"]
    reason: Reason = None


class ReviewedOut(BaseModel):
    review_id: int
    log_index: int = Field(description="the review's custody log entry")
    decision: str
    a: str = Field(description="SHA-256 of one record (the smaller digest)")
    b: str = Field(description="SHA-256 of the other")


class PersonIn(BaseModel):
    """One list entry, read like a list file's row: values as the list writes them."""

    list_name: str = Field(min_length=1, max_length=MAX_LIST_NAME, description="the list it belongs to")
    source: Text | None = Field(default=None, description="who made the list")
    source_type: str = Field(default="other", max_length=32, description="family, hospital, morgue, ... other")
    full_name: Text = Field(default="", description="the name as written, any script")
    given_name: Text = ""
    patronymic: Text = ""
    surname: Text = ""
    sex: str = Field(default="", max_length=32, description="male, female, м, ж... or empty")
    age: str = Field(default="", max_length=64, description="34, 20-25, about 30, or empty")
    birth_date: str = Field(default="", max_length=64, description="1987, 1987-05, 1987-05-14, 14.05.1987")
    residence: Text = ""
    status: str = Field(default="killed", max_length=64, description="killed, injured, detained, ... or a synonym")
    event_date_start: str = Field(default="", max_length=64, description="the day, or the first of the interval")
    event_date_end: str = Field(default="", max_length=64, description="the last day of the interval")
    event_place: Text = ""
    perpetrator: Text = ""
    list_record_id: Text = Field(default="", description="the list's own id or row label")
    notes: Text = ""
    relative_contact: Text = Field(default="", description="sealed at once to the case's recipients; never returned")
    item: str | None = Field(default=None, max_length=71, description="the item it came from: SHA-256 or first digits")
    supersedes: str | None = Field(default=None, max_length=71, description="the record it corrects (digest prefix)")
    reason: Reason = None


class RecordedOut(BaseModel):
    record: str = Field(description="the new record's SHA-256")
    ref: str
    list_name: str
    log_index: int = Field(description="the custody log entry that recorded it")
    sealed_fields: list[str]


class EstimateOut(BaseModel):
    available: bool = Field(description="false when this version has no estimation module")
    error: str | None = Field(description="why the records allow no estimate, if they do not")
    estimate: dict[str, Any] | None = Field(
        description="official_count, documented_count and estimated_total (median, low, high) apart; lists, "
        "by_stratum, sensitivity (by linkage threshold), assumptions"
    )


def record_out(r: StoredRecord) -> RecordOut:
    ev = evidence(r)
    return RecordOut.model_validate(
        {
            "sha256": r.sha256,
            "ref": r.ref,
            "list_name": r.list_name,
            "source": r.source,
            "source_type": r.source_type,
            "origin": r.origin,
            "row": r.position,
            "item_sha256": r.item_sha256,
            "log_index": r.log_index,
            "sealed_fields": ev["sealed_fields"],
            "supersedes": r.supersedes,
            "superseded_by": r.superseded_by,
            **r.record.descriptive(),
        }
    )


# -- routes ----------------------------------------------------------------------------------------------


@router.get("/persons")
def list_persons(
    request: Request,
    who: Annotated[Caller, Depends(need(Permission.VIEW_REGISTER))],
    status: Status | None = None,
    list_name: Annotated[
        str | None, Query(alias="list", max_length=200, description="persons this list recorded")
    ] = None,
    corroboration: Literal["documentary", "multiple-sources", "single-source"] | None = None,
    q: Annotated[str | None, Query(max_length=500, description="words of their names, places or ids")] = None,
    threshold: Annotated[float | None, Query(ge=0, le=1, description="match probability for one person")] = None,
) -> RegisterOut:
    """The register: one entry per linked person with their records and lists (names included: team only)."""
    reg = register_of(_case(request), threshold)
    keep = {p.ref for p in matching(reg.persons, status=status, list_name=list_name, corroboration=corroboration, q=q)}
    doc = register_json(reg, redacted=False)
    doc["persons"] = [p for p in doc["persons"] if p["person"] in keep]
    return RegisterOut.model_validate({**doc, "total": len(reg.persons), "waiting": len(waiting(reg))})


@router.get("/persons/queue")
def review_queue(request: Request, who: Annotated[Caller, Depends(need(Permission.VIEW_REGISTER))]) -> QueueOut:
    """The pairs in the uncertain band that no one has reviewed yet, most probable first."""
    reg = register_of(_case(request))
    queue = waiting(reg)
    return QueueOut(
        pairs=[
            PairOut(
                a=record_out(q.a),
                b=record_out(q.b),
                probability=q.probability,
                match_weight=q.match_weight,
                reasons=list(q.reasons),
                decision=q.decision,
            )
            for q in queue[:PAGE]
        ],
        total=len(queue),
        review_band=[reg.lower, reg.upper],
    )


class ProposalOut(BaseModel):
    """A record the claims suggest: a person named where a text tells of a killing or an arrest."""

    claim_id: int = Field(description="the claim that names the person (accept it with POST .../proposals/<id>)")
    event_claim_id: int = Field(description="the event claim in the same sentence")
    item_sha256: str = Field(description="the text item it was read from")
    name: str = Field(description="the name as the text wrote it")
    status: str = Field(description="killed or detained, from the event")
    event_date_start: str | None
    event_date_end: str | None
    event_place: str


class ProposalsOut(BaseModel):
    proposals: list[ProposalOut]
    total: int


class AcceptIn(BaseModel):
    list_name: str = Field(default="named in texts", min_length=1, max_length=MAX_LIST_NAME)
    reason: str | None = Field(default=None, max_length=MAX_REASON)


@router.get("/persons/proposals")
def get_proposals(request: Request, who: Annotated[Caller, Depends(need(Permission.RECORD_PERSONS))]) -> ProposalsOut:
    """People named in texts where a killing or an arrest is told, not yet accepted as records."""
    from factfinder.findings.persons import proposals

    found = proposals.proposals(_case(request))
    return ProposalsOut(
        proposals=[
            ProposalOut(
                claim_id=p.claim_id,
                event_claim_id=p.event_claim_id,
                item_sha256=p.item_sha256,
                name=p.record.display_name(),
                status=p.record.status,
                event_date_start=p.record.event_date_start,
                event_date_end=p.record.event_date_end,
                event_place=p.record.event_place,
            )
            for p in found[:PAGE]
        ],
        total=len(found),
    )


@router.post("/persons/proposals/{claim_id}", status_code=201)
async def accept_proposal(
    request: Request,
    claim_id: Annotated[int, Path(ge=1, le=2**62)],
    body: AcceptIn,
    who: Annotated[Caller, Depends(need(Permission.RECORD_PERSONS))],
) -> RecordedOut:
    """Make a proposal a record, kept with its claim and item: one custody entry."""
    from factfinder.findings.persons import proposals

    await _csrf(request, who)
    try:
        stored = await run_in_threadpool(
            proposals.accept,
            _case(request),
            claim_id,
            actor=_actor(who),
            list_name=clean(body.list_name),
            reason=clean(body.reason) or None if body.reason else None,
        )
    except VaultError as exc:
        raise HTTPException(400, str(exc)) from exc
    return RecordedOut(
        record=stored.sha256,
        ref=stored.ref,
        list_name=stored.list_name,
        log_index=stored.log_index,
        sealed_fields=list(stored.sealed_fields),
    )


@router.get("/persons/{ref}")
def get_person(
    request: Request, ref: Ref, who: Annotated[Caller, Depends(need(Permission.VIEW_REGISTER))]
) -> PersonOut:
    """One person (by P- name or a record's digest prefix): every record that is them, in full."""
    case = _case(request)
    p = person_or_404(case, register_of(case), ref)
    return PersonOut(
        person=p.ref,
        names=list(dict.fromkeys(r.record.display_name() for r in p.records)),
        statuses=list(p.statuses),
        lists=list(p.lists),
        corroboration=p.corroboration,
        corroboration_reason=p.corroboration_reason,
        records=[record_out(r) for r in p.records],
    )


@router.post("/persons/review", status_code=201)
async def review_pair(
    request: Request, body: ReviewIn, who: Annotated[Caller, Depends(need(Permission.REVIEW_LINKS))]
) -> ReviewedOut:
    """Decide that two records are the same person, or different people: one custody entry."""
    await _csrf(request, who)
    case = _case(request)
    try:
        reason = clean(body.reason) or None
        review_id = await run_in_threadpool(
            store.review, case, clean(body.a), clean(body.b), body.decision, actor=_actor(who), reason=reason
        )
    except PersonsError as exc:
        raise HTTPException(400, str(exc)) from exc
    notice = review_notice(case, review_id)
    assert notice is not None  # written just now
    return ReviewedOut(
        review_id=review_id, log_index=notice["log_index"], decision=notice["decision"], a=notice["a"], b=notice["b"]
    )


@router.post("/persons", status_code=201)
async def add_person(
    request: Request, body: PersonIn, who: Annotated[Caller, Depends(need(Permission.RECORD_PERSONS))]
) -> RecordedOut:
    """Record one list entry (the relative's contact sealed at once): one custody entry."""
    await _csrf(request, who)
    case = _case(request)
    try:
        entry = entry_from(body.model_dump())
        stored = await run_in_threadpool(add_entry, case, entry, actor=_actor(who))
    except VaultError as exc:
        raise HTTPException(400, str(exc)) from exc
    return RecordedOut(
        record=stored.sha256,
        ref=stored.ref,
        list_name=stored.list_name,
        log_index=stored.log_index,
        sealed_fields=list(stored.sealed_fields),
    )


@router.get("/estimate")
async def get_estimate(
    request: Request,
    who: Annotated[Caller, Depends(need(Permission.VIEW_REGISTER))],
    what: Status = "killed",
    strata: Annotated[list[Literal["sex", "age", "place"]] | None, Query(max_length=3)] = None,
    official: Annotated[int | None, Query(ge=0, le=10**9, description="the official count, if not the case's")] = None,
) -> EstimateOut:
    """The official count, the documented count and the estimated total with its interval, given apart."""
    try:
        result = await run_in_threadpool(
            estimate, _case(request), what=what, strata=list(dict.fromkeys(strata or [])), official=official
        )
    except PersonsError as exc:
        raise HTTPException(400, str(exc)) from exc
    return EstimateOut(available=result.available, error=result.error, estimate=result.report)
