"""The estimate as a finding: three separate figures, the methods' results, and what they assume.

A reader of a casualty report must never mistake an estimate for a count. So every report here keeps three
figures apart:

- the **official count**: what the authorities said (given by the caller; may be absent);
- the **documented count**: persons the lists name, each counted once after record linkage;
- the **estimated total**: documented plus those no list recorded, as a statistical estimate with an interval.

``estimate`` runs the log-linear models, the latent-class model (LCMCR) or both on one overlap table. The
headline total is LCMCR's posterior median and credible interval when LCMCR was run (it models people's
unequal chances of being recorded, the commonest failure of the log-linear models), and otherwise the
AIC-averaged log-linear estimate. ``sensitivity`` repeats the estimate on the tables a record linkage gives
at different match thresholds, because linkage errors move the estimate (see ``simulate``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from factfinder.findings.estimation.lcmcr import LcmcrResult, fit_lcmcr
from factfinder.findings.estimation.loglinear import MAX_PAIRS_ENUMERATED, LoglinearResult, fit_all
from factfinder.findings.estimation.overlap import OverlapTable

Method = Literal["both", "loglinear", "lcmcr"]

COMMON_ASSUMPTIONS = (
    "Closed population: the lists cover the same people, place and period (for example, the same deaths in "
    "the same region over the same weeks); the estimate is of that population only.",
    "Records are linked correctly: each documented person is counted once, with every list that recorded "
    "them. Missed links (one person counted twice) push the estimate up; false merges (two people counted "
    "as one) push it down.",
    "Each list records only people who belong to the population (no survivor listed as killed, no death "
    "from outside the period or area).",
    "Everyone in the population could have been recorded by some list: a group that no list could reach at "
    "all (a sealed district, a community that spoke to no one) is missing from the estimate too.",
)
LCMCR_ASSUMPTIONS = (
    "LCMCR: people differ in how likely each list was to record them; this is modelled by latent classes "
    "(groups of similar people, up to K of them, their number learnt from the data), and within a class the "
    "lists record people independently of each other.",
)
LOGLINEAR_ASSUMPTIONS = (
    "Log-linear models: all people have the same chances of being recorded, except as captured by the "
    "two-way list dependences in the model; there is no dependence among three or more lists beyond that.",
)


@dataclass(frozen=True)
class ListCoverage:
    """How many documented persons one list recorded."""

    name: str
    count: int
    share: float  # of the documented count


@dataclass(frozen=True)
class Total:
    """The estimated total with its interval, and which method and summary it is."""

    estimate: float
    lower: float
    upper: float | None
    level: float
    method: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "estimate": self.estimate,
            "lower": self.lower,
            "upper": self.upper,
            "level": self.level,
            "method": self.method,
        }


@dataclass(frozen=True)
class Estimate:
    """Everything one estimation produced, with the settings needed to repeat it."""

    lists: tuple[str, ...]
    documented: int
    official_count: int | None
    coverage: tuple[ListCoverage, ...]
    loglinear: LoglinearResult | None
    lcmcr: LcmcrResult | None
    assumptions: tuple[str, ...]
    settings: dict[str, Any]
    warnings: tuple[str, ...] = field(default=())

    @property
    def total(self) -> Total | None:
        """The headline estimate: LCMCR when run, else the AIC-averaged log-linear estimate."""
        if self.lcmcr is not None:
            lo, hi = self.lcmcr.interval
            return Total(self.lcmcr.median, lo, hi, self.lcmcr.settings.level, "LCMCR posterior median")
        if self.loglinear is not None and self.loglinear.aic_average is not None:
            avg = self.loglinear.aic_average
            return Total(
                avg.estimate, avg.interval.lower, avg.interval.upper, avg.interval.level, "log-linear, AIC-averaged"
            )
        return None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe (plain numbers, strings, lists and dicts only)."""
        total = self.total
        out: dict[str, Any] = _plain(
            {
                "official_count": self.official_count,
                "documented": self.documented,
                "estimated_total": total.as_dict() if total else None,
                "estimated_undocumented": (total.estimate - self.documented) if total else None,
                "lists": list(self.lists),
                "coverage": [{"list": c.name, "count": c.count, "share": c.share} for c in self.coverage],
                "loglinear": self.loglinear.as_dict() if self.loglinear else None,
                "lcmcr": self.lcmcr.as_dict() if self.lcmcr else None,
                "assumptions": list(self.assumptions),
                "warnings": list(self.warnings),
                "settings": self.settings,
            }
        )
        return out

    def to_text(self) -> str:
        """A report for people: the three figures first, then the methods, diagnostics and assumptions."""
        total = self.total
        pct = round(self.settings.get("level", 0.95) * 100)
        lines = [f"Multiple systems estimation over {len(self.lists)} lists: {', '.join(self.lists)}", ""]
        official = f"{self.official_count:,}" if self.official_count is not None else "not given"
        lines.append(f"  Official count:                {official}")
        lines.append(f"  Documented (named on any list): {self.documented:,}")
        if total is None:
            lines.append("  Estimated total:               none (no method gave a usable estimate)")
        else:
            lines.append(f"  Estimated total:               {total.estimate:,.0f}  ({_interval_text(total, pct)})")
            lines.append(f"                                 {total.method}")
            lines.append(f"  Estimated not on any list:     {total.estimate - self.documented:,.0f}")
        lines += ["", "Lists (persons recorded; share of the documented count)"]
        lines += [f"  {c.name:<12} {c.count:>8,}  {c.share:6.1%}" for c in self.coverage]
        if self.lcmcr is not None:
            lines += ["", *_lcmcr_text(self.lcmcr, pct)]
        if self.loglinear is not None:
            lines += ["", *_loglinear_text(self.loglinear, pct)]
        lines += ["", "Assumptions (the estimate is only as good as these)"]
        lines += [f"  - {a}" for a in self.assumptions]
        if self.warnings:
            lines += ["", "Warnings"]
            lines += [f"  ! {w}" for w in self.warnings]
        return "\n".join(lines) + "\n"


