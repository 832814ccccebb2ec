"""The claims pages: an item's text with its claims highlighted, /claims across the case, the analysts' reviews.

One case for the module, holding the founding sentence of the Zhanaozen case as a
published report, a second report left unpublished (observers must not learn it
exists), and a published text full of markup. Claims are read by the real text
step (``factfinder.text.store.read_items``), exactly as ``factfinder process`` does.
Reviews go through the pages and the API as an analyst would send them; each must
leave the extractor's claim untouched, add a custody entry, and keep the case verifiable.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import pytest
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import func, select, update

from factfinder.db.models import ClaimReview, TextClaim
from factfinder.permissions import Role
from factfinder.text import store
from factfinder.vault import audit, custody
from factfinder.vault.case import Case
from factfinder.web import i18n, views
from factfinder.web.app import HERE
from tests.web.conftest import USERS, Member, Team

ZHANAOZEN = "Police opened fire on protesters in Zhanaozen on 16 December 2011, killing at least 14 people."
UNPUBLISHED = "Police detained 40 people in Aktau on 17 December 2011. At least 12 protesters died in Zhanaozen."
HOSTILE = (
    "Witnesses wrote <script>alert(\"claims\")</script> & <b>bold</b> 'quoted': police opened fire on protesters "
    'in Zhanaozen on 16 December 2011, killing at least 3 people <img src=x onerror="alert(2)">.'
)
LONG = " ".join(f"On 16 December 2011 police in Zhanaozen killed {n} people." for n in range(2, 32))


@dataclass
class Texts:
    team: Team
    zh: str
    unpublished: str
    hostile: str
    long: str

    @property
    def case(self) -> Case:
        return self.team.case

    def member(self, role: Role) -> Member:
        return self.team.members[role]


@pytest.fixture(scope="module")
def texts(team: Team) -> Texts:
    case = team.case
    sha = {}
    for name, text in [("zh", ZHANAOZEN), ("unpublished", UNPUBLISHED), ("hostile", HOSTILE), ("long", LONG)]:
        recorded = case.add_bytes(text.encode(), actor="tester", channel="usb", collected_at_claimed="2011-12-20")
        sha[name] = recorded.sha256
    for name in ("zh", "hostile"):
        case.publish(sha[name], actor="tester")
    report = store.read_items(case)
    assert report.read == 4 and not report.errors, report
    return Texts(team, sha["zh"], sha["unpublished"], sha["hostile"], sha["long"])


def claims_of(who: Member, sha: str) -> list[dict[str, Any]]:
    r = who.client.get(f"/api/v1/items/{sha}/claims")
    assert r.status_code == 200, r.text
    claims: list[dict[str, Any]] = r.json()["claims"]
    return claims


def one(claims: list[dict[str, Any]], kind: str, **fields: Any) -> dict[str, Any]:
    """The first claim of ``kind`` whose JSON has ``fields``."""
    found = [c for c in claims if c["kind"] == kind and all(c["claim"].get(k) == v for k, v in fields.items())]
    assert found, f"no {kind} claim with {fields} in {[c['claim'] for c in claims]}"
    return found[0]


def form(who: Member, **fields: Any) -> dict[str, Any]:
    return {"csrf_token": who.csrf, **fields}


class Marks(HTMLParser):
    """The highlighted text of a page: its characters, which of them are marked, and whether tags balance."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.inside = False
        self.text = ""
        self.marked: list[tuple[int, int, str, str]] = []  # start, end, class, title
        self.open_mark: tuple[int, str, str] | None = None
        self.balanced = True
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script":
            self.scripts += 1
        if tag == "pre" and "claims-text" in (a.get("class") or ""):
            self.inside = True
        if self.inside:
            self.stack.append(tag)
            if tag == "mark":
                self.open_mark = (len(self.text), a.get("class") or "", a.get("title") or "")

    def handle_endtag(self, tag: str) -> None:
        if not self.inside:
            return
        if not self.stack or self.stack.pop() != tag:
            self.balanced = False
        if tag == "mark" and self.open_mark is not None:
            start, cls, title = self.open_mark
            self.marked.append((start, len(self.text), cls, title))
            self.open_mark = None
        if tag == "pre":
            self.inside = False

    def handle_data(self, data: str) -> None:
        if self.inside:
            self.text += data

    def titles(self, start: int, end: int) -> list[str]:
        """The tooltips of the marked pieces within ``start:end``."""
        return [title for s, e, _, title in self.marked if start <= s and e <= end]


