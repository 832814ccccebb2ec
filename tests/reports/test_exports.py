"""Exports of the findings, read back with the tools their readers use: csv, json, sqlite3.

Each test writes the hand-built findings of ``exports_sample`` and reads the file as a reader would, then checks
the values that could go wrong: numbers that must stay numbers, dates, the hostile quote (formula, quotes,
commas, CRLF, ``</script>``), coordinates in GeoJSON's order, ACLED's exact columns, and a database whose keys
resolve.
"""

from __future__ import annotations

import csv
import json
import math
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from factfinder.reports import exports
from factfinder.reports.exports import ACLED_COLUMNS
from tests.reports.exports_sample import (
    HOMES,
    HOSTILE_QUOTE,
    MISSING_ITEM,
    ROOT_HEX,
    SHETPE,
    SQUARE,
    empty_findings,
    make_findings,
    sha,
)

# ACLED's header as its exports and API write it (31 columns; e.g. an ACLED CSV export of 2024-2025 events),
# copied here apart from the module's constant so that a slip in either shows.
ACLED_DOCUMENTED_HEADER = (
    "event_id_cnty,event_date,year,time_precision,disorder_type,event_type,sub_event_type,actor1,assoc_actor_1,"
    "inter1,actor2,assoc_actor_2,inter2,interaction,civilian_targeting,iso,region,country,admin1,admin2,admin3,"
    "location,latitude,longitude,geo_precision,source,source_scale,notes,fatalities,tags,timestamp"
)


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def by(rows: list[dict[str, str]], **match: str) -> dict[str, str]:
    found = [r for r in rows if all(r[k] == v for k, v in match.items())]
    assert len(found) == 1, (match, found)
    return found[0]


# ---------------------------------------------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("+7 701 555 01 02", "'+7 701 555 01 02"),
        ("-- all of it", "'-- all of it"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("\uff1dHYPERLINK()", "'\uff1dHYPERLINK()"),
        ("-3", "-3"),
        ("+7", "+7"),
        ("-0.5", "-0.5"),
        ("-1e3", "-1e3"),
        ("-3+cmd|' /C calc'!A0", "'-3+cmd|' /C calc'!A0"),
        ("16 killed", "16 killed"),
        ("", ""),
    ],
)
def test_formula_guard(text: str, expected: str) -> None:
    assert exports._cell(text) == expected


def test_cells_numbers_dates_and_empties() -> None:
    assert exports._cell(-3) == -3
    assert exports._cell(-0.25) == -0.25
    assert exports._cell(math.nan) == ""
    assert exports._cell(None) == ""
    assert exports._cell(True) == "true"
    assert exports._cell(make_findings().incidents[0].earliest) == "2011-12-16"


