"""Fixtures for the web app: a case with one account per role, clients signed in as each,
and a live server on a free loopback port for the browser tests."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from factfinder import accounts
from factfinder.permissions import Role
from factfinder.vault.case import Case
from factfinder.web.app import Settings, create_app

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
