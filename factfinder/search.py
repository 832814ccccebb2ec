"""Full-text search over testimony text and receipts' notes.

SQLite uses FTS5 (``item_texts_fts``, kept in step with ``item_texts`` by
triggers); PostgreSQL uses ``to_tsvector('simple', ...)`` with a GIN index.
The ``simple`` configuration and FTS5's ``unicode61`` tokenizer both fold case
and work the same for English, Russian and Kazakh, where a stemmer for one
language would mangle the others.

What people type is never passed through as query syntax: each word becomes a
quoted term, all of which must match.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Integer, Select, column, false, select, table, text

from factfinder.db.models import Item, ItemText

_WORD = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 16


def terms(query: str) -> list[str]:
    """The words of a query, lowercased, at most :data:`MAX_TERMS`."""
    return [w.lower() for w in _WORD.findall(query)][:MAX_TERMS]


def matching(dialect: str, query: str) -> tuple[Select[int], Any]:
    """A query for the ids of items holding every word of ``query``, and the order to list them in.

    Newest first, in the index's own order: on SQLite the FTS5 table drives
    the join and yields rowids in descending order, so ``LIMIT`` stops after a
    page even when a common word matches most of the case.
    """
    words = terms(query)
    if not words:  # only punctuation: match nothing rather than everything (or a syntax error)
        return select(Item.id).where(false()), Item.id.desc()
    if dialect == "sqlite":
        fts = table("item_texts_fts", column("rowid", Integer))
        expr = " ".join('"' + w.replace('"', '""') + '"' for w in words)
        q = (
            select(Item.id)
            .select_from(fts)
            .join(Item, Item.id == fts.c.rowid)
            .where(text("item_texts_fts MATCH :fts_query").bindparams(fts_query=expr))
        )
        return q, fts.c.rowid.desc()
    q = (
        select(Item.id)
        .join(ItemText, ItemText.item_id == Item.id)
        .where(
            text("to_tsvector('simple', item_texts.body) @@ plainto_tsquery('simple', :fts_query)").bindparams(
                fts_query=" ".join(words)
            )
        )
    )
    return q, Item.id.desc()
