"""Counts: figures tied to what they count (killed, injured, detained, missing, crowd, police, days).

``find_counts(text, lang)`` reads the figures of a text
(``factfinder.text.numbers``) and ties each to what it counts from the words
around it, by a lexicon per language (``data/counts-{en,ru,kk}.yaml``, loaded
and compiled once). The order of the cues, strongest first, is set out at the
top of ``counts-en.yaml``: ACLED's crowd-size tag ("[size=around 200]"); days
or another unit straight after the figure ("for four days"; "3 km" counts no
people); a predicate right before it ("killing 14", "погибли 15 человек", "the
death toll rose to 16"); a predicate after its noun phrase ("15 people were
killed", "16 погибших", "64 адам жараланды"), which wins over the noun ("3
police officers were killed" is killed, not police) unless it is the figure's
own action ("2,000 police arrested 30 protesters"); coordination with a tied
figure ("3 soldiers and 2 civilians were killed"); and last a count noun
("about 2,000 protesters", "100 riot police", "hundreds of demonstrators").

Beside figures written out, two kinds of count have no figure of their own:

- **one**, from a singular noun or verb: "a protester was shot dead",
  "killing a man", "the body of a man was found", "погиб протестующий". The
  ``NumberMention`` is the word that makes it one ("a", "him", "погиб") with
  low = high = 1, qualifier exact.
- **none**, from a negation: "no one was killed", "no fatalities", "никто не
  погиб", "ешкім қаза тапқан жоқ". The count is 0, qualifier exact, and the
  ``NumberMention`` is the negating words ("no one", "никто"). The caller's
  stance may well mark the sentence negated; the 0 already says what the
  negation means, so it must not be undone again. "No injuries or fatalities"
  gives two counts of 0 (injured and killed) from the one "no".

Days may also stand in one word with their figure (Russian "после
четырёхдневного отключения": 4 days; the figure is the word's first part).

A death named by a noun counts only after a verb of result or report
("resulting in the deaths of 3 people", "привело к гибели 16 человек",
"confirmed the deaths of 11"): "protesting the killing of 3 activists" names a
grievance, not a toll. Otherwise a count is found wherever the text states it:
which event it belongs to ("residents blocked the road after a rider was
killed", "commemorating the 16 killed in 2011") is the caller's to decide.

Each figure is used once; counts come back in text order. What happens to them
next (summing "3 soldiers and 2 civilians", choosing between reports) is the
text stage's business.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from factfinder.text import lexicon
from factfinder.text.model import CountMention, CountWhat, Lang, NumberMention
from factfinder.text.numbers import find_numbers

WHATS: tuple[CountWhat, ...] = ("killed", "injured", "detained", "missing", "crowd", "police", "days")
PREDICATES: tuple[CountWhat, ...] = ("killed", "injured", "detained", "missing", "crowd")
"""What a predicate may say befell (or was done by) the people a figure counts."""
SUFFERED: tuple[CountWhat, ...] = ("killed", "injured", "detained", "missing")
"""What befalls people: with an object after its verb ("3 gunmen killed 2 soldiers") the figure did it instead.
A crowd's predicates are its own acts ("200 teachers staged a sit-in")."""

_END = r"(?![\w])"
_START = r"(?<![\w])"
_GAP = r"[\s\-–—]*"  # between a figure and the word after it: "2,000-strong", "four-day"


def _normal(text: str) -> str:
    """The text as the patterns read it, offsets unchanged: ё as е, a curly apostrophe as a straight one."""
    return text.replace("ё", "е").replace("Ё", "Е").replace("’", "'")


def _entries(raw: Any, where: str) -> list[str]:
    out: list[str] = []
    for item in raw or []:
        if not isinstance(item, str):
            raise ValueError(f"{where}: {item!r} is not a string (quote it in the YAML)")
        out.append(item)
    return out


_LITERAL = re.compile(r"[^\W\d_](?:[\w' -]*[\w'])?")


def _trie(words: list[str]) -> str:
    """A regex for literal phrases as a prefix tree ("kill", "killed", "killing" -> kill(?:ed|ing)?), which the
    regex engine tries in one pass instead of phrase by phrase; longer continuations are tried first."""
    tree: dict[str, Any] = {}
    for w in words:
        node = tree
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def walk(node: dict[str, Any]) -> str:
        ends = "" in node
        branches = [(ch, sub) for ch, sub in node.items() if ch]
        if not branches:
            return ""
        parts = [(r"\s+" if ch == " " else re.escape(ch)) + walk(sub) for ch, sub in sorted(branches)]
        body = parts[0] if len(parts) == 1 else "(?:" + "|".join(parts) + ")"
        if ends:
            return "(?:" + body + ")?"
        return body

    return walk(tree)


