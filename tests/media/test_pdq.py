"""PDQ hashes of images: near-duplicates found, unrelated pictures kept apart, hostile files refused cleanly.

Matching two pictures here is what the case's near-duplicate index does: the
query's rotation/flip and crop hashes against the other picture's main and
crop hashes, only over the pairs ``pair_allowed`` permits, both hashes of
quality 50 or more, at most ``MATCH_DISTANCE`` bits apart.
"""

from __future__ import annotations

import io
import json
import re
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pdqhash
import pytest
from PIL import Image

from factfinder.media import pdq
from factfinder.media.pdq import MATCH_DISTANCE, ImageDecodeError, ImageHashes, distance, hash_image, match_distance

EDITS = (
    "blur-a-little.jpg",
    "blur-a-lot.jpg",
    "high-contrast.jpg",
    "high-saturation.jpg",
    "sharpen-a-little.jpg",
    "sharpen-a-lot.jpg",
    "shrink-a-little.jpg",
    "shrink-a-lot.jpg",
    "square-128x128.jpg",
    "square-256x256.jpg",
    "square-512x512.jpg",
)
# Each file in pdq/dihedral, and the rotation/flip hash of it that turns it back into the original.
TURNED = {
    "bridge-2-rotate-90.jpg": "rot270",
    "bridge-3-rotate-180.jpg": "rot180",
    "bridge-4-rotate-270.jpg": "rot90",
    "bridge-5-flipx.jpg": "flipx",
    "bridge-6-flipy.jpg": "flipy",
    "bridge-7-flip-plus-1.jpg": "transpose",
    "bridge-8-flip-minus-1.jpg": "transverse",
}
# Photographs that ship inside scikit-image (no download), none a copy of another or of the bridge.
SKIMAGE_PHOTOS = (
    "astronaut",
    "brick",
    "camera",
    "cat",
    "cell",
    "coffee",
    "coins",
    "grass",
    "gravel",
    "hubble_deep_field",
    "immunohistochemistry",
    "moon",
    "page",
    "retina",
    "rocket",
    "text",
)


def matches(query: ImageHashes, indexed: ImageHashes) -> bool:
    d = match_distance(query, indexed)
    return d is not None and d <= MATCH_DISTANCE


def main_distance(a: ImageHashes, b: ImageHashes) -> int:
    return distance(a.main.hash, b.main.hash)


def hash_of(img: Image.Image, fmt: str = "PNG", **save: object) -> ImageHashes:
    """Hash a picture as it would arrive: encoded in a file, through ``hash_image``."""
    buf = io.BytesIO()
    img.save(buf, fmt, **save)
    buf.seek(0)
    return hash_image(buf)


@pytest.fixture(scope="module")
def original_path(testdata: Path) -> Path:
    return testdata / "pdq" / "bridge-mods" / "aaa-orig.jpg"


@pytest.fixture(scope="module")
def original(original_path: Path) -> ImageHashes:
    return hash_image(original_path)


@pytest.fixture(scope="module")
def small_rgb(original_path: Path) -> Image.Image:
    """The bridge photo at 400 pixels wide, for pictures made in the tests."""
    with Image.open(original_path) as img:
        small = img.convert("RGB")
    small.thumbnail((400, 400))
    return small


# --- near-duplicates ---------------------------------------------------------------------------------------------


def test_hashes_have_the_documented_shape(original: ImageHashes) -> None:
    assert (original.width, original.height) == (1600, 1004)
    assert original.main.usable and len(original.main.hash) == pdq.HASH_BYTES
    assert set(original.dihedral) == set(pdq.DIHEDRAL)
    assert original.dihedral["original"] == original.main.hash
    assert set(original.crops) == {"crop05", "crop10", "crop20"}
    assert set(original.strips) == set(pdq.STRIPS)
    assert original.unboxed is None, "the bridge photo has no bars"
    assert [name for name, _ in original.index_hashes()] == ["main", "crop05", "crop10", "crop20", *pdq.STRIPS]
    assert len(original.query_hashes()) == 8 + 3 + 2 + len(pdq.TILTS)
    assert all(len(h) == pdq.HASH_BYTES for _, h in original.query_hashes())
    assert original.warnings == []


