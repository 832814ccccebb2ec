"""LCMCR (Bayesian latent-class capture-recapture) on the Kosovo 1999 lists: time per iteration and estimate.

Baseline: the R package LCMCR (Manrique-Vallier's C++ Gibbs sampler, GSL random numbers) is reported to take
about 6-7 s for 100,000 burn-in + 5,000 iterations on these lists at K = 10, about 60 us per iteration. R is
not installed here, so that figure is quoted, not measured: compare per-iteration costs, not wall times.
(lcmCR_PostSampl's default thinning is 10; if the published 5,000 draws were thinned so, the run was 150,000
iterations and the R cost is nearer 43 us per iteration: both are printed.)

Measured here, in the same run, on the same table:
- one chain, as R runs it: burn-in + draws iterations, us per iteration;
- four chains side by side in the same array operations (the package default), us per iteration of all four
  and per chain-iteration, and the posterior median and 95 % interval of N pooled over the four chains, with
  R-hat and effective sample size.

    .venv/bin/python benchmarks/lcmcr.py [--burn-in 10000] [--draws 5000] [--thin 1] [--chains 4] [--full]
        [--seed 1] [--json PATH]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._common import REPO, Figure, Report, machine

KOSOVO = Path(REPO.parent / "shared" / "testdata" / "mse" / "kosovo_1999_four_lists.csv")
R_SECONDS = 6.5  # R package LCMCR, 100,000 + 5,000 iterations, K = 10 (published figure, midpoint of 6-7 s)
R_ITERATIONS = 105_000
R_ITERATIONS_THINNED = 150_000  # if the 5,000 draws were kept 1 in 10 (lcmCR_PostSampl's default)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--burn-in", type=int, default=10_000)
    p.add_argument("--draws", type=int, default=5_000)
    p.add_argument("--thin", type=int, default=1)
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--full", action="store_true", help="100,000 burn-in, as the published run")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", type=Path)
    p.add_argument("--quick", action="store_true", help="1,000 burn-in + 500 draws, a smoke test")
    p.add_argument("--clean", action="store_true", help="(run_all passes it; nothing is left behind)")
    args = p.parse_args(argv)
    if args.quick:
        args.burn_in, args.draws = 1_000, 500
    burn_in = 100_000 if args.full else args.burn_in

    from factfinder.findings.estimation import OverlapTable, fit_lcmcr

    table = OverlapTable.read_csv(KOSOVO)
    m = machine()
    print(f"LCMCR on the Kosovo lists ({table.documented:,} documented, {len(table.observed()[1])} patterns), K=10")
    print(f"  machine: {m['cpus']} CPUs, {m['cpu']}, Python {m['python']}")
    report = Report("lcmcr")
    iterations = burn_in + args.draws * args.thin

    one = fit_lcmcr(table, K=10, burn_in=burn_in, draws=args.draws, thin=args.thin, chains=1, seed=args.seed)
    us_one = one.seconds / iterations * 1e6
    report.add(Figure(f"1 chain, {iterations:,} iterations", one.seconds, us_one, "us/iteration"))

    many = fit_lcmcr(table, K=10, burn_in=burn_in, draws=args.draws, thin=args.thin, chains=args.chains, seed=args.seed)
    us_many = many.seconds / iterations * 1e6
    report.add(
        Figure(
            f"{args.chains} chains side by side, {iterations:,} iterations each",
            many.seconds,
            us_many / args.chains,
            "us/chain-iteration",
            note=f"{us_many:,.0f} us per iteration of all {args.chains}",
        )
    )
    r_us = R_SECONDS / R_ITERATIONS * 1e6
    r_us_thinned = R_SECONDS / R_ITERATIONS_THINNED * 1e6
    print(f"  {'baseline: R package LCMCR (published, not run here)':<52} {r_us:9.1f} us/iteration")
    print(f"  {'  (if its 5,000 draws were thinned by 10)':<52} {r_us_thinned:9.1f} us/iteration")
    report.ratio("1 chain / R per iteration", us_one / r_us, 5.0)
    report.ratio(f"{args.chains} chains, per chain-iteration / R", us_many / args.chains / r_us, 2.0)
    lo, hi = many.interval
    d = many.diagnostics
    report.note(
        f"posterior median {many.median:,.0f}, 95% interval {lo:,.0f} to {hi:,.0f} "
        f"(published: about 10,350, 8,600 to 13,700); seed {args.seed}, {args.chains} chains x "
        f"({burn_in:,} burn-in + {args.draws:,} draws, thin {args.thin})"
    )
    report.note(f"R-hat {d.rhat:.3f}, effective sample size {d.ess:,.0f}; {'; '.join(d.warnings) or 'no warnings'}")
    lo1, hi1 = one.interval
    report.note(f"1 chain: median {one.median:,.0f}, 95% interval {lo1:,.0f} to {hi1:,.0f}")
    report.write(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
