"""Reports of events, read off one item's claims: what happened, where, when, who says so, with which figures.

An item's claims come as separate kinds (an event word, a place, a date, a
count), each with its sentence. A **record** puts back together what one report
says about one event: the event claim with the place and date its sentence (or
the item) gives, and the figures given beside it. A figure with no event word
near it (“one man died in Shetpe”) is a record of its own when it names a
place the item's events are not at, so a death reported in passing is not lost
inside another incident.

Places and dates are kept as wide as the text gives them: a report that says
only "in December" is an interval of a month, never a day.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from factfinder.findings import sources
from factfinder.findings.model import COUNTED, Figure, Record, Source
from factfinder.text.gazetteer import km

NEAR_KM = 25.0
"""Two places closer than this are one place for grouping (ACLED's own tolerance for a location)."""


@dataclass(frozen=True)
class ItemInfo:
    """What the findings need of an item besides its claims."""

    id: int
    sha256: str
    publisher: str | None
    published: date


@dataclass(frozen=True)
class ClaimRow:
    id: int
    item_id: int
    digest: str
    body: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.body["kind"])

    @property
    def start(self) -> int:
        return int(self.body["start"])

    @property
    def sentence(self) -> tuple[int, int]:
        s = self.body.get("sentence") or [self.start, int(self.body["end"])]
        return int(s[0]), int(s[1])


