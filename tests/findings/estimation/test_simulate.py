"""Known populations: the estimators' intervals cover the truth, and linkage errors move them as they should.

Repetitions are kept few and chains short so that the file runs in seconds; the thresholds (80 % coverage
for nominal 95 % intervals) leave room for that.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from factfinder.findings.estimation import (
    OverlapTable,
    fit_all,
    fit_lcmcr,
    fit_model,
    inject_linkage_errors,
    simulate,
)

# Two kinds of people: half hard to record (30-40 % per list), half easy (55-70 %).
CAPTURE = [[0.3, 0.35, 0.4, 0.3], [0.6, 0.55, 0.7, 0.6]]
SHARES = [0.5, 0.5]
SHORT: dict[str, Any] = {"K": 10, "burn_in": 400, "draws": 60, "thin": 4, "chains": 2}


def test_simulation_is_reproducible_and_consistent() -> None:
    a = simulate(1000, CAPTURE, shares=SHARES, seed=5)
    b = simulate(1000, CAPTURE, shares=SHARES, seed=5)
    assert a.table == b.table and a.records == b.records
    assert a.lists == ("A", "B", "C", "D")
    assert a.documented == a.table.documented == len(a.records)
    assert a.documented + a.hidden == 1000
    assert 0 < a.hidden < 400
    assert OverlapTable.from_records(a.records, lists=a.lists) == a.table


def test_dependence_raises_overlap() -> None:
    free = simulate(20_000, [[0.3, 0.3, 0.3]], lists=["X", "Y", "Z"], seed=1).table
    tied = simulate(20_000, [[0.3, 0.3, 0.3]], lists=["X", "Y", "Z"], dependence={("X", "Y"): 1.5}, seed=1).table
    both = free.count("X", "Y") + free.count("X", "Y", "Z")
    assert tied.count("X", "Y") + tied.count("X", "Y", "Z") > 2 * both


def test_simulate_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="strictly between"):
        simulate(100, [[0.0, 0.5]])
    with pytest.raises(ValueError, match="list names"):
        simulate(100, [[0.2, 0.5]], lists=["A"])
    with pytest.raises(ValueError, match="dependence"):
        simulate(100, [[0.2, 0.5]], dependence={("A", "Q"): 1.0})


def test_linkage_errors_at_the_extremes() -> None:
    records = [frozenset({"A"}), frozenset({"A", "B"}), frozenset({"A", "B", "C"}), frozenset({"C"})]
    assert inject_linkage_errors(records, 0.0, 0.0, rng=1) == records
    split = inject_linkage_errors(records, 1.0, 0.0, rng=1)
    assert len(split) == 6  # each multi-list person became two
    assert sorted(n for r in split for n in r) == sorted(n for r in records for n in r)  # no list entry lost
    merged = inject_linkage_errors(records, 0.0, 1.0, rng=1)
    assert len(merged) == 2
    assert set().union(*merged) == {"A", "B", "C"}
    with pytest.raises(ValueError, match="missed_link_rate"):
        inject_linkage_errors(records, 1.5, 0.0)


def test_lcmcr_intervals_cover_the_truth() -> None:
    size, reps, covered = 3000, 20, 0
    for r in range(reps):
        sim = simulate(size, CAPTURE, shares=SHARES, seed=r)
        lower, upper = fit_lcmcr(sim.table, seed=r, **SHORT).interval
        covered += lower <= size <= upper
    assert covered >= 0.8 * reps


def test_loglinear_average_covers_the_truth_when_the_model_family_holds() -> None:
    # Everyone alike, lists A and B share names: the truth is one of the 64 log-linear models.
    size, reps, covered = 3000, 12, 0
    for r in range(reps):
        sim = simulate(size, [[0.3, 0.25, 0.35, 0.2]], dependence={("A", "B"): 1.0}, seed=100 + r)
        average = fit_all(sim.table, profile=False).aic_average
        assert average is not None and average.interval.upper is not None
        covered += average.interval.lower <= size <= average.interval.upper
    assert covered >= 0.8 * reps


def test_missed_links_raise_and_false_merges_lower_the_estimate() -> None:
    independence: dict[str, list[float]] = {"true": [], "missed": [], "merged": []}
    lcmcr: dict[str, list[float]] = {"true": [], "missed": [], "merged": []}
    for r in range(20):
        sim = simulate(3000, CAPTURE, shares=SHARES, seed=200 + r)
        rng = np.random.default_rng(r)
        tables = {
            "true": sim.table,
            "missed": OverlapTable.from_records(inject_linkage_errors(sim.records, 0.2, 0.0, rng), sim.lists),
            "merged": OverlapTable.from_records(inject_linkage_errors(sim.records, 0.0, 0.05, rng), sim.lists),
        }
        for key, table in tables.items():
            estimate = fit_model(table).estimate
            assert estimate is not None
            independence[key].append(estimate)
            if r < 5:
                lcmcr[key].append(fit_lcmcr(table, seed=r, **SHORT).median)
    for results in (independence, lcmcr):
        med = {key: float(np.median(values)) for key, values in results.items()}
        assert med["merged"] < med["true"] < med["missed"]
