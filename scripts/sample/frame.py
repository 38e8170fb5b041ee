"""The local frame of the sample and what every layer shares."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely
import shapely.affinity
from pyproj import Transformer
from shapely.geometry import LineString, Point, Polygon

CRS = "EPSG:9214"
ZONING_CODE = "46QPK0000001"
DETAILED_CODE = "46QCT0000001"
SEED = 20250716

TO_9214 = Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
#: The project's control point (WGS84 lon 107.5790, lat 16.4698), in EPSG:9214: it lies in the Imperial City.
CONTROL = TO_9214.transform(107.5790, 16.4698)

#: The citadel: a square of 2,235 m a side, turned 45° from east (its south-east face along the river).
SIDE = 2235.0
AXIS_U = SIDE / 2  # the axis through the Kỳ Đài, the Ngọ Môn and the Imperial City
ANGLE = 45.0
#: Where the control point lies in the frame: in the Imperial City (u 817.5-1417.5, v 280-880).
CONTROL_UV = (1337.5, 680.0)

_COS, _SIN = math.cos(math.radians(ANGLE)), math.sin(math.radians(ANGLE))
ORIGIN = (
    CONTROL[0] - (CONTROL_UV[0] * _COS - CONTROL_UV[1] * _SIN),
    CONTROL[1] - (CONTROL_UV[0] * _SIN + CONTROL_UV[1] * _COS),
)


def to_world(geom: Any) -> Any:
    """A shape of the frame in EPSG:9214."""
    return shapely.affinity.affine_transform(geom, [_COS, -_SIN, _SIN, _COS, ORIGIN[0], ORIGIN[1]])


def frame_of(x: float, y: float) -> tuple[float, float]:
    """EPSG:9214 → frame."""
    dx, dy = x - ORIGIN[0], y - ORIGIN[1]
    return dx * _COS + dy * _SIN, -dx * _SIN + dy * _COS


def frame_of_lonlat(lon: float, lat: float) -> tuple[float, float]:
    """WGS84 lon/lat → frame."""
    return frame_of(*TO_9214.transform(lon, lat))


def world_xy(u: float, v: float) -> tuple[float, float]:
    """Frame → EPSG:9214 (:func:`frame_of` inverted)."""
    return ORIGIN[0] + u * _COS - v * _SIN, ORIGIN[1] + u * _SIN + v * _COS


def rect(u0: float, v0: float, u1: float, v1: float) -> Polygon:
    """The rectangle from (u0, v0) to (u1, v1)."""
    return Polygon([(u0, v0), (u1, v0), (u1, v1), (u0, v1)])


def line(*pts: tuple[float, float]) -> LineString:
    """A line through the points."""
    return LineString(pts)


def pt(u: float, v: float) -> Point:
    """The point (u, v)."""
    return Point(u, v)


def polygons(geom: Any) -> list[Polygon]:
    """The polygons of a shape (a polygon, a multipolygon or a collection), empty ones left out."""
    return [g for g in shapely.get_parts(geom) if isinstance(g, Polygon) and not g.is_empty]


def largest(geom: Any) -> Polygon:
    """The largest polygon of a shape."""
    parts = polygons(geom)
    return max(parts, key=lambda p: p.area)


def mandatory(code: str, i: int, kind: str, name: str, category: str, note: str = "") -> dict[str, str]:
    """The six TT 16/2025 fields every layer carries (``maDoiTuong`` unique within the layer)."""
    return {
        "maThongTinQH": f"{code}{i:04d}",
        "maHoSoQH": code,
        "maDoiTuong": f"{kind}-{i:04d}",
        "tenDoiTuong": name,
        "phanLoai": category,
        "ghiChu": note,
    }


def rng(stream: int) -> np.random.Generator:
    """A random source of its own per part of the sample: a change in one part leaves the others as they were."""
    return np.random.default_rng([SEED, stream])
