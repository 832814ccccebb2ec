"""Maps of a case as plain SVG: the base map's borders, the incidents, items and places, a scale bar.

A report must open where nothing outside can be reached and print the same years later, so its maps are
drawn here, from the base map that ships with the install (``reports.basemap``), into one standalone SVG
string: no tile server, no script, no font or image to fetch. The same string goes inline into the HTML
report, through WeasyPrint into the PDF, and into the web app, so it keeps to the SVG elements every one of
them draws (``svg``, ``g``, ``a``, ``path``, ``circle``, ``rect``, ``line``, ``text``, ``title``) and to
presentation attributes rather than CSS.

The projection is equirectangular with longitudes shrunk by the cosine of the view's middle latitude: for
the area of one case (a town, a province) it is close enough to true shape and distance that the scale bar
holds across the view, and it needs no library. The countries are clipped to the view in Python (and rings
outside it skipped unread), and points closer than half a pixel dropped, so a map of one province is a few
kilobytes, not the world's borders.

Labels come from the documents of the case, which anyone may have written: every text is XML-escaped (and
stripped of the characters XML cannot hold), and a link is only kept when it is relative or http(s).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from factfinder.reports import basemap

BBox = basemap.BBox

KINDS = ("incident", "item", "place")
"""What a point on a map stands for: an incident, an item (a photo, a video, a testimony) or a named place."""

KM_PER_DEGREE = 2 * math.pi * 6371.0088 / 360
"""Length of one degree of latitude (and of longitude at the equator) on the mean Earth sphere."""

WORLD: BBox = (-180.0, -90.0, 180.0, 90.0)

MIN_MARGIN_KM = 60.0
"""Least margin around the points of a fitted view: a single town gets its surroundings (roads, the next town)."""

MARGIN_FRACTION = 0.12
"""Margin around the points of a fitted view, as a fraction of their spread, when that is more than the least."""

MIN_VIEW_KM = 1.0
"""Smallest view drawn, so that a degenerate box (a single point given as the bbox) still has a scale."""

MIN_STEP_PX = 0.5
"""Points of a border closer than this to the last one drawn are dropped: nobody sees them, the file shrinks."""

PAD_PX = 3.0
"""Borders are clipped this far outside the canvas, so that the clip's own edges are never seen."""

MAX_LABEL = 40
"""Longest label drawn, in characters; a longer one is cut with an ellipsis (the marker's title has it whole)."""

FONT_SIZE = 12.0
CHAR_WIDTH = 0.62
"""A sans-serif character's width as a fraction of the font size, to keep labels on the canvas (an estimate)."""

SEA = "#dcebf5"
LAND = "#f4f2ec"
BORDER = "#9a9a9a"
INK = "#222222"
HALO = "#ffffff"

_STYLE: dict[str, tuple[str, float]] = {
    "incident": ("#c0392b", 6.0),
    "item": ("#2471a3", 4.5),
    "place": ("#4d4d4d", 4.0),
}
"""Colour and radius in pixels of each kind's marker. Incidents are drawn last, on top."""

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_SPACE = re.compile(r"\s+")
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]+")


@dataclass(frozen=True, slots=True)
class MapPoint:
    """Something to show on a map.

    ``radius_km`` > 0 draws a translucent circle of that radius: how uncertain the place is (a village known
    only to be "near Shetpe", a region named without a town). ``href`` makes the marker and its label a link
    (to the item or incident in the report or the web app); ``ref`` is carried as ``data-ref`` for scripts."""

    label: str
    latitude: float
    longitude: float
    kind: str
    ref: str = ""
    href: str | None = None
    radius_km: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"a map point is one of {', '.join(KINDS)}, not {self.kind!r}")
        if not (-90.0 <= self.latitude <= 90.0) or not (-180.0 <= self.longitude <= 180.0):
            raise ValueError(f"no such place: latitude {self.latitude}, longitude {self.longitude}")
        if not (self.radius_km >= 0.0 and math.isfinite(self.radius_km)):
            raise ValueError(f"a radius is a distance, not {self.radius_km}")


