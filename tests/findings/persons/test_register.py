"""The person register in a real case: lists imported whole or not at all, custody, sealing, reviews, linkage.

The lists in tests/data/persons are invented (no real person): the same people
spelled in Russian and Kazakh Cyrillic and in Latin letters across three lists.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from factfinder.db.models import PersonProtected, PersonRecordRow
from factfinder.findings.persons import store
from factfinder.findings.persons.model import PersonRecord
from factfinder.vault import audit, custody
from factfinder.vault.case import Case

DATA = Path(__file__).resolve().parent.parent.parent / "data" / "persons"
LISTS = {
    "families": ("Families' association", "family"),
    "morgue": ("City morgue register", "morgue"),
    "ngo": ("Rights NGO", "ngo"),
}


def import_all(case: Case) -> None:
    for name, (source, kind) in LISTS.items():
        store.import_list(
            case,
            (DATA / f"{name}.csv").read_bytes(),
            list_name=name,
            source=source,
            source_type=kind,
            actor="tester",
            original_name=f"{name}.csv",
        )


def truth() -> dict[tuple[str, int], str]:
    raw = json.loads((DATA / "truth.json").read_text(encoding="utf-8"))
    return {(lst, int(row)): key for lst, rows in raw.items() for row, key in rows.items()}


def test_import_records_every_row_with_its_list_item_and_custody_entry(case: Case) -> None:
    data = (DATA / "families.csv").read_bytes()
    before = case.counts()
    result = store.import_list(
        case, data, list_name="families", source="Families", source_type="family", actor="tester"
    )
    assert result.records == 7
    assert result.mapping["full_name"] == "ФИО"
    recs = store.records(case)
    assert [r.position for r in recs] == list(range(1, 8))
    assert recs[0].record.full_name == "Жумабаев Ерлан Сапарович"  # exactly as written
    assert recs[1].record.age_min == 37 and recs[1].record.age_max == 43  # "около 40"
    assert recs[3].record.status == "injured"
    assert {r.item_sha256 for r in recs} == {result.item_sha256}
    assert case.counts()["items"] == before["items"] + 1  # the file itself is evidence in the vault
    with case.engine.connect() as conn:
        entry = custody.decode_entry(case.log.entry(conn, result.log_index))
    assert entry["action"] == custody.PERSONS_RECORDED
    assert entry["records"] == 7 and entry["list_name"] == "families"
    assert entry["records_sha256"] == custody.records_commitment([r.sha256 for r in recs])
    assert audit.verify_case(case).ok


def test_relatives_contacts_are_sealed_never_stored_in_clear(case: Case) -> None:
    store.import_list(
        case,
        (DATA / "families.csv").read_bytes(),
        list_name="families",
        source=None,
        source_type="family",
        actor="tester",
    )
    first = store.records(case)[0]
    assert first.sealed_fields == ("relative_contact",)
    assert "relative_contact" not in json.dumps(first.record.descriptive(), ensure_ascii=False)
    with case.engine.connect() as conn:
        bodies = " ".join(conn.scalars(select(PersonRecordRow.body)).all())
        ct = conn.scalars(select(PersonProtected.ciphertext)).one()
    assert "0001" not in bodies and b"0001" not in ct
    assert ct.startswith(b"age-encryption.org/v1")
    # The list file itself holds the contacts: the vault keeps it whole, but sealed, never in clear.
    for path in case.path.rglob("*"):
        if path.is_file():
            assert b"700 000 0001" not in path.read_bytes(), path
    item = case.resolve(first.item_sha256 or "")
    assert case.blobs.path(item.sha256).read_bytes().startswith(b"age-encryption.org/v1")


def test_list_files_are_not_read_as_texts_about_events(case: Case) -> None:
    from factfinder.text import store as text_store

    result = store.import_list(
        case, (DATA / "ngo.csv").read_bytes(), list_name="ngo", source=None, source_type="ngo", actor="tester"
    )
    text_store.read_items(case)
    assert text_store.list_claims(case, limit=100) == []
    assert result.item_sha256 not in text_store.unread(case, [result.item_sha256 or ""])


def test_a_bad_row_stops_the_import_and_records_nothing(case: Case, tmp_path: Path) -> None:
    bad = "ФИО,Возраст,Статус\nИванов Иван,34,погиб\nПетров Пётр,сорок,погиб\n".encode()
    size = case.counts()
    with pytest.raises(store.PersonsError, match=r"row 3: Возраст: 'сорок' is not an age"):
        store.import_list(case, bad, list_name="x", source=None, source_type="other", actor="tester")
    assert store.records(case) == [] and case.counts() == size
    for data, message in [
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"", "empty"),
        ("Возраст,Пол\n34,м\n".encode(), "no name column"),
        ('ФИО,Статус\n"Иванов,погиб\n'.encode(), "no rows|not well-formed"),
        ("ФИО,Статус\nИванов,расстрелян\n".encode(), "not one of killed"),
    ]:
        with pytest.raises(store.PersonsError, match=message):
            store.import_list(case, data, list_name="x", source=None, source_type="other", actor="tester")
    assert store.records(case) == [] and case.counts() == size
    with pytest.raises(store.PersonsError, match="source type"):
        store.import_list(case, bad, list_name="x", source=None, source_type="rumour", actor="tester")


def test_the_same_file_twice_into_one_list_is_refused(case: Case) -> None:
    data = (DATA / "ngo.csv").read_bytes()
    store.import_list(case, data, list_name="ngo", source=None, source_type="ngo", actor="tester")
    with pytest.raises(store.PersonsError, match="already imported"):
        store.import_list(case, data, list_name="ngo", source=None, source_type="ngo", actor="tester")
    with pytest.raises(store.PersonsError, match="is a ngo list"):
        store.add_record(case, PersonRecord(full_name="Someone"), list_name="ngo", source_type="family", actor="tester")
    assert len(store.records(case)) == 7


def test_verify_notices_a_record_edited_or_dropped_behind_the_vaults_back(case: Case) -> None:
    import_all(case)
    assert audit.verify_case(case).ok
    with case.engine.begin() as conn:
        body = conn.scalars(select(PersonRecordRow.body).where(PersonRecordRow.id == 2)).one()
        conn.execute(
            update(PersonRecordRow).where(PersonRecordRow.id == 2).values(body=body.replace("Нурланова", "Нурланов"))
        )
    report = audit.verify_case(case)
    assert not report.ok
    assert any("person record 2" in p.subject for p in report.problems)
    with case.engine.begin() as conn:
        conn.execute(update(PersonRecordRow).where(PersonRecordRow.id == 2).values(body=body))
        conn.execute(text("DELETE FROM person_protected"))
        conn.execute(text("DELETE FROM person_records WHERE id = 9"))
    report = audit.verify_case(case)
    assert not report.ok
    subjects = " ".join(p.subject for p in report.problems)
    assert "batch 1" in subjects and "batch 2" in subjects


def test_a_correction_supersedes_the_record_and_both_stay_in_the_case(case: Case) -> None:
    import_all(case)
    old = store.records(case)[2]
    new = store.add_record(
        case,
        PersonRecord(full_name="Туребеков Бахыт Оралович", age_min=28, age_max=28, event_place="Жанаозен"),
        list_name="families",
        source_type="family",
        actor="tester",
        supersedes=old.sha256[:10],
        reason="the family gave his exact age",
    )
    assert new.supersedes == old.sha256
    current = store.records(case)
    assert old.id not in {r.id for r in current} and new.id in {r.id for r in current}
    everything = store.records(case, include_superseded=True)
    assert {r.id: r.superseded_by for r in everything}[old.id] == new.sha256
    assert audit.verify_case(case).ok


def test_reviews_are_custody_entries_and_override_the_model(case: Case) -> None:
    import_all(case)
    recs = store.records(case)
    a, b = recs[0], recs[-1]  # Жумабаев in the families list, Kenzhebayev in the NGO's: not the same
    rid = store.review(case, a.sha256[:8], b.sha256[:8], "same", actor="tester", reason="test decision")
    reg = store.register(case)
    person = reg.person(a.sha256[:12])
    assert person is not None and b.id in {r.id for r in person.records}
    store.review(case, a.sha256[:8], b.sha256[:8], "different", actor="tester")
    person = store.register(case).person(a.sha256[:12])
    assert person is not None and b.id not in {r.id for r in person.records}
    with pytest.raises(store.PersonsError, match="one of same, different"):
        store.review(case, a.sha256[:8], b.sha256[:8], "maybe", actor="tester")
    with pytest.raises(store.PersonsError, match="itself"):
        store.review(case, a.sha256[:8], a.sha256[:9], "same", actor="tester")
    assert rid >= 1 and audit.verify_case(case).ok


def test_register_links_the_same_people_across_scripts_and_lists(case: Case) -> None:
    import_all(case)
    reg = store.register(case)
    want = truth()
    got: dict[str, set[str]] = {}
    for p in reg.persons:
        keys = {want[(r.list_name, r.position)] for r in p.records}
        assert len(keys) == 1, f"{p.ref} joins different people: {keys}"
        got.setdefault(keys.pop(), set()).add(p.ref)
    split = {k: v for k, v in got.items() if len(v) > 1}
    assert not split, f"one person split into several: {split}"
    assert len(reg.persons) == len(set(want.values())) == 9
    by_key = {want[(p.records[0].list_name, p.records[0].position)]: p for p in reg.persons}
    assert by_key["zhumabaev"].corroboration == "documentary"  # the morgue recorded him
    assert by_key["kenzhebaev"].corroboration == "single-source"
    assert by_key["kudaibergenova"].corroboration == "multiple-sources"
    assert by_key["kudaibergenova"].statuses == ["detained"]


def test_cli_import_link_list_export_and_compare(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    case_dir = tmp_path / "case"
    cli("init", case_dir, "--title", "Register")
    for name, (source, kind) in LISTS.items():
        _, stdout, _ = cli(
            "persons", "import", case_dir, DATA / f"{name}.csv", "--list", name, "--source", source,
            "--source-type", kind,
        )  # fmt: skip
        assert "records imported" in stdout
    _, stdout, _ = cli("persons", "link", case_dir)
    assert "9 persons" in stdout and "prior" in stdout
    _, stdout, _ = cli("persons", "list", case_dir, "--json")
    assert len(json.loads(stdout)["persons"]) == 9
    out_dir = tmp_path / "export"
    cli("persons", "export", case_dir, out_dir)
    register_csv = (out_dir / "register.csv").read_text(encoding="utf-8")
    assert "Жумабаев" not in register_csv and "Zhumabayev" not in register_csv  # redacted by default
    with (out_dir / "overlap.csv").open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["families", "morgue", "ngo"]
    assert len(rows) - 1 == 7  # killed, on at least one list: not the injured man nor the detained woman
    cli("persons", "export", case_dir, tmp_path / "full", "--unredacted")
    assert "Жумабаев" in (tmp_path / "full" / "register.csv").read_text(encoding="utf-8")
    _, _, stderr = cli("persons", "import", case_dir, DATA / "README.md", "--list", "x", code=2)
    assert "error" in stderr
    _, stdout, _ = cli("persons", "compare", "Жұмабаев Ерлан Сапарұлы", "Yerlan Zhumabayev", "--json")
    assert json.loads(stdout)["probability"] > 0.5
    _, stdout, _ = cli("verify", case_dir)
    assert stdout.startswith("intact")


def test_people_named_in_texts_are_proposed_and_become_records_only_when_accepted(case: Case) -> None:
    from factfinder.findings.persons import proposals
    from factfinder.text import store as text_store

    text = (
        "Yerlan Zhumabayev, 34, was shot dead by police in Zhanaozen on 16 December 2011. "
        "Nobody said Aidos Nurtayev was killed."  # no event claim for him: nothing proposed
    )
    case.add_bytes(text.encode(), actor="tester", original_name="article.txt", collected_at_claimed="2011-12-20")
    text_store.read_items(case)
    found = proposals.proposals(case)
    assert [(p.record.display_name(), p.record.status) for p in found] == [("Yerlan Zhumabayev", "killed")]
    assert found[0].record.event_date_start == "2011-12-16" and found[0].record.event_place == "Zhanaozen"
    assert store.records(case) == []  # a proposal is not a record
    made = proposals.accept(case, found[0].claim_id, actor="tester")
    assert made.claim_id == found[0].claim_id and made.origin == "claim" and made.list_name == proposals.CLAIMS_LIST
    assert proposals.proposals(case) == []
    with pytest.raises(store.PersonsError, match="proposes no person"):
        proposals.accept(case, found[0].claim_id, actor="tester")
    import_all(case)  # the families' list has him as Жумабаев Ерлан Сапарович: the register links the two
    person = store.register(case).person(made.sha256[:12])
    assert person is not None and {"named in texts", "families", "morgue", "ngo"} <= set(person.lists)
    assert audit.verify_case(case).ok
