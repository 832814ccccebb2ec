"""OpenRosa submissions (issue #8): 20 devices at once, each sending testimonies with a 2 MB photo; none lost.

What ODK Collect does when a phone gets a line again after a blackout: every device sends its finalised forms,
one POST each (``multipart/form-data`` with the ``xml_submission_file`` part and the photo, header
``X-OpenRosa-Version: 1.0``) to ``/key/{token}/submission``, the app user's link. Here 20 clients, one per app
user and each on its own connection, send ``--per-client`` submissions each (20 by default: 400 in all;
``--quick``: 3, 60 in all) to a real ``factfinder serve`` over loopback, as fast as the server answers. Every
photo is a distinct JPEG of noise (1600 x 1067, quality 95: about 2.0 MB; noise, so it hardly compresses) and
every submission a distinct ``instanceID``.

Afterwards, "zero lost": every submission acknowledged with 201 must be in the case (an ``OdkSubmission`` row,
complete, with its XML's digest, its device as submitter, and the photo's SHA-256 equal to the bytes sent),
nothing may be refused, and ``factfinder verify`` (full: every blob rehashed) must pass.

Measured in the same run, on the same bodies:
- baseline: the same 20 clients POSTing the same bytes to a bare uvicorn + Starlette app run the way
  ``factfinder serve`` runs uvicorn, which (a) reads each body and discards it, and (b) parses the multipart body
  as the OpenRosa route does (``request.form``: the photo is spooled to a temporary file) and discards it:
  the cost of HTTP and multipart alone on this machine;
- baseline: writing the same photos to files with ``fsync`` each, one thread and 20 threads: what storing
  them durably alone costs on this disk.

The media scan runs after each submission as the server always runs it (a child process decoding and hashing
the photos, one scan at a time, ``factfinder/web/mediascan.py``); it competes with the server and the clients for
the machine's cores, so the figure is what a team's server does, analysis included. How long the scan takes to
catch up after the last submission is reported too. ``--also-without-scan`` then measures a second fresh case
served by the same command with the scan switched off, to show what the scan costs the intake.

    .venv/bin/python benchmarks/openrosa.py [--clients 20] [--per-client 20] [--quick] [--also-without-scan]
                                            [--database-url postgresql://...] [--workdir DIR] [--json PATH]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._common import DEFAULT_WORKDIR, MB, REPO, Figure, Report, factfinder_cmd, machine

FORM = REPO / "samples" / "forms" / "testimony.xml"
FORM_ID = "testimony"
FORM_VERSION = "2024010101"
OPENROSA = {"X-OpenRosa-Version": "1.0"}
PHOTO_SIZE = (1600, 1067)  # noise at quality 95: about 2.0 MB
PHOTO_QUALITY = 95


@dataclass(frozen=True)
class Submission:
    """One finalised form as Collect sends it: the multipart body, and what the case must hold afterwards."""

    instance_id: str
    device: int
    body: bytes
    content_type: str
    xml_sha256: str
    photo_name: str
    photo_sha256: str


@dataclass
class Run:
    """What the clients saw: wall time, latencies of the acknowledged POSTs, and which were acknowledged."""

    seconds: float
    latencies: list[float] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=dict)  # status code (or exception name) -> count

    @property
    def failures(self) -> int:
        return sum(self.refused.values())


# -- the submissions ---------------------------------------------------------------------------


def photo(rng: np.random.Generator) -> bytes:
    """A distinct JPEG of noise, about 2 MB: a real JPEG, so the media scan decodes and hashes it as a photo."""
    pixels = rng.integers(0, 256, (PHOTO_SIZE[1], PHOTO_SIZE[0], 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=PHOTO_QUALITY)
    return out.getvalue()


def submission_xml(instance_id: str, photo_name: str, k: int, i: int) -> bytes:
    """A filled testimony form as Collect writes it (placeholder answers only)."""
    return (
        f'<?xml version="1.0"?><data xmlns:jr="http://openrosa.org/javarosa" xmlns:orx="http://openrosa.org/xforms"'
        f' id="{FORM_ID}" version="{FORM_VERSION}"><start>2011-12-16T11:05:00.000+05:00</start>'
        f"<end>2011-12-16T11:20:00.000+05:00</end><consent>yes</consent>"
        f"<what_happened>Device {k}, form {i}: shots near the town square, people running to the bus stop."
        f"</what_happened><photo>{photo_name}</photo><video/><audio/>"
        f"<meta><instanceID>{instance_id}</instanceID></meta></data>"
    ).encode()


def multipart(parts: list[tuple[str, str, str, bytes]]) -> tuple[str, bytes]:
    """A ``multipart/form-data`` body of (field, file name, content type, bytes), built once before timing, so
    every server gets the same bytes and the clients do no encoding while they are timed."""
    boundary = uuid.uuid4().hex
    chunks: list[bytes] = []
    for name, filename, ctype, data in parts:
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {ctype}\r\n\r\n".encode()
        )
        chunks += [data, b"\r\n"]
    chunks.append(f"--{boundary}--\r\n".encode())
    return f"multipart/form-data; boundary={boundary}", b"".join(chunks)


def make_submissions(clients: int, per_client: int, seed: int) -> tuple[list[list[Submission]], list[bytes]]:
    """Each device's submissions (distinct photo and instanceID each), and the photos themselves."""
    rng = np.random.default_rng(seed)
    by_device: list[list[Submission]] = []
    photos: list[bytes] = []
    for k in range(clients):
        mine = []
        for i in range(per_client):
            data = photo(rng)
            photos.append(data)
            instance_id = f"uuid:{uuid.UUID(bytes=rng.bytes(16), version=4)}"
            name = f"{1700000000000 + k * 1000 + i}.jpg"  # Collect names photos by the time they were taken
            xml = submission_xml(instance_id, name, k, i)
            ctype, body = multipart(
                [("xml_submission_file", "instance.xml", "text/xml", xml), (name, name, "image/jpeg", data)]
            )
            mine.append(
                Submission(
                    instance_id, k, body, ctype, hashlib.sha256(xml).hexdigest(), name, hashlib.sha256(data).hexdigest()
                )
            )
        by_device.append(mine)
    return by_device, photos


