"""Archive-to-archive sync of two archives of 100,000 items that differ by 1%: bytes on the wire against the floor.

Why: issue 8's sync must work over a slow link out of a closed-off region,
where every byte costs; what it sends should be the difference between the
two archives, not their size. The floor is that difference itself, measured
in the same run on the same archives: the bytes of the items each side lacks
plus the bytes of the custody entries it lacks (every origin's log suffix
beyond what the other holds). Goal: at most 1.2x the floor plus a fixed
overhead per origin (the requests, the signed checkpoints, the proofs, the
bundle's framing), which is measured on its own first by a sync of one new
item on each side.

How: archive A is built with ``Case.record`` in large batches of small random
files (1-4 KB, incompressible, as media would be); archive B starts empty and
pulls all of A (so they share A's history, as two archives do after their
first sync; not measured); then each gets 0.5% of N new, distinct items. B is
served by uvicorn on loopback, as ``factfinder serve`` runs it, behind a TCP
proxy that counts every byte both ways (HTTP headers, JSON, bundles); A syncs
with it through the Python API of ``factfinder sync`` (push, then pull).

What the floor leaves out, so that the ratio is not flattering: the receipts
and the ``transfer.received`` entry that the push itself makes in B's log
travel back to A in the pull, and count as overhead. Bundles travel gzipped
(level 1); the items here are random bytes, which do not compress, so what the
compression saves is the tar framing and the JSON of the entries only.

    .venv/bin/python benchmarks/sync.py [--quick] [--items N] [--workdir DIR] [--clean] [--json FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import random
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import Figure, Report, header

from factfinder import accounts
from factfinder.intake import origins
from factfinder.intake import sync as sync_client
from factfinder.permissions import Role
from factfinder.vault.case import Case, NewReceipt

GOAL_RATIO = 1.2
BATCH = 2000


class CountingProxy:
    """A TCP proxy to a loopback port that counts the bytes it carries in each direction."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.up = 0  # client -> server
        self.down = 0  # server -> client
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def reset(self) -> None:
        with self._lock:
            self.up = self.down = 0

    def close(self) -> None:
        self._stop.set()
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            server = socket.create_connection(("127.0.0.1", self.target))
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, up: bool) -> None:
        try:
            while data := src.recv(1 << 16):
                with self._lock:
                    if up:
                        self.up += len(data)
                    else:
                        self.down += len(data)
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()


def add_items(case: Case, n: int, rng: random.Random, label: str) -> int:
    """Record ``n`` random 1-4 KB files in batches; return their bytes."""
    total = 0
    for start in range(0, n, BATCH):
        receipts = []
        for i in range(start, min(n, start + BATCH)):
            data = rng.randbytes(rng.randint(1024, 4096))
            total += len(data)
            receipts.append(
                NewReceipt(
                    blob=case.blobs.put_bytes(data),
                    source=f"{label} {i}",
                    original_name=f"{label}-{i}.bin",
                    media_type="application/octet-stream",
                )
            )
        case.record(receipts, actor="bench")
    return total


def floor_bytes(sender: Case, receiver: Case) -> tuple[int, int, int]:
    """What the receiver lacks of the sender: (item bytes, custody entry bytes, origins with anything new)."""
    have = {name: o.size for name, o in origins.held(receiver).items()}
    with receiver.engine.connect() as conn:
        from sqlalchemy import select

        from factfinder.db.models import Item

        held_items = set(conn.execute(select(Item.sha256)).scalars())
    item_bytes = entry_bytes = touched = 0
    seen: set[str] = set()
    with sender.engine.connect() as conn:
        for name, o in origins.held(sender).items():
            start = have.get(name, 0)
            if o.size <= start:
                continue
            touched += 1
            for _, entry, _ in origins.records(sender, conn, name, start, o.size):
                entry_bytes += len(entry)
            for sha, size in origins.items_named(sender, conn, name, start, o.size):
                if sha not in held_items and sha not in seen:
                    seen.add(sha)
                    item_bytes += size
    return item_bytes, entry_bytes, touched


def serve(case: Case) -> tuple[str, str, object]:
    import uvicorn

    from factfinder.web.app import Settings, create_app
    from factfinder.web.sync import router

    account = accounts.add_user(case.engine, "bench", "a long benchmark password", Role.INVESTIGATOR)
    token = accounts.create_token(case.engine, account, "benchmark")
    app = create_app(case, Settings())
    if not any(getattr(r, "path", "") == "/sync/v1/state" for r in app.routes):
        app.include_router(router)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", token, server