def _expand(pattern: str, limit: int = 64) -> list[str] | None:
    """The strings a finite pattern stands for ("убит[ыоа]?" -> убит, убиты, убито, убита; "deaths? of" ->
    death of, deaths of), or None when it is not one this reads: literal letters, spaces, hyphens and
    apostrophes, [abc] sets, (?:a|b) groups and ? after any of them."""

    def seq(i: int, stop: str) -> tuple[list[str], int] | None:
        # a sequence of items up to `stop` ("|" or ")" or end); returns its strings and where it ended
        out = [""]
        while i < len(pattern) and pattern[i] not in stop:
            ch = pattern[i]
            if ch == "[":
                end = pattern.find("]", i)
                body = pattern[i + 1 : end] if end > 0 else ""
                if not body or not all(c.isalpha() for c in body):
                    return None
                options, i = list(body), end + 1
            elif ch == "(":
                if not pattern.startswith("(?:", i):
                    return None
                options, i = [], i + 3
                while True:
                    part = seq(i, "|)")
                    if part is None:
                        return None
                    options += part[0]
                    i = part[1]
                    if i >= len(pattern):
                        return None
                    i += 1
                    if pattern[i - 1] == ")":
                        break
            elif ch.isalpha() or ch in " -'":
                options, i = [ch], i + 1
            else:
                return None
            if i < len(pattern) and pattern[i] == "?":
                options, i = ["", *options], i + 1
            out = [a + b for a in out for b in options]
            if len(out) > limit:
                return None
        return out, i

    result = seq(0, "")
    return None if result is None else sorted(set(result[0]))


def _alt(entries: Iterable[str]) -> str:
    """One alternation of lexicon entries; a space in an entry is any run of white space. Plain phrases (and
    finite patterns, spelled out by ``_expand``) go into one prefix tree (longest match first); other patterns
    are tried first, longest first."""
    items = {re.sub(r" +", " ", e.strip()) for e in entries if e.strip()}
    if not items:
        return "(?!)"
    literal: list[str] = []
    patterns: list[str] = []
    for e in items:
        expanded = [e] if _LITERAL.fullmatch(e) else _expand(e)
        if expanded is None:
            patterns.append(e)
        else:
            literal += [x.lower() for x in expanded if x.strip()]
    literal.sort()
    patterns.sort(key=len, reverse=True)
    parts = [p.replace(" ", r"\s+") for p in patterns]
    if literal:
        parts.append(_trie(literal))
    return "(?:" + "|".join(parts) + ")"


@dataclass(frozen=True)
class Singular:
    """A pattern that gives a count of one with no figure written."""

    what: CountWhat
    pattern: re.Pattern[str]
    object: bool  # the figure is the determiner of an object: the count's phrase ends with the object
    head: bool  # the noun phrase's head must be singular ("the protesters" is no count of one)
    alone: bool  # only with no figure near it in the same clause (a Russian singular verb)
    starts: frozenset[str]  # the words a match begins with: it is tried only where they stand
    value: int = 1  # 2 for a pair of singular nouns: "a man and his son were killed"


@dataclass(frozen=True)
class Negation:
    """A pattern that gives a count of none."""

    what: CountWhat
    pattern: re.Pattern[str]
    starts: frozenset[str]


@dataclass(frozen=True)
class Grammar:
    """One language's count lexicon, compiled."""

    left: re.Pattern[str]
    right: re.Pattern[str]
    right_aux: re.Pattern[str]
    right_one: re.Pattern[str]  # a figure of one, a noun phrase that may hold "and": "1 scholar and teacher was killed"
    subset: re.Pattern[str]  # before a figure that is part of one given before it: "including 2 children"
    passive: re.Pattern[str]  # in the auxiliaries before a predicate: it befell the figure ("were killed")
    nouns: re.Pattern[str]
    days: re.Pattern[str]
    days_not_after: re.Pattern[str]
    days_not_before: re.Pattern[str]
    units: re.Pattern[str]
    persons: re.Pattern[str]
    partitive: re.Pattern[str]
    active: re.Pattern[str]
    coordination: re.Pattern[str]
    singular: tuple[Singular, ...]
    none: tuple[Negation, ...]
    collective: frozenset[str]
    plural_heads: frozenset[str]
    determiners_one: frozenset[str]
    no_count_noun: frozenset[str]  # figures a count noun after them does not tie: "both" in "both X and Y"
    pronouns_one: frozenset[str]
    head_stop: frozenset[str]
    size: re.Pattern[str] | None
    starts: re.Pattern[str] | None  # any start word of a `singular` or `none` pattern, as a whole word
    day_compounds: re.Pattern[str] | None  # a figure and days in one word: "четырехдневного"
    day_compound_values: dict[str, int]


