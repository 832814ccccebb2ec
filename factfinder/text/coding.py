"""One document coded as one ACLED event row: type, date, place, actors and fatalities, each with its span.

This is what `factfinder text code` prints and what the accuracy evaluation
reads, so its fields and their meaning are kept stable. A document is coded by
its **main event**: the first sentence with an event trigger and the sentences
that follow it within ``WINDOW`` characters (an ACLED note, or a news lead).
The coding follows ACLED's codebook where it has a rule:

- **fatalities**: deaths in the main event only, the most conservative figure
  (the low bound: "at least 15" is 15, "dozens" is 12); a coder's note
  ("Fatalities coded as 0", "10 fatalities split across 2 events") settles it;
  figures in different sentences (or clauses a semicolon divides) are reports
  of the same deaths, of which the smallest is kept, unless a sentence adds to
  them ("another", "also") or counts other victims (soldiers, then militants);
  "no one was killed" is 0; future, hypothetical and earlier deaths (the cause
  of a protest) are not counted.
- **event_date**: the first date of the event, never after publication; the
  publication date (precision 2) when the text gives none.
- **location**: the most precise place the main event names (geo_precision 1
  town, 2 near a town or part of a region, 3 region).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from factfinder.text import claims as claimsmod
from factfinder.text import counts, dates, events, gazetteer, sentences, stance
from factfinder.text.model import ActorMention, CountMention, Sentence

WINDOW = 600
"""Characters after the start of the main event's first sentence that still describe it."""

FIELDS = (
    "event_type", "sub_event_type", "event_date", "time_precision", "country", "admin1", "location",
    "latitude", "longitude", "geo_precision", "actor1", "actor2", "fatalities",
)  # fmt: skip

