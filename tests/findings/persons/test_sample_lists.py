"""The demo's four invented victim lists (samples/persons) against the truth their generator wrote.

Russian and Kazakh Cyrillic, two Latin spellings, "SURNAME Given" with no patronymic, ages against birth
dates: the register must find the same 106 people the generator made, with no false merge.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from factfinder.findings.persons.linkage import cluster, link
from factfinder.findings.persons.lists import parse_csv

SAMPLES = Path(__file__).resolve().parents[3] / "samples" / "persons"
LISTS = ("families", "morgue", "ngo", "official")


def test_the_sample_lists_link_into_the_people_that_made_them() -> None:
    truth = json.loads((SAMPLES / "truth.json").read_text(encoding="utf-8"))
    records, person = [], {}
    for name in LISTS:
        parsed = parse_csv((SAMPLES / f"{name}.csv").read_bytes())
        assert len(parsed.records) == len(truth[name])
        for row, record in enumerate(parsed.records):
            rid = len(records) + 1
            records.append((rid, name, record))
            person[rid] = truth[name][row]
    result = link(records)
    clusters = cluster(list(person), result.pairs, result.settings.upper)
    tp = fp = fn = 0
    for a, b in itertools.combinations(person, 2):
        same, linked = person[a] == person[b], clusters[a] == clusters[b]
        tp += same and linked
        fp += linked and not same
        fn += same and not linked
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    print(f"sample lists: {len(set(clusters.values()))} persons (truth {len(set(person.values()))}), "
          f"precision {precision:.3f}, recall {recall:.3f}")  # fmt: skip
    assert fp == 0, "two different people merged"
    assert recall >= 0.97
    assert abs(len(set(clusters.values())) - len(set(person.values()))) <= 3
