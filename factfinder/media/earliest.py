"""Which copy in a cluster is the earliest and closest to the original, and why.

Nothing here proves which copy came first; it ranks the candidates by the
evidence the case holds and says, for each, what counted for and against it,
so that an investigator can check the reasoning rather than trust a score:

- a **signed time** in C2PA credentials whose signer is on a trust list (the
  only time a file cannot simply claim, though the signer's clock can still be
  wrong); with no network there is no trust list, so in practice a signed time
  counts as a claimed one, and valid credentials earn only a point;
- the **earliest receipt in the vault** (our own clock: when we first held it);
- the **capture time the file claims** (EXIF or container creation time);
- **higher resolution** and **longer duration** (copies are made smaller and
  shorter, rarely larger: a copy with less than half the pixels of another
  is most likely made from a larger one);
- **fewer signs of re-encoding** (camera metadata stripped, an FFmpeg or
  platform encoder named in the file);
- **no crop** (the match found this item inside a larger one) and **no
  overlay** (furthest on average from the other members while not a crop:
  a logo or banner adds distance).

The weights are deliberately simple and printed with each reason.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, or_, select
from sqlalchemy.orm import Session

from factfinder.db.models import Item, MediaAnalysis, MediaCluster, MediaMatch, Receipt
from factfinder.media.scan import flip_detail

REENCODERS = ("lavf", "lavc", "ffmpeg", "whatsapp", "telegram", "instagram", "facebook", "handbrake")


@dataclass
class Candidate:
    item_id: int
    sha256: str
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)
    first_received: str = ""
    captured_at_claimed: str | None = None
    signed_at: str | None = None
    signed: bool = False
    pixels: int = 0
    duration: float | None = None

    def credit(self, points: float, reason: str) -> None:
        self.score += points
        sign = "+" if points >= 0 else "-"
        self.reasons.append(f"{sign}{abs(points):g} {reason}")


@dataclass
class ClusterMember:
    """One member of a cluster and its matches to the other members."""

    item_id: int
    sha256: str
    media_type: str
    analysis: MediaAnalysis | None
    matches: list[dict[str, Any]]


def cluster_ids(conn: Connection) -> list[tuple[int, int]]:
    """(cluster id, member count), largest first."""
    rows = conn.execute(
        select(MediaCluster.cluster_id, func.count())
        .group_by(MediaCluster.cluster_id)
        .order_by(func.count().desc(), MediaCluster.cluster_id)
    )
    return [(c, n) for c, n in rows]


def members(conn: Connection, cluster_id: int) -> list[ClusterMember]:
    """The members of a cluster with how each matched the others (distance, segments, relation)."""
    ids = list(conn.execute(select(MediaCluster.item_id).where(MediaCluster.cluster_id == cluster_id)).scalars())
    return members_of(conn, ids)


def members_of(conn: Connection, ids: list[int]) -> list[ClusterMember]:
    session = Session(bind=conn)
    items = {i.id: i for i in session.scalars(select(Item).where(Item.id.in_(ids)))}
    analyses = {a.item_id: a for a in session.scalars(select(MediaAnalysis).where(MediaAnalysis.item_id.in_(ids)))}
    out = {i: ClusterMember(i, items[i].sha256, items[i].media_type, analyses.get(i), []) for i in ids if i in items}
    for m in session.scalars(select(MediaMatch).where(or_(MediaMatch.item_a.in_(ids), MediaMatch.item_b.in_(ids)))):
        detail = json.loads(m.detail)
        if m.item_a in out and m.item_b in out:
            out[m.item_a].matches.append(_view(m, items[m.item_b].sha256, detail))
            out[m.item_b].matches.append(_view(m, items[m.item_a].sha256, flip_detail(detail)))
    session.expunge_all()
    return sorted(out.values(), key=lambda c: c.item_id)


def _view(m: MediaMatch, other: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {"other_sha256": other, "kind": m.kind, "distance": m.distance, "strong": m.strong, **detail}


def rank(conn: Connection, group: list[ClusterMember], *, public: bool = False) -> list[Candidate]:
    """The members of a cluster, most likely earliest and most original first, with reasons.

    ``public``: for observers, who are not shown a file's software or camera
    fields; the reasons drawn from those (signs of re-encoding) are left out.
    """
    ids = [m.item_id for m in group]
    received = dict(
        conn.execute(
            select(Receipt.item_id, func.min(Receipt.received_at_vault_clock))
            .where(Receipt.item_id.in_(ids))
            .group_by(Receipt.item_id)
        ).all()
    )
    cands: dict[int, Candidate] = {}
    for m in group:
        a = m.analysis
        c = Candidate(m.item_id, m.sha256, first_received=received.get(m.item_id, ""))
        if a is not None:
            c.captured_at_claimed = a.captured_at_claimed
            c.pixels = (a.width or 0) * (a.height or 0)
            c.duration = a.duration
            if a.c2pa and a.c2pa_state in ("Valid", "Trusted"):
                c.signed = True
                signed_at = json.loads(a.c2pa).get("signed_at")
                if a.c2pa_state == "Trusted":
                    c.signed_at = signed_at
                elif signed_at and not c.captured_at_claimed:
                    # A signer on no trust list could be anyone: its time is a claim like any other.
                    c.captured_at_claimed = signed_at
        cands[m.item_id] = c

    _earliest(cands, lambda c: instant(c.signed_at), 8, "earliest signed time (C2PA, signer on a trust list)")
    for c in cands.values():
        if c.signed:
            c.credit(1, "content credentials (C2PA) whose signature checks (the signer may be anyone)")
    _earliest(cands, lambda c: c.first_received, 4, "first received by the vault")
    _earliest(cands, lambda c: instant(c.captured_at_claimed), 2, "earliest capture time claimed by the file")
    _largest(cands, lambda c: c.pixels, 3, "highest resolution")
    top = max((c.pixels for c in cands.values()), default=0)
    for c in cands.values():
        if c.pixels and c.pixels * 2 < top:
            c.credit(-2, "less than half the pixels of the largest copy: likely made from a larger one")
    _largest(cands, lambda c: c.duration or 0, 2, "longest duration")
    for m in group:
        c = cands[m.item_id]
        for sign in [] if public else reencode_signs(m.analysis):
            c.credit(-1, sign)
        crops = [x for x in m.matches if str(x.get("relation", "")).startswith("this is a crop")]
        if crops:
            c.credit(-2, "cropped: it is found inside a larger copy")
        inside = [x for x in m.matches if x.get("kind") == "video" and _is_part(x)]
        if inside:
            c.credit(-1, "shorter: its footage is a part of a longer copy")
    _overlay(group, cands)
    return sorted(cands.values(), key=lambda c: (-c.score, c.first_received, c.sha256))


def _is_part(match: dict[str, Any]) -> bool:
    """Most of this video is in the other, but not the other way round."""
    mine = float(match.get("share_of_this_video_matched", 0))
    theirs = float(match.get("share_of_other_video_matched", 0))
    return mine > theirs + 0.1


def instant(text: str | None) -> datetime | None:
    """A claimed time as a comparable UTC instant; None when it is not a plausible time.

    Files write times in many forms (EXIF's colons, ISO 8601 with or without a
    zone, QuickTime's ``+0500``); a time with no zone is taken as UTC. Years
    before 1990 or in the future are camera defaults (1904, 1970) or junk.
    """
    if not text:
        return None
    value = text.strip().replace("Z", "+00:00")
    if re.fullmatch(r"\d{4}:\d\d:\d\d .*", value):
        value = value[:4] + "-" + value[5:7] + "-" + value[8:]
    value = re.sub(r"([+-]\d\d)(\d\d)$", r"\1:\2", value)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    parsed = parsed.astimezone(UTC)
    if parsed.year < 1990 or parsed > datetime.now(UTC) + timedelta(days=1):
        return None
    return parsed


def _earliest(cands: dict[int, Candidate], key: Any, points: float, reason: str) -> None:
    values = [key(c) for c in cands.values() if key(c)]
    if not values:
        return
    first = min(values)
    shown = first.isoformat() if isinstance(first, datetime) else first
    for c in cands.values():
        if key(c) == first:
            c.credit(points, f"{reason} ({shown})")


def _largest(cands: dict[int, Candidate], key: Any, points: float, reason: str) -> None:
    values = [key(c) for c in cands.values() if key(c)]
    if len(set(values)) < 2:
        return
    top = max(values)
    for c in cands.values():
        if key(c) == top:
            c.credit(points, reason)


def _overlay(group: list[ClusterMember], cands: dict[int, Candidate]) -> None:
    """The member furthest on average from the others, not being a crop, probably carries an overlay."""
    means = {}
    for m in group:
        dists = [float(x["distance"]) for x in m.matches if x.get("kind") == "image"]
        if dists and not any(str(x.get("relation", "")).startswith("this is a crop") for x in m.matches):
            means[m.item_id] = sum(dists) / len(dists)
    if len(means) < 3:
        return
    worst = max(means, key=lambda i: means[i])
    others = [v for i, v in means.items() if i != worst]
    if means[worst] > 2 * (sum(others) / len(others)) + 4:
        cands[worst].credit(-1, f"furthest from the others (mean {means[worst]:.0f} bits): an overlay or heavy edit?")


def reencode_signs(a: MediaAnalysis | None) -> list[str]:
    """What in a file's own metadata says it was re-encoded since capture."""
    if a is None:
        return []
    signs = []
    tool = " ".join(filter(None, [a.encoder, a.software])).lower()
    named = [r for r in REENCODERS if r in tool]
    if named:
        signs.append(f"re-encoded: the file names {named[0]!r} as its encoder or software")
    if a.kind == "image" and not a.camera_make and not a.camera_model and not a.captured_at_claimed:
        signs.append("no camera metadata (platforms strip it when they re-encode)")
    return signs