def estimate(
    table: OverlapTable,
    *,
    method: Method = "both",
    seed: int | None = None,
    official_count: int | None = None,
    K: int = 10,  # the paper's name
    burn_in: int = 2_000,
    draws: int = 1_000,
    thin: int = 10,
    chains: int = 8,
    level: float = 0.95,
    profile: bool = True,
) -> Estimate:
    """Estimate the total from one overlap table.

    ``seed`` fixes LCMCR's random numbers (None: a fresh seed, recorded in the settings). The LCMCR defaults
    (K = 10, 8 chains side by side, each 2,000 burn-in iterations then 1,000 draws kept one in 10, as the R
    package's thinning) take several seconds whatever the number of persons, so that the estimate can be
    asked for from a web page. On the Kosovo lists the draws of N are correlated over hundreds of
    iterations and these defaults give an effective sample size of about 60 to 300, which the diagnostics
    report: for a published figure, run longer (``burn_in=10_000, draws=5_000``, or more chains).
    """
    if method not in ("both", "loglinear", "lcmcr"):
        raise ValueError(f"method must be 'both', 'loglinear' or 'lcmcr', not {method!r}")
    if official_count is not None and official_count < 0:
        raise ValueError("official_count cannot be negative")
    coverage = tuple(ListCoverage(name, count, count / table.documented) for name, count in table.coverage().items())
    notes: list[str] = []
    loglinear = None
    pairs = table.n_lists * (table.n_lists - 1) // 2
    if method == "loglinear" or (method == "both" and pairs <= MAX_PAIRS_ENUMERATED):
        loglinear = fit_all(table, level=level, profile=profile)  # raises for too many lists
    elif method == "both":
        notes.append(
            f"log-linear models not fitted: {table.n_lists} lists give 2^{pairs} models; "
            "the estimate is the latent-class model's alone"
        )
    lcmcr = None
    if method in ("both", "lcmcr"):
        lcmcr = fit_lcmcr(table, K=K, burn_in=burn_in, draws=draws, thin=thin, chains=chains, seed=seed, level=level)
    assumptions = list(COMMON_ASSUMPTIONS)
    if lcmcr is not None:
        assumptions += LCMCR_ASSUMPTIONS
    if loglinear is not None:
        assumptions += LOGLINEAR_ASSUMPTIONS
    settings: dict[str, Any] = {"method": method, "level": level, "lists": list(table.lists)}
    if lcmcr is not None:
        s = lcmcr.settings
        settings["lcmcr"] = {
            "seed": s.seed,
            "K": s.K,
            "burn_in": s.burn_in,
            "draws": s.draws,
            "thin": s.thin,
            "chains": s.chains,
            "iterations_per_chain": s.iterations,
            "a_alpha": s.a_alpha,
            "b_alpha": s.b_alpha,
        }
    if loglinear is not None:
        settings["loglinear"] = {
            "models": "all hierarchical models with main effects and any two-way terms",
            "models_fitted": len(loglinear.models),
            "interval": "Wald on the log of the unobserved count; profile likelihood for the selected models",
            "averaging": "AIC and BIC weights, Buckland unconditional standard error",
        }
    return Estimate(
        lists=table.lists,
        documented=table.documented,
        official_count=official_count,
        coverage=coverage,
        loglinear=loglinear,
        lcmcr=lcmcr,
        assumptions=tuple(assumptions),
        settings=settings,
        warnings=tuple(notes + _warnings(table, loglinear, lcmcr, official_count)),
    )


