"""Offline proof files for items, in the C2SP tlog-proof format.

A proof file is a https://c2sp.org/tlog-proof (``c2sp.org/tlog-proof@v1``):
the entry's index, its RFC 9162 inclusion proof and the signed checkpoint. Its
``extra`` line carries what a recipient needs besides: the custody entry
itself and the log's public key, as base64 of a small JSON object::

    {"format": "factfinder/item-proof/v1", "entry": "<base64 entry>", "log_key": "<vkey>"}

Whoever receives the evidence can check, with this file alone and no access
to our server, that the entry is in the log the key signed, that the entry is
about the item, and (given the file) that the file is the item. The key in the
file is only a claim: compare its fingerprint with one obtained elsewhere, or
pass ``--key`` to insist on a known one.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from factfinder.vault import custody, merkle
from factfinder.vault.blobs import hash_file
from factfinder.vault.checkpoint import Checkpoint, Verifier
from factfinder.vault.errors import CheckpointError, ProofFileError

HEADER = "c2sp.org/tlog-proof@v1"
EXTRA_FORMAT = "factfinder/item-proof/v1"
MAX_PROOF_BYTES = 1 << 20
MAX_PROOF_HASHES = 64


def encode_proof(index: int, hashes: list[bytes], checkpoint_note: str, entry: bytes, log_key: str) -> str:
    extra = custody.canonical_json(
        {"format": EXTRA_FORMAT, "entry": base64.b64encode(entry).decode(), "log_key": log_key}
    )
    lines = [HEADER, f"extra {base64.b64encode(extra).decode()}", f"index {index}"]
    lines += [base64.b64encode(h).decode() for h in hashes]
    return "\n".join(lines) + "\n\n" + checkpoint_note


@dataclass(frozen=True)
class ParsedProof:
    index: int
    hashes: list[bytes]
    checkpoint_note: str
    entry: bytes
    log_key: str


def _b64(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ProofFileError(f"{what} is not valid base64") from exc


def parse_proof(text: str) -> ParsedProof:
    if len(text.encode()) > MAX_PROOF_BYTES:
        raise ProofFileError("proof file is too large to be a proof")
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise ProofFileError("not a proof file: no checkpoint after the proof")
    lines = head.split("\n")
    if lines[0] != HEADER:
        raise ProofFileError(f"not a proof file: first line is not {HEADER}")
    extra: bytes | None = None
    pos = 1
    while pos < len(lines) and lines[pos].startswith("extra "):
        if extra is not None:
            raise ProofFileError("proof file has more than one extra line")
        extra = _b64(lines[pos][6:], "extra data")
        pos += 1
    if pos >= len(lines) or not lines[pos].startswith("index "):
        raise ProofFileError("proof file has no index line")
    index_s = lines[pos][6:]
    if not index_s.isdigit():
        raise ProofFileError("proof index is not a number")
    hashes = [_b64(h, "proof hash") for h in lines[pos + 1 :]]
    if len(hashes) > MAX_PROOF_HASHES:
        raise ProofFileError("proof has more hashes than any log could need")
    if extra is None:
        raise ProofFileError("proof file carries no custody entry (no extra line)")
    try:
        meta = json.loads(extra)
        if meta.get("format") != EXTRA_FORMAT:
            raise ProofFileError("proof's extra data is not a factfinder item proof")
        entry = _b64(meta["entry"], "custody entry")
        log_key = str(meta["log_key"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ProofFileError("proof's extra data is malformed") from exc
    return ParsedProof(int(index_s), hashes, note, entry, log_key)


@dataclass(frozen=True)
class ProofResult:
    """What a proof established."""

    index: int
    entry: dict[str, Any]
    checkpoint: Checkpoint
    key_fingerprint: str
    blob_checked: bool


def verify_proof(text: str, *, blob: Path | None = None, trusted_key: str | None = None) -> ProofResult:
    """Check a proof file on its own; raise :class:`ProofFileError` saying what fails."""
    proof = parse_proof(text)
    try:
        verifier = Verifier.parse(trusted_key or proof.log_key)
    except CheckpointError as exc:
        raise ProofFileError(f"log key: {exc}") from exc
    if trusted_key and Verifier.parse(proof.log_key) != verifier:
        raise ProofFileError("the proof names a different log key than the one you trust")
    try:
        checkpoint = Checkpoint.open(proof.checkpoint_note, verifier)
    except CheckpointError as exc:
        raise ProofFileError(f"checkpoint: {exc}") from exc
    try:
        merkle.verify_inclusion(
            proof.index, checkpoint.size, merkle.leaf_hash(proof.entry), proof.hashes, checkpoint.root_hash
        )
    except merkle.ProofError as exc:
        raise ProofFileError(f"inclusion proof fails: the entry is not in the signed log ({exc})") from exc
    try:
        entry = custody.decode_entry(proof.entry)
    except ValueError as exc:
        raise ProofFileError(f"custody entry: {exc}") from exc
    if entry.get("seq") != proof.index:
        raise ProofFileError("custody entry's own index differs from the proof's index")
    if entry.get("action") not in custody.ITEM_ACTIONS:
        raise ProofFileError("custody entry does not record an item")
    if blob is not None:
        try:
            digest, size = hash_file(blob)
        except OSError as exc:
            raise ProofFileError(f"{blob}: cannot read ({exc.strerror})") from exc
        if digest != entry.get("item_sha256"):
            raise ProofFileError(f"{blob}: its SHA-256 {digest} is not the logged item's {entry.get('item_sha256')}")
        if size != entry.get("item_size"):
            raise ProofFileError(f"{blob}: {size} bytes, the logged item has {entry.get('item_size')}")
    return ProofResult(proof.index, entry, checkpoint, verifier.fingerprint, blob is not None)
