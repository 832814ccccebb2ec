"""The media scan and the text step of what a web submission or an upload has just recorded, after the response.

A witness on a failing connection must get their receipt at once, so the
analysis (decoding, hashing, matching: seconds for a photo, minutes for a long
video) never runs inside the request: the route hands the new digests to
:func:`schedule`, and Starlette runs :func:`scan_digests` once the response
has gone out.

The scan itself runs in a child process, for the same reason ``media scan``
decodes in worker processes: the files come from anyone, and a decoder that
crashes or hangs on a hostile file must take down a disposable process, not
the server every witness depends on. New texts are read for claims in the same
child: a hostile text of a few megabytes of capitalised words keeps the place
finder busy for a minute, which must not hold the server's interpreter. Only one scan runs at a time per server
process (a second submission's digests are queued and picked up by the scan
already running), so a burst of submissions cannot start a crowd of decoders
or tie up the worker threads that serve pages.

What is logged says how many items and what kind of failure, never a digest,
a file name or anything a witness wrote.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path

from fastapi import BackgroundTasks

from factfinder.media import analyse
from factfinder.vault.case import Case, Recorded

logger = logging.getLogger(__name__)

TIMEOUT_S = 3600.0
"""A scan still running after this is killed; what it had recorded stays, the rest waits for ``media scan``."""

_running = threading.Lock()  # held while a scan runs: at most one per server process
_queue_lock = threading.Lock()  # guards _queue
_queue: dict[Path, tuple[Case, set[str]]] = {}  # case folder -> the case and the digests waiting for a scan


def media_digests(recorded: Sequence[Recorded]) -> list[str]:
    """The digests among ``recorded`` that the media step analyses (images, video, audio, unknown binaries)."""
    return sorted({r.sha256 for r in recorded if analyse.media_kind(r.media_type) is not None})


def text_digests(recorded: Sequence[Recorded]) -> list[str]:
    """The digests among ``recorded`` that the text step reads for claims."""
    return sorted({r.sha256 for r in recorded if r.media_type.startswith("text/")})


def schedule(tasks: BackgroundTasks, case: Case, recorded: Sequence[Recorded]) -> None:
    """Have the media items among ``recorded`` analysed, and its texts read, after the response is sent."""
    digests = sorted({*media_digests(recorded), *text_digests(recorded)})
    if digests and not case.read_only:
        tasks.add_task(scan_digests, case, digests)


def scan_digests(case: Case, digests: Sequence[str]) -> None:
    """Queue ``digests`` and, unless a scan is already running (it will take them), scan until the queue is empty.

    Never blocks waiting for another scan: a worker thread that finds one
    running returns at once, its digests left for that scan to pick up.
    """
    with _queue_lock:
        _queue.setdefault(case.path, (case, set()))[1].update(digests)
    while True:
        if not _running.acquire(blocking=False):
            return  # the running scan re-checks the queue before it lets go
        try:
            _drain()
        finally:
            _running.release()
        with _queue_lock:
            if not _queue:
                return  # else: digests arrived while the lock was being released; go round again


def _drain() -> None:
    while True:
        with _queue_lock:
            if not _queue:
                return
            _, (case, digests) = _queue.popitem()
        try:
            _scan(case, sorted(digests))
        except Exception as exc:  # a background task has nobody to report to but the log
            logger.error("media scan after intake failed: %s", type(exc).__name__)


def _scan(case: Case, digests: list[str]) -> None:
    """Scan in one child process; after a crash, each item in a process of its own, so one bad file costs only itself.

    Items already analysed (a file sent again) start no process at all.
    """
    from factfinder.media import scan
    from factfinder.text import store

    todo = sorted({sha for _, sha, _ in scan.pending(case, digests=digests)} | set(store.unread(case, digests)))
    if not todo:
        return
    if _run_child(case.path, todo) == "crashed" and len(todo) > 1:
        for digest in todo:
            _run_child(case.path, [digest])


def _run_child(path: Path, digests: list[str]) -> str:
    """Run the scan of ``digests`` in a fresh process; returns ``ok``, ``error``, ``crashed`` or ``timeout``."""
    ctx = multiprocessing.get_context("forkserver")  # no fork() of a server process that has threads
    receiving, sending = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(str(path), digests, sending), daemon=True, name="factfinder-media-scan")
    child.start()
    sending.close()
    try:
        child.join(TIMEOUT_S)
        if child.is_alive():
            child.kill()
            child.join()
            logger.error("media scan after intake of %d item(s) timed out after %.0f s", len(digests), TIMEOUT_S)
            return "timeout"
        try:
            answer = receiving.recv() if receiving.poll() else None
        except EOFError:  # the child died without answering: the pipe reads as ready, then empty
            answer = None
    finally:
        receiving.close()
    if not isinstance(answer, tuple) or not answer:
        logger.error("media scan after intake of %d item(s): its process died (exit %s)", len(digests), child.exitcode)
        return "crashed"
    if answer[0] != "ok":
        logger.error("media scan after intake of %d item(s) failed: %s", len(digests), answer[1])
        return "error"
    analysed, partial, failed = answer[1:]
    logger.info("media scan after intake: %d analysed (%d in part, %d failed)", analysed, partial, failed)
    return "ok"


def _child(case_dir: str, digests: list[str], out: Connection) -> None:
    """In the child process: open the case by its folder, scan, report counts (or the exception's type only)."""
    try:
        from factfinder.media import scan
        from factfinder.text import store

        with Case.open(Path(case_dir)) as case:
            report = scan.scan_case(case, digests=digests, workers=1)
            store.read_items(case, digests)
        out.send(("ok", report.analysed, report.partial, report.failed))
    except Exception as exc:
        out.send(("error", type(exc).__name__))
    finally:
        out.close()
