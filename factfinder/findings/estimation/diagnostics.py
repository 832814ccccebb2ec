"""Convergence diagnostics for Markov chain Monte Carlo draws: split R-hat, effective sample size, Geweke z.

A Gibbs sampler's draws are only a sample from the posterior once the chain has forgotten where it started,
and successive draws are correlated, so 5,000 draws may carry the information of a few hundred independent
ones. These three numbers say whether to trust a posterior summary:

- **split R-hat** (Vehtari, Gelman, Simpson, Carpenter and Bürkner 2021, rank-normalised and folded): each
  chain cut in half, the halves compared; near 1 when they agree, above 1.01 to 1.05 when they do not (a
  chain still drifting, or chains stuck in different places). Computed on ranks, so the heavy right tail of
  a population estimate does not distort it.
- **effective sample size** (bulk ESS, same paper; Geyer's initial monotone sequence): how many independent
  draws the chains are worth for the centre of the distribution. A 95 % interval wants a few hundred.
- **Geweke z** (Geweke 1992): per chain, the mean of the first 10 % of the kept draws against the mean of
  the last 50 %, in standard errors that allow for autocorrelation; |z| above 2 in a chain suggests it had
  not settled when draws began to be kept.

Draws are passed as an array of shape (chains, draws).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy import stats  # type: ignore[import-untyped]

Draws = npt.NDArray[np.float64]


def _as_chains(draws: npt.ArrayLike) -> Draws:
    arr = np.asarray(draws, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] < 4:
        raise ValueError(f"expected draws of shape (chains, draws) with at least 4 draws, got {arr.shape}")
    return arr


def _split(chains: Draws) -> Draws:
    half = chains.shape[1] // 2
    return np.concatenate([chains[:, :half], chains[:, chains.shape[1] - half :]], axis=0)


def _rank_normalise(chains: Draws) -> Draws:
    flat = chains.ravel()
    ranks = stats.rankdata(flat, method="average")
    return np.asarray(stats.norm.ppf((ranks - 0.375) / (flat.size + 0.25)), dtype=np.float64).reshape(chains.shape)


def _rhat(chains: Draws) -> float:
    m, n = chains.shape
    within = float(np.mean(np.var(chains, axis=1, ddof=1)))
    between = float(n * np.var(np.mean(chains, axis=1), ddof=1)) if m > 1 else 0.0
    if within == 0.0:
        return 1.0 if between == 0.0 else math.inf
    var_plus = (n - 1) / n * within + between / n
    return math.sqrt(var_plus / within)


def split_rhat(draws: npt.ArrayLike) -> float:
    """Rank-normalised split R-hat: the larger of the bulk and the folded (tail) versions."""
    split = _split(_as_chains(draws))
    bulk = _rhat(_rank_normalise(split))
    folded = _rhat(_rank_normalise(np.abs(split - np.median(split))))
    return max(bulk, folded)


def _autocovariance(x: Draws) -> Draws:
    """Per-row autocovariance at every lag (biased, as in Geyer 1992), by FFT."""
    n = x.shape[1]
    centred = x - x.mean(axis=1, keepdims=True)
    size = 1 << (2 * n - 1).bit_length()
    spectrum = np.fft.rfft(centred, n=size, axis=1)
    acov = np.fft.irfft(spectrum * np.conjugate(spectrum), n=size, axis=1)[:, :n]
    return np.asarray(acov / n, dtype=np.float64)


def _ess(chains: Draws) -> float:
    """Multi-chain effective sample size (Stan's estimator, Geyer's initial monotone sequence)."""
    m, n = chains.shape
    acov = _autocovariance(chains)
    chain_var = acov[:, 0] * n / (n - 1)
    mean_var = float(np.mean(chain_var))
    var_plus = mean_var * (n - 1) / n
    if m > 1:
        var_plus += float(np.var(np.mean(chains, axis=1), ddof=1))
    if var_plus <= 0.0:
        return float(m * n)
    rho = 1.0 - (mean_var - np.mean(acov, axis=0)) / var_plus
    rho[0] = 1.0
    # Geyer: sums of adjacent pairs, kept while positive, made monotone non-increasing.
    pairs = rho[: n - n % 2].reshape(-1, 2).sum(axis=1)
    stop = int(np.argmax(pairs <= 0)) if np.any(pairs <= 0) else len(pairs)
    pairs = np.minimum.accumulate(pairs[:stop]) if stop else pairs[:1]
    tau = -1.0 + 2.0 * float(np.sum(pairs))
    tau = max(tau, 1.0 / math.log10(m * n))  # as Stan: cap at a little over m*n for antithetic chains
    return float(m * n / tau)


def effective_sample_size(draws: npt.ArrayLike) -> float:
    """Bulk effective sample size: ESS of the rank-normalised split chains."""
    return _ess(_rank_normalise(_split(_as_chains(draws))))


def geweke_z(chain: npt.ArrayLike, first: float = 0.1, last: float = 0.5) -> float:
    """Geweke's z for one chain: early mean vs late mean, variances from each segment's autocorrelation."""
    x = np.asarray(chain, dtype=np.float64).ravel()
    if not (0 < first < 1 and 0 < last < 1 and first + last <= 1):
        raise ValueError("first and last must be fractions that do not overlap")
    a = x[: int(len(x) * first)]
    b = x[len(x) - int(len(x) * last) :]
    if len(a) < 4 or len(b) < 4:
        raise ValueError("too few draws for Geweke's diagnostic")
    var_a = float(np.var(a, ddof=1)) / _ess(a[None, :])
    var_b = float(np.var(b, ddof=1)) / _ess(b[None, :])
    if var_a + var_b == 0.0:
        return 0.0
    return float((a.mean() - b.mean()) / math.sqrt(var_a + var_b))
