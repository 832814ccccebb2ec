"""The offline base map: country borders for the maps of a case report, with no tile server and no network.

A case report may be read (and printed) where nothing outside can be reached, and a map served from a tile
server would tell that server which places the commission is looking at; so the borders ship with the install.
They come from Natural Earth (public domain) at 1:50m, as the npm package ``world-atlas`` ships them in TopoJSON
(``countries-50m.json``, pinned in ``package.json``). ``make`` runs ``npm ci`` and then::

    python -m factfinder.reports.basemap build [SRC]

which decodes the TopoJSON (``decode_topology``: quantized, delta-encoded arcs scaled by the topology's
transform; polygons and multipolygons; a negative arc index ``~i`` is arc ``i`` reversed), makes its spherical
rings flat (``planar``: cut at the antimeridian, Antarctica closed along the pole) and writes a plain
JSON file to ``<sys.prefix>/share/factfinder/basemap-V.json`` (or ``$FACTFINDER_BASEMAP``). Per country it
holds the name, the ISO 3166-1 numeric code (``null`` for the few Natural Earth areas without one: Kosovo,
Somaliland, N. Cyprus...), the bounding box, the rings (closed lists of ``[lon, lat]`` rounded to 3 decimals,
about 100 m, finer than the 1:50m data) and each ring's bounding box, so that a map of one town skips the rest
of the world without looking at its points. Rings are drawn with the even-odd rule, so a polygon's holes need
no marking (Lesotho in South Africa).

``load()`` reads the file once per process. When it is missing (or of an older version) it raises
``BasemapMissingError`` telling the user to run ``make``: it is never fetched.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import itertools
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

VERSION = 1
"""Version of the file format: a file of another version is not read (``make`` writes the current one)."""

ENV_PATH = "FACTFINDER_BASEMAP"
"""Environment variable naming the base map file, instead of the default under ``sys.prefix``."""

SOURCE = Path("node_modules") / "world-atlas" / "countries-50m.json"
"""Where ``npm ci`` puts the TopoJSON the base map is built from, relative to the folder of ``package.json``."""

DECIMALS = 3
"""Decimals kept of each longitude and latitude: 0.001 degree is about 110 m, below the 1:50m data's detail."""

BBox = tuple[float, float, float, float]
"""A bounding box as GeoJSON orders it: (west, south, east, north), in degrees."""


class BasemapMissingError(FileNotFoundError):
    """The base map file is not there (or is of another version): ``make`` builds it."""


class SourceMissingError(FileNotFoundError):
    """The world-atlas TopoJSON to build from is not there: ``npm ci`` (run by ``make``) installs it."""


class TopologyError(ValueError):
    """The TopoJSON is not what a world-atlas file looks like (no such object, an unknown geometry type)."""


@dataclass(frozen=True, slots=True)
class Ring:
    """One closed ring of a country's polygons, with its bounding box so that a map can skip it unread."""

    bbox: BBox
    coordinates: Sequence[Sequence[float]]
    """``[lon, lat]`` positions; the last repeats the first."""


@dataclass(frozen=True, slots=True)
class Country:
    """A country (or a Natural Earth area drawn as one) as the base map draws it."""

    name: str
    iso_numeric: str | None
    """ISO 3166-1 numeric code as Natural Earth writes it ("398", "004"); None where there is none."""
    bbox: BBox
    rings: tuple[Ring, ...]


@dataclass(frozen=True, slots=True)
class Basemap:
    """All the countries, and where they came from (for the report's credits)."""

    source: str
    countries: tuple[Country, ...]

    def country(self, name_or_code: str) -> Country | None:
        """The country of that Natural Earth name or ISO numeric code, if there is one."""
        for c in self.countries:
            if name_or_code in (c.name, c.iso_numeric):
                return c
        return None


# --------------------------------------------------------------------------------------------------- TopoJSON


def decode_arcs(topology: dict[str, Any]) -> list[list[tuple[float, float]]]:
    """The topology's arcs as absolute [lon, lat] positions.

    A quantized topology (one with a ``transform``) stores each arc as integer steps from the previous position,
    starting from 0, 0; the position is then ``step_sum * scale + translate``. Without a transform the arcs are
    positions already."""
    transform = topology.get("transform")
    arcs: list[list[tuple[float, float]]] = []
    if transform is None:
        for arc in topology["arcs"]:
            arcs.append([(float(p[0]), float(p[1])) for p in arc])
        return arcs
    sx, sy = (float(v) for v in transform["scale"])
    tx, ty = (float(v) for v in transform["translate"])
    for arc in topology["arcs"]:
        x = y = 0
        out: list[tuple[float, float]] = []
        for p in arc:
            x += p[0]
            y += p[1]
            out.append((x * sx + tx, y * sy + ty))
        arcs.append(out)
    return arcs


def ring_positions(indices: Sequence[int], arcs: Sequence[Sequence[tuple[float, float]]]) -> list[tuple[float, float]]:
    """The positions of one ring made of the arcs ``indices``: ``~i`` (a negative index) is arc ``i`` reversed.

    Consecutive arcs share their end and start position, which is kept once."""
    points: list[tuple[float, float]] = []
    for i in indices:
        arc = arcs[i] if i >= 0 else list(reversed(arcs[~i]))
        if points:
            points.pop()
        points.extend(arc)
    return points