def _day(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


@dataclass(frozen=True)
class _Place:
    name: str
    latitude: float
    longitude: float
    admin1: str | None
    country: str | None
    precision: int


def _place_of(body: dict[str, Any]) -> _Place | None:
    try:
        return _Place(
            str(body["name"]),
            float(body["latitude"]),
            float(body["longitude"]),
            body.get("admin1"),
            body.get("country"),
            int(body.get("precision") or 1),
        )
    except (KeyError, TypeError, ValueError):
        return None


def _interval(body: dict[str, Any]) -> tuple[date, date, int] | None:
    first, last = _day(body.get("earliest")), _day(body.get("latest"))
    if first is None or last is None or last < first:
        return None
    return first, last, int(body.get("precision") or (1 if first == last else 2))


def source_of(claim: ClaimRow, item: ItemInfo) -> Source:
    body = claim.body
    cited = body.get("source") if body.get("reported") else None
    return sources.source_of(cited, item.publisher, item.sha256)


def figure_of(claim: ClaimRow, item: ItemInfo) -> Figure | None:
    """The figure a count claim gives, or None when it gives none (negated, future, not a thing we count)."""
    body = claim.body
    if claim.kind != "count" or body.get("what") not in COUNTED or body.get("negated") or body.get("future"):
        return None
    try:
        low = int(body["low"])
    except (KeyError, TypeError, ValueError):
        return None
    high = body.get("high")
    return Figure(
        claim_id=claim.id,
        item_id=item.id,
        item_sha256=item.sha256,
        what=str(body["what"]),
        low=low,
        high=int(high) if isinstance(high, int | float) else None,
        qualifier=str(body.get("qualifier") or "exact"),
        quote=str(body.get("quote", "")),
        source=source_of(claim, item),
        reported_on=item.published,
        hedged=bool(body.get("hedged")),
    )


def item_records(item: ItemInfo, claims: list[ClaimRow]) -> tuple[list[Record], list[Figure]]:
    """The records one item gives, and every figure it gives (each figure tied to one record)."""
    claims = sorted(claims, key=lambda c: (c.start, c.id))
    places = [(c, p) for c in claims if c.kind == "place" for p in [_place_of(c.body)] if p is not None]
    dated = [(c, iv) for c in claims if c.kind == "date" for iv in [_interval(c.body)] if iv is not None]
    main_place = _main_place([p for _, p in places])
    main_date = _main_date(dated, item.published)

    def place_in(sentence: tuple[int, int], near: int) -> _Place | None:
        inside = [(abs(c.start - near), p) for c, p in places if sentence[0] <= c.start < sentence[1]]
        return min(inside, key=lambda t: t[0])[1] if inside else None

    def date_in(sentence: tuple[int, int], near: int) -> tuple[date, date, int] | None:
        inside = [(c, iv) for c, iv in dated if sentence[0] <= c.start < sentence[1]]
        said = [(abs(c.start - near), iv) for c, iv in inside if c.body.get("relation") != "before"]
        if said:
            return min(said, key=lambda t: t[0])[1]
        return inside[0][1] if inside else None

    records: list[Record] = []
    positions: list[int] = []
    for c in claims:
        if c.kind != "event":
            continue
        sent = c.sentence
        place = _finest(_event_place(c.body, places), place_in(sent, c.start), main_place)
        when = date_in(sent, c.start) or _interval(c.body.get("date") or {}) or main_date
        records.append(_record(c, item, place, when, c.body.get("event_type"), c.body.get("sub_event_type")))
        positions.append(c.start)

    figures: list[Figure] = []
    tied: dict[int, list[int]] = {}
    for c in claims:
        fig = figure_of(c, item)
        if fig is None:
            continue
        figures.append(fig)
        sent = c.sentence
        here = place_in(sent, c.start)
        index = _record_for(records, positions, c, sent, here)
        if index is None:
            when = date_in(sent, c.start) or main_date
            records.append(_record(c, item, here or main_place, when, None, None))
            positions.append(c.start)
            index = len(records) - 1
        tied.setdefault(index, []).append(c.id)
    records = [replace(r, figures=tuple(tied.get(i, ()))) for i, r in enumerate(records)]
    return records, figures


def _record(
    c: ClaimRow,
    item: ItemInfo,
    place: _Place | None,
    when: tuple[date, date, int],
    event_type: str | None,
    sub_event_type: str | None,
) -> Record:
    return Record(
        claim_id=c.id,
        digest=c.digest,
        item_id=item.id,
        item_sha256=item.sha256,
        event_type=event_type,
        sub_event_type=sub_event_type,
        quote=str(c.body.get("quote", "")),
        place=place.name if place else None,
        latitude=place.latitude if place else None,
        longitude=place.longitude if place else None,
        admin1=place.admin1 if place else None,
        country=place.country if place else None,
        geo_precision=place.precision if place else None,
        earliest=when[0],
        latest=when[1],
        time_precision=when[2],
        source=source_of(c, item),
        negated=bool(c.body.get("negated")),
        reported_on=item.published,
        actors=tuple(str(a) for a in c.body.get("actors") or ()),
    )


def _record_for(
    records: list[Record], positions: list[int], c: ClaimRow, sent: tuple[int, int], here: _Place | None
) -> int | None:
    """Which of the item's records a figure belongs to: the event in its sentence, else the nearest event
    before it (after it, when none is before) at the place its sentence names; None: a record of its own."""

    def at_place(r: Record) -> bool:
        if here is None or r.latitude is None or r.longitude is None:
            return True
        return km(here.latitude, here.longitude, r.latitude, r.longitude) <= NEAR_KM

    # Deaths and injuries are not figures of an arrest or a curfew (strategic developments) told nearby.
    violent = c.body.get("what") in ("killed", "injured")
    events = [
        i
        for i, r in enumerate(records)
        if r.event_type is not None and not (violent and r.event_type == "Strategic developments")
    ]
    same = [i for i in events if sent[0] <= positions[i] < sent[1]]
    if same:
        return min(same, key=lambda i: abs(positions[i] - c.start))
    before = [i for i in events if positions[i] < c.start and at_place(records[i])]
    if before:
        return before[-1]
    after = [i for i in events if positions[i] > c.start and at_place(records[i])]
    return after[0] if after else None


def _event_place(body: dict[str, Any], places: list[tuple[ClaimRow, _Place]]) -> _Place | None:
    named = body.get("place")
    if not isinstance(named, dict):
        return None
    gid = named.get("geonameid")
    for c, p in places:
        if gid is not None and c.body.get("geonameid") == gid:
            return p
    for _, p in places:
        if p.name == named.get("name"):
            return p
    return None


def _finest(*candidates: _Place | None) -> _Place | None:
    """The first candidate that names a town; else the first at all. A coarser place ("Kazakhstan", "Mangystau
    region") gives way to a town the sentence or the item names inside it: the event was somewhere there."""
    given = [p for p in candidates if p is not None]
    if not given:
        return None
    first = given[0]
    for p in given:
        if p.precision <= 2 and (first.precision <= 2 or _inside(p, first)):
            return p
    return first


def _inside(town: _Place, area: _Place) -> bool:
    if area.country and town.country != area.country:
        return False
    return not area.admin1 or town.admin1 == area.admin1


def _main_place(places: list[_Place]) -> _Place | None:
    """The place an item is about: the precise place it names most often (the first of equals)."""
    precise = [p for p in places if p.precision <= 2] or places
    if not precise:
        return None
    counts = Counter(p.name for p in precise)
    top = max(counts.values())
    return next(p for p in precise if counts[p.name] == top)


def _main_date(dated: list[tuple[ClaimRow, tuple[date, date, int]]], published: date) -> tuple[date, date, int]:
    """When an item's events happened if a sentence does not say: the first date it states that is not a
    dateline, else the month before publication (time_precision 3): never a day it does not give."""
    for c, iv in dated:
        if c.body.get("relation") != "before":
            return iv
    return published - timedelta(days=30), published, 3
