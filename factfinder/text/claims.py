"""Claims: what a text states, each tied to its exact words, and how the text holds it.

A claim is one statement of one kind (a count, a place, a date, an actor, an
event) with the character span it was read from, the sentence around it, the
extractor and its version, and its stance (reported, hedged, negated, future).
Claims are derived data: the same text and extractor version always give the
same claims, so they can be thrown away and made again. What an analyst says
about a claim (confirmed, corrected, rejected) is not derived: it is a custody
entry (``factfinder.text.store``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from factfinder.text import actors, counts, dates, events, gazetteer, language, sentences, stance
from factfinder.text.events import Cue
from factfinder.text.model import (
    ActorMention,
    CountMention,
    DateMention,
    Document,
    EventMention,
    PlaceMention,
    Sentence,
    Stance,
)

EXTRACTOR = "factfinder.text"
VERSION = "1"
"""Raised whenever a change to the rules or lexicons changes what is extracted, so stored claims
of an older version are known to be stale and made again."""

ClaimKind = Literal["count", "place", "date", "actor", "event"]
KINDS: tuple[ClaimKind, ...] = ("count", "place", "date", "actor", "event")


@dataclass(frozen=True)
class Claim:
    kind: ClaimKind
    start: int
    end: int
    quote: str
    sentence_start: int
    sentence_end: int
    stance: Stance
    data: dict[str, Any] = field(hash=False)
    extractor: str = EXTRACTOR
    version: str = VERSION

    def to_json(self) -> dict[str, Any]:
        """The claim as JSON: the form `text claims` prints and the store keeps."""
        return {
            "kind": self.kind,
            "start": self.start,
            "end": self.end,
            "quote": self.quote,
            "sentence": [self.sentence_start, self.sentence_end],
            "reported": self.stance.reported,
            "source": self.stance.source,
            "hedged": self.stance.hedged,
            "negated": self.stance.negated,
            "future": self.stance.future,
            **self.data,
            "extractor": self.extractor,
            "version": self.version,
        }

    def digest(self) -> str:
        """SHA-256 of the claim's canonical JSON: what a custody entry about it names."""
        return sha256_text(canonical(self.to_json()))


