"""The text step for what a web submission or an upload has just recorded, run after the response.

``factfinder process`` reads the claims of every text item; texts that arrive
through the web app are read at once, after the receipt has gone out, so that
analysts find their claims on the item page without waiting for the next run.
The reading runs in the worker thread Starlette gives background tasks: the
finders are rules and lexicons over at most ``store.MAX_TEXT_BYTES`` of text,
with no decoder of hostile binary formats to crash. A failure is logged by its
type only, never with the text, and the item waits for ``factfinder process``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from fastapi import BackgroundTasks

from factfinder.text import store
from factfinder.vault.case import Case, Recorded

logger = logging.getLogger(__name__)


def text_digests(recorded: Sequence[Recorded]) -> list[str]:
    """The digests among ``recorded`` that the text step reads."""
    return sorted({r.sha256 for r in recorded if r.media_type.startswith("text/")})


def schedule(tasks: BackgroundTasks, case: Case, recorded: Sequence[Recorded]) -> None:
    """Have the texts among ``recorded`` read for claims after the response is sent (nothing if none)."""
    digests = text_digests(recorded)
    if digests and not case.read_only:
        tasks.add_task(read_digests, case, digests)


def read_digests(case: Case, digests: Sequence[str]) -> None:
    try:
        report = store.read_items(case, list(digests))
    except Exception as exc:  # a background task has nobody to report to but the log
        logger.error("text step after intake failed: %s", type(exc).__name__)
        return
    if report.errors:
        logger.error("text step after intake: %d of %d item(s) could not be read", len(report.errors), report.read)
