"""A case folder and its settings.

A case is one folder that can be copied, backed up and handed over whole::

    CASE_DIR/
      case.json             title, case id, log origin and public key, age recipients
      factfinder.sqlite     items, receipts, sealed fields, the custody log (SQLite, WAL);
                            absent when case.json names a PostgreSQL database instead
      blobs/sha256/ab/...   evidentiary originals, named by their SHA-256, read-only
      tmp/                  partial writes; anything here is unfinished and safe to delete
      keys/                 secrets (0600): the log's signing key, the witness identity

``case.json`` holds nothing secret (a database URL's password goes to ``keys/``);
``keys/`` is never exported.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from factfinder.vault.errors import NotACaseError

CASE_FORMAT = "factfinder-case/1"
CASE_FILE = "case.json"
DB_FILE = "factfinder.sqlite"
BLOB_DIR = "blobs"
TMP_DIR = "tmp"
KEYS_DIR = "keys"
SIGNING_KEY_FILE = "log-signing.key"
IDENTITY_FILE = "witness-identity.age"
DB_PASSWORD_FILE = "database-password"  # a PostgreSQL password, kept out of case.json


@dataclass
class CaseConfig:
    """What ``case.json`` says about a case."""

    case_id: str
    title: str
    created_at: str
    log_key: str
    recipients: list[str] = field(default_factory=list)
    database_url: str | None = None
    format: str = CASE_FORMAT

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def load(cls, case_dir: Path) -> CaseConfig:
        path = case_dir / CASE_FILE
        if not case_dir.is_dir():
            raise NotACaseError(f"{case_dir}: no such folder")
        if not path.is_file():
            raise NotACaseError(
                f"{case_dir}: not a factfinder case (no {CASE_FILE}); create one with 'factfinder init'"
            )
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise NotACaseError(f"{path}: unreadable case file ({exc.__class__.__name__})") from exc
        if not isinstance(data, dict) or data.get("format") != CASE_FORMAT:
            raise NotACaseError(f"{path}: not a case file this version understands")
        try:
            return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})
        except TypeError as exc:
            raise NotACaseError(f"{path}: case file is missing fields") from exc

    def save(self, case_dir: Path) -> None:
        path = case_dir / CASE_FILE
        tmp = path.with_suffix(".json.tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(self.to_json())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)


def default_actor() -> str:
    """Who is acting, for custody entries: ``FACTFINDER_ACTOR`` or the login name."""
    actor = os.environ.get("FACTFINDER_ACTOR")
    if actor:
        return actor
    try:
        import getpass

        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
