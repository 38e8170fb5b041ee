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

ZONES = Layer(
    name="zones",
    class_id="zone",
    class_name="Ô quy hoạch / Plan zone",
    keys_sql=f"""WITH {CURRENT_PLANS}
SELECT z.id, z.row_version || '.' || p.row_version AS version, {BOX.format(t="z")}
FROM planning.zones z JOIN current_plans p ON p.id = z.plan_id
ORDER BY 1""",
    fetch_sql="""SELECT z.id, ST_AsBinary(z.geom_4326) AS wkb, p.code AS plan_code, p.name AS plan_name,
    z.id AS zone_id, z.zone_code, z.name, z.land_use_code, """
    + LAND_USE
    + """,
    z.max_floors, z.min_floors, z.max_height_m::float8 AS max_height_m,
    z.max_density_pct::float8 AS max_density_pct, z.max_far::float8 AS max_far,
    z.min_setback_m::float8 AS min_setback_m, z.min_ground_elev_m::float8 AS min_ground_elev_m,
    z.heritage_zone, z.geom_area_m2 AS area_m2
FROM planning.zones z JOIN planning.plans p ON p.id = z.plan_id
LEFT JOIN planning.land_use_codes l ON l.code = z.land_use_code
WHERE z.id = ANY(:ids) ORDER BY z.id""",
    properties=(
        Property("plan_code", "STRING", "Mã hồ sơ quy hoạch / Plan code"),
        Property("plan_name", "STRING", "Tên quy hoạch / Plan name"),
        Property("zone_id", "UINT32", "ID ô / Zone id"),
        Property("zone_code", "STRING", "Ký hiệu ô / Zone code"),
        Property("name", "STRING", "Tên / Name"),
        *LAND_USE_PROPS,
        Property("max_floors", "INT32", "Tầng cao tối đa / Max floors", no_data=-1),
        Property("min_floors", "INT32", "Tầng cao tối thiểu / Min floors", no_data=-1),
        Property("max_height_m", "FLOAT32", "Chiều cao tối đa (m) / Max height (m)", no_data=-1.0),
        Property("max_density_pct", "FLOAT32", "Mật độ xây dựng tối đa (%) / Max density (%)", no_data=-1.0),
        Property("max_far", "FLOAT32", "Hệ số sử dụng đất tối đa / Max FAR", no_data=-1.0),
        Property("min_setback_m", "FLOAT32", "Khoảng lùi tối thiểu (m) / Min setback (m)", no_data=-1.0),
        Property("min_ground_elev_m", "FLOAT32", "Cao độ nền tối thiểu (m) / Min ground level (m)", no_data=-9999.0),
        Property("heritage_zone", "STRING", "Vùng bảo vệ di sản / Heritage zone"),
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
    fetch_sql="""SELECT b.id, ST_AsBinary(b.geom_4326) AS wkb, b.id AS building_id, b.name,
    b.parcel_id, pa.ward, pa.sheet_no, pa.parcel_no, b.floors, b.basement_floors, b.height_m::float8 AS height_m,
    b.land_use_code, """
    + LAND_USE
    + """, b.geom_area_m2 AS footprint_m2
FROM planning.buildings b
LEFT JOIN planning.parcels pa ON pa.id = b.parcel_id
LEFT JOIN planning.land_use_codes l ON l.code = b.land_use_code
WHERE b.id = ANY(:ids) ORDER BY b.id""",
    properties=(
        Property("building_id", "UINT32", "ID công trình / Building id"),
        Property("name", "STRING", "Tên / Name"),
        Property("parcel_id", "INT32", "ID thửa đất / Parcel id", no_data=-1),
        Property("ward", "STRING", "Phường, xã / Ward"),
        Property("sheet_no", "INT32", "Số tờ / Map sheet", no_data=-1),
        Property("parcel_no", "INT32", "Số thửa / Parcel number", no_data=-1),
        Property("floors", "INT32", "Số tầng / Floors", no_data=-1),
        Property("basement_floors", "INT32", "Số tầng hầm / Basement floors", no_data=-1),
        Property("height_m", "FLOAT32", "Chiều cao (m) / Height (m)", no_data=-1.0),
        *LAND_USE_PROPS,
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
    fetch_sql="""SELECT pa.id, ST_AsBinary(pa.geom_4326) AS wkb, pa.id AS parcel_id, pa.ward, pa.ward_code,
    pa.sheet_no, pa.parcel_no, pa.area_m2::float8 AS area_m2, pa.geom_area_m2 AS measured_area_m2,
    pa.land_use_code, """
    + LAND_USE
    + """, pa.address
FROM planning.parcels pa
LEFT JOIN planning.land_use_codes l ON l.code = pa.land_use_code
WHERE pa.id = ANY(:ids) ORDER BY pa.id""",
    properties=(
        Property("parcel_id", "UINT32", "ID thửa đất / Parcel id"),
        Property("ward", "STRING", "Phường, xã / Ward"),
        Property("ward_code", "STRING", "Mã phường, xã / Ward code"),
        Property("sheet_no", "INT32", "Số tờ / Map sheet", no_data=-1),
        Property("parcel_no", "INT32", "Số thửa / Parcel number", no_data=-1),
        Property("area_m2", "FLOAT64", "Diện tích pháp lý (m²) / Recorded area (m²)", no_data=-1.0),
        Property("measured_area_m2", "FLOAT64", "Diện tích đo (m²) / Measured area (m²)"),
        *LAND_USE_PROPS,
        Property("address", "STRING", "Địa chỉ / Address"),
    ),
    height=_parcel_height,
    default_rgb=(240, 240, 230),
)

LAYERS: dict[str, Layer] = {layer.name: layer for layer in (ZONES, BUILDINGS, PARCELS)}
