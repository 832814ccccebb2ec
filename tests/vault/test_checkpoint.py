"""C2SP signed notes and checkpoints."""

from __future__ import annotations

import base64

import pytest

from factfinder.vault.checkpoint import Checkpoint, Signer, Verifier, key_id, open_note, parse_note
from factfinder.vault.errors import CheckpointError


def test_sign_and_open_checkpoint() -> None:
    signer = Signer.generate("factfinder/test-log")
    note = Checkpoint("factfinder/test-log", 5, b"\x01" * 32).sign(signer)
    lines = note.split("\n")
    assert lines[:3] == ["factfinder/test-log", "5", base64.b64encode(b"\x01" * 32).decode()]
    assert lines[4].startswith("\u2014 factfinder/test-log ")
    cp = Checkpoint.open(note, signer.verifier)
    assert (cp.size, cp.root_hash) == (5, b"\x01" * 32)


def test_key_strings_round_trip() -> None:
    signer = Signer.generate("example.org/log")
    vkey = signer.verifier.encode()
    name, hash_hex, _ = vkey.split("+", 2)
    assert name == "example.org/log" and len(hash_hex) == 8
    assert Verifier.parse(vkey) == signer.verifier
    assert Signer.parse(signer.encode()).verifier == signer.verifier
    assert signer.verifier.key_id == key_id("example.org/log", signer.verifier.public_key)


def test_altered_note_is_rejected() -> None:
    signer = Signer.generate("log")
    note = Checkpoint("log", 5, b"\x01" * 32).sign(signer)
    with pytest.raises(CheckpointError, match="does not verify"):
        open_note(note.replace("\n5\n", "\n6\n"), signer.verifier)


def test_signature_by_another_key_is_rejected() -> None:
    good, evil = Signer.generate("log"), Signer.generate("log")
    note = Checkpoint("log", 1, b"\x02" * 32).sign(evil)
    with pytest.raises(CheckpointError):
        Checkpoint.open(note, good.verifier)


def test_wrong_origin_is_rejected() -> None:
    signer = Signer.generate("log-a")
    note = Checkpoint("log-b", 1, b"\x02" * 32).sign(signer)
    with pytest.raises(CheckpointError, match="origin"):
        Checkpoint.open(note, signer.verifier)


@pytest.mark.parametrize(
    "note",
    ["", "no signatures\n", "a\n1\nAAAA\n\nnot a signature\n", "a\n1\n!!!\n\n\u2014 a AAAAAAAA\n"],
)
def test_malformed_notes(note: str) -> None:
    signer = Signer.generate("a")
    with pytest.raises(CheckpointError):
        Checkpoint.open(note, signer.verifier)


def test_verifier_key_with_wrong_hash_is_rejected() -> None:
    vkey = Signer.generate("log").verifier.encode()
    name, _, blob = vkey.split("+", 2)
    with pytest.raises(CheckpointError, match="hash"):
        Verifier.parse(f"{name}+00000000+{blob}")


def test_parse_note_keeps_all_signatures() -> None:
    a = Signer.generate("a")
    note = a.sign("hello\n")
    extra = note + "\u2014 witness " + base64.b64encode(b"\x00" * 68).decode() + "\n"
    parsed = parse_note(extra)
    assert parsed.text == "hello\n"
    assert [s[0] for s in parsed.signatures] == ["a", "witness"]
    assert open_note(extra, a.verifier) == "hello\n"