@dataclass(frozen=True, slots=True)
class Projection:
    """Degrees to pixels on a ``width`` x ``height`` canvas centred on (``lon0``, ``lat0``).

    ``x = width/2 + (lon - lon0) * scale * cos(lat0)``, ``y = height/2 - (lat - lat0) * scale``."""

    width: int
    height: int
    lon0: float
    lat0: float
    scale: float
    """Pixels per degree of latitude."""

    @classmethod
    def fit(cls, bbox: BBox, width: int, height: int) -> Projection:
        """The projection that shows all of ``bbox`` (west, south, east, north), as large as the canvas allows."""
        west, south, east, north = bbox
        lon0, lat0 = (west + east) / 2, (south + north) / 2
        shrink = max(math.cos(math.radians(lat0)), 0.05)
        min_span = MIN_VIEW_KM / KM_PER_DEGREE
        lon_span = max(east - west, min_span / shrink)
        lat_span = max(north - south, min_span)
        scale = min(width / (lon_span * shrink), height / lat_span)
        return cls(width=width, height=height, lon0=lon0, lat0=lat0, scale=scale)

    @property
    def x_scale(self) -> float:
        """Pixels per degree of longitude."""
        return self.scale * max(math.cos(math.radians(self.lat0)), 0.05)

    @property
    def km_per_px(self) -> float:
        """Kilometres a pixel stands for (true along the middle latitude, and north-south everywhere)."""
        return KM_PER_DEGREE / self.scale

    def xy(self, longitude: float, latitude: float) -> tuple[float, float]:
        """Where a place is drawn, in pixels from the top left."""
        return (
            self.width / 2 + (longitude - self.lon0) * self.x_scale,
            self.height / 2 - (latitude - self.lat0) * self.scale,
        )

    def bounds(self, pad_px: float = 0.0) -> BBox:
        """The area the canvas shows (and ``pad_px`` around it), as (west, south, east, north)."""
        half_w = (self.width / 2 + pad_px) / self.x_scale
        half_h = (self.height / 2 + pad_px) / self.scale
        return (self.lon0 - half_w, self.lat0 - half_h, self.lon0 + half_w, self.lat0 + half_h)


# --------------------------------------------------------------------------------------------------- the view


def fit(points: Sequence[MapPoint]) -> BBox:
    """The box to show ``points`` (and their circles of uncertainty) with a margin; the world when there are none.

    The margin is ``MARGIN_FRACTION`` of the points' spread, and at least ``MIN_MARGIN_KM``; the box is never
    larger than the world. Points on both sides of the antimeridian get a box across the whole world."""
    if not points:
        return WORLD
    west = south = math.inf
    east = north = -math.inf
    for p in points:
        lat_r = p.radius_km / KM_PER_DEGREE
        lon_r = lat_r / max(math.cos(math.radians(p.latitude)), 0.05)
        west, east = min(west, p.longitude - lon_r), max(east, p.longitude + lon_r)
        south, north = min(south, p.latitude - lat_r), max(north, p.latitude + lat_r)
    shrink = max(math.cos(math.radians((south + north) / 2)), 0.05)
    spread_km = max((north - south) * KM_PER_DEGREE, (east - west) * KM_PER_DEGREE * shrink)
    margin_km = max(MIN_MARGIN_KM, MARGIN_FRACTION * spread_km)
    lat_m = margin_km / KM_PER_DEGREE
    # the margin east and west holds along the point nearest a pole too, where a degree is shortest
    lon_m = lat_m / max(math.cos(math.radians(max(abs(south), abs(north)))), 0.05)
    return (max(west - lon_m, -180.0), max(south - lat_m, -90.0), min(east + lon_m, 180.0), min(north + lat_m, 90.0))


def _overlaps(a: BBox, b: BBox) -> bool:
    """Whether two boxes (west, south, east, north) or (left, top, right, bottom) meet."""
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


# --------------------------------------------------------------------------------------------------- borders


def _tenths(n: int) -> str:
    """An integer count of tenths of a pixel as an SVG number: 123 -> "12.3", 120 -> "12", -5 -> "-0.5"."""
    whole, frac = divmod(abs(n), 10)
    sign = "-" if n < 0 else ""
    return f"{sign}{whole}.{frac}" if frac else f"{sign}{whole}"


