"""The authorization matrix: every route of the app, called by every kind of caller.

The routes come from the app itself, so a route added without an entry here
fails the test; whether a call must pass or be refused comes from
``factfinder.permissions.allows`` and the permission the route's guard names.
"""

from __future__ import annotations

import hashlib
import re
import struct
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient
from pyrage import x25519
from twilio.request_validator import RequestValidator

from factfinder import accounts
from factfinder.findings import store as findings_store
from factfinder.intake import bundles, origins, uploads, webform
from factfinder.intake import sync as sync_client
from factfinder.media import redact, scan
from factfinder.permissions import Permission, Role, allows
from factfinder.text import store as text_store
from factfinder.vault import audit
from factfinder.web import sync as web_sync
from factfinder.web.app import JSON_PREFIXES, api_routes, route_permission
from factfinder.web.auth import Caller, need
from tests.web.conftest import TEAM_SETTINGS, Member, Team

CONTACT = {"witness_name": "Placeholder Aigul Matrix", "witness_phone": "+7 700 555 0101"}
ZHANAOZEN = "Police opened fire on protesters in Zhanaozen on 16 December 2011, killing at least 14 people."
SECOND = "Security forces shot at striking oil workers in Zhanaozen on 16 December 2011."  # the same incident


def tiny_png() -> bytes:
    """A valid 1x1 PNG, so that the preview route has an image to serve."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0\0\0\0")) + chunk(b"IEND", b"")
    )


@dataclass
class Fixture:
    """What the matrix's requests point at: a published photo with sealed contact details, a user to disable,
    and a media cluster of two published photos."""

    team: Team
    sha: str
    log_index: int
    target_user: int
    identity: str
    cluster_id: int
    text_sha: str
    claim_id: int
    second_sha: str
    seen: set[tuple[str, str]] = field(default_factory=set)
    counter: int = 0

    def unique(self) -> int:
        self.counter += 1
        return self.counter


@pytest.fixture(scope="module")
def world(team: Team, testdata: Path) -> Fixture:
    case = team.case
    photo = case.blobs.put_bytes(tiny_png())
    [recorded] = webform.submit(case, webform.Submission("", files=[(photo, "photo.png")], contact=CONTACT))
    pair = [
        case.add_bytes((testdata / "pdq" / "bridge-mods" / name).read_bytes(), actor="tester", channel="usb")
        for name in ("aaa-orig.jpg", "blur-a-little.jpg")
    ]
    scan.scan_case(case, workers=1)  # thumbnails, and a cluster of the two bridge photos
    for sha in [recorded.sha256, *(p.sha256 for p in pair)]:
        case.publish(sha, actor="tester")
        redact.make_redacted_copy(case, case.resolve(sha), actor="tester")  # what observers download
    target = accounts.add_user(case.engine, "target", "another long password", Role.OBSERVER)
    identity = (case.path / "keys" / "witness-identity.age").read_text()
    cluster_id = min(case.resolve(p.sha256).id for p in pair)
    report = ZHANAOZEN.encode()
    text = case.add_bytes(report, actor="tester", channel="usb", collected_at_claimed="2011-12-20")
    second = case.add_bytes(SECOND.encode(), actor="tester", channel="usb", collected_at_claimed="2011-12-20")
    for sha in (text.sha256, second.sha256):
        case.publish(sha, actor="tester")
    text_store.read_items(case, [text.sha256, second.sha256])
    claim_id = text_store.list_claims(case, item=case.resolve(text.sha256))[0].id
    return Fixture(
        team, recorded.sha256, recorded.log_index, target.id, identity, cluster_id, text.sha256, claim_id, second.sha256
    )


# -- one request per route: what to send, and the status an allowed caller gets ----------------


@dataclass
class Call:
    method: str
    url: str
    ok: int
    kwargs: dict[str, Any] = field(default_factory=dict)
    fresh: bool = False  # send from a new session of the same caller (for sign-out)


def _form(who: Member, **fields: Any) -> dict[str, Any]:
    return {"data": {**({"csrf_token": who.csrf} if who.csrf else {}), **fields}}


def _api(who: Member, **kwargs: Any) -> dict[str, Any]:
    headers = {"x-csrf-token": who.csrf} if who.csrf and who.account else {}
    return {"headers": headers | kwargs.pop("headers", {}), **kwargs}


def _upload(w: Fixture, data: bytes = b"", *, complete: bool = False) -> str:
    s = uploads.create(w.team.case, 3, "a.txt", 1 << 20)
    if data:
        uploads.append(w.team.case, s.id, 0, data)
    if complete:
        uploads.complete(w.team.case, s.id, hashlib.sha256(data).hexdigest())
    return s.id


def _own_token(w: Fixture, who: Member) -> int:
    if who.account is None:
        return 1
    accounts.create_token(w.team.case.engine, who.account, "to revoke")
    return max(t.id for t in accounts.list_tokens(w.team.case.engine, who.account) if not t.revoked)


def _incident(w: Fixture, *, whole: bool) -> tuple[str, str, list[int]]:
    """The incident of the two Zhanaozen reports, merged (``whole``) or split in two first, so that every
    caller's merge or split has something to do: (its name, the other's name, the second report's claims)."""
    case = w.team.case

    def where() -> tuple[str, str, list[int]]:
        incidents = findings_store.findings(case).incidents
        first = next(i for i in incidents if any(r.item_sha256 == w.text_sha for r in i.records))
        second = next(i for i in incidents if any(r.item_sha256 == w.second_sha for r in i.records))
        return first.ref, second.ref, [r.claim_id for r in second.records if r.item_sha256 == w.second_sha]

    first, second, claims = where()
    if whole and first != second:
        findings_store.merge(case, first, second, actor="tester")
    elif not whole and first == second:
        findings_store.split(case, first, claims, actor="tester")
    return where()


def _merge(w: Fixture, who: Member, *, api: bool) -> Call:
    into, other, _ = _incident(w, whole=False)
    if api:
        return Call("POST", f"/api/v1/incidents/{into}/merge", 201, _api(who, json={"other": other}))
    return Call("POST", f"/incidents/{into}/merge", 303, _form(who, other=other))


