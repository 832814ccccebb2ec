"""Near-duplicate index at 1,000,000 PDQ hashes: query latency (goal: p95 under 5 ms) and recall (goal: 1.0).

The index holds random 256-bit hashes plus, for each query, one planted near
duplicate at a distance spread over 0..31 bits (31, PDQ's threshold, included).
Random hashes are about 128 bits from everything, so the planted copies are
what a query must find, and every one of them must be found: the search is
exact, and a missed copy would be a missed earliest source.

Measured, all on the same hashes in the same run:
- building the index (added in batches of 100,000, as rows come from the database);
- single-query latency of ``HashIndex.search`` (p50/p95/p99) and the recall of the planted copies;
- one batched call with every query (throughput);
- save and load of the index file, and its size.
Baselines: a NumPy scan (xor + ``np.bitwise_count`` over the hashes as 64-bit words, the fastest NumPy has) for
a few queries, and a bare FAISS ``IndexBinaryFlat.range_search`` (one index, no shards) with one OpenMP thread
and with OpenMP's default.

    .venv/bin/python benchmarks/media_index.py [--hashes 1000000] [--queries 1000] [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._common import DEFAULT_WORKDIR, MB, Figure, Report, machine

if TYPE_CHECKING:
    from factfinder.media.index import HashIndex

RADIUS = 31
BATCH = 100_000


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _cpu_pressure() -> tuple[float, int] | None:
    """(now, microseconds some runnable task waited for a CPU) from Linux PSI: how busy the machine was."""
    try:
        first = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except (OSError, IndexError):
        return None
    return time.monotonic(), int(first.rsplit("total=", 1)[1])


def _flip(code: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """A copy of one hash with exactly ``k`` distinct bits flipped."""
    bits = np.unpackbits(code)
    bits[rng.choice(256, size=k, replace=False)] ^= 1
    return np.packbits(bits)


def _data(
    n: int, queries: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """(ids, codes, query codes, (row id, distance) of each query's planted copy), the copies scattered."""
    q = rng.integers(0, 256, (queries, 32), dtype=np.uint8)
    distances = [i % (RADIUS + 1) for i in range(queries)]  # 0..31 evenly, 31 included
    planted = np.array([_flip(q[i], distances[i], rng) for i in range(queries)])
    codes = rng.integers(0, 256, (n + queries, 32), dtype=np.uint8)
    where = rng.choice(n + queries, size=queries, replace=False)
    codes[where] = planted
    ids = np.arange(1, n + queries + 1, dtype=np.int64)
    return ids, codes, q, [(int(ids[w]), d) for w, d in zip(where, distances, strict=True)]


def _numpy_scan(words: np.ndarray, ids: np.ndarray, query: np.ndarray) -> list[tuple[int, int]]:
    """The baseline: every hash's Hamming distance to ``query`` by xor + popcount, then the matches."""
    d = np.bitwise_count(np.bitwise_xor(words, query.view(np.uint64))).sum(axis=1, dtype=np.int64)
    hit = np.flatnonzero(d <= RADIUS)
    return sorted(((int(ids[i]), int(d[i])) for i in hit), key=lambda r: (r[1], r[0]))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--hashes", type=int, default=1_000_000, help="random hashes (planted copies come on top)")
    p.add_argument("--queries", type=int, default=1000, help="queries, each with one planted copy")
    p.add_argument("--baseline-queries", type=int, default=20)
    p.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    p.add_argument("--json", type=Path, help="also write the figures here (for run_all.py)")
    p.add_argument("--clean", action="store_true", help="delete the saved index file afterwards")
    p.add_argument("--quick", action="store_true", help="100,000 hashes")
    args = p.parse_args(argv)
    if args.quick:
        args.hashes = 100_000

    import faiss

    from factfinder.media.index import HashIndex, spare_cpu, usable_cpus

    m = machine()
    rep = Report("media_index")
    total = args.hashes + args.queries
    print(
        f"near-duplicate index: {args.hashes:,} random hashes + {args.queries:,} planted copies at 0..{RADIUS} bits\n"
        f"  machine: {m['cpus']} CPUs ({usable_cpus()} usable), {m['cpu']}, Python {m['python']}, "
        f"FAISS {faiss.__version__}",
        flush=True,
    )
    rng = np.random.default_rng(2011)
    ids, codes, queries, planted = _data(args.hashes, args.queries, rng)

    t0 = time.perf_counter()
    index = HashIndex.empty()
    for start in range(0, total, BATCH):
        index.add(ids[start : start + BATCH], codes[start : start + BATCH])
    build = time.perf_counter() - t0
    rep.add(Figure("build: HashIndex.add in batches of 100,000", build, total / build, "hashes/s"))

    # Baselines first, on the same hashes.
    words = codes.view(np.uint64)
    nb = min(args.baseline_queries, args.queries)
    base_times: list[float] = []
    base_results = []
    for q in queries[:nb]:
        t0 = time.perf_counter()
        base_results.append(_numpy_scan(words, ids, q))
        base_times.append(time.perf_counter() - t0)
    value = _p(base_times, 0.5)
    rep.add(Figure(f"baseline: NumPy xor+popcount scan, p50 ({nb} queries)", value, note=_ms(value)))

    # Single queries: the index and the bare one-thread FAISS baseline interleaved, query by query, in
    # rotating order, so that other load on the machine falls on both alike. FAISS with its default OpenMP
    # threads is timed on its own afterwards: OpenMP's idle threads spin for a while after each query, and
    # interleaved they would take the second core from the index's shard thread (measured: p95 2.98 ms
    # alone, 6.6-7.2 ms interleaved).
    flat = faiss.IndexBinaryFlat(256)
    flat.add(codes)
    default_threads = faiss.omp_get_max_threads()
    labels = ("bare1", "index")
    times: dict[str, list[float]] = {k: [] for k in (*labels, "bare")}
    results: list[list[tuple[int, int]]] = []
    pressure = _cpu_pressure()
    spare_before = spare_cpu()
    faiss.omp_set_num_threads(1)  # this (main) thread only
    for i, q in enumerate(queries):
        one = [q.tobytes()]
        for k in labels[i % 2 :] + labels[: i % 2]:
            t0 = time.perf_counter()
            if k == "index":
                results.append(index.search(one, RADIUS)[0])
            else:
                flat.range_search(q[None, :], RADIUS + 1)
            times[k].append(time.perf_counter() - t0)
    pressure_after = _cpu_pressure()
    spare_after = spare_cpu()
    faiss.omp_set_num_threads(default_threads)
    for q in queries:
        t0 = time.perf_counter()
        flat.range_search(q[None, :], RADIUS + 1)
        times["bare"].append(time.perf_counter() - t0)
    del flat
    for k, label in (("bare1", "1 OpenMP thread"), ("bare", f"OpenMP default, {default_threads} threads")):
        for q_, name in ((0.5, "p50"), (0.95, "p95")):
            value = _p(times[k], q_)
            rep.add(Figure(f"baseline: bare FAISS flat, {label}, {name}", value, note=_ms(value)))
    for value, name in (
        (_p(times["index"], 0.5), "p50"),
        (_p(times["index"], 0.95), "p95"),
        (_p(times["index"], 0.99), "p99"),
        (max(times["index"]), "max"),
    ):
        rep.add(Figure(f"HashIndex.search, one query, {name}", value, note=_ms(value)))
    if pressure is not None and pressure_after is not None:
        stalled = (pressure_after[1] - pressure[1]) / 1e6 / max(1e-9, pressure_after[0] - pressure[0])
        rep.note(
            f"CPU pressure (PSI) during the single queries: some task waited for a CPU {stalled:.0%} of the time; "
            f"HashIndex searched shards in parallel: {'yes' if spare_before else 'no'} at the start, "
            f"{'yes' if spare_after else 'no'} at the end"
        )
    rel = _p(times["index"], 0.5) / _p(times["bare1"], 0.5)
    rep.ratios["HashIndex p50 / bare FAISS one thread p50"] = rel
    rep.note(f"HashIndex p50 is {rel:.2f}x that of one bare FAISS scan on one thread (below 1: the shards help)")

    t0 = time.perf_counter()
    batched = index.search(queries, RADIUS)
    seconds = time.perf_counter() - t0
    rep.add(Figure(f"HashIndex.search, {args.queries:,} queries in one call", seconds, args.queries / seconds, "q/s"))

    found = sum(copy in result for copy, result in zip(planted, results, strict=True))
    extra = sum(len(r) for r in results) - found
    recall = found / args.queries
    rep.note(f"planted copies found: {found:,} of {args.queries:,}; other matches within {RADIUS} bits: {extra}")
    if batched != results:
        rep.note("MISMATCH: the batched call answered differently from the single queries")
        recall = min(recall, 0.0)
    agree = sum(results[i] == base_results[i] for i in range(nb))
    rep.note(f"NumPy baseline and HashIndex agree on {agree} of {nb} queries (ids and distances)")
    if agree != nb:
        recall = 0.0
    speedup = _p(base_times, 0.5) / _p(times["index"], 0.5)
    rep.ratios["NumPy scan p50 / HashIndex p50"] = speedup
    rep.note(f"HashIndex is {speedup:.1f}x faster than the NumPy scan (p50, one query)")

    args.workdir.mkdir(parents=True, exist_ok=True)
    path = args.workdir / f"media-index-{total}.index"
    seconds = min(_timed_save(index, path) for _ in range(2))
    size = path.stat().st_size
    rep.add(Figure("save (temp, fsync, rename, fsync folder)", seconds, size / MB / seconds, "MB/s"))
    t0 = time.perf_counter()
    loaded = HashIndex.load(path)
    seconds = time.perf_counter() - t0
    rep.add(Figure("load (checksum, layout check, rebuild), warm cache", seconds, size / MB / seconds, "MB/s"))
    rep.note(f"index file: {size / MB:.1f} MB for {len(loaded):,} hashes ({size / len(loaded):.1f} bytes each)")
    if loaded.search(queries[:50], RADIUS) != results[:50]:
        rep.note("MISMATCH: the loaded index answered differently")
        recall = 0.0

    rep.goal("recall of planted copies", recall, 1.0, "", at_most=False)
    rep.goal("p95 single-query latency", _p(times["index"], 0.95) * 1000, 5, "ms", at_most=True)
    rep.write(args.json)
    if args.clean:
        path.unlink(missing_ok=True)
    return 0 if all(rep.goals.values()) else 1


def _timed_save(index: HashIndex, path: Path) -> float:
    t0 = time.perf_counter()
    index.save(path)
    return time.perf_counter() - t0


if __name__ == "__main__":
    sys.exit(main())
