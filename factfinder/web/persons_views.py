"""What the register pages and API show: the register, one person, a pair to review, an entry form, the estimate.

The register (``factfinder.findings.persons.store.register``) names victims from
lists that families, hospitals and lawyers gave the team, so only callers with
``view-register`` (analysts, investigators) reach any of this, and they see
names. What they never see is a sealed field's value (a relative's phone
number): a stored record carries only the names of its sealed fields, and the
entry form does not echo a sealed value back when it refuses a record.

The register is made from the records and the reviewers' decisions, both
custody entries, so it is kept here while the custody log has not grown: a page
view does not cluster the records again. Entering a record and reviewing a pair
go through ``store`` (one custody entry each), in a worker thread.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException
from sqlalchemy import select

from factfinder.db import engine as dbengine
from factfinder.db.models import Item, PersonBatch, PersonLinkReview, PersonList
from factfinder.findings.persons import store
from factfinder.findings.persons.lists import MAPPABLE, MAX_FIELD, record_from_row
from factfinder.findings.persons.model import DESCRIPTIVE_FIELDS, STATUSES, PersonRecord
from factfinder.findings.persons.store import (
    PersonsError,
    Register,
    RegisterPerson,
    ReviewPair,
    StoredRecord,
)
from factfinder.reports.registerexport import person_row
from factfinder.vault.case import Case
from factfinder.vault.errors import VaultError

CORROBORATION: tuple[str, ...] = ("documentary", "multiple-sources", "single-source")
CORROBORATION_LABELS = {
    "documentary": "Documentary",
    "multiple-sources": "Multiple sources",
    "single-source": "Single source",
}
STRATA: tuple[str, ...] = ("sex", "age", "place")
FIELD_LABELS: dict[str, str] = {
    "full_name": "Full name",
    "given_name": "Given name",
    "patronymic": "Patronymic",
    "surname": "Surname",
    "sex": "Sex",
    "age_min": "Age (youngest)",
    "age_max": "Age (oldest)",
    "birth_date": "Born",
    "residence": "Residence",
    "status": "Status",
    "event_date_start": "Event from",
    "event_date_end": "Event to",
    "event_place": "Event place",
    "perpetrator": "Perpetrator",
    "list_record_id": "List's own id",
    "notes": "Notes",
}
SHOWN_FIELDS: tuple[str, ...] = (*DESCRIPTIVE_FIELDS, "notes")
PAGE = 200
SEALED_ON_FORM: tuple[str, ...] = ("relative_contact",)
"""The sealed fields the entry form offers (the others come with imported lists)."""
FORM_FIELDS: tuple[str, ...] = (
    "full_name",
    "given_name",
    "patronymic",
    "surname",
    "sex",
    "age",
    "birth_date",
    "residence",
    "status",
    "event_date_start",
    "event_date_end",
    "event_place",
    "perpetrator",
    "list_record_id",
    "notes",
)
"""The record's fields on the entry form (and in the API's body), read by ``lists.record_from_row``."""


def ref_ok(ref: str) -> bool:
    """Whether ``ref`` looks like a person (P- and hex digits) or a record (6 hex digits or more)."""
    body = ref[2:] if ref.startswith("P-") else ref
    return len(body) >= 6 and all(c in "0123456789abcdef" for c in body)


# -- the register, kept while the custody log has not grown ----------------------------------------

_MEMO: OrderedDict[tuple[int, int, float | None], tuple[Case, Register]] = OrderedDict()
_ESTIMATES: OrderedDict[tuple[Any, ...], tuple[Case, tuple[Any, dict[str, Any]]]] = OrderedDict()
_LOCK = threading.Lock()
_MEMO_SIZE = 8


def log_size(case: Case) -> int:
    with dbengine.snapshot(case.engine) as conn:
        return int(case.log.size(conn))


def _remember(
    memo: OrderedDict[Any, tuple[Case, Any]], key: tuple[Any, ...], case: Case, make: Callable[[], Any]
) -> Any:
    """``make()``, kept under ``key`` (which starts with the case's id and its log size); the case object is held
    with the result, so its id cannot be reused while it is here."""
    with _LOCK:
        hit = memo.get(key)
        if hit is not None and hit[0] is case:
            memo.move_to_end(key)
            return hit[1]
    value = make()
    with _LOCK:
        memo[key] = (case, value)
        while len(memo) > _MEMO_SIZE:
            memo.popitem(last=False)
    return value


def register_of(case: Case, threshold: float | None = None) -> Register:
    """The register now (every change to it is a custody entry, so it is made again only after one)."""
    reg: Register = _remember(
        _MEMO, (id(case), log_size(case), threshold), case, lambda: store.register(case, threshold=threshold)
    )
    return reg


def person_or_404(case: Case, reg: Register, ref: str) -> RegisterPerson:
    """The person named by ``ref``: their P- name, one of their records, or a P- name they had before (the name
    of a person follows their first record, so a merge can change it) or a corrected record of theirs."""
    ref = ref.strip().lower().replace("p-", "P-", 1)
    if not ref_ok(ref):
        raise HTTPException(404, f"no person {ref[:40]!r} (persons are named like P-3fa9c2d1e0)")
    for p in reg.persons:
        if p.ref == ref:
            return p
    digits = ref[2:] if ref.startswith("P-") else ref
    try:
        rec: StoredRecord | None = store.record(case, digits)
    except PersonsError:
        rec = None
    seen: set[str] = set()
    while rec is not None and rec.superseded_by is not None and rec.sha256 not in seen:
        seen.add(rec.sha256)
        try:
            rec = store.record(case, rec.superseded_by)
        except PersonsError:
            rec = None
    if rec is not None:
        for p in reg.persons:
            if any(r.id == rec.id for r in p.records):
                return p
    raise HTTPException(404, f"no person {ref[:40]!r} (persons are named like P-3fa9c2d1e0)")


# -- words ---------------------------------------------------------------------------------------------


def value_text(value: Any) -> str:
    return "—" if value is None or value == "" else str(value)


def names_of(p: RegisterPerson) -> list[str]:
    """The person's names as the lists wrote them, each once, in record order."""
    return list(dict.fromkeys(r.record.display_name() for r in p.records))


# -- the register page -------------------------------------------------------------------------------


def person_summary(p: RegisterPerson) -> dict[str, Any]:
    row = person_row(p, redacted=False)
    age = ""
    if row["age_min"] != "" or row["age_max"] != "":
        age = str(row["age_min"]) if row["age_min"] == row["age_max"] else f"{row['age_min']}–{row['age_max']}"
    return {
        "ref": p.ref,
        "names": names_of(p),
        "statuses": list(p.statuses),
        "sex": row["sex"],
        "age": age,
        "lists": list(p.lists),
        "records": len(p.records),
        "corroboration": p.corroboration,
        "corroboration_text": CORROBORATION_LABELS.get(p.corroboration, p.corroboration),
        "corroboration_reason": p.corroboration_reason,
    }


def matching(
    persons: Iterable[RegisterPerson],
    *,
    status: str | None = None,
    list_name: str | None = None,
    corroboration: str | None = None,
    q: str | None = None,
) -> list[RegisterPerson]:
    """The persons a register's filters keep: a status, a list, a corroboration level, and all the words (in their
    names, places, residence, perpetrators or the lists' own ids), case-insensitively."""
    words = (q or "").casefold().split()
    out = []
    for p in persons:
        if status and status not in p.statuses:
            continue
        if list_name and list_name not in p.lists:
            continue
        if corroboration and p.corroboration != corroboration:
            continue
        if words:
            parts = [p.ref]
            for r in p.records:
                rec = r.record
                parts += [
                    rec.display_name(),
                    rec.given_name,
                    rec.patronymic,
                    rec.surname,
                    rec.residence,
                    rec.event_place,
                    rec.perpetrator,
                    rec.list_record_id,
                    r.sha256,
                ]
            haystack = " ".join(parts).casefold()
            if not all(w in haystack for w in words):
                continue
        out.append(p)
    return out


def check_filters(status: str | None, corroboration: str | None) -> None:
    if status is not None and status not in STATUSES:
        raise HTTPException(400, f"status: one of {', '.join(STATUSES)}")
    if corroboration is not None and corroboration not in CORROBORATION:
        raise HTTPException(400, f"corroboration: one of {', '.join(CORROBORATION)}")


def waiting(reg: Register) -> list[ReviewPair]:
    """The pairs in the uncertain band that no one has reviewed, most probable first."""
    return sorted((q for q in reg.queue if q.decision is None), key=lambda q: -q.probability)


def register_counts(reg: Register) -> dict[str, Any]:
    return {
        "persons": len(reg.persons),
        "records": sum(len(p.records) for p in reg.persons),
        "lists": len(reg.lists),
        "statuses": {s: sum(1 for p in reg.persons if s in p.statuses) for s in STATUSES},
        "corroboration": {c: sum(1 for p in reg.persons if p.corroboration == c) for c in CORROBORATION},
        "waiting": len(waiting(reg)),
        "reviewed": sum(1 for q in reg.queue if q.decision is not None),
    }


# -- records side by side ---------------------------------------------------------------------------------


def evidence(r: StoredRecord) -> dict[str, Any]:
    """Where a record comes from: its list, the list's source, its row, the item, the custody entry."""
    return {
        "ref": r.ref,
        "sha256": r.sha256,
        "name": r.record.display_name(),
        "list": r.list_name,
        "source": r.source,
        "source_type": r.source_type,
        "origin": r.origin,
        "row": r.position,
        "item_sha256": r.item_sha256,
        "log_index": r.log_index,
        "sealed_fields": list(r.sealed_fields),
        "supersedes": r.supersedes,
        "superseded_by": r.superseded_by,
        "claim_id": r.claim_id,
    }


def field_rows(records: Sequence[StoredRecord]) -> list[dict[str, Any]]:
    """One row per field, one value per record, and whether the records disagree on it (empty values aside)."""
    rows = []
    for name in SHOWN_FIELDS:
        values = [getattr(r.record, name) for r in records]
        present = {str(v).casefold().strip() for v in values if v not in (None, "")}
        rows.append(
            {
                "field": name,
                "label": FIELD_LABELS.get(name, name),
                "values": [value_text(v) for v in values],
                "differs": len(present) > 1,
                "missing": [v in (None, "") for v in values],
            }
        )
    return rows


def person_view(p: RegisterPerson) -> dict[str, Any]:
    return {
        "person": p,
        "summary": person_summary(p),
        "records": [evidence(r) for r in p.records],
        "fields": field_rows(p.records),
    }


def pair_view(pair: ReviewPair, reg: Register) -> dict[str, Any]:
    """Two records side by side with the model's view, and the next pair waiting after this one."""
    queue = waiting(reg)
    key = {pair.a.sha256, pair.b.sha256}
    after = [q for q in queue if {q.a.sha256, q.b.sha256} != key]
    position = next((i for i, q in enumerate(queue) if {q.a.sha256, q.b.sha256} == key), None)
    following = queue[position + 1] if position is not None and position + 1 < len(queue) else None
    nxt = following or (after[0] if after else None)
    same_person = next(
        (p.ref for p in reg.persons if {pair.a.id, pair.b.id} <= {r.id for r in p.records}),
        None,
    )
    return {
        "a": evidence(pair.a),
        "b": evidence(pair.b),
        "fields": field_rows([pair.a, pair.b]),
        "probability": pair.probability,
        "match_weight": pair.match_weight,
        "reasons": list(pair.reasons),
        "decision": pair.decision,
        "in_band": reg.lower <= pair.probability < reg.upper,
        "lower": reg.lower,
        "upper": reg.upper,
        "linked_as": same_person,
        "next": pair_href(nxt) if nxt is not None else None,
        "waiting": len(queue),
    }


def pair_href(q: ReviewPair) -> str:
    return f"/persons/review/{q.a.sha256}/{q.b.sha256}"


def queue_row(q: ReviewPair) -> dict[str, Any]:
    return {
        "href": pair_href(q),
        "probability": q.probability,
        "match_weight": q.match_weight,
        "reasons": list(q.reasons),
        "a": evidence(q.a),
        "b": evidence(q.b),
    }


def review_notice(case: Case, review_id: int | None) -> dict[str, Any] | None:
    """What to say after a review: the decision and its custody log entry."""
    if review_id is None:
        return None
    with dbengine.snapshot(case.engine) as conn:
        row = conn.execute(
            select(
                PersonLinkReview.decision,
                PersonLinkReview.log_index,
                PersonLinkReview.record_a,
                PersonLinkReview.record_b,
            ).where(PersonLinkReview.id == review_id)
        ).first()
    if row is None:
        return None
    decision, log_index, a, b = row
    return {"decision": decision, "log_index": int(log_index), "a": a, "b": b}


def next_after_review(case: Case, review_id: int) -> str:
    """Where a reviewer goes after a decision: the most probable pair still waiting, else the queue."""
    queue = waiting(register_of(case))
    if queue:
        return f"{pair_href(queue[0])}?reviewed={review_id}"
    return f"/persons/review?reviewed={review_id}"


# -- entering and importing records -----------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One record as a form or a JSON body gives it, read as a list's row is."""

    record: PersonRecord
    list_name: str
    source: str | None
    source_type: str
    item: str | None
    supersedes: str | None
    reason: str | None


def clean(value: Any) -> str:
    """A form's or a body's string, trimmed; one that UTF-8 cannot hold (a lone surrogate from JSON) is refused."""
    if not isinstance(value, str):
        return ""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PersonsError("a value holds a character that is not text (a lone UTF-16 surrogate)") from None
    return value.strip()


def entry_from(values: Mapping[str, Any]) -> Entry:
    """A record from the entry form's (or the API's) values, read with the list parsers; raises PersonsError."""
    row = {name: clean(values.get(name)) for name in (*FORM_FIELDS, *SEALED_ON_FORM)}
    for name, value in row.items():
        if len(value) > MAX_FIELD:
            raise PersonsError(f"{name}: longer than {MAX_FIELD:,} characters")
    mapping = {name: name for name in row if name in MAPPABLE}
    try:
        record = record_from_row(row, mapping, default_status="killed")
    except ValueError as exc:
        raise PersonsError(str(exc)) from None
    return Entry(
        record=record,
        list_name=clean(values.get("list_name")),
        source=clean(values.get("source")) or None,
        source_type=clean(values.get("source_type")) or "other",
        item=clean(values.get("item")) or None,
        supersedes=clean(values.get("supersedes")) or None,
        reason=clean(values.get("reason")) or None,
    )


def add_entry(case: Case, entry: Entry, *, actor: str) -> StoredRecord:
    return store.add_record(
        case,
        entry.record,
        list_name=entry.list_name,
        source=entry.source,
        source_type=entry.source_type,
        actor=actor,
        item_ref=entry.item,
        supersedes=entry.supersedes,
        reason=entry.reason,
    )


def form_values_of(r: StoredRecord) -> dict[str, str]:
    """A stored record as the entry form's values (to correct it): never its sealed fields."""
    rec = r.record
    ages = [a for a in (rec.age_min, rec.age_max) if a is not None]
    age = "" if not ages else str(ages[0]) if min(ages) == max(ages) else f"{min(ages)}-{max(ages)}"
    values = {name: clean(getattr(rec, name, "")) for name in FORM_FIELDS if name not in ("age",)}
    values.update(
        {
            "age": age,
            "sex": rec.sex or "",
            "birth_date": rec.birth_date or "",
            "event_date_start": rec.event_date_start or "",
            "event_date_end": rec.event_date_end or "",
            "list_name": r.list_name,
            "source": r.source or "",
            "source_type": r.source_type,
            "item": r.item_sha256 or "",
            "supersedes": r.sha256,
        }
    )
    return values


def read_mapping_lines(text: str) -> dict[str, str] | None:
    """``field=Column`` lines (blank lines skipped) as a mapping, or None when there are none."""
    from factfinder.findings.persons.lists import ListError, read_mapping

    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return None
    try:
        return read_mapping(lines)
    except ListError as exc:
        raise PersonsError(str(exc)) from None


def recorded_notice(case: Case, ref: str | None) -> dict[str, Any] | None:
    if not ref or not ref_ok(ref):
        return None
    try:
        r = store.record(case, ref)
    except PersonsError:
        return None
    return {
        "ref": r.ref,
        "sha256": r.sha256,
        "name": r.record.display_name(),
        "list": r.list_name,
        "log_index": r.log_index,
        "sealed_fields": list(r.sealed_fields),
        "record": r,
    }


def imported_notice(case: Case, log_index: int | None) -> dict[str, Any] | None:
    """What an import added (after the redirect): the list, how many records, the columns used and those not."""
    if log_index is None:
        return None
    with dbengine.snapshot(case.engine) as conn:
        row = conn.execute(
            select(PersonBatch.count, PersonBatch.mapping, PersonList.name, Item.sha256)
            .join(PersonList, PersonList.id == PersonBatch.list_id)
            .outerjoin(Item, Item.id == PersonBatch.item_id)
            .where(PersonBatch.log_index == log_index, PersonBatch.origin == "import")
        ).first()
    if row is None:
        return None
    count, mapping_text, list_name, item_sha = row
    mapping: dict[str, str] = json.loads(mapping_text) if mapping_text else {}
    return {
        "records": int(count),
        "list": list_name,
        "log_index": log_index,
        "item_sha256": item_sha,
        "mapping": sorted(mapping.items()),
        "ignored": _ignored_columns(case, item_sha, mapping),
    }


def _ignored_columns(case: Case, item_sha: str | None, mapping: Mapping[str, str]) -> list[str]:
    """The columns of an imported file that no field was read from (read from its header row only)."""
    if item_sha is None or not case.blobs.exists(item_sha):
        return []
    with case.blobs.open(item_sha) as fh:
        head = fh.read(1 << 16)
    text = head.decode("utf-8-sig", errors="replace")
    try:
        delimiter = csv.Sniffer().sniff(text[:8192], delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    try:
        headers = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])
    except csv.Error:
        return []
    used = set(mapping.values())
    return [h for h in headers if h and h not in used]