@functools.cache
def grammar(lang: Lang) -> Grammar:
    """Load ``counts-{lang}.yaml`` and compile it (once per language)."""
    data: dict[str, Any] = lexicon.load(f"counts-{lang}")
    np: dict[str, Any] = data.get("noun_phrase") or {}
    what: dict[str, Any] = data.get("what") or {}
    flags = re.IGNORECASE
    stop = _alt(_entries(np.get("stop"), "noun_phrase.stop"))
    # a word of a noun phrase: no stop word, letters first ("25-year-old" too), a name may stand in quotes
    word = rf"(?!{stop}(?![\w'-]))[«\"“]?(?:[^\W\d_]|\d+-)(?:[\w'-]|\.(?=[^\W\d_]))*[»\"”]?"
    phrase = rf"(?:{word}\s+){{0,{int(np.get('max_words', 6))}}}?"
    aux = _alt(_entries(data.get("auxiliaries"), "auxiliaries"))
    paren = _alt(_entries(np.get("parenthetical"), "noun_phrase.parenthetical"))
    # "3 people, including a police officer, were killed", "3 people (2 women and a child) were killed"
    # or, with no commas, a part named before the predicate: "12 militants including 2 commanders were killed"
    # and the words of the phrase may go on after a bracket: "2 soldiers (off-duty) on board the bus were killed"
    aside = (
        rf"(?:(?:{word})?\s*(?:,\s*{paren}\s+[^,.;:()\n]{{1,60}}?,|\(\s*[^()\n]{{1,60}}\)\s*(?:{word}\s+){{0,4}}?"
        rf"|{paren}\s+[^,.;:()\n]{{1,50}}?(?=\s))\s*)?"
    )
    compound = _alt(_entries(np.get("compound_heads"), "noun_phrase.compound_heads"))
    fillers = _alt(_entries(data.get("fillers"), "fillers"))  # "killing all 5", "arrested another 3"
    noun_word = rf"(?!{aux}(?![\w'-])){word}"  # before a count noun: "100 riot police", not "3 were police"
    of = _alt(_entries(np.get("of"), "noun_phrase.of"))

    def table(key: str, whats: Iterable[str]) -> str:
        groups = []
        for w in whats:
            entries = _entries((what.get(w) or {}).get(key), f"what.{w}.{key}")
            if entries:
                groups.append(f"(?P<{w}>{_alt(entries)})")
        return "(?:" + "|".join(groups) + ")" if groups else "(?!)"

    crowd = _alt(_entries(what["crowd"].get("nouns"), "crowd.nouns"))
    police = _alt(_entries(what["police"].get("nouns"), "police.nouns"))
    persons = _alt(_entries(data.get("persons"), "persons"))
    days = what["days"]
    # in `singular` and `none` patterns a noun-phrase word is any word: they are anchored on their predicate
    # an age written without hyphens is a word of the phrase too: "a 13 year old boy was killed"
    any_word = r"(?:[^\W\d_]|\d+-|\d+(?=\s+years?\s+old\b))(?:[\w'-]|\.(?=[^\W\d_]))*"
    # {ASIDE}: the last word of a noun phrase and an aside after it ("my neighbour's son, 23, was killed")
    subst = {"{W}": any_word, "{AUX}": aux, "{ASIDE}": rf"(?:{any_word},[^,.;\n]{{1,30}},\s+)?"}

    def pattern(raw: str) -> re.Pattern[str]:
        for key, value in subst.items():
            raw = raw.replace(key, value)
        return re.compile(raw, flags)

    def starts(s: dict[str, Any]) -> frozenset[str]:
        found = frozenset(_normal(w).lower() for w in _entries(s.get("starts"), f"starts of {s['pattern'][:30]}"))
        if not found:
            raise ValueError(f"pattern {s['pattern'][:40]!r} has no `starts`")
        return found

    singular = tuple(
        Singular(
            cast(CountWhat, s["what"]),
            pattern(s["pattern"]),
            bool(s.get("object")),
            bool(s.get("object") or s.get("head")),
            bool(s.get("alone")),
            starts(s),
            int(s.get("value", 1)),
        )
        for s in data.get("singular") or []
    )
    none = tuple(Negation(cast(CountWhat, s["what"]), pattern(s["pattern"]), starts(s)) for s in data.get("none") or [])
    coordination = _alt(_entries(data.get("coordination"), "coordination"))
    every = {w for s in singular for w in s.starts} | {w for n in none for w in n.starts}
    size = data.get("size_tag") or ""
    compounds = {_normal(stem).lower(): int(v) for v, stems in (days.get("compounds") or {}).items() for stem in stems}
    ending = days.get("compound_ending") or ""
    day_compounds = (
        re.compile(rf"{_START}(?P<stem>{_trie(sorted(compounds))}){ending}{_END}", flags)
        if compounds and ending
        else None
    )
    return Grammar(
        left=re.compile(rf"{_START}{table('before', PREDICATES)}(?:\s+{fillers})?[\s:–—-]*$", flags),
        right=re.compile(
            rf"{_GAP}(?P<np>{phrase}){aside}(?P<aux>(?:{aux}\s+)*){table('after', PREDICATES)}{_END}", flags
        ),
        right_aux=re.compile(
            rf"{_GAP}(?P<np>{phrase}){aside}(?P<aux>(?:{aux}\s+)+){table('after_with_aux', PREDICATES)}{_END}", flags
        ),
        right_one=re.compile(
            rf"{_GAP}(?P<np>(?:(?:{word}|{coordination})\s+){{0,{int(np.get('max_words', 6))}}}?)"
            rf"(?P<aux>{_alt(_entries(data.get('singular_auxiliaries'), 'singular_auxiliaries'))}\s+(?:{aux}\s+)*)"
            rf"{table('after', PREDICATES)}{_END}",
            flags,
        ),
        subset=re.compile(rf"{_START}{paren}\s*$", flags),
        passive=re.compile(
            rf"{_START}{_alt(_entries(data.get('passive_auxiliaries'), 'passive_auxiliaries'))}{_END}", flags
        ),
        nouns=re.compile(
            rf"{_GAP}(?:{of}\s+)?(?:{noun_word}\s+){{0,2}}?(?:(?P<crowd>{crowd})|(?P<police>{police})){_END}"
            rf"(?!\s+{compound}{_END})",  # "2 police stations" count no police
            flags,
        ),
        days=re.compile(rf"{_GAP}{_alt(_entries(days.get('nouns'), 'days.nouns'))}{_END}", flags),
        days_not_after=re.compile(rf"\s+{_alt(_entries(days.get('not_after'), 'days.not_after'))}{_END}", flags),
        days_not_before=re.compile(rf"{_START}{_alt(_entries(days.get('not_before'), 'days.not_before'))}\s+$", flags),
        units=re.compile(rf"{_GAP}{_alt(_entries(data.get('units'), 'units'))}{_END}", flags),
        persons=re.compile(rf"{_GAP}(?:{of}\s+)?(?:{word}\s+){{0,2}}?(?:{persons}|{crowd}|{police}){_END}", flags),
        partitive=re.compile(rf"\s*{_alt(_entries(data.get('partitive'), 'partitive'))}{_END}", flags),
        active=re.compile(rf"\s+{_alt(_entries(data.get('active_objects'), 'active_objects'))}{_END}", flags),
        coordination=re.compile(
            rf"{_GAP}(?:{word}\s+){{0,3}}{word}\s*(?:,\s*(?:{coordination}\s+)?|\s+{coordination}\s+)", flags
        ),
        singular=singular,
        none=none,
        collective=frozenset(w.lower() for w in _entries(data.get("collective"), "collective")),
        plural_heads=frozenset(w.lower() for w in _entries(data.get("plural_heads"), "plural_heads")),
        determiners_one=frozenset(w.lower() for w in _entries(data.get("determiners_one"), "determiners_one")),
        no_count_noun=frozenset(w.lower() for w in _entries(data.get("no_count_noun"), "no_count_noun")),
        pronouns_one=frozenset(w.lower() for w in _entries(data.get("pronouns_one"), "pronouns_one")),
        head_stop=frozenset(w.lower() for w in _entries(np.get("head_stop"), "noun_phrase.head_stop")),
        size=re.compile(size, flags) if size else None,
        starts=re.compile(rf"(?<![\w'-]){_trie(sorted(every))}(?![\w'-])", flags) if every else None,
        day_compounds=day_compounds,
        day_compound_values=compounds,
    )


