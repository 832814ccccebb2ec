"""Figures tied to what they count, in English, Russian and Kazakh: what, bounds, qualifier and the phrase."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from factfinder.text import coding, counts
from factfinder.text.counts import find_counts
from factfinder.text.model import CountMention, Lang, NumberMention

Expected = tuple[str, int, int | None, str, str]  # what, low, high, qualifier, the phrase


def read(text: str, lang: Lang) -> list[Expected]:
    found = find_counts(text, lang)
    for c in found:
        assert text[c.start : c.end] == c.text, c
        assert text[c.number.start : c.number.end] == c.number.text, c
        assert c.start <= c.number.start and c.number.end <= c.end, c
    assert [c.start for c in found] == sorted(c.start for c in found)
    figures = [(c.number.start, c.number.end) for c in found]
    assert len(set(figures)) == len(figures) or any(c.number.low == 0 for c in found), "a figure used twice"
    return [(c.what, c.number.low, c.number.high, c.number.qualifier, c.text) for c in found]


ENGLISH: list[tuple[str, list[Expected]]] = [
    ("at least 15 people dead", [("killed", 15, None, "at_least", "at least 15 people dead")]),
    ("15 were killed", [("killed", 15, 15, "exact", "15 were killed")]),
    ("police opened fire, killing 14.", [("killed", 14, 14, "exact", "killing 14")]),
    ("soldiers killed 14 people", [("killed", 14, 14, "exact", "killed 14 people")]),
    ("The death toll rose to 16.", [("killed", 16, 16, "exact", "death toll rose to 16")]),
    ("a death toll of 16", [("killed", 16, 16, "exact", "death toll of 16")]),
    ("14 fatalities", [("killed", 14, 14, "exact", "14 fatalities")]),
    ("resulting in 2 fatalities", [("killed", 2, 2, "exact", "2 fatalities")]),
    ("with one reported death in the village of Shetpe", [("killed", 1, 1, "exact", "one reported death")]),
    ("two people died", [("killed", 2, 2, "exact", "two people died")]),
    ("1 person was killed", [("killed", 1, 1, "exact", "1 person was killed")]),
    ("the clashes left 6 people dead", [("killed", 6, 6, "exact", "6 people dead")]),
    ("injuring 64", [("injured", 64, 64, "exact", "injuring 64")]),
    ("86 wounded", [("injured", 86, 86, "exact", "86 wounded")]),
    ("3 people were injured", [("injured", 3, 3, "exact", "3 people were injured")]),
    ("about 70 arrested", [("detained", 70, 70, "about", "about 70 arrested")]),
    ("police detained 30 people", [("detained", 30, 30, "exact", "detained 30 people")]),
    ("gunmen abducted 4 aid workers", [("missing", 4, 4, "exact", "abducted 4 aid workers")]),
    ("about 2,000 protesters", [("crowd", 2000, 2000, "about", "about 2,000 protesters")]),
    ("a crowd of 3,000", [("crowd", 3000, 3000, "exact", "crowd of 3,000")]),
    ("hundreds of demonstrators", [("crowd", 100, None, "vague", "hundreds of demonstrators")]),
    ("around 200 teachers protested in front of the office",
     [("crowd", 200, 200, "about", "around 200 teachers protested")]),
    ("100 riot police", [("police", 100, 100, "exact", "100 riot police")]),
    ("2,000 police were deployed", [("police", 2000, 2000, "exact", "2,000 police")]),
    ("services were cut for four days", [("days", 4, 4, "exact", "four days")]),
    ("a four-day strike", [("days", 4, 4, "exact", "four-day")]),
    ("Of the 16 dead, 3 were police.", [("killed", 16, 16, "exact", "16 dead")]),
    ("several people were killed", [("killed", 3, None, "vague", "several people were killed")]),
    ("dozens were injured", [("injured", 12, None, "vague", "dozens were injured")]),
]  # fmt: skip

DISAMBIGUATION: list[tuple[str, list[Expected]]] = [
    # what befell them wins over who they are
    ("3 police officers were killed", [("killed", 3, 3, "exact", "3 police officers were killed")]),
    ("rioters killed 3 police officers", [("killed", 3, 3, "exact", "killed 3 police officers")]),
    ("30 protesters were arrested", [("detained", 30, 30, "exact", "30 protesters were arrested")]),
    # the figure's own act is not what befell it
    ("3 gunmen killed 2 soldiers", [("killed", 2, 2, "exact", "killed 2 soldiers")]),
    ("2,000 police arrested 30 protesters",
     [("police", 2000, 2000, "exact", "2,000 police"), ("detained", 30, 30, "exact", "arrested 30 protesters")]),
    # two figures, one predicate
    ("3 soldiers and 2 civilians were killed",
     [("killed", 3, 3, "exact", "3 soldiers"), ("killed", 2, 2, "exact", "2 civilians were killed")]),
    ("killing 3 soldiers and 2 civilians",
     [("killed", 3, 3, "exact", "killing 3 soldiers"), ("killed", 2, 2, "exact", "2 civilians")]),
    ("killing 3 and injuring 5",
     [("killed", 3, 3, "exact", "killing 3"), ("injured", 5, 5, "exact", "injuring 5")]),
    ("11 people were killed and 85 injured",
     [("killed", 11, 11, "exact", "11 people were killed"), ("injured", 85, 85, "exact", "85 injured")]),
    ("3 killed, 15 injured", [("killed", 3, 3, "exact", "3 killed"), ("injured", 15, 15, "exact", "15 injured")]),
    # a part named between a figure and its predicate, with no commas: the whole is still tied
    ("12 rebels including 2 commanders were killed",
     [("killed", 12, 12, "exact", "12 rebels including 2 commanders were killed"),
      ("killed", 2, 2, "exact", "2 commanders were killed")]),
    # the phrase goes on after a bracket
    ("4 guards (off duty) on the truck were killed",
     [("killed", 4, 4, "exact", "4 guards (off duty) on the truck were killed")]),
    # one person with two titles
    ("1 local imam and teacher was killed", [("killed", 1, 1, "exact", "1 local imam and teacher was killed")]),
    ("Two of those detained were later found dead",
     [("killed", 2, 2, "exact", "Two of those detained were later found dead")]),
    # an aside between the figure's people and the predicate
    ("3 people, including a police officer, were killed",
     [("killed", 3, 3, "exact", "3 people, including a police officer, were killed")]),
    ("3 people (2 women and a child) were killed",
     [("killed", 3, 3, "exact", "3 people (2 women and a child) were killed")]),
    # a count noun as a modifier counts nothing
    ("2 police stations were attacked", []),
    ("around 15 nurses staged a sit-in", [("crowd", 15, 15, "about", "around 15 nurses staged")]),
    ("several hundred residents of Shetpe (Mangystau) blocked the railway",
     [("crowd", 300, None, "vague", "several hundred residents of Shetpe (Mangystau) blocked")]),
    # a part of a figure already given is no new count
    ("killing 5 people, including 2 policemen", [("killed", 5, 5, "exact", "killing 5 people")]),
    ("killing 15 people, 3 of them children", [("killed", 15, 15, "exact", "killing 15 people")]),
    ("police detained 12 of them", [("detained", 12, 12, "exact", "detained 12 of them")]),
    ("arrested 20 people, 5 of whom were injured",
     [("detained", 20, 20, "exact", "arrested 20 people"), ("injured", 5, 5, "exact", "5 of whom were injured")]),
    # units and times are no people
    ("he was killed 2 days later", []),
    ("4 days later, 3 were arrested", [("detained", 3, 3, "exact", "3 were arrested")]),
    ("3 vehicles were burnt and 5 km of road blocked", []),
    ("on strike for six months", []),
    # not counts at all
    ("hundreds of thousands of dollars were stolen", []),
    ("a 15-year-old boy was arrested", [("detained", 1, 1, "exact", "a 15-year-old boy was arrested")]),
    ("in 2011", []),
    ("under Article 164", []),
    ("on 16 December", []),
    ("some of the protesters went on a rampage", []),
]  # fmt: skip

ONE_AND_NONE: list[tuple[str, list[Expected]]] = [
    ("a protester was shot dead", [("killed", 1, 1, "exact", "a protester was shot dead")]),
    ("a 25-year-old man was killed", [("killed", 1, 1, "exact", "a 25-year-old man was killed")]),
    ("a protester was shot and later died", [("killed", 1, 1, "exact", "a protester was shot and later died")]),
    ("a woman died of her injuries", [("killed", 1, 1, "exact", "a woman died")]),
    ("a 14 year old girl was shot to death", [("killed", 1, 1, "exact", "a 14 year old girl was shot to death")]),
    ("a vendor is killed in the crossfire", [("killed", 1, 1, "exact", "a vendor is killed")]),
    ("a driver was stoned to death by a mob", [("killed", 1, 1, "exact", "a driver was stoned to death")]),
    ("an officer of the Unity Front (UF) was killed",
     [("killed", 1, 1, "exact", "an officer of the Unity Front (UF) was killed")]),
    ("a nurse who worked at the clinic for years was shot dead",
     [("killed", 1, 1, "exact", "a nurse who worked at the clinic for years was shot dead")]),
    # a pair of singular nouns is two; one before a figure is one more
    ("a trader and his 9-year-old daughter were killed",
     [("killed", 2, 2, "exact", "a trader and his 9-year-old daughter were killed")]),
    ("raiders hacked to death a herder and his brother in the hills",
     [("killed", 2, 2, "exact", "hacked to death a herder and his brother")]),
    ("a farmer and his three sons were killed",
     [("killed", 1, 1, "exact", "a farmer"), ("killed", 3, 3, "exact", "three sons were killed")]),
    ("a farmer and his sons were killed", [("killed", 1, 1, "exact", "a farmer")]),
    # a headline drops the article
    ("Gang kills trader in market", [("killed", 1, 1, "exact", "kills trader")]),
    ("troops killed civilian protesters", []),
    ("gunmen shot a man, killing him", [("killed", 1, 1, "exact", "killing him")]),
    ("gunmen shot dead a local trader", [("killed", 1, 1, "exact", "shot dead a local trader")]),
    ("dissidents killed a social leader in Tumaco", [("killed", 1, 1, "exact", "killed a social leader")]),
    ("killing the village chief", [("killed", 1, 1, "exact", "killing the village chief")]),
    ("killing the driver of the bus", [("killed", 1, 1, "exact", "killing the driver")]),
    ("resulting in the death of a civilian", [("killed", 1, 1, "exact", "resulting in the death of a civilian")]),
    ("the attack resulted in the deaths of 4 people",
     [("killed", 4, 4, "exact", "resulted in the deaths of 4 people")]),
    # a death named as a grievance is no toll of this event
    ("students protested over the killing of a student by police", []),
    ("protesting the killing of 3 activists", []),
    ("a body with gunshot wounds was found", [("killed", 1, 1, "exact", "a body with gunshot wounds was found")]),
    ("a local leader of the ruling party was killed",
     [("killed", 1, 1, "exact", "a local leader of the ruling party was killed")]),
    ("a suicide bomber killed himself and 5 others",
     [("killed", 1, 1, "exact", "killed himself"), ("killed", 5, 5, "exact", "killed himself and 5 others")]),
    ("killing all 5 passengers", [("killed", 5, 5, "exact", "killing all 5 passengers")]),
    ("a mob attacked 2 suspected kidnappers, killing both", [("killed", 2, 2, "exact", "killing both")]),
    ("as many as 70 people may have been killed",
     [("killed", 0, 70, "at_most", "as many as 70 people may have been killed")]),
    ("My neighbour's son, 23, was killed.", [("killed", 1, 1, "exact", "My neighbour's son, 23, was killed")]),
    ("I was detained.", [("detained", 1, 1, "exact", "I was detained")]),
    ("her clients had been beaten", []),
    ("Nobody from the police was hurt.", [("injured", 0, 0, "exact", "Nobody from the police was hurt")]),
    ("several thousand women tried to march",
     [("crowd", 3000, None, "vague", "several thousand women tried to march")]),
    ("Eleven people have now died", [("killed", 11, 11, "exact", "Eleven people have now died")]),
    ("3 gunmen have killed 2 soldiers", [("killed", 2, 2, "exact", "killed 2 soldiers")]),
    ("bringing the official toll to 16", [("killed", 16, 16, "exact", "toll to 16")]),
    ("The clash left 4 dead: 3 gunmen and a police officer.", [("killed", 4, 4, "exact", "4 dead")]),
    ("3 people were killed, including a police officer who was shot dead",
     [("killed", 3, 3, "exact", "3 people were killed")]),
    ("killing the protesters", []),
    ("The victim succumbed to his injuries.", [("killed", 1, 1, "exact", "The victim succumbed")]),
    ("the protesters died", []),
    ("killed one and wounded another",
     [("killed", 1, 1, "exact", "killed one"), ("injured", 1, 1, "exact", "wounded another")]),
    ("The body of a man was found.", [("killed", 1, 1, "exact", "The body of a man")]),
    ("a protester was shot", [("injured", 1, 1, "exact", "a protester was shot")]),
    ("police arrested a journalist", [("detained", 1, 1, "exact", "arrested a journalist")]),
    ("a group of protesters was arrested", []),
    ("No one was killed.", [("killed", 0, 0, "exact", "No one was killed")]),
    ("There were no fatalities.", [("killed", 0, 0, "exact", "no fatalities")]),
    ("No injuries were reported.", [("injured", 0, 0, "exact", "No injuries")]),
    ("No injuries or fatalities were reported.",
     [("injured", 0, 0, "exact", "No injuries"), ("killed", 0, 0, "exact", "No injuries or fatalities")]),
    ("the protest ended without casualties", [("killed", 0, 0, "exact", "without casualties")]),
    ("nobody was arrested", [("detained", 0, 0, "exact", "nobody was arrested")]),
]  # fmt: skip

SIZE_TAGS: list[tuple[str, list[Expected]]] = [
    ("[size=around 200]", [("crowd", 200, 200, "about", "[size=around 200]")]),
    ("[size=no report]", []),
    ("[size=dozens]", [("crowd", 12, None, "vague", "[size=dozens]")]),
    ("[size=several hundred]", [("crowd", 300, None, "vague", "[size=several hundred]")]),
    ("[size=between 50 and 100]", [("crowd", 50, 100, "range", "[size=between 50 and 100]")]),
]

RUSSIAN: list[tuple[str, list[Expected]]] = [
    ("погибли 15 человек", [("killed", 15, 15, "exact", "погибли 15 человек")]),
    ("16 погибших", [("killed", 16, 16, "exact", "16 погибших")]),
    ("не менее 15 убитых", [("killed", 15, None, "at_least", "не менее 15 убитых")]),
    ("15 человек погибли, более 100 ранены",
     [("killed", 15, 15, "exact", "15 человек погибли"), ("injured", 100, None, "at_least", "более 100 ранены")]),
    ("ранены 64 человека", [("injured", 64, 64, "exact", "ранены 64 человека")]),
    ("задержаны около 70", [("detained", 70, 70, "about", "задержаны около 70")]),
    ("полицейские задержали 30 человек", [("detained", 30, 30, "exact", "задержали 30 человек")]),
    ("были задержаны ещё 25 человек, в том числе 3 журналиста",
     [("detained", 25, 25, "exact", "задержаны ещё 25 человек")]),
    ("убитых было не менее 50", [("killed", 50, None, "at_least", "убитых было не менее 50")]),
    ("около двух тысяч протестующих", [("crowd", 2000, 2000, "about", "около двух тысяч протестующих")]),
    ("на площадь вышли около 2000 человек", [("crowd", 2000, 2000, "about", "вышли около 2000 человек")]),
    ("на четыре дня", [("days", 4, 4, "exact", "четыре дня")]),
    ("в течение четырёх дней", [("days", 4, 4, "exact", "четырёх дней")]),
    ("через 4 дня", []),
    ("число погибших возросло до 16", [("killed", 16, 16, "exact", "число погибших возросло до 16")]),
    ("погиб 21 человек", [("killed", 21, 21, "exact", "погиб 21 человек")]),
    ("погиб протестующий", [("killed", 1, 1, "exact", "погиб")]),
    ("никто не погиб", [("killed", 0, 0, "exact", "никто не погиб")]),
    ("обошлось без жертв", [("killed", 0, 0, "exact", "без жертв")]),
    ("пострадавших нет", [("injured", 0, 0, "exact", "пострадавших нет")]),
    ("связь восстановлена после четырёхдневного отключения", [("days", 4, 4, "exact", "четырёхдневного")]),
    ("полиция задержала троих организаторов", [("detained", 3, 3, "exact", "задержала троих")]),
    ("Меня задержали", [("detained", 1, 1, "exact", "Меня задержали")]),
    ("Моего сына арестовали", [("detained", 1, 1, "exact", "Моего сына арестовали")]),
    ("могли погибнуть до 70 человек", [("killed", 0, 70, "at_most", "погибнуть до 70 человек")]),
    ("погибших могут быть десятки", [("killed", 10, None, "vague", "погибших могут быть десятки")]),
    ("около ста торговцев рынка «Келечек» собрались у мэрии",
     [("crowd", 100, 100, "about", "около ста торговцев рынка «Келечек» собрались")]),
    ("митинг против гибели 3 активистов", []),
    ("15 человек, в том числе 2 полицейских, погибли",
     [("killed", 15, 15, "exact", "15 человек, в том числе 2 полицейских, погибли")]),
    ("1500 полицейских", [("police", 1500, 1500, "exact", "1500 полицейских")]),
    ("3 полицейские машины сожжены", []),
]  # fmt: skip

KAZAKH: list[tuple[str, list[Expected]]] = [
    ("15 адам қаза тапты", [("killed", 15, 15, "exact", "15 адам қаза тапты")]),
    ("64 адам жараланды", [("injured", 64, 64, "exact", "64 адам жараланды")]),
    ("70-ке жуық адам ұсталды", [("detained", 70, 70, "about", "70-ке жуық адам ұсталды")]),
    ("екі мыңдай наразылық білдірушілер",
     [("crowd", 2000, 2000, "about", "екі мыңдай наразылық білдірушілер")]),
    ("мыңдаған адам алаңға жиналды", [("crowd", 1000, None, "vague", "мыңдаған адам алаңға жиналды")]),
    ("байланыс төрт күн бойы өшірілді", [("days", 4, 4, "exact", "төрт күн бойы")]),
    ("екі күннен кейін", []),
    ("қаза тапқандар саны 16-ға жетті", [("killed", 16, 16, "exact", "қаза тапқандар саны 16-ға")]),
    ("қаза тапқандардың жалпы саны 16-ға жетті",
     [("killed", 16, 16, "exact", "қаза тапқандардың жалпы саны 16-ға")]),
    ("ешкім қаза тапқан жоқ", [("killed", 0, 0, "exact", "ешкім қаза тапқан жоқ")]),
    ("бір адам қаза тауып, 11 адам жарақат алды",
     [("killed", 1, 1, "exact", "бір адам қаза тауып"), ("injured", 11, 11, "exact", "11 адам жарақат алды")]),
    ("тағы бір адам қайтыс болды", [("killed", 1, 1, "exact", "бір адам қайтыс болды")]),
    ("жүзге жуық тұрғын теміржолды жауып", [("crowd", 100, 100, "about", "жүзге жуық тұрғын теміржолды жауып")]),
    ("екі есе өсуіне наразылық білдіріп", []),
    ("екі мыңнан астам полицей", [("police", 2000, None, "at_least", "екі мыңнан астам полицей")]),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), ENGLISH + DISAMBIGUATION + ONE_AND_NONE + SIZE_TAGS)
def test_english(text: str, expected: list[Expected]) -> None:
    assert read(text, "en") == expected


@pytest.mark.parametrize(("text", "expected"), RUSSIAN)
def test_russian(text: str, expected: list[Expected]) -> None:
    assert read(text, "ru") == expected


@pytest.mark.parametrize(("text", "expected"), KAZAKH)
def test_kazakh(text: str, expected: list[Expected]) -> None:
    assert read(text, "kk") == expected


def test_acled_notes() -> None:
    """Whole notes in ACLED's style: every count, and nothing else."""
    note = "On 12 May 2022, unidentified gunmen shot and killed 3 civilians in Kabul city (Kabul). [size=no report]"
    assert read(note, "en") == [("killed", 3, 3, "exact", "shot and killed 3 civilians")]
    note = (
        "On 3 March 2023, around 200 teachers protested in front of the governor's office in Lahore (Punjab) "
        "demanding regularisation of their jobs. [size=around 200]"
    )
    assert read(note, "en") == [
        ("crowd", 200, 200, "about", "around 200 teachers protested"),
        ("crowd", 200, 200, "about", "[size=around 200]"),
    ]
    note = "On 24 July 2020, 2 soldiers were killed and 4 others injured when their vehicle hit a landmine."
    assert read(note, "en") == [
        ("killed", 2, 2, "exact", "2 soldiers were killed"),
        ("injured", 4, 4, "exact", "4 others injured"),
    ]


