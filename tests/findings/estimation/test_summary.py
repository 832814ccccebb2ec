"""The estimate as a report: three separate figures, JSON-safe output with its settings, sensitivity."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from factfinder.findings.estimation import (
    Estimate,
    OverlapTable,
    estimate,
    inject_linkage_errors,
    sensitivity,
    simulate,
)
from tests.conftest import TESTDATA

KOSOVO = TESTDATA / "mse" / "kosovo_1999_four_lists.csv"
QUICK: dict[str, Any] = {"K": 10, "burn_in": 300, "draws": 60, "thin": 2, "chains": 2}


@pytest.fixture(scope="module")
def both() -> Estimate:
    return estimate(OverlapTable.read_csv(KOSOVO), method="both", seed=7, official_count=2000, **QUICK)


def test_three_figures_are_kept_apart(both: Estimate) -> None:
    text = both.to_text()
    assert "Official count:                2,000" in text
    assert "Documented (named on any list): 4,400" in text
    total = both.total
    assert total is not None and total.method == "LCMCR posterior median"
    assert f"Estimated total:               {total.estimate:,.0f}" in text
    assert "credible interval" in text
    assert both.lcmcr is not None and total.estimate == both.lcmcr.median
    # The log-linear result is reported too, with the published best model.
    assert "14,342" in text and "12,541 to 16,540" in text


def test_official_count_may_be_absent() -> None:
    est = estimate(OverlapTable.read_csv(KOSOVO), method="loglinear", profile=False)
    assert est.official_count is None and est.lcmcr is None
    assert "Official count:                not given" in est.to_text()
    total = est.total
    assert total is not None and total.method == "log-linear, AIC-averaged"
    assert 14_342 < total.estimate < 14_402
    assert "seed" not in json.dumps(est.to_dict()["settings"])


def test_to_dict_is_json_with_settings(both: Estimate) -> None:
    out = json.loads(json.dumps(both.to_dict(), allow_nan=False))
    assert out["documented"] == 4400 and out["official_count"] == 2000
    assert out["settings"]["lcmcr"]["seed"] == 7
    assert out["settings"]["lcmcr"]["K"] == 10
    assert out["settings"]["lcmcr"]["iterations_per_chain"] == 300 + 60 * 2
    assert out["coverage"][0] == {"list": "EXH", "count": 1910, "share": pytest.approx(1910 / 4400)}
    assert out["estimated_total"]["lower"] < out["estimated_total"]["estimate"] < out["estimated_total"]["upper"]
    assert out["loglinear"]["selected"]["estimate"] == pytest.approx(14341.66, abs=1)
    assert len(out["loglinear"]["top_models"]) == 10
    assert out["lcmcr"]["diagnostics"]["rhat"] >= 1.0


def test_assumptions_and_warnings(both: Estimate) -> None:
    text = " ".join(both.assumptions)
    for phrase in ("Closed population", "linked correctly", "latent classes", "two-way"):
        assert phrase in text
    loglinear_only = estimate(OverlapTable.read_csv(KOSOVO), method="loglinear", profile=False)
    assert not any("latent classes" in a for a in loglinear_only.assumptions)
    # Short chains: the report says the diagnostics are not good enough.
    assert any(w.startswith("LCMCR:") for w in both.warnings)


def test_same_seed_same_report() -> None:
    table = OverlapTable.read_csv(KOSOVO)
    a = estimate(table, method="lcmcr", seed=3, **QUICK)
    b = estimate(table, method="lcmcr", seed=3, **QUICK)
    da, db = a.to_dict(), b.to_dict()
    assert da["lcmcr"].pop("seconds") > 0 and db["lcmcr"].pop("seconds") > 0  # wall time: the one difference
    assert da == db


def test_many_lists_fall_back_to_lcmcr() -> None:
    sim = simulate(2000, [[0.3, 0.4, 0.35, 0.3, 0.25, 0.4]], seed=4)
    est = estimate(sim.table, seed=1, **QUICK)
    assert est.loglinear is None and est.lcmcr is not None
    assert any("log-linear models not fitted" in w for w in est.warnings)
    with pytest.raises(ValueError, match="too many"):
        estimate(sim.table, method="loglinear")


def test_method_is_checked() -> None:
    with pytest.raises(ValueError, match="method"):
        estimate(OverlapTable.read_csv(KOSOVO), method="bayes")  # type: ignore[arg-type]


def test_sensitivity_to_linkage_threshold() -> None:
    sim = simulate(3000, [[0.3, 0.35, 0.4, 0.3], [0.6, 0.55, 0.7, 0.6]], shares=[0.5, 0.5], seed=11)
    rng = np.random.default_rng(0)
    tables = {
        # A strict threshold misses links (more persons, less overlap); a loose one merges strangers.
        0.95: OverlapTable.from_records(inject_linkage_errors(sim.records, 0.25, 0.0, rng), sim.lists),
        0.85: sim.table,
        0.70: OverlapTable.from_records(inject_linkage_errors(sim.records, 0.0, 0.08, rng), sim.lists),
    }
    result = sensitivity(tables, method="loglinear", profile=False)
    rows = result.rows()
    assert [r["threshold"] for r in rows] == [0.70, 0.85, 0.95]
    assert rows[0]["estimate"] < rows[1]["estimate"] < rows[2]["estimate"]
    assert rows[0]["documented"] < rows[1]["documented"] < rows[2]["documented"]
    assert "threshold" in result.to_text()
    json.dumps(result.to_dict(), allow_nan=False)
    with pytest.raises(ValueError, match="no tables"):
        sensitivity({})
