"""Crash test: ``factfinder add`` killed with SIGKILL at 50 random moments (20 on PostgreSQL).

After every kill the case must pass ``verify``; every file the process had
reported on stdout (``add --list`` prints a line only once its batch has
committed) must be in the case with a blob that rehashes to its digest; no
file under the blob store may be partial; and the next ``add`` must clean up
the temporaries the dead process left and finish the job.

Most runs are forked from a helper process that has already imported
factfinder (a real, separate process running the real CLI with its stdout
going to a file, as in ``factfinder add ... --list > added.txt``), so the 50
kills land in the work rather than in Python's start-up. A few runs are
plain ``python -m factfinder`` subprocesses killed anywhere, start-up included.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from factfinder.vault import audit
from factfinder.vault.blobs import hash_file
from factfinder.vault.case import Case
from tests.conftest import NewDatabase

# 50 kills on the SQLite run; 20 on the PostgreSQL run, where the same transactions meet another database
# (the suite runs twice and must stay within its time budget).
KILLS = 20 if os.environ.get("FACTFINDER_TEST_POSTGRES") else 50
CASES = 5  # a fresh case every KILLS // CASES kills; state accumulates within a case
EXEC_KILLS_PER_CASE = 1  # of those, killed as a full ``python -m factfinder`` process
SMALL_BATCH = 4  # commit every 4 files in the forked runs, so kills land between commits
LINE = re.compile(r"^(added|received again) ([0-9a-f]{64}) (.+)$")

FORKSERVER = r"""
import json, os, sys, traceback
import factfinder.cli as cli
import factfinder.intake.files as files

