"""The findings pages and API: incidents, counts, timeline, map, report, and the analysts' decisions on incidents.

One case for the module, built from the findings fixture (``tests/data/findings``: fourteen
invented reports about Zhanaozen, Aktau and Shetpe in December 2011, from officials, the
press, an NGO, a hospital and a witness, each with its publisher and date) read by the real
text step, plus two photos: one published, with GPS in its EXIF, one unpublished. Some
reports are published and some not, so an observer's findings (made from published items,
redacted) differ from an analyst's, and every page and API answer is checked for what must
never reach an observer: who decided and why, the witness's name, where a photo was taken,
and that unpublished items exist. Decisions go through the pages and the API as an analyst
sends them; each must be a custody entry, change what the pages show, and outlast a restart.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from factfinder import accounts
from factfinder.findings import store as findings_store
from factfinder.media import scan
from factfinder.permissions import Role
from factfinder.text import store as text_store
from factfinder.vault import audit, custody
from factfinder.vault.case import Case
from factfinder.web import i18n
from factfinder.web.app import create_app
from tests.conftest import ROOT
from tests.web.conftest import TEAM_SETTINGS, USERS, Member, Team
from tests.web.test_media_pages import patterned_jpeg

FIXTURE = ROOT / "tests" / "data" / "findings"
PUBLISHED = {  # what observers may see: the officials' toll, the press, the NGO, and the witness from Aktau
    "01-prosecutor-general-2011-12-16.txt",
    "03-steppe-wire-2011-12-17.txt",
    "06-interior-ministry-2011-12-18.txt",
    "09-witness-aktau-2011-12-20.txt",
    "11-civil-liberties-bureau-2011-12-21.txt",
    "12-prosecutor-general-ru-2011-12-22.txt",
}
WITNESS_SOURCE = "witness statement (collected by field team A)"  # the witness item's publisher, as received
GPS_TEXTS = ("43.3417, 52.8600", "43.341667", "43.341666", "52.860000", '"gps"')  # where the public photo was taken
SECRET_REASON = "Placeholder reason naming a source"


@dataclass
class World:
    team: Team
    sha: dict[str, str]
    photo: str
    """Published, GPS in its EXIF, attached to the Zhanaozen shooting."""
    hidden_photo: str
    """Not published, attached to the Zhanaozen shooting too: observers must not learn it exists."""

    @property
    def case(self) -> Case:
        return self.team.case

    def member(self, role: Role) -> Member:
        return self.team.members[role]


@pytest.fixture(scope="module")
def world(team: Team) -> World:
    case = team.case
    manifest = json.loads((FIXTURE / "manifest.json").read_text(encoding="utf-8"))
    sha = {}
    for entry in manifest:
        data = (FIXTURE / entry["file"]).read_bytes()
        recorded = case.add_bytes(
            data, actor="tester", channel="usb", source=entry["source"], collected_at_claimed=entry["published"]
        )
        sha[entry["file"]] = recorded.sha256
    photo = case.add_bytes(patterned_jpeg(7, gps=True), actor="tester", channel="usb").sha256
    hidden = case.add_bytes(patterned_jpeg(8), actor="tester", channel="usb").sha256
    scan.scan_case(case, workers=1, digests=[photo, hidden])
    for name in PUBLISHED:
        case.publish(sha[name], actor="tester")
    case.publish(photo, actor="tester")
    report = text_store.read_items(case)
    assert report.read == len(manifest) and not report.errors, report
    shooting = zhanaozen_shooting(findings_store.findings(case).incidents)
    for item in (photo, hidden):
        findings_store.attach(case, shooting.ref, item, actor=USERS[Role.ANALYST], reason=SECRET_REASON)
    return World(team, sha, photo, hidden)


def zhanaozen_shooting(incidents: list[Any]) -> Any:
    """The incident of 16 December in Zhanaozen: the one with the most reports."""
    found = [i for i in incidents if i.place == "Zhanaozen" and str(i.earliest) == "2011-12-16"]
    assert found, [i.label for i in incidents]
    return max(found, key=lambda i: len(i.records))


def api(who: Member, url: str, **params: Any) -> Any:
    r = who.client.get(url, params=params)
    assert r.status_code == 200, (url, r.status_code, r.text[:300])
    return r.json()


def incidents_of(who: Member) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = api(who, "/api/v1/incidents")["incidents"]
    return found


def shooting_ref(who: Member) -> str:
    found = [i for i in incidents_of(who) if i["place"] == "Zhanaozen" and i["earliest"] == "2011-12-16"]
    assert found
    return str(max(found, key=lambda i: i["independent_sources"])["ref"])


def form(who: Member, **fields: Any) -> dict[str, Any]:
    return {"csrf_token": who.csrf, **fields}


def decided_entries(case: Case) -> list[dict[str, Any]]:
    with case.engine.connect() as conn:
        size = case.log.size(conn)
        entries = [custody.decode_entry(e) for _, e in case.log.entries(conn, 0, size)]
    return [e for e in entries if e.get("action") == custody.INCIDENT_DECIDED]


def log_size(case: Case) -> int:
    with case.engine.connect() as conn:
        return case.log.size(conn)


def report_ids(page: str) -> set[int]:
    """Claim ids of the reports an incident page lists."""
    return {int(i) for i in re.findall(r'<tr class="record[^"]*" id="report-(\d+)"', page)}


# -- reading ------------------------------------------------------------------------------------------


def test_the_incidents_page_lists_each_incident_with_when_where_type_toll_and_corroboration(world: World) -> None:
    analyst = world.member(Role.ANALYST)
    page = analyst.client.get("/incidents").text
    listed = incidents_of(analyst)
    assert len(listed) >= 4
    for inc in listed:
        assert f'href="/incidents/{inc["ref"]}"' in page
    shooting = next(i for i in listed if i["ref"] == shooting_ref(analyst))
    row = re.search(rf'<tr class="incident[^"]*">\s*<td><a href="/incidents/{shooting["ref"]}">.*?</tr>', page, re.S)
    assert row, page
    text = row.group(0)
    assert "2011-12-16" in text and "Zhanaozen, Mangystau, KZ (the town itself)" in text
    assert "also called:" in text  # sources disagree on what to call it: shown, not hidden
    assert f'<td class="num fatalities">{shooting["fatalities"]}</td>' in text and shooting["fatalities"] >= 10
    assert "confirmed by documentary or forensic evidence" in text
    aktau = next(i for i in listed if i["place"] == "Aktau")
    assert aktau["earliest"] < aktau["latest"]
    assert f"{aktau['earliest']} – {aktau['latest']} (within a week or a few days)" in page  # an interval, not a day

    def refs(**params: str) -> set[str]:
        r = analyst.client.get("/incidents", params=params)
        assert r.status_code == 200, r.text
        return set(re.findall(r'<td><a href="/incidents/(I-[0-9a-f]{10})"><code>', r.text))

    assert refs() == {i["ref"] for i in listed}
    assert refs(q="Shetpe") == {i["ref"] for i in listed if i["place"] == "Shetpe"} != set()
    single = {i["ref"] for i in listed if i["corroboration"]["level"] == "single"}
    assert refs(level="single") == single
    assert {i["ref"] for i in api(analyst, "/api/v1/incidents", level="single")["incidents"]} == single
    riots = {i["ref"] for i in listed if "Riots" in i["types"]}
    assert riots and refs(event_type="Riots") == riots
    assert refs(event_type="", level="", q="") == refs()  # the form's "any" is no filter
    assert analyst.client.get("/incidents", params={"level": "certain"}).status_code == 400
    assert analyst.client.get("/api/v1/incidents", params={"level": "certain"}).status_code == 422


def test_an_incident_page_shows_its_counts_reports_and_decision_forms(world: World) -> None:
    analyst = world.member(Role.ANALYST)
    ref = shooting_ref(analyst)
    page = analyst.client.get(f"/incidents/{ref}").text
    doc = api(analyst, f"/api/v1/incidents/{ref}")
    killed = doc["counts"]["killed"]
    assert [f["text"] for f in killed["official_history"]] == ["10", "11", "16"]  # the toll as officials moved it
    assert killed["conservative"] == 16 and "an admission is a floor" in killed["conservative_reason"]
    assert killed["independent_low"] is not None and killed["disputes"]
    section = re.search(rf'<section class="count-table" id="{ref}-killed".*?</section>', page, re.S)
    assert section, page
    table = section.group(0)
    assert "10 (2011-12-16, Prosecutor General&#39;s Office) → 11 (2011-12-18, Interior Ministry) → 16" in table
    assert '<strong class="conservative">16</strong>' in table
    for dispute in killed["disputes"]:
        assert dispute.replace("'", "&#39;") in table
    for f in killed["figures"]:
        assert f'id="{ref}-killed-claim-{f["claim_id"]}"' in table
        assert f'href="/items/{f["item_sha256"]}#claim-{f["claim_id"]}"' in table
    repeats = [f for f in killed["figures"] if f["repeats"] is not None]
    assert repeats and all(f"repeats claim #{f['repeats']}" in table for f in repeats)  # the reprints count once
    assert "independent media" in table and "official" in table and "погибли 16 человек" in table
    assert report_ids(page) == {r["claim_id"] for r in doc["records"]}
    for r in doc["records"]:
        assert f'<input type="checkbox" name="claim" value="{r["claim_id"]}"' in page
    assert "Violence against civilians" in page and doc["corroboration"]["reasons"][0] in page.replace("&#39;", "'")
    for action in ("merge", "split", "attach", "detach"):
        assert f'action="/incidents/{ref}/{action}"' in page
    others = [i["ref"] for i in incidents_of(analyst) if i["ref"] != ref]
    assert all(f'<option value="{o}">' in page for o in others)
    assert page.count(f'name="csrf_token" value="{analyst.csrf}"') >= 5
    # the analysts' attachments: who and why, for those who see evidence
    assert world.photo[:16] in page and world.hidden_photo[:16] in page
    decisions = re.search(r'<table class="decisions">.*?</table>', page, re.S)
    assert decisions and USERS[Role.ANALYST] in decisions.group(0) and SECRET_REASON in decisions.group(0)
    assert [d["actor"] for d in doc["decisions"]] == [USERS[Role.ANALYST]] * 2
    assert {a["item_sha256"] for a in doc["attached"]} == {world.photo, world.hidden_photo}
    assert analyst.client.get(f"/incidents/{ref}", params={"lang": "ru"}).text.count("Подсчёты") >= 1


def test_counts_timeline_and_map_pages(world: World) -> None:
    analyst = world.member(Role.ANALYST)
    counts = analyst.client.get("/counts").text
    case_counts = api(analyst, "/api/v1/counts")["counts"]
    assert {"killed", "injured", "detained"} <= set(case_counts)
    for what in case_counts:
        assert f'id="case-{what}"' in counts
    assert "Counts across the case" in counts and "64" in counts

    timeline = analyst.client.get("/timeline").text
    svg = re.search(r'<svg class="timeline".*?</svg>', timeline, re.S)
    assert svg
    listed = incidents_of(analyst)
    for inc in listed:
        assert f'href="/incidents/{inc["ref"]}"' in svg.group(0)
    intervals = sum(not (i["earliest"] == i["latest"] and i["time_precision"] <= 1) for i in listed)
    assert svg.group(0).count('<rect class="interval"') == intervals
    assert '<circle class="day"' in svg.group(0)
    assert f'href="/items/{world.photo}"' in svg.group(0)  # the photo says it was taken on the 16th: a key item
    assert "style=" not in timeline and "<script" not in timeline

    page = analyst.client.get("/map").text
    drawn = re.search(r"<svg [^>]*factfinder-map.*?</svg>", page, re.S)
    assert drawn, page
    assert 'data-name="Kazakhstan"' in drawn.group(0)
    located = [i for i in listed if i["latitude"] is not None]
    assert drawn.group(0).count('class="marker marker-incident"') == len(located)
    for inc in located:
        assert f'<a href="/incidents/{inc["ref"]}">' in drawn.group(0)
    assert drawn.group(0).count('class="marker marker-item"') == 1  # the photo's GPS, for an analyst
    assert f'<a href="/items/{world.photo}">' in drawn.group(0)
    assert GPS_TEXTS[0] in page
    assert "http://" not in page and "https://" not in page  # nothing from elsewhere, not even a namespace


def test_pages_carry_no_inline_script_or_style(world: World) -> None:
    """The app's CSP forbids inline code and style: a page that had any would break in a browser."""
    analyst = world.member(Role.ANALYST)
    ref = shooting_ref(analyst)
    for url in ("/incidents", f"/incidents/{ref}", "/counts", "/timeline", "/map"):
        r = analyst.client.get(url)
        assert "unsafe-inline" not in r.headers["content-security-policy"], url
        assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", r.text), url
        assert not re.search(r"\son[a-z]+\s*=", r.text), url
        assert not re.search(r"\sstyle\s*=", r.text), url


