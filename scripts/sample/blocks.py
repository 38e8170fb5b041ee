"""Blocks: the land of an area between the streets' red lines. Each side of a block knows the street it faces, so
its red line is the block's edge and its building line lies the street's setback inside it."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import LineString, Polygon
from shapely.geometry.polygon import orient

from sample.frame import polygons
from sample.network import ROADS, Area, Road, road_areas

BIG = 5000.0


@dataclass(frozen=True)
class Side:
    """A straight side of a block, counter-clockwise (the block on its left), and the street it faces (if any)."""

    a: tuple[float, float]
    b: tuple[float, float]
    road: Road | None

    @property
    def length(self) -> float:
        """The side's length in metres."""
        return math.dist(self.a, self.b)

    @property
    def e(self) -> np.ndarray:
        """Unit vector along the side."""
        d = np.subtract(self.b, self.a)
        unit: np.ndarray = d / np.linalg.norm(d)
        return unit

    @property
    def n(self) -> np.ndarray:
        """Unit vector into the block."""
        e = self.e
        return np.array([-e[1], e[0]])

    def pt(self, s: float, t: float) -> np.ndarray:
        """The point ``s`` metres along the side and ``t`` metres into the block."""
        return np.asarray(self.a) + s * self.e + t * self.n

    def st(self, p: np.ndarray) -> tuple[float, float]:
        """Where a point lies: ``s`` metres along the side, ``t`` metres into the block (:meth:`pt` inverted)."""
        d = np.asarray(p) - np.asarray(self.a)
        return float(d @ self.e), float(d @ self.n)

    def band(self, t0: float, t1: float) -> Polygon:
        """The strip ``t0 <= t <= t1`` along the (endless) side."""
        return Polygon(
            [self.pt(-BIG, t0), self.pt(self.length + BIG, t0), self.pt(self.length + BIG, t1), self.pt(-BIG, t1)]
        )

    def line(self) -> LineString:
        """The side as a line from ``a`` to ``b``."""
        return LineString([self.a, self.b])


@dataclass
class Block:
    """A block: the land of an area between red lines, with its sides in counter-clockwise order."""

    key: str
    area: str
    poly: Polygon
    sides: list[Side]

    def sides_on(self, road_name: str) -> list[int]:
        """The indexes of the sides facing the street ``road_name``."""
        return [i for i, s in enumerate(self.sides) if s.road is not None and s.road.name == road_name]


def _facing(a: tuple[float, float], b: tuple[float, float]) -> Road | None:
    """The street whose red line runs along the edge a-b (both ends and the middle at half its width)."""
    best: tuple[float, Road] | None = None
    pts = [shapely.Point(a), shapely.Point(b), shapely.Point((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)]
    for r in ROADS:
        errs = [abs(r.centre.distance(p) - r.width / 2) for p in pts]
        if max(errs) < 0.02 and (best is None or max(errs) < best[0]):
            best = (max(errs), r)
    return best[1] if best else None


def make_blocks(areas: list[Area], cut: Polygon | None = None) -> list[Block]:
    """The blocks of each area (the area less the streets and ``cut``), ordered and keyed by area."""
    roads = road_areas()
    out: list[Block] = []
    for area in areas:
        rest = area.region.difference(roads)
        if cut is not None:
            rest = rest.difference(cut)
        parts = [p for p in polygons(rest) if p.area > 150.0]
        parts.sort(key=lambda p: (round(p.centroid.y, -1), p.centroid.x))
        for k, part in enumerate(parts, start=1):
            poly = orient(part.simplify(0.005), sign=1.0)
            coords = list(poly.exterior.coords)[:-1]
            sides = [Side(coords[i], coords[(i + 1) % len(coords)], None) for i in range(len(coords))]
            sides = [Side(s.a, s.b, _facing(s.a, s.b)) for s in sides]
            out.append(Block(f"{area.key}-{k:02d}", area.key, poly, sides))
    return out


def block_at(blocks: list[Block], u: float, v: float) -> Block:
    """The block holding the point (u, v) of the frame."""
    p = shapely.Point(u, v)
    return next(b for b in blocks if b.poly.contains(p))


def corner_region(block: Block, road_a: str, depth_a: float, road_b: str, depth_b: float) -> Polygon:
    """The corner of a block where two streets meet: within ``depth_a`` of the one and ``depth_b`` of the other."""
    from shapely.ops import unary_union

    band_a = unary_union([block.sides[i].band(-1.0, depth_a) for i in block.sides_on(road_a)])
    band_b = unary_union([block.sides[i].band(-1.0, depth_b) for i in block.sides_on(road_b)])
    shape: Polygon = block.poly.intersection(band_a).intersection(band_b)
    return shape


@dataclass
class StreetLine:
    """A red line or a building line: the street, its red-line width, the setback, the line."""

    road: Road
    geom: LineString
    block: str
    setback: float


def red_lines(blocks: list[Block]) -> list[StreetLine]:
    """One red line per block side on a street: the block's edge (consecutive sides on one street merged)."""
    out = []
    for blk in blocks:
        runs: list[tuple[Road, list[tuple[float, float]]]] = []
        for s in blk.sides:
            if s.road is None:
                continue
            if runs and runs[-1][0] is s.road and runs[-1][1][-1] == s.a:
                runs[-1][1].append(s.b)
            else:
                runs.append((s.road, [s.a, s.b]))
        if len(runs) > 1 and runs[0][0] is runs[-1][0] and runs[-1][1][-1] == runs[0][1][0]:
            road, pts = runs.pop()
            runs[0] = (road, pts + runs[0][1][1:])
        out += [StreetLine(road, LineString(pts), blk.key, 0.0) for road, pts in runs]
    return out


def building_lines(blocks: list[Block]) -> list[StreetLine]:
    """Each street's building line, its setback inside the block (on the red line where the setback is 0)."""
    out = []
    for red in red_lines(blocks):
        blk = next(b for b in blocks if b.key == red.block)
        s = red.road.setback
        if s == 0:
            out.append(StreetLine(red.road, red.geom, red.block, 0.0))
            continue
        shifted = red.geom.offset_curve(s, join_style="mitre")  # the block lies on the left of its red lines
        longer = _extend(shifted, s * 3 + 5)
        inside = longer.intersection(blk.poly)
        for part in shapely.get_parts(shapely.line_merge(inside) if inside.geom_type == "MultiLineString" else inside):
            if isinstance(part, LineString) and part.length > 1.0:
                out.append(StreetLine(red.road, part, red.block, s))
    return out


def _extend(line: LineString, by: float) -> LineString:
    c = np.asarray(line.coords)
    d0 = (c[0] - c[1]) / np.linalg.norm(c[0] - c[1])
    d1 = (c[-1] - c[-2]) / np.linalg.norm(c[-1] - c[-2])
    return LineString([c[0] + by * d0, *c[1:-1], c[-1] + by * d1])
