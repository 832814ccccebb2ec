"""The case report (HTML and PDF) and its redacted copy, on findings built by hand.

The findings stand in for what ``factfinder.findings`` computes for the Zhanaozen case: four incidents (one with
no coordinates, one with a date known only within a month and a disputed type), the officials' toll going
10 -> 11 -> 16, independent figures, a repost repeating a figure, a witness with a GPS-tagged video, an
analyst's merge with a reason, and a hostile quote that must come out as text.
"""

from __future__ import annotations

import copy
import hashlib
import re
import shutil
import subprocess
from dataclasses import replace
from datetime import date
from pathlib import Path

import html5lib
import pytest
from PIL import Image

from factfinder.findings import store
from factfinder.findings.model import (
    AttachedItem,
    Corroboration,
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
from factfinder.reports import report
from factfinder.reports.redaction import WITHHELD_QUOTE, pseudonym, redact
from factfinder.vault.case import Case
from tests.findings.conftest import add_fixture

ROOT_HEX = "9f2c4be07d1a8e35c6f0b2d94e7a1c58f3b6d0e29a4c7f1e8b5d3a6c9e0f2b47"
HOSTILE = "</td><script>alert(1)</script>"
WITNESS = "Aigul Serikbayeva"
WITNESS_ORIGIN = "witness:+77012345678"
WITNESS_2 = "Marat Dzhaksybekov"
GPS = (43.35217, 52.86431)
REASON = "Same shooting: the witness describes both reports as one crowd on the square"
ANALYST = "dana.k@commission"


def sha(n: int) -> str:
    return hashlib.sha256(f"item {n}".encode()).hexdigest()


INTERIOR = Source("Interior Ministry", "official", "gov:interior", True)
PROSECUTOR = Source("Prosecutor General's Office", "official", "gov:prosecutor", True)
STEPPE = Source("Steppe Wire", "media", "media:steppe-wire", False)
CASPIAN = Source("Caspian Daily", "media", "media:caspian-daily", False)
REPOST = Source("Caspian Daily", "media", "media:caspian-daily", True)
BUREAU = Source("Civil Liberties Bureau", "ngo", "ngo:clb", False)
HOSPITAL = Source("Zhanaozen City Hospital", "hospital", "hospital:zhanaozen", True)
WITNESS_SRC = Source(WITNESS, "witness", WITNESS_ORIGIN, False)
WITNESS_2_SRC = Source(WITNESS_2, "witness", "witness:aktau-2", False)


def fig(
    claim: int,
    item: int,
    low: int,
    high: int | None,
    src: Source,
    on: date,
    quote: str,
    *,
    what: str = "killed",
    qualifier: str = "exact",
    hedged: bool = False,
    group: int = 0,
    repeats: int | None = None,
) -> Figure:
    return Figure(claim, item, sha(item), what, low, high, qualifier, quote, src, on, hedged, group, repeats)


def rec(
    claim: int,
    item: int,
    src: Source,
    quote: str,
    day_: date,
    *,
    place: str | None = "Zhanaozen",
    to: date | None = None,
) -> Record:
    return Record(
        claim_id=claim,
        digest=hashlib.sha256(f"claim {claim}".encode()).hexdigest(),
        item_id=item,
        item_sha256=sha(item),
        event_type="Violence against civilians",
        sub_event_type="Attack",
        quote=quote,
        place=place,
        latitude=43.34 if place else None,
        longitude=52.86 if place else None,
        admin1="Mangystau",
        country="Kazakhstan",
        geo_precision=1 if place else None,
        earliest=day_,
        latest=to or day_,
        time_precision=1,
        source=src,
        negated=False,
        reported_on=day_,
    )


def build_findings() -> Findings:
    d = date
    k10 = fig(101, 5, 10, 10, INTERIOR, d(2011, 12, 17), "Ten people were killed in the riots, the ministry said.")
    k11 = fig(102, 6, 11, 11, INTERIOR, d(2011, 12, 18), "The death toll rose to 11, the ministry said.")
    k11b = fig(103, 1, 11, 11, PROSECUTOR, d(2011, 12, 19), "11 dead, the Prosecutor General's Office confirmed.")
    k16 = fig(104, 12, 16, 16, PROSECUTOR, d(2011, 12, 22), "В результате беспорядков в Жанаозене погибли 16 человек.")
    steppe = fig(105, 3, 64, 86, STEPPE, d(2011, 12, 17), HOSTILE, hedged=True, group=1)
    caspian = fig(
        106, 4, 70, None, CASPIAN, d(2011, 12, 17), "At least 70 people were killed.", qualifier="at_least", group=2
    )
    repost = fig(
        107,
        13,
        70,
        None,
        REPOST,
        d(2011, 12, 22),
        "Не менее 70 погибших, пишет Caspian Daily.",
        qualifier="at_least",
        group=2,
        repeats=106,
    )
    witness = fig(
        108,
        9,
        64,
        64,
        WITNESS_SRC,
        d(2011, 12, 20),
        f"I am {WITNESS}; I counted 64 bodies near the akimat.",
        qualifier="about",
        group=3,
    )
    injured = fig(
        109, 2, 86, 86, HOSPITAL, d(2011, 12, 17), "86 people were treated for gunshot wounds.", what="injured", group=4
    )
    detained = fig(
        110,
        11,
        130,
        130,
        BUREAU,
        d(2011, 12, 21),
        "At least 130 people were detained.",
        what="detained",
        qualifier="at_least",
        group=5,
    )
    killed_figs = [k10, steppe, caspian, k11, k11b, witness, k16, repost]
    killed = CountTable(
        what="killed",
        figures=killed_figs,
        official_history=[k10, k11, k16],
        conservative=16,
        conservative_reason="the officials' latest figure (ACLED: most conservative)",
        independent_low=64,
        independent_high=86,
        independent_sources=3,
        disputes=[f"officials say 16; independent sources 64-86 ({WITNESS} among them)"],
    )
    injured_t = CountTable("injured", [injured], [], 86, "the only figure", 86, 86, 1)
    detained_t = CountTable("detained", [detained], [], 130, "the only figure", 130, 130, 1)

    shooting = Incident(
        ref="I-0a1b2c3d4e",
        label="Police fire on striking oil workers, Zhanaozen",
        event_type="Violence against civilians",
        sub_event_type="Attack",
        types={"Violence against civilians": 4, "Riots": 2},
        earliest=d(2011, 12, 16),
        latest=d(2011, 12, 16),
        time_precision=1,
        dates_disagree=False,
        place="Zhanaozen",
        latitude=43.3412,
        longitude=52.8619,
        admin1="Mangystau",
        country="Kazakhstan",
        geo_precision=1,
        radius_km=0.0,
        records=[
            rec(
                201, 1, PROSECUTOR, "10 people were killed in mass riots in Zhanaozen on 16 December.", d(2011, 12, 16)
            ),
            rec(202, 3, STEPPE, "Police opened fire on the strikers on the main square.", d(2011, 12, 16)),
            rec(203, 9, WITNESS_SRC, f"My name is {WITNESS}, they shot at us from the trucks.", d(2011, 12, 16)),
        ],
        counts={"killed": killed, "injured": injured_t},
        attached=[AttachedItem(10, sha(10), "video/mp4", "cluster")],
        corroboration=Corroboration("multiple", ("3 independent sources", "video of the square")),
        actors=["Police Forces of Kazakhstan", "Oil workers"],
        decisions=[1],
    )
    detentions = Incident(
        ref="I-5f6a7b8c9d",
        label="Mass detentions, Zhanaozen",
        event_type="Violence against civilians",
        sub_event_type="Abduction/forced disappearance",
        types={"Violence against civilians": 2},
        earliest=d(2011, 12, 17),
        latest=d(2011, 12, 19),
        time_precision=2,
        dates_disagree=True,
        place="Zhanaozen",
        latitude=43.3412,
        longitude=52.8619,
        admin1="Mangystau",
        country="Kazakhstan",
        geo_precision=2,
        radius_km=1.5,
        records=[
            rec(204, 11, BUREAU, "People were taken from their homes at night.", d(2011, 12, 17), to=d(2011, 12, 19))
        ],
        counts={"detained": detained_t},
        attached=[],
        corroboration=Corroboration("single", ("one NGO report",)),
        actors=["Unidentified armed group"],
    )
    shetpe = Incident(
        ref="I-1122334455",
        label="Clashes at Shetpe railway station",
        event_type="Riots",
        sub_event_type="Violent demonstration",
        types={"Riots": 1},
        earliest=d(2011, 12, 17),
        latest=d(2011, 12, 17),
        time_precision=1,
        dates_disagree=False,
        place="Shetpe",
        latitude=44.1667,
        longitude=52.1167,
        admin1="Mangystau",
        country="Kazakhstan",
        geo_precision=2,
        radius_km=3.0,
        records=[rec(205, 7, STEPPE, "Protesters blocked the railway at Shetpe.", d(2011, 12, 17), place="Shetpe")],
        counts={},
        attached=[],
        corroboration=Corroboration("single", ("one media report",)),
        actors=[],
    )
    unplaced = Incident(
        ref="I-99aabbccdd",
        label="Men without identification take residents away",
        event_type="Violence against civilians",
        sub_event_type=None,
        types={"Violence against civilians": 2, "Protests": 1},
        earliest=d(2011, 12, 1),
        latest=d(2011, 12, 31),
        time_precision=3,
        dates_disagree=False,
        place=None,
        latitude=None,
        longitude=None,
        admin1=None,
        country="Kazakhstan",
        geo_precision=None,
        radius_km=0.0,
        records=[
            rec(206, 8, WITNESS_2_SRC, "Они забрали моего мужа ночью, без документов.", d(2011, 12, 20), place=None)
        ],
        counts={},
        attached=[],
        corroboration=Corroboration("contradicted", ("officials deny any detentions",)),
        actors=[],
    )

    def item(
        n: int, media: str, source: str | None, stype: str, *, gps: tuple[float, float] | None = None
    ) -> EvidenceItem:
        return EvidenceItem(
            id=n,
            sha256=sha(n),
            size=1000 * n + 17,
            media_type=media,
            first_log_index=n * 3,
            received_at_vault_clock=f"2011-12-{10 + n:02d}T12:00:00Z",
            source=source,
            source_type=stype,  # type: ignore[arg-type]
            published=stype != "witness",
            gps=gps,
        )

    items = {
        1: item(1, "text/plain", "Prosecutor General's Office", "official"),
        2: item(2, "text/plain", "Zhanaozen City Hospital", "hospital"),
        3: item(3, "text/html", "Steppe Wire", "media"),
        4: item(4, "text/html", "Caspian Daily", "media"),
        5: item(5, "text/plain", "Interior Ministry", "official"),
        6: item(6, "text/plain", "Interior Ministry", "official"),
        7: item(7, "text/html", "Steppe Wire", "media"),
        8: item(8, "text/plain", WITNESS_2, "witness"),
        9: item(9, "video/mp4", WITNESS, "witness", gps=GPS),
        10: item(10, "video/mp4", "Telegram repost", "unknown"),
        11: item(11, "application/pdf", "Civil Liberties Bureau", "ngo"),
        12: item(12, "text/plain", "Генеральная прокуратура", "official"),
        13: item(13, "text/plain", "Репост", "media"),
    }
    decisions = [
        Decision(
            1,
            "merge",
            {"incidents": ["I-0a1b2c3d4e", "I-77ee88ff00"], "note": f"asked {WITNESS}"},
            REASON,
            ANALYST,
            "2011-12-23T09:15:00Z",
            57,
            True,
        ),
        Decision(
            2,
            "attach",
            {"item": 10, "incident": "I-0a1b2c3d4e"},
            "The video shows the square",
            ANALYST,
            "2011-12-23T09:20:00Z",
            58,
            True,
        ),
    ]
    timeline = [
        TimelineEntry("incident", "I-99aabbccdd", unplaced.label, d(2011, 12, 1), d(2011, 12, 31), 3),
        TimelineEntry("incident", "I-0a1b2c3d4e", shooting.label, d(2011, 12, 16), d(2011, 12, 16), 1),
        TimelineEntry("incident", "I-5f6a7b8c9d", detentions.label, d(2011, 12, 17), d(2011, 12, 19), 2),
        TimelineEntry("incident", "I-1122334455", shetpe.label, d(2011, 12, 17), d(2011, 12, 17), 1),
        TimelineEntry("item", sha(10)[:16], "Video of the square", d(2011, 12, 16), d(2011, 12, 16), 1),
    ]
    note = (
        "factfinder.example/zhanaozen\n42\nnywrvX0ajjXG8LLZTnocWPO2tp4o0e+gUvGWdkIAuvY=\n\n"
        "— factfinder.example/zhanaozen Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/"
        "Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
    )
    return Findings(
        title="Zhanaozen, December 2011",
        checkpoint_size=42,
        checkpoint_root=ROOT_HEX,
        checkpoint_note=note,
        incidents=[unplaced, shooting, detentions, shetpe],
        counts={"killed": killed, "injured": injured_t, "detained": detained_t},
        items=items,
        decisions=decisions,
        timeline=timeline,
        claims=57,
    )


@pytest.fixture
def findings() -> Findings:
    return build_findings()


def parse(html: str) -> object:
    """Parse strictly: any HTML parse error (a stray tag, a bad nesting) fails the test."""
    return html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(html)


def test_html_is_strict_html_with_every_statement_traceable(findings: Findings) -> None:
    html = report.render_html(findings, generated_at="2026-11-25 12:00 UTC")
    tree = parse(html)
    assert ROOT_HEX in html
    assert "log checkpoint 42" in html
    assert "2026-11-25 12:00 UTC" in html
    assert "Redacted for publication" not in html
    for table in findings.counts.values():
        for f in table.figures:
            assert f.text in html
            assert f.source.name.replace("'", "&#39;") in html
    assert "10 (17 Dec) → 11 (18 Dec) → 16 (22 Dec)" in html
    assert 'repeats <a href="#case-killed-106">#106</a>' in html
    assert "16 Dec 2011" in html
    assert "1–31 Dec 2011 (known only within a month)" in html  # never a false single day
    assert "17–19 Dec 2011 (known only within a week)" in html
    assert "no coordinates, so not on the map" in html
    assert "Riots by 2 sources" in html  # a disputed type, with its count

    ids = {el.get("id") for el in tree.iter() if el.get("id")}  # type: ignore[attr-defined]
    links = {el.get("href") for el in tree.iter() if el.get("href")}  # type: ignore[attr-defined]
    text = "".join(tree.itertext())  # type: ignore[attr-defined]
    for n in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13):
        assert f"item-{sha(n)[:16]}" in ids
        assert sha(n) in text  # whole, though the column may break it where <wbr> allows
    assert f"#item-{sha(10)[:16]}" in links  # attached item and the timeline's item entry
    assert all(link.startswith("#") for link in links), links
    assert {link[1:] for link in links} <= ids, {link for link in links if link[1:] not in ids}
    assert "factfinder proof CASE &lt;sha256&gt;" in html and "factfinder verify-proof" in html
    assert REASON in html and ANALYST in html
    assert "43.35217, 52.86431" in html  # the item's GPS, unredacted