def marks(page: str) -> Marks:
    parser = Marks()
    parser.feed(page)
    parser.close()
    return parser


# -- the item page --------------------------------------------------------------------------------


def test_item_page_shows_the_text_with_its_claims_highlighted(texts: Texts) -> None:
    analyst = texts.member(Role.ANALYST)
    page = analyst.client.get(f"/items/{texts.zh}").text
    found = marks(page)
    assert found.balanced and found.text == ZHANAOZEN  # the whole text, every character once, nothing else
    claims = claims_of(analyst, texts.zh)
    count = one(claims, "count", what="killed", low=14)
    place = one(claims, "place", name="Zhanaozen")
    date = one(claims, "date", earliest="2011-12-16")
    assert count["claim"]["qualifier"] == "at_least" and "at least 14" in count["quote"]
    for claim in (count, place, date):
        assert ZHANAOZEN[claim["start"] : claim["end"]] == claim["quote"]
        pieces = [m for m in found.marked if claim["start"] <= m[0] and m[1] <= claim["end"]]
        assert pieces and all(f"k-{claim['kind']}" in m[2] for m in pieces), (claim, found.marked)
        assert all(f"#{claim['id']} " in m[3] for m in pieces)
        assert "".join(ZHANAOZEN[m[0] : m[1]] for m in pieces) == claim["quote"]  # the span, split where others end
        assert f'id="claim-{claim["id"]}"' in page
    assert all("killed: at least 14" in title for title in found.titles(count["start"], count["end"]))
    assert all("Zhanaozen (" in title for title in found.titles(place["start"], place["end"]))
    assert all("2011-12-16" in title for title in found.titles(date["start"], date["end"]))
    assert "relative dates read against 2011-12-20" in page
    assert page.count('action="/claims/') >= 2 * len(claims)  # confirm/reject and correct, for every claim
    assert 'href="/claims"' in page


def test_overlapping_claims_split_the_text_at_every_boundary() -> None:
    text = "at least 14 people were killed in Zhanaozen"
    spans = [(0, 18, "count"), (9, 11, "count"), (12, 43, "event"), (34, 43, "place"), (34, 43, "actor")]
    rows = [
        {"id": i, "start": s, "end": e, "quote": text[s:e], "kind": k, "kind_text": k, "says": f'<{k} & "{i}">'}
        | {"superseded": False, "in_text": False}
        for i, (s, e, k) in enumerate(spans, 1)
    ]
    rows.append(rows[0] | {"id": 9, "superseded": True})  # a rejected or corrected claim is not highlighted
    rows.append(rows[0] | {"id": 10, "start": 5, "end": 99})  # offsets the text does not have: not highlighted
    pieces = views._highlight(text, rows)
    assert "".join(p["text"] for p in pieces) == text
    assert [p["at"] for p in pieces] == [0, 9, 11, 12, 18, 34]
    assert [p["claims"] for p in pieces] == [[1], [1, 2], [1], [1, 3], [3], [3, 4, 5]]
    assert pieces[5]["kinds"] == ["actor", "event", "place"]
    claims = {"reading": None, "rows": [], "segments": pieces, "kinds": ["count"], "cut": None, "can_review": False}
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape())
    rendered = env.get_template("_claims.html").render(claims=claims, ct=i18n.CLAIM_STRINGS["en"], csrf="x")
    found = marks(rendered)
    assert found.balanced and found.text == text
    assert [(s, e) for s, e, _, _ in found.marked] == [(0, 9), (9, 11), (11, 12), (12, 18), (18, 34), (34, 43)]
    assert found.marked[5][2] == "claim k-actor k-event k-place"
    assert found.marked[5][3] == '#3 event: <event & "3">\n#4 place: <place & "4">\n#5 actor: <actor & "5">'
    assert "<event &" not in rendered and "&lt;event &amp; &#34;3&#34;&gt;" in rendered


