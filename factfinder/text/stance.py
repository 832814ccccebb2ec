"""How a sentence holds a statement: the speaker's own observation, or reported, hedged, negated, future.

"Police opened fire" said by a witness is an observation; "according to the
authorities, 16 died" is the authorities' figure, reported; "reportedly left at
least 15 dead" is hedged; "no one was killed" is negated; "will hold a rally"
has not happened. Counting and corroboration (issue 6) weigh claims by this, so
each claim carries it. The cues are lexicons per language (``stance-*.yaml``).

Scope is kept simple and explainable: reported speech and hedges hold for the
whole sentence; negation and the future only count in the words just before the
claim (``WINDOW``) or inside it, so "Police did not allow journalists in; three
people were killed" does not negate the killing.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from factfinder.text import lexicon
from factfinder.text.model import Lang, Sentence, Stance

WINDOW = 40
"""Characters before a claim in which a negation or a future marker applies to it."""

SCOPE = 300
"""Characters on each side of a claim in which its stance is read (a whole ordinary sentence)."""

_CLAUSE_BREAK = re.compile(r"[;:]|,\s+(?:but|while|and|а|но|ал|бірақ)\s|\bbut\b|\bно\b|\bбірақ\b")


@dataclass(frozen=True)
class _Cues:
    reported: list[re.Pattern[str]]
    hedged: re.Pattern[str]
    negated: re.Pattern[str]
    future: re.Pattern[str]


@functools.cache
def _cues(lang: Lang) -> _Cues:
    data = lexicon.load(f"stance-{lang}")
    return _Cues(
        reported=[re.compile(lexicon.WORD_START + p, re.IGNORECASE) for p in data["reported"]],
        hedged=lexicon.words(data["hedged"]),
        negated=lexicon.words(data["negated"]),
        future=lexicon.words(data["future"]),
    )


def _source(text: str) -> str | None:
    text = text.strip(" \"'“”«»")
    for lead in ("the ", "a ", "an "):
        if text.lower().startswith(lead) and len(text) > len(lead) + 2:
            break
    return text or None


def of(sentence: Sentence, start: int, end: int, lang: Lang) -> Stance:
    """The stance of the claim at ``[start, end)`` (document offsets) inside ``sentence``."""
    cues = _cues(lang)
    # Only the claim's neighbourhood of a long sentence: a sentence without a full stop can run for pages.
    lo = max(sentence.start, start - SCOPE)
    s = sentence.text[lo - sentence.start : min(sentence.end, end + SCOPE) - sentence.start]
    a, b = max(0, start - lo), max(0, end - lo)
    reported = False
    source: str | None = None
    for pat in cues.reported:
        m = pat.search(s)
        if m is None:
            continue
        reported = True
        if "source" in pat.groupindex and m.group("source"):
            source = _source(m.group("source"))
            break
    hedged = cues.hedged.search(s) is not None
    # negation and the future: the clause's words just before the claim, and the claim itself
    before = s[max(0, a - WINDOW) : a]
    breaks = list(_CLAUSE_BREAK.finditer(before))
    if breaks:
        before = before[breaks[-1].end() :]
    near = before + " " + s[a:b]
    negated = cues.negated.search(near) is not None
    future = cues.future.search(near) is not None
    return Stance(reported=reported, source=source, hedged=hedged, negated=negated, future=future)
