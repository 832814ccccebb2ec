"""Person-register linkage (`factfinder.findings.persons.linkage.link`) on 100,000 generated list entries.

The entries are generated here, seeded: invented people (Kazakh and Russian given names, fathers' names
and surname stems drawn at random, so no real person), each listed one to four times by lists that
write names their own way: Russian Cyrillic "Surname Given Patronymic" (Kazakh letters as Russian ones,
feminine surnames, -ovich/-ovna), Kazakh Cyrillic in columns with -ұлы/-қызы, "Given Father-uly" alone,
the 2017 (apostrophes), 2018 (acute accents) and 2021 Kazakh Latin alphabets, an English romanisation
of the Russian form (Yerlan Zhumabayev), passport-style ICAO capitals surname first; with typos,
diminutives, missing fields, ages instead of birth dates, and wrong birth years or swapped day and month.
Which entries are one person is known, so precision, recall and F1 are measured (pairs at the
``upper`` threshold, and pairs inside the clusters made at it).

Measured in the same run, on the same entries:
- ``link`` with the name keys (DuckDB, ``--threads``, 2 by default);
- baseline: the same splink pipeline (u by random sampling, EM on two blocking rules, the same birth
  date, age, sex and residence comparisons) on the names as written, lower-cased, compared by plain
  Jaro-Winkler, blocked on their first letters, without keys, transliteration or patronymic handling.

    .venv/bin/python benchmarks/linkage.py [--records 100000] [--threads 2] [--seed 7] [--json PATH]
    .venv/bin/python benchmarks/linkage.py --write-default-model [--records 30000]

``--write-default-model`` trains the model from splink's starting values on generated entries and writes
``factfinder/findings/persons/data/default_model.json`` (the m and u used for registers too small to
train on, and by ``compare``), with its prior set to ``linkage.DEFAULT_PRIOR``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._common import Figure, Report

# ---- invented people ------------------------------------------------------------------------------


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


KZ_MALE = _words(
    "Ерлан Нұрлан Серік Бауыржан Қайрат Асхат Ерболат Дәурен Жандос Ержан Талғат Мұрат Бақыт Айдос Бекзат "
    "Ғалымжан Дархан Еркін Жанболат Қанат Мақсат Нұрболат Нұржан Олжас Самат Сұлтан Ұлан Әсет Әділ Ақжол "
    "Берік Болат Дидар Елдос Жасұлан Кенжебек Мейрам Нұрсұлтан Өмірзақ Рүстем Саят Төлеген Шыңғыс Ілияс "
    "Қуаныш Жеңіс Айбек Арман Асқар Бекжан Нұрбек Төлеу Сапар Оралбек Жанат Қасым Ақылбек Ербол Әлихан"
)
KZ_FEMALE = _words(
    "Айгүл Гүлнар Жанар Сәуле Динара Әсел Меруерт Ақмарал Айжан Гүлмира Жұлдыз Салтанат Ботагөз Нұргүл "
    "Әйгерім Мәдина Назерке Дана Аружан Ләззат Шынар Раушан Гаухар Ұлжан Айнұр Жазира Күләш Мөлдір Индира Ақбота"
)
RU_MALE = _words(
    "Александр Сергей Николай Евгений Михаил Владимир Дмитрий Алексей Иван Пётр Юрий Андрей Виктор Игорь "
    "Олег Павел Константин Анатолий Василий Григорий"
)
RU_FEMALE = _words("Елена Татьяна Наталья Ольга Ирина Светлана Екатерина Мария Галина Людмила Надежда Анна")
KZ_STEMS = _words(
    "Жұмабай Серік Нұрлан Қуанышбай Төлеу Сейітқали Ахмет Байжан Тұрсынбай Қасым Омар Әбдірахман Есен Оспан "
    "Сәрсенбай Құдайберген Нұрпейіс Жақып Мұқан Ысқақ Бекмұхамбет Шәріп Кенжебай Ержан Абылай Тілеп Байтұрсын "
    "Дүйсен Жантөре Қожахмет Сағынбай Әлімжан Мырзахмет Бисен Қалдыбай Бөкей Өтеген Есқали Ұзақбай Нұрмағамбет"
)
RU_SURNAMES = _words(
    "Иванов Петров Смирнов Кузнецов Попов Васильев Соколов Михайлов Новиков Фёдоров Морозов Волков Алексеев "
    "Лебедев Семёнов Егоров Павлов Козлов Степанов Николаев Орлов Лисовский Вишневский Ковальчук Шевченко "
    "Бондаренко Ким Пак Цой"
)
TOWNS = ("Жаңаөзен", "Ақтау", "Шетпе", "Теңге", "Қызылсай", "Жетібай", "Бейнеу", "Форт-Шевченко")
NICK = {
    "Александр": "Саша", "Николай": "Коля", "Евгений": "Женя", "Михаил": "Миша", "Владимир": "Вова",
    "Дмитрий": "Дима", "Сергей": "Серёжа", "Алексей": "Лёша", "Иван": "Ваня", "Юрий": "Юра",
    "Татьяна": "Таня", "Наталья": "Наташа", "Мария": "Маша", "Ольга": "Оля", "Елена": "Лена",
}  # fmt: skip

RUSSIAN_OF_KAZAKH = str.maketrans("әғқңөұүіһӘҒҚҢӨҰҮІҺ", "агкноууихАГКНОУУИХ")
KZ_2021 = {
    "а": "a", "ә": "ä", "б": "b", "в": "v", "г": "g", "ғ": "ğ", "д": "d", "е": "e", "ё": "io", "ж": "j",
    "з": "z", "и": "i", "й": "i", "к": "k", "қ": "q", "л": "l", "м": "m", "н": "n", "ң": "ñ", "о": "o",
    "ө": "ö", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ұ": "ū", "ү": "ü", "ф": "f", "х": "h",
    "һ": "h", "ц": "ts", "ч": "ç", "ш": "ş", "щ": "şş", "ъ": "", "ы": "y", "і": "ı", "ь": "", "э": "e",
    "ю": "iu", "я": "ia",
}  # fmt: skip
KZ_2018 = KZ_2021 | {
    "ә": "á", "ғ": "ǵ", "ң": "ń", "ө": "ó", "у": "ý", "ұ": "u", "ү": "ú", "ч": "ch", "ш": "sh", "щ": "shch",
    "і": "i", "и": "ı", "й": "ı",
}  # fmt: skip
KZ_2017 = KZ_2021 | {
    "ә": "a'", "ғ": "g'", "ң": "n'", "ө": "o'", "у": "y'", "ұ": "u", "ү": "u'", "ч": "c'", "ш": "s'",
    "щ": "s's'", "і": "i", "и": "i'", "й": "i'",
}  # fmt: skip
RU_EN = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "zh", "з": "z", "и": "i",
    "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "",
    "э": "e", "ю": "yu", "я": "ya",
}  # fmt: skip
RU_ICAO = RU_EN | {"ё": "e", "й": "i", "ъ": "ie", "ю": "iu", "я": "ia"}


def _translit(text: str, table: dict[str, str], *, english: bool = False) -> str:
    out = []
    for i, ch in enumerate(text):
        low = ch.lower()
        if english and low == "е" and (i == 0 or text[i - 1].lower() in "аеёиоуыэюяьъ "):
            piece = "ye"  # Yerlan, Sergeyevich
        else:
            piece = table.get(low, low)
        out.append(piece.capitalize() if ch.isupper() else piece)
    return "".join(out)


def _place(name: str, style: str, kz_table: dict[str, str] | None) -> str:
    """A place name (Kazakh Cyrillic) as a list in ``style`` writes it."""
    if kz_table is not None:
        return _translit(name, kz_table)
    if style in ("lat_en", "passport"):
        return _translit(_russian(name), RU_EN)
    return _russian(name) if style == "ru_cyr" else name


def _russian(text: str) -> str:
    return text.translate(RUSSIAN_OF_KAZAKH)


def _surname_of(stem: str) -> str:
    return stem[:-1] + "ев" if stem.endswith("й") else stem + ("ев" if stem[-1] in "ие" else "ов")


def _feminine(surname: str) -> str:
    if surname.endswith(("ов", "ев", "ин")):
        return surname + "а"
    if surname.endswith("ский"):
        return surname[:-2] + "ая"
    return surname


def _ru_patronymic(father: str, female: bool) -> str:
    if father.endswith("й"):
        stem, male_end, female_end = father[:-1], "евич", "евна"
    else:
        stem, male_end, female_end = father, "ович", "овна"
    return stem + (female_end if female else male_end)


@dataclass(frozen=True)
class Person:
    pid: int
    kazakh: bool
    female: bool
    given: str  # Kazakh Cyrillic for Kazakhs (Russian lists write it in Russian letters)
    father: str
    surname: str  # masculine
    birth: tuple[int, int, int]
    town: str
    event_town: str
    micro: int
    house: int
    event_day: int
    status: str


KZ_PREFIXES = _words(
    "Нұр Ер Ай Бек Жан Сұлтан Бақ Қай Асыл Ақ Алтын Дос Әли Ғали Тоқ Сағын Қуан Бай Абыл Тұрсын Дәулет "
    "Ораз Әбіл Сейіт Жұма Еспол Қуат Мейір Шат Толға Арыс Ертай Қанат Бер Жеңіс Самұрық"
)
KZ_SUFFIXES_MALE = _words("бек жан бол лан ғали хан бай тай ат мұрат болат сұлтан сейіт ғазы")
KZ_SUFFIXES_FEMALE = _words("гүл жан сұлу бота нұр ай күл")


def _kazakh_name(rng: random.Random, female: bool) -> str:
    """A common name half of the time; else one composed the way many Kazakh names are (Нұр + лан, Ай + гүл),
    so that sixty thousand invented people are not all namesakes."""
    if rng.random() < 0.5:
        return rng.choice(KZ_FEMALE if female else KZ_MALE)
    return rng.choice(KZ_PREFIXES) + rng.choice(KZ_SUFFIXES_FEMALE if female else KZ_SUFFIXES_MALE)


def _person(pid: int, rng: random.Random) -> Person:
    kazakh = rng.random() < 0.75
    female = rng.random() < 0.3
    if kazakh:
        given = _kazakh_name(rng, female)
        father = _kazakh_name(rng, False)
        # a Russified Kazakh surname is made from a forebear's name: the father's for some (Серіков, son of
        # Серік, who may also write himself Серікұлы), the grandfather's or an older one's for the others
        r = rng.random()
        stem = father if r < 0.3 else rng.choice(KZ_STEMS) if r < 0.6 else _kazakh_name(rng, False)
        surname = _surname_of(stem)
    else:
        given = rng.choice(RU_FEMALE if female else RU_MALE)
        father = rng.choice(RU_MALE)
        surname = rng.choice(RU_SURNAMES)
    year = rng.randint(1940, 1995)
    return Person(
        pid,
        kazakh,
        female,
        given,
        father,
        surname,
        (year, rng.randint(1, 12), rng.randint(1, 28)),
        rng.choice(TOWNS),
        "Жаңаөзен" if rng.random() < 0.8 else rng.choice(TOWNS),
        rng.randint(1, 30),
        rng.randint(1, 80),
        rng.choice((16, 16, 16, 17)),
        rng.choice(("killed", "injured", "injured", "detained", "detained", "disappeared")),
    )


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 3:
        return word
    i = rng.randrange(1, len(word))
    kind = rng.randrange(4)
    letters = [c for c in word.lower() if c.isalpha()] or ["a"]
    if kind == 0:  # substitute
        return word[:i] + rng.choice(letters) + word[i + 1 :]
    if kind == 1:  # delete
        return word[:i] + word[i + 1 :]
    if kind == 2:  # insert
        return word[:i] + rng.choice(letters) + word[i:]
    if i < len(word) - 1:  # transpose
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word


STYLES = ("ru_cyr", "kz_cyr", "kz_uly", "lat_2021", "lat_2018", "lat_2017", "lat_en", "passport")


def _record(p: Person, style: str, rng: random.Random) -> Any:
    from factfinder.findings.persons.model import PersonRecord

    surname = _feminine(p.surname) if p.female else p.surname
    given = p.given
    if not p.kazakh and style in ("ru_cyr", "lat_en") and given in NICK and rng.random() < 0.15:
        given = NICK[given]
    uly = p.father + ("қызы" if p.female else "ұлы")
    if p.kazakh and style in ("kz_cyr", "lat_2021", "lat_2018", "lat_2017"):
        patronymic = uly if rng.random() < 0.8 else ""
    else:
        patronymic = _ru_patronymic(_russian(p.father), p.female) if rng.random() < 0.8 else ""
    kz_table = {"lat_2021": KZ_2021, "lat_2018": KZ_2018, "lat_2017": KZ_2017}.get(style)
    if style in ("ru_cyr", "lat_en", "passport"):
        given, surname, patronymic = _russian(given), _russian(surname), _russian(patronymic)
    if kz_table is not None:
        given, surname, patronymic = (_translit(x, kz_table) for x in (given, surname, patronymic))
    elif style == "lat_en":
        given, surname, patronymic = (_translit(x, RU_EN, english=True) for x in (given, surname, patronymic))
    elif style == "passport":
        given, surname, patronymic = (_translit(x, RU_ICAO).upper() for x in (given, surname, patronymic))
    if rng.random() < 0.12:
        given = _typo(given, rng)
    if rng.random() < 0.12:
        surname = _typo(surname, rng)
    if patronymic and rng.random() < 0.08:
        patronymic = _typo(patronymic, rng)
    # birth date, or an age, or nothing
    year, month, day = p.birth
    birth: str | None = None
    age_min = age_max = None
    r = rng.random()
    if r < 0.45:
        if rng.random() < 0.06:  # a wrong year: usually by one, now and then by more
            year += rng.choice((-1, 1)) if rng.random() < 0.8 else rng.choice((-10, -5, -3, 3, 5, 10))
        if rng.random() < 0.03 and day <= 12:
            month, day = day, month
        birth = f"{year:04d}-{month:02d}-{day:02d}" if rng.random() < 0.8 else f"{year:04d}"
    elif r < 0.8:
        age = 2011 - year - (1 if (month, day) > (12, p.event_day) else 0)
        if rng.random() < 0.7:
            age_min = age_max = age + rng.choice((0, 0, 0, -1, 1))
        else:
            age_min, age_max = age - rng.randint(1, 4), age + rng.randint(1, 4)
    residence = ""
    r = rng.random()
    if r < 0.6:  # the full address; its town only; or another address (registration, a relative's)
        town = _place(p.town, style, kz_table)
        if r < 0.42:
            residence = rng.choice(
                (
                    f"{town}, {p.micro}, {p.house}",
                    f"{town}, {p.micro}-{p.house}",
                    f"{town}, мкр. {p.micro}, д. {p.house}"
                    if style == "ru_cyr"
                    else f"{town}, {p.micro} mkr, {p.house}",
                )
            )
        elif r < 0.54:
            residence = town
        else:
            residence = f"{_place(rng.choice(TOWNS), style, kz_table)}, {rng.randint(1, 30)}, {rng.randint(1, 80)}"
    sex = ("female" if p.female else "male") if rng.random() < 0.6 else None
    if sex and rng.random() < 0.005:
        sex = "male" if sex == "female" else "female"
    event_place = ""
    if rng.random() < 0.7:  # where it happened; or where the list saw the person (a hospital, a morgue)
        event_place = _place(p.event_town if rng.random() < 0.9 else rng.choice(TOWNS), style, kz_table)
    kw: dict[str, Any] = {
        "sex": sex,
        "age_min": age_min,
        "age_max": age_max,
        "birth_date": birth,
        "residence": residence,
        "status": p.status,
        "event_date_start": f"2011-12-{p.event_day}" if rng.random() < 0.7 else None,
        "event_place": event_place,
    }
    if style == "ru_cyr":
        if patronymic and rng.random() < 0.05:  # Иванов И. И.
            given, patronymic = given[0] + ".", patronymic[0] + "."
        return PersonRecord(full_name=" ".join(x for x in (surname, given, patronymic) if x), **kw)
    if style == "passport":
        return PersonRecord(full_name=" ".join(x for x in (surname, given) if x), **kw)
    if style == "kz_uly":
        name = f"{given} {uly}" if p.kazakh else f"{given} {surname}"
        if p.kazakh and rng.random() < 0.5:
            name = _translit(name, KZ_2021)
        return PersonRecord(full_name=name, **kw)
    if style == "lat_en":
        return PersonRecord(given_name=given, surname=surname, patronymic=patronymic, **kw)
    return PersonRecord(given_name=given, surname=surname, patronymic=patronymic, **kw)


def generate(records: int, seed: int = 7) -> tuple[list[tuple[int, str, Any]], dict[int, int]]:
    """``records`` entries ``(id, list name, PersonRecord)`` and the truth: entry id -> person id."""
    rng = random.Random(seed)
    out: list[tuple[int, str, Any]] = []
    truth: dict[int, int] = {}
    pid = 0
    while len(out) < records:
        p = _person(pid, rng)
        copies = rng.choices((1, 2, 3, 4), weights=(55, 28, 12, 5))[0]
        for _ in range(copies):
            if len(out) >= records:
                break
            style = rng.choice(STYLES)
            rid = len(out) + 1
            out.append((rid, style, _record(p, style, rng)))
            truth[rid] = pid
        pid += 1
    order = list(range(len(out)))
    rng.shuffle(order)  # lists are not sorted by person
    shuffled = [out[i] for i in order]
    return shuffled, truth


def true_pairs(truth: dict[int, int]) -> set[tuple[int, int]]:
    groups: dict[int, list[int]] = {}
    for rid, pid in truth.items():
        groups.setdefault(pid, []).append(rid)
    pairs = set()
    for ids in groups.values():
        ids.sort()
        for i, a in enumerate(ids):
            for b in ids[i + 1 :]:
                pairs.add((a, b))
    return pairs


def scores(found: set[tuple[int, int]], true: set[tuple[int, int]]) -> tuple[float, float, float]:
    tp = len(found & true)
    precision = tp / len(found) if found else 0.0
    recall = tp / len(true) if true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


# ---- the baseline: the same pipeline on raw names -------------------------------------------------------


def baseline(records: Sequence[tuple[int, str, Any]], threads: int, seed: int, upper: float) -> list[tuple[int, int]]:
    """splink on the names as written (lower case), plain Jaro-Winkler, no keys: pairs at ``upper``."""
    import duckdb
    import pandas as pd
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    from factfinder.findings.persons import linkage
    from factfinder.findings.persons.namekeys import record_parts

    rows = []
    prepared = linkage.prepare(records)
    for (rid, _, rec), (_, feat) in zip(records, prepared.iterrows(), strict=True):
        parts = record_parts(rec)
        rows.append(
            {
                "unique_id": rid,
                "given": parts.given.lower() or None,
                "surname": parts.surname.lower() or None,
                "patronymic": parts.patronymic.lower() or None,
                "birth_date": rec.birth_date if rec.birth_date and len(rec.birth_date) == 10 else None,
                "birth_year": feat["birth_year"],
                "sex": rec.sex,
                "residence": rec.residence.lower() or None,
            }
        )
    frame = pd.DataFrame(rows)
    frame["birth_year"] = frame["birth_year"].astype("Int64")
    frame["g1"] = frame["given"].str[:1]
    frame["s3"] = frame["surname"].str[:3]
    con = duckdb.connect(config={"threads": threads})
    con.execute("SET enable_progress_bar = false")
    db_api = DuckDBAPI(connection=con)
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.JaroWinklerAtThresholds("given", [0.92, 0.8]),
            cl.JaroWinklerAtThresholds("surname", [0.92, 0.8]),
            cl.JaroWinklerAtThresholds("patronymic", [0.88]),
            cl.DateOfBirthComparison("birth_date", input_is_string=True),
            cl.ExactMatch("sex"),
            cl.JaroWinklerAtThresholds("residence", [0.9]),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("s3", "g1"),
            block_on("given", "birth_year"),
            block_on("birth_date"),
        ],
    )
    linker = Linker(db_api.register(frame), settings, log_level=None)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given", "surname", "birth_year")], recall=0.6
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1_000_000, seed=seed)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("given", "surname"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("birth_date"))
    df = linker.inference.predict(threshold_match_probability=upper).as_pandas_dataframe()
    return [(int(min(a, b)), int(max(a, b))) for a, b in zip(df["unique_id_l"], df["unique_id_r"], strict=True)]


# ---- main -------------------------------------------------------------------------------------------------


def write_default_model(records: int, seed: int, threads: int) -> Path:
    """Train from splink's starting values on generated entries; write the default model with its provenance."""
    from factfinder.findings.persons import linkage

    data, _ = generate(records, seed)
    settings = linkage.LinkageSettings(threads=threads, train="always", seed=seed, u_max_pairs=5_000_000)
    result = linkage.link(data, settings=settings, start=linkage.untrained_parameters())
    mu = linkage.cap_levels(linkage._mu_table(result.parameters), linkage.CONTRADICTION_M, linkage.DATE_CONTRADICTIONS)
    provenance = (
        f"trained by benchmarks/linkage.py --write-default-model --records {records} --seed {seed}: "
        f"u by random sampling, m by EM from splink's starting values, on {records:,} generated list entries "
        "(invented Kazakh and Russian names in Cyrillic and Latin spellings, with typos and missing fields); "
        f"prior set to {linkage.DEFAULT_PRIOR} (a register of about a thousand entries); the m of the levels that "
        f"contradict a match (linkage.CONTRADICTIONS, as in every run, and linkage.DATE_CONTRADICTIONS) at most "
        f"{linkage.CONTRADICTION_M}"
    )
    params = linkage._parameters(linkage.DEFAULT_PRIOR, mu, {"provenance": provenance})
    linkage.DEFAULT_MODEL_PATH.parent.mkdir(parents=True, exist_ok=True)
    linkage.DEFAULT_MODEL_PATH.write_text(json.dumps(params, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return linkage.DEFAULT_MODEL_PATH


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--records", type=int, default=100_000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--quick", action="store_true", help="10,000 records")
    p.add_argument("--no-baseline", action="store_true")
    p.add_argument("--write-default-model", action="store_true")
    p.add_argument("--json", type=Path)
    p.add_argument("--clean", action="store_true", help="(run_all passes it; nothing is left behind)")
    args = p.parse_args(argv)
    records = 10_000 if args.quick else args.records

    import logging

    logging.getLogger("splink").setLevel(logging.ERROR)
    if args.write_default_model:
        path = write_default_model(args.records if args.records != 100_000 else 30_000, args.seed, args.threads)
        print(f"default model written: {path}")
        return 0

    from factfinder.findings.persons import linkage

    report = Report("linkage")
    print(f"person linkage on {records:,} generated list entries, {args.threads} DuckDB threads:", flush=True)
    t = time.perf_counter()
    data, truth = generate(records, args.seed)
    true = true_pairs(truth)
    print(f"  (generated in {time.perf_counter() - t:.1f} s: {len(set(truth.values())):,} people, "
          f"{len(true):,} true pairs)", flush=True)  # fmt: skip
    settings = linkage.LinkageSettings(threads=args.threads, seed=args.seed)
    t = time.perf_counter()
    result = linkage.link(data, settings=settings)
    took = time.perf_counter() - t
    steps = ", ".join(f"{k} {v:.1f} s" for k, v in result.timing.items() if k != "total")
    fig = report.add(Figure(f"link: {len(result.pairs):,} pairs kept ({steps})", took, records / took, "records/s"))
    linked = {(x.a, x.b) for x in result.linked()}
    prec, rec, f1 = scores(linked, true)
    report.note(f"link pairs >= {settings.upper}: precision {prec:.4f} recall {rec:.4f} F1 {f1:.4f}")
    t = time.perf_counter()
    assignment = linkage.cluster([r[0] for r in data], result.pairs, settings.upper)
    cl_time = time.perf_counter() - t
    cprec, crec, cf1 = scores(linkage.cluster_pairs(assignment), true)
    report.note(
        f"link clusters at {settings.upper} ({cl_time:.1f} s): precision {cprec:.4f} recall {crec:.4f} F1 {cf1:.4f}"
    )
    review = len(result.review())
    report.note(f"review band [{settings.lower}, {settings.upper}): {review:,} pairs")
    report.note(f"prior {result.parameters['probability_two_random_records_match']:.3g}")
    if not args.no_baseline:
        t = time.perf_counter()
        base_pairs = set(baseline(data, args.threads, args.seed, settings.upper))
        base = report.add(Figure("baseline: splink on raw names, plain Jaro-Winkler", time.perf_counter() - t))
        bprec, brec, bf1 = scores(base_pairs, true)
        report.note(f"baseline pairs >= {settings.upper}: precision {bprec:.4f} recall {brec:.4f} F1 {bf1:.4f}")
        report.ratio("link time / baseline time", fig.seconds / base.seconds, 3.0)
        report.goal("F1 gain over the baseline", f1 - bf1, 0.0, "", at_most=False)
    report.write(args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
