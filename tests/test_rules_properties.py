"""Properties of the rule model over generated lots, roads and zones (hypothesis; no database: sites built in memory).

* shrinking a compliant footprint never makes it fail;
* moving it farther from every road, within the lot, never makes a setback fail;
* the envelope's ground area never exceeds the lot's buildable part (the lot less road land);
* answers do not depend on the order of a polygon's vertices or its starting point.
"""

from __future__ import annotations

from typing import Any

import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.affinity import translate
from shapely.geometry import LineString, Polygon
from shapely.geometry.base import BaseGeometry

from gis_service.permits.model import parse_request
from gis_service.rules import envelope_of, evaluate, place, roads_of
from gis_service.rules.drawing import geojson
from gis_service.rules.site import Line, Plan, Site, Zone

E0, N0 = 561625.296, 1821650.262
PLAN = Plan(1, "46QCT0000099", "Thử", "detailed", 1, "1/QĐ-UBND", "2025-01-01", "UBND", 1)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _zone(zid: int, geom: BaseGeometry, *, density: float, floors: int, setback: float | None) -> Zone:
    return Zone(
        id=zid,
        plan=PLAN,
        zone_code=f"Z{zid}",
        name=None,
        land_use_code="ODT",
        color=None,
        max_density_pct=density,
        max_floors=floors,
        min_floors=None,
        max_height_m=floors * 3.8,
        max_far=density / 100 * floors,
        min_setback_m=setback,
        min_ground_elev_m=3.5,
        heritage_zone=None,
        source=None,
        attributes={},
        row_version=1,
        history_id=None,
        geom=geom,
    )


def _line(lid: int, coords: list[tuple[float, float]], name: str, setback: float | None = None) -> Line:
    return Line(lid, PLAN.id, PLAN.rank, name, 13.0, setback, 1, 1, None, LineString(coords))


@st.composite
def sites(draw: st.DrawFn) -> dict[str, Any]:
    """A lot behind a road along y = 0 (local metres from the control point), maybe a corner lot on a second road,
    maybe cut by the red line, maybe split between two zones; with or without a building line."""
    width = draw(st.floats(5, 30))
    depth = draw(st.floats(12, 35))
    jitter = [draw(st.floats(-1.0, 1.0)) for _ in range(4)]
    cut = draw(st.sampled_from([0.0, 0.0, 1.5]))  # the road widened into the lot
    x0 = 0.0
    lot = Polygon(
        [
            (x0 + jitter[0], -cut),
            (x0 + width + jitter[1], -cut),
            (x0 + width + jitter[2], depth + jitter[3]),
            (x0 + jitter[3], depth),
        ]
    )
    lot = shapely.orient_polygons(lot)
    setback = draw(st.sampled_from([0.0, 3.0, 6.0]))
    with_bl = draw(st.booleans())
    red = [_line(1, [(-60.0, 0.0), (100.0, 0.0)], "Lê Lợi")]
    bl = [_line(11, [(-60.0, setback), (100.0, setback)], "Lê Lợi", setback)] if with_bl else []
    corner = draw(st.booleans())
    if corner:  # a side road along x = 0 (west of the lot)
        red.append(_line(2, [(-0.0 + min(jitter[0], jitter[3]), -60.0), (min(jitter[0], jitter[3]), 80.0)], "Kiệt Phụ"))
    split = draw(st.booleans())
    area = shapely.box(-200, -200, 200, 200)
    if split:
        cut_y = draw(st.floats(4, depth - 4))
        zones = [
            _zone(1, shapely.box(-200, -200, 200, cut_y), density=draw(st.floats(40, 90)), floors=3, setback=3.0),
            _zone(2, shapely.box(-200, cut_y, 200, 200), density=draw(st.floats(40, 90)), floors=5, setback=None),
        ]
    else:
        zones = [_zone(1, area, density=draw(st.floats(40, 90)), floors=draw(st.integers(2, 7)), setback=3.0)]
    site = Site(
        lot=_shift(lot),
        footprint=None,
        parcel={"id": 1, "row_version": 1, "road_name": "Lê Lợi"},
        zones=tuple(_zone_shift(z) for z in zones),
        red_lines=tuple(_line_shift(r) for r in red),
        building_lines=tuple(_line_shift(b) for b in bl),
        alleys=(),
        plans={PLAN.id: PLAN},
    )
    return {"site": site}


def _shift(g: BaseGeometry) -> BaseGeometry:
    return translate(g, E0, N0)


def _zone_shift(z: Zone) -> Zone:
    import dataclasses

    return dataclasses.replace(z, geom=_shift(z.geom))


def _line_shift(line: Line) -> Line:
    import dataclasses

    return dataclasses.replace(line, geom=_shift(line.geom))


