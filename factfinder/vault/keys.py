"""Key files: the log's Ed25519 signing key and the age identity for witness fields.

Secrets are created with mode 0600 in one ``open(O_EXCL)`` call, so there is no
moment when they exist with wider permissions, and they are never printed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyrage
from pyrage import x25519

from factfinder.vault.checkpoint import Signer
from factfinder.vault.errors import IdentityError


def write_secret(path: Path, text: str) -> None:
    """Create ``path`` (which must not exist) readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def load_signer(path: Path) -> Signer | None:
    """The log signer, or ``None`` for a read-only copy of a case."""
    if not path.exists():
        return None
    return Signer.parse(path.read_text(encoding="utf-8"))


def generate_identity() -> x25519.Identity:
    return x25519.Identity.generate()


def identity_file_text(identity: x25519.Identity) -> str:
    recipient = identity.to_public()
    return f"# factfinder witness identity: opens sealed witness fields\n# public key: {recipient}\n{identity}\n"


def load_identity(path: Path) -> x25519.Identity:
    """Read an age identity file (comments allowed, as age-keygen writes them)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not text"
        raise IdentityError(f"{path}: cannot read identity file ({reason})") from exc
    return parse_identity(text, str(path))


def parse_identity(text: str, where: str = "identity") -> x25519.Identity:
    """An age X25519 identity from the text of an identity file."""
    keys = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    if len(keys) != 1 or not keys[0].startswith("AGE-SECRET-KEY-"):
        raise IdentityError(f"{where}: not an age identity file")
    try:
        return x25519.Identity.from_str(keys[0])
    except pyrage.IdentityError as exc:
        raise IdentityError(f"{where}: malformed age identity") from exc