# -- the clients -------------------------------------------------------------------------------


def drive(base: str, paths: list[str], by_device: list[list[Submission]]) -> Run:
    """One thread per device, each on its own connection, sending its submissions one after the other."""
    lock = threading.Lock()
    start = threading.Barrier(len(by_device) + 1)
    run = Run(0.0)

    def device(k: int) -> None:
        with httpx.Client(base_url=base, headers=OPENROSA, timeout=600) as client:
            start.wait()
            for sub in by_device[k]:
                t0 = time.perf_counter()
                try:
                    r = client.post(paths[k], content=sub.body, headers={"Content-Type": sub.content_type})
                    outcome = str(r.status_code)
                except httpx.HTTPError as exc:
                    outcome = type(exc).__name__
                dt = time.perf_counter() - t0
                with lock:
                    if outcome == "201":
                        run.latencies.append(dt)
                        run.acknowledged.append(sub.instance_id)
                    else:
                        run.refused[outcome] = run.refused.get(outcome, 0) + 1

    threads = [threading.Thread(target=device, args=(k,)) for k in range(len(by_device))]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    run.seconds = time.perf_counter() - t0
    return run


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# -- the servers -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Wait until the server answers ``url`` with 200 (it starts in seconds: imports, opening the case)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.stderr.write(log.read_text(errors="replace")[-4000:])
            raise SystemExit(f"the server exited ({proc.returncode}) before answering")
        try:
            if httpx.get(url, headers=OPENROSA, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"the server did not answer {url} within 120 s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


NO_SCAN = (
    "import sys\n"
    "from factfinder.web import mediascan\n"
    "mediascan.schedule = lambda *args, **kwargs: None\n"
    "from factfinder.cli import app\n"
    "app(sys.argv[1:])\n"
)
"""``factfinder serve`` itself, with the analysis after each submission switched off: only to show what it costs."""


def start_server(case: Path, port: int, log: Path, *, media_scan: bool) -> subprocess.Popen[bytes]:
    """``factfinder serve CASE`` in a process of its own, its output to ``log``."""
    args = ["serve", str(case), "--port", str(port), "--max-upload-mb", "16"]
    cmd = factfinder_cmd(*args) if media_scan else [sys.executable, "-c", NO_SCAN, *args]
    env = {**os.environ, "FACTFINDER_ACTOR": "bench", "PYTHONPATH": str(REPO)}
    with log.open("wb") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)