def _check(site: Site, fp: BaseGeometry, *, floors: int, height: float, area: float | None = None) -> dict[str, Any]:
    body = {
        "lot": geojson(site.lot, 4),
        "footprint": geojson(fp, 4),
        "crs": "EPSG:9214",
        "use": "ODT",
        "floors": floors,
        "height_m": height,
        "total_floor_area_m2": area if area is not None else round(fp.area * floors * 0.5, 2),
        "ground_floor_elev_m": 4.0,
    }
    proposal = parse_request(body)
    fp9214 = shapely.from_wkb(proposal.footprint_wkb)
    site = Site(site.lot, fp9214, site.parcel, site.zones, site.red_lines, site.building_lines, (), site.plans)
    roads = roads_of(site)
    results = evaluate(proposal, site, roads, place(site, roads, fp9214))
    return {
        r.id + "/" + str((r.zone or {}).get("zone_code")) + "/" + str((r.road or {}).get("name")): r for r in results
    }


def _failed(results: dict[str, Any]) -> set[str]:
    return {k for k, r in results.items() if r.status == "fail"}


def _envelope_footprint(site: Site) -> tuple[BaseGeometry, int, float] | None:
    env = envelope_of(site)
    if env.footprint.is_empty or env.footprint.area < 4:
        return None
    return env.footprint, int(env.capacity["floors"].value or 1), float(env.capacity["height_m"].value or 3)


@SETTINGS
@given(sites(), st.floats(0.05, 2.0))
def test_shrinking_a_compliant_footprint_never_makes_it_fail(case: dict[str, Any], inset: float) -> None:
    site = case["site"]
    found = _envelope_footprint(site)
    if found is None:
        return
    fp, floors, height = found
    before = _check(site, fp, floors=floors, height=height)
    assert not _failed(before), {k: r.message_en for k, r in before.items() if r.status == "fail"}
    smaller = fp.buffer(-inset, join_style="mitre")
    if smaller.is_empty or smaller.area < 1:
        return
    after = _check(site, smaller, floors=floors, height=height)
    assert not _failed(after), {k: r.message_en for k, r in after.items() if r.status == "fail"}


@SETTINGS
@given(sites(), st.floats(0.1, 6.0), st.floats(0.0, 3.0))
def test_moving_away_from_the_roads_never_fails_a_setback(case: dict[str, Any], back: float, side: float) -> None:
    site = case["site"]
    found = _envelope_footprint(site)
    if found is None:
        return
    fp, floors, height = found
    # away from the road along y = 0 (north) and, for a corner lot, from the side road (east); kept inside the lot
    moved = translate(fp, side if len(site.red_lines) > 1 else 0.0, back)
    if not moved.within(site.lot.buffer(1e-6)):
        return
    before = _check(site, fp, floors=floors, height=height)
    after = _check(site, moved, floors=floors, height=height)
    setbacks = {k for k in _failed(after) if k.startswith(("building_line", "red_line_setback"))}
    assert not setbacks, {k: after[k].message_en for k in setbacks}
    assert not {k for k in _failed(before) if k.startswith(("building_line", "red_line_setback"))}


@SETTINGS
@given(sites())
def test_the_envelope_stays_within_the_lots_buildable_part(case: dict[str, Any]) -> None:
    site = case["site"]
    env = envelope_of(site)
    net = env.net_lot
    assert env.buildable.area <= net.area + 1e-6
    assert shapely.difference(env.buildable, net).area < 1e-4
    assert env.footprint.area <= env.buildable.area + 1e-6
    if env.roads.road_part.area > 0:  # a lot cut by the red line: the road's part is not buildable
        assert shapely.intersection(env.buildable, env.roads.road_part).area < 1e-4


def _reordered(geom: BaseGeometry, start: int, reverse: bool) -> BaseGeometry:
    ring = list(geom.exterior.coords)[:-1]
    ring = ring[start % len(ring) :] + ring[: start % len(ring)]
    if reverse:
        ring.reverse()
    return Polygon(ring)


@SETTINGS
@given(sites(), st.integers(0, 7), st.booleans())
def test_answers_do_not_depend_on_vertex_order(case: dict[str, Any], start: int, reverse: bool) -> None:
    site = case["site"]
    env = envelope_of(site)
    other = Site(
        _reordered(site.lot, start, reverse),
        None,
        site.parcel,
        site.zones,
        site.red_lines,
        site.building_lines,
        (),
        site.plans,
    )
    env2 = envelope_of(other)
    assert abs(env.buildable.area - env2.buildable.area) < 1e-3
    assert abs(env.footprint.area - env2.footprint.area) < 0.05
    assert {k: c.value for k, c in env.capacity.items() if k != "footprint_m2"} == {
        k: c.value for k, c in env2.capacity.items() if k != "footprint_m2"
    }
    found = _envelope_footprint(site)
    if found is None:
        return
    fp, floors, height = found
    if fp.geom_type != "Polygon":
        return
    a = _check(site, fp, floors=floors, height=height, area=100.0)
    b = _check(other, _reordered(fp, start + 1, not reverse), floors=floors, height=height, area=100.0)
    assert {k: (r.status, r.value) for k, r in a.items()} == {k: (r.status, r.value) for k, r in b.items()}
