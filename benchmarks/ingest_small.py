"""Ingest of many small items (20,000 files of 1-4 KB, like typed testimonies), in items per second.

Why: a channel such as SMS or a web form delivers thousands of tiny items, and
their cost is not bytes but per-item work: a durable file (fsync of the file
and of its folder), a database row, a custody entry. The goal is at least
2,000 items/s on the 2-core reference machine.

Two baselines are measured in the same run, on the same files, to show what
the machine allows:

- *read and hash*: open, read and SHA-256 every file in a plain Python loop
  (what it costs to look at each item once);
- *durable copy*: for each file, write it to a temporary name, ``fsync`` it,
  rename it into place and ``fsync`` the folder, in a plain loop (the
  durability contract the vault keeps, without anything else).

The ingest itself is ``factfinder add`` run as a subprocess into a fresh case
(made by ``factfinder init``, not timed), so interpreter start, imports,
database commits and signed checkpoints count, as they do for a person. As
root the page cache is dropped before each measurement.

    .venv/bin/python benchmarks/ingest_small.py [--quick] [--clean]
"""

from __future__ import annotations

import argparse
import hashlib
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
    Figure,
    Report,
    can_drop_caches,
    case_item_count,
    drop_caches,
    factfinder_cmd,
    header,
    new_case,
    run,
    timed,
)

GOAL_ITEMS_PER_SECOND = 2000
FILES_PER_FOLDER = 1000
WORDS = [
    "the",
    "police",
    "fired",
    "on",
    "strikers",
    "square",
    "december",
    "night",
    "town",
    "sealed",
    "phone",
    "cut",
    "men",
    "without",
    "uniform",
    "took",
    "my",
    "brother",
    "from",
    "our",
    "house",
    "we",
    "saw",
    "bodies",
    "near",
    "the",
    "akimat",
    "nobody",
    "came",
    "ambulance",
    "hospital",
    "morning",
    "soldiers",
    "road",
    "block",
    "witness",
    "video",
    "fear",
    "names",
    "counted",
    "ten",
    "eleven",
    "sixteen",
    "more",
    "than",
    "seventy",
    "wounded",
    "oil",
    "workers",
    "mangystau",
    "camera",
    "phone",
    "mother",
    "father",
    "neighbour",
    "street",
    "market",
    "fire",
    "smoke",
    "shots",
]


def testimony(rng: random.Random, size: int) -> bytes:
    """Text-like bytes of exactly ``size`` bytes, each file different."""
    words: list[str] = []
    length = 0
    while length < size:
        w = rng.choice(WORDS)
        words.append(w)
        length += len(w) + 1
    return (" ".join(words) + "\n").encode()[:size]


def make_files(data: Path, count: int, seed: int) -> list[Path]:
    """``count`` files of 1-4 KB in folders of 1000; reused when already made alike."""
    manifest = data / "manifest.json"
    wanted = {"count": count, "seed": seed}
    files_dir = data / "files"
    names = [files_dir / f"batch-{i // FILES_PER_FOLDER:03d}" / f"testimony-{i:06d}.txt" for i in range(count)]
    if manifest.is_file() and json.loads(manifest.read_text()) == wanted and all(f.is_file() for f in names):
        return names
    if data.exists():
        shutil.rmtree(data)
    rng = random.Random(seed)
    for path in names:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(testimony(rng, rng.randint(1024, 4096)))
    os.sync()
    manifest.write_text(json.dumps(wanted))
    return names


def read_and_hash(files: list[Path]) -> None:
    for f in files:
        with open(f, "rb") as fh:
            hashlib.sha256(fh.read()).digest()


def durable_copy(files: list[Path], out: Path) -> None:
    """Write each file durably the way the blob store must: temp, fsync, rename, fsync folder."""
    out.mkdir(parents=True, exist_ok=True)
    folder = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for i, f in enumerate(files):
            with open(f, "rb") as fh:
                data = fh.read()
            tmp = out / f"{i}.part"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, out / str(i))
            os.fsync(folder)
    finally:
        os.close(folder)


def ingest(files_dir: Path, case: Path) -> None:
    run(factfinder_cmd("add", str(case), str(files_dir), "--actor", "bench"), stdin=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR / "small")
    p.add_argument("--count", type=int, default=20_000)
    p.add_argument("--seed", type=int, default=6962)
    p.add_argument("--quick", action="store_true", help="2,000 files, for a smoke test")
    p.add_argument("--repeat", type=int, default=1, help="measure each thing this many times; report the best")
    p.add_argument("--clean", action="store_true", help="remove the test files at the end")
    p.add_argument("--json", type=Path, help="also write the figures here")
    args = p.parse_args(argv)
    if args.quick:
        args.count = 2000

    cold = can_drop_caches()
    header("Ingest of many small items", cold)
    data = args.workdir / "data"
    files = make_files(data, args.count, args.seed)
    n = len(files)
    total = sum(f.stat().st_size for f in files)
    print(f"  {n:,} files, {total / 1e6:,.1f} MB in {data / 'files'}", flush=True)
    report = Report("ingest_small")
    if not cold:
        report.note("not root: page cache stays warm, so reads come from memory")

    out = args.workdir / "copy-out"
    case = args.workdir / "case"
    best: dict[str, float] = {}
    for _ in range(args.repeat):
        drop_caches()
        t = timed(lambda: read_and_hash(files))
        best["hash"] = min(best.get("hash", t), t)
        drop_caches()
        t = timed(lambda: durable_copy(files, out))
        best["copy"] = min(best.get("copy", t), t)
        shutil.rmtree(out)
        new_case(case)
        drop_caches()
        t = timed(lambda: ingest(data / "files", case))
        best["ingest"] = min(best.get("ingest", t), t)
        items = case_item_count(case)
        if items != n:
            raise SystemExit(f"ingest incomplete: {items} of {n} items")
        shutil.rmtree(case)

    report.add(Figure("baseline: read + sha256 each file (1 thread)", best["hash"], n / best["hash"], "items/s"))
    report.add(Figure("baseline: durable copy, file by file (1 thread)", best["copy"], n / best["copy"], "items/s"))
    rate = n / best["ingest"]
    report.add(Figure("factfinder add (CLI, fresh case)", best["ingest"], rate, "items/s"))
    report.ratios["ingest / durable copy"] = best["ingest"] / best["copy"]
    print(f"  {'ingest time / durable copy time':<52} {best['ingest'] / best['copy']:9.2f}x", flush=True)
    report.goal("items per second", rate, GOAL_ITEMS_PER_SECOND, "items/s", at_most=False)
    report.write(args.json)
    if args.clean:
        shutil.rmtree(args.workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
