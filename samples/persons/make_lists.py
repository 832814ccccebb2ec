"""Make the demo's invented victim lists (run once; the CSV files it writes are committed).

Every person here is invented: names are drawn at random from common Kazakh given names
and surnames, so no row describes a real person. Four lists record the same invented
event with different coverage, as real lists do: a families' association (Russian
Cyrillic, full names with patronymics), the city morgue (Kazakh Cyrillic, birth dates),
a rights NGO (Latin transliterations, ages) and the authorities (Russian, fewest names).
Run: python samples/persons/make_lists.py
"""

from __future__ import annotations

import csv
import json
import random
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
EVENT = date(2011, 12, 16)
MALE = [
    ("Ерлан", "Ерлан", ["Yerlan", "Erlan"]),
    ("Бахыт", "Бақыт", ["Bakhyt", "Bakyt"]),
    ("Нурлан", "Нұрлан", ["Nurlan"]),
    ("Данияр", "Данияр", ["Daniyar", "Daniiar"]),
    ("Марат", "Марат", ["Marat"]),
    ("Асылбек", "Асылбек", ["Asylbek", "Asilbek"]),
    ("Талгат", "Талғат", ["Talgat", "Talghat"]),
    ("Жанибек", "Жәнібек", ["Zhanibek", "Janibek"]),
    ("Серик", "Серік", ["Serik"]),
    ("Болат", "Болат", ["Bolat"]),
    ("Ержан", "Ержан", ["Yerzhan", "Erzhan"]),
    ("Куаныш", "Қуаныш", ["Kuanysh", "Quanysh"]),
    ("Айдос", "Айдос", ["Aidos", "Aydos"]),
    ("Габит", "Ғабит", ["Gabit", "Ghabit"]),
    ("Арман", "Арман", ["Arman"]),
    ("Азамат", "Азамат", ["Azamat"]),
    ("Бауыржан", "Бауыржан", ["Bauyrzhan", "Baurzhan"]),
    ("Дархан", "Дархан", ["Darkhan"]),
    ("Ерболат", "Ерболат", ["Yerbolat", "Erbolat"]),
    ("Жандос", "Жандос", ["Zhandos"]),
    ("Кайрат", "Қайрат", ["Kairat", "Qairat"]),
    ("Мурат", "Мұрат", ["Murat"]),
    ("Нуржан", "Нұржан", ["Nurzhan"]),
    ("Олжас", "Олжас", ["Olzhas"]),
    ("Рустем", "Рустем", ["Rustem"]),
    ("Самат", "Самат", ["Samat"]),
    ("Улан", "Ұлан", ["Ulan"]),
    ("Канат", "Қанат", ["Kanat", "Qanat"]),
    ("Мейрам", "Мейрам", ["Meiram", "Meyram"]),
    ("Сакен", "Сәкен", ["Saken"]),
    ("Темирлан", "Темірлан", ["Temirlan"]),
    ("Шынгыс", "Шыңғыс", ["Shyngys", "Shyngys"]),
    ("Алмас", "Алмас", ["Almas"]),
    ("Бекзат", "Бекзат", ["Bekzat"]),
    ("Ерасыл", "Ерасыл", ["Yerasyl", "Erasyl"]),
    ("Женис", "Жеңіс", ["Zhenis"]),
]
FEMALE = [
    ("Айгуль", "Айгүл", ["Aigul", "Aygul"]),
    ("Гульнара", "Гүлнара", ["Gulnara"]),
    ("Жанар", "Жанар", ["Zhanar", "Janar"]),
    ("Сауле", "Сәуле", ["Saule"]),
    ("Динара", "Динара", ["Dinara"]),
    ("Асель", "Әсел", ["Assel", "Asel"]),
    ("Айжан", "Айжан", ["Aizhan"]),
    ("Мадина", "Мәдина", ["Madina"]),
    ("Жулдыз", "Жұлдыз", ["Zhuldyz"]),
    ("Назира", "Назира", ["Nazira"]),
]
SURNAMES = [
    ("Жумабаев", "Жұмабаев", ["Zhumabaev", "Zhumabayev"]),
    ("Нурланов", "Нұрланов", ["Nurlanov"]),
    ("Туребеков", "Төребеков", ["Turebekov", "Torebekov"]),
    ("Сейтказиев", "Сейітқазиев", ["Seitkaziev", "Seitkaziyev"]),
    ("Ахметов", "Ахметов", ["Akhmetov", "Ahmetov"]),
    ("Абдрахманов", "Әбдірахманов", ["Abdrakhmanov", "Abdrahmanov"]),
    ("Кудайбергенов", "Құдайбергенов", ["Kudaibergenov", "Kudaybergenov"]),
    ("Оспанов", "Оспанов", ["Ospanov"]),
    ("Кенжебаев", "Кенжебаев", ["Kenzhebaev", "Kenzhebayev"]),
    ("Сатыбалдиев", "Сатыбалдиев", ["Satybaldiev", "Satybaldiyev"]),
    ("Есенов", "Есенов", ["Yesenov", "Esenov"]),
    ("Омаров", "Омаров", ["Omarov"]),
    ("Тулегенов", "Төлегенов", ["Tulegenov", "Tolegenov"]),
    ("Байжанов", "Байжанов", ["Baizhanov", "Bayzhanov"]),
    ("Мукашев", "Мұқашев", ["Mukashev", "Mukhashev"]),
    ("Иманбаев", "Иманбаев", ["Imanbaev", "Imanbayev"]),
    ("Калиев", "Қалиев", ["Kaliev", "Kaliyev"]),
    ("Ермеков", "Ермеков", ["Yermekov", "Ermekov"]),
    ("Досмухамбетов", "Досмұхамбетов", ["Dosmukhambetov"]),
    ("Утепов", "Өтепов", ["Utepov", "Otepov"]),
    ("Абенов", "Әбенов", ["Abenov"]),
    ("Бекмуханов", "Бекмұханов", ["Bekmukhanov"]),
    ("Габдуллин", "Ғабдуллин", ["Gabdullin"]),
    ("Джаксыбеков", "Жақсыбеков", ["Dzhaksybekov", "Zhaksybekov"]),
    ("Ибраев", "Ибраев", ["Ibraev", "Ibrayev"]),
    ("Камалов", "Камалов", ["Kamalov"]),
    ("Лесбеков", "Лесбеков", ["Lesbekov"]),
    ("Мырзахметов", "Мырзахметов", ["Myrzakhmetov"]),
    ("Нургалиев", "Нұрғалиев", ["Nurgaliev", "Nurgaliyev"]),
    ("Рахимов", "Рахымов", ["Rakhimov", "Rakhymov"]),
    ("Сагинтаев", "Сағынтаев", ["Sagintaev", "Sagyntayev"]),
    ("Тажибаев", "Тәжібаев", ["Tazhibaev", "Tazhibayev"]),
    ("Хасенов", "Хасенов", ["Khasenov", "Hasenov"]),
    ("Шайхин", "Шайхин", ["Shaikhin"]),
    ("Ержанов", "Ержанов", ["Yerzhanov", "Erzhanov"]),
    ("Жакупов", "Жақыпов", ["Zhakupov", "Zhakypov"]),
    ("Куанышев", "Қуанышев", ["Kuanyshev"]),
    ("Ахметжанов", "Ахметжанов", ["Akhmetzhanov"]),
    ("Бисенов", "Бисенов", ["Bisenov"]),
    ("Дуйсенов", "Дүйсенов", ["Duisenov"]),
    ("Есимов", "Есімов", ["Yesimov", "Esimov"]),
    ("Карибаев", "Кәрібаев", ["Karibaev"]),
    ("Муканов", "Мұқанов", ["Mukanov"]),
    ("Нурпеисов", "Нұрпейісов", ["Nurpeisov"]),
    ("Оразбаев", "Оразбаев", ["Orazbaev", "Orazbayev"]),
    ("Сапаров", "Сапаров", ["Saparov"]),
    ("Турсунов", "Тұрсынов", ["Tursunov", "Tursynov"]),
]
# Capture probability of each list for the two kinds of victim: people shot in the square (seen by
# many) and people who died later or elsewhere (known mostly to their families): heterogeneous capture.
LISTS = {"families": (0.65, 0.55), "morgue": (0.6, 0.25), "ngo": (0.55, 0.3), "official": (0.45, 0.1)}