@pytest.mark.parametrize("name", EDITS)
def test_every_edited_copy_matches_the_original(testdata: Path, original: ImageHashes, name: str) -> None:
    copy = hash_image(testdata / "pdq" / "bridge-mods" / name)
    assert copy.main.usable
    assert main_distance(copy, original) <= MATCH_DISTANCE
    assert matches(copy, original) and matches(original, copy)


def test_the_dihedral_original_matches_main_to_main(testdata: Path, original: ImageHashes) -> None:
    same = hash_image(testdata / "pdq" / "dihedral" / "bridge-1-original.jpg")
    assert main_distance(same, original) <= MATCH_DISTANCE


@pytest.mark.parametrize("name", sorted(TURNED))
def test_rotated_and_flipped_copies_match_only_through_the_dihedral_hashes(
    testdata: Path, original: ImageHashes, name: str
) -> None:
    turned = hash_image(testdata / "pdq" / "dihedral" / name)
    assert main_distance(turned, original) > MATCH_DISTANCE  # the plain hash alone misses it
    assert matches(turned, original) and matches(original, turned)
    # and it is the hash named for the inverse transformation that finds it
    assert distance(turned.dihedral[TURNED[name]], original.main.hash) <= MATCH_DISTANCE


def test_scaled_hash_agrees_with_the_reference_on_the_full_picture(original_path: Path, original: ImageHashes) -> None:
    with Image.open(original_path) as img:
        full = np.asarray(img.convert("RGB"))
    bits, quality = pdqhash.compute(full)
    assert abs(int(quality) - original.main.quality) <= 5
    assert distance(pdq.bits_to_bytes(bits), original.main.hash) <= 10  # scaling to 512 costs a few bits at most


def test_unrelated_photographs_never_match(original: ImageHashes) -> None:
    skdata = pytest.importorskip("skimage.data")
    pictures = {"bridge": original}
    for name in SKIMAGE_PHOTOS:
        pictures[name] = hash_of(Image.fromarray(getattr(skdata, name)()).convert("RGB"), compress_level=1)
    pictures["motorcycle"] = hash_of(Image.fromarray(skdata.stereo_motorcycle()[0]), compress_level=1)
    assert all(h.main.usable for h in pictures.values())  # else "no match" would prove nothing
    false_matches = [
        (a, b, match_distance(pictures[a], pictures[b]))
        for a in pictures
        for b in pictures
        if a != b and matches(pictures[a], pictures[b])
    ]
    assert false_matches == []
    assert len(pictures) * (len(pictures) - 1) == 17 * 18


# --- EXIF orientation ---------------------------------------------------------------------------------------------

