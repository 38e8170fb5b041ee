"""The buildable envelope of a parcel as a glTF model: its solid, extruded in the east-north-up frame of the lot.

The solid itself (which zone's part, up to which height) is the rules' (:func:`gis_service.rules.envelope_answer.
solid_parts`); this module only meshes it with the tiler's own geodesy, mesh and glb writers.
"""

from __future__ import annotations

import numpy as np
import shapely

from gis_service.rules.envelope import Envelope
from gis_service.rules.envelope_answer import solid_parts, to_crs84
from tiles.geodesy import enu_frame
from tiles.glb import Property, glb_bytes
from tiles.mesh import extrude

__all__ = ["envelope_glb"]


def envelope_glb(env: Envelope) -> tuple[bytes, tuple[float, float]]:
    """The solid as a glb in the east-north-up frame at the lot's centre (ground at 0 m).

    Parameters
    ----------
    env
        The parcel's envelope (:func:`gis_service.rules.envelope_of`).

    Returns
    -------
    tuple
        ``(glb bytes, (lon, lat))``, the lot's centre in CRS84 being the model's origin.

    Raises
    ------
    ValueError
        Nothing may be built on the lot: the envelope has no solid.
    """
    parts = solid_parts(env)
    centre = to_crs84(shapely.centroid(env.site.lot))
    lon, lat = float(centre.x), float(centre.y)
    if not parts:
        raise ValueError("nothing may be built on this lot: the envelope has no solid")
    geoms = np.array([to_crs84(g) for g, _t, _p in parts], dtype=object)
    origin, rotation = enu_frame(lon, lat, 0.0)
    heights = np.array([t for _g, t, _p in parts], dtype=np.float64)
    mesh = extrude(geoms, np.zeros(len(parts)), heights, origin, rotation)
    colors = np.array([(46, 125, 200, 110)] * len(parts), dtype=np.uint8)
    props = [
        Property("zone_code", "STRING", "Ô quy hoạch / Zone"),
        Property("height_m", "FLOAT64", "Chiều cao tối đa (m) / Height limit (m)"),
    ]
    data = glb_bytes(
        mesh,
        colors=colors,
        translation=np.zeros(3),
        class_id="envelope",
        class_name="Khối xây dựng tối đa / Buildable envelope",
        properties=props,
        columns={"zone_code": [p.get("zone_code") or "" for _g, _t, p in parts], "height_m": heights.tolist()},
        translucent=True,
        compact=False,  # a single model people download and open anywhere: no required extensions
    )
    return data, (lon, lat)
