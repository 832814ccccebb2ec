"""Person records in the case: imported lists, entered records, reviewed links, and the register made from them.

Every change is a custody entry:

- ``persons.recorded``: a batch of records (an imported list file, one entry
  in the web app, a record accepted from a claim). The entry names the list,
  the item the records came from, the SHA-256 of the batch's record digests in
  order and the SHA-256 of their sealed fields, so ``verify`` notices a record
  edited, added or dropped behind the vault's back. An imported file is itself
  added to the vault first, as evidence.
- ``persons.reviewed``: a reviewer's decision that two records are, or are
  not, the same person, naming both by digest and the SHA-256 of the reason.

The register is derived: linkage runs on the records (``linkage.link``), is
kept as a run tied to the digest of the records it saw, and the clusters are
made from its pairs at the register's threshold with the reviewers'
decisions on top (a "same" joins, a "different" keeps apart, whatever the
model says). Pairs whose probability lies in the uncertain band and that no
one has reviewed are the review queue.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from factfinder.db import engine as dbengine
from factfinder.db.models import (
    Item,
    PersonBatch,
    PersonLinkReview,
    PersonLinkRun,
    PersonList,
    PersonPair,
    PersonProtected,
    PersonRecordRow,
)
from factfinder.findings.persons.lists import ListError, parse_csv
from factfinder.findings.persons.model import PROTECTED_PERSON_FIELDS, PersonRecord
from factfinder.text.store import LIST_CHANNEL
from factfinder.vault import custody, sealing
from factfinder.vault.case import Case, NewReceipt
from factfinder.vault.errors import VaultError

if TYPE_CHECKING:  # splink, DuckDB and pandas load in about a second: only the commands that link pay for it
    from factfinder.findings.persons import linkage

SOURCE_TYPES: tuple[str, ...] = (
    "family",
    "hospital",
    "morgue",
    "forensic",
    "lawyer",
    "ngo",
    "journalist",
    "official",
    "other",
)
# Lists whose entries rest on a body or a document (a morgue register, a hospital admission book, a
# forensic report): a person on one of them is documented, not only reported.
DOCUMENTARY: frozenset[str] = frozenset({"hospital", "morgue", "forensic"})
ORIGINS = ("import", "entry", "claim")
DECISIONS = ("same", "different")
MAX_REASON = 4000
MAX_LIST_NAME = 200
STEP = "persons.linkage/1"


class PersonsError(VaultError):
    """A person-register action that cannot be done as asked (an unknown record, a bad list name...)."""


@dataclass(frozen=True)
class StoredRecord:
    """A record as the case holds it, with where it came from."""

    id: int
    sha256: str
    list_name: str
    source: str | None
    source_type: str
    position: int
    origin: str
    item_sha256: str | None
    record: PersonRecord
    sealed_fields: tuple[str, ...] = ()
    supersedes: str | None = None
    superseded_by: str | None = None
    claim_id: int | None = None
    log_index: int = 0

    @property
    def ref(self) -> str:
        return self.sha256[:12]


@dataclass(frozen=True)
class ListInfo:
    name: str
    source: str | None
    source_type: str
    records: int


@dataclass(frozen=True)
class BatchResult:
    """What one ``persons.recorded`` entry added."""

    list_name: str
    records: int
    log_index: int
    item_sha256: str | None
    mapping: dict[str, str]
    ignored_columns: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ReviewPair:
    """A pair of records for a reviewer: the model's view and any decision already made."""

    a: StoredRecord
    b: StoredRecord
    probability: float
    match_weight: float
    reasons: list[str]
    decision: str | None = None


@dataclass
class RegisterPerson:
    """One linked person: all the records that are them, the lists that recorded them, how well it stands."""

    ref: str
    records: list[StoredRecord]
    lists: list[str]
    statuses: list[str]
    corroboration: str  # documentary, multiple-sources, single-source
    corroboration_reason: str

    @property
    def name(self) -> str:
        return self.records[0].record.display_name()


