"""The overlap table: reading the Kosovo lists, building from records, and refusing data it cannot use."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from factfinder.findings.estimation import OverlapError, OverlapTable
from tests.conftest import TESTDATA

KOSOVO = TESTDATA / "mse" / "kosovo_1999_four_lists.csv"


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "lists.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_kosovo_table() -> None:
    table = OverlapTable.read_csv(KOSOVO)
    assert table.lists == ("EXH", "ABA", "OSCE", "HRW")
    assert table.documented == 4400
    assert len(table.counts) == 15
    assert table.coverage() == {"EXH": 1910, "ABA": 1528, "OSCE": 1786, "HRW": 685}
    assert table.count("EXH") == 1131  # on EXH alone
    assert table.count("EXH", "ABA", "OSCE", "HRW") == 27
    assert table.count("HRW") == 306


def test_records_round_trip() -> None:
    records = [{"A"}, {"A", "B"}, {"B"}, {"B", "C"}, {"A", "B", "C"}, {"A"}]
    table = OverlapTable.from_records(records)
    assert table.lists == ("A", "B", "C")
    assert table.documented == 6
    assert table.count("A") == 2
    assert table.coverage() == {"A": 4, "B": 4, "C": 2}
    again = OverlapTable.from_records(table.records(), lists=table.lists)
    assert again == table
    assert sorted(map(sorted, table.records())) == sorted(map(sorted, records))


def test_from_patterns_matches_records() -> None:
    table = OverlapTable.from_patterns(["A", "B"], {(1, 0): 5, (0, 1): 3, (1, 1): 2})
    assert table == OverlapTable.from_records([{"A"}] * 5 + [{"B"}] * 3 + [{"A", "B"}] * 2, lists=["A", "B"])
    assert table.as_dict()["patterns"] == {"A": 5, "B": 3, "A+B": 2}


def test_observed_drops_empty_patterns() -> None:
    table = OverlapTable.from_patterns(["A", "B", "C"], {(1, 0, 0): 4, (1, 1, 1): 1})
    patterns, counts = table.observed()
    assert patterns.tolist() == [[1, 0, 0], [1, 1, 1]]
    assert counts.tolist() == [4, 1]


def test_extra_columns_can_be_skipped(tmp_path: Path) -> None:
    path = _csv(tmp_path, "id,A,B\nx1,1,0\nx2,1,1\nx3,0,1\n")
    with pytest.raises(OverlapError, match="'x1' is not 0 or 1"):
        OverlapTable.read_csv(path)
    table = OverlapTable.read_csv(path, lists=["A", "B"])
    assert table.documented == 3 and table.count("A", "B") == 1


def test_stream_input() -> None:
    table = OverlapTable.read_csv(io.StringIO('"A","B"\n"1","0"\n"1","1"\n'))
    assert table.documented == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty file"),
        ("A,B\n", "no rows"),
        ("A,B\n1,2\n", "line 2, column 'B': '2' is not 0 or 1"),
        ("A,B\n1,yes\n", "'yes' is not 0 or 1"),
        ("A,B\n1,0\n0,0\n", "line 3: the person is on no list"),
        ("A\n1\n", "at least 2 lists"),
        ("A,A\n1,0\n", "more than once"),
        ("A,B\n1,0,1\n", "3 values for 2 columns"),
        (",B\n1,0\n", "no name"),
    ],
)
def test_bad_csv(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(OverlapError, match=message):
        OverlapTable.read_csv(_csv(tmp_path, text))


def test_too_many_lists(tmp_path: Path) -> None:
    names = [f"L{i}" for i in range(16)]
    path = _csv(tmp_path, ",".join(names) + "\n" + ",".join("1" * 16) + "\n")
    with pytest.raises(OverlapError, match="at most 15"):
        OverlapTable.read_csv(path)
    fifteen = OverlapTable.from_records([{f"L{i}"} for i in range(15)])
    assert len(fifteen.counts) == 2**15 - 1


def test_bad_records() -> None:
    with pytest.raises(OverlapError, match="on no list"):
        OverlapTable.from_records([{"A"}, set()])
    with pytest.raises(OverlapError, match="not one of"):
        OverlapTable.from_records([{"A"}, {"C"}], lists=["A", "B"])
    with pytest.raises(OverlapError, match="no records"):
        OverlapTable.from_records([])
    with pytest.raises(OverlapError, match="at least 2"):
        OverlapTable.from_records([{"A"}])


def test_counts_are_checked() -> None:
    with pytest.raises(OverlapError, match="3 capture patterns"):
        OverlapTable(("A", "B"), np.array([1, 2], dtype=np.int64))
    with pytest.raises(OverlapError, match="whole numbers"):
        OverlapTable(("A", "B"), np.array([1, -2, 3], dtype=np.int64))
    with pytest.raises(OverlapError, match="no documented person"):
        OverlapTable(("A", "B"), np.zeros(3, dtype=np.int64))
    with pytest.raises(OverlapError, match="on no list cannot have a count"):
        OverlapTable.from_patterns(["A", "B"], {(0, 0): 3, (1, 0): 1})
