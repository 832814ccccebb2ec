"""Figures in text: digits, number words and vague words, with the bounds they imply.

``find_numbers(text, lang)`` returns every figure of a text as a ``NumberMention``
(non-overlapping, in text order, offsets into the text as given). The words
are data (``data/numbers-{en,ru,kk}.yaml``, loaded and compiled once per
language); this module is the grammar that reads them.

The grammar, on the text's tokens (runs of digits, runs of letters, single
other characters; grouped digits such as "2,000", "2 000" or "2.000" are one
token):

- **Atom**: one of
  - digits, with an optional scale ("1.5 million", "2 тыс.", "10k", "3 млн",
    "2 мың") and, in Russian and Kazakh, a hyphenated case ending ("2-х",
    "70-ке"). Separators follow the language (``digits`` in the YAML): a comma
    or a dot before three digits groups thousands ("2,000", "2.000") unless a
    scale follows ("1.500 млн"); in Russian and Kazakh a comma before other
    digits is a decimal ("1,5 млн"). A decimal that a scale does not make
    whole ("2.5 km") is a measure, not a count, and is left out.
  - number words, read by the usual additive-multiplicative rule: additive
    words add up while each fits in the room the last one left ("twenty"
    leaves room for 1-9, "двести" for 1-99, "он" for 1-9), "hundred"/"жүз"
    multiplies the group before it, a scale ("thousand", "тысяч", "мың")
    multiplies everything before it and opens a new group; "and" joins a
    hundred or a thousand to what follows; "a"/"an" before a scale is one of
    it; "полтора" multiplies the scale after it; Kazakh "жарым" adds a half.
    Kazakh case endings ("онға", "мыңнан", "мыңдай") are generated from the
    stems by vowel harmony and end the number.
  - a fixed phrase ("a couple of" 2, "half a dozen" 6, "десяток" about 10).
  - a vague word, coded as ACLED codes vague fatality figures, the most
    conservative reading: "several"/"a few"/"несколько"/"бірнеше" 3, "tens"/
    "десятки"/"ондаған" 10, "dozens" 12, "hundreds"/"сотни"/"жүздеген" 100,
    "thousands" 1000; "several hundred" 300, "tens of thousands" 10000.
    Qualifier ``vague``, ``high`` None.
- **Range**: atom, a connector ("-", "–", "to", "or", "или"), atom with a
  larger value ("10-15", "two or three", "двух-трех"); a frame ("between 10
  and 15", "от 10 до 15", "10 бен 15 аралығында"); Kazakh cases ("10-нан
  15-ке дейін"). A scale on the second end carries to the first ("2-3
  thousand" is 2000-3000). Qualifier ``range``: low and high the two ends.
- **Qualifier** before the atom or range ("at least", "более", "кем дегенде")
  or after it ("or more", "с лишним", "астам", "жуық"). The bounds:

  ========  ======================  ==========================================
  exact     low = high = n          "15"
  at_least  low = n, high = None    "at least 15", "more than 15" (ACLED reads
                                    "more than 15" as 15, so low is n; the
                                    YAML's ``more_than_adds: 1`` makes it n+1)
  at_most   low = 0, high = n       "up to 15", "as many as 15", "до 15": the
                                    text bounds it from above only, so the most
                                    conservative reading is none ("as many as
                                    70 may have been killed" claims at most 70)
  about     low = high = n          "about 15", "nearly 15", "около 15"
  range     low = a, high = b       "10-15"
  vague     low = code, high None   "dozens" (12), "several" (3)
  ========  ======================  ==========================================

  "up to"/"до" after a verb of change ("the toll rose to 16", "возросло до
  16") or after another figure ("с 10 до 15") is no qualifier.

Left out, because they are not counts: years (next to a month, after "in",
before "году"/"жылы", or a bare 1800-2100 before punctuation), days of a
month ("16 December", "16-19 декабря", "желтоқсанның 16-сы"), ordinals
("16th", "16-го", "бесінші"), dates and times ("16.12.2011", "10:30", "at 10
pm"), percentages, ages ("aged 25", "25-year-old", "15-летний", "25
жастағы"), money ("$2 million", "hundreds of thousands of dollars"), phone
numbers, reference numbers ("Article 164", "No. 5", "164-бабы"), figures
inside words ("G20", "COVID-19") and list numbering at the start of a line.
"one" after "no"/"any"/"every" is no figure either ("no one": counts reads
that as a negation).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from factfinder.text import lexicon
from factfinder.text.model import Lang, NumberMention, Qualifier

T = TypeVar("T")

TOKEN = re.compile(
    r"[^\W\d_]+"  # a word
    r"|(?<!\d)\d{1,3}(?:(?:,|\.|[ \u00a0\u202f])\d{3})+(?!\d)(?:[.,]\d+(?!\d))?"  # grouped: 2,000 / 2 000 / 2.000
    r"|\d+(?:[.,]\d+)?"  # plain digits, perhaps with a decimal
    r"|[^\s\w]|_"  # any other character
)
"""The text's tokens: what the grammar reads (see the module docstring)."""

