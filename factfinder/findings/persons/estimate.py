"""The estimate for a case: how many were killed (or detained...) that no list recorded.

Three figures are always given apart, never blended into one:

1. the **official count**: the latest figure the authorities gave for the
   case's principal incident, from the reconciled counts (``findings``);
2. the **documented count**: linked persons recorded as ``what`` on at least
   one list of the register;
3. the **estimated total** with its interval, from the overlap of the lists
   (``factfinder.findings.estimation``: log-linear models and the latent-class
   model).

Linkage errors move the estimate: a missed link makes one person two, each
on fewer lists, and raises it; a false merge makes two people one and lowers
it. So the estimate is made again at other linkage thresholds and the
spread is shown beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast, get_args

from factfinder.findings import estimation
from factfinder.findings.estimation.summary import COMMON_ASSUMPTIONS, Method
from factfinder.findings.persons import store
from factfinder.findings.persons.model import STATUSES
from factfinder.vault.case import Case

# The linkage thresholds the sensitivity table re-estimates at (match probability).
SENSITIVITY_THRESHOLDS: tuple[float, ...] = (0.5, 0.8, 0.95, 0.99)
# The findings' count tables call the disappeared "missing".
_COUNTED = {"killed": "killed", "injured": "injured", "detained": "detained", "disappeared": "missing"}
METHODS: tuple[str, ...] = get_args(Method)
MIN_PERSONS = 10  # below this there is nothing to estimate from: the documented count is given alone


@dataclass
class StratumEstimate:
    stratum: str
    documented: int
    result: estimation.Estimate | None  # None where the stratum is too small or has one list
    note: str = ""


@dataclass
class SensitivityRow:
    threshold: float
    documented: int
    median: float | None
    low: float | None
    high: float | None
    note: str = ""


@dataclass
class CaseEstimate:
    """The three figures for one status, by stratum, with the sensitivity to the linkage threshold."""

    what: str
    strata: list[str]
    threshold: float
    official: int | None
    official_source: str
    documented: int
    lists: list[dict[str, Any]]
    by_stratum: list[StratumEstimate]
    sensitivity: list[SensitivityRow] = field(default_factory=list)
    seed: int = 1
    method: str = "both"

    def total(self) -> tuple[float | None, float | None, float | None]:
        """The estimated total (median, low, high): the one stratum's, or the sum over strata."""
        medians, lows, highs = [], [], []
        for s in self.by_stratum:
            figures = _figures(s.result)
            if figures is None:
                medians.append(float(s.documented))
                lows.append(float(s.documented))
                highs.append(float(s.documented))
                continue
            medians.append(figures[0])
            lows.append(figures[1])
            highs.append(figures[2])
        if not medians or all(s.result is None for s in self.by_stratum):
            return None, None, None
        # Summing interval ends over strata gives a conservative (wide) interval for the total.
        return sum(medians), sum(lows), sum(highs)

    def to_dict(self) -> dict[str, Any]:
        median, low, high = self.total()
        return {
            "what": self.what,
            "official_count": self.official,
            "official_source": self.official_source,
            "documented_count": self.documented,
            "estimated_total": None if median is None else {"median": median, "low": low, "high": high},
            "linkage_threshold": self.threshold,
            "strata": self.strata,
            "lists": self.lists,
            "by_stratum": [
                {
                    "stratum": s.stratum,
                    "documented": s.documented,
                    "estimate": s.result.to_dict() if s.result is not None else None,
                    "note": s.note,
                }
                for s in self.by_stratum
            ],
            "sensitivity": [vars(r) for r in self.sensitivity],
            "settings": {"seed": self.seed, "method": self.method},
            "assumptions": list(COMMON_ASSUMPTIONS),
        }

    def to_text(self) -> str:
        median, low, high = self.total()
        estimated = "not estimated"
        if median is not None:
            estimated = f"{median:,.0f}  (95% interval {low:,.0f} to {high:,.0f})"
        lines = [
            f"{self.what}: three figures, never one",
            f"  official count:   {self.official if self.official is not None else 'none given'}"
            + (f"  ({self.official_source})" if self.official is not None else ""),
            f"  documented count: {self.documented}  (linked persons on at least one list,"
            f" at match probability {self.threshold:g})",
            f"  estimated total:  {estimated}" + ("  (summed over strata)" if len(self.by_stratum) > 1 else ""),
            "",
        ]
        for s in self.by_stratum:
            if len(self.by_stratum) > 1 or s.result is None:
                lines.append(f"stratum {s.stratum}: {s.documented} documented" + (f"  ({s.note})" if s.note else ""))
            if s.result is not None:
                lines += [("  " if len(self.by_stratum) > 1 else "") + line for line in s.result.to_text().splitlines()]
        if all(s.result is None for s in self.by_stratum):
            lines += ["Assumptions", *(f"  - {a}" for a in COMMON_ASSUMPTIONS)]
        if self.sensitivity:
            lines += [
                "",
                "Sensitivity to the linkage threshold (log-linear, AIC-averaged): missed links raise the estimate,"
                " false merges lower it",
            ]
            for r in self.sensitivity:
                fig = f"{r.median:,.0f} ({r.low:,.0f} to {r.high:,.0f})" if r.median is not None else r.note or "-"
                lines.append(f"  at {r.threshold:g}: documented {r.documented}, estimated {fig}")
        return "\n".join(lines) + "\n"