def test_csv_files_read_back(tmp_path: Path) -> None:
    findings = make_findings()
    paths = exports.write_csv(findings, tmp_path / "out")
    assert [p.name for p in paths] == ["incidents.csv", "figures.csv", "counts.csv", "records.csv"]

    header, incidents = read_csv(paths[0])
    assert header == list(exports.INCIDENT_COLUMNS)
    assert [r["ref"] for r in incidents] == [SQUARE, SHETPE, HOMES]
    square = by(incidents, ref=SQUARE)
    assert float(square["latitude"]) == 43.34116 and float(square["longitude"]) == 52.86192
    assert square["earliest"] == "2011-12-16" and square["time_precision"] == "1"
    assert square["fatalities"] == "16"
    assert square["corroboration"] == "contradicted"
    # Interior Ministry, Prosecutor General, the witness, Steppe Wire: the denial by Caspian Daily does not count.
    assert square["independent_sources"] == "4"
    assert square["items"].split() == [sha(n) for n in (1, 2, 3, 4, 5, 6, 7)]
    assert by(incidents, ref=SHETPE)["label"] == 'Riot, "clashes" at the railway station'
    homes = by(incidents, ref=HOMES)
    assert homes["latitude"] == "" and homes["place"] == "" and homes["fatalities"] == ""
    assert homes["dates_disagree"] == "true" and homes["latest"] == "2011-12-20"

    header, figures = read_csv(paths[1])
    assert header == list(exports.FIGURE_COLUMNS)
    keys = [(r["claim_id"], r["what"]) for r in figures]
    assert len(keys) == len(set(keys)) == 10  # 6 + 1 (square) + 1 (Shetpe) + the case's total and detentions
    assert by(figures, claim_id="14")["repeats"] == "13"
    assert by(figures, claim_id="14")["incident"] == SQUARE
    assert by(figures, claim_id="21")["incident"] == SHETPE
    total = by(figures, claim_id="30")
    assert total["incident"] == "" and total["low"] == "17" and total["item_sha256"] == sha(MISSING_ITEM)
    open_above = by(figures, claim_id="15")
    assert open_above["high"] == "" and open_above["text"] == "at least 64" and open_above["hedged"] == "true"
    hostile = by(figures, claim_id="16")
    assert hostile["quote"] == "'" + HOSTILE_QUOTE  # guarded, and every comma, quote and CRLF kept
    assert hostile["source"] == "Witness A" and hostile["source_type"] == "witness"
    assert hostile["reported_on"] == "2011-12-19"

    header, counts = read_csv(paths[2])
    assert header == list(exports.COUNT_COLUMNS)
    killed = by(counts, scope=SQUARE, what="killed")
    assert killed["official_history"] == "10 (2011-12-17); 11 (2011-12-18); 16 (2011-12-22)"
    assert killed["disputes"] == (
        "Officials say 16; the Civil Liberties Bureau says at least 64 | " + 'Witnesses | "pipes", commas'
    )
    assert (killed["conservative"], killed["independent_low"], killed["independent_high"]) == ("16", "64", "70")
    assert killed["figures"] == "6"
    assert by(counts, scope=SQUARE, what="crowd")["conservative"] == "3000"
    assert [r["what"] for r in counts if r["scope"] == "case"] == ["killed", "detained"]  # COUNTED's order
    assert by(counts, scope="case", what="detained")["independent_low"] == ""

    header, records = read_csv(paths[3])
    assert header == list(exports.RECORD_COLUMNS)
    assert len(records) == 7
    witness = by(records, claim_id="16")
    assert witness["quote"] == "'" + HOSTILE_QUOTE and witness["figures"] == "16"
    assert by(records, claim_id="18")["negated"] == "true"
    abduction = by(records, claim_id="41")
    assert (abduction["incident"], abduction["place"], abduction["latitude"]) == (HOMES, "", "")


def test_csv_is_rfc4180(tmp_path: Path) -> None:
    """CRLF after each record, the quote's own CRLF inside a quoted field, quotes doubled."""
    path = exports.write_csv(make_findings(), tmp_path)[3]
    raw = path.read_bytes()
    assert raw.startswith(b"incident,claim_id,")
    assert raw.endswith(b"\r\n")
    quoted = "\"'" + HOSTILE_QUOTE.replace('"', '""') + '"'
    assert quoted.encode() in raw
    assert not raw.startswith(b"\xef\xbb\xbf")
    with_bom = exports.write_csv(make_findings(), tmp_path / "bom", bom=True)[0].read_bytes()
    assert with_bom.startswith(b"\xef\xbb\xbfref,label,")


# ---------------------------------------------------------------------------------------------------------------
# JSON
# ---------------------------------------------------------------------------------------------------------------


def test_json_round_trips(tmp_path: Path) -> None:
    findings = make_findings()
    path = exports.write_json(findings, tmp_path / "findings.json")
    raw = path.read_text(encoding="utf-8")
    assert "</script>" not in raw and "<script>" not in raw and "\u2028" not in raw  # safe to embed in a page
    doc = json.loads(raw)
    assert doc == exports.to_json(findings)  # what the web API returns is what the file holds
    assert doc["format"] == "factfinder/findings/v1"
    assert doc["title"] == "Zhanaozen, December 2011"
    assert doc["checkpoint"] == {"size": 42, "root": ROOT_HEX, "note": findings.checkpoint_note}
    assert doc["claims"] == 13
    assert [i["ref"] for i in doc["incidents"]] == [SQUARE, SHETPE, HOMES]

    square = doc["incidents"][0]
    assert (square["earliest"], square["latest"], square["fatalities"]) == ("2011-12-16", "2011-12-16", 16)
    assert square["corroboration"]["level"] == "contradicted"
    killed = square["counts"]["killed"]
    assert [h["text"] for h in killed["official_history"]] == ["10", "11", "16"]
    assert [h["reported_on"] for h in killed["official_history"]] == ["2011-12-17", "2011-12-18", "2011-12-22"]
    witness = next(f for f in killed["figures"] if f["claim_id"] == 16)
    assert witness["quote"] == HOSTILE_QUOTE
    assert next(f for f in killed["figures"] if f["claim_id"] == 15)["high"] is None
    assert next(f for f in killed["figures"] if f["claim_id"] == 14)["repeats"] == 13
    assert [r["claim_id"] for r in square["records"]] == [11, 13, 16, 17, 18]
    assert square["attached"] == [{"item_id": 6, "item_sha256": sha(6), "media_type": "video/mp4", "via": "cluster"}]

    homes = doc["incidents"][2]
    assert homes["latitude"] is None and homes["counts"] == {} and homes["fatalities"] is None

    assert list(doc["counts"]) == ["killed", "detained"]
    assert doc["counts"]["killed"]["conservative"] == 17
    assert [i["id"] for i in doc["items"]] == list(range(1, 9))
    assert all("gps" not in i for i in doc["items"])
    assert doc["decisions"][0]["body"] == {"into": SQUARE, "claims": [11, 13], "on": "2024-03-09"}
    assert doc["timeline"][1]["kind"] == "item"