def _split(w: Fixture, who: Member, *, api: bool) -> Call:
    ref, _, claims = _incident(w, whole=True)
    if api:
        return Call("POST", f"/api/v1/incidents/{ref}/split", 201, _api(who, json={"claims": claims}))
    return Call("POST", f"/incidents/{ref}/split", 303, _form(who, claim=claims))


def _attached(w: Fixture) -> str:
    """The incident, with the photo attached to it (for a detach to take off)."""
    ref = _incident(w, whole=True)[0]
    findings_store.attach(w.team.case, ref, w.sha, actor="tester")
    return ref


def _persons(w: Fixture) -> tuple[str, str, str]:
    """Two person records for the register routes (made once): their digests, and the first one's person."""
    from factfinder.findings.persons import store as persons_store
    from factfinder.findings.persons.model import PersonRecord

    case = w.team.case
    found = [r for r in persons_store.records(case) if r.list_name == "Matrix list (invented)"][:2]
    if len(found) < 2:
        for name in ("Placeholder Matrixov Arman", "Плейсхолдеров Арман"):
            record = PersonRecord(full_name=name, status="detained")
            persons_store.add_record(case, record, list_name="Matrix list (invented)", actor="tester")
        found = [r for r in persons_store.records(case) if r.list_name == "Matrix list (invented)"][:2]
    a, b = found
    # A person is named after their first record: the first of these two, whatever linkage makes of them.
    return a.sha256, b.sha256, f"P-{a.sha256[:10]}"


def _person_entry(w: Fixture, who: Member, *, api: bool) -> Call:
    fields = {
        "list_name": "Matrix list (invented)",
        "full_name": f"Placeholder Entry {w.unique()}",
        "status": "detained",
    }
    if api:
        return Call("POST", "/api/v1/persons", 201, _api(who, json=fields))
    return Call("POST", "/persons", 303, _form(who, **fields))


def _person_import(w: Fixture, who: Member) -> Call:
    data = f"ФИО;Статус\nPlaceholder Import {w.unique()};задержан\n".encode()
    fields = _form(who, list_name="Matrix imports (invented)", source_type="ngo")
    return Call("POST", "/persons/import", 303, {**fields, "files": {"file": ("list.csv", data, "text/csv")}})


def _person_review(w: Fixture, who: Member, *, api: bool) -> Call:
    a, b, _ = _persons(w)
    if api:
        return Call("POST", "/api/v1/persons/review", 201, _api(who, json={"a": a, "b": b, "decision": "different"}))
    return Call("POST", "/persons/review", 303, _form(who, a=a, b=b, decision="different"))


def _proposal_accept(w: Fixture, who: Member, *, api: bool) -> Call:
    """A fresh text naming a victim, read, so that its proposal can be accepted once."""
    from factfinder.findings.persons import proposals
    from factfinder.text import store as text_store

    case = w.team.case
    text = f"Report {w.unique()}: Yerlan Zhumabayev, 34, was shot dead by police in Zhanaozen on 16 December 2011."
    rec = case.add_bytes(text.encode(), actor="tester", original_name="named.txt", collected_at_claimed="2011-12-20")
    text_store.read_items(case, [rec.sha256])
    claim = next(p.claim_id for p in proposals.proposals(case) if p.item_sha256 == rec.sha256)
    if api:
        return Call("POST", f"/api/v1/persons/proposals/{claim}", 201, _api(who, json={}))
    return Call("POST", f"/persons/proposals/{claim}", 303, _form(who))


def _sync_upload(w: Fixture, *, importable: bool = False) -> str:
    """A push upload; ``importable``: complete, holding a bundle of nothing new (so its import answers 200)."""
    case = w.team.case
    if not importable:
        announced = web_sync.UploadRequest(size=3, sha256="0" * 64, bundle_size=3)
        return web_sync.new_upload(case, announced)
    plain, packed = case.blobs.tmp / f"authz-{w.unique()}.bundle", case.blobs.tmp / f"authz-{w.unique()}.gz"
    have = {name: o.size for name, o in origins.held(case).items()}
    info = bundles.export_bundle(case, plain, have=have, recipients=None, for_archive=case.log.origin)
    size, digest = sync_client.pack(plain, packed)
    upload_id = web_sync.new_upload(case, web_sync.UploadRequest(size=size, sha256=digest, bundle_size=info.size))
    packed.replace(web_sync.incoming_path(case, upload_id))
    plain.unlink()
    return upload_id


def _sync_bundle(w: Fixture) -> str:
    """A bundle spooled for fetching (its bytes do not matter to who may fetch it)."""
    bundle_id = f"authz-bundle-{w.unique():08d}"
    web_sync.outgoing_path(w.team.case, bundle_id).write_bytes(b"spooled")
    return bundle_id


def _twilio(w: Fixture, who: Member) -> Call:
    """A Twilio webhook signed as Twilio signs it; the caller's cookies or token change nothing."""
    params = {
        "From": "+7 700 555 0102",
        "Body": f"matrix sms {who.name} {w.unique()}",
        "MessageSid": f"SM{w.unique():032d}",
    }
    assert TEAM_SETTINGS.twilio_auth_token
    sig = RequestValidator(TEAM_SETTINGS.twilio_auth_token).compute_signature("http://testserver/sms/twilio", params)
    return Call("POST", "/sms/twilio", 200, {"data": params, "headers": {"X-Twilio-Signature": sig}})