_ADDS = re.compile(
    r"(?<!\w)(?:also|another|other|additional|further|more|as well|too|также|еще|ещё|тағы|сондай-ақ)(?!\w)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "text": self.text}


def _window(reading: claimsmod.Reading) -> tuple[int, int]:
    sents = reading.sentences
    if not sents:
        return 0, len(reading.doc.text)
    first = reading.events[0].start if reading.events else sents[0].start
    s0 = sentences.containing(sents, first) or sents[0]
    end = s0.end
    for s in sents:
        if s.start >= s0.start and s.start < s0.start + WINDOW:
            end = max(end, s.end)
    return s0.start, end


_TOTAL = re.compile(
    r"(?<!\w)(?:toll|total|in all|altogether|overall|всего|общ\w+ (?:числ\w*|количеств\w*)|барлығы|жалпы)(?!\w)", re.I
)
"""A figure that is the total of others named beside it."""


def fatalities(reading: claimsmod.Reading, start: int, end: int) -> tuple[int, list[CountMention]]:
    """Deaths in the main event and the figures they were read from.

    A coder's note in the text ("Fatalities coded as 0 (VoJ reported 3)") settles it. Otherwise deaths named
    as the background of the event ("protesting over the killing of a student", "a man who had killed his
    father", "after a pedestrian was killed by a motorist") are not the event's own. In one sentence figures add
    up ("3 soldiers and 2 civilians"), unless one is a total or a part of another ("12 militants including 2
    commanders", "3 policemen (2 according to other sources)"). A later sentence adds to what came before when
    it says so ("also", "another") or counts other victims than any counted before ("2 soldiers were killed.
    Local sources said 3 militants were killed"); otherwise it is another report of the same deaths, and the
    larger conservative figure is kept."""
    text, lang = reading.doc.text, reading.doc.lang
    note = counts.coded(text, lang)
    if note is not None:
        return note.number.low, [note]
    background = events.background_before(lang)
    # the units whose figures add up: a sentence, or each of its clauses that a semicolon ends ("at least 10 were
    # killed, according to X; the government said 2 died": two reports)
    by_clause: dict[tuple[int, int], list[CountMention]] = {}
    where: dict[tuple[int, int], Sentence] = {}
    for c in reading.counts:
        if c.what != "killed" or not start <= c.start < end:
            continue
        s = sentences.containing(reading.sentences, c.start)
        if s is None:
            continue
        if background.search(text[max(s.start, c.start - 60) : c.start]) or counts.background(text, s.start, c, lang):
            continue
        key = (s.start, text.count(";", s.start, c.start))
        by_clause.setdefault(key, []).append(c)
        where[key] = s
    clauses = {k: _clause(text, where[k], k[1]) for k in by_clause}
    total = 0
    used: list[CountMention] = []
    seen: set[str] = set()
    for key, found in sorted(by_clause.items()):
        s = where[key]
        value = 0
        kept: list[CountMention] = []
        totals = [c for c in found if _TOTAL.search(c.text)]
        for c in totals or found:  # a sentence that gives its total ("bringing the toll to 16"): the total
            if kept and counts.part_of_another(text, c, lang):
                continue
            st = stance.of(s, c.start, c.end, lang)
            if st.future:
                continue
            kept.append(c)
            share = counts.shared(text, c, lang, s.end)
            figure = 0 if st.negated else c.number.low if share is None else share
            value = max(value, figure) if totals else value + figure
        if not kept:
            continue
        groups = set().union(*(counts.victims(c, lang) for c in kept))
        if used and (_ADDS.search(text, *clauses[key]) or (groups and seen and not groups & seen)):
            total += value  # more deaths: "another", "also", or other victims than any counted before
            used += kept
        elif not used or 0 < value < total or total == 0:  # another report of the same deaths: the most conservative
            total, used = value, kept
        seen |= groups
    return total, used


def _clause(text: str, s: Sentence, index: int) -> tuple[int, int]:
    """The bounds of the ``index``-th clause (0 the first) of sentence ``s`` that semicolons divide."""
    lo = s.start
    for _ in range(index):
        lo = text.index(";", lo, s.end) + 1
    hi = text.find(";", lo, s.end)
    return lo, s.end if hi < 0 else hi


_STATE = {"Police": "Police Forces of {}", "Special police": "Police Forces of {}", "Military": "Military Forces of {}"}
_STATE_GOV = "Government of {}"
_GROUPED = {
    "Protesters": "Protesters ({})",
    "Strikers": "Protesters ({})",
    "Rioters": "Rioters ({})",
    "Civilians": "Civilians ({})",
    "Militia": "Unidentified Armed Group ({})",
    "Communal militia": "Unidentified Communal Militia ({})",
}


def _actor_name(a: ActorMention, country: str) -> str:
    where = country or "International"
    if a.actor in _STATE:
        return _STATE[a.actor].format(where)
    if a.actor == "Government":
        return _STATE_GOV.format(where)
    if a.actor in _GROUPED:
        return _GROUPED[a.actor].format(where)
    return a.actor


def _actors(
    event_type: str, found: list[ActorMention], country: str
) -> tuple[ActorMention | None, ActorMention | None]:
    state = [a for a in found if a.acled_type == 1 and a.actor != "Government"] or [
        a for a in found if a.acled_type == 1
    ]
    armed = [a for a in found if a.acled_type in (2, 3, 4, 8)]
    crowd = [a for a in found if a.acled_type in (5, 6)]
    civilians = [a for a in found if a.acled_type == 7 and a.role == "group"]

    def first(xs: list[ActorMention]) -> ActorMention | None:
        return xs[0] if xs else None

    if event_type in ("Protests", "Riots"):
        return first(crowd) or first(civilians), first(state)
    if event_type == "Violence against civilians":
        return first(armed) or first(state), first(civilians) or first(crowd)
    if event_type == "Battles":
        sides = state + armed
        sides.sort(key=lambda a: a.start)
        one = first(sides)
        other = next((a for a in sides if one is not None and a.actor != one.actor), None)
        return one, other
    if event_type == "Explosions/Remote violence":
        return first(state + armed), first(civilians)
    return first(found), None


def code(reading: claimsmod.Reading) -> dict[str, Any]:
    """The ACLED row of a document: ``FIELDS`` and, under ``spans``, where each value came from."""
    doc = reading.doc
    start, end = _window(reading)
    spans: dict[str, Any] = {}
    row: dict[str, Any] = dict.fromkeys(FIELDS)

    cues = [c for c in reading.cues if start <= c.start < end]
    found = [a for a in reading.actors if start <= a.start < end]
    decided = events.labelled(doc.text, doc.lang) or events.decide(
        cues, found, events.perpetrator(doc.text, cues, found, doc.lang)
    )
    if decided is None and reading.events:
        e = reading.events[0]
        decided = (e.event_type, e.sub_event_type, events.Cue("", e.start, e.end, e.text))
    if decided is not None:
        row["event_type"], row["sub_event_type"], cue = decided
        spans["event_type"] = Span(cue.start, cue.end, cue.text).to_json()

    when_in = [d for d in reading.dates if start <= d.start < end]
    when = dates.event_date(when_in, doc.published) or dates.event_date(reading.dates, doc.published)
    if when is not None:
        row["event_date"], row["time_precision"] = when.earliest.isoformat(), when.precision
        spans["event_date"] = Span(when.start, when.end, when.text).to_json()
    else:
        row["event_date"], row["time_precision"] = doc.published.isoformat(), 2
    if row["event_date"] > doc.published.isoformat():
        row["event_date"] = doc.published.isoformat()

    here = [p for p in reading.places if start <= p.start < end]
    where = gazetteer.best_location(here) or gazetteer.best_location(reading.places)
    country = ""
    if where is not None:
        p = where.place
        country = p.country_name
        row.update(
            country=p.country_name,
            admin1=p.admin1 or None,
            location=p.name if p.feature != "country" else None,
            latitude=p.latitude,
            longitude=p.longitude,
            geo_precision=where.precision,
        )
        spans["location"] = Span(where.start, where.end, where.text).to_json()

    one, two = _actors(row["event_type"] or "", found, country)
    for key, a in (("actor1", one), ("actor2", two)):
        if a is not None:
            row[key] = _actor_name(a, country)
            spans[key] = Span(a.start, a.end, a.text).to_json()

    total, used = fatalities(reading, start, end)
    if row["event_type"] == "Protests" and row["sub_event_type"] != "Excessive force against protesters":
        total, used = 0, []  # a protest that killed no one: the deaths it names are what it is about
    row["fatalities"] = total
    if used:
        spans["fatalities"] = [Span(c.start, c.end, c.text).to_json() for c in used]
    return {**row, "spans": spans}


def code_text(text: str, published: Any, lang: str = "auto", doc_id: str = "") -> dict[str, Any]:
    """``code`` of one text; the document's id leads the row when given."""
    reading = claimsmod.read(claimsmod.document(text, published, lang, doc_id))
    out = code(reading)
    return {"id": doc_id, **out} if doc_id else out