@dataclass(frozen=True)
class Sensitivity:
    """Estimates of one population from the registers that different linkage thresholds made."""

    estimates: dict[float, Estimate]

    def rows(self) -> list[dict[str, Any]]:
        out = []
        for threshold in sorted(self.estimates):
            est = self.estimates[threshold]
            total = est.total
            out.append(
                {
                    "threshold": threshold,
                    "documented": est.documented,
                    "estimate": total.estimate if total else None,
                    "lower": total.lower if total else None,
                    "upper": total.upper if total else None,
                    "method": total.method if total else None,
                }
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = _plain(
            {
                "rows": self.rows(),
                "estimates": {str(t): e.to_dict() for t, e in sorted(self.estimates.items())},
            }
        )
        return out

    def to_text(self) -> str:
        lines = [
            "Sensitivity to the record-linkage threshold",
            "(a stricter threshold links fewer records: more persons documented, less overlap, higher estimate)",
            "",
            f"  {'threshold':>10} {'documented':>11} {'estimate':>10}   interval",
        ]
        for row in self.rows():
            est = f"{row['estimate']:,.0f}" if row["estimate"] is not None else "-"
            upper = f"{row['upper']:,.0f}" if row["upper"] is not None else "unbounded"
            interval = f"{row['lower']:,.0f} to {upper}" if row["lower"] is not None else "-"
            lines.append(f"  {row['threshold']:>10g} {row['documented']:>11,} {est:>10}   {interval}")
        return "\n".join(lines) + "\n"


def sensitivity(
    tables_by_threshold: Mapping[float, OverlapTable],
    *,
    method: Method = "lcmcr",
    seed: int | None = None,
    **options: Any,
) -> Sensitivity:
    """``estimate`` for each linkage threshold's table, all with the same seed and settings.

    The same seed for every table means that differences between thresholds come from the tables, not
    from the sampler's chance. ``options`` are passed to :func:`estimate`.
    """
    if not tables_by_threshold:
        raise ValueError("no tables")
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**63))  # type: ignore[operator]
    return Sensitivity(
        {float(t): estimate(table, method=method, seed=seed, **options) for t, table in tables_by_threshold.items()}
    )


def _warnings(
    table: OverlapTable, loglinear: LoglinearResult | None, lcmcr: LcmcrResult | None, official: int | None
) -> list[str]:
    out: list[str] = []
    coverage = table.coverage()
    small = [name for name, n in coverage.items() if n < 0.05 * table.documented]
    if small:
        out.append(f"list(s) {', '.join(small)} hold under 5 % of the documented persons: they say little")
    if lcmcr is not None:
        out += [f"LCMCR: {w}" for w in lcmcr.diagnostics.warnings]
    if loglinear is not None:
        out += [f"log-linear: {n}" for n in loglinear.notes]
        sel = loglinear.selected
        if sel is not None and sel.df == 0:
            out.append("log-linear: the selected model is saturated (no degrees of freedom left to check its fit)")
    if lcmcr is not None and loglinear is not None and loglinear.aic_average is not None:
        lo, hi = lcmcr.interval
        avg = loglinear.aic_average.interval
        if avg.lower > hi or (avg.upper is not None and avg.upper < lo):
            out.append(
                "the log-linear and latent-class intervals do not overlap: the result depends on the model; "
                "report both and do not rely on either alone"
            )
    if official is not None and official > table.documented:
        out.append("the official count is above the documented count: the lists may not cover the whole population")
    return out


