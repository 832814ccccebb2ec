"""Record linkage for the person register: which list entries are the same person, and how sure that is.

How it works, for investigators
-------------------------------
Every pair of records that could be the same person (they share a sound of the surname and the
first letter of the given name, or a given name and a birth year, or a date of birth, ...: the
*blocking rules*, ``BLOCKING_RULES``) is compared field by field: given name, surname,
patronymic, date of birth, age, sex, residence, the event (place and date). Each comparison
falls into one *level* (for the surname: the same key, the same root, the same sound, nearly the
same letters, ... different), and each level has two probabilities:

- **m**: how often two records *of the same person* fall into that level (a family and a morgue
  spell the same man's surname with the same key in, say, 85% of cases);
- **u**: how often two records *of different people* do (two different men share a surname key
  in perhaps 1 case in 300, more for a common name).

Their ratio m/u, the **Bayes factor**, says how much the level moves the odds that the pair is one
person: above 1 towards "same", below 1 towards "different". The odds start from the **prior**
(lambda: the probability that two records drawn at random are the same person) and are
multiplied by one Bayes factor per comparison (the Fellegi-Sunter model; ``match_weight`` is the
log2 of the resulting odds). A comparison missing on either record (no patronymic on an NGO's
list) counts 1: it neither helps nor hurts.

The parameters are learned from the register itself, without anyone labelling pairs: u from
pairs drawn at random (nearly all different people), m by expectation maximisation on pairs that
agree on some fields (the fields they were chosen by cannot be learned from them, so several sets
of such pairs are used, ``TRAINING_RULES``), lambda from the pairs agreeing on name and birth year
or father's name, divided by the share of true pairs those rules can find as the m values and the
completeness of the fields say. Small registers (under ``LinkageSettings.min_records_to_train``
records) keep the m and u of the shipped default model (``data/default_model.json``, trained on
generated lists by ``benchmarks/linkage.py --write-default-model``) and learn only lambda. Levels
that contradict a match outright (two different common given names, different fathers, different
sex: ``CONTRADICTIONS``) have an m of at most one in a million, so that siblings and cousins, whose
surname and father's name agree, go to a reviewer instead of being merged. Every parameter is
returned with the result (``LinkageResult.parameters``) to be shown beside the register: nothing
about a match is hidden in code.

Pairs scored at or above ``upper`` (0.95) are linked; pairs between ``lower`` (0.5) and ``upper``
wait for a reviewer, who sees both records side by side with the reasons (each comparison's level
and its Bayes factor); pairs below ``keep`` (0.01) are not kept. Reviewers' decisions are final:
``cluster`` joins what they said is the same person and never joins what they said is not, however
the model scored it.

The same model on Spark
-----------------------
The model is plain splink: ``splink_settings(parameters, dialect="spark")`` renders the same
comparisons, levels, blocking rules and trained m/u for Spark (only function names differ:
``jaro_winkler`` for DuckDB's ``jaro_winkler_similarity``). For registers too large for one machine::

    pip install "splink[spark]" pyspark   # and a Java runtime; splink registers its similarity UDFs
    from pyspark.sql import SparkSession
    from splink import Linker, SparkAPI
    spark = SparkSession.builder.getOrCreate()
    db_api = SparkAPI(spark_session=spark)
    frame = spark.createDataFrame(prepare(records))   # or the same columns computed in Spark
    linker = Linker(db_api.register(frame), splink_settings(result.parameters, dialect="spark"))
    pairs = linker.inference.predict(threshold_match_probability=0.01)

Training on Spark is the same sequence of ``linker.training`` calls as ``_train`` below. More in
``docs/linkage.md``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import math
import re
import statistics
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal, cast

import pandas as pd
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler

from factfinder.findings.persons.model import PersonRecord
from factfinder.findings.persons.namekeys import KNOWN_GIVEN_NAMES, NameKeys, Sex, fold, name_keys

MODEL_VERSION = 3
"""Version of the comparisons and their levels: parameters of another version cannot be applied."""

DEFAULT_MODEL_PATH = Path(__file__).with_name("data") / "default_model.json"
CONTRADICTION_M = 1e-6
"""The m of a level that contradicts a match, at most (see ``CONTRADICTIONS``)."""
DEFAULT_PRIOR = 0.001
"""The prior of the shipped default model: a register of about a thousand entries in which each
person is listed about twice. ``link`` estimates the prior of each register anew."""

Row = Mapping[str, Any]
RecordInput = tuple[int, PersonRecord] | tuple[int, str | None, PersonRecord]

_log = logging.getLogger(__name__)


# ---- settings and results -----------------------------------------------------------------------


@dataclass(frozen=True)
class LinkageSettings:
    """Thresholds and training options of one linkage run (stored with the run, shown with the register)."""

    keep: float = 0.01
    """Pairs scored below this match probability are not returned."""
    lower: float = 0.5
    """Pairs from here up to ``upper`` wait for a reviewer."""
    upper: float = 0.95
    """Pairs at or above this are linked without review."""
    seed: int = 42
    """Seed of every random sample (u estimation, EM sampling): the same records give the same result."""
    threads: int | None = None
    """DuckDB threads (None: as many as the machine has)."""
    train: Literal["auto", "always", "never"] = "auto"
    """Learn m and u from the records ("auto": when there are at least ``min_records_to_train``)."""
    min_records_to_train: int = 1000
    u_max_pairs: int = 1_000_000
    """Random pairs drawn to estimate u."""
    em_max_pairs: int = 1_000_000
    """Blocked pairs at most per EM training session (sampled beyond that)."""
    em_min_pairs: int = 200
    """A training blocking rule that yields fewer pairs is skipped (EM on a handful of pairs is noise)."""
    contradiction_m: float | None = CONTRADICTION_M
    """The most m a contradicting level (``CONTRADICTIONS``) may have; None: as trained."""
    reference_year: int | None = None
    """The year an age without an event date refers to (None: the median event year of the records)."""

    def __post_init__(self) -> None:
        if not 0 <= self.keep <= self.lower <= self.upper <= 1:
            raise ValueError("thresholds must satisfy 0 <= keep <= lower <= upper <= 1")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Pair:
    """Two records the model scored: ids with ``a < b``, and why (one reason per comparison that counted)."""

    a: int
    b: int
    probability: float
    match_weight: float
    reasons: Sequence[str] = ()


@dataclass(frozen=True)
class LinkageResult:
    """What ``link`` found: the scored pairs, the model's parameters, and how long each step took."""

    pairs: list[Pair]
    parameters: dict[str, Any]
    timing: dict[str, float]
    settings: LinkageSettings

    def linked(self) -> list[Pair]:
        """Pairs at or above ``upper``: the same person without review."""
        return [p for p in self.pairs if p.probability >= self.settings.upper]

    def review(self) -> list[Pair]:
        """Pairs in the review band [``lower``, ``upper``), most likely first."""
        band = [p for p in self.pairs if self.settings.lower <= p.probability < self.settings.upper]
        return sorted(band, key=lambda p: (-p.probability, p.a, p.b))


