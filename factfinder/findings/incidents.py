"""Incidents: reports of one event grouped by place, time and type, then shaped by analysts' decisions.

Grouping is deterministic, so the same claims and decisions always give the
same incidents, and it runs in three passes:

1. Reports with a precise place (ACLED geo_precision 1 or 2) in order of their
   first possible day: a report joins the incident whose place is within
   ``NEAR_KM``, whose days overlap its own (a day of slack for datelines and
   time zones), whose span stays within ``MAX_SPAN``, and whose kind agrees
   (arrests and other strategic developments are kept apart from the violence
   itself). The event *type* is not required to agree: sources describe one
   shooting as "clashes", "riots" or "police fired on strikers", and that
   disagreement is shown on the incident, not allowed to split it.
2. Reports that name only a region join the one incident of that region and
   time they fit, and make their own when they fit several or none: a report
   about "Mangystau region" is not silently put in Zhanaozen.
3. Reports with no place group by time and kind alone.

Then the analysts' decisions are replayed in the order the custody log holds
them: merge, split, attach, detach. They name claims and items by digest, so
they keep their meaning when the claims are read again; a decision whose
claims are gone changes nothing and is shown as such.

An incident's name (its ``ref``) comes from its anchor: its report from the
earliest item, so that new reports joining it later do not rename it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from factfinder.findings import reconcile
from factfinder.findings.model import (
    COUNTED,
    AttachedItem,
    Corroboration,
    CountTable,
    Figure,
    Incident,
    Record,
)
from factfinder.findings.records import NEAR_KM
from factfinder.text.gazetteer import km

SLACK = timedelta(days=1)
MAX_SPAN = timedelta(days=7)
"""An incident's reports with days given (not "in December") span at most this: a longer run is several."""
CELL = 0.25
"""Degrees of the grid that finds nearby incidents (about 28 km north to south, more than ``NEAR_KM``)."""
APART = frozenset({"Strategic developments"})
TYPE_ORDER = (
    "Battles",
    "Explosions/Remote violence",
    "Violence against civilians",
    "Riots",
    "Protests",
    "Strategic developments",
)


@dataclass
class Group:
    """An incident in the making: its reports, its anchor and what analysts attached to it."""

    records: list[Record]
    anchor: str = ""
    attached: dict[str, str] = field(default_factory=dict)
    """Item sha256 -> "item" or "cluster" (how it was attached)."""
    decisions: list[int] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    """Anchors of the incidents merged into this one: their names still find it."""
    earliest: date = date.max
    latest: date = date.min

    def add(self, r: Record) -> None:
        self.records.append(r)
        if r.latest - r.earliest <= MAX_SPAN:
            self.earliest, self.latest = min(self.earliest, r.earliest), max(self.latest, r.latest)

    def settle_anchor(self) -> None:
        if not self.anchor or all(r.digest != self.anchor for r in self.records):
            self.anchor = min((r.item_id, r.digest) for r in self.records)[1] if self.records else ""

    @property
    def ref(self) -> str:
        return ref_of(self.anchor)


def ref_of(digest: str) -> str:
    return "I-" + digest[:10]


def _apart(r: Record) -> bool:
    return r.event_type in APART


def _fits_time(g: Group, r: Record) -> bool:
    if g.earliest > g.latest:  # only vague reports so far
        first = min(x.earliest for x in g.records)
        last = max(x.latest for x in g.records)
        return r.earliest <= last + SLACK and r.latest >= first - SLACK
    if r.earliest > g.latest + SLACK or r.latest < g.earliest - SLACK:
        return False
    if r.latest - r.earliest > MAX_SPAN:
        return True
    return max(g.latest, r.latest) - min(g.earliest, r.earliest) <= MAX_SPAN


def _fits_kind(g: Group, r: Record) -> bool:
    if r.event_type is None:
        return True
    kinds = {_apart(x) for x in g.records if x.event_type is not None}
    return not kinds or kinds == {_apart(r)}


def _cell(lat: float, lon: float) -> tuple[int, int]:
    return math.floor(lat / CELL), math.floor(lon / CELL)


