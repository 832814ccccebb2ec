"""Dates: every mention of a time in a text, resolved to the days it allows, and the day ACLED would code.

``find_dates(text, lang, published)`` finds "16 December 2011", "Dec. 16", "16-19
декабря", "желтоқсанның 16-сы", "on Tuesday", "вчера", "кеше", "last week",
"until January 5" and the like, and resolves each against the day the document
was published (or received). ``event_date(mentions, published)`` gives the day
an ACLED coder would give the event the document describes.

Spans are found by a regular grammar of our own, not by ``dateparser``: its
ranges and "until" are wrong and it is too slow for a hundred reports a second.
The grammar is language data (``data/dates-{en,ru,kk}.yaml``): lexicons of month
and weekday names in all their case forms, relative words, and patterns built
from them; it is compiled once per language. Every candidate of every pattern is
found, the longest candidates win and what they overlap is dropped, so "Friday,
16 December 2011" is one mention and not three.

Speed (a report of 300 characters takes about 0.2 ms): the text is matched in
lower case (English month and weekday names must still be capitalised in the
text: "May 16", not "may"), lexicons are compiled as prefix trees, one scan
finds every number and every phrase a pattern can begin with, and each
pattern's core is tried only there; what may stand before a core ("until",
"between", "on an unspecified date in") is a separate ``before`` pattern tried
backwards from the core only where the core matched.

How a mention is resolved (``earliest``/``latest`` inclusive, ``precision`` ACLED's
time_precision: 1 the day, 2 a week or a few days, 3 a month or vaguer):

- **A written date** is that day, precision 1.
- **The year, when not written**, is the year of the last date the text wrote
  one for, read forward ("On 5 April 2021 ... On 6 April"; "in May 2011 ...
  until December 16" is December 2011); with none, it is read against
  publication. Either way the date is **not after publication**: "December 16"
  in a report of 5 January 2012 is 16 December 2011. The exception is a bound
  that may lie ahead ("until January 5", "before Friday", "ends on January 5",
  "до 5 января", "5 қаңтарға дейін"): the occurrence nearest publication is
  taken, so a state of emergency declared on 23 December "until January 5"
  ends on 5 January of the next year.
- **The relation** says which side of the interval a statement holds: "on"
  (a date or a period), "range" (from a day to a day), "until", "since",
  "before", "after". For the four bounds the interval is **the bound as
  written** (for "until January 5", 5 January; for "since December 16", 16
  December), so no reading is invented for the open side: the publication day
  closes "since" and the reader knows it. A date a statement was made on
  ("said on Tuesday", "on Monday called for", "сообщил во вторник", "бейсенбі
  күні мәлімдеді"; the verb is left out of the span), a report's date ("As
  reported on 14 February") and a dateline ("ASTANA, Dec 17 -", "АСТАНА, 17
  декабря.") are "before": they bound the events reported, they do not date them.
- **Intervals are cut at publication** where they cross it ("in December" in a
  report of 20 December is 1-20 December; "16-19 December" of 17 December is
  16-17); a bound that looks ahead is not cut, and a date whose year is written
  after publication is kept as written. Only words that look ahead ("tomorrow",
  "next week") resolve after publication. Event dates never do: ``event_date``
  skips them.
- **Weekdays**: a bare weekday ("on Tuesday", "во вторник", "сейсенбіде") is
  the latest such day **on or before** publication, so "on Tuesday" in a report
  published on a Tuesday is that day (wire style names the day of the event
  even when it is today); "last Tuesday", "в прошлый вторник", "өткен
  сейсенбіде" are strictly before it; "next Tuesday" after.
- **Relative days** ("yesterday", "last night", "вчера", "вчерашних",
  "позавчера", "кеше", "алдыңғы күні") count from publication, precision 1;
  "last week" is Monday to Sunday of the week before (precision 2), "over the
  weekend" the latest Saturday and Sunday (2), "earlier this month" / "last
  month" a month (3).
- **Ranges** ("16-19 December", "between 16 and 19 December", "from December
  16 to 19", "с 16 по 19 декабря", "16-19 желтоқсан") are range, precision 2 when
  they span at most a week and 3 when longer; "on 16 and 17 December" is the
  range 16-17. A night across two days ("Overnight on 16-17 December", "в ночь
  с 16 на 17 декабря", "в ночь на 17 декабря") is those two days, relation
  "on", **precision 1**: its first day is the date ACLED codes.
- **Parts of a month**: "early December" 1-10, "mid-December" 11-20, "late
  December" 21-31, "the first week of December" 1-7 (precision by length).
- **Point estimates** are one day with a lower precision, because ACLED codes
  the day it was given: "Around 16 December 2011 (week of)", "around 16
  December", "the week of 16 December" and "a week ago" are that day with
  precision 2 ("a month ago": 3).
- **ACLED notes** open with "On 16 December 2011," (the day, 1), "Around 15
  December 2011 (month of)" (the month, 3), "Around 5 November 2022 (between 4
  and 6 November)" (the range, 2), "On an unspecified date in December 2011"
  (the month, 3), "Between 16 and 19 December 2011" (range, 2) or "Overnight
  on 16-17 December" (the night, 1).
- **Numeric dates** are ISO ("2011-12-16") or **day first** ("16/12/2011",
  "16.12.2011", as written everywhere but the United States), read month first
  only when the first number cannot be a month and the second can be a day
  ("12/16/2011"); a numeric date needs its year.
- **Anaphors** ("the following day", "two days later", "на следующий день",
  "накануне", "келесі күні") count from the last mention before them that names
  one day; with none they are dropped. A day alone ("On the 16th", "18-го
  числа") is in the month of the last date the text gave, or else the latest
  such day on or before publication.
- **Not dates**: counts ("16 dead"), ages, times of day, "Article 16" and
  durations ("for four days", "в течение четырёх дней": counts handle them) have
  no month or date word, so the grammar does not read them; a year alone is
  read only after a preposition ("in 2011", "в 2011 году", "2011 жылы"); a
  month name alone needs a preposition or case ending ("in May", "в мае",
  "желтоқсанда"; not "Желтоқсан", the 1986 uprising) and some not even then
  ("Қазанда" is also "in Kazan"); a date inside a name is dropped by the word
  before or after it (``names_before``: "Good Friday", "улица 16 Декабря";
  ``names_after``: "16 December Street", "Sunday Times", "... көшесі").

**The event's day** (``event_date``) follows ACLED's coding: the day itself;
the middle day of a range, a week or a weekend (the earlier of two middle days:
"Between 17 and 22 December" is the 19th, a weekend its Saturday); the first day
of a night; the 15th of a month.
"""

