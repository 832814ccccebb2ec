"""What the text stage finds, as plain values: mentions (a stretch of the text and what it says).

Every finder (places, dates, numbers and counts, actors, events) returns
mentions with **character offsets into the document exactly as given** (Python
string indices, so ``text[m.start:m.end] == m.text``). Claims are built from
mentions (``factfinder.text.claims``); nothing here knows about a case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

Lang = Literal["en", "ru", "kk"]
LANGS: tuple[Lang, ...] = ("en", "ru", "kk")

Qualifier = Literal["exact", "at_least", "at_most", "about", "range", "vague"]
"""How a figure was given: "15", "at least 15", "up to 15", "about 15", "10-15", "dozens"."""

GeoPrecision = Literal[1, 2, 3]
"""ACLED's geo_precision: 1 the town itself, 2 near a town or a part of a region, 3 only the region."""

TimePrecision = Literal[1, 2, 3]
"""ACLED's time_precision: 1 the day is known, 2 within a week or a few days, 3 only the month (or worse)."""


@dataclass(frozen=True)
class Place:
    """A gazetteer entry. ``feature`` is "town" (a populated place), "region" (first-level
    division) or "country"; towns and regions carry their GeoNames id."""

    geonameid: int | None
    name: str
    latitude: float
    longitude: float
    admin1: str
    country: str  # ISO 3166-1 alpha-2
    country_name: str
    feature: Literal["town", "region", "country"]
    population: int = 0


@dataclass(frozen=True)
class PlaceMention:
    start: int
    end: int
    text: str
    place: Place
    precision: GeoPrecision
    candidates: int = 1  # how many gazetteer entries the name could have meant


@dataclass(frozen=True)
class DateMention:
    """A stretch of text naming a time, resolved to the interval it allows (inclusive)."""

    start: int
    end: int
    text: str
    earliest: date
    latest: date
    precision: TimePrecision
    relation: Literal["on", "range", "until", "since", "before", "after"] = "on"


@dataclass(frozen=True)
class NumberMention:
    """A figure as written: digits, number words or a vague word, with the bounds it implies.

    ``low`` is the most conservative reading (ACLED's rule: "dozens" is 12, "hundreds" 100);
    ``high`` is None when the text sets no upper bound ("at least 15")."""

    start: int
    end: int
    text: str
    low: int
    high: int | None
    qualifier: Qualifier


CountWhat = Literal["killed", "injured", "detained", "missing", "crowd", "police", "days"]


@dataclass(frozen=True)
class CountMention:
    """A figure together with what it counts ("at least 15 people dead": killed, 15, at_least)."""

    start: int  # the whole phrase, figure and what it counts
    end: int
    text: str
    what: CountWhat
    number: NumberMention


@dataclass(frozen=True)
class ActorMention:
    start: int
    end: int
    text: str
    actor: str  # normalised name: "Police", "Protesters", "Military", or an organisation's or person's name
    acled_type: int  # ACLED inter code: 1 state forces, 2 rebels, 3 political militias, 4 identity
    # militias, 5 rioters, 6 protesters, 7 civilians, 8 external/other forces
    role: Literal["group", "organisation", "person"] = "group"


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Stance:
    """How the sentence holds the statement: own observation unless one of these says otherwise."""

    reported: bool = False  # reported speech: "according to the authorities", "X said"
    source: str | None = None  # who is said to have said it, as written
    hedged: bool = False  # "reportedly", "allegedly", "apparently", "possibly"
    negated: bool = False  # "no one was killed", "denied that"
    future: bool = False  # "will", "plan to", "threatened to"


@dataclass(frozen=True)
class Document:
    """One text to read: its words, its language and the day it was published (or received)."""

    text: str
    published: date
    lang: Lang = "en"
    id: str = ""
    sentences: tuple[Sentence, ...] = field(default=())


@dataclass(frozen=True)
class EventMention:
    """An event read from trigger words in context: ACLED's event type and sub-type."""

    start: int  # the trigger words
    end: int
    text: str
    event_type: str
    sub_event_type: str
    cues: tuple[str, ...] = ()  # the cue kinds that decided it ("protest", "intervention", ...)
