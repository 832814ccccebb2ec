"""Reconciled counts: every figure with its source, grouped so that repeats count once, then summed up.

The rules, in the order they are applied (docs/findings.md says the same for readers of a report):

1. **Groups.** Figures of one origin (``sources.source_of``) are one group. So are figures whose sentences
   are the same words: a reprint under another masthead, or a wire copy, is not a second source.
2. **Current figure of a group**: its figure in its latest report (a source that revised its toll is
   counted at its revision); of several figures in that report, the largest (a total is at least its parts).
3. **Official history**: the officials' figures in order of publication, a repeat of the same figure left
   out, so a toll that moved 10 -> 11 -> 16 reads so.
4. **Conservative figure** (ACLED's rule: the most conservative estimate when reports conflict): the
   lowest current figure of any independent group or of the authorities (whose current figure is the
   latest of any official body: a ministry's 11 is not current once the prosecutor says 16), its low
   bound ("at least 14" is 14, "14-16" is 14). One exception: it is never below the authorities' latest
   figure, because an admission against their own interest is a floor, not an estimate.
5. **Independent range**: the lowest and highest current figure of the groups that are not official.
6. **Disputes**: each independent current figure that differs from the officials' latest, and each time
   the officials changed their own figure.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import replace

from factfinder.findings.model import SOURCE_TYPE_LABELS, CountTable, Figure
from factfinder.text import names

_SPACE = re.compile(r"\s+")


class _Groups:
    """Union-find over keys (origins, sentences), handing out group numbers in order of first appearance."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, key: str) -> str:
        self.parent.setdefault(key, key)
        root = key
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[key] != root:
            self.parent[key], key = root, self.parent[key]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def sentence_key(sentence: str) -> str:
    """The words of a sentence, spelling-blind: two copies of a report give the same key."""
    return "sentence:" + " ".join(names.fold(w) for w in _SPACE.split(sentence.strip()) if names.fold(w))


def group(figures: Iterable[Figure], sentence_of: Callable[[Figure], str | None]) -> list[Figure]:
    """``figures`` in order of publication, each with its group number and, for a repeat, what it repeats."""
    ordered = sorted(figures, key=lambda f: (f.reported_on, f.item_id, f.claim_id))
    uf = _Groups()
    for f in ordered:
        uf.find(f.source.origin)
        said = sentence_of(f)
        if said:
            uf.union(f.source.origin, sentence_key(said) + f"/{f.what}/{f.low}/{f.high}")
    numbers: dict[str, int] = {}
    first_of: dict[tuple[int, int, int | None], int] = {}
    out: list[Figure] = []
    for f in ordered:
        number = numbers.setdefault(uf.find(f.source.origin), len(numbers) + 1)
        key = (number, f.low, f.high)
        repeats = first_of.get(key)
        if repeats is None:
            first_of[key] = f.claim_id
        out.append(replace(f, group=number, repeats=repeats))
    return out


def current(figures: list[Figure]) -> dict[int, Figure]:
    """Each group's current figure: the largest in its latest report."""
    latest: dict[int, Figure] = {}
    for f in figures:
        have = latest.get(f.group)
        if have is None or f.reported_on > have.reported_on or (f.reported_on == have.reported_on and f.low > have.low):
            latest[f.group] = f
    return latest


def _top(f: Figure) -> int:
    return f.high if f.high is not None else f.low


def _official(f: Figure) -> bool:
    return f.source.type == "official"


def table(
    what: str,
    figures: Iterable[Figure],
    sentence_of: Callable[[Figure], str | None],
    compared: Callable[[Figure], bool] | None = None,
) -> CountTable:
    """The reconciled table of one thing counted from ``figures``.

    All figures are listed; only those ``compared`` accepts (all, by default) are reconciled: for the whole
    case, the figures about its principal incident, so the one death reported in another town is shown but
    is not taken for a low estimate of the total, nor an official's figure for it for a step in the toll."""
    grouped = group([f for f in figures if f.what == what], sentence_of)
    weighed = [f for f in grouped if compared is None or compared(f)]
    now = current(weighed)
    history: list[Figure] = []
    for f in weighed:
        if not _official(f):
            continue
        if history and history[-1].reported_on == f.reported_on:
            if f.low > history[-1].low:
                history[-1] = f
            continue
        if not history or (history[-1].low, history[-1].high) != (f.low, f.high):
            history.append(f)
    independent = [f for f in now.values() if not _official(f)]
    # The authorities speak with one voice here: a ministry's 11 is not current once a prosecutor says 16.
    voices = independent + ([history[-1]] if history else [])
    conservative: int | None = None
    reason = "no figure given"
    if voices:
        lowest = min(voices, key=lambda f: (f.low, f.reported_on))
        conservative = lowest.low
        reason = f"the lowest current figure: {lowest.text} ({lowest.source.name}, {lowest.reported_on.isoformat()})"
        if history:
            floor = history[-1]
            if floor.low > conservative:
                reason = (
                    f"the authorities' own latest figure, {floor.text} ({floor.source.name}, "
                    f"{floor.reported_on.isoformat()}): an admission is a floor, though {lowest.source.name} "
                    f"gave {lowest.text} ({lowest.reported_on.isoformat()})"
                )
                conservative = floor.low
    disputes: list[str] = []
    for earlier, later in itertools.pairwise(history):
        disputes.append(
            f"the official figure changed from {earlier.text} ({earlier.reported_on.isoformat()}) "
            f"to {later.text} ({later.reported_on.isoformat()})"
        )
    if history:
        official = history[-1]
        for f in sorted(independent, key=lambda f: (f.low, f.reported_on)):
            if (f.low, f.high) != (official.low, official.high) and not (f.high is None and official.low >= f.low):
                disputes.append(
                    f"{f.source.name} ({SOURCE_TYPE_LABELS[f.source.type]}) gives {f.text} "
                    f"against the official {official.text}"
                )
    elif len({(f.low, f.high) for f in independent}) > 1:
        values = ", ".join(f"{f.text} ({f.source.name})" for f in sorted(independent, key=lambda f: f.low))
        disputes.append(f"sources disagree: {values}")
    return CountTable(
        what=what,
        figures=grouped,
        official_history=history,
        conservative=conservative,
        conservative_reason=reason,
        independent_low=min((f.low for f in independent), default=None),
        independent_high=max((_top(f) for f in independent), default=None),
        independent_sources=len({f.group for f in weighed if not _official(f)}),
        disputes=disputes,
    )
