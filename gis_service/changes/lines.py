"""The red lines and building lines of two plan versions compared, in one statement per layer (``lines.sql``).

A line is found again as the very same line of the same road (a draft's copy), else as the nearest line of the
same road within :data:`REACH_M`. A pair differs when it moved by :data:`MIN_SHIFT_M` or more (its largest shift:
the Hausdorff distance between the two) or an attribute (width, setback, notes) changed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any, Literal

import psycopg

from gis_service.changes.statements import Statement
from gis_service.changes.zones import AttributeChange, attribute_changes
from gis_service.model.columns import Column
from gis_service.model.layers import BUILDING_LINES, PROVENANCE, RED_LINES, Layer

__all__ = ["BUFFER_M", "LINE_LAYERS", "MIN_SHIFT_M", "REACH_M", "LineChange", "compare_lines"]

#: A line moved less than this is the same line (m).
MIN_SHIFT_M = 0.01
#: A line moved further than this is another line: the old one removed, a new one added (m).
REACH_M = 50.0
#: How wide the changed region is around a line that changed (m).
BUFFER_M = 1.0
#: The line layers compared.
LINE_LAYERS: tuple[Layer, ...] = (RED_LINES, BUILDING_LINES)

#: With a window: the lines within reach of it, so that a line that moved into it is found again.
_WINDOW = "AND ST_DWithin(l.geom, win.g, %(near_m)s + %(reach_m)s)"


def _compared(layer: Layer) -> tuple[Column, ...]:
    # where a feature came from and its review are bookkeeping, not a change of the plan
    skipped = {"plan_id", "road_name", *(c.name for c in PROVENANCE)}
    return tuple(c for c in layer.columns if c.name not in skipped)


def _statement(layer: Layer, windowed: bool) -> str:
    sql = (files("gis_service.changes") / "lines.sql").read_text(encoding="utf-8")
    cols = _compared(layer)
    return (
        sql.replace("__TABLE__", layer.name)  # a catalogue name
        .replace("__COLS_L__", ", ".join(f"l.{c.name}" for c in cols))
        .replace("__COLS_A__", ", ".join(f"a.{c.name}" for c in cols))
        .replace("__COLS_B__", ", ".join(f"b.{c.name}" for c in cols))
        .replace("__JSON_A__", ", ".join(f"'{c.name}', {c.sql_value('a')}" for c in cols))
        .replace("__JSON_B__", ", ".join(f"'{c.name}', {c.sql_value('b')}" for c in cols))
        .replace("__WINDOW__", _WINDOW if windowed else "")
    )


_SQL = {(layer.name, w): Statement(_statement(layer, w)) for layer in LINE_LAYERS for w in (True, False)}


@dataclass(frozen=True)
class LineChange:
    """A red line or building line added, removed, moved (by up to ``max_shift_m``) or changed in its attributes.

    ``region_wkb`` is the line in both versions, buffered by :data:`BUFFER_M` (EPSG:9214); ``geometry`` the line of
    "to" (of "from" when removed) and ``geometry_from`` the line it moved from, as GeoJSON in CRS84 when asked for;
    ``distance_m`` the distance to the window, when there is one.
    """

    layer: str
    change: Literal["added", "removed", "moved", "changed"]
    road_name: str | None
    from_id: int | None
    to_id: int | None
    max_shift_m: float | None
    attributes: tuple[AttributeChange, ...]
    region_wkb: bytes = field(repr=False)
    geometry: dict[str, Any] | None = field(default=None, repr=False)
    geometry_from: dict[str, Any] | None = field(default=None, repr=False)
    distance_m: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """The entry as ``GET /plans/{code}/diff`` answers it."""
        return {
            "change": self.change,
            "road_name": self.road_name,
            "from_id": self.from_id,
            "to_id": self.to_id,
            "max_shift_m": self.max_shift_m,
            "attributes": [a.as_dict() for a in self.attributes],
            "geometry": self.geometry,
            "geometry_from": self.geometry_from,
        }


def compare_lines(
    pg: psycopg.Connection[Any],
    layer: Layer,
    from_plan_id: int,
    to_plan_id: int,
    *,
    window: bytes | None = None,
    near_m: float = BUFFER_M,
    geojson: bool = False,
) -> list[LineChange]:
    """The lines of ``layer`` that differ between two plan versions (those within ``near_m`` of ``window``)."""
    params = {
        "f": from_plan_id,
        "t": to_plan_id,
        "win": window,
        "near_m": near_m,
        "reach_m": REACH_M,
        "min_shift_m": MIN_SHIFT_M,
        "buffer_m": BUFFER_M,
        "geojson": geojson,
    }
    rows = _SQL[(layer.name, window is not None)].rows(pg, params)
    cols = _compared(layer)
    return [
        LineChange(
            layer=layer.name,
            change=change,
            road_name=road,
            from_id=a_id,
            to_id=b_id,
            max_shift_m=shift,
            attributes=attribute_changes(cols, attrs_a, attrs_b),
            region_wkb=bytes(region),
            geometry=None if gj is None else json.loads(gj),
            geometry_from=None if gj_from is None else json.loads(gj_from),
            distance_m=dist,
        )
        for change, a_id, b_id, road, shift, attrs_a, attrs_b, region, gj, gj_from, dist in rows
    ]
