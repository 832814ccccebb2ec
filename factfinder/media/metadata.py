"""What a media file says about itself: EXIF/XMP/IPTC, container metadata, C2PA credentials.

Everything here is *claimed by the file*. A capture time is whatever the
camera's clock said (or whatever an editor wrote later); a GPS fix can be
typed in; a camera model is a string. Investigators need it anyway, because
it is often the only lead to when, where and on what a picture was taken, and
because contradictions between the claims and other evidence are themselves
findings. So the field names say ``*_claimed`` and the web app says "claimed
by the file"; only a C2PA manifest whose signature validates is more than a
claim, and then only about who signed, not about what the picture shows.

The raw metadata is kept as JSON (binary blobs such as maker notes are
replaced by their size) and the fields investigators search and sort by are
lifted into columns of ``media_analyses``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from PIL import ExifTags, Image, IptcImagePlugin, TiffImagePlugin

MAX_RAW_STRING = 4096
"""Longer metadata strings are cut: a malicious file can carry megabytes in a comment."""
MAX_XMP = 65536

GPS_IFD = 0x8825
EXIF_IFD = 0x8769
DEVICE_IDENTIFIER_TAGS = {
    0xA430: "CameraOwnerName",
    0xA431: "BodySerialNumber",
    0xA435: "LensSerialNumber",
    0xA420: "ImageUniqueID",
}
"""EXIF tags that identify a device or its owner: never in a published copy."""

IPTC_FIELDS = {
    (2, 5): "ObjectName",
    (2, 25): "Keywords",
    (2, 55): "DateCreated",
    (2, 60): "TimeCreated",
    (2, 80): "By-line",
    (2, 90): "City",
    (2, 95): "Province-State",
    (2, 101): "Country",
    (2, 105): "Headline",
    (2, 110): "Credit",
    (2, 115): "Source",
    (2, 116): "CopyrightNotice",
    (2, 120): "Caption-Abstract",
}


@dataclass
class FileMetadata:
    """The metadata of one file: raw, plus the fields investigators ask about first."""

    kind: str
    raw: dict[str, Any] = field(default_factory=dict)
    captured_at_claimed: str | None = None
    camera_make: str | None = None
    camera_model: str | None = None
    software: str | None = None
    gps_lat: float | None = None
    gps_lon: float | None = None
    gps_alt: float | None = None
    orientation: int | None = None
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    encoder: str | None = None
    rotation: int | None = None
    c2pa: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)

    def columns(self) -> dict[str, Any]:
        """The lifted fields, as the ``media_analyses`` row holds them."""
        return {
            "captured_at_claimed": _cut(self.captured_at_claimed, 64),
            "camera_make": _cut(self.camera_make, 255),
            "camera_model": _cut(self.camera_model, 255),
            "software": _cut(self.software, 255),
            "gps_lat": self.gps_lat,
            "gps_lon": self.gps_lon,
            "gps_alt": self.gps_alt,
            "orientation": self.orientation,
            "width": self.width,
            "height": self.height,
            "duration": self.duration,
            "video_codec": _cut(self.video_codec, 64),
            "audio_codec": _cut(self.audio_codec, 64),
            "encoder": _cut(self.encoder, 255),
            "rotation": self.rotation,
            "c2pa_state": (self.c2pa or {}).get("state"),
        }


def _cut(value: str | None, width: int) -> str | None:
    """A claimed value cut to its column's width (the raw metadata keeps it whole, up to 4 KiB)."""
    return value[:width] if value is not None else None


def json_safe(value: Any) -> Any:
    """Turn metadata values (rationals, bytes, nested tuples) into JSON, cutting long strings."""
    if isinstance(value, TiffImagePlugin.IFDRational | Fraction):
        num, den = value.numerator, value.denominator
        return None if den == 0 else float(num) / float(den)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, bool | int) or value is None:
        return value
    if isinstance(value, bytes):
        text = _text(value)
        return text if text is not None else {"binary_bytes": len(value)}
    if isinstance(value, str):
        return value[:MAX_RAW_STRING].replace("\x00", "")
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in list(value.items())[:500]}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value[:500]]
    return str(value)[:MAX_RAW_STRING]


