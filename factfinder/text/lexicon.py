"""Language data files (YAML under ``factfinder/text/data``), loaded once and compiled once.

Rules and word lists are data, reviewed like code, one file per kind and
language (``counts-ru.yaml``). Patterns are regular expressions matched
case-insensitively; ``words`` wraps a list of them into one alternation held
between word boundaries that know Cyrillic as well as Latin letters.
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from typing import Any

import yaml

WORD_START = r"(?<![\w])"
WORD_END = r"(?![\w])"


@functools.cache
def load(name: str) -> Any:
    """The parsed YAML file ``factfinder/text/data/{name}.yaml``."""
    path = resources.files("factfinder.text") / "data" / f"{name}.yaml"
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def words(patterns: list[str], *, flags: int = re.IGNORECASE) -> re.Pattern[str]:
    """One compiled alternation of ``patterns``, each held between word boundaries.

    Longer patterns are tried first, so "no one" wins over "no"."""
    ordered = sorted(patterns, key=len, reverse=True)
    return re.compile(WORD_START + "(?:" + "|".join(f"(?:{p})" for p in ordered) + ")" + WORD_END, flags)
