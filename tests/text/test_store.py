"""Claims in a real case: read once per version, reviewed as custody entries, checked by verify."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, update

from factfinder.db import engine as dbengine
from factfinder.db.models import TextClaim, TextReading
from factfinder.text import store
from factfinder.vault import audit
from factfinder.vault.case import Case
from factfinder.vault.custody import CLAIM_REVIEWED, decode_entry
from tests.conftest import Cli

REPORT = (
    "Police opened fire on striking oil workers in Zhanaozen on 16 December, killing at least 14 people. "
    "According to the prosecutor's office, about 70 people were detained."
)


def _add_report(case: Case, text: str = REPORT, published: str = "2011-12-20") -> str:
    rec = case.add_bytes(text.encode(), actor="tester", original_name="report.txt", collected_at_claimed=published)
    return rec.sha256


def _entries(case: Case, action: str) -> list[dict[str, object]]:
    with case.engine.connect() as conn:
        size = case.log.head(conn).size
        return [e for e in (decode_entry(case.log.entry(conn, i)) for i in range(size)) if e["action"] == action]


def test_text_items_are_read_once_per_version(case: Case) -> None:
    sha = _add_report(case)
    first = store.read_items(case)
    assert first.read == 1 and first.claims > 0 and not first.errors
    assert store.read_items(case).read == 0  # already read by this version
    found = store.list_claims(case, item=case.resolve(sha))
    kinds = {c.kind for c in found}
    assert {"count", "place", "date", "event"} <= kinds
    killed = [c.body for c in found if c.kind == "count" and c.body["what"] == "killed"]
    assert killed and killed[0]["low"] == 14 and killed[0]["qualifier"] == "at_least"
    assert REPORT[killed[0]["start"] : killed[0]["end"]] == killed[0]["quote"]
    with case.engine.connect() as conn:
        reading = conn.execute(select(TextReading)).one()
    assert reading.published == "2011-12-20" and reading.lang == "en"
    dates = [c.body for c in found if c.kind == "date"]
    assert dates[0]["earliest"] == "2011-12-16"  # read against the claimed publication date


def test_reviews_are_custody_entries_and_corrections_are_new_claims(case: Case) -> None:
    _add_report(case)
    store.read_items(case)
    killed = next(c for c in store.list_claims(case, kind="count") if c.body["what"] == "killed")
    place = next(iter(store.list_claims(case, kind="place")))
    store.review(case, place.id, "confirmed", actor="analyst-1")
    rid = store.review(
        case, killed.id, "corrected", actor="analyst-2", reason="later toll", correction={"low": 16, "high": 16}
    )
    assert rid > 0
    now = {c.id: c for c in store.list_claims(case)}
    assert now[place.id].decision == "confirmed"
    assert now[killed.id].decision == "corrected" and now[killed.id].body == killed.body  # original untouched
    corrections = [c for c in now.values() if c.corrects_id == killed.id]
    assert len(corrections) == 1
    assert corrections[0].author == "analyst-2" and corrections[0].body["low"] == 16
    assert corrections[0].body["extractor"] == "analyst"
    logged = _entries(case, CLAIM_REVIEWED)
    assert [e["decision"] for e in logged] == ["confirmed", "corrected"]
    assert logged[1]["actor"] == "analyst-2" and logged[1]["correction_sha256"]
    assert "later toll" not in json.dumps(logged)  # only the reason's digest is in the log
    assert audit.verify_case(case).ok
    before = len(store.list_claims(case))
    assert store.read_items(case, again=True).read == 1  # a new reading keeps reviewed claims
    assert len(store.list_claims(case)) == before  # and does not add them a second time
    assert store.get_claim(case, killed.id).decision == "corrected"
    assert audit.verify_case(case).ok


def test_a_reviewed_claim_edited_in_the_database_fails_verification(case: Case) -> None:
    _add_report(case)
    store.read_items(case)
    claim = store.list_claims(case, kind="count")[0]
    store.review(case, claim.id, "confirmed", actor="analyst-1")
    forged = {**claim.body, "low": 140}
    with dbengine.write_transaction(case.engine) as conn:
        conn.execute(update(TextClaim).where(TextClaim.id == claim.id).values(body=json.dumps(forged)))
    report = audit.verify_case(case)
    assert not report.ok
    assert any("claim_sha256" in p.detail for p in report.problems)


@pytest.mark.parametrize(
    ("decision", "correction", "message"),
    [
        ("approved", None, "decision 'approved'"),
        ("corrected", None, "a correction needs"),
        ("confirmed", {"low": 3}, "a correction needs"),
        ("corrected", {"start": 0}, "cannot correct start"),
    ],
)
def test_bad_reviews_are_refused_and_record_nothing(
    case: Case, decision: str, correction: dict[str, int] | None, message: str
) -> None:
    _add_report(case)
    store.read_items(case)
    claim = store.list_claims(case, kind="count")[0]
    with pytest.raises(store.ClaimError, match=message):
        store.review(case, claim.id, decision, actor="a", correction=correction)
    assert _entries(case, CLAIM_REVIEWED) == []
    with pytest.raises(store.ClaimError, match="no claim"):
        store.review(case, 10**6, "confirmed", actor="a")


def test_binary_and_empty_items_are_not_read_as_text(case: Case) -> None:
    case.add_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64), actor="tester")
    case.add_bytes(b"   \n", actor="tester")
    report = store.read_items(case)
    assert report.claims == 0 and not report.errors


def test_cli_reads_lists_and_reviews(cli: Cli, tmp_path: object) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path)) / "c"
    cli("init", folder, "--title", "T")
    report = Path(str(tmp_path)) / "report.txt"
    report.write_text(REPORT, encoding="utf-8")
    cli("add", folder, report)
    _, listed, _ = cli("text", "list", folder, "--kind", "count")
    rows = [json.loads(line) for line in listed.splitlines()]
    assert rows and all(r["kind"] == "count" for r in rows)
    _, said, _ = cli("text", "review", folder, str(rows[0]["id"]), "confirmed", "--reason", "seen the video")
    assert "confirmed" in said
    _, listed, _ = cli("text", "list", folder, "--decision", "confirmed")
    assert [json.loads(line)["id"] for line in listed.splitlines()] == [rows[0]["id"]]
    _, _, errors = cli("text", "review", folder, str(rows[0]["id"]), "maybe", code=2)
    assert "decision 'maybe'" in errors


def test_a_reviewed_claim_moved_to_another_item_fails_verification(case: Case) -> None:
    _add_report(case)
    other = _add_report(case, "Police detained 12 students in Aktau yesterday.")
    store.read_items(case)
    claim = store.list_claims(case, kind="count")[0]
    store.review(case, claim.id, "confirmed", actor="analyst-1")
    assert audit.verify_case(case).ok
    with dbengine.write_transaction(case.engine) as conn:
        conn.execute(update(TextClaim).where(TextClaim.id == claim.id).values(item_id=case.resolve(other).id))
    report = audit.verify_case(case)
    assert any("moved to another item" in p.detail for p in report.problems)
