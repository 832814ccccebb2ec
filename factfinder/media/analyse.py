"""Analyse one media file: metadata, hashes, working copies. No database here.

This is the part of the media step that runs in worker processes: it reads an
original from the blob store, decodes it as far as it can, and returns plain
data (picklable) for the parent to record. A file that lies about its type, is
truncated, declares a giant size or has a broken stream gives an ``Analysis``
with ``status`` ``partial`` or ``failed`` and a clear error; it never raises,
so one hostile file cannot stop a scan of thousands.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
from PIL import Image

from factfinder.media import metadata, pdq, video

STEP_VERSION = "media/1"
"""Bump when what the analysis records changes, so that a scan redoes older rows."""
THUMBNAIL_SIDE = 320
PREVIEW_SIDE = 1280
THUMBNAIL_STEP = "thumbnail"
PREVIEW_STEP = "web-preview"
DERIVATIVE_VERSION = "1"
"""Version of the thumbnail and preview steps (recorded in each copy's custody entry)."""

NOT_IMAGES = frozenset({"image/svg+xml"})
EMPTY = "application/x-empty"
PICTURE_KINDS = frozenset({"image", "video", "audio"})
"""Kinds that have pictures or sound to copy or hash (``empty`` has neither)."""
"""SVG is a program more than a picture: never rendered here."""


def media_kind(media_type: str) -> str | None:
    """Which analysis an item gets by its (sniffed) media type; None for non-media."""
    if media_type.startswith("image/") and media_type not in NOT_IMAGES:
        return "image"
    if media_type.startswith("video/"):
        return "video"
    if media_type.startswith("audio/"):
        return "audio"
    if media_type == EMPTY:
        return "empty"  # recorded as such, so that an empty "photo.jpg" says why it has no analysis
    # Anything else, application/octet-stream included, is left alone: libmagic recognises every
    # picture and container format FFmpeg and Pillow read, and FFmpeg "plays" some arbitrary bytes.
    return None


@dataclass
class HashRow:
    variant: str
    t: float | None
    quality: int
    hash: bytes


@dataclass
class Analysis:
    """Everything the media step found out about one file."""

    kind: str
    status: str = "ok"
    errors: list[str] = field(default_factory=list)
    meta: metadata.FileMetadata | None = None
    hashes: list[HashRow] = field(default_factory=list)
    queries: list[tuple[str, bytes]] = field(default_factory=list)
    pdq_quality: int | None = None
    content_box: tuple[int, int, int, int] | None = None
    copies: dict[str, bytes] = field(default_factory=dict)

    def fail(self, message: str) -> None:
        self.errors.append(message)
        self.status = "failed"

    def warn(self, message: str) -> None:
        self.errors.append(message)
        if self.status == "ok":
            self.status = "partial"

    def raw_json(self) -> dict[str, Any]:
        return self.meta.raw if self.meta else {}


def analyse_file(path: Path, media_type: str, *, copies: bool = True) -> Analysis:
    """Analyse one file by its media type; never raises for bad input."""
    kind = media_kind(media_type)
    if kind is None:
        result = Analysis(kind="none")
        result.fail(f"not a picture, video or audio file (its content is {media_type})")
        return result
    try:
        if path.stat().st_size == 0:
            result = Analysis(kind=kind)
            result.fail("empty file (zero bytes): nothing to analyse")
            return result
        if kind == "image":
            return _analyse_image(path, copies=copies)
        return _analyse_av(path, copies=copies)
    except MemoryError:
        result = Analysis(kind=kind)
        result.fail("ran out of memory decoding this file")
        return result
    except Exception as exc:  # a decoder bug must not stop the scan; the error is recorded on the item
        result = Analysis(kind=kind)
        result.fail(f"analysis failed unexpectedly: {type(exc).__name__}: {exc}")
        return result


def _analyse_image(path: Path, *, copies: bool) -> Analysis:
    result = Analysis(kind="image", meta=metadata.read_image_metadata(path))
    assert result.meta is not None
    for w in result.meta.warnings:
        result.warn(w)
    c2pa_info = _c2pa(path, "image/jpeg" if result.meta.raw.get("format") == "JPEG" else None, result)
    result.meta.c2pa = c2pa_info
    try:
        img, size, notes = pdq.open_upright(path)
    except pdq.ImageDecodeError as exc:
        result.fail(f"picture not decoded: {exc}")
        return result
    for note in notes:
        result.warn(note)
    hashes = pdq.hash_picture(img, size=size, notes=notes)
    result.meta.width, result.meta.height = hashes.width, hashes.height
    result.pdq_quality = hashes.main.quality
    result.content_box = hashes.content_box
    result.hashes = [HashRow(name, None, h.quality, h.hash) for name, h in hashes.index_hashes()]
    # Only hashes good enough to link items look for others (as only those are in the index).
    result.queries = [(n, h) for n, h in hashes.query_hashes() if hashes.quality_of(n) >= pdq.MIN_QUALITY]
    if copies:
        result.copies[THUMBNAIL_STEP] = _jpeg(img, THUMBNAIL_SIDE)
        if max(hashes.width, hashes.height) > pdq.HASH_SIDE or result.meta.raw.get("format") not in WEB_FORMATS:
            try:
                big, _, _ = pdq.open_upright(path, side=PREVIEW_SIDE)
                result.copies[PREVIEW_STEP] = _jpeg(big, PREVIEW_SIDE)
            except pdq.ImageDecodeError as exc:
                result.warn(f"no web preview: {exc}")
        else:
            result.copies[PREVIEW_STEP] = _jpeg(img, PREVIEW_SIDE)
    return result


WEB_FORMATS = frozenset({"JPEG", "PNG", "GIF", "WEBP"})


def _jpeg(img: Image.Image, side: int) -> bytes:
    """A working copy as a plain JPEG with no metadata at all (nothing of the original's EXIF)."""
    copy = img.copy()
    copy.thumbnail((side, side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    copy.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue()


def _c2pa(path: Path, media_type: str | None, result: Analysis) -> dict[str, Any] | None:
    try:
        info = metadata.read_c2pa(path, media_type or "application/octet-stream")
    except Exception as exc:  # the C2PA SDK is native code; its failures are recorded, not fatal
        result.warn(f"C2PA credentials could not be read: {type(exc).__name__}: {exc}")
        return None
    return info


def _analyse_av(path: Path, *, copies: bool) -> Analysis:
    meta = metadata.read_av_metadata(path)
    result = Analysis(kind=meta.kind, meta=meta)
    if meta.kind == "unknown":
        result.fail("; ".join(meta.warnings) or "not a picture, video or audio file this tool can read")
        return result
    for w in meta.warnings:
        result.warn(w)
    meta.c2pa = _c2pa(path, _AV_C2PA_TYPES.get(str(meta.raw.get("format", "")).split(",")[0]), result)
    if meta.kind != "video":
        return result
    try:
        hashes = video.hash_video(path)
    except video.VideoDecodeError as exc:
        result.fail(f"video not decoded: {exc}")
        return result
    for w in hashes.warnings:
        result.warn(w)
    if meta.duration is None:
        meta.duration = hashes.duration
    result.content_box = hashes.content_box
    usable = [f.quality for f in hashes.seconds if f.quality >= pdq.MIN_QUALITY]
    result.pdq_quality = round(sum(usable) / len(usable)) if usable else 0
    result.hashes = [HashRow("keyframe", f.t, f.quality, f.hash) for f in hashes.keyframes] + [
        HashRow("second", f.t, f.quality, f.hash) for f in hashes.seconds
    ]
    result.queries = [(f"t={f.t:.2f}", f.hash) for f in hashes.seconds if f.quality >= pdq.MIN_QUALITY]
    if copies:
        frame = _still(path, at=min(1.0, (hashes.duration or 0) / 10))
        if frame is not None:
            result.copies[THUMBNAIL_STEP] = _jpeg(frame, THUMBNAIL_SIDE)
    return result


def _still(path: Path, *, at: float) -> Image.Image | None:
    """One frame near ``at`` seconds, for the thumbnail of a video (None if none decodes)."""
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            if at > 0 and stream.time_base:
                container.seek(int(at / stream.time_base), stream=stream)
            for frame in container.decode(stream):
                img: Image.Image = frame.to_image()  # type: ignore[no-untyped-call]
                rotation = round(float(frame.rotation)) % 360
                return img.rotate(rotation, expand=True) if rotation else img
    except (av.FFmpegError, OSError, ValueError, IndexError):
        return None
    return None


_AV_C2PA_TYPES = {"mov": "video/mp4", "mp4": "video/mp4", "wav": "audio/wav", "mp3": "audio/mpeg", "avi": "video/avi"}
