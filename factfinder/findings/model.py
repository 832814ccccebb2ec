"""What the findings stage hands to reports, exports and the web: plain data, no database.

Everything here is computed from the case (claims, items, analysts' decisions)
and can be computed again; nothing here is evidence in itself. Each object
names the claims and items it stands on, so every statement in a report can be
traced back to an item whose integrity anyone can verify.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

SourceType = Literal["official", "media", "ngo", "witness", "hospital", "unknown"]
SOURCE_TYPES: tuple[SourceType, ...] = ("official", "media", "ngo", "witness", "hospital", "unknown")
SOURCE_TYPE_LABELS: dict[str, str] = {
    "official": "official",
    "media": "independent media",
    "ngo": "NGO",
    "witness": "witness",
    "hospital": "hospital / morgue",
    "unknown": "unknown",
}

COUNTED: tuple[str, ...] = ("killed", "injured", "detained", "missing", "crowd")
"""The things counted that a commission reports on, in the order tables show them."""

Level = Literal["contradicted", "confirmed", "multiple", "single"]
LEVEL_LABELS: dict[str, str] = {
    "contradicted": "contradicted",
    "confirmed": "confirmed by documentary or forensic evidence",
    "multiple": "multiple independent sources",
    "single": "single source",
}


@dataclass(frozen=True)
class Source:
    """Who gives a claim: the source the text cites, else the item's publisher (as its receipt names it)."""

    name: str
    type: SourceType
    origin: str
    """Key of the origin: claims of one origin are one source however many items repeat them."""
    cited: bool
    """True when the text cites this source ("..., the Interior Ministry said"); False for the publisher itself."""


@dataclass(frozen=True)
class Figure:
    """One figure for one thing counted, as one claim gives it."""

    claim_id: int
    item_id: int
    item_sha256: str
    what: str
    low: int
    high: int | None
    """None: open above ("at least 14")."""
    qualifier: str
    quote: str
    source: Source
    reported_on: date
    """When the report giving it was published (the official toll's history is ordered by this)."""
    hedged: bool
    group: int = 0
    """Independent group within its table: figures with the same group are one source repeated."""
    repeats: int | None = None
    """Claim id of an earlier figure of the same group that this one only repeats."""

    @property
    def text(self) -> str:
        """The figure as a reader expects it: "14", "at least 14", "64-86"."""
        if self.high is None:
            return f"at least {self.low}"
        if self.high != self.low:
            return f"{self.low}-{self.high}"
        prefix = {"about": "about ", "at_most": "up to ", "at_least": "at least "}.get(self.qualifier, "")
        return f"{prefix}{self.low}"


@dataclass
class CountTable:
    """Every figure given for one thing counted (in one incident, or the whole case), reconciled."""

    what: str
    figures: list[Figure]
    """All figures, in order of publication."""
    official_history: list[Figure]
    """The officials' figures in order of publication, a repeat of the same figure left out."""
    conservative: int | None
    conservative_reason: str
    independent_low: int | None
    independent_high: int | None
    """The range across the current figures of sources independent of the authorities."""
    independent_sources: int
    """How many independent groups give a figure (repeats counted once)."""
    disputes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Corroboration:
    level: Level
    reasons: tuple[str, ...]

    @property
    def label(self) -> str:
        return LEVEL_LABELS[self.level]


@dataclass(frozen=True)
class Record:
    """One report of an event: an event claim (or a figure with no event claim beside it) with its place and time."""

    claim_id: int
    digest: str
    item_id: int
    item_sha256: str
    event_type: str | None
    sub_event_type: str | None
    quote: str
    place: str | None
    latitude: float | None
    longitude: float | None
    admin1: str | None
    country: str | None
    geo_precision: int | None
    """ACLED geo_precision: 1 the town, 2 near or part of it, 3 the region; None: no place."""
    earliest: date
    latest: date
    time_precision: int
    source: Source
    negated: bool
    reported_on: date
    figures: tuple[int, ...] = ()
    """Claim ids of the figures this report gives."""
    actors: tuple[str, ...] = ()


