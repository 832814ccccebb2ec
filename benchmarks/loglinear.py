"""Log-linear capture-recapture on the Kosovo 1999 lists: all 64 two-way models, their time and estimates.

Measured in the same run:
- baseline: the 64 bare statsmodels Poisson GLM fits of the 15 observed cells, reading each fit's
  coefficients, standard errors and AIC (the floor of any estimate with an interval and a model choice
  from that library);
- ``fit_all`` without profile intervals: the same fits plus AIC/BIC, Wald intervals, guards, selection and
  model averaging;
- ``fit_all`` as ``estimate`` runs it, with the profile-likelihood intervals of the AIC- and BIC-selected
  models (about a hundred more fits each).

And the estimates next to the published ones (independence 7,395; best AIC 14,342, Wald 12,541 to 16,540).

    .venv/bin/python benchmarks/loglinear.py [--repeat 5] [--json PATH]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._common import REPO, Figure, Report, machine

KOSOVO = Path(REPO.parent / "shared" / "testdata" / "mse" / "kosovo_1999_four_lists.csv")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeat", type=int, default=5, help="best of this many runs")
    p.add_argument("--json", type=Path)
    p.add_argument("--quick", action="store_true", help="one run instead of the best of --repeat")
    p.add_argument("--clean", action="store_true", help="(run_all passes it; nothing is left behind)")
    args = p.parse_args(argv)
    if args.quick:
        args.repeat = 1

    import statsmodels.api as sm

    from factfinder.findings.estimation import OverlapTable, fit_all, hierarchical_models
    from factfinder.findings.estimation.loglinear import design_matrix

    table = OverlapTable.read_csv(KOSOVO)
    m = machine()
    print(f"log-linear models on the Kosovo lists ({table.documented:,} documented, 4 lists)")
    print(f"  machine: {m['cpus']} CPUs, {m['cpu']}, Python {m['python']}")
    report = Report("loglinear")
    models = hierarchical_models(table.lists)
    y = table.counts.astype(float)
    designs = [design_matrix(table, terms) for terms in models]

    def best(fn: object) -> float:
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            fn()  # type: ignore[operator]
            times.append(time.perf_counter() - t)
        return min(times)

    def bare_fits() -> None:
        for x in designs:
            fit = sm.GLM(y, x, family=sm.families.Poisson()).fit()
            _ = (fit.params, fit.bse, fit.aic)

    bare = best(bare_fits)
    report.add(
        Figure(f"baseline: {len(models)} bare GLM fits (+ params, se, AIC)", bare, len(models) / bare, "models/s")
    )
    plain = best(lambda: fit_all(table, profile=False))
    report.add(Figure(f"fit_all, {len(models)} models, no profile intervals", plain, len(models) / plain, "models/s"))
    full = best(lambda: fit_all(table))
    report.add(Figure("fit_all with profile-likelihood intervals", full))
    report.ratio("fit_all / bare fits", plain / bare, 1.5)

    result = fit_all(table)
    sel = result.selected
    assert sel is not None and sel.wald is not None and sel.estimate is not None
    report.note(f"independence: {result.model().estimate:,.1f} (published 7,395)")
    report.note(
        f"best AIC: {sel.name}: {sel.estimate:,.2f} (published 14,342; Rcapture 14,341.66), "
        f"Wald {sel.wald.lower:,.0f} to {sel.wald.upper:,.0f} (published 12,541 to 16,540)"
    )
    if sel.profile is not None and sel.profile.upper is not None:
        report.note(f"best AIC, profile likelihood: {sel.profile.lower:,.0f} to {sel.profile.upper:,.0f}")
    for avg in (result.aic_average, result.bic_average):
        if avg is not None and avg.interval.upper is not None:
            report.note(
                f"{avg.criterion.upper()}-averaged: {avg.estimate:,.0f} "
                f"({avg.interval.lower:,.0f} to {avg.interval.upper:,.0f})"
            )
    report.write(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
