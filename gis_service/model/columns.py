"""A column of a plan layer: its type, unit, allowed range, labels, source field names and where it is shown."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Column", "ColumnType"]

#: JSON types, as OGC API - Features queryables name them (dates are strings in JSON, typed here for SQL).
ColumnType = Literal["string", "integer", "number", "date", "datetime"]


@dataclass(frozen=True)
class Column:
    """One attribute column of a plan layer's table (schema ``planning``).

    Parameters
    ----------
    name
        The column's name in the table, in the JSON answers and in the OGC API.
    type
        Its JSON type; ``number`` columns are PostgreSQL ``numeric`` and leave SQL as ``float8``.
    label_vi, label_en
        What users read: Vietnamese first, as on the plan's legend; units go in ``unit``.
    unit
        ``m``, ``m²``, ``%`` or empty.
    range
        The values an import or an edit accepts (inclusive). Always inside the table's CHECK: the migrations mark
        some CHECKs ``NOT VALID`` for bulk loads, so this range is what keeps bulk rows inside them (tested).
    source_fields
        Field names of source files that fill the column, tried in order and case-insensitively (TT 16/2025 names
        first, then cadastral and older names).
    required
        An import refuses a layer whose source has no field for it.
    imported
        Filled from source files; False for what the service sets (``plan_id``, the measured area).
    editable
        A planner may set it through the editing API.
    public
        Published in the OGC API.
    rule
        A zone rule: in the lookup's ``rules``, the permit check's inputs and the viewer's legend of a zone.
    vector_tiles, tiles_3d
        Carried by the vector tiles (MVT) and by the 3D tiles' metadata.
    """

    name: str
    type: ColumnType
    label_vi: str
    label_en: str
    unit: str = ""
    range: tuple[float, float] | None = None
    source_fields: tuple[str, ...] = ()
    required: bool = False
    imported: bool = True
    editable: bool = True
    public: bool = True
    rule: bool = False
    vector_tiles: bool = False
    tiles_3d: bool = False

    @property
    def is_numeric(self) -> bool:
        """An integer or a number."""
        return self.type in ("integer", "number")

    @property
    def title(self) -> str:
        """The OGC API title: English, then Vietnamese, e.g. ``Max height (m) (Chiều cao tối đa)``."""
        return f"{self.label_en}{self._unit_suffix} ({self.label_vi})"

    @property
    def label(self) -> str:
        """Both languages, as the 3D tiles' metadata shows them: ``Chiều cao tối đa (m) / Max height (m)``."""
        return f"{self.label_vi}{self._unit_suffix} / {self.label_en}{self._unit_suffix}"

    @property
    def _unit_suffix(self) -> str:
        return f" ({self.unit})" if self.unit else ""

    def sql_value(self, alias: str = "t") -> str:
        """How the column comes out of SQL for JSON: numerics as float8, dates and times as ISO text.

        >>> Column("max_far", "number", "Hệ số sử dụng đất", "FAR").sql_value("z")
        'z.max_far::float8'
        """
        return {
            "number": f"{alias}.{self.name}::float8",
            "date": f"to_char({alias}.{self.name}, 'YYYY-MM-DD')",
            "datetime": f"to_char({alias}.{self.name} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
        }.get(self.type, f"{alias}.{self.name}")
