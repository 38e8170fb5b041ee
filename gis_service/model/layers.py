"""The catalogue of the plan layers: the one place that says which layers there are and what their columns hold.

The importer, the mapping profiles, editing, publishing, the OGC API, the vector tiles, the 3D tiles' metadata, the
lookup and the viewer's legend all derive what they need from :data:`LAYERS`. A new zone attribute is one migration
plus one :class:`Column` here (see ``docs/data-model.md``); ``tests/test_catalogue.py`` fails when the database and
this catalogue disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from gis_service.model.columns import Column

__all__ = ["LAYERS", "PLAN_LAYERS", "PROVENANCE", "SYSTEM_COLUMNS", "TT16_FIELDS", "Layer", "layer_of_kind"]

#: The fields TT 16/2025 requires on every layer of a plan dossier, with their widths (characters).
TT16_FIELDS = {
    "maThongTinQH": 15,
    "maHoSoQH": 15,
    "maDoiTuong": 100,
    "tenDoiTuong": 100,
    "phanLoai": 250,
    "ghiChu": 250,
}

#: Columns every table has that are the service's bookkeeping, not attributes: the id, where the row came from,
#: the source's other fields (JSON), the geometry and its serving copies, who changed it and when.
SYSTEM_COLUMNS = (
    "id",
    "source",
    "attributes",
    "geom",
    "geom_4326",
    "geom_3857",
    "created_at",
    "created_by",
    "updated_at",
    "updated_by",
    "row_version",
)

_POLYGONS = ("Polygon", "MultiPolygon")
_LINES = ("LineString", "MultiLineString")


@dataclass(frozen=True)
class Layer:
    """One plan layer: a table of schema ``planning`` with a geometry ``geom`` in EPSG:9214 (VN-2000).

    ``versioned`` layers belong to a plan version (column ``plan_id``): public once the version is approved,
    edited only while it is a draft, copied into a new draft. ``kind`` is the name files and the command line use
    for the layer (``red-lines``); ``name`` is the table and the OGC collection (``red_lines``).
    """

    name: str
    title_vi: str
    title_en: str
    description: str
    geometry: str
    columns: tuple[Column, ...]
    versioned: bool = False
    editable: bool = True
    measured_area: bool = False
    import_kind: str | None = None
    source_layers: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    #: TT 16/2025 requires the layer in every plan dossier (the validation's rule ``layer-missing``).
    dossier_required: bool = False

    @property
    def kind(self) -> str:
        """The name of the layer in mapping profiles and ``planning import --kind``."""
        return self.import_kind or self.name.replace("_", "-")

    @property
    def table(self) -> str:
        """The qualified table name."""
        return f"planning.{self.name}"

    @property
    def geometry_types(self) -> tuple[str, ...]:
        """The GeoJSON geometry types an edit may send."""
        return {"MultiPolygon": _POLYGONS, "MultiLineString": _LINES}.get(self.geometry, ())

    @property
    def is_polygonal(self) -> bool:
        """Areas (zones, parcels, buildings, a plan's boundary)."""
        return self.geometry == "MultiPolygon"

    def column(self, name: str) -> Column:
        """The column called ``name``; KeyError when there is none."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")

    def imported(self) -> tuple[Column, ...]:
        """The columns that source files fill, in the catalogue's order."""
        return tuple(c for c in self.columns if c.imported)

    def rules(self) -> tuple[Column, ...]:
        """The zone rules: what the lookup answers and the viewer's legend lists."""
        return tuple(c for c in self.columns if c.rule)


_PLAN_ID = Column("plan_id", "integer", "Đồ án quy hoạch", "Plan", imported=False, vector_tiles=True)
_NOTES = Column("notes", "string", "Ghi chú", "Notes", source_fields=("ghiChu", "notes"))
_ROAD = Column(
    "road_name", "string", "Tên đường", "Road", source_fields=("tenDuong", "TENDUONG", "road_name", "road", "name")
)
_ROAD_WIDTH = Column(
    "red_line_width_m",
    "number",
    "Lộ giới (khoảng cách hai chỉ giới đường đỏ)",
    "Road width between red lines",
    unit="m",
    range=(0.01, 1000),
    source_fields=("loGioi", "chieuRongLoGioi", "LOGIOI", "red_line_width_m", "width"),
)
#: Provenance (migration 0015): the feature's source row, its estimated positional error, its review status.
PROVENANCE = (
    Column("source_id", "integer", "Nguồn dữ liệu", "Source (id in feature_sources)", imported=False, editable=False),
    Column(
        "position_error_m",
        "number",
        "Sai số vị trí ước tính",
        "Estimated positional error",
        unit="m",
        range=(0, 999999),
        imported=False,
        editable=False,
    ),
    Column(
        "review_status",
        "string",
        "Trạng thái kiểm tra",
        "Review status: digitised, checked, approved",
        imported=False,
        editable=False,
    ),
)

PLANS = Layer(
    "plans",
    "Đồ án quy hoạch",
    "Plans",
    "Approved plan versions: code (maHoSoQH), level, approval decision and boundary",
    "MultiPolygon",
    (
        Column("code", "string", "Mã hồ sơ quy hoạch", "Plan code", imported=False),
        Column("name", "string", "Tên đồ án", "Name", imported=False),
        Column("level", "string", "Cấp quy hoạch", "Level: land_use, general, zoning, detailed", imported=False),
        Column("scale_denominator", "integer", "Tỷ lệ bản đồ 1:N", "Map scale 1:N", range=(1, 1e9), imported=False),
        Column("status", "string", "Trạng thái", "Status", imported=False, editable=False),
        Column("version", "integer", "Phiên bản", "Version", range=(1, 1e9), imported=False, editable=False),
        Column("based_on_id", "integer", "Dựa trên phiên bản", "Based on version", imported=False, public=False),
        Column("decision_no", "string", "Số quyết định phê duyệt", "Approval decision number", imported=False),
        Column("decision_date", "date", "Ngày quyết định", "Approval decision date", imported=False),
        Column("approving_authority", "string", "Cơ quan phê duyệt", "Approving authority", imported=False),
        Column("description", "string", "Mô tả", "Description", imported=False, public=False),
    ),
    editable=False,
    import_kind="plan-boundary",
    source_layers=("RanhGioiQuyHoach_A", "PhamViQuyHoach_A"),
    keywords=("quy hoạch", "plan"),
    dossier_required=True,
)

ZONES = Layer(
    "zones",
    "Ô quy hoạch (khu chức năng)",
    "Land-use zones",
    "Zones of the approved plans with their rules: use, density %, floors, height m, FAR, setback m",
    "MultiPolygon",
    (
        _PLAN_ID,
        Column(
            "zone_code",
            "string",
            "Ký hiệu ô",
            "Zone code",
            vector_tiles=True,
            tiles_3d=True,
            source_fields=("kyHieuO", "kyHieuOQH", "maO", "kyHieu", "zone_code", "zone", "KHO"),
        ),
        Column(
            "name",
            "string",
            "Tên",
            "Name",
            vector_tiles=True,
            tiles_3d=True,
            source_fields=("tenO", "tenDoiTuong", "ten", "name"),
        ),
        Column(
            "land_use_code",
            "string",
            "Mã loại đất",
            "Land-use code",
            required=True,
            vector_tiles=True,
            tiles_3d=True,
            source_fields=(
                "maSDD",
                "maMucDichSDD",
                "maChucNang",
                "maLoaiDat",
                "kyHieuSDD",
                "land_use_code",
                "landuse",
                "code",
                "MDSD",
                "LOAIDAT",
            ),
        ),
        Column(
            "max_density_pct",
            "number",
            "Mật độ xây dựng tối đa",
            "Max building density",
            unit="%",
            range=(0, 100),
            rule=True,
            vector_tiles=True,
            tiles_3d=True,
            source_fields=("matDoXayDung", "matDoXD", "matDo", "MDXD", "density", "max_density_pct"),
        ),
        Column(
            "max_floors",
            "integer",
            "Tầng cao tối đa",
            "Max floors",
            range=(0, 200),
            rule=True,
            vector_tiles=True,
            tiles_3d=True,
            source_fields=("tangCaoToiDa", "tangCao", "soTangToiDa", "TCMAX", "max_floors", "floors"),
        ),
        Column(
            "min_floors",
            "integer",
            "Tầng cao tối thiểu",
            "Min floors",
            range=(0, 200),
            rule=True,
            tiles_3d=True,
            source_fields=("tangCaoToiThieu", "soTangToiThieu", "TCMIN", "min_floors"),
        ),
        Column(
            "max_height_m",
            "number",
            "Chiều cao tối đa",
            "Max height",
            unit="m",
            range=(0, 1000),
            rule=True,
            vector_tiles=True,
            tiles_3d=True,
            source_fields=("chieuCaoToiDa", "chieuCao", "HMAX", "max_height_m", "height"),
        ),
        Column(
            "max_far",
            "number",
            "Hệ số sử dụng đất tối đa",
            "Max floor area ratio (FAR)",
            range=(0, 100),
            rule=True,
            tiles_3d=True,
            source_fields=("heSoSDD", "heSoSuDungDat", "HSSDD", "FAR", "max_far"),
        ),
        Column(
            "min_setback_m",
            "number",
            "Khoảng lùi tối thiểu",
            "Min setback",
            unit="m",
            range=(0, 1000),
            rule=True,
            tiles_3d=True,
            source_fields=("khoangLuiToiThieu", "khoangLui", "KL", "setback", "min_setback_m"),
        ),
        Column(
            "min_ground_elev_m",
            "number",
            "Cao độ nền tối thiểu",
            "Min ground level",
            unit="m",
            rule=True,
            tiles_3d=True,
            source_fields=("caoDoNenToiThieu", "caoDoNen", "CDN", "min_ground_elev_m"),
        ),
        Column(
            "heritage_zone",
            "string",
            "Vùng bảo vệ di sản",
            "Heritage protection zone",
            rule=True,
            tiles_3d=True,
            source_fields=("khuVucBaoTon", "vungBaoTon", "heritage_zone"),
        ),
        Column("notes", "string", "Ghi chú", "Notes", rule=True, source_fields=("ghiChu", "notes")),
        Column("geom_area_m2", "number", "Diện tích", "Area", unit="m²", imported=False, editable=False),
        *PROVENANCE,
    ),
    versioned=True,
    measured_area=True,
    source_layers=("ChucNangSuDungDat_A", "SuDungDat_A"),
    keywords=("khu chức năng", "zoning"),
    dossier_required=True,
)

PARCELS = Layer(
    "parcels",
    "Thửa đất",
    "Cadastral parcels",
    "Cadastral parcels: ward, sheet number (số tờ), parcel number (số thửa), recorded and measured area",
    "MultiPolygon",
    (
        Column(
            "ward",
            "string",
            "Phường, xã",
            "Ward",
            required=True,
            vector_tiles=True,
            tiles_3d=True,
            source_fields=("phuongXa", "tenPhuongXa", "tenXa", "ward", "PHUONG"),
        ),
        Column(
            "ward_code",
            "string",
            "Mã phường, xã",
            "Ward code",
            tiles_3d=True,
            source_fields=("maPhuongXa", "maXa", "ward_code", "MAXA"),
        ),
        Column(
            "sheet_no",
            "integer",
            "Số tờ",
            "Map sheet number",
            range=(1, 1e9),
            required=True,
            vector_tiles=True,
            tiles_3d=True,
            source_fields=("soHieuToBanDo", "soTo", "SHBANDO", "SOTO", "sheet_no", "sheet"),
        ),
        Column(
            "parcel_no",
            "integer",
            "Số thửa",
            "Parcel number",
            range=(1, 1e9),
            required=True,
            vector_tiles=True,
            tiles_3d=True,
            source_fields=("soThuTuThua", "soThua", "SHTHUA", "SOTHUA", "parcel_no", "parcel"),
        ),
        Column(
            "area_m2",
            "number",
            "Diện tích pháp lý",
            "Recorded area",
            unit="m²",
            range=(0, 1e9),
            tiles_3d=True,
            source_fields=("dienTich", "DIENTICH", "DT", "area_m2", "area"),
        ),
        Column(
            "land_use_code",
            "string",
            "Mã loại đất",
            "Land-use code",
            vector_tiles=True,
            tiles_3d=True,
            source_fields=("maMucDichSDD", "maSDD", "loaiDat", "KHLOAIDAT", "MDSD", "LOAIDAT", "land_use_code"),
        ),
        Column("address", "string", "Địa chỉ", "Address", tiles_3d=True, source_fields=("diaChi", "DIACHI", "address")),
        Column("geom_area_m2", "number", "Diện tích đo", "Measured area", unit="m²", imported=False, editable=False),
        *PROVENANCE,
    ),
    measured_area=True,
    source_layers=("ThuaDat_A",),
    keywords=("thửa đất", "cadastre"),
)

BUILDINGS = Layer(
    "buildings",
    "Công trình",
    "Buildings",
    "Building footprints with floors and height",
    "MultiPolygon",
    (
        Column("parcel_id", "integer", "Thửa đất", "Parcel", imported=False, tiles_3d=True),
        Column(
            "name", "string", "Tên", "Name", tiles_3d=True, source_fields=("tenCongTrinh", "tenDoiTuong", "ten", "name")
        ),
        Column(
            "floors",
            "integer",
            "Số tầng",
            "Floors",
            range=(0, 200),
            tiles_3d=True,
            source_fields=("soTang", "SOTANG", "tangCao", "floors"),
        ),
        Column(
            "basement_floors",
            "integer",
            "Số tầng hầm",
            "Basement floors",
            range=(0, 20),
            tiles_3d=True,
            source_fields=("soTangHam", "tangHam", "basement_floors"),
        ),
        Column(
            "height_m",
            "number",
            "Chiều cao",
            "Height",
            unit="m",
            range=(0, 1000),
            tiles_3d=True,
            source_fields=("chieuCao", "CHIEUCAO", "height_m", "height"),
        ),
        Column(
            "land_use_code",
            "string",
            "Mã loại đất",
            "Land-use code",
            tiles_3d=True,
            source_fields=("maMucDichSDD", "maSDD", "land_use_code"),
        ),
        Column(
            "geom_area_m2", "number", "Diện tích xây dựng", "Footprint area", unit="m²", imported=False, editable=False
        ),
        *PROVENANCE,
    ),
    measured_area=True,
    source_layers=("CongTrinh_A", "NhaO_A"),
    keywords=("công trình", "buildings"),
)

RED_LINES = Layer(
    "red_lines",
    "Chỉ giới đường đỏ",
    "Red lines",
    "Red lines of the approved plans: the boundary between lots and road land",
    "MultiLineString",
    (
        _PLAN_ID,
        replace(_ROAD, vector_tiles=True),
        replace(_ROAD_WIDTH, vector_tiles=True),
        _NOTES,
        *PROVENANCE,
    ),
    versioned=True,
    source_layers=("ChiGioiDuongDo_L",),
    keywords=("chỉ giới đường đỏ", "red line"),
    dossier_required=True,
)

BUILDING_LINES = Layer(
    "building_lines",
    "Chỉ giới xây dựng",
    "Building lines",
    "Building lines of the approved plans: the main building stays behind them",
    "MultiLineString",
    (
        _PLAN_ID,
        _ROAD,
        _ROAD_WIDTH,
        Column(
            "setback_m",
            "number",
            "Khoảng lùi so với chỉ giới đường đỏ",
            "Setback from the red line",
            unit="m",
            range=(0, 1000),
            source_fields=("khoangLui", "KHOANGLUI", "setback_m", "setback"),
        ),
        _NOTES,
        *PROVENANCE,
    ),
    versioned=True,
    source_layers=("ChiGioiXayDung_L",),
    keywords=("chỉ giới xây dựng", "building line"),
)

MAP_FEATURES = Layer(
    "map_features",
    "Nền địa hình",
    "Base map",
    "The base map around the plans, outside plan versions: water (river, lakes, the citadel's moat, canals; "
    "areas), citadel walls (areas, with their height), street and alley (kiệt) centre lines with their "
    "width, landmarks (points)",
    "Geometry",
    (
        Column(
            "kind", "string", "Loại", "Kind: water, wall, street, alley, landmark", imported=False, vector_tiles=True
        ),
        Column(
            "subkind",
            "string",
            "Loại trong nguồn (song, ho_thanh, kenh, ho, duong, kiet, ...)",
            "Class in the source",
            vector_tiles=True,
            source_fields=("loai", "loaiDoiTuong", "subkind"),
        ),
        Column(
            "name",
            "string",
            "Tên",
            "Name",
            vector_tiles=True,
            source_fields=("ten", "tenDuong", "tenDiaDanh", "tenDoiTuong", "name"),
        ),
        Column(
            "name_en",
            "string",
            "Tên tiếng Anh",
            "English name",
            vector_tiles=True,
            source_fields=("tenTiengAnh", "tenQuocTe", "name_en"),
        ),
        Column(
            "width_m",
            "number",
            "Lộ giới",
            "Street or alley width",
            unit="m",
            range=(0.01, 1000),
            vector_tiles=True,
            source_fields=("loGioi", "chieuRong", "LOGIOI", "width_m", "width"),
        ),
        Column(
            "height_m",
            "number",
            "Chiều cao so với mặt đất",
            "Height above the ground",
            unit="m",
            range=(0, 1000),
            source_fields=("chieuCao", "CHIEUCAO", "height_m", "height"),
        ),
    ),
    editable=False,
    source_layers=("ThuyHe_A", "TuongThanh_A", "TimDuong_L", "DiaDanh_P"),
    keywords=("nền địa hình", "base map"),
)

#: Every plan layer, by name (table and OGC collection), in the order an import writes them.
LAYERS: dict[str, Layer] = {
    layer.name: layer for layer in (PLANS, ZONES, RED_LINES, BUILDING_LINES, PARCELS, BUILDINGS, MAP_FEATURES)
}

#: The layers whose features belong to a plan version.
PLAN_LAYERS: tuple[str, ...] = tuple(name for name, layer in LAYERS.items() if layer.versioned)


def layer_of_kind(kind: str) -> Layer:
    """The layer a kind names (``red-lines`` → ``red_lines``; ``plan-boundary`` → ``plans``); KeyError if none."""
    for layer in LAYERS.values():
        if layer.kind == kind:
            return layer
    raise KeyError(kind)