def test_offsets_and_figure() -> None:
    text = "Clashes left at least 15 people dead."
    assert find_counts(text, "en") == [
        CountMention(
            13, 36, "at least 15 people dead", "killed", NumberMention(13, 24, "at least 15", 15, None, "at_least")
        )
    ]
    text = "A protester was shot dead."
    [one] = find_counts(text, "en")
    assert (one.start, one.end, one.number) == (0, 25, NumberMention(0, 1, "A", 1, 1, "exact"))
    text = "No one was killed."
    [none] = find_counts(text, "en")
    assert none.number == NumberMention(0, 6, "No one", 0, 0, "exact")


def test_seed_article(testdata: Path) -> None:
    path = testdata / "corpus" / "zhanaozen-observers-2011.txt"
    found = read(path.read_text(encoding="utf-8"), "en")
    assert ("killed", 15, None, "at_least", "at least 15 people dead") in found
    assert ("killed", 1, 1, "exact", "one reported death") in found
    assert ("days", 4, 4, "exact", "four days") in found
    assert ("crowd", 2000, 2000, "about", "about 2,000 protesters") in found
    assert [f for f in found if f[0] == "killed"] == [
        ("killed", 15, None, "at_least", "at least 15 people dead"),
        ("killed", 1, 1, "exact", "one reported death"),
    ]


