"""The media step of the pipeline: analyse items, index their hashes, find matches, cluster.

Idempotent and resumable: each batch of items is recorded in one transaction
(analysis rows, hashes and the matches they found), so a scan killed at any
moment leaves every item either fully analysed or not at all, and the next
scan goes on with the rest. The near-duplicate index in ``media/pdq.index`` is
a cache of the ``media_hashes`` table: on opening it catches up with rows
added since it was last saved, and a damaged or missing file is rebuilt.

Decoding and hashing run in worker processes (CPU-bound, and a decoder crash
on a hostile file must not take the scan with it); the database, the index and
the matching stay in this process.
"""

from __future__ import annotations

import fcntl
import json
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, delete, func, insert, or_, select
from sqlalchemy.orm import Session

from factfinder.db import engine as dbengine
from factfinder.db.models import Item, MediaAnalysis, MediaCluster, MediaHash, MediaMatch
from factfinder.media import analyse, clusters, pdq, redact, video
from factfinder.media.index import HashIndex, IndexFileError
from factfinder.vault import custody
from factfinder.vault.case import Case, NewDerivative
from factfinder.vault.errors import ReadOnlyCaseError

INDEX_FILE = Path("media") / "pdq.index"
FRAME_OF_THIS_VIDEO = "a frame of this video is the other picture"
PICTURE_IS_A_FRAME = "this picture is a frame of the other (a video)"
BATCH = 16
FRAME_VARIANTS = ("second", "keyframe")
ACTOR = "media-scan"
Hits = list[list[tuple[int, int]]]
"""For each query hash, the (hash row id, distance) pairs the index found."""
Where = dict[int, tuple[int, str, float | None]]
"""Hash row id -> (item id, variant, time in the video)."""


@dataclass
class ScanReport:
    analysed: int = 0
    partial: int = 0
    failed: int = 0
    matches: int = 0
    clusters: int = 0
    copies: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Found:
    """One item that a file matches, and how."""

    item_id: int
    kind: str
    distance: float
    strong: bool
    detail: dict[str, Any]


# -- the index ---------------------------------------------------------------------------------


def index_path(case: Case) -> Path:
    return case.path / INDEX_FILE


def open_index(case: Case) -> HashIndex:
    """The case's index, caught up with the database (rebuilt if the file is damaged)."""
    path = index_path(case)
    try:
        index = HashIndex.load(path)
    except IndexFileError:
        index = HashIndex.empty()
    with case.engine.connect() as conn:
        covered = conn.execute(
            _usable(select(func.count()).select_from(MediaHash).where(MediaHash.id <= index.high_water))
        ).scalar_one()
        if covered != len(index):
            # Rows were added or removed behind the saved file's back (an older scan that did not
            # finish saving, a database restored from a backup): start again from the table.
            index = HashIndex.empty()
        _catch_up(conn, index)
    return index


def _usable(q: Any) -> Any:
    return q.where(MediaHash.quality >= pdq.MIN_QUALITY)


def _catch_up(conn: Connection, index: HashIndex) -> None:
    rows = conn.execute(
        _usable(select(MediaHash.id, MediaHash.hash).where(MediaHash.id > index.high_water)).order_by(MediaHash.id)
    ).all()
    if rows:
        index.add([r[0] for r in rows], [r[1] for r in rows])


def rebuild_index(case: Case) -> HashIndex:
    index = HashIndex.empty()
    with case.engine.connect() as conn:
        _catch_up(conn, index)
    save_index(case, index)
    return index


def save_index(case: Case, index: HashIndex) -> None:
    if case.read_only:
        return
    path = index_path(case)
    path.parent.mkdir(exist_ok=True)
    index.save(path)


# -- matching ------------------------------------------------------------------------------------


def find_matches(conn: Connection, index: HashIndex, result: analyse.Analysis, *, exclude: int | None) -> list[Found]:
    """Every item that the analysed file shows the same picture or footage as."""
    if not result.queries:
        return []
    names = [name for name, _ in result.queries]
    hits = index.search([h for _, h in result.queries], radius=pdq.MATCH_DISTANCE)
    ids = sorted({hid for row in hits for hid, _ in row})
    if not ids:
        return []
    where: dict[int, tuple[int, str, float | None]] = {}
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        for hid, item_id, variant, t in conn.execute(
            select(MediaHash.id, MediaHash.item_id, MediaHash.variant, MediaHash.t).where(MediaHash.id.in_(chunk))
        ):
            where[hid] = (item_id, variant, t)
    if result.kind == "video":
        return _video_matches(conn, result, names, hits, where, exclude)
    return _image_matches(names, hits, where, exclude)


