"""Ranking the copies in a cluster: earliest and most original first, each with its reasons."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from factfinder.intake.files import IntakeOptions, add_paths
from factfinder.media import earliest, scan
from factfinder.vault.case import Case
from tests.media.conftest import item_by_name
from tests.media.test_metadata import sign_jpeg


def test_original_ranks_above_reposts_crops_and_small_copies(tmp_path: Path, case: Case, testdata: Path) -> None:
    mods = testdata / "pdq" / "bridge-mods"
    # The small repost reaches the vault first; the camera original later; then a crop and a signed copy.
    add_paths(case, [mods / "shrink-a-lot.jpg"], IntakeOptions(actor="tester"))
    with Image.open(mods / "aaa-orig.jpg") as img:
        exif = Image.Exif()
        exif[0x010F], exif[0x0110] = "TestMaker", "Phone 7"
        exif.get_ifd(0x8769)[0x9003] = "2011:12:16 11:42:07"
        img.save(tmp_path / "camera.jpg", quality=95, exif=exif)
    add_paths(case, [tmp_path / "camera.jpg"], IntakeOptions(actor="tester"))
    with Image.open(mods / "aaa-orig.jpg") as img:
        w, h = img.size
        img.crop((w // 10, h // 10, w - w // 10, h - h // 10)).save(tmp_path / "crop.jpg", quality=90)
        small = io.BytesIO()
        img.resize((w // 3, h // 3)).save(small, "JPEG", quality=80)
    (tmp_path / "signed.jpg").write_bytes(sign_jpeg(small.getvalue()))
    add_paths(case, [tmp_path / "crop.jpg", tmp_path / "signed.jpg"], IntakeOptions(actor="tester"))
    scan.scan_case(case)

    with case.engine.connect() as conn:
        [(cid, size)] = earliest.cluster_ids(conn)
        group = earliest.members(conn, cid)
        ranked = earliest.rank(conn, group)
    assert size == 4
    by_sha = {c.sha256: c for c in ranked}
    orig = by_sha[item_by_name(case, "camera.jpg").sha256]
    crop = by_sha[item_by_name(case, "crop.jpg").sha256]
    shrunk = by_sha[item_by_name(case, "shrink-a-lot.jpg").sha256]
    signed = by_sha[item_by_name(case, "signed.jpg").sha256]
    assert ranked[0] is orig, [(c.sha256[:8], c.reasons) for c in ranked]
    assert any("capture time claimed" in r for r in orig.reasons)
    assert any("highest resolution" in r for r in orig.reasons)
    assert any("cropped" in r for r in crop.reasons) and crop.score < orig.score
    assert any("first received" in r for r in shrunk.reasons), "the vault's own clock counts"
    assert any("C2PA" in r for r in signed.reasons)
    crop_matches = next(m for m in group if m.sha256 == crop.sha256).matches
    assert any("this is a crop of the other" in str(m.get("relation")) for m in crop_matches)


def test_claimed_times_compare_as_instants_and_junk_is_ignored() -> None:
    assert earliest.instant("2011:12:16 11:42:07") == earliest.instant("2011-12-16T11:42:07Z")
    assert earliest.instant("2011-12-16T11:42:07+0500") == earliest.instant("2011-12-16T06:42:07Z")
    # As strings "2011-12-16T10:00:00+05:00" sorts after "2011-12-16T06:00:00Z"; as instants it is earlier.
    early, late = earliest.instant("2011-12-16T10:00:00+05:00"), earliest.instant("2011-12-16T06:00:00Z")
    assert early is not None and late is not None and early < late
    for junk in ("1", "1970-01-01T00:00:00Z", "1904-01-01 00:00:00", "2999-01-01", "yesterday"):
        assert earliest.instant(junk) is None, junk


def test_self_signed_credentials_do_not_outrank_the_vaults_clock_and_observers_get_no_withheld_reasons(
    tmp_path: Path, case: Case, testdata: Path
) -> None:
    mods = testdata / "pdq" / "bridge-mods"
    add_paths(case, [mods / "aaa-orig.jpg"], IntakeOptions(actor="tester"))
    with Image.open(mods / "aaa-orig.jpg") as img:
        copy = io.BytesIO()
        img.save(copy, "JPEG", quality=85)
    (tmp_path / "signed.jpg").write_bytes(sign_jpeg(copy.getvalue()))
    add_paths(case, [tmp_path / "signed.jpg"], IntakeOptions(actor="tester"))
    scan.scan_case(case)
    with case.engine.connect() as conn:
        [(cid, _)] = earliest.cluster_ids(conn)
        group = earliest.members(conn, cid)
        ranked = earliest.rank(conn, group)
        public = earliest.rank(conn, group, public=True)
    signed = next(c for c in ranked if c.sha256 == item_by_name(case, "signed.jpg").sha256)
    assert not any("earliest signed time" in r for r in signed.reasons), "a signer on no trust list is anyone"
    assert ranked[0].sha256 == item_by_name(case, "aaa-orig.jpg").sha256
    assert any("camera metadata" in r for c in ranked for r in c.reasons)
    assert not any("camera metadata" in r or "re-encoded" in r for c in public for r in c.reasons)