def _ring_path(coordinates: Sequence[Sequence[float]], proj: Projection, shift: float = 0.0) -> str:
    """One ring (moved ``shift`` degrees east) as an SVG subpath (``M x y l dx dy ... z``), clipped to the
    canvas; "" when nothing is left.

    Positions are rounded to tenths of a pixel first and the steps computed between rounded positions, so
    relative steps add up exactly."""
    x0, y0 = proj.width / 2, proj.height / 2
    kx, ky, lon0, lat0 = proj.x_scale, proj.scale, proj.lon0 - shift, proj.lat0
    pts = [(x0 + (c[0] - lon0) * kx, y0 - (c[1] - lat0) * ky) for c in coordinates]
    left, top, right, bottom = -PAD_PX, -PAD_PX, proj.width + PAD_PX, proj.height + PAD_PX
    xs = [p[0] for p in pts]
    ys = [p[1] for p in pts]
    if min(xs) < left or max(xs) > right or min(ys) < top or max(ys) > bottom:
        pts = basemap.clip(pts, left, top, right, bottom)
    min_step = (MIN_STEP_PX * 10) ** 2
    kept: list[tuple[int, int]] = []
    for x, y in pts:
        q = (round(x * 10), round(y * 10))
        if kept and (q[0] - kept[-1][0]) ** 2 + (q[1] - kept[-1][1]) ** 2 < min_step:
            continue
        kept.append(q)
    while len(kept) > 1 and (kept[-1][0] - kept[0][0]) ** 2 + (kept[-1][1] - kept[0][1]) ** 2 < min_step:
        kept.pop()  # the closing point (z draws that edge)
    if len(kept) < 3:
        return ""
    parts = [f"M{_tenths(kept[0][0])} {_tenths(kept[0][1])}l"]
    for (ax, ay), (bx, by) in itertools.pairwise(kept):
        parts.append(f"{_tenths(bx - ax)} {_tenths(by - ay)}")
    return " ".join(parts) + "z"


def _countries(proj: Projection, world: basemap.Basemap) -> list[str]:
    """The ``<path>`` of each country the view shows, named by a ``<title>`` and ``data-name``/``data-iso``.

    A view across the antimeridian (Fiji, Chukotka) shows the world again beyond it, 360 degrees over."""
    west, south, east, north = proj.bounds(PAD_PX)
    views = [(shift, (west - shift, south, east - shift, north)) for shift in (-360.0, 0.0, 360.0)]
    views = [(shift, view) for shift, view in views if _overlaps(view, WORLD)]
    out: list[str] = []
    for country in world.countries:
        d = "".join(
            _ring_path(r.coordinates, proj, shift)
            for shift, view in views
            if _overlaps(country.bbox, view)
            for r in country.rings
            if _overlaps(r.bbox, view)
        )
        if not d:
            continue
        iso = f' data-iso="{_attr(country.iso_numeric)}"' if country.iso_numeric else ""
        out.append(
            f'<path class="country" data-name="{_attr(country.name)}"{iso} d="{d}">'
            f"<title>{_text(country.name)}</title></path>"
        )
    return out


# --------------------------------------------------------------------------------------------------- text


def _clean(value: str) -> str:
    """Text as one line, without the characters XML 1.0 cannot hold (a NUL in a label must not break the map)."""
    return _SPACE.sub(" ", _NOT_XML.sub("", value)).strip()


def _text(value: str) -> str:
    """Text for an element's content."""
    return escape(_clean(value))


def _attr(value: str) -> str:
    """Text for a double-quoted attribute."""
    return escape(_clean(value), {'"': "&quot;"})


def _num(value: float) -> str:
    """A coordinate or length with one decimal, without a useless ".0"."""
    return _tenths(round(value * 10))


def _safe_href(href: str | None) -> str | None:
    """The link if it is relative or http(s); None for ``javascript:``, ``data:`` and the like."""
    if not href:
        return None
    probe = _CONTROL_OR_SPACE.sub("", href)  # browsers ignore these inside a scheme ("java\tscript:")
    try:
        scheme = urlsplit(probe).scheme.lower()
    except ValueError:
        return None
    return href.strip() if scheme in ("", "http", "https") else None


def _shorten(label: str) -> str:
    """The label cut to ``MAX_LABEL`` characters."""
    label = _clean(label)
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1].rstrip() + "…"


def _text_width(text: str, size: float = FONT_SIZE) -> float:
    """An estimate of how wide a text is drawn, in pixels."""
    return len(text) * size * CHAR_WIDTH


