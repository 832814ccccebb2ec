"""C2SP signed notes and checkpoints, signed with Ed25519.

Implements https://c2sp.org/signed-note (Ed25519 signature type 0x01, key IDs,
verifier keys ``name+hash+base64``) and https://c2sp.org/tlog-checkpoint
(origin, tree size and base64 root hash as the note's first three lines).
A checkpoint is the log's signed statement "my tree of N entries has this
root": handed out, it lets anyone detect later rewriting of the custody log.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from factfinder.vault.errors import CheckpointError

ALG_ED25519 = 0x01
SIGNATURE_PREFIX = "\u2014 "  # an em dash and a space open every signature line
MAX_NOTE_BYTES = 1 << 20


def _valid_key_name(name: str) -> bool:
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


def key_id(name: str, public_key: bytes) -> bytes:
    """The 4-byte key ID: first bytes of SHA-256(name || LF || 0x01 || key)."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([ALG_ED25519]) + public_key).digest()[:4]


@dataclass(frozen=True)
class Verifier:
    """A note verifier key: who signs (``name``) and with which Ed25519 key."""

    name: str
    public_key: bytes

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public_key)

    def encode(self) -> str:
        """The verifier key string ``name+hash+base64(0x01 || key)`` people exchange."""
        blob = base64.b64encode(bytes([ALG_ED25519]) + self.public_key).decode()
        return f"{self.name}+{self.key_id.hex()}+{blob}"

    @property
    def fingerprint(self) -> str:
        """A short, stable form to read aloud or compare by eye: SHA-256 of the key string."""
        digest = hashlib.sha256(self.encode().encode()).hexdigest()
        return ":".join(digest[i : i + 4] for i in range(0, 32, 4))

    @classmethod
    def parse(cls, text: str) -> Verifier:
        parts = text.strip().split("+", 2)  # base64 may itself contain "+"
        if len(parts) != 3 or not _valid_key_name(parts[0]):
            raise CheckpointError("malformed verifier key: expected name+hash+key")
        name, hash_hex, blob = parts
        try:
            raw = base64.b64decode(blob, validate=True)
            want_id = bytes.fromhex(hash_hex)
        except (binascii.Error, ValueError) as exc:
            raise CheckpointError("malformed verifier key encoding") from exc
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise CheckpointError("verifier key is not an Ed25519 key")
        verifier = cls(name, raw[1:])
        if verifier.key_id != want_id:
            raise CheckpointError("verifier key hash does not match its name and key")
        return verifier

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


class Signer:
    """An Ed25519 note signer. Its private key never leaves the case's keys folder."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        if not _valid_key_name(name):
            raise CheckpointError(f"invalid key name {name!r}")
        self.name = name
        self._key = private_key
        raw = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.verifier = Verifier(name, raw)

    @classmethod
    def generate(cls, name: str) -> Signer:
        return cls(name, Ed25519PrivateKey.generate())

    def encode(self) -> str:
        """Secret key string ``PRIVATE+KEY+name+hash+base64(0x01 || seed)`` (Go's note format)."""
        from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

        seed = self._key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        blob = base64.b64encode(bytes([ALG_ED25519]) + seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier.key_id.hex()}+{blob}"

    @classmethod
    def parse(cls, text: str) -> Signer:
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise CheckpointError("malformed signing key file")
        try:
            raw = base64.b64decode(parts[4], validate=True)
        except binascii.Error as exc:
            raise CheckpointError("malformed signing key encoding") from exc
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise CheckpointError("signing key is not an Ed25519 key")
        signer = cls(parts[2], Ed25519PrivateKey.from_private_bytes(raw[1:]))
        if signer.verifier.key_id.hex() != parts[3]:
            raise CheckpointError("signing key hash does not match its key")
        return signer

    def sign(self, text: str) -> str:
        """Return ``text`` as a signed note with this key's signature line."""
        body = text.encode()
        sig = self._key.sign(body)
        line = base64.b64encode(self.verifier.key_id + sig).decode()
        return f"{text}\n{SIGNATURE_PREFIX}{self.name} {line}\n"


@dataclass(frozen=True)
class SignedNote:
    text: str
    signatures: list[tuple[str, bytes, bytes]]  # (name, key id, signature)


def parse_note(note: str) -> SignedNote:
    """Split a signed note into its text and signature lines (no verification)."""
    if len(note.encode()) > MAX_NOTE_BYTES:
        raise CheckpointError("note too large")
    text, sep, sigs = note.rpartition("\n\n")
    if not sep or not text:
        raise CheckpointError("note has no signature block")
    text += "\n"
    if not sigs.endswith("\n"):
        raise CheckpointError("note signature block must end with a newline")
    signatures = []
    for line in sigs[:-1].split("\n"):
        if not line.startswith(SIGNATURE_PREFIX):
            raise CheckpointError("malformed signature line")
        name, _, blob = line[len(SIGNATURE_PREFIX) :].partition(" ")
        try:
            raw = base64.b64decode(blob, validate=True)
        except binascii.Error as exc:
            raise CheckpointError("malformed signature encoding") from exc
        if len(raw) < 5:
            raise CheckpointError("signature too short")
        signatures.append((name, raw[:4], raw[4:]))
    return SignedNote(text, signatures)


def open_note(note: str, verifier: Verifier) -> str:
    """Return the note's text if ``verifier`` signed it; raise :class:`CheckpointError` if not."""
    parsed = parse_note(note)
    for name, kid, sig in parsed.signatures:
        if name == verifier.name and kid == verifier.key_id:
            if verifier.verify(parsed.text.encode(), sig):
                return parsed.text
            raise CheckpointError(f"signature by {name} does not verify: note forged or altered")
    raise CheckpointError(f"note carries no signature by {verifier.name}")


@dataclass(frozen=True)
class Checkpoint:
    """The body of a tlog-checkpoint: origin, tree size, root hash."""

    origin: str
    size: int
    root_hash: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root_hash).decode()}\n"

    def sign(self, signer: Signer) -> str:
        return signer.sign(self.text())

    @classmethod
    def from_text(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            raise CheckpointError("checkpoint body needs origin, size and root lines")
        origin, size_s, root_b64 = lines[0], lines[1], lines[2]
        if not origin:
            raise CheckpointError("checkpoint has an empty origin")
        if not size_s.isdigit() or (size_s != "0" and size_s.startswith("0")):
            raise CheckpointError("checkpoint size is not a decimal number")
        try:
            root_hash = base64.b64decode(root_b64, validate=True)
        except binascii.Error as exc:
            raise CheckpointError("checkpoint root is not base64") from exc
        if len(root_hash) != 32:
            raise CheckpointError("checkpoint root is not a SHA-256 hash")
        return cls(origin, int(size_s), root_hash)

    @classmethod
    def open(cls, note: str, verifier: Verifier) -> Checkpoint:
        """Verify the signature on a checkpoint note and parse its body."""
        checkpoint = cls.from_text(open_note(note, verifier))
        if checkpoint.origin != verifier.name:
            raise CheckpointError(f"checkpoint origin {checkpoint.origin!r} is not the log {verifier.name!r}")
        return checkpoint
