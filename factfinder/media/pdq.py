"""PDQ perceptual hashes of images (Meta's PDQ, via the ``pdqhash`` package).

PDQ turns a picture into 256 bits and a quality score from 0 to 100. Two
pictures whose hashes differ in at most 31 bits (Hamming distance) are the same
picture for PDQ's documented purposes, even after re-encoding, resizing, mild
blur or colour changes. Hashes of quality under 50 come from nearly featureless
pictures (a black frame, a flat sky) and match too much: they are stored but
never used to link items.

What this module adds to the bare hash, and why:

- The picture is turned upright first (EXIF orientation), because phones store
  a portrait photo sideways and say so only in the metadata.
- Large JPEGs are decoded at reduced size (libjpeg's DCT scaling) and every
  picture is brought to at most 512 pixels a side, then averaged down to PDQ's
  64 x 64 working size before hashing. For photographs the hash moves by 4-16
  bits from a hash of the full-size picture (fine textures such as brick or
  grass can move more), and hashing costs milliseconds instead of a hundred.
- The hashes of the 8 rotations and flips (the dihedral group) let a query find
  a copy that was turned or mirrored.
- Centre crops (5, 10 and 20 percent off each side) let an uncropped original
  and a cropped repost find each other, which a global hash alone does not.
- A picture inside letterbox or pillarbox bars gets a hash of what is inside
  them too, so a repost framed in black bars finds its source.
- Hashes of the picture without its top fifth and without its bottom fifth
  let a repost with a news banner or caption laid over it find its source.
- A query also looks for the picture turned by 1.5 and 3 degrees either way
  (cropped so the turned corners fall away), for copies filmed off a screen
  or scanned askew; PDQ itself tolerates well under a degree.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pdqhash
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from factfinder.media.borders import find_content_box

HASH_BYTES = 32
MATCH_DISTANCE = 31
"""PDQ's documented threshold: hashes at most this many bits apart are the same picture."""
MIN_QUALITY = 50
"""Hashes below this quality come from nearly featureless pictures and are not used to link items."""
HASH_SIDE = 512
"""Pictures are scaled to fit this square before hashing, as PDQ's reference hasher does."""
MAX_PIXELS = 250_000_000
"""Refuse to decode more pixels than this (a decompression bomb declares billions; a big phone photo 200 million)."""
PDQ_SIDE = 64
Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow's own guard (89.5 MP by default) would refuse 108 MP phone photos

DIHEDRAL = ("original", "rot90", "rot180", "rot270", "flipx", "flipy", "transpose", "transverse")
"""The names of ``pdqhash.compute_dihedral``'s eight hashes, in its order.

As in ThreatExchange's test files, ``flipx`` is upside down (mirrored across
the x axis) and ``flipy`` is a left-right mirror."""
CROPS = (0.05, 0.10, 0.20)
"""Fractions cut from each side for the centre-crop variants."""
STRIPS = {"top80": (0.0, 0.8), "bottom80": (0.2, 1.0)}
"""The picture without its bottom or top fifth: a banner or caption laid over that fifth leaves the rest to match."""
TILTS = (-3.0, -1.5, 1.5, 3.0)
"""Degrees a query is turned back by, to find a copy filmed or scanned slightly askew (query-side only)."""
TILT_CROP = "crop05"
"""A tilted query is compared with this crop of the other picture: the turned corners fall outside it."""
UNBOXED = "unboxed"
"""The variant name of the hash of a picture inside its letterbox or pillarbox bars."""


class ImageDecodeError(Exception):
    """The file could not be decoded as a picture at all; the message says why in plain words."""


@dataclass(frozen=True)
class PdqHash:
    hash: bytes
    quality: int

    @property
    def hex(self) -> str:
        return self.hash.hex()

    @property
    def usable(self) -> bool:
        """Good enough to link items (quality 50 or more)."""
        return self.quality >= MIN_QUALITY


