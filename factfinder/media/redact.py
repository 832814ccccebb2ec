"""Published copies: the same picture or footage without GPS, device identifiers or other metadata.

A photo's EXIF can hold where it was taken to a few metres, the serial number
of the camera and the name of its owner: enough to find the witness who took
it. What a case publishes is therefore never the original but a copy made
here, recorded as derived from it (custody entry ``item.derived``, step
``redacted-copy``), while the original stays untouched in the vault.

- **JPEG**: losslessly: the compressed picture data is copied byte for byte and
  only metadata segments are dropped (EXIF, XMP, IPTC, comments, and the
  extra images an MPF file appends after the main one). The orientation is
  kept, in a minimal EXIF block holding nothing else, so the picture still
  shows the right way up.
- **PNG**: only the chunks that make the picture are kept (a whitelist); text,
  EXIF, C2PA manifests (``caBX``) and private chunks are dropped.
- **Other pictures** are decoded, turned upright and saved as PNG (lossless).
- **Video and audio** are remuxed with FFmpeg: the streams are copied without
  re-encoding, the container and stream metadata (where QuickTime keeps the
  location and the phone model) are not. What is *inside* the coded frames is
  copied as it is: a Motion-JPEG frame's own EXIF or an H.264 SEI message
  (where some drones and dashcams write GPS) survive. That is a known gap.
"""

from __future__ import annotations

import io
import struct
import tempfile
from pathlib import Path

import av
from PIL import Image, ImageOps
from sqlalchemy import select
from sqlalchemy.orm import Session

from factfinder.db.models import Derivative, Item, Publication
from factfinder.media import analyse, pdq
from factfinder.vault.case import Case, NewDerivative

REDACTED_STEP = "redacted-copy"
REDACTED_VERSION = "2"
"""Version 2 keeps only known picture chunks and segments (a whitelist); copies of version 1 are made again."""
KEEP_APP = {0xE0, 0xE2, 0xEE}  # JFIF, ICC profile (colour), Adobe (colour transform)
PNG_KEEP = {
    b"IHDR",
    b"PLTE",
    b"IDAT",
    b"IEND",
    b"tRNS",
    b"gAMA",
    b"cHRM",
    b"sRGB",
    b"iCCP",
    b"sBIT",
    b"pHYs",
    b"bKGD",
    b"acTL",
    b"fcTL",
    b"fdAT",
}
"""PNG chunks that make the picture; everything else (text, EXIF, C2PA's caBX, private chunks) is dropped."""


class RedactionError(Exception):
    """The file could not be copied without its metadata; nothing was published for it."""


def strip_jpeg(data: bytes) -> bytes:
    """A JPEG with every metadata segment dropped and the picture data untouched."""
    if data[:2] != b"\xff\xd8":
        raise RedactionError("not a JPEG file")
    orientation = _orientation(data)
    out = bytearray(b"\xff\xd8")
    if orientation not in (None, 1):
        exif = Image.Exif()
        exif[0x0112] = orientation
        payload = exif.tobytes()
        if not payload.startswith(b"Exif"):
            payload = b"Exif\x00\x00" + payload
        out += b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    pos = 2
    n = len(data)
    while pos < n:
        if data[pos] != 0xFF:
            raise RedactionError(f"damaged JPEG: expected a marker at byte {pos}")
        marker = data[pos + 1] if pos + 1 < n else None
        if marker is None:
            raise RedactionError("damaged JPEG: cut inside a marker")
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xD9:  # end of image: anything after it (MPF images, trailers) is dropped
            out += b"\xff\xd9"
            return bytes(out)
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            out += data[pos : pos + 2]
            pos += 2
            continue
        if pos + 4 > n:
            raise RedactionError("damaged JPEG: cut inside a segment header")
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        end = pos + 2 + length
        if length < 2 or end > n:
            raise RedactionError("damaged JPEG: a segment runs past the end of the file")
        is_metadata = (0xE0 <= marker <= 0xEF and marker not in KEEP_APP) or marker == 0xFE
        payload = data[pos + 4 : end]
        if marker == 0xE2 and not payload.startswith(b"ICC_PROFILE\x00"):
            is_metadata = True  # APP2 also carries MPF (with its own EXIF) and FlashPix
        if marker == 0xE0 and not payload.startswith((b"JFIF\x00", b"JFXX\x00")):
            is_metadata = True  # APP0 is JFIF's; anything else there (AVI1, vendor data) is dropped
        if marker == 0xEE and not payload.startswith(b"Adobe"):
            is_metadata = True
        if not is_metadata:
            out += data[pos:end]
        pos = end
        if marker == 0xDA:  # start of scan: copy the entropy-coded data up to the next real marker
            scan_end = _scan_end(data, pos)
            out += data[pos:scan_end]
            pos = scan_end
    raise RedactionError("damaged JPEG: no end-of-image marker")


def _scan_end(data: bytes, pos: int) -> int:
    """Where the entropy-coded data after a start-of-scan ends (the next marker that is not RSTn or stuffing)."""
    n = len(data)
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= n:
            raise RedactionError("damaged JPEG: picture data cut short")
        nxt = data[pos + 1]
        if nxt == 0x00 or 0xD0 <= nxt <= 0xD7 or nxt == 0xFF:
            pos += 1 if nxt == 0xFF else 2
            continue
        return pos


def _orientation(data: bytes) -> int | None:
    try:
        with Image.open(io.BytesIO(data)) as img:
            value = img.getexif().get(0x0112)
    except (OSError, ValueError, SyntaxError):
        return None
    return value if isinstance(value, int) and 1 <= value <= 8 else None


