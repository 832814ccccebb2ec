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
COUNT_CAP = 10_000  # a list says "10,000+" beyond this: counting every match of a common word is waste
_facets: dict[tuple[str, int], tuple[list[str], list[str]]] = {}


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
    """One page of items, newest first, with the total (counted up to :data:`COUNT_CAP`).

    Everything happens in SQL with LIMIT/OFFSET: a list over 200,000 items
    never loads more than a page of them. With a search, the full-text index
    drives the query in its own (newest first) order, so that a common word
    costs a page's worth of work, not one per matching testimony.
    """
    page = max(1, f.page)
    with Session(case.engine) as s:
        if text := _clean(f.q):
            q, order = search.matching(s.connection().dialect.name, text)
        else:
            q, order = select(Item.id), Item.id.desc()
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
        chosen = list(s.scalars(q.order_by(order).limit(PAGE).offset((page - 1) * PAGE)))
        total = int(s.scalar(select(func.count()).select_from(q.limit(COUNT_CAP + 1).subquery())) or 0)
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
        s.expunge_all()
    channels, media_types = facets(case)
    return Listing(
        [(rows[i][0], rows[i][1], i in published) for i in chosen if i in rows],
        total,
        page,
        max(1, -(-total // PAGE)),
        channels,
        media_types,
    )


def facets(case: Case) -> tuple[list[str], list[str]]:
    """The channels and media types in the case, for the filter menus; recomputed when the log grows."""
    with case.engine.connect() as conn:
        key = (case.config.case_id, case.log.size(conn))
        if key not in _facets:
            channels = sorted(conn.execute(select(Receipt.channel).distinct()).scalars())
            media_types = sorted(conn.execute(select(Item.media_type).distinct()).scalars())
            _facets.clear()
            _facets[key] = (channels, media_types)
    return _facets[key]


def visible_item(case: Case, ref: str, *, only_published: bool) -> Item:
    """The item ``ref`` names, if the caller may see it; otherwise as if it did not exist."""
    item = case.resolve(ref)
    if only_published and not is_published(case, item.id):
        raise ItemNotFoundError(f"no item with a digest starting {ref}")
    return item


def is_published(case: Case, item_id: int) -> bool:
    with case.engine.connect() as conn:
        return conn.execute(select(Publication.item_id).where(Publication.item_id == item_id)).first() is not None
