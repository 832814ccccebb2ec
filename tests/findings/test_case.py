"""The findings of a real case made from the multi-source fixture: incidents, reconciled counts, decisions."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import update

from factfinder.db import engine as dbengine
from factfinder.db.models import IncidentDecision
from factfinder.findings import store
from factfinder.findings.model import CountTable, Findings, Incident
from factfinder.vault import audit
from factfinder.vault.case import Case
from factfinder.vault.custody import INCIDENT_DECIDED, decode_entry
from tests.conftest import Cli
from tests.findings.conftest import add_fixture


def _entries(case: Case, action: str) -> list[dict[str, object]]:
    with case.engine.connect() as conn:
        size = case.log.head(conn).size
        return [e for e in (decode_entry(case.log.entry(conn, i)) for i in range(size)) if e["action"] == action]


def _at(found: Findings, place: str, day: date) -> Incident:
    hits = [i for i in found.incidents if i.place == place and i.earliest <= day <= i.latest]
    assert len(hits) == 1, [(i.ref, i.label) for i in found.incidents]
    return hits[0]


def _values(table: CountTable) -> list[tuple[str, str, str]]:
    return [(f.text, f.source.name, f.reported_on.isoformat()) for f in table.figures]


def test_the_killed_table_shows_every_figure_the_official_history_and_the_conservative_figure(
    fixture_case: Case,
) -> None:
    killed = store.findings(fixture_case).counts["killed"]
    shown = _values(killed)
    for figure, source in [
        ("10", "Prosecutor General's Office"),
        ("11", "Interior Ministry"),
        ("16", "Prosecutor General's Office"),
        ("at least 14", "Steppe Wire"),
        ("at least 15", "Kazakhstan Bureau for Civil Liberties"),
        ("64", "Witnesses"),
    ]:
        assert any(f == figure and s == source for f, s, _ in shown), (figure, source, shown)
    assert [(f.text, f.reported_on.isoformat()) for f in killed.official_history] == [
        ("10", "2011-12-16"),
        ("11", "2011-12-18"),
        ("16", "2011-12-22"),
    ]
    assert [f.reported_on for f in killed.figures] == sorted(f.reported_on for f in killed.figures)
    # ACLED's most conservative figure, but never below the authorities' own admission.
    assert killed.conservative == 16
    assert "admission" in killed.conservative_reason and "at least 14" in killed.conservative_reason
    assert (killed.independent_low, killed.independent_high) == (14, 64)
    assert any("64" in d and "16" in d for d in killed.disputes)
    assert any("10" in d and "11" in d for d in killed.disputes)  # the officials changed their own figure


def test_sources_that_repeat_another_count_once(fixture_case: Case) -> None:
    killed = store.findings(fixture_case).counts["killed"]
    by_group: dict[int, set[str]] = {}
    for f in killed.figures:
        by_group.setdefault(f.group, set()).add(f.source.name)
    # Caspian Daily reprinted Steppe Wire's report, Aral Radio relayed it: one source, not three.
    fourteens = [f for f in killed.figures if f.low == 14]
    assert len(fourteens) >= 3 and len({f.group for f in fourteens}) == 1
    assert sum(1 for f in fourteens if f.repeats is None) == 1
    # The Russian repost of the prosecutor's statement is the prosecutor's figure again.
    sixteens = [f for f in killed.figures if f.low == 16]
    assert len(sixteens) == 2 and len({f.group for f in sixteens}) == 1
    # Independent: the wire's residents, the witnesses at the morgue, the bureau.
    assert killed.independent_sources == 3
    found = store.findings(fixture_case)
    crowd = found.counts["crowd"]
    assert sorted({f.low for f in crowd.figures}) == [2000, 3000]  # every crowd figure of the case is listed
    # The 3,000 in Zhanaozen of the wire and of its reprint are one; the 2,000 in Aktau is another incident's,
    # listed for the case but not compared with the Zhanaozen crowd.
    assert crowd.independent_sources == 1 and (crowd.independent_low, crowd.independent_high) == (3000, 3000)
    assert "Aktau" in crowd.conservative_reason
    aktau = _at(found, "Aktau", date(2011, 12, 18))
    assert [f.low for f in aktau.counts["crowd"].figures] == [2000]


def test_injured_detained_and_their_sources(fixture_case: Case) -> None:
    counts = store.findings(fixture_case).counts
    injured = {(f.text, f.source.type) for f in counts["injured"].figures}
    assert {("64", "hospital"), ("86", "official"), ("about 100", "media")} <= injured
    assert counts["injured"].conservative == 86
    assert (counts["injured"].independent_low, counts["injured"].independent_high) == (64, 100)
    detained = counts["detained"]
    assert [f.text for f in detained.figures] == ["about 70"] and detained.conservative == 70


def test_reports_group_into_incidents_by_place_time_and_kind(fixture_case: Case) -> None:
    found = store.findings(fixture_case)
    shooting = _at(found, "Zhanaozen", date(2011, 12, 16))
    assert (shooting.earliest, shooting.latest, shooting.time_precision) == (date(2011, 12, 16),) * 2 + (1,)
    assert shooting.counts["killed"].conservative == 16
    assert len({r.source.origin for r in shooting.records}) >= 5
    # Sources call it different things; the disagreement is shown, not allowed to split the incident.
    assert len(shooting.types) >= 2 and shooting.event_type == max(shooting.types, key=lambda t: shooting.types[t])
    assert shooting.corroboration.level == "confirmed"  # the hospital's figures
    assert any("hospital" in r for r in shooting.corroboration.reasons)
    assert any("denied by Interior Ministry" in r for r in shooting.corroboration.reasons)
    protest = _at(found, "Aktau", date(2011, 12, 18))
    assert (protest.earliest, protest.latest) == (date(2011, 12, 17), date(2011, 12, 20))
    assert protest.time_precision == 2 and protest.event_type == "Protests"
    assert protest.corroboration.level == "multiple"
    shetpe = _at(found, "Shetpe", date(2011, 12, 17))
    assert shetpe.counts["killed"].figures[0].low == 1
    assert all(i.ref.startswith("I-") and len(i.ref) == 12 for i in found.incidents)
    assert len({i.ref for i in found.incidents}) == len(found.incidents)
    # Every figure a table shows is tied to an item the report lists as evidence.
    for inc in found.incidents:
        for t in inc.counts.values():
            assert all(f.item_id in found.items for f in t.figures)
    assert found.checkpoint_size > 0 and len(found.checkpoint_root) == 64


def test_incidents_keep_their_names_as_new_reports_arrive(case: Case) -> None:
    first = add_fixture(case, {"01-prosecutor-general-2011-12-16.txt", "09-witness-aktau-2011-12-20.txt"})
    assert first
    before = {i.place: i.ref for i in store.findings(case).incidents}
    add_fixture(case, {"03-steppe-wire-2011-12-17.txt", "11-civil-liberties-bureau-2011-12-21.txt"})
    after = {i.place: i.ref for i in store.findings(case).incidents}
    assert after["Zhanaozen"] == before["Zhanaozen"] and after["Aktau"] == before["Aktau"]


def _reopen(case: Case) -> Case:
    """The same case opened afresh, as after a restart (nothing kept in memory)."""
    store._CACHE.clear()
    again = Case.open(case.path)
    return again


def test_merge_and_split_are_custody_entries_and_survive_a_restart(fixture_case: Case) -> None:
    case = fixture_case
    found = store.findings(case)
    shooting = _at(found, "Zhanaozen", date(2011, 12, 16))
    later = next(i for i in found.incidents if i.place == "Zhanaozen" and i.earliest == date(2011, 12, 20))
    n = len(found.incidents)
    store.merge(case, shooting.ref, later.ref, actor="analyst-1", reason="the same events, reported late")
    moved = next(r for r in shooting.records if r.source.name == "Caspian Daily")
    store.split(case, shooting.ref, [moved.claim_id], actor="analyst-2", reason="describes the night before")
    case.close()

    again = _reopen(case)
    try:
        found = store.findings(again)
        assert len(found.incidents) == n  # one merged away, one split off
        merged = found.incident(shooting.ref)
        assert merged is not None and later.ref not in {i.ref for i in found.incidents}
        assert found.incident(later.ref) is merged  # its old name finds the incident it went into
        assert store.resolve_ref(again, later.ref).ref == merged.ref
        assert any(r.earliest == date(2011, 12, 20) for r in merged.records)
        assert moved.claim_id not in {r.claim_id for r in merged.records}
        new = next(i for i in found.incidents if moved.claim_id in {r.claim_id for r in i.records})
        assert new.ref != merged.ref and len(new.decisions) == 1
        assert new.decisions[0] in merged.decisions  # the split shaped the incident it left, too
        assert [d.action for d in found.decisions] == ["merge", "split"] and all(d.applied for d in found.decisions)
        entries = _entries(again, INCIDENT_DECIDED)
        assert [(e["decision"], e["actor"]) for e in entries] == [("merge", "analyst-1"), ("split", "analyst-2")]
        assert all("reason" not in e and e["reason_sha256"] for e in entries)  # the reason's digest, not its words
        assert audit.verify_case(again).ok
    finally:
        again.close()


def test_attached_evidence_confirms_an_incident(fixture_case: Case) -> None:
    case = fixture_case
    found = store.findings(case)
    protest = _at(found, "Aktau", date(2011, 12, 18))
    photo = case.add_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, actor="tester", original_name="square.png")
    store.attach(case, protest.ref, photo.sha256[:16], actor="analyst-1", reason="shows the banners")
    protest = _at(store.findings(case), "Aktau", date(2011, 12, 18))
    assert [a.item_sha256 for a in protest.attached] == [photo.sha256]
    assert protest.corroboration.level == "confirmed"
    store.detach(case, protest.ref, photo.sha256, actor="analyst-1")
    protest = _at(store.findings(case), "Aktau", date(2011, 12, 18))
    assert protest.attached == [] and protest.corroboration.level == "multiple"
    assert audit.verify_case(case).ok


def test_bad_decisions_are_refused_and_record_nothing(fixture_case: Case) -> None:
    case = fixture_case
    found = store.findings(case)
    ref = found.incidents[0].ref
    with case.engine.connect() as conn:
        size = case.log.head(conn).size
    with pytest.raises(store.FindingsError, match="no incident"):
        store.merge(case, ref, "I-0000000000", actor="a")
    with pytest.raises(store.FindingsError, match="itself"):
        store.merge(case, ref, ref, actor="a")
    with pytest.raises(store.FindingsError, match="not reports"):
        store.split(case, ref, [found.incidents[0].records[0].claim_id, 10**9], actor="a")
    only = next(i for i in found.incidents if len({r.digest for r in i.records}) == 1)
    with pytest.raises(store.FindingsError, match="at least one"):
        store.split(case, only.ref, [only.records[0].claim_id], actor="a")
    with pytest.raises(store.FindingsError, match="not attached"):
        store.detach(case, ref, found.incidents[0].records[0].item_sha256, actor="a")
    with pytest.raises(store.FindingsError, match="longer than"):
        store.merge(case, ref, found.incidents[1].ref, actor="a", reason="x" * 5000)
    with case.engine.connect() as conn:
        assert case.log.head(conn).size == size


def test_a_decision_edited_in_the_database_fails_verification(fixture_case: Case) -> None:
    case = fixture_case
    found = store.findings(case)
    store.merge(case, found.incidents[0].ref, found.incidents[1].ref, actor="analyst-1", reason="same")
    with dbengine.write_transaction(case.engine) as conn:
        conn.execute(update(IncidentDecision).values(reason="edited afterwards"))
    report = audit.verify_case(case)
    assert not report.ok
    assert any("incident decision" in p.subject and "reason_sha256" in p.detail for p in report.problems)


def test_rejected_claims_leave_the_findings(fixture_case: Case) -> None:
    from factfinder.text import store as text_store

    case = fixture_case
    killed = store.findings(case).counts["killed"]
    witnesses = next(f for f in killed.figures if f.low == 64)
    text_store.review(case, witnesses.claim_id, "rejected", actor="analyst-1", reason="no such morgue count")
    killed = store.findings(case).counts["killed"]
    assert 64 not in {f.low for f in killed.figures}
    assert killed.independent_high == 15


def test_cli_lists_incidents_counts_and_decides(cli: Cli, tmp_path: Path) -> None:
    case_dir = tmp_path / "case"
    cli("init", case_dir, "--title", "fixture")
    with Case.open(case_dir) as case:
        add_fixture(case)
        refs = [i.ref for i in store.findings(case).incidents]
    _, listing, _ = cli("incidents", "list", case_dir)
    assert all(ref in listing for ref in refs) and "Zhanaozen" in listing
    _, counts, _ = cli("counts", case_dir)
    assert "official history: 10 (2011-12-16) -> 11 (2011-12-18) -> 16 (2011-12-22)" in counts
    _, shown, _ = cli("incidents", "show", case_dir, refs[0])
    assert refs[0] in shown and "corroboration" in shown
    _, merged, _ = cli("incidents", "merge", case_dir, refs[0], refs[1], "--reason", "same event")
    assert "merged" in merged
    _, _, error = cli("incidents", "merge", case_dir, refs[0], "I-nothere", code=2)
    assert "no incident" in error


def test_findings_for_observers_are_made_from_published_items_alone(fixture_case: Case) -> None:
    case = fixture_case
    found = store.findings(case)
    protest = _at(found, "Aktau", date(2011, 12, 18))
    secret = case.add_bytes(b"\x89PNG\r\n\x1a\n" + b"\x01" * 64, actor="tester", original_name="unpublished.png")
    store.attach(case, protest.ref, secret.sha256, actor="analyst-1", reason="names a source")
    chosen = sorted({r.item_sha256 for r in protest.records})[:2]
    for sha in chosen:
        case.publish(sha, actor="investigator-1")
    public = store.findings(case, published_only=True)
    assert set(public.items) <= {case.resolve(sha).id for sha in chosen}
    cited = {r.item_sha256 for i in public.incidents for r in i.records}
    assert cited and cited <= set(chosen)
    assert all(not i.attached and not i.decisions for i in public.incidents)
    assert public.decisions == []
    assert secret.sha256 not in repr(public)