def geometry_rings(
    geometry: dict[str, Any], arcs: Sequence[Sequence[tuple[float, float]]]
) -> list[list[tuple[float, float]]]:
    """Every ring of a Polygon or MultiPolygon geometry (outer rings and holes alike: drawn even-odd)."""
    kind = geometry.get("type")
    if kind == "Polygon":
        polygons = [geometry["arcs"]]
    elif kind == "MultiPolygon":
        polygons = geometry["arcs"]
    elif kind is None:  # a null geometry: nothing to draw
        return []
    else:
        raise TopologyError(f"cannot draw a {kind} geometry ({geometry.get('properties')})")
    return [ring_positions(ring, arcs) for polygon in polygons for ring in polygon]


def clip(
    points: Sequence[tuple[float, float]], xmin: float, ymin: float, xmax: float, ymax: float
) -> list[tuple[float, float]]:
    """The polygon ``points`` clipped to a box (Sutherland-Hodgman, one side at a time).

    Where a concave polygon leaves and re-enters the box, its pieces are joined along the box's side: the fill
    is right, and the joins lie on the side (the antimeridian, or just outside a map's canvas)."""
    out = list(points)
    for axis, limit, below in ((0, xmin, False), (0, xmax, True), (1, ymin, False), (1, ymax, True)):
        pts, out = out, []
        if not pts:
            break
        prev = pts[-1]
        prev_in = prev[axis] <= limit if below else prev[axis] >= limit
        for cur in pts:
            cur_in = cur[axis] <= limit if below else cur[axis] >= limit
            if cur_in != prev_in:
                t = (limit - prev[axis]) / (cur[axis] - prev[axis])
                other = prev[1 - axis] + t * (cur[1 - axis] - prev[1 - axis])
                out.append((limit, other) if axis == 0 else (other, limit))
            if cur_in:
                out.append(cur)
            prev, prev_in = cur, cur_in
    return out


def planar(ring: Sequence[tuple[float, float]]) -> list[list[tuple[float, float]]]:
    """A spherical ring as rings a flat map can fill: cut at the antimeridian, closed round the pole it circles.

    TopoJSON rings are spherical: a ring may step from 179.9 to -179.9 degrees (Chukotka, Fiji) or go once
    round a pole (Antarctica's coast). Longitudes are unwrapped so that no step is longer than 180 degrees; a
    ring that ends 360 degrees from where it began goes round a pole and is closed along it; what lies beyond
    +-180 is cut off and drawn again 360 degrees over."""
    if not ring:
        return []
    unwrapped: list[tuple[float, float]] = [ring[0]]
    offset = 0.0
    for (lon_a, _), (lon_b, lat_b) in itertools.pairwise(ring):
        if lon_b - lon_a > 180:
            offset -= 360
        elif lon_a - lon_b > 180:
            offset += 360
        unwrapped.append((lon_b + offset, lat_b))
    if offset:
        pole = -90.0 if sum(lat for _, lat in ring) < 0 else 90.0
        unwrapped += [(unwrapped[-1][0], pole), (unwrapped[0][0], pole)]
    west = min(lon for lon, _ in unwrapped)
    east = max(lon for lon, _ in unwrapped)
    if west >= -180 and east <= 180:
        return [unwrapped]
    pieces = []
    for shift in (-360.0, 0.0, 360.0):
        if west + shift < 180 and east + shift > -180:
            piece = clip([(lon + shift, lat) for lon, lat in unwrapped], -180.0, -90.0, 180.0, 90.0)
            if piece:
                pieces.append(piece)
    return pieces


def _rounded(ring: Sequence[tuple[float, float]]) -> list[list[float]]:
    """The ring rounded to ``DECIMALS``, without the repeats rounding makes, still closed."""
    out: list[list[float]] = []
    for lon, lat in ring:
        p = [round(lon, DECIMALS), round(lat, DECIMALS)]
        if not out or out[-1] != p:
            out.append(p)
    if out and out[0] != out[-1]:
        out.append(list(out[0]))
    return out


def _area(ring: Sequence[Sequence[float]]) -> float:
    """Twice the signed area of a closed ring (shoelace): 0 for a ring that is a line, which draws nothing."""
    return sum(a[0] * b[1] - b[0] * a[1] for a, b in itertools.pairwise(ring))


def _bbox(points: Sequence[Sequence[float]]) -> BBox:
    """The bounding box (west, south, east, north) of some positions."""
    lons = [p[0] for p in points]
    lats = [p[1] for p in points]
    return (min(lons), min(lats), max(lons), max(lats))


