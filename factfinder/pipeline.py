"""Processing steps run on new items: idempotent, resumable, safe to re-run.

Three steps so far:

- the search text of each item (its own text when it is a text file, plus the
  sources, notes and file names of its receipts);
- the media step (``factfinder.media.scan``): metadata, perceptual hashes,
  matches and clusters of every image and video, and their working copies;
- the text step (``factfinder.text.store``): claims read from every text item.

Derived data only; evidence is never touched, and running a step twice
changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session, selectinload

from factfinder.db import engine as dbengine
from factfinder.db.models import Item, ItemText, Receipt
from factfinder.media import scan
from factfinder.text import store as text_store
from factfinder.vault import masking
from factfinder.vault.case import Case


def _item_text(case: Case, item: Item, receipts: list[Receipt], sealed: tuple[str, ...] = ()) -> str:
    """The search text: ``sealed`` names the questions whose answers are masked in it (never searchable)."""
    parts: list[str] = []
    if item.media_type.startswith("text/"):
        parts.append(text_store.item_text(case, item, sealed=sealed))  # its first 2 MiB, as the text step reads it
    for r in receipts:
        parts += [v for v in (r.source, r.note, r.original_name) if v]
    return "\n".join(parts).replace("\x00", " ")  # search text only; PostgreSQL cannot store NUL


def index_items(case: Case, *, only_new: bool = True, digests: Sequence[str] | None = None) -> int:
    """Build the search text of items that have none (or of all); return how many.

    ``digests`` limits the work to those items: what a submission has just
    recorded, so that a request does not scan the whole case for unindexed items.
    """
    with Session(case.engine) as s:
        q = select(Item).options(selectinload(Item.receipts)).order_by(Item.id)
        if only_new:
            q = q.where(~Item.id.in_(select(ItemText.item_id)))
        if digests is not None:
            q = q.where(Item.sha256.in_(sorted(set(digests))))
        items = list(s.scalars(q))
        s.expunge_all()
    done = 0
    for start in range(0, len(items), 500):
        batch = items[start : start + 500]
        with case.engine.connect() as conn:
            sealed = masking.sealed_questions(conn, [i.id for i in batch])
        rows = [{"item_id": i.id, "body": _item_text(case, i, i.receipts, sealed.get(i.id, ()))} for i in batch]
        with dbengine.write_transaction(case.engine) as conn:
            conn.execute(delete(ItemText).where(ItemText.item_id.in_([i.id for i in batch])))
            conn.execute(insert(ItemText), rows)
        done += len(batch)
    return done


def process(
    case: Case,
    digests: Sequence[str] | None = None,
    *,
    media_progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
) -> scan.ScanReport:
    """Run every step on the given items (or on everything not yet processed)."""
    index_items(case, digests=digests)
    text_store.read_items(case, list(digests) if digests is not None else None)
    return scan.scan_case(case, digests=digests, progress=media_progress, workers=workers)