def test_html_is_self_contained_and_escapes_hostile_text(findings: Findings) -> None:
    html = report.render_html(findings)
    parse(html)
    assert not re.search(r"https?:", html, re.IGNORECASE), re.findall(r".{40}https?:.{40}", html)
    assert "<script" not in html.lower()
    assert "<link" not in html.lower() and "<img" not in html.lower() and "@import" not in html
    assert "&lt;/td&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Content-Security-Policy" in html and "default-src &#39;none&#39;" in html


def test_map_shows_incidents_and_items_but_redacted_only_incidents(findings: Findings) -> None:
    html = report.render_html(findings)
    assert '<svg class="factfinder-map"' in html
    assert 'data-ref="I-0a1b2c3d4e"' in html and 'data-ref="I-1122334455"' in html
    assert 'data-ref="I-99aabbccdd"' not in html  # no coordinates
    assert f'data-ref="{sha(9)[:16]}"' in html
    redacted = report.render_html(findings, redacted=True)
    assert '<svg class="factfinder-map"' in redacted
    assert f'data-ref="{sha(9)[:16]}"' not in redacted


def test_redacted_html_names_no_witness_and_keeps_figures(findings: Findings) -> None:
    before = copy.deepcopy(findings)
    html = report.render_html(findings, redacted=True)
    assert findings == before  # the input is never changed
    parse(html)
    assert "Redacted for publication" in html
    for secret in (WITNESS, "Serikbayeva", WITNESS_ORIGIN, "77012345678", WITNESS_2, REASON, ANALYST, "asked"):
        assert secret not in html, secret
    assert "43.35217" not in html and "52.86431" not in html and "43.352" not in html
    assert "Witness A" in html and "Witness B" in html
    assert WITHHELD_QUOTE in html
    assert "10 (17 Dec) → 11 (18 Dec) → 16 (22 Dec)" in html
    for table in findings.counts.values():
        for f in table.figures:
            assert f.text in html
    assert ROOT_HEX in html


