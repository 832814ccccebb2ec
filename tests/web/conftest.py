"""Fixtures for the web app: a case with one account per role, clients signed in as each,
and a live server on a free loopback port for the browser tests."""

from __future__ import annotations

import re
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from factfinder import accounts
from factfinder.permissions import Role
from factfinder.vault.case import Case
from factfinder.web.app import Settings, create_app
from factfinder.web.auth import ANON_CSRF_COOKIE, SESSION_COOKIE

PASSWORD = "a long test password"  # every fixture account has it; never a real one
USERS = {role: f"{role.value}1" for role in Role}


@pytest.fixture
def web_case(case: Case) -> Case:
    for role, name in USERS.items():
        accounts.add_user(case.engine, name, PASSWORD, role)
    return case


@pytest.fixture
def settings() -> Settings:
    return Settings(max_upload_bytes=8 << 20)


@pytest.fixture
def web_app(web_case: Case, settings: Settings) -> FastAPI:
    return create_app(web_case, settings)


@pytest.fixture
def anon(web_app: FastAPI) -> TestClient:
    """A visitor who is not signed in, holding the anonymous CSRF cookie."""
    client = TestClient(web_app)
    client.get("/submit")
    return client


def csrf_of(client: TestClient, page: str = "/account") -> str:
    """The CSRF token a page's forms carry for this client."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(page).text)
    assert found, f"no CSRF token on {page}"
    return found.group(1)


@pytest.fixture
def sign_in(web_app: FastAPI) -> Callable[[Role], TestClient]:
    def make(role: Role) -> TestClient:
        client = TestClient(web_app)
        client.get("/login")
        token = client.cookies.get("ff_csrf")
        r = client.post(
            "/login",
            data={"csrf_token": token, "username": USERS[role], "password": PASSWORD},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        return client

    return make


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live_server(web_app: FastAPI) -> Iterator[str]:
    """The app served by uvicorn on loopback, as `factfinder serve` runs it."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(web_app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def identity_file(web_case: Case) -> Path:
    return web_case.path / "keys" / "witness-identity.age"


# -- one case per test module, for the matrix and hostile-input tests ----------------------
# argon2 makes every new account and sign-in cost a tenth of a second or more, so these tests
# share one case and one signed-in client per role; sessions come from accounts.start_session,
# the same call the sign-in page makes after checking the password.

TEAM_SETTINGS = Settings(
    max_upload_bytes=1 << 20,
    login_attempts=1000,
    twilio_auth_token="team-twilio-token-0123456789",
    rapidpro_secret="team-rapidpro-secret-0123456789",
)


@dataclass
class Member:
    """A caller: a client and the CSRF token its forms carry (None for a bearer token)."""

    name: str
    client: TestClient
    csrf: str | None
    account: accounts.Account | None = None
    via_token: bool = False


@dataclass
class Team:
    case: Case
    app: FastAPI
    members: dict[Role, Member] = field(default_factory=dict)

    def anon(self) -> Member:
        client = TestClient(self.app)
        client.get("/submit")
        return Member("anonymous", client, client.cookies.get(ANON_CSRF_COOKIE))

    def session(self, role: Role) -> Member:
        """A new browser session for the role's account (signing in without the password check)."""
        account = self.members[role].account
        assert account is not None
        signed = accounts.start_session(self.case.engine, account)
        client = TestClient(self.app)
        client.cookies.set(SESSION_COOKIE, signed.session_token)
        return Member(role.value, client, signed.csrf_secret, account)

    def bearer(self, role: Role) -> Member:
        account = self.members[role].account
        assert account is not None
        token = accounts.create_token(self.case.engine, account, "tests")
        client = TestClient(self.app, headers={"Authorization": f"Bearer {token}"})
        return Member(f"{role.value} token", client, None, account, via_token=True)


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory, postgres_admin: Engine | None) -> Iterator[Team]:
    from tests.conftest import POSTGRES

    url = name = None
    if postgres_admin is not None and POSTGRES:
        name = f"ff_test_{secrets.token_hex(6)}"
        with postgres_admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
    case, _ = Case.init(tmp_path_factory.mktemp("team") / "case", "Team case", actor="tester", database_url=url)
    found = Team(case, create_app(case, TEAM_SETTINGS))
    for role, username in USERS.items():
        account = accounts.add_user(case.engine, username, PASSWORD, role)
        found.members[role] = Member(role.value, TestClient(found.app), None, account)
        found.members[role] = found.session(role)
    yield found
    case.close()
    if postgres_admin is not None and name:
        with postgres_admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def scans_handed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The digests the web app hands to the after-response scan, which is not run (it starts a child process
    that loads the gazetteer: seconds per request). The scan itself is tested in test_media_pages.py."""
    from factfinder.web import mediascan

    handed: list[str] = []
    monkeypatch.setattr(mediascan, "schedule", lambda tasks, case, recorded: handed.extend(r.sha256 for r in recorded))
    return handed
