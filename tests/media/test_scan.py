"""The media step on a real case: clusters, matches, resumability, hostile files, working copies."""

from __future__ import annotations

import io
import json
import shutil
import struct
import zlib
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image
from sqlalchemy import delete, func, select

from factfinder.db.models import Derivative, Item, MediaAnalysis, MediaCluster, MediaHash, MediaMatch, Receipt
from factfinder.intake.files import IntakeOptions, add_paths
from factfinder.media import analyse, clusters, scan
from factfinder.vault import archive, audit
from factfinder.vault.case import Case
from tests.conftest import Cli
from tests.media.conftest import item_by_name

BRIDGE = [
    *(f"bridge-mods/{n}" for n in ("aaa-orig.jpg", "blur-a-little.jpg", "blur-a-lot.jpg", "high-contrast.jpg")),
    *(f"bridge-mods/{n}" for n in ("high-saturation.jpg", "sharpen-a-little.jpg", "sharpen-a-lot.jpg")),
    *(f"bridge-mods/{n}" for n in ("shrink-a-little.jpg", "shrink-a-lot.jpg", "square-128x128.jpg")),
    *(f"bridge-mods/{n}" for n in ("square-256x256.jpg", "square-512x512.jpg")),
    *(f"dihedral/bridge-{n}.jpg" for n in ("2-rotate-90", "3-rotate-180", "4-rotate-270", "5-flipx", "6-flipy")),
    *(f"dihedral/bridge-{n}.jpg" for n in ("7-flip-plus-1", "8-flip-minus-1")),
]
CHAIR = [
    "chair-19-sd-bar.mp4",
    "chair-20-sd-bar.mp4",
    "chair-22-sd-grey-bar.mp4",
    "chair-22-with-small-logo-bar.mp4",
    "chair-orig-22-sd-bar.mp4",
]
PATTERN = ["pattern-hd-no-bar.mp4", "pattern-sd-with-small-logo-bar.mp4"]


def cluster_of(case: Case, name: str) -> int | None:
    item = item_by_name(case, name)
    with case.engine.connect() as conn:
        return conn.execute(select(MediaCluster.cluster_id).where(MediaCluster.item_id == item.id)).scalar()


def test_clusters_are_the_edits_of_one_picture_or_clip(scanned_case: Case) -> None:
    bridge = {cluster_of(scanned_case, Path(n).name) for n in BRIDGE}
    chair = {cluster_of(scanned_case, n) for n in CHAIR}
    pattern = {cluster_of(scanned_case, n) for n in PATTERN}
    assert len(bridge) == 1 and None not in bridge, "every edit of the bridge photo is in one cluster"
    assert len(chair) == 1 and None not in chair, "every chair-* video is in one cluster"
    assert len(pattern) == 1 and None not in pattern, "both pattern-* videos are in one cluster"
    assert len(bridge | chair | pattern) == 3, "three different clusters"
    assert cluster_of(scanned_case, "doorknob-hd-no-bar.mp4") is None, "the unrelated video joins no cluster"


def test_every_rotation_and_flip_matches_through_the_dihedral_hashes(scanned_case: Case) -> None:
    original = item_by_name(scanned_case, "aaa-orig.jpg")
    with scanned_case.engine.connect() as conn:
        for name in BRIDGE:
            if not name.startswith("dihedral/") or "original" in name:
                continue
            other = item_by_name(scanned_case, Path(name).name)
            a, b = sorted((original.id, other.id))
            row = conn.execute(select(MediaMatch).where(MediaMatch.item_a == a, MediaMatch.item_b == b)).first()
            assert row is not None, f"{name} matches the original"
            detail = json.loads(row.detail)
            assert row.distance <= 31
            assert "turned or mirrored" in detail["relation"], detail