# EXIF Orientation value -> how a camera stores the upright picture's pixels under it (the viewer undoes it).
STORED_AS = {
    3: Image.Transpose.ROTATE_180,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,  # turned a quarter anticlockwise; "rotate 90 clockwise to view"
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


@pytest.mark.parametrize("orientation", sorted(STORED_AS))
def test_exif_orientation_is_applied_before_hashing(
    original_path: Path, original: ImageHashes, tmp_path: Path, orientation: int
) -> None:
    with Image.open(original_path) as img:
        stored = img.convert("RGB").transpose(STORED_AS[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    tagged, untagged = tmp_path / "tagged.jpg", tmp_path / "untagged.jpg"
    stored.save(tagged, "JPEG", quality=90, exif=exif)
    stored.save(untagged, "JPEG", quality=90)

    upright = hash_image(tagged)
    assert (upright.width, upright.height) == (1600, 1004)
    assert main_distance(upright, original) <= 16
    sideways = hash_image(untagged)
    assert main_distance(sideways, original) > MATCH_DISTANCE  # so it was the tag that turned it


# --- crops ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fraction", [0.05, 0.10, 0.20])
def test_centre_crop_matches_through_the_crop_hashes(
    original_path: Path, original: ImageHashes, fraction: float
) -> None:
    with Image.open(original_path) as img:
        w, h = img.size
        dx, dy = round(w * fraction), round(h * fraction)
        cropped = hash_of(img.convert("RGB").crop((dx, dy, w - dx, h - dy)), "JPEG", quality=90)
    assert main_distance(cropped, original) > MATCH_DISTANCE  # the whole-picture hashes miss it
    assert matches(cropped, original)  # the crop posted later finds the indexed original
    assert matches(original, cropped)  # the original posted later finds the indexed crop


# --- hostile and unusual files ------------------------------------------------------------------------------------


def test_letterboxed_copy_matches_through_the_picture_inside_its_bars(small_rgb: Image.Image) -> None:
    w, h = small_rgb.size
    framed = Image.new("RGB", (w, h + h // 3), (0, 0, 0))
    framed.paste(small_rgb, (0, h // 6))
    copy = hash_of(framed, "JPEG", quality=90)
    source = hash_of(small_rgb)
    assert copy.content_box is not None and copy.unboxed is not None
    assert main_distance(copy, source) > MATCH_DISTANCE, "the bars alone break a plain match"
    assert matches(copy, source) and matches(source, copy), "both ways, through the hash inside the bars"


def test_copy_turned_two_degrees_matches_through_the_tilted_queries(small_rgb: Image.Image) -> None:
    turned = small_rgb.rotate(2, Image.Resampling.BICUBIC, fillcolor=(0, 0, 0))
    copy = hash_of(turned, "JPEG", quality=90)
    source = hash_of(small_rgb)
    assert main_distance(copy, source) > MATCH_DISTANCE, "two degrees alone break a plain PDQ match"
    assert matches(copy, source) and matches(source, copy)


def test_banner_over_the_bottom_matches_through_the_strip_hashes(small_rgb: Image.Image) -> None:
    from PIL import ImageDraw

    w, h = small_rgb.size
    bannered = small_rgb.copy()
    draw = ImageDraw.Draw(bannered)
    draw.rectangle((0, h - h * 15 // 100, w, h), fill=(200, 0, 0))
    draw.text((10, h - h * 12 // 100), "BREAKING: Zhanaozen", fill=(255, 255, 255))
    copy = hash_of(bannered, "JPEG", quality=85)
    source = hash_of(small_rgb)
    assert main_distance(copy, source) > MATCH_DISTANCE, "the banner alone breaks a plain match"
    assert matches(copy, source) and matches(source, copy)


@pytest.mark.parametrize("as_path", [True, False], ids=["path", "file-object"])
def test_truncated_jpeg_is_hashed_as_far_as_it_goes_and_says_so(
    original_path: Path, tmp_path: Path, as_path: bool
) -> None:
    data = original_path.read_bytes()
    head = data[: len(data) * 6 // 10]
    src: Path | io.BytesIO
    if as_path:
        src = tmp_path / "truncated.jpg"
        src.write_bytes(head)
    else:
        src = io.BytesIO(head)
    hashes = hash_image(src)
    assert (hashes.width, hashes.height) == (1600, 1004)
    assert len(hashes.main.hash) == pdq.HASH_BYTES
    assert len(hashes.warnings) == 1 and "truncated" in hashes.warnings[0]


def _png_declaring(width: int, height: int) -> bytes:
    """A real 8x8 PNG whose header (IHDR, with its CRC fixed) declares another size."""
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (90, 120, 150)).save(buf, "PNG")
    png = bytearray(buf.getvalue())
    assert png[12:16] == b"IHDR"
    png[16:24] = struct.pack(">II", width, height)
    png[29:33] = struct.pack(">I", zlib.crc32(bytes(png[12:29])))
    return bytes(png)


def _jpeg_declaring(width: int, height: int) -> bytes:
    """A real 8x8 baseline JPEG whose frame header (SOF0) declares another size."""
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (90, 120, 150)).save(buf, "JPEG")
    jpeg = bytearray(buf.getvalue())
    sof = jpeg.index(b"\xff\xc0")
    jpeg[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(jpeg)


# Runs in a child process limited to 2 GiB of address space, so that if the guard ever breaks the test
# fails with a MemoryError instead of taking the machine's memory down with it.
_GIANT_CHILD = """
import io, json, resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
from factfinder.media.pdq import hash_image
results = []
for path in sys.argv[1:]:
    data = open(path, "rb").read()
    start = time.perf_counter()
    try:
        hash_image(io.BytesIO(data))
        results.append({"error": None})
    except BaseException as exc:
        results.append({"error": type(exc).__name__, "message": str(exc)})
    results[-1]["seconds"] = time.perf_counter() - start
print(json.dumps(results))
"""


def test_pictures_declaring_a_giant_size_are_refused_without_decoding(tmp_path: Path) -> None:
    giants = {"png": _png_declaring(100_000, 100_000), "jpeg": _jpeg_declaring(65_000, 65_000)}
    paths = []
    for kind, data in giants.items():
        with pytest.MonkeyPatch.context() as mp:  # the patched header really is read as the giant size
            mp.setattr(Image, "MAX_IMAGE_PIXELS", None)
            with Image.open(io.BytesIO(data)) as probe:
                assert min(probe.size) >= 65_000
        paths.append(tmp_path / f"giant.{kind}")
        paths[-1].write_bytes(data)
    child = subprocess.run(
        [sys.executable, "-c", _GIANT_CHILD, *map(str, paths)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        timeout=60,
    )
    assert child.returncode == 0, child.stderr
    for kind, result in zip(giants, json.loads(child.stdout), strict=True):
        assert result["error"] == "ImageDecodeError", (kind, result)
        assert re.search("decompression bomb|more than this tool decodes", result["message"]), (kind, result)
        assert result["seconds"] < 1.0, (kind, result)


def test_108_megapixel_phone_photo_is_hashed_not_refused() -> None:
    # Phones shoot 108 MP (12000x9000) and 200 MP; a JPEG is decoded at 1/8 scale, so this costs little memory.
    hashes = hash_image(io.BytesIO(_jpeg_declaring(12_000, 9_000)))
    assert (hashes.width, hashes.height) == (12_000, 9_000)


@pytest.mark.parametrize("content", [b"", b"Witness statement, typed on a phone.\n"], ids=["empty", "text"])
def test_file_that_is_not_a_picture_is_refused_plainly(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(content)
    with pytest.raises(ImageDecodeError, match="not a picture") as caught:
        hash_image(path)
    assert "Traceback" not in str(caught.value)


def _on_white(rgba: np.ndarray) -> Image.Image:
    alpha = rgba[..., 3:4].astype(np.float64) / 255
    return Image.fromarray((rgba[..., :3] * alpha + 255 * (1 - alpha)).round().astype(np.uint8))


def test_transparent_png_is_flattened_onto_white(small_rgb: Image.Image) -> None:
    rgba = np.asarray(small_rgb.convert("RGBA")).copy()
    h, w = rgba.shape[:2]
    rgba[h // 4 : h * 3 // 4, w // 4 : w // 2] = (0, 0, 0, 0)  # a transparent hole, black underneath
    # (a hole, not a full-height band: PDQ leaves out the DCT's zero-frequency row and column,
    # so a band that is flat from top to bottom changes no bit whatever its colour)
    hashes = hash_of(Image.fromarray(rgba))
    assert hashes.main.usable
    assert main_distance(hashes, hash_of(_on_white(rgba))) <= 2  # as a viewer shows it
    assert main_distance(hashes, hash_of(Image.fromarray(rgba[..., :3]))) >= 20  # not what hides under it (30 apart)


def test_gif_with_a_transparent_colour_hashes_like_the_picture(small_rgb: Image.Image) -> None:
    paletted = small_rgb.quantize(255)
    pixels = np.asarray(paletted).copy()
    h, w = pixels.shape
    pixels[h // 4 : h * 3 // 4, w // 4 : w // 2] = 255  # a hole in the transparent colour (black in the palette)
    gif = Image.fromarray(pixels, "P")
    gif.putpalette(paletted.getpalette() or [])
    hashes = hash_of(gif, "GIF", transparency=255)
    rgba = np.asarray(small_rgb.convert("RGBA")).copy()
    rgba[h // 4 : h * 3 // 4, w // 4 : w // 2] = (0, 0, 0, 0)
    assert hashes.main.usable
    assert main_distance(hashes, hash_of(_on_white(rgba))) <= 8  # 256 colours cost a few bits at most
    assert main_distance(hashes, hash_of(Image.fromarray(rgba[..., :3]))) >= 20  # not the palette's black


def test_16_bit_greyscale_png_hashes_like_its_8_bit_self(small_rgb: Image.Image) -> None:
    grey8 = np.asarray(small_rgb.convert("L"))
    grey16 = Image.fromarray(grey8.astype(np.uint16) * 257)  # full 16-bit range
    hashes = hash_of(grey16)
    assert hashes.main.usable
    assert main_distance(hashes, hash_of(Image.fromarray(grey8))) <= 2


def test_cmyk_jpeg_hashes_like_the_rgb_picture(small_rgb: Image.Image) -> None:
    hashes = hash_of(small_rgb.convert("CMYK"), "JPEG", quality=95)
    assert hashes.main.usable
    assert main_distance(hashes, hash_of(small_rgb)) <= 8  # an inverted (negative) decode would be ~256 - d apart