# -- the estimate ------------------------------------------------------------------------------------------


def _estimate_module() -> Any | None:
    for name in ("factfinder.findings.persons.estimate", "factfinder.findings.persons.casestimate"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(module, "estimate_case"):
            return module
    return None


@dataclass
class EstimateResult:
    available: bool
    report: dict[str, Any] | None = None
    error: str | None = None


def estimate(
    case: Case, *, what: str, strata: Sequence[str], official: int | None, method: str = "both", seed: int = 1
) -> EstimateResult:
    """The case's estimate for ``what`` as ``estimate_case(...).to_dict()``; not available when this version has no
    estimation module, an error when the records allow none.

    Kept while the custody log has not grown and, when the official count comes from the case's findings, while
    those are the same (claims read from new texts are not log entries, and may give a new official figure)."""
    if what not in STATUSES:
        raise PersonsError(f"what: one of {', '.join(STATUSES)}")
    bad = [s for s in strata if s not in STRATA]
    if bad:
        raise PersonsError(f"strata: any of {', '.join(STRATA)}")
    module = _estimate_module()
    if module is None:
        return EstimateResult(False)
    from factfinder.findings import store as findings_store

    basis = findings_store.findings(case) if official is None else None  # the same object until they change
    key = (id(case), log_size(case), id(basis), what, tuple(strata), official, method, seed)

    def make() -> tuple[Any, dict[str, Any]]:
        report = module.estimate_case(
            case, what=what, strata=list(strata), method=method, seed=seed, official=official, sensitivity=True
        )
        return basis, report.to_dict()

    try:
        held, doc = _remember(_ESTIMATES, key, case, make)
        if held is not basis:  # another findings object now has the old one's id: made again
            with _LOCK:
                _ESTIMATES.pop(key, None)
            held, doc = _remember(_ESTIMATES, key, case, make)
    except (VaultError, ValueError, ArithmeticError) as exc:
        return EstimateResult(True, None, str(exc))
    return EstimateResult(True, doc)


def _num(value: Any, digits: int = 0) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, (int, float)):
        return f"{value:,.{digits}f}".replace(",", "\u202f")
    return str(value)