def _place_label(
    x: float, y: float, r: float, width: float, proj: Projection, taken: list[BBox]
) -> tuple[float, float, str, BBox]:
    """Where a label goes: right of the marker, else left, above, below or on a diagonal, whichever meets no
    other label (or marker, or the scale bar) first, else the one that meets fewest; always shifted onto the
    canvas. Returns x, baseline, anchor and the box the label takes."""
    h = FONT_SIZE
    gap = r + 3
    mid = y + h * 0.35  # the baseline that centres a line of text on the marker
    candidates = [
        (x + gap, mid, "start"),
        (x - gap, mid, "end"),
        (x, y - gap - 2, "middle"),
        (x, y + gap + h * 0.8, "middle"),
        (x + gap * 0.7, y - gap * 0.7 - 2, "start"),
        (x + gap * 0.7, y + gap * 0.7 + h * 0.8, "start"),
        (x - gap * 0.7, y - gap * 0.7 - 2, "end"),
        (x - gap * 0.7, y + gap * 0.7 + h * 0.8, "end"),
    ]
    best: tuple[float, float, str, BBox] | None = None
    best_hits = math.inf
    for cx, cy, anchor in candidates:
        left = cx if anchor == "start" else cx - width if anchor == "end" else cx - width / 2
        # onto the canvas: the whole text, from its top (ascent) to below its baseline (descent)
        shift_x = max(2 - left, 0.0) + min(proj.width - 2 - (left + width), 0.0)
        shift_y = max(2 + h * 0.8 - cy, 0.0) + min(proj.height - 2 - h * 0.25 - cy, 0.0)
        cx, cy, left = cx + shift_x, cy + shift_y, left + shift_x
        box = (left, cy - h * 0.8, left + width, cy + h * 0.25)
        hits = sum(1 for t in taken if _overlaps(box, t)) + (0.5 if shift_x or shift_y else 0.0)
        if hits < best_hits:
            best, best_hits = (cx, cy, anchor, box), hits
        if hits == 0:
            break
    assert best is not None
    return best


# --------------------------------------------------------------------------------------------------- furniture


def _nice_length(max_km: float) -> float:
    """The longest round length (1, 2 or 5 times a power of ten) of at most ``max_km``."""
    power = 10.0 ** math.floor(math.log10(max_km))
    for step in (5, 2, 1):
        if step * power <= max_km:
            return step * power
    return power


def _scale_bar(proj: Projection) -> tuple[list[str], BBox]:
    """A scale bar in the bottom left corner, and the box it takes."""
    km = _nice_length(proj.km_per_px * min(proj.width / 5, 160))
    length = km / proj.km_per_px
    label = f"{km:g} km" if km >= 1 else f"{km * 1000:g} m"
    x0, y0 = 12.0, proj.height - 12.0
    box = (x0 - 6, y0 - 22, x0 + max(length, _text_width(label, 11)) + 6, y0 + 6)
    parts = [
        f'<g class="scale-bar" stroke="{INK}" stroke-width="1.5">',
        f'<rect x="{_num(box[0])}" y="{_num(box[1])}" width="{_num(box[2] - box[0])}" height="{_num(box[3] - box[1])}"'
        f' fill="#ffffff" fill-opacity="0.75" stroke="none" rx="3"/>',
        f'<line x1="{_num(x0)}" y1="{_num(y0)}" x2="{_num(x0 + length)}" y2="{_num(y0)}"/>',
        f'<line x1="{_num(x0)}" y1="{_num(y0 - 4)}" x2="{_num(x0)}" y2="{_num(y0)}"/>',
        f'<line x1="{_num(x0 + length)}" y1="{_num(y0 - 4)}" x2="{_num(x0 + length)}" y2="{_num(y0)}"/>',
        f'<text x="{_num(x0)}" y="{_num(y0 - 7)}" font-size="11" fill="{INK}" stroke="none">{label}</text>',
        "</g>",
    ]
    return parts, box


def _credit(proj: Projection) -> tuple[str, BBox]:
    """The data's credit in the bottom right corner (Natural Earth is public domain; we say where it is from)."""
    text = "Borders: Natural Earth"
    x, y = proj.width - 6.0, proj.height - 6.0
    box = (x - _text_width(text, 9), y - 9, x, y + 2)
    at = f'x="{_num(x)}" y="{_num(y)}"'
    return f'<text class="credit" {at} font-size="9" fill="#555555" text-anchor="end">{text}</text>', box


# --------------------------------------------------------------------------------------------------- points


def _xy(p: MapPoint, proj: Projection) -> tuple[float, float]:
    """Where a point is drawn: on a view across the antimeridian, on the side of it the view shows."""
    west, _, east, _ = proj.bounds()
    lon = p.longitude
    if lon < west and lon + 360 <= east + 180:
        lon += 360
    elif lon > east and lon - 360 >= west - 180:
        lon -= 360
    return proj.xy(lon, p.latitude)


