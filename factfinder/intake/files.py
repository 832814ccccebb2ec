"""Intake of files and folders from disk (a USB stick, a download folder, a phone dump).

Files are found recursively (following links to folders, but never twice into
the same folder, so a link loop ends), streamed into the blob store by a pool
of threads, and recorded in batches: one database transaction and one signed
checkpoint per batch. A file is reported as added only after its batch has
committed, so whatever was reported survives a crash.

A file named ``NAME.factfinder.json`` next to ``NAME`` is its sidecar: it
carries details the command line cannot give per file (witness name, phone and
contact, which are sealed at once; source, note, when and by whom collected).
Sidecars are read, not stored as items.
"""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from factfinder.vault import sniff
from factfinder.vault.blobs import Cancelled
from factfinder.vault.case import Case, NewReceipt, Recorded, validate_claimed_time
from factfinder.vault.errors import IntakeError, VaultError
from factfinder.vault.sealing import PROTECTED_FIELDS

SIDECAR_SUFFIX = ".factfinder.json"
BATCH_ITEMS = 256
SYNC_IN_BATCH = 1 << 20  # files up to this size are made durable together, per batch
BATCH_SECONDS = 0.5
SIDECAR_KEYS = {"source", "note", "collected_at", "collected_by", "witness", *PROTECTED_FIELDS}


@dataclass
class IntakeOptions:
    """What the person adding files says about all of them."""

    actor: str
    channel: str = "files"
    source: str | None = None
    note: str | None = None
    collected_at_claimed: str | None = None
    collected_by_claimed: str | None = None
    protected: dict[str, str] = field(default_factory=dict)


@dataclass
class IntakeReport:
    added: list[tuple[Path, Recorded]] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    interrupted: bool = False

    @property
    def new_items(self) -> int:
        return sum(1 for _, r in self.added if r.new_item)


@dataclass(frozen=True)
class Found:
    path: Path
    size: int


def discover(paths: Iterable[Path], failed: list[tuple[Path, str]]) -> Iterator[Found]:
    """Regular files under ``paths``, in a stable order; problems go to ``failed``."""
    seen_dirs: set[tuple[int, int]] = set()
    for top in paths:
        try:
            st = os.stat(top)
        except OSError as exc:
            missing = isinstance(exc, FileNotFoundError) and not os.path.lexists(top)
            failed.append((top, "no such file or folder" if missing else _reason(exc, top)))
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from _walk(top, seen_dirs, failed)
        elif stat.S_ISREG(st.st_mode):
            if not top.name.endswith(SIDECAR_SUFFIX):
                yield Found(top, st.st_size)
        else:
            failed.append((top, "not a regular file"))


def _walk(folder: Path, seen: set[tuple[int, int]], failed: list[tuple[Path, str]]) -> Iterator[Found]:
    try:
        st = os.stat(folder)
    except OSError as exc:
        failed.append((folder, _reason(exc)))
        return
    key = (st.st_dev, st.st_ino)
    if key in seen:
        failed.append((folder, "folder already visited (a link loop?): skipped"))
        return
    seen.add(key)
    try:
        with os.scandir(folder) as it:
            children = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        failed.append((folder, _reason(exc)))
        return
    for child in children:
        path = Path(child.path)
        try:
            cst = os.stat(path)
        except OSError as exc:
            failed.append((path, _reason(exc, path)))
            continue
        if stat.S_ISDIR(cst.st_mode):
            yield from _walk(path, seen, failed)
        elif stat.S_ISREG(cst.st_mode):
            if not child.name.endswith(SIDECAR_SUFFIX):
                yield Found(path, cst.st_size)
        else:
            failed.append((path, "not a regular file (device, pipe or socket): skipped"))


def _reason(exc: OSError, path: Path | None = None) -> str:
    if isinstance(exc, FileNotFoundError):
        if path is not None and path.is_symlink():
            return "broken symbolic link (its target does not exist)"
        return "vanished before it could be read"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if exc.errno == 40:  # ELOOP
        return "too many levels of symbolic links"
    return exc.strerror or exc.__class__.__name__


def read_sidecar(path: Path) -> dict[str, Any]:
    """Details for ``path`` from its ``.factfinder.json`` sidecar, if it has one."""
    sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
    if not sidecar.is_file():
        return {}
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IntakeError(f"sidecar {sidecar.name} is not valid JSON") from exc
    if not isinstance(data, dict) or not set(data) <= SIDECAR_KEYS:
        raise IntakeError(f"sidecar {sidecar.name} has unknown keys (allowed: {', '.join(sorted(SIDECAR_KEYS))})")
    witness = data.pop("witness", None) or {}
    if not isinstance(witness, dict):
        raise IntakeError(f"sidecar {sidecar.name}: 'witness' must be an object")
    for key in ("name", "phone", "contact"):
        if witness.get(key):
            data[f"witness_{key}"] = str(witness[key])
    for key, value in data.items():
        if value is not None and not isinstance(value, str):
            raise IntakeError(f"sidecar {sidecar.name}: {key!r} must be a string")
    return {k: v for k, v in data.items() if v is not None}


