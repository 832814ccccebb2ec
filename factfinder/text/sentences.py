"""Sentences of a document, with their offsets: the unit a claim is read in.

razdel (Natasha project) splits Russian well and English and Kazakh well enough:
it knows abbreviations ("т.е.", "Dec.", "Mr.") and quotes. A claim keeps its
sentence's offsets so a reader can always see the statement in its context.
Paragraph breaks always end a sentence (razdel would join a heading to the
next line).
"""

from __future__ import annotations

import re

from razdel import sentenize

from factfinder.text.model import Sentence

_ABBREVIATION = re.compile(
    r"(?<![\w])((?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec|Mr|Mrs|Ms|Dr|Gen|Col|Lt|Capt|Gov|Sen|Rep|St|No"
    r"|Nos|Art|approx|ул|г|гг|им|обл|р-н)\.)\s(?=\d)"
)
"""Abbreviations razdel ends a sentence after when a number follows ("Dec. 16"): the space after them is
masked (with a character of the same length, so offsets hold) before razdel reads the text."""

_PARAGRAPH = re.compile(r"\n\s*\n|\n(?=\s*[\"“«A-ZА-ЯЁӘҒҚҢӨҰҮҺІ])")


def split(text: str) -> list[Sentence]:
    """The sentences of ``text`` in order; offsets index ``text`` itself."""
    out: list[Sentence] = []
    start = 0
    for brk in [*_PARAGRAPH.finditer(text), None]:
        end = brk.start() if brk is not None else len(text)
        block = text[start:end]
        for s in sentenize(_ABBREVIATION.sub(r"\1_", block)):
            if block[s.start : s.stop].strip():
                out.append(Sentence(start + s.start, start + s.stop, block[s.start : s.stop]))
        if brk is not None:
            start = brk.end()
    return out


def containing(sentences: list[Sentence], offset: int) -> Sentence | None:
    """The sentence that holds character ``offset``, by bisection (sentences are in order)."""
    lo, hi = 0, len(sentences)
    while lo < hi:
        mid = (lo + hi) // 2
        if sentences[mid].end <= offset:
            lo = mid + 1
        else:
            hi = mid
    if lo < len(sentences) and sentences[lo].start <= offset:
        return sentences[lo]
    return None