def test_video_matches_name_the_corresponding_segments(scanned_case: Case) -> None:
    orig = item_by_name(scanned_case, "chair-orig-22-sd-bar.mp4")
    logo = item_by_name(scanned_case, "chair-22-with-small-logo-bar.mp4")
    a, b = sorted((orig.id, logo.id))
    with scanned_case.engine.connect() as conn:
        row = conn.execute(select(MediaMatch).where(MediaMatch.item_a == a, MediaMatch.item_b == b)).one()
    detail = json.loads(row.detail)
    assert row.kind == "video"
    assert detail["segments"], "a video match says which parts correspond"
    longest = max(detail["segments"], key=lambda s: s["this_end"] - s["this_start"])
    assert longest["this_end"] - longest["this_start"] >= 15, "most of the 22-second clips correspond"
    assert abs(longest["offset"]) <= 1.0, "the two edits are aligned in time"


def test_a_second_scan_changes_nothing(scanned_case: Case) -> None:
    def state() -> tuple[int, int, int, int, int]:
        with scanned_case.engine.connect() as conn:
            counts = tuple(
                conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in (MediaAnalysis, MediaHash, MediaMatch, Derivative)
            )
        return (*counts, scanned_case.counts()["log_size"])  # type: ignore[return-value]

    before = state()
    report = scan.scan_case(scanned_case)
    assert report.analysed == 0 and report.matches == 0 and report.copies == 0
    assert state() == before


def test_working_copies_are_recorded_as_derived_and_verified(scanned_case: Case) -> None:
    item = item_by_name(scanned_case, "aaa-orig.jpg")
    thumb = scanned_case.derivative(item, analyse.THUMBNAIL_STEP)
    assert thumb is not None and thumb.step_version == analyse.DERIVATIVE_VERSION
    with Image.open(scanned_case.blobs.path(thumb.sha256)) as img:
        assert max(img.size) <= analyse.THUMBNAIL_SIDE
        assert not img.getexif(), "working copies carry no metadata of the original"
    with scanned_case.engine.connect() as conn:
        entry = json.loads(scanned_case.log.entry(conn, thumb.log_index))
    assert entry["action"] == "item.derived"
    assert entry["item_sha256"] == item.sha256 and entry["derived_sha256"] == thumb.sha256
    assert entry["step"] == analyse.THUMBNAIL_STEP and entry["step_version"] == analyse.DERIVATIVE_VERSION
    assert audit.verify_case(scanned_case).ok


def test_a_thumbnail_altered_or_unrecorded_is_reported(tmp_path: Path, case: Case, testdata: Path) -> None:
    add_paths(case, [testdata / "pdq" / "bridge-mods" / "aaa-orig.jpg"], IntakeOptions(actor="tester"))
    scan.scan_case(case)
    item = case.resolve(case.items()[0][0].sha256)
    thumb = case.derivative(item, analyse.THUMBNAIL_STEP)
    assert thumb is not None
    path = case.blobs.path(thumb.sha256)
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    report = audit.verify_case(case)
    assert not report.ok
    assert any(p.kind == audit.BLOB_ALTERED and thumb.sha256 in p.subject for p in report.problems)
    with case.engine.begin() as conn:
        conn.execute(delete(Derivative).where(Derivative.id == thumb.id))
    report = audit.verify_case(case)
    assert any(p.kind == audit.ROW_MISSING and "item.derived" in p.detail for p in report.problems)


def test_archive_carries_working_copies(tmp_path: Path, case: Case, testdata: Path) -> None:
    add_paths(case, [testdata / "pdq" / "bridge-mods" / "aaa-orig.jpg"], IntakeOptions(actor="tester"))
    scan.scan_case(case)
    out = tmp_path / "case.zip"
    archive.export_case(case, out)
    restored = archive.import_case(out, tmp_path / "restored")
    try:
        assert audit.verify_case(restored).ok, "the copies' blobs travel with the archive"
    finally:
        restored.close()


def _png_with_giant_size() -> bytes:
    """A valid PNG header declaring 100,000 x 100,000 pixels over a few bytes of data."""
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    idat = b"IDAT" + zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
        + struct.pack(">I", len(idat) - 4)
        + idat
        + struct.pack(">I", zlib.crc32(idat))
        + b"\x00\x00\x00\x00IEND\xaeB`\x82"
    )