def test_json_never_writes_nan(tmp_path: Path) -> None:
    findings = make_findings()
    findings.incidents[1].radius_km = math.nan
    findings.incidents[1].latitude = math.inf
    doc = json.loads(exports.write_json(findings, tmp_path / "f.json").read_text(encoding="utf-8"))
    assert doc["incidents"][1]["radius_km"] is None and doc["incidents"][1]["latitude"] is None


# ---------------------------------------------------------------------------------------------------------------
# GeoJSON
# ---------------------------------------------------------------------------------------------------------------


def test_geojson_is_rfc7946(tmp_path: Path) -> None:
    findings = make_findings()
    path = tmp_path / "findings.geojson"
    left_out = exports.write_geojson(findings, path)
    assert left_out == 1  # the abductions have no place
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection"
    assert "crs" not in doc  # RFC 7946 dropped it: WGS 84 always
    assert [f["id"] for f in doc["features"]] == [SQUARE, SHETPE]
    for feature in doc["features"]:
        assert feature["type"] == "Feature"
        assert feature["geometry"]["type"] == "Point"
        lon, lat = feature["geometry"]["coordinates"]
        assert -180 <= lon <= 180 and -90 <= lat <= 90
        assert isinstance(feature["properties"], dict)
    # [longitude, latitude]: Zhanaozen is at 43.34 N, 52.86 E.
    assert doc["features"][0]["geometry"]["coordinates"] == [52.86192, 43.34116]
    props = doc["features"][0]["properties"]
    assert props["fatalities"] == 16 and props["corroboration"] == "contradicted"
    assert props["earliest"] == "2011-12-16" and props["time_precision"] == 1 and props["geo_precision"] == 1
    assert doc == exports.to_geojson(findings)


def test_geojson_leaves_out_impossible_positions() -> None:
    findings = make_findings()
    findings.incidents[0].latitude = 95.0
    findings.incidents[1].longitude = math.nan
    assert exports.to_geojson(findings)["features"] == []


# ---------------------------------------------------------------------------------------------------------------
# ACLED
# ---------------------------------------------------------------------------------------------------------------


def test_acled_columns_are_acleds() -> None:
    assert ",".join(ACLED_COLUMNS) == ACLED_DOCUMENTED_HEADER
    assert len(ACLED_COLUMNS) == 31