@dataclass(frozen=True)
class LevelMatch:
    """The level one comparison fell into for a pair, with its weight of evidence."""

    comparison: str
    label: str
    bayes_factor: float
    match_weight: float
    compared: bool
    """False where a field is missing on either record (Bayes factor 1)."""

    def reason(self) -> str:
        return f"{COMPARISON_TITLES[self.comparison]}: {self.label} (x{_fmt_bf(self.bayes_factor)})"


@dataclass(frozen=True)
class Comparison:
    """Two records (or names) scored by ``compare``."""

    match_weight: float
    probability: float
    prior: float
    levels: tuple[LevelMatch, ...]

    @property
    def reasons(self) -> tuple[str, ...]:
        """One line per comparison made: the level and its Bayes factor (comparisons not made are left out)."""
        return tuple(lv.reason() for lv in self.levels if lv.compared)

    def as_dict(self) -> dict[str, Any]:
        return {
            "match_weight": self.match_weight,
            "probability": self.probability,
            "prior": self.prior,
            "levels": [asdict(lv) for lv in self.levels],
            "reasons": list(self.reasons),
        }


class ConflictingReviews(ValueError):
    """Reviewers said two records are the same person through a chain that joins a pair they said is not."""

    def __init__(self, a: int, b: int) -> None:
        super().__init__(f"reviews conflict: records {a} and {b} were reviewed as different but must-links join them")
        self.a, self.b = a, b


def _fmt_bf(bf: float) -> str:
    if bf >= 100:
        return f"{bf:,.0f}"
    if bf >= 1:
        return f"{bf:.1f}"
    return f"{bf:.2g}"


# ---- the comparisons ----------------------------------------------------------------------------


def _has(v: Any) -> bool:
    return v is not None and not (isinstance(v, float) and math.isnan(v))


def _eq(lv: Any, rv: Any) -> bool:
    return _has(lv) and _has(rv) and lv == rv


def _jw(lv: Any, rv: Any, at_least: float) -> bool:
    return _has(lv) and _has(rv) and JaroWinkler.similarity(lv, rv) >= at_least


def _overlap(l_lo: Any, l_hi: Any, r_lo: Any, r_hi: Any, slack: int = 0) -> bool:
    if not (_has(l_lo) and _has(l_hi) and _has(r_lo) and _has(r_hi)):
        return False
    return bool(l_lo - slack <= r_hi and r_lo - slack <= l_hi)


@dataclass(frozen=True)
class LevelSpec:
    """One comparison level: its words, its SQL (``{jw}``/``{dl}`` stand for the dialect's functions) and the
    same test in Python (``compare`` applies the model without a database)."""

    label: str
    sql: str
    test: Callable[[Row, Row], bool]
    null: bool = False


@dataclass(frozen=True)
class ComparisonSpec:
    name: str
    title: str
    description: str
    levels: tuple[LevelSpec, ...]


def _else(label: str) -> LevelSpec:
    return LevelSpec(label, "ELSE", lambda x, y: True)


def _null(*cols: str, label: str = "missing on either record") -> LevelSpec:
    sql = " OR ".join(f'"{c}_l" IS NULL OR "{c}_r" IS NULL' for c in cols)
    return LevelSpec(label, sql, lambda x, y: any(not _has(x[c]) or not _has(y[c]) for c in cols), null=True)


def _same(col: str, label: str) -> LevelSpec:
    return LevelSpec(label, f'"{col}_l" = "{col}_r"', lambda x, y: _eq(x[col], y[col]))


def _similar(col: str, at_least: float, label: str) -> LevelSpec:
    return LevelSpec(label, f'{{jw}}("{col}_l", "{col}_r") >= {at_least}', lambda x, y: _jw(x[col], y[col], at_least))


def _initial(col: str, initial: str, label: str) -> LevelSpec:
    return LevelSpec(
        label,
        f'(length("{col}_l") = 1 OR length("{col}_r") = 1) AND "{initial}_l" = "{initial}_r"',
        lambda x, y: (
            _has(x[col]) and _has(y[col]) and (len(x[col]) == 1 or len(y[col]) == 1) and _eq(x[initial], y[initial])
        ),
    )


def _swapped(col: str, other: str, label: str) -> LevelSpec:
    """The column equals the other record's ``other`` column (``other`` is a copy under another name,
    see ``_CROSS_COPIES``), either way round."""
    return LevelSpec(
        label,
        f'"{col}_l" = "{other}_r" OR "{other}_l" = "{col}_r"',
        lambda x, y: _eq(x[col], y[other]) or _eq(x[other], y[col]),
    )


def _by_overlap(slack: int, label: str) -> LevelSpec:
    sql = f'"by_lo_l" - {slack} <= "by_hi_r" AND "by_lo_r" - {slack} <= "by_hi_l"'
    return LevelSpec(label, sql, lambda x, y: _overlap(x["by_lo"], x["by_hi"], y["by_lo"], y["by_hi"], slack))


def _surname_from_father(x: Row, y: Row) -> bool:
    return (not _has(y["surname"]) and _eq(x["surname_root"], y["father_x"])) or (
        not _has(x["surname"]) and _eq(y["surname_root"], x["father_x"])
    )


def _age_null(x: Row, y: Row) -> bool:
    return (
        not _has(x["by_lo"])
        or not _has(y["by_lo"])
        or (_has(x["birth_year"]) and _has(y["birth_year"]))
        or ((x["age_anchor"] == "assumed") != (y["age_anchor"] == "assumed"))
    )


def _same_age(x: Row, y: Row) -> bool:
    return (
        x["by_hi"] - x["by_lo"] <= 1
        and y["by_hi"] - y["by_lo"] <= 1
        and _overlap(x["by_lo"], x["by_hi"], y["by_lo"], y["by_hi"])
    )


def _dob_swapped(x: Row, y: Row) -> bool:
    return (
        _eq(x["birth_year"], y["birth_year"])
        and _eq(x["birth_month"], y["birth_day"])
        and _eq(x["birth_day"], y["birth_month"])
    )


def _dob_typo(x: Row, y: Row) -> bool:
    if not (_has(x["birth_ymd"]) and _has(y["birth_ymd"])):
        return False
    return bool(DamerauLevenshtein.distance(x["birth_ymd"], y["birth_ymd"]) <= 1)


def _event_null(x: Row, y: Row) -> bool:
    no_place = not _has(x["event_place"]) or not _has(y["event_place"])
    no_date = not _has(x["event_lo"]) or not _has(y["event_lo"])
    return no_place and no_date


def _event_overlap(x: Row, y: Row) -> bool:
    return _overlap(x["event_lo"], x["event_hi"], y["event_lo"], y["event_hi"])


