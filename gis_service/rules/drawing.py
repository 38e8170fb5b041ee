"""The drawing of a check for its printed report: lot, zones, footprint, red line, building line, measured setback.

GeoJSON geometries in EPSG:9214 metres (to the mm), cut to the lot's surroundings.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gis_service.rules.footprint import Placement
from gis_service.rules.roads import Roads, polygonal
from gis_service.rules.site import Site

__all__ = ["drawing_of", "geojson"]

#: How far around the lot the drawing reaches (m).
MARGIN_M = 80.0


def geojson(geom: BaseGeometry | None, precision: int = 3) -> dict[str, Any] | None:
    """A shapely geometry as a GeoJSON dict (``None`` when empty)."""
    if geom is None or geom.is_empty:
        return None
    rounded = shapely.transform(geom, lambda xy: np.round(xy, precision))
    if not shapely.is_valid(rounded):
        # rounding (or a transform) made two edges that nearly touched cross: snap to the grid keeping the shape
        # valid instead, and repair what is still not
        with contextlib.suppress(shapely.errors.GEOSException):  # the reducer gives up on some folded shapes
            rounded = shapely.set_precision(geom, 10.0**-precision)
        if not shapely.is_valid(rounded):
            rounded = polygonal(shapely.make_valid(rounded))
    result: dict[str, Any] = json.loads(shapely.to_geojson(rounded))
    return result


def drawing_of(site: Site, roads: Roads, placed: Placement) -> dict[str, Any]:
    """What the report draws (see the module docstring)."""
    view = shapely.box(*shapely.bounds(site.lot)).buffer(MARGIN_M, join_style="mitre")
    front = roads.main_front
    setback = None
    if front is not None:
        setback = shapely.shortest_line(placed.geom, front.red)
    return {
        "lot": geojson(site.lot),
        "footprint": geojson(placed.geom),
        "zones": [
            {
                "zone_code": p.zone.zone_code,
                "land_use_code": p.zone.land_use_code,
                "color": p.zone.color,
                "geom": geojson(shapely.intersection(p.area, view)),
            }
            for p in placed.parts
        ],
        "red_line": None if front is None else geojson(shapely.intersection(front.red, view)),
        "building_line": None if front is None or front.bl is None else geojson(shapely.intersection(front.bl, view)),
        "setback": geojson(setback),
    }