from __future__ import annotations

import bisect
import calendar
import dataclasses
import functools
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from factfinder.text import lexicon
from factfinder.text.model import DateMention, Lang, TimePrecision

Relation = Literal["on", "range", "until", "since", "before", "after"]
Reading = Literal["past", "nearest"]

RELATIONS: frozenset[str] = frozenset({"on", "range", "until", "since", "before", "after"})
AHEAD: frozenset[str] = frozenset({"until", "before"})
"""Relations whose bound may lie after publication: the nearest occurrence is read."""
EVENT_RELATIONS: frozenset[str] = frozenset({"on", "range", "since"})
"""Mentions that can date an event (a bound ahead, a statement's date or a dateline cannot)."""

DAY = r"\d\d?(?![\d:]|[.,]\d)"  # 1-31 is checked when the date is built
YEAR = r"(?:1[89]|20)\d\d(?!\d|[.,]\d)"
NOT_AFTER_DIGIT = r"(?<![\d.,:])"
NOT_AFTER_WORD = r"(?<!\w)"
MACRO = re.compile(r"\{([A-Z_]+)(?::([a-z0-9_]+))?\}")
KINDS = (
    "date", "range", "iso", "numeric", "month", "year", "weekday", "relday", "period", "ago", "later", "anaphor",
    "dayonly",
)  # fmt: skip
DEFERRED = ("later", "anaphor")
"""Kinds resolved against the mention before them, once spans are chosen."""


def _key(phrase: str) -> str:
    """The lookup key of a phrase: lower case, white space collapsed."""
    return " ".join(phrase.lower().split())


def _trie(forms: Iterable[str]) -> str:
    """One regex for many literal phrases, as a prefix tree ("dec(?:ember|\\.)?"), so ``re`` rejects a position
    on its first letter instead of trying every phrase in turn; a space in a phrase matches any white space."""
    root: dict[str, Any] = {}
    for form in forms:
        node = root
        for char in _key(form):
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        branches = [(r"\s+" if c == " " else re.escape(c)) + emit(child) for c, child in sorted(node.items()) if c]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if "" in node:
            return f"(?:{body})?"
        return body

    return emit(root) or "(?!)"


def _lower(text: str) -> str:
    """``text`` in lower case with every offset kept (the rare letter whose lower case is longer stays as it is)."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


@dataclass(frozen=True)
class _Lexicon:
    """One word list: the regex of all its forms (lower case) and each form's value."""

    regex: str
    values: Mapping[str, Any]
    cased: bool = False  # must be capitalised in the text (English month and weekday names)

    def get(self, found: str | None) -> Any:
        return None if found is None else self.values.get(_key(found))


def _lexicon(entries: Any, convert: Callable[[Any], Any], *, cased: bool, leave_out: Iterable[str] = ()) -> _Lexicon:
    """A lexicon from YAML: a mapping value -> forms, or a plain list of forms (value True)."""
    pairs: list[tuple[str, Any]] = []
    if isinstance(entries, dict):
        pairs = [(str(form), convert(value)) for value, forms in entries.items() for form in forms]
    elif entries:
        pairs = [(str(form), True) for form in entries]
    skip = {_key(f) for f in leave_out}
    forms = {_key(f) for f, _ in pairs if _key(f) not in skip}
    return _Lexicon(_trie(forms), {_key(f): v for f, v in pairs}, cased)


def _span(value: Any) -> tuple[int, int]:
    first, last = str(value).split()
    return int(first), int(last)


def _period(value: Any) -> tuple[str, int]:
    unit, offset = str(value).split()
    return unit, int(offset)


@dataclass(frozen=True)
class _Rule:
    """One pattern: its core, what may stand before it, and the groups that must be capitalised in the text."""

    kind: str
    core: re.Pattern[str]
    before: re.Pattern[str] | None
    not_before: re.Pattern[str] | None
    cased: tuple[str, ...]
    leader: str | None  # the token class its core begins with, or None (then it is searched for everywhere)