def fatalities(text: str) -> int:
    """The fatalities of ``text`` coded as one ACLED event."""
    value = coding.code_text(text, date(2024, 6, 30))["fatalities"]
    assert isinstance(value, int)
    return value


TOLLS: list[tuple[str, int]] = [
    # a part of a figure does not replace it, nor does an alternative in brackets
    ("On 3 June 2024, 12 rebels including 2 commanders were killed in clashes with the army near Tarn.", 12),
    ("On 3 June 2024, 5 guards (3 according to other sources) were killed when gunmen raided a depot.", 5),
    # later sentences: other victims add up, the same deaths reported again are an alternative (the smallest)
    ("On 3 June 2024, rebels attacked an army post near Tarn. 2 soldiers were killed. "
     "Local officials said 3 rebels were killed.", 5),
    ("On 3 June 2024, rebels attacked an army post near Tarn, killing 4 soldiers. Officials said 7 people died.", 4),
    ("On 3 June 2024, rebels attacked an army post near Tarn, killing 4 soldiers. 2 civilians also died.", 6),
    ("On 3 June 2024, police fired at protesters in Tarn. According to a rights group, at least 9 protesters were "
     "killed; the governor said 3 people died.", 3),
    # a coder's note settles it
    ("On 3 June 2024, 8 fighters were killed in clashes near Tarn. Fatalities coded as 0 (one outlet reported 8).", 0),
    ("On 3 June 2024, clashes took place near Tarn and Oss (coded separately). 9 fatalities split across 2 events "
     "and coded as 4 for this event.", 4),
    ("On 3 June 2024, clashes took place near Tarn, Oss and Vey. Unknown fatalities coded as 10 and spread between "
     "3 locations.", 3),
    ("On 3 June 2024, clans clashed in Tarn district, which resulted in 6 deaths (coded across 3 events).", 2),
    # deaths before the event are not its toll
    ("On 3 June 2024, residents of Tarn rioted after a cyclist was killed by a truck driver.", 0),
    ("On 3 June 2024, a lorry collided with a minibus near Tarn, killing 4 people. Residents then set the lorry on "
     "fire and blocked the road.", 0),
    ("On 3 June 2024, a mob beat a man who had allegedly killed his uncle in Tarn.", 0),
    ("On 3 June 2024, villagers attacked the police station in Tarn, demanding justice for a boy who was killed by "
     "a landlord.", 0),
    ("On 3 June 2024, two groups of herders clashed in Tarn over a land dispute. 1 person was killed.", 1),
    # a complementiser is no pronoun: "that one person"
    ("On 3 June 2024, soldiers fired at a crowd in Tarn. Witnesses said that one person was killed.", 1),
    ("On 3 June 2024, gunmen killed 15 livestock in Tarn.", 0),
    # the same rules in Russian and Kazakh
    ("3 июня 2024 года в Таразе в ходе столкновений погибли 3 человека; по данным МВД, погибли 2 человека.", 2),
    ("2024 жылғы 3 маусымда Таразда қақтығыс кезінде 3 адам қаза тапты.", 3),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), TOLLS)
def test_fatalities(text: str, expected: int) -> None:
    assert fatalities(text) == expected


def test_toll_helpers() -> None:
    text = "12 rebels including 2 commanders were killed"
    whole, part = find_counts(text, "en")
    assert not counts.part_of_another(text, whole, "en")
    assert counts.part_of_another(text, part, "en")
    assert counts.victims(whole, "en") == frozenset({"armed"})
    [generic] = find_counts("5 people were killed", "en")
    assert counts.victims(generic, "en") == frozenset()
    text = "clashes resulted in 6 deaths (coded across 3 events) and 4 injuries"
    [dead, _] = find_counts(text, "en")
    assert counts.shared(text, dead, "en", len(text)) == 2
    note = counts.coded("Unclear fatalities coded as 10 and split between the two events.", "en")
    assert note is not None and note.number.low == 5 and note.number.text == "10"
    assert counts.coded("20 fatalities split up between 3 events.", "en") is not None
    assert counts.coded("Fatalities were not coded.", "en") is None
    assert counts.coded("погибли 3 человека", "ru") is None