def canonical(claim_json: dict[str, Any]) -> str:
    """A claim's JSON in one canonical form (sorted keys, no spaces): what is stored and digested."""
    return json.dumps(claim_json, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class Reading:
    """Everything the finders saw in one document; claims and the ACLED coding are built from it."""

    doc: Document
    sentences: list[Sentence]
    places: list[PlaceMention]
    dates: list[DateMention]
    counts: list[CountMention]
    actors: list[ActorMention]
    events: list[EventMention]
    cues: list[Cue]


def document(text: str, published: date, lang: str = "auto", doc_id: str = "") -> Document:
    """A ``Document`` with its language decided ("auto" detects it) and its sentences split."""
    resolved = language.resolve(text, lang)
    return Document(text=text, published=published, lang=resolved, id=doc_id, sentences=tuple(sentences.split(text)))


BLOCK = 8_000
"""A longer text is read in blocks of about this many characters, cut between sentences. Some finders compare
each mention with the others of their text, so a hostile text of megabytes read whole would take hours; in
blocks it takes time in proportion to its length. A block keeps its own context (the region or year it names)."""


def _blocks(text: str, sents: list[Sentence]) -> list[tuple[int, int]]:
    if len(text) <= BLOCK:
        return [(0, len(text))]
    out: list[tuple[int, int]] = []
    start = 0
    for s in sents:
        if s.end - start > BLOCK and s.start > start:
            out.append((start, s.start))
            start = s.start
        while s.end - start > BLOCK:  # one sentence longer than a block: cut it
            out.append((start, start + BLOCK))
            start += BLOCK
    out.append((start, len(text)))
    return [(a, b) for a, b in out if b > a]


def _shift(mentions: list[Any], by: int) -> list[Any]:
    return [dataclasses.replace(m, start=m.start + by, end=m.end + by) for m in mentions] if by else mentions


def read(doc: Document) -> Reading:
    """Run every finder over ``doc`` once (block by block when it is long)."""
    text, lang = doc.text, doc.lang
    sents = list(doc.sentences) or sentences.split(text)
    found_actors: list[ActorMention] = []
    cues: list[Cue] = []
    places: list[PlaceMention] = []
    found_dates: list[DateMention] = []
    found_counts: list[CountMention] = []
    for a, b in _blocks(text, sents):
        block = text[a:b]
        found_actors += _shift(actors.find_actors(block, lang), a)
        cues += _shift(events.find_cues(block, lang), a)
        places += _shift(gazetteer.find_places(block, lang), a)
        found_dates += _shift(dates.find_dates(block, lang, doc.published), a)
        found_counts += [
            dataclasses.replace(c, start=c.start + a, end=c.end + a, number=_shift([c.number], a)[0])
            for c in counts.find_counts(block, lang)
        ]
    return Reading(
        doc=doc,
        sentences=sents,
        places=places,
        dates=found_dates,
        counts=found_counts,
        actors=found_actors,
        events=events.find_events(text, lang, sents, found_actors, cues),
        cues=cues,
    )


def _place_json(m: PlaceMention) -> dict[str, Any]:
    p = m.place
    return {
        "geonameid": p.geonameid,
        "name": p.name,
        "latitude": p.latitude,
        "longitude": p.longitude,
        "admin1": p.admin1,
        "country": p.country,
        "country_name": p.country_name,
        "feature": p.feature,
        "precision": m.precision,
        "candidates": m.candidates,
    }


def _date_json(m: DateMention) -> dict[str, Any]:
    return {
        "earliest": m.earliest.isoformat(),
        "latest": m.latest.isoformat(),
        "precision": m.precision,
        "relation": m.relation,
    }


def _inside(start: int, end: int, s: Sentence) -> bool:
    return s.start <= start < s.end or (start == end == s.end)


def claims(reading: Reading) -> list[Claim]:
    """The claims of a document, in text order (kind breaks ties)."""
    doc, sents = reading.doc, reading.sentences
    out: list[Claim] = []

    def add(kind: ClaimKind, start: int, end: int, data: dict[str, Any]) -> None:
        s = sentences.containing(sents, start) or Sentence(0, len(doc.text), doc.text)
        out.append(
            Claim(kind, start, end, doc.text[start:end], s.start, s.end, stance.of(s, start, end, doc.lang), data)
        )

    for c in reading.counts:
        n = c.number
        add(
            "count",
            c.start,
            c.end,
            {"what": c.what, "low": n.low, "high": n.high, "qualifier": n.qualifier, "figure": n.text},
        )
    for p in reading.places:
        add("place", p.start, p.end, _place_json(p))
    for d in reading.dates:
        add("date", d.start, d.end, _date_json(d))
    for a in reading.actors:
        add("actor", a.start, a.end, {"actor": a.actor, "acled_type": a.acled_type, "role": a.role})
    for e in reading.events:
        s = sentences.containing(sents, e.start)
        data: dict[str, Any] = {"event_type": e.event_type, "sub_event_type": e.sub_event_type, "cues": list(e.cues)}
        if s is not None:
            data["actors"] = sorted({a.actor for a in reading.actors if _inside(a.start, a.end, s)})
            here = [p for p in reading.places if _inside(p.start, p.end, s)]
            best = gazetteer.best_location(here)
            if best is not None:
                data["place"] = {"name": best.place.name, "geonameid": best.place.geonameid}
            when = [d for d in reading.dates if _inside(d.start, d.end, s)]
            if when:
                data["date"] = _date_json(when[0])
            killed = [c for c in reading.counts if c.what == "killed" and _inside(c.start, c.end, s)]
            if killed:
                data["fatalities"] = sum(c.number.low for c in killed)
        add("event", e.start, e.end, data)
    out.sort(key=lambda c: (c.start, KINDS.index(c.kind), c.end))
    return out


def extract(text: str, published: date, lang: str = "auto", doc_id: str = "") -> list[Claim]:
    """The claims of ``text`` published (or received) on ``published``."""
    return claims(read(document(text, published, lang, doc_id)))
