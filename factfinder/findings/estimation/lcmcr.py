"""Bayesian non-parametric latent-class capture-recapture (LCMCR), after Manrique-Vallier (2016).

Manrique-Vallier, D. (2016). "Bayesian population size estimation using Dirichlet process mixtures."
*Biometrics* 72(4): 1246-1254. The model behind HRDAG's estimates (Kosovo, Peru, Syria, Colombia); the
reference implementation is the R package LCMCR.

Why this model: people differ in how likely they are to be recorded (a victim known in town appears on every
list; one killed on a road appears on none), and lists are not independent. The model lets the population
be a mixture of latent classes; within a class the lists are independent, each with its own capture
probability; how many classes matter is learnt from the data by a Dirichlet-process prior (truncated at K
classes: K is a ceiling, not a choice of how many there are). Heterogeneity and the list dependence it
induces are thus modelled without choosing interaction terms.

The model (J lists, N persons of whom n documented, x_i the 0/1 capture pattern of person i):

    x_ij | z_i = k  ~ Bernoulli(lambda_jk)            lambda_jk ~ Beta(1, 1)
    z_i             ~ Categorical(pi)                   pi ~ stick-breaking(alpha), truncated at K:
                                                        pi_k = V_k prod_{l<k} (1 - V_l), V_k ~ Beta(1, alpha), V_K = 1
    alpha           ~ Gamma(a_alpha, b_alpha)           (shape, rate; LCMCR's default 0.25, 0.25)
    p(N) proportional to 1/N                            (the prior that makes n0 negative binomial)

The Gibbs sampler (one iteration, as in the paper's section 3 and the LCMCR package):

1. class memberships of the documented persons: all persons sharing a capture pattern have the same
   conditional class probabilities, so their class counts are one multinomial draw per pattern
   (cost O(patterns x K), not O(persons x K));
2. lambda_jk ~ Beta(1 + recorded in class k by list j, 1 + not recorded), counting the imputed
   undocumented persons (all zeros) of the previous iteration;
3. stick-breaking weights: V_k ~ Beta(1 + N_k, alpha + sum_{l>k} N_l), in log space (log-gamma draws) so
   that tiny weights do not underflow;
4. n0 ~ NegativeBinomial(n, 1 - p0), p0 = sum_k pi_k prod_j (1 - lambda_jk), the chance of being on no list;
5. classes of the n0 undocumented persons: one multinomial draw with weights pi_k prod_j (1 - lambda_jk);
6. alpha ~ Gamma(a_alpha + K - 1, rate b_alpha - log pi_K).

Two additions that leave the posterior unchanged but make the chains reach and cross it faster (both were
needed on the Kosovo lists, where chains otherwise sat for thousands of iterations with N far too low):
a label-switching Metropolis-Hastings move between steps 1 and 2 (``_Sampler._swap_labels``), and dispersed
starting states that each hold one large class of persons hard to record (``_Sampler._start``). Even so the
draws of N are strongly autocorrelated (on Kosovo, integrated autocorrelation time of several hundred
iterations), hence the thinning and several chains by default, and the diagnostics with every result.

Several chains run side by side in the same array operations (each with its own random start), which makes
more chains nearly free. Random numbers come from one ``numpy.random.Generator`` seeded by ``seed``: the
same seed, settings and data give the same draws (a different number of chains gives different draws).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from factfinder.findings.estimation import diagnostics
from factfinder.findings.estimation.overlap import OverlapTable


@dataclass(frozen=True)
class LcmcrSettings:
    """Everything that determines the draws besides the data (recorded with every result)."""

    K: int = 10  # the paper's name for the truncation level
    burn_in: int = 2_000
    draws: int = 1_000
    thin: int = 10
    chains: int = 8
    a_alpha: float = 0.25
    b_alpha: float = 0.25
    seed: int = 0
    level: float = 0.95

    def __post_init__(self) -> None:
        if self.K < 2:
            raise ValueError("K (the most latent classes) must be at least 2")
        if self.burn_in < 0 or self.draws < 40 or self.thin < 1 or self.chains < 1:
            raise ValueError("need burn_in >= 0, draws >= 40 (for the diagnostics), thin >= 1 and chains >= 1")
        if self.a_alpha <= 0 or self.b_alpha <= 0:
            raise ValueError("the Gamma prior on alpha needs positive shape and rate")
        if not 0 < self.level < 1:
            raise ValueError("level must be between 0 and 1")

    @property
    def iterations(self) -> int:
        """Iterations per chain, burn-in included."""
        return self.burn_in + self.draws * self.thin


@dataclass(frozen=True)
class LcmcrDiagnostics:
    """Whether the chains can be trusted, with plain-language warnings when they cannot."""

    rhat: float
    ess: float
    geweke_z: tuple[float, ...]
    mean_classes: float
    max_classes: int
    warnings: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.warnings


@dataclass(frozen=True, eq=False)
class LcmcrResult:
    """Posterior draws of the total N (shape (chains, draws), after thinning) and their summary."""

    lists: tuple[str, ...]
    documented: int
    settings: LcmcrSettings
    draws: npt.NDArray[np.int64] = field(repr=False)
    alpha: npt.NDArray[np.float64] = field(repr=False)
    classes: npt.NDArray[np.int64] = field(repr=False)
    diagnostics: LcmcrDiagnostics
    seconds: float

    @property
    def median(self) -> float:
        return float(np.median(self.draws))

    @property
    def mean(self) -> float:
        return float(np.mean(self.draws))

    @property
    def interval(self) -> tuple[float, float]:
        """Equal-tailed credible interval at ``settings.level`` (2.5 % and 97.5 % quantiles for 0.95)."""
        tail = (1.0 - self.settings.level) / 2.0
        lo, hi = np.quantile(self.draws, [tail, 1.0 - tail])
        return float(lo), float(hi)

    @property
    def unobserved_median(self) -> float:
        return self.median - self.documented

    def quantiles(self, probs: tuple[float, ...] = (0.025, 0.25, 0.5, 0.75, 0.975)) -> dict[str, float]:
        return {f"{p:g}": float(q) for p, q in zip(probs, np.quantile(self.draws, probs), strict=True)}

    def trace(self, points: int = 200) -> list[list[int]]:
        """Each chain's draws thinned to about ``points`` values, for a trace plot."""
        step = max(1, self.draws.shape[1] // points)
        return [[int(v) for v in chain[::step]] for chain in self.draws]

    def as_dict(self, trace_points: int = 200) -> dict[str, Any]:
        lo, hi = self.interval
        d = self.diagnostics
        return {
            "lists": list(self.lists),
            "documented": self.documented,
            "median": self.median,
            "mean": self.mean,
            "interval": {"lower": lo, "upper": hi, "level": self.settings.level, "method": "equal-tailed credible"},
            "quantiles": self.quantiles(),
            "settings": asdict(self.settings) | {"iterations_per_chain": self.settings.iterations},
            "diagnostics": {
                "rhat": d.rhat,
                "ess": d.ess,
                "geweke_z": list(d.geweke_z),
                "mean_classes": d.mean_classes,
                "max_classes": d.max_classes,
                "warnings": list(d.warnings),
            },
            "trace": self.trace(trace_points),
            "seconds": self.seconds,
        }


def fit_lcmcr(
    table: OverlapTable,
    *,
    K: int = 10,  # the paper's name
    burn_in: int = 2_000,
    draws: int = 1_000,
    thin: int = 10,
    chains: int = 8,
    seed: int | None = None,
    a_alpha: float = 0.25,
    b_alpha: float = 0.25,
    level: float = 0.95,
) -> LcmcrResult:
    """Run the Gibbs sampler and summarise the posterior of N.

    ``seed`` None draws a fresh seed from the operating system and records it in ``result.settings.seed``,
    so any run can be repeated exactly.
    """
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**63))  # type: ignore[operator]
    settings = LcmcrSettings(K, burn_in, draws, thin, chains, a_alpha, b_alpha, int(seed), level)
    return run(table, settings)


