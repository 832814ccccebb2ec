"""Log-linear capture-recapture: Poisson models of the list-overlap table (Fienberg 1972; Rivest 2011).

The 2^L - 1 observed cells of the overlap table are fitted by a Poisson GLM with log link whose design has an
intercept, one main effect per list and some two-way interactions (list dependence: being on list A makes
being on list B more, or less, likely). The unobserved cell, the persons on no list, has every covariate at
0, so its fitted count is ``exp(intercept)``, and the estimated total is documented + ``exp(intercept)``.
The estimate rests entirely on the assumption that the interactions left *out* are zero (in particular that
there is no three-way or higher interaction); no data can check that assumption, which is why every model is
fitted, compared by AIC and BIC, and averaged.

What is computed, and how it matches R's Rcapture (Baillargeon and Rivest 2007), which reproduces the
published Kosovo figures:

- the models: every hierarchical model with all main effects and any subset of the two-way interactions
  (2^(L(L-1)/2) models: 8 for 3 lists, 64 for 4, 1,024 for 5);
- AIC = -2 log-likelihood + 2 parameters, with the full Poisson likelihood (as R's ``glm``);
  BIC = AIC + (log(documented) - 2) parameters (as Rcapture ``closedpMS.t``: the sample size is the
  documented count, not the number of cells);
- standard error of N as Rcapture's: sqrt(n0 + n0^2 var(intercept)), with n0 = exp(intercept);
- **Wald interval**: a Wald interval for the intercept, exponentiated: documented + exp(b0 +- z se(b0)).
  It is the log-scale interval for the unobserved count, asymmetric around N and never below the documented
  count; it gives the published 12,541 to 16,540 for the best-AIC Kosovo model (a symmetric interval
  N +- z se on N would give 12,332 to 16,351);
- **profile-likelihood interval** (Rcapture ``closedpCI.t``, Cormack 1992): the multinomial profile
  likelihood of N, from Poisson fits of the table with the unobserved cell added at each trial value of N,
  the interval being where the log-likelihood is within chi2(1; level)/2 of its maximum;
- **model averaging** (Buckland, Burnham and Augustin 1997) with AIC or BIC weights w_i proportional to
  exp(-delta_i / 2): N_avg = sum w_i N_i, unconditional standard error sum w_i sqrt(se_i^2 + (N_i -
  N_avg)^2), interval by Chao's (1987) log-normal construction on the unobserved count, so that it stays
  above the documented count.

Models whose unobserved estimate is not usable (the fit failed or did not converge, the intercept is not
finite, its log-scale standard error is so large that the interval spans orders of magnitude, or the
unobserved count is many times the documented one) are kept in the table, flagged with the reason, and left
out of selection and averaging.
"""

from __future__ import annotations

import functools
import itertools
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import statsmodels.api as sm
from scipy import optimize, special, stats  # type: ignore[import-untyped]

from factfinder.findings.estimation.overlap import OverlapTable

Term = tuple[str, str]
Criterion = Literal["aic", "bic"]

# More two-way terms than this (5 lists = 10 pairs = 1,024 models) and enumerating every model is slow and
# mostly fits noise; pass ``models=`` explicitly for more lists.
MAX_PAIRS_ENUMERATED = 10
MAX_UNOBSERVED_RATIO = 50.0  # unobserved / documented above this: lists would cover under 2 %
MAX_LOG_STDERR = 2.0  # se of log(unobserved) above this: the 95 % interval spans a factor of e^7.8 (2,500)


@dataclass(frozen=True)
class Interval:
    """A two-sided interval for the total N at a confidence level; ``upper`` None when unbounded."""

    lower: float
    upper: float | None
    level: float
    method: str

    def as_dict(self) -> dict[str, Any]:
        return {"lower": self.lower, "upper": self.upper, "level": self.level, "method": self.method}


@dataclass(frozen=True)
class LoglinearModel:
    """One fitted model: its terms, fit statistics and estimate (None where the fit is unusable)."""

    terms: tuple[Term, ...]
    parameters: int
    deviance: float
    df: int
    aic: float
    bic: float
    intercept: float
    intercept_stderr: float
    unobserved: float | None
    estimate: float | None
    stderr: float | None
    wald: Interval | None
    converged: bool
    excluded: str | None = None
    notes: tuple[str, ...] = ()
    profile: Interval | None = None

    @property
    def name(self) -> str:
        return model_name(self.terms)

    @property
    def usable(self) -> bool:
        return self.excluded is None and self.estimate is not None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "terms": ["*".join(t) for t in self.terms],
            "parameters": self.parameters,
            "deviance": _finite(self.deviance),
            "df": self.df,
            "aic": _finite(self.aic),
            "bic": _finite(self.bic),
            "unobserved": _finite(self.unobserved),
            "estimate": _finite(self.estimate),
            "stderr": _finite(self.stderr),
            "wald": self.wald.as_dict() if self.wald else None,
            "profile": self.profile.as_dict() if self.profile else None,
            "converged": self.converged,
            "excluded": self.excluded,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class ModelAverage:
    """A model-averaged estimate (Buckland et al. 1997) with the weights it used."""

    criterion: Criterion
    estimate: float
    stderr: float
    interval: Interval
    weights: tuple[tuple[str, float], ...]
    models_used: int
    models_excluded: int

    def as_dict(self, top: int = 10) -> dict[str, Any]:
        return {
            "criterion": self.criterion,
            "estimate": self.estimate,
            "stderr": self.stderr,
            "interval": self.interval.as_dict(),
            "weights": [{"model": name, "weight": w} for name, w in self.weights[:top]],
            "models_used": self.models_used,
            "models_excluded": self.models_excluded,
        }