def test_hostile_media_is_analysed_as_far_as_possible(tmp_path: Path, case: Case, testdata: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    jpeg = (testdata / "pdq" / "bridge-mods" / "aaa-orig.jpg").read_bytes()
    (src / "truncated.jpg").write_bytes(jpeg[: len(jpeg) * 95 // 100])  # a download cut short near its end
    (src / "bomb.png").write_bytes(_png_with_giant_size())
    video = (testdata / "video" / "pattern-hd-no-bar.mp4").read_bytes()
    broken = bytearray(video)
    for i in range(len(broken) // 3, len(broken) // 3 + 200_000, 7):
        broken[i] = (broken[i] * 31 + 17) & 0xFF  # garbage in the middle of the stream
    (src / "broken.mp4").write_bytes(bytes(broken))
    (src / "cut.mp4").write_bytes(video[: len(video) // 2])
    (src / "empty.jpg").write_bytes(b"")
    png = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 200, 30)).save(png, "PNG")
    (src / "lies.mp4").write_bytes(png.getvalue())  # a picture whose extension says video
    (src / "good.jpg").write_bytes(jpeg)
    add_paths(case, [src], IntakeOptions(actor="tester"))
    report = scan.scan_case(case)
    with case.engine.connect() as conn:
        rows = {
            name: (status, error)
            for name, status, error in conn.execute(
                select(Receipt.original_name, MediaAnalysis.status, MediaAnalysis.error).join(
                    MediaAnalysis, MediaAnalysis.item_id == Receipt.item_id
                )
            )
        }
    assert rows["good.jpg"] == ("ok", None)
    assert rows["truncated.jpg"][0] == "partial" and "truncated" in rows["truncated.jpg"][1]
    assert rows["bomb.png"][0] == "failed" and "decompression bomb" in rows["bomb.png"][1]
    assert rows["lies.mp4"][0] == "ok", "analysed as what its bytes are (a PNG), not what its name says"
    assert rows["broken.mp4"][0] in ("ok", "partial")
    assert rows["cut.mp4"][0] in ("partial", "failed") and rows["cut.mp4"][1]
    assert rows["empty.jpg"][0] == "failed" and "empty file" in rows["empty.jpg"][1]
    assert report.analysed == len(rows)
    truncated = item_by_name(case, "truncated.jpg")
    good = item_by_name(case, "good.jpg")
    a, b = sorted((truncated.id, good.id))
    with case.engine.connect() as conn:
        assert conn.execute(select(MediaMatch).where(MediaMatch.item_a == a, MediaMatch.item_b == b)).first(), (
            "the part of a truncated picture that decodes is still hashed and matched"
        )
    assert audit.verify_case(case).ok


def test_a_scan_that_dies_is_finished_by_the_next(
    tmp_path: Path, case: Case, testdata: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_paths(case, [testdata / "pdq"], IntakeOptions(actor="tester"))
    real_record = scan._record
    calls = {"n": 0}

    def dying(*args: object, **kwargs: object) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("killed in the middle of the scan")
        real_record(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(scan, "BATCH", 4)
    monkeypatch.setattr(scan, "_record", dying)
    with pytest.raises(KeyboardInterrupt):
        scan.scan_case(case, workers=1)
    with case.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(MediaAnalysis)).scalar_one() == 4, "one batch landed"
    monkeypatch.setattr(scan, "_record", real_record)
    report = scan.scan_case(case, workers=1)
    # 19 distinct pictures (bridge-1-original.jpg is byte for byte aaa-orig.jpg), 4 done before the "kill".
    pictures = 19
    assert report.analysed == pictures - 4, "the next scan does only what is left"
    with case.engine.connect() as conn:
        ids = set(conn.execute(select(MediaCluster.cluster_id)).scalars())
        members = conn.execute(select(func.count()).select_from(MediaCluster)).scalar_one()
    assert len(ids) == 1 and members == pictures, "the resumed scan finds every match a clean one would"
    index = scan.open_index(case)
    with case.engine.connect() as conn:
        usable = conn.execute(select(func.count()).select_from(MediaHash).where(MediaHash.quality >= 50)).scalar_one()
    assert len(index) == usable, "the index holds exactly the hashes in the database"
    assert audit.verify_case(case).ok


def test_a_damaged_index_file_is_rebuilt_from_the_database(scanned_case: Case, testdata: Path) -> None:
    path = scan.index_path(scanned_case)
    saved = path.read_bytes()
    cluster = cluster_of(scanned_case, "aaa-orig.jpg")
    try:
        path.write_bytes(saved[: len(saved) // 2])
        _, found = scan.similar(scanned_case, testdata / "pdq" / "dihedral" / "bridge-5-flipx.jpg", "image/jpeg")
        with scanned_case.engine.connect() as conn:
            bridge = conn.execute(
                select(func.count()).select_from(MediaCluster).where(MediaCluster.cluster_id == cluster)
            ).scalar_one()
        assert len({item.sha256 for item, _ in found}) == bridge, "the whole bridge cluster, index or no index"
    finally:
        path.write_bytes(saved)


def test_similar_finds_a_clip_inside_its_source(tmp_path: Path, scanned_case: Case, testdata: Path) -> None:
    source = testdata / "video" / "chair-orig-22-sd-bar.mp4"
    clip = tmp_path / "clip.mp4"
    with av.open(str(source)) as inp, av.open(str(clip), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 240, 360, "yuv420p"
        for frame in inp.decode(video=0):
            if frame.time is None or frame.time < 8.0:
                continue
            if frame.time >= 14.0:
                break
            img = frame.to_ndarray(format="rgb24")
            small = av.VideoFrame.from_ndarray(np.ascontiguousarray(img[::2, ::2]), format="rgb24")
            for packet in stream.encode(small.reformat(format="yuv420p")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    result, found = scan.similar(scanned_case, clip, "video/mp4")
    assert result.status == "ok"
    by_sha = {item.sha256: f for item, f in found}
    orig = item_by_name(scanned_case, "chair-orig-22-sd-bar.mp4")
    assert orig.sha256 in by_sha, "the clip is found in the video it was cut from"
    segments = by_sha[orig.sha256].detail["segments"]
    assert any(abs(s["offset"] - 8.0) <= 1.0 for s in segments), segments
    doorknob = item_by_name(scanned_case, "doorknob-hd-no-bar.mp4")
    assert doorknob.sha256 not in by_sha


def test_cluster_guard_stops_chains_of_borderline_matches() -> None:
    # A-B and B-C are borderline; A and C do not match: C must not be pulled into A's cluster.
    chain = [clusters.Link(1, 2, strong=False), clusters.Link(2, 3, strong=False)]
    got = clusters.build_clusters(chain)
    assert got[1] == got[2] and 3 not in got
    # The same chain of strong (near-identical) links is one picture: one cluster.
    assert len(set(clusters.build_clusters([clusters.Link(1, 2, True), clusters.Link(2, 3, True)]).values())) == 1
    # A borderline link joins a cluster when it is backed by most of the cluster's members.
    backed = [*chain, clusters.Link(1, 3, strong=False)]
    assert len(set(clusters.build_clusters(backed).values())) == 1
    # Two strong groups joined by one borderline pair stay apart.
    groups = [clusters.Link(1, 2, True), clusters.Link(3, 4, True), clusters.Link(2, 3, False)]
    got = clusters.build_clusters(groups)
    assert got[1] == got[2] and got[3] == got[4] and got[1] != got[3]


def test_scan_runs_in_worker_processes_and_gives_the_same_result(tmp_path: Path, testdata: Path) -> None:
    results = []
    for workers in (1, 2):
        folder = tmp_path / f"w{workers}"
        c, _ = Case.init(folder, "t", actor="tester", database_url=None)
        try:
            add_paths(c, [testdata / "pdq" / "bridge-mods"], IntakeOptions(actor="tester"))
            scan.scan_case(c, workers=workers)
            with c.engine.connect() as conn:
                results.append(
                    sorted(
                        (a, b, d)
                        for a, b, d in conn.execute(
                            select(Item.sha256, MediaHash.variant, MediaHash.hash).join(
                                MediaHash, MediaHash.item_id == Item.id
                            )
                        )
                    )
                )
        finally:
            c.close()
    assert results[0] == results[1] and results[0]


def test_no_media_analysis_for_text(tmp_path: Path, case: Case) -> None:
    (tmp_path / "t.txt").write_text("police opened fire on the square")
    add_paths(case, [tmp_path / "t.txt"], IntakeOptions(actor="tester"))
    report = scan.scan_case(case)
    assert report.analysed == 0


def test_media_hash_and_similar_print_json(cli: Cli, scanned_case: Case, testdata: Path) -> None:
    _, out, _ = cli("media", "hash", testdata / "pdq" / "bridge-mods" / "aaa-orig.jpg")
    data = json.loads(out)
    assert data["kind"] == "image" and len(data["pdq"]["main"]["hash"]) == 64
    assert set(data["pdq_rotations_and_flips"]) >= {"original", "rot90", "flipx"}
    _, out, _ = cli("media", "similar", scanned_case.path, testdata / "pdq" / "bridge-mods" / "blur-a-lot.jpg")
    data = json.loads(out)
    original = item_by_name(scanned_case, "aaa-orig.jpg")
    match = next(m for m in data["matches"] if m["sha256"] == original.sha256)
    assert match["distance"] <= 31 and match["kind"] == "image"
    _, out, _ = cli("media", "hash", testdata / "video" / "doorknob-hd-no-bar.vpdq.txt", code=1)
    assert json.loads(out)["status"] == "failed"


def test_hostile_metadata_values_are_stored_and_shown_safely(tmp_path: Path, case: Case) -> None:
    from tests.media.test_metadata import make_video

    exif = Image.Exif()
    exif[0x010E] = 'C:\\u0000dir\\u0000", "injected": "yes'  # a literal backslash-u0000 and quotes
    img_path = tmp_path / "desc.jpg"
    Image.new("RGB", (64, 64), (30, 60, 90)).save(img_path, "JPEG", exif=exif)
    long_time = "2011-12-16T11:45:00Z" + " and then some" * 20  # longer than its 64-character column
    make_video(tmp_path / "v.mp4", tags={"date": long_time})
    add_paths(case, [img_path, tmp_path / "v.mp4"], IntakeOptions(actor="tester"))
    report = scan.scan_case(case)
    assert report.analysed == 2 and report.failed == 0
    with case.engine.connect() as conn:
        rows = dict(conn.execute(select(MediaAnalysis.kind, MediaAnalysis.raw_metadata)).all())
        captured = conn.execute(
            select(MediaAnalysis.captured_at_claimed).where(MediaAnalysis.kind == "video")
        ).scalar_one()
    raw = json.loads(rows["image"])  # valid JSON, whatever the file wrote
    assert raw["exif"]["ImageDescription"].startswith("C:\\u0000dir") and "injected" not in raw["exif"]
    assert len(captured) == 64 and captured.startswith("2011-12-16T11:45:00Z")


def test_a_copy_without_the_signing_key_is_not_scanned(tmp_path: Path, case: Case, testdata: Path) -> None:
    from factfinder.vault.errors import ReadOnlyCaseError

    add_paths(case, [testdata / "pdq" / "bridge-mods" / "aaa-orig.jpg"], IntakeOptions(actor="tester"))
    copy = tmp_path / "copy"
    shutil.copytree(case.path, copy, ignore=shutil.ignore_patterns("keys"))
    with Case.open(copy) as read_only:
        assert read_only.read_only
        with pytest.raises(ReadOnlyCaseError, match="signing key"):
            scan.scan_case(read_only)
        blobs = sum(1 for _ in read_only.blobs.digests())
    assert blobs == 1, "nothing was written to the copy"


def test_nearly_featureless_pictures_look_for_nothing(tmp_path: Path) -> None:
    flat = tmp_path / "flat.png"
    noise = np.random.default_rng(1).integers(0, 3, (256, 256, 3), dtype=np.uint8) + 120
    Image.fromarray(noise.astype(np.uint8)).save(flat)
    result = analyse.analyse_file(flat, "image/png", copies=False)
    assert result.pdq_quality is not None and result.pdq_quality < 50
    assert result.queries == [], "a hash that cannot link items does not query either (either order gives the same)"