Recipe = Callable[[Fixture, Member], Call]
OPENROSA = {"headers": {"X-OpenRosa-Version": "1.0"}}
RECIPES: dict[tuple[str, str], Recipe] = {
    ("GET", "/"): lambda w, who: Call("GET", "/", 303),
    ("GET", "/submit"): lambda w, who: Call("GET", "/submit", 200),
    ("POST", "/submit"): lambda w, who: Call(
        "POST", "/submit", 200, _form(who, testimony=f"matrix testimony {who.name} {w.unique()}")
    ),
    ("GET", "/receipt"): lambda w, who: Call("GET", "/receipt", 200),
    ("GET", "/receipt/proof"): lambda w, who: Call(
        "GET", "/receipt/proof", 200, {"params": {"entry": w.log_index, "digest": w.sha}}
    ),
    ("GET", "/login"): lambda w, who: Call("GET", "/login", 200),
    ("POST", "/login"): lambda w, who: Call(
        "POST", "/login", 401, _form(who, username="nobody", password="not the password")
    ),
    ("POST", "/logout"): lambda w, who: Call("POST", "/logout", 303, _form(who), fresh=True),
    ("GET", "/case"): lambda w, who: Call("GET", "/case", 200),
    ("GET", "/items"): lambda w, who: Call("GET", "/items", 200),
    ("GET", "/items/{ref}"): lambda w, who: Call("GET", f"/items/{w.sha}", 200),
    ("GET", "/items/{ref}/original"): lambda w, who: Call("GET", f"/items/{w.sha}/original", 200),
    ("GET", "/items/{ref}/preview"): lambda w, who: Call("GET", f"/items/{w.sha}/preview", 200),
    ("GET", "/items/{ref}/proof"): lambda w, who: Call("GET", f"/items/{w.sha}/proof", 200),
    ("GET", "/items/{ref}/thumbnail"): lambda w, who: Call("GET", f"/items/{w.sha}/thumbnail", 200),
    ("GET", "/media/clusters"): lambda w, who: Call("GET", "/media/clusters", 200),
    ("GET", "/media/clusters/{cluster_id}"): lambda w, who: Call("GET", f"/media/clusters/{w.cluster_id}", 200),
    ("POST", "/items/{ref}/reveal"): lambda w, who: Call(
        "POST", f"/items/{w.sha}/reveal", 200, {**_form(who), "files": {"identity": ("key.age", w.identity)}}
    ),
    ("POST", "/items/{ref}/publish"): lambda w, who: Call("POST", f"/items/{w.sha}/publish", 303, _form(who)),
    ("GET", "/add"): lambda w, who: Call("GET", "/add", 200),
    ("POST", "/add"): lambda w, who: Call(
        "POST",
        "/add",
        200,
        {**_form(who, source="usb stick"), "files": {"files": ("clip.bin", f"clip {w.unique()}".encode())}},
    ),
    ("GET", "/claims"): lambda w, who: Call("GET", "/claims", 200),
    ("POST", "/claims/{claim_id}/review"): lambda w, who: Call(
        "POST", f"/claims/{w.claim_id}/review", 303, _form(who, decision="confirmed")
    ),
    ("GET", "/log"): lambda w, who: Call("GET", "/log", 200),
    ("GET", "/incidents"): lambda w, who: Call("GET", "/incidents", 200),
    ("GET", "/incidents/{ref}"): lambda w, who: Call("GET", f"/incidents/{_incident(w, whole=True)[0]}", 200),
    ("GET", "/counts"): lambda w, who: Call("GET", "/counts", 200),
    ("GET", "/timeline"): lambda w, who: Call("GET", "/timeline", 200),
    ("GET", "/map"): lambda w, who: Call("GET", "/map", 200),
    ("GET", "/report"): lambda w, who: Call("GET", "/report", 200),
    ("GET", "/report.pdf"): lambda w, who: Call("GET", "/report.pdf", 200),
    ("POST", "/incidents/{ref}/merge"): lambda w, who: _merge(w, who, api=False),
    ("POST", "/incidents/{ref}/split"): lambda w, who: _split(w, who, api=False),
    ("POST", "/incidents/{ref}/attach"): lambda w, who: Call(
        "POST", f"/incidents/{_incident(w, whole=True)[0]}/attach", 303, _form(who, item=w.sha)
    ),
    ("POST", "/incidents/{ref}/detach"): lambda w, who: Call(
        "POST", f"/incidents/{_attached(w)}/detach", 303, _form(who, item=w.sha)
    ),
    ("GET", "/users"): lambda w, who: Call("GET", "/users", 200),
    ("POST", "/users"): lambda w, who: Call(
        "POST", "/users", 303, _form(who, username=f"new{w.unique()}", password="x" * 12, role="observer")
    ),
    ("POST", "/users/{user_id}/disable"): lambda w, who: Call(
        "POST", f"/users/{w.target_user}/disable", 303, _form(who)
    ),
    ("POST", "/users/{user_id}/enable"): lambda w, who: Call("POST", f"/users/{w.target_user}/enable", 303, _form(who)),
    ("GET", "/account"): lambda w, who: Call("GET", "/account", 200),
    ("POST", "/account/tokens"): lambda w, who: Call("POST", "/account/tokens", 200, _form(who, label="matrix")),
    ("POST", "/account/tokens/{token_id}/revoke"): lambda w, who: Call(
        "POST", f"/account/tokens/{_own_token(w, who)}/revoke", 303, _form(who)
    ),
    ("GET", "/api/v1/case"): lambda w, who: Call("GET", "/api/v1/case", 200),
    ("GET", "/api/v1/items"): lambda w, who: Call("GET", "/api/v1/items", 200),
    ("GET", "/api/v1/items/{ref}"): lambda w, who: Call("GET", f"/api/v1/items/{w.sha}", 200),
    ("GET", "/api/v1/items/{ref}/original"): lambda w, who: Call("GET", f"/api/v1/items/{w.sha}/original", 200),
    ("GET", "/api/v1/items/{ref}/proof"): lambda w, who: Call("GET", f"/api/v1/items/{w.sha}/proof", 200),
    ("GET", "/api/v1/items/{ref}/media"): lambda w, who: Call("GET", f"/api/v1/items/{w.sha}/media", 200),
    ("GET", "/api/v1/media/clusters"): lambda w, who: Call("GET", "/api/v1/media/clusters", 200),
    ("GET", "/api/v1/media/clusters/{cluster_id}"): lambda w, who: Call(
        "GET", f"/api/v1/media/clusters/{w.cluster_id}", 200
    ),
    ("POST", "/api/v1/items/{ref}/publish"): lambda w, who: Call(
        "POST", f"/api/v1/items/{w.sha}/publish", 200, _api(who)
    ),
    ("GET", "/api/v1/items/{ref}/claims"): lambda w, who: Call("GET", f"/api/v1/items/{w.text_sha}/claims", 200),
    ("GET", "/api/v1/claims"): lambda w, who: Call("GET", "/api/v1/claims", 200),
    ("POST", "/api/v1/claims/{claim_id}/review"): lambda w, who: Call(
        "POST", f"/api/v1/claims/{w.claim_id}/review", 201, _api(who, json={"decision": "confirmed"})
    ),
    ("GET", "/api/v1/log"): lambda w, who: Call("GET", "/api/v1/log", 200),
    ("GET", "/api/v1/incidents"): lambda w, who: Call("GET", "/api/v1/incidents", 200),
    ("GET", "/api/v1/incidents/{ref}"): lambda w, who: Call(
        "GET", f"/api/v1/incidents/{_incident(w, whole=True)[0]}", 200
    ),
    ("GET", "/api/v1/counts"): lambda w, who: Call("GET", "/api/v1/counts", 200),
    ("POST", "/api/v1/incidents/{ref}/merge"): lambda w, who: _merge(w, who, api=True),
    ("POST", "/api/v1/incidents/{ref}/split"): lambda w, who: _split(w, who, api=True),
    ("POST", "/api/v1/incidents/{ref}/attach"): lambda w, who: Call(
        "POST", f"/api/v1/incidents/{_incident(w, whole=True)[0]}/attach", 201, _api(who, json={"item": w.sha})
    ),
    ("POST", "/api/v1/incidents/{ref}/detach"): lambda w, who: Call(
        "POST", f"/api/v1/incidents/{_attached(w)}/detach", 201, _api(who, json={"item": w.sha})
    ),
    ("POST", "/api/v1/items"): lambda w, who: Call(
        "POST", "/api/v1/items", 201, _api(who, json={"uploads": [_upload(w, b"abc", complete=True)]})
    ),
    ("POST", "/api/v1/items/{ref}/reveal"): lambda w, who: Call(
        "POST", f"/api/v1/items/{w.sha}/reveal", 200, _api(who, json={"identity": w.identity})
    ),
    ("POST", "/api/v1/uploads"): lambda w, who: Call(
        "POST", "/api/v1/uploads", 201, _api(who, json={"size": 3, "filename": "a.txt"})
    ),
    ("GET", "/api/v1/uploads/{upload_id}"): lambda w, who: Call("GET", f"/api/v1/uploads/{_upload(w)}", 200),
    ("PATCH", "/api/v1/uploads/{upload_id}"): lambda w, who: Call(
        "PATCH", f"/api/v1/uploads/{_upload(w)}", 200, _api(who, content=b"abc", headers={"upload-offset": "0"})
    ),
    ("POST", "/api/v1/uploads/{upload_id}/complete"): lambda w, who: Call(
        "POST",
        f"/api/v1/uploads/{_upload(w, b'abc')}/complete",
        200,
        _api(who, json={"sha256": hashlib.sha256(b"abc").hexdigest()}),
    ),
    ("POST", "/api/v1/submissions"): lambda w, who: Call(
        "POST", "/api/v1/submissions", 201, _api(who, json={"testimony": f"api testimony {w.unique()}"})
    ),
    ("GET", "/api/v1/receipts"): lambda w, who: Call(
        "GET", "/api/v1/receipts", 200, {"params": {"entry": w.log_index, "digest": w.sha}}
    ),
    ("GET", "/persons"): lambda w, who: Call("GET", "/persons", 200),
    ("GET", "/persons/new"): lambda w, who: Call("GET", "/persons/new", 200),
    ("POST", "/persons"): lambda w, who: _person_entry(w, who, api=False),
    ("POST", "/persons/import"): lambda w, who: _person_import(w, who),
    ("GET", "/persons/review"): lambda w, who: Call("GET", "/persons/review", 200),
    ("GET", "/persons/review/{a}/{b}"): lambda w, who: Call(
        "GET", "/persons/review/{}/{}".format(*_persons(w)[:2]), 200
    ),
    ("POST", "/persons/review"): lambda w, who: _person_review(w, who, api=False),
    ("GET", "/persons/{ref}"): lambda w, who: Call("GET", f"/persons/{_persons(w)[2]}", 200),
    ("GET", "/estimate"): lambda w, who: Call("GET", "/estimate", 200),
    ("GET", "/api/v1/persons"): lambda w, who: Call("GET", "/api/v1/persons", 200),
    ("GET", "/api/v1/persons/queue"): lambda w, who: Call("GET", "/api/v1/persons/queue", 200),
    ("GET", "/api/v1/persons/{ref}"): lambda w, who: Call("GET", f"/api/v1/persons/{_persons(w)[2]}", 200),
    ("POST", "/api/v1/persons"): lambda w, who: _person_entry(w, who, api=True),
    ("POST", "/api/v1/persons/review"): lambda w, who: _person_review(w, who, api=True),
    ("GET", "/persons/proposals"): lambda w, who: Call("GET", "/persons/proposals", 200),
    ("POST", "/persons/proposals/{claim_id}"): lambda w, who: _proposal_accept(w, who, api=False),
    ("GET", "/api/v1/persons/proposals"): lambda w, who: Call("GET", "/api/v1/persons/proposals", 200),
    ("POST", "/api/v1/persons/proposals/{claim_id}"): lambda w, who: _proposal_accept(w, who, api=True),
    ("GET", "/api/v1/estimate"): lambda w, who: Call("GET", "/api/v1/estimate", 200),
    ("GET", "/sync/v1/state"): lambda w, who: Call("GET", "/sync/v1/state", 200),
    ("POST", "/sync/v1/bundles"): lambda w, who: Call(
        "POST",
        "/sync/v1/bundles",
        200,  # the caller holds all of it: nothing to spool
        _api(who, json={"have": {n: o.size for n, o in origins.held(w.team.case).items()}}),
    ),
    ("GET", "/sync/v1/bundles/{bundle_id}"): lambda w, who: Call("GET", f"/sync/v1/bundles/{_sync_bundle(w)}", 200),
    ("DELETE", "/sync/v1/bundles/{bundle_id}"): lambda w, who: Call(
        "DELETE", f"/sync/v1/bundles/{_sync_bundle(w)}", 204, _api(who)
    ),
    ("POST", "/sync/v1/uploads"): lambda w, who: Call(
        "POST", "/sync/v1/uploads", 201, _api(who, json={"size": 3, "sha256": "0" * 64, "bundle_size": 3})
    ),
    ("GET", "/sync/v1/uploads/{upload_id}"): lambda w, who: Call("GET", f"/sync/v1/uploads/{_sync_upload(w)}", 200),
    ("PUT", "/sync/v1/uploads/{upload_id}"): lambda w, who: Call(
        "PUT", f"/sync/v1/uploads/{_sync_upload(w)}", 200, _api(who, content=b"abc", headers={"upload-offset": "0"})
    ),
    ("POST", "/sync/v1/uploads/{upload_id}/import"): lambda w, who: Call(
        "POST", f"/sync/v1/uploads/{_sync_upload(w, importable=True)}/import", 200, _api(who)
    ),
    ("POST", "/sms/twilio"): _twilio,
    ("POST", "/sms/rapidpro/{secret}"): lambda w, who: Call(
        "POST",
        f"/sms/rapidpro/{TEAM_SETTINGS.rapidpro_secret}",
        200,
        {"data": {"from": "+7 700 555 0102", "text": f"matrix sms {who.name} {w.unique()}"}},
    ),
    # OpenRosa: no session or bearer token counts; a device proves itself by Digest or a token in the URL.
    **{
        (method, prefix + path): (lambda w, who, m=method, u=device + url, s=status: Call(m, u, s, OPENROSA))
        for method, path, url in [
            ("GET", "/formList", "/formList"),
            ("GET", "/forms/{form_id}/form.xml", "/forms/testimony/form.xml"),
            ("GET", "/forms/{form_id}/manifest", "/forms/testimony/manifest"),
            ("GET", "/forms/{form_id}/media/{name}", "/forms/testimony/media/map.png"),
            ("HEAD", "/submission", "/submission"),
            ("POST", "/submission", "/submission"),
        ]
        for prefix, device, status in [("", "", 401), ("/key/{token}", "/key/not-a-token", 403)]
    },
}