def decode_topology(topology: dict[str, Any], object_name: str = "countries") -> list[dict[str, Any]]:
    """The countries of a world-atlas topology as the base map file stores them (see the module's docstring)."""
    try:
        collection = topology["objects"][object_name]
    except KeyError:
        raise TopologyError(f"the topology has no object {object_name!r}") from None
    arcs = decode_arcs(topology)
    countries: list[dict[str, Any]] = []
    for geometry in collection.get("geometries", [collection]):
        pieces = (piece for ring in geometry_rings(geometry, arcs) for piece in planar(ring))
        rings = [r for r in map(_rounded, pieces) if len(r) >= 4 and _area(r)]
        if not rings:
            continue
        ring_bboxes = [_bbox(r) for r in rings]
        countries.append(
            {
                "name": (geometry.get("properties") or {}).get("name") or str(geometry.get("id", "")),
                "id": geometry.get("id"),
                "bbox": [
                    min(b[0] for b in ring_bboxes),
                    min(b[1] for b in ring_bboxes),
                    max(b[2] for b in ring_bboxes),
                    max(b[3] for b in ring_bboxes),
                ],
                "ring_bboxes": ring_bboxes,
                "rings": rings,
            }
        )
    countries.sort(key=lambda c: c["name"])
    return countries


# --------------------------------------------------------------------------------------------------- the file


def path() -> Path:
    """Where the base map lives: ``$FACTFINDER_BASEMAP``, else ``<sys.prefix>/share/factfinder/basemap-V.json``."""
    env = os.environ.get(ENV_PATH)
    if env:
        return Path(env)
    return Path(sys.prefix) / "share" / "factfinder" / f"basemap-{VERSION}.json"


def default_source() -> Path:
    """The world-atlas ``countries-50m.json`` under the current folder (or one above it, or the checkout's root).

    ``npm ci`` installs it next to ``package.json``, at the root of the checkout, where ``make`` runs."""
    here = Path.cwd().resolve()
    for folder in (here, *here.parents, Path(__file__).resolve().parents[2]):
        candidate = folder / SOURCE
        if candidate.is_file():
            return candidate
    raise SourceMissingError(
        f"{SOURCE} is not under {here} nor above it: run `npm ci` (or `make`) in the factfinder folder, "
        "or name the file: python -m factfinder.reports.basemap build PATH"
    )


def _describe_source(src: Path, data: bytes) -> str:
    """What the map was built from, for the report's credits: the package and its version when known."""
    package = src.parent / "package.json"
    label = src.name
    try:
        meta = json.loads(package.read_text(encoding="utf-8"))
        label = f"{meta['name']} {meta['version']} {src.name}"
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return f"Natural Earth 1:50m via {label} (sha256 {hashlib.sha256(data).hexdigest()[:16]})"


def build(src: Path | None = None, out: Path | None = None) -> Path:
    """Decode the TopoJSON ``src`` (default: ``default_source()``) into the base map file ``out`` (``path()``)."""
    src = src or default_source()
    if not src.is_file():
        raise SourceMissingError(f"{src} does not exist: run `npm ci` (or `make`) in the factfinder folder")
    data = src.read_bytes()
    document = {
        "format": "factfinder-basemap",
        "version": VERSION,
        "source": _describe_source(src, data),
        "countries": decode_topology(json.loads(data)),
    }
    target = out or path()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(document, separators=(",", ":"), ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, target)
    _load.cache_clear()
    return target


def _missing(where: Path, why: str) -> BasemapMissingError:
    return BasemapMissingError(
        f"the base map {where} {why}: run `make` in the factfinder folder "
        "(it runs `npm ci` and `python -m factfinder.reports.basemap build`)"
    )


def load(where: Path | None = None) -> Basemap:
    """The base map at ``where`` (default ``path()``), read once per process."""
    return _load(where or path())


@functools.cache
def _load(where: Path) -> Basemap:
    """``load``, cached by path (a test may build one elsewhere)."""
    try:
        with open(where, encoding="utf-8") as fh:
            document = json.load(fh)
    except FileNotFoundError:
        raise _missing(where, "is missing") from None
    if document.get("format") != "factfinder-basemap" or document.get("version") != VERSION:
        raise _missing(where, f"is not a version {VERSION} base map")
    countries = tuple(
        Country(
            name=c["name"],
            iso_numeric=c["id"],
            bbox=tuple(c["bbox"]),
            rings=tuple(Ring(bbox=tuple(b), coordinates=r) for b, r in zip(c["ring_bboxes"], c["rings"], strict=True)),
        )
        for c in document["countries"]
    )
    return Basemap(source=document["source"], countries=countries)


# --------------------------------------------------------------------------------------------------- command


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m factfinder.reports.basemap build [SRC] [--out PATH]``."""
    parser = argparse.ArgumentParser(prog="python -m factfinder.reports.basemap", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build the base map from world-atlas TopoJSON (at install time)")
    b.add_argument("src", nargs="?", type=Path, default=None, help=f"the TopoJSON (default: ./{SOURCE})")
    b.add_argument("--out", type=Path, default=None, help=f"where to write it (default: {path()})")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        out = build(args.src, args.out)
    except (SourceMissingError, TopologyError) as e:
        sys.stderr.write(f"basemap: {e}\n")
        return 1
    basemap = load(out)
    sys.stdout.write(
        f"{out}: {len(basemap.countries)} countries, {out.stat().st_size / 1e6:.1f} MB "
        f"in {time.perf_counter() - started:.1f} s\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
