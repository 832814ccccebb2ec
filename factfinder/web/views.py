"""What a page shows of an item, the log or a receipt, cut to what the caller may see.

Witness identities are the sharpest edge: an analyst sees a pseudonym
(``W-<receipt number>``) where an investigator could open the sealed fields,
and an observer sees no receipt details at all, only what makes the item
checkable (digest, type, when and through which channel it arrived).
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException

from factfinder import browse
from factfinder.db.models import Item
from factfinder.permissions import Permission, allows
from factfinder.vault import custody
from factfinder.vault.case import Case
from factfinder.vault.checkpoint import Checkpoint
from factfinder.vault.errors import CheckpointError, VaultError
from factfinder.web.auth import Caller

TEXT_PREVIEW_BYTES = 64 << 10
LOG_PAGE = 100


def visible_item_or_404(case: Case, ref: str, who: Caller) -> Item:
    """The item ``ref`` names if ``who`` may see it; a 404 otherwise, as if it did not exist."""
    try:
        return browse.visible_item(case, ref, only_published=who.only_published)
    except VaultError as exc:
        raise HTTPException(404, str(exc)) from exc


def pseudonym(receipt_id: int) -> str:
    return f"W-{receipt_id:04d}"


def item_view(case: Case, ref: str, who: Caller, opened: dict[int, dict[str, str]] | None = None) -> dict[str, Any]:
    role = who.account.role if who.account else None
    evidence = not who.only_published
    try:
        item = browse.visible_item(case, ref, only_published=not evidence)
        _, receipts, openings, entries = case.item_detail(item.sha256)
    except VaultError as exc:
        raise HTTPException(404, str(exc)) from exc
    text = None
    if item.media_type.startswith("text/"):
        with case.blobs.open(item.sha256) as fh:
            text = fh.read(TEXT_PREVIEW_BYTES).decode("utf-8", errors="replace")
    rows = []
    for r in receipts:
        row: dict[str, Any] = {
            "log_index": r.log_index,
            "action": r.action,
            "channel": r.channel,
            "received_at_vault_clock": r.received_at_vault_clock,
        }
        if evidence:
            row |= {
                "source": r.source,
                "note": r.note,
                "original_name": r.original_name,
                "collected_at_claimed": r.collected_at_claimed,
                "collected_by_claimed": r.collected_by_claimed,
                "actor": r.actor,
                "sealed": [p.field for p in r.protected_fields],
                "witness": pseudonym(r.id) if r.protected_fields else None,
                "opened": (opened or {}).get(r.id),
            }
        rows.append(row)
    return {
        "item": item,
        "receipts": rows,
        "openings": openings if evidence else [],
        "entries": entries if evidence else [e for e in entries if e.get("action") in custody.ITEM_ACTIONS],
        "text": text,
        "published": browse.is_published(case, item.id),
        "evidence": evidence,
        "can_reveal": allows(role, Permission.REVEAL_PROTECTED) and any(r.protected_fields for r in receipts),
        "can_publish": allows(role, Permission.PUBLISH),
    }


def checkpoint_status(case: Case) -> dict[str, Any]:
    """Is the latest checkpoint signed by the case's key, and is its root the log's root now?"""
    with case.engine.connect() as conn:
        note = case.log.latest_checkpoint(conn)
        size = case.log.size(conn)
        if note is None:
            return {"ok": False, "detail": "no signed checkpoint", "note": None, "size": size}
        try:
            cp = Checkpoint.open(note, case.verifier)
        except CheckpointError as exc:
            return {"ok": False, "detail": f"checkpoint signature fails: {exc}", "note": note, "size": size}
        ok = cp.size <= size and case.log.root(conn, cp.size) == cp.root_hash
    detail = "signature valid; root matches the log" if ok else "root does not match the log"
    return {"ok": ok, "detail": detail, "note": note, "size": size, "checkpoint_size": cp.size}


def log_view(case: Case, page: int | None) -> dict[str, Any]:
    status = checkpoint_status(case)
    size = status["size"]
    pages = max(1, -(-size // LOG_PAGE))
    page = min(page or pages, pages)
    start = (page - 1) * LOG_PAGE
    with case.engine.connect() as conn:
        entries = [custody.decode_entry(e) for _, e in case.log.entries(conn, start, min(size, start + LOG_PAGE))]
    return {"status": status, "entries": entries, "page": page, "pages": pages}


def receipt_check(case: Case, entry: int | None, digest: str | None) -> dict[str, Any] | None:
    """For a submitter: is entry ``entry`` in the signed log, and is it about ``digest``?

    Both are needed, so that holding a file alone does not tell anyone whether
    it was submitted.
    """
    if entry is None or not digest:
        return None
    digest = digest.strip().lower()
    with case.engine.connect() as conn:
        if entry >= case.log.size(conn):
            return {"found": False}
        record = custody.decode_entry(case.log.entry(conn, entry))
    if record.get("action") not in custody.ITEM_ACTIONS or record.get("item_sha256") != digest:
        return {"found": False}
    try:
        proof = case.entry_proof(entry)
    except VaultError:
        proof = None
    return {
        "found": True,
        "received_at_vault_clock": record.get("received_at_vault_clock"),
        "channel": record.get("channel"),
        "proof": proof,
    }