P = Permission
# What each route must demand, written out here so that a guard weakened in the code fails this test.
PERMISSIONS: dict[tuple[str, str], Permission] = {
    ("GET", "/sync/v1/state"): Permission.VIEW_EVIDENCE,
    **dict.fromkeys(  # a pull is a replica, sealed answers in clear in the originals among it
        [
            ("POST", "/sync/v1/bundles"),
            ("GET", "/sync/v1/bundles/{bundle_id}"),
            ("DELETE", "/sync/v1/bundles/{bundle_id}"),
        ],
        Permission.REVEAL_PROTECTED,
    ),
    **dict.fromkeys(
        [
            ("POST", "/sync/v1/uploads"),
            ("GET", "/sync/v1/uploads/{upload_id}"),
            ("PUT", "/sync/v1/uploads/{upload_id}"),
            ("POST", "/sync/v1/uploads/{upload_id}/import"),
        ],
        Permission.ADD_EVIDENCE,
    ),
    **{
        key: P.PUBLIC
        for key in [
            ("GET", "/"),
            ("GET", "/submit"),
            ("POST", "/submit"),
            ("GET", "/receipt"),
            ("GET", "/receipt/proof"),
            ("GET", "/login"),
            ("POST", "/login"),
            ("POST", "/api/v1/uploads"),
            ("GET", "/api/v1/uploads/{upload_id}"),
            ("PATCH", "/api/v1/uploads/{upload_id}"),
            ("POST", "/api/v1/uploads/{upload_id}/complete"),
            ("POST", "/api/v1/submissions"),
            ("GET", "/api/v1/receipts"),
            ("POST", "/sms/twilio"),
            ("POST", "/sms/rapidpro/{secret}"),
            *[
                (method, prefix + path)
                for method, path in [
                    ("GET", "/formList"),
                    ("GET", "/forms/{form_id}/form.xml"),
                    ("GET", "/forms/{form_id}/manifest"),
                    ("GET", "/forms/{form_id}/media/{name}"),
                    ("HEAD", "/submission"),
                    ("POST", "/submission"),
                ]
                for prefix in ("", "/key/{token}")
            ],
        ]
    },
    **{
        key: P.SIGNED_IN
        for key in [
            ("POST", "/logout"),
            ("GET", "/account"),
            ("POST", "/account/tokens"),
            ("POST", "/account/tokens/{token_id}/revoke"),
        ]
    },
    **{
        key: P.VIEW_PUBLISHED
        for key in [
            ("GET", "/case"),
            ("GET", "/items"),
            ("GET", "/items/{ref}"),
            ("GET", "/items/{ref}/original"),
            ("GET", "/items/{ref}/preview"),
            ("GET", "/items/{ref}/proof"),
            ("GET", "/items/{ref}/thumbnail"),
            ("GET", "/media/clusters"),
            ("GET", "/media/clusters/{cluster_id}"),
            ("GET", "/api/v1/case"),
            ("GET", "/api/v1/items"),
            ("GET", "/api/v1/items/{ref}"),
            ("GET", "/api/v1/items/{ref}/original"),
            ("GET", "/api/v1/items/{ref}/proof"),
            ("GET", "/api/v1/items/{ref}/media"),
            ("GET", "/api/v1/media/clusters"),
            ("GET", "/api/v1/media/clusters/{cluster_id}"),
            ("GET", "/claims"),
            ("GET", "/api/v1/items/{ref}/claims"),
            ("GET", "/api/v1/claims"),
            ("GET", "/incidents"),
            ("GET", "/incidents/{ref}"),
            ("GET", "/counts"),
            ("GET", "/timeline"),
            ("GET", "/map"),
            ("GET", "/report"),
            ("GET", "/report.pdf"),
            ("GET", "/api/v1/incidents"),
            ("GET", "/api/v1/incidents/{ref}"),
            ("GET", "/api/v1/counts"),
        ]
    },
    **{
        key: P.DECIDE_INCIDENTS
        for key in [
            ("POST", "/incidents/{ref}/merge"),
            ("POST", "/incidents/{ref}/split"),
            ("POST", "/incidents/{ref}/attach"),
            ("POST", "/incidents/{ref}/detach"),
            ("POST", "/api/v1/incidents/{ref}/merge"),
            ("POST", "/api/v1/incidents/{ref}/split"),
            ("POST", "/api/v1/incidents/{ref}/attach"),
            ("POST", "/api/v1/incidents/{ref}/detach"),
        ]
    },
    **{
        key: P.VIEW_REGISTER
        for key in [
            ("GET", "/persons"),
            ("GET", "/persons/review"),
            ("GET", "/persons/review/{a}/{b}"),
            ("GET", "/persons/{ref}"),
            ("GET", "/estimate"),
            ("GET", "/api/v1/persons"),
            ("GET", "/api/v1/persons/queue"),
            ("GET", "/api/v1/persons/{ref}"),
            ("GET", "/api/v1/estimate"),
        ]
    },
    **{
        key: P.RECORD_PERSONS
        for key in [
            ("GET", "/persons/new"),
            ("POST", "/persons"),
            ("POST", "/persons/import"),
            ("POST", "/api/v1/persons"),
            ("GET", "/persons/proposals"),
            ("POST", "/persons/proposals/{claim_id}"),
            ("GET", "/api/v1/persons/proposals"),
            ("POST", "/api/v1/persons/proposals/{claim_id}"),
        ]
    },
    ("POST", "/persons/review"): P.REVIEW_LINKS,
    ("POST", "/api/v1/persons/review"): P.REVIEW_LINKS,
    ("POST", "/claims/{claim_id}/review"): P.REVIEW_CLAIMS,
    ("POST", "/api/v1/claims/{claim_id}/review"): P.REVIEW_CLAIMS,
    ("GET", "/log"): P.VIEW_EVIDENCE,
    ("GET", "/api/v1/log"): P.VIEW_EVIDENCE,
    ("POST", "/items/{ref}/reveal"): P.REVEAL_PROTECTED,
    ("POST", "/items/{ref}/publish"): P.PUBLISH,
    ("POST", "/api/v1/items/{ref}/publish"): P.PUBLISH,
    ("GET", "/add"): P.ADD_EVIDENCE,
    ("POST", "/api/v1/items"): P.ADD_EVIDENCE,
    ("POST", "/api/v1/items/{ref}/reveal"): P.REVEAL_PROTECTED,
    ("POST", "/add"): P.ADD_EVIDENCE,
    **{
        key: P.MANAGE_USERS
        for key in [
            ("GET", "/users"),
            ("POST", "/users"),
            ("POST", "/users/{user_id}/disable"),
            ("POST", "/users/{user_id}/enable"),
        ]
    },
}

