"""The case report: what a commission hands over, as one self-contained HTML file and as a PDF.

Every statement in it cites its evidence: each figure and each report of an event links to the entry of the
item it comes from (``#item-<sha256 prefix>``), and that entry gives the item's SHA-256, its size and type, where
it first entered the custody log and how to check its inclusion proof without trusting the server. The report
names the log checkpoint it was made at (size, root and the signed note), so a reader can tell whether the case
has grown since.

The HTML is one file with its CSS and its SVG (map, timeline) inline, no script and no external resource, under
a Content-Security-Policy that forbids loading any: it can be opened offline, years later, and opening it tells
nobody that it was opened. The PDF is the same HTML laid out by WeasyPrint for A4 with print CSS (page numbers,
table headers repeated across pages); WeasyPrint is given a URL fetcher that refuses every fetch, so a stray URL
in the data can neither reach the network nor read a local file.

Disagreement is shown, never resolved silently: every figure of every count table is listed, dates are intervals
with their precision (never a false single day), disputed event types are shown with how many sources give each.
The PDF shortens two things, and says so where it does: the list of reports under each incident
(``PDF_RECORDS_CAP``), and a count table for the whole case of more than ``PDF_CASE_FIGURES`` figures, which
leaves out the figures already listed under their incidents (so each figure is in the PDF once, not twice).
Both are whole in the HTML report. Why: WeasyPrint lays out about a hundred table rows a second on a laptop
core, so a large case's PDF is bounded by its number of rows (see ``benchmarks/report.py``).

``redacted=True`` renders ``redaction.redact(findings)`` (no witness names or words, no GPS of items, no analysts'
names or reasons) under a banner saying so.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from factfinder.findings.model import (
    COUNTED,
    LEVEL_LABELS,
    SOURCE_TYPE_LABELS,
    CountTable,
    EvidenceItem,
    Figure,
    Findings,
    Incident,
    Record,
    TimelineEntry,
)
from factfinder.reports import basemap, mapsvg
from factfinder.reports.redaction import WITHHELD_QUOTE, redact

PDF_RECORDS_CAP = 50
"""Reports listed under each incident in the PDF; the rest are in the HTML report and the exports (and it says so)."""

PDF_CASE_FIGURES = 500
"""Above this many figures, a count table for the whole case in the PDF leaves out the figures already listed under
their incidents (and says so), keeping the others and the officials' history: each figure is still in the PDF once,
and a large case's PDF is not twice as long for it. The HTML report always lists every figure in both places."""

LEVEL_SHORT: dict[str, str] = {
    "contradicted": "contradicted",
    "confirmed": "confirmed by documentary or forensic evidence",
    "multiple": "corroborated by several sources",
    "single": "single source",
}
"""How a figure's or report's own corroboration reads beside it."""

TIMELINE_ROWS = 40
"""Entries per timeline chart: a long timeline is drawn as several charts on one time scale, each fitting a page."""

ANCHOR_HEX = 16
"""Hex digits of an item's SHA-256 in its anchor (``#item-<16 hex>``): 64 bits, no collision in any real case."""

GEO_RADIUS_KM: dict[int, float] = {1: 0.0, 2: 5.0, 3: 50.0}
"""Least radius drawn around an incident for its ACLED geo_precision: the town itself, near it, the region only."""

GEO_PRECISION_LABELS: dict[int, str] = {
    1: "the town or village itself",
    2: "near or part of the named place",
    3: "the region only",
}
TIME_PRECISION_LABELS: dict[int, str] = {
    1: "within these days",
    2: "known only within a week",
    3: "known only within a month",
}
"""What an interval of dates means at each ACLED time_precision (a single day at precision 1 needs no words)."""
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
"""Month names, spelt here so the report reads the same whatever the machine's locale."""

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
"""The report's Content-Security-Policy: a browser opening it loads nothing from anywhere and runs no script."""

_XML_PROLOGUE = re.compile(r"^\s*(<\?xml[^>]*\?>\s*)?(<!DOCTYPE[^>]*>\s*)?", re.IGNORECASE)


# --------------------------------------------------------------------------------------------------- wording


def day(d: date, *, year: bool = True) -> str:
    """A date as people read it: "17 Dec 2011" (or "17 Dec")."""
    text = f"{d.day} {MONTHS[d.month - 1]}"
    return f"{text} {d.year}" if year else text


