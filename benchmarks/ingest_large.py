"""Ingest of large files against the physical floor, measured in the same run.

Why: an investigator copying a USB stick of videos should wait about as long
as the disk needs, not longer. The floor is the larger of two things any
intake must do at least: hash every byte (``sha256sum`` over the files) and
write every byte durably (``dd ... conv=fsync``). factfinder does both, plus
its database and log, so the goal is at most 1.2x that floor, which is only
possible when hashing and writing overlap instead of adding up.

The ingest is timed through the ``factfinder add`` command in a subprocess,
into a fresh case made by ``factfinder init`` (not timed): interpreter start,
imports, the progress bar, the database commits and checkpoints are all part
of what a person waits for. When run as root the page cache is dropped before
each measurement, so every one of them reads the files from disk; otherwise
the caches are warm and the script says so.

The test files (random bytes, 20-200 MB each, at least 2 GiB in all) are made
once under ``--workdir`` and reused by later runs with the same settings;
``--clean`` removes them afterwards.

    .venv/bin/python benchmarks/ingest_large.py [--quick] [--clean]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    DEFAULT_WORKDIR,
    MB,
    Figure,
    Report,
    can_drop_caches,
    case_item_count,
    dir_size,
    drop_caches,
    factfinder_cmd,
    header,
    new_case,
    run,
    timed,
)

GOAL_RATIO = 1.2
WRITE_CHUNK = 4 * 1024 * 1024


def make_files(data: Path, total_bytes: int, min_mb: int, max_mb: int, seed: int) -> list[Path]:
    """Random files of ``min_mb``-``max_mb`` MB until ``total_bytes``; reused when already made alike."""
    manifest = data / "manifest.json"
    wanted = {"total_bytes": total_bytes, "min_mb": min_mb, "max_mb": max_mb, "seed": seed}
    if manifest.is_file():
        known = json.loads(manifest.read_text())
        files = [data / name for name in known.get("files", [])]
        if known.get("params") == wanted and all(f.is_file() for f in files):
            return files
    if data.exists():
        shutil.rmtree(data)
    files_dir = data / "files"
    files_dir.mkdir(parents=True)
    rng = random.Random(seed)
    files, made = [], 0
    while made < total_bytes:
        size = rng.randint(min_mb * MB, max_mb * MB)
        path = files_dir / f"video-{len(files):03d}.bin"
        with open(path, "wb") as fh:
            left = size
            while left:
                n = min(left, WRITE_CHUNK)
                fh.write(os.urandom(n))  # incompressible, like video
                left -= n
        files.append(path)
        made += size
    manifest.write_text(json.dumps({"params": wanted, "files": [str(f.relative_to(data)) for f in files]}))
    return files


def sha256sum(files: list[Path]) -> None:
    run(["sha256sum", *map(str, files)])


def dd_copy(files: list[Path], out: Path) -> None:
    """A plain copy of every file, each made durable with fsync before the next starts."""
    out.mkdir(parents=True, exist_ok=True)
    for f in files:
        run(["dd", f"if={f}", f"of={out / f.name}", "bs=4M", "conv=fsync", "status=none"])


def ingest(files_dir: Path, case: Path) -> None:
    run(factfinder_cmd("add", str(case), str(files_dir), "--actor", "bench"), stdin=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR / "large")
    p.add_argument("--total-mb", type=int, default=2148, help="at least this many MB of files (default: 2 GiB)")
    p.add_argument("--min-mb", type=int, default=20)
    p.add_argument("--max-mb", type=int, default=200)
    p.add_argument("--seed", type=int, default=9162)
    p.add_argument("--quick", action="store_true", help="about 400 MB in 20-60 MB files, for a smoke test")
    p.add_argument("--repeat", type=int, default=1, help="measure each thing this many times; report the best")
    p.add_argument("--clean", action="store_true", help="remove the test files at the end")
    p.add_argument("--json", type=Path, help="also write the figures here")
    args = p.parse_args(argv)
    if args.quick:
        args.total_mb, args.min_mb, args.max_mb = 400, 20, 60

    cold = can_drop_caches()
    header("Ingest of large files", cold)
    data = args.workdir / "data"
    files = make_files(data, args.total_mb * MB, args.min_mb, args.max_mb, args.seed)
    total = sum(f.stat().st_size for f in files)
    report = Report("ingest_large")
    print(f"  {len(files)} files, {total / MB:,.0f} MB ({total / 2**30:.2f} GiB) in {data / 'files'}", flush=True)
    if not cold:
        report.note("not root: page cache stays warm, so reads come from memory")

    copy_out = args.workdir / "dd-out"
    case = args.workdir / "case"
    best: dict[str, float] = {}
    for _ in range(args.repeat):
        drop_caches()
        t = timed(lambda: sha256sum(files))
        best["sha256sum"] = min(best.get("sha256sum", t), t)
        drop_caches()
        t = timed(lambda: dd_copy(files, copy_out))
        best["dd"] = min(best.get("dd", t), t)
        shutil.rmtree(copy_out)
        new_case(case)
        drop_caches()
        t = timed(lambda: ingest(data / "files", case))
        best["ingest"] = min(best.get("ingest", t), t)
        items = case_item_count(case)
        stored = dir_size(case / "blobs")
        if items != len(files) or stored != total:
            raise SystemExit(f"ingest incomplete: {items} items, {stored} bytes stored")
        shutil.rmtree(case)

    mbs = total / MB
    report.add(Figure("sha256sum over the files", best["sha256sum"], mbs / best["sha256sum"], "MB/s"))
    report.add(Figure("dd bs=4M conv=fsync, file by file", best["dd"], mbs / best["dd"], "MB/s"))
    floor = max(best["sha256sum"], best["dd"])
    report.add(Figure("floor = max(sha256sum, dd)", floor, mbs / floor, "MB/s"))
    report.add(Figure("factfinder add (CLI, fresh case)", best["ingest"], mbs / best["ingest"], "MB/s"))
    report.ratio("ingest / floor", best["ingest"] / floor, GOAL_RATIO)
    report.ratios["ingest / dd alone"] = best["ingest"] / best["dd"]
    print(f"  {'ingest / dd alone (for reference)':<52} {best['ingest'] / best['dd']:9.2f}x", flush=True)
    report.write(args.json)
    if args.clean:
        shutil.rmtree(args.workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