CALLERS = ["anonymous", *[r.value for r in Role], "analyst token"]


def _caller(team: Team, name: str) -> tuple[Member, Role | None]:
    if name == "anonymous":
        return team.anon(), None
    if name == "analyst token":
        return team.bearer(Role.ANALYST), Role.ANALYST
    return team.members[Role(name)], Role(name)


def _refused(path: str, who: Member, status: int, headers: Mapping[str, str]) -> bool:
    if who.account is None:
        if path.startswith(JSON_PREFIXES):
            return status == 401 and headers.get("www-authenticate") == "Bearer"
        return status == 303 and headers.get("location", "").startswith("/login?next=")
    return status == 403


@pytest.fixture
def _quick_pdf(monkeypatch: pytest.MonkeyPatch) -> None:
    """The report's PDF is laid out in seconds by WeasyPrint (tested in tests/reports and the findings pages):
    here only who may download it matters, so a stand-in writes it."""
    from factfinder.reports import report

    def stand_in(findings: object, path: Path, *, redacted: bool = False) -> Path:
        Path(path).write_bytes(b"%PDF-1.7 stand-in")
        return Path(path)

    monkeypatch.setattr(report, "write_pdf", stand_in)


@pytest.mark.usefixtures("_quick_pdf")
# Who may call a route is decided before the database is touched; what a route does with the database is the
# same for every caller it lets in. So the PostgreSQL run checks the matrix for the investigator alone, the role
# allowed the most routes (each one run there against the server), and the SQLite run checks every caller.
@pytest.mark.parametrize(
    "caller_name",
    [c if c == "investigator" else pytest.param(c, marks=pytest.mark.once_on_postgres) for c in CALLERS],
)
def test_every_route_allows_exactly_the_roles_the_matrix_grants(team: Team, world: Fixture, caller_name: str) -> None:
    who, role = _caller(team, caller_name)
    routes = api_routes(team.app)
    assert len(routes) >= 35  # the enumeration sees the included routers, not just the app's own routes
    missing = [(method, path) for path, method, _ in routes if (method, path) not in RECIPES]
    assert not missing, f"routes with no entry in the authorization test: {missing}"
    assert set(PERMISSIONS) == set(RECIPES)
    stale = set(RECIPES) - {(method, path) for path, method, _ in routes}
    assert not stale, f"entries for routes the app no longer has: {stale}"
    wrong = []
    for path, method, route in routes:
        permission = route_permission(route)
        assert permission == PERMISSIONS[(method, path)], f"{method} {path} demands {permission}"
        call = RECIPES[(method, path)](world, who)
        client = who.client
        if call.fresh and who.account is not None and not who.via_token:
            fresh = team.session(Role(caller_name))
            call, client = RECIPES[(method, path)](world, fresh), fresh.client
        r = client.request(call.method, call.url, follow_redirects=False, **call.kwargs)
        expected = allows(role, permission)
        if expected and r.status_code != call.ok:
            wrong.append(f"{method} {path}: allowed, wanted {call.ok}, got {r.status_code} {r.text[:200]}")
        elif not expected and not _refused(path, who, r.status_code, r.headers):
            wrong.append(f"{method} {path}: must be refused ({permission}), got {r.status_code} {r.text[:200]}")
        world.seen.add((method, path))
    assert not wrong, f"as {caller_name}:\n" + "\n".join(wrong)
    assert {(m, p) for p, m, _ in routes} <= world.seen
    assert audit.verify_case(team.case).ok


