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

from sqlalchemy import Connection, text

_WORD = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 16


def terms(query: str) -> list[str]:
    """The words of a query, lowercased, at most :data:`MAX_TERMS`."""
    return [w.lower() for w in _WORD.findall(query)][:MAX_TERMS]


def matching_item_ids(conn: Connection, query: str, *, limit: int = 500) -> list[int]:
    """Items whose text holds every word of ``query``, best match first."""
    words = terms(query)
    if not words:
        return []
    if conn.dialect.name == "sqlite":
        fts = " ".join('"' + w.replace('"', '""') + '"' for w in words)
        rows = conn.execute(
            text("SELECT rowid FROM item_texts_fts WHERE item_texts_fts MATCH :q ORDER BY rank LIMIT :n"),
            {"q": fts, "n": limit},
        )
    else:
        rows = conn.execute(
            text(
                "SELECT item_id FROM item_texts, plainto_tsquery('simple', :q) query "
                "WHERE to_tsvector('simple', body) @@ query "
                "ORDER BY ts_rank(to_tsvector('simple', body), query) DESC LIMIT :n"
            ),
            {"q": " ".join(words), "n": limit},
        )
    return [int(r[0]) for r in rows]
