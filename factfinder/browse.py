"""Finding items: the filters and search behind the item list, for pages and API alike.

Observers see only published items; the restriction is applied here, in the
query, so no page or endpoint can forget it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from factfinder import search
from factfinder.db.models import Item, Publication, Receipt
from factfinder.vault.case import Case
from factfinder.vault.errors import ItemNotFoundError

PAGE = 50


@dataclass
class Filters:
    q: str | None = None
    channel: str | None = None
    source: str | None = None
    media_type: str | None = None
    received_from: str | None = None  # ISO date or date-time, compared with the vault clock
    received_to: str | None = None
    page: int = 1
    only_published: bool = False


@dataclass
class Listing:
    items: list[tuple[Item, int, bool]]  # item, receipts, published
    total: int
    page: int
    pages: int
    channels: list[str] = field(default_factory=list)
    media_types: list[str] = field(default_factory=list)


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def list_items(case: Case, f: Filters) -> Listing:
    page = max(1, f.page)
    with Session(case.engine) as s:
        q = select(Item.id)
        if f.only_published:
            q = q.where(Item.id.in_(select(Publication.item_id)))
        if channel := _clean(f.channel):
            q = q.where(Item.id.in_(select(Receipt.item_id).where(Receipt.channel == channel)))
        if source := _clean(f.source):
            q = q.where(Item.id.in_(select(Receipt.item_id).where(Receipt.source.contains(source, autoescape=True))))
        if media := _clean(f.media_type):
            q = q.where(Item.media_type.startswith(media, autoescape=True))
        if start := _clean(f.received_from):
            q = q.where(Item.received_at_vault_clock >= start)
        if end := _clean(f.received_to):
            q = q.where(Item.received_at_vault_clock < end + "\uffff")  # a date includes its whole day
        order: list[int] | None = None
        if text := _clean(f.q):
            order = search.matching_item_ids(s.connection(), text)
            q = q.where(Item.id.in_(order))
        ids = list(s.scalars(q))
        if order is not None:
            rank = {item_id: i for i, item_id in enumerate(order)}
            ids.sort(key=lambda i: rank[i])
        else:
            ids.sort(reverse=True)  # newest first
        total = len(ids)
        chosen = ids[(page - 1) * PAGE : page * PAGE]
        rows = {
            item.id: (item, int(n))
            for item, n in s.execute(
                select(Item, func.count(Receipt.id))
                .join(Receipt, Receipt.item_id == Item.id)
                .where(Item.id.in_(chosen))
                .group_by(Item.id)
            ).all()
        }
        published = set(s.scalars(select(Publication.item_id).where(Publication.item_id.in_(chosen))))
        channels = sorted(s.scalars(select(Receipt.channel).distinct()))
        media_types = sorted(s.scalars(select(Item.media_type).distinct()))
        s.expunge_all()
    return Listing(
        [(rows[i][0], rows[i][1], i in published) for i in chosen if i in rows],
        total,
        page,
        max(1, -(-total // PAGE)),
        channels,
        media_types,
    )


def visible_item(case: Case, ref: str, *, only_published: bool) -> Item:
    """The item ``ref`` names, if the caller may see it; otherwise as if it did not exist."""
    item = case.resolve(ref)
    if only_published and not is_published(case, item.id):
        raise ItemNotFoundError(f"no item with a digest starting {ref}")
    return item


def is_published(case: Case, item_id: int) -> bool:
    with case.engine.connect() as conn:
        return conn.execute(select(Publication.item_id).where(Publication.item_id == item_id)).first() is not None
