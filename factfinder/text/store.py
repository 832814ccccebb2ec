"""Claims in a case: reading text items once per extractor version, listing claims, analysts' reviews.

The extractor's claims are derived data, kept so they can be listed, filtered
and reviewed without reading every text again; the same item and extractor
version always give the same claims. An analyst's decision is evidence of a
different kind: who judged which claim, how, and why. It is a custody entry
(``claim.reviewed``) naming the SHA-256 of the claim judged and, for a
correction, of the new claim that replaces it; the extractor's claim itself
is never edited, so what the machine read and what a person decided stay
apart and both can be checked later.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import Select, delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from factfinder.db import engine as dbengine
from factfinder.db.models import ClaimReview, Item, Publication, Receipt, TextClaim, TextReading
from factfinder.text import claims as claimsmod
from factfinder.text import corrections
from factfinder.text.claims import KINDS, VERSION, Claim
from factfinder.text.corrections import ClaimError
from factfinder.vault import custody, masking
from factfinder.vault.case import Case

MAX_TEXT_BYTES = 2 << 20
"""Longer texts are read up to this many bytes (claims in the rest are missed, and said so)."""

BATCH = 50

Decision = Literal["confirmed", "corrected", "rejected"]
DECISIONS: tuple[Decision, ...] = ("confirmed", "corrected", "rejected")


@dataclass
class ReadReport:
    read: int = 0
    claims: int = 0
    skipped: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)


LIST_CHANNEL = "victim-list"
"""The channel of a file imported as a victim list (``factfinder.findings.persons``): a table of people, not a
text about events. Read as text, its rows ("Жумабаев Ерлан, погиб, Жанаозен") would become claims and count
the same deaths again in the findings, so an item that only ever arrived that way is not read."""


def _arrived_as_text() -> Any:
    """Items with at least one receipt from a channel other than ``LIST_CHANNEL``."""
    return Item.id.in_(select(Receipt.item_id).where(Receipt.channel != LIST_CHANNEL))


def is_text(item: Item) -> bool:
    return item.media_type.startswith("text/") and item.size > 0


def published_of(item: Item, receipts: list[Receipt]) -> date:
    """The date relative dates in an item are read against: the claimed collection (publication)
    date of its first receipt when one was given, else the day the vault received it."""
    for r in receipts:
        if r.collected_at_claimed:
            try:
                return datetime.fromisoformat(r.collected_at_claimed.replace("Z", "+00:00")).date()
            except ValueError:
                continue
    return datetime.fromisoformat(item.received_at_vault_clock.replace("Z", "+00:00")).date()


def item_text(case: Case, item: Item, *, sealed: tuple[str, ...] | None = None) -> str:
    """The text the claims are read from (its first ``MAX_TEXT_BYTES``), sealed answers masked.

    Masking keeps every character's place, so a claim's offsets hold in the
    original's text as well. ``sealed``: the item's sealed questions when the
    caller has looked them up for a whole batch."""
    path = case.blobs.path(item.sha256)
    with open(path, "rb") as fh:
        text = fh.read(MAX_TEXT_BYTES).decode("utf-8", errors="replace").replace("\x00", " ")
    if sealed is None:
        with case.engine.connect() as conn:
            sealed = masking.sealed_questions(conn, [item.id]).get(item.id, ())
    return masking.mask_original(path, sealed, text)


def _row(item_id: int, c: Claim, now: str, *, author: str | None = None, corrects: int | None = None) -> dict[str, Any]:
    body = claimsmod.canonical(c.to_json())
    return {
        "item_id": item_id,
        "kind": c.kind,
        "start": c.start,
        "end": c.end,
        "quote": c.quote,
        "body": body,
        "digest": c.digest(),
        "extractor": c.extractor,
        "version": c.version,
        "author": author,
        "corrects_id": corrects,
        "created_at_vault_clock": now,
    }


def unread(case: Case, digests: list[str]) -> list[str]:
    """Those of ``digests`` that are text items not yet read by this extractor version."""
    with Session(case.engine) as s:
        done = select(TextReading.item_id).where(TextReading.version == VERSION)
        q = select(Item).where(Item.sha256.in_(sorted(set(digests))), ~Item.id.in_(done), _arrived_as_text())
        return [i.sha256 for i in s.scalars(q) if is_text(i)]


def read_items(case: Case, digests: list[str] | None = None, *, again: bool = False) -> ReadReport:
    """Extract the claims of text items not yet read by this extractor version (or all, ``again``).

    Each batch is one transaction, so an interrupted run resumes where it
    stopped. Claims an analyst has reviewed are kept when an item is read again."""
    report = ReadReport()
    with Session(case.engine) as s:
        q = select(Item).options(selectinload(Item.receipts)).where(_arrived_as_text()).order_by(Item.id)
        if digests is not None:
            q = q.where(Item.sha256.in_(sorted(set(digests))))
        if not again:
            done = select(TextReading.item_id).where(TextReading.version == VERSION)
            q = q.where(~Item.id.in_(done))
        items = [i for i in s.scalars(q) if is_text(i)]
        s.expunge_all()
    for start in range(0, len(items), BATCH):
        batch = items[start : start + BATCH]
        with case.engine.connect() as conn:
            sealed = masking.sealed_questions(conn, [i.id for i in batch])
        now = custody.vault_clock()
        readings: list[dict[str, Any]] = []
        rows: list[dict[str, Any]] = []
        for item in batch:
            published = published_of(item, list(item.receipts))
            status, error, lang = "read", None, "en"
            try:
                text = item_text(case, item, sealed=sealed.get(item.id, ()))
                if not text.strip():
                    status = "empty"
                else:
                    doc = claimsmod.document(text, published)
                    lang = doc.lang
                    found = claimsmod.claims(claimsmod.read(doc))
                    rows += [_row(item.id, c, now) for c in found]
                    report.claims += len(found)
            except (OSError, ValueError) as exc:  # a damaged blob or text: that item only
                status, error = "error", f"{type(exc).__name__}: {exc}"[:500]
                report.errors.append((item.sha256, error))
            readings.append(
                {
                    "item_id": item.id,
                    "version": VERSION,
                    "lang": lang,
                    "published": published.isoformat(),
                    "status": status,
                    "error": error,
                    "read_at_vault_clock": now,
                }
            )
        ids = [i.id for i in batch]
        with dbengine.write_transaction(case.engine) as conn:
            reviewed = select(ClaimReview.claim_id)
            conn.execute(
                delete(TextClaim).where(
                    TextClaim.item_id.in_(ids),
                    TextClaim.author.is_(None),
                    ~TextClaim.id.in_(reviewed),
                )
            )
            conn.execute(delete(TextReading).where(TextReading.item_id.in_(ids)))
            conn.execute(insert(TextReading), readings)
            kept = {  # reviewed claims stayed: the same claim read again is not added twice
                (item_id, digest)
                for item_id, digest in conn.execute(
                    select(TextClaim.item_id, TextClaim.digest).where(
                        TextClaim.item_id.in_(ids), TextClaim.author.is_(None), TextClaim.version == VERSION
                    )
                )
            }
            rows = [r for r in rows if (r["item_id"], r["digest"]) not in kept]
            if rows:
                conn.execute(insert(TextClaim), rows)
        report.read += len(batch)
    return report


@dataclass(frozen=True)
class StoredClaim:
    """A claim as the case holds it, with the latest review of it (if any)."""

    id: int
    item_id: int
    item_sha256: str
    body: dict[str, Any]
    author: str | None
    corrects_id: int | None
    decision: str | None
    reviewed_by: str | None

    @property
    def kind(self) -> str:
        return str(self.body["kind"])


def _claims_query(
    *,
    item: Item | None,
    kind: str | None,
    decision: str | None,
    event_type: str | None,
    what: str | None,
    query: str | None,
    published_only: bool,
) -> Select[TextClaim, str, ClaimReview]:
    """The filtered claims joined to their item and their latest review (if any), unordered."""
    if kind is not None and kind not in KINDS:
        raise ClaimError(f"kind {kind!r}: one of {', '.join(KINDS)}")
    if decision is not None and decision not in ("unreviewed", *DECISIONS):
        raise ClaimError(f"review state {decision!r}: one of unreviewed, {', '.join(DECISIONS)}")
    newest = (
        select(ClaimReview.claim_id, func.max(ClaimReview.id).label("review_id"))
        .group_by(ClaimReview.claim_id)
        .subquery()
    )
    q = (
        select(TextClaim, Item.sha256, ClaimReview)
        .join(Item, Item.id == TextClaim.item_id)
        .outerjoin(newest, newest.c.claim_id == TextClaim.id)
        .outerjoin(ClaimReview, ClaimReview.id == newest.c.review_id)
        .where((TextClaim.version == VERSION) | TextClaim.author.isnot(None))
    )
    if item is not None:
        q = q.where(TextClaim.item_id == item.id)
    if published_only:
        q = q.join(Publication, Publication.item_id == TextClaim.item_id)
    if kind is not None:
        q = q.where(TextClaim.kind == kind)
    if decision == "unreviewed":
        q = q.where(ClaimReview.id.is_(None))
    elif decision is not None:
        q = q.where(ClaimReview.decision == decision)
    # The body is canonical JSON (sorted keys, no spaces), so a field's value is an exact substring.
    if event_type is not None:
        q = q.where(TextClaim.body.contains(_pair("event_type", event_type), autoescape=True))
    if what is not None:
        q = q.where(TextClaim.body.contains(_pair("what", what), autoescape=True))
    if query:
        q = q.where(func.lower(TextClaim.quote).contains(query.lower(), autoescape=True))
    return q


def _pair(name: str, value: str) -> str:
    return claimsmod.canonical({name: value})[1:-1]


def list_claims(
    case: Case,
    *,
    item: Item | None = None,
    kind: str | None = None,
    decision: str | None = None,
    event_type: str | None = None,
    what: str | None = None,
    query: str | None = None,
    published_only: bool = False,
    limit: int = 500,
    offset: int = 0,
) -> list[StoredClaim]:
    """Current claims (this extractor version's and analysts'), each with its latest review, filtered and
    paged in the database, in text order item by item.

    ``decision`` is "confirmed", "corrected", "rejected" or "unreviewed"; ``query`` matches the quoted
    words (case-insensitive, literally: % and _ are not wildcards); ``published_only`` keeps the claims
    of published items (what an observer may see)."""
    q = _claims_query(
        item=item,
        kind=kind,
        decision=decision,
        event_type=event_type,
        what=what,
        query=query,
        published_only=published_only,
    )
    q = q.order_by(TextClaim.item_id, TextClaim.start, TextClaim.id).limit(limit).offset(offset)
    with Session(case.engine) as s:
        rows = s.execute(q).all()
        return [_stored(claim, sha, rv) for claim, sha, rv in rows]


def count_claims(
    case: Case,
    *,
    item: Item | None = None,
    kind: str | None = None,
    decision: str | None = None,
    event_type: str | None = None,
    what: str | None = None,
    query: str | None = None,
    published_only: bool = False,
) -> int:
    """How many claims ``list_claims`` would give with the same filters and no limit."""
    q = _claims_query(
        item=item,
        kind=kind,
        decision=decision,
        event_type=event_type,
        what=what,
        query=query,
        published_only=published_only,
    )
    with Session(case.engine) as s:
        return int(s.scalar(select(func.count()).select_from(q.subquery())) or 0)


def get_claim(case: Case, claim_id: int) -> StoredClaim:
    with Session(case.engine) as s:
        row = s.execute(
            select(TextClaim, Item.sha256).join(Item, Item.id == TextClaim.item_id).where(TextClaim.id == claim_id)
        ).first()
        if row is None:
            raise ClaimError(f"no claim {claim_id}")
        rv = s.scalars(
            select(ClaimReview).where(ClaimReview.claim_id == claim_id).order_by(ClaimReview.id.desc()).limit(1)
        ).first()
        claim, sha = row
        return _stored(claim, sha, rv)


def _stored(claim: TextClaim, sha: str, rv: ClaimReview | None) -> StoredClaim:
    """A claim row, its item's digest and its latest review (if any), as the rest of the app sees them."""
    return StoredClaim(
        claim.id,
        claim.item_id,
        sha,
        json.loads(claim.body),
        claim.author,
        claim.corrects_id,
        rv.decision if rv is not None else None,
        rv.actor if rv is not None else None,
    )