@dataclass
class Tie:
    """What a figure was tied to, the phrase's span, and by which cue (``how``)."""

    what: CountWhat
    start: int
    end: int
    how: str  # size, days, left, right, inherit-left, inherit-right, noun


class CountReader:
    """Ties the figures of one text to what they count."""

    def __init__(self, g: Grammar, text: str, numbers: list[NumberMention]) -> None:
        self.g = g
        self.text = text
        self.ntext = _normal(text)
        self.nums = numbers
        self.starts = {m.start for m in numbers}

    def bounds(self, idx: int) -> tuple[int, int]:
        """Where the figure's words may reach: from the figure before it to the figure after it."""
        lo = self.nums[idx - 1].end if idx > 0 else 0
        hi = self.nums[idx + 1].start if idx + 1 < len(self.nums) else len(self.text)
        return lo, hi

    def persons_end(self, end: int, hi: int) -> int:
        """The end of the people the figure counts, when they follow it ("killing 14 people")."""
        m = self.g.persons.match(self.ntext, end, hi)
        return m.end() if m else end

    def active(self, pos: int) -> bool:
        """Whether a predicate ending at ``pos`` has an object after it (active voice: the figure did it)."""
        if self.g.active.match(self.ntext, pos) is not None:
            return True
        rest = self.ntext[pos : pos + 40]
        skipped = len(rest) - len(rest.lstrip())
        return skipped > 0 and pos + skipped in self.starts

    def tie(self, idx: int, sizes: list[tuple[int, int, int, int]]) -> Tie | bool | None:
        """The tie of figure ``idx`` from its own words; False when it counts no people at all."""
        g, t, m = self.g, self.ntext, self.nums[idx]
        lo, hi = self.bounds(idx)
        for start, end, inner_start, inner_end in sizes:
            if inner_start <= m.start and m.end <= inner_end:
                first = not any(inner_start <= n.start < m.start for n in self.nums)
                return Tie("crowd", start, end, "size") if first else False
        day = g.days.match(t, m.end, hi)
        if day is not None:
            if g.days_not_after.match(t, day.end(), hi) or g.days_not_before.search(t, max(lo, m.start - 20), m.start):
                return False
            return Tie("days", m.start, day.end(), "days")
        if g.units.match(t, m.end, hi) is not None:
            return False
        part = g.partitive.match(t, m.end, hi)  # "5 of whom were injured": only a predicate after it ties
        after = part.end() if part is not None else m.end
        left = g.left.search(t, max(lo, m.start - 80), m.start)  # "detained 12 of them" is 12 detained
        if left is not None and left.lastgroup:
            return Tie(cast(CountWhat, left.lastgroup), left.start(), self.persons_end(m.end, hi), "left")
        patterns = (g.right, g.right_aux, g.right_one) if m.low == m.high == 1 else (g.right, g.right_aux)
        for pattern in patterns:
            right = pattern.match(t, after)  # its noun phrase holds no digits, but an aside may
            if right is None or not right.lastgroup:
                continue
            what = cast(CountWhat, right.lastgroup)
            if what in SUFFERED and not g.passive.search(right.group("aux")) and self.active(right.end()):
                continue  # "3 gunmen killed 2 soldiers", "3 gunmen have killed 2": the figure's own act
            return Tie(what, m.start, right.end(), "right")
        return None

    def noun(self, idx: int) -> Tie | None:
        """A count noun after the figure ("about 2,000 protesters", "100 riot police"). A vague quantifier
        ("several", "some", "many") names no crowd: "some of the protesters" is a part of one."""
        m = self.nums[idx]
        hi = self.bounds(idx)[1]
        if m.qualifier == "vague" and m.low < 10:
            return None
        if m.text.lower() in self.g.no_count_noun:
            return None  # "both protesters and police clashed" counts no crowd of 2
        if self.part_of_another(idx):
            return None
        found = self.g.nouns.match(self.ntext, m.end, hi)
        if found is None or not found.lastgroup:
            return None
        return Tie(cast(CountWhat, found.lastgroup), m.start, found.end(), "noun")

    def part_of_another(self, idx: int) -> bool:
        """Whether figure ``idx`` is a part of a figure given before ("3 of them", "including 2 children")."""
        m = self.nums[idx]
        lo, hi = self.bounds(idx)
        return (
            self.g.partitive.match(self.ntext, m.end, hi) is not None
            or self.g.subset.search(self.ntext, max(lo, m.start - 40), m.start) is not None
        )

    def coordinated(self, a: int, b: int) -> bool:
        """Whether figures ``a`` and ``b`` (a before b) are joined as two parts of one list (and neither is a
        part of another: "killing 15 people, 3 of them children")."""
        t, first, second = self.ntext, self.nums[a], self.nums[b]
        if self.part_of_another(a) or self.part_of_another(b):
            return False
        return self.g.coordination.fullmatch(t, first.end, second.start) is not None

    def ties(self) -> list[Tie | None]:
        g = self.g
        sizes = (
            [(s.start(), s.end(), s.start("size"), s.end("size")) for s in g.size.finditer(self.ntext)]
            if g.size is not None
            else []
        )
        n = len(self.nums)
        found: list[Tie | bool | None] = [self.tie(i, sizes) for i in range(n)]
        # coordination: "3 soldiers and 2 civilians were killed", then "killing 3 soldiers and 2 civilians"
        for i in range(n - 2, -1, -1):
            nxt = found[i + 1]
            linked = isinstance(nxt, Tie) and nxt.how in ("right", "inherit-right") and self.coordinated(i, i + 1)
            if found[i] is None and isinstance(nxt, Tie) and linked:
                m = self.nums[i]
                found[i] = Tie(nxt.what, m.start, self.persons_end(m.end, self.bounds(i)[1]), "inherit-right")
        for i in range(1, n):
            prev = found[i - 1]
            linked = isinstance(prev, Tie) and prev.how in ("left", "inherit-left") and self.coordinated(i - 1, i)
            if found[i] is None and isinstance(prev, Tie) and linked:
                m = self.nums[i]
                found[i] = Tie(prev.what, m.start, self.persons_end(m.end, self.bounds(i)[1]), "inherit-left")
        out: list[Tie | None] = []
        for i, tie in enumerate(found):
            if tie is None:
                tie = self.noun(i)
            out.append(tie if isinstance(tie, Tie) else None)
        return out

    # --- counts with no figure written -------------------------------------------------------------------------

    def day_compounds(self, taken: list[tuple[int, int]]) -> list[CountMention]:
        """Days counted in one word with their figure: "после четырехдневного отключения" (4 days)."""
        out: list[CountMention] = []
        if self.g.day_compounds is None:
            return out
        for found in self.g.day_compounds.finditer(self.ntext):
            if self.taken(found.start(), found.end(), taken):
                continue
            s_start, s_end = found.span("stem")
            value = self.g.day_compound_values[found.group("stem").lower()]
            figure = NumberMention(s_start, s_end, self.text[s_start:s_end], value, value, "exact")
            out.append(CountMention(found.start(), found.end(), self.text[found.start() : found.end()], "days", figure))
        return out

    def taken(self, start: int, end: int, spans: list[tuple[int, int]]) -> bool:
        return any(s < end and start < e for s, e in spans)

    def figure_near(self, start: int, end: int) -> bool:
        """Whether a figure stands in the same clause as [start, end) (within 60 characters, no sentence end)."""
        for m in self.nums:
            if m.end <= start and start - m.end <= 60 and not re.search(r"[.;!?\n]", self.text[m.end : start]):
                return True
            if m.start >= end and m.start - end <= 60 and not re.search(r"[.;!?\n]", self.text[end : m.start]):
                return True
        return False

    def singular_head(self, s: Singular, found: re.Match[str]) -> bool:
        """Whether the noun phrase names one: no collective noun in it ("a group of protesters was arrested"),
        and for patterns with ``head`` a singular head ("killing the driver", not "killing the protesters"). A
        pair ("a man and his son") asks the same of its second noun phrase (group np2)."""
        groups = found.groupdict()
        if not self.one(s, found.group("figure"), groups.get("np") or ""):
            return False
        return "np2" not in groups or self.one(s, "", groups.get("np2") or "")

    def one(self, s: Singular, figure: str, np: str) -> bool:
        """Whether ``figure`` and the noun phrase ``np`` after it name one person (``singular_head``)."""
        g = self.g
        words = [w.lower() for w in np.split()]
        if any(w in g.collective for w in words):
            return False
        if not s.head:
            return True
        head_words: list[str] = []
        for w in words:
            if w in g.head_stop:
                break
            head_words.append(w)
        if figure.lower() in g.determiners_one:
            return True  # "killing a man", "wounding another": one by grammar
        if not head_words:
            return figure.lower() in g.pronouns_one  # "killing him"; "killing the" is no phrase
        # "killing the driver", "killing her husband", not "killing the protesters", "killing her sons"
        head = re.sub(r"'s?$", "", head_words[-1])
        if head in g.plural_heads:
            return False
        return not (head.endswith("s") and not head.endswith(("ss", "us", "is")))

    def figureless(self, taken: list[tuple[int, int]]) -> list[CountMention]:
        """Counts of none (negations) and of one (singular nouns and verbs), where no figure was tied."""
        out: list[CountMention] = []
        number_spans = [(m.start, m.end) for m in self.nums]
        at: dict[str, list[int]] = {}
        if self.g.starts is not None:
            for w in self.g.starts.finditer(self.ntext):
                at.setdefault(w.group().lower(), []).append(w.start())
        for neg in self.g.none:
            for found in self.matches(neg.pattern, neg.starts, at):
                if self.taken(found.start(), found.end(), taken):
                    continue
                if any(c.what == neg.what and c.start == found.start() for c in out):
                    continue
                out.append(self.count(neg.what, found, 0))
        # a count of one may stand beside a tied figure ("killing himself and 5 others"), not on a figure: its
        # words (the figure word and the noun phrase) hold none ("killing a dozen"); an aside may ("my
        # neighbour's son, 23, was killed")
        blocked = [(c.start, c.end) for c in out]
        for s in self.g.singular:
            for found in self.matches(s.pattern, s.starts, at):
                if self.taken(found.start(), found.end(), blocked) or not self.singular_head(s, found):
                    continue
                core = [found.span("figure")] + ([found.span("np")] if found.groupdict().get("np") else [])
                if s.object:
                    core = [(found.start(), self.head_end(found))]
                elif "np" not in found.groupdict():
                    core = [found.span()]
                if any(self.taken(a, b, number_spans) for a, b in core):
                    continue
                if s.alone and self.figure_near(found.start(), found.end()):
                    continue
                if self.g.subset.search(self.ntext, max(0, found.start() - 40), found.start()) is not None:
                    continue  # "3 were killed, including a police officer who was shot dead": one of the 3
                out.append(self.count(s.what, found, s.value, upto_np=s.object))
                blocked.append((found.start(), found.end()))
        return out

    def head_end(self, found: re.Match[str]) -> int:
        """Where an object's noun phrase ends: at its head, before the first ``head_stop`` word."""
        end = found.end("figure")
        for w in re.finditer(r"\S+", found.group("np")):
            if w.group().lower() in self.g.head_stop:
                break
            end = found.start("np") + w.end()
        return end

    def matches(
        self, pattern: re.Pattern[str], starts: frozenset[str], at: dict[str, list[int]]
    ) -> list[re.Match[str]]:
        """The matches of ``pattern`` that begin at one of its start words, in text order, not overlapping."""
        positions = sorted(p for w in starts.intersection(at) for p in at[w])
        out: list[re.Match[str]] = []
        reach = 0
        for pos in positions:
            if pos < reach:
                continue
            found = pattern.match(self.ntext, pos)
            if found is not None:
                out.append(found)
                reach = found.end()
        return out

    def count(self, what: CountWhat, found: re.Match[str], value: int, upto_np: bool = False) -> CountMention:
        f_start, f_end = found.span("figure")
        figure = NumberMention(f_start, f_end, self.text[f_start:f_end], value, value, "exact")
        start, end = found.span()
        if upto_np:  # the object's words up to its head: "killing the driver" (of "the driver of the bus")
            end = self.head_end(found)
        return CountMention(start, end, self.text[start:end].rstrip(), what, figure)

    def counts(self) -> list[CountMention]:
        out: list[CountMention] = []
        for m, tie in zip(self.nums, self.ties(), strict=True):
            if tie is None:
                continue
            start, end = min(tie.start, m.start), max(tie.end, m.end)
            out.append(CountMention(start, end, self.text[start:end], tie.what, m))
        out += self.day_compounds([(c.start, c.end) for c in out])
        out += self.figureless([(c.start, c.end) for c in out])
        fixed = [c if c.text == self.text[c.start : c.end] else _trimmed(c) for c in out]
        fixed.sort(key=lambda c: (c.start, c.end))
        return fixed