BARE_APP = """
import sys
import uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

OK = ('<OpenRosaResponse xmlns="http://openrosa.org/http/response"><message nature="submit_success">'
      'Form received: thank you.</message></OpenRosaResponse>')

async def up(request):
    return Response("", 200)

async def read_body(request):
    async for _ in request.stream():
        pass
    return Response(OK, 201, media_type="text/xml; charset=utf-8", headers={"X-OpenRosa-Version": "1.0"})

async def parse_multipart(request):
    form = await request.form(max_files=1000, max_fields=100)
    try:
        for _, value in form.multi_items():
            if hasattr(value, "read"):
                await value.read()
    finally:
        await form.close()
    return Response(OK, 201, media_type="text/xml; charset=utf-8", headers={"X-OpenRosa-Version": "1.0"})

app = Starlette(routes=[
    Route("/up", up),
    Route("/read/{token}/submission", read_body, methods=["POST"]),
    Route("/parse/{token}/submission", parse_multipart, methods=["POST"]),
])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""
"""The baseline server: uvicorn run as ``factfinder serve`` runs it (``cli.serve``: same host, log level, no access
log), with two endpoints that do only what every upload costs before factfinder's own work."""


# -- the disk baseline -------------------------------------------------------------------------


def durable_writes(folder: Path, photos: list[bytes], threads: int) -> float:
    """Seconds to write each photo to its own file and ``fsync`` it (then the folder once): storing alone."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)

    def write(i: int) -> None:
        fd = os.open(folder / f"photo-{i}.jpg", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, photos[i])
            os.fsync(fd)
        finally:
            os.close(fd)

    os.sync()
    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(write, range(len(photos))))
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    seconds = time.perf_counter() - t0
    shutil.rmtree(folder)
    return seconds


# -- the case ----------------------------------------------------------------------------------


def make_case(path: Path, clients: int, database_url: str | None) -> list[str]:
    """A fresh case with the testimony form and one app user per device; returns the devices' tokens."""
    from factfinder.intake import openrosa
    from factfinder.vault.case import Case

    if path.exists():
        shutil.rmtree(path)
    init = factfinder_cmd("init", str(path), "--title", "OpenRosa benchmark", "--actor", "bench")
    if database_url:
        init += ["--db", database_url]
    proc = subprocess.run(init, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"factfinder init failed: {proc.stderr.strip()[-2000:]}")
    with Case.open(path) as case:
        openrosa.add_form(case, FORM.read_bytes(), actor="bench", campaign="benchmark")
        return [
            openrosa.add_app_user(case, f"phone-{k:02d}", campaign="benchmark", form_ids=[FORM_ID])[1]
            for k in range(clients)
        ]


def wait_for_media_scan(path: Path, digests: list[str], limit_s: float) -> float | None:
    """Seconds until the server's media scan has analysed every photo; None if not within ``limit_s``."""
    from factfinder.media import scan
    from factfinder.vault.case import Case

    t0 = time.perf_counter()
    with Case.open(path) as case:
        while time.perf_counter() - t0 < limit_s:
            if not scan.pending(case, digests=digests):
                return time.perf_counter() - t0
            time.sleep(0.5)
    return None


@dataclass
class Held:
    """What the case holds of what the devices were told was received."""

    lost: int = 0
    incomplete: int = 0
    wrong_digest: int = 0
    wrong_submitter: int = 0
    unacknowledged_but_held: int = 0
    held: int = 0


def check_held(path: Path, subs: dict[str, Submission], acknowledged: list[str]) -> Held:
    """Compare every acknowledged submission with the case's rows: present, complete, same bytes, same device."""
    from factfinder.intake import openrosa
    from factfinder.vault.case import Case

    with Case.open(path) as case:
        rows = {s.instance_id: s for s in openrosa.list_submissions(case)}
    found = Held(held=len(rows))
    for instance_id in acknowledged:
        row = rows.get(instance_id)
        sub = subs[instance_id]
        if row is None:
            found.lost += 1
            continue
        found.incomplete += not row.complete
        found.wrong_digest += row.xml_sha256 != sub.xml_sha256 or dict(row.attachments) != {
            sub.photo_name: sub.photo_sha256
        }
        found.wrong_submitter += row.submitter != f"phone-{sub.device:02d}"
    found.unacknowledged_but_held = len(set(rows) - set(acknowledged))
    return found


