"""The investigator's path through the CLI, end to end, on real files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from factfinder import config
from factfinder.vault import audit
from factfinder.vault.case import Case
from tests.conftest import ROOT, Cli

SAMPLES = ROOT / "samples"
WITNESS = "Example Witness A"  # the placeholder name in the sample sidecar
PHONE = "+7 700 000 0000"


def _case_bytes(case_dir: Path) -> bytes:
    """Every byte the case keeps outside keys/: the database (and its WAL) and all blobs."""
    parts = []
    for path in sorted(case_dir.rglob("*")):
        if path.is_file() and config.KEYS_DIR not in path.relative_to(case_dir).parts:
            parts.append(path.read_bytes())
    return b"".join(parts)


@pytest.fixture
def started(tmp_path: Path, cli: Cli) -> Path:
    case_dir = tmp_path / "zh"
    _, out, _ = cli("init", case_dir, "--title", "Zhanaozen, December 2011")
    assert "fingerprint" in out
    return case_dir


def test_init_prints_the_public_key_and_keeps_secrets_private(started: Path, cli: Cli) -> None:
    keys_dir = started / config.KEYS_DIR
    for name in (config.SIGNING_KEY_FILE, config.IDENTITY_FILE):
        assert (keys_dir / name).stat().st_mode & 0o777 == 0o600
    signing_secret = (keys_dir / config.SIGNING_KEY_FILE).read_text().strip().split("+", 4)[4]
    identity_secret = next(
        line for line in (keys_dir / config.IDENTITY_FILE).read_text().splitlines() if line.startswith("AGE-SECRET")
    )
    _, out, _ = cli("log", started)
    for secret in (signing_secret, identity_secret):
        assert secret not in out
        assert secret.encode() not in _case_bytes(started)
    doc = json.loads((started / config.CASE_FILE).read_text())
    assert doc["format"] == config.CASE_FORMAT
    assert doc["title"] == "Zhanaozen, December 2011"


def test_init_refuses_an_existing_case(started: Path, cli: Cli) -> None:
    _, _, err = cli("init", started, "--title", "again", code=2)
    assert "Traceback" not in err


def test_sidecar_witness_fields_are_sealed_and_reveal_is_logged(started: Path, cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    shutil.copytree(SAMPLES, folder)
    _, out, _ = cli("add", started, folder, "--source", "samples", "--list")
    items = [p for p in SAMPLES.rglob("*") if p.is_file() and not p.name.endswith(".factfinder.json")]
    assert out.count("added ") == len(items) >= 3  # texts, README, victim lists; sidecars are not items
    assert WITNESS not in out
    assert WITNESS.encode() not in _case_bytes(started)
    assert PHONE.encode() not in _case_bytes(started)

    with Case.open(started) as case:
        target = next(i for i, _ in case.items() if i.size == (SAMPLES / "testimony-001.txt").stat().st_size)
    _, shown, _ = cli("show", started, target.sha256[:8])
    assert "sealed: witness_name, witness_phone" in shown
    assert "collected_at_claimed: 2011-12-20T18:30:00+06:00" in shown
    assert WITNESS not in shown

    identity = started / config.KEYS_DIR / config.IDENTITY_FILE
    _, opened, _ = cli("show", started, target.sha256[:8], "--reveal", "-i", identity)
    assert WITNESS in opened and PHONE in opened
    _, logged, _ = cli("log", started, "--json")
    entries = json.loads(logged)["entries"]
    openings = [e for e in entries if e["action"] == "protected.opened"]
    assert len(openings) == 1
    assert openings[0]["actor"] == "tester"
    assert openings[0]["fields"] == ["witness_name", "witness_phone"]
    assert WITNESS not in logged  # the log says who opened what, never the values
    _, after, _ = cli("show", started, target.sha256[:8])
    assert "opened witness_name, witness_phone by tester" in after
    _, verdict, _ = cli("verify", started)
    assert "intact" in verdict


def test_reveal_with_a_wrong_identity_fails_and_logs_nothing(started: Path, cli: Cli, tmp_path: Path) -> None:
    note = tmp_path / "t.txt"
    note.write_text("a testimony\n")
    cli("add", started, note, "--witness-name", "Placeholder W")
    other = tmp_path / "other"
    cli("init", other, "--title", "another case")
    with Case.open(started) as case:
        sha = case.items()[0][0].sha256
        size_before = case.counts()["log_size"]
    _code, _, err = cli(
        "show", started, sha[:6], "--reveal", "-i", other / config.KEYS_DIR / config.IDENTITY_FILE, code=2
    )
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    with Case.open(started) as case:
        assert case.counts()["log_size"] == size_before
    not_an_identity = tmp_path / "junk.txt"
    not_an_identity.write_text("hello\n")
    cli("show", started, sha[:6], "--reveal", "-i", not_an_identity, code=2)


def test_duplicate_bytes_are_one_item_with_two_receipts(started: Path, cli: Cli, tmp_path: Path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "copy-of-a.txt"
    a.write_bytes(b"the same video frame\n" * 100)
    b.write_bytes(a.read_bytes())
    cli("add", started, a, "--channel", "usb")
    _, out, _ = cli("add", started, b, "--channel", "email", "--list")
    assert "received again" in out
    assert "0 new items, 1 received again" in out
    _, listing, _ = cli("items", started, "--json")
    rows = json.loads(listing)
    assert len(rows) == 1 and rows[0]["receipts"] == 2
    blobs = [p for p in (started / config.BLOB_DIR).rglob("*") if p.is_file()]
    assert len(blobs) == 1
    _, shown, _ = cli("show", started, rows[0]["sha256"][:5], "--json")
    detail = json.loads(shown)
    assert [r["channel"] for r in detail["receipts"]] == ["usb", "email"]
    assert [r["action"] for r in detail["receipts"]] == ["item.added", "item.received"]
    assert [r["original_name"] for r in detail["receipts"]] == ["a.txt", "copy-of-a.txt"]


def test_media_type_comes_from_content_not_name(started: Path, cli: Cli, tmp_path: Path, testdata: Path) -> None:
    jpeg = next(iter(sorted(testdata.rglob("*.jpg"))))
    disguised = tmp_path / "notes.txt"
    shutil.copy(jpeg, disguised)
    cli("add", started, disguised)
    _, listing, _ = cli("items", started, "--json")
    assert json.loads(listing)[0]["media_type"] == "image/jpeg"


def test_prefixes_must_be_unambiguous_and_hex(started: Path, cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(40):  # 40 digests: some share a first hex digit, none share 4
        (folder / f"{i}.txt").write_text(f"item {i}\n")
    cli("add", started, folder)
    with Case.open(started) as case:
        digests = [i.sha256 for i, _ in case.items()]
    first = digests[0]
    _code, _, err = cli("show", started, first[:3], code=2)
    assert "at least 4 hex digits" in err
    cli("show", started, "zzzz", code=2)
    cli("show", started, "sha256:" + first[:8])
    common = next(
        (a[:4] for a in digests for b in digests if a != b and a[:4] == b[:4]),
        None,
    )
    if common:
        _, _, err = cli("show", started, common, code=2)
        assert "more than one" in err


def test_log_lists_entries_newest_last_with_the_checkpoint(started: Path, cli: Cli, tmp_path: Path) -> None:
    for i in range(3):
        f = tmp_path / f"{i}.txt"
        f.write_text(f"statement {i}\n")
        cli("add", started, f, "--collected-at", "2011-12-17")
    _, out, _ = cli("log", started, "--json")
    doc = json.loads(out)
    seqs = [e["seq"] for e in doc["entries"]]
    assert seqs == sorted(seqs) == list(range(4))
    assert doc["entries"][0]["action"] == "case.created"
    assert all(e["collected_at_claimed"] == "2011-12-17" for e in doc["entries"][1:])
    assert doc["checkpoint"].split("\n")[1] == "4"
    _, tail, _ = cli("log", started, "--tail", "1")
    assert "item.added" in tail and "case.created" not in tail


def test_verify_with_the_wrong_trusted_key_is_refused(started: Path, cli: Cli, tmp_path: Path) -> None:
    other = tmp_path / "other"
    cli("init", other, "--title", "other")
    other_key = json.loads((other / config.CASE_FILE).read_text())["log_key"]
    own_key = json.loads((started / config.CASE_FILE).read_text())["log_key"]
    cli("verify", started, "--key", own_key)
    _, _, err = cli("verify", started, "--key", other_key, code=2)
    assert "not the key you trust" in err


def test_copy_without_keys_reads_but_refuses_to_write(started: Path, cli: Cli, tmp_path: Path) -> None:
    f = tmp_path / "x.txt"
    f.write_text("x\n")
    cli("add", started, f)
    copy = tmp_path / "copy"
    shutil.copytree(started, copy, ignore=shutil.ignore_patterns(config.KEYS_DIR))
    _, verdict, _ = cli("verify", copy)
    assert "intact" in verdict
    _, _, err = cli("add", copy, f, code=2)
    assert "read-only" in err.lower() or "signing key" in err.lower()
    with Case.open(copy) as case:
        assert audit.verify_case(case).ok