@dataclass(frozen=True)
class LoglinearResult:
    """Every model fitted to one table, ordered by AIC, with the selected models and the averages."""

    lists: tuple[str, ...]
    documented: int
    models: tuple[LoglinearModel, ...]
    selected: LoglinearModel | None
    selected_bic: LoglinearModel | None
    aic_average: ModelAverage | None
    bic_average: ModelAverage | None
    level: float
    notes: tuple[str, ...] = field(default=())

    def top(self, n: int = 5, criterion: Criterion = "aic") -> list[LoglinearModel]:
        """The n usable models with the lowest AIC (or BIC)."""
        usable = [m for m in self.models if m.usable]
        return sorted(usable, key=lambda m: m.aic if criterion == "aic" else m.bic)[:n]

    def model(self, *terms: Term | str) -> LoglinearModel:
        """The fitted model with exactly these two-way terms (as pairs or as ``"A*B"``)."""
        wanted = _normalise_terms(self.lists, [t.split("*") if isinstance(t, str) else t for t in terms])
        for m in self.models:
            if m.terms == wanted:
                return m
        raise KeyError(model_name(wanted))

    def as_dict(self, top: int = 10) -> dict[str, Any]:
        return {
            "lists": list(self.lists),
            "documented": self.documented,
            "level": self.level,
            "models_fitted": len(self.models),
            "models_excluded": [{"model": m.name, "reason": m.excluded} for m in self.models if m.excluded],
            "selected": self.selected.as_dict() if self.selected else None,
            "selected_bic": self.selected_bic.as_dict() if self.selected_bic else None,
            "aic_average": self.aic_average.as_dict(top) if self.aic_average else None,
            "bic_average": self.bic_average.as_dict(top) if self.bic_average else None,
            "top_models": [m.as_dict() for m in self.top(top)],
            "notes": list(self.notes),
        }


def model_name(terms: Sequence[Term]) -> str:
    """``independence`` or the two-way terms, e.g. ``EXH*ABA + OSCE*HRW``."""
    return " + ".join("*".join(t) for t in terms) if terms else "independence"


def hierarchical_models(lists: Sequence[str]) -> list[tuple[Term, ...]]:
    """Every subset of two-way terms (main effects always in): 2^(L(L-1)/2) models, fewest terms first."""
    pairs = list(itertools.combinations(lists, 2))
    if len(pairs) > MAX_PAIRS_ENUMERATED:
        raise ValueError(
            f"{len(lists)} lists give 2^{len(pairs)} models: too many to fit every one; "
            "pass models= with the ones to compare, or use the latent-class model"
        )
    out: list[tuple[Term, ...]] = []
    for size in range(len(pairs) + 1):
        out.extend(itertools.combinations(pairs, size))
    return out


def design_matrix(table: OverlapTable, terms: Sequence[Term]) -> npt.NDArray[np.float64]:
    """Intercept, main effects and the given two-way products over the 2^L - 1 observed patterns."""
    x = table.patterns().astype(np.float64)
    index = {name: j for j, name in enumerate(table.lists)}
    columns = [np.ones(len(x)), *(x[:, j] for j in range(table.n_lists))]
    columns += [x[:, index[a]] * x[:, index[b]] for a, b in terms]
    return np.column_stack(columns)