def group_records(records: Iterable[Record]) -> list[Group]:
    """The automatic grouping of reports into incidents (the three passes of the module's docstring)."""
    ordered = sorted(records, key=lambda r: (r.earliest, r.latest - r.earliest, r.item_id, r.digest))
    precise = [r for r in ordered if r.latitude is not None and r.longitude is not None and (r.geo_precision or 3) <= 2]
    coarse = [r for r in ordered if r.latitude is not None and r.longitude is not None and (r.geo_precision or 3) > 2]
    placeless = [r for r in ordered if r.latitude is None or r.longitude is None]
    groups: list[Group] = []
    grid: dict[tuple[int, int], list[tuple[Group, float, float]]] = {}
    for r in precise:
        assert r.latitude is not None and r.longitude is not None
        ci, cj = _cell(r.latitude, r.longitude)
        best: tuple[float, Group] | None = None
        for di in (-1, 0, 1):
            for dj in (-1, 0, 1):
                bucket = grid.get((ci + di, cj + dj))
                if not bucket:
                    continue
                # Reports come in order of their first day: an incident that ended before it never fits again.
                bucket[:] = [e for e in bucket if e[0].latest + SLACK >= r.earliest or e[0].earliest > e[0].latest]
                for g, lat, lon in bucket:
                    d = km(lat, lon, r.latitude, r.longitude)
                    if d <= NEAR_KM and _fits_time(g, r) and _fits_kind(g, r) and (best is None or d < best[0]):
                        best = (d, g)
        if best is not None:
            best[1].add(r)
        else:
            g = Group([])
            g.add(r)
            groups.append(g)
            grid.setdefault((ci, cj), []).append((g, r.latitude, r.longitude))
    regional: list[Group] = []
    for r in coarse:
        fits = [
            g
            for g in groups
            if g.records[0].country == r.country
            and g.records[0].admin1 == r.admin1
            and _fits_time(g, r)
            and _fits_kind(g, r)
        ]
        if len(fits) == 1:
            fits[0].add(r)
            continue
        same = [g for g in regional if g.records[0].admin1 == r.admin1 and _fits_time(g, r) and _fits_kind(g, r)]
        if same:
            same[0].add(r)
        else:
            g = Group([])
            g.add(r)
            regional.append(g)
    nowhere: list[Group] = []
    for r in placeless:
        home = next((g for g in groups + regional if any(x.item_id == r.item_id for x in g.records)), None)
        if home is not None and _fits_time(home, r) and _fits_kind(home, r):
            home.add(r)
            continue
        fits = [g for g in nowhere if _fits_time(g, r) and _fits_kind(g, r)]
        if fits:
            fits[0].add(r)
        else:
            g = Group([])
            g.add(r)
            nowhere.append(g)
    out = groups + regional + nowhere
    for g in out:
        g.settle_anchor()
    return out


def apply(groups: list[Group], decision_id: int, action: str, body: dict[str, Any]) -> bool:
    """Replay one analyst's decision on ``groups`` (in place); False when what it names is gone."""

    def holding(digest: object) -> Group | None:
        return next((g for g in groups if any(r.digest == digest for r in g.records)), None)

    if action == "merge":
        into, other = holding(body.get("into")), holding(body.get("from"))
        if into is None or other is None:
            return False
        if into is not other:
            for r in other.records:
                into.add(r)
            into.attached.update(other.attached)
            into.decisions += other.decisions
            into.aliases += [other.anchor, *other.aliases]
            groups.remove(other)
        into.decisions.append(decision_id)
        return True
    if action == "split":
        wanted = set(body.get("claims") or ())
        moved = [r for g in groups for r in g.records if r.digest in wanted]
        if not moved:
            return False
        for g in groups:
            kept = [r for r in g.records if r.digest not in wanted]
            if len(kept) < len(g.records):
                g.decisions.append(decision_id)  # the incident the reports left was shaped by it too
            g.records[:] = kept
        groups[:] = [g for g in groups if g.records]
        new = Group([])
        for r in moved:
            new.add(r)
        new.decisions.append(decision_id)
        groups.append(new)
        for g in groups:
            _rebound(g)
            g.settle_anchor()
        return True
    if action in ("attach", "detach"):
        target = holding(body.get("incident"))
        sha = body.get("item")
        if target is None or not isinstance(sha, str):
            return False
        if action == "attach":
            target.attached[sha] = str(body.get("via") or "item")
        else:
            target.attached.pop(sha, None)
        target.decisions.append(decision_id)
        return True
    return False


def _rebound(g: Group) -> None:
    records, g.records = g.records, []
    g.earliest, g.latest = date.max, date.min
    for r in records:
        g.add(r)


# ---- an incident's summary -------------------------------------------------


def origins(records: Iterable[Record]) -> dict[str, Record]:
    """The first report of each origin (for corroboration: independent sources)."""
    out: dict[str, Record] = {}
    for r in records:
        out.setdefault(r.source.origin, r)
    return out


def event_type(records: list[Record], *, lethal: bool = False) -> tuple[str | None, str | None, dict[str, int]]:
    """The type most independent sources give (ties in ACLED's order), its commonest sub-type, and the votes.

    A protest where people were killed or injured is not called peaceful, whatever most reports' words were."""
    votes: dict[str, set[str]] = {}
    for r in records:
        if r.event_type and not r.negated:
            votes.setdefault(r.event_type, set()).add(r.source.origin)
    counted = {t: len(o) for t, o in votes.items()}
    if not counted:
        return None, None, {}
    rank = {t: i for i, t in enumerate(TYPE_ORDER)}
    top = min(counted, key=lambda t: (-counted[t], rank.get(t, 99), t))
    subs = Counter(r.sub_event_type for r in records if r.event_type == top and r.sub_event_type and not r.negated)
    if lethal:
        subs.pop("Peaceful protest", None)
    sub = min(subs, key=lambda s: (-subs[s], s)) if subs else None
    return top, sub, dict(sorted(counted.items(), key=lambda kv: (-kv[1], kv[0])))


