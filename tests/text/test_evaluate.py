"""The annotated development set, scored in CI with floors, and the command-line interface of the text stage.

The floors sit a little below what the extractor scores today, so a change that makes any
language or claim kind worse fails here; raise them when the extractor gets better.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from factfinder.text import coding, evaluate
from tests.conftest import Cli

GOLD = Path(__file__).resolve().parent.parent / "data" / "text"

# (language, claim kind) -> (precision, recall) floors
CLAIM_FLOORS = {
    ("en", "count"): (0.95, 0.93),
    ("en", "date"): (0.95, 0.97),
    ("en", "place"): (0.96, 0.95),
    ("en", "event"): (0.67, 0.52),
    ("en", "actor"): (0.69, 0.72),
    ("ru", "count"): (0.95, 0.84),
    ("ru", "date"): (0.95, 0.97),
    ("ru", "place"): (0.97, 0.93),
    ("ru", "event"): (0.58, 0.44),
    ("ru", "actor"): (0.80, 0.63),
    ("kk", "count"): (0.94, 0.78),
    ("kk", "date"): (0.94, 0.97),
    ("kk", "place"): (0.97, 0.97),
    ("kk", "event"): (0.56, 0.38),
    ("kk", "actor"): (0.81, 0.66),
}
ROW_FLOORS = {
    "en": {"fatalities": 0.94, "event_type": 0.76, "location_25km": 0.95, "event_date": 0.96},
    "ru": {"fatalities": 0.87, "event_type": 0.70, "location_25km": 0.95, "event_date": 0.90},
    "kk": {"fatalities": 0.83, "event_type": 0.53, "location_25km": 0.90, "event_date": 0.86},
}


@pytest.fixture(scope="module")
def reports(testdata: Path) -> dict[str, evaluate.Report]:
    return {
        lang: evaluate.evaluate(evaluate.load_gold(GOLD / f"dev-{lang}.jsonl", testdata)) for lang in ("en", "ru", "kk")
    }


@pytest.mark.parametrize(("lang", "kind"), sorted(CLAIM_FLOORS))
def test_claims_meet_their_floors(reports: dict[str, evaluate.Report], lang: str, kind: str) -> None:
    score = reports[lang].kinds[kind]
    precision, recall = CLAIM_FLOORS[(lang, kind)]
    assert score.gold > 10, "the gold set has too few claims of this kind to score"
    assert score.precision >= precision, f"{lang} {kind} precision {score.precision:.3f}"
    assert score.recall >= recall, f"{lang} {kind} recall {score.recall:.3f}"


@pytest.mark.parametrize("lang", sorted(ROW_FLOORS))
def test_acled_rows_meet_their_floors(reports: dict[str, evaluate.Report], lang: str) -> None:
    for name, floor in ROW_FLOORS[lang].items():
        assert reports[lang].row_accuracy(name) >= floor, f"{lang} {name} {reports[lang].row_accuracy(name):.3f}"


def test_the_seed_article_is_read_from_the_shared_test_data(reports: dict[str, evaluate.Report]) -> None:
    assert reports["en"].documents >= 100
    assert reports["en"].kinds["count"].fields["low"][1] > 0


def test_a_malformed_gold_file_names_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "gold.jsonl"
    bad.write_text('{"text": "Police fired.", "published": "2011-12-16", "claims": []}\n{"text": "x"', "utf-8")
    with pytest.raises(evaluate.GoldError, match=r"gold.jsonl:2"):
        evaluate.load_gold(bad)
    bad.write_text(
        '{"text": "Police fired.", "published": "2011-12-16", "claims": [{"kind": "event", "quote": "shot"}]}'
    )
    with pytest.raises(evaluate.GoldError, match="'shot'"):
        evaluate.load_gold(bad)


def test_distance_is_great_circle() -> None:
    zhanaozen, aktau = (43.34116, 52.86192), (43.64806, 51.17222)
    assert 138 < evaluate.km(*zhanaozen, *aktau) < 142
    assert evaluate.km(*zhanaozen, *zhanaozen) == 0


NOTE = (
    "On 16 December 2011, police opened fire on striking oil workers in Zhanaozen (Mangystau), "
    "killing at least 14 people. [size=around 2000]"
)


def test_text_code_prints_one_stable_row_per_document(cli: Cli, tmp_path: Path) -> None:
    docs = tmp_path / "docs.jsonl"
    docs.write_text(
        json.dumps({"id": "a", "text": NOTE, "published": "2011-12-20"})
        + "\n"
        + json.dumps({"id": "b", "text": "Вчера в Жанаозене задержали 30 человек.", "published": "2011-12-20"})
        + "\n",
        encoding="utf-8",
    )
    _, out, _ = cli("text", "code", docs, "--jsonl")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in rows] == ["a", "b"]
    assert set(coding.FIELDS) <= set(rows[0])
    a, b = rows
    assert (a["event_type"], a["sub_event_type"]) == ("Protests", "Excessive force against protesters")
    assert a["event_date"] == "2011-12-16" and a["time_precision"] == 1
    assert a["location"] == "Zhanaozen" and a["country"] == "Kazakhstan" and a["geo_precision"] == 1
    assert a["fatalities"] == 14
    assert NOTE[a["spans"]["location"]["start"] : a["spans"]["location"]["end"]] == "Zhanaozen"
    assert a["spans"]["fatalities"][0]["text"].startswith("killing at least 14")
    assert b["event_date"] == "2011-12-19" and b["location"] == "Zhanaozen"
    assert (b["event_type"], b["sub_event_type"]) == ("Strategic developments", "Arrests")


def test_text_claims_and_its_errors(cli: Cli, tmp_path: Path) -> None:
    note = tmp_path / "note.txt"
    note.write_text(NOTE, encoding="utf-8")
    _, out, _ = cli("text", "claims", note, "--published", "2011-12-20")
    claims = [json.loads(line) for line in out.splitlines()]
    assert {c["kind"] for c in claims} >= {"count", "place", "date", "actor", "event"}
    assert all(NOTE[c["start"] : c["end"]] == c["quote"] for c in claims)
    assert all(c["extractor"] == "factfinder.text" and c["version"] for c in claims)
    crowd = next(c for c in claims if c["kind"] == "count" and c["what"] == "crowd")
    assert (crowd["low"], crowd["qualifier"]) == (2000, "about")
    _, _, err = cli("text", "claims", note, "--published", "16/12/2011", code=2)
    assert "YYYY-MM-DD" in err
    _, _, err = cli("text", "claims", note, "--lang", "de", code=2)
    assert "auto, en, ru or kk" in err
    binary = tmp_path / "photo.jpg"
    binary.write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)))
    _, _, err = cli("text", "claims", binary, code=2)
    assert "not UTF-8" in err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1}\n', encoding="utf-8")
    _, _, err = cli("text", "code", bad, "--jsonl", code=2)
    assert "bad.jsonl:1" in re.sub(r"[\s│╭╮╰╯─]+", "", err)  # the error box may wrap a long path anywhere


def test_text_evaluate_prints_the_table(cli: Cli) -> None:
    _, out, _ = cli("text", "evaluate", GOLD / "dev-kk.jsonl", "--json")
    data = json.loads(out)
    assert data["documents"] >= 25
    assert 0 < data["claims"]["date"]["precision"] <= 1
    assert "location_25km" in data["acled"]