def estimate_view(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The estimate's figures for the panel: three apart, per-list coverage, the sensitivity table."""
    total = doc.get("estimated_total") or None
    median = total.get("median") if isinstance(total, Mapping) else None
    documented = doc.get("documented_count")
    lists = []
    for x in doc.get("lists") or []:
        recorded = x.get("recorded")
        lists.append(
            {
                "name": x.get("name", ""),
                "source_type": x.get("source_type", ""),
                "recorded": _num(recorded),
                "of_documented": _share(recorded, documented),
                "of_estimated": _share(recorded, median),
            }
        )
    strata = []
    for s in doc.get("by_stratum") or []:
        est = s.get("estimate") if isinstance(s.get("estimate"), Mapping) else None
        strata.append(
            {
                "stratum": s.get("stratum", ""),
                "documented": _num(s.get("documented")),
                "note": s.get("note") or "",
                "estimate": json.dumps(est, ensure_ascii=False, indent=1, default=str) if est else None,
            }
        )
    sensitivity = [
        {
            "threshold": r.get("threshold"),
            "documented": _num(r.get("documented")),
            "median": _num(r.get("median")),
            "interval": (
                f"{_num(r.get('low'))} – {_num(r.get('high'))}"
                if r.get("low") is not None and r.get("high") is not None
                else ""
            ),
            "note": r.get("note") or "",
        }
        for r in doc.get("sensitivity") or []
    ]
    return {
        "what": doc.get("what"),
        "official": _num(doc.get("official_count")),
        "official_given": doc.get("official_count") is not None,
        "official_source": doc.get("official_source") or "",
        "documented": _num(documented),
        "estimated": _num(median) if median is not None else None,
        "low": _num(total.get("low")) if isinstance(total, Mapping) else None,
        "high": _num(total.get("high")) if isinstance(total, Mapping) else None,
        "threshold": doc.get("linkage_threshold"),
        "assumptions": [str(a) for a in doc.get("assumptions") or []],
        "lists": lists,
        "strata": strata,
        "sensitivity": sensitivity,
        "settings": doc.get("settings") or {},
    }


def _share(part: Any, whole: Any) -> str:
    if not isinstance(part, (int, float)) or not isinstance(whole, (int, float)) or whole <= 0:
        return "—"
    return f"{100 * part / whole:.0f}%"