def test_route_enumeration_sees_included_routers_and_unguarded_routes() -> None:
    """The same walk create_app uses to refuse unguarded routes must see routes inside routers."""
    router = APIRouter()

    @router.get("/guarded")
    def guarded(who: Annotated[Caller, Depends(need(Permission.VIEW_EVIDENCE))]) -> None: ...

    @router.post("/open")
    def unguarded() -> None: ...

    app = FastAPI()
    app.include_router(router, prefix="/p")
    found = {(path, method): route_permission(route) for path, method, route in api_routes(app)}
    assert found == {("/p/guarded", "GET"): Permission.VIEW_EVIDENCE, ("/p/open", "POST"): None}


# -- what each role sees ------------------------------------------------------------------


def _new_testimony(team: Team, text: str, contact: dict[str, str] | None = None) -> str:
    [recorded] = webform.submit(team.case, webform.Submission(text, contact=contact or {}))
    from factfinder import pipeline

    pipeline.index_items(team.case)
    return recorded.sha256


def test_observers_see_only_published_items(team: Team) -> None:
    sha = _new_testimony(team, "unpublished words about the square")
    observer = team.members[Role.OBSERVER].client
    urls = [f"/items/{sha}", f"/items/{sha}/original", f"/items/{sha}/proof"]
    urls += [f"/api/v1/items/{sha}", f"/api/v1/items/{sha}/original", f"/api/v1/items/{sha}/proof"]
    urls += [f"/items/{sha[:12]}"]  # a prefix must not find it either
    for url in urls:
        assert observer.get(url).status_code == 404, url
        assert team.members[Role.ANALYST].client.get(url).status_code == 200, url
    assert sha not in observer.get("/items").text
    assert sha not in observer.get("/case").text
    assert sha not in observer.get("/items", params={"q": "square"}).text
    assert observer.get("/api/v1/items", params={"q": "square"}).json()["total"] == 0
    assert team.members[Role.ANALYST].client.get("/api/v1/items", params={"q": "square"}).json()["total"] == 1

    investigator = team.members[Role.INVESTIGATOR]
    r = investigator.client.post(
        f"/items/{sha}/publish", data={"csrf_token": investigator.csrf}, follow_redirects=False
    )
    assert r.status_code == 303
    for url in urls:
        assert observer.get(url).status_code == 200, url
    assert sha in observer.get("/items").text
    assert observer.get("/api/v1/items", params={"q": "square"}).json()["items"][0]["sha256"] == sha
    page = observer.get(f"/items/{sha}").text
    assert "web submission page" not in page  # observers get no receipt details, only what makes it checkable
    log = team.members[Role.ANALYST].client.get("/api/v1/log", params={"limit": 1000}).json()["entries"]
    assert any(e["action"] == "item.published" and e["item_sha256"] == sha for e in log)
    assert audit.verify_case(team.case).ok