def strip_png(data: bytes) -> bytes:
    """A PNG with its metadata chunks dropped (pixels and colour chunks copied as they are)."""
    signature = b"\x89PNG\r\n\x1a\n"
    if not data.startswith(signature):
        raise RedactionError("not a PNG file")
    out = bytearray(signature)
    pos = len(signature)
    while pos + 8 <= len(data):
        length = struct.unpack(">I", data[pos : pos + 4])[0]
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise RedactionError("damaged PNG: a chunk runs past the end of the file")
        if kind in PNG_KEEP:
            out += data[pos:end]
        pos = end
        if kind == b"IEND":
            return bytes(out)
    raise RedactionError("damaged PNG: no IEND chunk")


def reencode_picture(path: Path) -> bytes:
    """Any other picture (or a damaged one): decoded, turned upright, saved as PNG with no metadata."""
    try:
        with Image.open(path) as img:
            if img.width * img.height > pdq.MAX_PIXELS:
                raise RedactionError(f"declares {img.width}x{img.height} pixels: too large to re-encode")
            with pdq.truncated_allowed():  # what a cut-short file holds is still worth publishing
                img.load()
                upright = ImageOps.exif_transpose(img) or img
                out = io.BytesIO()
                upright.save(out, "PNG")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise RedactionError(f"picture could not be re-encoded: {exc}") from None
    return out.getvalue()


def remux_without_metadata(path: Path) -> tuple[bytes, str]:
    """Copy the audio and video streams into a fresh container that carries no metadata.

    MP4 for what came in an MP4-family container when MP4 takes its codecs,
    else QuickTime (which takes AMR and G.711 audio of old phones), else
    Matroska; Matroska first for anything else.
    """
    with av.open(str(path)) as probe:
        family = probe.format.name.split(",")[0]
    targets = [("mp4", "video/mp4"), ("mov", "video/quicktime"), ("matroska", "video/x-matroska")]
    if family not in ("mov", "mp4", "m4a", "3gp"):
        targets = targets[2:] + targets[:2]
    problems = []
    for fmt, media_type in targets:
        try:
            return _remux(path, fmt), media_type
        except RedactionError as exc:
            problems.append(f"{fmt}: {exc}")
    raise RedactionError("streams could not be copied (" + "; ".join(problems) + ")")


def _remux(path: Path, fmt: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="factfinder-redact-") as tmp:
        target = Path(tmp) / "copy"
        try:
            with av.open(str(path)) as inp, av.open(str(target), "w", format=fmt) as out:
                mapping = {}
                for stream in inp.streams:
                    if stream.type in ("video", "audio"):
                        mapping[stream.index] = out.add_stream_from_template(stream)
                if not mapping:
                    raise RedactionError("no audio or video stream to copy")
                for packet in inp.demux(*[inp.streams[i] for i in mapping]):
                    if packet.dts is None:
                        continue
                    packet.stream = mapping[packet.stream.index]
                    out.mux(packet)
        except RedactionError:
            raise
        except (av.FFmpegError, ValueError, OSError, RuntimeError) as exc:
            raise RedactionError(f"{type(exc).__name__}: {exc}") from None
        return target.read_bytes()


def redacted_bytes(path: Path, media_type: str) -> tuple[bytes, str]:
    """The published copy of a file: (bytes, media type)."""
    kind = analyse.media_kind(media_type)
    if kind == "image":
        data = path.read_bytes()
        try:
            if media_type == "image/jpeg":
                return strip_jpeg(data), "image/jpeg"
            if media_type == "image/png":
                return strip_png(data), "image/png"
        except RedactionError:
            pass  # damaged (a transfer cut short?): decode what there is and save that, without metadata
        return reencode_picture(path), "image/png"
    if kind in ("video", "audio"):
        return remux_without_metadata(path)
    raise RedactionError(f"no published copy is made for {media_type}")


def make_redacted_copy(case: Case, item: Item, *, actor: str) -> Derivative | None:
    """Make and record the published copy of a media item; None for items that are not media.

    Raises ``RedactionError`` when a media file cannot be copied safely: then
    nothing is recorded and nothing of it may be served to observers.
    """
    if analyse.media_kind(item.media_type) not in analyse.PICTURE_KINDS:
        return None
    existing = published_copy(case, item)
    if existing is not None:
        return existing  # of the current version (older versions are made again)
    data, media_type = redacted_bytes(case.blobs.path(item.sha256), item.media_type)
    blob = case.blobs.put_bytes(data)
    case.record_derivatives([NewDerivative(item, blob, REDACTED_STEP, REDACTED_VERSION, media_type)], actor=actor)
    return published_copy(case, item)


def published_copy(case: Case, item: Item) -> Derivative | None:
    """The copy of an item that may be shown to the public, if one of the current version was made.

    Copies made by an older version of this step are never served: a fix to
    redaction must reach every copy, so ``media scan`` makes them again.
    """
    return case.derivative(item, REDACTED_STEP, step_version=REDACTED_VERSION)


def catch_up(case: Case, *, actor: str) -> tuple[int, list[tuple[str, str]]]:
    """Make the missing published copies of published media items; (how many made, failures)."""
    with Session(case.engine) as s:
        rows = s.scalars(
            select(Item)
            .join(Publication, Publication.item_id == Item.id)
            .where(
                ~Item.id.in_(
                    select(Derivative.item_id).where(
                        Derivative.step == REDACTED_STEP, Derivative.step_version == REDACTED_VERSION
                    )
                )
            )
        )
        items = [i for i in rows if analyse.media_kind(i.media_type) in analyse.PICTURE_KINDS]
        s.expunge_all()
    made, failed = 0, []
    for item in items:
        try:
            if make_redacted_copy(case, item, actor=actor) is not None:
                made += 1
        except RedactionError as exc:
            failed.append((item.sha256, f"no published copy: {exc}"))
    return made, failed
