"""The three layers of the 3D tiles: what is read from PostGIS, how tall each feature is, and its property table.

Each layer has two queries. The *key* query is cheap (no geometry leaves the database): id, a version string that
changes whenever anything shown of the feature changes, its EPSG:9214 bounding box and its point count; the tiler
plans the quadtree and decides which tiles are stale from it alone. The *fetch* query brings the features of stale
tiles, geometry as WKB of ``geom_4326`` (WGS84 lon/lat, which PostgreSQL maintains from the EPSG:9214 storage
geometry through the official VN-2000 shift, EPSG:6960).

Key queries are ordered by id: a parallel scan returns rows in any order, and the tiles must not depend on it.
SQL names only constants of this module; values are bound parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gis_service.model import LAYERS as CATALOGUE
from gis_service.model import Column
from tiles.glb import Property

__all__ = ["LAYERS", "Layer"]

# The current version of each plan code: the approved one, else the latest version. :plan (NULL = all) narrows it.
CURRENT_PLANS = """
current_plans AS (
    SELECT DISTINCT ON (code) id, code, row_version, geom FROM planning.plans
    WHERE CAST(:plan AS text) IS NULL OR code = CAST(:plan AS text)
    ORDER BY code, (status = 'approved') DESC, version DESC
),
plan_area AS (
    SELECT coalesce(p.geom, (SELECT ST_SetSRID(ST_Extent(z.geom)::geometry, 9214)
                             FROM planning.zones z WHERE z.plan_id = p.id)) AS geom
    FROM current_plans p
)"""

IN_PLAN = "(CAST(:plan AS text) IS NULL OR EXISTS (SELECT 1 FROM plan_area a WHERE ST_Intersects({t}.geom, a.geom)))"

BOX = "ST_XMin({t}.geom), ST_YMin({t}.geom), ST_XMax({t}.geom), ST_YMax({t}.geom), ST_NPoints({t}.geom)"

LAND_USE = """l.name_vi AS land_use_name_vi, l.name_en AS land_use_name_en, l.rgb AS rgb"""


@dataclass(frozen=True)
class Layer:
    """A tiled layer: its queries, its heights and its metadata class."""

    name: str
    class_id: str
    class_name: str
    keys_sql: str
    fetch_sql: str
    properties: tuple[Property, ...]
    height: Callable[[Mapping[str, Any], Any], float]  # (row, options) -> extrusion height in metres
    translucent: bool = False
    default_rgb: tuple[int, int, int] = (200, 200, 200)


def _zone_height(row: Mapping[str, Any], options: Any) -> float:
    """The permitted envelope: max height, else max floors x floor height, else the default. A zone where nothing
    may be built (0 m or 0 floors: parks, water) is a thin slab, never the default envelope."""
    if row["max_height_m"] is not None:
        return max(float(row["max_height_m"]), float(options.parcel_slab_m))
    if row["max_floors"] is not None:
        return max(float(row["max_floors"]) * float(options.floor_height_m), float(options.parcel_slab_m))
    return float(options.default_zone_height_m)


def _building_height(row: Mapping[str, Any], options: Any) -> float:
    if row["height_m"]:
        return float(row["height_m"])
    if row["floors"]:
        return float(row["floors"]) * float(options.floor_height_m)
    return float(options.default_building_height_m)


def _parcel_height(_row: Mapping[str, Any], options: Any) -> float:
    return float(options.parcel_slab_m)


LAND_USE_PROPS = (
    Property("land_use_code", "STRING", "Mã loại đất / Land-use code"),
    Property("land_use_name_vi", "STRING", "Loại đất / Land use (vi)"),
    Property("land_use_name_en", "STRING", "Land use (en)"),
)

_PROPERTY_TYPES = {"integer": "INT32", "number": "FLOAT32", "string": "STRING"}


def _property(c: Column) -> Property:
    """A catalogue column as a 3D tiles property. Areas need float64: a large lot's m² has more than 7 digits. A
    number the catalogue bounds at zero gets -1 for "none"; one without a range may be negative (a ground level)."""
    if c.type == "string":
        return Property(c.name, "STRING", c.label)
    kind = "FLOAT64" if c.unit == "m²" else _PROPERTY_TYPES[c.type]
    unbounded = c.range is None and c.type == "number"
    no_data: float | int = (-9999.0 if unbounded else -1.0) if c.type == "number" else -1
    return Property(c.name, kind, c.label, no_data=no_data)  # type: ignore[arg-type]


def catalogue_columns(layer: str, alias: str) -> tuple[str, tuple[Property, ...]]:
    """The select list (table alias ``alias``, land-use codes ``l``) and properties of the catalogue's columns that
    the 3D tiles carry, a land-use code with its names."""
    sql: list[str] = []
    props: list[Property] = []
    for c in CATALOGUE[layer].columns:
        if not c.tiles_3d:
            continue
        if c.name == "land_use_code":
            sql.append(f"{alias}.land_use_code, {LAND_USE}")
            props.extend(LAND_USE_PROPS)
        else:
            sql.append(f"{c.sql_value(alias)} AS {c.name}")
            props.append(_property(c))
    return ", ".join(sql), tuple(props)


_ZONE_SQL, _ZONE_PROPS = catalogue_columns("zones", "z")
_BUILDING_SQL, _BUILDING_PROPS = catalogue_columns("buildings", "b")
_PARCEL_SQL, _PARCEL_PROPS = catalogue_columns("parcels", "pa")

ZONES = Layer(
    name="zones",
    class_id="zone",
    class_name="Ô quy hoạch / Plan zone",
    keys_sql=f"""WITH {CURRENT_PLANS}
