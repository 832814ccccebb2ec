"""Custody log: append 1,000,000 entries and sign a checkpoint, against plain hashlib; then inclusion proofs.

Why: every action on a case is a custody entry, so a long-running case reaches
millions of them, and the log must not become the slow part of intake. The
least any RFC 9162 log must do is hash each entry as a leaf and hash the tree
above the leaves; that is the baseline, computed with plain ``hashlib`` in the
same run on the same entries. Goal: appending and checkpointing costs at most
2x that. An inclusion proof at 1,000,000 entries, which is what an outsider
asks for, must take under 1 ms.

What is timed, and why that path: the entries go through the log's real API,
:meth:`CustodyLog.append` (bundles and hash tiles written to the case's
SQLite database) and :meth:`CustodyLog.checkpoint` (root from the tiles,
signed note), on a case made by :meth:`Case.init`. They do *not* go through
:meth:`Case.record`, which also writes item and receipt rows and checks that
each blob exists: with a million entries that would mostly measure those rows,
not the log. Entries are real canonical custody entries (``item.added``, the
fields :meth:`Case.record` writes, each with its own digest, size and seq),
appended in batches of 256 as the file intake makes them. Two shapes are
measured:

- *bulk*: every batch appended in one transaction, one checkpoint at the end
  (the figure the goal is about: the log's own cost);
- *intake-shaped*: one transaction and one signed checkpoint per batch, as
  ``factfinder add`` commits (``--no-intake-shaped`` skips it); each commit
  waits for the disk (``synchronous=FULL``), so this one also shows fsyncs.

The root the log signs is checked against the baseline's root, so the
benchmark also fails loudly if the two ever disagree.

    .venv/bin/python benchmarks/custody_log.py [--quick] [--entries N]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import Figure, Report, can_drop_caches, drop_caches, header, timed

from factfinder.db import engine as dbengine
from factfinder.vault import custody
from factfinder.vault.case import Case
from factfinder.vault.checkpoint import Checkpoint

GOAL_RATIO = 2.0
GOAL_PROOF_MS = 1.0
BATCH = 256  # the file intake's batch (factfinder.intake.files.BATCH_ITEMS)


def make_entries(count: int, first_seq: int, seed: int) -> list[bytes]:
    """``count`` canonical ``item.added`` entries, each different, fast enough to make a million.

    A template made by :func:`custody.encode_entry` (so with the fields and
    key order :meth:`Case.record` writes) is filled in with each entry's own
    seq, digest, size, checkpoint reference and commitment; a sample is checked
    to be canonical with :func:`custody.decode_entry`.
    """
    marks = {b"seq": 10**17 + 1, b"size": 10**17 + 2, b"prev": 10**17 + 3}
    template = custody.encode_entry(
        marks[b"seq"],
        custody.ITEM_ADDED,
        marks[b"prev"],
        b"\x00" * 32,
        item_sha256="S" * 64,
        item_size=marks[b"size"],
        actor="investigator@commission",
        channel="files",
        collected_at_claimed="2011-12-16T14:30:00+06:00",
        received_at_vault_clock="2026-01-05T09:12:44.123456Z",
        details_sha256="D" * 64,
    )
    fmt = template.replace(b"%", b"%%").replace(b"S" * 64, b"%(sha)s").replace(b"D" * 64, b"%(details)s")
    for name, value in marks.items():
        fmt = fmt.replace(str(value).encode(), b"%(" + name + b")d")
    rng = random.Random(seed)
    entries = []
    for i in range(count):
        seq = first_seq + i
        values: dict[bytes, int | bytes] = {
            b"seq": seq,
            b"size": rng.randint(1024, 200_000_000),
            b"prev": seq - seq % BATCH,
            b"sha": rng.randbytes(32).hex().encode(),
            b"details": rng.randbytes(32).hex().encode(),
        }
        entries.append(fmt % values)
    for e in entries[:: max(1, count // 50)]:
        custody.decode_entry(e)  # canonical, or ValueError
    return entries


def plain_root(entries: list[bytes]) -> bytes:
    """RFC 9162 MTH with nothing but hashlib: leaves, then levels, an odd last node carried up."""
    sha = hashlib.sha256
    level = [sha(b"\x00" + e).digest() for e in entries]
    while len(level) > 1:
        nxt = [sha(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0] if level else hashlib.sha256(b"").digest()


def batches(entries: list[bytes]) -> Iterator[list[bytes]]:
    for i in range(0, len(entries), BATCH):
        yield entries[i : i + BATCH]


def append_bulk(case: Case, entries: list[bytes]) -> str:
    """All batches in one transaction, then one signed checkpoint."""
    with dbengine.write_transaction(case.engine) as conn:
        for batch in batches(entries):
            case.log.append(conn, batch)
        return case.log.checkpoint(conn, custody.vault_clock())


def append_per_batch(case: Case, entries: list[bytes]) -> str:
    """One transaction and one signed checkpoint per batch, as ``factfinder add`` commits."""
    note = ""
    for batch in batches(entries):
        with dbengine.write_transaction(case.engine) as conn:
            case.log.append(conn, batch)
            note = case.log.checkpoint(conn, custody.vault_clock())
    return note


def fresh_case(folder: Path) -> Case:
    if folder.exists():
        shutil.rmtree(folder)
    case, _ = Case.init(folder, "custody log benchmark", actor="bench")
    return case


def proof_times(case: Case, size: int, indices: list[int], *, reopen: bool) -> list[float]:
    """Seconds per inclusion proof; ``reopen``: a new connection (and dropped caches) for each."""
    times = []
    if reopen:
        for index in indices:
            case.engine.dispose()
            drop_caches()
            with case.engine.connect() as conn:
                start = time.perf_counter()
                case.log.inclusion_proof(conn, index, size)
                times.append(time.perf_counter() - start)
        return times
    with case.engine.connect() as conn:
        for index in indices:
            start = time.perf_counter()
            case.log.inclusion_proof(conn, index, size)
            times.append(time.perf_counter() - start)
    return times


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--entries", type=int, default=1_000_000)
    p.add_argument("--proofs", type=int, default=1000, help="random indices to prove, warm")
    p.add_argument("--cold-proofs", type=int, default=20, help="indices to prove each on a cold connection")
    p.add_argument("--intake-shaped", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--workdir", type=Path, help="where the case goes (default: a temporary folder)")
    p.add_argument("--seed", type=int, default=6962)
    p.add_argument("--quick", action="store_true", help="100,000 entries, for a smoke test")
    p.add_argument("--json", type=Path, help="also write the figures here")
    args = p.parse_args(argv)
    if args.quick:
        args.entries = 100_000
        args.proofs = min(args.proofs, 200)

    header(f"Custody log: {args.entries:,} entries", cold=can_drop_caches())
    report = Report("custody_log")
    n = args.entries
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="factfinder-bench-log-"))
    try:
        case = fresh_case(workdir / "case")
        t0 = time.perf_counter()
        entries = make_entries(n, 1, args.seed)  # seq 0 is the case.created entry
        mean = sum(map(len, entries)) / n
        print(f"  made {n:,} canonical entries of {mean:.0f} bytes on average in {time.perf_counter() - t0:.1f} s")

        roots: dict[str, bytes] = {}
        t_base = timed(lambda: roots.update(plain=plain_root([_first_entry(case), *entries])))
        report.add(Figure("baseline: RFC 9162 root with plain hashlib", t_base, n / t_base, "entries/s"))

        notes: dict[str, str] = {}
        t_bulk = timed(lambda: notes.update(bulk=append_bulk(case, entries)))
        report.add(Figure("log: append (batches of 256) + checkpoint, 1 tx", t_bulk, n / t_bulk, "entries/s"))
        signed = Checkpoint.open(notes["bulk"], case.verifier)
        if signed.size != n + 1 or signed.root_hash != roots["plain"]:
            raise SystemExit("the log's signed root differs from the plain hashlib root")
        report.ratio("log append+checkpoint / plain hashlib root", t_bulk / t_base, GOAL_RATIO)

        size = n + 1
        rng = random.Random(args.seed)
        indices = [rng.randrange(size) for _ in range(args.proofs)]
        first = proof_times(case, size, indices, reopen=False)
        again = proof_times(case, size, indices, reopen=False)
        cold = proof_times(case, size, [rng.randrange(size) for _ in range(args.cold_proofs)], reopen=True)
        for label, times in (
            (f"inclusion proof at {size:,}, {len(first)} random", first),
            ("  the same indices again (full tiles cached)", again),
            ("  new connection + dropped OS cache each", cold),
        ):
            ms = statistics.mean(times) * 1000
            p99 = sorted(times)[max(0, int(len(times) * 0.99) - 1)] * 1000
            report.add(Figure(label, sum(times), ms, "ms each", f"p99 {p99:.3f} ms"))
        report.goal(
            "inclusion proof, random index (mean)", statistics.mean(first) * 1000, GOAL_PROOF_MS, "ms", at_most=True
        )
        case.close()

        if args.intake_shaped:
            case = fresh_case(workdir / "case")
            t_batch = timed(lambda: notes.update(batch=append_per_batch(case, entries)))
            report.add(
                Figure(
                    "log: 1 tx + signed checkpoint per 256 (as intake)",
                    t_batch,
                    n / t_batch,
                    "entries/s",
                    f"{-(-n // BATCH):,} commits",
                )
            )
            if Checkpoint.open(notes["batch"], case.verifier).root_hash != plain_root([_first_entry(case), *entries]):
                raise SystemExit("the per-batch log's root differs from the plain hashlib root")
            report.ratios["intake-shaped / plain hashlib root"] = t_batch / t_base
            print(f"  {'intake-shaped / plain hashlib root (for reference)':<52} {t_batch / t_base:9.2f}x")
            case.close()
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    report.write(args.json)
    return 0


def _first_entry(case: Case) -> bytes:
    """The ``case.created`` entry that :meth:`Case.init` wrote at index 0."""
    with case.engine.connect() as conn:
        return case.log.entry(conn, 0)


if __name__ == "__main__":
    raise SystemExit(main())
