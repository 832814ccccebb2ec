"""Hostile input against the real app: markup, path tricks, oversized and truncated bodies,
forged forms, password guessing, open redirects; and the headers every response carries."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from factfinder.db.models import (
    ApiToken,
    ClaimReview,
    Opening,
    Publication,
    Receipt,
    TextClaim,
    Upload,
    User,
    WebSession,
)
from factfinder.permissions import Role
from factfinder.text import store as text_store
from factfinder.vault import audit
from factfinder.vault.case import Case
from factfinder.web.app import Settings, api_routes, create_app
from tests.web.conftest import PASSWORD, USERS, Member, Team

SCRIPT = "<script>alert(1)</script>"
MARKUP = f'{SCRIPT}<img src=x onerror="alert(2)"><b>bold</b>'
EVIL_NAME = "<img src=x onerror=alert(3)>.txt"
LIMIT = 1 << 20  # the team's Settings.max_upload_bytes


def digests(page: str) -> list[str]:
    """The receipt digests on the page a submitter sees after sending."""
    return re.findall(r'class="digest">([0-9a-f]{64})<', page)


def state(team: Team) -> dict[str, int]:
    """Everything a forged or broken request could change, counted."""
    with team.case.engine.connect() as conn:
        counts = {
            table.__tablename__: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
            for table in (Receipt, User, ApiToken, WebSession, Upload, Publication, Opening, ClaimReview, TextClaim)
        }
        counts["log"] = team.case.log.size(conn)
    counts["blobs"] = len(list(team.case.blobs.digests()))
    counts["disabled"] = sum(u.disabled for u in _users(team))
    return counts


def _users(team: Team) -> list[User]:
    from factfinder import accounts

    return accounts.list_users(team.case.engine)


def submit(who: Member, files: list[tuple[str, tuple[str, bytes]]] | None = None, **fields: str) -> Any:
    return who.client.post("/submit", data={"csrf_token": who.csrf, **fields}, files=files)


def assert_verified(team: Team) -> None:
    report = audit.verify_case(team.case)
    assert report.ok, report.problems


# -- markup ---------------------------------------------------------------------------------


@pytest.mark.once_on_postgres  # templates and headers, the same on either database
def test_markup_in_testimony_and_file_names_is_escaped_everywhere(team: Team) -> None:
    anon = team.anon()
    r = submit(anon, files=[("files", (EVIL_NAME, b"plain words"))], testimony=f"Hostile {MARKUP} zhanaozen")
    assert r.status_code == 200
    testimony, attached = digests(r.text)
    html_file = submit(anon, files=[("files", ("page.html", f"<html>{SCRIPT}</html>".encode()))])
    [html_sha] = digests(html_file.text)
    analyst = team.members[Role.ANALYST]
    token_page = analyst.client.post("/account/tokens", data={"csrf_token": analyst.csrf, "label": SCRIPT})
    pages = {
        "item": analyst.client.get(f"/items/{testimony}"),
        "file item": analyst.client.get(f"/items/{attached}"),
        "html item": analyst.client.get(f"/items/{html_sha}"),
        "items": analyst.client.get("/items", params={"q": "zhanaozen"}),
        "items query": analyst.client.get("/items", params={"q": SCRIPT, "source": SCRIPT, "channel": SCRIPT}),
        "dashboard": analyst.client.get("/case"),
        "log": analyst.client.get("/log"),
        "token label": token_page,
        "account": analyst.client.get("/account"),
        "not found": analyst.client.get(f"/items/{SCRIPT}"),
        "login next": anon.client.get("/login", params={"next": '/"><script>alert(4)</script>'}),
        "submit campaign": anon.client.get("/submit", params={"campaign": '"><script>alert(5)</script>'}),
        "receipt": anon.client.get("/receipt", params={"entry": 0, "digest": SCRIPT}),
    }
    for name, response in pages.items():
        assert "text/html" in response.headers["content-type"], name
        for raw in ("<script>alert", "<img src=x", "<b>bold", "onerror=alert(3)>"):
            assert raw not in response.text, f"{name} shows {raw!r} unescaped"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages["item"].text
    assert "&lt;img src=x onerror=alert(3)&gt;.txt" in pages["file item"].text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages["html item"].text
    assert testimony in pages["items"].text
    assert pages["not found"].status_code == 404
    assert_verified(team)


# -- names and sizes --------------------------------------------------------------------------


TRAVERSALS = {
    "../../x": "x",
    "..\\..\\x": "x",
    "/etc/passwd": "passwd",
    "C:\\Windows\\win.ini": "win.ini",
    "..": None,
    "./.hidden": "hidden",
}


def _files_outside(case_path: Path) -> set[Path]:
    root = case_path.parent
    return {p for p in root.rglob("*") if case_path not in p.parents and p != case_path}


def test_path_traversal_in_upload_names_keeps_only_a_base_name(
    team: Team, tmp_path: Path, scans_handed: list[str]
) -> None:
    before = _files_outside(team.case.path)
    cwd_before = set(Path.cwd().iterdir())
    anon = team.anon()
    names: dict[str, str | None] = {}
    for i, (name, expected) in enumerate(TRAVERSALS.items()):
        body = f"traversal {i} by page".encode()
        r = submit(anon, files=[("files", (name, body))])
        assert r.status_code == 200, r.text
        names[hashlib.sha256(body).hexdigest()] = expected
        body = f"traversal {i} by api".encode()
        created = anon.client.post("/api/v1/uploads", json={"size": len(body), "filename": name}).json()
        assert anon.client.patch(
            f"/api/v1/uploads/{created['id']}", content=body, headers={"upload-offset": "0"}
        ).is_success
        sha = hashlib.sha256(body).hexdigest()
        assert anon.client.post(f"/api/v1/uploads/{created['id']}/complete", json={"sha256": sha}).is_success
        assert anon.client.post("/api/v1/submissions", json={"uploads": [created["id"]]}).status_code == 201
        names[sha] = expected
    with team.case.engine.connect() as conn:
        from factfinder.db.models import Item

        got = dict(
            conn.execute(
                select(Item.sha256, Receipt.original_name)
                .join(Receipt, Receipt.item_id == Item.id)
                .where(Item.sha256.in_(list(names)))
            ).all()
        )
    assert got == names
    assert set(scans_handed) == set(names)  # each text is read for claims after the answer (not run here)
    assert _files_outside(team.case.path) == before
    assert set(Path.cwd().iterdir()) == cwd_before
    assert_verified(team)


def test_oversized_uploads_get_413_with_a_clear_message_and_nothing_recorded(team: Team) -> None:
    anon = team.anon()
    before = state(team)
    r = submit(anon, files=[("files", ("big.bin", b"\0" * (LIMIT + 1)))], testimony="with a big file")
    assert r.status_code == 413
    assert "too large" in r.text and f"{LIMIT:,} bytes" in r.text
    r = submit(anon, files=[("files", ("huge.bin", b"\0" * (LIMIT + (2 << 20))))], testimony="over the body limit")
    assert r.status_code == 413
    assert "larger than this server accepts" in r.text
    r = anon.client.post("/api/v1/uploads", json={"size": LIMIT + 1, "filename": "big.bin"})
    assert r.status_code == 413
    assert "over the limit" in r.json()["detail"]
    assert state(team) == before
    assert anon.client.post("/api/v1/uploads", json={"size": LIMIT, "filename": "ok.bin"}).status_code == 201
    assert_verified(team)


def _cut(boundary: str, csrf: str, *, after: int) -> bytes:
    whole = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{csrf}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="testimony"\r\n\r\ncut short testimony\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="clip.mp4"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n{'v' * 4000}\r\n--{boundary}--\r\n"
    ).encode()
    return whole[:after]


def test_truncated_multipart_bodies_get_400_and_nothing_recorded(team: Team) -> None:
    anon = team.anon()
    boundary = "----factfinder-test-boundary"
    whole = _cut(boundary, anon.csrf or "", after=1 << 20)
    before = state(team)
    headers = {"content-type": f"multipart/form-data; boundary={boundary}"}
    for cut in (len(whole) - 3, len(whole) - 500, whole.index(b"cut short") + 3, 40):
        r = anon.client.post("/submit", content=whole[:cut], headers=headers)
        assert r.status_code == 400, (cut, r.status_code)
        assert "cut off" in r.text or "malformed" in r.text or "error parsing" in r.text
    investigator = team.members[Role.INVESTIGATOR]
    short = _cut(boundary, investigator.csrf or "", after=200)
    r = investigator.client.post(f"/items/{'0' * 64}/reveal", content=short, headers=headers)
    assert r.status_code == 400
    r = anon.client.post("/login", content=short, headers=headers)
    assert r.status_code in (400, 422)
    assert state(team) == before
    assert anon.client.post("/submit", content=whole, headers=headers).status_code == 200  # the whole body is fine
    assert_verified(team)


# -- forged forms -----------------------------------------------------------------------------


def test_every_post_form_refuses_a_wrong_or_missing_csrf_token(team: Team) -> None:
    investigator, admin, analyst = (team.members[r] for r in (Role.INVESTIGATOR, Role.ADMIN, Role.ANALYST))
    sha = digests(submit(team.anon(), testimony="csrf target").text)[0]
    anon = team.anon()
    target = _users(team)[0].id
    own_token_page = admin.client.post("/account/tokens", data={"csrf_token": admin.csrf, "label": "t"}).text
    token_id = re.findall(r'action="/account/tokens/(\d+)/revoke"', own_token_page)[0]
    claim = _claim(team)
    forms: dict[tuple[str, str], tuple[Member, str, dict[str, Any]]] = {
        ("POST", "/submit"): (anon, "/submit", {"data": {"testimony": "forged"}}),
        ("POST", "/login"): (anon, "/login", {"data": {"username": USERS[Role.ANALYST], "password": PASSWORD}}),
        ("POST", "/logout"): (analyst, "/logout", {}),
        ("POST", "/items/{ref}/reveal"): (investigator, f"/items/{sha}/reveal", {"files": {"identity": ("k", b"")}}),
        ("POST", "/items/{ref}/publish"): (investigator, f"/items/{sha}/publish", {}),
        ("POST", "/add"): (investigator, "/add", {"files": {"files": ("forged.txt", b"forged")}}),
        ("POST", "/users"): (admin, "/users", {"data": {"username": "forged", "password": "x" * 12, "role": "admin"}}),
        ("POST", "/users/{user_id}/disable"): (admin, f"/users/{target}/disable", {}),
        ("POST", "/users/{user_id}/enable"): (admin, f"/users/{target}/enable", {}),
        ("POST", "/account/tokens"): (analyst, "/account/tokens", {"data": {"label": "forged"}}),
        ("POST", "/account/tokens/{token_id}/revoke"): (admin, f"/account/tokens/{token_id}/revoke", {}),
        ("POST", "/claims/{claim_id}/review"): (
            analyst,
            f"/claims/{claim}/review",
            {"data": {"decision": "confirmed"}},
        ),
        **{
            ("POST", f"/incidents/{{ref}}/{action}"): (analyst, f"/incidents/I-0000000000/{action}", {"data": fields})
            for action, fields in DECISION_FIELDS.items()
        },
        **{
            ("POST", f"/api/v1/incidents/{{ref}}/{action}"): (
                analyst,
                f"/api/v1/incidents/I-0000000000/{action}",
                {"json": body},
            )
            for action, body in DECISION_BODIES.items()
        },
        # the JSON API, called from a signed-in browser: the token goes in the X-CSRF-Token header
        ("POST", "/api/v1/items/{ref}/publish"): (investigator, f"/api/v1/items/{sha}/publish", {}),
        ("POST", "/api/v1/uploads"): (analyst, "/api/v1/uploads", {"json": {"size": 1}}),
        ("PATCH", "/api/v1/uploads/{upload_id}"): (
            analyst,
            "/api/v1/uploads/none",
            {"headers": {"upload-offset": "0"}},
        ),
        ("POST", "/api/v1/uploads/{upload_id}/complete"): (
            analyst,
            "/api/v1/uploads/none/complete",
            {"json": {"sha256": "0" * 64}},
        ),
        ("POST", "/api/v1/submissions"): (analyst, "/api/v1/submissions", {"json": {"testimony": "forged"}}),
        ("POST", "/api/v1/items"): (investigator, "/api/v1/items", {"json": {"uploads": ["none"]}}),
        ("POST", "/api/v1/items/{ref}/reveal"): (investigator, f"/api/v1/items/{sha}/reveal", {"json": {}}),
        ("POST", "/api/v1/claims/{claim_id}/review"): (
            analyst,
            f"/api/v1/claims/{claim}/review",
            {"json": {"decision": "confirmed"}},
        ),
        ("POST", "/persons"): (analyst, "/persons", {"data": {"list_name": "Forged", "full_name": "Forged Name"}}),
        ("POST", "/persons/import"): (
            analyst,
            "/persons/import",
            {"data": {"list_name": "Forged"}, "files": {"file": ("l.csv", b"name\nForged Name\n")}},
        ),
        ("POST", "/persons/review"): (
            analyst,
            "/persons/review",
            {"data": {"a": "abcdef", "b": "abcdef01", "decision": "same"}},
        ),
        ("POST", "/api/v1/persons"): (
            analyst,
            "/api/v1/persons",
            {"json": {"list_name": "Forged", "full_name": "Forged Name"}},
        ),
        ("POST", "/api/v1/persons/review"): (
            analyst,
            "/api/v1/persons/review",
            {"json": {"a": "abcdef", "b": "abcdef01", "decision": "same"}},
        ),
        ("POST", "/persons/proposals/{claim_id}"): (analyst, "/persons/proposals/1", {"data": {"list_name": "F"}}),
        ("POST", "/api/v1/persons/proposals/{claim_id}"): (
            analyst,
            "/api/v1/persons/proposals/1",
            {"json": {"list_name": "Forged"}},
        ),
        # archive-to-archive sync, called from a signed-in browser rather than with a token
        ("POST", "/sync/v1/bundles"): (analyst, "/sync/v1/bundles", {"json": {"have": {}}}),
        ("DELETE", "/sync/v1/bundles/{bundle_id}"): (analyst, "/sync/v1/bundles/none", {}),
        ("POST", "/sync/v1/uploads"): (
            investigator,
            "/sync/v1/uploads",
            {"json": {"size": 3, "sha256": "0" * 64, "bundle_size": 3}},
        ),
        ("PUT", "/sync/v1/uploads/{upload_id}"): (
            investigator,
            "/sync/v1/uploads/none",
            {"headers": {"upload-offset": "0"}},
        ),
        ("POST", "/sync/v1/uploads/{upload_id}/import"): (investigator, "/sync/v1/uploads/none/import", {}),
    }
    # Field devices and SMS gateways never use cookies: a session cookie alone is refused there
    # (tests/web/test_openrosa_http.py, test_sms_http.py), so no CSRF token applies.
    cookieless = ("/submission", "/key/", "/sms/")
    unsafe = {
        (m, p)
        for p, m, _ in api_routes(team.app)
        if m in {"POST", "PUT", "PATCH", "DELETE"} and not p.startswith(cookieless)
    }
    assert unsafe == set(forms), f"state-changing routes without a CSRF check here: {unsafe ^ set(forms)}"
    other_session = team.session(Role.OBSERVER).csrf  # a real token, but another session's
    before = state(team)
    for (method, path), (who, url, kwargs) in forms.items():
        api = path.startswith(("/api/", "/sync/"))
        for token in (None, "", "wrong", other_session):
            data = dict(kwargs.get("data", {}))
            headers = dict(kwargs.get("headers", {}))
            if token is not None:
                if api:
                    headers["x-csrf-token"] = token
                else:
                    data["csrf_token"] = token
            request = {**kwargs, "headers": headers} | ({"data": data} if data or not api else {})
            if "json" in kwargs:
                request.pop("data", None)
            r = who.client.request(method, url, follow_redirects=False, **request)
            assert r.status_code == 403, f"{method} {url} with token {token!r}: {r.status_code} {r.text[:200]}"
    assert state(team) == before
    assert analyst.client.get("/items").status_code == 200  # the forged sign-out did not sign anyone out
    assert_verified(team)


DECISION_FIELDS = {"merge": {"other": "I-0000000001"}, "split": {"claim": "1"}, "attach": {"item": "0000"}}
DECISION_FIELDS["detach"] = DECISION_FIELDS["attach"]
DECISION_BODIES = {"merge": {"other": "I-0000000001"}, "split": {"claims": [1]}, "attach": {"item": "0000"}}
DECISION_BODIES["detach"] = DECISION_BODIES["attach"]
"""Decisions on incidents, well formed (so that only the missing token can refuse them)."""


def _claimed_item(team: Team) -> str:
    """A text whose claims the item page highlights, with a review form for each."""
    recorded = team.case.add_bytes(
        b"Police detained 40 people in Zhanaozen on 17 December 2011.", actor="t", channel="usb"
    )
    text_store.read_items(team.case, [recorded.sha256])
    return recorded.sha256


def _claim(team: Team) -> int:
    """A claim to review: read from a report added for the purpose."""
    text = "Police opened fire on protesters in Zhanaozen on 16 December 2011, killing at least 14 people."
    recorded = team.case.add_bytes(text.encode(), actor="tester", channel="usb")
    text_store.read_items(team.case, [recorded.sha256])
    return text_store.list_claims(team.case, item=team.case.resolve(recorded.sha256))[0].id


def test_login_is_rate_limited(team: Team) -> None:
    app = create_app(team.case, Settings(login_attempts=3))
    client = TestClient(app)
    client.get("/login")
    csrf = client.cookies.get("ff_csrf")

    def attempt(username: str, password: str) -> int:
        data = {"csrf_token": csrf, "username": username, "password": password}
        return client.post("/login", data=data, follow_redirects=False).status_code

    assert [attempt(USERS[Role.ANALYST], "guess number one") for _ in range(3)] == [401, 401, 401]
    assert attempt(USERS[Role.ANALYST], PASSWORD) == 429  # even the right password, once blocked
    r = client.post("/login", data={"csrf_token": csrf, "username": "someone-else", "password": "x"})
    assert r.status_code == 429 and "too many attempts" in r.text  # the address is blocked too


@pytest.mark.once_on_postgres  # templates and headers, the same on either database
@pytest.mark.parametrize(
    "target", ["//evil.example", "https://evil.example", "/\\evil.example", "\\\\evil.example", "///evil.example"]
)
def test_sign_in_never_redirects_elsewhere(team: Team, target: str) -> None:
    client = TestClient(team.app)
    page = client.get("/login", params={"next": target}).text
    assert "evil.example" not in page
    data = {"csrf_token": client.cookies.get("ff_csrf"), "username": USERS[Role.OBSERVER], "password": PASSWORD}
    r = client.post("/login", data={**data, "next": target}, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/case"


@pytest.mark.once_on_postgres  # templates and headers, the same on either database
def test_the_sign_in_redirect_keeps_local_pages(team: Team) -> None:
    r = TestClient(team.app).get("/items", params={"q": "x"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/items"


# -- headers and downloads ---------------------------------------------------------------------


def assert_security_headers(r: Any, what: str) -> None:
    csp = r.headers.get("content-security-policy", "")
    assert csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp, what
    assert "frame-ancestors 'none'" in csp or "sandbox" in csp, what
    assert r.headers.get("x-frame-options") == "DENY", what
    assert r.headers.get("referrer-policy") == "no-referrer", what
    assert r.headers.get("x-content-type-options") == "nosniff", what


@pytest.mark.once_on_postgres  # templates and headers, the same on either database
def test_security_headers_on_pages_api_static_and_errors(team: Team) -> None:
    anon = team.anon()
    analyst = team.members[Role.ANALYST]
    observer = team.members[Role.OBSERVER]
    boundary = "b0undary"
    responses = {
        "page": anon.client.get("/submit"),
        "signed-in page": analyst.client.get("/items"),
        "api": analyst.client.get("/api/v1/case"),
        "openapi": anon.client.get("/api/v1/openapi.json"),
        "static": anon.client.get("/static/upload.js"),
        "static 404": anon.client.get("/static/nothing.js"),
        "page 404": anon.client.get("/no/such/page"),
        "api 404": anon.client.get("/api/v1/uploads/nothing"),
        "api 401": anon.client.get("/api/v1/items"),
        "page redirect": anon.client.get("/items", follow_redirects=False),
        "403": observer.client.get("/log"),
        "405": anon.client.put("/submit"),
        "413": anon.client.post("/submit", content=b"\0" * (LIMIT + (2 << 20))),
        "400": anon.client.post(
            "/submit", content=b"--b0undary\r\n", headers={"content-type": f"multipart/form-data; boundary={boundary}"}
        ),
        "422": anon.client.get("/api/v1/receipts"),
    }
    expected = {"page 404": 404, "api 404": 404, "api 401": 401, "403": 403, "405": 405, "413": 413, "400": 400}
    for name, r in responses.items():
        assert r.status_code == expected.get(name, r.status_code), (name, r.status_code)
        assert_security_headers(r, name)


@pytest.mark.once_on_postgres  # templates and headers, the same on either database
def test_pages_carry_no_inline_script_or_style(team: Team) -> None:
    """The CSP forbids inline code, so a page that had any would break; a page with none cannot."""
    investigator = team.members[Role.INVESTIGATOR]
    sha = digests(submit(team.anon(), testimony="inline check", name="someone").text)[0]
    for who, url in [
        (team.anon(), "/submit"),
        (team.anon(), "/login"),
        (team.anon(), "/receipt"),
        (investigator, "/case"),
        (investigator, "/items"),
        (investigator, f"/items/{sha}"),
        (investigator, "/log"),
        (investigator, "/claims"),
        (investigator, f"/items/{_claimed_item(team)}"),
        (investigator, "/account"),
        (team.members[Role.ADMIN], "/users"),
    ]:
        html = who.client.get(url).text
        assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", html), url
        assert not re.search(r"\son[a-z]+\s*=", html), url
        assert not re.search(r"\sstyle\s*=", html), url
        assert "http://" not in html and "https://" not in html, url  # nothing from other sites


@pytest.mark.once_on_postgres  # templates and headers, the same on either database
def test_originals_are_downloads_never_rendered(team: Team) -> None:
    anon = team.anon()
    files = [
        ("files", ("page.html", b"<!doctype html><html><body><script>alert(document.cookie)</script>")),
        ("files", ("image.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>')),
    ]
    shas = digests(submit(anon, files=files).text)
    assert len(shas) == 2
    investigator = team.members[Role.INVESTIGATOR]
    team.case.publish(shas[0], actor="tester")
    callers = [investigator.client, team.members[Role.OBSERVER].client]
    for sha in shas:
        for url in (f"/items/{sha}/original", f"/api/v1/items/{sha}/original"):
            for client in callers[: 2 if sha == shas[0] else 1]:
                r = client.get(url)
                assert r.status_code == 200, url
                assert r.headers["content-type"] == "application/octet-stream", url
                assert r.headers["content-disposition"].startswith("attachment"), url
                assert_security_headers(r, url)
        assert investigator.client.get(f"/items/{sha}/preview").status_code == 404


def test_server_errors_keep_the_security_headers_and_say_nothing_inside(
    web_case: Case, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(web_case, Settings())

    def explode() -> None:
        raise RuntimeError("/secret/path witness=Placeholder")

    app.add_api_route("/explode", explode)
    app.add_api_route("/key/{token}/explode", explode)  # a device link: the token is in the path
    client = TestClient(app, raise_server_exceptions=False)
    r = client.get("/explode")
    assert r.status_code == 500
    assert "Placeholder" not in r.text and "/secret" not in r.text
    with caplog.at_level("ERROR"):
        assert client.get("/key/device-token-0123456789/explode").status_code == 500
    assert "/key/{token}/explode" in caplog.text
    assert "device-token-0123456789" not in caplog.text and "Placeholder" not in caplog.text
    assert r.headers["x-frame-options"] == "DENY"
    assert "unsafe-inline" not in r.headers["content-security-policy"]
    assert r.headers["referrer-policy"] == "no-referrer"