def review(
    case: Case,
    claim_id: int,
    decision: str,
    *,
    actor: str,
    reason: str | None = None,
    correction: dict[str, Any] | None = None,
) -> int:
    """Record an analyst's decision on a claim; return the id of the review.

    A correction is a new claim by ``actor`` (the original's span and kind, the
    corrected fields changed), recorded together with the review in one
    transaction and one custody entry."""
    if decision not in DECISIONS:
        raise ClaimError(f"decision {decision!r}: one of {', '.join(DECISIONS)}")
    if (decision == "corrected") != (correction is not None):
        raise ClaimError("a correction needs the corrected fields, and only a correction has them")
    reason = reason.strip() if reason and reason.strip() else None
    if reason is not None and len(reason) > 4000:
        raise ClaimError("the reason is longer than 4,000 characters")
    original = get_claim(case, claim_id)
    new_body: dict[str, Any] | None = None
    if correction is not None:
        checked = corrections.check_correction(original.kind, original.body, correction)
        new_body = {**original.body, **checked, "extractor": "analyst", "version": VERSION}
        if new_body == {**original.body, "extractor": "analyst", "version": VERSION}:
            raise ClaimError("the correction changes nothing; confirm the claim instead")
    case.log._require_signer()
    now = custody.vault_clock()
    try:
        return _record_review(case, original, decision, actor, reason, new_body, now)
    except IntegrityError as exc:  # the claim went while we judged it (the item was read again)
        raise ClaimError(f"claim {claim_id} changed while it was being reviewed; look at it again") from exc


