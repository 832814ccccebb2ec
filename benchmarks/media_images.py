"""Image hashing throughput on real photos: ms per image for ``hash_image``, against decode-only time (goal: <= 1.5x).

The photos: 200 JPEGs of 1 to 12 megapixels (``--quick``: 30), made once under the work folder and reused.
Each is a real photograph (the bridge of ../shared/testdata/pdq, or one of scikit-image's bundled photographs:
astronaut, brick, camera, cat, coffee, coins, grass, gravel, hubble_deep_field, immunohistochemistry, moon,
retina, rocket, stereo_motorcycle) scaled up (bicubic) to a size drawn from 1, 2, 3, 4, 5, 6, 8, 10, 12 MP in
a 4:3, 3:2, 16:9 or 1:1 frame, landscape or portrait, with sensor-like grain added (uniform +-5 levels per
channel; without it an upscaled picture compresses to a fraction of a camera JPEG's size and decodes faster than
one), saved at JPEG quality 70 to 95 (4:2:0). Every 4th is stored sideways with EXIF Orientation 6, as phones
store portrait photos.

Measured per image, one process, each pass over all the photos (page cache dropped before each when root):
  baseline  full decode: ``Image.open(path).load()`` at full size, the honest floor for "what decoding costs"
            (a viewer, a thumbnailer or a metadata tool that looks at the pixels pays at least this)
  reduced   ``draft("RGB", (512, 512))`` then ``load()``: the decode ``hash_image`` itself does (libjpeg's DCT
            scaling), for reference
  ours      ``hash_image(path)``: decode, turn upright, scale to 512, PDQ with its 8 rotations/flips, 3 crops
Then the throughput of full decode and of ``hash_image`` with 2 worker processes (pool started beforehand).

    .venv/bin/python benchmarks/media_images.py [--images 200] [--quick] [--json PATH] [--clean]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._common import DEFAULT_WORKDIR, REPO, Figure, Report, drop_caches, header
from factfinder.media import pdq

TESTDATA = Path(os.environ.get("FACTFINDER_TESTDATA", REPO.parent / "shared" / "testdata"))
SET_VERSION = 1  # change when the way photos are made changes, so that a cached set is remade
MEGAPIXELS = (1, 2, 3, 4, 5, 6, 8, 10, 12)
FRAMES = ((4, 3), (3, 2), (16, 9), (1, 1))
QUALITIES = (70, 80, 85, 90, 95)
SKIMAGE_PHOTOS = (
    "astronaut",
    "brick",
    "camera",
    "cat",
    "coffee",
    "coins",
    "grass",
    "gravel",
    "hubble_deep_field",
    "immunohistochemistry",
    "moon",
    "retina",
    "rocket",
    "stereo_motorcycle",
)
SOURCES = ("bridge", *SKIMAGE_PHOTOS)


# --- the photos ------------------------------------------------------------------------------------------------------


def _source(name: str) -> Image.Image:
    if name == "bridge":
        with Image.open(TESTDATA / "pdq" / "bridge-mods" / "aaa-orig.jpg") as img:
            return img.convert("RGB")
    from skimage import data

    a = data.stereo_motorcycle()[0] if name == "stereo_motorcycle" else getattr(data, name)()
    return Image.fromarray(a).convert("RGB")


@dataclass(frozen=True)
class PhotoSpec:
    """What one photo of the set is made from and how (deterministic, so the set can be cached)."""

    name: str
    source: str
    width: int
    height: int
    quality: int
    sideways: bool
    seed: int


def _plan(n: int) -> list[PhotoSpec]:
    plan = []
    for i in range(n):
        mp = MEGAPIXELS[i % len(MEGAPIXELS)]
        fw, fh = FRAMES[(i // len(MEGAPIXELS)) % len(FRAMES)]
        if i % 2:
            fw, fh = fh, fw  # portrait
        h = round((mp * 1_000_000 * fh / fw) ** 0.5)
        plan.append(
            PhotoSpec(
                name=f"photo-{i:04d}.jpg",
                source=SOURCES[i % len(SOURCES)],
                width=round(h * fw / fh),
                height=h,
                quality=QUALITIES[i % len(QUALITIES)],
                sideways=i % 4 == 3,
                seed=i,
            )
        )
    return plan


def _make(folder: str, spec: PhotoSpec) -> int:
    """Write one photo of the set; returns its size in bytes."""
    img = _source(spec.source).resize((spec.width, spec.height), Image.Resampling.BICUBIC)
    grain = np.random.default_rng(spec.seed).integers(-5, 6, size=(spec.height, spec.width, 3), dtype=np.int16)
    img = Image.fromarray(np.clip(np.asarray(img, dtype=np.int16) + grain, 0, 255).astype(np.uint8))
    del grain
    exif = Image.Exif()
    if spec.sideways:
        img = img.transpose(Image.Transpose.ROTATE_90)  # stored turned; Orientation 6 says "turn it back"
        exif[0x0112] = 6
    path = Path(folder) / spec.name
    img.save(path, "JPEG", quality=spec.quality, exif=exif)
    return path.stat().st_size


def photo_set(workdir: Path, n: int) -> list[Path]:
    """The photos, made in parallel the first time and reused while their plan is unchanged."""
    folder = workdir / f"media-images-{n}"
    manifest = folder / "manifest.json"
    plan = _plan(n)
    want = {"version": SET_VERSION, "plan": [asdict(spec) for spec in plan]}
    paths = [folder / spec.name for spec in plan]
    if manifest.is_file() and json.loads(manifest.read_text()) == want and all(p.is_file() for p in paths):
        return paths
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        sizes = list(pool.map(_make, [str(folder)] * n, plan))
    manifest.write_text(json.dumps(want))
    print(f"  made {n} photos ({sum(sizes) / 1e6:,.0f} MB) in {time.perf_counter() - t0:.0f} s under {folder}")
    return paths


# --- the work measured -------------------------------------------------------------------------------------------


def decode_full(path: Path) -> tuple[int, int]:
    with Image.open(path) as img:
        img.load()
        return img.size


def decode_reduced(path: Path) -> tuple[int, int]:
    with Image.open(path) as img:
        img.draft("RGB", (pdq.HASH_SIDE, pdq.HASH_SIDE))
        img.load()
        return img.size


def hash_one(path: Path) -> str:
    return pdq.hash_image(path).main.hex


def _noop(_: int) -> None:
    return None


def per_image(fn: Callable[[Path], object], paths: list[Path]) -> tuple[list[float], list[object]]:
    """Seconds ``fn(path)`` takes for each photo, one after the other, and what it returned."""
    times, results = [], []
    for path in paths:
        t0 = time.perf_counter()
        results.append(fn(path))
        times.append(time.perf_counter() - t0)
    return times, results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--images", type=int, default=200)
    p.add_argument("--workers", type=int, default=2, help="worker processes for the throughput figures")
    p.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    p.add_argument("--json", type=Path, help="also write the figures here (for run_all.py)")
    p.add_argument("--clean", action="store_true", help="delete the generated photos afterwards")
    p.add_argument("--quick", action="store_true", help="30 photos")
    args = p.parse_args(argv)
    if args.quick:
        args.images = 30
    report = Report("media_images")
    cold = drop_caches()
    header(f"image hashing: {args.images} JPEG photos of 1-12 MP", cold)
    paths = photo_set(args.workdir, args.images)
    megapixels = []
    for path in paths:
        with Image.open(path) as img:
            megapixels.append(img.width * img.height / 1e6)
    total_mb = sum(p.stat().st_size for p in paths) / 1e6
    print(f"  {len(paths)} photos, {sum(megapixels):,.0f} MP, {total_mb:,.0f} MB of JPEG")
    if not cold:
        per_image(lambda path: path.read_bytes(), paths)  # every pass then reads from a warm cache alike

    passes: dict[str, list[float]] = {}
    results: dict[str, list[object]] = {}
    measured: tuple[tuple[str, Callable[[Path], object]], ...] = (
        ("full", decode_full),
        ("reduced", decode_reduced),
        ("hash", hash_one),
    )
    for label, fn in measured:
        drop_caches()
        passes[label], results[label] = per_image(fn, paths)
    n = len(paths)
    names = {
        "full": "baseline: full decode (Pillow load), 1 process",
        "reduced": "reduced decode (draft to 512), 1 process",
        "hash": "hash_image (all hashes), 1 process",
    }
    for label, times in passes.items():
        total = sum(times)
        ms = 1000 * total / n
        p95 = 1000 * sorted(times)[int(0.95 * (n - 1))]
        report.add(Figure(names[label], total, n / total, "images/s", f"{ms:.1f} ms/image, p95 {p95:.1f} ms"))

    columns = f"{'photos':>8}{'full decode':>14}{'reduced':>10}{'hash_image':>12}{'ratio':>8}"
    print(f"  {'by size':<14}{columns}   (ms/image; ratio = hash_image / full decode)")
    for lo, hi in ((0, 2.5), (2.5, 5.5), (5.5, 9), (9, 13)):
        idx = [i for i, mp in enumerate(megapixels) if lo < mp <= hi]
        if idx:
            mean = {k: 1000 * sum(v[i] for i in idx) / len(idx) for k, v in passes.items()}
            row = f"{mean['full']:14.1f}{mean['reduced']:10.1f}{mean['hash']:12.1f}{mean['hash'] / mean['full']:7.2f}x"
            print(f"  {f'{lo:g}-{hi:g} MP':<14}{len(idx):>8}{row}")

    single = {k: sum(v) for k, v in passes.items()}
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        list(pool.map(_noop, range(4 * args.workers)))  # workers started and modules imported before timing
        list(pool.map(hash_one, paths[: 2 * args.workers]))
        drop_caches()
        t0 = time.perf_counter()
        list(pool.map(decode_full, paths, chunksize=2))
        full_pool = time.perf_counter() - t0
        drop_caches()
        t0 = time.perf_counter()
        pooled = list(pool.map(hash_one, paths, chunksize=2))
        hash_pool = time.perf_counter() - t0
    assert pooled == results["hash"], "the workers computed other hashes than one process did"
    w = args.workers
    report.add(Figure(f"baseline: full decode, {w} processes", full_pool, n / full_pool, "images/s"))
    report.add(Figure(f"hash_image, {w} processes", hash_pool, n / hash_pool, "images/s"))
    report.note(
        f"hash_image with {w} processes: {single['hash'] / hash_pool:.2f}x the images/s of one "
        f"(full decode: {single['full'] / full_pool:.2f}x)"
    )
    over_reduced = single["hash"] / single["reduced"]
    report.note(f"hash_image / reduced decode: {over_reduced:.2f}x (the hashing on top of its own decode)")
    report.ratio("hash_image / full decode, 1 process", single["hash"] / single["full"], 1.5)
    report.write(args.json)
    if args.clean:
        shutil.rmtree(args.workdir / f"media-images-{args.images}", ignore_errors=True)
    return 0 if all(report.goals.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