def date_range(earliest: date, latest: date) -> str:
    """Two dates as one span, sharing what they share: "16–18 Dec 2011", "30 Nov – 2 Dec 2011"."""
    if earliest == latest:
        return day(earliest)
    if (earliest.year, earliest.month) == (latest.year, latest.month):
        return f"{earliest.day}–{day(latest)}"
    if earliest.year == latest.year:
        return f"{day(earliest, year=False)} – {day(latest)}"
    return f"{day(earliest)} – {day(latest)}"


def when(earliest: date, latest: date, precision: int) -> str:
    """When something happened, as an interval with its precision: a single day only when it is known to the day."""
    if earliest == latest and precision <= 1:
        return day(earliest)
    label = TIME_PRECISION_LABELS.get(precision, f"time precision {precision}")
    return f"{date_range(earliest, latest)} ({label})"


def figure_range(low: int | None, high: int | None) -> str:
    """A range of figures: "64–86", "64", "at least 64"."""
    if low is None:
        return "—"
    if high is None:
        return f"at least {low:,}"
    return f"{low:,}" if high == low else f"{low:,}–{high:,}"


def official_history(figures: Iterable[Figure]) -> str:
    """The officials' figures in order: "10 (17 Dec) → 11 (18 Dec) → 16 (22 Dec)" (years only when they differ)."""
    figs = list(figures)
    years = len({f.reported_on.year for f in figs}) > 1
    return " → ".join(f"{f.text} ({day(f.reported_on, year=years)})" for f in figs)


def independent(table: CountTable) -> str:
    """The independent sources' range with how many independent sources give it."""
    if table.independent_low is None:
        return "no independent figure"
    n = table.independent_sources
    return f"{figure_range(table.independent_low, table.independent_high)} ({n} independent source{'s' * (n != 1)})"


def anchor(sha256: str) -> str:
    """The id of an item's evidence entry, which every statement resting on it links to."""
    return f"item-{sha256[:ANCHOR_HEX]}"


def hexwrap(digest: str) -> Markup:
    """A hash with a break opportunity (``<wbr>``) every 16 digits: it wraps in a narrow column, copies whole."""
    return Markup("<wbr>").join(escape(digest[i : i + 16]) for i in range(0, len(digest), 16))


def body_text(body: Mapping[str, object]) -> str:
    """A decision's body in one line: "claims: 12, 14; into: I-0a1b2c3d4e"."""
    parts = []
    for key, value in body.items():
        if isinstance(value, list | tuple | set):
            value = ", ".join(str(v) for v in value)
        parts.append(f"{key}: {value}")
    return "; ".join(parts)


def quoted(text: str) -> str:
    """A quote in quotation marks; the redacted report's placeholder for a witness's words stays as it is."""
    return text if text == WITHHELD_QUOTE else f"“{text}”"


def qualifier(q: str) -> str:
    """A figure's qualifier as words ("at least", "about"); nothing for an exact figure."""
    return q.replace("_", " ") if q not in ("", "exact") else ""


# --------------------------------------------------------------------------------------------------- views


@dataclass(frozen=True)
class TableView:
    """A count table as the template shows it: its anchor prefix and the claim ids it holds (for repeat links)."""

    key: str
    what: str
    table: CountTable
    claim_ids: frozenset[int]
    figures: list[Figure]
    """The figures listed: all of them, but for a large case table in the PDF (``PDF_CASE_FIGURES``)."""
    repeated: frozenset[int]
    """Claim ids that a listed figure repeats and that are listed too: their rows get an id to link to."""
    hidden: int = 0
    """How many figures are not listed here because they are listed under their incidents."""


@dataclass(frozen=True)
class IncidentView:
    """An incident with what the template shows of it worded beforehand (templates stay simple and fast)."""

    incident: Incident
    when: str
    where: str
    tables: list[TableView]
    records: list[Record]
    records_hidden: int
    disputed_types: list[tuple[str, int]]


@dataclass(frozen=True)
class Bar:
    """One entry of a timeline chart, in the chart's pixels."""

    y: float
    x: float
    width: float
    dot: bool
    kind: str
    label: str
    href: str | None


