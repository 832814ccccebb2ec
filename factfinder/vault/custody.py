"""Custody entries: the canonical records the custody log holds.

An entry is a JSON object with sorted keys and no insignificant whitespace,
UTF-8 encoded, so that the same record always gives the same bytes and the
same leaf hash. Every entry names its format, its own index (``seq``), the
action, the actor, the vault's clock, and the checkpoint that was current when
it was written, which ties it to the history before it.

Times come in two kinds and the field names say which: ``*_claimed`` is what a
person or a device said (device clocks are often wrong, and sometimes set
wrong on purpose); ``*_vault_clock`` is the clock of the machine running the
vault, which is itself only as good as that machine's clock.

Descriptive details of a receipt (source, note, file name, who collected it,
sealed witness fields) are not in the entry: the entry carries a salted
SHA-256 commitment to them, so a proof can be handed to an outsider without
disclosing any of them, while any later edit of those details in the database
no longer matches the log.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

ENTRY_FORMAT = "factfinder/custody-entry/v1"

ITEM_ADDED = "item.added"
ITEM_RECEIVED = "item.received"
PROTECTED_OPENED = "protected.opened"
ITEM_PUBLISHED = "item.published"
ITEM_DERIVED = "item.derived"
CLAIM_REVIEWED = "claim.reviewed"
INCIDENT_DECIDED = "incident.decided"
PERSONS_RECORDED = "persons.recorded"
PERSONS_REVIEWED = "persons.reviewed"
TRANSFER_RECEIVED = "transfer.received"  # a carried bundle or a sync brought another origin's entries in
ORIGIN_FORKED = "origin.forked"  # another origin offered a checkpoint inconsistent with one held
CASE_CREATED = "case.created"
ITEM_ACTIONS = (ITEM_ADDED, ITEM_RECEIVED)


def vault_clock() -> str:
    """Now, in UTC, to the microsecond, as ISO 8601 with a ``Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def encode_entry(seq: int, action: str, prev_size: int, prev_root: bytes | None, **fields: Any) -> bytes:
    record = {
        "format": ENTRY_FORMAT,
        "seq": seq,
        "action": action,
        "prev_checkpoint_size": prev_size,
        "prev_checkpoint_root": base64.b64encode(prev_root).decode() if prev_root else None,
        **fields,
    }
    return canonical_json(record)


def decode_entry(data: bytes) -> dict[str, Any]:
    """Parse an entry; raise ``ValueError`` if it is not a canonical custody entry."""
    record = json.loads(data.decode("utf-8"))
    if not isinstance(record, dict) or record.get("format") != ENTRY_FORMAT:
        raise ValueError("not a factfinder custody entry")
    if canonical_json(record) != data:
        raise ValueError("custody entry is not in canonical form")
    return record


def details_commitment(salt: bytes, details: dict[str, Any]) -> str:
    """Salted SHA-256 over a receipt's descriptive details, hex encoded."""
    return hashlib.sha256(salt + canonical_json(details)).hexdigest()


def receipt_details(
    *,
    source: str | None,
    note: str | None,
    original_name: str | None,
    collected_by_claimed: str | None,
    sealed: dict[str, bytes],
) -> dict[str, Any]:
    """The details a receipt's commitment covers (sealed fields by ciphertext digest)."""
    return {
        "source": source,
        "note": note,
        "original_name": original_name,
        "collected_by_claimed": collected_by_claimed,
        "sealed": {name: hashlib.sha256(ct).hexdigest() for name, ct in sorted(sealed.items())},
    }


def records_commitment(digests: list[str]) -> str:
    """SHA-256 over a batch of person records' digests, in order: what a ``persons.recorded`` entry names."""
    return hashlib.sha256("\n".join(digests).encode()).hexdigest()


def sealed_commitment(sealed: list[dict[str, bytes]]) -> str:
    """SHA-256 over the digests of every sealed field of a batch, record by record, field by field."""
    parts = [
        ",".join(f"{name}:{hashlib.sha256(ct).hexdigest()}" for name, ct in sorted(fields.items())) for fields in sealed
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()
