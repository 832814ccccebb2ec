"""A case's findings, made from what it holds at one checkpoint, and the analysts' decisions on incidents.

``findings(case)`` reads one consistent snapshot of the case (claims with their
reviews, items, decisions, the latest signed checkpoint) and computes the
incidents, reconciled counts, corroboration and timeline. Nothing it computes is
stored: it is made again from the claims whenever they change, and cached per
state of the case so pages and reports do not recompute it.

What an analyst decides about incidents is stored, and logged: ``merge``,
``split``, ``attach`` and ``detach`` each write an ``incident.decided`` custody
entry naming the SHA-256 of the decision (which claims, which items) and of
the reason, with its author. Rejected claims are left out of the findings and
corrected ones replaced by their correction.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select
from sqlalchemy.orm import Session

from factfinder.db import engine as dbengine
from factfinder.db.models import (
    ClaimReview,
    IncidentDecision,
    Item,
    MediaAnalysis,
    MediaCluster,
    Publication,
    Receipt,
    TextClaim,
    TextReading,
)
from factfinder.findings import corroboration, incidents, reconcile, sources
from factfinder.findings.incidents import Group
from factfinder.findings.model import (
    COUNTED,
    AttachedItem,
    CountTable,
    Decision,
    EvidenceItem,
    Figure,
    Findings,
    Incident,
    Record,
    TimelineEntry,
)
from factfinder.findings.records import ClaimRow, ItemInfo, item_records
from factfinder.text import claims as claimsmod
from factfinder.text.claims import VERSION
from factfinder.vault import custody, masking
from factfinder.vault.case import Case
from factfinder.vault.checkpoint import Checkpoint
from factfinder.vault.errors import VaultError

ACTIONS = ("merge", "split", "attach", "detach")
MAX_REASON = 4000


class FindingsError(VaultError):
    """A decision that cannot be made as asked (an unknown incident, an item that is not in the case...)."""


# ---- reading the case --------------------------------------------------------


class _Snapshot:
    """Everything the findings are made from, read in one transaction."""

    def __init__(self, case: Case, conn: Connection, *, published_only: bool = False) -> None:
        note = case.log.latest_checkpoint(conn)
        self.note = note or ""
        if note is not None:
            cp = Checkpoint.open(note, case.verifier)
            self.size, self.root = cp.size, cp.root_hash.hex()
        else:
            self.size, self.root = 0, ""
        newest = (
            select(ClaimReview.claim_id, func.max(ClaimReview.id).label("review_id"))
            .group_by(ClaimReview.claim_id)
            .subquery()
        )
        q = (
            select(TextClaim.id, TextClaim.item_id, TextClaim.digest, TextClaim.body, ClaimReview.decision)
            .outerjoin(newest, newest.c.claim_id == TextClaim.id)
            .outerjoin(ClaimReview, ClaimReview.id == newest.c.review_id)
            .where((TextClaim.version == VERSION) | TextClaim.author.isnot(None))
            .order_by(TextClaim.item_id, TextClaim.start, TextClaim.id)
        )
        if published_only:
            q = q.where(TextClaim.item_id.in_(select(Publication.item_id)))
        self.claims: dict[int, list[ClaimRow]] = {}
        self.claim_count = 0
        for cid, item_id, digest, body, decision in conn.execute(q):
            if decision in ("rejected", "corrected"):
                continue  # a rejected claim says nothing; a corrected one speaks through its correction
            self.claims.setdefault(item_id, []).append(ClaimRow(cid, item_id, digest, json.loads(body)))
            self.claim_count += 1
        first_receipt = select(Receipt.item_id, func.min(Receipt.id).label("rid")).group_by(Receipt.item_id).subquery()
        rows = (
            Session(bind=conn)
            .execute(
                select(Item, Receipt.source, TextReading.published)
                .outerjoin(first_receipt, first_receipt.c.item_id == Item.id)
                .outerjoin(Receipt, Receipt.id == first_receipt.c.rid)
                .outerjoin(TextReading, TextReading.item_id == Item.id)
            )
            .all()
        )
        published = set(conn.scalars(select(Publication.item_id)))
        media = {
            m.item_id: (m.gps_lat, m.gps_lon, m.captured_at_claimed)
            for m in conn.execute(
                select(
                    MediaAnalysis.item_id,
                    MediaAnalysis.gps_lat,
                    MediaAnalysis.gps_lon,
                    MediaAnalysis.captured_at_claimed,
                )
            )
        }
        self.clusters = {i: c for i, c in conn.execute(select(MediaCluster.item_id, MediaCluster.cluster_id))}
        if published_only:  # nothing of an unpublished item: not as evidence, not in a cluster, not by digest
            rows = [row for row in rows if row[0].id in published]
            self.clusters = {i: c for i, c in self.clusters.items() if i in published}
        self.items: dict[int, EvidenceItem] = {}
        self.infos: dict[int, ItemInfo] = {}
        self.captured: dict[int, date] = {}
        for row in rows:
            item, publisher = row[0], row[1]
            day = _day(row[2]) or _day(item.received_at_vault_clock) or date.today()
            self.infos[item.id] = ItemInfo(item.id, item.sha256, publisher, day)
            lat, lon, captured = media.get(item.id, (None, None, None))
            self.items[item.id] = EvidenceItem(
                id=item.id,
                sha256=item.sha256,
                size=item.size,
                media_type=item.media_type,
                first_log_index=item.first_log_index,
                received_at_vault_clock=item.received_at_vault_clock,
                source=publisher,
                source_type=sources.source_type(publisher),
                published=item.id in published,
                gps=(lat, lon) if lat is not None and lon is not None else None,
            )
            if captured and _day(captured):
                self.captured[item.id] = _day(captured)  # type: ignore[assignment]
        self.by_sha = {i.sha256: i.id for i in self.items.values()}
        self.decisions = [
            (d.id, d.action, json.loads(d.body), d.reason, d.actor, d.at_vault_clock, d.log_index)
            for d in conn.execute(
                select(
                    IncidentDecision.id,
                    IncidentDecision.action,
                    IncidentDecision.body,
                    IncidentDecision.reason,
                    IncidentDecision.actor,
                    IncidentDecision.at_vault_clock,
                    IncidentDecision.log_index,
                ).order_by(IncidentDecision.log_index)
            )
        ]


def _day(value: object) -> date | None:
    if not value:
        return None
    text = str(value)
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
        except ValueError:
            return None


_CACHE: dict[tuple[str, str, bool], tuple[tuple[int, int, int], Findings, list[Group]]] = {}
_LOCK = threading.Lock()


def _state_key(case: Case) -> tuple[int, int, int]:
    with case.engine.connect() as conn:
        size = case.log.size(conn)
        count, top = conn.execute(
            select(func.count(TextClaim.id), func.max(TextClaim.id)).where(
                (TextClaim.version == VERSION) | TextClaim.author.isnot(None)
            )
        ).one()
    return size, int(count or 0), int(top or 0)


def findings(case: Case, *, published_only: bool = False) -> Findings:
    """The case's findings now (computed again only when the case has changed since the last call).

    ``published_only`` makes them from the claims of published items alone: what an observer may see
    (pass the result through ``factfinder.reports.redaction.redact`` before showing it to one)."""
    return _compute(case, published_only=published_only)[0]


def _compute(case: Case, *, published_only: bool = False) -> tuple[Findings, list[Group]]:
    key = (case.config.case_id + str(case.path), case.engine.url.render_as_string(hide_password=True), published_only)
    cached = _CACHE.get(key)
    state = _state_key(case)  # read before the snapshot: a change in between only costs a recomputation
    if cached is not None and state == cached[0]:
        return cached[1], cached[2]
    with dbengine.snapshot(case.engine) as conn:
        snap = _Snapshot(case, conn, published_only=published_only)
    result = _make(case, snap, published_only=published_only)
    with _LOCK:
        _CACHE[key] = (state, *result)
    return result


def _make(case: Case, snap: _Snapshot, *, published_only: bool = False) -> tuple[Findings, list[Group]]:
    records: list[Record] = []
    figures: dict[int, Figure] = {}
    spans: dict[int, tuple[int, int, int]] = {}
    for item_id, rows in snap.claims.items():
        info = snap.infos.get(item_id)
        if info is None:
            continue
        recs, figs = item_records(info, rows)
        records += recs
        for f in figs:
            figures[f.claim_id] = f
        for c in rows:
            if c.id in figures:
                spans[c.id] = (item_id, *c.sentence)
    texts: dict[int, str] = {}
    with case.engine.connect() as conn:
        sealed = masking.sealed_questions(conn, {item_id for item_id, _, _ in spans.values()})

    def sentence_of(f: Figure) -> str | None:
        where = spans.get(f.claim_id)
        if where is None:
            return None
        item_id, start, end = where
        if item_id not in texts:
            try:
                path = case.blobs.path(f.item_sha256)
                with open(path, "rb") as fh:
                    text = fh.read(2 << 20).decode("utf-8", errors="replace")
                texts[item_id] = masking.mask_original(path, sealed.get(item_id, ()), text)  # never an answer
            except OSError:
                texts[item_id] = ""
        return texts[item_id][start:end] or None

    groups = incidents.group_records(records)
    applied: set[int] = set()
    for did, action, body, *_ in snap.decisions:
        if incidents.apply(groups, did, action, body):
            applied.add(did)
    out: list[Incident] = []
    claim_corr = {}
    for g in groups:
        g.settle_anchor()
        attached = _attached(snap, g)
        if published_only:  # a decision body names items and claims by digest, and its reason is the team's
            g.decisions = []
        inc = incidents.summarise(g, figures, sentence_of, attached)
        inc.corroboration = corroboration.incident(inc)
        for r in inc.records:
            claim_corr[r.claim_id] = inc.corroboration
        for table in inc.counts.values():
            claim_corr.update(corroboration.figures(table))
        out.append(inc)
    out.sort(key=lambda i: (i.earliest, i.latest, i.ref))
    case_counts = {
        what: _case_table(what, out, figures, sentence_of)
        for what in COUNTED
        if any(f.what == what for f in figures.values())
    }
    cited = {i for inc in out for i in inc.item_ids}
    timeline = [
        TimelineEntry("incident", inc.ref, inc.label, inc.earliest, inc.latest, inc.time_precision) for inc in out
    ]
    for item_id in sorted(cited):
        day = snap.captured.get(item_id)
        if day is not None and any(a.item_id == item_id for inc in out for a in inc.attached):
            item = snap.items[item_id]
            timeline.append(TimelineEntry("item", item.sha256, f"{item.media_type} {item.sha256[:12]}", day, day, 1))
    timeline.sort(key=lambda t: (t.earliest, t.latest, t.kind, t.ref))
    decisions = [
        Decision(did, action, body, reason, actor, at, index, did in applied)
        for did, action, body, reason, actor, at, index in snap.decisions
        if not published_only
    ]
    result = Findings(
        title=_title(case),
        checkpoint_size=snap.size,
        checkpoint_root=snap.root,
        checkpoint_note=snap.note,
        incidents=out,
        counts=case_counts,
        items={i: snap.items[i] for i in sorted(cited) if i in snap.items},
        decisions=decisions,
        timeline=timeline,
        claims=snap.claim_count,
        claim_corroboration=claim_corr,
        aliases={
            incidents.ref_of(a): g.ref
            for g in groups
            for a in g.aliases
            if incidents.ref_of(a) not in {i.ref for i in out}  # a split may have given the name back
        },
    )
    return result, groups


def _case_table(
    what: str, found: list[Incident], figures: dict[int, Figure], sentence_of: Callable[[Figure], str | None]
) -> CountTable:
    """The whole case's table of one thing counted: every figure listed, those about the principal incident
    (the one most independent sources give this figure for) reconciled.

    Sources' tolls for the case are nearly always about its central event; a figure for another incident
    (one death in another town) is a part, and compared with the tolls it would read as a low estimate of
    the whole and as a dispute."""
    tables = [(inc, inc.counts[what]) for inc in found if what in inc.counts]
    if not tables:
        return reconcile.table(what, figures.values(), sentence_of)
    principal, _ = max(
        tables, key=lambda t: (t[1].independent_sources + len(t[1].official_history), t[1].conservative or 0)
    )
    inside = {f.claim_id for f in principal.counts[what].figures}
    elsewhere = {f.claim_id for inc, t in tables if inc is not principal for f in t.figures}
    table = reconcile.table(what, figures.values(), sentence_of, lambda f: f.claim_id not in elsewhere)
    others = [inc for inc, _ in tables if inc is not principal]
    if others and inside:
        table.conservative_reason += (
            f"; figures for other incidents ({', '.join(i.label for i in others)}) are listed but not compared"
        )
    return table


def _title(case: Case) -> str:
    return case.config.title or case.path.name


def _attached(snap: _Snapshot, g: Group) -> list[AttachedItem]:
    out: dict[int, AttachedItem] = {}
    for sha, via in g.attached.items():
        item_id = snap.by_sha.get(sha)
        if item_id is None:
            continue
        members = [item_id]
        if via == "cluster" and item_id in snap.clusters:
            cluster = snap.clusters[item_id]
            members = sorted(i for i, c in snap.clusters.items() if c == cluster)
        for m in members:
            item = snap.items[m]
            out.setdefault(m, AttachedItem(m, item.sha256, item.media_type, via))
    return [out[k] for k in sorted(out)]


# ---- analysts' decisions -------------------------------------------------------


def _group(case: Case, ref: str) -> Group:
    _, groups = _compute(case)
    ref = ref.strip()
    for g in groups:
        if g.ref == ref:
            return g
    for g in groups:  # the name of an incident merged into another (and not reused since by a split)
        if ref in {incidents.ref_of(a) for a in g.aliases}:
            return g
    raise FindingsError(f"no incident {ref!r} (incidents are named like I-3fa9c2d1e0)")


def merge(case: Case, into: str, other: str, *, actor: str, reason: str | None = None) -> int:
    """Merge incident ``other`` into ``into``; ``into`` keeps its name."""
    a, b = _group(case, into), _group(case, other)
    if a is b:
        raise FindingsError("an incident cannot be merged with itself")
    return _decide(case, "merge", {"into": a.anchor, "from": b.anchor}, actor=actor, reason=reason)


def split(case: Case, ref: str, claim_ids: list[int], *, actor: str, reason: str | None = None) -> int:
    """Take the reports (event claims) ``claim_ids`` out of incident ``ref`` into a new incident of their own."""
    g = _group(case, ref)
    wanted = set(claim_ids)
    moved = sorted({r.digest for r in g.records if r.claim_id in wanted})
    if not moved:
        raise FindingsError(f"none of claims {sorted(wanted)} is a report of incident {ref}")
    if len(moved) == len({r.digest for r in g.records}):
        raise FindingsError("a split must leave at least one report in the incident")
    missing = wanted - {r.claim_id for r in g.records}
    if missing:
        raise FindingsError(f"claims {sorted(missing)} are not reports of incident {ref}")
    return _decide(case, "split", {"claims": moved}, actor=actor, reason=reason)


def attach(case: Case, ref: str, item_ref: str, *, cluster: bool = False, actor: str, reason: str | None = None) -> int:
    """Attach an item (or, with ``cluster``, its whole media cluster) to incident ``ref`` as evidence of it."""
    g = _group(case, ref)
    item = case.resolve(item_ref)
    return _decide(
        case,
        "attach",
        {"incident": g.anchor, "item": item.sha256, "via": "cluster" if cluster else "item"},
        actor=actor,
        reason=reason,
    )


def detach(case: Case, ref: str, item_ref: str, *, actor: str, reason: str | None = None) -> int:
    g = _group(case, ref)
    item = case.resolve(item_ref)
    if item.sha256 not in g.attached:
        raise FindingsError(f"item {item.sha256[:12]} is not attached to incident {ref}")
    return _decide(case, "detach", {"incident": g.anchor, "item": item.sha256}, actor=actor, reason=reason)


def _decide(case: Case, action: str, body: dict[str, Any], *, actor: str, reason: str | None) -> int:
    if action not in ACTIONS:
        raise FindingsError(f"action {action!r}: one of {', '.join(ACTIONS)}")
    reason = reason.strip() if reason and reason.strip() else None
    if reason is not None and len(reason) > MAX_REASON:
        raise FindingsError(f"the reason is longer than {MAX_REASON:,} characters")
    case.log._require_signer()
    text = claimsmod.canonical(body)
    now = custody.vault_clock()
    with dbengine.write_transaction(case.engine) as conn:
        head = case.log.head(conn, lock=True)
        entry = custody.encode_entry(
            head.size,
            custody.INCIDENT_DECIDED,
            head.checkpoint_size,
            head.checkpoint_root,
            decision=action,
            decision_sha256=claimsmod.sha256_text(text),
            reason_sha256=claimsmod.sha256_text(reason) if reason is not None else None,
            actor=actor,
            at_vault_clock=now,
        )
        did = conn.execute(
            insert(IncidentDecision)
            .values(action=action, body=text, reason=reason, log_index=head.size, actor=actor, at_vault_clock=now)
            .returning(IncidentDecision.id)
        ).scalar_one()
        case.log.append(conn, [entry])
        case.log.checkpoint(conn, now)
    return int(did)


def resolve_ref(case: Case, ref: str) -> Incident:
    """The incident named ``ref`` now; after a merge, its old name finds the incident it went into."""
    result, _ = _compute(case)
    found = result.incident(ref)
    if found is not None:
        return found
    raise FindingsError(f"no incident {ref!r}")


def figures_of(result: Findings) -> list[Figure]:
    """Every figure in the case's count tables, once each."""
    return [f for t in result.counts.values() for f in t.figures]


__all__ = [
    "ACTIONS",
    "FindingsError",
    "attach",
    "detach",
    "figures_of",
    "findings",
    "merge",
    "resolve_ref",
    "split",
]
