"""The offline base map and the SVG maps drawn on it.

The base map is the installed one (``make`` runs ``npm ci`` and ``python -m factfinder.reports.basemap
build``): when it is missing these tests fail with the message that says so, they are not skipped. The
TopoJSON decoder is also checked on a small topology made here, whose answer is known exactly.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from factfinder.reports import basemap, mapsvg
from factfinder.reports.mapsvg import MapPoint, Projection, render

SVG = "{http://www.w3.org/2000/svg}"

ZHANAOZEN = MapPoint("Zhanaozen", 43.34, 52.86, "incident", ref="incident-1", href="/incidents/1")
AKTAU = MapPoint("Aktau", 43.65, 51.17, "place")
SHETPE = MapPoint("Shetpe", 44.17, 52.12, "item", radius_km=10.0)
AROUND_ZHANAOZEN = (51.5, 42.5, 54.2, 44.2)


def parse(svg: str) -> ET.Element:
    """The SVG as XML (failing the test if it is not well-formed)."""
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def rings_of(d: str) -> list[list[tuple[float, float]]]:
    """The rings of a path as ``mapsvg`` writes it: ``M x y l dx dy dx dy ... z``, repeated."""
    rings: list[list[tuple[float, float]]] = []
    for sub in re.findall(r"M([^z]*)z", d):
        head, _, steps = sub.partition("l")
        x, y = (float(v) for v in head.split())
        ring = [(x, y)]
        numbers = [float(v) for v in steps.split()]
        for dx, dy in zip(numbers[::2], numbers[1::2], strict=True):
            x, y = x + dx, y + dy
            ring.append((x, y))
        rings.append(ring)
    return rings


def inside(point: tuple[float, float], rings: list[list[tuple[float, float]]]) -> bool:
    """Whether the even-odd fill of ``rings`` covers ``point`` (ray casting)."""
    px, py = point
    crossings = 0
    for ring in rings:
        for (ax, ay), (bx, by) in zip(ring, ring[1:] + ring[:1], strict=True):
            if (ay > py) != (by > py) and px < ax + (py - ay) * (bx - ax) / (by - ay):
                crossings += 1
    return crossings % 2 == 1


def countries(root: ET.Element) -> dict[str, ET.Element]:
    return {p.get("data-name", ""): p for p in root.iter(f"{SVG}path") if p.get("class") == "country"}


def markers(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if "marker" in (g.get("class") or "").split()]


def marker_at(group: ET.Element) -> tuple[float, float]:
    circle = group.find(f"{SVG}circle")
    assert circle is not None
    return float(circle.get("cx", "nan")), float(circle.get("cy", "nan"))


# --------------------------------------------------------------------------------------------------- decoder


TOPOLOGY = {
    "type": "Topology",
    "transform": {"scale": [0.5, 0.25], "translate": [10, 20]},
    "arcs": [
        [[0, 0], [4, 0], [0, 8]],  # (10, 20) -> (12, 20) -> (12, 22)
        [[4, 8], [-4, 0], [0, -8]],  # (12, 22) -> (10, 22) -> (10, 20)
        [[1, 2], [1, 0], [0, 1], [-1, 0], [0, -1]],  # a small square: the hole
        [[20, 0], [2, 0], [0, 4], [-2, 0], [0, -4]],  # an island east of it
    ],
    "objects": {
        "countries": {
            "type": "GeometryCollection",
            "geometries": [
                {"type": "Polygon", "id": "001", "properties": {"name": "Square"}, "arcs": [[0, 1], [2]]},
                {"type": "Polygon", "id": "002", "properties": {"name": "Mirror"}, "arcs": [[-2, -1]]},
                {"type": "MultiPolygon", "properties": {"name": "Islands"}, "arcs": [[[3]], [[0, 1]]]},
            ],
        }
    },
}


def test_decoder_applies_the_transform_to_delta_encoded_arcs() -> None:
    arcs = basemap.decode_arcs(TOPOLOGY)
    assert arcs[0] == [(10.0, 20.0), (12.0, 20.0), (12.0, 22.0)]
    assert arcs[1] == [(12.0, 22.0), (10.0, 22.0), (10.0, 20.0)]


def test_decoder_joins_arcs_reverses_negative_ones_and_keeps_holes_and_parts() -> None:
    by_name = {c["name"]: c for c in basemap.decode_topology(TOPOLOGY)}
    square = by_name["Square"]
    assert square["id"] == "001"
    assert square["rings"][0] == [[10, 20], [12, 20], [12, 22], [10, 22], [10, 20]]
    assert square["rings"][1] == [[10.5, 20.5], [11, 20.5], [11, 20.75], [10.5, 20.75], [10.5, 20.5]]
    assert square["bbox"] == [10, 20, 12, 22]
    # ~1 then ~0: the same square walked the other way round
    assert by_name["Mirror"]["rings"] == [[[10, 20], [10, 22], [12, 22], [12, 20], [10, 20]]]
    islands = by_name["Islands"]
    assert islands["id"] is None
    assert len(islands["rings"]) == 2
    assert islands["bbox"] == [10, 20, 21, 22]
    assert islands["ring_bboxes"][0] == (20, 20, 21, 21)


def test_rings_across_the_antimeridian_are_cut_and_rings_round_a_pole_closed() -> None:
    across = basemap.planar([(179.0, 10.0), (-179.0, 10.0), (-179.0, 12.0), (179.0, 12.0), (179.0, 10.0)])
    assert len(across) == 2
    assert sorted(round(min(x for x, _ in piece)) for piece in across) == [-180, 179]
    assert all(-180 <= x <= 180 for piece in across for x, _ in piece)
    coast = [(float(lon), -70.0) for lon in range(-180, 180, 30)] + [(-180.0, -70.0)]
    (cap,) = basemap.planar(coast)
    assert min(lat for _, lat in cap) == -90.0
    assert min(x for x, _ in cap) == -180.0 and max(x for x, _ in cap) == 180.0


def test_an_unknown_object_or_geometry_is_refused() -> None:
    with pytest.raises(basemap.TopologyError):
        basemap.decode_topology(TOPOLOGY, "land")
    with pytest.raises(basemap.TopologyError):
        basemap.geometry_rings({"type": "LineString", "arcs": [0]}, [])


# --------------------------------------------------------------------------------------------------- base map


def test_the_installed_base_map_has_kazakhstan_where_it_is() -> None:
    kz = basemap.load().country("Kazakhstan")
    assert kz is not None
    assert kz.iso_numeric == "398"
    west, south, east, north = kz.bbox
    assert 46 <= west <= 47.5 and 86.5 <= east <= 88, kz.bbox
    assert 40 <= south <= 41.5 and 55 <= north <= 56, kz.bbox
    assert 1000 < sum(len(r.coordinates) for r in kz.rings) < 20000
    assert basemap.load().country("398") is kz
    assert "Natural Earth" in basemap.load().source


def test_the_installed_base_map_covers_the_world_without_crossing_the_antimeridian() -> None:
    world = basemap.load()
    assert len(world.countries) > 200
    for c in world.countries:
        for r in c.rings:
            lons = [p[0] for p in r.coordinates]
            assert min(lons) >= -180 and max(lons) <= 180, c.name
            steps = itertools.pairwise(r.coordinates)
            # no step across the antimeridian, only along a pole (Antarctica's, closed as a flat map shows it)
            assert all(abs(b[0] - a[0]) <= 180 or abs(a[1]) == abs(b[1]) == 90 for a, b in steps), c.name
            assert r.coordinates[0] == r.coordinates[-1]


def test_a_missing_base_map_says_to_run_make(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(basemap.ENV_PATH, str(tmp_path / "nowhere.json"))
    with pytest.raises(basemap.BasemapMissingError, match="run `make`"):
        basemap.load()
    with pytest.raises(basemap.BasemapMissingError, match="run `make`"):
        render([ZHANAOZEN])


def test_building_from_a_topology_writes_a_file_load_reads(tmp_path: Path) -> None:
    src = tmp_path / "countries.json"
    src.write_text(json.dumps(TOPOLOGY))
    out = basemap.build(src, tmp_path / "basemap.json")
    square = basemap.load(out).country("Square")
    assert square is not None and square.bbox == (10, 20, 12, 22) and len(square.rings) == 2


# --------------------------------------------------------------------------------------------------- maps


def test_a_map_is_a_standalone_accessible_svg() -> None:
    svg = render([ZHANAOZEN, AKTAU], bbox=AROUND_ZHANAOZEN, width=640, height=400, title="Zhanaozen & Aktau")
    root = parse(svg)
    assert root.get("viewBox") == "0 0 640 400"
    assert root.get("role") == "img"
    assert root.get("aria-label") == "Zhanaozen & Aktau"
    title = root[0]
    assert title.tag == f"{SVG}title" and title.text == "Zhanaozen & Aktau"
    used = {el.tag.removeprefix(SVG) for el in root.iter()}
    assert used <= {"svg", "title", "g", "a", "path", "circle", "rect", "line", "text"}
    assert "km" in "".join(root.itertext())
    assert len(svg) < 60_000  # the borders are clipped to the view, not the whole of Kazakhstan


def test_the_map_around_zhanaozen_draws_kazakhstan_under_it_and_the_sea_beside_it() -> None:
    root = parse(render([ZHANAOZEN], bbox=AROUND_ZHANAOZEN))
    drawn = countries(root)
    assert "Kazakhstan" in drawn and "France" not in drawn
    kz = drawn["Kazakhstan"]
    assert kz.get("data-iso") == "398"
    assert kz.findtext(f"{SVG}title") == "Kazakhstan"
    rings = rings_of(kz.get("d", ""))
    proj = Projection.fit(AROUND_ZHANAOZEN, 800, 500)
    assert inside(proj.xy(ZHANAOZEN.longitude, ZHANAOZEN.latitude), rings)
    caspian = proj.xy(50.9, 43.0)  # off Aktau's coast
    assert not any(inside(caspian, rings_of(p.get("d", ""))) for p in drawn.values())


def test_a_marker_is_drawn_where_the_projection_puts_it() -> None:
    # A view centred on Zhanaozen: the marker is at the centre of the canvas.
    bbox = (52.86 - 2, 43.34 - 1, 52.86 + 2, 43.34 + 1)
    root = parse(render([ZHANAOZEN, AKTAU], bbox=bbox, width=800, height=500))
    by_label = {g.findtext(f"{SVG}title"): g for g in markers(root)}
    x, y = marker_at(by_label["Zhanaozen"])
    assert x == pytest.approx(400, abs=0.06) and y == pytest.approx(250, abs=0.06)
    # Aktau, west and a little north: equirectangular, longitudes shrunk by cos(43.34 degrees)
    scale = min(800 / (4 * math.cos(math.radians(43.34))), 500 / 2.0)
    x, y = marker_at(by_label["Aktau"])
    assert x == pytest.approx(400 + (51.17 - 52.86) * scale * math.cos(math.radians(43.34)), abs=0.06)
    assert y == pytest.approx(250 - (43.65 - 43.34) * scale, abs=0.06)
    assert 0 <= x <= 800 and 0 <= y <= 500
    assert by_label["Zhanaozen"].get("data-ref") == "incident-1"


def test_a_link_wraps_the_marker_and_a_script_link_is_dropped() -> None:
    points = [ZHANAOZEN, MapPoint("Trap", 43.5, 52.5, "item", href="  JavaScript:alert(1)")]
    root = parse(render(points, bbox=AROUND_ZHANAOZEN))
    links = list(root.iter(f"{SVG}a"))
    assert [a.get("href") for a in links] == ["/incidents/1"]
    assert links[0].find(f"{SVG}g") is not None
    assert "javascript" not in render(points, bbox=AROUND_ZHANAOZEN).lower()


def test_hostile_labels_are_text_not_markup() -> None:
    hostile = '<script>alert(1)</script>" onload="x'
    nul = "Shetpe\x00\x1b bad \ud800 chars"
    svg = render([MapPoint(hostile, 43.34, 52.86, "item", ref='"><b>'), MapPoint(nul, 44.17, 52.12, "place")])
    root = parse(svg)
    assert "<script" not in svg
    assert not [el for el in root.iter() if "script" in el.tag or "onload" in el.attrib]
    by_label = {g.findtext(f"{SVG}title"): g for g in markers(root)}
    assert hostile in by_label
    assert by_label[hostile].get("data-ref") == '"><b>'
    assert "Shetpe bad chars" in by_label


def test_without_a_bbox_the_view_fits_the_points_with_a_margin() -> None:
    points = [ZHANAOZEN, AKTAU, SHETPE]
    west, south, east, north = mapsvg.fit(points)
    km = mapsvg.KM_PER_DEGREE
    assert (43.34 - south) * km >= 60 and (north - 44.17) * km >= 60
    assert (51.17 - west) * km * math.cos(math.radians(44.17)) >= 60  # even along the northernmost point
    assert (east - 52.86) * km * math.cos(math.radians(44.17)) >= 60
    assert north - south < 4 and east - west < 6  # a margin, not a continent
    root = parse(render(points))
    shown = [marker_at(g) for g in markers(root)]
    assert len(shown) == 3
    assert all(20 < x < 780 and 20 < y < 480 for x, y in shown)


def test_one_point_gets_its_surroundings_and_none_gets_the_world() -> None:
    _, south, _, north = mapsvg.fit([AKTAU])
    assert (north - south) * mapsvg.KM_PER_DEGREE >= 120
    assert (north - south) * mapsvg.KM_PER_DEGREE < 400
    assert mapsvg.fit([]) == mapsvg.WORLD
    far = [AKTAU, MapPoint("Wellington", -41.29, 174.78, "place")]
    w, s, e, n = mapsvg.fit(far)
    assert w >= -180 and e <= 180 and s >= -90 and n <= 90
    world = render([], width=800, height=500)
    assert {"Kazakhstan", "Brazil", "Antarctica", "Russia"} <= set(countries(parse(world)))
    assert len(world) < 500_000


def test_labels_stay_on_the_canvas() -> None:
    long_label = "Zhanaozen, the square in front of the akimat, 16 December 2011, 11:00"
    at_edge = MapPoint(long_label, 43.34, 54.19, "incident")  # at the east edge of the view
    root = parse(render([at_edge], bbox=AROUND_ZHANAOZEN, width=600, height=400))
    (group,) = markers(root)
    text = group.findall(f"{SVG}text")[-1]
    x = float(text.get("x", "nan"))
    width = len(text.text or "") * mapsvg.FONT_SIZE * mapsvg.CHAR_WIDTH
    left = {"start": x, "end": x - width, "middle": x - width / 2}[text.get("text-anchor", "start")]
    assert left >= 0 and left + width <= 600
    assert 0 <= float(text.get("y", "nan")) <= 400
    assert group.findtext(f"{SVG}title") == long_label  # whole in the tooltip, shortened on the map


def test_the_circle_of_uncertainty_has_the_radius_in_kilometres() -> None:
    root = parse(render([SHETPE], bbox=AROUND_ZHANAOZEN))
    (circle,) = [c for c in root.iter(f"{SVG}circle") if "uncertainty" in (c.get("class") or "")]
    proj = Projection.fit(AROUND_ZHANAOZEN, 800, 500)
    assert float(circle.get("r", "nan")) == pytest.approx(10.0 / proj.km_per_px, abs=0.06)


def test_a_view_across_the_antimeridian_draws_both_sides() -> None:
    # Chukotka reaches east of 180 degrees: Russia must be drawn there too, and Alaska beside it.
    root = parse(render([MapPoint("Uelen", 66.16, -169.81, "place")], bbox=(172.0, 60.0, 192.0, 70.0)))
    drawn = countries(root)
    assert {"Russia", "United States of America"} <= set(drawn)
    proj = Projection.fit((172.0, 60.0, 192.0, 70.0), 800, 500)
    assert inside(proj.xy(175.0, 67.0), rings_of(drawn["Russia"].get("d", "")))  # inland Chukotka, west of 180
    assert inside(proj.xy(360 - 174.0, 66.0), rings_of(drawn["Russia"].get("d", "")))  # and east of it
    assert not inside(proj.xy(360 - 175.0, 62.0), rings_of(drawn["Russia"].get("d", "")))  # the Bering Sea
    (uelen,) = markers(root)
    x, y = marker_at(uelen)
    assert (x, y) == pytest.approx(proj.xy(360 - 169.81, 66.16), abs=0.06)


def test_a_point_must_be_a_place_of_a_known_kind() -> None:
    with pytest.raises(ValueError):
        MapPoint("x", 43.0, 52.0, "rumour")
    with pytest.raises(ValueError):
        MapPoint("x", math.nan, 52.0, "place")
    with pytest.raises(ValueError):
        MapPoint("x", 43.0, 52.0, "place", radius_km=-1)