def _image_matches(
    names: list[str],
    hits: Hits,
    where: Where,
    exclude: int | None,
) -> list[Found]:
    best: dict[int, tuple[int, str, str, float | None]] = {}
    for name, row in zip(names, hits, strict=True):
        for hid, dist in row:
            if hid not in where:
                continue  # a row removed since the index was saved
            item_id, variant, t = where[hid]
            if item_id == exclude:
                continue
            target = "main" if variant in FRAME_VARIANTS else variant
            if not pdq.pair_allowed(name, target):
                continue
            if item_id not in best or dist < best[item_id][0]:
                best[item_id] = (dist, name, variant, t)
    out = []
    for item_id, (dist, name, variant, t) in best.items():
        detail: dict[str, Any] = {
            "query_variant": name,
            "matched_variant": variant,
            "relation": _relation(name, variant),
        }
        kind = "image"
        if variant in FRAME_VARIANTS:
            kind = "image-in-video"
            detail["relation"] = PICTURE_IS_A_FRAME
            detail["at_seconds"] = t
        out.append(Found(item_id, kind, float(dist), dist <= clusters.STRONG_IMAGE_DISTANCE, detail))
    return out


def _relation(query_variant: str, matched_variant: str) -> str:
    """How the query picture relates to the matched one, in words."""
    if query_variant.startswith("tilt"):
        return f"the same picture, one of them turned slightly (about {abs(float(query_variant[4:])):g} degrees)"
    strip = query_variant if query_variant in pdq.STRIPS else matched_variant
    if strip in pdq.STRIPS:
        side = "bottom" if strip == "top80" else "top"
        return f"the same picture apart from its {side} fifth (a banner or caption on one of them?)"
    if query_variant.startswith("crop"):
        return f"the other is a crop of this one ({query_variant[4:]}% off each side)"
    if matched_variant.startswith("crop"):
        return f"this is a crop of the other ({matched_variant[4:]}% off each side)"
    if query_variant == pdq.UNBOXED:
        return "the same picture; this one is framed in bars (letterbox or pillarbox)"
    if matched_variant == pdq.UNBOXED:
        return "the same picture; the other is framed in bars (letterbox or pillarbox)"
    if query_variant not in ("original", "main"):
        return f"the same picture, turned or mirrored ({query_variant})"
    return "the same picture"


def _video_matches(
    conn: Connection,
    result: analyse.Analysis,
    names: list[str],
    hits: Hits,
    where: Where,
    exclude: int | None,
) -> list[Found]:
    candidates: set[int] = set()
    pictures: dict[int, tuple[int, float]] = {}
    for name, row in zip(names, hits, strict=True):
        t = float(name.removeprefix("t="))
        for hid, dist in row:
            if hid not in where:
                continue
            item_id, variant, _ = where[hid]
            if item_id == exclude:
                continue
            if variant in FRAME_VARIANTS:
                candidates.add(item_id)
            elif variant == "main" and (item_id not in pictures or dist < pictures[item_id][0]):
                pictures[item_id] = (dist, t)
    mine = [video.FrameHash(r.t or 0.0, r.hash, r.quality, False) for r in result.hashes if r.variant == "second"]
    out: list[Found] = []
    for item_id in sorted(candidates):
        theirs = [
            video.FrameHash(t or 0.0, h, q, False)
            for t, h, q in conn.execute(
                select(MediaHash.t, MediaHash.hash, MediaHash.quality)
                .where(MediaHash.item_id == item_id, MediaHash.variant == "second")
                .order_by(MediaHash.t)
            )
        ]
        m = video.match_videos(mine, theirs)
        if not m.matched:
            continue
        strong = (
            max(m.a_share, m.b_share) >= clusters.STRONG_VIDEO_SHARE
            and m.median_distance <= clusters.STRONG_VIDEO_DISTANCE
        )
        detail = {
            "share_of_this_video_matched": round(m.a_share, 3),
            "share_of_other_video_matched": round(m.b_share, 3),
            "segments": [_segment(s) for s in m.segments],
        }
        out.append(Found(item_id, "video", float(m.median_distance), strong, detail))
    for item_id, (dist, t) in pictures.items():
        detail = {"relation": FRAME_OF_THIS_VIDEO, "at_seconds": t}
        out.append(Found(item_id, "image-in-video", float(dist), dist <= clusters.STRONG_IMAGE_DISTANCE, detail))
    return out


