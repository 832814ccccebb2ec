"""Published copies lose GPS and device identifiers; originals stay byte for byte as received."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from factfinder.intake.files import IntakeOptions, add_paths
from factfinder.media import metadata, redact
from factfinder.vault import audit
from factfinder.vault.blobs import hash_file
from factfinder.vault.case import Case
from tests.media.test_metadata import make_video, phone_photo


def test_jpeg_copy_keeps_every_pixel_and_orientation_but_no_metadata(tmp_path: Path) -> None:
    for progressive in (False, True):
        src = phone_photo(tmp_path / "p.jpg", orientation=6)
        with Image.open(src) as img:
            buf = io.BytesIO()
            img.save(buf, "JPEG", exif=img.getexif(), progressive=progressive, comment=b"taken by a witness")
        data = buf.getvalue()
        copy = redact.strip_jpeg(data)
        with Image.open(io.BytesIO(copy)) as out, Image.open(io.BytesIO(data)) as before:
            assert np.array_equal(np.asarray(out), np.asarray(before)), "the picture data is copied, not re-encoded"
            exif = out.getexif()
            assert dict(exif) == {0x0112: 6}, "only the orientation survives"
            assert not exif.get_ifd(0x8825), "no GPS"
            assert "comment" not in out.info
        assert b"SERIAL-0042" not in copy and b"TestMaker" not in copy


def test_mpf_trailer_after_the_main_picture_is_dropped(tmp_path: Path) -> None:
    src = phone_photo(tmp_path / "p.jpg")
    data = src.read_bytes() + phone_photo(tmp_path / "second.jpg").read_bytes()  # a second image with its own EXIF
    copy = redact.strip_jpeg(data)
    assert copy.endswith(b"\xff\xd9") and b"TestMaker" not in copy


def test_png_metadata_chunks_are_dropped(tmp_path: Path) -> None:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "a witness")
    info.add_itxt("Location", "43.34 52.86")
    buf = io.BytesIO()
    Image.new("RGB", (20, 10), (1, 2, 3)).save(buf, "PNG", pnginfo=info)
    copy = redact.strip_png(buf.getvalue())
    with Image.open(io.BytesIO(copy)) as out:
        assert not out.text and out.getpixel((0, 0)) == (1, 2, 3)


def test_damaged_files_are_refused_not_half_copied() -> None:
    with pytest.raises(redact.RedactionError):
        redact.strip_jpeg(b"\xff\xd8\xff\xe1\x00\x10Exif")  # cut inside a segment
    with pytest.raises(redact.RedactionError):
        redact.strip_png(b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR")


def test_video_copy_has_no_location_or_creation_time(tmp_path: Path) -> None:
    src = make_video(
        tmp_path / "v.mp4", tags={"location": "+43.3417+052.8619/", "creation_time": "2011-12-16T11:45:00Z"}
    )
    assert metadata.read_av_metadata(src).gps_lat is not None
    data, media_type = redact.redacted_bytes(src, "video/mp4")
    out = tmp_path / "copy.mp4"
    out.write_bytes(data)
    meta = metadata.read_av_metadata(out)
    assert media_type == "video/mp4" and meta.gps_lat is None and meta.captured_at_claimed is None
    assert meta.duration == pytest.approx(2.0, abs=0.1), "the footage itself is all there"
    with av.open(str(out)) as c:
        assert sum(1 for _ in c.decode(video=0)) == 50


def test_publishing_makes_a_recorded_copy_and_leaves_the_original(tmp_path: Path, case: Case) -> None:
    src = phone_photo(tmp_path / "p.jpg")
    before, _ = hash_file(src)
    add_paths(case, [src], IntakeOptions(actor="tester"))
    item = case.resolve(before)
    case.publish(item.sha256, actor="tester")
    copy = redact.make_redacted_copy(case, item, actor="tester")
    assert copy is not None and copy.step == redact.REDACTED_STEP
    assert redact.make_redacted_copy(case, item, actor="tester").id == copy.id, "made once"  # type: ignore[union-attr]
    with Image.open(case.blobs.path(copy.sha256)) as img:
        assert not img.getexif().get_ifd(0x8825)
    assert hash_file(case.blobs.path(item.sha256))[0] == before, "the original is untouched"
    assert audit.verify_case(case).ok


def test_scan_makes_missing_published_copies(tmp_path: Path, case: Case) -> None:
    from factfinder.media import scan

    src = phone_photo(tmp_path / "p.jpg")
    add_paths(case, [src], IntakeOptions(actor="tester"))
    sha = case.items()[0][0].sha256
    case.publish(sha, actor="tester")
    scan.scan_case(case)
    assert redact.published_copy(case, case.resolve(sha)) is not None


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    import struct
    import zlib

    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def test_png_keeps_only_the_chunks_that_make_the_picture() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (20, 10), (1, 2, 3)).save(buf, "PNG")
    data = buf.getvalue()
    iend = data.rindex(b"IEND") - 4
    extra = b"".join(
        _png_chunk(kind, b"GPS 43.35N 52.86E signer=a witness")
        for kind in (b"caBX", b"zxIf", b"exIf", b"prVt")  # C2PA manifest, private and unknown chunks
    )
    copy = redact.strip_png(data[:iend] + extra + data[iend:])
    assert b"GPS" not in copy and b"witness" not in copy
    with Image.open(io.BytesIO(copy)) as out:
        assert out.getpixel((0, 0)) == (1, 2, 3)


def test_jpeg_app0_that_is_not_jfif_is_dropped(tmp_path: Path) -> None:
    data = phone_photo(tmp_path / "p.jpg").read_bytes()
    vendor = b"\xff\xe0" + (len(b"AVI1 PRIVATESTUFF") + 2).to_bytes(2, "big") + b"AVI1 PRIVATESTUFF"
    copy = redact.strip_jpeg(data[:2] + vendor + data[2:])
    assert b"PRIVATESTUFF" not in copy
    with Image.open(io.BytesIO(copy)) as out:
        out.load()


def test_damaged_jpeg_still_gets_a_published_copy(tmp_path: Path, testdata: Path) -> None:
    exif = Image.open(phone_photo(tmp_path / "p.jpg")).getexif()
    whole = io.BytesIO()
    Image.open(testdata / "pdq" / "bridge-mods" / "aaa-orig.jpg").save(whole, "JPEG", exif=exif)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(whole.getvalue()[: len(whole.getvalue()) * 95 // 100])  # a transfer cut short
    data, media_type = redact.redacted_bytes(cut, "image/jpeg")
    assert media_type == "image/png" and b"SERIAL-0042" not in data and b"TestMaker" not in data
    with Image.open(io.BytesIO(data)) as out:
        assert out.size == (1600, 1004) and not out.getexif()


def test_video_with_a_codec_mp4_refuses_goes_into_quicktime(tmp_path: Path) -> None:
    from fractions import Fraction

    path = tmp_path / "old-phone.mov"
    with av.open(str(path), "w", format="mov") as out:
        out.metadata["location"] = "+43.3417+052.8619/"
        video = out.add_stream("mjpeg", rate=Fraction(10))
        video.width, video.height, video.pix_fmt = 64, 48, "yuvj420p"
        audio = out.add_stream("pcm_mulaw", rate=8000)
        audio.layout = "mono"
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 20, dtype=np.uint8), format="rgb24")
            for packet in video.encode(frame.reformat(format="yuvj420p")):
                out.mux(packet)
        samples = av.AudioFrame.from_ndarray(np.zeros((1, 8000), dtype=np.int16), format="s16", layout="mono")
        samples.sample_rate = 8000
        for packet in audio.encode(samples):
            out.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode():
                out.mux(packet)
    data, media_type = redact.redacted_bytes(path, "video/quicktime")
    out_path = tmp_path / "copy.mov"
    out_path.write_bytes(data)
    assert media_type == "video/quicktime"
    meta = metadata.read_av_metadata(out_path)
    assert meta.gps_lat is None and meta.audio_codec == "pcm_mulaw"


def test_copies_of_an_older_redaction_are_never_served_and_are_made_again(tmp_path: Path, case: Case) -> None:
    from factfinder.media import scan
    from factfinder.vault.case import NewDerivative

    src = phone_photo(tmp_path / "p.jpg")
    add_paths(case, [src], IntakeOptions(actor="tester"))
    item = case.items()[0][0]
    case.publish(item.sha256, actor="tester")
    leaky = case.blobs.put_bytes(src.read_bytes())  # what a buggy older version might have published
    case.record_derivatives([NewDerivative(item, leaky, redact.REDACTED_STEP, "1", "image/jpeg")], actor="tester")
    assert redact.published_copy(case, item) is None, "a copy of version 1 is not served"
    scan.scan_case(case)
    copy = redact.published_copy(case, item)
    assert copy is not None and copy.step_version == redact.REDACTED_VERSION and copy.sha256 != leaky.sha256