@dataclass
class ImageHashes:
    """Every hash of one picture, plus what decoding it found out."""

    width: int
    height: int
    main: PdqHash
    dihedral: dict[str, bytes]
    crops: dict[str, PdqHash]
    warnings: list[str] = field(default_factory=list)
    strips: dict[str, PdqHash] = field(default_factory=dict)
    """The picture without a strip at its top or its bottom (where banners and captions go)."""
    tilts: dict[str, PdqHash] = field(default_factory=dict)
    """The picture turned by a few degrees and cropped like ``TILT_CROP`` (for queries only)."""
    unboxed: PdqHash | None = None
    """The picture inside letterbox or pillarbox bars, when it has them."""
    content_box: tuple[int, int, int, int] | None = None

    def index_hashes(self) -> list[tuple[str, PdqHash]]:
        """What goes into the case's index: the picture, its centre crops and strips, inside its bars."""
        extra = [(UNBOXED, self.unboxed)] if self.unboxed else []
        return [("main", self.main), *self.crops.items(), *self.strips.items(), *extra]

    def quality_of(self, variant: str) -> int:
        """The quality of one of this picture's hashes (a rotation or flip has the picture's own)."""
        if variant in self.crops:
            return self.crops[variant].quality
        if variant in self.strips:
            return self.strips[variant].quality
        if variant in self.tilts:
            return self.tilts[variant].quality
        if variant == UNBOXED and self.unboxed is not None:
            return self.unboxed.quality
        return self.main.quality

    def query_hashes(self) -> list[tuple[str, bytes]]:
        """What a query looks for: every rotation or flip of the picture, its crops and strips, inside its bars."""
        extra = [(UNBOXED, self.unboxed.hash)] if self.unboxed else []
        parts = (*self.crops.items(), *self.strips.items(), *self.tilts.items())
        return [*self.dihedral.items(), *((name, h.hash) for name, h in parts), *extra]


def bits_to_bytes(bits: np.ndarray) -> bytes:
    """``pdqhash`` gives 256 bits as an array; we store 32 bytes, first bit most significant."""
    return np.packbits(bits.astype(np.uint8)).tobytes()


def distance(a: bytes, b: bytes) -> int:
    """Hamming distance between two hashes of the same length."""
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_count()


def hash_rgb(rgb: np.ndarray) -> PdqHash:
    """PDQ of an RGB array (height x width x 3, uint8)."""
    bits, quality = pdqhash.compute(np.ascontiguousarray(rgb))
    return PdqHash(bits_to_bytes(bits), int(quality))


def dihedral_hashes(rgb: np.ndarray) -> tuple[dict[str, bytes], int]:
    """The 8 rotation/flip hashes (one DCT, so barely dearer than one hash) and their quality."""
    all_bits, quality = pdqhash.compute_dihedral(np.ascontiguousarray(rgb))
    return {name: bits_to_bytes(bits) for name, bits in zip(DIHEDRAL, all_bits, strict=True)}, int(quality)


def centre_crop(rgb: np.ndarray, fraction: float) -> np.ndarray:
    h, w = rgb.shape[:2]
    dy, dx = round(h * fraction), round(w * fraction)
    return rgb[dy : h - dy or h, dx : w - dx or w]


@contextmanager
def truncated_allowed() -> Iterator[None]:
    """Let Pillow decode a cut-short file as far as its data goes (the rest grey), for the duration."""
    old = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = True
    try:
        yield
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = old


def open_upright(source: Path | BinaryIO, *, side: int = HASH_SIDE) -> tuple[Image.Image, tuple[int, int], list[str]]:
    """Decode a picture, turned upright and no larger than needed for ``side``.

    Returns the RGB image, the picture's own size (upright) and warnings.
    A truncated file is decoded as far as its data goes (the rest grey) and
    says so in the warnings; a file that is not a picture, or declares more
    than ``MAX_PIXELS``, raises ``ImageDecodeError``.
    """
    notes: list[str] = []
    try:
        img: Image.Image = Image.open(source)
        width, height = img.size
        if width * height > MAX_PIXELS:
            raise ImageDecodeError(
                f"refused as a decompression bomb: declares {width}x{height} pixels, more than this tool decodes"
            )
        if img.format == "JPEG":
            img.draft("RGB", (side, side))
        try:
            img.load()
        except OSError as exc:
            if "truncated" not in str(exc) and "broken data stream" not in str(exc):
                raise
            notes.append(f"truncated picture, decoded as far as its data goes ({exc})")
            img = Image.open(source) if isinstance(source, Path) else _reopen(source)
            if img.format == "JPEG":
                img.draft("RGB", (side, side))
            with truncated_allowed():
                img.load()
        orientation = img.getexif().get(0x0112, 1)
        img = ImageOps.exif_transpose(img) or img
        if orientation in (5, 6, 7, 8):
            width, height = height, width
        if img.mode != "RGB":
            img = _to_rgb(img)
        if max(img.size) > side:
            img.thumbnail((side, side), Image.Resampling.BILINEAR)
    except ImageDecodeError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageDecodeError(f"refused as a decompression bomb: {exc}") from None
    except UnidentifiedImageError:
        if _is_empty(source):
            raise ImageDecodeError("empty file (zero bytes): not a picture") from None
        raise ImageDecodeError("not a picture this tool can decode") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageDecodeError(f"picture data is damaged: {exc}") from None
    return img, (width, height), notes


