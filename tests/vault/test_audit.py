"""Tamper tests: each kind of damage is caught by ``verify`` and named.

The damage is done the way an attacker or a failing disk would do it: bytes
changed in the blob store, rows edited with plain SQL behind the vault's back
(on SQLite or PostgreSQL, whichever the run uses), log rows deleted, a checkpoint
signature swapped. The case is closed first so nothing cached in the process
hides the change.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, CursorResult, select, text

from factfinder import config
from factfinder.db.models import Base
from factfinder.vault import audit, log
from factfinder.vault.case import Case
from factfinder.vault.checkpoint import Checkpoint, Signer
from tests.conftest import Cli, NewDatabase


@pytest.fixture
def filled(case_dir: Path, new_database: NewDatabase) -> Iterator[tuple[Path, list[str]]]:
    """A closed case holding 300 items (more than one entry bundle and hash tile)."""
    case, _ = Case.init(case_dir, "Tamper", actor="tester", database_url=new_database())
    digests = []
    with case:
        for i in range(3):
            recs = case.record(
                [_receipt(case, f"testimony {i}-{j}\n".encode() * (j + 1), source=f"batch {i}") for j in range(100)],
                actor="tester",
            )
            digests += [r.sha256 for r in recs]
    yield case_dir, digests


def _receipt(case: Case, data: bytes, **kw: str) -> object:
    from factfinder.vault.case import NewReceipt

    return NewReceipt(blob=case.blobs.put_bytes(data), **kw)  # type: ignore[arg-type]


def _audit(case_dir: Path) -> audit.AuditReport:
    with Case.open(case_dir) as case:
        return audit.verify_case(case)


class _Tamperer:
    """Plain SQL on the case database, ``?`` placeholders as in sqlite3, committed on leaving."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> CursorResult[Any]:
        numbered = iter(range(len(params)))
        named = re.sub(r"\?", lambda _: f":p{next(numbered)}", sql)
        return self.conn.execute(text(named), {f"p{i}": v for i, v in enumerate(params)})


@contextmanager
def _db(case_dir: Path) -> Iterator[_Tamperer]:
    with Case.open(case_dir) as case, case.engine.begin() as conn:
        yield _Tamperer(conn)


def _kinds(report: audit.AuditReport) -> set[str]:
    return {p.kind for p in report.problems if p.fatal}


def test_untouched_case_verifies(filled: tuple[Path, list[str]]) -> None:
    case_dir, digests = filled
    report = _audit(case_dir)
    assert report.ok, report.problems
    assert report.items == len(set(digests)) == 300
    assert report.log_size == 301  # the case.created entry, then one per item
    assert report.checkpoints == 4


def test_one_altered_byte_in_a_blob_is_named(filled: tuple[Path, list[str]]) -> None:
    case_dir, digests = filled
    victim = digests[17]
    path = case_dir / "blobs" / "sha256" / victim[:2] / victim
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.chmod(0o640)
    path.write_bytes(bytes(data))
    report = _audit(case_dir)
    assert not report.ok
    assert [(p.kind, p.subject) for p in report.problems if p.fatal] == [(audit.BLOB_ALTERED, f"item {victim}")]


def test_same_size_replacement_and_truncation_are_both_caught(filled: tuple[Path, list[str]]) -> None:
    case_dir, digests = filled
    a, b = digests[1], digests[2]
    for sha, content in ((a, b"x" * 10), (b, b"")):
        path = case_dir / "blobs" / "sha256" / sha[:2] / sha
        path.chmod(0o640)
        path.write_bytes(content)
    subjects = {p.subject for p in _audit(case_dir).problems if p.kind == audit.BLOB_ALTERED}
    assert subjects == {f"item {a}", f"item {b}"}


def test_deleted_blob_is_named(filled: tuple[Path, list[str]]) -> None:
    case_dir, digests = filled
    victim = digests[250]
    (case_dir / "blobs" / "sha256" / victim[:2] / victim).unlink()
    report = _audit(case_dir)
    assert [(p.kind, p.subject) for p in report.problems if p.fatal] == [(audit.BLOB_MISSING, f"item {victim}")]


def test_edited_receipt_row_is_named(filled: tuple[Path, list[str]]) -> None:
    case_dir, _ = filled
    with _db(case_dir) as db:
        db.execute("UPDATE receipts SET source = 'somewhere else' WHERE id = 5")
        log_index = db.execute("SELECT log_index FROM receipts WHERE id = 5").fetchone()[0]
    problems = [p for p in _audit(case_dir).problems if p.fatal]
    assert len(problems) == 1
    assert problems[0].kind == audit.ROW_ALTERED
    assert problems[0].subject == f"receipt 5 (entry {log_index})"
    assert "details_sha256" in problems[0].detail


