"""The published layers: which table, which columns (with their types), what the public may see.

The tables are a public contract (see the migration ``0001_foundation``), so their columns are listed here rather
than read from the catalog at start: creating the app and generating the OpenAPI document never touch the database,
and every column name that reaches SQL comes from this fixed list.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gis_service.model.visibility import APPROVED_PLAN_IDS, NO_LONLAT_INDEX, lonlat_window

__all__ = ["APPROVED_PLAN_IDS", "LAYERS", "NO_LONLAT_INDEX", "Column", "Layer", "lonlat_window"]


@dataclass(frozen=True)
class Column:
    """A published column: its SQL expression (a column name of the table), JSON type and title."""

    name: str
    type: str  # 'string' | 'integer' | 'number' | 'boolean' | 'date' | 'datetime'
    title: str = ""

    @property
    def sql_cast(self) -> str:
        """How a value of this column comes out in JSON (numerics as float8, dates as text)."""
        return {
            "number": f"t.{self.name}::float8",
            "date": f"to_char(t.{self.name}, 'YYYY-MM-DD')",
            "datetime": f"to_char(t.{self.name} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
        }.get(self.type, f"t.{self.name}")


BOOKKEEPING = (
    Column("row_version", "integer", "Version of the feature"),
    Column("updated_at", "datetime", "Last change"),
)


@dataclass(frozen=True)
class Layer:
    """One collection: a table of schema ``planning`` with a geometry ``geom`` in EPSG:9214."""

    name: str
    title_vi: str
    title_en: str
    description: str
    columns: tuple[Column, ...]
    public_filter: str
    geometry_type: str = "MultiPolygon"
    keywords: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def table(self) -> str:
        return f"planning.{self.name}"

    @property
    def column_map(self) -> dict[str, Column]:
        return {c.name: c for c in self.columns}


LAYERS: dict[str, Layer] = {
    layer.name: layer
    for layer in (
        Layer(
            "plans",
            "Đồ án quy hoạch",
            "Plans",
            "Approved plan versions: code (maHoSoQH), level, approval decision and boundary",
            (
                Column("code", "string", "Plan code (mã hồ sơ quy hoạch)"),
                Column("name", "string", "Name (tên đồ án)"),
                Column("level", "string", "Level: land_use, general, zoning, detailed"),
                Column("scale_denominator", "integer", "Map scale 1:N"),
                Column("status", "string", "Status"),
                Column("version", "integer", "Version"),
                Column("decision_no", "string", "Approval decision number (số quyết định)"),
                Column("decision_date", "date", "Approval decision date (ngày quyết định)"),
                Column("approving_authority", "string", "Approving authority (cơ quan phê duyệt)"),
                *BOOKKEEPING,
            ),
            "status = 'approved' AND geom IS NOT NULL",
            keywords=("quy hoạch", "plan"),
        ),
        Layer(
            "zones",
            "Ô quy hoạch (khu chức năng)",
            "Land-use zones",
            "Zones of the approved plans with their rules: use, density %, floors, height m, FAR, setback m",
            (
                Column("plan_id", "integer", "Plan"),
                Column("zone_code", "string", "Zone code (ký hiệu ô)"),
                Column("name", "string", "Name"),
                Column("land_use_code", "string", "Land-use code (mã loại đất)"),
                Column("max_density_pct", "number", "Maximum building density % (mật độ xây dựng)"),
                Column("max_floors", "integer", "Maximum floors (tầng cao tối đa)"),
                Column("min_floors", "integer", "Minimum floors"),
                Column("max_height_m", "number", "Maximum height m"),
                Column("max_far", "number", "Maximum floor area ratio (hệ số sử dụng đất)"),
                Column("min_setback_m", "number", "Minimum setback m (khoảng lùi)"),
                Column("min_ground_elev_m", "number", "Minimum ground elevation m (cao độ nền)"),
                Column("heritage_zone", "string", "Heritage protection zone"),
                Column("notes", "string", "Notes"),
                Column("geom_area_m2", "number", "Area m² (VN-2000)"),
                *BOOKKEEPING,
            ),
            APPROVED_PLAN_IDS,
            keywords=("khu chức năng", "zoning"),
        ),
        Layer(
            "parcels",
            "Thửa đất",
            "Cadastral parcels",
            "Cadastral parcels: ward, sheet number (số tờ), parcel number (số thửa), recorded and measured area",
            (
                Column("ward", "string", "Ward (phường/xã)"),
                Column("ward_code", "string", "Ward code"),
                Column("sheet_no", "integer", "Map sheet number (số tờ)"),
                Column("parcel_no", "integer", "Parcel number (số thửa)"),
                Column("area_m2", "number", "Recorded area m²"),
                Column("land_use_code", "string", "Land-use code (mã loại đất)"),
                Column("address", "string", "Address"),
                Column("geom_area_m2", "number", "Measured area m² (VN-2000)"),
                *BOOKKEEPING,
            ),
            "true",
            keywords=("thửa đất", "cadastre"),
        ),
        Layer(
            "buildings",
            "Công trình",
            "Buildings",
            "Building footprints with floors and height",
            (
                Column("parcel_id", "integer", "Parcel"),
                Column("name", "string", "Name"),
                Column("floors", "integer", "Floors"),
                Column("basement_floors", "integer", "Basement floors"),
                Column("height_m", "number", "Height m"),
                Column("land_use_code", "string", "Land-use code"),
                Column("geom_area_m2", "number", "Footprint area m²"),
                *BOOKKEEPING,
            ),
            "true",
            keywords=("công trình", "buildings"),
        ),
        Layer(
            "red_lines",
            "Chỉ giới đường đỏ",
            "Red lines",
            "Red lines of the approved plans: the boundary between lots and road land",
            (
                Column("plan_id", "integer", "Plan"),
                Column("road_name", "string", "Road (tên đường)"),
                Column("red_line_width_m", "number", "Road width between red lines m"),
                Column("notes", "string", "Notes"),
                *BOOKKEEPING,
            ),
            APPROVED_PLAN_IDS,
            geometry_type="MultiLineString",
            keywords=("chỉ giới đường đỏ", "red line"),
        ),
        Layer(
            "building_lines",
            "Chỉ giới xây dựng",
            "Building lines",
            "Building lines of the approved plans: the main building stays behind them",
            (
                Column("plan_id", "integer", "Plan"),
                Column("road_name", "string", "Road (tên đường)"),
                Column("red_line_width_m", "number", "Road width between red lines m"),
                Column("setback_m", "number", "Setback from the red line m"),
                Column("notes", "string", "Notes"),
                *BOOKKEEPING,
            ),
            APPROVED_PLAN_IDS,
            geometry_type="MultiLineString",
            keywords=("chỉ giới xây dựng", "building line"),
        ),
        Layer(
            "map_features",
            "Nền địa hình",
            "Base map",
            "The base map around the plans, outside plan versions: water (river, lakes, the citadel's moat, canals; "
            "areas), citadel walls (areas, with their height), street and alley (kiệt) centre lines with their "
            "width, landmarks (points)",
            (
                Column("kind", "string", "Kind: water, wall, street, alley, landmark"),
                Column("subkind", "string", "Class in the source (loại: song, ho_thanh, kenh, ho, duong, kiet, ...)"),
                Column("name", "string", "Name (tên)"),
                Column("name_en", "string", "English name"),
                Column("width_m", "number", "Street or alley width m (lộ giới)"),
                Column("height_m", "number", "Height above the ground m"),
                *BOOKKEEPING,
            ),
            "true",
            geometry_type="Geometry",
            keywords=("nền địa hình", "base map"),
        ),
    )
}