def _text(data: bytes) -> str | None:
    """Bytes that are really text (EXIF ASCII, IPTC strings); None for binary."""
    stripped = data.rstrip(b"\x00")
    if len(stripped) > MAX_RAW_STRING:
        return None
    try:
        text = stripped.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if text.isprintable() or not text else None


def _clean(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = _text(value)
    if not isinstance(value, str):
        return None
    value = value.replace("\x00", "").strip()
    return value[:255] or None


# -- images --------------------------------------------------------------------------------


MAX_TAGS = 1000
"""A TIFF directory may hold 65,535 tags; a camera writes a few hundred at most."""


def _named(ifd: dict[int, Any], names: dict[int, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for tag, value in list(ifd.items())[:MAX_TAGS]:
        name = names.get(tag, f"0x{tag:04x}")
        if name == "MakerNote":
            out[name] = {"binary_bytes": len(value) if isinstance(value, bytes) else None}
            continue
        out[name] = json_safe(value)
    return out


def _exif_time(value: Any, offset: Any = None) -> str | None:
    """EXIF ``YYYY:MM:DD HH:MM:SS`` (+ optional ``+HH:MM``) as ISO 8601; None if it is not a time."""
    text = _clean(value)
    if not text:
        return None
    try:
        parsed = datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    iso = parsed.isoformat()
    off = _clean(offset)
    if off and re.fullmatch(r"[+-]\d\d:\d\d", off):
        iso += off
    return iso


def _gps_coordinate(values: Any, ref: Any, negative: str) -> float | None:
    try:
        deg, minutes, seconds = (float(json_safe(v)) for v in values)
    except (TypeError, ValueError):
        return None
    coordinate = deg + minutes / 60 + seconds / 3600
    if not math.isfinite(coordinate):
        return None
    if _clean(ref) == negative:
        coordinate = -coordinate
    return round(coordinate, 7)


def _image_gps(gps: dict[int, Any], meta: FileMetadata) -> None:
    lat = _gps_coordinate(gps.get(2), gps.get(1), "S") if 2 in gps else None
    lon = _gps_coordinate(gps.get(4), gps.get(3), "W") if 4 in gps else None
    if lat is not None and lon is not None and abs(lat) <= 90 and abs(lon) <= 180:
        meta.gps_lat, meta.gps_lon = lat, lon
    elif 2 in gps or 4 in gps:
        meta.warnings.append("GPS tags present but not a valid coordinate")
    alt = json_safe(gps.get(6)) if 6 in gps else None
    if isinstance(alt, float | int):
        meta.gps_alt = -float(alt) if gps.get(5) in (1, b"\x01") else float(alt)


def read_image_metadata(path: Path) -> FileMetadata:
    """EXIF, XMP and IPTC of a picture, without decoding its pixels."""
    meta = FileMetadata(kind="image")
    try:
        with Image.open(path) as img:
            meta.width, meta.height = img.size
            meta.raw["format"] = img.format
            meta.raw["mode"] = img.mode
            exif = img.getexif()
            xmp = img.info.get("xmp")
            iptc = IptcImagePlugin.getiptcinfo(img) if img.format in ("JPEG", "TIFF") else None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        meta.warnings.append(f"metadata unreadable: {exc}")
        return meta
    try:
        base = dict(exif)
        exif_ifd = dict(exif.get_ifd(EXIF_IFD))
        gps_ifd = dict(exif.get_ifd(GPS_IFD))
    except (OSError, ValueError, SyntaxError, KeyError, TypeError) as exc:
        meta.warnings.append(f"EXIF damaged: {exc}")
        base, exif_ifd, gps_ifd = {}, {}, {}
    base.pop(EXIF_IFD, None)
    base.pop(GPS_IFD, None)
    if base or exif_ifd or gps_ifd:
        meta.raw["exif"] = _named(base, ExifTags.TAGS) | _named(exif_ifd, ExifTags.TAGS)
        if gps_ifd:
            meta.raw["gps"] = _named(gps_ifd, ExifTags.GPSTAGS)
    meta.camera_make = _clean(base.get(0x010F))
    meta.camera_model = _clean(base.get(0x0110))
    meta.software = _clean(base.get(0x0131))
    orientation = base.get(0x0112)
    meta.orientation = orientation if isinstance(orientation, int) and 1 <= orientation <= 8 else None
    meta.captured_at_claimed = (
        _exif_time(exif_ifd.get(0x9003), exif_ifd.get(0x9011))
        or _exif_time(exif_ifd.get(0x9004), exif_ifd.get(0x9012))
        or _exif_time(base.get(0x0132), exif_ifd.get(0x9010))
    )
    _image_gps(gps_ifd, meta)
    if meta.orientation in (5, 6, 7, 8) and meta.width and meta.height:
        meta.width, meta.height = meta.height, meta.width
    if isinstance(xmp, bytes | str):
        text = xmp.decode("utf-8", errors="replace") if isinstance(xmp, bytes) else xmp
        meta.raw["xmp"] = text[:MAX_XMP]
        if meta.software is None:
            meta.software = _xmp_value(text, "xmp:CreatorTool")
        if meta.captured_at_claimed is None:
            meta.captured_at_claimed = _xmp_value(text, "exif:DateTimeOriginal") or _xmp_value(
                text, "photoshop:DateCreated"
            )
    if iptc:
        meta.raw["iptc"] = {
            IPTC_FIELDS.get(k, f"{k[0]}:{k[1]}"): json_safe(v) for k, v in iptc.items() if isinstance(k, tuple)
        }
    return meta


def _xmp_value(xmp: str, name: str) -> str | None:
    """One simple XMP property, written either as an attribute or as an element."""
    m = re.search(re.escape(name) + r'\s*=\s*"([^"]{1,200})"', xmp) or re.search(
        "<" + re.escape(name) + r">([^<]{1,200})</", xmp
    )
    return m.group(1).strip() if m else None


# -- video and audio -------------------------------------------------------------------------

TEXT_DEMUXERS = frozenset({"tty", "ansi", "srt", "ass", "webvtt", "subviewer", "microdvd"})
"""FFmpeg formats that "play" a text file; a text file is evidence of another kind, not a video."""
ISO6709 = re.compile(r"^([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)?")


def read_av_metadata(path: Path) -> FileMetadata:
    """Container and stream metadata of a video or audio file, read with PyAV (FFmpeg).

    Only headers are read; no frame is decoded.
    """
    meta = FileMetadata(kind="video")
    try:
        container = av.open(str(path), metadata_errors="replace")
    except (av.FFmpegError, OSError, ValueError) as exc:
        meta.warnings.append(f"not a media container FFmpeg can read: {exc}")
        meta.kind = "unknown"
        return meta
    with container:
        if container.format.name in TEXT_DEMUXERS:
            meta.warnings.append("FFmpeg reads this only as text drawn on screen: not a video")
            meta.kind = "unknown"
            return meta
        tags = {str(k): json_safe(v) for k, v in container.metadata.items()}
        meta.raw["format"] = container.format.name
        meta.raw["container"] = tags
        if container.duration is not None and container.duration > 0:
            meta.duration = round(container.duration / 1_000_000, 3)
        meta.raw["bit_rate"] = container.bit_rate
        streams: list[dict[str, Any]] = []
        for stream in container.streams:
            info: dict[str, Any] = {
                "index": stream.index,
                "type": stream.type,
                "codec": stream.codec_context.name if stream.codec_context else None,
                "metadata": {str(k): json_safe(v) for k, v in stream.metadata.items()},
            }
            cc: Any = stream.codec_context
            if stream.type == "video":
                info |= {"width": cc.width, "height": cc.height, "profile": cc.profile}
                rate = stream.average_rate or stream.guessed_rate
                info["frame_rate"] = float(rate) if rate else None
                if meta.video_codec is None:
                    meta.video_codec = info["codec"]
                    meta.width, meta.height = cc.width, cc.height
                    meta.rotation = _stream_rotation(container, stream)
            elif stream.type == "audio":
                info |= {"sample_rate": cc.sample_rate, "channels": cc.channels}
                if meta.audio_codec is None:
                    meta.audio_codec = info["codec"]
            streams.append(info)
        meta.raw["streams"] = streams
    if meta.video_codec is None:
        meta.kind = "audio" if meta.audio_codec else "unknown"
    lowered = {k.lower(): v for k, v in tags.items()}
    meta.encoder = _clean(lowered.get("encoder"))
    meta.software = _clean(lowered.get("com.apple.quicktime.software") or lowered.get("software"))
    meta.camera_make = _clean(lowered.get("com.apple.quicktime.make") or lowered.get("make"))
    meta.camera_model = _clean(lowered.get("com.apple.quicktime.model") or lowered.get("model"))
    created = lowered.get("com.apple.quicktime.creationdate") or lowered.get("creation_time") or lowered.get("date")
    meta.captured_at_claimed = _clean(created)
    location = lowered.get("com.apple.quicktime.location.iso6709") or lowered.get("location")
    if isinstance(location, str) and (m := ISO6709.match(location)):
        lat, lon = float(m.group(1)), float(m.group(2))
        if abs(lat) <= 90 and abs(lon) <= 180:
            meta.gps_lat, meta.gps_lon = lat, lon
            meta.gps_alt = float(m.group(3)) if m.group(3) else None
    return meta


def _stream_rotation(container: Any, stream: Any) -> int | None:
    """Degrees a player turns the picture (the display matrix), as 0/90/180/270.

    FFmpeg exposes the display matrix on decoded frames, so this decodes the
    first frame; a stream that cannot give one has no known rotation.
    """
    try:
        for frame in container.decode(stream):
            return round(-float(frame.rotation)) % 360
    except (av.FFmpegError, ValueError, OSError):
        return None
    return None


# -- C2PA ------------------------------------------------------------------------------------


def read_c2pa(path: Path, media_type: str) -> dict[str, Any] | None:
    """C2PA content credentials, validated by the C2PA SDK; None when the file carries none.

    The state is the SDK's: ``Invalid`` (a signature or hash does not check:
    the file was altered after signing, or the manifest is forged), ``Valid``
    (it checks, but the signer is not on a trust list this tool has; with no
    network that is the usual answer) or ``Trusted``.
    """
    import c2pa

    try:
        with open(path, "rb") as fh:
            reader = c2pa.Reader.try_create(media_type, fh)
            if reader is None:
                return None
            with reader:
                state = reader.get_validation_state()
                results = reader.get_validation_results()
                active = reader.get_active_manifest() or {}
    except c2pa.C2paError as exc:
        message = str(exc)
        if "ManifestNotFound" in message or "no JUMBF" in message or "NotSupported" in message:
            return None
        return {"state": "Unreadable", "errors": [message[:500]]}
    except (OSError, ValueError) as exc:
        return {"state": "Unreadable", "errors": [str(exc)[:500]]}
    signature = active.get("signature_info") or {}
    failures = []
    for group in (results or {}).get("activeManifest", {}).get("failure", []) or []:
        failures.append(f"{group.get('code')}: {group.get('explanation', '')}"[:300])
    summary: dict[str, Any] = json_safe(
        {
            "state": state or "Unknown",
            "claim_generator": active.get("claim_generator")
            or (active.get("claim_generator_info") or [{}])[0].get("name"),
            "title": active.get("title"),
            "signed_by": signature.get("issuer") or signature.get("common_name"),
            "signed_at": signature.get("time"),
            "failures": failures,
            "assertions": [a.get("label") for a in active.get("assertions", []) if isinstance(a, dict)],
        }
    )
    return summary
