"""Figures in English, Russian and Kazakh text: values, bounds, qualifiers, offsets, and what is no count."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import pytest

from factfinder.text.model import Lang, NumberMention
from factfinder.text.numbers import Reader, find_numbers, grammar

Expected = tuple[str, int, int | None, str]  # the figure's text, low, high, qualifier


def read(text: str, lang: Lang) -> list[Expected]:
    found = find_numbers(text, lang)
    for m in found:
        assert text[m.start : m.end] == m.text, m
    assert [m.start for m in found] == sorted(m.start for m in found)
    assert all(a.end <= b.start for a, b in itertools.pairwise(found)), "figures overlap"
    return [(m.text, m.low, m.high, m.qualifier) for m in found]


DIGITS: list[tuple[Lang, str, list[Expected]]] = [
    ("en", "about 2,000 protesters", [("about 2,000", 2000, 2000, "about")]),
    ("en", "2 000 and 2\u00a0000 and 2\u202f000",
     [("2 000", 2000, 2000, "exact"), ("2\u00a0000", 2000, 2000, "exact"), ("2\u202f000", 2000, 2000, "exact")]),
    ("en", "1.5 million people", [("1.5 million", 1500000, 1500000, "exact")]),
    ("en", "10k marched", [("10k", 10000, 10000, "exact")]),
    ("en", "2 lakh people", [("2 lakh", 200000, 200000, "exact")]),
    ("en", "a 2,000-strong crowd", [("2,000", 2000, 2000, "exact")]),
    ("ru", "2.000 человек", [("2.000", 2000, 2000, "exact")]),
    ("ru", "2 тыс. человек", [("2 тыс.", 2000, 2000, "exact")]),
    ("ru", "3 млн", [("3 млн", 3000000, 3000000, "exact")]),
    ("ru", "1,5 млн", [("1,5 млн", 1500000, 1500000, "exact")]),
    ("ru", "около 3-х тысяч", [("около 3-х тысяч", 3000, 3000, "about")]),
    ("ru", "двух тысяч, 5-ти человек", [("двух тысяч", 2000, 2000, "exact"), ("5-ти", 5, 5, "exact")]),
    ("kk", "2 мың адам", [("2 мың", 2000, 2000, "exact")]),
    ("kk", "2 000-нан астам адам", [("2 000-нан астам", 2000, None, "at_least")]),
]  # fmt: skip

WORDS: list[tuple[Lang, str, list[Expected]]] = [
    ("en", "two thousand five hundred", [("two thousand five hundred", 2500, 2500, "exact")]),
    ("en", "one hundred and fifty", [("one hundred and fifty", 150, 150, "exact")]),
    ("en", "twenty-five", [("twenty-five", 25, 25, "exact")]),
    ("en", "both were killed", [("both", 2, 2, "exact")]),
    ("en", "a dozen, a hundred, a couple of men, half a dozen",
     [("a dozen", 12, 12, "exact"), ("a hundred", 100, 100, "exact"), ("a couple of", 2, 2, "exact"),
      ("half a dozen", 6, 6, "exact")]),
    ("en", "one protester", [("one", 1, 1, "exact")]),
    ("en", "no one, every one, the one who, one another", []),
    ("en", "thousand people", []),
    ("ru", "около двух тысяч протестующих", [("около двух тысяч", 2000, 2000, "about")]),
    ("ru", "пятнадцати", [("пятнадцати", 15, 15, "exact")]),
    ("ru", "сто двадцать три", [("сто двадцать три", 123, 123, "exact")]),
    ("ru", "полторы тысячи", [("полторы тысячи", 1500, 1500, "exact")]),
    ("ru", "полтора десятка", [("полтора десятка", 15, 15, "exact")]),
    ("ru", "полтора часа", []),
    ("ru", "двое, троих", [("двое", 2, 2, "exact"), ("троих", 3, 3, "exact")]),
    ("ru", "тысяча человек", [("тысяча", 1000, 1000, "exact")]),
    ("ru", "десяток человек", [("десяток", 10, 10, "about")]),
    ("ru", "ни один человек", []),
    ("kk", "екі мың", [("екі мың", 2000, 2000, "exact")]),
    ("kk", "он бес", [("он бес", 15, 15, "exact")]),
    ("kk", "жүз елу", [("жүз елу", 150, 150, "exact")]),
    ("kk", "екі мың бес жүз", [("екі мың бес жүз", 2500, 2500, "exact")]),
    ("kk", "бір жарым мың", [("бір жарым мың", 1500, 1500, "exact")]),
    ("kk", "онға", [("онға", 10, 10, "exact")]),
    ("kk", "екі мыңнан астам", [("екі мыңнан астам", 2000, None, "at_least")]),
    ("kk", "екі мыңдай", [("екі мыңдай", 2000, 2000, "about")]),
    ("kk", "бесінші, бірге, онда, ондай, бір-бірі", []),
]  # fmt: skip

QUALIFIERS: list[tuple[Lang, str, list[Expected]]] = [
    ("en", "at least 15", [("at least 15", 15, None, "at_least")]),
    ("en", "more than 15", [("more than 15", 15, None, "at_least")]),
    ("en", "over 20", [("over 20", 20, None, "at_least")]),
    ("en", "15 or more", [("15 or more", 15, None, "at_least")]),
    ("en", "15+ and 30-odd", [("15+", 15, None, "at_least"), ("30-odd", 30, None, "at_least")]),
    ("en", "up to 300", [("up to 300", 0, 300, "at_most")]),
    ("en", "as many as 40", [("as many as 40", 0, 40, "at_most")]),
    ("en", "about 15, around 15, nearly 200, some 2,000, roughly 50",
     [("about 15", 15, 15, "about"), ("around 15", 15, 15, "about"), ("nearly 200", 200, 200, "about"),
      ("some 2,000", 2000, 2000, "about"), ("roughly 50", 50, 50, "about")]),
    ("en", "the toll went up to 16", [("16", 16, 16, "exact")]),
    ("ru", "не менее 15, более 100, свыше 50",
     [("не менее 15", 15, None, "at_least"), ("более 100", 100, None, "at_least"), ("свыше 50", 50, None, "at_least")]),
    ("ru", "до 15 человек, не более 20",
     [("до 15", 0, 15, "at_most"), ("не более 20", 0, 20, "at_most")]),
    ("ru", "около 70, порядка 100, примерно 5, почти 30",
     [("около 70", 70, 70, "about"), ("порядка 100", 100, 100, "about"), ("примерно 5", 5, 5, "about"),
      ("почти 30", 30, 30, "about")]),
    ("ru", "число погибших возросло до 16", [("16", 16, 16, "exact")]),
    ("ru", "сотня с лишним", [("сотня с лишним", 100, None, "at_least")]),
    ("kk", "кем дегенде 15", [("кем дегенде 15", 15, None, "at_least")]),
    ("kk", "70-ке жуық", [("70-ке жуық", 70, 70, "about")]),
    ("kk", "шамамен 200, он шақты", [("шамамен 200", 200, 200, "about"), ("он шақты", 10, 10, "about")]),
    ("kk", "мыңнан артық, 15-тен астам",
     [("мыңнан артық", 1000, None, "at_least"), ("15-тен астам", 15, None, "at_least")]),
    ("kk", "16-ға дейін өсті", [("16-ға", 16, 16, "exact")]),
]  # fmt: skip

RANGES: list[tuple[Lang, str, list[Expected]]] = [
    ("en", "10-15", [("10-15", 10, 15, "range")]),
    ("en", "10–15", [("10–15", 10, 15, "range")]),
    ("en", "10 to 15", [("10 to 15", 10, 15, "range")]),
    ("en", "between 10 and 15", [("between 10 and 15", 10, 15, "range")]),
    ("en", "two or three", [("two or three", 2, 3, "range")]),
    ("en", "2-3 thousand", [("2-3 thousand", 2000, 3000, "range")]),
    ("en", "one or more", [("one or more", 1, None, "at_least")]),
    ("en", "a 3-2 vote", [("3", 3, 3, "exact"), ("2", 2, 2, "exact")]),
    ("ru", "от 10 до 15", [("от 10 до 15", 10, 15, "range")]),
    ("ru", "от 2 до 3 тысяч", [("от 2 до 3 тысяч", 2000, 3000, "range")]),
    ("ru", "двух-трех тысяч", [("двух-трех тысяч", 2000, 3000, "range")]),
    ("ru", "с 10 до 15", [("10", 10, 10, "exact"), ("15", 15, 15, "exact")]),
    ("kk", "10-15-ке дейін", [("10-15-ке дейін", 10, 15, "range")]),
    ("kk", "10-нан 15-ке дейін", [("10-нан 15-ке дейін", 10, 15, "range")]),
    ("kk", "10 бен 15 аралығында", [("10 бен 15 аралығында", 10, 15, "range")]),
    ("kk", "бір-екі адам", [("бір-екі", 1, 2, "range")]),
]  # fmt: skip

VAGUE: list[tuple[Lang, str, list[Expected]]] = [
    ("en", "several people", [("several", 3, None, "vague")]),
    ("en", "a few", [("a few", 3, None, "vague")]),
    ("en", "dozens of people", [("dozens", 12, None, "vague")]),
    ("en", "tens of people", [("tens of", 10, None, "vague")]),
    ("en", "hundreds, thousands", [("hundreds", 100, None, "vague"), ("thousands", 1000, None, "vague")]),
    ("en", "tens of thousands", [("tens of thousands", 10000, None, "vague")]),
    ("en", "hundreds of thousands", [("hundreds of thousands", 100000, None, "vague")]),
    ("en", "several hundred, a few thousand, several dozen",
     [("several hundred", 300, None, "vague"), ("a few thousand", 3000, None, "vague"),
      ("several dozen", 36, None, "vague")]),
    ("ru", "несколько человек", [("несколько", 3, None, "vague")]),
    ("ru", "десятки, сотни, тысячи",
     [("десятки", 10, None, "vague"), ("сотни", 100, None, "vague"), ("тысячи", 1000, None, "vague")]),
    ("ru", "несколько тысяч, десятки тысяч",
     [("несколько тысяч", 3000, None, "vague"), ("десятки тысяч", 10000, None, "vague")]),
    ("kk", "бірнеше адам", [("бірнеше", 3, None, "vague")]),
    ("kk", "ондаған, жүздеген, мыңдаған",
     [("ондаған", 10, None, "vague"), ("жүздеген", 100, None, "vague"), ("мыңдаған", 1000, None, "vague")]),
    ("kk", "бірнеше мың", [("бірнеше мың", 3000, None, "vague")]),
]  # fmt: skip

NOT_COUNTS: list[tuple[Lang, str]] = [
    ("en", "On 16 December 2011, in 2011, since 2019. December 16, 2011. 16 and 17 December. 2019 and 2020"),
    ("en", "the 2011 events, the 1980s, the 90s"),
    ("en", "aged 25, a 25-year-old man, 30 years old"),
    ("en", "at 10:30, at 10.30, at 3 pm, 14h30"),
    ("en", "15%, 15 percent, 15 per cent"),
    ("en", "$2 million, US$5, Rs 500, 500 naira, hundreds of thousands of dollars"),
    ("en", "Article 164, No. 5, Section 144, Ward 5, page 12"),
    ("en", "+7 701 123 45 67, 8 701 123 45 67, 555-123-4567"),
    ("en", "G20, COVID-19, F-16, AK-47, 16th, 5km, 2.5 km"),
    ("en", "1. Protesters gathered\n2. Police arrived"),
    ("ru", "16 декабря, 16-19 декабря, в 2011 году, 16-го, 15-летний, в 90-х годах"),
    ("ru", "статьи 164 УК, ч. 2, дом 5, 5%, 100 тенге, в 10.30, 12-34-56"),
    ("ru", "две тысячи одиннадцатого года"),
    ("kk", "16 желтоқсанда, желтоқсанның 16-сы, 2011 жылы, 164-бабы, сағат 10-да, 5-інші, 25 жастағы"),
]


@pytest.mark.parametrize(("lang", "text", "expected"), DIGITS + WORDS + QUALIFIERS + RANGES + VAGUE)
def test_figures(lang: Lang, text: str, expected: list[Expected]) -> None:
    assert read(text, lang) == expected


@pytest.mark.parametrize(("lang", "text"), NOT_COUNTS)
def test_what_is_no_count_is_left_out(lang: Lang, text: str) -> None:
    assert read(text, lang) == []


def test_offsets_into_the_text_as_given() -> None:
    text = "Tuesday, there were about 2,000 protesters; at least 15 people dead."
    found = find_numbers(text, "en")
    assert found == [
        NumberMention(20, 31, "about 2,000", 2000, 2000, "about"),
        NumberMention(44, 55, "at least 15", 15, None, "at_least"),
    ]
    ru = "Погибли не менее 15 человек."
    assert find_numbers(ru, "ru") == [NumberMention(8, 19, "не менее 15", 15, None, "at_least")]
    kk = "70-ке жуық адам ұсталды."
    assert find_numbers(kk, "kk") == [NumberMention(0, 10, "70-ке жуық", 70, 70, "about")]


def test_figures_beside_dates_and_years_stay() -> None:
    text = "On 24 July 2020, 2 soldiers were killed. In 2021, 3 people; a crowd of 2000 gathered."
    assert read(text, "en") == [("2", 2, 2, "exact"), ("3", 3, 3, "exact"), ("2000", 2000, 2000, "exact")]
    assert read("толпа в 2000 человек", "ru") == [("2000", 2000, 2000, "exact")]


def test_more_than_reads_as_the_figure_unless_the_lexicon_says_otherwise() -> None:
    """ACLED reads "more than 15" as 15 (the default); ``more_than_adds`` makes it 16, "at least 15" stays 15."""
    text = "more than 15, at least 15, over 20, 30-odd"
    assert [m.low for m in find_numbers(text, "en")] == [15, 15, 20, 30]
    strict = dataclasses.replace(grammar("en"), more_than_adds=1)
    assert [(m.low, m.qualifier) for m in Reader(strict, text).mentions()] == [
        (16, "at_least"),
        (15, "at_least"),
        (21, "at_least"),
        (31, "at_least"),
    ]


def test_case_and_yo_do_not_matter() -> None:
    assert read("AT LEAST Fifteen", "en") == [("AT LEAST Fifteen", 15, None, "at_least")]
    assert read("трёх тысяч", "ru") == [("трёх тысяч", 3000, 3000, "exact")]


def test_seed_article(testdata: Path) -> None:
    path = testdata / "corpus" / "zhanaozen-observers-2011.txt"
    found = read(path.read_text(encoding="utf-8"), "en")
    assert ("at least 15", 15, None, "at_least") in found
    assert ("about 2,000", 2000, 2000, "about") in found
    assert ("four", 4, 4, "exact") in found
    assert all(f[0] not in ("16", "5", "2011") for f in found)  # December 16, January 5 are dates
