"""The web submission channel: a testimony, its files and sealed contact details.

A submission becomes one text item (the testimony exactly as typed, UTF-8)
and one item per attached file, recorded in a single custody transaction so
that a submission is either wholly in the case or not at all. Contact details
are sealed with age before anything is written. File names from browsers are
claims and may be hostile: only a cleaned base name is kept, as a claim.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from factfinder.vault.blobs import StoredBlob
from factfinder.vault.case import Case, NewReceipt, Recorded, validate_claimed_time
from factfinder.vault.errors import IntakeError

CHANNEL = "web"
ACTOR = "web-submission"
MAX_TESTIMONY_CHARS = 200_000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def clean_filename(name: str | None) -> str | None:
    """The last path component of a browser-given name, without control characters."""
    if not name:
        return None
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = _CONTROL.sub("", unicodedata.normalize("NFC", base)).strip().lstrip(".")
    return base[:255] or None


def contact_fields(name: str | None, phone: str | None, contact: str | None) -> dict[str, str]:
    """A witness's contact details under the protected-field names they are sealed as."""
    return {"witness_name": name or "", "witness_phone": phone or "", "witness_contact": contact or ""}


@dataclass
class Submission:
    testimony: str
    language: str | None = None
    campaign: str | None = None
    contact: dict[str, str] = field(default_factory=dict)
    files: list[tuple[StoredBlob, str | None]] = field(default_factory=list)


def submit(case: Case, sub: Submission) -> list[Recorded]:
    """Record a submission; the first result is the testimony (if any), then the files."""
    text = sub.testimony.strip()
    if not text and not sub.files:
        raise IntakeError("a submission needs a testimony or at least one file")
    if len(text) > MAX_TESTIMONY_CHARS:
        raise IntakeError(f"testimony longer than {MAX_TESTIMONY_CHARS} characters")
    source = "web submission page" + (f" (campaign {sub.campaign})" if sub.campaign else "")
    protected = {k: v.strip() for k, v in sub.contact.items() if v and v.strip()}
    receipts: list[NewReceipt] = []
    if text:
        blob = case.blobs.put_bytes(sub.testimony.encode("utf-8"))
        lang = f"; language {sub.language}" if sub.language else ""
        receipts.append(
            NewReceipt(
                blob=blob,
                channel=CHANNEL,
                source=source,
                note=f"testimony typed into the submission page{lang}",
                original_name="testimony.txt",
                protected=protected,
            )
        )
        note = f"attached to testimony {blob.sha256}"
    else:
        note = "submitted without a testimony"
    for i, (blob, name) in enumerate(sub.files):
        receipts.append(
            NewReceipt(
                blob=blob,
                channel=CHANNEL,
                source=source,
                note=note,
                original_name=clean_filename(name),
                protected=protected if not text and i == 0 else {},
            )
        )
    return case.record(receipts, actor=ACTOR)


@dataclass
class Evidence:
    """Files an investigator adds through the web, with what is known of where they came from."""

    files: list[tuple[StoredBlob, str | None]]
    channel: str = "web-upload"
    source: str | None = None
    note: str | None = None
    collected_at_claimed: str | None = None
    collected_by_claimed: str | None = None
    contact: dict[str, str] = field(default_factory=dict)


def add_evidence(case: Case, ev: Evidence, *, actor: str) -> list[Recorded]:
    """Record files added by a signed-in investigator, under their own name, in one transaction."""
    if not ev.files:
        raise IntakeError("choose at least one file")
    collected_at = validate_claimed_time(ev.collected_at_claimed)
    protected = {k: v.strip() for k, v in ev.contact.items() if v and v.strip()}
    receipts = [
        NewReceipt(
            blob=blob,
            channel=ev.channel.strip()[:64] or "web-upload",
            source=ev.source or None,
            note=ev.note or None,
            original_name=clean_filename(name),
            collected_at_claimed=collected_at,
            collected_by_claimed=ev.collected_by_claimed or None,
            protected=protected,
        )
        for blob, name in ev.files
    ]
    return case.record(receipts, actor=actor)