INF = float("inf")

Kind = str  # "add", "hundred", "scale", "fraction", "half"


def norm(token: str) -> str:
    """The form a token is matched by: lower case, ё as е, a curly apostrophe as a straight one."""
    return token.lower().replace("ё", "е").replace("’", "'")


def tokenize(text: str) -> list[tuple[int, int, str]]:
    """(start, end, normalised form) of every token of ``text``."""
    lowered = norm(text)
    if len(lowered) != len(text):  # a letter whose lower case is longer ("İ"): normalise token by token
        return [(m.start(), m.end(), norm(m.group())) for m in TOKEN.finditer(text)]
    return [(s, e, lowered[s:e]) for s, e in (m.span() for m in TOKEN.finditer(text))]


def phrase_tokens(phrase: str) -> tuple[str, ...]:
    """A lexicon phrase as the tokens it must match."""
    return tuple(norm(m.group()) for m in TOKEN.finditer(phrase))


class Phrases(Generic[T]):
    """Multi-token phrases with a value each, matched token by token, longest first."""

    def __init__(self, items: Iterable[tuple[str, T]]) -> None:
        first: dict[str, list[tuple[list[str], T]]] = {}
        last: dict[str, list[tuple[list[str], T]]] = {}
        for phrase, value in items:
            toks = list(phrase_tokens(phrase))
            if not toks:
                continue
            first.setdefault(toks[0], []).append((toks, value))
            last.setdefault(toks[-1], []).append((toks, value))
        for table in (first, last):
            for entries in table.values():
                entries.sort(key=lambda e: len(e[0]), reverse=True)
        self._first = first
        self._last = last
        self.empty = not first
        self.firsts = frozenset(first)

    def at(self, norms: list[str], i: int) -> tuple[T, int] | None:
        """The longest phrase starting at token ``i``: its value and the index after it."""
        entries = self._first.get(norms[i]) if i < len(norms) else None
        if entries:
            for toks, value in entries:
                j = i + len(toks)
                if norms[i:j] == toks:
                    return value, j
        return None

    def before(self, norms: list[str], j: int) -> tuple[T, int] | None:
        """The longest phrase ending just before token ``j``: its value and the index it starts at."""
        entries = self._last.get(norms[j - 1]) if 0 < j <= len(norms) else None
        if entries:
            for toks, value in entries:
                i = j - len(toks)
                if i >= 0 and norms[i:j] == toks:
                    return value, i
        return None


def _strings(raw: Any, where: str) -> list[str]:
    """A YAML list of phrases, refusing what YAML turned into something else ("no" is False)."""
    out: list[str] = []
    for item in raw or []:
        if not isinstance(item, str):
            raise ValueError(f"{where}: {item!r} is not a string (quote it in the YAML)")
        out.append(item)
    return out


def _by_value(raw: Any, where: str) -> list[tuple[str, float]]:
    """A YAML lexicon {value: [phrases]} as (phrase, value) pairs."""
    return [(p, float(v)) for v, phrases in (raw or {}).items() for p in _strings(phrases, f"{where}.{v}")]


@dataclass(frozen=True)
class Word:
    """A number word: its value and how it combines (``kind``), with what a Kazakh ending adds."""

    value: float
    kind: Kind
    case: str | None = None
    qualifier: Qualifier | None = None
    ordinal: bool = False


_VOWELS = set("аәеиоөұүыіэюя")
_BACK = set("аоұыя")
_FRONT = set("әеөүіэ")
_VOICELESS = set("кқпстфхцчшщ")
_NASAL = set("мнң")


def _harmony(stem: str) -> tuple[str, int]:
    """Kazakh: "back"/"front" from the stem's last harmonising vowel, and which form of an ending its last
    sound takes (0 vowel, 1 voiced consonant, 2 voiceless, 3 nasal)."""
    side = "back"
    for ch in reversed(stem):
        if ch in _BACK:
            break
        if ch in _FRONT:
            side = "front"
            break
    last = stem[-1]
    if last in _VOWELS and last not in "уи":
        return side, 0
    if last in _VOICELESS:
        return side, 2
    if last in _NASAL:
        return side, 3
    return side, 1


