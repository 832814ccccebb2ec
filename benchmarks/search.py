"""Full-text search over 200,000 testimonies: p95 query latency (goal: under 50 ms).

The testimonies are generated from the words of the founding corpus (English
and Russian, ../shared/testdata/corpus), recorded through the vault as real
items (blobs, receipts, custody entries) and indexed by the pipeline, as
`factfinder serve` would. Queries are one or two words drawn from the same
vocabulary, rare and common alike.

Measured: the item-list query the web page and the API run (search, filters,
ordering, one page of results with receipt counts), and as its baseline the
bare FTS5 MATCH on the same database in the same run.

    .venv/bin/python benchmarks/search.py [--items 200000] [--queries 300]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import re
import shutil
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._common import DEFAULT_WORKDIR, Figure, Report

TESTDATA = Path(os.environ.get("FACTFINDER_TESTDATA", Path(__file__).resolve().parents[2] / "shared" / "testdata"))


def _vocabulary(rng: random.Random, size: int = 30_000) -> list[str]:
    """The corpus's own words, then made-up words from its syllables up to a natural vocabulary size.

    One short corpus has a few hundred words; real testimony across 200,000
    people uses tens of thousands, and how often a query word occurs is what
    decides a full-text query's cost.
    """
    words: list[str] = []
    for path in sorted((TESTDATA / "corpus").glob("*.txt")):
        text = path.read_text(encoding="utf-8", errors="replace")
        words += [w.lower() for w in re.findall(r"\w{3,}", text)]
    vocab = list(dict.fromkeys(words))
    syllables = sorted({w[i : i + 2] for w in vocab for i in range(0, len(w) - 1, 2)})
    seen = set(vocab)
    while len(vocab) < size:
        word = "".join(rng.choices(syllables, k=rng.randint(2, 5)))
        if word not in seen:
            seen.add(word)
            vocab.append(word)
    return vocab


def _build(case_dir: Path, n: int, vocab: list[str], rng: random.Random) -> float:
    from factfinder import pipeline
    from factfinder.vault.case import Case, NewReceipt

    case, _ = Case.init(case_dir, "search benchmark", actor="bench")
    weights = [1 / (i + 1) for i in range(len(vocab))]  # Zipf: a few words common, most rare
    t0 = time.perf_counter()
    with case:
        for start in range(0, n, 2000):
            batch = []
            for i in range(start, min(n, start + 2000)):
                words = rng.choices(vocab, weights, k=rng.randint(40, 160))
                text = f"Testimony {i}. " + " ".join(words) + ".\n"
                blob = case.blobs.put_file(io.BytesIO(text.encode()), defer_sync=True)  # synced per batch
                batch.append(NewReceipt(blob=blob, channel="web", source="generated", media_type="text/plain"))
            case.record(batch, actor="bench")
        pipeline.index_items(case)
    return time.perf_counter() - t0


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--items", type=int, default=200_000)
    p.add_argument("--queries", type=int, default=300)
    p.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    p.add_argument("--json", type=Path, help="also write the figures here (for run_all.py)")
    p.add_argument("--clean", action="store_true", help="delete the generated case afterwards")
    p.add_argument("--quick", action="store_true", help="20,000 items")
    p.add_argument("--rebuild", action="store_true", help="regenerate the case even if one of this size exists")
    args = p.parse_args(argv)
    if args.quick:
        args.items = 20_000
    rng = random.Random(2011)
    vocab = _vocabulary(rng)
    report = Report("search")
    case_dir = args.workdir / f"search-case-{args.items}"
    print(f"full-text search: {args.items:,} testimonies, vocabulary of {len(vocab):,} words")
    if args.rebuild or not (case_dir / "case.json").exists():
        shutil.rmtree(case_dir, ignore_errors=True)
        args.workdir.mkdir(parents=True, exist_ok=True)
        seconds = _build(case_dir, args.items, vocab, rng)
        report.add(Figure("build: record + index", seconds, args.items / seconds, "items/s"))

    from factfinder import browse
    from factfinder.vault.case import Case

    weights = [1 / (i + 1) for i in range(len(vocab))]
    queries = [" ".join(rng.choices(vocab, weights, k=rng.choice((1, 1, 2)))) for _ in range(args.queries)]
    raw = sqlite3.connect(case_dir / "factfinder.sqlite")
    base_times: list[float] = []
    for q in queries:
        fts = " ".join(f'"{w}"' for w in q.split())
        t0 = time.perf_counter()
        raw.execute(
            "SELECT rowid FROM item_texts_fts WHERE item_texts_fts MATCH ? ORDER BY rank LIMIT 500", (fts,)
        ).fetchall()
        base_times.append(time.perf_counter() - t0)
    raw.close()
    with Case.open(case_dir) as case:
        times: list[float] = []
        hits = 0
        for q in queries:
            t0 = time.perf_counter()
            listing = browse.list_items(case, browse.Filters(q=q))
            times.append(time.perf_counter() - t0)
            hits += listing.total > 0
    report.add(Figure("baseline: bare FTS5 MATCH, p95", _p(base_times, 0.95)))
    report.add(Figure("item search as the page runs it, p50", _p(times, 0.5)))
    report.add(Figure("item search as the page runs it, p95", _p(times, 0.95)))
    report.add(Figure("item search as the page runs it, p99", _p(times, 0.99)))
    report.note(f"{hits} of {len(queries)} queries found something")
    report.goal("p95 query latency", _p(times, 0.95) * 1000, 50, "ms", at_most=True)
    report.write(args.json)
    if args.clean:
        shutil.rmtree(case_dir, ignore_errors=True)
    return 0 if all(report.goals.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
