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
read from the masked text are offsets into the original's text too. The
answers are found by parsing the whole original (not by searching its text),
and it errs towards hiding: an element of a sealed question's name is masked
to its closing tag wherever it sits (a repeat, a group, everything inside
it), and an original that cannot be parsed here is masked whole.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from xml.parsers import expat

from sqlalchemy import Connection, select

from factfinder.db.models import Item, OriginEntry, ProtectedField, Receipt
from factfinder.vault.sealing import ANSWER_PREFIX

MASK = "█"
"""One per masked character: plainly a mask, and no word for the search index or the claims reader."""


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


def answer_spans(data: bytes, questions: Iterable[str]) -> list[tuple[int, int]] | None:
    """Byte spans ``[start, end)`` of the content of every outermost element named as one of ``questions``.

    Read by expat, the parser the submission was checked with, so no
    attribute, comment, CDATA section or nested element of the same name can
    hide an answer from it. None when the bytes are not UTF-8 XML without a
    DTD (the caller then masks everything): a submission is refused at intake
    unless it is.
    """
    names = set(questions)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    parser = expat.ParserCreate(namespace_separator=" ")  # an element's name arrives as "namespace local"
    spans: list[tuple[int, int]] = []
    depth = 0  # elements open inside the answer being masked (0: outside any)
    start = -1
    pending = False  # the answer's content starts at the next event, right after its start tag

    def event() -> None:
        nonlocal pending, start
        if pending:
            start, pending = parser.CurrentByteIndex, False

    def opened(name: str, _attributes: object) -> None:
        nonlocal depth, pending
        event()
        if depth:
            depth += 1
        elif name.rsplit(" ", 1)[-1] in names:
            depth, pending = 1, True

    def closed(_name: str) -> None:
        nonlocal depth
        event()
        if depth:
            depth -= 1
            if not depth:
                spans.append((start, parser.CurrentByteIndex))

    def refuse(*_args: object) -> None:
        raise ValueError("a DTD")

    parser.StartElementHandler = opened
    parser.EndElementHandler = closed
    parser.CharacterDataHandler = lambda _text: event()
    parser.CommentHandler = lambda _text: event()
    parser.ProcessingInstructionHandler = lambda _target, _text: event()
    parser.StartCdataSectionHandler = event
    parser.StartDoctypeDeclHandler = refuse
    try:
        parser.Parse(data, True)
    except (expat.ExpatError, ValueError):
        return None
    return spans


def mask(data: bytes, questions: Iterable[str], text: str | None = None) -> str:
    """``text`` (by default all of ``data``, decoded) with the answers to ``questions`` masked, one mask per character.

    ``text`` is ``data``, or its beginning, decoded as UTF-8 (a cut through a
    character decoded as a replacement character): what the preview, the
    search index and the claims reader take from the original. Every span
    starts right after a ``>`` and ends at a ``<``, so its character offsets
    are the same in any such text.
    """
    if text is None:
        text = data.decode("utf-8", errors="replace")
    names = sorted(set(questions))
    if not names:
        return text
    spans = answer_spans(data, names)
    if spans is None:
        return MASK * len(text)  # cannot tell where the answers are: hide it all
    pieces: list[str] = []
    done = at_byte = at_char = 0
    for first, end in spans:
        begin = at_char + len(data[at_byte:first].decode("utf-8"))
        stop = begin + len(data[first:end].decode("utf-8"))
        at_byte, at_char = end, stop
        if begin >= len(text):
            break
        stop = min(stop, len(text))
        pieces += [text[done:begin], MASK * (stop - begin)]
        done = stop
    pieces.append(text[done:])
    return "".join(pieces)


def mask_original(original: Path, questions: Iterable[str], text: str) -> str:
    """``text``, taken from the file ``original``, with the answers to ``questions`` masked (read only if any)."""
    names = tuple(questions)
    return mask(original.read_bytes(), names, text) if names else text


def masked_bytes(conn: Connection, item_id: int, original: Path) -> bytes | None:
    """The original's bytes with its sealed answers masked, as UTF-8; None when the item has none to mask."""
    questions = sealed_questions(conn, [item_id]).get(item_id)
    if not questions:
        return None
    return mask(original.read_bytes(), questions).encode("utf-8")