@dataclass(frozen=True)
class Grammar:
    """One language's number words and rules, compiled."""

    lang: Lang
    comma_decimal: bool
    dot_thousands: bool
    scale_alone: bool
    words: dict[str, Word]
    digit_scales: Phrases[float]
    articles: frozenset[str]
    joiners: frozenset[str]
    fixed: Phrases[tuple[float, Qualifier]]
    vague: Phrases[float]
    one_not_after: Phrases[bool]
    one_not_before: Phrases[bool]
    before: Phrases[str]  # a qualifier, or "more_than" (at_least, low + more_than_adds)
    after: Phrases[str]
    more_than_adds: int
    at_most_not_after: frozenset[str]
    at_most_not_before: frozenset[str]
    infix: Phrases[bool]
    frames: tuple[tuple[Phrases[bool], Phrases[bool], Phrases[bool]], ...]
    case_range: tuple[str, str, Phrases[bool]] | None
    months: frozenset[str]
    months_cased: bool
    month_stems: re.Pattern[str] | None  # a month with a case ending ("желтоқсанда"), where months take them
    date_joiners: frozenset[str]
    year_before: Phrases[bool]
    year_after: Phrases[bool]
    years_after: Phrases[bool]
    percent_after: Phrases[bool]
    age_before: Phrases[bool]
    age_after: Phrases[bool]
    money_before: Phrases[bool]
    money_after: Phrases[bool]
    time_before: Phrases[bool]
    time_after: Phrases[bool]
    reference_before: Phrases[bool]
    reference_after: Phrases[bool]
    digit_suffixes: dict[str, str]
    ordinal_words: re.Pattern[str] | None
    not_numbers: re.Pattern[str] | None
    starters: frozenset[str]  # the tokens a figure (with its qualifier or range frame) can start with


def _flags(phrases: list[str]) -> Phrases[bool]:
    return Phrases((p, True) for p in phrases)


@functools.cache
def grammar(lang: Lang) -> Grammar:
    """Load ``numbers-{lang}.yaml`` and compile it (once per language)."""
    data: dict[str, Any] = lexicon.load(f"numbers-{lang}")
    ex: dict[str, Any] = data.get("exclude") or {}
    words: dict[str, Word] = {}
    stems: list[tuple[str, Word]] = []
    for value, phrases in (data.get("words") or {}).items():
        forms = [norm(p) for p in _strings(phrases, f"words.{value}")]
        for f in forms:
            words[f] = Word(float(value), "add")
        if forms:
            stems.append((forms[0], Word(float(value), "add")))
    for f in _strings(data.get("hundred"), "hundred"):
        words[norm(f)] = Word(100.0, "hundred")
        stems.append((norm(f), Word(100.0, "hundred")))
    for phrase, value in _by_value(data.get("scales"), "scales"):
        words[norm(phrase)] = Word(value, "scale")
        stems.append((norm(phrase), Word(value, "scale")))
    for phrase, value in _by_value(data.get("fractions"), "fractions"):
        words[norm(phrase)] = Word(value, "fraction")
    for phrase, value in _by_value(data.get("halves"), "halves"):
        words[norm(phrase)] = Word(value, "half")
    for case, spec in (data.get("endings") or {}).items():
        for stem, word in stems:
            side, form = _harmony(stem)
            ending = norm(spec[side][form])
            qual: Qualifier | None = spec.get("qualifier")
            words.setdefault(stem + ending, Word(word.value, word.kind, case, qual, bool(spec.get("ordinal"))))
    for w in _strings(data.get("not_number_words"), "not_number_words"):
        words.pop(norm(w), None)

    fixed: list[tuple[str, tuple[float, Qualifier]]] = []
    for qual, table in (data.get("fixed") or {}).items():
        fixed += [(p, (v, qual)) for p, v in _by_value(table, f"fixed.{qual}")]

    def quals(key: str) -> Phrases[str]:
        table = data.get(key) or {}
        return Phrases((p, q) for q, phrases in table.items() for p in _strings(phrases, f"{key}.{q}"))

    frames = tuple(
        (
            _flags(_strings(f.get("open"), "range_frames.open")),
            _flags(_strings(f.get("join"), "range_frames.join")),
            _flags(_strings(f.get("close"), "range_frames.close")),
        )
        for f in data.get("range_frames") or []
    )
    cr = data.get("case_range") or {}
    case_range = (cr["from"], cr["to"], _flags(_strings(cr.get("close"), "case_range.close"))) if cr else None
    suffixes = {
        norm(s): role for role, forms in (ex.get("digit_suffixes") or {}).items() for s in _strings(forms, role)
    }
    ordinal_words = ex.get("ordinal_words") or []
    not_numbers = data.get("not_numbers") or []
    cased = bool(ex.get("months_case_sensitive"))
    fixed_phrases = Phrases(fixed)
    vague = Phrases(_by_value(data.get("vague"), "vague"))
    before = quals("qualifiers_before")
    articles = frozenset(norm(a) for a in _strings(data.get("articles"), "articles"))
    starters = frozenset(words) | articles | fixed_phrases.firsts | vague.firsts | before.firsts
    starters |= frozenset().union(*(opener.firsts for opener, _, _ in frames))
    return Grammar(
        lang=lang,
        comma_decimal=bool(data["digits"]["comma_decimal"]),
        dot_thousands=bool(data["digits"]["dot_thousands"]),
        scale_alone=bool(data.get("scale_alone")),
        more_than_adds=int(data.get("more_than_adds") or 0),
        words=words,
        digit_scales=Phrases(_by_value(data.get("digit_scales"), "digit_scales")),
        articles=articles,
        joiners=frozenset(norm(a) for a in _strings(data.get("joiners"), "joiners")),
        fixed=fixed_phrases,
        vague=vague,
        one_not_after=_flags(_strings(data.get("one_not_after"), "one_not_after")),
        one_not_before=_flags(_strings(data.get("one_not_before"), "one_not_before")),
        before=before,
        after=quals("qualifiers_after"),
        at_most_not_after=frozenset(norm(w) for w in _strings(data.get("at_most_not_after"), "at_most_not_after")),
        at_most_not_before=frozenset(norm(w) for w in _strings(data.get("at_most_not_before"), "at_most_not_before")),
        infix=_flags(_strings(data.get("range_infix"), "range_infix")),
        frames=frames,
        case_range=case_range,
        months=frozenset(m if cased else norm(m) for m in _strings(ex.get("months"), "months")),
        months_cased=cased,
        month_stems=(
            re.compile("|".join(sorted((re.escape(norm(m)) for m in ex.get("months") or []), key=len, reverse=True)))
            if ex.get("months_with_endings")
            else None
        ),
        date_joiners=frozenset(norm(w) for w in _strings(ex.get("date_joiners"), "date_joiners")),
        year_before=_flags(_strings(ex.get("year_before"), "year_before")),
        year_after=_flags(_strings(ex.get("year_after"), "year_after")),
        years_after=_flags(_strings(ex.get("years_after"), "years_after")),
        percent_after=_flags(_strings(ex.get("percent_after"), "percent_after")),
        age_before=_flags(_strings(ex.get("age_before"), "age_before")),
        age_after=_flags(_strings(ex.get("age_after"), "age_after")),
        money_before=_flags(_strings(ex.get("money_before"), "money_before")),
        money_after=_flags(_strings(ex.get("money_after"), "money_after")),
        time_before=_flags(_strings(ex.get("time_before"), "time_before")),
        time_after=_flags(_strings(ex.get("time_after"), "time_after")),
        reference_before=_flags(_strings(ex.get("reference_before"), "reference_before")),
        reference_after=_flags(_strings(ex.get("reference_after"), "reference_after")),
        digit_suffixes=suffixes,
        ordinal_words=re.compile("(?:" + "|".join(ordinal_words) + r")\Z") if ordinal_words else None,
        not_numbers=re.compile("|".join(f"(?:{p})" for p in not_numbers), re.IGNORECASE) if not_numbers else None,
        starters=starters,
    )