def _open_regular(path: Path) -> tuple[Any, int]:
    """Open without blocking on FIFOs and check, on the open descriptor, that it is a regular file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise IntakeError(_reason(exc)) from exc
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise IntakeError("not a regular file")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb", buffering=0), st.st_size


def _details_for(found: Found, options: IntakeOptions) -> dict[str, Any]:
    """The receipt's details (options, overridden by the sidecar). Raises before anything is stored."""
    side = read_sidecar(found.path)
    protected = dict(options.protected)
    for name in PROTECTED_FIELDS:
        if side.get(name):
            protected[name] = side[name]
    try:
        collected_at = validate_claimed_time(side.get("collected_at", options.collected_at_claimed))
    except VaultError as exc:
        raise IntakeError(f"sidecar {found.path.name}{SIDECAR_SUFFIX}: {exc}") from exc
    return {
        "channel": options.channel,
        "source": side.get("source", options.source),
        "note": side.get("note", options.note),
        "original_name": found.path.name,
        "collected_at_claimed": collected_at,
        "collected_by_claimed": side.get("collected_by", options.collected_by_claimed),
        "protected": protected,
    }


def add_paths(
    case: Case,
    paths: Iterable[Path],
    options: IntakeOptions,
    *,
    on_start: Callable[[int, int], None] | None = None,
    on_bytes: Callable[[int], None] | None = None,
    on_recorded: Callable[[Path, Recorded], None] | None = None,
    cancel: threading.Event | None = None,
    workers: int | None = None,
) -> IntakeReport:
    """Add every file under ``paths``. Ctrl-C (or ``cancel``) stops cleanly after the current batch."""
    report = IntakeReport()
    cancel = cancel or threading.Event()
    case.log._require_signer()
    case.blobs.remove_stale_temporaries()
    workers = workers or min(16, 8 * (os.cpu_count() or 1))
    inflight: deque[tuple[Found, Future[NewReceipt]]] = deque()
    batch: list[tuple[Path, NewReceipt]] = []
    last_commit = time.monotonic()

    def store(found: Found) -> NewReceipt:
        if cancel.is_set():
            raise Cancelled()
        details = _details_for(found, options)  # a bad sidecar refuses the file before a blob is written
        fh, size = _open_regular(found.path)
        with fh:
            blob = case.blobs.put_file(
                fh,
                expected_size=size,
                cancel=cancel,
                progress=on_bytes,
                sync_folder=False,
                defer_sync=size <= SYNC_IN_BATCH,  # small files: one filesystem sync per batch
            )
        # libmagic here, in the worker threads (it releases the GIL), not on the committing thread.
        return NewReceipt(blob=blob, media_type=sniff.media_type(blob.head), **details)

    def commit() -> None:
        nonlocal batch, last_commit
        if batch:
            done = case.record([r for _, r in batch], actor=options.actor)
            for (path, _), rec in zip(batch, done, strict=True):
                report.added.append((path, rec))
                if on_recorded:
                    on_recorded(path, rec)
        batch = []
        last_commit = time.monotonic()

    def collect(block: bool) -> None:
        while inflight and (block or inflight[0][1].done()):
            found, fut = inflight.popleft()
            try:
                batch.append((found.path, fut.result()))
            except Cancelled:
                continue
            except (IntakeError, VaultError) as exc:
                report.failed.append((found.path, str(exc)))
            except OSError as exc:
                report.failed.append((found.path, _reason(exc)))
            if len(batch) >= BATCH_ITEMS or time.monotonic() - last_commit > BATCH_SECONDS:
                commit()

    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="intake") as pool:
            try:
                todo = list(discover(paths, report.failed))
                if on_start:
                    on_start(len(todo), sum(f.size for f in todo))
                for found in todo:
                    if cancel.is_set():
                        break
                    inflight.append((found, pool.submit(store, found)))
                    while len(inflight) >= workers * 4:
                        collect(block=True)
                    collect(block=False)
                collect(block=True)
            except KeyboardInterrupt:
                cancel.set()
                report.interrupted = True
                collect(block=True)
        commit()
    except KeyboardInterrupt:
        # A second Ctrl-C during the final commit: the transaction rolls back as a whole.
        report.interrupted = True
        raise
    if cancel.is_set():
        report.interrupted = True
    return report