def fit_model(
    table: OverlapTable,
    terms: Sequence[Term] = (),
    *,
    level: float = 0.95,
    max_unobserved_ratio: float = MAX_UNOBSERVED_RATIO,
    max_log_stderr: float = MAX_LOG_STDERR,
) -> LoglinearModel:
    """Fit one model and estimate the unobserved cell; flag (never raise on) a fit that is not usable."""
    terms = _normalise_terms(table.lists, terms)
    y = table.counts.astype(np.float64)
    x = design_matrix(table, terms)
    n = table.documented
    k = x.shape[1]
    nan = float("nan")
    if k > len(y):
        return LoglinearModel(
            terms, k, nan, len(y) - k, nan, nan, nan, nan, None, None, None, None, False,
            excluded=f"not identifiable: {k} parameters for {len(y)} cells",
        )  # fmt: skip
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit = sm.GLM(y, x, family=sm.families.Poisson()).fit(maxiter=200)
        except Exception as exc:  # statsmodels raises several types (linalg, value, overflow)
            return LoglinearModel(
                terms, k, nan, len(y) - k, nan, nan, nan, nan, None, None, None, None, False,
                excluded=f"the fit failed: {exc}",
            )  # fmt: skip
    notes.extend(sorted({str(w.message).splitlines()[0] for w in caught}))
    params = np.asarray(fit.params, dtype=np.float64)
    bse = np.asarray(fit.bse, dtype=np.float64)
    b0, se0 = float(params[0]), float(bse[0])
    converged = bool(getattr(fit, "converged", True))
    aic = float(fit.aic)
    bic = aic + (math.log(n) - 2.0) * k
    deviance = float(fit.deviance)
    if np.any(np.abs(params[1:]) > 15):
        notes.append("a parameter is at the boundary: some combination of lists has (almost) no one")
    if not converged or not (math.isfinite(b0) and math.isfinite(se0)):
        reason = "the fit did not converge" if not converged else "the unobserved count is not finite"
        return LoglinearModel(
            terms, k, deviance, round(fit.df_resid), aic, bic, b0, se0, None, None, None, None, converged,
            excluded=reason, notes=tuple(notes),
        )  # fmt: skip
    excluded: str | None = None
    if b0 > math.log(max_unobserved_ratio * n):
        excluded = f"the unobserved count ({_exp(b0):,.0f}) is over {max_unobserved_ratio:g}x the documented count"
    elif se0 > max_log_stderr:
        excluded = f"the unobserved count is not identified (log-scale standard error {se0:.1f})"
    n0 = _exp(b0)
    z = _z(level)
    upper = n + _exp(b0 + z * se0)
    wald = Interval(n + _exp(b0 - z * se0), upper if math.isfinite(upper) else None, level, "Wald, log scale")
    return LoglinearModel(
        terms=terms,
        parameters=k,
        deviance=deviance,
        df=round(fit.df_resid),
        aic=aic,
        bic=bic,
        intercept=b0,
        intercept_stderr=se0,
        unobserved=n0,
        estimate=n + n0,
        stderr=math.sqrt(n0 + n0 * n0 * se0 * se0),
        wald=wald,
        converged=converged,
        excluded=excluded,
        notes=tuple(notes),
    )


def profile_interval(table: OverlapTable, terms: Sequence[Term], *, level: float = 0.95) -> Interval | None:
    """Rcapture ``closedpCI.t``'s interval: multinomial profile likelihood of N (Cormack 1992 correction).

    For a trial N the unobserved cell is added to the table with count N - documented and a design row of
    zeros except the intercept; the Poisson deviance of that fit, less twice the correction term
    log(n0^n0 N! / (N^N n0!)), is -2 times the profile log-likelihood. The maximum is searched on
    (documented, 3 N_hat); the bounds are where the log-likelihood falls chi2(1; level)/2 below it, the
    lower bound being the documented count when the likelihood never falls that far, the upper None when
    it does not fall that far below 3 N_hat. None when the model cannot be fitted.
    """
    terms = _normalise_terms(table.lists, terms)
    base = fit_model(table, terms, level=level)
    if base.estimate is None:
        return None
    n = float(table.documented)
    y = np.append(table.counts.astype(np.float64), 0.0)
    x = design_matrix(table, terms)
    x = np.vstack([x, np.eye(1, x.shape[1])])
    state: dict[str, Any] = {"start": None}  # each fit starts from the last one's parameters

    def loglik(total: float) -> float:
        n0 = max(total - n, 0.0)
        y[-1] = n0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = sm.GLM(y, x, family=sm.families.Poisson()).fit(start_params=state["start"], maxiter=200)
        state["start"] = fit.params
        correction = special.xlogy(n0, n0) + special.gammaln(total + 1) - special.xlogy(total, total)
        correction -= special.gammaln(n0 + 1)
        return float(-(fit.deviance - 2.0 * correction) / 2.0)

    upper_search = 3.0 * base.estimate
    best = optimize.minimize_scalar(lambda t: -loglik(t), bounds=(n, upper_search), method="bounded")
    n_max, l_max = float(best.x), -float(best.fun)
    cut = l_max - stats.chi2.ppf(level, 1) / 2.0
    lower = n
    if loglik(n) < cut:
        lower = float(optimize.brentq(lambda t: loglik(t) - cut, n, n_max, xtol=1e-4))
    upper: float | None = None
    if loglik(upper_search) < cut:
        upper = float(optimize.brentq(lambda t: loglik(t) - cut, n_max, upper_search, xtol=1e-4))
    return Interval(lower, upper, level, "profile likelihood (multinomial, Cormack 1992)")