def test_redact_gives_stable_pseudonyms_and_removes_what_identifies(findings: Findings) -> None:
    before = copy.deepcopy(findings)
    out = redact(findings)
    assert findings == before
    # incidents are walked in the order the report shows them: the unplaced incident's witness comes first
    unplaced, shooting = out.incident("I-99aabbccdd"), out.incident("I-0a1b2c3d4e")
    assert unplaced is not None and shooting is not None
    assert unplaced.records[0].source == Source("Witness A", "witness", "Witness A", False)
    assert unplaced.records[0].quote == WITHHELD_QUOTE
    witness_figs = [f for f in shooting.counts["killed"].figures if f.source.type == "witness"]
    assert [(f.source.name, f.source.origin, f.quote) for f in witness_figs] == [
        ("Witness B", "Witness B", WITHHELD_QUOTE)
    ]
    assert shooting.records[2].source.name == "Witness B" and shooting.records[2].quote == WITHHELD_QUOTE
    assert out.counts["killed"].figures[5].source.name == "Witness B"
    assert out.counts["killed"].official_history[2] is out.counts["killed"].figures[6]
    assert WITNESS not in out.counts["killed"].disputes[0] and "Witness B" in out.counts["killed"].disputes[0]
    assert out.items[8].source == "Witness A" and out.items[9].source == "Witness B"
    assert out.items[1].source == findings.items[1].source
    assert all(it.gps is None for it in out.items.values())
    assert all(d.reason is None and d.actor == "analyst" and "note" not in d.body for d in out.decisions)
    assert out.decisions[0].body["incidents"] == ["I-0a1b2c3d4e", "I-77ee88ff00"]
    official = [f for f in out.counts["killed"].figures if f.source.type == "official"]
    assert [f.quote for f in official] == [
        f.quote for f in findings.counts["killed"].figures if f.source.type == "official"
    ]
    assert redact(findings) == out  # stable
    assert redact(out) == out  # redacting twice changes nothing (a caller may redact before rendering redacted)
    assert [pseudonym(n) for n in (0, 1, 25, 26, 27)] == [
        "Witness A",
        "Witness B",
        "Witness Z",
        "Witness AA",
        "Witness AB",
    ]


