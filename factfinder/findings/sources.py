"""Sources: who gives a claim, what kind of source that is, and which claims share one origin.

Corroboration needs independent sources. Two outlets printing the Interior
Ministry's figure are one source (the ministry), not three; a reprint of a
report under another masthead is the report again. So each claim is given an
**origin**: the named body the text cites ("..., the Interior Ministry said"),
else the outlet that published the item. Generic sources ("witnesses",
"residents") are not one body across reports: each report's witnesses are its
own, so their origin is the report's publisher.

Source types follow the split a commission's count table needs: official,
independent media, NGO, witness, hospital or morgue. They are read from the
name with the word lists in ``data/sources.yaml``; a name no list knows is
"unknown", never guessed.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any, cast

import yaml

from factfinder.findings.model import Source, SourceType
from factfinder.text import names

_WORD_START = r"(?<![\w])"
_WORD_END = r"(?![\w])"
_LEADING = re.compile(
    r"^(?:according to|citing|cited by|as reported by|reported by|told|by|the|a|an|по данным|по словам|согласно)\s+",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class _Body:
    name: str
    type: SourceType
    pattern: re.Pattern[str]


def _alternation(patterns: list[str]) -> re.Pattern[str]:
    ordered = sorted(patterns, key=len, reverse=True)
    return re.compile(_WORD_START + "(?:" + "|".join(f"(?:{p})" for p in ordered) + ")" + _WORD_END, re.IGNORECASE)


@functools.cache
def _lexicon() -> tuple[list[_Body], re.Pattern[str], list[tuple[SourceType, re.Pattern[str]]]]:
    path = resources.files("factfinder.findings") / "data" / "sources.yaml"
    with path.open(encoding="utf-8") as fh:
        data: dict[str, Any] = yaml.safe_load(fh)
    bodies = [_Body(b["name"], b["type"], _alternation(b["patterns"])) for b in data["bodies"]]
    generic = re.compile(r"^(?:" + "|".join(data["generic"]) + r")$", re.IGNORECASE)
    types = [(cast(SourceType, t), _alternation(p)) for t, p in data["types"].items()]
    return bodies, generic, types


def clean(name: str) -> str:
    """A source's name without the words that introduce it ("according to the", "citing")."""
    name = " ".join(name.split()).strip(" ,.;:\"'«»“”")
    while True:
        shorter = _LEADING.sub("", name)
        if shorter == name:
            return name
        name = shorter


def source_type(name: str | None) -> SourceType:
    """The type of a source from its name; "unknown" when no word list knows it."""
    if not name:
        return "unknown"
    bodies, _, types = _lexicon()
    for body in bodies:
        if body.pattern.search(name):
            return body.type
    for kind, pattern in types:
        if pattern.search(name):
            return kind
    return "unknown"


def is_generic(name: str) -> bool:
    """Whether ``name`` is a kind of person rather than one body ("witnesses", "local residents")."""
    return bool(_lexicon()[1].match(clean(name)))


def body_of(name: str) -> str | None:
    """The canonical name of the known body ``name`` refers to, if any ("МВД" -> "Interior Ministry")."""
    for body in _lexicon()[0]:
        if body.pattern.search(name):
            return body.name
    return None


def source_of(cited: str | None, publisher: str | None, item_sha256: str) -> Source:
    """Who gives a claim: the source its text cites, else its item's publisher; with its origin key.

    The origin of a known body is the body, however it is spelled or whoever relays it; of a named
    source, that name, so an outlet cited by another is the same origin as the outlet's own reports;
    of a generic source ("witnesses"), the report's publisher, whose sources they are; of an item with
    no publisher named, the item alone."""
    publisher = clean(publisher) if publisher else None
    home = f"source:{names.fold(publisher)}" if publisher and names.fold(publisher) else f"item:{item_sha256}"
    own_body = body_of(publisher) if publisher else None
    if own_body is not None:  # the ministry's own statement is the ministry, however the receipt spells it
        home = f"body:{names.fold(own_body)}"
    if cited and clean(cited):
        name = clean(cited)
        if publisher and names.fold(name) and names.fold(name) in names.fold(publisher):
            # "the Bureau said" in the Bureau's own report, "the ministry" in the ministry's statement
            return Source(publisher, source_type(publisher), home, False)
        body = body_of(name)
        if body is not None:
            return Source(body, source_type(body), f"body:{names.fold(body)}", True)
        if is_generic(name):
            return Source(name, source_type(name), home, True)
        key = names.fold(name)
        return Source(name, source_type(name), f"source:{key}" if key else home, True)
    if publisher:
        return Source(publisher, source_type(publisher), home, False)
    return Source("unnamed source", "unknown", home, False)