@dataclass
class Register:
    persons: list[RegisterPerson]
    queue: list[ReviewPair]
    threshold: float
    lower: float
    upper: float
    run_id: int | None
    parameters: dict[str, Any]
    lists: list[ListInfo]

    def person(self, ref: str) -> RegisterPerson | None:
        for p in self.persons:
            if p.ref == ref or any(r.sha256.startswith(ref) for r in p.records):
                return p
        return None


# ---- adding records -----------------------------------------------------------------


def _check_list(name: str, source_type: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise PersonsError("a list needs a name (--list)")
    if len(name) > MAX_LIST_NAME:
        raise PersonsError(f"a list name is at most {MAX_LIST_NAME} characters")
    if source_type not in SOURCE_TYPES:
        raise PersonsError(f"source type {source_type!r}: one of {', '.join(SOURCE_TYPES)}")
    return name


def _check_list_type(case: Case, list_name: str, source_type: str) -> None:
    """A list keeps the source type it was created with (``_write_batch`` checks again, under the lock)."""
    with Session(case.engine) as s:
        existing = s.scalars(select(PersonList.source_type).where(PersonList.name == list_name)).first()
    if existing is not None and existing != source_type:
        raise PersonsError(f"list {list_name!r} is a {existing} list, not {source_type}")


def _reason_digest(reason: str | None) -> str | None:
    """What a custody entry names of a reason: its SHA-256 (the words stay in the case's database)."""
    return hashlib.sha256(reason.encode()).hexdigest() if reason is not None else None


def _reason(reason: str | None) -> str | None:
    reason = reason.strip() if reason and reason.strip() else None
    if reason is not None and len(reason) > MAX_REASON:
        raise PersonsError(f"the reason is longer than {MAX_REASON:,} characters")
    return reason


def import_list(
    case: Case,
    data: bytes,
    *,
    list_name: str,
    source: str | None,
    source_type: str,
    actor: str,
    mapping: dict[str, str] | None = None,
    original_name: str | None = None,
    default_status: str = "killed",
) -> BatchResult:
    """Add a list file to the vault and its rows to the register, all or nothing.

    The file is read completely before anything is written: a row that
    cannot be read stops the import with its row number, and the case is
    left as it was. Importing the same file into the same list twice is
    refused (the records would count twice in the overlap)."""
    list_name = _check_list(list_name, source_type)
    try:
        parsed = parse_csv(data, mapping=mapping, default_status=default_status)
    except ListError as exc:
        raise PersonsError(str(exc)) from None
    digest = hashlib.sha256(data).hexdigest()
    with Session(case.engine) as s:
        dup = s.execute(
            select(PersonBatch.id)
            .join(PersonList, PersonList.id == PersonBatch.list_id)
            .where(PersonBatch.file_sha256 == digest, PersonList.name == list_name)
        ).first()
    if dup is not None:
        raise PersonsError(f"this file was already imported into list {list_name!r}")
    _check_list_type(case, list_name, source_type)  # before the file is recorded: all or nothing
    sealed_columns = sorted(c for f, c in parsed.mapping.items() if f in PROTECTED_PERSON_FIELDS)
    stored, note, name = data, f"victim list {list_name!r}", original_name
    if sealed_columns:
        # The file is evidence and is kept whole, but its contact columns name living people: the vault
        # holds it sealed to the case's recipients, like a witness's identity, and never in clear.
        stored = sealing.seal_bytes(data, case.recipients)
        note += f", sealed whole (age): its columns {', '.join(sealed_columns)} hold protected fields"
        name = f"{original_name or 'list.csv'}.age"
    recorded = case.record(
        [
            NewReceipt(
                blob=case.blobs.put_bytes(stored),
                channel=LIST_CHANNEL,
                source=source,
                original_name=name,
                note=note,
            )
        ],
        actor=actor,
    )[0]
    log_index = _write_batch(
        case,
        parsed.records,
        list_name=list_name,
        source=source,
        source_type=source_type,
        origin="import",
        item_sha256=recorded.sha256,
        file_sha256=digest,
        mapping=parsed.mapping,
        actor=actor,
    )
    return BatchResult(
        list_name, len(parsed.records), log_index, recorded.sha256, parsed.mapping, parsed.ignored_columns
    )


def add_record(
    case: Case,
    record: PersonRecord,
    *,
    list_name: str,
    source: str | None = None,
    source_type: str = "other",
    actor: str,
    item_ref: str | None = None,
    supersedes: str | None = None,
    claim_id: int | None = None,
    reason: str | None = None,
) -> StoredRecord:
    """Record one entry (typed into the web app, or accepted from a claim); ``supersedes`` corrects an earlier one."""
    list_name = _check_list(list_name, source_type)
    if not record.display_name():
        raise PersonsError("a person record needs a name")
    unknown = set(record.protected) - set(PROTECTED_PERSON_FIELDS)
    if unknown:
        raise PersonsError(f"not a protected field: {', '.join(sorted(unknown))}")
    item_sha = case.resolve(item_ref).sha256 if item_ref else None
    if supersedes is not None:
        old = _record_by_ref(case, supersedes)
        supersedes = old.sha256
        if supersedes == record.digest():  # it would hide both: a correction is known by its digest
            raise PersonsError("the correction is the same as the record it corrects: change a field")
    log_index = _write_batch(
        case,
        [record],
        list_name=list_name,
        source=source,
        source_type=source_type,
        origin="claim" if claim_id is not None else "entry",
        item_sha256=item_sha,
        mapping=None,
        actor=actor,
        supersedes=supersedes,
        claim_id=claim_id,
        reason=_reason(reason),
    )
    with Session(case.engine) as s:
        rid = s.scalars(
            select(PersonRecordRow.id)
            .join(PersonBatch, PersonBatch.id == PersonRecordRow.batch_id)
            .where(PersonBatch.log_index == log_index)
        ).one()
    return record_by_id(case, rid)


def _write_batch(
    case: Case,
    records: Sequence[PersonRecord],
    *,
    list_name: str,
    source: str | None,
    source_type: str,
    origin: str,
    item_sha256: str | None,
    mapping: dict[str, str] | None,
    actor: str,
    file_sha256: str | None = None,
    supersedes: str | None = None,
    claim_id: int | None = None,
    reason: str | None = None,
) -> int:
    sealed = [{n: sealing.seal(v, case.recipients) for n, v in sorted(r.protected.items()) if v} for r in records]
    shas = [r.digest() for r in records]
    mapping_text = json.dumps(mapping, sort_keys=True, ensure_ascii=False) if mapping is not None else None
    case.log._require_signer()
    now = custody.vault_clock()
    with dbengine.write_transaction(case.engine) as conn:
        existing = conn.execute(
            select(PersonList.id, PersonList.source_type).where(PersonList.name == list_name)
        ).first()
        if existing is not None and existing[1] != source_type:
            raise PersonsError(f"list {list_name!r} is a {existing[1]} list, not {source_type}")
        if existing is None:
            list_id = conn.execute(
                insert(PersonList)
                .values(name=list_name, source=source, source_type=source_type)
                .returning(PersonList.id)
            ).scalar_one()
        else:
            list_id = existing[0]
        item_id = None
        if item_sha256 is not None:
            item_id = conn.execute(select(Item.id).where(Item.sha256 == item_sha256)).scalar_one()
        head = case.log.head(conn, lock=True)
        entry = custody.encode_entry(
            head.size,
            custody.PERSONS_RECORDED,
            head.checkpoint_size,
            head.checkpoint_root,
            list_name=list_name,
            source_type=source_type,
            origin=origin,
            item_sha256=item_sha256,
            file_sha256=file_sha256,
            records=len(records),
            records_sha256=custody.records_commitment(shas),
            sealed_sha256=custody.sealed_commitment(sealed),
            supersedes=supersedes,
            reason_sha256=_reason_digest(reason),
            actor=actor,
            at_vault_clock=now,
        )
        batch_id = conn.execute(
            insert(PersonBatch)
            .values(
                list_id=list_id,
                origin=origin,
                item_id=item_id,
                file_sha256=file_sha256,
                mapping=mapping_text,
                records_sha256=custody.records_commitment(shas),
                count=len(records),
                reason=reason,
                log_index=head.size,
                actor=actor,
                at_vault_clock=now,
            )
            .returning(PersonBatch.id)
        ).scalar_one()
        rows = [
            {
                "batch_id": batch_id,
                "list_id": list_id,
                "position": i + 1,
                "sha256": sha,
                "body": custody.canonical_json(r.descriptive()).decode(),
                "status": r.status,
                "supersedes": supersedes,
                "claim_id": claim_id,
            }
            for i, (r, sha) in enumerate(zip(records, shas, strict=True))
        ]
        conn.execute(insert(PersonRecordRow), rows)
        if any(sealed):
            ids = conn.scalars(
                select(PersonRecordRow.id)
                .where(PersonRecordRow.batch_id == batch_id)
                .order_by(PersonRecordRow.position)
            ).all()
            conn.execute(
                insert(PersonProtected),
                [
                    {"record_id": rid, "field": name, "ciphertext": ct}
                    for rid, fields in zip(ids, sealed, strict=True)
                    for name, ct in fields.items()
                ],
            )
        case.log.append(conn, [entry])
        case.log.checkpoint(conn, now)
    return int(head.size)


# ---- reading --------------------------------------------------------------------------


def _load(case: Case) -> list[StoredRecord]:
    with dbengine.snapshot(case.engine) as conn:
        rows = conn.execute(
            select(
                PersonRecordRow.id,
                PersonRecordRow.sha256,
                PersonRecordRow.body,
                PersonRecordRow.position,
                PersonRecordRow.supersedes,
                PersonRecordRow.claim_id,
                PersonList.name,
                PersonList.source,
                PersonList.source_type,
                PersonBatch.origin,
                PersonBatch.log_index,
                Item.sha256,
            )
            .join(PersonList, PersonList.id == PersonRecordRow.list_id)
            .join(PersonBatch, PersonBatch.id == PersonRecordRow.batch_id)
            .outerjoin(Item, Item.id == PersonBatch.item_id)
            .order_by(PersonRecordRow.id)
        ).all()
        sealed: dict[int, list[str]] = {}
        for rid, name in conn.execute(select(PersonProtected.record_id, PersonProtected.field)):
            sealed.setdefault(rid, []).append(name)
    superseded = {r[4]: r[1] for r in rows if r[4]}
    out = []
    for rid, sha, body, pos, sup, claim_id, lname, lsource, ltype, origin, log_index, item_sha in rows:
        values = json.loads(body)
        out.append(
            StoredRecord(
                id=rid,
                sha256=sha,
                list_name=lname,
                source=lsource,
                source_type=ltype,
                position=pos,
                origin=origin,
                item_sha256=item_sha,
                record=PersonRecord(**{k: values.get(k) for k in values if k in PersonRecord.__dataclass_fields__}),
                sealed_fields=tuple(sorted(sealed.get(rid, []))),
                supersedes=sup,
                superseded_by=superseded.get(sha),
                claim_id=claim_id,
                log_index=log_index,
            )
        )
    return out


def records(case: Case, *, include_superseded: bool = False) -> list[StoredRecord]:
    """The case's person records in the order they were recorded; corrected ones left out unless asked for."""
    return [r for r in _load(case) if include_superseded or r.superseded_by is None]


def record_by_id(case: Case, rid: int) -> StoredRecord:
    for r in _load(case):
        if r.id == rid:
            return r
    raise PersonsError(f"no person record {rid}")


def _record_by_ref(case: Case, ref: str) -> StoredRecord:
    ref = ref.lower().strip()
    if len(ref) < 6 or any(c not in "0123456789abcdef" for c in ref):
        raise PersonsError(f"{ref!r}: give at least 6 hex digits of the record's digest")
    found = [r for r in _load(case) if r.sha256.startswith(ref)]
    if not found:
        raise PersonsError(f"no person record {ref}")
    if len({r.sha256 for r in found}) > 1:
        raise PersonsError(f"{ref} names more than one record: give more digits")
    return found[0]


def record(case: Case, ref: str) -> StoredRecord:
    """The record whose digest starts with ``ref``."""
    return _record_by_ref(case, ref)


def lists(case: Case, current: Sequence[StoredRecord] | None = None) -> list[ListInfo]:
    """The lists with their current records counted (``current``: the records already read, if any)."""
    counts: dict[str, int] = {}
    for r in records(case) if current is None else current:
        counts[r.list_name] = counts.get(r.list_name, 0) + 1
    with Session(case.engine) as s:
        rows = s.execute(select(PersonList.name, PersonList.source, PersonList.source_type).order_by(PersonList.id))
        return [ListInfo(n, src, t, counts.get(n, 0)) for n, src, t in rows]


# ---- reviews ---------------------------------------------------------------------------


def review(case: Case, a: str, b: str, decision: str, *, actor: str, reason: str | None = None) -> int:
    """Decide that records ``a`` and ``b`` (digest prefixes) are the same person, or different people."""
    if decision not in DECISIONS:
        raise PersonsError(f"decision {decision!r}: one of {', '.join(DECISIONS)}")
    ra, rb = _record_by_ref(case, a), _record_by_ref(case, b)
    if ra.sha256 == rb.sha256:
        raise PersonsError("a record cannot be reviewed against itself")
    first, second = sorted((ra.sha256, rb.sha256))
    reason = _reason(reason)
    _check_consistent(case, first, second, decision)
    case.log._require_signer()
    now = custody.vault_clock()
    with dbengine.write_transaction(case.engine) as conn:
        head = case.log.head(conn, lock=True)
        entry = custody.encode_entry(
            head.size,
            custody.PERSONS_REVIEWED,
            head.checkpoint_size,
            head.checkpoint_root,
            record_a=first,
            record_b=second,
            decision=decision,
            reason_sha256=_reason_digest(reason),
            actor=actor,
            at_vault_clock=now,
        )
        rid = conn.execute(
            insert(PersonLinkReview)
            .values(
                record_a=first,
                record_b=second,
                decision=decision,
                reason=reason,
                log_index=head.size,
                actor=actor,
                at_vault_clock=now,
            )
            .returning(PersonLinkReview.id)
        ).scalar_one()
        case.log.append(conn, [entry])
        case.log.checkpoint(conn, now)
    return int(rid)


def _check_consistent(case: Case, first: str, second: str, decision: str) -> None:
    """Refuse a decision that, with the earlier ones, would make one person of two records reviewed as different
    people: the register could not be made at all (``linkage.cluster`` raises ``ConflictingReviews``)."""
    from factfinder.findings.persons import linkage

    made = {**decisions(case), (first, second): decision}
    try:
        clusters(records(case), LinkRun(0, [], {}, {}, False), 1.0, made)
    except linkage.ConflictingReviews:
        raise PersonsError(
            "this decision contradicts earlier reviews: with them it would make one person of two records reviewed "
            "as different people; review one of those pairs again first"
        ) from None


def decisions(case: Case) -> dict[tuple[str, str], str]:
    """The latest decision on each reviewed pair of record digests (sorted pair)."""
    with Session(case.engine) as s:
        rows = s.execute(
            select(PersonLinkReview.record_a, PersonLinkReview.record_b, PersonLinkReview.decision).order_by(
                PersonLinkReview.log_index
            )
        ).all()
    return {(a, b): d for a, b, d in rows}


# ---- linkage and the register ------------------------------------------------------------

_LOCK = threading.Lock()


@dataclass(frozen=True)
class LinkRun:
    id: int
    pairs: list[linkage.Pair]
    settings: dict[str, Any]
    parameters: dict[str, Any]
    fresh: bool  # made by this call


def _records_digest(current: Sequence[StoredRecord]) -> str:
    return custody.records_commitment([f"{r.id}:{r.sha256}" for r in current])


def link(
    case: Case,
    *,
    settings: linkage.LinkageSettings | None = None,
    force: bool = False,
    current: Sequence[StoredRecord] | None = None,
) -> LinkRun:
    """Run linkage on the current records, or give the stored run that already saw exactly these records.

    ``current`` are the case's current records when the caller has read them already."""
    from factfinder.findings.persons import linkage

    settings = settings or linkage.LinkageSettings()
    current = records(case) if current is None else current
    digest = _records_digest(current)
    settings_text = custody.canonical_json(settings.to_dict()).decode()
    with _LOCK:
        if not force:
            with Session(case.engine) as s:
                run = s.scalars(
                    select(PersonLinkRun)
                    .where(
                        PersonLinkRun.records_sha256 == digest,
                        PersonLinkRun.settings == settings_text,
                        PersonLinkRun.step_version == STEP,
                    )
                    .order_by(PersonLinkRun.id.desc())
                    .limit(1)
                ).first()
                if run is not None:
                    pairs = [
                        linkage.Pair(p.record_a, p.record_b, p.probability, p.match_weight, json.loads(p.reasons))
                        for p in s.scalars(select(PersonPair).where(PersonPair.run_id == run.id))
                    ]
                    return LinkRun(run.id, pairs, json.loads(run.settings), json.loads(run.parameters), False)
        if len(current) < 2:
            result_pairs: list[linkage.Pair] = []
            parameters: dict[str, Any] = {"note": "fewer than two records: nothing to link"}
        else:
            result = linkage.link([(r.id, r.list_name, r.record) for r in current], settings=settings)
            result_pairs, parameters = list(result.pairs), result.parameters
        with dbengine.write_transaction(case.engine) as conn:
            old = conn.scalars(select(PersonLinkRun.id)).all()
            if old:  # a run is derived and superseded by the next one: keep only the newest
                conn.execute(delete(PersonPair).where(PersonPair.run_id.in_(old)))
                conn.execute(delete(PersonLinkRun).where(PersonLinkRun.id.in_(old)))
            run_id = conn.execute(
                insert(PersonLinkRun)
                .values(
                    records_sha256=digest,
                    settings=settings_text,
                    parameters=custody.canonical_json(parameters).decode(),
                    step_version=STEP,
                    at_vault_clock=custody.vault_clock(),
                )
                .returning(PersonLinkRun.id)
            ).scalar_one()
            if result_pairs:
                conn.execute(
                    insert(PersonPair),
                    [
                        {
                            "run_id": run_id,
                            "record_a": p.a,
                            "record_b": p.b,
                            "probability": p.probability,
                            "match_weight": p.match_weight,
                            "reasons": custody.canonical_json(p.reasons).decode(),
                        }
                        for p in result_pairs
                    ],
                )
        return LinkRun(int(run_id), result_pairs, json.loads(settings_text), parameters, True)


def _corroboration(recs: Sequence[StoredRecord]) -> tuple[str, str]:
    documentary = sorted({r.list_name for r in recs if r.source_type in DOCUMENTARY})
    if documentary:
        return "documentary", f"recorded by a documentary list: {', '.join(documentary)}"
    origins = {(r.source or r.list_name).strip().lower() for r in recs}
    if len(origins) >= 2:
        return "multiple-sources", f"{len(origins)} independent sources recorded this person"
    return "single-source", "one source only"


def clusters(
    current: Sequence[StoredRecord], run: LinkRun, threshold: float, made: dict[tuple[str, str], str]
) -> dict[int, int]:
    """Record id -> cluster id at ``threshold``, with the reviewers' decisions applied over the model's pairs."""
    from factfinder.findings.persons import linkage

    by_sha: dict[str, list[int]] = {}
    for r in current:
        by_sha.setdefault(r.sha256, []).append(r.id)
    must: list[tuple[int, int]] = []
    cannot: list[tuple[int, int]] = []
    for (a, b), d in made.items():
        for ia in by_sha.get(a, []):
            for ib in by_sha.get(b, []):
                (must if d == "same" else cannot).append((ia, ib))
    ids = [r.id for r in current]
    live = set(ids)
    pairs = [p for p in run.pairs if p.a in live and p.b in live]
    return linkage.cluster(ids, pairs, threshold, must_link=must, cannot_link=cannot)


def register(
    case: Case, *, threshold: float | None = None, settings: linkage.LinkageSettings | None = None
) -> Register:
    """The register now: one row per linked person, and the pairs waiting for a reviewer."""
    from factfinder.findings.persons import linkage

    settings = settings or linkage.LinkageSettings()
    current = records(case)  # read once: the run, the clusters and the list counts all see the same records
    run = link(case, settings=settings, current=current)
    made = decisions(case)
    at = settings.upper if threshold is None else threshold
    assignment = clusters(current, run, at, made)
    by_id = {r.id: r for r in current}
    groups: dict[int, list[StoredRecord]] = {}
    for rid, cid in assignment.items():
        groups.setdefault(cid, []).append(by_id[rid])
    persons = []
    for cid in sorted(groups):
        recs = sorted(groups[cid], key=lambda r: r.id)
        level, why = _corroboration(recs)
        persons.append(
            RegisterPerson(
                ref="P-" + recs[0].sha256[:10],
                records=recs,
                lists=sorted({r.list_name for r in recs}),
                statuses=sorted({r.record.status for r in recs}),
                corroboration=level,
                corroboration_reason=why,
            )
        )
    queue = []
    for p in sorted(run.pairs, key=lambda p: -p.probability):
        if p.a not in by_id or p.b not in by_id or not settings.lower <= p.probability < settings.upper:
            continue
        ra, rb = by_id[p.a], by_id[p.b]
        key = (min(ra.sha256, rb.sha256), max(ra.sha256, rb.sha256))
        queue.append(ReviewPair(ra, rb, p.probability, p.match_weight, list(p.reasons), made.get(key)))
    return Register(persons, queue, at, settings.lower, settings.upper, run.id, run.parameters, lists(case, current))


def pair(case: Case, a: str, b: str) -> ReviewPair:
    """Two records side by side with the model's score for them (scored now when the run did not keep the pair)."""
    from factfinder.findings.persons import linkage

    ra, rb = _record_by_ref(case, a), _record_by_ref(case, b)
    run = link(case)
    made = decisions(case).get((min(ra.sha256, rb.sha256), max(ra.sha256, rb.sha256)))
    for p in run.pairs:
        if {p.a, p.b} == {ra.id, rb.id}:
            return ReviewPair(ra, rb, p.probability, p.match_weight, list(p.reasons), made)
    c = linkage.compare(ra.record, rb.record, run.parameters or None)
    return ReviewPair(ra, rb, c.probability, c.match_weight, list(c.reasons), made)


def overlap_rows(
    register_: Register, *, what: str = "killed", strata: Sequence[str] = ()
) -> dict[str, list[frozenset[str]]]:
    """For each stratum, one set of lists per person recorded as ``what``: the input of estimation.

    A list counts for a person only where its own record says ``what``: a
    family list that gives a man as detained did not record his killing."""
    out: dict[str, list[frozenset[str]]] = {}
    for p in register_.persons:
        on = frozenset(r.list_name for r in p.records if r.record.status == what)
        if not on:
            continue
        out.setdefault(stratum_of(p, strata), []).append(on)
    return out


STRATA = ("sex", "age", "place", "list")


def stratum_of(p: RegisterPerson, strata: Sequence[str]) -> str:
    """The stratum a person falls in (``sex=male,age=18-29``), from the values their records agree on."""
    if not strata:
        return "all"
    parts = []
    for s in strata:
        if s == "sex":
            values = {r.record.sex for r in p.records if r.record.sex}
            parts.append(f"sex={values.pop() if len(values) == 1 else 'unknown'}")
        elif s == "age":
            mids = [
                (r.record.age_min + r.record.age_max) / 2
                for r in p.records
                if r.record.age_min is not None and r.record.age_max is not None
            ]
            band = "unknown"
            if mids:
                m = sorted(mids)[len(mids) // 2]
                band = "0-17" if m < 18 else "18-29" if m < 30 else "30-49" if m < 50 else "50+"
            parts.append(f"age={band}")
        elif s == "place":
            places = {r.record.event_place.strip() for r in p.records if r.record.event_place.strip()}
            parts.append(f"place={sorted(places)[0] if len(places) == 1 else 'unknown'}")
        else:
            raise PersonsError(f"stratum {s!r}: one of {', '.join(STRATA[:3])}")
    return ",".join(parts)


__all__ = [
    "DECISIONS",
    "DOCUMENTARY",
    "SOURCE_TYPES",
    "BatchResult",
    "LinkRun",
    "ListInfo",
    "PersonsError",
    "Register",
    "RegisterPerson",
    "ReviewPair",
    "StoredRecord",
    "add_record",
    "decisions",
    "import_list",
    "link",
    "lists",
    "overlap_rows",
    "pair",
    "record",
    "records",
    "register",
    "review",
]