def check_zero_lost(report: Report, case: Path, subs: dict[str, Submission], run: Run, suffix: str) -> None:
    """The goals: nothing refused, every acknowledged submission held whole, and a full ``verify`` passes."""
    found = check_held(case, subs, run.acknowledged)
    report.note(f"{len(run.acknowledged)} acknowledged with 201; the case holds {found.held} submissions{suffix}")
    report.goal(f"refused or failed POSTs{suffix}", run.failures, 0, "", at_most=True)
    report.goal(f"acknowledged but not held (lost){suffix}", found.lost, 0, "", at_most=True)
    report.goal(f"held but incomplete{suffix}", found.incomplete, 0, "", at_most=True)
    report.goal(f"held with another XML or photo digest{suffix}", found.wrong_digest, 0, "", at_most=True)
    report.goal(f"held under another device{suffix}", found.wrong_submitter, 0, "", at_most=True)
    if found.unacknowledged_but_held:
        report.note(f"{found.unacknowledged_but_held} held though their device saw no 201 (resent: 'already received')")
    verify = subprocess.run(factfinder_cmd("verify", str(case)), capture_output=True, text=True, check=False)
    report.goal(f"factfinder verify (full) exit code{suffix}", verify.returncode, 0, "", at_most=True)
    if verify.returncode:
        sys.stderr.write(verify.stdout[-4000:] + verify.stderr[-4000:])


