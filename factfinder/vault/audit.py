"""The full audit behind ``factfinder verify``.

It trusts nothing stored: it rebuilds the Merkle tree from the entries, checks
each stored hash tile against it, checks every checkpoint's signature and root
and the consistency proof between successive checkpoints, compares every
database row with the custody entry that created it, and rehashes every blob.
Each problem names what is damaged and how; the audit never stops at the
first one, because an investigator needs the whole list.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from factfinder.db import engine as dbengine
from factfinder.db.models import (
    ClaimReview,
    Derivative,
    IncidentDecision,
    Item,
    LogTile,
    Opening,
    PersonBatch,
    PersonLinkReview,
    PersonList,
    PersonProtected,
    PersonRecordRow,
    ProtectedField,
    Publication,
    Receipt,
    TextClaim,
)
from factfinder.vault import custody, merkle
from factfinder.vault.blobs import hash_file
from factfinder.vault.case import Case
from factfinder.vault.checkpoint import Checkpoint
from factfinder.vault.errors import CheckpointError
from factfinder.vault.log import TILE_HEIGHT, TILE_WIDTH, LogCorruptError, split_hashes

# Kinds of problem, as the report names them.
BLOB_MISSING = "blob missing"
BLOB_ALTERED = "blob altered"
ENTRY_ALTERED = "entry altered"
ROW_ALTERED = "database row altered"
ROW_MISSING = "database row missing"
CHECKPOINT_FORGED = "checkpoint forged"
CHECKPOINT_MISMATCH = "checkpoint does not match log"
LOG_TRUNCATED = "log truncated"
LOG_DAMAGED = "log damaged"
UNCHECKPOINTED = "entries not covered by a checkpoint"
ORPHAN_BLOB = "unreferenced blob"  # a warning: left by an interrupted intake, harmless


@dataclass(frozen=True)
class Problem:
    kind: str
    subject: str
    detail: str
    fatal: bool = True

    def __str__(self) -> str:
        return f"{self.kind}: {self.subject}: {self.detail}"


@dataclass
class AuditReport:
    log_size: int = 0
    checkpoints: int = 0
    items: int = 0
    receipts: int = 0
    blob_bytes: int = 0
    latest_checkpoint: str | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(p.fatal for p in self.problems)

    def add(self, kind: str, subject: str, detail: str, *, fatal: bool = True) -> None:
        self.problems.append(Problem(kind, subject, detail, fatal))


def verify_case(case: Case, *, rehash_blobs: bool = True, progress: Callable[[int], None] | None = None) -> AuditReport:
    report = AuditReport()
    with dbengine.snapshot(case.engine) as conn:  # one consistent state, even while intake goes on
        entries = _check_log(case, conn, report)
        _check_rows(case, conn, entries, report)
    _check_blobs(case, report, rehash_blobs, progress)
    from factfinder.intake import sms  # the field-intake channels: see _check_intake_rows

    sms.check_anchor_texts(case, report)  # a digest anchored by SMS must be written in the message's text
    return report


def _check_log(case: Case, conn: Connection, report: AuditReport) -> dict[int, dict[str, Any]]:
    """Rebuild the tree from the entries; check tiles, checkpoints and consistency."""
    size = case.log.size(conn)
    report.log_size = size
    raw: list[bytes] = []
    try:
        for index, entry in case.log.entries(conn, 0, size):
            if index != len(raw):
                break
            raw.append(entry)
    except LogCorruptError as exc:
        report.add(LOG_TRUNCATED, "custody log", f"{exc}; the log holds only {len(raw)} readable entries")
    decoded: dict[int, dict[str, Any]] = {}
    for index, entry in enumerate(raw):
        try:
            record = custody.decode_entry(entry)
        except ValueError as exc:
            report.add(ENTRY_ALTERED, f"entry {index}", str(exc))
            continue
        if record.get("seq") != index:
            report.add(ENTRY_ALTERED, f"entry {index}", f"says it is entry {record.get('seq')}")
        decoded[index] = record
    tree = merkle.MemoryTree([merkle.leaf_hash(e) for e in raw])
    _check_tiles(conn, tree, report)
    _check_checkpoints(case, conn, tree, decoded, report)
    if 0 in decoded:
        first = decoded[0]
        if first.get("action") != custody.CASE_CREATED or first.get("log_key") != case.config.log_key:
            report.add(ENTRY_ALTERED, "entry 0", "the log does not open with this case's creation and key")
    return decoded


def _check_tiles(conn: Connection, tree: merkle.MemoryTree, report: AuditReport) -> None:
    """Stored hash tiles must equal the tree rebuilt from the entries."""
    for level, idx, data in conn.execute(select(LogTile.level, LogTile.idx, LogTile.data)):
        tree_level = level * TILE_HEIGHT
        have = tree.levels[tree_level] if tree_level < len(tree.levels) else []
        want = have[idx * TILE_WIDTH : (idx + 1) * TILE_WIDTH]
        stored = split_hashes(data)
        if stored == want:
            continue
        if level == 0:
            for j, (a, b) in enumerate(zip(stored, want, strict=False)):
                if a != b:
                    report.add(
                        ENTRY_ALTERED,
                        f"entry {idx * TILE_WIDTH + j}",
                        "its bytes no longer hash to the leaf hash recorded when it was logged",
                    )
            if len(stored) != len(want):
                report.add(LOG_DAMAGED, f"hash tile 0/{idx}", f"holds {len(stored)} hashes, expected {len(want)}")
        else:
            report.add(LOG_DAMAGED, f"hash tile {level}/{idx}", "does not match the tree rebuilt from the entries")


def _check_checkpoints(
    case: Case, conn: Connection, tree: merkle.MemoryTree, decoded: dict[int, dict[str, Any]], report: AuditReport
) -> None:
    checkpoints = case.log.checkpoints(conn)
    report.checkpoints = len(checkpoints)
    previous: Checkpoint | None = None
    by_size: dict[int, Checkpoint] = {}
    forged: set[int] = set()
    for size, note, _signed_at in checkpoints:
        try:
            cp = Checkpoint.open(note, case.verifier)
        except CheckpointError as exc:
            report.add(CHECKPOINT_FORGED, f"checkpoint at size {size}", str(exc))
            forged.add(size)
            continue
        if cp.size != size:
            report.add(CHECKPOINT_FORGED, f"checkpoint at size {size}", f"its note is for size {cp.size}")
            forged.add(size)
            continue
        by_size[size] = cp
        report.latest_checkpoint = note
        if size > tree.size:
            report.add(
                LOG_TRUNCATED,
                f"checkpoint at size {size}",
                f"was signed over {size} entries but the log now holds {tree.size}",
            )
            continue
        if tree.root(size) != cp.root_hash:
            report.add(CHECKPOINT_MISMATCH, f"checkpoint at size {size}", "its root is not the root of the log")
        if previous is not None and previous.size > 0 and previous.size <= tree.size:
            try:
                proof = merkle.consistency_proof(tree.node, previous.size, size)
                merkle.verify_consistency(previous.size, size, proof, previous.root_hash, cp.root_hash)
            except merkle.ProofError as exc:
                report.add(
                    CHECKPOINT_MISMATCH,
                    f"checkpoints {previous.size} -> {size}",
                    f"not consistent: the log was rewritten between them ({exc})",
                )
        previous = cp
    if not checkpoints:
        report.add(LOG_TRUNCATED, "checkpoints", "the case has no signed checkpoint at all")
    elif previous is not None and previous.size < tree.size:
        report.add(UNCHECKPOINTED, f"entries {previous.size}..{tree.size - 1}", "appended after the latest checkpoint")
    for index, record in decoded.items():
        psize = record.get("prev_checkpoint_size")
        proot = record.get("prev_checkpoint_root")
        if not isinstance(psize, int) or psize == 0 or psize in forged:
            continue  # entries naming a forged checkpoint are not themselves damaged
        named = by_size.get(psize)
        if named is None:
            report.add(ENTRY_ALTERED, f"entry {index}", f"names a checkpoint at size {psize} the case does not have")
        elif proot != _b64(named.root_hash):
            report.add(ENTRY_ALTERED, f"entry {index}", f"names a different root for checkpoint {psize}")


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()


RECORDED_ACTIONS = (
    custody.PROTECTED_OPENED,
    custody.ITEM_PUBLISHED,
    custody.ITEM_DERIVED,
    custody.CLAIM_REVIEWED,
    custody.INCIDENT_DECIDED,
    custody.PERSONS_RECORDED,
    custody.PERSONS_REVIEWED,
)
"""Entries besides receipts that each have a database row."""


def _check_rows(case: Case, conn: Connection, entries: dict[int, dict[str, Any]], report: AuditReport) -> None:
    """Each item, receipt and opening row must say what its custody entry says."""
    rows = conn.execute(select(Item.id, Item.sha256, Item.size, Item.first_log_index)).all()
    items = {row[0]: row for row in rows}
    report.items = len(items)
    sealed: dict[int, dict[str, bytes]] = {}
    for rid, name, ct in conn.execute(
        select(ProtectedField.receipt_id, ProtectedField.field, ProtectedField.ciphertext)
    ):
        sealed.setdefault(rid, {})[name] = ct
    seen_indexes: set[int] = set()
    receipts_by_item: dict[int, int] = {}
    receipt_index: dict[int, int] = {}
    session = Session(bind=conn)
    for r in session.scalars(select(Receipt)):
        report.receipts += 1
        subject = f"receipt {r.id} (entry {r.log_index})"
        seen_indexes.add(r.log_index)
        receipt_index[r.id] = r.log_index
        receipts_by_item[r.item_id] = receipts_by_item.get(r.item_id, 0) + 1
        entry = entries.get(r.log_index)
        item = items.get(r.item_id)
        if entry is None:
            report.add(LOG_TRUNCATED, subject, "its custody entry is not in the log")
            continue
        if item is None:
            report.add(ROW_MISSING, subject, "its item row is gone")
            continue
        details = custody.receipt_details(
            source=r.source,
            note=r.note,
            original_name=r.original_name,
            collected_by_claimed=r.collected_by_claimed,
            sealed=sealed.get(r.id, {}),
        )
        want = {
            "action": r.action,
            "item_sha256": item[1],
            "item_size": item[2],
            "actor": r.actor,
            "channel": r.channel,
            "collected_at_claimed": r.collected_at_claimed,
            "received_at_vault_clock": r.received_at_vault_clock,
            "details_sha256": custody.details_commitment(r.details_salt, details),
        }
        _compare(report, subject, entry, want)

    def row_entry(subject: str, index: int, want: dict[str, Any]) -> None:
        seen_indexes.add(index)
        entry = entries.get(index)
        if entry is None:
            report.add(LOG_TRUNCATED, subject, "its custody entry is not in the log")
        else:
            _compare(report, subject, entry, want)

    def sha_of(item_id: int) -> str | None:
        item = items.get(item_id)
        return item[1] if item else None

    for o in session.scalars(select(Opening)):
        row_entry(
            f"opening {o.id} (entry {o.log_index})",
            o.log_index,
            {
                "action": custody.PROTECTED_OPENED,
                "actor": o.actor,
                "fields": o.fields.split(",") if o.fields else [],
                "opened_with": o.opened_with,
                "at_vault_clock": o.opened_at_vault_clock,
                "receipt_log_index": receipt_index.get(o.receipt_id),
            },
        )
    for pub in session.scalars(select(Publication)):
        row_entry(
            f"publication of item {pub.item_id} (entry {pub.log_index})",
            pub.log_index,
            {
                "action": custody.ITEM_PUBLISHED,
                "actor": pub.actor,
                "at_vault_clock": pub.at_vault_clock,
                "item_sha256": sha_of(pub.item_id),
            },
        )
    for d in session.scalars(select(Derivative)):
        row_entry(
            f"working copy {d.sha256[:12]} ({d.step}, entry {d.log_index})",
            d.log_index,
            {
                "action": custody.ITEM_DERIVED,
                "actor": d.actor,
                "at_vault_clock": d.at_vault_clock,
                "item_sha256": sha_of(d.item_id),
                "derived_sha256": d.sha256,
                "derived_size": d.size,
                "media_type": d.media_type,
                "step": d.step,
                "step_version": d.step_version,
            },
        )
    reviewed = select(ClaimReview.claim_id).union(
        select(ClaimReview.correction_id).where(ClaimReview.correction_id.isnot(None))
    )
    claim_rows = {
        cid: (item_id, body, digest)
        for cid, item_id, body, digest in conn.execute(
            select(TextClaim.id, TextClaim.item_id, TextClaim.body, TextClaim.digest).where(TextClaim.id.in_(reviewed))
        )
    }
    claim_digests = {cid: body for cid, (_, body, _) in claim_rows.items()}
    for cid, (_, body, digest) in claim_rows.items():
        if digest != _body_digest(body):
            report.add(ROW_ALTERED, f"claim {cid}", "its digest is not that of its body")
    for rv in session.scalars(select(ClaimReview)):
        if rv.claim_id in claim_rows and claim_rows[rv.claim_id][0] != rv.item_id:
            report.add(ROW_ALTERED, f"claim {rv.claim_id}", "it was moved to another item after its review")
        row_entry(
            f"review {rv.id} of claim {rv.claim_id} (entry {rv.log_index})",
            rv.log_index,
            {
                "action": custody.CLAIM_REVIEWED,
                "actor": rv.actor,
                "at_vault_clock": rv.at_vault_clock,
                "item_sha256": sha_of(rv.item_id),
                "claim_sha256": _body_digest(claim_digests.get(rv.claim_id)),
                "decision": rv.decision,
                "correction_sha256": _body_digest(claim_digests.get(rv.correction_id))
                if rv.correction_id is not None
                else None,
                "reason_sha256": _body_digest(rv.reason),
            },
        )
    for dec in session.scalars(select(IncidentDecision)):
        row_entry(
            f"incident decision {dec.id} ({dec.action}, entry {dec.log_index})",
            dec.log_index,
            {
                "action": custody.INCIDENT_DECIDED,
                "actor": dec.actor,
                "at_vault_clock": dec.at_vault_clock,
                "decision": dec.action,
                "decision_sha256": _body_digest(dec.body),
                "reason_sha256": _body_digest(dec.reason),
            },
        )
    _check_person_rows(session, report, row_entry, sha_of)
    _check_intake_rows(session, entries, report)
    for item_id, (_, sha, _, first) in items.items():
        if item_id not in receipts_by_item:
            report.add(ROW_MISSING, f"item {sha[:12]}", "has no receipt")
        entry = entries.get(first)
        if entry is None or entry.get("item_sha256") != sha or entry.get("action") != custody.ITEM_ADDED:
            report.add(ROW_ALTERED, f"item {sha[:12]}", f"its first entry ({first}) does not record adding it")
    for index, entry in entries.items():
        if entry.get("action") in (*custody.ITEM_ACTIONS, *RECORDED_ACTIONS) and (index not in seen_indexes):
            report.add(ROW_MISSING, f"entry {index}", f"records {entry.get('action')} but its database row is gone")


def _check_intake_rows(session: Session, entries: dict[int, dict[str, Any]], report: AuditReport) -> None:
    """The field-intake channels' own rows (mirrored origins, transfers, forks; OpenRosa submissions; SMS).

    Each channel knows its rows and the entries that vouch for them, so each checks its own; they are
    imported here, when a case is verified, because the vault must not depend on intake when it loads."""
    from factfinder.intake import openrosa, origins, sms

    origins.check_rows(session, entries, report)
    openrosa.check_rows(session, entries, report)
    sms.check_rows(session, entries, report)


def _check_person_rows(
    session: Session,
    report: AuditReport,
    row_entry: Callable[[str, int, dict[str, Any]], None],
    sha_of: Callable[[int], str | None],
) -> None:
    """Person records against their ``persons.recorded`` entries, link reviews against ``persons.reviewed``.

    A record's stored body must still have its digest, and a batch's records (in order, with their sealed
    fields) must still give the digests its entry names: an edited, added or dropped record shows."""
    names: dict[int, str] = {}
    types: dict[int, str] = {}
    for list_id, name, source_type in session.execute(select(PersonList.id, PersonList.name, PersonList.source_type)):
        names[list_id], types[list_id] = name, source_type
    for batch in session.scalars(select(PersonBatch)):
        rows = session.execute(
            select(PersonRecordRow.id, PersonRecordRow.sha256, PersonRecordRow.body, PersonRecordRow.supersedes)
            .where(PersonRecordRow.batch_id == batch.id)
            .order_by(PersonRecordRow.position)
        ).all()
        sealed: dict[int, dict[str, bytes]] = {}
        for rid, name, ct in session.execute(
            select(PersonProtected.record_id, PersonProtected.field, PersonProtected.ciphertext).where(
                PersonProtected.record_id.in_([r[0] for r in rows])
            )
        ):
            sealed.setdefault(rid, {})[name] = ct
        for rid, sha, body, _ in rows:
            if _body_digest(body) != sha:
                report.add(ROW_ALTERED, f"person record {rid}", "its digest is not that of its body")
        supersedes = {r[3] for r in rows}
        records_sha = custody.records_commitment([r[1] for r in rows])
        sealed_sha = custody.sealed_commitment([sealed.get(r[0], {}) for r in rows])
        row_entry(
            f"person records batch {batch.id} ({batch.count} records, entry {batch.log_index})",
            batch.log_index,
            {
                "action": custody.PERSONS_RECORDED,
                "actor": batch.actor,
                "at_vault_clock": batch.at_vault_clock,
                "list_name": names.get(batch.list_id),
                "source_type": types.get(batch.list_id),
                "origin": batch.origin,
                "item_sha256": sha_of(batch.item_id) if batch.item_id is not None else None,
                "file_sha256": batch.file_sha256,
                "records": batch.count,
                "records_sha256": records_sha,
                "sealed_sha256": sealed_sha,
                "supersedes": supersedes.pop() if len(supersedes) == 1 else sorted(s or "" for s in supersedes),
                "reason_sha256": _body_digest(batch.reason),
            },
        )
    for rv in session.scalars(select(PersonLinkReview)):
        row_entry(
            f"review {rv.id} of two person records (entry {rv.log_index})",
            rv.log_index,
            {
                "action": custody.PERSONS_REVIEWED,
                "actor": rv.actor,
                "at_vault_clock": rv.at_vault_clock,
                "record_a": rv.record_a,
                "record_b": rv.record_b,
                "decision": rv.decision,
                "reason_sha256": _body_digest(rv.reason),
            },
        )


def _body_digest(body: str | None) -> str | None:
    """SHA-256 of a claim's stored JSON (or a reason), as its review's custody entry names it."""
    return hashlib.sha256(body.encode("utf-8")).hexdigest() if body is not None else None


def _compare(report: AuditReport, subject: str, entry: dict[str, Any], want: dict[str, Any]) -> None:
    """A row must say exactly what the custody entry that created it says."""
    wrong = sorted(k for k, v in want.items() if entry.get(k) != v)
    if wrong:
        report.add(ROW_ALTERED, subject, f"differs from its custody entry in: {', '.join(wrong)}")


def _check_blobs(case: Case, report: AuditReport, rehash: bool, progress: Callable[[int], None] | None) -> None:
    with case.engine.connect() as conn:
        originals = dict(conn.execute(select(Item.sha256, Item.size)).all())
        copies = dict(conn.execute(select(Derivative.sha256, Derivative.size)).all())
    wanted = copies | originals
    present = set(case.blobs.digests())
    for sha in sorted(wanted):
        if sha not in present:
            what = "item" if sha in originals else "working copy"
            report.add(BLOB_MISSING, f"{what} {sha}", "its bytes are not in the blob store")
    for sha in sorted(present - set(wanted)):
        report.add(ORPHAN_BLOB, f"blob {sha[:12]}", "stored but never recorded (an interrupted intake)", fatal=False)

    def check(sha: str) -> tuple[str, str | None, int]:
        path = case.blobs.path(sha)
        try:
            got, size = hash_file(path) if rehash else (sha, path.stat().st_size)
        except OSError as exc:
            return sha, f"unreadable ({exc.strerror})", 0
        if got != sha:
            return sha, f"its bytes now hash to {got}", size
        if size != wanted[sha]:
            return sha, f"holds {size} bytes, recorded {wanted[sha]}", size
        return sha, None, size

    todo = sorted(set(wanted) & present)
    with ThreadPoolExecutor(max_workers=min(4, (os.cpu_count() or 1) * 2)) as pool:
        for sha, problem, size in pool.map(check, todo):
            report.blob_bytes += size
            if problem:
                report.add(BLOB_ALTERED, f"item {sha}", problem)
            if progress:
                progress(size)
