"""Exports of a case's findings in the formats the field reads: CSV, JSON, GeoJSON, ACLED's CSV and SQLite.

A commission's findings are read by people with other tools: a spreadsheet, a
GIS, a newsroom's Datasette, a conflict-data team that already works in ACLED's
columns. Each export here is written from a ``Findings`` object alone (never
the case), so what it says is what the report says, at the same custody-log
checkpoint, and two exports of the same findings are the same bytes.

- ``write_csv``: ``incidents.csv``, ``figures.csv``, ``counts.csv`` and
  ``records.csv``, one row per thing, RFC 4180 (``csv`` module, CRLF, quotes
  doubled), UTF-8, a header row.
- ``write_json`` / ``to_json``: one document, ``"format": "factfinder/findings/v1"``.
- ``write_geojson`` / ``to_geojson``: RFC 7946, one Point per incident that has a place.
- ``write_acled_csv``: one row per incident in ACLED's columns and order (``ACLED_COLUMNS``).
- ``write_sqlite``: tables with keys, foreign keys and indexes, and Datasette metadata beside it.
- ``export_all``: all of them into one folder.

What is left out on purpose: where a file says it was made (``EvidenceItem.gps``,
a phone's position) is never exported, as it is never in the redacted report;
it can locate the person who filmed. Everything else a finding stands on is in,
down to the sha256 of each item, so a reader can check it against the custody log.
Exports write the findings they are given: for anything that leaves the
commission, give them ``factfinder.reports.redaction.redact(findings)``, which
replaces witnesses' names, origin keys (a phone number) and own words.

Every file is written to a temporary file beside its destination and renamed
over it (atomic on POSIX and Windows), so a crash leaves the previous export or
none, never half a file a reader would take for the whole.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import json
import math
import os
import re
import sqlite3
import tempfile
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any, Literal

import pycountry

from factfinder.findings.model import (
    COUNTED,
    AttachedItem,
    CountTable,
    Decision,
    EvidenceItem,
    Figure,
    Findings,
    Incident,
    Record,
    Source,
    TimelineEntry,
)
from factfinder.text import lexicon

FORMAT = "factfinder/findings/v1"
"""The ``format`` of the JSON document: bumped when a field changes meaning or goes, not when one is added."""

ExportFormat = Literal["csv", "json", "geojson", "acled", "sqlite"]
FORMATS: tuple[ExportFormat, ...] = ("csv", "json", "geojson", "acled", "sqlite")

# ---------------------------------------------------------------------------------------------------------------
# Writing files: atomically, and CSV cells that a spreadsheet cannot run.
# ---------------------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def replacing(path: Path, *, newline: str | None = None, encoding: str = "utf-8") -> Iterator[IO[str]]:
    """A text file that becomes ``path`` only when the block ends without an error.

    Written beside ``path`` (same file system, so the rename is atomic), flushed to disk, then renamed over it;
    on any error the temporary file is removed and ``path`` is left as it was. Like every file mkstemp makes,
    the export is readable by its owner only: findings are not public until someone decides they are."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline=newline) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
"""What makes a spreadsheet read a cell as a formula (OWASP "CSV Injection"), and the full-width forms of the
four signs, to be safe: a spreadsheet that normalises them would read them the same."""

_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _guard(text: str) -> str:
    """``text`` with a leading apostrophe when a spreadsheet would run it as a formula.

    Quotes, places and source names come from documents anyone could have written: "=HYPERLINK(...)" in a
    witness statement must reach the analyst's spreadsheet as text, not as a link that fires. The apostrophe
    is what spreadsheets themselves use to mark text, and it shows, so nobody mistakes the cell for the
    original. A plain number ("-3", "+7", "-0.5") is left alone: a spreadsheet reads it as that number, which
    cannot run anything, and an apostrophe would turn the figure into text and break sums and re-reading."""
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


_SURROGATE = re.compile("[\ud800-\udfff]")
"""A lone UTF-16 surrogate: a Python string can hold one (from JSON's "\\udcff"), UTF-8 cannot; in CSV and
SQLite it becomes U+FFFD rather than an error halfway through an export, in JSON it stays as its escape."""

Cell = str | int | float | bool | date | None


