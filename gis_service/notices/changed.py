"""What changed between two versions of a plan, as far as the notices need it, until :mod:`gis_service.changes`
(the diff of plan versions) is merged: the same three functions, with coarser answers.

``changed_region_wkb`` is exact about *where* (every feature of a plan layer that is not identical in both versions,
attributes and geometry); the summaries only say that the plan changes there and how many features do.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gis_service.model import PLAN_LAYERS

__all__ = ["ParcelChanges", "area_summary", "changed_region_wkb", "parcel_changes"]

#: Columns that differ between copies of one feature in two versions without the feature changing.
_NOT_COMPARED = frozenset(
    {"id", "plan_id", "created_at", "created_by", "updated_at", "updated_by", "row_version", "source", "attributes"}
)
#: Half-width, metres, given to a moved line so that the parcels along it are touched.
LINE_REACH_M = 0.5


@dataclass(frozen=True)
class ParcelChanges:
    """What changes for one parcel: the sentences, and whether anything does."""

    summary: list[str] = field(default_factory=list)
    touched: bool = False


def _compared(conn: Connection, layer: str) -> list[str]:
    rows = conn.execute(
        sa.text(
            "SELECT a.attname FROM pg_attribute a WHERE a.attrelid = to_regclass(:t) AND a.attnum > 0 "
            "AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum"
        ),
        {"t": f"planning.{layer}"},
    ).scalars()
    return [c for c in rows if c not in _NOT_COMPARED and not c.startswith("geom_")]


def _changed_features_sql(conn: Connection, from_plan_id: int | None, to_plan_id: int) -> str:
    """SQL of the geometries (EPSG:9214) of every feature that is in one version and not identical in the other."""
    parts = []
    for layer in PLAN_LAYERS:
        cols = ", ".join(f'"{c}"' for c in _compared(conn, layer))
        old = (
            f"SELECT {cols} FROM planning.{layer} WHERE plan_id = :frm"  # noqa: S608 (names: catalog)
            if from_plan_id is not None
            else f"SELECT {cols} FROM planning.{layer} WHERE false"  # noqa: S608
        )
        new = f"SELECT {cols} FROM planning.{layer} WHERE plan_id = :to"  # noqa: S608
        parts.append(f"SELECT geom FROM (({new}) EXCEPT ({old})) a")  # noqa: S608
        parts.append(f"SELECT geom FROM (({old}) EXCEPT ({new})) b")  # noqa: S608
    return " UNION ALL ".join(parts)


def changed_region_wkb(conn: Connection, from_plan_id: int | None, to_plan_id: int) -> bytes | None:
    """EPSG:9214 WKB of everything that changed from one version to the other; None when nothing did."""
    sql = (
        f"SELECT ST_AsBinary(ST_Union(CASE WHEN ST_Dimension(geom) < 2 THEN ST_Buffer(geom, {LINE_REACH_M}) "  # noqa: S608
        f"ELSE geom END)) FROM ({_changed_features_sql(conn, from_plan_id, to_plan_id)}) c"
    )
    value = conn.execute(sa.text(sql), {"frm": from_plan_id, "to": to_plan_id}).scalar()
    return None if value is None else bytes(value)


def _count_meeting(conn: Connection, geom_sql: str, params: dict[str, object], from_id: int | None, to_id: int) -> int:
    sql = (
        f"SELECT count(*) FROM ({_changed_features_sql(conn, from_id, to_id)}) c, ({geom_sql}) s(g) "  # noqa: S608
        f"WHERE ST_Intersects(ST_Buffer(c.geom, {LINE_REACH_M}), s.g)"
    )
    return int(conn.execute(sa.text(sql), {**params, "frm": from_id, "to": to_id}).scalar_one())


def _sentences(count: int, lang: str) -> list[str]:
    if not count:
        return []
    if lang == "en":
        return [f"{count} zone(s) or line(s) of the plan change here: see the map for what they become."]
    return [f"{count} ô quy hoạch hoặc đường chỉ giới thay đổi tại đây: xem bản đồ để biết chi tiết."]


def parcel_changes(
    conn: Connection, parcel_id: int, from_plan_id: int | None, to_plan_id: int, lang: str
) -> ParcelChanges:
    """What changes for a parcel from one version to the other."""
    count = _count_meeting(
        conn, "SELECT geom FROM planning.parcels WHERE id = :pid", {"pid": parcel_id}, from_plan_id, to_plan_id
    )
    return ParcelChanges(_sentences(count, lang), count > 0)


def area_summary(conn: Connection, geom_wkb: bytes, from_plan_id: int | None, to_plan_id: int, lang: str) -> list[str]:
    """What changes inside an area (EPSG:9214 WKB) from one version to the other."""
    count = _count_meeting(
        conn, "SELECT ST_SetSRID(ST_GeomFromWKB(:g), 9214)", {"g": geom_wkb}, from_plan_id, to_plan_id
    )
    return _sentences(count, lang)
