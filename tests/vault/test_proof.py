"""Proof files: made from a case, checked far away with nothing but the file."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest

from factfinder.vault import proof
from factfinder.vault.case import Case, NewReceipt
from factfinder.vault.checkpoint import Signer
from factfinder.vault.errors import ProofFileError
from tests.conftest import run_factfinder


@pytest.fixture
def made(case: Case, tmp_path: Path) -> tuple[Case, Path, Path, str]:
    """A case with several items; a proof for the middle one, and a copy of its file."""
    original = tmp_path / "video-fragment.bin"
    original.write_bytes(b"\x00\x01 fragment of a video filmed on 16 December\n" * 500)
    case.record(
        [NewReceipt(blob=case.blobs.put_bytes(f"testimony {i}\n".encode()), channel="email") for i in range(40)],
        actor="tester",
    )
    with original.open("rb") as f:
        rec = case.record([NewReceipt(blob=case.blobs.put_file(f))], actor="tester")[0]
    case.record([NewReceipt(blob=case.blobs.put_bytes(f"later {i}\n".encode())) for i in range(10)], actor="tester")
    proof_file = tmp_path / "item.tlog-proof"
    proof_file.write_text(case.proof(rec.sha256[:10]))
    return case, proof_file, original, rec.sha256


def test_proof_round_trip_in_a_fresh_directory(made: tuple[Case, Path, Path, str], tmp_path: Path) -> None:
    case, proof_file, original, sha = made
    elsewhere = tmp_path / "recipient"
    elsewhere.mkdir()
    shutil.copy(proof_file, elsewhere / "p.tlog-proof")
    shutil.copy(original, elsewhere / "evidence.bin")
    res = run_factfinder("verify-proof", "p.tlog-proof", "--blob", "evidence.bin", cwd=elsewhere)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "proof verifies" in res.stdout
    assert sha in res.stdout
    assert "match the item" in res.stdout
    res = run_factfinder("verify-proof", "p.tlog-proof", "--key", case.config.log_key, cwd=elsewhere)
    assert res.returncode == 0, res.stdout + res.stderr


def test_proof_for_an_altered_file_fails(made: tuple[Case, Path, Path, str], tmp_path: Path) -> None:
    _, proof_file, original, _ = made
    altered = tmp_path / "altered.bin"
    data = bytearray(original.read_bytes())
    data[100] ^= 0x20
    altered.write_bytes(bytes(data))
    res = run_factfinder("verify-proof", proof_file, "--blob", altered)
    assert res.returncode == 1
    assert "does NOT verify" in res.stdout
    assert "is not the logged item" in res.stdout


def test_proof_is_c2sp_tlog_proof_shaped(made: tuple[Case, Path, Path, str]) -> None:
    case, proof_file, _, sha = made
    text = proof_file.read_text()
    lines = text.split("\n")
    assert lines[0] == "c2sp.org/tlog-proof@v1"
    assert lines[1].startswith("extra ")
    assert lines[2] == "index 41"
    note = text.split("\n\n", 1)[1]
    assert note.startswith(f"{case.log.origin}\n52\n")  # the checkpoint covers the whole log (51 items + creation)
    extra = json.loads(base64.b64decode(lines[1][6:]))
    assert extra["log_key"] == case.config.log_key
    entry = json.loads(base64.b64decode(extra["entry"]))
    assert entry["item_sha256"] == sha
    assert entry["seq"] == 41


def _mutate(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


def test_every_part_of_a_proof_is_load_bearing(made: tuple[Case, Path, Path, str]) -> None:
    case, proof_file, _, _ = made
    text = proof_file.read_text()
    head, note = text.split("\n\n", 1)
    lines = head.split("\n")
    # A hash in the inclusion path changed.
    h = bytearray(base64.b64decode(lines[3]))
    h[0] ^= 1
    bad_hash = "\n".join([*lines[:3], base64.b64encode(bytes(h)).decode(), *lines[4:]]) + "\n\n" + note
    # A different index.
    bad_index = _mutate(text, "index 41", "index 42")
    # The entry inside rewritten (another item's digest).
    extra = json.loads(base64.b64decode(lines[1][6:]))
    entry = json.loads(base64.b64decode(extra["entry"]))
    entry["item_sha256"] = "0" * 64
    forged_entry = json.dumps(entry, separators=(",", ":"), sort_keys=True).encode()
    extra["entry"] = base64.b64encode(forged_entry).decode()
    bad_entry = _mutate(
        text, lines[1], "extra " + base64.b64encode(json.dumps(extra, separators=(",", ":")).encode()).decode()
    )
    # The checkpoint's size changed (its signature no longer covers it).
    bad_note = _mutate(text, f"{case.log.origin}\n52\n", f"{case.log.origin}\n53\n")
    for bad in (bad_hash, bad_index, bad_entry, bad_note):
        with pytest.raises(ProofFileError):
            proof.verify_proof(bad)


def test_proof_re_signed_by_an_impostor_passes_only_without_a_trusted_key(
    made: tuple[Case, Path, Path, str],
) -> None:
    """Whoever forges a log can sign it; --key is what ties a proof to the real case."""
    case, proof_file, _, _ = made
    text = proof_file.read_text()
    head, note = text.split("\n\n", 1)
    body = note.split("\n\n")[0] + "\n"
    impostor = Signer.generate(case.log.origin)
    extra = json.loads(base64.b64decode(head.split("\n")[1][6:]))
    extra["log_key"] = impostor.verifier.encode()
    new_extra = base64.b64encode(json.dumps(extra, separators=(",", ":"), sort_keys=True).encode()).decode()
    forged = _mutate(head, head.split("\n")[1], "extra " + new_extra) + "\n\n" + impostor.sign(body)
    result = proof.verify_proof(forged)
    assert result.key_fingerprint != case.verifier.fingerprint  # what the CLI tells the reader to compare
    with pytest.raises(ProofFileError, match="different log key"):
        proof.verify_proof(forged, trusted_key=case.config.log_key)


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "hello\n",
        "c2sp.org/tlog-proof@v1\nindex 1\n\n",
        "c2sp.org/tlog-proof@v1\nextra !!!\nindex 1\n\nlog\n1\nAAAA\n",
        "c2sp.org/tlog-proof@v1\nextra e30=\nindex x\n\n",
        "c2sp.org/tlog-proof@v1\nextra e30=\nindex 0\n" + "AAAA\n" * 100 + "\n",
    ],
)
def test_malformed_proof_files_are_refused_with_a_reason(junk: str) -> None:
    with pytest.raises(ProofFileError):
        proof.verify_proof(junk)


def test_cli_verify_proof_on_garbage_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "x.tlog-proof"
    bad.write_bytes(b"\xff\xfe not text")
    res = run_factfinder("verify-proof", bad)
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert len((res.stdout + res.stderr).strip().splitlines()) == 1
