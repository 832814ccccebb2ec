"""What a page shows of an item, the log, a receipt or the media step's findings, cut to what the caller may see.

Witness identities are the sharpest edge: an analyst sees a pseudonym
(``W-<receipt number>``) where an investigator could open the sealed fields,
and an observer sees no receipt details at all, only what makes the item
checkable (digest, type, when and through which channel it arrived).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import HTTPException
from fastapi.responses import Response
from sqlalchemy import Connection, or_, select
from sqlalchemy.orm import Session

from factfinder import browse
from factfinder.db.models import (
    ClaimReview,
    Derivative,
    Item,
    MediaAnalysis,
    MediaCluster,
    MediaMatch,
    Publication,
    TextClaim,
    TextReading,
)
from factfinder.media import analyse, clusters, earliest, redact, scan
from factfinder.permissions import Permission, allows
from factfinder.text import store
from factfinder.text.claims import KINDS, VERSION
from factfinder.text.corrections import (
    EDITABLE,
    FIELDS,
    OTHER_FIELD,
    ClaimError,
    FieldSpec,
    check_correction,
    field_error,
)
from factfinder.vault import custody, masking
from factfinder.vault.case import Case
from factfinder.vault.checkpoint import Checkpoint
from factfinder.vault.errors import CheckpointError, VaultError
from factfinder.web import i18n
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
    with case.engine.connect() as conn:
        sealed_answers = masking.sealed_questions(conn, [item.id]).get(item.id, ())
    text = None
    if item.media_type.startswith("text/"):
        with case.blobs.open(item.sha256) as fh:
            text = fh.read(TEXT_PREVIEW_BYTES).decode("utf-8", errors="replace")
        # masked for all: "reveal" opens them, with a custody entry
        text = masking.mask_original(case.blobs.path(item.sha256), sealed_answers, text)
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
        "sealed_answers": sealed_answers if evidence else (),
        "masked_download": bool(sealed_answers) and not allows(role, Permission.REVEAL_PROTECTED),
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


# -- media: metadata, matches and clusters, cut to what the caller may see ----------------------
#
# An observer sees a published photo as the public will: the picture, when the file
# says it was taken, its size and format, and whether it carries valid content
# credentials. Not where it was taken (GPS), not the device (camera make and model,
# the software string, which on phones names the model and firmware), not the raw
# metadata (serial numbers, owner names) and not who signed its credentials: any of
# these can lead back to the person who took it. And an observer learns nothing of
# unpublished items, not even that one exists: every match list and cluster below is
# built from published items alone, as if the case held nothing else.

CLUSTER_PAGE = 50
OBSERVER_WITHHELD = (
    "gps",
    "camera_make",
    "camera_model",
    "software",
    "raw_metadata",
    "error",
    "c2pa.signed_by",
    "c2pa.claim_generator",
    "c2pa.failures",
)
"""What an observer is never shown of a media analysis: always the same list, so it says nothing of the file."""
C2PA_MEANING = {
    "Trusted": "the signature checks and the signer is on a trust list held here",
    "Valid": (
        "the signature checks, but the signer is not on a trust list held here: "
        "the file is unchanged since signing, but who signed it is not vouched for"
    ),
    "Invalid": "the file was altered after it was signed, or the credentials are forged",
    "Unreadable": "the file carries content credentials that could not be read",
}
MATCH_KINDS = {
    "image": "same picture",
    "video": "same footage",
    "image-in-video": "the picture is a frame of the video",
}
NO_PUBLISHED_COPY = (
    "no published copy of this photo, video or recording has been made yet; originals can carry GPS positions "
    "and device identifiers, so observers get a copy without them, made when an investigator publishes the item"
)


def clock(seconds: float | None) -> str:
    """A time in a video as people read it: ``1:05``, ``1:02:03``, ``0:04.5`` for fractions."""
    if seconds is None:
        return ""
    tenths = round(float(seconds) * 10)
    whole, frac = divmod(tenths, 10)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
    return f"{text}.{frac}" if frac else text


def masked_original(case: Case, item: Item, who: Caller, *, ext: str = "") -> Response | None:
    """The original with its sealed answers masked, as a download, for a caller who may not open witness fields.

    None when the caller gets the original itself: the item has no sealed
    answers in its bytes (nearly every item), or the caller may open them."""
    role = who.account.role if who.account else None
    if allows(role, Permission.REVEAL_PROTECTED):
        return None
    with case.engine.connect() as conn:
        masked = masking.masked_bytes(conn, item.id, case.blobs.path(item.sha256))
    if masked is None:
        return None
    return Response(
        masked,
        media_type="application/octet-stream",
        headers={"content-disposition": f'attachment; filename="{item.sha256}-masked{ext}"'},
    )


def copy_replaces_original(item: Item, who: Caller) -> bool:
    """Whether ``who`` gets the published copy instead of the original (observers, for media files)."""
    return who.only_published and analyse.media_kind(item.media_type) in analyse.PICTURE_KINDS


def published_copy_or_404(case: Case, item: Item) -> Derivative:
    """The redacted copy served to observers in place of a media original; a 404 that says why if none."""
    copy = redact.published_copy(case, item)
    if copy is None:
        raise HTTPException(404, NO_PUBLISHED_COPY)
    return copy


def media_view(case: Case, item: Item, who: Caller) -> dict[str, Any]:
    """What the item page and ``/api/v1/items/{ref}/media`` show of an item's media analysis.

    ``analysis`` is None for an item the media step has not analysed (a text,
    or a file still waiting for its scan); the rest is then empty.
    """
    only = who.only_published
    with case.engine.connect() as conn:
        analysis = Session(bind=conn).get(MediaAnalysis, item.id)
        matches = _item_matches(conn, item.id, only)
        cluster_id = _cluster_of(conn, item.id, only)
        thumbnail = bool(_thumbnailed(conn, [item.id]))
    copyable = analyse.media_kind(item.media_type) in analyse.PICTURE_KINDS
    copy = redact.published_copy(case, item) if copyable else None
    return {
        "sha256": item.sha256,
        "analysis": _analysis_view(analysis, only) if analysis is not None else None,
        "thumbnail": thumbnail,
        "matches": matches,
        "cluster_id": cluster_id,
        "published_copy": (
            {"sha256": copy.sha256, "media_type": copy.media_type, "size": copy.size, "step_version": copy.step_version}
            if copy is not None
            else None
        ),
        "copyable": copyable,  # a photo, video or recording: published as a copy without its metadata
        "copy_replaces_original": copy_replaces_original(item, who),
    }


def _analysis_view(a: MediaAnalysis, only_published: bool) -> dict[str, Any]:
    c2pa = json.loads(a.c2pa) if a.c2pa else None
    claimed = {
        "captured_at": a.captured_at_claimed,
        "camera_make": None if only_published else a.camera_make,
        "camera_model": None if only_published else a.camera_model,
        "software": None if only_published else a.software,
        "width": a.width,
        "height": a.height,
        "duration": a.duration,
        "video_codec": a.video_codec,
        "audio_codec": a.audio_codec,
        "encoder": a.encoder,
        "rotation": a.rotation,
        "orientation": a.orientation,
    }
    has_gps = a.gps_lat is not None or a.gps_lon is not None
    return {
        "kind": a.kind,
        "status": a.status,
        "error": None if only_published else a.error,
        "analysed_at_vault_clock": a.analysed_at_vault_clock,
        "step_version": a.step_version,
        "claimed": claimed,
        "claimed_rows": _claimed_rows(claimed),
        "gps": {"lat": a.gps_lat, "lon": a.gps_lon, "alt": a.gps_alt} if has_gps and not only_published else None,
        "c2pa": _c2pa_view(c2pa, only_published) if c2pa else None,
        "raw_metadata": None if only_published else json.loads(a.raw_metadata),
        "withheld": list(OBSERVER_WITHHELD) if only_published else [],
    }


def _claimed_rows(c: dict[str, Any]) -> list[tuple[str, str]]:
    """The claimed metadata as (label, text) rows for the page, only the fields the file has."""
    rows: list[tuple[str, str | None]] = [
        ("Capture time", c["captured_at"]),
        ("Camera", " ".join(v for v in (c["camera_make"], c["camera_model"]) if v) or None),
        ("Software", c["software"]),
        ("Size", f"{c['width']} × {c['height']} pixels" if c["width"] and c["height"] else None),
        ("Duration", f"{clock(c['duration'])} ({c['duration']:g} s)" if c["duration"] is not None else None),
        ("Codecs", " / ".join(v for v in (c["video_codec"], c["audio_codec"]) if v) or None),
        ("Encoder", c["encoder"]),
        ("Rotation", f"{c['rotation']}°" if c["rotation"] is not None else None),
        ("Orientation (EXIF)", str(c["orientation"]) if c["orientation"] is not None else None),
    ]
    return [(label, value) for label, value in rows if value]


def _c2pa_view(c2pa: dict[str, Any], only_published: bool) -> dict[str, Any]:
    state = str(c2pa.get("state") or "Unknown")
    return {
        "state": state,
        "meaning": C2PA_MEANING.get(state, "the C2PA library could not say whether the credentials hold"),
        "signed_at": c2pa.get("signed_at"),
        "signed_by": None if only_published else c2pa.get("signed_by"),
        "claim_generator": None if only_published else c2pa.get("claim_generator"),
        "failures": [] if only_published else list(c2pa.get("failures") or []),
    }


def _match_view(
    other: tuple[str, str], kind: str, distance: float, strong: bool, detail: dict[str, Any], thumbnail: bool
) -> dict[str, Any]:
    """One match seen from this item's side, with the words the page shows for it."""
    segments = list(detail.get("segments") or [])
    at = detail.get("at_seconds")
    this_share = detail.get("share_of_this_video_matched")
    other_share = detail.get("share_of_other_video_matched")
    relation = detail.get("relation")
    if relation is None and this_share is not None and other_share is not None:
        relation = f"{this_share:.0%} of this video is in the other; {other_share:.0%} of the other is in this one"
    return {
        "sha256": other[0],
        "media_type": other[1],
        "kind": kind,
        "kind_text": MATCH_KINDS.get(kind, kind),
        "distance": distance,
        "strong": strong,
        "relation": relation,
        "at_seconds": at,
        "at_text": f"at {clock(at)} in the video" if at is not None else None,
        "segments": segments,
        "segments_text": [_segment_text(s) for s in segments],
        "share_of_this_video_matched": this_share,
        "share_of_other_video_matched": other_share,
        "thumbnail": thumbnail,
    }