def _points(points: Iterable[MapPoint], proj: Projection, taken: list[BBox]) -> tuple[list[str], list[str]]:
    """The circles of uncertainty (drawn under every marker) and the markers with their labels.

    Incidents are labelled first (their labels get the best places) and drawn last (on top), then items, then
    places; points outside the view are left out."""
    circles: list[str] = []
    shown: list[tuple[MapPoint, float, float, float]] = []
    for p in sorted(points, key=lambda p: KINDS.index(p.kind)):
        x, y = _xy(p, proj)
        colour, r = _STYLE[p.kind]
        if p.radius_km > 0:
            rr = p.radius_km / proj.km_per_px
            if -rr <= x <= proj.width + rr and -rr <= y <= proj.height + rr:
                circles.append(
                    f'<circle class="uncertainty uncertainty-{p.kind}" cx="{_num(x)}" cy="{_num(y)}" r="{_num(rr)}"'
                    f' fill="{colour}" fill-opacity="0.12" stroke="{colour}" stroke-opacity="0.5" stroke-width="1"/>'
                )
        if 0 <= x <= proj.width and 0 <= y <= proj.height:
            shown.append((p, x, y, r))
            taken.append((x - r, y - r, x + r, y + r))
    markers: list[str] = []
    for p, x, y, r in shown:
        colour = _STYLE[p.kind][0]
        label = _shorten(p.label)
        tx, ty, anchor, box = _place_label(x, y, r, _text_width(label), proj, taken)
        taken.append(box)
        ref = f' data-ref="{_attr(p.ref)}"' if p.ref else ""
        text_at = f'x="{_num(tx)}" y="{_num(ty)}" text-anchor="{anchor}" font-size="{FONT_SIZE:g}"'
        group = (
            f'<g class="marker marker-{p.kind}" data-kind="{p.kind}"{ref}>'
            f"<title>{_text(p.label)}</title>"
            f'<circle cx="{_num(x)}" cy="{_num(y)}" r="{r:g}" fill="{colour}" stroke="{HALO}" stroke-width="1.5"/>'
            f'<text {text_at} fill="none" stroke="{HALO}" stroke-width="3" stroke-linejoin="round">'
            f"{_text(label)}</text>"
            f'<text {text_at} fill="{INK}">{_text(label)}</text>'
            "</g>"
        )
        href = _safe_href(p.href)
        markers.append(f'<a href="{_attr(href)}">{group}</a>' if href else group)
    return circles[::-1], markers[::-1]


# --------------------------------------------------------------------------------------------------- the map


def render(
    points: Sequence[MapPoint],
    *,
    bbox: BBox | None = None,
    width: int = 800,
    height: int = 500,
    title: str = "",
) -> str:
    """A standalone SVG map of ``points`` over the base map's borders.

    ``bbox`` (west, south, east, north) is the area to show at least (the canvas's shape may show more); by
    default the points' own, with a margin (``fit``). Points outside the view are left out. Raises
    ``basemap.BasemapMissingError`` when the base map has not been built (``make``)."""
    if width <= 0 or height <= 0:
        raise ValueError(f"a map is at least one pixel wide and high, not {width} x {height}")
    world = basemap.load()
    proj = Projection.fit(bbox or fit(points), width, height)
    name = _clean(title) or ("Map of " + ", ".join(_shorten(p.label) for p in points[:5]) if points else "Map")
    scale_bar, scale_box = _scale_bar(proj)
    credit, credit_box = _credit(proj)
    circles, markers = _points(points, proj, [scale_box, credit_box])
    return "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" class="factfinder-map" width="{width}" height="{height}"'
            f' viewBox="0 0 {width} {height}" role="img" aria-label="{_attr(name)}" font-family="sans-serif">',
            f"<title>{_text(name)}</title>",
            f'<rect class="sea" x="0" y="0" width="{width}" height="{height}" fill="{SEA}"/>',
            f'<g class="countries" fill="{LAND}" stroke="{BORDER}" stroke-width="0.6" stroke-linejoin="round"'
            ' fill-rule="evenodd">',
            *_countries(proj, world),
            "</g>",
            '<g class="uncertainties">',
            *circles,
            "</g>",
            '<g class="points">',
            *markers,
            "</g>",
            *scale_bar,
            credit,
            f'<rect class="frame" x="0.5" y="0.5" width="{width - 1}" height="{height - 1}" fill="none"'
            f' stroke="{BORDER}"/>',
            "</svg>",
        ]
    )