COMPARISONS: tuple[ComparisonSpec, ...] = (
    ComparisonSpec(
        "given_name",
        "given name",
        "Given names by key (diminutives read as the full name), sound, and letters",
        (
            _null("given"),
            _same("given", "same given name"),
            _same("given_ph", "given names sound the same"),
            _swapped("given", "surname_x", "given name and surname swapped"),
            LevelSpec(
                "two different common names (not a typo)",
                '"given_known_l" AND "given_known_r"',
                lambda x, y: bool(x["given_known"]) and bool(y["given_known"]),
            ),
            _initial("given", "given_initial", "initial agrees with the given name"),
            _similar("given", 0.92, "given names nearly the same"),
            _similar("given", 0.8, "given names alike"),
            _else("different given names"),
        ),
    ),
    ComparisonSpec(
        "surname",
        "surname",
        "Surnames in the masculine form by key, root (-ov, -ev, -in, -skiy dropped), sound, and letters",
        (
            _same("surname", "same surname"),
            _same("surname_root", "same surname root"),
            _same("surname_ph", "surnames sound the same"),
            _similar("surname", 0.92, "surnames nearly the same"),
            _swapped("surname", "given_x", "surname and given name swapped"),
            LevelSpec(
                "surname made from the other's father's name (Serikov, Serikuly)",
                '("surname_r" IS NULL AND "surname_root_l" = "father_x_r")'
                ' OR ("surname_l" IS NULL AND "surname_root_r" = "father_x_l")',
                _surname_from_father,
            ),
            _null("surname"),
            _similar("surname", 0.8, "surnames alike"),
            _else("different surnames"),
        ),
    ),
    ComparisonSpec(
        "patronymic",
        "father's name",
        "Patronymics (Russian -ovich/-ovna, Kazakh -uly/-kyzy) by the father's given name",
        (
            _null("father"),
            _same("father", "same father's name"),
            _same("father_ph", "fathers' names sound the same"),
            _initial("father", "father_initial", "initial agrees with the father's name"),
            _similar("father", 0.88, "fathers' names nearly the same"),
            _else("different fathers' names"),
        ),
    ),
    ComparisonSpec(
        "birth_date",
        "date of birth",
        "Dates of birth, which may be partial (a year, a year and month)",
        (
            _null("birth_year"),
            _same("birth_ymd", "same date of birth"),
            LevelSpec("date of birth one typo apart", '{dl}("birth_ymd_l", "birth_ymd_r") <= 1', _dob_typo),
            LevelSpec(
                "same year, day and month swapped",
                '"birth_year_l" = "birth_year_r" AND "birth_month_l" = "birth_day_r"'
                ' AND "birth_day_l" = "birth_month_r"',
                _dob_swapped,
            ),
            LevelSpec(
                "same year and month",
                '"birth_year_l" = "birth_year_r" AND "birth_month_l" = "birth_month_r"',
                lambda x, y: _eq(x["birth_year"], y["birth_year"]) and _eq(x["birth_month"], y["birth_month"]),
            ),
            _same("birth_year", "same year of birth"),
            LevelSpec(
                "born within 2 years",
                'abs("birth_year_l" - "birth_year_r") <= 2',
                lambda x, y: abs(x["birth_year"] - y["birth_year"]) <= 2,
            ),
            LevelSpec(
                "born within 10 years",
                'abs("birth_year_l" - "birth_year_r") <= 10',
                lambda x, y: abs(x["birth_year"] - y["birth_year"]) <= 10,
            ),
            _else("born more than 10 years apart"),
        ),
    ),
    ComparisonSpec(
        "age",
        "age",
        "Ages (ranges, as lists give them) against each other or against a date of birth, as years of birth",
        (
            LevelSpec(
                "no age on either record, or both have a date of birth, or no date to count an age from",
                '"by_lo_l" IS NULL OR "by_lo_r" IS NULL OR ("birth_year_l" IS NOT NULL AND "birth_year_r" IS NOT NULL)'
                " OR ((\"age_anchor_l\" = 'assumed') <> (\"age_anchor_r\" = 'assumed'))",
                _age_null,
                null=True,
            ),
            LevelSpec(
                "same age",
                '"by_hi_l" - "by_lo_l" <= 1 AND "by_hi_r" - "by_lo_r" <= 1'
                ' AND "by_lo_l" <= "by_hi_r" AND "by_lo_r" <= "by_hi_l"',
                _same_age,
            ),
            _by_overlap(0, "ages agree"),
            _by_overlap(2, "ages within 2 years"),
            _by_overlap(5, "ages within 5 years"),
            _by_overlap(15, "ages within 15 years"),
            _else("ages more than 15 years apart"),
        ),
    ),
    ComparisonSpec(
        "sex",
        "sex",
        "Sex as the list gives it, else as the patronymic or surname ending implies",
        (
            _null("sex"),
            LevelSpec(
                "same sex",
                # The given-name clause is always true. It tells splink that this comparison depends on
                # the given name (which mostly fixes the sex), so that EM on pairs blocked on the given
                # name, where the sex agrees whoever the two people are, does not learn from it.
                '"sex_l" = "sex_r" AND ("given_l" IS NULL OR "given_l" IS NOT NULL)',
                lambda x, y: _eq(x["sex"], y["sex"]),
            ),
            _else("different sex"),
        ),
    ),
    ComparisonSpec(
        "residence",
        "residence",
        "Place of residence by key: the town (the first part) and the numbers (postcode, district, house)",
        (
            _null("residence"),
            _same("residence", "same residence"),
            LevelSpec(
                "same town and numbers",
                '"town_l" = "town_r" AND "res_number_l" = "res_number_r"',
                lambda x, y: _eq(x["town"], y["town"]) and _eq(x["res_number"], y["res_number"]),
            ),
            _similar("residence", 0.9, "residences nearly the same"),
            _same("res_number", "same numbers (postcode, district, house)"),
            _same("town", "same town"),
            _else("different residence"),
        ),
    ),
    ComparisonSpec(
        "event",
        "event",
        "Where and when it happened to the person (killed, injured, detained...)",
        (
            LevelSpec(
                "no event place or date on either record",
                '("event_place_l" IS NULL OR "event_place_r" IS NULL)'
                ' AND ("event_lo_l" IS NULL OR "event_lo_r" IS NULL)',
                _event_null,
                null=True,
            ),
            LevelSpec(
                "same place, dates overlap",
                '"event_place_l" = "event_place_r" AND "event_lo_l" <= "event_hi_r" AND "event_lo_r" <= "event_hi_l"',
                lambda x, y: _eq(x["event_place"], y["event_place"]) and _event_overlap(x, y),
            ),
            _same("event_place", "same place"),
            LevelSpec("dates overlap", '"event_lo_l" <= "event_hi_r" AND "event_lo_r" <= "event_hi_l"', _event_overlap),
            _else("different event"),
        ),
    ),
)
"""The model: one comparison per kind of evidence, its levels in the order they are tried."""