@dataclass(frozen=True)
class AttachedItem:
    item_id: int
    item_sha256: str
    media_type: str
    via: str
    """"item" when attached by hand, "cluster" when its media cluster was."""


@dataclass
class Incident:
    """Reports of one event grouped by place, time and type; analysts' merges, splits and attachments applied."""

    ref: str
    """Stable name ("I-" and 10 hex digits of its anchor claim's digest)."""
    label: str
    event_type: str | None
    sub_event_type: str | None
    types: dict[str, int]
    """How many independent sources call it each event type (a disputed type shows here)."""
    earliest: date
    latest: date
    time_precision: int
    """ACLED time_precision: 1 a day, 2 within a week, 3 within a month."""
    dates_disagree: bool
    place: str | None
    latitude: float | None
    longitude: float | None
    admin1: str | None
    country: str | None
    geo_precision: int | None
    radius_km: float
    """How far apart the places its reports name are (0 when they agree)."""
    records: list[Record]
    counts: dict[str, CountTable]
    attached: list[AttachedItem]
    corroboration: Corroboration
    actors: list[str]
    decisions: list[int] = field(default_factory=list)
    """Ids of the analysts' decisions that shaped it."""

    @property
    def kind(self) -> str:
        """What happened, in ACLED's words: the sub-event type, or the event type where that says more."""
        if self.sub_event_type and self.sub_event_type != "Other":
            return self.sub_event_type
        return self.event_type or "Event"

    @property
    def item_ids(self) -> list[int]:
        return sorted({r.item_id for r in self.records} | {a.item_id for a in self.attached})

    @property
    def fatalities(self) -> int | None:
        table = self.counts.get("killed")
        return table.conservative if table else None


@dataclass(frozen=True)
class Decision:
    """An analyst's decision on incidents (merge, split, attach, detach), as the custody log records it."""

    id: int
    action: str
    body: dict[str, object]
    reason: str | None
    actor: str
    at_vault_clock: str
    log_index: int
    applied: bool
    """False when the claims or items it names are gone (the decision is kept, and shown, but changes nothing)."""


@dataclass(frozen=True)
class EvidenceItem:
    """An item a finding stands on, with what anyone needs to check it."""

    id: int
    sha256: str
    size: int
    media_type: str
    first_log_index: int
    received_at_vault_clock: str
    source: str | None
    source_type: SourceType
    published: bool
    gps: tuple[float, float] | None
    """Where the file says it was made (a phone's GPS): never in the redacted report."""


@dataclass(frozen=True)
class TimelineEntry:
    kind: Literal["incident", "item"]
    ref: str
    label: str
    earliest: date
    latest: date
    precision: int


@dataclass
class Findings:
    """The case's findings at one log checkpoint."""

    title: str
    checkpoint_size: int
    checkpoint_root: str
    """Hex SHA-256 root of the custody log at ``checkpoint_size``."""
    checkpoint_note: str
    incidents: list[Incident]
    counts: dict[str, CountTable]
    """For the whole case, each thing counted."""
    items: dict[int, EvidenceItem]
    decisions: list[Decision]
    timeline: list[TimelineEntry]
    claims: int
    """How many current claims the findings were made from."""
    claim_corroboration: dict[int, Corroboration] = field(default_factory=dict)
    """Corroboration of each figure and report, by claim id."""
    aliases: dict[str, str] = field(default_factory=dict)
    """Names of incidents merged into others -> the name of the incident they are now part of."""

    def incident(self, ref: str) -> Incident | None:
        """The incident named ``ref``, or the one it was merged into."""
        found = next((i for i in self.incidents if i.ref == ref), None)
        if found is None and ref in self.aliases:
            found = next((i for i in self.incidents if i.ref == self.aliases[ref]), None)
        return found
