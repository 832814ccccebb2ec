"""Actors: who acts or suffers in a report, normalised and typed as ACLED types them.

Groups ("police", "OMON", "протестующие", "ереуілшілер") come from lexicons per
language (``actors-*.yaml``), each with its normalised name and ACLED's inter
code (1 state forces ... 7 civilians, 8 external). Named organisations are runs
of capitalised words ending with an organisation word ("People's Front",
"Human Rights Watch"); named people are a title followed by a name ("President
Nursultan Nazarbayev") or capitalised words ending like a surname ("Aizhangul
Amirova"). Names found this way are only as good as capitalisation; a person's
name is never logged.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from factfinder.text import lexicon
from factfinder.text.model import ActorMention, Lang

_UPPER = "A-ZА-ЯЁӘҒҚҢӨҰҮҺІ"
_CAP_WORD = rf"[{_UPPER}][\w'’-]*"


def _pattern(p: str) -> str:
    """Acronyms (all capitals) match only in capitals: "PDF" the militia, not "pdf" the file."""
    letters = re.sub(r"\\.|[^A-Za-zА-Яа-яЁёӘәҒғҚқҢңӨөҰұҮүҺһІі]", "", p)
    return f"(?-i:{p})" if letters and letters.isupper() else p


@dataclass(frozen=True)
class _Lexicon:
    groups: re.Pattern[str]
    names: list[tuple[str, int]]  # per named group g{i}: (actor, inter)
    organisation: re.Pattern[str]
    person: re.Pattern[str]
    surname: re.Pattern[str]


@functools.cache
def _lexicon(lang: Lang) -> _Lexicon:
    data = lexicon.load(f"actors-{lang}")
    alts: list[str] = []
    names: list[tuple[str, int]] = []
    for i, group in enumerate(data["groups"]):
        words = sorted((_pattern(w) for w in group["words"]), key=len, reverse=True)
        alts.append(f"(?P<g{i}>" + "|".join(words) + ")")
        names.append((group["actor"], int(group["inter"])))
    groups = re.compile(lexicon.WORD_START + "(?:" + "|".join(alts) + ")" + lexicon.WORD_END, re.IGNORECASE)
    heads = "|".join(data["organisation_heads"])
    link = r"(?:\s+(?:of|for|and|the|de|del|des|la|du)\s+|\s+)"
    organisation = re.compile(
        rf"(?<![\w])(?:the\s+)?((?:{_CAP_WORD}{link}){{0,5}}(?:{heads}))(?![\w])",
    )
    titles = "|".join(sorted(data["person_titles"], key=len, reverse=True))
    person = re.compile(rf"(?<![\w])(?i:{titles})\s+((?:{_CAP_WORD}\s+){{0,2}}{_CAP_WORD})")
    endings = "|".join(sorted(data["surname_endings"], key=len, reverse=True))
    surname = re.compile(rf"(?<![\w])({_CAP_WORD}\s+[{_UPPER}]\w*(?:{endings}))(?![\w])")
    return _Lexicon(groups, names, organisation, person, surname)


def find_actors(text: str, lang: Lang) -> list[ActorMention]:
    """Every actor mention in ``text``, in text order, without overlaps (named ones win)."""
    lex = _lexicon(lang)
    found: list[ActorMention] = []
    for m in lex.person.finditer(text):
        found.append(ActorMention(m.start(1), m.end(1), m.group(1), m.group(1), 7, "person"))
    for m in lex.surname.finditer(text):
        found.append(ActorMention(m.start(1), m.end(1), m.group(1), m.group(1), 7, "person"))
    for m in lex.organisation.finditer(text):
        name = m.group(1)
        if " " in name.strip() or (name[:1].isupper() and len(name) > 3 and name.isupper()):
            found.append(ActorMention(m.start(1), m.end(1), name, name, _organisation_type(name), "organisation"))
    for m in lex.groups.finditer(text):
        key = m.lastgroup
        if key is None:
            continue
        actor, inter = lex.names[int(key[1:])]
        found.append(ActorMention(m.start(), m.end(), m.group(), actor, inter, "group"))
    found.sort(key=lambda a: (a.start, -(a.end - a.start), a.role == "group"))
    out: list[ActorMention] = []
    for a in found:
        if out and a.start < out[-1].end:
            continue
        out.append(a)
    return out


_STATE_ORGS = re.compile(
    r"Ministry|Министерств|министрлі|Police|Court|Prosecutor|Office|Service|Committee|Parliament|Government",
    re.IGNORECASE,
)
_ARMED_ORGS = re.compile(r"Army|Forces|Guard|Brigade|Battalion|Division|Militia|Regiment|Liberation", re.IGNORECASE)


def _organisation_type(name: str) -> int:
    """State bodies are state forces (1); organisations named like armed units (Division, Brigade,
    Army) political militias (3); every other named organisation civilian (7) here. An analyst
    recodes one the lexicon misjudges."""
    if _STATE_ORGS.search(name):
        return 1
    return 3 if _ARMED_ORGS.search(name) else 7