@dataclass(frozen=True)
class Chart:
    """One timeline chart (``TIMELINE_ROWS`` entries at most): several share one time scale."""

    height: float
    bars: list[Bar]


@dataclass
class Timeline:
    """The timeline: its charts' geometry and time axis, and every entry for the table under them."""

    width: int
    plot_left: int
    plot_right: int
    ticks: list[tuple[float, str]]
    charts: list[Chart] = field(default_factory=list)
    rows: list[tuple[TimelineEntry, str, str | None]] = field(default_factory=list)
    """Each entry with its "when" and its link."""


def _ordered_tables(
    counts: Mapping[str, CountTable], scope: str, *, listed_elsewhere: frozenset[int] = frozenset()
) -> list[TableView]:
    """The count tables in the order the report shows them (``COUNTED``, then any other thing counted).

    ``listed_elsewhere``: claim ids already listed under incidents, left out of a table holding more than
    ``PDF_CASE_FIGURES`` figures (the officials' history is always kept)."""
    whats = [w for w in COUNTED if w in counts] + sorted(w for w in counts if w not in COUNTED)
    views = []
    for what in whats:
        table = counts[what]
        figures = table.figures
        if listed_elsewhere and len(figures) > PDF_CASE_FIGURES:
            official = {f.claim_id for f in table.official_history}
            figures = [f for f in figures if f.claim_id not in listed_elsewhere or f.claim_id in official]
        listed = frozenset(f.claim_id for f in figures)
        views.append(
            TableView(
                key=f"{scope}-{what}",
                what=what,
                table=table,
                claim_ids=listed,
                figures=figures,
                repeated=listed & {f.repeats for f in figures if f.repeats is not None},
                hidden=len(table.figures) - len(figures),
            )
        )
    return views


def where(incident: Incident) -> str:
    """Where an incident happened: place, how precisely, and how far apart its reports' places are."""
    place = incident.place or "no place named"
    parts = [place]
    if incident.admin1 and incident.admin1 != incident.place:
        parts.append(incident.admin1)
    if incident.country:
        parts.append(incident.country)
    text = ", ".join(parts)
    if incident.geo_precision is not None:
        text += f" (location: {GEO_PRECISION_LABELS.get(incident.geo_precision, str(incident.geo_precision))})"
    if incident.radius_km > 0:
        text += f"; the places its reports name lie up to {incident.radius_km:,.1f} km apart"
    if incident.latitude is None or incident.longitude is None:
        text += "; no coordinates, so not on the map"
    else:
        text += f"; {incident.latitude:.4f}, {incident.longitude:.4f}"
    return text


def _incident_view(incident: Incident, pdf: bool) -> IncidentView:
    records = incident.records[:PDF_RECORDS_CAP] if pdf else incident.records
    types = sorted(incident.types.items(), key=lambda kv: (-kv[1], kv[0]))
    return IncidentView(
        incident=incident,
        when=when(incident.earliest, incident.latest, incident.time_precision),
        where=where(incident),
        tables=_ordered_tables(incident.counts, incident.ref),
        records=records,
        records_hidden=len(incident.records) - len(records),
        disputed_types=types if len(types) > 1 else [],
    )