def place(records: list[Record]) -> tuple[Record | None, float]:
    """The report whose place most independent sources name (precise places first), and how far the others
    are from it, in kilometres."""
    located = [r for r in records if r.latitude is not None and r.longitude is not None]
    precise = [r for r in located if (r.geo_precision or 3) <= 2] or located
    if not precise:
        return None, 0.0
    votes: dict[str, set[str]] = {}
    for r in precise:
        votes.setdefault(r.place or "", set()).add(r.source.origin)
    name = min(votes, key=lambda n: (-len(votes[n]), n))
    best = min((r for r in precise if (r.place or "") == name), key=lambda r: (r.geo_precision or 3, r.item_id))
    assert best.latitude is not None and best.longitude is not None
    radius = max(
        (
            km(best.latitude, best.longitude, r.latitude, r.longitude)
            for r in precise
            if r.latitude is not None and r.longitude is not None
        ),
        default=0.0,
    )
    return best, round(radius, 1)


def when(records: list[Record]) -> tuple[date, date, int, bool]:
    """When it happened: the run of days most sources' reports cover, never narrower than they give.

    Days are voted on by independent sources, counting the reports that give days (not "in December");
    the days with at least half the top vote, around the top day, are the incident's. Reports whose days
    miss that run make ``dates_disagree``."""
    affirming = [r for r in records if not r.negated] or records
    dated = [r for r in affirming if r.latest - r.earliest <= MAX_SPAN] or affirming
    cover: dict[date, set[str]] = {}
    for r in dated:
        d = r.earliest
        while d <= r.latest:
            cover.setdefault(d, set()).add(r.source.origin)
            d += timedelta(days=1)
    votes = {d: len(o) for d, o in cover.items()}
    top_day = min(votes, key=lambda d: (-votes[d], d))
    floor = votes[top_day] / 2
    first = last = top_day
    while votes.get(first - timedelta(days=1), 0) >= floor and votes.get(first - timedelta(days=1), 0) > 0:
        first -= timedelta(days=1)
    while votes.get(last + timedelta(days=1), 0) >= floor and votes.get(last + timedelta(days=1), 0) > 0:
        last += timedelta(days=1)
    span = (last - first).days
    precision = 1 if span == 0 else 2 if span <= 7 else 3
    if dated is affirming and any(r.latest - r.earliest > MAX_SPAN for r in affirming):
        precision = max(precision, 3 if span > 7 else precision)
    disagree = any(r.latest < first or r.earliest > last for r in dated)
    return first, last, precision, disagree


def interval_text(first: date, last: date) -> str:
    """ "16 Dec 2011", "17-20 Dec 2011", "30 Nov - 2 Dec 2011": an interval read as one."""
    if first == last:
        return f"{first.day} {first:%b %Y}"
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}-{last.day} {last:%b %Y}"
    if first.year == last.year:
        return f"{first.day} {first:%b} - {last.day} {last:%b %Y}"
    return f"{first.day} {first:%b %Y} - {last.day} {last:%b %Y}"


def summarise(
    g: Group,
    figures: dict[int, Figure],
    sentence_of: Callable[[Figure], str | None],
    attached: list[AttachedItem],
) -> Incident:
    """The incident a group of reports makes: its type, place, time, reconciled counts and actors.

    Corroboration is left for ``corroboration.incident`` (it needs the evidence attached)."""
    records = sorted(g.records, key=lambda r: (r.reported_on, r.item_id, r.claim_id))
    own = [figures[c] for r in records for c in r.figures if c in figures]
    lethal = any(f.what in ("killed", "injured") and f.low > 0 for f in own)
    etype, sub, types = event_type(records, lethal=lethal)
    where, radius = place(records)
    first, last, precision, disagree = when(records)
    counts: dict[str, CountTable] = {}
    for what in COUNTED:
        if any(f.what == what for f in own):
            counts[what] = reconcile.table(what, own, sentence_of)
    actors = Counter(a for r in records if not r.negated for a in r.actors)
    name = sub if sub and sub != "Other" else etype or "Event"
    label = f"{name}, {where.place if where and where.place else 'place unknown'}, {interval_text(first, last)}"
    return Incident(
        ref=g.ref,
        label=label,
        event_type=etype,
        sub_event_type=sub,
        types=types,
        earliest=first,
        latest=last,
        time_precision=precision,
        dates_disagree=disagree,
        place=where.place if where else None,
        latitude=where.latitude if where else None,
        longitude=where.longitude if where else None,
        admin1=where.admin1 if where else None,
        country=where.country if where else None,
        geo_precision=where.geo_precision if where else None,
        radius_km=radius,
        records=records,
        counts=counts,
        attached=attached,
        corroboration=Corroboration("single", ()),
        actors=[a for a, _ in sorted(actors.items(), key=lambda kv: (-kv[1], kv[0]))],
        decisions=list(g.decisions),
    )
