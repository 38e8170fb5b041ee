"""The roads a lot faces, measured from first principles.

* A red line belongs to a road (its ``road_name``, else the line itself). For each road near the lot, the red line on
  the lot's side is the nearest one of that road; the **road side** of it is the side holding less of the lot (a lot
  lies behind its red line, except the strip a widened road takes from it).
* The part of the lot on a road side is road land (**road part**): not buildable. What is left is the **net lot**.
* A lot **faces** a road when its net part lies within :data:`FACE_M` of the road's red line: a corner lot faces two
  roads, a back lot none (it is reached by a kiệt, judged by the access rule). The **address road** is the one its
  cadastral record names (``tenDuong``), else the road with the longest frontage.
* A building line belongs to the road of the same name (and plan); unnamed lines are matched to the red line they run
  beside on the lot's side. The building line's road side (towards the red line) is not buildable.

Everything is in EPSG:9214 metres, computed with shapely on the rows of a :class:`~gis_service.rules.site.Site`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import shapely
from shapely.geometry import LineString, MultiLineString
from shapely.geometry.base import BaseGeometry

from gis_service.rules.site import Line, Site

__all__ = ["FACE_M", "Road", "Roads", "roads_of"]

#: A lot faces a road when it lies within this distance of the road's red line (m).
FACE_M = 1.0
#: Depth of the one-sided regions that tell a line's two sides apart (m): more than any lot or road is deep.
SIDE_M = 80.0
#: A building line more than this far from its red line is not taken as that road's (m).
BUILDING_LINE_REACH_M = 40.0
#: Areas below this are digitising noise (m²).
MIN_AREA_M2 = 0.01
EMPTY = shapely.GeometryCollection()


def _sides(line: BaseGeometry, depth: float) -> tuple[BaseGeometry, BaseGeometry]:
    """(left, right) one-sided regions of a line, ``depth`` deep, flat ends."""
    left = shapely.buffer(line, depth, single_sided=True)
    right = shapely.buffer(line, -depth, single_sided=True)
    return left, right


def _merge(geoms: list[BaseGeometry]) -> BaseGeometry:
    merged = shapely.line_merge(shapely.union_all(geoms)) if len(geoms) > 1 else geoms[0]
    return merged


@dataclass(frozen=True)
class Road:
    """One road near the lot, with its red line (and building line) on the lot's side."""

    key: str
    name: str | None
    width_m: float | None
    red_line: Line
    red: BaseGeometry
    road_side: BaseGeometry
    road_part: BaseGeometry
    building_line: Line | None
    bl: BaseGeometry | None
    bl_road_side: BaseGeometry | None
    bl_setback_m: float | None
    faces: bool
    frontage_m: float

    @property
    def label(self) -> str:
        """The road's name, else its red line's id."""
        return self.name or f"chỉ giới đường đỏ #{self.red_line.id}"

    def ref(self) -> dict[str, Any]:
        """What a rule measured against: the road, its red line and building line, the lot's frontage on it."""
        return {
            "name": self.name,
            "width_m": self.width_m,
            "red_line_id": self.red_line.id,
            "building_line_id": None if self.building_line is None else self.building_line.id,
            "building_line_setback_m": self.bl_setback_m,
            "frontage_m": round(self.frontage_m, 3),
        }


@dataclass(frozen=True)
class Roads:
    """The roads around a lot and what they take from it."""

    lot: BaseGeometry
    roads: tuple[Road, ...]
    address_road: str | None

    @cached_property
    def road_part(self) -> BaseGeometry:
        """The lot's land inside the red lines (road land)."""
        parts = [r.road_part for r in self.roads if not r.road_part.is_empty]
        return shapely.union_all(parts) if parts else EMPTY

    @cached_property
    def net_lot(self) -> BaseGeometry:
        """The lot less road land."""
        if self.road_part.is_empty:
            return self.lot
        return polygonal(shapely.difference(self.lot, self.road_part))

    @property
    def fronts(self) -> tuple[Road, ...]:
        """The roads the lot faces (its fronts), the address road first."""
        facing = [r for r in self.roads if r.faces]
        return tuple(sorted(facing, key=lambda r: (r.name != self.address_road, -r.frontage_m, r.red_line.id)))

    def with_main_width(self, width_m: float | None) -> Roads:
        """The same roads, the main front's width given by the user (e.g. a road the plan records no width for)."""
        main = self.main_front
        if width_m is None or main is None:
            return self
        roads = tuple(dataclasses.replace(r, width_m=width_m) if r is main else r for r in self.roads)
        return Roads(self.lot, roads, self.address_road)

    @property
    def main_front(self) -> Road | None:
        """The first of :attr:`fronts` (``None`` for a back lot)."""
        fronts = self.fronts
        return fronts[0] if fronts else None


def polygonal(geom: BaseGeometry) -> BaseGeometry:
    """The polygons of a result (an overlay can add stray lines and points where shapes touch)."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else EMPTY


def solid_parts(geom: BaseGeometry) -> BaseGeometry:
    """The polygons of a result larger than digitising noise (overlays leave slivers and spikes along shared edges)."""
    if not shapely.is_valid(geom):
        geom = shapely.make_valid(geom)  # a zero-width spike along an edge becomes a line, dropped below
    geom = polygonal(geom)
    if geom.is_empty:
        return EMPTY
    polys = [g for g in shapely.get_parts(geom) if shapely.area(g) >= MIN_AREA_M2]
    if not polys:
        return EMPTY
    return shapely.MultiPolygon(polys) if len(polys) > 1 else polys[0]


def _frontage(net_lot: BaseGeometry, red: BaseGeometry) -> float:
    """Length of the lot's edge that runs along the red line (within FACE_M), measured along the red line."""
    near = shapely.intersection(net_lot.boundary, shapely.buffer(red, FACE_M, cap_style="flat"))
    if near.is_empty:
        return 0.0
    spans: list[tuple[float, float]] = []
    for part in shapely.get_parts(shapely.line_merge(near) if near.geom_type != "Point" else near):
        if not isinstance(part, LineString) or part.length == 0:
            continue
        coords = shapely.get_coordinates(part)
        positions = shapely.line_locate_point(_as_line(red), shapely.points(coords))
        spans.append((float(positions.min()), float(positions.max())))
    spans.sort()
    total, end = 0.0, float("-inf")
    for a, b in spans:  # length of the union of the projected spans
        if b <= end:
            continue
        total += b - max(a, end)
        end = b
    return total