def child(cmd):
    code = 3
    try:
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.dup2(os.open(cmd["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), 1)
        os.dup2(os.open(cmd["err"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), 2)
        if cmd.get("batch_items") and hasattr(files, "BATCH_ITEMS"):
            files.BATCH_ITEMS = cmd["batch_items"]
        sys.argv = ["factfinder", *cmd["argv"]]
        try:
            cli.run()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)

for line in sys.stdin:
    cmd = json.loads(line)
    if cmd["op"] == "spawn":
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            child(cmd)
        print(json.dumps({"pid": pid}), flush=True)
    elif cmd["op"] == "wait":
        _, status = os.waitpid(cmd["pid"], 0)
        print(json.dumps({"code": os.waitstatus_to_exitcode(status)}), flush=True)
"""


class ForkServer:
    """A process that has imported factfinder and forks a fresh CLI process on request."""

    def __init__(self) -> None:
        env = {**os.environ, "FACTFINDER_ACTOR": "crash-test"}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", FORKSERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
        )

    def _ask(self, **cmd: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline()
        assert reply, "the fork server died"
        data: dict[str, Any] = json.loads(reply)
        return data

    def spawn(self, argv: list[str], out: Path, err: Path, *, batch_items: int | None = SMALL_BATCH) -> int:
        pid: int = self._ask(op="spawn", argv=argv, out=str(out), err=str(err), batch_items=batch_items)["pid"]
        return pid

    def wait(self, pid: int) -> int:
        code: int = self._ask(op="wait", pid=pid)["code"]
        return code

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@dataclass
class Dataset:
    """Source files and the digest each one must be stored under."""

    root: Path
    digest: dict[Path, str] = field(default_factory=dict)
    rng: random.Random = field(default_factory=lambda: random.Random(20111216))

    def write(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.digest[path.resolve()] = hashlib.sha256(data).hexdigest()

    def folder(self, name: str, small: int, medium_sizes: list[int]) -> Path:
        folder = self.root / name
        for i in range(small):
            self.write(folder / f"testimony-{i:04d}.txt", self.rng.randbytes(self.rng.randint(1024, 4096)))
        for i, size in enumerate(medium_sizes):
            self.write(folder / "media" / f"clip-{i}.bin", self.rng.randbytes(size))
        return folder


@dataclass
class CaseState:
    path: Path
    reported: Counter[str] = field(default_factory=Counter)  # digest -> receipts reported on stdout
    checked_blobs: set[str] = field(default_factory=set)
    folders: list[Path] = field(default_factory=list)


def reported_lines(stdout: Path, data: Dataset) -> list[tuple[str, Path]]:
    """The complete lines the process printed: (digest, source path). A torn last line is ignored."""
    text = stdout.read_text(encoding="utf-8", errors="replace")
    lines = text.split("\n")[:-1]  # whatever follows the last newline was cut off by the kill
    found: list[tuple[str, Path]] = []
    for line in lines:
        m = LINE.match(line)
        if m:
            found.append((m.group(2), Path(m.group(3)).resolve()))
        else:
            assert line.split(" ")[1:3] == ["new", "items,"], f"unexpected output line: {line!r}"
    for sha, path in found:
        assert data.digest[path] == sha, f"{path} was reported under {sha}, but its bytes hash to {data.digest[path]}"
    return found


def check_case(state: CaseState, run_reported: list[tuple[str, Path]], *, rehash_all: bool) -> dict[str, int]:
    """Everything the crash test promises about the case after a kill; returns its receipts per item."""
    state.reported.update(sha for sha, _ in run_reported)
    with Case.open(state.path) as case:
        report = audit.verify_case(case, rehash_blobs=rehash_all)
        assert report.ok, "\n".join(map(str, report.problems))
        fatal_kinds = {p.kind for p in report.problems} - {audit.ORPHAN_BLOB}
        assert not fatal_kinds, report.problems
        receipts = {item.sha256: n for item, n in case.items()}
        log_size = case.counts()["log_size"]
        assert log_size == 1 + sum(receipts.values()), "every custody entry but the first must be a receipt"
        for sha, times in state.reported.items():
            assert sha in receipts, f"{sha} was reported as added but is not in the case"
            assert receipts[sha] >= times, f"{sha} was reported {times} times but has {receipts[sha]} receipts"
        # Every file in the blob store is whole and named by its content (orphans included).
        for sha in case.blobs.digests():
            if sha not in state.checked_blobs:
                path = case.blobs.path(sha)
                assert hash_file(path)[0] == sha, f"blob {sha} is partial or altered"
                assert path.stat().st_mode & 0o222 == 0, f"blob {sha} is writable"
                state.checked_blobs.add(sha)
        stray = [p.name for p in (state.path / "blobs").rglob("*") if p.is_file() and p.name not in state.checked_blobs]
        assert not stray, f"files in the blob store that are not blobs: {stray}"
    return receipts


def sleep_unless_exited(pid: int, seconds: float) -> None:
    """Sleep, but stop early once the (unreaped) child has exited: it is then a zombie."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return
        if state in ("Z", "X"):
            return
        time.sleep(min(0.005, max(0.0, deadline - time.monotonic())))


def leftovers(case_dir: Path) -> list[str]:
    tmp = case_dir / "tmp"
    return sorted(p.name for p in tmp.iterdir()) if tmp.is_dir() else []


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_sigkill_at_random_moments_loses_nothing_reported(tmp_path: Path, new_database: NewDatabase) -> None:
    rng = random.Random(0xC0FFEE)
    data = Dataset(tmp_path / "evidence")
    shared = data.folder("shared", small=10, medium_sizes=[5 << 20])  # received again on every run
    server = ForkServer()
    env = {**os.environ, "FACTFINDER_ACTOR": "crash-test"}
    try:
        # How long a typical run takes here, forked and as a fresh interpreter, to spread the kills over it.
        scratch = tmp_path / "scratch-case"
        Case.init(scratch, "scratch", actor="crash-test", database_url=new_database())[0].close()
        for i in range(2):  # the second run is like the ones killed below: shared files already in
            calib = data.folder(f"calibration-{i}", small=21, medium_sizes=[5 << 17])
            t0 = time.monotonic()
            pid = server.spawn(["add", str(scratch), str(shared), str(calib)], tmp_path / "o", tmp_path / "e")
            assert server.wait(pid) == 0, (tmp_path / "e").read_text()
            fork_run_s = time.monotonic() - t0
        t0 = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "factfinder", "add", str(scratch), str(shared), str(calib)],
            env=env,
            check=True,
            capture_output=True,
        )
        exec_run_s = time.monotonic() - t0

        kills_per_case = KILLS // CASES
        outcomes: Counter[str] = Counter()
        kill = 0
        for c in range(CASES):
            state = CaseState(tmp_path / f"case-{c}")
            Case.init(state.path, f"crash case {c}", actor="crash-test", database_url=new_database())[0].close()
            exec_rounds = set(rng.sample(range(kills_per_case), EXEC_KILLS_PER_CASE))
            early_round = min(set(range(kills_per_case)) - exec_rounds)
            for r in range(kills_per_case):
                kill += 1
                # New evidence on every run (new items, new blobs) plus the shared folder (new receipts).
                fresh = data.folder(
                    f"case-{c}/run-{r:02d}", small=rng.randint(12, 30), medium_sizes=[rng.randint(1, 4) << 18]
                )
                state.folders.append(fresh)
                argv = ["add", str(state.path), str(shared), str(fresh), "--list"]
                out, err = tmp_path / f"out-{kill}.txt", tmp_path / f"err-{kill}.txt"
                if r in exec_rounds:
                    delay = rng.uniform(0, exec_run_s)
                    with open(out, "wb") as o, open(err, "wb") as e:
                        proc = subprocess.Popen(
                            [sys.executable, "-m", "factfinder", *argv], stdout=o, stderr=e, env=env
                        )
                        with contextlib.suppress(subprocess.TimeoutExpired):
                            proc.wait(timeout=delay)
                        proc.send_signal(signal.SIGKILL)
                        code = proc.wait(timeout=60)
                else:
                    # From ~0 to the run's end, denser towards the end, where batches commit one after another;
                    # one kill per case aimed at start-up and the first batch, since with few kills (20 on
                    # PostgreSQL) the draw alone sometimes puts fewer than 3 there.
                    spread = 0.15 * rng.random() if r == early_round else rng.random() ** 0.5
                    delay = fork_run_s * spread
                    pid = server.spawn(argv, out, err)
                    sleep_unless_exited(pid, delay)
                    os.kill(pid, signal.SIGKILL)  # a zombie if it already finished: then nothing happens
                    code = server.wait(pid)
                assert code in (0, -signal.SIGKILL), f"run {kill} exited {code}: {err.read_text()}"
                assert "Traceback" not in err.read_text()
                run_reported = reported_lines(out, data)
                outcomes["finished" if code == 0 else "killed after a commit" if run_reported else "killed early"] += 1
                check_case(state, run_reported, rehash_all=(r == kills_per_case - 1))

            # The next add cleans what the dead processes left in tmp/ and completes the job.
            out, err = tmp_path / f"out-final-{c}.txt", tmp_path / f"err-final-{c}.txt"
            argv = ["add", str(state.path), str(shared), *map(str, state.folders), "--list"]
            pid = server.spawn(argv, out, err, batch_items=None)  # the normal batch size
            assert server.wait(pid) == 0, err.read_text()
            assert leftovers(state.path) == [], "temporary files left after a completed add"
            receipts = check_case(state, reported_lines(out, data), rehash_all=True)
            sources = {data.digest[p.resolve()] for f in [shared, *state.folders] for p in f.rglob("*") if p.is_file()}
            assert sources <= set(receipts), "a source file is missing after the completing add"
            assert set(receipts) <= sources
    finally:
        server.close()

    assert kill == KILLS
    # The kills must actually have hit the interesting moments, not only start-up or the end.
    assert outcomes["killed after a commit"] >= 3, outcomes  # timing varies with the machine: 3 is enough
    assert outcomes["killed early"] >= 3, outcomes


def test_listed_lines_reach_stdout_while_a_progress_bar_draws_on_a_terminal(tmp_path: Path) -> None:
    """``add --list > added.txt`` at a terminal: the bar goes to stderr, every line still to the file."""
    import pty

    case_dir = tmp_path / "case"
    Case.init(case_dir, "pty", actor="t")[0].close()
    src = tmp_path / "src"
    src.mkdir()
    for i in range(30):
        (src / f"f{i}.txt").write_text(f"statement {i}\n")
    master, slave = pty.openpty()
    terminal: list[bytes] = []

    def drain() -> None:  # a terminal that nobody reads would block the bar
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                return
            if not chunk:
                return
            terminal.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        with open(tmp_path / "out.txt", "wb") as out:
            proc = subprocess.run(
                [sys.executable, "-m", "factfinder", "add", str(case_dir), str(src), "--list"],
                stdout=out,
                stderr=slave,
                env={**os.environ, "FACTFINDER_ACTOR": "t", "TERM": "xterm", "COLUMNS": "100"},
                timeout=60,
            )
    finally:
        os.close(slave)
        reader.join(timeout=10)
        os.close(master)
    assert proc.returncode == 0, b"".join(terminal).decode(errors="replace")
    assert b"added " not in b"".join(terminal), "listed lines went to the terminal instead of stdout"
    lines = (tmp_path / "out.txt").read_text().splitlines()
    listed = [ln for ln in lines if LINE.match(ln)]
    assert len(listed) == 30, lines
    assert lines[-1].startswith("30 new items")
