"""Originals that hold sealed answers in clear, and the masked text everyone else is shown.

An unencrypted ODK submission carries the witness's contact (or name, or
phone) as an answer in its XML. The XML is the evidentiary original and is
kept byte for byte, so the answer cannot be taken out of it; instead it is
also sealed as a protected field (``answer:QUESTION``, see
:mod:`factfinder.vault.sealing`) at intake, and wherever the item's text
reaches someone who may not open witness fields (the search index, the
claims read from it, the item page, the download an analyst or observer
gets) the answer's characters are masked.

Masking keeps every other character where it was, so the offsets of claims
read from the masked text are offsets into the original's text too. It errs
towards hiding: an element of a sealed question's name is masked to its
closing tag wherever it sits (a repeat, a group), and to the end of the text
when the text was cut before its closing tag.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from sqlalchemy import Connection, select

from factfinder.db.models import Item, OriginEntry, ProtectedField, Receipt
from factfinder.vault.sealing import ANSWER_PREFIX

MASK = "█"
"""One per masked character: plainly a mask, and no word for the search index or the claims reader."""

_PREFIX = r"(?:[A-Za-z_][\w.-]*:)?"


def sealed_questions(conn: Connection, item_ids: Iterable[int]) -> dict[int, tuple[str, ...]]:
    """The questions whose answers are sealed for each of these items that has any.

    Sealed by any of the item's receipts here, or by a receipt of another
    archive's log that a bundle or a sync brought (those sealed fields stay in
    the mirrored entry's details, sealed to that archive's keys, and are
    never sealed again here: the item is masked all the same)."""
    ids = sorted(set(item_ids))
    found: dict[int, set[str]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = conn.execute(
            select(Receipt.item_id, ProtectedField.field)
            .join(ProtectedField, ProtectedField.receipt_id == Receipt.id)
            .where(Receipt.item_id.in_(chunk), ProtectedField.field.startswith(ANSWER_PREFIX))
        )
        for item_id, name in rows:
            found.setdefault(item_id, set()).add(name.removeprefix(ANSWER_PREFIX))
        mirrored = conn.execute(
            select(Item.id, OriginEntry.details)
            .join(OriginEntry, OriginEntry.item_sha256 == Item.sha256)
            .where(Item.id.in_(chunk), OriginEntry.details.is_not(None))
        )
        for item_id, details in mirrored:
            for name in _sealed_in(details):
                if name.startswith(ANSWER_PREFIX):
                    found.setdefault(item_id, set()).add(name.removeprefix(ANSWER_PREFIX))
    return {item_id: tuple(sorted(names)) for item_id, names in found.items()}


def _sealed_in(details: bytes | None) -> list[str]:
    """The sealed fields' names in a mirrored receipt's details (checked when the entry was taken in)."""
    if details is None:
        return []
    try:
        sealed = json.loads(details).get("sealed")
    except (ValueError, AttributeError):
        return []
    return [name for name in sealed if isinstance(name, str)] if isinstance(sealed, dict) else []


def mask(text: str, questions: Iterable[str]) -> str:
    """``text`` with the content of every element named as one of ``questions`` masked, character for character."""
    names = sorted(set(questions))
    if not names:
        return text
    opening = re.compile(rf"<{_PREFIX}(?P<name>{'|'.join(map(re.escape, names))})(?=[\s/>])[^>]*>")
    pieces: list[str] = []
    done = 0
    for found in opening.finditer(text):
        if found.start() < done or found.group(0).endswith("/>"):
            continue  # inside a span already masked, or an empty element
        closing = re.compile(rf"</{_PREFIX}{re.escape(found['name'])}\s*>").search(text, found.end())
        end = closing.start() if closing is not None else len(text)
        pieces += [text[done : found.end()], MASK * (end - found.end())]
        done = end
    pieces.append(text[done:])
    return "".join(pieces)


def masked_text(conn: Connection, item_id: int, text: str) -> str:
    """The item's ``text`` with its sealed answers masked (unchanged for an item that has none)."""
    return mask(text, sealed_questions(conn, [item_id]).get(item_id, ()))


def masked_bytes(conn: Connection, item_id: int, data: bytes) -> bytes | None:
    """The original's bytes with its sealed answers masked, as UTF-8; None when the item has none to mask."""
    questions = sealed_questions(conn, [item_id]).get(item_id)
    if not questions:
        return None
    return mask(data.decode("utf-8", errors="replace"), questions).encode("utf-8")