def test_acled_csv(tmp_path: Path) -> None:
    header, rows = read_csv(exports.write_acled_csv(make_findings(), tmp_path / "acled.csv"))
    assert header == list(ACLED_COLUMNS)
    assert len(rows) == 3
    square, shetpe, homes = rows

    assert square["event_id_cnty"] == f"KAZ-{SQUARE}"
    assert (square["event_date"], square["year"], square["time_precision"]) == ("2011-12-16", "2011", "1")
    assert square["disorder_type"] == "Political violence; Demonstrations"
    assert (square["event_type"], square["sub_event_type"]) == ("Protests", "Excessive force against protesters")
    assert (square["actor1"], square["inter1"]) == ("Police Forces of Kazakhstan", "State forces")
    assert (square["actor2"], square["inter2"]) == ("Protesters (Kazakhstan)", "Protesters")
    assert square["interaction"] == "State forces-Protesters"
    assert square["civilian_targeting"] == ""
    assert (square["iso"], square["region"], square["country"]) == ("398", "Caucasus and Central Asia", "Kazakhstan")
    assert (square["admin1"], square["location"], square["geo_precision"]) == ("Mangystau", "Zhanaozen", "1")
    assert (float(square["latitude"]), float(square["longitude"])) == (43.34116, 52.86192)
    assert square["fatalities"] == "16"
    assert square["tags"] == "crowd size=3000"
    assert square["source"].split("; ")[:2] == ["Interior Ministry", "Prosecutor General's Office"]
    assert square["source_scale"] == square["admin2"] == square["assoc_actor_1"] == ""
    notes = square["notes"]
    assert notes.startswith("On 16 December 2011, in Zhanaozen, Mangystau: Police fire on striking oil workers")
    assert "10 (Interior Ministry, 17 December 2011)" in notes
    assert "at least 64 (Civil Liberties Bureau, 20 December 2011, hedged)" in notes
    assert notes.count("16 (Prosecutor General's Office") == 1  # the repost is not a second report
    assert "Fatalities coded as 16" in notes and notes.endswith("[size=3000]")
    assert "\n" not in notes and "\r" not in notes
    assert square["timestamp"] == "1709985600"  # the merge decision, 2024-03-09T12:00Z

    assert shetpe["disorder_type"] == "Demonstrations"
    assert shetpe["interaction"] == "State forces-Rioters"
    assert shetpe["fatalities"] == "1"
    assert shetpe["tags"] == "crowd size=no report"

    assert homes["event_id_cnty"] == HOMES  # no country: no ISO prefix
    assert (homes["iso"], homes["country"], homes["region"], homes["location"]) == ("", "", "", "")
    assert homes["disorder_type"] == "Political violence"
    assert (homes["inter1"], homes["inter2"]) == ("Political militia", "Civilians")
    assert homes["interaction"] == "Political militia-Civilians"
    assert homes["civilian_targeting"] == "Civilian targeting"
    assert homes["fatalities"] == "0" and homes["tags"] == ""
    assert homes["notes"].startswith("Between 18 and 20 December 2011: Men without identification")
    assert homes["timestamp"] == "1710059400"  # the attach decision, 2024-03-10T08:30:00.5Z


def test_acled_country_by_name_and_unknown() -> None:
    findings = make_findings()
    findings.incidents[0].country = "Russian Federation"
    findings.incidents[1].country = "Atlantis"
    square, shetpe, _ = exports.acled_rows(findings)
    assert (square["country"], square["iso"], square["region"]) == ("Russia", 643, "Europe")
    assert str(square["event_id_cnty"]).startswith("RUS-")
    assert (shetpe["country"], shetpe["iso"], shetpe["event_id_cnty"]) == ("Atlantis", None, SHETPE)


# ---------------------------------------------------------------------------------------------------------------
# SQLite
# ---------------------------------------------------------------------------------------------------------------


