"""Cases in a database named by URL (``init --db``): passwords never shown or kept in case.json,
unusable URLs refused in one line before anything is written, and concurrent writers serialised
on whichever backend the run uses."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from factfinder import config
from factfinder.vault import audit
from factfinder.vault.case import Case
from tests.conftest import POSTGRES, Cli, NewDatabase

SECRET = "hunter2-not-a-real-password"
needs_postgres = pytest.mark.skipif(POSTGRES is None, reason="needs a PostgreSQL server (FACTFINDER_TEST_POSTGRES)")


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        (f"postgresql://ff:{SECRET}@127.0.0.1:1/nowhere", "cannot reach the database"),
        (f"mysql://ff:{SECRET}@127.0.0.1/nowhere", "cannot use the database"),
    ],
)
def test_unusable_database_is_one_line_with_the_password_masked(
    cli: Cli, tmp_path: Path, url: str, needle: str
) -> None:
    case_dir = tmp_path / "case"
    _, out, err = cli("init", case_dir, "--title", "t", "--db", url, code=2)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], err
    assert "***" in lines[0]
    assert SECRET not in out + err
    assert not case_dir.exists(), "a refused init left a folder behind"


@needs_postgres
def test_password_goes_to_keys_not_case_json(cli: Cli, tmp_path: Path, new_database: NewDatabase) -> None:
    url = new_database()
    assert url is not None
    with_secret = make_url(url).set(password=SECRET).render_as_string(hide_password=False)
    case_dir = tmp_path / "case"
    _, out, err = cli("init", case_dir, "--title", "On PostgreSQL", "--db", with_secret)
    assert SECRET not in out + err
    assert "database:" in out and "***" in out
    doc = json.loads((case_dir / config.CASE_FILE).read_text())
    assert SECRET not in json.dumps(doc)
    assert doc["database_url"].startswith("postgresql://") and "@127.0.0.1" in doc["database_url"]
    password_file = case_dir / config.KEYS_DIR / config.DB_PASSWORD_FILE
    assert password_file.read_text() == SECRET
    assert password_file.stat().st_mode & 0o777 == 0o600
    assert not (case_dir / config.DB_FILE).exists()
    note = tmp_path / "note.txt"
    note.write_text("a testimony\n")
    cli("add", case_dir, note)
    _, listing, _ = cli("items", case_dir, "--json")
    assert len(json.loads(listing)) == 1
    _, verdict, _ = cli("verify", case_dir)
    assert "intact" in verdict and SECRET not in verdict


@needs_postgres
def test_init_refuses_a_database_that_already_holds_a_case(cli: Cli, tmp_path: Path, new_database: NewDatabase) -> None:
    url = new_database()
    assert url is not None
    cli("init", tmp_path / "first", "--title", "first", "--db", url)
    _, _, err = cli("init", tmp_path / "second", "--title", "second", "--db", url, code=2)
    assert "already holds tables" in err and "Traceback" not in err
    assert not (tmp_path / "second").exists()
    with Case.open(tmp_path / "first") as case:
        assert case.config.title == "first" and audit.verify_case(case).ok


@needs_postgres
def test_export_of_a_postgresql_case_imports_as_a_sqlite_case(case: Case, tmp_path: Path) -> None:
    from factfinder.vault import archive

    case.add_bytes(b"a testimony on PostgreSQL\n", actor="tester")
    archive.export_case(case, tmp_path / "case.zip")
    with archive.import_case(tmp_path / "case.zip", tmp_path / "copy") as copy:
        assert copy.config.database_url is None
        assert (tmp_path / "copy" / config.DB_FILE).is_file()
        assert copy.counts()["items"] == 1
        assert audit.verify_case(copy).ok


def test_concurrent_writers_queue_up(case: Case) -> None:
    """Eight writers, each with its own engine, appending at once: no entry lost, the log verifies."""
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def writer(n: int) -> None:
        try:
            with Case.open(case.path) as mine:
                start.wait()
                for i in range(5):
                    mine.add_bytes(f"writer {n} statement {i}\n".encode(), actor=f"writer-{n}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    counts = case.counts()
    assert counts["items"] == 40
    assert counts["log_size"] == 41
    assert audit.verify_case(case).ok
