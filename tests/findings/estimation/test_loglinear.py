"""Log-linear models against the published Kosovo figures (Rcapture) and closed-form cases."""

from __future__ import annotations

import math

import pytest

from factfinder.findings.estimation import OverlapTable, fit_all, fit_model, hierarchical_models, model_average
from factfinder.findings.estimation.loglinear import LoglinearResult
from tests.conftest import TESTDATA

KOSOVO = TESTDATA / "mse" / "kosovo_1999_four_lists.csv"
BEST = (("EXH", "ABA"), ("EXH", "OSCE"), ("EXH", "HRW"), ("ABA", "OSCE"), ("OSCE", "HRW"))


@pytest.fixture(scope="module")
def kosovo() -> LoglinearResult:
    return fit_all(OverlapTable.read_csv(KOSOVO))


def test_model_space() -> None:
    models = hierarchical_models(["A", "B", "C", "D"])
    assert len(models) == 64 == len(set(models))
    assert models[0] == () and len(models[-1]) == 6
    assert len(hierarchical_models(["A", "B", "C"])) == 8
    with pytest.raises(ValueError, match="too many"):
        hierarchical_models([f"L{i}" for i in range(6)])


def test_kosovo_independence(kosovo: LoglinearResult) -> None:
    independence = kosovo.model()
    assert independence.parameters == 5
    assert independence.estimate == pytest.approx(7395, abs=1)


def test_kosovo_best_aic_reproduces_rcapture(kosovo: LoglinearResult) -> None:
    best = kosovo.selected
    assert best is not None and best.wald is not None
    assert len(kosovo.models) == 64
    assert best.terms == BEST
    assert best.estimate == pytest.approx(14341.66, abs=1)
    assert best.wald.lower == pytest.approx(12541, abs=2)
    assert best.wald.upper == pytest.approx(16540, abs=2)
    # The next model (every two-way term) is 1.94 AIC units behind: close, which is why averaging matters.
    second = kosovo.top(2)[1]
    assert second.terms == (*BEST[:4], ("ABA", "HRW"), BEST[4])
    assert second.aic - best.aic == pytest.approx(1.94, abs=0.01)


def test_kosovo_profile_interval(kosovo: LoglinearResult) -> None:
    best = kosovo.selected
    assert best is not None and best.profile is not None and best.profile.upper is not None
    # Profile-likelihood bounds lie close to the log-scale Wald bounds here, and around the estimate.
    assert 12_300 < best.profile.lower < 12_700
    assert 16_300 < best.profile.upper < 16_800
    assert best.profile.lower < 14_342 < best.profile.upper


def test_kosovo_averages(kosovo: LoglinearResult) -> None:
    aic = kosovo.aic_average
    bic = kosovo.bic_average
    assert aic is not None and bic is not None
    assert sum(w for _, w in aic.weights) == pytest.approx(1.0)
    assert aic.weights[0][0] == kosovo.selected.name if kosovo.selected else False
    assert aic.weights[0][1] == pytest.approx(1 / (1 + math.exp(-1.94 / 2)), abs=0.01)
    assert 14_342 < aic.estimate < 14_402  # between the two models that carry the weight
    assert aic.interval.lower < aic.estimate < (aic.interval.upper or 0)
    # BIC punishes the extra term harder: the best model takes nearly all the weight.
    assert bic.weights[0][1] > 0.95
    assert bic.estimate == pytest.approx(14_342, abs=10)


def test_two_lists_is_lincoln_petersen() -> None:
    # n10 = 60, n01 = 40, n11 = 20: unobserved = n10 * n01 / n11 = 120, N = 240.
    table = OverlapTable.from_patterns(["A", "B"], {(1, 0): 60, (0, 1): 40, (1, 1): 20})
    result = fit_all(table)
    assert result.model().estimate == pytest.approx(240, rel=1e-6)
    dependent = result.model(("A", "B"))
    assert dependent.excluded is not None and "not identifiable" in dependent.excluded
    assert result.selected is not None and result.selected.terms == ()


def test_diverging_models_are_flagged_and_left_out() -> None:
    # Three lists that barely overlap: independence puts hundreds of thousands on no list.
    table = OverlapTable.from_patterns(
        ["A", "B", "C"], {(1, 0, 0): 500, (0, 1, 0): 500, (0, 0, 1): 500, (1, 1, 0): 1, (1, 0, 1): 1, (0, 1, 1): 1}
    )
    result = fit_all(table, profile=False)
    independence = result.model()
    assert independence.excluded is not None and "documented count" in independence.excluded
    assert not independence.usable
    averaged = result.aic_average
    if averaged is not None:
        assert independence.name not in dict(averaged.weights)
        assert averaged.models_excluded >= 1
    assert all(m.usable for m in result.top(10))


def test_model_average_with_nothing_usable() -> None:
    table = OverlapTable.from_patterns(["A", "B"], {(1, 0): 60, (0, 1): 40, (1, 1): 20})
    assert model_average([fit_model(table, [("A", "B")])], table.documented) is None


def test_terms_are_checked() -> None:
    table = OverlapTable.from_patterns(["A", "B", "C"], {(1, 0, 0): 6, (0, 1, 0): 4, (1, 1, 1): 2})
    with pytest.raises(ValueError, match="not a pair"):
        fit_model(table, [("A", "Z")])
    assert fit_model(table, [("B", "A")]).terms == (("A", "B"),)
