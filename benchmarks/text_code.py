"""`text code` throughput on one core: short reports (~300 characters) and long articles (~5,000).

Goal: at least 100 short reports per second on one core. The reports are
generated here from templates in the style of wire reports and ACLED notes
(places, figures, dates and events vary), so the run needs no outside data.

Measured in the same run, on the same texts, in this one process (one core):
- ``coding.code_text`` (everything `factfinder text code` does per document, without the JSON printing);
- ``claims.extract`` (all claims of a document);
- baseline, the floor: razdel's sentence split alone (the one pass over the text every reader needs);
- peer, where installed: dateparser's ``search_dates`` on the same short reports (finding dates only).

    .venv/bin/python benchmarks/text_code.py [--short 10000] [--long 300] [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._common import Figure, Report

PLACES = [
    ("Zhanaozen", "Mangystau"), ("Aktau", "Mangystau"), ("Lahore", "Punjab"), ("Kano", "Kano"),
    ("Mogadishu", "Banadir"), ("Kharkiv", "Kharkivska"), ("Culiacan", "Sinaloa"), ("Mandalay", "Mandalay"),
    ("Peshawar", "Khyber Pakhtunkhwa"), ("Maiduguri", "Borno"), ("Goma", "Nord-Kivu"), ("Basra", "Basra"),
]  # fmt: skip
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]  # fmt: skip
EVENTS = [
    "around {n} oil workers staged a protest in front of the akimat in {town} ({adm}), demanding higher wages",
    "police used tear gas to disperse about {n} protesters in {town} ({adm}); {k} people were detained",
    "unidentified gunmen shot and killed {k} civilians in a village near {town} ({adm})",
    "militants attacked a military checkpoint in {town} ({adm}), killing {k} soldiers",
    "an IED exploded near a market in {town} ({adm}), killing {k} people and injuring {n2} others",
    "rioters set fire to the mayor's office in {town} ({adm}) and threw stones at police",
    "security forces arrested {k} opposition activists in {town} ({adm})",
    "police opened fire on striking workers in {town} ({adm}), killing at least {k} people, reportedly",
]
TAIL = [
    " [size=around {n}]", " According to local media, the situation remained tense.", " [size=no report]",
    " Authorities said an investigation had been opened.", " No fatalities were reported.",
]  # fmt: skip


def short_report(rng: random.Random) -> str:
    town, adm = rng.choice(PLACES)
    day, month, year = rng.randint(1, 28), rng.choice(MONTHS), rng.randint(2011, 2024)
    body = rng.choice(EVENTS).format(town=town, adm=adm, n=rng.choice([50, 200, 2000]), k=rng.randint(1, 20), n2=9)
    text = f"On {day} {month} {year}, {body}." + rng.choice(TAIL).format(n=rng.choice(["200", "dozens"]))
    while len(text) < 280:
        text += rng.choice(TAIL).format(n="several hundred")
    return text


def long_article(rng: random.Random) -> str:
    parts = []
    while sum(len(p) for p in parts) < 5000:
        parts.append(short_report(rng))
    return "\n\n".join(parts)


def _rate(name: str, fn: object, docs: list[str], report: Report, unit: str = "docs/s") -> float:
    published = date(2025, 1, 1)
    start = time.perf_counter()
    for text in docs:
        fn(text, published)  # type: ignore[operator]
    took = time.perf_counter() - start
    report.add(Figure(name, took, len(docs) / took, unit, f"{took / len(docs) * 1000:.2f} ms/doc"))
    return len(docs) / took


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--short", type=int, default=10_000)
    p.add_argument("--long", type=int, default=300)
    p.add_argument("--quick", action="store_true", help="1,000 short reports, 30 long articles")
    p.add_argument("--json", type=Path, help="also write the figures here (for run_all.py)")
    args = p.parse_args(argv)
    if args.quick:
        args.short, args.long = 1000, 30
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as the goal says

    from razdel import sentenize

    from factfinder.text import claims, coding, gazetteer

    rng = random.Random(5)
    shorts = [short_report(rng) for _ in range(args.short)]
    longs = [long_article(rng) for _ in range(args.long)]
    report = Report("text_code")
    print(
        f"text code, one core: {len(shorts):,} short reports "
        f"(mean {sum(map(len, shorts)) / len(shorts):.0f} chars), {len(longs)} long articles "
        f"(mean {sum(map(len, longs)) / len(longs):.0f} chars)"
    )
    start = time.perf_counter()
    gazetteer.Gazetteer.load()
    report.add(Figure("loading the gazetteer and lexicons (once per process)", time.perf_counter() - start))
    coding.code_text(shorts[0], date(2025, 1, 1))
    short_rate = _rate("text code, short reports", coding.code_text, shorts, report)
    _rate("text code, long articles", coding.code_text, longs, report)
    _rate("claims, short reports", claims.extract, shorts[: max(1, len(shorts) // 5)], report)
    _rate("baseline: razdel sentences only, short", lambda t, _d: list(sentenize(t)), shorts, report)
    _rate("baseline: razdel sentences only, long", lambda t, _d: list(sentenize(t)), longs, report)
    try:
        from dateparser.search import search_dates
    except ImportError:
        report.note("dateparser not installed: the peer figure is left out")
    else:
        subset = shorts[: min(200, len(shorts))]
        search_dates(subset[0], languages=["en"])
        _rate("peer: dateparser search_dates (dates only), short", lambda t, _d: search_dates(t, languages=["en"]),
              subset, report)  # fmt: skip
    report.goal("short reports per second, one core", short_rate, 100, "docs/s", at_most=False)
    report.write(args.json)
    return 0 if all(report.goals.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