@pytest.mark.parametrize(
    ("column", "value", "named"),
    [
        ("actor", "'someone else'", "actor"),
        ("channel", "'usb'", "channel"),
        ("collected_at_claimed", "'2011-12-16'", "collected_at_claimed"),
        ("received_at_vault_clock", "'2011-12-16T10:00:00Z'", "received_at_vault_clock"),
    ],
)
def test_each_receipt_column_is_bound_to_its_entry(
    filled: tuple[Path, list[str]], column: str, value: str, named: str
) -> None:
    case_dir, _ = filled
    with _db(case_dir) as db:
        db.execute(f"UPDATE receipts SET {column} = {value} WHERE id = 9")
    problems = [p for p in _audit(case_dir).problems if p.fatal]
    assert [p.kind for p in problems] == [audit.ROW_ALTERED]
    assert named in problems[0].detail


def test_edited_item_size_is_named(filled: tuple[Path, list[str]]) -> None:
    case_dir, digests = filled
    with _db(case_dir) as db:
        db.execute("UPDATE items SET size = size + 1 WHERE sha256 = ?", (digests[3],))
    report = _audit(case_dir)
    kinds = _kinds(report)
    assert audit.ROW_ALTERED in kinds  # the receipt no longer matches its entry's item_size
    assert any(digests[3] in p.subject and p.kind == audit.BLOB_ALTERED for p in report.problems)


def test_deleted_receipt_row_is_named(filled: tuple[Path, list[str]]) -> None:
    case_dir, _ = filled
    with _db(case_dir) as db:
        log_index = db.execute("SELECT log_index FROM receipts WHERE id = 40").fetchone()[0]
        db.execute("DELETE FROM receipts WHERE id = 40")
    report = _audit(case_dir)
    subjects = {(p.kind, p.subject) for p in report.problems if p.fatal}
    assert (audit.ROW_MISSING, f"entry {log_index}") in subjects


def test_altered_entry_bytes_are_named(filled: tuple[Path, list[str]]) -> None:
    case_dir, _ = filled
    with _db(case_dir) as db:
        data = db.execute("SELECT data FROM log_entry_bundles WHERE idx = 0").fetchone()[0]
        entries = log.decode_bundle(data)
        entries[7] = entries[7].replace(b'"channel":"files"', b'"channel":"email"')
        db.execute("UPDATE log_entry_bundles SET data = ? WHERE idx = 0", (log.encode_bundle(entries),))
    problems = [p for p in _audit(case_dir).problems if p.fatal]
    assert {(p.kind, p.subject) for p in problems} >= {(audit.ENTRY_ALTERED, "entry 7")}


def test_entry_rewritten_with_its_tile_rehashed_breaks_the_checkpoints(filled: tuple[Path, list[str]]) -> None:
    """An attacker who also fixes the stored hash tiles still cannot match the signed roots."""
    case_dir, _ = filled
    from factfinder.vault import merkle

    with _db(case_dir) as db:
        data = db.execute("SELECT data FROM log_entry_bundles WHERE idx = 0").fetchone()[0]
        entries = log.decode_bundle(data)
        entries[7] = entries[7].replace(b'"channel":"files"', b'"channel":"email"')
        db.execute("UPDATE log_entry_bundles SET data = ? WHERE idx = 0", (log.encode_bundle(entries),))
        db.execute("DELETE FROM log_tiles")  # tiles are a cache: the audit rebuilds the tree anyway
    report = _audit(case_dir)
    assert audit.CHECKPOINT_MISMATCH in _kinds(report)
    assert merkle.leaf_hash(entries[7])  # the tree was rebuilt from the forged entry, not trusted


def test_truncated_log_is_named(filled: tuple[Path, list[str]]) -> None:
    case_dir, _ = filled
    with _db(case_dir) as db:
        db.execute("DELETE FROM log_entry_bundles WHERE idx = 1")  # entries 256..300
        db.execute("UPDATE log_head SET size = 256")
    report = _audit(case_dir)
    assert audit.LOG_TRUNCATED in _kinds(report)
    truncated = [p for p in report.problems if p.kind == audit.LOG_TRUNCATED]
    assert any("checkpoint at size 301" in p.subject for p in truncated)
    assert any("entry 256" in p.subject or "receipt" in p.subject for p in truncated)


