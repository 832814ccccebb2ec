"""Concurrent submissions through the web form: throughput, latency, nothing lost or doubled.

50 clients, each a separate connection with its own anonymous CSRF cookie,
post the public submission form (a testimony and a 1 MB photo, both unique)
to a real ``factfinder serve`` over loopback for 60 seconds. Afterwards every
submission a client saw succeed must be in the case exactly once (its
testimony text and its photo each one item), nothing else may be, and
``factfinder verify`` must pass.

Baseline, measured in the same run: the same clients posting the same bodies
to a bare endpoint of the same stack (uvicorn + Starlette) that parses the
multipart body and writes nothing, i.e. what the HTTP stack alone costs.

    .venv/bin/python benchmarks/web_submit.py [--seconds 60] [--clients 50] [--db postgresql://...]
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx2 as httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._common import DEFAULT_WORKDIR, Figure, Report, factfinder_cmd

PHOTO_BYTES = 1_000_000


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _clients(base: str, path: str, n: int, seconds: float) -> tuple[list[float], list[str], int]:
    """Run ``n`` clients posting for ``seconds``; return latencies, the testimonies accepted, failures."""
    latencies: list[float] = []
    accepted: list[str] = []
    failures = 0
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(k: int) -> None:
        nonlocal failures
        with httpx.Client(base_url=base, timeout=120) as c:
            page = c.get("/submit").text
            token_match = re.search(r'name="csrf_token" value="([^"]+)"', page)
            token = token_match.group(1) if token_match else ""
            i = 0
            while time.monotonic() < stop:
                text = f"client {k} submission {i} {secrets.token_hex(8)}: the square, the shots, the bus stop."
                photo = secrets.token_bytes(PHOTO_BYTES)
                t0 = time.perf_counter()
                r = c.post(
                    path,
                    data={"csrf_token": token, "testimony": text, "lang": "en"},
                    files={"files": (f"photo-{k}-{i}.jpg", photo, "image/jpeg")},
                )
                dt = time.perf_counter() - t0
                with lock:
                    if r.status_code == 200:
                        latencies.append(dt)
                        accepted.append(text)
                    else:
                        failures += 1
                i += 1

    threads = [threading.Thread(target=client, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, accepted, failures


def _baseline_server(port: int) -> subprocess.Popen[bytes]:
    code = (
        "import uvicorn\n"
        "from starlette.applications import Starlette\n"
        "from starlette.responses import HTMLResponse\n"
        "from starlette.routing import Route\n"
        "async def page(request):\n"
        '    return HTMLResponse(\'<input name="csrf_token" value="x">\')\n'
        "async def post(request):\n"
        "    form = await request.form()\n"
        "    for f in form.getlist('files'):\n"
        "        await f.read()\n"
        "    return HTMLResponse('ok')\n"
        "app = Starlette(routes=[Route('/submit', page), Route('/submit', post, methods=['POST'])])\n"
        f"uvicorn.run(app, host='127.0.0.1', port={port}, log_level='warning')\n"
    )
    return subprocess.Popen([sys.executable, "-c", code])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--db", help="run on this PostgreSQL database (empty) instead of SQLite")
    p.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    p.add_argument("--json", type=Path, help="also write the figures here (for run_all.py)")
    p.add_argument("--clean", action="store_true", help="delete the generated case afterwards")
    p.add_argument("--quick", action="store_true", help="10 s, 10 clients")
    args = p.parse_args(argv)
    if args.quick:
        args.seconds, args.clients = 10, 10
    report = Report("web_submit")
    backend = "PostgreSQL" if args.db else "SQLite"
    print(f"web submissions: {args.clients} clients x {args.seconds:.0f} s, 1 MB photo each, {backend}")

    port = _port()
    base_proc = _baseline_server(port)
    try:
        _wait(f"http://127.0.0.1:{port}/submit", base_proc)
        lat, ok, _ = _clients(f"http://127.0.0.1:{port}", "/submit", args.clients, args.seconds)
    finally:
        base_proc.terminate()
        base_proc.wait()
    base_rate = len(ok) / args.seconds
    report.add(Figure("baseline: HTTP stack only (parse, discard)", args.seconds, base_rate, "submissions/s"))

    case = args.workdir / "web-case"
    subprocess.run(["rm", "-rf", str(case)], check=True)
    args.workdir.mkdir(parents=True, exist_ok=True)
    init = factfinder_cmd("init", str(case), "--title", "web benchmark")
    if args.db:
        init += ["--db", args.db]
    subprocess.run(init, check=True, capture_output=True)
    port = _port()
    env = {**os.environ, "FACTFINDER_ACTOR": "bench"}
    server = subprocess.Popen(factfinder_cmd("serve", str(case), "--port", str(port), "--max-upload-mb", "16"), env=env)
    try:
        _wait(f"http://127.0.0.1:{port}/submit", server)
        lat, ok, failed = _clients(f"http://127.0.0.1:{port}", "/submit", args.clients, args.seconds)
    finally:
        server.terminate()
        server.wait()
    rate = len(ok) / args.seconds
    report.add(Figure(f"factfinder serve ({backend})", args.seconds, rate, "submissions/s", f"{failed} failed"))
    for q in (0.5, 0.95, 0.99):
        report.add(Figure(f"latency p{int(q * 100)}", _percentile(lat, q)))
    report.add(Figure("latency mean", statistics.fmean(lat) if lat else 0.0))
    report.note(f"HTTP stack alone is {base_rate / rate if rate else float('inf'):.1f}x factfinder's throughput")

    # Nothing lost, nothing doubled: every accepted testimony is one item, with one photo beside it.
    from factfinder.vault.case import Case

    with Case.open(case) as c:
        counts = c.counts()
        texts = set()
        for item, _ in c.items():
            if item.media_type.startswith("text/"):
                with c.blobs.open(item.sha256) as fh:
                    texts.add(fh.read().decode())
    lost = len(set(ok) - texts)
    extra = len(texts - set(ok))
    report.note(f"{len(ok)} accepted; case holds {counts['items']} items, {counts['receipts']} receipts")
    report.goal("lost submissions", lost, 0, "", at_most=True)
    report.goal("unexpected extra testimonies", extra, 0, "", at_most=True)
    report.goal("items = 2 x accepted (testimony + photo)", abs(counts["items"] - 2 * len(ok)), 0, "", at_most=True)
    verify = subprocess.run(factfinder_cmd("verify", str(case), "--quick"), capture_output=True, text=True)
    report.goal("factfinder verify exit code", verify.returncode, 0, "", at_most=True)
    report.write(args.json)
    if args.clean:
        subprocess.run(["rm", "-rf", str(case)], check=False)
    return 0 if all(report.goals.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
