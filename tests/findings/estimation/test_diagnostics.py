"""R-hat, effective sample size and Geweke's z on chains whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from factfinder.findings.estimation import effective_sample_size, geweke_z, split_rhat


def _ar1(rng: np.random.Generator, phi: float, chains: int, n: int) -> np.ndarray:
    x = np.zeros((chains, n))
    e = rng.normal(size=(chains, n))
    for t in range(1, n):
        x[:, t] = phi * x[:, t - 1] + e[:, t]
    return x


def test_independent_chains_look_converged() -> None:
    draws = np.random.default_rng(0).normal(size=(4, 2000))
    assert split_rhat(draws) < 1.01
    assert effective_sample_size(draws) == pytest.approx(8000, rel=0.15)


def test_autocorrelated_chain_has_fewer_effective_draws() -> None:
    # AR(1) with phi = 0.9: integrated autocorrelation time (1 + phi) / (1 - phi) = 19.
    draws = _ar1(np.random.default_rng(1), 0.9, 4, 5000)
    assert effective_sample_size(draws) == pytest.approx(20000 / 19, rel=0.3)


def test_chains_in_different_places_are_caught() -> None:
    rng = np.random.default_rng(2)
    draws = rng.normal(size=(4, 1000)) + np.array([[0.0], [0.0], [0.0], [3.0]])
    assert split_rhat(draws) > 1.1
    drifting = rng.normal(size=(1, 1000)) + np.linspace(0, 5, 1000)
    assert split_rhat(drifting) > 1.1  # one chain: its halves disagree


def test_geweke() -> None:
    rng = np.random.default_rng(3)
    assert abs(geweke_z(rng.normal(size=5000))) < 3
    assert abs(geweke_z(rng.normal(size=5000) + np.linspace(0, 3, 5000))) > 5
    with pytest.raises(ValueError):
        geweke_z(np.zeros(10))


def test_shape_is_checked() -> None:
    with pytest.raises(ValueError, match="chains, draws"):
        split_rhat(np.zeros((2, 2, 2)))