def _segment(s: video.Segment) -> dict[str, Any]:
    return {
        "this_start": round(s.a_start, 2),
        "this_end": round(s.a_end, 2),
        "other_start": round(s.b_start, 2),
        "other_end": round(s.b_end, 2),
        "offset": round(s.offset, 2),
        "frames": s.frames,
        "median_distance": s.median_distance,
    }


def flip_detail(detail: dict[str, Any]) -> dict[str, Any]:
    """The same match described from the other item's side."""
    out = dict(detail)
    if "share_of_this_video_matched" in detail:
        out["share_of_this_video_matched"] = detail["share_of_other_video_matched"]
        out["share_of_other_video_matched"] = detail["share_of_this_video_matched"]
        out["segments"] = [
            {
                "this_start": s["other_start"],
                "this_end": s["other_end"],
                "other_start": s["this_start"],
                "other_end": s["this_end"],
                "offset": -s["offset"],
                "frames": s["frames"],
                "median_distance": s["median_distance"],
            }
            for s in detail.get("segments", [])
        ]
    rel = detail.get("relation", "")
    if rel.startswith("the other is a crop"):
        out["relation"] = rel.replace("the other is a crop of this one", "this is a crop of the other")
    elif rel.startswith("this is a crop"):
        out["relation"] = rel.replace("this is a crop of the other", "the other is a crop of this one")
    elif rel.endswith("framed in bars (letterbox or pillarbox)"):
        mine = "this one is framed" in rel
        out["relation"] = rel.replace("this one" if mine else "the other", "the other" if mine else "this one")
    elif rel == FRAME_OF_THIS_VIDEO:
        out["relation"] = PICTURE_IS_A_FRAME
    elif rel == PICTURE_IS_A_FRAME:
        out["relation"] = FRAME_OF_THIS_VIDEO
    return out


# -- scanning --------------------------------------------------------------------------------------


def pending(case: Case, *, again: bool = False, digests: Sequence[str] | None = None) -> list[tuple[int, str, str]]:
    """(item id, sha256, media type) of the media items a scan would analyse."""
    with case.engine.connect() as conn:
        q = select(Item.id, Item.sha256, Item.media_type).order_by(Item.id)
        if not again:
            done = select(MediaAnalysis.item_id).where(MediaAnalysis.step_version == analyse.STEP_VERSION)
            q = q.where(~Item.id.in_(done))
        if digests is not None:
            q = q.where(Item.sha256.in_(sorted(set(digests))))
        rows = conn.execute(q).all()
    return [(i, sha, mt) for i, sha, mt in rows if analyse.media_kind(mt) is not None]


def _work(args: tuple[str, str, bool]) -> analyse.Analysis:
    path, media_type, copies = args
    return analyse.analyse_file(Path(path), media_type, copies=copies)


def _results(jobs: list[tuple[str, str, bool]], workers: int) -> Iterator[analyse.Analysis]:
    """Analyses in job order; in worker processes when there is more than a little to do.

    At most a few jobs per worker are in flight, so a slow file does not let
    every later result (each holding a preview picture) pile up in memory. If
    a decoder takes a worker down (a crash in native code on a hostile file),
    the job that was waited on is retried alone in a fresh process, so that
    only the file that crashes its process is marked failed, and a new pool
    takes the rest.
    """
    if workers <= 1 or len(jobs) <= 2:
        for job in jobs:
            yield _work(job)
        return
    ctx = multiprocessing.get_context("forkserver")
    window = 2 * workers
    next_job = 0
    while next_job < len(jobs):
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            pending: deque[Future[analyse.Analysis]] = deque()
            broken = False
            while (next_job < len(jobs) or pending) and not broken:
                while len(pending) < window and next_job + len(pending) < len(jobs):
                    pending.append(pool.submit(_work, jobs[next_job + len(pending)]))
                try:
                    result = pending[0].result()
                except BrokenProcessPool:
                    broken = True
                    for f in pending:
                        f.cancel()
                    yield _isolated(jobs[next_job], ctx)
                else:
                    pending.popleft()
                    yield result
                next_job += 1
                if broken:
                    break


