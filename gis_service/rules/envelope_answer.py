"""The envelope as users receive it: JSON (CRS84 or EPSG:9214) and its 3D solid (as glb: :mod:`tiles.envelope_glb`).

The solid is the buildable area of each zone the lot may be built in, extruded from the ground to that zone's height
limit (else its floors times :data:`~gis_service.rules.limits.STOREY_M`).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

from gis_service.rules.drawing import geojson
from gis_service.rules.envelope import Envelope
from gis_service.rules.limits import STOREY_M

__all__ = ["CRS_NAMES", "envelope_answer", "envelope_summary", "max_proposal", "solid_parts", "to_crs84"]

CRS_NAMES = {
    "CRS84": "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
    "EPSG:9214": "http://www.opengis.net/def/crs/EPSG/0/9214",
}


@functools.cache
def _to_crs84() -> Transformer:
    # pyproj takes the official VN-2000 shift (EPSG:6960) for this pair, as the database does
    return Transformer.from_crs("EPSG:9214", "OGC:CRS84", always_xy=True)


def to_crs84(geom: BaseGeometry) -> BaseGeometry:
    """A geometry in EPSG:9214 to CRS84 lon/lat."""
    if geom.is_empty:
        return geom
    t = _to_crs84()

    def fn(xy: np.ndarray) -> np.ndarray:
        x, y = t.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, fn)


def _geo(geom: BaseGeometry, crs: str) -> dict[str, Any] | None:
    if crs == "CRS84":
        return geojson(to_crs84(geom), precision=9)
    return geojson(geom, precision=4)


def solid_parts(env: Envelope) -> list[tuple[BaseGeometry, float, dict[str, Any]]]:
    """The envelope's solid: ``(part of the buildable area, top in metres, zone properties)`` for each zone.

    Each part is the buildable area within one zone the lot may be built in, up to that zone's height limit (else
    its floors times :data:`~gis_service.rules.limits.STOREY_M`); zones without either are left out. The glb of
    :mod:`tiles.envelope_glb` and the JSON answer draw the same parts.
    """
    out = []
    for info in env.parts:
        zone = next(z for z in env.site.zones if z.id == info["zone_id"])
        part = shapely.intersection(env.buildable, zone.geom)
        if shapely.area(part) < 0.01:
            continue
        top = zone.max_height_m or (zone.max_floors * STOREY_M if zone.max_floors else None)
        if not top:
            continue
        out.append((part, float(top), {"zone_code": zone.zone_code, "floors": zone.max_floors}))
    return out


def envelope_summary(env: Envelope) -> dict[str, Any]:
    """The envelope's figures without geometry (for the lookup answer)."""
    return {
        "status": env.status,
        "use": env.use,
        "category": env.category,
        "lot_area_m2": round(float(shapely.area(env.site.lot)), 2),
        "road_area_m2": round(float(shapely.area(env.roads.road_part)), 2),
        "net_lot_area_m2": round(float(shapely.area(env.net_lot)), 2),
        "buildable_area_m2": round(float(shapely.area(env.buildable)), 2),
        "capacity": {k: c.as_dict() for k, c in env.capacity.items()},
        "fronts": env.fronts,
        "access": _access(env),
        "zones": env.parts,
        "notes_vi": env.notes_vi,
        "notes_en": env.notes_en,
    }


def _access(env: Envelope) -> dict[str, Any]:
    if env.roads.fronts:
        return {"kind": "road", "roads": [r.name for r in env.roads.fronts]}
    if env.site.alleys:
        a = min(env.site.alleys, key=lambda a: (shapely.distance(a.geom, env.site.lot), a.id))
        return {"kind": "alley", "name": a.name, "width_m": a.width_m}
    return {"kind": "none"}


def envelope_answer(env: Envelope, *, crs: str = "CRS84") -> dict[str, Any]:
    """The full answer: figures, the lot, road land, buildable area, largest footprint and solid (GeoJSON)."""
    parcel = env.site.parcel
    solid = [
        {
            "type": "Feature",
            "geometry": _geo(geom, crs),
            "properties": {**props, "base_m": 0.0, "top_m": top, "height_m": top},
        }
        for geom, top, props in solid_parts(env)
    ]
    return {
        "parcel": parcel and {k: v for k, v in parcel.items() if k not in ("history_id",)},
        "crs": CRS_NAMES[crs],
        **envelope_summary(env),
        "geometry": {
            "lot": _geo(env.site.lot, crs),
            "road_part": _geo(env.roads.road_part, crs),
            "buildable": _geo(env.buildable, crs),
            "max_footprint": _geo(env.footprint, crs),
        },
        "solid": {"type": "FeatureCollection", "features": solid},
        "max_proposal": max_proposal(env, crs=crs),
    }


def max_proposal(env: Envelope, *, crs: str = "EPSG:9214") -> dict[str, Any] | None:
    """The largest building the envelope allows, as a permit-check request (``None`` when nothing may be built).

    Its footprint fills the buildable area as far as the density allows, at the envelope's floors, height, floor
    area and ground level: the check answers ``compliant`` (or ``needs_review`` where the plan has no data).
    """
    if env.footprint.is_empty or env.site.parcel is None:
        return None
    cap = env.capacity
    body: dict[str, Any] = {
        "parcel_id": env.site.parcel["id"],
        "footprint": _geo(env.footprint, crs),
        "crs": crs,
        "use": env.use,
    }
    floors = cap.get("floors")
    if floors is not None and floors.value is not None:
        body["floors"] = int(floors.value)
    height = cap.get("height_m")
    if height is not None and height.value is not None:
        body["height_m"] = height.value
    elif floors is not None and floors.value is not None:
        body["height_m"] = round(floors.value * STOREY_M, 2)
    area = cap.get("floor_area_m2")
    if area is not None and area.value is not None:
        body["total_floor_area_m2"] = area.value
    ground = cap.get("min_ground_elev_m")
    if ground is not None and ground.value is not None:
        body["ground_floor_elev_m"] = ground.value
    return body