def model_average(
    models: Sequence[LoglinearModel], documented: int, *, criterion: Criterion = "aic", level: float = 0.95
) -> ModelAverage | None:
    """Buckland-style average of the usable models' estimates with AIC or BIC weights; None if none usable."""
    usable = [m for m in models if m.usable]
    if not usable:
        return None
    score = np.array([m.aic if criterion == "aic" else m.bic for m in usable])
    w = np.exp(-(score - score.min()) / 2.0)
    w /= w.sum()
    est = np.array([m.estimate for m in usable], dtype=np.float64)
    se = np.array([m.stderr for m in usable], dtype=np.float64)
    avg = float(w @ est)
    se_avg = float(w @ np.sqrt(se**2 + (est - avg) ** 2))
    n0 = avg - documented
    c = math.exp(_z(level) * math.sqrt(math.log1p(se_avg**2 / n0**2))) if n0 > 0 else 1.0
    interval = Interval(documented + n0 / c, documented + n0 * c, level, "Buckland unconditional se, log-normal")
    order = np.argsort(-w)
    weights = tuple((usable[i].name, float(w[i])) for i in order)
    return ModelAverage(criterion, avg, se_avg, interval, weights, len(usable), len(models) - len(usable))


def fit_all(
    table: OverlapTable,
    *,
    models: Sequence[Sequence[Term]] | None = None,
    level: float = 0.95,
    profile: bool = True,
    max_unobserved_ratio: float = MAX_UNOBSERVED_RATIO,
    max_log_stderr: float = MAX_LOG_STDERR,
) -> LoglinearResult:
    """Fit every hierarchical two-way model (or the given ones), select by AIC and BIC, and average.

    ``profile`` adds the profile-likelihood interval to the AIC- and BIC-selected models (a hundred or so
    further fits each).
    """
    candidates = hierarchical_models(table.lists) if models is None else [tuple(m) for m in models]
    fitted = [
        fit_model(table, terms, level=level, max_unobserved_ratio=max_unobserved_ratio, max_log_stderr=max_log_stderr)
        for terms in candidates
    ]
    fitted.sort(key=lambda m: (math.inf if math.isnan(m.aic) else m.aic, m.parameters))
    usable = [m for m in fitted if m.usable]
    selected = usable[0] if usable else None
    selected_bic = min(usable, key=lambda m: m.bic) if usable else None
    if profile and selected is not None:
        fitted = [_with_profile(table, m, level) if m in (selected, selected_bic) else m for m in fitted]
        usable = [m for m in fitted if m.usable]
        selected = usable[0]
        selected_bic = min(usable, key=lambda m: m.bic)
    notes: list[str] = []
    if not usable:
        notes.append("no model gave a usable estimate")
    excluded = [m for m in fitted if m.excluded]
    if excluded:
        notes.append(f"{len(excluded)} of {len(fitted)} models excluded from selection and averaging")
    return LoglinearResult(
        lists=table.lists,
        documented=table.documented,
        models=tuple(fitted),
        selected=selected,
        selected_bic=selected_bic,
        aic_average=model_average(fitted, table.documented, criterion="aic", level=level),
        bic_average=model_average(fitted, table.documented, criterion="bic", level=level),
        level=level,
        notes=tuple(notes),
    )


def _with_profile(table: OverlapTable, model: LoglinearModel, level: float) -> LoglinearModel:
    try:
        interval = profile_interval(table, model.terms, level=level)
    except (ValueError, RuntimeError, np.linalg.LinAlgError) as exc:
        return replace(model, notes=(*model.notes, f"profile-likelihood interval failed: {exc}"))
    return replace(model, profile=interval)


def _normalise_terms(lists: Sequence[str], terms: Sequence[Sequence[str]]) -> tuple[Term, ...]:
    """Terms as pairs in list order, each pair in list order, checked against the table's lists."""
    order = {name: j for j, name in enumerate(lists)}
    out: set[Term] = set()
    for term in terms:
        pair = tuple(term)
        if len(pair) != 2 or pair[0] == pair[1] or any(p not in order for p in pair):
            raise ValueError(f"{term!r} is not a pair of two of the lists {list(lists)}")
        a, b = sorted(pair, key=order.__getitem__)
        out.add((a, b))
    return tuple(sorted(out, key=lambda t: (order[t[0]], order[t[1]])))


@functools.lru_cache(maxsize=16)
def _z(level: float) -> float:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    return float(stats.norm.ppf(0.5 + level / 2.0))


def _exp(x: float) -> float:
    """exp that returns infinity instead of raising on overflow (a diverging model is data, not an error)."""
    return math.exp(x) if x < 709.0 else math.inf


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