SELECT z.id, z.row_version || '.' || p.row_version AS version, {BOX.format(t="z")}
FROM planning.zones z JOIN current_plans p ON p.id = z.plan_id
ORDER BY 1""",
    fetch_sql=f"""SELECT z.id, ST_AsBinary(z.geom_4326) AS wkb, p.code AS plan_code, p.name AS plan_name,
    z.id AS zone_id, {_ZONE_SQL}, z.geom_area_m2 AS area_m2
FROM planning.zones z JOIN planning.plans p ON p.id = z.plan_id
LEFT JOIN planning.land_use_codes l ON l.code = z.land_use_code
WHERE z.id = ANY(:ids) ORDER BY z.id""",
    properties=(
        Property("plan_code", "STRING", "Mã hồ sơ quy hoạch / Plan code"),
        Property("plan_name", "STRING", "Tên quy hoạch / Plan name"),
        Property("zone_id", "UINT32", "ID ô / Zone id"),
        *_ZONE_PROPS,
        Property("area_m2", "FLOAT64", "Diện tích (m²) / Area (m²)"),
        Property("envelope_height_m", "FLOAT32", "Chiều cao khối hiển thị (m) / Envelope height shown (m)"),
    ),
    height=_zone_height,
    translucent=True,
)

BUILDINGS = Layer(
    name="buildings",
    class_id="building",
    class_name="Công trình / Building",
    keys_sql=f"""WITH {CURRENT_PLANS}
SELECT b.id, b.row_version || '.' || coalesce(pa.row_version, 0) AS version, {BOX.format(t="b")}
FROM planning.buildings b LEFT JOIN planning.parcels pa ON pa.id = b.parcel_id
WHERE {IN_PLAN.format(t="b")}
ORDER BY 1""",
    fetch_sql=f"""SELECT b.id, ST_AsBinary(b.geom_4326) AS wkb, b.id AS building_id,
    pa.ward, pa.sheet_no, pa.parcel_no, {_BUILDING_SQL}, b.geom_area_m2 AS footprint_m2
FROM planning.buildings b
LEFT JOIN planning.parcels pa ON pa.id = b.parcel_id
LEFT JOIN planning.land_use_codes l ON l.code = b.land_use_code
WHERE b.id = ANY(:ids) ORDER BY b.id""",
    properties=(
        Property("building_id", "UINT32", "ID công trình / Building id"),
        Property("ward", "STRING", "Phường, xã / Ward"),
        Property("sheet_no", "INT32", "Số tờ / Map sheet", no_data=-1),
        Property("parcel_no", "INT32", "Số thửa / Parcel number", no_data=-1),
        *_BUILDING_PROPS,
        Property("footprint_m2", "FLOAT32", "Diện tích xây dựng (m²) / Footprint (m²)"),
    ),
    height=_building_height,
    default_rgb=(222, 214, 196),
)

PARCELS = Layer(
    name="parcels",
    class_id="parcel",
    class_name="Thửa đất / Parcel",
    keys_sql=f"""WITH {CURRENT_PLANS}
SELECT pa.id, pa.row_version::text AS version, {BOX.format(t="pa")}
FROM planning.parcels pa WHERE {IN_PLAN.format(t="pa")}
ORDER BY 1""",
    fetch_sql=f"""SELECT pa.id, ST_AsBinary(pa.geom_4326) AS wkb, pa.id AS parcel_id, {_PARCEL_SQL},
    pa.geom_area_m2 AS measured_area_m2
FROM planning.parcels pa
LEFT JOIN planning.land_use_codes l ON l.code = pa.land_use_code
WHERE pa.id = ANY(:ids) ORDER BY pa.id""",
    properties=(
        Property("parcel_id", "UINT32", "ID thửa đất / Parcel id"),
        *_PARCEL_PROPS,
        Property("measured_area_m2", "FLOAT64", "Diện tích đo (m²) / Measured area (m²)"),
    ),
    height=_parcel_height,
    default_rgb=(240, 240, 230),
)

LAYERS: dict[str, Layer] = {layer.name: layer for layer in (ZONES, BUILDINGS, PARCELS)}