@dataclass(frozen=True)
class _Grammar:
    """One language's lexicons and compiled patterns."""

    months: _Lexicon
    weekdays: _Lexicon
    qualifiers: _Lexicon
    relations: _Lexicon
    relative_days: _Lexicon
    periods: _Lexicon
    parts: _Lexicon
    numbers: _Lexicon
    units: _Lexicon
    anaphors: _Lexicon
    year_words: _Lexicon
    backward: frozenset[str]  # "earlier", "ранее", "бұрын": "two days earlier" counts back
    conjunctions: frozenset[str]  # "and", "и": "16 and 17 December"
    between: frozenset[str]  # "between", "между": "between 16 December and 5 January" is a range
    rules: tuple[_Rule, ...] = ()
    names_before: frozenset[str] = frozenset()  # "Good Friday", "Bloody Sunday": a name, not a date
    names_after: frozenset[str] = frozenset()  # "16 December Street", "Sunday Times"
    # Where a core can begin, by the phrase there: phrase -> the token classes (leading macros) it can begin
    # (the digit classes begin at any number); with stems that take endings (Kazakh months), by a word's stem.
    first_words: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    digit_leaders: tuple[str, ...] = ()
    stem_leaders: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    stem_length: int = 0  # stems are looked up by their first letters, this many
    leading_words: re.Pattern[str] = re.compile(r"\d+")  # every word a core can begin with, and numbers


BEFORE_WINDOW = 60
"""How far before a core its ``before`` may begin (the longest: "on an unspecified date between 16 and ")."""


@functools.cache
def _grammar(lang: Lang) -> _Grammar:
    """Load ``dates-{lang}.yaml`` and compile its patterns (once per language)."""
    data: dict[str, Any] = lexicon.load(f"dates-{lang}")
    cased = set(data.get("case_sensitive") or [])

    def lex(name: str, convert: Callable[[Any], Any] = str, leave_out: Iterable[str] = ()) -> _Lexicon:
        return _lexicon(data.get(name), convert, cased=name in cased, leave_out=leave_out)

    g = _Grammar(
        months=lex("months", int),
        weekdays=lex("weekdays", int),
        qualifiers=lex("weekday_qualifiers"),
        relations=lex("relations"),
        relative_days=lex("relative_days", int),
        periods=lex("periods", _period),
        parts=lex("parts", _span),
        numbers=lex("numbers", int),
        units=lex("units"),
        anaphors=lex("anaphors", int),
        year_words=lex("year_words", int),
        backward=frozenset(_key(w) for w in data.get("backward") or []),
        conjunctions=frozenset(_key(w) for w in data.get("range_and") or []),
        between=frozenset(_key(w) for w in data.get("range_between") or []),
    )
    month_alone = lex("months", int, leave_out=data.get("ambiguous_alone") or [])
    month_suffix = data.get("month_suffix") or ""
    pieces: dict[str, tuple[str, str]] = {  # name: (regex, what must not stand before it)
        "DAY": (DAY, NOT_AFTER_DIGIT),
        "YEAR": (YEAR, NOT_AFTER_DIGIT),
        "DSUF": (data.get("day_suffix") or "", ""),
        "YSUF": (data.get("year_suffix") or "", ""),
        "SEP": (data.get("range_separator") or "(?!)", ""),
        "NUM": (rf"(?:\d\d?|{g.numbers.regex})(?!\w)", NOT_AFTER_WORD),
        "DD": (r"\d\d?", ""),  # a number in a numeric date: "16" of "16.12.2011"
    }
    words = {
        "WEEKDAY": g.weekdays,
        "WDQ": g.qualifiers,
        "REL": g.relations,
        "RELDAY": g.relative_days,
        "PERIOD": g.periods,
        "PART": g.parts,
        "UNIT": g.units,
        "ANAPHOR": g.anaphors,
        "YREL": g.year_words,
        "AROUND": lex("around"),
        "NIGHT": lex("night"),
        "UNSPEC": lex("unspecified"),
        "POD": lex("part_of_day"),
        "STMT": lex("statement_words"),
    }
    stems = {
        "MONTH": (g.months, f"(?:{month_suffix})?" if month_suffix else ""),
        "MONTH_ALONE": (month_alone, f"(?:{month_suffix})?" if month_suffix else ""),
        "MONTH_GEN": (g.months, f"(?:{data.get('month_genitive_suffix') or '(?!)'})"),
        "MONTH_CASE": (month_alone, f"(?:{data.get('month_case_suffix') or '(?!)'})"),
    }
    fragments: dict[str, str] = data.get("fragments") or {}

    def compile_part(source: str, where: str) -> tuple[re.Pattern[str], list[str]]:
        """Expand fragments and macros. A core's leading macro gets no look-behind (its boundary is checked in
        Python), so ``re`` can skip to the positions where its first character can match."""
        source = _expand_fragments(source, fragments)
        cased_groups: list[str] = []

        def expand(match: re.Match[str]) -> str:
            name, group = match.group(1), match.group(2)
            leading = where == "core" and match.start() == 0
            if name in stems or name in words:  # the group holds the stem, without its case ending
                lx, suffix = stems[name] if name in stems else (words[name], "")
                if lx.cased and group:
                    cased_groups.append(group)
                inner = f"(?P<{group}>{lx.regex})" if group else f"(?:{lx.regex})"
                return ("" if leading else NOT_AFTER_WORD) + f"{inner}{suffix}(?!\\w)"
            if name not in pieces:
                raise ValueError(f"dates-{lang}.yaml: unknown macro {{{name}}}")
            body, guard = pieces[name]
            inner = f"(?P<{group}>{body})" if group else f"(?:{body})"
            return inner if leading else guard + inner

        expanded = MACRO.sub(expand, source)
        if where == "before":
            expanded = rf"{NOT_AFTER_WORD}(?:{expanded})\Z"
        elif where == "not_before":
            expanded = rf"(?:{expanded})\Z"
        return re.compile(expanded, re.VERBOSE), cased_groups

    rules = []
    for item in data.get("patterns") or []:
        if item["kind"] not in KINDS:
            raise ValueError(f"dates-{lang}.yaml: unknown kind {item['kind']!r}")
        core, cased_core = compile_part(item["regex"], "core")
        before, cased_before = compile_part(item["before"], "before") if item.get("before") else (None, [])
        not_before = compile_part(item["not_before"], "not_before")[0] if item.get("not_before") else None
        first = MACRO.match(_expand_fragments(item["regex"], fragments))
        leader = first.group(1) if first is not None and first.group(1) in {*pieces, *stems, *words} else None
        rules.append(_Rule(item["kind"], core, before, not_before, tuple(cased_core + cased_before), leader))

    # Where each core can begin: one scan of the text finds every phrase of a leading macro (and every number);
    # a phrase opens its own macro and every macro one of whose phrases begins it ("the last week of" opens PART
    # and PERIOD's "the last week"). Stems that take endings (Kazakh months) are found with their ending and
    # looked up by their first letters.
    used = {r.leader for r in rules if r.leader is not None}
    phrases: dict[str, set[str]] = {}
    stem_leaders: dict[str, set[str]] = {}
    for name in used - set(pieces):
        lx = stems[name][0] if name in stems else words[name]
        for form in lx.values:
            (stem_leaders if name in stems and month_suffix else phrases).setdefault(form, set()).add(name)
    for phrase, names in phrases.items():
        names.update(n for other, more in phrases.items() if phrase.startswith(other + " ") for n in more)
    stem_length = min((len(k) for k in stem_leaders), default=0)
    by_prefix: dict[str, set[str]] = {}
    for stem, names in stem_leaders.items():
        by_prefix.setdefault(stem[:stem_length], set()).update(names)
    leading = [r"\d+"]
    if phrases:
        leading.append(f"{_trie(phrases)}(?!\\w)")
    if stem_leaders:
        leading.append(f"{_trie(stem_leaders)}\\w*")
    return dataclasses.replace(
        g,
        rules=tuple(rules),
        names_before=frozenset(_key(w) for w in data.get("names_before") or []),
        names_after=frozenset(_key(w) for w in data.get("names_after") or []),
        first_words={k: tuple(sorted(v)) for k, v in phrases.items()},
        digit_leaders=tuple(sorted(used & set(pieces))),
        stem_leaders={k: tuple(sorted(v)) for k, v in by_prefix.items()},
        stem_length=stem_length,
        leading_words=re.compile("|".join(leading)),
    )


