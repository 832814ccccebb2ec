"""The latent-class sampler on the Kosovo lists (published figures) and its determinism."""

from __future__ import annotations

import numpy as np
import pytest

from factfinder.findings.estimation import LcmcrSettings, OverlapTable, fit_lcmcr
from factfinder.findings.estimation.lcmcr import LcmcrResult
from tests.conftest import TESTDATA

KOSOVO = TESTDATA / "mse" / "kosovo_1999_four_lists.csv"
SMALL = OverlapTable.from_patterns(
    ["A", "B", "C"],
    {(1, 0, 0): 120, (0, 1, 0): 90, (0, 0, 1): 100, (1, 1, 0): 30, (1, 0, 1): 25, (0, 1, 1): 20, (1, 1, 1): 8},
)


@pytest.fixture(scope="module")
def kosovo() -> LcmcrResult:
    # Short chains (8 chains x 5,500 iterations, a few seconds); the published run is 100,000 burn-in.
    return fit_lcmcr(OverlapTable.read_csv(KOSOVO), K=10, burn_in=1500, draws=400, thin=10, chains=8, seed=1)


def test_kosovo_posterior_matches_published(kosovo: LcmcrResult) -> None:
    # Published (R package LCMCR, K=10): median about 10,350, 95 % interval about 8,600 to 13,700.
    lower, upper = kosovo.interval
    assert 9_500 <= kosovo.median <= 11_500
    assert 7_800 <= lower <= 9_500
    assert 12_000 <= upper <= 16_000
    assert lower < kosovo.median < upper
    assert kosovo.draws.shape == (8, 400)
    assert kosovo.draws.min() > kosovo.documented  # N is documented + at least someone unseen


def test_kosovo_diagnostics(kosovo: LcmcrResult) -> None:
    d = kosovo.diagnostics
    assert 1.0 <= d.rhat < 1.3
    assert 10 < d.ess < kosovo.draws.size
    assert len(d.geweke_z) == 8
    assert 1 <= d.mean_classes <= 10 and d.max_classes <= 10


def test_result_as_dict(kosovo: LcmcrResult) -> None:
    out = kosovo.as_dict(trace_points=50)
    assert out["settings"]["seed"] == 1 and out["settings"]["K"] == 10
    assert out["settings"]["iterations_per_chain"] == 1500 + 400 * 10
    assert len(out["trace"]) == 8 and 40 <= len(out["trace"][0]) <= 60
    assert out["quantiles"]["0.5"] == kosovo.median


def test_same_seed_same_draws() -> None:
    a = fit_lcmcr(SMALL, K=5, burn_in=50, draws=40, chains=2, seed=42)
    b = fit_lcmcr(SMALL, K=5, burn_in=50, draws=40, chains=2, seed=42)
    c = fit_lcmcr(SMALL, K=5, burn_in=50, draws=40, chains=2, seed=43)
    assert np.array_equal(a.draws, b.draws)
    assert not np.array_equal(a.draws, c.draws)


def test_seed_is_recorded_when_not_given() -> None:
    result = fit_lcmcr(SMALL, K=3, burn_in=10, draws=40, chains=1)
    again = fit_lcmcr(SMALL, K=3, burn_in=10, draws=40, chains=1, seed=result.settings.seed)
    assert np.array_equal(result.draws, again.draws)


def test_thinning_keeps_every_nth() -> None:
    every = fit_lcmcr(SMALL, K=4, burn_in=20, draws=120, thin=1, chains=1, seed=3)
    thinned = fit_lcmcr(SMALL, K=4, burn_in=20, draws=40, thin=3, chains=1, seed=3)
    assert np.array_equal(thinned.draws[0], every.draws[0][2::3])


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="K"):
        LcmcrSettings(K=1)
    with pytest.raises(ValueError, match="draws"):
        LcmcrSettings(draws=20)
    with pytest.raises(ValueError, match="Gamma"):
        LcmcrSettings(a_alpha=0)
    assert LcmcrSettings(burn_in=100, draws=50, thin=4).iterations == 300
