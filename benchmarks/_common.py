"""Helpers the benchmark scripts share: cold caches, timing, the factfinder CLI, printing.

Each benchmark measures factfinder and its physical baseline *in the same run*,
on the same files, so that the ratio between them means something on any
machine; absolute figures only describe the machine they were taken on.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_WORKDIR = Path(os.environ.get("FACTFINDER_BENCH_DIR", "/tmp/factfinder-bench"))
MB = 1_000_000


@dataclass
class Figure:
    """One measured figure: what was timed, how long it took, and its rate."""

    name: str
    seconds: float
    rate: float | None = None
    unit: str = ""
    note: str = ""


@dataclass
class Report:
    """What one benchmark script found: its figures, ratios and whether the goals were met."""

    benchmark: str
    figures: list[Figure] = field(default_factory=list)
    ratios: dict[str, float] = field(default_factory=dict)
    goals: dict[str, bool] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, fig: Figure) -> Figure:
        self.figures.append(fig)
        rate = f"  {fig.rate:,.1f} {fig.unit}" if fig.rate is not None else ""
        note = f"  ({fig.note})" if fig.note else ""
        print(f"  {fig.name:<52} {fig.seconds:9.3f} s{rate}{note}", flush=True)
        return fig

    def ratio(self, name: str, value: float, goal: float, *, at_most: bool = True) -> None:
        self.ratios[name] = value
        ok = value <= goal if at_most else value >= goal
        self.goals[name] = ok
        sign = "<=" if at_most else ">="
        print(f"  {name:<52} {value:9.2f}x  goal {sign} {goal}x: {'met' if ok else 'MISSED'}", flush=True)

    def goal(self, name: str, value: float, goal: float, unit: str, *, at_most: bool) -> None:
        ok = value <= goal if at_most else value >= goal
        self.goals[name] = ok
        sign = "<=" if at_most else ">="
        print(f"  {name:<52} {value:9.3f} {unit}  goal {sign} {goal} {unit}: {'met' if ok else 'MISSED'}", flush=True)

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  note: {text}", flush=True)

    def write(self, path: Path | None) -> None:
        """Write the report as JSON (for ``run_all.py``) when a path is given."""
        if path is not None:
            data = asdict(self) | {"machine": machine()}
            path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def machine() -> dict[str, Any]:
    """What the figures were taken on: they are only comparable on the same machine."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu": model, "python": platform.python_version(), "system": platform.platform()}


def can_drop_caches() -> bool:
    """Whether this process may empty the kernel's page cache (root on Linux)."""
    return os.geteuid() == 0 and os.access("/proc/sys/vm/drop_caches", os.W_OK)


def drop_caches() -> bool:
    """Flush dirty pages and empty the page cache, so each measurement reads from disk.

    Without it the second measurement would read what the first left in memory
    and look faster than it is. Returns False (caches stay warm) when not root.
    """
    os.sync()
    if not can_drop_caches():
        return False
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError:
        return False
    return True


def timed(fn: Callable[[], object]) -> float:
    """Seconds ``fn`` takes, by the monotonic clock."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def factfinder_cmd(*args: str) -> list[str]:
    """The factfinder command line as a person would run it (the installed entry point)."""
    exe = Path(sys.executable).with_name("factfinder")
    if exe.exists():
        return [str(exe), *args]
    return [sys.executable, "-m", "factfinder", *args]


def run(cmd: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
    """Run a command, failing loudly (a benchmark of a failing command measures nothing)."""
    proc = subprocess.run(list(cmd), capture_output=True, check=False, **kwargs)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace"))
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}")
    return proc


def new_case(path: Path) -> None:
    """A fresh, empty case folder made by ``factfinder init`` (not part of any timing)."""
    if path.exists():
        shutil.rmtree(path)
    run(factfinder_cmd("init", str(path), "--title", "benchmark", "--actor", "bench"))


def case_item_count(path: Path) -> int:
    """Items in a case, to check that an ingest really took everything."""
    sys.path.insert(0, str(REPO))
    from factfinder.vault.case import Case

    with Case.open(path) as case:
        return case.counts()["items"]


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def header(title: str, cold: bool) -> None:
    m = machine()
    cache = "page cache dropped before each measurement" if cold else "WARM page cache (not root: cannot drop it)"
    print(f"{title}\n  machine: {m['cpus']} CPUs, {m['cpu']}, Python {m['python']}; {cache}", flush=True)