def _figures(result: estimation.Estimate | None) -> tuple[float, float, float] | None:
    """(median, low, high) of an estimation result, the latent-class figures first where both were made."""
    if result is None:
        return None
    total = result.total
    if total is None:
        return None
    return float(total.estimate), float(total.lower), float(total.upper if total.upper is not None else "inf")


def _official(case: Case, what: str) -> tuple[int | None, str]:
    from factfinder.findings import store as findings_store

    table = findings_store.findings(case).counts.get(_COUNTED.get(what, what))
    if table is None or not table.official_history:
        return None, ""
    latest = table.official_history[-1]
    return latest.low, f"{latest.source.name}, {latest.reported_on.isoformat()}"


def _estimate(
    rows: Sequence[frozenset[str]], names: Sequence[str], *, method: str, seed: int, official: int | None = None
) -> tuple[estimation.Estimate | None, str]:
    on = sorted({n for r in rows for n in r})
    if len(rows) < MIN_PERSONS:
        return None, f"fewer than {MIN_PERSONS} persons: too few to estimate from"
    if len(on) < 2:
        return None, "one list only: an estimate needs the overlap of two lists or more"
    table = estimation.OverlapTable.from_records(rows, lists=[n for n in names if n in on])
    return estimation.estimate(table, method=checked_method(method), seed=seed, official_count=official), ""


def checked_method(method: str) -> Method:
    """``method`` as the estimation package takes it, or a clear error."""
    if method not in METHODS:
        raise store.PersonsError(f"method: one of {', '.join(METHODS)}")
    return cast(Method, method)


def estimate_case(
    case: Case,
    *,
    what: str = "killed",
    strata: Sequence[str] = (),
    method: str = "both",
    seed: int = 1,
    official: int | None = None,
    sensitivity: bool = True,
    threshold: float | None = None,
) -> CaseEstimate:
    """The official, documented and estimated figures for ``what`` in the case's register."""
    if what not in STATUSES:
        raise store.PersonsError(f"what: one of {', '.join(STATUSES)}")
    checked_method(method)
    reg = store.register(case, threshold=threshold)
    names = [x.name for x in reg.lists]
    by = store.overlap_rows(reg, what=what, strata=strata)
    documented = sum(len(v) for v in by.values())
    recorded = {n: 0 for n in names}
    for rows in by.values():
        for r in rows:
            for n in r:
                recorded[n] += 1
    if official is not None:
        official_source = "given by the user"
    else:
        official, official_source = _official(case, what)
    stratum_estimates = []
    for key in sorted(by):
        # The official count is for everyone: it goes beside the estimate only when there are no strata.
        result, note = _estimate(by[key], names, method=method, seed=seed, official=None if strata else official)
        stratum_estimates.append(StratumEstimate(key, len(by[key]), result, note))
    rows_out = []
    if sensitivity:
        for t in SENSITIVITY_THRESHOLDS:
            at = store.register(case, threshold=t)
            all_rows = [r for rows in store.overlap_rows(at, what=what).values() for r in rows]
            # Log-linear, model-averaged: a second each, where the latent-class sampler takes tens of seconds;
            # the table shows which way and how far the threshold moves the estimate, not the estimate itself.
            result, note = _estimate(all_rows, names, method="loglinear", seed=seed)
            fig = _figures(result)
            median, low, high = fig if fig is not None else (None, None, None)
            rows_out.append(SensitivityRow(t, len(all_rows), median, low, high, note=note))
    return CaseEstimate(
        what=what,
        strata=list(strata),
        threshold=reg.threshold,
        official=official,
        official_source=official_source,
        documented=documented,
        lists=[{"name": x.name, "source_type": x.source_type, "recorded": recorded.get(x.name, 0)} for x in reg.lists],
        by_stratum=stratum_estimates,
        sensitivity=rows_out,
        seed=seed,
        method=method,
    )