def test_sqlite(tmp_path: Path) -> None:
    findings = make_findings()
    db_path, meta_path = exports.write_sqlite(findings, tmp_path / "findings.db")
    assert meta_path == tmp_path / "findings.metadata.json"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["findings.db", "findings.metadata.json"]

    db = sqlite3.connect(db_path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []

        def count(table: str) -> int:
            return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

        assert count("incidents") == 3
        assert count("records") == 7
        assert count("figures") == 10
        assert count("counts") == 5  # square: crowd, killed; Shetpe: killed; case: killed, detained
        assert count("items") == 9  # the 8 listed and the one a figure names that the list lacks
        assert count("decisions") == 2
        assert count("attached") == 2

        fks = {(t, row[2], row[3]) for t in ("records", "figures", "attached", "counts")
               for row in db.execute(f"PRAGMA foreign_key_list({t})")}  # fmt: skip
        assert ("figures", "items", "item_sha256") in fks
        assert ("records", "incidents", "incident") in fks
        assert ("attached", "items", "item_sha256") in fks
        indexes = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert {"incidents_event_type", "figures_what", "records_source_type"} <= indexes

        row = db.execute(
            "SELECT fatalities, latitude, earliest, dates_disagree, actors FROM incidents WHERE ref = ?", (SQUARE,)
        ).fetchone()
        assert row == (16, 43.34116, "2011-12-16", 0, json.dumps(findings.incidents[0].actors))
        assert db.execute("SELECT quote FROM figures WHERE claim_id = 16").fetchone() == (HOSTILE_QUOTE,)
        assert db.execute("SELECT incident FROM figures WHERE claim_id = 30").fetchone() == (None,)
        assert db.execute("SELECT size FROM items WHERE id = ?", (MISSING_ITEM,)).fetchone() == (None,)
        assert db.execute(
            "SELECT official_history FROM counts WHERE scope = 'case' AND what = 'killed'"
        ).fetchone() == ("10 (2011-12-17); 11 (2011-12-18); 16 (2011-12-22); 17 (2011-12-22)",)
        columns = [r[1] for r in db.execute("PRAGMA table_info(items)")]
        assert "gps" not in columns
    finally:
        db.close()

    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    assert meta["title"] == "Zhanaozen, December 2011"
    assert ROOT_HEX in meta["description"]
    tables = meta["databases"]["findings"]["tables"]
    assert set(tables) == {"incidents", "records", "figures", "counts", "items", "decisions", "attached"}
    assert all(t["description"] for t in tables.values())


def test_sqlite_failure_leaves_no_half_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "findings.db"
    path.write_bytes(b"the previous export")

    def boom(db: sqlite3.Connection, findings: object) -> None:
        db.execute("INSERT INTO decisions (id, action) VALUES (1, 'merge')")
        raise RuntimeError("disk full")

    monkeypatch.setattr(exports, "_insert_rows", boom)
    with pytest.raises(RuntimeError):
        exports.write_sqlite(make_findings(), path)
    assert path.read_bytes() == b"the previous export"
    assert [p.name for p in tmp_path.iterdir()] == ["findings.db"]


def test_csv_failure_leaves_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "incidents.csv"
    path.write_text("before", encoding="utf-8")

    def rows() -> Any:
        yield ["ok"]
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        exports.write_rows(path, ["ref"], rows())
    assert path.read_text(encoding="utf-8") == "before"
    assert [p.name for p in tmp_path.iterdir()] == ["incidents.csv"]


# ---------------------------------------------------------------------------------------------------------------
# All of them, empty findings, same bytes twice
# ---------------------------------------------------------------------------------------------------------------


def test_export_all_and_same_bytes_twice(tmp_path: Path) -> None:
    first = exports.export_all(make_findings(), tmp_path / "a")
    second = exports.export_all(make_findings(), tmp_path / "b")
    names = [p.name for p in first]
    assert names == [
        "incidents.csv", "figures.csv", "counts.csv", "records.csv", "findings.json", "findings.geojson",
        "acled.csv", "findings.db", "findings.metadata.json",
    ]  # fmt: skip
    assert all(p.is_file() for p in first)
    for a, b in zip(first, second, strict=True):
        if a.suffix != ".db":
            assert a.read_bytes() == b.read_bytes(), a.name
    only = exports.export_all(make_findings(), tmp_path / "c", formats=["geojson", "acled"])
    assert [p.name for p in only] == ["findings.geojson", "acled.csv"]
    with pytest.raises(ValueError, match="kml"):
        exports.export_all(make_findings(), tmp_path / "d", formats=["kml"])


def test_zero_incidents(tmp_path: Path) -> None:
    paths = exports.export_all(empty_findings(), tmp_path)
    by_name = {p.name: p for p in paths}
    for name in ("incidents.csv", "figures.csv", "counts.csv", "records.csv", "acled.csv"):
        header, rows = read_csv(by_name[name])
        assert header and rows == []
    doc = json.loads(by_name["findings.json"].read_text(encoding="utf-8"))
    assert doc["incidents"] == [] and doc["counts"] == {} and doc["items"] == []
    assert json.loads(by_name["findings.geojson"].read_text(encoding="utf-8")) == {
        "type": "FeatureCollection",
        "features": [],
    }
    db = sqlite3.connect(by_name["findings.db"])
    try:
        assert db.execute("SELECT count(*) FROM incidents").fetchone() == (0,)
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        db.close()


def test_text_utf8_cannot_hold(tmp_path: Path) -> None:
    """A lone surrogate (a JSON "\\udcff" that reached a receipt) is no reason for an export to stop halfway."""
    findings = make_findings()
    findings.incidents[0].label = "bad \udcff byte"
    by_name = {p.name: p for p in exports.export_all(findings, tmp_path)}
    assert by(read_csv(by_name["incidents.csv"])[1], ref=SQUARE)["label"] == "bad \ufffd byte"
    assert (
        json.loads(by_name["findings.json"].read_text(encoding="utf-8"))["incidents"][0]["label"] == "bad \udcff byte"
    )
    db = sqlite3.connect(by_name["findings.db"])
    try:
        assert db.execute("SELECT label FROM incidents WHERE ref = ?", (SQUARE,)).fetchone() == ("bad \ufffd byte",)
    finally:
        db.close()