def _cell(value: Cell) -> str | int | float:
    """One CSV cell: numbers as numbers, dates ISO 8601, booleans "true"/"false", None empty, text guarded."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else ""
    if isinstance(value, date):
        return value.isoformat()
    return _guard(_SURROGATE.sub("\ufffd", value))


def write_rows(path: Path, header: Iterable[str], rows: Iterable[Iterable[Cell]], *, bom: bool = False) -> Path:
    """An RFC 4180 file: a header row, then ``rows``; CRLF line ends, fields with quotes, commas or line
    breaks quoted, quotes doubled (the ``csv`` module's "excel" dialect is exactly that).

    ``bom`` writes a UTF-8 byte-order mark first, which Excel needs to read UTF-8 (Cyrillic names) when a
    file is opened by double-click; it is off by default because RFC 4180 readers (Python's ``csv`` among them)
    take it for part of the first column's name."""
    with replacing(path, newline="", encoding="utf-8-sig" if bom else "utf-8") as fh:
        writer = csv.writer(fh, dialect="excel")
        writer.writerow(list(header))
        for row in rows:
            writer.writerow([_cell(v) for v in row])
    return path


# ---------------------------------------------------------------------------------------------------------------
# What the exports share.
# ---------------------------------------------------------------------------------------------------------------


def _tables(counts: dict[str, CountTable]) -> list[CountTable]:
    """Count tables in the order reports show them: ``COUNTED`` first, anything else after, by name."""
    order = {what: i for i, what in enumerate(COUNTED)}
    return sorted(counts.values(), key=lambda t: (order.get(t.what, len(order)), t.what))


def _independent_sources(incident: Incident) -> int:
    """How many origins report the incident: one ministry relayed by five outlets is one.

    Reports that deny the event (``negated``) are left out: a denial is not a second source for it."""
    return len({r.source.origin for r in incident.records if not r.negated})


def _items_of(incident: Incident) -> list[tuple[int, str]]:
    """(item id, sha256) of every item an incident stands on (its reports, figures and attached media), by id."""
    found: dict[int, str] = {}
    for r in incident.records:
        found.setdefault(r.item_id, r.item_sha256)
    for a in incident.attached:
        found.setdefault(a.item_id, a.item_sha256)
    for table in incident.counts.values():
        for f in table.figures:
            found.setdefault(f.item_id, f.item_sha256)
    return sorted(found.items())


def _history(table: CountTable) -> str:
    """The officials' figures in order: "10 (2011-12-17); 11 (2011-12-18); 16 (2011-12-22)"."""
    return "; ".join(f"{f.text} ({f.reported_on.isoformat()})" for f in table.official_history)


@dataclass(frozen=True)
class _PlacedFigure:
    incident: str | None
    """The incident whose table holds it; None for a figure only the case's tables hold."""
    figure: Figure


def _figures(findings: Findings) -> list[_PlacedFigure]:
    """Every figure once, with the incident it belongs to.

    A figure given for an incident is usually also in the case's table for the same thing counted; it is
    listed once, under its incident (with its group in that incident's table). A figure only the case's table
    holds (a total for the whole case) is listed with no incident."""
    placed: list[_PlacedFigure] = []
    seen: set[tuple[int, str]] = set()
    for incident in findings.incidents:
        for table in _tables(incident.counts):
            for f in table.figures:
                if (f.claim_id, f.what) not in seen:
                    seen.add((f.claim_id, f.what))
                    placed.append(_PlacedFigure(incident.ref, f))
    for table in _tables(findings.counts):
        for f in table.figures:
            if (f.claim_id, f.what) not in seen:
                seen.add((f.claim_id, f.what))
                placed.append(_PlacedFigure(None, f))
    return placed


def _scoped_tables(findings: Findings) -> list[tuple[str, Incident | None, CountTable]]:
    """(scope, incident, table) for every count table: each incident's, then the case's (scope "case")."""
    scoped: list[tuple[str, Incident | None, CountTable]] = []
    for incident in findings.incidents:
        scoped.extend((incident.ref, incident, t) for t in _tables(incident.counts))
    scoped.extend(("case", None, t) for t in _tables(findings.counts))
    return scoped


# ---------------------------------------------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------------------------------------------

INCIDENT_COLUMNS = (
    "ref", "label", "event_type", "sub_event_type", "earliest", "latest", "time_precision", "dates_disagree",
    "place", "latitude", "longitude", "admin1", "country", "geo_precision", "radius_km", "fatalities",
    "corroboration", "independent_sources", "actors", "items",
)  # fmt: skip
FIGURE_COLUMNS = (
    "incident", "claim_id", "item_sha256", "what", "low", "high", "text", "qualifier", "hedged", "quote",
    "source", "source_type", "cited", "reported_on", "group", "repeats",
)  # fmt: skip
COUNT_COLUMNS = (
    "scope", "what", "conservative", "conservative_reason", "independent_low", "independent_high",
    "independent_sources", "figures", "official_history", "disputes",
)  # fmt: skip
RECORD_COLUMNS = (
    "incident", "claim_id", "item_sha256", "event_type", "sub_event_type", "negated", "quote", "place",
    "latitude", "longitude", "admin1", "country", "geo_precision", "earliest", "latest", "time_precision",
    "source", "source_type", "cited", "reported_on", "figures",
)  # fmt: skip


def _incident_row(incident: Incident) -> list[Cell]:
    return [
        incident.ref, incident.label, incident.event_type, incident.sub_event_type, incident.earliest,
        incident.latest, incident.time_precision, incident.dates_disagree, incident.place, incident.latitude,
        incident.longitude, incident.admin1, incident.country, incident.geo_precision, incident.radius_km,
        incident.fatalities, incident.corroboration.level, _independent_sources(incident),
        "; ".join(incident.actors), " ".join(sha for _, sha in _items_of(incident)),
    ]  # fmt: skip


def _figure_row(placed: _PlacedFigure) -> list[Cell]:
    f = placed.figure
    return [
        placed.incident, f.claim_id, f.item_sha256, f.what, f.low, f.high, f.text, f.qualifier, f.hedged, f.quote,
        f.source.name, f.source.type, f.source.cited, f.reported_on, f.group, f.repeats,
    ]  # fmt: skip


def _count_row(scope: str, table: CountTable) -> list[Cell]:
    return [
        scope, table.what, table.conservative, table.conservative_reason, table.independent_low,
        table.independent_high, table.independent_sources, len(table.figures), _history(table),
        " | ".join(table.disputes),
    ]  # fmt: skip


def _record_row(ref: str, r: Record) -> list[Cell]:
    return [
        ref, r.claim_id, r.item_sha256, r.event_type, r.sub_event_type, r.negated, r.quote, r.place, r.latitude,
        r.longitude, r.admin1, r.country, r.geo_precision, r.earliest, r.latest, r.time_precision, r.source.name,
        r.source.type, r.source.cited, r.reported_on, " ".join(str(c) for c in r.figures),
    ]  # fmt: skip


def write_csv(findings: Findings, out_dir: Path, *, bom: bool = False) -> list[Path]:
    """``incidents.csv``, ``figures.csv``, ``counts.csv`` and ``records.csv`` in ``out_dir``.

    - incidents: one row per incident; ``fatalities`` is the most conservative figure for the killed (empty
      when no source gives one), ``independent_sources`` the origins that report it, ``items`` the sha256 of
      every item it stands on, space-separated.
    - figures: every figure once, under the incident it belongs to (``incident`` empty: the case's only);
      ``group`` is its independent group in that table, ``repeats`` the claim it only repeats.
    - counts: one row per count table, ``scope`` the incident's ref or "case"; ``official_history`` as
      "10 (2011-12-17); 11 (2011-12-18)", ``disputes`` joined with " | ".
    - records: the reports behind each incident, with the claim and item they come from.
    """
    out_dir = Path(out_dir)
    return [
        write_rows(out_dir / "incidents.csv", INCIDENT_COLUMNS, map(_incident_row, findings.incidents), bom=bom),
        write_rows(out_dir / "figures.csv", FIGURE_COLUMNS, map(_figure_row, _figures(findings)), bom=bom),
        write_rows(
            out_dir / "counts.csv",
            COUNT_COLUMNS,
            (_count_row(scope, t) for scope, _, t in _scoped_tables(findings)),
            bom=bom,
        ),
        write_rows(
            out_dir / "records.csv",
            RECORD_COLUMNS,
            (_record_row(i.ref, r) for i in findings.incidents for r in i.records),
            bom=bom,
        ),
    ]


# ---------------------------------------------------------------------------------------------------------------
# JSON
# ---------------------------------------------------------------------------------------------------------------


def _plain(value: object) -> Any:
    """``value`` as JSON can hold it: dates ISO 8601, tuples and sets as lists, NaN and infinities as null
    (JSON has no such numbers, and a parser that meets one fails), anything else unknown as its text."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((_plain(v) for v in value), key=str)
    return str(value)


def _source_json(s: Source) -> dict[str, Any]:
    return {"name": s.name, "type": s.type, "origin": s.origin, "cited": s.cited}


def _figure_json(f: Figure) -> dict[str, Any]:
    return {
        "claim_id": f.claim_id,
        "item_id": f.item_id,
        "item_sha256": f.item_sha256,
        "what": f.what,
        "low": f.low,
        "high": f.high,
        "text": f.text,
        "qualifier": f.qualifier,
        "hedged": f.hedged,
        "quote": f.quote,
        "source": _source_json(f.source),
        "reported_on": f.reported_on.isoformat(),
        "group": f.group,
        "repeats": f.repeats,
    }


def _table_json(t: CountTable) -> dict[str, Any]:
    return {
        "what": t.what,
        "conservative": t.conservative,
        "conservative_reason": t.conservative_reason,
        "independent_low": t.independent_low,
        "independent_high": t.independent_high,
        "independent_sources": t.independent_sources,
        "disputes": list(t.disputes),
        "official_history": [
            {"claim_id": f.claim_id, "text": f.text, "reported_on": f.reported_on.isoformat(), "source": f.source.name}
            for f in t.official_history
        ],
        "figures": [_figure_json(f) for f in t.figures],
    }


def _record_json(r: Record) -> dict[str, Any]:
    return {
        "claim_id": r.claim_id,
        "digest": r.digest,
        "item_id": r.item_id,
        "item_sha256": r.item_sha256,
        "event_type": r.event_type,
        "sub_event_type": r.sub_event_type,
        "negated": r.negated,
        "quote": r.quote,
        "place": r.place,
        "latitude": _plain(r.latitude),
        "longitude": _plain(r.longitude),
        "admin1": r.admin1,
        "country": r.country,
        "geo_precision": r.geo_precision,
        "earliest": r.earliest.isoformat(),
        "latest": r.latest.isoformat(),
        "time_precision": r.time_precision,
        "source": _source_json(r.source),
        "reported_on": r.reported_on.isoformat(),
        "figures": list(r.figures),
    }


def _attached_json(a: AttachedItem) -> dict[str, Any]:
    return {"item_id": a.item_id, "item_sha256": a.item_sha256, "media_type": a.media_type, "via": a.via}


def _incident_json(i: Incident) -> dict[str, Any]:
    return {
        "ref": i.ref,
        "label": i.label,
        "event_type": i.event_type,
        "sub_event_type": i.sub_event_type,
        "types": dict(i.types),
        "earliest": i.earliest.isoformat(),
        "latest": i.latest.isoformat(),
        "time_precision": i.time_precision,
        "dates_disagree": i.dates_disagree,
        "place": i.place,
        "latitude": _plain(i.latitude),
        "longitude": _plain(i.longitude),
        "admin1": i.admin1,
        "country": i.country,
        "geo_precision": i.geo_precision,
        "radius_km": _plain(i.radius_km),
        "fatalities": i.fatalities,
        "corroboration": {
            "level": i.corroboration.level,
            "label": i.corroboration.label,
            "reasons": list(i.corroboration.reasons),
        },
        "independent_sources": _independent_sources(i),
        "actors": list(i.actors),
        "decisions": list(i.decisions),
        "items": [sha for _, sha in _items_of(i)],
        "records": [_record_json(r) for r in i.records],
        "counts": {t.what: _table_json(t) for t in _tables(i.counts)},
        "attached": [_attached_json(a) for a in i.attached],
    }


def _item_json(e: EvidenceItem) -> dict[str, Any]:
    """An evidence item without ``gps``: where a phone says it filmed can locate the person who filmed."""
    return {
        "id": e.id,
        "sha256": e.sha256,
        "size": e.size,
        "media_type": e.media_type,
        "first_log_index": e.first_log_index,
        "received_at_vault_clock": e.received_at_vault_clock,
        "source": e.source,
        "source_type": e.source_type,
        "published": e.published,
    }


def _decision_json(d: Decision) -> dict[str, Any]:
    return {
        "id": d.id,
        "action": d.action,
        "body": _plain(d.body),
        "reason": d.reason,
        "actor": d.actor,
        "at_vault_clock": d.at_vault_clock,
        "log_index": d.log_index,
        "applied": d.applied,
    }


def _timeline_json(t: TimelineEntry) -> dict[str, Any]:
    return {
        "kind": t.kind,
        "ref": t.ref,
        "label": t.label,
        "earliest": t.earliest.isoformat(),
        "latest": t.latest.isoformat(),
        "precision": t.precision,
    }


def to_json(findings: Findings) -> dict[str, Any]:
    """The findings as one JSON-ready dict (only dicts, lists, strings, numbers, booleans and None).

    The web API returns this as it is; ``write_json`` writes it. Dates are ISO 8601 strings; each incident
    carries its records, count tables, attached items and corroboration; ``counts`` are the case's tables by
    thing counted; ``items`` the evidence (no GPS); ``decisions`` the analysts' decisions as logged."""
    return {
        "format": FORMAT,
        "title": findings.title,
        "checkpoint": {
            "size": findings.checkpoint_size,
            "root": findings.checkpoint_root,
            "note": findings.checkpoint_note,
        },
        "claims": findings.claims,
        "incidents": [_incident_json(i) for i in findings.incidents],
        "counts": {t.what: _table_json(t) for t in _tables(findings.counts)},
        "items": [_item_json(e) for e in sorted(findings.items.values(), key=lambda e: e.id)],
        "decisions": [_decision_json(d) for d in findings.decisions],
        "timeline": [_timeline_json(t) for t in findings.timeline],
    }


_SCRIPT_SAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def dumps(document: object) -> str:
    """JSON text that is also safe inside an HTML ``<script>`` element.

    ``<``, ``>``, ``&`` and the two line separators JavaScript does not allow in strings are written as
    ``\\u`` escapes: the same JSON to any parser, but a quote holding ``</script>`` cannot end the element when
    a page embeds the document. These characters only ever occur inside JSON strings, so escaping them
    in the text is exact. NaN is refused (``allow_nan=False``): it is not JSON."""
    text = json.dumps(document, ensure_ascii=False, indent=2, allow_nan=False)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text.translate(_SCRIPT_SAFE)) + "\n"


def write_json(findings: Findings, path: Path) -> Path:
    """``to_json(findings)`` as one UTF-8 JSON document at ``path``."""
    path = Path(path)
    with replacing(path) as fh:
        fh.write(dumps(to_json(findings)))
    return path


# ---------------------------------------------------------------------------------------------------------------
# GeoJSON (RFC 7946)
# ---------------------------------------------------------------------------------------------------------------


def _point(incident: Incident) -> tuple[float, float] | None:
    """(longitude, latitude) when the incident has a position RFC 7946 can hold, else None."""
    lat, lon = incident.latitude, incident.longitude
    if lat is None or lon is None or not (math.isfinite(lat) and math.isfinite(lon)):
        return None
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        return None
    # RFC 7946 section 11.2: six decimal places (about 10 cm) is more than any place name is precise to.
    return round(lon, 6), round(lat, 6)


def to_geojson(findings: Findings) -> dict[str, Any]:
    """An RFC 7946 FeatureCollection: one Point feature per incident with a position, ``id`` its ref.

    Coordinates are [longitude, latitude] (RFC 7946 section 3.1.1; the reverse of how people say them).
    Incidents with no place, or a position out of range, are left out rather than put at 0,0: a point in
    the Gulf of Guinea would be read as a place. ``len(findings.incidents) - len(features)`` of them."""
    features: list[dict[str, Any]] = []
    for i in findings.incidents:
        point = _point(i)
        if point is None:
            continue
        features.append(
            {
                "type": "Feature",
                "id": i.ref,
                "geometry": {"type": "Point", "coordinates": list(point)},
                "properties": {
                    "ref": i.ref,
                    "label": i.label,
                    "event_type": i.event_type,
                    "sub_event_type": i.sub_event_type,
                    "earliest": i.earliest.isoformat(),
                    "latest": i.latest.isoformat(),
                    "time_precision": i.time_precision,
                    "place": i.place,
                    "admin1": i.admin1,
                    "country": i.country,
                    "geo_precision": i.geo_precision,
                    "radius_km": _plain(i.radius_km),
                    "fatalities": i.fatalities,
                    "corroboration": i.corroboration.level,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def write_geojson(findings: Findings, path: Path) -> int:
    """``to_geojson(findings)`` at ``path``; returns how many incidents were left out for having no position."""
    path = Path(path)
    collection = to_geojson(findings)
    with replacing(path) as fh:
        fh.write(dumps(collection))
    return len(findings.incidents) - len(collection["features"])


# ---------------------------------------------------------------------------------------------------------------
# ACLED
# ---------------------------------------------------------------------------------------------------------------

# ACLED's standard (dyadic) export, its columns in its order: the ACLED Codebook (2023 edition onwards, when
# disorder_type and civilian_targeting joined) and the API's ``acled/read`` endpoint, 31 columns, the same in
# exports of 2023 events and of 2024-25 events. Since 2024 inter1, inter2 and interaction hold text ("State
# forces", "State forces-Protesters") where they held numbers (1, 16). ``tests/reports/test_exports.py`` holds
# ACLED's header as an export writes it, to compare.
ACLED_COLUMNS: tuple[str, ...] = (
    "event_id_cnty", "event_date", "year", "time_precision", "disorder_type", "event_type", "sub_event_type",
    "actor1", "assoc_actor_1", "inter1", "actor2", "assoc_actor_2", "inter2", "interaction", "civilian_targeting",
    "iso", "region", "country", "admin1", "admin2", "admin3", "location", "latitude", "longitude", "geo_precision",
    "source", "source_scale", "notes", "fatalities", "tags", "timestamp",
)  # fmt: skip

ACLED_INTER: dict[int, str] = {
    1: "State forces",
    2: "Rebel group",
    3: "Political militia",
    4: "Identity militia",
    5: "Rioters",
    6: "Protesters",
    7: "Civilians",
    8: "External/Other forces",
}
"""ACLED's actor types by inter code, as its exports have written them since 2024 (text, not the number)."""

_POLITICAL_VIOLENCE = "Political violence"
_DEMONSTRATIONS = "Demonstrations"
_DISORDER_BY_EVENT = {
    "Battles": _POLITICAL_VIOLENCE,
    "Explosions/Remote violence": _POLITICAL_VIOLENCE,
    "Violence against civilians": _POLITICAL_VIOLENCE,
    "Protests": _DEMONSTRATIONS,
    "Riots": _DEMONSTRATIONS,
    "Strategic developments": "Strategic developments",
}
_DISORDER_BY_SUB_EVENT = {
    # Protesters met with lethal force are both (codebook, "Disorder type"); mob violence is political violence.
    "Excessive force against protesters": f"{_POLITICAL_VIOLENCE}; {_DEMONSTRATIONS}",
    "Mob violence": _POLITICAL_VIOLENCE,
}

_ACLED_REGION: dict[str, str] = {
    **dict.fromkeys(("AM", "AZ", "GE", "KZ", "KG", "TJ", "TM", "UZ"), "Caucasus and Central Asia"),
    **dict.fromkeys(("RU", "UA", "BY", "MD"), "Europe"),
    **dict.fromkeys(("CN", "MN"), "East Asia"),
    **dict.fromkeys(("AF", "PK", "IN"), "South Asia"),
    **dict.fromkeys(("IR", "TR"), "Middle East"),
}
"""ACLED's region of the countries around the founding case; a country not here gets an empty region, not a
guess (ACLED's regions are its own: Turkey is "Middle East", Afghanistan "South Asia")."""

_ACLED_COUNTRY_NAME: dict[str, str] = {
    "RU": "Russia",
    "TR": "Turkey",
    "CZ": "Czech Republic",
    "CD": "Democratic Republic of Congo",
    "CG": "Republic of Congo",
    "PS": "Palestine",
}
"""Where ACLED's country name is neither ISO 3166's name nor its common name (pycountry's ``common_name``)."""


@dataclass(frozen=True)
class _Country:
    alpha_2: str
    alpha_3: str
    numeric: int
    name: str


def _country(value: str | None) -> _Country | None:
    """The country an incident names, by ISO 3166 code (alpha-2, alpha-3 or numeric) or by name."""
    if not value or not value.strip():
        return None
    try:
        c = pycountry.countries.lookup(value.strip())
    except LookupError:
        return None
    name = _ACLED_COUNTRY_NAME.get(c.alpha_2) or getattr(c, "common_name", None) or c.name
    return _Country(alpha_2=c.alpha_2, alpha_3=c.alpha_3, numeric=int(c.numeric), name=name)


_INTER_BY_PREFIX: tuple[tuple[str, int], ...] = (
    ("Police Forces of ", 1),
    ("Military Forces of ", 1),
    ("Government of ", 1),
    ("Rebel", 2),
    ("Unidentified Armed Group", 3),
    ("Unidentified Communal Militia", 4),
    ("Rioters", 5),
    ("Protesters", 6),
    ("Civilians", 7),
)
"""ACLED's actor names as ``factfinder.text.coding`` writes them ("Police Forces of Kazakhstan")."""


@functools.cache
def _inter_by_name() -> dict[str, int]:
    """The actor lexicon's normalised group names ("Police", "Strikers") with their inter codes."""
    return {str(g["actor"]): int(g["inter"]) for g in lexicon.load("actors-en")["groups"]}


def _inter(actor: str | None) -> int | None:
    """ACLED's inter code of an actor name, when the name says it; None rather than a guess."""
    if not actor:
        return None
    code = _inter_by_name().get(actor)
    if code is None:
        code = next((c for prefix, c in _INTER_BY_PREFIX if actor.startswith(prefix)), None)
    return code if code in ACLED_INTER else None


_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def _day(d: date) -> str:
    """The day as ACLED's notes write it, "16 December 2011", whatever the locale (``strftime`` follows it)."""
    return f"{d.day} {_MONTHS[d.month - 1]} {d.year}"


def _when(incident: Incident) -> str:
    """When, as an ACLED note opens: "On 16 December 2011", "Between 16 and 19 December 2011", "In December 2011"."""
    first, last = incident.earliest, incident.latest
    if incident.time_precision >= 3:
        return f"In {_MONTHS[first.month - 1]} {first.year}"
    if first == last:
        return f"On {_day(first)}" if incident.time_precision == 1 else f"Around {_day(first)}"
    if (first.year, first.month) == (last.year, last.month):
        return f"Between {first.day} and {_day(last)}"
    return f"Between {_day(first)} and {_day(last)}"


_SPACES = re.compile(r"\s+")


def _one_line(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


_COUNTED_WORDS = {"killed": "deaths", "injured": "injured", "detained": "detained", "missing": "missing"}


def _acled_notes(incident: Incident, crowd: str | None) -> str:
    """A short ACLED-style note: when and where, what happened, each figure with who gave it, the coded
    fatalities and their rule, disputes; "[size=...]" last for a demonstration, as ACLED ends its notes."""
    where = ", ".join(p for p in (incident.place, incident.admin1) if p)
    parts = [f"{_when(incident)}{f', in {where}' if where else ''}: {incident.label.rstrip('.')}."]
    for table in _tables(incident.counts):
        word = _COUNTED_WORDS.get(table.what)
        if word is None:
            continue
        given = [
            f"{f.text} ({f.source.name}, {_day(f.reported_on)}{', hedged' if f.hedged else ''})"
            for f in table.figures
            if f.repeats is None
        ]
        if given:
            parts.append(f"Reported {word}: {'; '.join(given)}.")
        if table.disputes:
            parts.append(f"Disputed: {'; '.join(d.rstrip('.') for d in table.disputes)}.")
    if incident.fatalities is not None:
        parts.append(f"Fatalities coded as {incident.fatalities}, the most conservative figure.")
    if crowd is not None:
        parts.append(f"[size={crowd}]")
    return _one_line(" ".join(parts))


def _unix(vault_clock: str) -> int | None:
    try:
        return int(datetime.fromisoformat(vault_clock.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return None


def _timestamp(findings: Findings, incident: Incident) -> int:
    """When what the row stands on last changed: the latest receipt of its items or decision on it (Unix time).

    ACLED's timestamp is when its row was last modified. Ours is taken from the vault clock of the evidence
    and analysts' decisions, not from when the export ran, so the same findings always export the same row;
    0 when none of them is known."""
    clocks = [findings.items[i].received_at_vault_clock for i, _ in _items_of(incident) if i in findings.items]
    decided = set(incident.decisions)
    clocks += [d.at_vault_clock for d in findings.decisions if d.id in decided]
    times = [t for t in map(_unix, clocks) if t is not None]
    return max(times, default=0)


def _acled_row(findings: Findings, incident: Incident) -> dict[str, Cell]:
    country = _country(incident.country)
    event_type = incident.event_type or ""
    disorder = _DISORDER_BY_SUB_EVENT.get(incident.sub_event_type or "") or _DISORDER_BY_EVENT.get(event_type, "")
    actor1 = incident.actors[0] if incident.actors else None
    actor2 = incident.actors[1] if len(incident.actors) > 1 else None
    inter1, inter2 = _inter(actor1), _inter(actor2)
    interaction = ""
    if inter1 is not None and actor2 is None:
        interaction = f"{ACLED_INTER[inter1]} only"
    elif inter1 is not None and inter2 is not None:
        low, high = sorted((inter1, inter2))
        interaction = f"{ACLED_INTER[low]}-{ACLED_INTER[high]}"
    targets_civilians = _POLITICAL_VIOLENCE in disorder and 7 in (inter1, inter2)
    crowd: str | None = None
    if event_type in ("Protests", "Riots") or "crowd" in incident.counts:
        table = incident.counts.get("crowd")
        crowd = str(table.conservative) if table is not None and table.conservative is not None else "no report"
    sources: list[str] = []
    for name in [r.source.name for r in incident.records] + [
        f.source.name for t in _tables(incident.counts) for f in t.figures
    ]:
        if name and name not in sources:
            sources.append(name)
    return {
        # ACLED's own ids are ISO 3166 alpha-3 and a number ("KAZ1234"); ours keep the incident's ref, so they
        # can never collide with ACLED's and lead back to the incident.
        "event_id_cnty": f"{country.alpha_3}-{incident.ref}" if country else incident.ref,
        # ISO 8601, as ACLED's API writes it (its website export writes "16 December 2011"); the first day of
        # the event, as factfinder.text.coding codes it.
        "event_date": incident.earliest,
        "year": incident.earliest.year,
        "time_precision": incident.time_precision,
        "disorder_type": disorder,
        "event_type": incident.event_type,
        "sub_event_type": incident.sub_event_type,
        "actor1": actor1,
        "assoc_actor_1": None,
        "inter1": ACLED_INTER[inter1] if inter1 is not None else None,
        "actor2": actor2,
        "assoc_actor_2": None,
        "inter2": ACLED_INTER[inter2] if inter2 is not None else None,
        "interaction": interaction,
        "civilian_targeting": "Civilian targeting" if targets_civilians else None,
        "iso": country.numeric if country else None,
        "region": _ACLED_REGION.get(country.alpha_2, "") if country else None,
        "country": country.name if country else incident.country,
        "admin1": incident.admin1,
        "admin2": None,
        "admin3": None,
        "location": incident.place,
        "latitude": incident.latitude,
        "longitude": incident.longitude,
        "geo_precision": incident.geo_precision,
        "source": "; ".join(sources),
        # ACLED grades each source's reach (Local, National, International, New media...); nothing here knows a
        # source's reach, and a guessed scale would mislead, so it is left empty.
        "source_scale": None,
        "notes": _acled_notes(incident, crowd),
        # ACLED's rule: the most conservative figure, 0 when no death is reported.
        "fatalities": incident.fatalities or 0,
        "tags": f"crowd size={crowd}" if crowd is not None else None,
        "timestamp": _timestamp(findings, incident),
    }


def acled_rows(findings: Findings) -> list[dict[str, Cell]]:
    """One ACLED row per incident, keyed by ``ACLED_COLUMNS`` (values not yet written as CSV cells)."""
    return [_acled_row(findings, i) for i in findings.incidents]


def write_acled_csv(findings: Findings, path: Path, *, bom: bool = False) -> Path:
    """One row per incident with exactly ACLED's columns in ACLED's order, so tools built on ACLED read it.

    Filled from the findings: the event's date, precision, type and disorder type; the first two actors and
    their ACLED types and interaction when the names say it; ISO country codes (numeric ``iso``, alpha-3 in
    the id) and ACLED's region and country name; place and precision; the distinct sources; a note; the
    conservative fatalities (0 when none); the crowd size tag for demonstrations. Left empty rather than
    guessed: associated actors, admin2 and admin3, source scale."""
    rows = acled_rows(findings)
    return write_rows(Path(path), ACLED_COLUMNS, ([row[c] for c in ACLED_COLUMNS] for row in rows), bom=bom)


# ---------------------------------------------------------------------------------------------------------------
# SQLite (opens in Datasette)
# ---------------------------------------------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE items (
    sha256 TEXT PRIMARY KEY,
    id INTEGER NOT NULL UNIQUE,
    size INTEGER,
    media_type TEXT,
    first_log_index INTEGER,
    received_at_vault_clock TEXT,
    source TEXT,
    source_type TEXT,
    published INTEGER
);
CREATE TABLE incidents (
    ref TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    event_type TEXT,
    sub_event_type TEXT,
    earliest TEXT NOT NULL,
    latest TEXT NOT NULL,
    time_precision INTEGER,
    dates_disagree INTEGER,
    place TEXT,
    latitude REAL,
    longitude REAL,
    admin1 TEXT,
    country TEXT,
    geo_precision INTEGER,
    radius_km REAL,
    fatalities INTEGER,
    corroboration TEXT,
    corroboration_reasons TEXT,
    independent_sources INTEGER,
    actors TEXT,
    decisions TEXT
);
CREATE TABLE decisions (
    id INTEGER PRIMARY KEY,
    action TEXT NOT NULL,
    body TEXT,
    reason TEXT,
    actor TEXT,
    at_vault_clock TEXT,
    log_index INTEGER,
    applied INTEGER
);
CREATE TABLE records (
    incident TEXT NOT NULL REFERENCES incidents(ref),
    claim_id INTEGER NOT NULL,
    digest TEXT,
    item_sha256 TEXT NOT NULL REFERENCES items(sha256),
    event_type TEXT,
    sub_event_type TEXT,
    negated INTEGER,
    quote TEXT,
    place TEXT,
    latitude REAL,
    longitude REAL,
    admin1 TEXT,
    country TEXT,
    geo_precision INTEGER,
    earliest TEXT,
    latest TEXT,
    time_precision INTEGER,
    source TEXT,
    source_type TEXT,
    source_cited INTEGER,
    reported_on TEXT,
    figures TEXT,
    PRIMARY KEY (incident, claim_id)
);
CREATE TABLE figures (
    claim_id INTEGER NOT NULL,
    what TEXT NOT NULL,
    incident TEXT REFERENCES incidents(ref),
    item_sha256 TEXT NOT NULL REFERENCES items(sha256),
    low INTEGER,
    high INTEGER,
    text TEXT,
    qualifier TEXT,
    hedged INTEGER,
    quote TEXT,
    source TEXT,
    source_type TEXT,
    source_cited INTEGER,
    reported_on TEXT,
    "group" INTEGER,
    repeats INTEGER,
    PRIMARY KEY (claim_id, what)
);
CREATE TABLE counts (
    scope TEXT NOT NULL,
    what TEXT NOT NULL,
    incident TEXT REFERENCES incidents(ref),
    conservative INTEGER,
    conservative_reason TEXT,
    independent_low INTEGER,
    independent_high INTEGER,
    independent_sources INTEGER,
    figures INTEGER,
    official_history TEXT,
    disputes TEXT,
    PRIMARY KEY (scope, what)
);
CREATE TABLE attached (
    incident TEXT NOT NULL REFERENCES incidents(ref),
    item_sha256 TEXT NOT NULL REFERENCES items(sha256),
    media_type TEXT,
    via TEXT,
    PRIMARY KEY (incident, item_sha256)
);
CREATE INDEX incidents_event_type ON incidents(event_type);
CREATE INDEX incidents_corroboration ON incidents(corroboration);
CREATE INDEX incidents_admin1 ON incidents(admin1);
CREATE INDEX incidents_earliest ON incidents(earliest);
CREATE INDEX records_item ON records(item_sha256);
CREATE INDEX records_event_type ON records(event_type);
CREATE INDEX records_source_type ON records(source_type);
CREATE INDEX figures_incident ON figures(incident);
CREATE INDEX figures_what ON figures(what);
CREATE INDEX figures_source_type ON figures(source_type);
CREATE INDEX figures_item ON figures(item_sha256);
CREATE INDEX counts_what ON counts(what);
CREATE INDEX counts_incident ON counts(incident);
CREATE INDEX attached_item ON attached(item_sha256);
CREATE INDEX items_source_type ON items(source_type);
CREATE INDEX items_media_type ON items(media_type);
CREATE INDEX decisions_action ON decisions(action);
"""

TABLE_DESCRIPTIONS: dict[str, str] = {
    "incidents": "One row per incident: reports of one event grouped by place, time and type. fatalities is the "
    "most conservative figure for the killed; corroboration the level its independent sources reach.",
    "records": "The reports behind each incident: one claim each, with the item (sha256) it was read from, "
    "the quote, and the place and dates it gives.",
    "figures": "Every figure any source gave for a thing counted (killed, injured, detained, missing, crowd), "
    "once, under the incident it belongs to (no incident: the case's totals only). group: its independent "
    "group in that table; repeats: the claim it only repeats.",
    "counts": "Each thing counted, reconciled: per incident (scope its ref) and for the whole case (scope "
    "'case'). conservative is the figure the report uses; the officials' figures in order and the disputes.",
    "items": "The evidence items findings stand on, by sha256, with their first custody-log entry: check any "
    "of them against the signed log. Where a file says it was made (GPS) is never exported.",
    "decisions": "Analysts' decisions on incidents (merge, split, attach, detach) as the custody log records "
    "them; applied is 0 when what a decision names is gone.",
    "attached": "Media attached to incidents by analysts (via 'item') or with their near-duplicate cluster.",
}

_COLUMN_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "incidents": {
        "ref": "Stable name: I- and 10 hex digits of its anchor claim's digest",
        "time_precision": "ACLED time_precision: 1 a day, 2 within a week, 3 within a month",
        "geo_precision": "ACLED geo_precision: 1 the town, 2 near or part of it, 3 the region",
        "radius_km": "How far apart the places its reports name are (0 when they agree)",
        "dates_disagree": "1 when its reports give dates that do not overlap",
        "independent_sources": "Distinct origins reporting it (one ministry relayed by five outlets is one)",
        "actors": "JSON array of actor names",
        "decisions": "JSON array of decision ids that shaped it",
    },
    "figures": {
        "high": "Empty: open above ('at least 14')",
        "repeats": "Claim id of an earlier figure of the same group that this one only repeats",
    },
    "counts": {"official_history": "The officials' figures in order of publication, with the day each was given"},
    "items": {"published": "1 when the item is cleared for publication"},
}


def _incident_sql(i: Incident) -> tuple[Any, ...]:
    return (
        i.ref, i.label, i.event_type, i.sub_event_type, i.earliest.isoformat(), i.latest.isoformat(),
        i.time_precision, int(i.dates_disagree), i.place, _plain(i.latitude), _plain(i.longitude), i.admin1,
        i.country, i.geo_precision, _plain(i.radius_km), i.fatalities, i.corroboration.level,
        _json_text(list(i.corroboration.reasons)), _independent_sources(i), _json_text(list(i.actors)),
        _json_text(list(i.decisions)),
    )  # fmt: skip


def _decision_sql(d: Decision) -> tuple[Any, ...]:
    return (
        d.id, d.action, _json_text(_plain(d.body)), d.reason, d.actor, d.at_vault_clock, d.log_index, int(d.applied),
    )  # fmt: skip


def _record_sql(ref: str, r: Record) -> tuple[Any, ...]:
    return (
        ref, r.claim_id, r.digest, r.item_sha256, r.event_type, r.sub_event_type, int(r.negated), r.quote, r.place,
        _plain(r.latitude), _plain(r.longitude), r.admin1, r.country, r.geo_precision, r.earliest.isoformat(),
        r.latest.isoformat(), r.time_precision, r.source.name, r.source.type, int(r.source.cited),
        r.reported_on.isoformat(), _json_text(list(r.figures)),
    )  # fmt: skip


def _figure_sql(p: _PlacedFigure) -> tuple[Any, ...]:
    f = p.figure
    return (
        f.claim_id, f.what, p.incident, f.item_sha256, f.low, f.high, f.text, f.qualifier, int(f.hedged), f.quote,
        f.source.name, f.source.type, int(f.source.cited), f.reported_on.isoformat(), f.group, f.repeats,
    )  # fmt: skip


def _count_sql(scope: str, incident: Incident | None, t: CountTable) -> tuple[Any, ...]:
    return (
        scope, t.what, incident.ref if incident else None, t.conservative, t.conservative_reason, t.independent_low,
        t.independent_high, t.independent_sources, len(t.figures), _history(t), _json_text(list(t.disputes)),
    )  # fmt: skip


def _json_text(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, allow_nan=False)


def _insert_rows(connection: sqlite3.Connection, findings: Findings) -> None:
    """Insert everything, parents before children, with foreign keys enforced as rows go in."""
    db = _Cursor(connection)
    items: dict[str, tuple[Any, ...]] = {}
    for e in sorted(findings.items.values(), key=lambda e: e.id):
        items[e.sha256] = (
            e.sha256, e.id, e.size, e.media_type, e.first_log_index, e.received_at_vault_clock, e.source,
            e.source_type, int(e.published),
        )  # fmt: skip
    # An item a finding names but the findings' item list lacks still gets its row (id and sha256, the rest
    # empty), so every reference resolves and the gap shows instead of a broken link.
    figures = _figures(findings)
    named = [ref for i in findings.incidents for ref in _items_of(i)]
    named += [(p.figure.item_id, p.figure.item_sha256) for p in figures]
    for item_id, sha in named:
        items.setdefault(sha, (sha, item_id, None, None, None, None, None, None, None))
    db.executemany("INSERT INTO items VALUES (?,?,?,?,?,?,?,?,?)", items.values())
    db.executemany(f"INSERT INTO incidents VALUES ({_marks(21)})", map(_incident_sql, findings.incidents))
    db.executemany(f"INSERT INTO decisions VALUES ({_marks(8)})", map(_decision_sql, findings.decisions))
    db.executemany(
        f"INSERT INTO records VALUES ({_marks(22)})",
        (_record_sql(i.ref, r) for i in findings.incidents for r in i.records),
    )
    db.executemany(f"INSERT INTO figures VALUES ({_marks(16)})", map(_figure_sql, figures))
    db.executemany(f"INSERT INTO counts VALUES ({_marks(11)})", (_count_sql(*s) for s in _scoped_tables(findings)))
    attached: dict[tuple[str, str], tuple[str, str, str, str]] = {}
    for i in findings.incidents:
        for a in i.attached:
            attached.setdefault((i.ref, a.item_sha256), (i.ref, a.item_sha256, a.media_type, a.via))
    db.executemany("INSERT INTO attached VALUES (?,?,?,?)", attached.values())


def _marks(n: int) -> str:
    return ",".join("?" * n)


class _Cursor:
    """``executemany`` with every text value made encodable (see ``_SURROGATE``), for ``_insert_rows``."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def executemany(self, sql: str, rows: Iterable[tuple[Any, ...]]) -> None:
        self.db.executemany(
            sql, (tuple(_SURROGATE.sub("\ufffd", v) if isinstance(v, str) else v for v in row) for row in rows)
        )


def datasette_metadata(findings: Findings, database: str) -> dict[str, Any]:
    """Datasette's metadata (``datasette findings.db --metadata findings.metadata.json``): the title, the
    checkpoint the findings were made at as the description, and what each table and key column holds."""
    checkpoint = f"custody-log checkpoint {findings.checkpoint_size}, root {findings.checkpoint_root}"
    return {
        "title": findings.title,
        "description": f"Findings at {checkpoint}. {findings.checkpoint_note}".strip(),
        "source": f"factfinder findings ({FORMAT}) at {checkpoint}",
        "databases": {
            database: {
                "description": f"{len(findings.incidents)} incidents from {findings.claims} claims",
                "tables": {
                    table: {
                        "description": text,
                        **({"columns": cols} if (cols := _COLUMN_DESCRIPTIONS.get(table)) else {}),
                    }
                    for table, text in TABLE_DESCRIPTIONS.items()
                },
            }
        },
    }


def metadata_path(path: Path) -> Path:
    """Where ``write_sqlite`` puts Datasette's metadata for the database at ``path``: ``findings.metadata.json``."""
    return path.with_name(f"{path.stem}.metadata.json")


def write_sqlite(findings: Findings, path: Path) -> tuple[Path, Path]:
    """A SQLite database of the findings at ``path``, and Datasette's metadata beside it.

    Tables incidents, records, figures, counts, items, decisions and attached, with primary keys, foreign
    keys (records, figures and attached to items by sha256 and to incidents by ref) and indexes on the
    columns people facet on; lists (actors, decision ids, disputes) are JSON arrays, which Datasette facets.
    Built in a temporary file and renamed over ``path`` when complete, with the foreign keys checked on the
    way in, so a reader never opens half a database. Returns (database, metadata)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(fd)
    try:
        db = sqlite3.connect(tmp)
        try:
            db.execute("PRAGMA foreign_keys = ON")
            db.executescript(_SCHEMA)
            with db:
                _insert_rows(db, findings)
            problems = db.execute("PRAGMA foreign_key_check").fetchall()
            if problems:
                raise sqlite3.IntegrityError(f"foreign keys that do not resolve: {problems[:5]}")
        finally:
            db.close()
        os.replace(tmp, path)  # the commit has synced the file (SQLite's default synchronous=FULL)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    meta = metadata_path(path)
    with replacing(meta) as fh:
        fh.write(dumps(datasette_metadata(findings, path.stem)))
    return path, meta


# ---------------------------------------------------------------------------------------------------------------
# All of them
# ---------------------------------------------------------------------------------------------------------------


def export_all(findings: Findings, out_dir: Path, *, formats: Collection[str] = FORMATS) -> list[Path]:
    """Every export in ``formats`` into ``out_dir`` (made if missing), returning the files written.

    csv: incidents.csv, figures.csv, counts.csv, records.csv; json: findings.json; geojson: findings.geojson;
    acled: acled.csv; sqlite: findings.db and findings.metadata.json."""
    if isinstance(formats, str):
        formats = [formats]
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise ValueError(f"unknown export format(s) {', '.join(unknown)}; known: {', '.join(FORMATS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    def geojson() -> list[Path]:
        write_geojson(findings, out_dir / "findings.geojson")
        return [out_dir / "findings.geojson"]

    writers: dict[str, Callable[[], list[Path]]] = {
        "csv": lambda: write_csv(findings, out_dir),
        "json": lambda: [write_json(findings, out_dir / "findings.json")],
        "geojson": geojson,
        "acled": lambda: [write_acled_csv(findings, out_dir / "acled.csv")],
        "sqlite": lambda: list(write_sqlite(findings, out_dir / "findings.db")),
    }
    written: list[Path] = []
    for fmt in FORMATS:
        if fmt in formats:
            written.extend(writers[fmt]())
    return written