def test_the_report_is_a_self_contained_document_and_redacted_on_request(world: World) -> None:
    analyst = world.member(Role.ANALYST)
    r = analyst.client.get("/report")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "script-src" not in csp
    assert r.headers["content-disposition"].startswith("inline")
    for inc in incidents_of(analyst):
        assert inc["ref"] in r.text
    assert "Redacted for publication" not in r.text and WITNESS_SOURCE in r.text
    redacted = analyst.client.get("/report", params={"redacted": 1}).text
    assert "Redacted for publication" in redacted and WITNESS_SOURCE not in redacted
    assert analyst.client.get("/report", params={"redacted": 7}).status_code == 422


def test_the_pdf_is_a_download_and_observers_get_only_the_redacted_one(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from factfinder.reports import report

    asked: list[bool] = []
    real = report.write_pdf

    def spy(findings: Any, path: Path, *, redacted: bool = False) -> Path:
        asked.append(redacted)
        if len(asked) == 1:  # lay out one for real (seconds); the rest only say what they were asked
            return real(findings, path, redacted=redacted)
        Path(path).write_bytes(b"%PDF-1.7 stand-in")
        return Path(path)

    monkeypatch.setattr(report, "write_pdf", spy)
    observer, analyst = world.member(Role.OBSERVER), world.member(Role.ANALYST)
    r = observer.client.get("/report.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-") and len(r.content) > 10_000
    assert r.headers["content-disposition"] == 'attachment; filename="case-report-redacted.pdf"'
    assert observer.client.get("/report.pdf", params={"redacted": 0}).status_code == 200
    assert analyst.client.get("/report.pdf").status_code == 200
    assert analyst.client.get("/report.pdf", params={"redacted": 1}).status_code == 200
    assert asked == [True, True, False, True]


# -- deciding ------------------------------------------------------------------------------------------


def test_merge_split_attach_and_detach_through_the_web_are_logged_and_outlast_a_restart(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    analyst, case = world.member(Role.ANALYST), world.case
    listed = incidents_of(analyst)
    into = shooting_ref(analyst)
    other = next(i["ref"] for i in listed if i["place"] == "Shetpe")
    moved = report_ids(analyst.client.get(f"/incidents/{other}").text)
    kept = report_ids(analyst.client.get(f"/incidents/{into}").text)
    assert moved and kept and not moved & kept
    before = len(decided_entries(case))

    reason = "Placeholder: the same shooting, misdated by a day"
    r = analyst.client.post(
        f"/incidents/{into}/merge", data=form(analyst, other=other, reason=reason), follow_redirects=False
    )
    assert r.status_code == 303, r.text[:500]
    assert re.fullmatch(rf"/incidents/{into}\?decided=\d+#decisions", r.headers["location"])
    page = analyst.client.get(r.headers["location"]).text
    [entry] = decided_entries(case)[before:]
    assert entry["decision"] == "merge" and entry["actor"] == USERS[Role.ANALYST]
    assert entry["reason_sha256"] == hashlib.sha256(reason.encode()).hexdigest()
    assert f"Recorded: merge (custody log entry {entry['seq']})." in page
    assert report_ids(page) == kept | moved
    assert reason in page
    gone = analyst.client.get(f"/incidents/{other}", follow_redirects=False)  # its old name leads to the merged one
    assert gone.status_code == 308 and gone.headers["location"] == f"/incidents/{into}"
    assert other not in {i["ref"] for i in incidents_of(analyst)}

    # a restart: the case opened again from its folder, a new app, nothing remembered in memory
    monkeypatch.setattr(findings_store, "_CACHE", {})
    reopened = Case.open(case.path)
    try:
        account = analyst.account
        assert account is not None
        session = accounts.start_session(reopened.engine, account)
        client = TestClient(create_app(reopened, TEAM_SETTINGS))
        client.cookies.set("ff_session", session.session_token)
        again = client.get(f"/incidents/{into}")
        assert again.status_code == 200 and report_ids(again.text) == kept | moved
        assert client.get(f"/incidents/{other}", follow_redirects=False).headers["location"] == f"/incidents/{into}"
    finally:
        reopened.close()

    r = analyst.client.post(
        f"/incidents/{into}/split",
        data=form(analyst, claim=sorted(moved), reason="Placeholder: Shetpe is another town"),
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:500]
    page = analyst.client.get(r.headers["location"]).text
    assert report_ids(page) == kept
    assert f"The checked reports are now incident {other}." in page  # its reports give it its old name back
    assert report_ids(analyst.client.get(f"/incidents/{other}").text) == moved

    extra = case.add_bytes(patterned_jpeg(9), actor="tester", channel="usb").sha256
    r = analyst.client.post(
        f"/incidents/{other}/attach", data=form(analyst, item=extra[:12], reason="Placeholder"), follow_redirects=False
    )
    assert r.status_code == 303, r.text[:500]
    page = analyst.client.get(r.headers["location"]).text
    assert f'<a href="/items/{extra}"><code>{extra[:16]}</code></a>' in page
    assert f'name="item" value="{extra}"' in page  # its detach form
    r = analyst.client.post(f"/incidents/{other}/detach", data=form(analyst, item=extra), follow_redirects=False)
    assert r.status_code == 303
    page = analyst.client.get(r.headers["location"]).text
    assert extra[:16] not in page and "No items attached." in page
    entries = decided_entries(case)[before:]
    assert [e["decision"] for e in entries] == ["merge", "split", "attach", "detach"]
    assert entries[3]["reason_sha256"] is None
    assert audit.verify_case(case).ok


def test_the_api_decides_with_a_token(world: World) -> None:
    token, case = world.team.bearer(Role.INVESTIGATOR), world.case
    listed = incidents_of(token)
    into, other = listed[0]["ref"], listed[-1]["ref"]
    moved = [r["claim_id"] for r in api(token, f"/api/v1/incidents/{other}")["records"]]
    r = token.client.post(f"/api/v1/incidents/{into}/merge", json={"other": other, "reason": "Placeholder"})
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["action"] == "merge" and out["incident"] == into and out["new_incident"] is None
    assert out["log_index"] == decided_entries(case)[-1]["seq"]
    merged = api(token, f"/api/v1/incidents/{into}")
    assert set(moved) <= {r["claim_id"] for r in merged["records"]}
    last = merged["decisions"][-1]
    assert (last["id"], last["action"], last["log_index"], last["applied"]) == (
        out["decision_id"],
        "merge",
        out["log_index"],
        True,
    )
    assert last["actor"] == USERS[Role.INVESTIGATOR] and last["reason"] == "Placeholder" and last["body"]
    r = token.client.post(f"/api/v1/incidents/{into}/split", json={"claims": moved})
    assert r.status_code == 201, r.text
    assert r.json()["new_incident"] == other and r.json()["incident"] == into
    assert token.client.get(f"/api/v1/incidents/{other}").status_code == 200
    r = token.client.post(f"/api/v1/incidents/{other}/attach", json={"item": world.photo, "cluster": True})
    assert r.status_code == 201, r.text
    r = token.client.post(f"/api/v1/incidents/{other}/detach", json={"item": world.photo[:10]})
    assert r.status_code == 201, r.text
    assert [e["decision"] for e in decided_entries(case)[-4:]] == ["merge", "split", "attach", "detach"]
    assert audit.verify_case(case).ok


def test_what_cannot_be_decided_is_refused_with_a_message_and_nothing_is_logged(world: World) -> None:
    analyst, case = world.member(Role.ANALYST), world.case
    ref = shooting_ref(analyst)
    records = report_ids(analyst.client.get(f"/incidents/{ref}").text)
    size = log_size(case)
    r = analyst.client.get("/incidents/I-0000000000")
    assert r.status_code == 404 and "no incident" in r.text
    assert analyst.client.get("/api/v1/incidents/I-0000000000").json()["detail"].startswith("no incident")
    bad: list[tuple[str, dict[str, Any], str]] = [
        ("merge", {"other": "I-0000000000"}, "no incident"),
        ("merge", {"other": ref}, "cannot be merged with itself"),
        ("merge", {}, "no incident"),
        ("split", {}, "check the reports"),
        ("split", {"claim": sorted(records)}, "at least one report"),
        ("split", {"claim": ["abc"]}, "claim number"),
        ("split", {"claim": ["2147483000"]}, "are not reports of incident"),
        ("attach", {"item": "zz"}, "at least 4 hex digits"),
        ("attach", {"item": "0000000000"}, "no item"),
        ("detach", {"item": world.sha["01-prosecutor-general-2011-12-16.txt"]}, "is not attached"),
    ]
    for action, fields, message in bad:
        r = analyst.client.post(f"/incidents/{ref}/{action}", data=form(analyst, **fields), follow_redirects=False)
        assert r.status_code == 400, (action, fields, r.status_code)
        assert "The decision was not recorded" in r.text and message in r.text, (action, fields, r.text[-2000:])
        assert "<h1>" in r.text and report_ids(r.text) == records  # the incident page again, with the message
    r = analyst.client.post("/incidents/I-0000000000/merge", data=form(analyst, other=ref))
    assert r.status_code == 404 and "no incident" in r.text
    token = world.team.bearer(Role.ANALYST).client
    r = token.post(f"/api/v1/incidents/{ref}/merge", json={"other": ref})
    assert r.status_code == 400 and "itself" in r.json()["detail"]
    assert token.post("/api/v1/incidents/I-0000000000/merge", json={"other": ref}).status_code == 404
    assert token.post(f"/api/v1/incidents/{ref}/split", json={"claims": []}).status_code == 422
    assert token.post(f"/api/v1/incidents/{ref}/attach", json={}).status_code == 422
    r = token.post(f"/api/v1/incidents/{ref}/merge", json={"other": "I-1", "reason": "x" * 4001})
    assert r.status_code == 422
    assert log_size(case) == size


def test_decisions_need_the_sessions_csrf_token(world: World) -> None:
    analyst, case = world.member(Role.ANALYST), world.case
    ref = shooting_ref(analyst)
    other = next(i["ref"] for i in incidents_of(analyst) if i["ref"] != ref)
    size = log_size(case)
    stranger = world.team.session(Role.OBSERVER).csrf
    fields = {"merge": {"other": other}, "split": {"claim": "1"}, "attach": {"item": world.photo}}
    fields["detach"] = {"item": world.photo}
    bodies = {"merge": {"other": other}, "split": {"claims": [1]}, "attach": {"item": world.photo}}
    bodies["detach"] = {"item": world.photo}
    for action in ("merge", "split", "attach", "detach"):
        for token in (None, "", "wrong", stranger):
            data = fields[action] | ({"csrf_token": token} if token is not None else {})
            assert analyst.client.post(f"/incidents/{ref}/{action}", data=data).status_code == 403
            headers = {"x-csrf-token": token} if token is not None else {}
            r = analyst.client.post(f"/api/v1/incidents/{ref}/{action}", json=bodies[action], headers=headers)
            assert r.status_code == 403, (action, token, r.text)
    assert log_size(case) == size


# -- observers ------------------------------------------------------------------------------------------


def observer_texts(world: World) -> dict[str, str]:
    """Everything an observer can read of the findings, by URL."""
    observer = world.member(Role.OBSERVER)
    token = world.team.bearer(Role.OBSERVER).client
    urls = ["/incidents", "/counts", "/timeline", "/map", "/report", "/report?redacted=0"]
    urls += ["/api/v1/incidents", "/api/v1/counts"]
    refs = [i["ref"] for i in incidents_of(observer)]
    urls += [f"/incidents/{ref}" for ref in refs] + [f"/api/v1/incidents/{ref}" for ref in refs]
    out = {}
    for url in urls:
        for name, client in (("session", observer.client), ("token", token)):
            r = client.get(url)
            assert r.status_code == 200, (url, r.status_code)
            out[f"{name} {url}"] = r.text
    return out


def test_observers_see_the_published_findings_redacted_and_nothing_that_identifies(world: World) -> None:
    observer, analyst = world.member(Role.OBSERVER), world.member(Role.ANALYST)
    seen = incidents_of(observer)
    full = incidents_of(analyst)
    assert 0 < len(seen) < len(full)  # the single-source morgue report and the hospital are not published
    unpublished = [sha for name, sha in world.sha.items() if name not in PUBLISHED] + [world.hidden_photo]
    texts = observer_texts(world)
    secrets = [
        SECRET_REASON,
        "Placeholder",
        USERS[Role.ANALYST],
        USERS[Role.INVESTIGATOR],
        WITNESS_SOURCE,
        "field team",
        *GPS_TEXTS,
        *(sha[:12] for sha in unpublished),
    ]
    for where, text in texts.items():
        for secret in secrets:
            assert secret not in text, f"{secret!r} in {where}"
        assert 'action="/incidents/' not in text, where  # no decision forms
    assert any("Witness A" in text for text in texts.values())  # the witness, by pseudonym
    assert all("Redacted for publication" in texts[f"session {u}"] for u in ("/report", "/report?redacted=0"))
    map_page = texts["session /map"]
    assert "marker-item" not in map_page and "marker-incident" in map_page
    ref = shooting_ref(observer)
    page = texts[f"session /incidents/{ref}"]
    assert world.photo[:16] in page  # the published photo, attached, is evidence observers may check
    doc = json.loads(texts[f"token /api/v1/incidents/{ref}"])
    assert [a["item_sha256"] for a in doc["attached"]] == [world.photo]
    assert all(d["actor"] is None and d["reason"] is None and d["body"] is None for d in doc["decisions"])
    assert "1 item(s) attached" in " ".join(doc["corroboration"]["reasons"])  # the unpublished one not counted
    hidden = {i["ref"] for i in full} - {i["ref"] for i in seen}
    assert hidden and all(observer.client.get(f"/incidents/{ref}").status_code == 404 for ref in hidden)
    assert "Made from published items only" in texts["session /incidents"]
    # how much the case holds (the custody log's size) is not for observers, as on /case
    assert json.loads(texts["token /api/v1/incidents"])["checkpoint"] is None
    assert json.loads(texts["token /api/v1/counts"])["checkpoint"] is None
    assert "custody log checkpoint" not in texts["session /incidents"]
    assert api(analyst, "/api/v1/incidents")["checkpoint"]["size"] == log_size(world.case)


def test_observers_cannot_decide_and_analysts_can(world: World) -> None:
    observer = world.member(Role.OBSERVER)
    ref = shooting_ref(observer)
    size = log_size(world.case)
    for action, data in (("merge", {"other": ref}), ("attach", {"item": world.photo})):
        assert observer.client.post(f"/incidents/{ref}/{action}", data=form(observer, **data)).status_code == 403
        token = world.team.bearer(Role.OBSERVER).client
        assert token.post(f"/api/v1/incidents/{ref}/{action}", json=data).status_code == 403
    assert log_size(world.case) == size


def test_findings_pages_speak_russian_and_kazakh(world: World) -> None:
    assert set(i18n.FINDINGS_STRINGS) == set(i18n.LANGUAGES)
    assert all(set(s) == set(i18n.FINDINGS_STRINGS["en"]) for s in i18n.FINDINGS_STRINGS.values())
    for code in ("ru", "kk"):
        english = i18n.FINDINGS_STRINGS["en"]
        same = [k for k, v in i18n.FINDINGS_STRINGS[code].items() if v == english[k] and k != "lang"]
        assert set(same) <= {"nav_map", "map_title"}, (code, same)  # "Карта" is no English word; the rest differ
    analyst = world.member(Role.ANALYST).client
    ru = analyst.get("/incidents", params={"lang": "ru"}).text
    assert "<h1>Инциденты</h1>" in ru and 'lang="ru"' in ru and "подтверждено документами" in ru
    kk = analyst.get("/timeline", headers={"accept-language": "kk-KZ,kk;q=0.9"}).text
    assert "<h1>Хронология</h1>" in kk and 'lang="kk"' in kk and "күні белгілі" in kk
    assert ">Оқиғалар</a>" in kk  # the nav link, in the same language
