"""Dates in English, Russian and Kazakh: spans, intervals, precision and relation, resolved against publication."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from factfinder.text.dates import event_date, find_dates
from factfinder.text.model import DateMention, Lang

D = date


def dec(day: int) -> date:
    return date(2011, 12, day)


def jan(day: int) -> date:
    return date(2012, 1, day)


WED = dec(21)  # a Wednesday, five days after the Zhanaozen shooting (Friday 16 December 2011)
NEW_YEAR = jan(5)  # a Thursday, after the turn of the year

UNSPECIFIED = "On an unspecified date in December 2011"  # ACLED's note for a date known to the month
FROM_TO_KK = "16 желтоқсаннан 19 желтоқсанға дейін"  # from 16 December to 19 December

# (lang, text, the mention, earliest, latest, precision, relation), published on WED
# fmt: off
CASES: list[tuple[Lang, str, str, date, date, int, str]] = [
    # English: written dates
    ("en", "On 16 December 2011, police opened fire.", "16 December 2011", dec(16), dec(16), 1, "on"),
    ("en", "The clashes broke out on December 16, a holiday.", "December 16", dec(16), dec(16), 1, "on"),
    ("en", "Police fired on Dec. 16 at noon.", "Dec. 16", dec(16), dec(16), 1, "on"),
    ("en", "It began on the 16th of December.", "the 16th of December", dec(16), dec(16), 1, "on"),
    ("en", "Dated 2011-12-16 in the file.", "2011-12-16", dec(16), dec(16), 1, "on"),
    ("en", "Dated 16/12/2011 in the file.", "16/12/2011", dec(16), dec(16), 1, "on"),
    ("en", "Dated 05/12/2011 in the file.", "05/12/2011", dec(5), dec(5), 1, "on"),  # day first
    ("en", "Dated 12/16/2011 in the file.", "12/16/2011", dec(16), dec(16), 1, "on"),  # only US
    ("en", "On Friday, 16 December 2011, x.", "Friday, 16 December 2011", dec(16), dec(16), 1, "on"),
    ("en", "He was born in December 2011.", "in December 2011", dec(1), dec(21), 3, "on"),
    ("en", "A strike since May 2011 went on.", "since May 2011", D(2011, 5, 1), D(2011, 5, 31), 3, "since"),
    # English: relative to publication (Wednesday 21 December 2011)
    ("en", "Yesterday police detained ten.", "Yesterday", dec(20), dec(20), 1, "on"),
    ("en", "Shots were heard last night.", "last night", dec(20), dec(20), 1, "on"),
    ("en", "Calm returned this morning.", "this morning", WED, WED, 1, "on"),
    ("en", "A video surfaced online Tuesday showing police.", "Tuesday", dec(20), dec(20), 1, "on"),
    ("en", "Police fired on Wednesday.", "on Wednesday", WED, WED, 1, "on"),  # the day itself
    ("en", "Police fired last Wednesday.", "last Wednesday", dec(14), dec(14), 1, "on"),
    ("en", "They met on Friday night.", "on Friday night", dec(16), dec(16), 1, "on"),
    ("en", "Arrests went on last week.", "last week", dec(12), dec(18), 2, "on"),
    ("en", "Arrests went on earlier this week.", "earlier this week", dec(19), WED, 2, "on"),
    ("en", "It happened earlier this month.", "earlier this month", dec(1), WED, 3, "on"),
    ("en", "It happened over the weekend.", "over the weekend", dec(17), dec(18), 2, "on"),
    ("en", "It happened three days ago.", "three days ago", dec(18), dec(18), 1, "on"),
    ("en", "It happened a week ago.", "a week ago", dec(14), dec(14), 2, "on"),
    # English: months and parts of months
    ("en", "Strikes spread in December.", "in December", dec(1), WED, 3, "on"),
    ("en", "Strikes spread in mid-December.", "in mid-December", dec(11), dec(20), 3, "on"),
    ("en", "Strikes spread in late November.", "in late November", D(2011, 11, 21), D(2011, 11, 30), 3, "on"),
    ("en", "In early December it began.", "In early December", dec(1), dec(10), 3, "on"),
    ("en", "by the end of November", "by the end of November", D(2011, 11, 21), D(2011, 11, 30), 3, "before"),
    ("en", "In the first week of December", "In the first week of December", dec(1), dec(7), 2, "on"),
    ("en", "Strikes began in May.", "in May", D(2011, 5, 1), D(2011, 5, 31), 3, "on"),
    ("en", "Oil workers struck in 2011.", "in 2011", D(2011, 1, 1), WED, 3, "on"),
    ("en", "Oil workers struck in early 2011.", "in early 2011", D(2011, 1, 1), D(2011, 4, 30), 3, "on"),
    # English: ranges
    ("en", "Riots on 16-19 December left 15 dead.", "16-19 December", dec(16), dec(19), 2, "range"),
    ("en", "between 16 and 19 December", "between 16 and 19 December", dec(16), dec(19), 2, "range"),
    ("en", "from December 16 to 19 x", "from December 16 to 19", dec(16), dec(19), 2, "range"),
    ("en", "on 16 and 17 December", "16 and 17 December", dec(16), dec(17), 2, "range"),
    ("en", "on 16, 17 and 18 December", "16, 17 and 18 December", dec(16), dec(18), 2, "range"),
    ("en", "December 16-19, 2011 saw", "December 16-19, 2011", dec(16), dec(19), 2, "range"),
    ("en", "from 1 to 19 December", "from 1 to 19 December", dec(1), dec(19), 3, "range"),
    ("en", "from 30 November to 2 December", "from 30 November to 2 December", D(2011, 11, 30), dec(2), 2, "range"),
    # English: bounds
    ("en", "a strike since December 16", "since December 16", dec(16), dec(16), 1, "since"),
    ("en", "emergency until January 5.", "until January 5", jan(5), jan(5), 1, "until"),  # ahead
    ("en", "curfew until Friday.", "until Friday", dec(23), dec(23), 1, "until"),  # the coming one
    ("en", "detained after 16 December", "after 16 December", dec(16), dec(16), 1, "after"),
    # ACLED notes
    ("en", "On 16 December 2011, oil workers ...", "16 December 2011", dec(16), dec(16), 1, "on"),
    ("en", "Around 15 December 2011 (month of), x.", "Around 15 December 2011 (month of)", dec(1), dec(21), 3, "on"),
    ("en", "Around 16 December 2011 (week of), x.", "Around 16 December 2011 (week of)", dec(16), dec(16), 2, "on"),
    ("en", UNSPECIFIED, UNSPECIFIED, dec(1), dec(21), 3, "on"),
    ("en", "Between 16 and 19 December 2011, x.", "Between 16 and 19 December 2011", dec(16), dec(19), 2, "range"),
    ("en", "Overnight on 16-17 December 2011, x.", "Overnight on 16-17 December 2011", dec(16), dec(17), 1, "on"),
    ("en", "On the night of 16 December, x.", "On the night of 16 December", dec(16), dec(17), 1, "on"),
    # Russian
    ("ru", "16 декабря в Жанаозене открыли огонь.", "16 декабря", dec(16), dec(16), 1, "on"),
    ("ru", "16 декабря 2011 года произошли", "16 декабря 2011 года", dec(16), dec(16), 1, "on"),
    ("ru", "Дата: 16.12.2011 г.", "16.12.2011 г.", dec(16), dec(16), 1, "on"),
    ("ru", "Беспорядки 16-19 декабря", "16-19 декабря", dec(16), dec(19), 2, "range"),
    ("ru", "ЧП с 16 по 19 декабря", "с 16 по 19 декабря", dec(16), dec(19), 2, "range"),
    ("ru", "между 16 и 19 декабря", "между 16 и 19 декабря", dec(16), dec(19), 2, "range"),
    ("ru", "Режим ЧП до 5 января.", "до 5 января", jan(5), jan(5), 1, "until"),
    ("ru", "Забастовка с 16 декабря.", "с 16 декабря", dec(16), dec(16), 1, "since"),
    ("ru", "Вчера прошел митинг.", "Вчера", dec(20), dec(20), 1, "on"),
    ("ru", "Позавчера прошел митинг.", "Позавчера", dec(19), dec(19), 1, "on"),
    ("ru", "Сегодня утром тихо.", "Сегодня утром", WED, WED, 1, "on"),
    ("ru", "Видео появилось во вторник.", "во вторник", dec(20), dec(20), 1, "on"),
    ("ru", "Задержаны в прошлую пятницу.", "в прошлую пятницу", dec(16), dec(16), 1, "on"),
    ("ru", "Это было в декабре.", "в декабре", dec(1), WED, 3, "on"),
    ("ru", "Это было в середине декабря.", "в середине декабря", dec(11), dec(20), 3, "on"),
    ("ru", "Это было на прошлой неделе.", "на прошлой неделе", dec(12), dec(18), 2, "on"),
    ("ru", "в ночь с 16 на 17 декабря", "в ночь с 16 на 17 декабря", dec(16), dec(17), 1, "on"),
    ("ru", "в ночь на 17 декабря", "в ночь на 17 декабря", dec(16), dec(17), 1, "on"),
    ("ru", "около 16 декабря", "около 16 декабря", dec(16), dec(16), 2, "on"),
    ("ru", "в декабре прошлого года", "в декабре прошлого года", D(2010, 12, 1), D(2010, 12, 31), 3, "on"),
    ("ru", "в 2011 году", "в 2011 году", D(2011, 1, 1), WED, 3, "on"),
    ("ru", "три дня назад", "три дня назад", dec(18), dec(18), 1, "on"),
    # Kazakh
    ("kk", "16 желтоқсанда оқ атылды.", "16 желтоқсанда", dec(16), dec(16), 1, "on"),
    ("kk", "16 желтоқсан күні", "16 желтоқсан күні", dec(16), dec(16), 1, "on"),
    ("kk", "2011 жылғы 16 желтоқсанда болды", "2011 жылғы 16 желтоқсанда", dec(16), dec(16), 1, "on"),
    ("kk", "желтоқсанның 16-сы күні", "желтоқсанның 16-сы күні", dec(16), dec(16), 1, "on"),
    ("kk", "16-19 желтоқсан аралығында", "16-19 желтоқсан аралығында", dec(16), dec(19), 2, "range"),
    ("kk", FROM_TO_KK, FROM_TO_KK, dec(16), dec(19), 2, "range"),
    ("kk", "16-нан 19 желтоқсанға дейін", "16-нан 19 желтоқсанға дейін", dec(16), dec(19), 2, "range"),
    ("kk", "Кеше митинг өтті.", "Кеше", dec(20), dec(20), 1, "on"),
    ("kk", "Бүгін тыныш.", "Бүгін", WED, WED, 1, "on"),
    ("kk", "алдыңғы күні ұсталды", "алдыңғы күні", dec(19), dec(19), 1, "on"),
    ("kk", "сейсенбіде видео шықты", "сейсенбіде", dec(20), dec(20), 1, "on"),
    ("kk", "өткен жұма күні ұсталды", "өткен жұма күні", dec(16), dec(16), 1, "on"),
    ("kk", "желтоқсанда ереуіл болды", "желтоқсанда", dec(1), WED, 3, "on"),
    ("kk", "желтоқсан айында ереуіл", "желтоқсан айында", dec(1), WED, 3, "on"),
    ("kk", "желтоқсанның басында", "желтоқсанның басында", dec(1), dec(10), 3, "on"),
    ("kk", "5 қаңтарға дейін енгізілді", "5 қаңтарға дейін", jan(5), jan(5), 1, "until"),
    ("kk", "16 желтоқсаннан бері", "16 желтоқсаннан бері", dec(16), dec(16), 1, "since"),
    ("kk", "өткен аптада ұсталды", "өткен аптада", dec(12), dec(18), 2, "on"),
    ("kk", "Дата 16.12.2011 ж.", "16.12.2011 ж.", dec(16), dec(16), 1, "on"),
    ("kk", "17 желтоқсанға қараған түні", "17 желтоқсанға қараған түні", dec(16), dec(17), 1, "on"),
    ("kk", "екі күн бұрын", "екі күн бұрын", dec(19), dec(19), 1, "on"),
]
# fmt: on


def _one(text: str, lang: Lang, published: date = WED) -> DateMention:
    found = find_dates(text, lang, published)
    assert len(found) == 1, [m.text for m in found]
    return found[0]


@pytest.mark.parametrize(("lang", "text", "span", "earliest", "latest", "precision", "relation"), CASES)
def test_mention_resolves(
    lang: Lang, text: str, span: str, earliest: date, latest: date, precision: int, relation: str
) -> None:
    m = _one(text, lang)
    assert text[m.start : m.end] == m.text == span
    assert (m.earliest, m.latest, m.precision, m.relation) == (earliest, latest, precision, relation)


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "At least 16 dead and 100 injured; a 16-year-old boy; aged 16."),
        ("en", "At 10:00 and again at 16:30 police fired; Article 16 of the code."),
        ("en", "2011 protesters gathered; a crowd of 2,000; 16 December Street is closed."),
        ("en", "Oil workers have been on strike for four days, and for six months before."),
        ("en", "They may march; in march; on Good Friday; the Sunday Times said."),
        ("ru", "Погибли 16 человек, ранены 100; статья 16; в 10:00; в течение четырёх дней."),
        ("ru", "Митинг прошёл на улице 16 Декабря."),
        ("kk", "16 адам қаза тапты, 100 адам жараланды; төрт күн бойы."),
        ("kk", "Желтоқсан оқиғасы туралы; Қазанда жиналыс; егін маусымында."),
    ],
)
def test_counts_ages_times_and_names_are_not_dates(lang: Lang, text: str) -> None:
    assert find_dates(text, lang, WED) == []


def test_offsets_are_exact_in_every_language() -> None:
    texts: list[tuple[Lang, str]] = [
        ("en", "«On 16 December», police said; then, on Tuesday, and 16–19 December."),
        ("ru", "«16 декабря» полиция; во вторник; 16—19 декабря."),
        ("kk", "«2011 жылғы 16 желтоқсанда» полиция; сейсенбіде; 16–19 желтоқсан."),
    ]
    for lang, text in texts:
        found = find_dates(text, lang, WED)
        assert len(found) == 3
        assert all(text[m.start : m.end] == m.text for m in found)
        assert [m.start for m in found] == sorted(m.start for m in found)


# --- the year when it is not written -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("en", "Protests began on December 16.", dec(16)),  # later than 5 January 2012: the year before
        ("en", "Protests began on January 3.", jan(3)),
        ("ru", "Протесты начались 16 декабря.", dec(16)),
        ("ru", "Протесты начались 3 января.", jan(3)),
        ("kk", "Наразылық 16 желтоқсанда басталды.", dec(16)),
        ("kk", "Наразылық 3 қаңтарда басталды.", jan(3)),
    ],
)
def test_a_date_without_a_year_is_not_after_publication(lang: Lang, text: str, expected: date) -> None:
    m = _one(text, lang, NEW_YEAR)
    assert m.earliest == m.latest == expected


def test_a_bound_without_a_year_is_the_nearest_occurrence() -> None:
    """ "until January 5" in a report of 21 December is the coming 5 January; in a report of 10 January, the past."""
    assert _one("until January 5", "en", WED).earliest == jan(5)
    assert _one("until January 5", "en", jan(10)).earliest == jan(5)
    assert _one("until December 30", "en", NEW_YEAR).earliest == dec(30)
    assert _one("до 5 января", "ru", WED).earliest == jan(5)
    assert _one("5 қаңтарға дейін", "kk", WED).earliest == jan(5)
    # a date on its own is an event's: 5 January read in December is last January's
    assert _one("on January 5", "en", WED).earliest == D(2011, 1, 5)


def test_a_written_year_is_kept_even_after_publication() -> None:
    m = _one("The trial is set for 5 January 2012.", "en", WED)
    assert m.earliest == m.latest == jan(5)
    assert event_date([m], WED) is None  # but it cannot date the event


def test_a_range_across_the_new_year() -> None:
    m = _one("from 28 December to 3 January", "en", NEW_YEAR)
    assert (m.earliest, m.latest, m.relation) == (dec(28), jan(3), "range")
    m = _one("с 28 декабря по 3 января", "ru", NEW_YEAR)
    assert (m.earliest, m.latest) == (dec(28), jan(3))
    m = _one("between 30 December 2011 and 2 January 2012", "en", NEW_YEAR)
    assert (m.earliest, m.latest, m.precision) == (dec(30), jan(2), 2)


def test_in_december_after_new_year_is_last_december() -> None:
    assert _one("in December", "en", NEW_YEAR).earliest == dec(1)
    assert _one("в декабре", "ru", NEW_YEAR).latest == dec(31)
    assert _one("желтоқсанда", "kk", NEW_YEAR).earliest == dec(1)
    assert _one("last week", "en", NEW_YEAR).earliest == dec(26)  # Monday to Sunday across the year


def test_a_year_left_out_is_the_year_the_text_last_wrote() -> None:
    """An ACLED note writes the year once: "On 5 April 2021 ... On 6 April" is 6 April 2021, not the year of
    publication; and never after publication."""
    published = D(2024, 1, 1)
    found = find_dates("On 5 April 2021, 1,000 people rallied. On 6 April, police dispersed them.", "en", published)
    assert [(m.text, m.earliest) for m in found] == [("5 April 2021", D(2021, 4, 5)), ("6 April", D(2021, 4, 6))]
    found = find_dates("On 30 December 2021, x. On 2 January, y. In February, z.", "en", published)
    assert [m.earliest for m in found] == [D(2021, 12, 30), D(2022, 1, 2), D(2022, 2, 1)]
    found = find_dates("16 декабря 2010 года ... 17 декабря ...", "ru", published)
    assert [m.earliest for m in found] == [D(2010, 12, 16), D(2010, 12, 17)]
    found = find_dates("2011 жылғы 16 желтоқсанда ... 17 желтоқсанда ...", "kk", published)
    assert [m.earliest for m in found] == [dec(16), dec(17)]
    found = find_dates("On 20 December 2011, x. On 25 December, y.", "en", D(2011, 12, 22))
    assert [m.earliest for m in found] == [dec(20), D(2010, 12, 25)]  # the 25th would be after publication


def test_year_words() -> None:
    assert _one("в марте следующего года", "ru", WED).earliest == D(2012, 3, 1)
    assert _one("16 December last year", "en", WED).earliest == D(2010, 12, 16)
    assert _one("өткен жылғы 16 желтоқсанда", "kk", WED).earliest == D(2010, 12, 16)


def test_29_february_waits_for_a_leap_year() -> None:
    assert _one("on 29 February", "en", D(2013, 6, 1)).earliest == D(2012, 2, 29)


# --- intervals cut at publication --------------------------------------------------------------------------------


def test_an_interval_is_cut_at_publication_but_a_bound_is_not() -> None:
    m = _one("Riots on 16-23 December", "en", WED)
    assert (m.earliest, m.latest, m.precision) == (dec(16), WED, 3)  # 8 days: precision from the text
    m = _one("this week", "en", WED)
    assert (m.earliest, m.latest) == (dec(19), WED)
    m = _one("с 16 декабря по 5 января", "ru", WED)
    assert (m.earliest, m.latest, m.relation) == (dec(16), WED, "range")
    m = _one("until 5 January", "en", WED)
    assert m.latest == jan(5)


def test_looking_ahead_is_allowed_only_for_words_that_look_ahead() -> None:
    assert _one("tomorrow", "en", WED).earliest == dec(22)
    assert _one("next Tuesday", "en", WED).earliest == dec(27)
    assert _one("завтра", "ru", WED).earliest == dec(22)
    assert _one("ертең", "kk", WED).earliest == dec(22)


# --- weekdays ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("en", "on Wednesday", WED),  # the day of publication itself
        ("en", "on Thursday", dec(15)),
        ("en", "last Wednesday", dec(14)),  # strictly before
        ("en", "last Tuesday", dec(20)),
        ("en", "next Wednesday", dec(28)),
        ("en", "Tuesday morning", dec(20)),
        ("en", "since Monday", dec(19)),
        ("ru", "в среду", WED),
        ("ru", "в прошлую среду", dec(14)),
        ("ru", "в минувшую субботу", dec(17)),
        ("ru", "в воскресенье вечером", dec(18)),
        ("kk", "сәрсенбіде", WED),
        ("kk", "өткен сәрсенбіде", dec(14)),
        ("kk", "жексенбі күні", dec(18)),
        ("kk", "келесі сейсенбіде", dec(27)),
    ],
)
def test_weekdays(lang: Lang, text: str, expected: date) -> None:
    m = _one(text, lang, WED)
    assert (m.earliest, m.latest, m.precision) == (expected, expected, 1)


def test_weekday_names_need_capitals_or_a_preposition() -> None:
    assert find_dates("a friday mood", "en", WED) == []
    assert find_dates("Пятница стала чёрной.", "ru", WED) == []  # Russian needs "в пятницу"
    assert _one("в пятницу", "ru", WED).earliest == dec(16)


# --- anaphors ------------------------------------------------------------------------------------------------------


def test_following_day_counts_from_the_mention_before() -> None:
    text = "On 16 December police fired. The following day troops arrived, and two days later the town was sealed."
    found = find_dates(text, "en", WED)
    assert [(m.text, m.earliest) for m in found] == [
        ("16 December", dec(16)),
        ("The following day", dec(17)),
        ("two days later", dec(19)),
    ]
    ru = find_dates("16 декабря начались беспорядки. На следующий день ввели ЧП.", "ru", WED)
    assert [m.earliest for m in ru] == [dec(16), dec(17)]
    kk = find_dates("16 желтоқсанда оқ атылды. Келесі күні әскер келді.", "kk", WED)
    assert [m.earliest for m in kk] == [dec(16), dec(17)]
    assert find_dates("The following day troops arrived.", "en", WED) == []  # nothing to count from


def test_the_day_before_a_noun_counts_from_that_noun_not_a_date() -> None:
    assert [m.text for m in find_dates("On 16 December, the day before the vote, x.", "en", WED)] == ["16 December"]


# --- the seed article ----------------------------------------------------------------------------------------------


def test_seed_article(testdata: Path) -> None:
    text = (testdata / "corpus" / "zhanaozen-observers-2011.txt").read_text(encoding="utf-8")
    published = dec(22)
    found = find_dates(text, "en", published)
    got = [(m.text, m.earliest, m.relation) for m in found]
    assert ("December 16", dec(16), "on") in got
    assert ("Tuesday", dec(20), "on") in got  # "surfaced online Tuesday"
    assert ("until January 5", jan(5), "until") in got
    assert ("Wednesday morning", dec(21), "on") in got
    assert all(text[m.start : m.end] == m.text for m in found)
    assert not any("four days" in m.text or "six months" in m.text for m in found)  # durations
    when = event_date(found, published)
    assert when is not None and (when.text, when.earliest, when.precision) == ("December 16", dec(16), 1)


# --- event_date -----------------------------------------------------------------------------------------------------


def test_event_date_is_the_first_event_mention() -> None:
    found = find_dates(
        "On 12 May 2022, gunmen killed 3 civilians. On 14 May, police arrested two.", "en", D(2022, 5, 20)
    )
    when = event_date(found, D(2022, 5, 20))
    assert when is not None and when.earliest == D(2022, 5, 12) and when.precision == 1


def test_event_date_skips_bounds_and_the_future() -> None:
    published = dec(23)
    found = find_dates("A state of emergency until January 5 follows the clashes of 16 December.", "en", published)
    when = event_date(found, published)
    assert when is not None and when.earliest == dec(16)
    assert event_date(find_dates("The vote is on 5 January 2012.", "en", published), published) is None
    assert event_date(find_dates("Nothing is dated here.", "en", published), published) is None


def test_a_report_date_bounds_the_event() -> None:
    found = find_dates("As reported on 14 February 2020, on 12 February 2020 a mob lynched a man.", "en", D(2020, 3, 1))
    assert [(m.text, m.relation) for m in found] == [
        ("As reported on 14 February 2020", "before"),
        ("12 February 2020", "on"),
    ]
    when = event_date(found, D(2020, 3, 1))
    assert when is not None and when.earliest == D(2020, 2, 12)


def test_the_eve_in_russian() -> None:
    found = find_dates("16 декабря начались столкновения. Накануне в городе было спокойно.", "ru", WED)
    assert [(m.text, m.earliest) for m in found] == [("16 декабря", dec(16)), ("Накануне", dec(15))]
    found = find_dates("16 декабря начались столкновения. Накануне выборов задержали пятерых.", "ru", WED)
    assert [m.text for m in found] == ["16 декабря"]  # the eve of the elections, not of a date


@pytest.mark.parametrize(
    ("lang", "text", "published", "day", "precision"),
    [
        ("en", "On 16 December 2011, police fired.", WED, dec(16), 1),
        ("en", "Between 17 and 22 December 2011, police detained 70.", dec(23), dec(19), 2),  # the earlier middle
        ("en", "Between 17 and 19 December 2011, x.", dec(23), dec(18), 2),
        ("en", "Overnight on 16-17 December 2011, x.", WED, dec(16), 1),  # a night: its first day
        ("en", "The dispute began in May 2011.", WED, D(2011, 5, 15), 3),  # a month: its 15th
        ("en", "Strikes spread in December.", dec(10), dec(10), 3),  # ... unless publication comes first
        ("en", "Around 15 June 2021 (month of), x.", D(2021, 7, 1), D(2021, 6, 15), 3),
        ("en", "Around 5 November 2022 (between 4 and 6 November), x.", D(2022, 11, 9), D(2022, 11, 5), 2),
        ("en", "Around 5 November 2022 (week of), x.", D(2022, 11, 9), D(2022, 11, 5), 2),
        ("en", "No one was hurt during the weekend rallies.", dec(19), dec(17), 2),  # a weekend: its Saturday
        ("en", "Police have detained 70 people since Saturday.", dec(19), dec(18), 2),  # up to publication
        ("ru", "Прокуратура сообщила, что с 17 по 20 декабря задержаны 70 человек.", WED, dec(18), 2),
        ("kk", "17-20 желтоқсан аралығында 70 адам ұсталды.", WED, dec(18), 2),
    ],
)
def test_event_date_is_the_day_acled_codes(lang: Lang, text: str, published: date, day: date, precision: int) -> None:
    when = event_date(find_dates(text, lang, published), published)
    assert when is not None
    assert (when.earliest, when.latest, when.precision) == (day, day, precision)
    assert text[when.start : when.end] == when.text  # the span of the mention it came from


def test_a_long_since_is_a_background_not_the_event() -> None:
    found = find_dates("I have been on strike since May 26. On Friday we were on the square.", "en", dec(20))
    when = event_date(found, dec(20))
    assert when is not None and (when.text, when.earliest) == ("On Friday", dec(16))


def test_a_statement_date_is_not_the_event_date() -> None:
    text = "Kazakhstan's prosecutor general said on Tuesday that 15 people had died in Zhanaozen on December 16."
    found = find_dates(text, "en", D(2012, 1, 10))
    assert [(m.text, m.earliest, m.relation) for m in found] == [
        ("on Tuesday", D(2012, 1, 10), "before"),  # the span leaves the verb out
        ("December 16", dec(16), "on"),
    ]
    when = event_date(found, D(2012, 1, 10))
    assert when is not None and when.earliest == dec(16)
    found = find_dates("Human Rights Watch on Monday called for an inquiry into the killings.", "en", dec(27))
    assert [(m.text, m.relation) for m in found] == [("on Monday", "before")]
    assert event_date(found, dec(27)) is None
    found = find_dates("Генпрокурор сообщил во вторник, что 16 декабря погибли 15 человек.", "ru", WED)
    assert [(m.text, m.relation) for m in found] == [("во вторник", "before"), ("16 декабря", "on")]
    found = find_dates("Бас прокурор бейсенбі күні мәлімдеді.", "kk", D(2012, 1, 11))
    assert [(m.text, m.earliest, m.relation) for m in found] == [("бейсенбі күні", D(2012, 1, 5), "before")]


def test_a_dateline_is_the_reports_date() -> None:
    text = "ASTANA, Dec 17 (Reuters) - Eleven people have now died in Friday's unrest in Zhanaozen."
    found = find_dates(text, "en", dec(17))
    assert [(m.text, m.earliest, m.relation) for m in found] == [
        ("Dec 17", dec(17), "before"),
        ("Friday", dec(16), "on"),
    ]
    when = event_date(found, dec(17))
    assert when is not None and when.earliest == dec(16)
    found = find_dates("АСТАНА, 17 декабря. Число погибших возросло в результате вчерашних беспорядков.", "ru", dec(17))
    assert [(m.text, m.earliest, m.relation) for m in found] == [
        ("17 декабря", dec(17), "before"),
        ("вчерашних", dec(16), "on"),  # yesterday's
    ]
    found = find_dates("АҚТАУ, 17 желтоқсан. Кеше Шетпеде бір адам қаза тапты.", "kk", dec(17))
    assert [m.relation for m in found] == ["before", "on"]
    # a date at the start of a sentence is not a dateline
    assert find_dates("On 17 December - police fired.", "en", dec(17))[0].relation == "on"


def test_a_day_of_the_month_alone() -> None:
    found = find_dates("On the 16th they started bringing the wounded. The next morning it was calm.", "en", jan(8))
    assert [(m.text, m.earliest) for m in found] == [("On the 16th", dec(16)), ("The next morning", dec(17))]
    assert find_dates("It dates from the 16th century; on the 16th floor.", "en", jan(8)) == []
    found = find_dates("В ночь на 17 декабря задержаны 30 человек; 18-го числа их отпустили.", "ru", WED)
    assert [(m.text, m.earliest) for m in found] == [("В ночь на 17 декабря", dec(16)), ("18-го числа", dec(18))]


def test_event_date_is_refined_by_a_more_precise_mention_inside() -> None:
    found = find_dates("In December, strikes spread. On 16 December police fired.", "en", WED)
    when = event_date(found, WED)
    assert when is not None and (when.earliest, when.precision) == (dec(16), 1)
    found = find_dates("Between 16 and 19 December 2011, protests continued; on 18 December police fired.", "en", WED)
    when = event_date(found, WED)  # a range is not refined: ACLED codes its middle day
    assert when is not None and (when.text, when.earliest, when.precision) == (
        "Between 16 and 19 December 2011",
        dec(17),
        2,
    )
    found = find_dates("Arrests went on this week; on Tuesday police detained 30.", "en", WED)
    when = event_date(found, WED)
    assert when is not None and (when.text, when.earliest, when.precision) == ("on Tuesday", dec(20), 1)