@dataclass
class Figure:
    """A figure being read: tokens [i, j), its bounds and how it was written."""

    i: int
    j: int
    low: float
    high: float | None
    qualifier: Qualifier
    digits: bool = False  # written in digits
    plain: bool = False  # one run of digits, no separator, scale or ending (a year could look so)
    scale: float = 0  # the last scale word, which a range's first end may borrow ("2-3 thousand")
    case: str | None = None  # a Kazakh case ending on the last word
    excluded: bool = False  # read, but not a count (an ordinal, a date, an age): skip its tokens
    more_than: bool = False  # "more than 15": low is 15 + the grammar's more_than_adds


class Reader:
    """Reads the figures of one text with one language's grammar."""

    def __init__(self, g: Grammar, text: str) -> None:
        self.g = g
        self.text = text
        toks = tokenize(text)
        self.starts = [t[0] for t in toks]
        self.ends = [t[1] for t in toks]
        self.norms = [t[2] for t in toks]
        self.n = len(toks)

    # --- small helpers -------------------------------------------------------------------------------------

    def is_digits(self, k: int) -> bool:
        return k < self.n and self.norms[k][0].isdigit()

    def attached(self, k: int) -> bool:
        """Whether token ``k`` touches the one before it (no space between)."""
        return 0 < k < self.n and self.starts[k] == self.ends[k - 1]

    def word(self, k: int) -> Word | None:
        return self.g.words.get(self.norms[k]) if k < self.n else None

    def is_month(self, k: int) -> bool:
        if not 0 <= k < self.n:
            return False
        g = self.g
        token = self.text[self.starts[k] : self.ends[k]] if g.months_cased else self.norms[k]
        if g.months_cased and not token[:1].isupper():
            return False
        if token in g.months or (g.months_cased and token.capitalize() in g.months):
            return True
        return g.month_stems is not None and g.month_stems.match(token) is not None

    # --- digits ------------------------------------------------------------------------------------------------

    def digits_value(self, s: str, scale_follows: bool) -> float | None:
        """The value of a digits token under the language's separators (module docstring); None when the
        separators make no number ("1.234,567.8")."""
        try:
            return self._digits_value(s, scale_follows)
        except ValueError:
            return None

    def _digits_value(self, s: str, scale_follows: bool) -> float | None:
        s = s.replace(" ", "").replace("\u00a0", "").replace("\u202f", "")
        if "," in s and "." in s:
            dec = "," if s.rfind(",") > s.rfind(".") else "."
            return float(s.replace("." if dec == "," else ",", "").replace(dec, "."))
        sep = "," if "," in s else "." if "." in s else ""
        if not sep:
            return float(s)
        parts = s.split(sep)
        grouped = len(parts[0]) <= 3 and all(len(p) == 3 for p in parts[1:])
        if len(parts) > 2:
            return float("".join(parts)) if grouped else None
        if sep == ",":
            if grouped and not (self.g.comma_decimal and scale_follows):
                return float("".join(parts))
            return float(parts[0] + "." + parts[1]) if self.g.comma_decimal else None
        if grouped and self.g.dot_thousands and not scale_follows:
            return float("".join(parts))
        return float(s)

    def scale_at(self, k: int) -> bool:
        w = self.word(k)
        return (w is not None and w.kind in ("scale", "hundred")) or self.g.digit_scales.at(self.norms, k) is not None

    def digits_atom(self, k: int) -> Figure | None:
        g, norms = self.g, self.norms
        tok = norms[k]
        if self.attached(k) and (norms[k - 1][0].isalpha() or norms[k - 1] in ("-", "_", "/")):
            prev2 = k - 2
            if norms[k - 1][0].isalpha() or (
                norms[k - 1] != "/" and self.attached(k - 1) and prev2 >= 0 and norms[prev2][0].isalpha()
            ):
                return Figure(k, k + 1, 0, 0, "exact", excluded=True)  # G20, COVID-19, F-16
        separated = not tok.isdigit()
        if not separated and len(tok) >= 7:
            return Figure(k, k + 1, 0, 0, "exact", excluded=True)  # an id or a phone number, not a count
        j = k + 1
        # letters straight after: a scale ("10k"), an ordinal ("16th"), or a word the figure is part of ("5km")
        if j < self.n and self.attached(j) and norms[j][0].isalpha():
            ds = g.digit_scales.at(norms, j)
            if ds is None:
                return Figure(k, j + 1, 0, 0, "exact", excluded=True)
        value = self.digits_value(tok, self.scale_at(j))
        if value is None:
            return Figure(k, j, 0, 0, "exact", excluded=True)
        fig = Figure(k, j, value, value, "exact", digits=True, plain=not separated)
        ended = self.digit_suffix(fig)  # "3-х тысяч": an ending may stand before the scale
        if not fig.excluded and ended in (None, "keep"):
            ds = g.digit_scales.at(norms, fig.j)  # "1.5 million", "2 тыс.", "10k", "2 мың", "two hundred thousand"
            if ds is not None:
                fig.low *= ds[0]
                fig.scale, fig.j, fig.plain = ds[0], ds[1], False
            else:
                more = self.words_from(fig.j, current=fig.low, room=0, started=True)
                if more is not None and more.j > fig.j:
                    fig.low, fig.j, fig.scale, fig.case, fig.plain = more.low, more.j, more.scale, more.case, False
                    fig.qualifier = more.qualifier
                    fig.excluded = more.excluded
            if ended is None:
                self.digit_suffix(fig)  # "2 000-нан астам"
        fig.high = fig.low
        if fig.low != int(fig.low):
            fig.excluded = True  # a measure ("2.5 km"), not a count
        return fig

    def digit_suffix(self, fig: Figure) -> str | None:
        """Take a hyphenated ending after digits into the figure ("2-х", "70-ке", "16-го", "15-летний",
        "164-бабы") and say what it does to it (its role in ``digit_suffixes``); None when there is none."""
        j, norms = fig.j, self.norms
        if not (j + 1 < self.n and norms[j] == "-" and self.attached(j) and self.attached(j + 1)):
            return None
        role = self.g.digit_suffixes.get(norms[j + 1])
        if role is None:
            return None
        fig.j = j + 2
        fig.plain = False
        if role in ("dative", "ablative"):
            fig.case = role
        elif role == "about":
            fig.qualifier = "about"
        elif role != "keep":
            fig.excluded = True
        return role

    # --- number words ------------------------------------------------------------------------------------------

    def words_from(self, k: int, current: float = 0, room: float = INF, started: bool = False) -> Figure | None:
        """Number words from token ``k`` by the additive-multiplicative rule (module docstring)."""
        norms, g = self.norms, self.g
        total = 0.0
        last_scale = INF
        scale_seen = 0.0
        j = k
        consumed = started
        fig = Figure(k, k, 0, 0, "exact")
        while j < self.n:
            w = g.words.get(norms[j])
            if w is None:
                if norms[j] == "-" and consumed and room == 10 and self.attached(j) and self.attached(j + 1):
                    nxt = self.word(j + 1)
                    if nxt is not None and nxt.kind == "add" and 0 < nxt.value < 10:
                        j += 1  # twenty-five
                        continue
                if norms[j] in g.joiners and consumed and room >= 100:
                    nxt = self.word(j + 1)
                    if nxt is not None and nxt.kind == "add" and 0 < nxt.value < 100:
                        j += 1  # one hundred and fifty
                        continue
                break
            if w.ordinal:
                fig.excluded = True
                j += 1
                break
            if w.kind == "add":
                if not consumed:
                    current, room = w.value, _room(w.value)
                elif w.value < room and w.value > 0:
                    current += w.value
                    room = _room(w.value)
                else:
                    break
            elif w.kind == "hundred":
                if 1 <= current < 100 and room < 100 and current == int(current):
                    current *= 100
                elif current == 0 and (consumed or g.scale_alone):
                    current = 100  # "жүз елу"; after a scale, "мың жүз"
                else:
                    break
                room = 100
            elif w.kind == "scale":
                if w.value >= last_scale:
                    break
                if current > 0:
                    total += current * w.value
                elif not consumed and g.scale_alone:
                    total = w.value  # "тысяча человек", "мың адам"
                else:
                    break
                current, last_scale, scale_seen = 0, w.value, w.value
                room = w.value if w.value >= 1000 else 0
            elif w.kind == "fraction":
                if consumed:
                    break
                current, room = w.value, 0
            elif w.kind == "half":
                if not (consumed and 1 <= current <= 9):
                    break
                current += w.value
                room = 0
            consumed = True
            j += 1
            if w.case is not None or w.qualifier is not None:
                fig.case = w.case
                if w.qualifier is not None:
                    fig.qualifier = w.qualifier
                break  # a Kazakh ending closes the number
        if not consumed or (j == k and not started):
            return None
        value = total + current
        fig.j, fig.low, fig.high, fig.scale = j, value, value, scale_seen
        if value != int(value):
            fig.excluded = True  # "полтора" alone, "екі жарым": no count
        return fig

    # --- atoms, ranges, qualifiers -----------------------------------------------------------------------------

    def atom(self, k: int) -> Figure | None:
        """One figure without qualifiers or ranges at token ``k`` (module docstring)."""
        if k >= self.n:
            return None
        g, norms = self.g, self.norms
        hit = g.fixed.at(norms, k)
        if hit is not None:
            (value, qual), j = hit
            return Figure(k, j, value, value, qual)
        vague = g.vague.at(norms, k)
        if vague is not None:
            return self.vague_atom(k, vague[0], vague[1])
        if self.is_digits(k):
            return self.digits_atom(k)
        if norms[k] in g.articles:
            nxt = self.word(k + 1)
            if nxt is not None and nxt.kind in ("hundred", "scale"):
                fig = self.words_from(k + 1, current=1, room=0, started=True)
                if fig is not None:
                    fig.i = k
                return fig
            return None
        fig = self.words_from(k)
        if fig is None:
            return None
        lone_one = fig.j == k + 1 and fig.low == 1 and not fig.excluded
        if lone_one and (g.one_not_after.before(norms, k) is not None or g.one_not_before.at(norms, k + 1) is not None):
            return None  # "no one", "one another"
        return fig

    def vague_atom(self, k: int, value: float, j: int) -> Figure:
        norms = self.norms
        if value < 10:  # a quantifier: "several hundred" is 3 x 100
            w = self.word(j)
            if w is not None and w.kind in ("hundred", "scale") and w.case is None:
                value, j = value * (100.0 if w.kind == "hundred" else w.value), j + 1
        else:  # a plural scale: "tens of thousands" is 10000
            m = j + 1 if j < self.n and norms[j] == "of" else j
            more = self.g.vague.at(norms, m)
            w = self.word(m)
            if more is not None and more[0] >= 10:
                value, j = value * more[0], more[1]
            elif w is not None and w.kind in ("hundred", "scale"):
                value, j = value * (100.0 if w.kind == "hundred" else w.value), m + 1
        return Figure(k, j, value, None, "vague")

    def range_after(self, a: Figure) -> Figure | None:
        """A range from figure ``a``: "10-15", "two or three", "двух-трех", "10-нан 15-ке дейін"."""
        g, norms = self.g, self.norms
        if a.qualifier == "vague" or a.excluded:
            return None
        link = g.infix.at(norms, a.j)
        if link is not None:
            b = self.atom(link[1])
            if b is not None and b.qualifier != "vague" and not b.excluded:
                low = a.low
                if b.scale and not a.scale and a.low * b.scale <= b.low:
                    low = a.low * b.scale  # "2-3 thousand"
                if b.low > low:
                    return Figure(a.i, b.j, low, b.low, "range", digits=a.digits, case=b.case)
        if g.case_range is not None and a.case == g.case_range[0]:
            b = self.atom(a.j)
            if b is not None and b.case == g.case_range[1] and b.low > a.low:
                close = g.case_range[2].at(norms, b.j)
                if close is not None:
                    return Figure(a.i, close[1], a.low, b.low, "range", digits=a.digits)
        for opener, join, close_words in g.frames:
            if opener.empty:  # "10 бен 15 аралығында": the frame has no opening word, only a closing one
                joined = join.at(norms, a.j)
                b = self.atom(joined[1]) if joined is not None else None
                if b is not None and b.qualifier != "vague" and not b.excluded and b.low > a.low:
                    shut = close_words.at(norms, b.j)
                    if shut is not None:
                        return Figure(a.i, shut[1], a.low, b.low, "range", digits=a.digits)
        return None

    def framed(self, k: int) -> Figure | None:
        """A framed range at ``k``: an opening word, a figure, a joining word, a larger figure ("between 10 and
        15", "от 10 до 15")."""
        for opener, join, close_words in self.g.frames:
            opened = None if opener.empty else opener.at(self.norms, k)
            if opened is None:
                continue
            a = self.atom(opened[1])
            if a is None or a.qualifier == "vague" or a.excluded:
                continue
            joined = join.at(self.norms, a.j)
            if joined is None:
                continue
            b = self.atom(joined[1])
            if b is None or b.qualifier == "vague" or b.excluded:
                continue
            low = a.low * b.scale if b.scale and not a.scale and a.low * b.scale <= b.low else a.low
            if b.low <= low:
                continue
            j = b.j
            shut = close_words.at(self.norms, j)
            if shut is not None:
                j = shut[1]
            return Figure(k, j, low, b.low, "range", digits=a.digits)
        return None

    def figure_at(self, k: int) -> Figure | None:
        """The figure starting at token ``k`` with its qualifiers, or None."""
        g, norms = self.g, self.norms
        prefix = g.before.at(norms, k)
        qual: str | None = None  # a Qualifier, or "more_than"
        start = k  # where the figure proper starts, after a qualifier
        if prefix is not None and self.figure_like(prefix[1]):
            qual, start = prefix
            if qual == "at_most" and k > 0 and (norms[k - 1] in g.at_most_not_after or self.figure_before(k)):
                qual, k = None, start  # "rose to 16", "с 10 до 15": the figure given, no bound
        fig = self.framed(start) or self.atom(start)
        if fig is None:
            return None
        if not fig.excluded:
            ranged = self.range_after(fig)
            if ranged is not None:
                fig = ranged
        suffix = g.after.at(norms, fig.j)
        if suffix is not None and not fig.excluded:
            s_qual, s_end = suffix
            if not (s_qual == "at_most" and s_end < self.n and norms[s_end] in g.at_most_not_before):
                fig.j = s_end
                if fig.qualifier in ("exact", "about"):
                    self.qualify(fig, s_qual)  # "сотня с лишним": a hundred and more
        fig.i = k
        if qual is not None and fig.qualifier in ("exact", "about"):
            self.qualify(fig, qual)
        return fig

    @staticmethod
    def qualify(fig: Figure, qual: str) -> None:
        """Give ``fig`` a qualifier from the lexicon ("more_than" is at_least, with the more_than_adds rule)."""
        fig.more_than = qual == "more_than"
        fig.qualifier = "at_least" if fig.more_than else cast(Qualifier, qual)

    def figure_like(self, k: int) -> bool:
        """Whether a figure could start at token ``k`` (after a qualifier)."""
        if k >= self.n:
            return False
        if self.is_digits(k) or self.norms[k] in self.g.words or self.norms[k] in self.g.articles:
            return True
        return self.g.fixed.at(self.norms, k) is not None or self.g.vague.at(self.norms, k) is not None

    def figure_before(self, k: int) -> bool:
        """Whether token ``k - 1`` ends a figure (digits or a number word)."""
        return k > 0 and (self.is_digits(k - 1) or self.norms[k - 1] in self.g.words)

    # --- what is not a count ------------------------------------------------------------------------------------

    def excluded(self, fig: Figure, blocked: list[tuple[int, int]]) -> bool:
        """Whether a figure read is something else: a year, a date, an age, money, a reference (docstring)."""
        if fig.excluded:
            return True
        g, norms = self.g, self.norms
        i, j = fig.i, fig.j
        start, end = self.starts[i], self.ends[j - 1]
        if any(s < end and start < e for s, e in blocked):
            return True
        if not fig.digits and not any(self.is_digits(k) for k in range(i, j)):
            return self.money(i, j) or self.age(i, j) or self.ordinal_after(j)
        value = fig.low
        year_like = fig.plain and 1800 <= value <= 2100 and fig.qualifier == "exact"
        if (value <= 31 or year_like) and fig.qualifier in ("exact", "range") and self.month_near(i, j, year_like):
            return True
        if year_like and self.year(i, j):
            return True
        if g.years_after.at(norms, j) is not None:
            return True  # "в 2011 году", "90-х годах", "2011 жылы"
        if g.percent_after.at(norms, j) is not None or self.money(i, j) or self.age(i, j):
            return True
        if g.time_before.before(norms, i) is not None or g.time_after.at(norms, j) is not None:
            return True
        if g.reference_before.before(norms, i) is not None or g.reference_after.at(norms, j) is not None:
            return True
        if self.ordinal_after(j):
            return True
        # list numbering: "1. Protesters ..." at the start of a line
        if j < self.n and norms[j] in (".", ")") and value < 100:
            line_start = self.text.rfind("\n", 0, self.starts[i]) + 1
            if not self.text[line_start : self.starts[i]].strip():
                return True
        return False

    def month_near(self, i: int, j: int, year_like: bool) -> bool:
        """A month next to the figure, or after "16 and 17", or (for a year) a few tokens before it."""
        if self.is_month(i - 1) or self.is_month(j):
            return True
        k = j
        while (
            k < self.n
            and k < j + 4
            and (
                self.norms[k] in self.g.date_joiners
                or (
                    self.is_digits(k)
                    and self.norms[k].isascii()
                    and self.norms[k].isdigit()
                    and int(self.norms[k]) <= 31
                )
            )
        ):
            k += 1
        if k > j and self.is_month(k):
            return True
        return year_like and any(self.is_month(k) for k in range(max(0, i - 3), i))  # "December 16, 2011"

    def year(self, i: int, j: int) -> bool:
        """A year: after "in", before "election", before punctuation, or one of two ("2019 and 2020")."""
        g, norms = self.g, self.norms
        if g.year_before.before(norms, i) is not None or g.year_after.at(norms, j) is not None:
            return True
        if j + 1 < self.n and norms[j] in g.date_joiners and self.plain_year(j + 1):
            return True
        return j >= self.n or norms[j] in (",", ".", ")", ";", ":", "!", "?")

    def plain_year(self, k: int) -> bool:
        tok = self.norms[k] if k < self.n else ""
        return len(tok) == 4 and tok.isascii() and tok.isdigit() and 1800 <= int(tok) <= 2100

    def money(self, i: int, j: int) -> bool:
        g, norms = self.g, self.norms
        return g.money_before.before(norms, i) is not None or g.money_after.at(norms, j) is not None

    def age(self, i: int, j: int) -> bool:
        g, norms = self.g, self.norms
        return g.age_before.before(norms, i) is not None or g.age_after.at(norms, j) is not None

    def ordinal_after(self, j: int) -> bool:
        pattern = self.g.ordinal_words
        return pattern is not None and j < self.n and pattern.match(self.norms[j]) is not None

    # --- the whole text -----------------------------------------------------------------------------------------

    def blocked(self) -> list[tuple[int, int]]:
        """Stretches that are no figures (dates, times, phone numbers: ``not_numbers``). They start at a digit
        or just before one ("+7", "(7292)"), so they are tried only there."""
        pattern = self.g.not_numbers
        out: list[tuple[int, int]] = []
        if pattern is None:
            return out
        reach = 0
        for k in range(self.n):
            if not self.norms[k][0].isdigit() or self.starts[k] < reach:
                continue
            start = self.starts[k]
            for pos in (start - 1, start) if start and self.text[start - 1] in "+(" else (start,):
                found = pattern.match(self.text, pos)
                if found is not None:
                    out.append(found.span())
                    reach = found.end()
                    break
        return out

    def mentions(self) -> list[NumberMention]:
        blocked = self.blocked()
        out: list[NumberMention] = []
        k = 0
        norms, starters = self.norms, self.g.starters
        while k < self.n:
            if not (norms[k][0].isdigit() or norms[k] in starters):
                k += 1
                continue
            fig = self.figure_at(k)
            if fig is None:
                k += 1
                continue
            if not self.excluded(fig, blocked):
                out.append(self.mention(fig))
            k = max(fig.j, k + 1)
        return out

    def mention(self, fig: Figure) -> NumberMention:
        start, end = self.starts[fig.i], self.ends[fig.j - 1]
        low = int(fig.low) + (self.g.more_than_adds if fig.more_than else 0)
        high: int | None = low
        if fig.qualifier in ("at_least", "vague"):
            high = None
        elif fig.qualifier == "range" and fig.high is not None:
            high = int(fig.high)
        elif fig.qualifier == "at_most":
            low = 0  # "up to 70": nothing below is ruled out; the figure is the bound
        return NumberMention(start, end, self.text[start:end], low, high, fig.qualifier)


def _room(value: float) -> float:
    """What may still be added after an additive word: 1-9 after a ten, 1-99 after a hundred, nothing else."""
    if value % 100 == 0 and 100 <= value <= 900:
        return 100
    if value % 10 == 0 and 10 <= value <= 90:
        return 10
    return 0


def find_numbers(text: str, lang: Lang) -> list[NumberMention]:
    """Every figure in ``text`` (non-overlapping, in text order) with the bounds it implies."""
    return Reader(grammar(lang), text).mentions()