def measured_sync(
    a: Case, b: Case, proxy: CountingProxy, token: str, report: Report, label: str
) -> tuple[int, int, float, Mapping[str, int]]:
    """Sync A with B through the proxy; return (bytes up, bytes down, seconds, floor parts)."""
    a_items, a_entries, a_origins = floor_bytes(a, b)
    b_items, b_entries, b_origins = floor_bytes(b, a)
    proxy.reset()
    start = time.perf_counter()
    done = sync_client.sync(a, f"http://127.0.0.1:{proxy.port}", token, actor="bench", say=lambda _: None)
    seconds = time.perf_counter() - start
    if done.forks:
        raise SystemExit(f"unexpected fork: {done.forks}")
    floor = {
        "up": a_items + a_entries,
        "down": b_items + b_entries,
        "items": a_items + b_items,
        "entries": a_entries + b_entries,
        "origins": a_origins + b_origins,
    }
    total = proxy.up + proxy.down
    report.add(
        Figure(
            f"{label}: sync through the proxy",
            seconds,
            total / 1000,
            "KB on the wire",
            f"up {proxy.up:,} B, down {proxy.down:,} B",
        )
    )
    print(
        f"  {'  floor (items + custody entries lacked)':<52} up {floor['up']:,} B, down {floor['down']:,} B "
        f"(items {floor['items']:,} B, entries {floor['entries']:,} B, {floor['origins']} origin suffixes)"
    )
    return proxy.up, proxy.down, seconds, floor


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--items", type=int, default=100_000, help="items in each archive")
    p.add_argument("--quick", action="store_true", help="5,000 items, for a smoke test")
    p.add_argument("--seed", type=int, default=9162)
    p.add_argument("--workdir", type=Path, help="where the two cases go (default: a temporary folder)")
    p.add_argument("--json", type=Path, help="also write the figures here")
    p.add_argument("--clean", action="store_true", help="delete the cases afterwards even with --workdir")
    args = p.parse_args(argv)
    n = 5000 if args.quick else args.items
    distinct = max(1, n // 200)  # 0.5% of N on each side: 1% in all

    header(f"Sync: two archives of {n:,} items differing by {2 * distinct:,}", cold=False)
    report = Report("sync")
    rng = random.Random(args.seed)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="factfinder-bench-sync-"))
    try:
        a, _ = Case.init(workdir / "a", "archive A", actor="bench")
        b, _ = Case.init(workdir / "b", "archive B", actor="bench")
        t_build = time.perf_counter()
        shared = add_items(a, n - distinct, rng, "shared")
        print(f"  built A: {n - distinct:,} items, {shared / 1e6:.1f} MB in {time.perf_counter() - t_build:.1f} s")
        url, token, server = serve(b)
        proxy = CountingProxy(int(url.rsplit(":", 1)[1]))
        t_first = time.perf_counter()
        first = sync_client.sync(a, f"http://127.0.0.1:{proxy.port}", token, actor="bench", say=lambda _: None)
        print(
            f"  first sync (B takes all of A, not the measured figure): {time.perf_counter() - t_first:.1f} s, "
            f"{(proxy.up + proxy.down) / 1e6:.1f} MB on the wire; items in B: {b.counts()['items']:,}"
        )
        if first.forks or b.counts()["items"] != a.counts()["items"]:
            raise SystemExit("the first sync did not copy A into B")

        # The fixed overhead: one new item on each side.
        add_items(a, 1, rng, "fixed-a")
        add_items(b, 1, rng, "fixed-b")
        up, down, _, floor = measured_sync(a, b, proxy, token, report, "1 new item each side")
        fixed_per_origin = (up + down - floor["up"] - floor["down"]) / max(1, floor["origins"])
        print(f"  {'  fixed overhead per origin suffix':<52} {fixed_per_origin:,.0f} B")

        # The measured figure: 0.5% of N new on each side.
        add_items(a, distinct, rng, "only-a")
        add_items(b, distinct, rng, "only-b")
        up, down, seconds, floor = measured_sync(a, b, proxy, token, report, f"{distinct:,} new items each side")
        total, need = up + down, floor["up"] + floor["down"]
        allowance = fixed_per_origin * floor["origins"]
        print(f"  {'  bytes on the wire / floor':<52} {total / need:9.3f}x")
        report.ratio("(wire - fixed overhead per origin) / floor", (total - allowance) / need, GOAL_RATIO)
        report.ratios["wire / floor"] = total / need
        report.ratios["fixed overhead per origin, bytes"] = fixed_per_origin
        report.add(Figure("wall time of the measured sync", seconds, 2 * distinct / seconds, "items/s"))
        same = {i.sha256 for i, _ in a.items()} == {i.sha256 for i, _ in b.items()}
        print(f"  both archives hold the same items afterwards: {same}")
        if not same:
            raise SystemExit("the archives differ after the sync")
        proxy.close()
        server.should_exit = True  # type: ignore[attr-defined]
        a.close()
        b.close()
    finally:
        if args.workdir is None or args.clean:
            shutil.rmtree(workdir, ignore_errors=True)
    report.write(args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