# -- main --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, default=20, help="devices sending at once (one app user each)")
    p.add_argument("--per-client", type=int, default=20, help="submissions each device sends")
    p.add_argument("--quick", action="store_true", help="3 submissions per device (60 in all)")
    p.add_argument("--database-url", help="an empty PostgreSQL database for the case, instead of SQLite")
    p.add_argument("--scan-wait", type=float, default=900, help="seconds to wait for the media scan to catch up")
    p.add_argument(
        "--also-without-scan",
        action="store_true",
        help="measure a second fresh case with the server's media scan switched off (what the scan costs)",
    )
    p.add_argument("--seed", type=int, default=8)
    p.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    p.add_argument("--json", type=Path, help="also write the figures here (for run_all.py)")
    p.add_argument("--clean", action="store_true", help="delete the case afterwards")
    args = p.parse_args(argv)
    if args.quick:
        args.per_client = 3
        args.scan_wait = min(args.scan_wait, 300)
    backend = "PostgreSQL" if args.database_url else "SQLite"
    total = args.clients * args.per_client
    m = machine()
    print(
        f"OpenRosa submissions: {args.clients} devices x {args.per_client} submissions, 2 MB photo each, {backend}\n"
        f"  machine: {m['cpus']} CPUs, {m['cpu']}, Python {m['python']}; the bodies are sent from memory over"
        " loopback (page cache not dropped)",
        flush=True,
    )
    report = Report("openrosa")
    work = args.workdir / "openrosa"
    work.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    by_device, photos = make_submissions(args.clients, args.per_client, args.seed)
    subs = {s.instance_id: s for mine in by_device for s in mine}
    body_mb = sum(len(s.body) for s in subs.values()) / MB
    photo_mb = sum(len(x) for x in photos) / MB
    print(
        f"  generated {total} submissions, photos {photo_mb / total:.2f} MB each, bodies {body_mb:,.0f} MB in all"
        f" ({time.perf_counter() - t0:.1f} s, not timed)",
        flush=True,
    )
    rows: list[tuple[str, float, float, float | None, float | None]] = []  # name, /s, MB/s, p50, p95

    def record(name: str, run: Run) -> None:
        n = len(run.acknowledged)
        mb = sum(len(subs[i].body) for i in run.acknowledged) / MB
        note = f"{n}/{total} acknowledged" + (f", refused {run.refused}" if run.failures else "")
        report.add(Figure(name, run.seconds, n / run.seconds, "submissions/s", note))
        p50, p95 = percentile(run.latencies, 0.5), percentile(run.latencies, 0.95)
        rows.append((name, n / run.seconds, mb / run.seconds, p50, p95))

    # Baselines: the bare HTTP stack, then the disk.
    port = free_port()
    log = work / "bare-server.log"
    with log.open("wb") as out:
        bare = subprocess.Popen([sys.executable, "-c", BARE_APP, str(port)], stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/up", bare, log)
        for mode, name in (("read", "baseline: uvicorn, read body, discard"), ("parse", "baseline: + multipart parse")):
            paths = [f"/{mode}/device-{k}/submission" for k in range(args.clients)]
            record(name, drive(f"http://127.0.0.1:{port}", paths, by_device))
    finally:
        stop(bare)
    for threads in (1, args.clients):
        seconds = durable_writes(work / "disk-baseline", photos, threads)
        name = f"baseline: write + fsync each photo, {threads} thread{'s' if threads > 1 else ''}"
        report.add(Figure(name, seconds, len(photos) / seconds, "files/s", f"{photo_mb / seconds:,.0f} MB/s"))
        rows.append((name, len(photos) / seconds, photo_mb / seconds, None, None))

    # factfinder serve, as a team runs it; then, if asked, with the media scan switched off.
    variants = [True, False] if args.also_without_scan else [True]
    ours: dict[bool, tuple[str, float, float, float | None, float | None]] = {}
    for media_scan in variants:
        label = "media scan on" if media_scan else "media scan off"
        case = work / ("case" if media_scan else "case-no-scan")
        tokens = make_case(case, args.clients, args.database_url)
        port = free_port()
        log = work / f"server-{'scan' if media_scan else 'no-scan'}.log"
        scan_s: float | None = None
        server = start_server(case, port, log, media_scan=media_scan)
        try:
            wait_until_up(f"http://127.0.0.1:{port}/key/{tokens[0]}/formList", server, log)
            run = drive(f"http://127.0.0.1:{port}", [f"/key/{t}/submission" for t in tokens], by_device)
            record(f"factfinder serve ({backend}), {label}", run)
            ours[media_scan] = rows[-1]
            if media_scan:
                digests = sorted({subs[i].photo_sha256 for i in run.acknowledged})
                scan_s = wait_for_media_scan(case, digests, args.scan_wait)
        finally:
            stop(server)
        for q in (0.5, 0.95, 0.99):
            report.add(Figure(f"  latency p{int(q * 100)}", percentile(run.latencies, q)))
        report.add(Figure("  latency mean", statistics.fmean(run.latencies) if run.latencies else float("nan")))
        if media_scan and scan_s is None:
            report.note(f"the media scan had not analysed every photo {args.scan_wait:.0f} s after the last POST")
        elif media_scan and scan_s is not None:
            report.add(Figure("  media scan caught up, after the last submission", scan_s))
        check_zero_lost(report, case, subs, run, "" if media_scan else " (scan off)")

    parse = next(r for r in rows if r[0].startswith("baseline: + multipart"))
    disk = next(r for r in rows if r[0].startswith("baseline: write") and not r[0].endswith(" 1 thread"))
    report.ratios["multipart baseline / factfinder"] = parse[1] / ours[True][1]
    report.ratios["disk baseline / factfinder"] = disk[1] / ours[True][1]
    print(f"\n  {'':<52} {'per s':>8} {'MB/s':>8} {'p50 s':>7} {'p95 s':>7}")
    for name, rate, mbs, p50, p95 in rows:
        lat = f"{p50:7.2f} {p95:7.2f}" if p50 is not None and p95 is not None else f"{'':>7} {'':>7}"
        print(f"  {name:<52} {rate:8.1f} {mbs:8.1f} {lat}")
    for media_scan, row in ours.items():
        print(
            f"  factfinder, media scan {'on' if media_scan else 'off'}: {row[1] / parse[1]:.2f}x the HTTP + multipart"
            f" baseline, {row[1] / disk[1]:.2f}x the durable-write baseline ({args.clients} threads)",
            flush=True,
        )
    report.write(args.json)
    if args.clean:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if all(report.goals.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