def run(table: OverlapTable, settings: LcmcrSettings) -> LcmcrResult:
    """The sampler proper, for given settings."""
    import time

    started = time.perf_counter()
    sampler = _Sampler(table, settings)
    n_keep = settings.draws
    out_n = np.empty((settings.chains, n_keep), dtype=np.int64)
    out_alpha = np.empty((settings.chains, n_keep), dtype=np.float64)
    out_classes = np.empty((settings.chains, n_keep), dtype=np.int64)
    for _ in range(settings.burn_in):
        sampler.step()
    for i in range(n_keep):
        for _ in range(settings.thin):
            sampler.step()
        out_n[:, i] = sampler.n + sampler.n0
        out_alpha[:, i] = sampler.alpha
        out_classes[:, i] = np.count_nonzero(sampler.class_sizes, axis=1)
    seconds = time.perf_counter() - started
    return LcmcrResult(
        lists=table.lists,
        documented=table.documented,
        settings=settings,
        draws=out_n,
        alpha=out_alpha,
        classes=out_classes,
        diagnostics=_diagnose(out_n, out_classes, settings),
        seconds=seconds,
    )


class _Sampler:
    """State of C chains, updated together: arrays have the chain as their first axis.

    Python pays a fixed cost per NumPy call, so one iteration makes as few random-number calls as the
    sampler allows (three): the multinomial class counts; one ``standard_gamma`` call for every capture
    probability (a Beta as a ratio of two Gammas) and every stick-breaking weight; one Poisson call for the
    undocumented persons by class. The last uses the Poisson-Gamma form of the negative binomial:
    n0 ~ NB(n, 1 - p0) is Poisson(G p0 / (1 - p0)) with G ~ Gamma(n), and a Poisson count split by a
    multinomial is independent Poissons, so count0_k ~ Poisson(G pi0_k / (1 - p0)) gives n0 and its classes
    in one draw, exactly. Draws whose shape never changes (G, alpha's Gamma, uniforms) come in batches.
    """

    BATCH = 1024

    def __init__(self, table: OverlapTable, settings: LcmcrSettings) -> None:
        self.rng = np.random.default_rng(settings.seed)
        x, freq = table.observed()
        self.x = x.astype(np.float64)  # (M, J) observed patterns
        self.xt = np.ascontiguousarray(self.x.T)
        self.freq = freq  # (M,) persons per pattern
        self.n = int(freq.sum())
        c, j, k = settings.chains, table.n_lists, settings.K
        self.C, self.J, self.K = c, j, k
        self.a_alpha, self.b_alpha = settings.a_alpha, settings.b_alpha
        marginal = (self.x.T @ freq) / self.n  # share of documented persons on each list
        lam, self.log_nu, self.count0 = self._start(marginal, c, j, k)
        self.log_lam, self.log_miss = np.log(lam), np.log1p(-lam)
        self.alpha = np.full(c, 0.5)
        self.n0 = self.count0.sum(axis=1)
        self.class_sizes = np.zeros((c, k), dtype=np.int64)
        self._shapes = np.empty(2 * c * j * k + 2 * c * (k - 1))
        self._zeros_col = np.zeros((c, 1))
        self._batch_left = 0
        self._rows = np.arange(c)
        self._identity = np.tile(np.arange(k), (c, 1))

    def _start(
        self, marginal: npt.NDArray[np.float64], c: int, j: int, k: int
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
        """Dispersed starting states, each with one large class of persons hard to record.

        Every chain starts with class 0 holding 50-90 % of the weight, capture probabilities 20-50 % of the
        lists' observed shares, and 0.5 to 2 times the documented count as undocumented members; the other
        classes get capture probabilities scattered around the observed shares. Chains started without
        such a class (weights spread over all K classes) were seen on the Kosovo lists to spend thousands of
        iterations in a state with many middling classes and N far too low before finding the posterior;
        the R package's warm-up (alpha held small for 500 iterations) serves the same end.
        """
        rng = self.rng
        lam = np.clip(marginal[None, :, None] * rng.uniform(0.5, 1.5, (c, j, k)), 0.01, 0.99)
        lam[:, :, 0] = np.clip(marginal[None, :] * rng.uniform(0.2, 0.5, (c, j)), 0.005, 0.99)
        first = rng.uniform(0.5, 0.9, c)
        rest = rng.dirichlet(np.ones(k - 1), c) * (1.0 - first)[:, None]
        log_nu = np.log(np.concatenate([first[:, None], rest], axis=1))
        count0 = np.zeros((c, k), dtype=np.int64)
        count0[:, 0] = (self.n * rng.uniform(0.5, 2.0, c)).astype(np.int64)
        return lam, log_nu, count0

    def _refill(self) -> None:
        b, c, k = self.BATCH, self.C, self.K
        self._g_alpha = self.rng.standard_gamma(self.a_alpha + k - 1.0, (b, c))
        self._g_n = self.rng.standard_gamma(float(self.n), (b, c))
        self._log_u = np.log(self.rng.random((b, c, k - 1)))
        self._swap_j = self.rng.integers(0, k, (b, c))
        self._swap_l = (self._swap_j + self.rng.integers(1, k, (b, c))) % k
        self._swap_log_u = np.log(self.rng.random((b, c)))
        self._batch_left = b

    def _swap_labels(
        self, ones: npt.NDArray[np.float64], sizes: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
        """Label-switching move (Papaspiliopoulos and Roberts 2008; Hastie, Liverani and Richardson 2015).

        One proposal per iteration and chain: two classes a, b exchange their members (documented and
        imputed) while the weights stay in place, so the members of a then have weight pi_b. Accepted with
        probability min(1, (pi_b / pi_a)^(N_a - N_b)), a Metropolis-Hastings step that leaves the posterior
        unchanged. Without it the sampler is slower to bring a large class to the front of the stick, and
        alpha, which reads the stick's last weight, stays too large, holding the population in many
        middling classes (and N low). The capture probabilities need no swap: they are drawn afresh from
        the swapped counts next.
        """
        i, rows = self._batch_left, self._rows
        a, b = self._swap_j[i], self._swap_l[i]
        log_ratio = (self.log_nu[rows, b] - self.log_nu[rows, a]) * (sizes[rows, a] - sizes[rows, b])
        accept = self._swap_log_u[i] < log_ratio
        if accept.any():
            perm = self._identity.copy()
            perm[rows[accept], a[accept]] = b[accept]
            perm[rows[accept], b[accept]] = a[accept]
            sizes = np.take_along_axis(sizes, perm, axis=1)
            ones = np.take_along_axis(ones, perm[:, None, :], axis=2)
            self.count0 = np.take_along_axis(self.count0, perm, axis=1)
        return ones, sizes

    def step(self) -> None:
        if self._batch_left == 0:
            self._refill()
        self._batch_left -= 1
        i = self._batch_left
        c, j, k = self.C, self.J, self.K
        log_lam, log_miss = self.log_lam, self.log_miss  # log lambda, log (1 - lambda): (C, J, K)
        # 1. class counts per observed pattern: one multinomial per (chain, pattern).
        logp = self.x @ (log_lam - log_miss)
        logp += (log_miss.sum(axis=1) + self.log_nu)[:, None, :]
        logp -= logp.max(axis=2, keepdims=True)
        p = np.exp(logp)
        p /= p.sum(axis=2, keepdims=True)
        z = self.rng.multinomial(self.freq, p)  # (C, M, K)
        # 2-3. Gamma draws for the capture probabilities (with last iteration's undocumented persons, all
        # zeros) and for the stick-breaking weights, in one call.
        ones = self.xt @ z  # (C, J, K)
        sizes = z.sum(axis=1) + self.count0
        ones, sizes = self._swap_labels(ones, sizes)
        self.class_sizes = sizes
        after = np.cumsum(sizes[:, ::-1], axis=1)[:, ::-1]  # persons in class k or later
        s = self._shapes
        cjk = c * j * k
        ck = c * (k - 1)
        b = self.alpha[:, None] + after[:, 1:]  # V_k ~ Beta(1 + N_k, alpha + persons after k)
        s[:cjk] = (1.0 + ones).ravel()
        s[cjk : 2 * cjk] = (1.0 + sizes[:, None, :] - ones).ravel()
        s[2 * cjk : 2 * cjk + ck] = (1.0 + sizes[:, :-1]).ravel()
        s[2 * cjk + ck :] = (1.0 + b).ravel()
        lg = np.log(self.rng.standard_gamma(s))
        # lambda = G1 / (G1 + G2), kept as logs: no clipping needed near 0 or 1.
        lg1 = lg[:cjk].reshape(c, j, k)
        lg2 = lg[cjk : 2 * cjk].reshape(c, j, k)
        lsum = np.logaddexp(lg1, lg2)
        self.log_lam = lg1 - lsum
        self.log_miss = lg2 - lsum
        # V = Ga / (Ga + Gb); log Gamma(b) = log Gamma(b + 1) + log(U) / b: no underflow when b (alpha, for
        # the last classes) is tiny; the first shape is at least 1 and needs no such care.
        lg_a = lg[2 * cjk : 2 * cjk + ck].reshape(c, k - 1)
        lg_b = lg[2 * cjk + ck :].reshape(c, k - 1) + self._log_u[i] / b
        lsum_v = np.logaddexp(lg_a, lg_b)
        log_nu = np.concatenate([lg_a - lsum_v, self._zeros_col], axis=1)
        log_nu[:, 1:] += np.cumsum(lg_b - lsum_v, axis=1)
        self.log_nu = log_nu
        # 4-5. undocumented persons by class: independent Poissons (see the class docstring).
        miss0 = np.exp(self.log_miss.sum(axis=1) + log_nu)  # (C, K): in class k and on no list
        seen = np.maximum(1.0 - miss0.sum(axis=1), 1e-300)
        self.count0 = self.rng.poisson(np.minimum(miss0 * (self._g_n[i] / seen)[:, None], 1e15))
        self.n0 = self.count0.sum(axis=1)
        # 6. concentration: Gamma(a + K - 1, rate b - log pi_K).
        self.alpha = self._g_alpha[i] / (self.b_alpha - log_nu[:, -1])


def _diagnose(
    draws: npt.NDArray[np.int64], classes: npt.NDArray[np.int64], settings: LcmcrSettings
) -> LcmcrDiagnostics:
    rhat = diagnostics.split_rhat(draws)
    ess = diagnostics.effective_sample_size(draws)
    geweke = tuple(diagnostics.geweke_z(chain) for chain in draws)
    notes: list[str] = []
    if not math.isfinite(rhat) or rhat > 1.05:
        notes.append(f"R-hat {rhat:.3f} > 1.05: the chains disagree; run longer (more burn-in and draws)")
    if ess < 400:
        notes.append(f"effective sample size {ess:.0f} < 400: the interval's ends are uncertain; run longer")
    if any(abs(g) > 2.58 for g in geweke):
        notes.append("Geweke |z| > 2.58 in a chain: it may not have settled before draws were kept")
    max_classes = int(classes.max())
    if np.mean(classes >= settings.K) > 0.5:
        notes.append(
            f"all {settings.K} latent classes in use in most draws: rerun with a larger K and check that the "
            "estimate does not move"
        )
    return LcmcrDiagnostics(rhat, ess, geweke, float(classes.mean()), max_classes, tuple(notes))
