"""The person register's pages and API: import, the register, one person, review, entry, the estimate.

One case for the module. Two invented victim lists are imported through the web as an
analyst sends them: a family association's list in Russian and Kazakh Cyrillic (one
row with a relative's contact, which is sealed), and a hospital's admissions list that
writes two of the same invented people in Latin letters. Every name here is invented.
Checked: the register and its filters, a person's records side by side, a review that
becomes a custody entry and moves the register, a typed-in record and its errors, that
no page or API answer ever holds a sealed value, that names are escaped, that a bad
list is refused whole with its row number, and that observers and admins get none of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest

from factfinder.findings.persons import store
from factfinder.findings.persons.model import PersonRecord
from factfinder.permissions import Role
from factfinder.vault import audit, custody
from factfinder.vault.case import Case
from factfinder.web import persons_views
from tests.web.conftest import Member, Team

FAMILY_CSV = (
    "№;ФИО;Пол;Возраст;Дата;Место;Статус;Контакт родственников\n"
    "1;Тестемиров Дархан Болатович;м;34;05.01.2022;Алматы;убит;+7 700 000 4242 (Placeholder Aunt)\n"
    "2;Ойдантаева Гүлнұр Асқарқызы;ж;около 25;06.01.2022;Алматы;погибла;\n"
    "3;Выдуманов Илья Петрович;м;41;05.01.2022;Талдыкорган;задержан;\n"
).encode()
HOSPITAL_CSV = (
    b"Patient,Sex,Age,Admitted,Place,Ward\n"
    b"Darkhan Testemirov,male,35,2022-01-05,Almaty,3\n"
    b"Gulnur Oidantaeva,female,24,2022-01-06,Almaty,3\n"
    b"Placeholder Nobody Else,male,60,2022-01-07,Almaty,1\n"
    b"Ilya Vydumanov,male,30,2022-01-19,Almaty,2\n"  # same name; 11 years younger, later, elsewhere: unsure
)
MAPPING = "full_name=Patient\nsex=Sex\nage=Age\nevent_date=Admitted\nevent_place=Place"
CONTACT = "+7 700 000 4242"
SECRET_CONTACT = "Placeholder relative +7 701 555 0000"
XSS = '<script>alert("x")</script><img/src=x/onerror=alert(1)>'


@dataclass
class World:
    team: Team
    family_item: str
    hospital_item: str

    @property
    def case(self) -> Case:
        return self.team.case

    def member(self, role: Role) -> Member:
        return self.team.members[role]


def form(who: Member, **fields: Any) -> dict[str, Any]:
    return {"csrf_token": who.csrf, **fields}


def log_size(case: Case) -> int:
    with case.engine.connect() as conn:
        return case.log.size(conn)


def entries(case: Case, start: int) -> list[dict[str, Any]]:
    with case.engine.connect() as conn:
        return [custody.decode_entry(e) for _, e in case.log.entries(conn, start, case.log.size(conn))]


def import_list(who: Member, data: bytes, name: str, source_type: str, **extra: str) -> Any:
    return who.client.post(
        "/persons/import",
        data=form(who, list_name=name, source_type=source_type, **extra),
        files={"file": (f"{name}.csv", data, "text/csv")},
        follow_redirects=False,
    )


def api(who: Member, url: str, **params: Any) -> Any:
    r = who.client.get(url, params=params)
    assert r.status_code == 200, (url, r.status_code, r.text[:300])
    return r.json()


def person_with(who: Member, name_part: str) -> dict[str, Any]:
    found = [p for p in api(who, "/api/v1/persons")["persons"] if name_part in p["name"]]
    assert len(found) == 1, found
    return found[0]


@pytest.fixture(scope="module")
def world(team: Team) -> World:
    analyst = team.members[Role.ANALYST]
    before = log_size(team.case)
    r = import_list(analyst, FAMILY_CSV, "Семьи погибших (invented)", "family", source="Placeholder families' group")
    assert r.status_code == 303, r.text[:500]
    assert re.fullmatch(r"/persons/new\?imported=\d+#imported", r.headers["location"])
    page = analyst.client.get(r.headers["location"]).text
    assert "Imported 3 records into list" in page
    assert "relative_contact = Контакт родственников" in page  # the contact column is read (and sealed)
    r = import_list(analyst, HOSPITAL_CSV, "Hospital admissions (invented)", "hospital", mapping=MAPPING)
    assert r.status_code == 303, r.text[:500]
    page = analyst.client.get(r.headers["location"]).text
    assert "full_name = Patient" in page and "event_date = Admitted" in page
    assert "Columns not imported: Ward." in page
    added = [e for e in entries(team.case, before) if e["action"] == custody.PERSONS_RECORDED]
    assert [e["records"] for e in added] == [3, 4]
    family, hospital = (e["item_sha256"] for e in added)
    return World(team, family, hospital)


# -- reading --------------------------------------------------------------------------------------------


def test_the_register_lists_linked_persons_with_lists_counts_and_filters(world: World) -> None:
    analyst = world.member(Role.ANALYST)
    r = analyst.client.get("/persons")
    assert r.status_code == 200
    page = r.text
    for name in ("Тестемиров Дархан Болатович", "Ойдантаева Гүлнұр Асқарқызы", "Darkhan Testemirov", "Выдуманов"):
        assert name in page
    doc = api(analyst, "/api/v1/persons")
    assert {x["name"] for x in doc["lists"]} == {"Семьи погибших (invented)", "Hospital admissions (invented)"}
    assert doc["total"] == len(doc["persons"]) and 4 <= doc["total"] <= 7
    for p in doc["persons"]:
        assert f'href="/persons/{p["person"]}"' in page
    records = sum(len(p["records"]) for p in doc["persons"])
    assert records == 7
    assert re.search(r"<dt>Records</dt><dd>7</dd>", page)
    assert 'href="/persons/review"' in page and 'href="/estimate"' in page and 'href="/persons/new"' in page

    detained = analyst.client.get("/persons", params={"status": "detained"}).text
    assert "Выдуманов Илья Петрович" in detained and "Ойдантаева" not in detained
    hospital = analyst.client.get("/persons", params={"list": "Hospital admissions (invented)"}).text
    assert "Placeholder Nobody Else" in hospital and "Выдуманов" not in hospital
    documentary = api(analyst, "/api/v1/persons", corroboration="documentary")["persons"]
    assert documentary and all("Hospital admissions (invented)" in p["lists"] for p in documentary)
    words = api(analyst, "/api/v1/persons", q="талдыкорган")["persons"]
    assert [p["name"] for p in words] == ["Выдуманов Илья Петрович"]
    assert analyst.client.get("/persons", params={"status": "asleep"}).status_code == 400
    assert analyst.client.get("/persons", params={"q": "nothing like this"}).text.count('class="person ') == 0


def test_a_person_page_shows_every_record_side_by_side_with_its_source(world: World) -> None:
    analyst = world.member(Role.ANALYST)
    vydumanov = person_with(analyst, "Выдуманов")
    [rec] = vydumanov["records"]
    r = analyst.client.get(f"/persons/{vydumanov['person']}")
    assert r.status_code == 200
    page = r.text
    assert "Выдуманов Илья Петрович" in page and "Талдыкорган" in page and "detained" in page
    assert f'href="/items/{world.family_item}"' in page
    assert "Семьи погибших (invented)" in page
    by_record = analyst.client.get(f"/persons/{rec['record'][:12]}", follow_redirects=False)
    assert by_record.status_code == 308 and by_record.headers["location"] == f"/persons/{vydumanov['person']}"
    assert analyst.client.get("/persons/P-0000000000").status_code == 404
    assert analyst.client.get("/persons/not-a-person").status_code == 404

    full = api(analyst, f"/api/v1/persons/{vydumanov['person']}")
    [one] = full["records"]
    assert one["age_min"] == 41 and one["status"] == "detained" and one["event_place"] == "Талдыкорган"
    assert one["item_sha256"] == world.family_item and one["row"] == 3

    darkhan = api(analyst, f"/api/v1/persons/{person_with(analyst, 'Тестемиров')['person']}")
    sealed = [x for x in darkhan["records"] if x["sealed_fields"]]
    assert [x["sealed_fields"] for x in sealed] == [["relative_contact"]]
    page = analyst.client.get(f"/persons/{darkhan['person']}").text
    assert "relative_contact" in page  # the sealed field is named, never shown
    assert CONTACT not in page and "Placeholder Aunt" not in page


# -- reviewing ----------------------------------------------------------------------------------------------


def test_a_review_is_a_custody_entry_and_the_register_follows_it(world: World) -> None:
    analyst, case = world.member(Role.ANALYST), world.case
    cyrillic = next(r for r in store.records(case) if r.record.display_name().startswith("Ойдантаева"))
    latin = next(r for r in store.records(case) if r.record.display_name() == "Gulnur Oidantaeva")
    queue = api(analyst, "/api/v1/persons/queue")
    assert queue["total"] == len(queue["pairs"])
    assert [p["probability"] for p in queue["pairs"]] == sorted(
        (p["probability"] for p in queue["pairs"]), reverse=True
    )
    page = analyst.client.get("/persons/review").text
    for pair in queue["pairs"]:
        assert f'href="/persons/review/{pair["a"]["sha256"]}/{pair["b"]["sha256"]}"' in page
    names = {"Выдуманов Илья Петрович", "Ilya Vydumanov"}
    [unsure] = [p for p in queue["pairs"] if {p["a"]["full_name"], p["b"]["full_name"]} == names]
    assert queue["review_band"][0] <= unsure["probability"] < queue["review_band"][1] and unsure["reasons"]
    size = log_size(case)
    r = analyst.client.post(
        "/persons/review",
        data=form(analyst, a=unsure["a"]["sha256"], b=unsure["b"]["sha256"], decision="different"),
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:500]
    nxt = api(analyst, "/api/v1/persons/queue")["pairs"]
    assert r.headers["location"] == (
        f"/persons/review/{nxt[0]['a']['sha256']}/{nxt[0]['b']['sha256']}?reviewed=1"
        if nxt
        else "/persons/review?reviewed=1"
    )
    assert len(nxt) == len(queue["pairs"]) - 1 and unsure not in nxt
    assert [e["decision"] for e in entries(case, size)] == ["different"]

    r = analyst.client.get(f"/persons/review/{cyrillic.sha256}/{latin.ref}")
    assert r.status_code == 200
    page = r.text
    assert "Ойдантаева Гүлнұр Асқарқызы" in page and "Gulnur Oidantaeva" in page
    assert "Match probability" in page and "Match weight" in page
    assert f'href="/items/{world.family_item}"' in page and f'href="/items/{world.hospital_item}"' in page
    assert '<mark class="diff">' in page  # the names (and ages) differ
    assert 'name="decision" value="same"' in page and 'name="decision" value="different"' in page

    size = log_size(case)
    reason = "Placeholder: same date and place, the name transliterated"
    r = analyst.client.post(
        "/persons/review",
        data=form(analyst, a=cyrillic.sha256, b=latin.sha256, decision="same", reason=reason),
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:500]
    assert re.fullmatch(r"/persons/review(/[0-9a-f]{64}/[0-9a-f]{64})?\?reviewed=\d+", r.headers["location"])
    assert log_size(case) == size + 1
    [entry] = entries(case, size)
    assert entry["action"] == custody.PERSONS_REVIEWED and entry["decision"] == "same"
    assert {entry["record_a"], entry["record_b"]} == {cyrillic.sha256, latin.sha256}
    assert entry["actor"] == "analyst1"
    assert f"custody log entry {entry['seq']}" in analyst.client.get(r.headers["location"]).text
    gulnur = person_with(analyst, "Ойдантаева")
    assert {x["record"] for x in gulnur["records"]} == {cyrillic.sha256, latin.sha256}
    assert gulnur["corroboration"] == "documentary"  # now on the hospital's list too
    assert audit.verify_case(case).ok

    token = world.team.bearer(Role.INVESTIGATOR)
    r = token.client.post(
        "/api/v1/persons/review", json={"a": cyrillic.sha256[:10], "b": latin.sha256[:10], "decision": "different"}
    )
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["decision"] == "different" and out["log_index"] == size + 1
    assert {out["a"], out["b"]} == {cyrillic.sha256, latin.sha256}
    assert (
        len(
            {
                tuple(sorted(x["record"] for x in p["records"]))
                for p in api(token, "/api/v1/persons")["persons"]
                if "Oidantaeva" in p["name"] or "Ойдантаева" in p["name"]
            }
        )
        == 2
    )

    size = log_size(case)
    bad = analyst.client.post(
        "/persons/review", data=form(analyst, a=cyrillic.sha256, b=latin.sha256, decision="maybe", reason="kept")
    )
    assert bad.status_code == 400 and "decision" in bad.text and 'value="kept"' in bad.text
    missing = analyst.client.post("/persons/review", data=form(analyst, a="abcdef12", b=latin.sha256, decision="same"))
    assert missing.status_code == 400 and "no person record" in missing.text
    no_token = analyst.client.post(
        "/persons/review", data={"a": cyrillic.sha256, "b": latin.sha256, "decision": "same"}
    )
    assert no_token.status_code == 403
    assert (
        token.client.post("/api/v1/persons/review", json={"a": "abcdef", "b": "abcdef", "decision": "same"}).status_code
        == 400
    )
    assert log_size(case) == size

    x, y, z = (
        store.add_record(case, PersonRecord(full_name=n), list_name="Chain (invented)", actor="tester").sha256
        for n in ("Placeholder Chain One", "Placeholder Chain Two", "Placeholder Chain Three")
    )
    for a, b, decision in ((x, y, "same"), (y, z, "same")):
        r = token.client.post("/api/v1/persons/review", json={"a": a, "b": b, "decision": decision})
        assert r.status_code == 201, r.text
    size = log_size(case)
    r = token.client.post("/api/v1/persons/review", json={"a": x, "b": z, "decision": "different"})
    assert r.status_code == 400 and "contradicts earlier reviews" in r.json()["detail"]
    assert log_size(case) == size
    assert analyst.client.get("/persons").status_code == 200  # the register can still be made


# -- entering records ------------------------------------------------------------------------------------------


def test_a_typed_record_is_recorded_and_a_wrong_one_comes_back_with_its_values(world: World) -> None:
    investigator, case = world.member(Role.INVESTIGATOR), world.case
    page = investigator.client.get("/persons/new").text
    assert 'action="/persons"' in page and 'action="/persons/import"' in page
    size = log_size(case)
    values = {
        "list_name": "Lawyers' list (invented)",
        "source_type": "lawyer",
        "full_name": "Бекболатов Самат Ерланұлы",
        "sex": "male",
        "age": "not an age",
        "status": "detained",
        "event_date_start": "2022-01-07",
        "event_place": "Алматы",
        "relative_contact": SECRET_CONTACT,
    }
    r = investigator.client.post("/persons", data=form(investigator, **values))
    assert r.status_code == 400
    assert "age" in r.text and "not an age" in r.text
    assert 'value="Бекболатов Самат Ерланұлы"' in r.text and 'value="Lawyers&#39; list (invented)"' in r.text
    assert SECRET_CONTACT not in r.text and "type it again" in r.text
    assert log_size(case) == size

    r = investigator.client.post(
        "/persons", data=form(investigator, **{**values, "age": "20-25"}), follow_redirects=False
    )
    assert r.status_code == 303, r.text[:500]
    assert log_size(case) == size + 1
    page = investigator.client.get(r.headers["location"]).text
    assert "Recorded" in page and "Бекболатов Самат Ерланұлы" in page and "relative_contact" in page
    assert 'value="Lawyers&#39; list (invented)"' in page  # the next entry is ready for the same list
    assert SECRET_CONTACT not in page
    [entry] = entries(case, size)
    assert entry["action"] == custody.PERSONS_RECORDED and entry["origin"] == "entry" and entry["records"] == 1
    rec = next(r for r in store.records(case) if r.record.full_name == "Бекболатов Самат Ерланұлы")
    assert (rec.record.age_min, rec.record.age_max, rec.sealed_fields) == (20, 25, ("relative_contact",))

    r = investigator.client.get(f"/persons/new?corrects={rec.sha256}")
    assert r.status_code == 200 and 'value="20-25"' in r.text and f'value="{rec.sha256}"' in r.text
    r = investigator.client.post(
        "/persons",
        data=form(investigator, **{**values, "age": "22", "supersedes": rec.sha256[:12], "reason": "Placeholder"}),
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:500]
    current = [r for r in store.records(case) if r.record.full_name == "Бекболатов Самат Ерланұлы"]
    assert [(r.record.age_min, r.supersedes) for r in current] == [(22, rec.sha256)]
    size = log_size(case)
    same = form(investigator, **{**values, "age": "22", "supersedes": current[0].sha256})
    r = investigator.client.post("/persons", data=same)  # a "correction" that changes nothing would hide both
    assert r.status_code == 400 and "same as the record it corrects" in r.text
    assert log_size(case) == size
    assert api(investigator, f"/api/v1/persons/{rec.ref}")["records"][0]["age_min"] == 22  # the old name leads on

    token = world.team.bearer(Role.ANALYST)
    r = token.client.post(
        "/api/v1/persons",
        json={
            "list_name": "Lawyers' list (invented)",
            "source_type": "lawyer",
            "full_name": "Placeholder Api Person",
            "age": "about 30",
            "relative_contact": SECRET_CONTACT,
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["sealed_fields"] == ["relative_contact"] and SECRET_CONTACT not in r.text
    bad = token.client.post(
        "/api/v1/persons", json={"list_name": "Lawyers' list (invented)", "full_name": "X", "source_type": "hospital"}
    )
    assert bad.status_code == 400 and "lawyer" in bad.json()["detail"]
    assert (
        token.client.post(
            "/api/v1/persons", json={"list_name": "L", "birth_date": "31.02.1990", "full_name": "X"}
        ).status_code
        == 400
    )
    assert audit.verify_case(case).ok


def test_a_sealed_contact_is_never_in_any_page_or_api_answer(world: World) -> None:
    analyst, investigator = world.member(Role.ANALYST), world.member(Role.INVESTIGATOR)
    token = world.team.bearer(Role.INVESTIGATOR)
    r = token.client.post(
        "/api/v1/persons",
        json={
            "list_name": "Sealed check (invented)",
            "full_name": "Placeholder Sealed Victim",
            "relative_contact": SECRET_CONTACT,
        },
    )
    assert r.status_code == 201
    sha = r.json()["record"]
    person = api(analyst, f"/api/v1/persons/{sha}")["person"]
    texts = []
    for who in (analyst, investigator, token):
        for url in (
            "/persons",
            f"/persons/{person}",
            "/persons/review",
            f"/persons/new?recorded={sha}",
            "/persons/new",
            "/api/v1/persons",
            f"/api/v1/persons/{person}",
            "/api/v1/persons/queue",
            "/log",
            "/api/v1/log",
        ):
            r = who.client.get(url, params={"limit": 1000} if url == "/api/v1/log" else None)
            if r.status_code == 200:
                texts.append(r.text)
        some = store.records(world.case)[0].sha256
        texts.append(who.client.get(f"/persons/review/{some}/{sha}").text)
    assert len(texts) >= 25
    for text in texts:
        assert SECRET_CONTACT not in text and CONTACT not in text
        assert "Placeholder relative" not in text
    assert "Placeholder Sealed Victim" in texts[0]


def test_names_are_escaped(world: World) -> None:
    token, analyst = world.team.bearer(Role.ANALYST), world.member(Role.ANALYST)
    r = token.client.post("/api/v1/persons", json={"list_name": "XSS (invented)", "full_name": XSS, "event_place": XSS})
    assert r.status_code == 201, r.text
    sha = r.json()["record"]
    person = api(analyst, f"/api/v1/persons/{sha}")["person"]
    for url in ("/persons", f"/persons/{person}", f"/persons/review/{store.records(world.case)[0].sha256}/{sha}"):
        page = analyst.client.get(url).text
        assert "<script>alert" not in page and "<img/src" not in page, url
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page, url


def test_a_bad_list_is_refused_whole_with_its_row_number(world: World) -> None:
    analyst, case = world.member(Role.ANALYST), world.case
    size, count = log_size(case), len(store.records(case, include_superseded=True))
    bad = "ФИО,Возраст\nПлейсхолдеров Арман,30\nВыдумкина Сауле,тридцать\n".encode()
    r = import_list(analyst, bad, "Bad list (invented)", "ngo")
    assert r.status_code == 400
    assert "row 3" in r.text and "Nothing was imported" in r.text
    assert 'value="Bad list (invented)"' in r.text
    for data, words in ((b"\xff\xfe not utf-8", "UTF-8"), (b"", "empty"), (b"A,B\n1,2\n", "no name column")):
        r = import_list(analyst, data, "Bad list (invented)", "ngo")
        assert r.status_code == 400 and words in r.text, r.text[:300]
    r = analyst.client.post("/persons/import", data=form(analyst, list_name="Bad list (invented)"))
    assert r.status_code == 400 and "choose the list file" in r.text
    r = import_list(analyst, FAMILY_CSV, "Семьи погибших (invented)", "family")
    assert r.status_code == 400 and "already imported" in r.text
    r = import_list(analyst, "ФИО\nПлейсхолдеров Арман\n".encode(), "Семьи погибших (invented)", "ngo")
    assert r.status_code == 400 and "is a family list" in r.text  # refused before the file is recorded
    r = import_list(analyst, HOSPITAL_CSV, "Bad list (invented)", "ngo", mapping="nonsense=Patient")
    assert r.status_code == 400 and "not a field" in r.text
    assert log_size(case) == size
    assert len(store.records(case, include_superseded=True)) == count
    assert "Bad list (invented)" not in {x.name for x in store.lists(case)}


# -- who may ----------------------------------------------------------------------------------------------------


def test_observers_and_admins_get_none_of_the_register(world: World) -> None:
    sha = store.records(world.case)[0].sha256
    other = store.records(world.case)[1].sha256
    person = api(world.member(Role.ANALYST), f"/api/v1/persons/{sha}")["person"]
    gets = [
        "/persons",
        f"/persons/{person}",
        "/persons/new",
        "/persons/review",
        f"/persons/review/{sha}/{other}",
        "/estimate",
        "/api/v1/persons",
        f"/api/v1/persons/{person}",
        "/api/v1/persons/queue",
        "/api/v1/estimate",
    ]
    size = log_size(world.case)
    for role in (Role.OBSERVER, Role.ADMIN):
        who = world.member(role)
        for url in gets:
            assert who.client.get(url, follow_redirects=False).status_code == 403, (role, url)
        posts = [
            ("/persons", {"data": form(who, list_name="L", full_name="Placeholder")}),
            ("/persons/review", {"data": form(who, a=sha, b=other, decision="same")}),
            ("/persons/import", {"data": form(who, list_name="L"), "files": {"file": ("l.csv", FAMILY_CSV)}}),
            ("/api/v1/persons", {"json": {"list_name": "L", "full_name": "Placeholder"}}),
            ("/api/v1/persons/review", {"json": {"a": sha, "b": other, "decision": "same"}}),
        ]
        for url, kwargs in posts:
            assert who.client.post(url, follow_redirects=False, **kwargs).status_code == 403, (role, url)
        assert 'href="/persons"' not in who.client.get("/case").text
    anon = world.team.anon()
    for url in gets:
        r = anon.client.get(url, follow_redirects=False)
        if url.startswith("/api/"):
            assert r.status_code == 401, url
        else:
            assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), url
    assert log_size(world.case) == size
    assert 'href="/persons"' in world.member(Role.ANALYST).client.get("/case").text


def test_register_pages_carry_no_inline_script_or_style(world: World) -> None:
    analyst = world.member(Role.ANALYST)
    a, b = (r.sha256 for r in store.records(world.case)[:2])
    person = api(analyst, f"/api/v1/persons/{a}")["person"]
    for url in ("/persons", f"/persons/{person}", "/persons/new", "/persons/review", f"/persons/review/{a}/{b}"):
        r = analyst.client.get(url)
        assert r.status_code == 200, url
        assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", r.text), url
        assert not re.search(r"\son[a-z]+\s*=", r.text), url
        assert not re.search(r"\sstyle\s*=", r.text), url


def test_the_estimate_panel_gives_three_figures_apart_or_says_it_is_not_available(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    analyst = world.member(Role.ANALYST)
    with monkeypatch.context() as m:  # a version without the estimation module
        m.setattr(persons_views, "_estimate_module", lambda: None)
        r = analyst.client.get("/estimate")
        assert r.status_code == 200 and "The estimate is not available" in r.text
        assert api(analyst, "/api/v1/estimate") == {"available": False, "error": None, "estimate": None}
    r = analyst.client.get("/estimate", params={"what": "killed", "official": 2})
    assert r.status_code == 200
    doc = api(analyst, "/api/v1/estimate", what="killed", official=2)
    assert doc["available"] and doc["error"] is None, doc
    est = doc["estimate"]
    assert est["official_count"] == 2 and est["documented_count"] >= 1
    for label, value in (("Official count", 2), ("Documented (named on a list)", est["documented_count"])):
        assert f"<dt>{label}</dt><dd>{value}</dd>" in r.text
    assert "<dt>Estimated total</dt><dd>not estimated</dd>" in r.text  # too few persons: no figure is made up
    assert "What the estimate assumes" in r.text and "Hospital admissions (invented)" in r.text
    assert analyst.client.get("/estimate", params={"what": "detained", "strata": ["sex", "age"]}).status_code == 200
    assert analyst.client.get("/estimate", params={"what": "asleep"}).status_code == 400
    assert analyst.client.get("/api/v1/estimate", params={"strata": "shoe size"}).status_code == 422


def test_people_named_in_texts_are_proposed_and_accepted_as_records(world: World) -> None:
    from factfinder.text import store as text_store

    analyst, case = world.member(Role.ANALYST), world.case
    text = b"Placeholder report: Asylbek Kenzhebayev, 52, was shot dead by police in Zhanaozen on 16 December 2011."
    rec = case.add_bytes(text, actor="tester", original_name="named.txt", collected_at_claimed="2011-12-20")
    text_store.read_items(case, [rec.sha256])
    page = analyst.client.get("/persons/proposals").text
    assert "Asylbek Kenzhebayev" in page and f"/items/{rec.sha256}" in page
    mine = [p for p in api(analyst, "/api/v1/persons/proposals")["proposals"] if p["item_sha256"] == rec.sha256]
    assert [(p["name"], p["status"], p["event_place"]) for p in mine] == [
        ("Asylbek Kenzhebayev", "killed", "Zhanaozen")
    ]
    before = log_size(case)
    url = f"/persons/proposals/{mine[0]['claim_id']}"
    r = analyst.client.post(url, data=form(analyst, list_name="Named in texts (invented)"), follow_redirects=False)
    assert r.status_code == 303 and "recorded=" in r.headers["location"]
    [entry] = entries(case, before)
    assert entry["action"] == custody.PERSONS_RECORDED and entry["origin"] == "claim"
    assert entry["item_sha256"] == rec.sha256 and entry["list_name"] == "Named in texts (invented)"
    assert all(p["item_sha256"] != rec.sha256 for p in api(analyst, "/api/v1/persons/proposals")["proposals"])
    r = analyst.client.post(url, data=form(analyst), follow_redirects=False)
    assert r.status_code == 400 and "proposes no person" in r.text
    assert log_size(case) == before + 1