def patronymic_ru(father: str, female: bool) -> str:
    stem = father[:-1] + "ь" if father.endswith("й") else father
    return stem + ("овна" if female else "ович")


def main() -> None:
    rng = random.Random(2011)
    people = []
    seen = set()
    while len(people) < 120:
        female = rng.random() < 0.12
        given = rng.choice(FEMALE if female else MALE)
        surname = rng.choice(SURNAMES)
        if (given[0], surname[0]) in seen:
            continue
        seen.add((given[0], surname[0]))
        father = rng.choice(MALE)
        age = rng.randint(17, 62)
        birth = EVENT - timedelta(days=365 * age + rng.randint(0, 364))
        roll = rng.random()
        status = "killed" if roll < 0.55 else "injured" if roll < 0.8 else "detained"
        day = EVENT if rng.random() < 0.8 else EVENT + timedelta(days=1)
        place = ("Жанаозен", "Жаңаөзен", "Zhanaozen") if rng.random() < 0.85 else ("Шетпе", "Шетпе", "Shetpe")
        people.append((female, given, surname, father, age, birth, status, day, place, rng.random() < 0.6))
    rows: dict[str, list[list[str]]] = {name: [] for name in LISTS}
    for pid, (female, given, surname, father, age, birth, status, day, place, seen_by_many) in enumerate(people):
        fem = "а" if female else ""
        for name, (p_many, p_few) in LISTS.items():
            before = len(rows[name])
            p = p_many if seen_by_many else p_few
            if name == "morgue" and status != "killed":
                continue
            if rng.random() >= p:
                continue
            if name == "families":
                age_text = str(age) if rng.random() < 0.7 else f"около {age // 5 * 5}"
                rows[name].append(
                    [
                        f"{surname[0]}{fem} {given[0]} {patronymic_ru(father[0], female)}",
                        age_text,
                        "ж" if female else "м",
                        {
                            "killed": "погиб" + ("ла" if female else ""),
                            "injured": "ранен" + fem,
                            "detained": "задержан" + fem,
                        }[status],
                        day.isoformat(),
                        place[0],
                    ]
                )
            elif name == "morgue":
                rows[name].append(
                    [
                        surname[1] + fem,
                        given[1],
                        father[1] + ("қызы" if female else "ұлы"),
                        birth.strftime("%d.%m.%Y"),
                        "әйел" if female else "ер",
                        day.strftime("%d.%m.%Y"),
                    ]
                )
            elif name == "ngo":
                rows[name].append(
                    [
                        rng.choice(given[2]),
                        rng.choice(surname[2]) + ("a" if female else ""),
                        "female" if female else "male",
                        str(age + rng.choice((0, 0, 0, 1, -1))),
                        status,
                        day.isoformat(),
                        place[2],
                    ]
                )
            else:
                if status == "detained":
                    continue
                rows[name].append(
                    [f"{surname[0].upper()}{fem.upper()} {given[0]}", {"killed": "погиб", "injured": "ранен"}[status]]
                )
            if len(rows[name]) > before:
                rows[name][-1].append(str(pid))
    headers = {
        "families": ["ФИО", "Возраст", "Пол", "Статус", "Дата", "Место"],
        "morgue": ["Тегі", "Аты", "Әкесінің аты", "Туған күні", "Жынысы", "Дата"],
        "ngo": ["given_name", "surname", "sex", "age", "status", "event_date", "event_place"],
        "official": ["ФИО", "Статус"],
    }
    # Who is who, for checking the register against the truth: per list, the person of each row.
    for body in rows.values():
        rng.shuffle(body)
    truth = {name: [int(row.pop()) for row in body] for name, body in rows.items()}
    (HERE / "truth.json").write_text(json.dumps(truth) + "\n", encoding="utf-8")
    for name, body in rows.items():
        with (HERE / f"{name}.csv").open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, delimiter=";" if name == "morgue" else ",")
            w.writerow(headers[name])
            w.writerows(body)
    killed = sum(1 for p in people if p[6] == "killed")

    print(
        f"{len(people)} invented people, {killed} killed; rows: " + ", ".join(f"{k} {len(v)}" for k, v in rows.items())
    )


if __name__ == "__main__":
    main()
