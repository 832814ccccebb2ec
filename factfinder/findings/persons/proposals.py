"""Person records proposed from the claims read from texts: "Erlan Zhumabaev, 34, was shot dead".

A testimony or an article that names a victim is evidence of that person as
much as a list row is, but the text stage reads sentences, not people, and it
can be wrong about who the victim was. So a named person becomes a record only
when an analyst accepts the proposal (``factfinder persons propose --accept``),
and the record keeps the claim it came from.

A proposal is made for a person named (an actor claim with the role "person",
not state forces) in the same sentence as an event claim that kills or
arrests: killed when the event's cues are lethal, detained when it is an
arrest. Negated, hedged-future and rejected claims propose nothing; a claim
already accepted is not proposed again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from factfinder.db.models import PersonRecordRow
from factfinder.findings.persons import store
from factfinder.findings.persons.model import PersonRecord
from factfinder.text import store as text_store
from factfinder.vault.case import Case

STATE_FORCES = 1  # ACLED inter code of state forces: the police are not the victims of their own shooting
MAX_CLAIMS = 1_000_000
CLAIMS_LIST = "named in texts"


@dataclass(frozen=True)
class Proposal:
    """A record the claims suggest, with the claim that names the person and the event claim."""

    claim_id: int
    event_claim_id: int
    item_sha256: str
    quote: str
    record: PersonRecord


def _status(event: dict[str, Any]) -> str | None:
    cues = event.get("cues") or []
    if isinstance(cues, list) and "lethal" in cues:
        return "killed"
    if event.get("sub_event_type") == "Arrests" or event.get("event_type") == "Arrests":
        return "detained"
    return None


def proposals(case: Case) -> list[Proposal]:
    """Records the case's claims suggest and no analyst has accepted yet, in text order."""
    claims = [
        c
        for c in text_store.list_claims(case, limit=MAX_CLAIMS)
        if c.decision != "rejected" and not c.body.get("negated") and not c.body.get("future")
    ]
    with Session(case.engine) as s:
        taken = set(s.scalars(select(PersonRecordRow.claim_id).where(PersonRecordRow.claim_id.isnot(None))))
    events: dict[tuple[int, tuple[Any, ...]], dict[str, Any]] = {}
    event_ids: dict[tuple[int, tuple[Any, ...]], int] = {}
    for c in claims:
        if c.kind == "event" and _status(c.body) is not None:
            key = (c.item_id, tuple(c.body["sentence"]))
            events.setdefault(key, c.body)
            event_ids.setdefault(key, c.id)
    out = []
    for c in claims:
        if c.kind != "actor" or c.body.get("role") != "person" or c.body.get("acled_type") == STATE_FORCES:
            continue
        if c.id in taken:
            continue
        key = (c.item_id, tuple(c.body["sentence"]))
        event = events.get(key)
        if event is None:
            continue
        when = event.get("date") if isinstance(event.get("date"), dict) else None
        where = event.get("place") if isinstance(event.get("place"), dict) else None
        record = PersonRecord(
            full_name=str(c.body.get("quote") or c.body.get("actor") or ""),
            status="killed" if _status(event) == "killed" else "detained",
            event_date_start=str(when["earliest"]) if when else None,
            event_date_end=str(when["latest"]) if when else None,
            event_place=str(where["name"]) if where else "",
            notes=f"named in a text: claim {c.id}",
        )
        out.append(Proposal(c.id, event_ids[key], c.item_sha256, str(c.body.get("quote", "")), record))
    return out


def accept(
    case: Case, claim_id: int, *, actor: str, list_name: str = CLAIMS_LIST, reason: str | None = None
) -> store.StoredRecord:
    """Make the proposal of ``claim_id`` a person record (a ``persons.recorded`` custody entry)."""
    found = next((p for p in proposals(case) if p.claim_id == claim_id), None)
    if found is None:
        raise store.PersonsError(f"claim {claim_id} proposes no person (or its record was already made)")
    return store.add_record(
        case,
        found.record,
        list_name=list_name,
        source="claims read from the case's texts",
        source_type="other",
        actor=actor,
        item_ref=found.item_sha256,
        claim_id=claim_id,
        reason=reason,
    )