def _is_empty(source: Path | BinaryIO) -> bool:
    if isinstance(source, Path):
        return source.stat().st_size == 0
    source.seek(0, 2)
    return source.tell() == 0


def _reopen(source: BinaryIO) -> Image.Image:
    source.seek(0)
    return Image.open(source)


def _to_rgb(img: Image.Image) -> Image.Image:
    """Flatten transparency onto white (how a viewer shows it) and convert any mode to RGB."""
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        img = img.point(lambda v: v / 256).convert("L")
    return img.convert("RGB")


def hash_picture(
    img: Image.Image, *, size: tuple[int, int] | None = None, notes: list[str] | None = None
) -> ImageHashes:
    """All hashes of an upright RGB picture already scaled for hashing.

    Each hash is computed on the picture (or crop) averaged down to 64 x 64,
    PDQ's own working size: pdqhash's downsampling from other sizes is not
    symmetric, which cost mirror images and half-size copies their match
    (robustness benchmark: flips 83 % -> 100 %, resize 0.5 88 % -> 100 %, no
    false matches either way), and hashing gets three times faster.
    """
    rgb = np.asarray(img)
    dihedral, quality = dihedral_hashes(_pdq_size(rgb))
    main = PdqHash(dihedral["original"], quality)
    crops = {f"crop{int(f * 100):02d}": hash_rgb(_pdq_size(centre_crop(rgb, f))) for f in CROPS}
    height = rgb.shape[0]
    strips = {
        name: hash_rgb(_pdq_size(rgb[round(top * height) : round(bottom * height)]))
        for name, (top, bottom) in STRIPS.items()
    }
    # Turned at 2 x PDQ's working size: a 512-pixel rotation costs ~7 ms, this one a few hundred microseconds.
    small = img.copy()
    small.thumbnail((2 * PDQ_SIDE, 2 * PDQ_SIDE), Image.Resampling.BOX)
    tilts = {
        f"tilt{angle:+.1f}": hash_rgb(
            _pdq_size(centre_crop(np.asarray(small.rotate(angle, Image.Resampling.BILINEAR)), CROPS[0]))
        )
        for angle in TILTS
    }
    box = find_content_box([np.asarray(img.convert("L"))])
    unboxed = None
    if box is not None:
        x, y, bw, bh = box
        unboxed = hash_rgb(_pdq_size(rgb[y : y + bh, x : x + bw]))
    w, h = size or img.size
    return ImageHashes(
        width=w,
        height=h,
        main=main,
        dihedral=dihedral,
        crops=crops,
        warnings=list(notes or []),
        strips=strips,
        tilts=tilts,
        unboxed=unboxed,
        content_box=box,
    )


def _pdq_size(rgb: np.ndarray) -> np.ndarray:
    """Average a picture down to PDQ's 64 x 64 working size (box filter)."""
    small = Image.fromarray(np.ascontiguousarray(rgb)).resize((PDQ_SIDE, PDQ_SIDE), Image.Resampling.BOX)
    return np.asarray(small)


def pair_allowed(query_variant: str, index_variant: str) -> bool:
    """Which (query, index) hash pairs may link two pictures.

    A rotation or flip of the query against the other picture itself; a crop
    (or the picture inside its bars) of either against the other whole. Crop
    against crop is left out: it adds comparisons (and so chance matches)
    without finding anything new. A strip (the picture without its top or
    bottom fifth) against the same strip of the other: that is how a banner
    laid over one of them is looked past. A query turned by a few degrees
    (and cropped) against the other's 5 % crop: a copy filmed askew.
    """
    if query_variant.startswith("tilt"):
        return index_variant == TILT_CROP
    if index_variant == "main":
        return True
    if index_variant in STRIPS:
        return query_variant in (index_variant, "original")
    return query_variant == "original"


def match_distance(query: ImageHashes, indexed: ImageHashes) -> int | None:
    """Smallest distance over the pairs allowed to link ``query`` to ``indexed``; None when no pair is usable.

    The rule the case's index applies (``pair_allowed``, both hashes of quality
    50 or more), for two pictures in hand.
    """
    best: int | None = None
    for q_name, q_hash in query.query_hashes():
        q_quality = query.quality_of(q_name)
        if q_quality < MIN_QUALITY:
            continue
        for i_name, i_hash in indexed.index_hashes():
            if pair_allowed(q_name, i_name) and i_hash.usable:
                d = distance(q_hash, i_hash.hash)
                best = d if best is None else min(best, d)
    return best


def hash_image(source: Path | BinaryIO) -> ImageHashes:
    """Every hash of a picture file; raises ``ImageDecodeError`` when it is not one."""
    img, size, notes = open_upright(source)
    return hash_picture(img, size=size, notes=notes)