def test_markup_in_a_text_is_shown_as_text_never_run(texts: Texts) -> None:
    for role in (Role.ANALYST, Role.OBSERVER):
        page = texts.member(role).client.get(f"/items/{texts.hostile}").text
        found = marks(page)
        assert found.balanced and found.text == HOSTILE
        assert found.marked, "the hostile text has claims"
        assert found.scripts == 0
        assert "<script>alert" not in page and "<b>bold" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(&#34;claims&#34;)&lt;/script&gt;" in page
        assert "&#39;quoted&#39;" in page
    listing = texts.member(Role.ANALYST).client.get("/claims", params={"q": "Zhanaozen"}).text
    assert "<script>alert" not in listing


# -- reviews --------------------------------------------------------------------------------------


def reviewed_entries(case: Case) -> list[dict[str, Any]]:
    with case.engine.connect() as conn:
        size = case.log.size(conn)
        entries = [custody.decode_entry(e) for _, e in case.log.entries(conn, 0, size)]
    return [e for e in entries if e.get("action") == custody.CLAIM_REVIEWED]


def body_of(case: Case, claim_id: int) -> str:
    with case.engine.connect() as conn:
        return str(conn.execute(select(TextClaim.body).where(TextClaim.id == claim_id)).scalar_one())


def test_an_analyst_confirms_corrects_and_rejects_claims(texts: Texts) -> None:
    analyst, case = texts.member(Role.ANALYST), texts.case
    claims = claims_of(analyst, texts.zh)
    count = one(claims, "count", what="killed", low=14)
    place = one(claims, "place", name="Zhanaozen")
    actor = next(c for c in claims if c["kind"] == "actor")
    count_body = body_of(case, count["id"])
    before = len(reviewed_entries(case))

    r = analyst.client.post(
        f"/claims/{actor['id']}/review", data=form(analyst, decision="confirmed"), follow_redirects=False
    )
    assert r.status_code == 303
    assert r.headers["location"] == f"/items/{texts.zh}?reviewed={actor['id']}#claim-{actor['id']}"
    page = analyst.client.get(r.headers["location"]).text
    assert f"Claim #{actor['id']}: confirmed. The decision is in the custody log" in page

    fields = {"what": "killed", "low": "16", "high": "", "qualifier": "at_least", "source": ""}
    fields |= {k: "on" for k in ("reported", "hedged", "negated", "future") if count["claim"][k]}
    r = analyst.client.post(
        f"/claims/{count['id']}/review",
        data=form(analyst, decision="corrected", reason="the hospital list names 16", **fields),
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    r = analyst.client.post(
        f"/claims/{place['id']}/review",
        data=form(analyst, decision="rejected", reason="not this place"),
        follow_redirects=False,
    )
    assert r.status_code == 303

    after = claims_of(analyst, texts.zh)
    states = {c["id"]: c["state"] for c in after}
    assert states[actor["id"]] == "confirmed"
    assert states[count["id"]] == "corrected"
    assert states[place["id"]] == "rejected"
    original = next(c for c in after if c["id"] == count["id"])
    [correction] = [c for c in after if c["corrects_id"] == count["id"]]
    assert original["replaced_by"] == correction["id"]
    assert correction["by_analyst"] and correction["author"] == USERS[Role.ANALYST]
    assert correction["claim"]["low"] == 16 and correction["claim"]["extractor"] == "analyst"
    assert (correction["start"], correction["end"], correction["quote"]) == (
        count["start"],
        count["end"],
        count["quote"],
    )
    assert correction["state"] == "unreviewed"
    assert body_of(case, count["id"]) == count_body  # the extractor's claim is never edited
    assert original["claim"] == count["claim"]
    [rv] = original["reviews"]
    assert rv["actor"] == USERS[Role.ANALYST] and rv["reason"] == "the hospital list names 16"
    assert rv["correction_id"] == correction["id"]

    page = analyst.client.get(f"/items/{texts.zh}").text
    row = re.search(rf'<tr id="claim-{count["id"]}".*?</tr>', page, re.S)
    assert row and "<del>killed: at least 14</del>" in row.group(0)
    assert f"replaced by claim #{correction['id']}" in row.group(0)
    assert f"by {USERS[Role.ANALYST]}" in row.group(0)
    new_row = re.search(rf'<tr id="claim-{correction["id"]}".*?</tr>', page, re.S)
    assert new_row and "killed: at least 16" in new_row.group(0)
    assert f"correction of claim #{count['id']}, by {USERS[Role.ANALYST]}" in new_row.group(0)
    assert page.index(f'id="claim-{count["id"]}"') < page.index(f'id="claim-{correction["id"]}"')
    found = marks(page)
    assert found.text == ZHANAOZEN
    assert not any("k-place" in m[2] for m in found.marked)  # rejected: no longer highlighted
    over_count = found.titles(count["start"], count["end"])
    assert over_count and all(f"#{correction['id']} " in t and "at least 16" in t for t in over_count)
    assert not any(f"#{count['id']} " in t for t in over_count)  # the correction's reading, not the original's

    entries = reviewed_entries(case)[before:]
    assert [e["decision"] for e in entries] == ["confirmed", "corrected", "rejected"]
    assert all(e["actor"] == USERS[Role.ANALYST] and e["item_sha256"] == texts.zh for e in entries)
    assert entries[1]["claim_sha256"] == hashlib.sha256(count_body.encode()).hexdigest()
    assert entries[1]["correction_sha256"] == hashlib.sha256(body_of(case, correction["id"]).encode()).hexdigest()
    report = audit.verify_case(case)
    assert report.ok, report.problems


def test_editing_a_reviewed_claim_in_the_database_is_caught(texts: Texts) -> None:
    analyst, case = texts.member(Role.ANALYST), texts.case
    date = one(claims_of(analyst, texts.zh), "date", earliest="2011-12-16")
    r = analyst.client.post(f"/claims/{date['id']}/review", data=form(analyst, decision="confirmed"))
    assert r.status_code == 200
    assert audit.verify_case(case).ok
    body = body_of(case, date["id"])
    forged = json.dumps({**json.loads(body), "earliest": "2011-12-17"}, sort_keys=True, separators=(",", ":"))
    with case.engine.begin() as conn:
        conn.execute(update(TextClaim).where(TextClaim.id == date["id"]).values(body=forged))
    try:
        report = audit.verify_case(case)
        assert not report.ok
        assert any(f"of claim {date['id']}" in p.subject for p in report.problems), report.problems
    finally:
        with case.engine.begin() as conn:
            conn.execute(update(TextClaim).where(TextClaim.id == date["id"]).values(body=body))
    assert audit.verify_case(case).ok


def test_a_correction_that_is_wrong_is_refused_and_nothing_is_recorded(texts: Texts) -> None:
    analyst, case = texts.member(Role.ANALYST), texts.case
    count = one(claims_of(analyst, texts.unpublished), "count")
    before = len(reviewed_entries(case))
    bad_forms = [
        {"low": "many"},  # not a number
        {"low": "20", "high": "10"},  # bounds out of order
        {"qualifier": "roughly"},  # not a qualifier
        {"low": str(count["claim"]["low"])},  # changes nothing
    ]
    for bad in bad_forms:
        high = count["claim"]["high"]
        fields = {"what": count["claim"]["what"], "low": str(count["claim"]["low"]), "high": str(high or "")}
        fields |= {"qualifier": count["claim"]["qualifier"], "source": count["claim"]["source"] or ""}
        r = analyst.client.post(
            f"/claims/{count['id']}/review", data=form(analyst, decision="corrected", **fields | bad)
        )
        assert r.status_code == 400, (bad, r.text[:300])
        assert "The decision was not recorded" in r.text
    r = analyst.client.post(f"/claims/{count['id']}/review", data=form(analyst, decision="approved"))
    assert r.status_code == 400
    assert analyst.client.post("/claims/2147483647/review", data=form(analyst, decision="confirmed")).status_code == 404
    assert len(reviewed_entries(case)) == before


class CorrectForms(HTMLParser):
    """The correct forms of a page, as a browser would submit them untouched: claim id -> fields."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: dict[int, dict[str, str]] = {}
        self.current: dict[str, str] | None = None
        self.select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and "correction-form" in a.get("class", ""):
            self.current = self.forms.setdefault(int(a["action"].split("/")[2]), {})
        elif self.current is not None and tag == "input":
            if a.get("type") != "checkbox" or "checked" in a:
                self.current[a["name"]] = a.get("value", "on" if a.get("type") == "checkbox" else "")
        elif self.current is not None and tag == "select":
            self.select = a["name"]
        elif self.current is not None and tag == "option" and self.select and "selected" in a:
            self.current[self.select] = a["value"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.current = None
        elif tag == "select":
            self.select = None


def correct_forms(page: str) -> dict[int, dict[str, str]]:
    parser = CorrectForms()
    parser.feed(page)
    return parser.forms


CHANGES = {  # one change per kind, made in the form as an analyst would
    "count": {"low": "7", "qualifier": "about"},
    "place": {"latitude": "43.35", "precision": "2"},
    "date": {"earliest": "2011-12-15", "precision": "2"},
    "actor": {"acled_type": "5"},
    "event": {"event_type": "Riots", "sub_event_type": "Violent demonstration", "fatalities": "3"},
}


def test_every_correct_form_round_trips_and_each_kind_can_be_corrected(texts: Texts) -> None:
    investigator = texts.member(Role.INVESTIGATOR)
    page = investigator.client.get(f"/items/{texts.unpublished}").text
    forms = correct_forms(page)
    claims = {c["id"]: c for c in claims_of(investigator, texts.unpublished)}
    assert set(forms) == set(claims)  # a correct form for every claim
    assert {claims[i]["kind"] for i in forms} == set(CHANGES), "the report has a claim of every kind"
    for claim_id, fields in forms.items():  # submitted untouched, a form says what the claim says: nothing changes
        r = investigator.client.post(f"/claims/{claim_id}/review", data=fields)
        assert r.status_code == 400 and "changes nothing" in r.text, (claims[claim_id], fields, r.text[-500:])
    done = set()
    for claim_id, fields in forms.items():
        kind = claims[claim_id]["kind"]
        if kind in done or claims[claim_id]["state"] == "corrected":
            continue
        done.add(kind)
        r = investigator.client.post(f"/claims/{claim_id}/review", data=fields | CHANGES[kind], follow_redirects=False)
        assert r.status_code == 303, (kind, r.text[-800:])
    after = claims_of(investigator, texts.unpublished)
    corrections = {c["corrects_id"]: c for c in after if c["corrects_id"] is not None}
    for claim_id, correction in corrections.items():
        kind, original = correction["kind"], claims[claim_id]["claim"]
        changed = {k for k in correction["claim"] if correction["claim"][k] != original.get(k)}
        assert changed == set(CHANGES[kind]) | {"extractor"}, (kind, changed)
    assert {c["kind"] for c in corrections.values()} == set(CHANGES)
    by_kind = {c["kind"]: c["claim"] for c in corrections.values()}
    assert by_kind["place"]["latitude"] == 43.35 and by_kind["place"]["precision"] == 2
    assert by_kind["date"]["earliest"] == "2011-12-15" and by_kind["actor"]["acled_type"] == 5
    assert by_kind["event"]["fatalities"] == 3 and by_kind["count"]["low"] == 7
    assert audit.verify_case(texts.case).ok


# -- the API --------------------------------------------------------------------------------------


def test_the_api_reviews_with_a_token_and_checks_corrections(texts: Texts) -> None:
    case = texts.case
    token = texts.team.bearer(Role.INVESTIGATOR)
    claims = claims_of(token, texts.unpublished)
    count = one(claims, "count")
    url = f"/api/v1/claims/{count['id']}/review"
    before = len(reviewed_entries(case))
    for bad in (
        {"decision": "corrected", "correction": {"low": "abc"}},
        {"decision": "corrected", "correction": {"low": True}},
        {"decision": "corrected", "correction": {"quote": "rewritten"}},  # the span is not the analyst's to change
        {"decision": "corrected", "correction": {"earliest": "2011-12-01"}},  # not a field of a count
        {"decision": "corrected"},
        {"decision": "confirmed", "correction": {"low": 1}},
    ):
        r = token.client.post(url, json=bad)
        assert r.status_code == 400, (bad, r.text)
    assert token.client.post(url, json={"decision": "maybe"}).status_code == 422
    others = {c["kind"]: c["id"] for c in claims_of(token, texts.long)}
    for kind, bad in [
        ("place", {"latitude": 200}),
        ("place", {"precision": 4}),
        ("place", {"name": ""}),
        ("date", {"earliest": "2011-13-01"}),
        ("date", {"latest": "2011-12-01"}),  # before the earliest
        ("actor", {"acled_type": True}),
        ("event", {"event_type": "Picnic"}),
        ("event", {"fatalities": -1}),
    ]:
        r = token.client.post(
            f"/api/v1/claims/{others[kind]}/review", json={"decision": "corrected", "correction": bad}
        )
        assert r.status_code == 400, (kind, bad, r.text)
    assert len(reviewed_entries(case)) == before

    r = token.client.post(url, json={"decision": "corrected", "correction": {"low": 41, "high": 45}, "reason": "x"})
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["claim"]["state"] == "corrected" and out["claim"]["replaced_by"] == out["correction"]["id"]
    assert out["correction"]["claim"]["low"] == 41 and out["correction"]["author"] == USERS[Role.INVESTIGATOR]
    assert out["log_index"] == reviewed_entries(case)[-1]["seq"]

    listing = token.client.get("/api/v1/claims", params={"kind": "count", "decision": "corrected"}).json()
    assert count["id"] in [c["id"] for c in listing["claims"]]
    assert all(c["kind"] == "count" and c["state"] == "corrected" for c in listing["claims"])
    assert token.client.get("/api/v1/claims", params={"kind": "rumour"}).status_code == 422
    assert audit.verify_case(case).ok


# -- observers ------------------------------------------------------------------------------------


def test_observers_see_claims_of_published_items_and_states_never_who_or_why(texts: Texts) -> None:
    observer, analyst = texts.member(Role.OBSERVER), texts.member(Role.ANALYST)
    actor = next(c for c in claims_of(analyst, texts.hostile) if c["kind"] == "actor")
    store.review(texts.case, actor["id"], "rejected", actor=USERS[Role.ANALYST], reason="Placeholder secret reason")

    listing = observer.client.get("/claims").text
    everything = analyst.client.get("/claims").text
    for sha in (texts.zh, texts.hostile):
        assert sha[:12] in listing
    for sha in (texts.unpublished, texts.long):
        assert sha[:12] not in listing and sha[:12] in everything
    assert "Aktau" not in listing
    api = observer.client.get("/api/v1/claims").json()
    assert api["total"] > 0 and {c["item_sha256"] for c in api["claims"]} <= {texts.zh, texts.hostile}
    assert all(c["reviews"] is None and c["author"] is None for c in api["claims"])
    for url in (f"/items/{texts.unpublished}", f"/api/v1/items/{texts.unpublished}/claims"):
        assert observer.client.get(url).status_code == 404

    page = observer.client.get(f"/items/{texts.hostile}").text
    row = re.search(rf'<tr id="claim-{actor["id"]}".*?</tr>', page, re.S)
    assert row and "rejected" in row.group(0)
    for secret in ("Placeholder secret reason", USERS[Role.ANALYST], USERS[Role.INVESTIGATOR]):
        assert secret not in page and secret not in listing
        assert secret not in observer.client.get(f"/api/v1/items/{texts.hostile}/claims").text
        assert secret not in observer.client.get(f"/api/v1/items/{texts.zh}/claims").text
        assert secret not in observer.client.get(f"/items/{texts.zh}").text
    assert 'action="/claims/' not in page  # no review forms
    assert "Only the claims of published items are shown." in listing

    claim = claims_of(observer, texts.zh)[0]
    before = len(reviewed_entries(texts.case))
    r = observer.client.post(f"/claims/{claim['id']}/review", data=form(observer, decision="confirmed"))
    assert r.status_code == 403
    r = texts.team.bearer(Role.OBSERVER).client.post(
        f"/api/v1/claims/{claim['id']}/review", json={"decision": "confirmed"}
    )
    assert r.status_code == 403
    assert len(reviewed_entries(texts.case)) == before


def test_an_admin_reviews_only_what_an_admin_sees(texts: Texts) -> None:
    admin, analyst = texts.member(Role.ADMIN), texts.member(Role.ANALYST)
    hidden = claims_of(analyst, texts.unpublished)[0]
    shown = claims_of(admin, texts.zh)[0]
    r = admin.client.post(f"/claims/{hidden['id']}/review", data=form(admin, decision="confirmed"))
    assert r.status_code == 404
    r = admin.client.post(
        f"/claims/{shown['id']}/review", data=form(admin, decision="confirmed"), follow_redirects=False
    )
    assert r.status_code == 303


def test_review_forms_need_the_sessions_csrf_token(texts: Texts) -> None:
    analyst = texts.member(Role.ANALYST)
    claim = claims_of(analyst, texts.long)[0]
    other = texts.team.session(Role.OBSERVER).csrf
    with texts.case.engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(ClaimReview)).scalar_one()
    for token in (None, "", "wrong", other):
        data = {"decision": "confirmed"} | ({"csrf_token": token} if token is not None else {})
        assert analyst.client.post(f"/claims/{claim['id']}/review", data=data).status_code == 403
        headers = {"x-csrf-token": token} if token is not None else {}
        r = analyst.client.post(f"/api/v1/claims/{claim['id']}/review", json={"decision": "confirmed"}, headers=headers)
        assert r.status_code == 403
    with texts.case.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ClaimReview)).scalar_one() == before


# -- /claims --------------------------------------------------------------------------------------


def test_the_claims_list_filters_and_pages(texts: Texts) -> None:
    analyst = texts.member(Role.ANALYST)

    def ids(**params: Any) -> list[int]:
        r = analyst.client.get("/claims", params=params)
        assert r.status_code == 200, r.text
        return [int(i) for i in re.findall(r'<a href="/items/[0-9a-f]{64}#claim-(\d+)">\1</a>', r.text)]

    api = analyst.client.get("/api/v1/claims").json()
    assert api["total"] > 50 and api["pages"] >= 2 and len(api["claims"]) == 50
    first, second = ids(), ids(page=2)
    assert len(first) == 50 and second and not set(first) & set(second)
    page = analyst.client.get("/claims").text
    assert 'href="?page=2"' in page and "Page 1 of" in page

    by_kind = {c["id"]: c for c in analyst.client.get("/api/v1/claims", params={"kind": "place"}).json()["claims"]}
    assert set(ids(kind="place")) == set(by_kind) and all(c["kind"] == "place" for c in by_kind.values())
    killed = analyst.client.get("/api/v1/claims", params={"what": "killed"}).json()["claims"]
    assert killed and all(c["claim"]["what"] == "killed" for c in killed)
    assert set(ids(what="killed")) == {c["id"] for c in killed[:50]}
    protests = ids(event_type="Protests")
    assert protests and all(
        c["claim"]["event_type"] == "Protests"
        for c in analyst.client.get("/api/v1/claims", params={"event_type": "Protests"}).json()["claims"]
    )
    corrected = ids(decision="corrected")
    assert corrected and all(
        c["state"] == "corrected"
        for c in analyst.client.get("/api/v1/claims", params={"decision": "corrected"}).json()["claims"]
    )
    forty = analyst.client.get("/claims", params={"q": "40 people"}).text
    assert texts.unpublished[:12] in forty and texts.zh[:12] not in forty and texts.long[:12] not in forty
    assert ids(kind="", what="", decision="", q="") == first  # the form's "any" is no filter
    assert analyst.client.get("/claims", params={"kind": "rumour"}).status_code == 400
    assert analyst.client.get("/claims", params={"decision": "maybe"}).status_code == 400


def test_claims_pages_speak_russian_and_kazakh(texts: Texts) -> None:
    assert set(i18n.CLAIM_STRINGS) == set(i18n.LANGUAGES)
    assert all(set(strings) == set(i18n.CLAIM_STRINGS["en"]) for strings in i18n.CLAIM_STRINGS.values())
    analyst = texts.member(Role.ANALYST).client
    ru = analyst.get("/claims", params={"lang": "ru"}).text
    assert "Утверждения по делу" in ru and 'lang="ru"' in ru
    kk = analyst.get(f"/items/{texts.zh}", headers={"accept-language": "kk-KZ,kk;q=0.9"}).text
    assert "Мәлімдемелер" in kk and "Растау" in kk
    en = analyst.get(f"/items/{texts.zh}").text
    assert "Confirm" in en and "Растау" not in en


def test_a_text_sent_through_the_web_is_read_for_claims(texts: Texts) -> None:
    anon = texts.team.anon()
    r = anon.client.post(
        "/submit",
        data={"csrf_token": anon.csrf, "testimony": "On 16 December 2011 police in Zhanaozen killed 5 people."},
    )
    assert r.status_code == 200
    [sha] = re.findall(r'class="digest">([0-9a-f]{64})<', r.text)
    claims = claims_of(texts.member(Role.ANALYST), sha)
    assert any(c["kind"] == "place" for c in claims)
    assert html.escape("Zhanaozen") in texts.member(Role.ANALYST).client.get(f"/items/{sha}").text