def _isolated(job: tuple[str, str, bool], ctx: Any) -> analyse.Analysis:
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
            return pool.submit(_work, job).result()
    except BrokenProcessPool:
        result = analyse.Analysis(kind=analyse.media_kind(job[1]) or "unknown")
        result.fail("the decoder crashed on this file (its worker process died)")
        return result


def scan_case(
    case: Case,
    *,
    again: bool = False,
    digests: Sequence[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
    copies: bool = True,
    actor: str = ACTOR,
) -> ScanReport:
    """Analyse the media items not yet analysed (or all, with ``again``); then re-cluster."""
    if case.read_only:
        raise ReadOnlyCaseError(
            "this case copy has no signing key: media scan records working copies in the custody log, "
            "so it needs the key (media similar and media hash work without it)"
        )
    with _scan_lock(case):
        return _scan(case, again, digests, progress, workers, copies, actor)


@contextmanager
def _scan_lock(case: Case) -> Iterator[None]:
    """One scan at a time per case, across processes (the CLI and the web app's background scans).

    Two scans at once would each keep their own copy of the index and the last
    to save would miss the other's rows.
    """
    if case.read_only:
        yield
        return
    folder = case.path / INDEX_FILE.parent
    folder.mkdir(exist_ok=True)
    with open(folder / ".scan.lock", "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _scan(
    case: Case,
    again: bool,
    digests: Sequence[str] | None,
    progress: Callable[[int, int], None] | None,
    workers: int | None,
    copies: bool,
    actor: str,
) -> ScanReport:
    report = ScanReport()
    todo = pending(case, again=again, digests=digests)
    index = open_index(case)
    workers = workers if workers is not None else max(1, min(os.cpu_count() or 1, 8))
    jobs = [(str(case.blobs.path(sha)), mt, copies) for _, sha, mt in todo]
    done = 0
    batch: list[tuple[int, str, analyse.Analysis]] = []
    # The index is saved only after a scan that went through: after a failed
    # transaction it may hold ids the database rolled back (and will hand out again).
    for (item_id, sha, _), result in zip(todo, _results(jobs, workers), strict=True):
        batch.append((item_id, sha, result))
        if len(batch) >= BATCH:
            _record(case, index, batch, report, actor)
            done += len(batch)
            batch = []
            if progress:
                progress(done, len(todo))
    if batch:
        _record(case, index, batch, report, actor)
        done += len(batch)
        if progress:
            progress(done, len(todo))
    save_index(case, index)
    report.clusters = recluster(case)
    if not case.read_only:
        made, failed = redact.catch_up(case, actor=actor)
        report.copies += made
        report.errors += failed
    return report


def _record(
    case: Case, index: HashIndex, batch: list[tuple[int, str, analyse.Analysis]], report: ScanReport, actor: str
) -> None:
    """Record one batch: working copies first (idempotent), then analysis, hashes and matches in one go."""
    with Session(case.engine) as s:
        items = {i.id: i for i in s.scalars(select(Item).where(Item.id.in_([b[0] for b in batch])))}
        s.expunge_all()
    new_copies = []
    for item_id, _, result in batch:
        for step, data in result.copies.items():
            blob = case.blobs.put_bytes(data)
            new_copies.append(NewDerivative(items[item_id], blob, step, analyse.DERIVATIVE_VERSION, "image/jpeg"))
    if new_copies and not case.read_only:
        report.copies += case.record_derivatives(new_copies, actor=actor)
    now = custody.vault_clock()
    ids = [b[0] for b in batch]
    with dbengine.write_transaction(case.engine) as conn:
        stale = list(conn.execute(select(MediaHash.id).where(MediaHash.item_id.in_(ids))).scalars())
        conn.execute(delete(MediaHash).where(MediaHash.item_id.in_(ids)))
        conn.execute(delete(MediaMatch).where(or_(MediaMatch.item_a.in_(ids), MediaMatch.item_b.in_(ids))))
        conn.execute(delete(MediaAnalysis).where(MediaAnalysis.item_id.in_(ids)))
        if stale:
            index.remove(stale)
        for item_id, _, result in batch:
            conn.execute(insert(MediaAnalysis).values(_analysis_row(item_id, result, now)))
            if result.hashes:
                rows = [
                    {"item_id": item_id, "variant": h.variant, "t": h.t, "quality": h.quality, "hash": h.hash}
                    for h in result.hashes
                ]
                # sort_by_parameter_order: the ids come back in the order of ``rows``.
                returning = insert(MediaHash).returning(MediaHash.id, sort_by_parameter_order=True)
                new_ids = list(conn.execute(returning, rows).scalars())
                usable = [(i, h) for i, h in zip(new_ids, result.hashes, strict=True) if h.quality >= pdq.MIN_QUALITY]
                if usable:
                    index.add([u[0] for u in usable], [u[1].hash for u in usable])
        for item_id, _, result in batch:
            for found in find_matches(conn, index, result, exclude=item_id):
                a, b = sorted((item_id, found.item_id))
                detail = found.detail if a == item_id else flip_detail(found.detail)
                exists = conn.execute(
                    select(MediaMatch.id).where(MediaMatch.item_a == a, MediaMatch.item_b == b)
                ).first()
                if exists:
                    continue  # found from the other side within this batch
                conn.execute(
                    insert(MediaMatch).values(
                        item_a=a,
                        item_b=b,
                        kind=found.kind,
                        distance=found.distance,
                        strong=found.strong,
                        detail=json.dumps(detail, sort_keys=True),
                    )
                )
                report.matches += 1
    for _, sha, result in batch:
        report.analysed += 1
        if result.status == "partial":
            report.partial += 1
        elif result.status == "failed":
            report.failed += 1
        if result.errors:
            report.errors.append((sha, "; ".join(result.errors)))


def _analysis_row(item_id: int, result: analyse.Analysis, now: str) -> dict[str, Any]:
    columns = result.meta.columns() if result.meta else {}
    c2pa_info = result.meta.c2pa if result.meta else None
    return {
        **columns,
        "item_id": item_id,
        "step_version": analyse.STEP_VERSION,
        "kind": result.kind,
        "status": result.status,
        "error": "; ".join(result.errors)[:4000] or None,
        "analysed_at_vault_clock": now,
        "raw_metadata": json.dumps(result.raw_json(), sort_keys=True, ensure_ascii=False),
        "c2pa": json.dumps(c2pa_info, sort_keys=True) if c2pa_info else None,
        "pdq_quality": result.pdq_quality,
        "content_box": ",".join(map(str, result.content_box)) if result.content_box else None,
    }


def match_links(conn: Connection, among: Any = None) -> list[clusters.Link]:
    """The matches as cluster links, best first (between the items of the subquery ``among``, if given).

    The order matters to the cluster guard, so ties are broken by row id: the
    same clusters on every database, every run.
    """
    q = select(MediaMatch.item_a, MediaMatch.item_b, MediaMatch.strong)
    if among is not None:
        q = q.where(MediaMatch.item_a.in_(among), MediaMatch.item_b.in_(among))
    rows = conn.execute(q.order_by(MediaMatch.distance, MediaMatch.id))
    return [clusters.Link(a, b, strong) for a, b, strong in rows]


def recluster(case: Case) -> int:
    """Rebuild ``media_clusters`` from all matches; return how many clusters there are."""
    with case.engine.connect() as conn:
        links = match_links(conn)
    assignment = clusters.build_clusters(links)
    if case.read_only:
        return len(set(assignment.values()))
    with dbengine.write_transaction(case.engine) as conn:
        conn.execute(delete(MediaCluster))
        if assignment:
            conn.execute(insert(MediaCluster), [{"item_id": i, "cluster_id": c} for i, c in assignment.items()])
    return len(set(assignment.values()))


def similar(case: Case, path: Path, media_type: str) -> tuple[analyse.Analysis, list[tuple[Item, Found]]]:
    """What a file outside the case matches inside it (nothing is recorded)."""
    result = analyse.analyse_file(path, media_type, copies=False)
    index = open_index(case)
    with case.engine.connect() as conn:
        found = find_matches(conn, index, result, exclude=None)
    with Session(case.engine) as s:
        items = {i.id: i for i in s.scalars(select(Item).where(Item.id.in_([f.item_id for f in found])))}
        s.expunge_all()
    ordered = sorted(found, key=lambda f: (f.distance, items[f.item_id].sha256))
    return result, [(items[f.item_id], f) for f in ordered]