def _everything_an_analyst_can_read(team: Team, sha: str) -> list[str]:
    analyst = team.members[Role.ANALYST].client
    token = team.bearer(Role.ANALYST).client
    return [
        analyst.get(f"/items/{sha}").text,
        analyst.get(f"/api/v1/items/{sha}").text,
        analyst.get("/items").text,
        analyst.get("/case").text,
        analyst.get("/log").text,
        analyst.get("/api/v1/log", params={"limit": 1000}).text,
        analyst.get(f"/items/{sha}/proof").text,
        token.get(f"/api/v1/items/{sha}").text,
        analyst.get("/api/v1/items", params={"q": "Placeholder"}).text,
    ]


def test_analysts_see_pseudonyms_never_contact_details(team: Team) -> None:
    anon = team.anon()
    r = anon.client.post(
        "/submit",
        data={
            "csrf_token": anon.csrf,
            "testimony": "They came at night for my brother",
            "name": "Placeholder Nurlan Sealed",
            "phone": "+7 700 555 0199",
            "contact": "telegram placeholder_sealed",
        },
    )
    assert r.status_code == 200
    [sha] = re.findall(r'class="digest">([0-9a-f]{64})<', r.text)
    for text in _everything_an_analyst_can_read(team, sha):
        for secret in ("Placeholder Nurlan Sealed", "+7 700 555 0199", "placeholder_sealed"):
            assert secret not in text
    page = team.members[Role.ANALYST].client.get(f"/items/{sha}").text
    assert re.search(r"W-\d{4}", page)
    assert "witness_name" in page  # the names of the sealed fields, not their values
    assert "Open sealed fields" not in page
    investigator_page = team.members[Role.INVESTIGATOR].client.get(f"/items/{sha}").text
    assert "Placeholder Nurlan Sealed" not in investigator_page  # not even investigators, until they open them
    assert "Open sealed fields" in investigator_page
    r = team.members[Role.ANALYST].client.post(
        f"/items/{sha}/reveal", data={"csrf_token": team.members[Role.ANALYST].csrf}
    )
    assert r.status_code == 403


def test_an_odk_contact_is_masked_for_all_who_may_not_open_witness_fields(team: Team) -> None:
    """An unencrypted form's contact answer is in the XML's bytes: analysts and observers never read it there."""
    from factfinder import pipeline
    from factfinder.intake import openrosa
    from tests.intake.test_openrosa import FORM, incoming, submission

    secret = "+7 702 555 0163 placeholder_odk"
    if not openrosa.list_forms(team.case):
        openrosa.add_form(team.case, FORM.read_bytes(), actor="tester")
    xml = submission("uuid:authz-contact", what="Placeholder answer about the trucks.", photo=None, contact=secret)
    sha = openrosa.receive(team.case, incoming(xml)).recorded[0].sha256
    pipeline.process(team.case, [sha])
    analyst, token = team.members[Role.ANALYST].client, team.bearer(Role.ANALYST).client
    for text in [*_everything_an_analyst_can_read(team, sha), token.get(f"/api/v1/items/{sha}/claims").text]:
        assert "555 0163" not in text and "placeholder_odk" not in text  # not "0163" alone: digests hold it by chance
    assert sha in analyst.get("/items", params={"q": "trucks"}).text  # the rest of the XML is searched
    for q in ("placeholder_odk", "0163"):  # the answer is not: searching for it finds nothing
        assert sha not in analyst.get("/items", params={"q": q}).text
        assert sha not in token.get("/api/v1/items", params={"q": q}).text
    page = analyst.get(f"/items/{sha}").text
    assert "Placeholder answer about the trucks." in page and "sealed answers masked" in page
    for url in (f"/items/{sha}/original", f"/api/v1/items/{sha}/original"):
        masked = analyst.get(url)
        assert masked.status_code == 200 and b"Placeholder answer about the trucks." in masked.content
        assert secret.encode() not in masked.content and "masked" in masked.headers["content-disposition"]
        assert team.members[Role.INVESTIGATOR].client.get(url).content == xml  # they may open it: the original
    team.case.publish(sha, actor="tester")
    observed = team.members[Role.OBSERVER].client.get(f"/items/{sha}/original")
    assert observed.status_code == 200 and secret.encode() not in observed.content
    observer_page = team.members[Role.OBSERVER].client.get(f"/items/{sha}").text
    assert "sealed answers masked" in observer_page and "placeholder_odk" not in observer_page