def _as_line(geom: BaseGeometry) -> BaseGeometry:
    """A red line as one line to project on (merged; the longest part if it stays in pieces)."""
    if isinstance(geom, MultiLineString):
        return max(geom.geoms, key=lambda g: g.length)
    return geom


def _road_key(line: Line) -> str:
    return f"{line.plan_id}:{line.road_name}" if line.road_name else f"{line.plan_id}:#{line.id}"


def _building_line(site: Site, red_line: Line, red: BaseGeometry, lot_side: BaseGeometry) -> Line | None:
    """The building line of this road on the lot's side: the same road (by name, then plan), nearest its red line."""
    best: tuple[tuple[bool, float], Line] | None = None
    for b in site.building_lines:
        if b.plan_id != red_line.plan_id:
            continue
        named = bool(red_line.road_name and b.road_name)
        if named and b.road_name != red_line.road_name:
            continue
        gap = float(shapely.distance(b.geom, red))
        if gap > BUILDING_LINE_REACH_M:
            continue
        # on the lot's side of the red line, or on it (a 0 m setback): the other side's line is across the road
        mid = shapely.line_interpolate_point(_as_line(b.geom), 0.5, normalized=True)
        if shapely.distance(mid, lot_side) > 0.01:
            continue
        rank = (not named, gap)  # a line of the road's own name first, then an unnamed one beside it
        if best is None or rank < best[0]:
            best = (rank, b)
    return None if best is None else best[1]


def _sided_red_lines(site: Site) -> list[tuple[Line, BaseGeometry, BaseGeometry, BaseGeometry]]:
    """Each road's red line near the lot, merged, with its road side and the lot's side."""
    lot = site.lot
    top = max(r.plan_rank for r in site.red_lines)  # the most detailed plan drawing red lines here governs
    by_road: dict[str, list[Line]] = {}
    for r in site.red_lines:
        if r.plan_rank == top:
            by_road.setdefault(_road_key(r), []).append(r)
    pending = []
    for lines in by_road.values():
        dist = [float(shapely.distance(r.geom, lot)) for r in lines]
        nearest = min(dist)
        own = [r for r, d in zip(lines, dist, strict=True) if d <= nearest + FACE_M]
        red = _merge([r.geom for r in own])
        left, right = _sides(red, SIDE_M)
        on_left, on_right = (
            shapely.area(shapely.intersection(left, lot)),
            shapely.area(shapely.intersection(right, lot)),
        )
        if on_left == on_right:  # the lot lies beyond the ends of this line: it says nothing here
            continue
        road_side, lot_side = (left, right) if on_left < on_right else (right, left)
        pending.append((own[0], red, road_side, lot_side))
    return pending


def _building_line_side(bl_line: Line, red: BaseGeometry, road_side: BaseGeometry) -> tuple[BaseGeometry, float | None]:
    """A building line's road side, and its setback from the red line (as drawn when not recorded)."""
    bl = bl_line.geom
    left, right = _sides(bl, SIDE_M)
    toward_road = shapely.area(shapely.intersection(left, road_side)) >= shapely.area(
        shapely.intersection(right, road_side)
    )
    setback = bl_line.setback_m
    if setback is None:
        setback = round(float(shapely.hausdorff_distance(bl, red)), 3)
    return (left if toward_road else right), setback


def roads_of(site: Site) -> Roads:
    """The roads around the site's lot: road parts, fronts, frontages, building lines (see the module docstring)."""
    lot = site.lot
    if not site.red_lines:
        return Roads(lot, (), site.address_road)
    pending = _sided_red_lines(site)
    roads: list[Road] = []
    road_parts = [polygonal(shapely.intersection(lot, side)) for _, _, side, _ in pending]
    union = shapely.union_all([p for p in road_parts if shapely.area(p) >= MIN_AREA_M2]) if road_parts else EMPTY
    net = lot if union.is_empty else polygonal(shapely.difference(lot, union))
    for (line, red, road_side, lot_side), part in zip(pending, road_parts, strict=True):
        bl_line = _building_line(site, line, red, lot_side)
        bl = None if bl_line is None else bl_line.geom
        bl_side = setback = None
        if bl is not None and bl_line is not None:
            bl_side, setback = _building_line_side(bl_line, red, road_side)
        faces = not net.is_empty and shapely.distance(net, red) <= FACE_M
        roads.append(
            Road(
                key=_road_key(line),
                name=line.road_name,
                width_m=line.width_m,
                red_line=line,
                red=red,
                road_side=road_side,
                road_part=part if shapely.area(part) >= MIN_AREA_M2 else EMPTY,
                building_line=bl_line,
                bl=bl,
                bl_road_side=bl_side,
                bl_setback_m=setback,
                faces=faces,
                frontage_m=_frontage(net, red) if faces else 0.0,
            )
        )
    return Roads(lot, tuple(roads), site.address_road)
