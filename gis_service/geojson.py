"""Reading GeoJSON geometries sent to the service: one reader for the editing API and the permit checks.

:func:`parse_geometry` checks what every caller needs (a JSON object, one of the wanted types, readable, not empty)
and drops a Z coordinate; each caller adds its own checks (CRS, service area, validity) and words the problem for
its users from :attr:`GeoJSONError.problem`.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any, Literal

import shapely
from shapely.geometry.base import BaseGeometry

__all__ = ["GeoJSONError", "Problem", "parse_geometry"]

#: Which check a geometry failed.
Problem = Literal["object", "type", "unreadable", "empty"]


class GeoJSONError(ValueError):
    """A GeoJSON geometry that cannot be taken.

    Attributes
    ----------
    problem
        ``"object"``: not a JSON object; ``"type"``: not one of the wanted types; ``"unreadable"``: the geometry
        reader refused it; ``"empty"``: it has no coordinates.
    detail
        For ``"unreadable"``, the first line of the reader's complaint; else empty.
    """

    def __init__(self, problem: Problem, detail: str = "") -> None:
        super().__init__(f"{problem}: {detail}" if detail else problem)
        self.problem: Problem = problem
        self.detail = detail


def parse_geometry(value: Any, kinds: Collection[str]) -> BaseGeometry:
    """A GeoJSON geometry object as a 2D shapely geometry (a Z coordinate is dropped).

    Parameters
    ----------
    value
        The geometry object as parsed from JSON.
    kinds
        The GeoJSON types taken, e.g. ``("Polygon", "MultiPolygon")``.

    Raises
    ------
    GeoJSONError
        Not an object, not of ``kinds``, unreadable or empty (in that order of checks).
    """
    if not isinstance(value, Mapping):
        raise GeoJSONError("object")
    if value.get("type") not in kinds:
        raise GeoJSONError("type")
    try:
        geom = shapely.from_geojson(json.dumps(value))
    except (shapely.errors.GEOSException, ValueError, TypeError) as exc:
        raise GeoJSONError("unreadable", str(exc).splitlines()[0]) from None
    if geom.is_empty:
        raise GeoJSONError("empty")
    if shapely.has_z(geom):
        geom = shapely.force_2d(geom)
    return geom
