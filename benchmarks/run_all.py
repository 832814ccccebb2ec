"""Run every benchmark, one after the other, and summarise which goals were met.

Why one after the other, each in its own process: the benchmarks share the
disk and the two cores, so running them together would make each one measure
the others; a fresh interpreter each keeps one's memory and caches out of the
next one's figures.

    .venv/bin/python benchmarks/run_all.py            # full sizes (several minutes, ~5 GB of disk)
    .venv/bin/python benchmarks/run_all.py --quick    # small sizes, a smoke test (under a minute)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = (
    "ingest_large",
    "ingest_small",
    "custody_log",
    "web_submit",
    "search",
    "media_images",
    "media_video",
    "media_index",
    "media_robustness",
    "text_code",
    "report",
    "findings",
    "linkage",
    "lcmcr",
    "loglinear",
    "sync",
    "openrosa",
)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    p.add_argument("--only", choices=BENCHMARKS, action="append", help="run only these (repeatable)")
    p.add_argument("--keep", action="store_true", help="keep the generated test files for the next run")
    args = p.parse_args(argv)

    summary: dict[str, dict[str, bool]] = {}
    with tempfile.TemporaryDirectory(prefix="factfinder-bench-json-") as tmp:
        for name in args.only or BENCHMARKS:
            out = Path(tmp) / f"{name}.json"
            cmd = [sys.executable, str(HERE / f"{name}.py"), "--json", str(out)]
            if args.quick:
                cmd.append("--quick")
            if not args.keep and name != "custody_log":
                cmd.append("--clean")
            print(f"$ {' '.join(cmd[1:])}", flush=True)
            code = subprocess.call(cmd)
            print(flush=True)
            if code != 0 or not out.is_file():
                summary[name] = {"ran": False}
                continue
            summary[name] = json.loads(out.read_text())["goals"]
    print("Goals:")
    ok = True
    for name, goals in summary.items():
        for goal, met in goals.items():
            ok &= met
            print(f"  {name:<14} {goal:<52} {'met' if met else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