def _interval_text(total: Total, pct: int) -> str:
    upper = f"{total.upper:,.0f}" if total.upper is not None else "unbounded"
    kind = "credible" if total.method.startswith("LCMCR") else "confidence"
    return f"{pct}% {kind} interval {total.lower:,.0f} to {upper}"


def _lcmcr_text(result: LcmcrResult, pct: int) -> list[str]:
    s, d = result.settings, result.diagnostics
    lo, hi = result.interval
    lines = [
        "Latent-class model (LCMCR, Manrique-Vallier 2016)",
        f"  posterior median {result.median:,.0f}, mean {result.mean:,.0f}, {pct}% credible interval "
        f"{lo:,.0f} to {hi:,.0f}",
        f"  settings: K={s.K}, {s.chains} chain(s) x ({s.burn_in:,} burn-in + {s.draws:,} draws kept 1 in "
        f"{s.thin}), alpha ~ Gamma({s.a_alpha:g}, {s.b_alpha:g}), seed {s.seed}",
        f"  diagnostics: R-hat {d.rhat:.3f} (want < 1.05), effective sample size {d.ess:,.0f} (want > 400), "
        f"Geweke z {', '.join(f'{z:+.1f}' for z in d.geweke_z[:8])}{' ...' if len(d.geweke_z) > 8 else ''}",
        f"  latent classes in use: {d.mean_classes:.1f} on average, at most {d.max_classes} of {s.K}",
    ]
    return lines


def _loglinear_text(result: LoglinearResult, pct: int) -> list[str]:
    lines = [f"Log-linear models ({len(result.models)} fitted; Rcapture's conventions)"]
    sel = result.selected
    if sel is not None and sel.estimate is not None and sel.wald is not None:
        lines.append(f"  best AIC: {sel.name}")
        wald_hi = f"{sel.wald.upper:,.0f}" if sel.wald.upper is not None else "unbounded"
        text = f"    N = {sel.estimate:,.0f}; Wald {pct}% interval {sel.wald.lower:,.0f} to {wald_hi}"
        if sel.profile is not None:
            hi = f"{sel.profile.upper:,.0f}" if sel.profile.upper is not None else "unbounded"
            text += f"; profile likelihood {sel.profile.lower:,.0f} to {hi}"
        lines.append(text)
    for avg in (result.aic_average, result.bic_average):
        if avg is not None:
            hi = f"{avg.interval.upper:,.0f}" if avg.interval.upper is not None else "unbounded"
            lines.append(
                f"  {avg.criterion.upper()}-averaged over {avg.models_used} models: {avg.estimate:,.0f} "
                f"({pct}% interval {avg.interval.lower:,.0f} to {hi})"
            )
    lines.append(f"  {'model':<64} {'AIC':>8} {'BIC':>8} {'N':>9} {'weight':>7}")
    weights = dict(result.aic_average.weights) if result.aic_average else {}
    for m in result.top(5):
        n = m.estimate if m.estimate is not None else math.nan
        lines.append(f"  {m.name[:64]:<64} {m.aic:8.1f} {m.bic:8.1f} {n:9,.0f} {weights.get(m.name, 0):7.3f}")
    excluded = [m for m in result.models if m.excluded]
    if excluded:
        lines.append(f"  excluded from selection and averaging: {len(excluded)} model(s), e.g. {excluded[0].name}: "
                     f"{excluded[0].excluded}")  # fmt: skip
    return lines


def _plain(value: Any) -> Any:
    """NumPy scalars to Python, non-finite floats to None: what ``json.dumps`` accepts everywhere."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