def test_empty_findings_still_render() -> None:
    empty = Findings("Empty case", 0, "0" * 64, "note", [], {}, {}, [], [], 0)
    html = report.render_html(empty)
    parse(html)
    assert "0 incidents" in html and "Nothing in the case has coordinates." in html


def _pdftotext(pdf: Path, *options: str) -> str:
    return subprocess.run(["pdftotext", *options, str(pdf), "-"], check=True, capture_output=True, text=True).stdout


@pytest.mark.skipif(not shutil.which("pdftotext") or not shutil.which("pdftoppm"), reason="needs poppler-utils")
@pytest.mark.parametrize("redacted", [False, True])
def test_pdf_has_the_key_text_and_a_drawn_first_page(findings: Findings, tmp_path: Path, redacted: bool) -> None:
    pdf = report.write_pdf(findings, tmp_path / "report.pdf", redacted=redacted)
    assert pdf.read_bytes().startswith(b"%PDF-")
    text = _pdftotext(pdf, "-layout")
    flat = re.sub(r"\s+", "", _pdftotext(pdf))  # reading order: a table cell's lines stay together
    assert "Zhanaozen, December 2011" in text
    assert ROOT_HEX in flat  # the root may be broken across lines
    assert re.search(r"\b16\b", text)
    assert "10(17Dec)→11(18Dec)→16(22Dec)" in flat
    for name in ("Interior Ministry", "Prosecutor General", "Steppe Wire", "Caspian Daily", "Civil Liberties Bureau"):
        assert name.replace(" ", "") in flat, name
    assert "Жанаозене" in text  # Cyrillic drawn with a real font
    assert "Page 1 of" in text and "Page 2 of" in text
    if redacted:
        assert "Redacted for publication" in text
        assert "Serikbayeva" not in flat and "Dzhaksybekov" not in flat
    else:
        assert "AigulSerikbayeva" in flat

    subprocess.run(["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")], check=True)
    (png,) = tmp_path.glob("page*.png")
    with Image.open(png) as im:
        lo, hi = im.convert("L").getextrema()
    assert lo < 128 and hi > 200  # ink on paper, not a blank page