COMPARISON_TITLES = {c.name: c.title for c in COMPARISONS}

CONTRADICTIONS: dict[str, tuple[str, ...]] = {
    "given_name": ("two different common names (not a typo)",),
    "patronymic": ("different fathers' names",),
    "sex": ("different sex",),
}
"""Levels that say two records are different people outright (a surname is not among them: women change
theirs). Their m is at most ``LinkageSettings.contradiction_m`` (``CONTRADICTION_M``), trained or not: a
sister and a brother share a surname and a father's name, which the model, comparing field by field,
counts as strong evidence of one person; only a near-veto on what contradicts it keeps siblings and
cousins apart. A false merge takes a victim out of the count, so such pairs go to a reviewer however
well their names agree."""
DATE_CONTRADICTIONS: dict[str, tuple[str, ...]] = {
    "birth_date": ("born more than 10 years apart",),
    "age": ("ages more than 15 years apart",),
}
"""Levels that contradict a match unless a list got a year badly wrong, which lists do (FEBRL's do often):
a model trained on a register learns how often; the shipped default model, used for registers too small
to learn from, holds their m at ``CONTRADICTION_M`` like ``CONTRADICTIONS`` (a namesake of another
generation goes to a reviewer)."""

_CROSS_COPIES = {"given_x": "given", "surname_x": "surname", "father_x": "father"}
"""Copies of name columns for the levels that compare one part with another (swapped names, a surname
made from a father's name). EM cannot learn a comparison from pairs blocked on a column it uses;
through a copy, pairs blocked on the given name can still teach the surname comparison."""

BLOCKING_RULES: tuple[str, ...] = (
    "l.surname_ph = r.surname_ph AND l.given_initial = r.given_initial",
    "l.surname_root = r.surname_root AND l.given_initial = r.given_initial",
    "l.given = r.given AND l.birth_year = r.birth_year",
    "l.birth_ymd = r.birth_ymd",
    "l.given_ph = r.given_ph AND l.father_ph = r.father_ph",
    "l.given = r.surname AND l.surname = r.given",
    "l.given = r.given AND l.surname_root = r.father",
    "l.given = r.given AND l.father = r.surname_root",
    "l.town = r.town AND l.birth_year = r.birth_year",
    "l.res_number = r.res_number AND l.given_initial = r.given_initial",
    "l.res_number = r.res_number AND l.birth_year = r.birth_year",
)
"""Which pairs are scored at all (a pair any rule admits): generous, because a pair never scored can never
be linked, and cheap, because each is an equi-join."""

TRAINING_RULES: tuple[tuple[tuple[str, ...], ...], ...] = (
    (("given", "surname", "father"), ("given", "surname")),
    (("birth_ymd",),),
    (("given", "father", "birth_year"),),
    (("surname", "father", "birth_year"),),
)
"""EM is run on the pairs agreeing on the columns of one rule of each group (the first with enough pairs):
each teaches the comparisons that do not use its columns. The rules are narrow on purpose: EM splits
pairs into two classes, and where most pairs agreeing on the rule are other people (a given name and
surname shared by many Kazakh men), the two classes it finds are not "same" and "different"."""

_RULE_YEAR = ("given", "surname", "birth_year")
_RULE_FATHER = ("given", "surname", "father")
"""Pairs almost surely the same person (same given name and surname, and same birth year or father's
name): counted to estimate the prior."""

_FUNCTIONS = {
    "duckdb": {"jw": "jaro_winkler_similarity", "dl": "damerau_levenshtein"},
    "spark": {"jw": "jaro_winkler", "dl": "damerau_levenshtein"},
}


# ---- preparing records --------------------------------------------------------------------------

_DATE = re.compile(r"^\s*(\d{4})(?:-?(\d{1,2})(?:-?(\d{1,2}))?)?")
_DIGITS = re.compile(r"^\d+$")
_TOKEN = re.compile(r"[\s,;/]+")


def _date_parts(value: str | None) -> tuple[int | None, int | None, int | None]:
    """Year, month and day of a (possibly partial) ISO date; ``19870514`` is read as 1987-05-14."""
    if not value:
        return None, None, None
    m = _DATE.match(value)
    if not m:
        return None, None, None
    year = int(m.group(1))
    month = int(m.group(2)) if m.group(2) else None
    day = int(m.group(3)) if m.group(3) else None
    return year, month, day