def test_investigators_reveal_with_the_identity_file_and_it_is_logged(team: Team) -> None:
    sha = _new_testimony(team, "I saw the trucks leave", {"witness_name": "Placeholder Dana Revealed"})
    investigator = team.members[Role.INVESTIGATOR]
    analyst = team.members[Role.ANALYST].client

    def opened_entries() -> list[dict[str, Any]]:
        log = analyst.get("/api/v1/log", params={"limit": 1000}).json()["entries"]
        return [e for e in log if e["action"] == "protected.opened" and e["item_sha256"] == sha]

    wrong_key = str(x25519.Identity.generate())
    for bad in ("not a key", wrong_key):
        r = investigator.client.post(
            f"/items/{sha}/reveal", data={"csrf_token": investigator.csrf}, files={"identity": ("k.age", bad)}
        )
        assert r.status_code == 400, r.text
        assert "Placeholder Dana Revealed" not in r.text
    assert opened_entries() == []

    identity = (team.case.path / "keys" / "witness-identity.age").read_text()
    r = investigator.client.post(
        f"/items/{sha}/reveal", data={"csrf_token": investigator.csrf}, files={"identity": ("k.age", identity)}
    )
    assert r.status_code == 200
    assert "Placeholder Dana Revealed" in r.text
    [entry] = opened_entries()
    assert entry["actor"] == USERNAME_INVESTIGATOR
    assert entry["fields"] == ["witness_name"]
    assert analyst.get(f"/api/v1/items/{sha}").json()["openings"][0]["log_index"] == entry["seq"]
    after = analyst.get(f"/items/{sha}").text
    assert "opened by investigator1" in after
    assert "Placeholder Dana Revealed" not in after
    assert "Placeholder Dana Revealed" not in investigator.client.get(f"/items/{sha}").text  # shown once, not kept
    assert audit.verify_case(team.case).ok


USERNAME_INVESTIGATOR = "investigator1"


def test_a_disabled_accounts_session_and_tokens_stop_working(team: Team) -> None:
    user = accounts.add_user(team.case.engine, "leaving", "a long enough password", Role.ANALYST)
    session = accounts.start_session(team.case.engine, user)
    browser = TestClient(team.app)
    browser.cookies.set("ff_session", session.session_token)
    script = TestClient(
        team.app, headers={"Authorization": f"Bearer {accounts.create_token(team.case.engine, user, 's')}"}
    )
    assert browser.get("/items").status_code == 200
    assert script.get("/api/v1/items").status_code == 200

    admin = team.members[Role.ADMIN]
    r = admin.client.post(f"/users/{user.id}/disable", data={"csrf_token": admin.csrf}, follow_redirects=False)
    assert r.status_code == 303
    r = browser.get("/items", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/items"
    assert browser.get("/api/v1/items").status_code == 401
    assert script.get("/api/v1/items").status_code == 401
    assert accounts.authenticate(team.case.engine, "leaving", "a long enough password") is None

    r = admin.client.post(f"/users/{user.id}/enable", data={"csrf_token": admin.csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert browser.get("/items", follow_redirects=False).status_code == 303  # its sessions were ended for good
    r = admin.client.post(f"/users/{admin.account.id if admin.account else 0}/disable", data={"csrf_token": admin.csrf})
    assert r.status_code == 400  # an admin cannot lock themselves out
    assert admin.client.get("/users").status_code == 200


def test_api_tokens_work_until_revoked_and_unknown_ones_are_refused(team: Team) -> None:
    investigator = team.session(Role.INVESTIGATOR)
    r = investigator.client.post("/account/tokens", data={"csrf_token": investigator.csrf, "label": "sync script"})
    assert r.status_code == 200
    token = re.search(r'id="new-token">(fft_[^<]+)<', r.text)
    assert token
    script = TestClient(team.app, headers={"Authorization": f"Bearer {token.group(1)}"})
    assert script.get("/api/v1/log").status_code == 200
    sha = _new_testimony(team, "token publishes this")
    r = script.post(f"/api/v1/items/{sha}/publish")  # no CSRF token needed: a bearer token is not ambient
    assert r.status_code == 200 and r.json()["newly_published"] is True

    for bad in ("fft_" + "A" * 43, "", token.group(1) + "x"):
        r = TestClient(team.app).get("/api/v1/items", headers={"Authorization": f"Bearer {bad}"})
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert TestClient(team.app).get("/api/v1/items").status_code == 401

    page = investigator.client.get("/account").text
    [token_id] = re.findall(r'<td>sync script</td>.*?action="/account/tokens/(\d+)/revoke"', page, re.DOTALL)
    other = team.members[Role.ANALYST]
    r = other.client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": other.csrf})
    assert r.status_code == 404  # nobody revokes another account's token
    assert script.get("/api/v1/log").status_code == 200
    r = investigator.client.post(
        f"/account/tokens/{token_id}/revoke", data={"csrf_token": investigator.csrf}, follow_redirects=False
    )
    assert r.status_code == 303
    r = script.get("/api/v1/log")
    assert r.status_code == 401 and r.json()["detail"] == "invalid or revoked token"
    assert "revoked" in investigator.client.get("/account").text