def _trimmed(c: CountMention) -> CountMention:
    """A count whose text lost trailing white space: its end moved to match."""
    return CountMention(c.start, c.start + len(c.text), c.text, c.what, c.number)


def find_counts(text: str, lang: Lang) -> list[CountMention]:
    """Every figure in ``text`` tied to what it counts, and the counts of one and none (module docstring)."""
    return CountReader(grammar(lang), text, find_numbers(text, lang)).counts()


# --- which counts make a document's toll ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Toll:
    """The ``toll`` section of ``counts-{lang}.yaml``: which killed counts belong to the event a document reports,
    and which of them name different victims (and so add up) rather than report the same deaths again."""

    background: re.Pattern[str]  # in the count's sentence before it: deaths before the event
    within: re.Pattern[str]  # in the count's own words: "a youth who was killed by ..." (a relative clause)
    part: re.Pattern[str]  # right before a figure: it is part of (or an alternative to) one named before it
    groups: tuple[tuple[str, re.Pattern[str]], ...]  # victim groups, by name
    split: re.Pattern[str]  # right after a count: the deaths were shared among several events
    coded: tuple[re.Pattern[str], ...]  # a coder's own figure for this event


@functools.cache
def toll(lang: Lang) -> Toll:
    """Load and compile the ``toll`` section of ``counts-{lang}.yaml`` (once per language)."""
    data: dict[str, Any] = lexicon.load(f"counts-{lang}").get("toll") or {}
    flags = re.IGNORECASE
    paren = _alt(_entries((lexicon.load(f"counts-{lang}").get("noun_phrase") or {}).get("parenthetical"), "paren"))

    def any_of(key: str) -> re.Pattern[str]:
        entries = _entries(data.get(key), f"toll.{key}")
        return re.compile("|".join(f"(?:{e})" for e in entries) if entries else "(?!)", flags)

    groups = tuple(
        (name, re.compile(rf"{_START}{_alt(_entries(words, f'toll.groups.{name}'))}{_END}", flags))
        for name, words in (data.get("groups") or {}).items()
    )
    return Toll(
        background=any_of("background"),
        within=any_of("within"),
        part=re.compile(rf"(?:{_START}{paren}\s*|\(\s*)$", flags),
        groups=groups,
        split=any_of("split"),
        coded=tuple(re.compile(p, flags) for p in _entries(data.get("coded"), "toll.coded")),
    )


