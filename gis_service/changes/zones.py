"""The zones of two plan versions compared, in one statement (``zones.sql``).

A new draft copies the approved version's zones to new rows with new ids, so a zone is found again by its code
where that code names one zone in both versions, else by the zone of the other version it shares most land with
(each zone used once). A pair differs when its land use, name or any rule of the catalogue
(:meth:`gis_service.model.layers.Layer.rules`) differs, or its shape moved by more than :data:`MIN_AREA_M2`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any, Literal

import psycopg

from gis_service.changes.statements import Statement
from gis_service.model.columns import Column
from gis_service.model.layers import ZONES

__all__ = ["COMPARED", "MIN_AREA_M2", "AttributeChange", "ZoneChange", "compare_zones"]

#: Areas below this are digitising noise, not a change (m²); areas are reported to 0.1 m².
MIN_AREA_M2 = 0.05
#: With a window, a zone of the other version named like one in it is looked for this far around (m).
REACH_M = 50.0

#: The columns compared: the code (of zones found again by their land), land use, name and every rule.
COMPARED: tuple[Column, ...] = (
    ZONES.column("zone_code"),
    ZONES.column("land_use_code"),
    ZONES.column("name"),
    *ZONES.rules(),
)

_WINDOW = "AND z.geom && win.g AND ST_Intersects(z.geom, win.g)"


def _statement(windowed: bool) -> str:
    sql = (files("gis_service.changes") / "zones.sql").read_text(encoding="utf-8")
    names = [c.name for c in COMPARED]  # names from the catalogue, checked against the database by its tests
    return (
        sql.replace("__COLS_Z__", ", ".join(f"z.{n}" for n in names if n != "zone_code"))  # selected apart
        .replace("__COLS_A__", ", ".join([*(f"a.{n}" for n in names), "a.no_limit"]))
        .replace("__COLS_B__", ", ".join([*(f"b.{n}" for n in names), "b.no_limit"]))
        .replace("__JSON_A__", ", ".join(f"'{c.name}', {c.sql_value('a')}" for c in COMPARED))
        .replace("__JSON_B__", ", ".join(f"'{c.name}', {c.sql_value('b')}" for c in COMPARED))
        .replace("__WINDOW__", _WINDOW if windowed else "")
        .replace("__WINDOWED__", "true" if windowed else "false")
    )


_SQL = {True: Statement(_statement(True)), False: Statement(_statement(False))}


@dataclass(frozen=True)
class AttributeChange:
    """One attribute of a zone (or line) that differs: the column, its labels and unit, the two values."""

    column: str
    label_vi: str
    label_en: str
    unit: str
    before: Any
    after: Any
    #: For a rule without a number: whether the plan leaves it open (``khongGioiHan``) rather than giving no data.
    before_open: bool = False
    after_open: bool = False

    def as_dict(self) -> dict[str, Any]:
        """``{"column", "label_vi", "label_en", "from", "to"}``."""
        return {
            "column": self.column,
            "label_vi": self.label_vi,
            "label_en": self.label_en,
            "unit": self.unit,
            "from": self.before,
            "to": self.after,
        }


@dataclass(frozen=True)
class ZoneChange:
    """A zone added, removed or changed between two versions.

    Areas are m² to 0.1 m²: the zone's area in each version, the land it gained and lost. ``part_wkb`` is the
    changed part in EPSG:9214 (what it gained and lost; all of the zone when an attribute changed; the whole zone
    when added or removed); ``geometry`` the same as GeoJSON in CRS84 when asked for. ``in_*_m2``: with a window,
    its area in the "from" zone, the "to" zone and the changed part.
    """

    change: Literal["added", "removed", "changed"]
    zone_code: str | None
    from_id: int | None
    to_id: int | None
    attributes: tuple[AttributeChange, ...]
    area_from_m2: float | None
    area_to_m2: float | None
    area_gained_m2: float
    area_lost_m2: float
    part_wkb: bytes = field(repr=False)
    geometry: dict[str, Any] | None = field(default=None, repr=False)
    before: dict[str, Any] | None = field(default=None, repr=False)
    after: dict[str, Any] | None = field(default=None, repr=False)
    in_from_m2: float | None = None
    in_to_m2: float | None = None
    in_part_m2: float | None = None

    @property
    def label(self) -> str:
        """The zone's code, else its id."""
        return self.zone_code or f"#{self.to_id or self.from_id}"

    def as_dict(self) -> dict[str, Any]:
        """The entry as ``GET /plans/{code}/diff`` answers it."""
        return {
            "change": self.change,
            "zone_code": self.zone_code,
            "from_id": self.from_id,
            "to_id": self.to_id,
            "attributes": [a.as_dict() for a in self.attributes],
            "area_from_m2": self.area_from_m2,
            "area_to_m2": self.area_to_m2,
            "area_gained_m2": self.area_gained_m2,
            "area_lost_m2": self.area_lost_m2,
            "geometry": self.geometry,
        }


def _open(attrs: dict[str, Any] | None) -> set[str]:
    if attrs is None:
        return set()
    return {n.strip() for n in str(attrs.get("no_limit") or "").split(",") if n.strip()}


def attribute_changes(
    columns: tuple[Column, ...], before: dict[str, Any] | None, after: dict[str, Any] | None
) -> tuple[AttributeChange, ...]:
    """The columns whose values differ between two rows (None: the row does not exist, nothing to compare)."""
    if before is None or after is None:
        return ()
    open_a, open_b = _open(before), _open(after)
    out = []
    for c in columns:
        a, b = before.get(c.name), after.get(c.name)
        a_open, b_open = a is None and c.name in open_a, b is None and c.name in open_b
        if a != b or a_open != b_open:
            out.append(AttributeChange(c.name, c.label_vi, c.label_en, c.unit, a, b, a_open, b_open))
    return tuple(out)


def compare_zones(
    pg: psycopg.Connection[Any],
    from_plan_id: int,
    to_plan_id: int,
    *,
    window: bytes | None = None,
    geojson: bool = False,
) -> list[ZoneChange]:
    """The zones that differ between two plan versions (those meeting ``window``, a WKB in EPSG:9214, if given).

    A pair whose shape moved by less than :data:`MIN_AREA_M2` with nothing else changed is no change. With a
    window, a code is unique when it names one zone of its version in and around the window (:data:`REACH_M`).
    """
    params = {
        "f": from_plan_id,
        "t": to_plan_id,
        "win": window,
        "min_m2": MIN_AREA_M2,
        "reach_m": REACH_M,
        "geojson": geojson,
    }
    rows = _SQL[window is not None].rows(pg, params)
    out = []
    for r in rows:
        change, a_id, b_id, code, area_a, area_b, gained, lost, _edited, attrs_a, attrs_b = r[:11]
        part_wkb, part_geojson, in_a, in_b, in_part = r[11:]
        out.append(
            ZoneChange(
                change=change,
                zone_code=code,
                from_id=a_id,
                to_id=b_id,
                attributes=attribute_changes(COMPARED, attrs_a, attrs_b),
                area_from_m2=area_a,
                area_to_m2=area_b,
                area_gained_m2=gained,
                area_lost_m2=lost,
                part_wkb=bytes(part_wkb),
                geometry=None if part_geojson is None else json.loads(part_geojson),
                before=attrs_a,
                after=attrs_b,
                in_from_m2=in_a,
                in_to_m2=in_b,
                in_part_m2=in_part,
            )
        )
    return out