def _ticks(start: date, end: date, x: Any) -> list[tuple[float, str]]:
    """Tick marks for a time axis from ``start`` to ``end`` (exclusive): days, weeks, months or years."""
    days = (end - start).days
    ticks: list[tuple[float, str]] = []
    if days <= 62:
        step = 1 if days <= 14 else 7
        d = start
        while d < end:
            ticks.append((x(d), day(d, year=False)))
            d += timedelta(days=step)
    elif days <= 2 * 366:
        d = date(start.year, start.month, 1)
        while d < end:
            if d >= start:
                ticks.append((x(d), f"{MONTHS[d.month - 1]} {d.year}"))
            d = date(d.year + d.month // 12, d.month % 12 + 1, 1)
    else:
        for year in range(start.year + (start > date(start.year, 1, 1)), end.year + 1):
            if date(year, 1, 1) < end:
                ticks.append((x(date(year, 1, 1)), str(year)))
    while len(ticks) > 12:
        ticks = ticks[::2]
    return ticks


def _timeline(findings: Findings, item_links: Mapping[str, str]) -> Timeline:
    entries = sorted(findings.timeline, key=lambda e: (e.earliest, e.latest, e.kind, e.ref))
    tl = Timeline(width=760, plot_left=300, plot_right=748, ticks=[])
    if not entries:
        return tl
    start = min(e.earliest for e in entries)
    end = max(e.latest for e in entries) + timedelta(days=1)
    total = max((end - start).days, 1)
    plot = tl.plot_right - tl.plot_left

    def x(d: date) -> float:
        return tl.plot_left + (d - start).days / total * plot

    tl.ticks = _ticks(start, end, x)
    for e in entries:
        href = f"#incident-{e.ref}" if e.kind == "incident" else item_links.get(e.ref)
        tl.rows.append((e, when(e.earliest, e.latest, e.precision), href))
    for first in range(0, len(tl.rows), TIMELINE_ROWS):
        bars = []
        for n, (e, _, href) in enumerate(tl.rows[first : first + TIMELINE_ROWS]):
            x0 = x(e.earliest)
            width = x(e.latest + timedelta(days=1)) - x0
            dot = e.earliest == e.latest and e.precision <= 1
            label = e.label if len(e.label) <= 44 else e.label[:43] + "…"
            bars.append(Bar(y=24 + n * 16, x=x0, width=max(width, 2.0), dot=dot, kind=e.kind, label=label, href=href))
        tl.charts.append(Chart(height=24 + len(bars) * 16 + 8, bars=bars))
    return tl


def map_points(
    findings: Findings,
    *,
    incident_href: Callable[[Incident], str],
    item_href: Callable[[EvidenceItem], str] | None,
) -> tuple[list[mapsvg.MapPoint], list[Incident]]:
    """The map's points: each incident with coordinates, its circle as wide as its place is uncertain, and
    (``item_href`` given: never for a redacted report) each cited item whose file gives a GPS position.
    Also the incidents left off for want of coordinates, so the reader is told of them."""
    points: list[mapsvg.MapPoint] = []
    unplaced: list[Incident] = []
    for i in findings.incidents:
        if i.latitude is None or i.longitude is None:
            unplaced.append(i)
            continue
        radius = max(i.radius_km, GEO_RADIUS_KM.get(i.geo_precision or 0, 0.0))
        points.append(mapsvg.MapPoint(i.label, i.latitude, i.longitude, "incident", i.ref, incident_href(i), radius))
    if item_href is not None:
        for item in sorted(findings.items.values(), key=lambda it: it.id):
            if item.gps is not None:
                label = f"{item.media_type} {item.sha256[:12]}"
                points.append(
                    mapsvg.MapPoint(label, item.gps[0], item.gps[1], "item", item.sha256[:16], item_href(item))
                )
    return points, unplaced


def _map(findings: Findings, redacted: bool) -> tuple[Markup | None, str]:
    """The inline SVG map of the incidents (and, unredacted, of the items' GPS), with a note on what is left out."""
    points, unplaced = map_points(
        findings,
        incident_href=lambda i: f"#incident-{i.ref}",
        item_href=None if redacted else lambda it: f"#{anchor(it.sha256)}",
    )
    missing = len(unplaced)
    notes = []
    if missing:
        notes.append(
            f"{missing} incident{'s' * (missing != 1)} without coordinates {'are' if missing != 1 else 'is'} "
            "not on the map (see the incidents)."
        )
    if redacted:
        notes.append("Where items were made (their GPS) is left out of this redacted report.")
    if not points:
        return None, " ".join(["Nothing in the case has coordinates.", *notes])
    try:
        svg = mapsvg.render(points, width=760, height=480, title=f"Map of {findings.title}")
    except basemap.BasemapMissingError as e:
        return None, " ".join([f"The map could not be drawn: {e}", *notes])
    # Inline in HTML the SVG namespace is implied: the XML prologue would be a parse error, and dropping the
    # xmlns leaves no URL at all in the report, so "no http" can be checked by anyone with grep.
    svg = _XML_PROLOGUE.sub("", svg, count=1).replace(' xmlns="http://www.w3.org/2000/svg"', "", 1)
    return Markup(svg), " ".join(notes)  # mapsvg escapes every text it draws


def _evidence(findings: Findings) -> tuple[list[EvidenceItem], list[str]]:
    """The items the findings cite, in custody-log order, and the SHA-256 of any cited item missing from them."""
    cited: set[str] = set()
    tables = [*findings.counts.values()]
    for i in findings.incidents:
        cited.update(r.item_sha256 for r in i.records)
        cited.update(a.item_sha256 for a in i.attached)
        tables.extend(i.counts.values())
    for t in tables:
        cited.update(f.item_sha256 for f in t.figures)
    items = sorted(findings.items.values(), key=lambda it: (it.first_log_index, it.id))
    known = {it.sha256 for it in items}
    return items, sorted(cited - known)


@functools.cache
def environment() -> jinja2.Environment:
    """The templates (under ``templates/``), autoescaped: every text in the findings is data, never markup."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("factfinder.reports", "templates"),
        autoescape=jinja2.select_autoescape(["html"], default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(
        day=day,
        anchor=anchor,
        hexwrap=hexwrap,
        qualifier=qualifier,
        quoted=quoted,
        body_text=body_text,
        level=LEVEL_SHORT.get,
    )
    env.globals.update(
        when=when,
        figure_range=figure_range,
        official_history=official_history,
        independent=independent,
        SOURCE_TYPE_LABELS=SOURCE_TYPE_LABELS,
        LEVEL_LABELS=LEVEL_LABELS,
    )
    return env


def _render(findings: Findings, *, redacted: bool, generated_at: str | None, pdf: bool) -> str:
    if redacted:
        findings = redact(findings)
    generated = generated_at or datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    items, missing = _evidence(findings)
    item_links = {}
    for it in items:
        link = f"#{anchor(it.sha256)}"
        item_links.update({it.sha256: link, it.sha256[:ANCHOR_HEX]: link, str(it.id): link})
    incidents = findings.incidents
    span = date_range(min(i.earliest for i in incidents), max(i.latest for i in incidents)) if incidents else ""
    places = list(dict.fromkeys(i.place for i in incidents if i.place))
    svg, map_note = _map(findings, redacted)
    listed = frozenset(f.claim_id for i in incidents for t in i.counts.values() for f in t.figures)
    return (
        environment()
        .get_template("report.html")
        .render(
            f=findings,
            redacted=redacted,
            pdf=pdf,
            generated=generated,
            csp=CSP,
            span=span,
            places=places[:30],
            places_more=max(len(places) - 30, 0),
            case_tables=_ordered_tables(findings.counts, "case", listed_elsewhere=listed if pdf else frozenset()),
            incidents=[_incident_view(i, pdf) for i in incidents],
            timeline=_timeline(findings, item_links),
            map_svg=svg,
            map_note=map_note,
            items=items,
            missing_items=missing,
        )
    )


def render_html(findings: Findings, *, redacted: bool = False, generated_at: str | None = None) -> str:
    """The case report as one self-contained HTML document (``redacted``: for publication, see ``redaction``)."""
    return _render(findings, redacted=redacted, generated_at=generated_at, pdf=False)


def write_html(findings: Findings, path: Path | str, *, redacted: bool = False) -> Path:
    """Write the HTML report to ``path`` (UTF-8) and return the path."""
    out = Path(path)
    out.write_text(render_html(findings, redacted=redacted), encoding="utf-8")
    return out


def write_pdf(findings: Findings, path: Path | str, *, redacted: bool = False) -> Path:
    """Write the report as an A4 PDF to ``path`` through WeasyPrint, fetching nothing, and return the path.

    The PDF's report lists at most ``PDF_RECORDS_CAP`` reports per incident, and says so where it cuts."""
    import weasyprint  # type: ignore[import-untyped]  # imported here: loading Pango costs ~0.3 s

    class _NoFetch(weasyprint.urls.URLFetcher):  # type: ignore[misc]
        """Refuses every URL: the report is self-contained, and a URL in the data must not be followed."""

        def __init__(self) -> None:
            super().__init__(fail_on_errors=True)

        def fetch(self, url: str, headers: object = None) -> object:
            raise ValueError(f"the case report fetches nothing (asked for {url[:80]!r})")

    out = Path(path)
    html = _render(findings, redacted=redacted, generated_at=None, pdf=True)
    weasyprint.HTML(string=html, url_fetcher=_NoFetch()).write_pdf(out)
    return out