def _record_review(
    case: Case,
    original: StoredClaim,
    decision: str,
    actor: str,
    reason: str | None,
    new_body: dict[str, Any] | None,
    now: str,
) -> int:
    with dbengine.write_transaction(case.engine) as conn:
        head = case.log.head(conn, lock=True)
        correction_id: int | None = None
        correction_sha: str | None = None
        if new_body is not None:
            body = claimsmod.canonical(new_body)
            correction_sha = claimsmod.sha256_text(body)
            correction_id = conn.execute(
                insert(TextClaim)
                .values(
                    item_id=original.item_id,
                    kind=original.kind,
                    start=new_body["start"],
                    end=new_body["end"],
                    quote=new_body["quote"],
                    body=body,
                    digest=correction_sha,
                    extractor="analyst",
                    version=VERSION,
                    author=actor,
                    corrects_id=original.id,
                    created_at_vault_clock=now,
                )
                .returning(TextClaim.id)
            ).scalar_one()
        entry = custody.encode_entry(
            head.size,
            custody.CLAIM_REVIEWED,
            head.checkpoint_size,
            head.checkpoint_root,
            item_sha256=original.item_sha256,
            claim_sha256=claimsmod.sha256_text(claimsmod.canonical(original.body)),
            decision=decision,
            correction_sha256=correction_sha,
            reason_sha256=claimsmod.sha256_text(reason) if reason is not None else None,
            actor=actor,
            at_vault_clock=now,
        )
        review_id = conn.execute(
            insert(ClaimReview)
            .values(
                claim_id=original.id,
                item_id=original.item_id,
                decision=decision,
                correction_id=correction_id,
                reason=reason,
                log_index=head.size,
                actor=actor,
                at_vault_clock=now,
            )
            .returning(ClaimReview.id)
        ).scalar_one()
        case.log.append(conn, [entry])
        case.log.checkpoint(conn, now)
    return int(review_id)


def reviews_of(case: Case, claim_id: int) -> list[ClaimReview]:
    with Session(case.engine) as s:
        out = list(s.scalars(select(ClaimReview).where(ClaimReview.claim_id == claim_id).order_by(ClaimReview.id)))
        s.expunge_all()
        return out