def test_truncated_log_with_checkpoints_removed_is_still_caught(filled: tuple[Path, list[str]]) -> None:
    """Cutting the log and the checkpoints that covered it leaves rows pointing past the end."""
    case_dir, _ = filled
    with _db(case_dir) as db:
        db.execute("DELETE FROM log_entry_bundles WHERE idx = 1")
        db.execute("UPDATE log_head SET size = 256")
        db.execute("DELETE FROM checkpoints WHERE size > 256")
    assert audit.LOG_TRUNCATED in _kinds(_audit(case_dir))


def test_replaced_checkpoint_signature_is_named(filled: tuple[Path, list[str]]) -> None:
    case_dir, _ = filled
    with _db(case_dir) as db:
        note = db.execute("SELECT note FROM checkpoints WHERE size = 201").fetchone()[0]
        body, sig_line = note.rsplit("\n\u2014 ", 1)
        name, sig = sig_line.strip().split(" ", 1)
        raw = bytearray(base64.b64decode(sig))
        raw[-1] ^= 0xFF
        forged = f"{body}\n\u2014 {name} {base64.b64encode(bytes(raw)).decode()}\n"
        db.execute("UPDATE checkpoints SET note = ? WHERE size = 201", (forged,))
    problems = [p for p in _audit(case_dir).problems if p.fatal]
    assert [(p.kind, p.subject) for p in problems] == [(audit.CHECKPOINT_FORGED, "checkpoint at size 201")]


def test_checkpoint_signed_by_another_key_is_forged(filled: tuple[Path, list[str]]) -> None:
    case_dir, _ = filled
    with Case.open(case_dir) as case, case.engine.connect() as conn:
        origin = case.log.origin
        size = 301
        root = case.log.root(conn, size)
    impostor = Signer.generate(origin)
    note = Checkpoint(origin, size, root).sign(impostor)
    with _db(case_dir) as db:
        db.execute("UPDATE checkpoints SET note = ? WHERE size = ?", (note, size))
    problems = [(p.kind, p.subject) for p in _audit(case_dir).problems if p.fatal]
    # The forged checkpoint was the latest, so the entries it claimed to cover are now uncovered.
    assert problems == [
        (audit.CHECKPOINT_FORGED, "checkpoint at size 301"),
        (audit.UNCHECKPOINTED, "entries 201..300"),
    ]


def test_cli_verify_names_damage_and_exits_nonzero(filled: tuple[Path, list[str]], cli: Cli) -> None:
    case_dir, digests = filled
    (case_dir / "blobs" / "sha256" / digests[0][:2] / digests[0]).unlink()
    _, out, _ = cli("verify", case_dir, code=1)
    assert audit.BLOB_MISSING in out
    assert digests[0] in out
    _code, out, _ = cli("verify", case_dir, "--json", code=1)
    doc = json.loads(out)
    assert doc["ok"] is False
    assert any(p["kind"] == audit.BLOB_MISSING for p in doc["problems"])


def test_stray_blob_is_a_warning_not_damage(filled: tuple[Path, list[str]]) -> None:
    case_dir, _ = filled
    with Case.open(case_dir) as case:
        orphan = case.blobs.put_bytes(b"written, then the process died before recording it")
    report = _audit(case_dir)
    assert report.ok
    assert [p.kind for p in report.problems] == [audit.ORPHAN_BLOB]
    assert orphan.sha256[:12] in report.problems[0].subject


def test_signing_key_is_private_and_never_in_the_database(filled: tuple[Path, list[str]]) -> None:
    case_dir, _ = filled
    key_file = case_dir / config.KEYS_DIR / config.SIGNING_KEY_FILE
    assert (key_file.stat().st_mode & 0o777) == 0o600
    secret = key_file.read_text().strip().split("+", 4)[4]
    if (case_dir / config.DB_FILE).exists():  # SQLite: every byte of the file, free pages included
        assert secret.encode() not in (case_dir / config.DB_FILE).read_bytes()
    with Case.open(case_dir) as case, case.engine.connect() as conn:  # any backend: every stored value
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(select(table)):
                assert all(secret.encode() not in (v if isinstance(v, bytes) else str(v).encode()) for v in row)
    assert os.stat(case_dir / config.KEYS_DIR / config.IDENTITY_FILE).st_mode & 0o077 == 0