def _expand_fragments(source: str, fragments: Mapping[str, str]) -> str:
    for name, text in fragments.items():
        source = source.replace("{" + name + "}", text)
    return source.strip()


# --- calendar arithmetic -------------------------------------------------------------------------------------------


def _month_end(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def _day(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _distance(first: date, last: date, published: date) -> int:
    """Days from publication to the interval (0 inside it)."""
    if published < first:
        return (first - published).days
    if published > last:
        return (published - last).days
    return 0


def _year_of(
    interval: Callable[[int], tuple[date, date] | None], published: date, reading: Reading, context: date | None = None
) -> int | None:
    """The year to read for a date or month written without one.

    ``past``: the latest year whose interval starts on or before publication;
    ``nearest``: the year whose interval lies nearest publication (a bound that
    may lie ahead). With ``context`` (the last date the text gave with its year:
    "On 5 April 2021 ... On 6 April"), the year nearest that date, and for
    ``past`` not after publication either."""
    if context is not None:
        year = _nearest_year(interval, context, forward=True)
        if reading == "past":
            while year is not None and (got := interval(year)) is not None and got[0] > published:
                year -= 1
        return year
    if reading == "nearest":
        return _nearest_year(interval, published)
    for year in range(published.year, published.year - 9, -1):  # 29 February waits for a leap year
        got = interval(year)
        if got is not None and got[0] <= published:
            return year
    return None


def _nearest_year(
    interval: Callable[[int], tuple[date, date] | None], day: date, *, forward: bool = False
) -> int | None:
    """The year whose interval lies nearest ``day``; with ``forward``, a day before it counts three times as far
    (a narrative runs forward: "in May 2011 ... until December 16" is the December after)."""
    best: tuple[int, int] | None = None
    for year in (day.year - 1, day.year, day.year + 1):
        got = interval(year)
        if got is None:
            continue
        cost = _distance(*got, day) * (3 if forward and got[1] < day else 1)
        if best is None or cost < best[0]:
            best = (cost, year)
    return None if best is None else best[1]


def _precision(first: date, last: date) -> TimePrecision:
    """ACLED's time_precision for an interval: one day 1, up to a week 2, longer 3."""
    days = (last - first).days + 1
    return 1 if days <= 1 else 2 if days <= 7 else 3


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


# --- resolving one match -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Found:
    """A resolved match: the interval, its precision and relation, before spans are chosen."""

    earliest: date
    latest: date
    precision: TimePrecision
    relation: Relation = "on"
    inferred: bool = False  # a year the text did not write was read (from publication, or from the context)


class _Resolver:
    """Resolves the groups a pattern captured into an interval, against the day of publication."""

    def __init__(self, grammar: _Grammar, published: date) -> None:
        self.g = grammar
        self.published = published
        self.context: date | None = None  # the last date the text gave with its year (see ``_year_of``)
        self.inferred = False  # whether the last resolution read a year the text did not write

    def relation(self, gd: dict[str, str | None]) -> Relation:
        """The relation a word before (or, in Kazakh, after) the date gives; a date a statement was made on
        ("said on Tuesday", "сообщил во вторник", "бейсенбі күні мәлімдеді") bounds the events it reports."""
        found = self.g.relations.get(gd.get("rel"))
        if found in RELATIONS:
            return found  # type: ignore[no-any-return]
        return "before" if gd.get("stmt") or gd.get("stmt2") else "on"

    def looks_ahead(self, gd: dict[str, str | None]) -> bool:
        """Whether a written word makes the date a bound that may lie ahead ("until", "before", "до", "дейін")."""
        return self.g.relations.get(gd.get("rel")) in AHEAD

    def year(self, gd: dict[str, str | None], *names: str) -> int | None:
        """The year as written: digits, or words ("last year", "прошлого года", "былтырғы")."""
        for name in names:
            if gd.get(name):
                return int(str(gd[name]))
        offset = self.g.year_words.get(gd.get("yrel"))
        return None if offset is None else self.published.year + offset

    def kind_date(self, gd: dict[str, str | None]) -> _Found | None:
        month = self.g.months.get(gd.get("m1"))
        if month is None or not gd.get("d1"):
            return None
        day_no = int(str(gd["d1"]))
        relation = self.relation(gd)
        year = self.year(gd, "y1", "y1x")
        if year is None:
            self.inferred = True
            reading: Reading = "nearest" if self.looks_ahead(gd) else "past"
            year = _year_of(lambda y: _pair(_day(y, month, day_no)), self.published, reading, self.context)
        day = None if year is None else _day(year, month, day_no)
        if day is None:
            return None
        if gd.get("night"):  # the night of 16 December: 16-17
            return _Found(day, day + timedelta(days=1), 1, relation)
        if gd.get("nighton"):  # the night into 17 December ("в ночь на 17 декабря"): 16-17
            return _Found(day - timedelta(days=1), day, 1, relation)
        if (gd.get("of") or "") == "month":  # "Around 15 June 2021 (month of)": some day in June
            return _Found(day.replace(day=1), day.replace(day=_month_end(day.year, day.month)), 3, relation)
        if gd.get("pd1") and gd.get("pd2"):  # "Around 5 November 2022 (between 4 and 6 November)"
            month_in = self.g.months.get(gd.get("pm")) or month
            first, last = _day(day.year, month_in, int(str(gd["pd1"]))), _day(day.year, month_in, int(str(gd["pd2"])))
            if first is not None and last is not None and first < last:
                return _Found(first, last, 3 if _precision(first, last) == 3 else 2, "range")
        if gd.get("around") or gd.get("around2") or gd.get("of") or gd.get("of1"):
            return _Found(day, day, 2, relation)  # a point estimate: the day ACLED codes, a week's precision
        return _Found(day, day, 1, relation)

    def kind_range(self, gd: dict[str, str | None]) -> _Found | None:
        m1, m2 = self.g.months.get(gd.get("m1")), self.g.months.get(gd.get("m2"))
        if (m1 is None and m2 is None) or not gd.get("d1") or not gd.get("d2"):
            return None
        sep, opener = _key(gd.get("sep") or ""), _key(gd.get("fr") or "")
        if sep in self.g.conjunctions and gd.get("m1") and gd.get("m2") and opener not in self.g.between:
            return None  # "16 December and 20 December": two dates, not a range
        start_month, end_month = m1 or m2, m2 or m1
        assert start_month is not None and end_month is not None
        d1, d2 = int(str(gd["d1"])), int(str(gd["d2"]))
        y1, y2 = self.year(gd, "y1"), self.year(gd, "y2")
        if y1 is None and y2 is None and gd.get("yrel"):
            y2 = self.year(gd)
        if y2 is not None and y1 is None:
            y1 = y2 if (start_month, d1) <= (end_month, d2) else y2 - 1
        if y1 is None:
            self.inferred = True
            y1 = _year_of(lambda y: _pair(_day(y, start_month, d1)), self.published, "past", self.context)
        if y1 is None:
            return None
        if y2 is None:
            y2 = y1 if (start_month, d1) <= (end_month, d2) else y1 + 1
        first, last = _day(y1, start_month, d1), _day(y2, end_month, d2)
        if first is None or last is None or not first < last or (last - first).days > 366:
            return None
        if gd.get("night"):
            return _Found(first, last, 1, "on") if (last - first).days == 1 else None
        return _Found(first, last, _precision(first, last), "range")

    def kind_numeric(self, gd: dict[str, str | None]) -> _Found | None:
        a, b, year = int(str(gd["a"])), int(str(gd["b"])), int(str(gd["y1"]))
        day_no, month = (b, a) if a <= 12 < b else (a, b)  # day first, unless only month first can be
        day = _day(year, month, day_no)
        return None if day is None else _Found(day, day, 1, self.relation(gd))

    def kind_iso(self, gd: dict[str, str | None]) -> _Found | None:
        day = _day(int(str(gd["y1"])), int(str(gd["mo"])), int(str(gd["dd"])))
        return None if day is None else _Found(day, day, 1, self.relation(gd))

    def kind_month(self, gd: dict[str, str | None]) -> _Found | None:
        month = self.g.months.get(gd.get("m1"))
        if month is None:
            return None
        part: tuple[int, int] = self.g.parts.get(gd.get("part")) or (1, 31)
        relation = self.relation(gd)

        def interval(year: int) -> tuple[date, date]:
            last_day = _month_end(year, month)
            first = part[0] if part[0] > 0 else last_day + part[0] + 1
            return date(year, month, first), date(year, month, min(part[1], last_day))

        year = self.year(gd, "y1")
        if year is None:
            self.inferred = self.g.qualifiers.get(gd.get("wdq")) is None
            which = self.g.qualifiers.get(gd.get("wdq"))
            p = self.published
            if which == "last":
                year = p.year if month < p.month else p.year - 1
            elif which == "next":
                year = p.year if month > p.month else p.year + 1
            else:
                year = _year_of(interval, p, "nearest" if self.looks_ahead(gd) else "past", self.context)
        if year is None:
            return None
        first, last = interval(year)
        return _Found(first, last, 3 if gd.get("of") else _precision(first, last), relation)

    def kind_year(self, gd: dict[str, str | None]) -> _Found | None:
        year = int(str(gd["y1"]))
        part: tuple[int, int] | None = self.g.parts.get(gd.get("part"))
        if part is None:
            first, last = date(year, 1, 1), date(year, 12, 31)
        else:  # "early 2012": the days of a month the part names, scaled to a year (early Jan-Apr, late Sep-Dec)
            first_month = max(1, math.ceil((part[0] if part[0] > 0 else 31 + part[0]) * 12 / 31))
            last_month = min(12, max(first_month, math.ceil(part[1] * 12 / 31)))
            first, last = date(year, first_month, 1), date(year, last_month, _month_end(year, last_month))
        return _Found(first, last, 3, self.relation(gd))

    def kind_weekday(self, gd: dict[str, str | None]) -> _Found | None:
        weekday = self.g.weekdays.get(gd.get("wd"))
        if weekday is None:
            return None
        p = self.published
        back = (p.isoweekday() - weekday) % 7
        ahead = (weekday - p.isoweekday()) % 7
        which = self.g.qualifiers.get(gd.get("wdq"))
        relation = self.relation(gd)
        if which == "last":
            day = p - timedelta(days=back or 7)
        elif which == "next":
            day = p + timedelta(days=ahead or 7)
        elif self.looks_ahead(gd) and ahead < back:
            day = p + timedelta(days=ahead)
        else:
            day = p - timedelta(days=back)
        if gd.get("nighton"):  # the night into Tuesday ("в ночь на вторник"): Monday and Tuesday
            return _Found(day - timedelta(days=1), day, 1, relation)
        return _Found(day, day, 1, relation)

    def kind_dayonly(self, gd: dict[str, str | None]) -> _Found | None:
        """ "On the 16th", "18-го числа": that day of the month of the last date the text gave, or else the latest
        such day on or before publication."""
        day_no = int(str(gd["d1"]))
        if not 1 <= day_no <= 31:
            return None
        anchor = self.context or self.published
        options = []
        for shift in (-1, 0, 1):
            year, month = _add_months(anchor.year, anchor.month, shift)
            got = _day(year, month, day_no)
            if got is not None and got <= self.published:
                options.append(got)
        if not options:
            return None
        if self.context is None:
            day = max(options)
        else:
            day = min(options, key=lambda d: abs((d - anchor).days) * (3 if d < anchor else 1))
        self.inferred = True
        return _Found(day, day, 1, self.relation(gd))

    def kind_relday(self, gd: dict[str, str | None]) -> _Found | None:
        offset = self.g.relative_days.get(gd.get("rd"))
        if offset is None:
            return None
        day = self.published + timedelta(days=offset)
        return _Found(day, day, 1, self.relation(gd))

    def kind_period(self, gd: dict[str, str | None]) -> _Found | None:
        found = self.g.periods.get(gd.get("per"))
        if found is None:
            return None
        unit, offset = found
        p = self.published
        if unit == "week":  # Monday to Sunday
            first = _week_start(p) + timedelta(weeks=offset)
            last = first + timedelta(days=6)
        elif unit == "weekend":  # the latest Saturday on or before publication, and its Sunday
            first = p - timedelta(days=(p.isoweekday() - 6) % 7) + timedelta(weeks=offset)
            last = first + timedelta(days=1)
        elif unit == "month":
            year, month = _add_months(p.year, p.month, offset)
            first, last = date(year, month, 1), date(year, month, _month_end(year, month))
        elif unit == "year":
            first, last = date(p.year + offset, 1, 1), date(p.year + offset, 12, 31)
        elif unit == "days":  # the last ``offset`` days
            first, last = p - timedelta(days=offset), p
        else:
            return None
        precision: TimePrecision = 2 if unit in ("week", "weekend") or (unit == "days" and offset <= 7) else 3
        return _Found(first, last, precision, self.relation(gd))

    def count(self, gd: dict[str, str | None]) -> tuple[int, str] | None:
        """How many of which unit: "three days", "неделю" (one), "екі күн"."""
        unit = self.g.units.get(gd.get("unit"))
        if unit is None:
            return None
        raw = gd.get("n")
        n = 1 if raw is None else int(raw) if raw.isdigit() else self.g.numbers.get(raw)
        return None if n is None or n > 99 else (n, unit)

    def shift(self, day: date, n: int, unit: str) -> tuple[date, TimePrecision] | None:
        """``day`` moved by ``n`` units (negative: back), and the precision such a count allows."""
        if unit == "day":
            return day + timedelta(days=n), 1
        if unit == "week":
            return day + timedelta(weeks=n), 2
        if unit in ("month", "year"):
            year, month = _add_months(day.year, day.month, n if unit == "month" else 12 * n)
            return date(year, month, min(day.day, _month_end(year, month))), 3
        return None

    def kind_ago(self, gd: dict[str, str | None]) -> _Found | None:
        count = self.count(gd)
        moved = None if count is None else self.shift(self.published, -count[0], count[1])
        return None if moved is None else _Found(moved[0], moved[0], moved[1], "on")

    def resolve(self, kind: str, gd: dict[str, str | None]) -> _Found | None:
        """The interval a match of a pattern of ``kind`` names (None for anaphors: see ``_anaphor``)."""
        self.inferred = False
        if kind in DEFERRED:
            return None
        method: Callable[[dict[str, str | None]], _Found | None] = getattr(self, f"kind_{kind}")
        found = method(gd)
        if found is not None and self.inferred:
            return _Found(found.earliest, found.latest, found.precision, found.relation, inferred=True)
        return found


def _pair(day: date | None) -> tuple[date, date] | None:
    return None if day is None else (day, day)


# --- finding -------------------------------------------------------------------------------------------------------


_RECENT = 8
"""Candidates a new core is checked against: the latest few (a date is short, and candidates come in text order)."""


def find_dates(text: str, lang: Lang, published: date) -> list[DateMention]:
    """Every mention of a time in ``text``, in text order, none overlapping another, resolved against ``published``.

    See the module docstring for how each kind of mention is read."""
    g = _grammar(lang)
    doc = _Text(text, g)
    resolver = _Resolver(g, published)
    candidates: list[_Candidate] = []
    for rule in g.rules:
        if rule.leader is None:
            pos = 0
            while (m := rule.core.search(doc.low, pos)) is not None:
                made = _candidate(rule, m, doc, resolver)
                pos = m.end() if made is not None else m.start() + 1
                if made is not None:
                    candidates.append(made)
            continue
        for pos in doc.starts.get(rule.leader, ()):
            m = rule.core.match(doc.low, pos)
            if m is None or any(
                c[0] <= pos and m.end() <= c[1] for c in candidates[-_RECENT:]
            ):  # the latest candidates only: they are found in text order, and a date is short
                continue  # (a core inside a longer candidate cannot win: "May 2022" in "12 May 2022")
            if (made := _candidate(rule, m, doc, resolver)) is not None:
                candidates.append(made)
    if not candidates:
        return []
    # The longest candidates win; ties go to the earlier start, then to the earlier rule.
    order = sorted(range(len(candidates)), key=lambda i: (candidates[i][0] - candidates[i][1], candidates[i][0], i))
    taken: list[_Candidate] = []
    spans: list[tuple[int, int]] = []  # the taken spans in start order, for overlap checks by bisection
    for i in order:
        start, end = candidates[i][0], candidates[i][1]
        at = bisect.bisect_left(spans, (start, start))
        free = (at == 0 or spans[at - 1][1] <= start) and (at == len(spans) or end <= spans[at][0])
        if free and not _blocked(g, doc.low, start, end):
            taken.append(candidates[i])
            spans.insert(at, (start, end))
    taken.sort(key=lambda c: c[0])

    mentions: list[DateMention] = []
    for start, end, kind, gd, resolved in taken:
        if resolved is not None and _dateline(text, start, end):
            resolved = dataclasses.replace(resolved, relation="before")
        found = resolved if resolved is not None else _anaphor(resolver, kind, gd, mentions)
        if found is None:
            continue
        # A year the text leaves out is read near the last date it wrote one for ("On 5 April 2021 ... On 6
        # April"); a date that writes its year is that context for the dates after it.
        if not found.inferred and kind in WRITTEN_YEAR_KINDS:
            resolver.context = found.earliest
        elif found.inferred and resolver.context is not None:
            found = resolver.resolve(kind, gd) or found
        first, last = found.earliest, found.latest
        if not resolver.looks_ahead(gd) and first <= published < last:
            last = published
        mentions.append(DateMention(start, end, text[start:end], first, last, found.precision, found.relation))
    return mentions


_Candidate = tuple[int, int, str, dict[str, str | None], "_Found | None"]


class _Text:
    """The text as given (for capitals) and in lower case (for matching), and where a core of each token class
    can begin (one scan for every leading phrase and number)."""

    def __init__(self, text: str, g: _Grammar) -> None:
        self.text = text
        self.low = low = _lower(text)
        self.starts: dict[str, list[int]] = {}
        starts, first_words, stem_leaders, n = self.starts, g.first_words, g.stem_leaders, g.stem_length
        for m in g.leading_words.finditer(low):
            word = m.group()
            if word[0].isdigit():
                leaders = g.digit_leaders
            else:
                leaders = first_words.get(_key(word), ())
                if not leaders and n:
                    leaders = stem_leaders.get(word[:n], ())
            for name in leaders:
                starts.setdefault(name, []).append(m.start())


DATELINE_BEFORE = re.compile(
    r"(?:^|\n)[ \t]*[^\W\d_][^\W\d_ .'’-]*(?:[ .'’-]+[^\W\d_][^\W\d_'’-]*)*(?:,[ \t]*[^\W\d_][\w .'’-]*)?,[ \t]*\Z"
)
DATELINE_AFTER = re.compile(r"[ \t]*(?:\([^)\n]{1,30}\)[ \t]*)?[-–—.:]")


def _dateline(text: str, start: int, end: int) -> bool:
    """Whether the mention is a report's dateline ("ASTANA, Dec 17 (Reuters) -", "АСТАНА, 17 декабря."): a place in
    capitals opens the line before it. Its date is the report's, which bounds the events it reports."""
    line = text.rfind("\n", 0, start) + 1
    head = text[line:start]
    if not head or len(head) > 60 or not DATELINE_AFTER.match(text, end):
        return False
    place = head.split(",")[0].strip()
    return bool(DATELINE_BEFORE.search(text, line, start)) and place.isupper() and len(place) > 1


LAST_WORD = re.compile(r"(\w+)[ \t\xa0]{1,3}\Z")  # a name is one phrase: no punctuation inside it
NEXT_WORD = re.compile(r"[ \t\xa0]{1,3}(\w+)")


def _blocked(g: _Grammar, low: str, start: int, end: int) -> bool:
    """Whether the stretch is part of a name that only holds a date ("Good Friday", "16 December Street")."""
    if g.names_before and (m := LAST_WORD.search(low, max(0, start - 30), start)) and m.group(1) in g.names_before:
        return True
    return bool(g.names_after and (m := NEXT_WORD.match(low, end)) and m.group(1) in g.names_after)


def _candidate(rule: _Rule, core: re.Match[str], doc: _Text, resolver: _Resolver) -> _Candidate | None:
    """A core match made whole: its boundary checked, what stands before it taken in, and resolved.

    None when it is not a date after all (glued to a word, a name in lower case, a date that does not exist)."""
    low = doc.low
    start, end = core.span()
    if start == end:
        return None
    if start > 0:
        prev = low[start - 1]
        if prev.isalnum() or prev == "_" or (low[start].isdigit() and prev in ".,:/"):
            return None
        if low[start].isdigit() and prev == "-" and start > 1 and low[start - 2].isdigit():
            return None
    window = max(0, start - BEFORE_WINDOW)
    if rule.not_before is not None and rule.not_before.search(low, window, start):
        return None
    gd = core.groupdict()
    ahead = None
    if rule.before is not None:
        ahead = rule.before.search(low, window, start)  # the leftmost, so the longest, that ends at the core
        if ahead is None:
            return None
        for name, value in ahead.groupdict().items():
            if value is not None:
                gd[name] = value
        start = min(start, ahead.start())
        if gd.get("stmt") and "stmt" in ahead.re.groupindex:  # "said on Tuesday": the span is "on Tuesday"
            start = ahead.end("stmt")
            while start < len(low) and low[start].isspace():
                start += 1
    for name in rule.cased:  # "May 16" is a date, "may 16" is not
        for m in (core, ahead):
            found_in = m is not None and name in m.re.groupindex and m.group(name) is not None
            if found_in and m is not None and not doc.text[m.start(name)].isupper():
                return None
    found = resolver.resolve(rule.kind, gd)
    if found is None and rule.kind not in DEFERRED:
        return None
    return start, end, rule.kind, gd, found


WRITTEN_YEAR_KINDS = ("date", "range", "month", "iso", "numeric", "year")
"""Kinds that may write their year: such a mention is the context for the year-less dates after it."""


def _anaphor(resolver: _Resolver, kind: str, gd: dict[str, str | None], before: list[DateMention]) -> _Found | None:
    """The following day, two days later: counted from the last mention before that names one day."""
    anchor = next((m for m in reversed(before) if m.precision == 1 and m.relation in ("on", "range")), None)
    if anchor is None:
        return None
    if kind == "anaphor":
        offset = -1 if gd.get("eve") else resolver.g.anaphors.get(gd.get("ana"))
        if offset is None:
            return None
        day = anchor.earliest + timedelta(days=offset)
        return _Found(day, day, 1, "on")
    count = resolver.count(gd)
    if count is None:
        return None
    sign = -1 if _key(gd.get("dir") or "") in resolver.g.backward else 1
    moved = resolver.shift(anchor.earliest, sign * count[0], count[1])
    return None if moved is None else _Found(moved[0], moved[0], moved[1], "on")


def event_date(mentions: list[DateMention], published: date) -> DateMention | None:
    """The date an ACLED coder would give the event a document describes, as a mention narrowed to that day;
    None if the text dates no event.

    The mention is the first that can date an event: "on" a day or a period,
    a "range", or "since" a day in the last week (then up to publication: a
    longer "since" is a background, "on strike since May"), not a bound such as
    "until January 5", a statement's date ("said on Tuesday") or a dateline,
    and not beginning after publication. A vague first mention (a month, a
    week) is refined by a later, more precise one inside it ("In December ...
    on 16 December" is 16 December); a range is not.

    The day is ACLED's: the day itself; the middle day of a range or a week
    (the earlier of two: "Between 17 and 22 December" is 19 December, a
    weekend its Saturday, "Overnight on 16-17 December" the 16th); the 15th
    of a month (or publication, if that comes first). The returned mention
    keeps its span and text; ``earliest`` and ``latest`` are that day and
    ``precision`` is ACLED's time_precision for it."""
    usable = [
        m
        for m in mentions
        if m.relation in EVENT_RELATIONS
        and m.earliest <= published
        and (m.relation != "since" or (published - m.earliest).days < 7)  # "on strike since May": a background
    ]
    if not usable:
        return None
    best = usable[0]
    if best.relation == "on":
        for m in usable[1:]:
            if (
                m.relation == "on"
                and m.precision < best.precision
                and best.earliest <= m.earliest <= m.latest <= best.latest
            ):
                best = m
    first, last, precision = best.earliest, min(best.latest, published), best.precision
    if best.relation == "since":  # "since Saturday": from then up to publication
        last = published
        precision = max(precision, _precision(first, last))
    if (
        precision == 3
        and first.day == 1
        and (last == published or last.day == _month_end(last.year, last.month))
        and (
            first.year,
            first.month,
        )
        == (last.year, last.month)
    ):
        day = min(first.replace(day=15), published)  # a month: its 15th
    elif precision == 1:
        day = first  # one day, or a night across two: its first
    else:
        day = first + timedelta(days=((last - first).days) // 2)
    return dataclasses.replace(best, earliest=day, latest=day, precision=precision)