def background(text: str, sentence_start: int, c: CountMention, lang: Lang) -> bool:
    """Whether the deaths of ``c`` came before the event its sentence reports: a relative clause ("a man who had
    killed his father", "justice for a youth who was killed"), the past perfect ("the bus had collided with a car,
    killing 2") or an accident that set a riot off."""
    t = toll(lang)
    before = _normal(text[max(sentence_start, c.start - 160) : c.start])
    return t.background.search(before) is not None or t.within.search(_normal(c.text)) is not None


def part_of_another(text: str, c: CountMention, lang: Lang) -> bool:
    """Whether the figure of ``c`` stands right after a word that makes it part of a figure before it ("12
    militants including 2 commanders were killed") or in brackets, an alternative to it ("3 policemen (2
    according to other sources)")."""
    return toll(lang).part.search(_normal(text[max(0, c.number.start - 40) : c.number.start])) is not None


def victims(c: CountMention, lang: Lang) -> frozenset[str]:
    """The victim groups the words of ``c`` name ("3 soldiers were killed": state forces); none for people in
    general ("5 people died", "5 deaths")."""
    words = _normal(c.text)
    return frozenset(name for name, pattern in toll(lang).groups if pattern.search(words))


def shared(text: str, c: CountMention, lang: Lang, end: int) -> int | None:
    """The share of this event when the deaths of ``c`` were coded across several events right after it ("6
    deaths (coded across 6 events)"): the figure divided by the events, rounded; None when they were not."""
    found = toll(lang).split.match(_normal(text), c.end, end)
    if found is None:
        return None
    events = find_numbers(found.group("events"), lang)
    if not events or events[0].low < 1:
        return None
    return round(c.number.low / events[0].low)


def coded(text: str, lang: Lang) -> CountMention | None:
    """A coder's own figure for this event in the text, the last one given: "Fatalities coded as 0 (VoJ
    reported 3)", "10 fatalities split across 2 events and coded as 5 for this event", "Unknown fatalities
    coded as 10 and split between 2 events" (5). Its number is the figure as written; its low is this event's
    share."""
    ntext = _normal(text)
    best: re.Match[str] | None = None
    for pattern in toll(lang).coded:
        for found in pattern.finditer(ntext):
            if best is None or found.start() > best.start():
                best = found
    if best is None:
        return None
    groups = {k: v for k, v in best.groupdict().items() if v}
    key = "this" if "this" in groups else "figure"
    if key not in groups:
        return None
    f_start, f_end = best.span(key)
    value = int(re.sub(r"\D", "", groups[key]) or 0)
    if key == "figure" and "events" in groups:
        events = find_numbers(groups["events"], lang)
        if events and events[0].low >= 1:
            value = round(value / events[0].low)
    figure = NumberMention(f_start, f_end, text[f_start:f_end], value, value, "exact")
    return CountMention(best.start(), best.end(), text[best.start() : best.end()], "killed", figure)