def _day_range(value: str | None) -> tuple[int, int] | None:
    """The first and last day (proleptic ordinals) a partial date may mean; None if unreadable."""
    year, month, day = _date_parts(value)
    if year is None:
        return None
    try:
        if month is None:
            return date(year, 1, 1).toordinal(), date(year, 12, 31).toordinal()
        if day is None:
            last = (date(year + month // 12, month % 12 + 1, 1).toordinal()) - 1
            return date(year, month, 1).toordinal(), last
        d = date(year, month, day).toordinal()
        return d, d
    except ValueError:
        return None


def _place_key(text: str) -> str | None:
    """A residence or place as a key: words folded, numbers (postcodes, house numbers) kept."""
    words = [w if _DIGITS.match(w) else fold(w) for w in _TOKEN.split(text) if w]
    key = " ".join(w for w in words if w)
    return key or None


def _town_key(text: str) -> str | None:
    """The first part of a residence ("Zhanaozen, mkr 3" -> zhanaozen): the town, usually."""
    first = text.split(",")[0]
    return fold(first) or None


def _numbers(text: str) -> str | None:
    """The numbers of a residence, in order (a postcode; a microdistrict and house): None if it has none."""
    numbers = re.findall(r"\d+", text)
    return " ".join(numbers) if numbers else None


def _none(s: str) -> str | None:
    return s or None


@functools.lru_cache(maxsize=100_000)
def _keys_cached(record: PersonRecord) -> NameKeys:
    return name_keys(record)


ASSUMED_YEAR = 2000
"""Where ages are put when nothing says when they were taken (no event date, no reference year): they can
then be compared with each other, but not with a date of birth (``age_anchor`` "assumed")."""


def features(record: PersonRecord, *, reference_year: int | None) -> dict[str, Any]:
    """The columns linkage compares, for one record (``prepare`` makes a table of them).

    An age becomes a range of birth years counted back from the record's event date, else from
    ``reference_year``; with neither, from ``ASSUMED_YEAR``, marked so that it is not compared with a
    date of birth."""
    keys = _keys_cached(record)
    sex: Sex | None = record.sex or keys.sex_hint
    year, month, day = _date_parts(record.birth_date)
    ymd = f"{year:04d}{month:02d}{day:02d}" if year is not None and month and day else None
    event = _day_range(record.event_date_start)
    event_end = _day_range(record.event_date_end) if record.event_date_end else None
    anchor: str | None = "event"
    event_year = date.fromordinal(event[0]).year if event else reference_year
    if event_year is None:
        event_year, anchor = ASSUMED_YEAR, "assumed"
    if year is not None:
        by_lo: int | None = year
        by_hi: int | None = year
        anchor = "birth"
    elif record.age_min is not None or record.age_max is not None:
        lo_age = record.age_min if record.age_min is not None else record.age_max
        hi_age = record.age_max if record.age_max is not None else record.age_min
        assert lo_age is not None and hi_age is not None
        by_lo, by_hi = event_year - hi_age - 1, event_year - lo_age
    else:
        by_lo = by_hi = anchor = None
    residence = record.residence.strip()
    return {
        "given": _none(keys.given),
        "given_ph": _none(keys.given_phonetic),
        "given_initial": keys.given[:1] or None,
        "given_known": keys.given in KNOWN_GIVEN_NAMES,
        "surname": _none(keys.surname),
        "surname_root": _none(keys.surname_root),
        "surname_ph": _none(keys.surname_phonetic),
        "father": _none(keys.patronymic),
        "father_ph": _none(keys.patronymic_phonetic),
        "father_initial": keys.patronymic[:1] or None,
        "given_x": _none(keys.given),
        "surname_x": _none(keys.surname),
        "father_x": _none(keys.patronymic),
        "sex": sex,
        "birth_year": year,
        "birth_month": month,
        "birth_day": day,
        "birth_ymd": ymd,
        "by_lo": by_lo,
        "by_hi": by_hi,
        "age_anchor": anchor,
        "residence": _place_key(residence) if residence else None,
        "town": _town_key(residence) if residence else None,
        "res_number": _numbers(residence),
        "event_place": _none(fold(record.event_place)),
        "event_lo": event[0] if event else None,
        "event_hi": (event_end or event)[1] if event else None,
        "status": record.status,
    }


_INT_COLUMNS = ("birth_year", "birth_month", "birth_day", "by_lo", "by_hi", "event_lo", "event_hi")


def _unpack(records: Sequence[RecordInput]) -> list[tuple[int, str | None, PersonRecord]]:
    out: list[tuple[int, str | None, PersonRecord]] = []
    for item in records:
        if len(item) == 2:
            rid, rec = item
            out.append((int(rid), None, rec))
        else:
            rid, list_name, rec = item
            out.append((int(rid), list_name, rec))
    ids = [r[0] for r in out]
    if len(set(ids)) != len(ids):
        raise ValueError("record ids must be unique")
    return out


def _reference_year(records: Iterable[PersonRecord]) -> int | None:
    """The year ages without an event date refer to: the median event year of the records (None if none has one)."""
    years = [y for r in records if (y := _date_parts(r.event_date_start)[0]) is not None]
    return int(statistics.median_low(years)) if years else None


def prepare(records: Sequence[RecordInput], *, reference_year: int | None = None) -> pd.DataFrame:
    """One row per record with the columns linkage compares: ``unique_id``, ``list_name``, name keys and
    their phonetic keys, date of birth parts, years of birth implied by the age, sex, residence and
    event keys, status.

    ``records`` are ``(id, record)`` or ``(id, list_name, record)``; all of them are deduplicated
    together, so two entries of the same list can be found to be one person."""
    unpacked = _unpack(records)
    ref = reference_year if reference_year is not None else _reference_year(r for _, _, r in unpacked)
    rows = []
    for rid, list_name, rec in unpacked:
        row = features(rec, reference_year=ref)
        row["unique_id"] = rid
        row["list_name"] = list_name
        rows.append(row)
    columns = ["unique_id", "list_name", *features(PersonRecord(), reference_year=ref)]
    frame = pd.DataFrame(rows, columns=columns)
    for col in _INT_COLUMNS:
        frame[col] = frame[col].astype("Int64")
    frame["unique_id"] = frame["unique_id"].astype("int64")
    return frame


# ---- the model's parameters ---------------------------------------------------------------------


def _bayes(m: float | None, u: float | None) -> float:
    if m is None or u is None:
        return 1.0
    return m / u


M_FLOOR = 1e-3
U_FLOOR = 1e-6
"""The least m and u a level may have. A level never seen among true pairs in training (no typo ever
fell in the day of a birth date) must not veto a pair outright, nor a level never seen among random
pairs prove one: lists have errors training data did not show."""


def _clean_probability(p: Any, fallback: float, floor: float) -> float:
    if p is None or not isinstance(p, int | float) or math.isnan(p) or p <= 0:
        p = fallback
    return float(min(max(p, floor), 1.0))


def _parameters(
    prior: float, mu: Sequence[Sequence[tuple[float | None, float | None]]], notes: dict[str, Any]
) -> dict[str, Any]:
    """The JSON-safe description of a model: prior, and per comparison level m, u, Bayes factor, match weight."""
    comparisons = []
    for spec, levels in zip(COMPARISONS, mu, strict=True):
        out_levels = []
        for lv, (m, u) in zip(spec.levels, levels, strict=True):
            bf = 1.0 if lv.null else _bayes(m, u)
            out_levels.append(
                {
                    "label": lv.label,
                    "null": lv.null,
                    "m": None if lv.null else m,
                    "u": None if lv.null else u,
                    "bayes_factor": bf,
                    "match_weight": math.log2(bf),
                }
            )
        comparisons.append(
            {"name": spec.name, "title": spec.title, "description": spec.description, "levels": out_levels}
        )
    params: dict[str, Any] = {
        "model": "factfinder person linkage (Fellegi-Sunter, splink)",
        "model_version": MODEL_VERSION,
        "probability_two_random_records_match": prior,
        "prior_match_weight": math.log2(prior / (1 - prior)),
        "comparisons": comparisons,
        **notes,
    }
    params["splink_settings"] = splink_settings(params)
    return params


def _mu_table(parameters: Mapping[str, Any]) -> list[list[tuple[float | None, float | None]]]:
    """The m and u of every level of ``parameters``, checked against this version's comparisons."""
    if parameters.get("model_version") != MODEL_VERSION:
        raise ValueError(f"parameters of model version {parameters.get('model_version')}, expected {MODEL_VERSION}")
    table = []
    by_name = {c["name"]: c for c in parameters["comparisons"]}
    for spec in COMPARISONS:
        levels = by_name[spec.name]["levels"]
        if [lv["label"] for lv in levels] != [lv.label for lv in spec.levels]:
            raise ValueError(f"parameters do not match the levels of comparison {spec.name}")
        table.append([(lv.get("m"), lv.get("u")) for lv in levels])
    return table


@functools.cache
def default_parameters() -> dict[str, Any]:
    """The shipped default model (``data/default_model.json``): see its ``provenance``."""
    with open(DEFAULT_MODEL_PATH, encoding="utf-8") as fh:
        return cast(dict[str, Any], json.load(fh))


def untrained_parameters(prior: float = DEFAULT_PRIOR) -> dict[str, Any]:
    """A model with splink's starting m and u (for training a default model from nothing)."""
    mu: list[list[tuple[float | None, float | None]]] = []
    for spec in COMPARISONS:
        n = sum(1 for lv in spec.levels if not lv.null)
        ms = [2 ** (i - n + 1) for i in range(n)]  # splink-like: the best level most likely for matches
        us = list(reversed(ms))
        total_m, total_u = sum(ms), sum(us)
        it = iter(range(n - 1, -1, -1))
        row: list[tuple[float | None, float | None]] = []
        for lv in spec.levels:
            if lv.null:
                row.append((None, None))
            else:
                i = next(it)
                row.append((ms[i] / total_m, us[i] / total_u))
        mu.append(row)
    return _parameters(prior, mu, {"provenance": "untrained starting values", "untrained": True})


def splink_settings(parameters: Mapping[str, Any] | None = None, *, dialect: str = "duckdb") -> dict[str, Any]:
    """The splink settings of the model (comparisons, levels, blocking rules, trained m/u) for a splink dialect.

    Pass it to ``splink.Linker`` with a DuckDB or a Spark ``db_api`` to run the same model there."""
    fn = _FUNCTIONS[dialect]
    mu = _mu_table(parameters) if parameters and "comparisons" in parameters else None
    comparisons = []
    for ci, spec in enumerate(COMPARISONS):
        levels = []
        for li, lv in enumerate(spec.levels):
            level: dict[str, Any] = {"sql_condition": lv.sql.format(**fn), "label_for_charts": lv.label}
            if lv.null:
                level["is_null_level"] = True
            elif mu is not None:
                m, u = mu[ci][li]
                if m is not None:
                    level["m_probability"] = m
                if u is not None:
                    level["u_probability"] = u
            levels.append(level)
        comparisons.append(
            {"output_column_name": spec.name, "comparison_description": spec.description, "comparison_levels": levels}
        )
    prior = (parameters or {}).get("probability_two_random_records_match", DEFAULT_PRIOR)
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": "unique_id",
        "probability_two_random_records_match": prior,
        "comparisons": comparisons,
        "blocking_rules_to_generate_predictions": [
            {"blocking_rule": br, "sql_dialect": dialect} for br in BLOCKING_RULES
        ],
        "additional_columns_to_retain": ["list_name"],
        "retain_matching_columns": True,  # the gamma (level) columns come with them: the reasons need them
        "retain_intermediate_calculation_columns": False,
        "em_convergence": 0.0001,
        "max_iterations": 25,
    }


# ---- scoring in Python --------------------------------------------------------------------------


def _level_index(spec: ComparisonSpec, left: Row, right: Row) -> int:
    for i, lv in enumerate(spec.levels):
        if lv.test(left, right):
            return i
    raise AssertionError("the last level of a comparison is ELSE")  # pragma: no cover


def _gamma_to_index(spec: ComparisonSpec) -> dict[int, int]:
    """splink's comparison vector value (-1 for the null level, else counting down to 0) -> level index."""
    out = {}
    value = sum(1 for lv in spec.levels if not lv.null) - 1
    for i, lv in enumerate(spec.levels):
        if lv.null:
            out[-1] = i
        else:
            out[value] = i
            value -= 1
    return out


def _weights(parameters: Mapping[str, Any]) -> list[list[tuple[str, float, bool]]]:
    """(label, Bayes factor, compared) of every level."""
    return [
        [(lv["label"], float(lv["bayes_factor"]), not lv["null"]) for lv in comp["levels"]]
        for comp in parameters["comparisons"]
    ]


def _reasons(levels: Sequence[int], weights: Sequence[Sequence[tuple[str, float, bool]]]) -> list[str]:
    out = []
    for spec, idx, table in zip(COMPARISONS, levels, weights, strict=True):
        label, bf, compared = table[idx]
        if compared:
            out.append(f"{spec.title}: {label} (x{_fmt_bf(bf)})")
    return out


def _probability(weight: float) -> float:
    if weight > 60:
        return 1.0
    odds = float(2.0**weight)
    return odds / (1 + odds)


def _as_record(x: str | PersonRecord) -> PersonRecord:
    return PersonRecord(full_name=x) if isinstance(x, str) else x


def compare(
    a: str | PersonRecord,
    b: str | PersonRecord,
    parameters: Mapping[str, Any] | None = None,
    *,
    reference_year: int | None = None,
) -> Comparison:
    """Score two records, or two names as written, with the model's parameters (the default model if none).

    The levels are tested in Python exactly as the SQL of ``link`` tests them, so the score of a pair is
    the same here and in a linkage run with the same parameters (ages are counted from the run's
    reference year, or ``reference_year``); no database is started."""
    params = parameters if parameters and "comparisons" in parameters else default_parameters()
    _mu_table(params)  # checks the version and the levels
    ra, rb = _as_record(a), _as_record(b)
    ref = reference_year if reference_year is not None else params.get("reference_year")
    if ref is None:
        ref = _reference_year([ra, rb])
    left, right = features(ra, reference_year=ref), features(rb, reference_year=ref)
    prior = float(params["probability_two_random_records_match"])
    weight = math.log2(prior / (1 - prior))
    out = []
    for spec, comp in zip(COMPARISONS, params["comparisons"], strict=True):
        idx = _level_index(spec, left, right)
        lv = comp["levels"][idx]
        bf = float(lv["bayes_factor"])
        weight += math.log2(bf)
        out.append(LevelMatch(spec.name, lv["label"], bf, math.log2(bf), not lv["null"]))
    return Comparison(weight, _probability(weight), prior, tuple(out))


# ---- linkage with splink ------------------------------------------------------------------------


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """splink logs every step at INFO and warns about things we handle: keep it to errors while it runs."""
    logger = logging.getLogger("splink")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _pair_count(frame: pd.DataFrame, columns: Sequence[str]) -> int:
    """Pairs a blocking rule on equal ``columns`` would give (records with a missing column give none)."""
    sub = frame[list(columns)].dropna()
    if sub.empty:
        return 0
    sizes = sub.groupby(list(columns), sort=False).size()
    return int((sizes * (sizes - 1) // 2).sum())


def _block_sql(columns: Sequence[str]) -> str:
    return " AND ".join(f"l.{c} = r.{c}" for c in columns)


def _read_mu(linker: Any) -> list[list[tuple[float | None, float | None]]]:
    """The m and u splink estimated for every level, in ``COMPARISONS`` order (None: not observed in training)."""
    by_name = {c.output_column_name: c for c in linker._settings_obj.comparisons}
    table = []
    for spec in COMPARISONS:
        comp = by_name[spec.name]
        row: list[tuple[float | None, float | None]] = []
        for lv in comp.comparison_levels:
            if lv.is_null_level:
                row.append((None, None))
            else:
                m = lv.m_probability if lv._has_estimated_m_values else None
                u = lv.u_probability if lv._has_estimated_u_values else None
                row.append((m, u))
        table.append(row)
    return table


def _merge_mu(
    trained: Sequence[Sequence[tuple[float | None, float | None]]],
    start: Sequence[Sequence[tuple[float | None, float | None]]],
    *,
    start_is_untrained: bool = False,
) -> list[list[tuple[float | None, float | None]]]:
    """Trained values where usable, else the starting model's (no 0 or NaN m/u).

    A level training never saw keeps the starting model's m and u, except when the start is splink's
    untrained values, which say nothing: such a level is rare, and gets the floors."""
    out = []
    for t_row, s_row, spec in zip(trained, start, COMPARISONS, strict=True):
        row: list[tuple[float | None, float | None]] = []
        for (tm, tu), (sm, su), lv in zip(t_row, s_row, spec.levels, strict=True):
            if lv.null:
                row.append((None, None))
                continue
            fallback_m = M_FLOOR if start_is_untrained else (sm or M_FLOOR)
            fallback_u = U_FLOOR if start_is_untrained else (su or U_FLOOR)
            row.append((_clean_probability(tm, fallback_m, M_FLOOR), _clean_probability(tu, fallback_u, U_FLOOR)))
        out.append(row)
    return out


def cap_levels(
    mu: Sequence[Sequence[tuple[float | None, float | None]]], cap: float, levels: Mapping[str, Sequence[str]]
) -> list[list[tuple[float | None, float | None]]]:
    """``mu`` with the m of the named ``levels`` (comparison -> level labels) at most ``cap``."""
    out = []
    for spec, row in zip(COMPARISONS, mu, strict=True):
        contradicting = levels.get(spec.name, ())
        out.append(
            [
                (min(m, cap), u) if m is not None and lv.label in contradicting else (m, u)
                for lv, (m, u) in zip(spec.levels, row, strict=True)
            ]
        )
    return out


def _m_of(mu: Sequence[Sequence[tuple[float | None, float | None]]], comparison: str, *labels: str) -> float:
    """The summed m of some levels of a comparison (the probability a true pair falls into one of them)."""
    ci = next(i for i, c in enumerate(COMPARISONS) if c.name == comparison)
    spec = COMPARISONS[ci]
    return sum(mu[ci][li][0] or 0.0 for li, lv in enumerate(spec.levels) if lv.label in labels)


def _estimate_prior(
    frame: pd.DataFrame, mu: Sequence[Sequence[tuple[float | None, float | None]]]
) -> tuple[float, dict[str, Any]]:
    """The prior: pairs the deterministic rules find, divided by the share of true pairs they can find.

    That share (the rules' recall) is not assumed but computed from the model: a true pair has the same
    given name with probability m(same given name) when both records give one, and so on, and the
    share of records that give each field is counted."""
    n = len(frame)
    total = n * (n - 1) / 2
    found = (
        _pair_count(frame, _RULE_YEAR)
        + _pair_count(frame, _RULE_FATHER)
        - _pair_count(frame, ("given", "surname", "birth_year", "father"))
    )

    def both(col: str) -> float:
        return float(frame[col].notna().mean()) ** 2

    same_year = _m_of(
        mu,
        "birth_date",
        "same date of birth",
        "same year, day and month swapped",
        "same year and month",
        "same year of birth",
    )
    p_given = both("given") * _m_of(mu, "given_name", "same given name")
    p_surname = both("surname") * _m_of(mu, "surname", "same surname")
    p_year = both("birth_year") * same_year
    p_father = both("father") * _m_of(mu, "patronymic", "same father's name")
    recall = min(max(p_given * p_surname * (1 - (1 - p_year) * (1 - p_father)), 0.01), 1.0)
    prior = min(max(found / recall, 1.0) / total, 0.5)
    return prior, {
        "pairs_found_by_rules": found,
        "rules": [_block_sql(_RULE_YEAR), _block_sql(_RULE_FATHER)],
        "estimated_recall_of_rules": recall,
    }


def _train(
    db_api: Any, table: Any, frame: pd.DataFrame, start: Mapping[str, Any], settings: LinkageSettings
) -> dict[str, Any]:
    """Estimate u by random sampling and m by EM (when training) from ``start``, then the prior."""
    from splink import Linker

    n = len(frame)
    notes: dict[str, Any] = {"records": n}
    mu = _mu_table(start)
    train = settings.train == "always" or (settings.train == "auto" and n >= settings.min_records_to_train)
    if train:
        # EM starts each session from the prior this register implies under the starting model: from a
        # prior far off (the default model's is for a register of a thousand), EM can settle on calling
        # nearly every blocked pair a match
        first_prior, _ = _estimate_prior(frame, mu)
        linker = Linker(
            table, splink_settings({**start, "probability_two_random_records_match": first_prior}), log_level=None
        )
        linker.training.estimate_u_using_random_sampling(max_pairs=settings.u_max_pairs, seed=settings.seed)
        sessions = []
        for group in TRAINING_RULES:
            counted = [(columns, _pair_count(frame, columns)) for columns in group]
            usable = [(columns, pairs) for columns, pairs in counted if pairs >= settings.em_min_pairs]
            if not usable:
                continue
            columns, pairs = usable[0]
            linker.training.estimate_parameters_using_expectation_maximisation(
                _block_sql(columns),
                estimate_without_term_frequencies=True,
                max_pairs=settings.em_max_pairs if pairs > settings.em_max_pairs else None,
            )
            sessions.append({"blocked_on": list(columns), "pairs": pairs})
        mu = _merge_mu(_read_mu(linker), mu, start_is_untrained=bool(start.get("untrained")))
        notes["u_estimated_by"] = {"random_pairs": settings.u_max_pairs, "seed": settings.seed}
        notes["m_estimated_by"] = sessions or "no training rule had enough pairs: m of the starting model"
        notes["m_u_started_from"] = start.get("provenance", "")
    else:
        notes["m_u_from"] = start.get("provenance", "the default model")
    notes["trained"] = train
    if settings.contradiction_m is not None:
        mu = cap_levels(mu, settings.contradiction_m, CONTRADICTIONS)
        notes["contradictions_capped_at"] = settings.contradiction_m
    prior, how = _estimate_prior(frame, mu)
    notes["prior_estimated_by"] = how
    return _parameters(prior, mu, notes)


def _connect(settings: LinkageSettings) -> Any:
    import duckdb
    from splink import DuckDBAPI

    config: dict[str, Any] = {}
    if settings.threads:
        config["threads"] = settings.threads
    con = duckdb.connect(":memory:", config=config)
    con.execute("SET enable_progress_bar = false")
    return DuckDBAPI(connection=con)


def link(
    records: Sequence[RecordInput],
    *,
    settings: LinkageSettings | None = None,
    start: Mapping[str, Any] | None = None,
) -> LinkageResult:
    """Score every plausible pair of ``records`` (``(id, record)`` or ``(id, list_name, record)``).

    Deduplicates all records together (splink's ``dedupe_only``): duplicates within a list are found as
    well as across lists. The model starts from ``start`` (the default model if None), learns from the
    records as the module docstring says, and scores with what it learned; the parameters come back
    in the result. Pairs at or above ``settings.keep`` are returned, ``a < b``, highest first."""
    settings = settings or LinkageSettings()
    start = start or default_parameters()
    timing: dict[str, float] = {}
    t0 = time.perf_counter()
    ref = settings.reference_year
    if ref is None:
        ref = _reference_year(rec for _, _, rec in _unpack(records))
    frame = prepare(records, reference_year=ref)
    timing["prepare"] = time.perf_counter() - t0
    if len(frame) < 2:
        params = _parameters(
            DEFAULT_PRIOR, _mu_table(start), {"records": len(frame), "trained": False, "reference_year": ref}
        )
        timing["total"] = time.perf_counter() - t0
        return LinkageResult([], params, timing, settings)
    with _quiet():
        from splink import Linker

        db_api = _connect(settings)
        table = db_api.register(frame, table_name="person_records")
        t = time.perf_counter()
        parameters = _train(db_api, table, frame, start, settings)
        parameters["reference_year"] = ref
        timing["train"] = time.perf_counter() - t
        t = time.perf_counter()
        linker = Linker(table, splink_settings(parameters), log_level=None)
        predictions = linker.inference.predict(threshold_match_probability=settings.keep, warning_mode="never")
        cols = ["unique_id_l", "unique_id_r", "match_weight", "match_probability"] + [
            f"gamma_{c.name}" for c in COMPARISONS
        ]
        scored = predictions.as_duckdbpyrelation().select(", ".join(cols)).df()
        timing["predict"] = time.perf_counter() - t
    t = time.perf_counter()
    pairs = _pairs(scored, parameters)
    timing["pairs"] = time.perf_counter() - t
    timing["total"] = time.perf_counter() - t0
    _log.info("linkage: %d records, %d pairs kept, %.1f s", len(frame), len(pairs), timing["total"])
    return LinkageResult(pairs, parameters, timing, settings)


def _pairs(scored: pd.DataFrame, parameters: Mapping[str, Any]) -> list[Pair]:
    weights = _weights(parameters)
    maps = [_gamma_to_index(spec) for spec in COMPARISONS]
    gammas = [scored[f"gamma_{c.name}"].to_numpy() for c in COMPARISONS]
    ids_l = scored["unique_id_l"].to_numpy()
    ids_r = scored["unique_id_r"].to_numpy()
    mw = scored["match_weight"].to_numpy()
    mp = scored["match_probability"].to_numpy()
    reason_cache: dict[tuple[int, ...], list[str]] = {}
    out = []
    for i in range(len(scored)):
        pattern = tuple(int(maps[c][int(gammas[c][i])]) for c in range(len(COMPARISONS)))
        reasons = reason_cache.get(pattern)
        if reasons is None:
            reasons = reason_cache[pattern] = _reasons(pattern, weights)
        a, b = int(ids_l[i]), int(ids_r[i])
        out.append(Pair(min(a, b), max(a, b), float(mp[i]), float(mw[i]), list(reasons)))
    out.sort(key=lambda p: (-p.probability, p.a, p.b))
    return out


# ---- clustering ---------------------------------------------------------------------------------


def cluster(
    ids: Iterable[int],
    pairs: Iterable[Pair | tuple[int, int, float]],
    threshold: float,
    must_link: Iterable[tuple[int, int]] = (),
    cannot_link: Iterable[tuple[int, int]] = (),
) -> dict[int, int]:
    """Record id -> cluster id (the smallest record id in the cluster): who is the same person.

    Deterministic: reviewers' must-links are joined first, then the model's pairs at or above
    ``threshold`` in descending probability (ties by ids). Two clusters are never joined when that would
    put a cannot-link pair (reviewers said "different") into one cluster, however strong the pair that
    would join them; the pair is skipped. Must-links that would themselves join a cannot-link pair raise
    ``ConflictingReviews``. Ids found only in pairs or links are clustered too."""
    parent: dict[int, int] = {}
    members: dict[int, set[int]] = {}
    forbidden: dict[int, set[int]] = {}  # root -> records its cluster must never contain

    def add(x: int) -> None:
        if x not in parent:
            parent[x] = x
            members[x] = {x}
            forbidden[x] = set()

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for x in ids:
        add(int(x))
    cannot = [(int(a), int(b)) for a, b in cannot_link]
    must = [(int(a), int(b)) for a, b in must_link]
    for a, b in cannot + must:
        add(a)
        add(b)
    for a, b in cannot:
        if a == b:
            raise ValueError(f"record {a} cannot be different from itself")
        forbidden[a].add(b)
        forbidden[b].add(a)

    def union(a: int, b: int) -> bool:
        ra, rb = find(a), find(b)
        if ra == rb:
            return True
        if forbidden[ra] & members[rb]:
            return False
        if len(members[ra]) < len(members[rb]):
            ra, rb = rb, ra
        parent[rb] = ra
        members[ra] |= members.pop(rb)
        forbidden[ra] |= forbidden.pop(rb)
        return True

    for a, b in must:
        if not union(a, b):
            raise ConflictingReviews(a, b)
    scored: list[tuple[float, int, int]] = []
    for p in pairs:
        a, b, prob = (p.a, p.b, p.probability) if isinstance(p, Pair) else p
        if prob >= threshold:
            scored.append((float(prob), min(int(a), int(b)), max(int(a), int(b))))
    scored.sort(key=lambda t: (-t[0], t[1], t[2]))
    for _, a, b in scored:
        add(a)
        add(b)
        union(a, b)
    smallest: dict[int, int] = {}
    for x in parent:
        r = find(x)
        smallest[r] = min(smallest.get(r, x), x)
    return {x: smallest[find(x)] for x in sorted(parent)}


def cluster_pairs(assignment: Mapping[int, int]) -> set[tuple[int, int]]:
    """Every pair of records put in one cluster (``a < b``): how clusters are scored against true links."""
    groups: dict[int, list[int]] = {}
    for rid, cid in assignment.items():
        groups.setdefault(cid, []).append(rid)
    out = set()
    for group in groups.values():
        group.sort()
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                out.add((a, b))
    return out


__all__ = [
    "BLOCKING_RULES",
    "COMPARISONS",
    "Comparison",
    "ConflictingReviews",
    "LevelMatch",
    "LinkageResult",
    "LinkageSettings",
    "Pair",
    "cluster",
    "cluster_pairs",
    "compare",
    "default_parameters",
    "features",
    "link",
    "prepare",
    "splink_settings",
    "untrained_parameters",
]