def _segment_text(s: dict[str, Any]) -> str:
    """``0:05–0:10 here = 1:05–1:10 there``: where the same footage runs in each video."""
    here = f"{clock(s['this_start'])}–{clock(s['this_end'])}"
    return f"{here} here = {clock(s['other_start'])}–{clock(s['other_end'])} there"


def _published(conn: Connection, ids: Iterable[int]) -> set[int]:
    wanted = sorted(set(ids))
    found: set[int] = set()
    for start in range(0, len(wanted), 5000):
        chunk = wanted[start : start + 5000]
        found |= set(conn.execute(select(Publication.item_id).where(Publication.item_id.in_(chunk))).scalars())
    return found


def _thumbnailed(conn: Connection, ids: Iterable[int]) -> set[int]:
    """Which of ``ids`` have a thumbnail to show."""
    wanted = sorted(set(ids))
    found: set[int] = set()
    for start in range(0, len(wanted), 5000):
        chunk = wanted[start : start + 5000]
        q = select(Derivative.item_id).where(Derivative.step == analyse.THUMBNAIL_STEP, Derivative.item_id.in_(chunk))
        found |= set(conn.execute(q).scalars())
    return found


def _items(conn: Connection, ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """Item id -> (sha256, media type)."""
    wanted = sorted(set(ids))
    out: dict[int, tuple[str, str]] = {}
    for start in range(0, len(wanted), 5000):
        chunk = wanted[start : start + 5000]
        for i, sha, mt in conn.execute(select(Item.id, Item.sha256, Item.media_type).where(Item.id.in_(chunk))):
            out[i] = (sha, mt)
    return out


def _item_matches(conn: Connection, item_id: int, only_published: bool) -> list[dict[str, Any]]:
    """The items that show the same picture or footage as ``item_id`` (published ones only, for observers)."""
    rows = conn.execute(
        select(
            MediaMatch.item_a,
            MediaMatch.item_b,
            MediaMatch.kind,
            MediaMatch.distance,
            MediaMatch.strong,
            MediaMatch.detail,
        ).where(or_(MediaMatch.item_a == item_id, MediaMatch.item_b == item_id))
    ).all()
    others = {b if a == item_id else a for a, b, *_ in rows}
    if only_published:
        others &= _published(conn, others)
    items = _items(conn, others)
    thumbs = _thumbnailed(conn, items)
    out = []
    for a, b, kind, distance, strong, detail in rows:
        other = b if a == item_id else a
        if other not in items:
            continue
        seen_from_here = json.loads(detail)
        if item_id == b:  # details are stored as seen from item_a
            seen_from_here = scan.flip_detail(seen_from_here)
        out.append(_match_view(items[other], kind, distance, strong, seen_from_here, other in thumbs))
    return sorted(out, key=lambda m: (m["distance"], m["sha256"]))


def _published_clusters(conn: Connection) -> dict[int, list[int]]:
    """Clusters built from the matches between published items only: cluster id -> member ids.

    The stored clusters span all items, and an unpublished item can be the
    bridge that joins two published ones; rebuilt from published items alone,
    the clusters an observer sees are those a case holding only them would have.
    """
    assignment = clusters.build_clusters(scan.match_links(conn, among=select(Publication.item_id)))
    groups: dict[int, list[int]] = {}
    for item_id, cid in sorted(assignment.items()):
        groups.setdefault(cid, []).append(item_id)
    return groups


def _cluster_of(conn: Connection, item_id: int, only_published: bool) -> int | None:
    if only_published:
        return next((cid for cid, ids in _published_clusters(conn).items() if item_id in ids), None)
    found = conn.execute(select(MediaCluster.cluster_id).where(MediaCluster.item_id == item_id)).scalar()
    return int(found) if found is not None else None


def cluster_list(case: Case, who: Caller, page: int = 1) -> dict[str, Any]:
    """One page of clusters, largest first, each with its members (digest, type, whether a thumbnail exists)."""
    with case.engine.connect() as conn:
        groups: dict[int, list[int]] = {}
        if who.only_published:
            groups = _published_clusters(conn)
            listing = sorted(((cid, len(ids)) for cid, ids in groups.items()), key=lambda c: (-c[1], c[0]))
        else:
            listing = earliest.cluster_ids(conn)
        pages = max(1, -(-len(listing) // CLUSTER_PAGE))
        page = min(max(1, page), pages)
        chosen = listing[(page - 1) * CLUSTER_PAGE : page * CLUSTER_PAGE]
        if not who.only_published:
            rows = conn.execute(
                select(MediaCluster.cluster_id, MediaCluster.item_id)
                .where(MediaCluster.cluster_id.in_([cid for cid, _ in chosen]))
                .order_by(MediaCluster.item_id)
            ).all()
            for cid, item_id in rows:
                groups.setdefault(cid, []).append(item_id)
        ids = [i for cid, _ in chosen for i in groups.get(cid, [])]
        items = _items(conn, ids)
        thumbs = _thumbnailed(conn, ids)
    return {
        "clusters": [
            {
                "id": cid,
                "size": size,
                "members": [
                    {"sha256": items[i][0], "media_type": items[i][1], "thumbnail": i in thumbs}
                    for i in groups.get(cid, [])
                    if i in items
                ],
            }
            for cid, size in chosen
        ],
        "total": len(listing),
        "page": page,
        "pages": pages,
    }


def cluster_view(case: Case, cluster_id: int, who: Caller) -> dict[str, Any]:
    """A cluster's members, how each matched the others, and the ranked earliest/most original candidates."""
    with case.engine.connect() as conn:
        if who.only_published:
            group = earliest.members_of(conn, _published_clusters(conn).get(cluster_id, []))
        else:
            group = earliest.members(conn, cluster_id)
        if not group:
            raise HTTPException(404, f"no media cluster {cluster_id}")
        ranked = earliest.rank(conn, group, public=who.only_published)
        thumbs = _thumbnailed(conn, [m.item_id for m in group])
    by_sha = {m.sha256: m for m in group}
    thumb_by_sha = {m.sha256: m.item_id in thumbs for m in group}
    members = []
    for m in group:
        matches = [
            _match_view(
                (x["other_sha256"], by_sha[x["other_sha256"]].media_type),
                x["kind"],
                x["distance"],
                x["strong"],
                x,
                thumb_by_sha[x["other_sha256"]],
            )
            for x in m.matches
        ]
        members.append(
            {
                "sha256": m.sha256,
                "media_type": m.media_type,
                "thumbnail": m.item_id in thumbs,
                "summary": _member_summary(m.analysis),
                "matches": sorted(matches, key=lambda x: (x["distance"], x["sha256"])),
            }
        )
    return {
        "id": cluster_id,
        "size": len(group),
        "members": members,
        "candidates": [
            {
                "sha256": c.sha256,
                "media_type": by_sha[c.sha256].media_type,
                "thumbnail": thumb_by_sha[c.sha256],
                "score": c.score,
                "reasons": c.reasons,
            }
            for c in ranked
        ],
    }


def _member_summary(a: MediaAnalysis | None) -> str:
    """Size, length and claimed capture time in a few words (nothing an observer may not see)."""
    if a is None:
        return "not analysed"
    parts = []
    if a.width and a.height:
        parts.append(f"{a.width} × {a.height}")
    if a.duration is not None:
        parts.append(clock(a.duration))
    if a.captured_at_claimed:
        parts.append(f"captured {a.captured_at_claimed} (claimed)")
    return ", ".join(parts) or a.kind


# -- claims read from texts, cut to what the caller may see ---------------------------------------
#
# Whoever may see an item sees the claims read from its text and whether each was
# confirmed, corrected or rejected: what the team stands by. Who decided, when and
# why (the reviewer's name, the reason, the custody entry, the author of a correction)
# is shown only to those who may review claims themselves; an observer learns what
# the team concluded, not who on the team said so. An observer (and an admin) sees
# the claims of published items only, as with everything else.

HIGHLIGHT_CHARS = 200_000
"""The text shown with its claims highlighted is cut here; the table still lists every claim."""
CLAIM_PAGE = 50
ALL = 1 << 31  # list_claims' limit when every claim is wanted
STATES = ("unreviewed", *store.DECISIONS)


def claim_or_404(case: Case, claim_id: int, who: Caller) -> store.StoredClaim:
    """The claim if ``who`` may see the item it was read from; a 404 otherwise, as if it did not exist."""
    try:
        claim = store.get_claim(case, claim_id)
    except ClaimError as exc:
        raise HTTPException(404, str(exc)) from exc
    if who.only_published:
        with case.engine.connect() as conn:
            if not _published(conn, [claim.item_id]):
                raise HTTPException(404, f"no claim {claim_id}")
    return claim


def _reviewer(who: Caller) -> bool:
    return allows(who.account.role if who.account else None, Permission.REVIEW_CLAIMS)


def _reviews(conn: Connection, ids: list[int]) -> dict[int, list[ClaimReview]]:
    """Every review of each claim, oldest first."""
    out: dict[int, list[ClaimReview]] = {}
    session = Session(bind=conn)
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        for rv in session.scalars(select(ClaimReview).where(ClaimReview.claim_id.in_(chunk)).order_by(ClaimReview.id)):
            out.setdefault(rv.claim_id, []).append(rv)
    return out


def _replacements(conn: Connection, ids: list[int]) -> dict[int, int]:
    """Claim id -> the id of its newest correction."""
    out: dict[int, int] = {}
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        q = select(TextClaim.corrects_id, TextClaim.id).where(TextClaim.corrects_id.in_(chunk)).order_by(TextClaim.id)
        for original, correction in conn.execute(q):
            if original is not None:
                out[int(original)] = int(correction)
    return out


def _review_json(rv: ClaimReview) -> dict[str, Any]:
    return {
        "decision": rv.decision,
        "actor": rv.actor,
        "reason": rv.reason,
        "correction_id": rv.correction_id,
        "log_index": rv.log_index,
        "at_vault_clock": rv.at_vault_clock,
    }


def claims_json(case: Case, claims: list[store.StoredClaim], who: Caller) -> list[dict[str, Any]]:
    """Claims as the API gives them: the claim's JSON, its review state, and (for reviewers) who decided and why."""
    names = _reviewer(who)
    ids = [c.id for c in claims]
    with case.engine.connect() as conn:
        reviews = _reviews(conn, ids) if names else {}
        replaced = _replacements(conn, ids)
    return [
        {
            "id": c.id,
            "item_sha256": c.item_sha256,
            "kind": c.kind,
            "start": c.body.get("start"),
            "end": c.body.get("end"),
            "quote": c.body.get("quote"),
            "claim": c.body,
            "state": c.decision or "unreviewed",
            "by_analyst": c.author is not None,
            "author": c.author if names else None,
            "corrects_id": c.corrects_id,
            "replaced_by": replaced.get(c.id) if c.decision == "corrected" else None,
            "reviews": [_review_json(rv) for rv in reviews.get(c.id, [])] if names else None,
        }
        for c in claims
    ]


# what a claim says, in words


def _num(value: Any) -> str:
    return f"{value:,}".replace(",", "\u202f") if isinstance(value, int) and not isinstance(value, bool) else str(value)


def _figure(body: dict[str, Any], t: dict[str, str]) -> str:
    low, high, qualifier = body.get("low"), body.get("high"), body.get("qualifier")
    if qualifier == "at_most":
        bounds = _num(high if high is not None else low)
    elif high is None or high == low:
        bounds = _num(low)
    else:
        bounds = f"{_num(low)}–{_num(high)}"
    label = t.get(f"q_{qualifier}") if qualifier not in ("exact", "range") else None
    return f"{label} {bounds}" if label else bounds


def _interval(d: dict[str, Any], t: dict[str, str]) -> str:
    earliest, latest = d.get("earliest"), d.get("latest")
    text = str(earliest) if earliest == latest or not latest else f"{earliest} – {latest}"
    relation = d.get("relation")
    if relation in ("until", "since", "before", "after"):
        text = f"{t['rel_' + relation]} {text}"
    precision = t.get(f"time_{d.get('precision')}")
    return f"{text} ({precision})" if precision else text


def claim_says(body: dict[str, Any], t: dict[str, str]) -> str:
    """What a claim states, in a line: "killed: at least 14", "Zhanaozen (Mangghystau, KZ); ...", ..."""
    kind = body.get("kind")
    if kind == "count":
        what = body.get("what")
        return f"{t.get(f'what_{what}', str(what))}: {_figure(body, t)}"
    if kind == "place":
        where = ", ".join(str(x) for x in (body.get("admin1"), body.get("country")) if x)
        parts = [f"{body.get('name')} ({where})" if where else str(body.get("name"))]
        lat, lon = body.get("latitude"), body.get("longitude")
        if isinstance(lat, int | float) and isinstance(lon, int | float):
            parts.append(f"{lat:.4f}, {lon:.4f}")
        if body.get("geonameid"):
            parts.append(f"GeoNames {body['geonameid']}")
        if precision := t.get(f"geo_{body.get('precision')}"):
            parts.append(precision)
        return "; ".join(parts)
    if kind == "date":
        return _interval(body, t)
    if kind == "actor":
        details = [t.get(f"role_{body.get('role')}", "")]
        if inter := t.get(f"inter_{body.get('acled_type')}"):
            details.append(f"ACLED {body.get('acled_type')}: {inter}")
        return f"{body.get('actor')} ({', '.join(d for d in details if d)})"
    if kind == "event":
        parts = [" / ".join(str(x) for x in (body.get("event_type"), body.get("sub_event_type")) if x)]
        actors = body.get("actors")
        if isinstance(actors, list) and actors:
            parts.append(", ".join(str(a) for a in actors))
        place = body.get("place")
        if isinstance(place, dict) and place.get("name"):
            parts.append(str(place["name"]))
        when = body.get("date")
        if isinstance(when, dict):
            parts.append(_interval(when, t))
        if body.get("fatalities") is not None:
            parts.append(t["fatalities_n"].format(n=_num(body["fatalities"])))
        return "; ".join(parts)
    return ""


def claim_stance(body: dict[str, Any], t: dict[str, str]) -> list[str]:
    """How the text holds the claim: reported (by whom), hedged, negated, about the future, or its own statement."""
    flags = []
    source = body.get("source")
    if source:
        flags.append(t["reported_by"].format(source=source))
    elif body.get("reported"):
        flags.append(t["reported"])
    flags += [t[name] for name in ("hedged", "negated", "future") if body.get(name)]
    return flags or [t["own"]]


# the page: rows, highlighted text, correction forms


def _field_label(name: str, t: dict[str, str]) -> str:
    special = {"what": "f_what", "event_type": "f_event_type", "reported": "reported", "hedged": "hedged"}
    special |= {"negated": "negated", "future": "future"}
    return t.get(special.get(name, f"field_{name}"), name)


def _choice_label(name: str, value: Any, kind: str, t: dict[str, str]) -> str:
    key = {
        "what": f"what_{value}",
        "qualifier": f"q_{value}",
        "relation": f"rel_{value}",
        "role": f"role_{value}",
        "acled_type": f"inter_{value}",
        "precision": f"{'geo' if kind == 'place' else 'time'}_{value}",
    }.get(name)
    label = t.get(key) if key else None
    if name in ("acled_type", "precision") and label:
        return f"{value}: {label}"
    return label or str(value)


def _correction_fields(claim: store.StoredClaim, t: dict[str, str]) -> list[dict[str, Any]]:
    """The correct form's fields for a claim, filled in with what it says now."""
    order = list(FIELDS)
    editable = sorted(EDITABLE.get(claim.kind, ()), key=lambda n: (order.index(n) if n in order else 99, n))
    out = []
    for name in editable:
        spec = FIELDS.get(name, OTHER_FIELD)
        value = claim.body.get(name)
        field: dict[str, Any] = {
            "name": name,
            "label": _field_label(name, t),
            "type": spec.type,
            "value": "" if value is None else str(value),
            "checked": value is True,
            "required": not spec.nullable and spec.type not in ("bool", "choice"),
            "min": spec.low,
            "max": spec.high,
            "max_length": spec.max_length,
        }
        if spec.type == "choice":
            choices = list(spec.choices) + ([value] if value is not None and value not in spec.choices else [])
            field["options"] = [(str(c), _choice_label(name, c, claim.kind, t), c == value) for c in choices]
        out.append(field)
    return out


def with_corrections_after(claims: list[store.StoredClaim]) -> list[store.StoredClaim]:
    """Text order, with each correction right after the claim it corrects."""
    ids = {c.id for c in claims}
    children: dict[int, list[store.StoredClaim]] = {}
    for c in claims:
        if c.corrects_id is not None and c.corrects_id in ids:
            children.setdefault(c.corrects_id, []).append(c)
    out: list[store.StoredClaim] = []
    for root in claims:
        if root.corrects_id is not None and root.corrects_id in ids:
            continue
        stack = [root]
        while stack:
            c = stack.pop()
            out.append(c)
            stack += reversed(children.get(c.id, []))
    return out


def claim_rows(
    case: Case, claims: list[store.StoredClaim], who: Caller, t: dict[str, str], *, forms: bool = False
) -> list[dict[str, Any]]:
    """What the claims table shows of each claim, in ``t``'s language, cut to what ``who`` may see."""
    names = _reviewer(who)
    ids = [c.id for c in claims]
    with case.engine.connect() as conn:
        reviews = _reviews(conn, ids) if names else {}
        replaced = _replacements(conn, ids)
    rows = []
    for c in claims:
        state = c.decision or "unreviewed"
        history = reviews.get(c.id, [])
        latest = history[-1] if history else None
        rows.append(
            {
                "id": c.id,
                "item_sha256": c.item_sha256,
                "kind": c.kind,
                "kind_text": t.get(f"kind_{c.kind}", c.kind),
                "start": c.body.get("start"),
                "end": c.body.get("end"),
                "quote": str(c.body.get("quote", "")),
                "says": claim_says(c.body, t),
                "stance": claim_stance(c.body, t),
                "state": state,
                "state_text": t.get(f"state_{state}", state),
                "superseded": state in ("corrected", "rejected"),
                "corrects_id": c.corrects_id,
                "author": c.author if names else None,
                "replaced_by": replaced.get(c.id) if state == "corrected" else None,
                "reviewed_by": latest.actor if latest else None,
                "reviewed_at": latest.at_vault_clock if latest else None,
                "reason": latest.reason if latest else None,
                "log_index": latest.log_index if latest else None,
                "earlier": [
                    {
                        "state_text": t.get(f"state_{rv.decision}", rv.decision),
                        "by": t["by"].format(name=rv.actor, when=rv.at_vault_clock),
                        "reason": rv.reason,
                    }
                    for rv in history[:-1]
                ],
                "fields": _correction_fields(c, t) if forms else [],
                "in_text": False,
            }
        )
    return rows


def _highlight(text: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The text cut at every start and end of a claim, each piece with the claims that cover it.

    Claims overlap ("at least 14 people" inside the sentence an event covers), so
    no claim gets an element of its own: each piece between two boundaries is one
    ``<mark>`` naming every claim over it, and the HTML nests nothing."""
    spans = []
    for r in rows:
        start, end = r["start"], r["end"]
        if r["superseded"] or not isinstance(start, int) or not isinstance(end, int):
            continue
        if 0 <= start < end <= len(text) and text[start:end] == r["quote"]:
            spans.append(r)
            r["in_text"] = True
    cuts = sorted({0, len(text), *(r["start"] for r in spans), *(r["end"] for r in spans)})
    starting: dict[int, list[dict[str, Any]]] = {}
    for r in spans:
        starting.setdefault(r["start"], []).append(r)
    active: list[dict[str, Any]] = []
    out = []
    for a, b in itertools.pairwise(cuts):
        active = [r for r in active if r["end"] > a] + starting.get(a, [])
        piece: dict[str, Any] = {"text": text[a:b], "at": a, "claims": [r["id"] for r in active]}
        if active:
            piece["kinds"] = sorted({r["kind"] for r in active})
            piece["title"] = "\n".join(f"#{r['id']} {r['kind_text']}: {r['says']}" for r in active)
        out.append(piece)
    return out


def text_reading(case: Case, item: Item, who: Caller) -> dict[str, Any] | None:
    """Whether and how the text step read an item: extractor version, language, the date it read dates against."""
    with Session(case.engine) as s:
        reading = s.get(TextReading, item.id)
        if reading is None:
            return None
        return {
            "version": reading.version,
            "stale": reading.version != VERSION,
            "lang": reading.lang,
            "lang_name": i18n.LANGUAGES.get(reading.lang, reading.lang),
            "published": reading.published,
            "status": reading.status,
            "error": reading.error if not who.only_published else None,  # it may quote the file's name or path
        }


def claims_view(
    case: Case, item: Item, who: Caller, t: dict[str, str], reviewed: int | None = None
) -> dict[str, Any] | None:
    """The item page's claims section: the text with its claims highlighted, and the table (None if not a text)."""
    if not store.is_text(item):
        return None
    reviewer = _reviewer(who)
    read = text_reading(case, item, who)
    rows = claim_rows(
        case, with_corrections_after(store.list_claims(case, item=item, limit=ALL)), who, t, forms=reviewer
    )
    segments: list[dict[str, Any]] = []
    cut = None
    if rows:
        text = store.item_text(case, item)
        if len(text) > HIGHLIGHT_CHARS:
            text, cut = text[:HIGHLIGHT_CHARS], HIGHLIGHT_CHARS
        segments = _highlight(text, rows)
    notice = None
    if reviewed is not None and reviewer:
        row = next((r for r in rows if r["id"] == reviewed and r["log_index"] is not None), None)
        if row is not None:
            notice = t["recorded"].format(id=row["id"], decision=row["state_text"], entry=row["log_index"])
    return {
        "reading": read,
        "version": VERSION,
        "rows": rows,
        "segments": segments if any(p["claims"] for p in segments) else [],
        "kinds": [k for k in KINDS if any(r["kind"] == k and r["in_text"] for r in rows)],
        "cut": cut,
        "can_review": reviewer,
        "notice": notice,
    }


def claim_list(
    case: Case,
    who: Caller,
    *,
    kind: str | None = None,
    event_type: str | None = None,
    what: str | None = None,
    decision: str | None = None,
    q: str | None = None,
    page: int = 1,
) -> tuple[list[store.StoredClaim], int, int, int]:
    """One page of the case's claims with filters (observers: of published items): claims, total, page, pages."""
    filters: dict[str, Any] = {
        "kind": kind,
        "decision": decision,
        "event_type": event_type,
        "what": what,
        "query": q,
        "published_only": who.only_published,
    }
    total = store.count_claims(case, **filters)
    pages = max(1, -(-total // CLAIM_PAGE))
    page = min(max(1, page), pages)
    found = store.list_claims(case, **filters, limit=CLAIM_PAGE, offset=(page - 1) * CLAIM_PAGE)
    return found, total, page, pages


# corrections: what an analyst may enter, checked before the store records it


def _from_text(name: str, spec: FieldSpec, raw: str) -> Any:
    """A form field's text as the value ``_check_value`` expects."""
    text = raw.strip()
    if spec.type in ("int", "float", "choice") and not text:
        return None
    try:
        if spec.type == "int":
            return int(text)
        if spec.type == "float":
            return float(text)
    except ValueError:
        raise field_error(name, "a whole number" if spec.type == "int" else "a number") from None
    if spec.type == "choice":
        return next((c for c in spec.choices if str(c) == text), text)
    return raw


def correction_from_form(claim: store.StoredClaim, form: Mapping[str, Any]) -> dict[str, Any]:
    """The fields the correct form changed (a checkbox left empty is false), checked."""
    values: dict[str, Any] = {}
    for name in EDITABLE.get(claim.kind, ()):
        spec = FIELDS.get(name, OTHER_FIELD)
        raw = form.get(name)
        if spec.type == "bool":
            values[name] = raw is not None
        elif isinstance(raw, str):
            values[name] = _from_text(name, spec, raw)
    checked = check_correction(claim.kind, claim.body, values)
    return {k: v for k, v in checked.items() if v != claim.body.get(k)}
