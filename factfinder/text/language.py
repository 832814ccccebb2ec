"""Which of the three languages a text is in: English, Russian or Kazakh.

Reports of the founding case came in all three, and each language has its own
lexicons, so the language is decided once per document. Script decides most of
it (Latin or Cyrillic); between Russian and Kazakh, the letters only Kazakh has
(ә ғ қ ң ө ұ ү һ і) and a few of its most common words decide. No model: this is
fast and cannot be wrong on a clean text in one of the three languages, and a
text in another language is read with the English lexicons, which find little.
"""

from __future__ import annotations

import re

from factfinder.text.model import Lang

KAZAKH_LETTERS = frozenset("әғқңөұүһіӘҒҚҢӨҰҮҺІ")
KAZAKH_WORDS = re.compile(r"(?<!\w)(және|бұл|мен|деп|болды|туралы|бойынша|жылы|адам|облысы)(?!\w)", re.IGNORECASE)
CYRILLIC = re.compile(r"[\u0400-\u04FF]")
LATIN = re.compile(r"[A-Za-z]")

SAMPLE = 4000
"""Characters looked at: enough to decide, and a long text costs no more than a short one."""


def detect(text: str) -> Lang:
    """The language of ``text``: "kk" or "ru" when mostly Cyrillic, else "en"."""
    sample = text[:SAMPLE]
    cyrillic = len(CYRILLIC.findall(sample))
    if cyrillic <= len(LATIN.findall(sample)):
        return "en"
    kazakh = sum(1 for ch in sample if ch in KAZAKH_LETTERS)
    if kazakh * 100 >= cyrillic or len(KAZAKH_WORDS.findall(sample)) >= 2:
        return "kk"
    return "ru"


def resolve(text: str, lang: str) -> Lang:
    """``lang`` as asked ("auto" detects); refuses a language the text stage has no lexicons for."""
    if lang == "auto":
        return detect(text)
    if lang not in ("en", "ru", "kk"):
        raise ValueError(f"language {lang!r}: give auto, en, ru or kk")
    return lang  # type: ignore[return-value]