def test_the_report_of_a_real_case(case: Case) -> None:
    """The multi-source fixture as a real case, through ``findings.store``: every figure and item traceable."""
    add_fixture(case)
    found = store.findings(case)
    html = report.render_html(found)
    tree = parse(html)
    assert found.checkpoint_root in html and found.checkpoint_note.splitlines()[0] in html
    assert "10 (16 Dec) → 11 (18 Dec) → 16 (22 Dec)" in html
    text = "".join(tree.itertext())  # type: ignore[attr-defined]
    for table in found.counts.values():
        for f in table.figures:
            assert f.text in text and f.source.name in text
    ids = {el.get("id") for el in tree.iter() if el.get("id")}  # type: ignore[attr-defined]
    links = {el.get("href") for el in tree.iter() if el.get("href")}  # type: ignore[attr-defined]
    assert {link[1:] for link in links} <= ids
    for it in found.items.values():
        assert report.anchor(it.sha256) in ids and it.sha256 in text

    redacted = report.render_html(found, redacted=True)
    parse(redacted)
    assert "field team A" not in redacted
    assert "Witness A" in redacted and WITHHELD_QUOTE in redacted
    assert "10 (16 Dec) → 11 (18 Dec) → 16 (22 Dec)" in redacted


def test_dates_are_intervals_with_their_precision() -> None:
    d = date
    assert report.when(d(2011, 12, 16), d(2011, 12, 16), 1) == "16 Dec 2011"
    assert report.when(d(2011, 12, 16), d(2011, 12, 16), 2) == "16 Dec 2011 (known only within a week)"
    assert report.when(d(2011, 12, 17), d(2011, 12, 19), 1) == "17–19 Dec 2011 (within these days)"
    assert report.when(d(2011, 11, 28), d(2011, 12, 4), 2) == "28 Nov – 4 Dec 2011 (known only within a week)"
    assert report.when(d(2011, 12, 30), d(2012, 1, 2), 2) == "30 Dec 2011 – 2 Jan 2012 (known only within a week)"
    k = build_findings().counts["killed"]
    assert report.official_history(k.official_history) == "10 (17 Dec) → 11 (18 Dec) → 16 (22 Dec)"
    moved = [replace(f, reported_on=d(2012, 1, 3)) if f.low == 16 else f for f in k.official_history]
    assert report.official_history(moved) == "10 (17 Dec 2011) → 11 (18 Dec 2011) → 16 (3 Jan 2012)"


def test_the_pdf_says_where_it_shortens(findings: Findings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reports beyond the cap and case figures already listed under incidents are left out of the PDF, saying so."""
    monkeypatch.setattr(report, "PDF_RECORDS_CAP", 2)
    monkeypatch.setattr(report, "PDF_CASE_FIGURES", 3)
    html = report._render(findings, redacted=False, generated_at=None, pdf=True)
    parse(html)
    assert "Only the first 2 of these 3 reports are listed in this PDF; all of them are in the HTML report" in html
    incidents = html[: html.index('<section id="counts">')]
    assert "figures: the officials' figures and those not listed" not in incidents  # incidents' tables: whole
    counts = html[html.index('<section id="counts">') :]
    assert "This table lists 3 of its 8 figures" in counts and "The other 5 are listed under their incidents" in counts
    assert "10 (17 Dec) → 11 (18 Dec) → 16 (22 Dec)" in counts
    full = report.render_html(findings)
    assert "listed in this PDF" not in full and "This table lists" not in full
