"""The sample as GIS layers in EPSG:9214, with the TT 16/2025 field names the importer maps."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon

from sample.blocks import StreetLine
from sample.build import Sample
from sample.frame import CRS, ZONING_CODE, to_world
from sample.geography import Feature, citadel_structures, landmarks, waters
from sample.network import ROADS, SOUTH_BANK_ROADS, TRUONG_TIEN
from sample.zoning import Zone

LAND_USE_NAMES = {
    "ODT": "Đất ở tại đô thị",
    "TMD": "Đất thương mại dịch vụ",
    "DDT": "Đất có di tích lịch sử - văn hóa",
    "DGD": "Đất xây dựng cơ sở giáo dục và đào tạo",
    "DVH": "Đất xây dựng cơ sở văn hóa",
    "DKV": "Đất khu vui chơi giải trí công cộng",
    "MNC": "Đất có mặt nước chuyên dùng",
    "TSC": "Đất xây dựng trụ sở cơ quan",
    "CQP": "Đất quốc phòng",
    "DCH": "Đất chợ",
    "TON": "Đất cơ sở tôn giáo",
    "HNK": "Đất trồng cây hằng năm khác",
}


def mandatory(tag: str, kind: str, i: int, name: str, category: str, note: str = "") -> dict[str, str]:
    """The six TT 16/2025 fields: ``maThongTinQH`` (15: the dossier's code and the layer's tag), ``maHoSoQH``,
    ``maDoiTuong`` (unique in its layer), ``tenDoiTuong``, ``phanLoai``, ``ghiChu``."""
    return {
        "maThongTinQH": f"{ZONING_CODE}{tag}",
        "maHoSoQH": ZONING_CODE,
        "maDoiTuong": f"{kind}-{i:05d}",
        "tenDoiTuong": name,
        "phanLoai": category,
        "ghiChu": note,
    }


def _multi(geom: Any) -> MultiPolygon:
    parts = [g for g in shapely.get_parts(geom) if isinstance(g, Polygon) and not g.is_empty]
    return MultiPolygon(parts)


def _world(geom: Any) -> Any:
    """A shape of the frame in EPSG:9214, still valid: turning a shape can make a near-touch of two of its edges
    (a billionth of a metre apart) a crossing, which is repaired here (what the repair changes is checked)."""
    moved = to_world(geom)
    if moved.is_valid:
        return moved
    flat = shapely.get_parts(shapely.get_parts(shapely.make_valid(moved)))
    parts = [p for p in flat if isinstance(p, Polygon) and p.area > 1e-6]
    fixed: Any = MultiPolygon(parts) if isinstance(moved, MultiPolygon) or len(parts) > 1 else parts[0]
    if isinstance(moved, Polygon) and len(parts) > 1:
        fixed = max(parts, key=lambda p: p.area)
    assert fixed.is_valid and abs(fixed.area - moved.area) < 1e-3, "a shape changed in its repair"
    return fixed


def _frame(rows: list[dict[str, Any]]) -> gpd.GeoDataFrame:
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)
    gdf["geometry"] = gdf.geometry.apply(_world)
    return gdf


def zones_layer(zones: list[Zone]) -> gpd.GeoDataFrame:
    """``ChucNangSuDungDat_A``: the zones and their rules."""
    rows = []
    for i, z in enumerate(zones, start=1):
        r = z.rule
        rows.append(
            {
                **mandatory("CNS", "CNSDD", i, f"Ô quy hoạch {z.code}", LAND_USE_NAMES[r.code], r.note),
                "kyHieuO": z.code,
                "maSDD": r.code,
                "matDoXayDung": r.density,
                "tangCaoToiDa": r.fmax,
                "tangCaoToiThieu": r.fmin,
                "chieuCaoToiDa": r.hmax,
                "heSoSDD": r.far,
                "khoangLuiToiThieu": r.setback,
                "caoDoNenToiThieu": r.elev,
                "khuVucBaoTon": r.heritage,
                "khongGioiHan": r.unlimited or None,
                "khuVucMoi": r.new,
                "dienTich": round(z.geom.area, 1),
                "geometry": _multi(z.geom),
            }
        )
    gdf = _frame(rows)
    for col in ("tangCaoToiDa", "tangCaoToiThieu"):  # whole numbers where given, empty where not
        gdf[col] = gdf[col].astype("Int32")
    return gdf


def _as_of_2019(line: StreetLine) -> tuple[LineString, float] | None:
    """A street line as the 2019 plan drew it: none in the new area (farmland then), Mai Thúc Loan 13 m wide (its
    lines 1.75 m further out than today's)."""
    if line.block.startswith("new"):
        return None
    if line.road.widened_from is None:
        return line.geom, line.road.width
    return line.geom.offset_curve(-(line.road.width - line.road.widened_from) / 2), line.road.widened_from


def red_lines_layer(s: Sample, as_of_2019: bool = False) -> gpd.GeoDataFrame:
    """``ChiGioiDuongDo_L``: the red lines, as the 2019 plan drew them when ``as_of_2019``."""
    rows = []
    for i, r in enumerate(s.red, start=1):
        geom, width = r.geom, r.road.width
        if as_of_2019:
            old = _as_of_2019(r)
            if old is None:
                continue
            geom, width = old
        rows.append(
            {
                **mandatory("CGD", "CGDD", i, f"Chỉ giới đường đỏ đường {r.road.name}", "Chỉ giới đường đỏ"),
                "tenDuong": r.road.name,
                "loGioi": width,
                "geometry": geom,
            }
        )
    return _frame(rows)


def building_lines_layer(s: Sample, as_of_2019: bool = False) -> gpd.GeoDataFrame:
    """``ChiGioiXayDung_L``: the building lines, as the 2019 plan drew them when ``as_of_2019``."""
    rows = []
    for i, b in enumerate(s.building_lines, start=1):
        old = _as_of_2019(b) if as_of_2019 else (b.geom, b.road.width)
        if old is None:
            continue
        b = StreetLine(b.road, old[0], b.block, b.setback)
        rows.append(
            {
                **mandatory("CGX", "CGXD", i, f"Chỉ giới xây dựng đường {b.road.name}", "Chỉ giới xây dựng"),
                "tenDuong": b.road.name,
                "loGioi": b.road.width,
                "khoangLui": b.setback,
                "geometry": b.geom,
            }
        )
    return _frame(rows)


def boundary_layer(s: Sample) -> gpd.GeoDataFrame:
    """``RanhGioiQuyHoach_A``: the zoning plan's boundary."""
    name = "Ranh giới quy hoạch phân khu Kinh thành, bờ bắc sông Hương, Kim Long và khu dân cư Hương Sơ"
    return _frame([{**mandatory("RGQ", "RGQH", 1, name, "Ranh giới"), "geometry": _multi(s.boundary)}])


def parcels_layer(s: Sample) -> gpd.GeoDataFrame:
    """``ThuaDat_A``: the parcels of the cadastre."""
    rows = []
    for i, p in enumerate(sorted(s.parcels, key=lambda p: (p.ward, p.sheet, p.number)), start=1):
        rows.append(
            {
                **mandatory("THD", "TD", i, p.name or f"Thửa {p.number}, tờ {p.sheet}", "Thửa đất"),
                "phuongXa": p.ward,
                "maPhuongXa": p.ward_code,
                "soHieuToBanDo": p.sheet,
                "soThuTuThua": p.number,
                "dienTich": p.area_recorded,
                "maMucDichSDD": p.land_use,
                "diaChi": p.address,
                "tenDuong": p.lot.road.name if p.lot.road is not None else "",
                "tenKiet": p.lot.kiet.name if p.lot.kiet is not None else "",
                "geometry": p.lot.poly,
            }
        )
    return _frame(rows)


def buildings_layer(s: Sample) -> gpd.GeoDataFrame:
    """``CongTrinh_A``: the buildings standing today, keyed as they are across re-imports."""
    rows = []
    for i, b in enumerate(sorted(s.buildings, key=lambda b: b.key), start=1):
        m = mandatory("CTR", "CT", i, b.name, "Công trình hiện trạng")
        m["maDoiTuong"] = b.key  # the building's key across re-imports
        rows.append(
            {
                **m,
                "tenCongTrinh": b.name,
                "soTang": b.floors,
                "soTangHam": b.basement,
                "chieuCao": b.height,
                "maMucDichSDD": b.land_use,
                "geometry": b.geom,
            }
        )
    return _frame(rows)


def _features(tag: str, kind: str, category: str, feats: list[Feature], multi: bool) -> gpd.GeoDataFrame:
    rows = []
    for i, f in enumerate(feats, start=1):
        row: dict[str, Any] = {
            **mandatory(tag, kind, i, f.ten, category),
            "loai": f.loai,
            "ten": f.ten,
            "tenTiengAnh": f.ten_en,
        }
        if kind != "TH":
            row["chieuCao"] = f.height
        row["geometry"] = _multi(f.geom) if multi else f.geom
        rows.append(row)
    gdf = _frame(rows)
    return gdf


def base_map(s: Sample) -> dict[str, gpd.GeoDataFrame]:
    """``NenDiaHinh.gpkg``: water, the citadel's walls and gates, street and kiệt centre lines, landmarks."""
    streets = []
    for r in [*ROADS, *SOUTH_BANK_ROADS]:
        streets.append({"tenDuong": r.name, "loGioi": r.width, "loai": "duong", "line": r.centre})
    for k in sorted(s.kiet, key=lambda k: k.name):
        streets.append({"tenDuong": k.name, "loGioi": k.width, "loai": "kiet", "line": k.line})
    rows = []
    for i, st in enumerate(streets, start=1):
        what = "Kiệt" if st["loai"] == "kiet" else "Tim đường"
        line = st.pop("line")
        rows.append({**mandatory("TDG", "TD", i, str(st["tenDuong"]), what), **st, "geometry": LineString(line)})
    places = {p.name: p.lot.poly for p in s.parcels if p.name}
    return {
        "ThuyHe_A": _features("THH", "TH", "Thủy hệ", waters(), True),
        "TuongThanh_A": _features("TTH", "TT", "Tường thành, cổng thành", citadel_structures(), True),
        "TimDuong_L": _frame(rows),
        "DiaDanh_P": _features("DDA", "DD", "Địa danh", landmarks(places, TRUONG_TIEN), False),
    }


def plan_layers(s: Sample, zones: list[Zone], version_2019: bool = False) -> dict[str, gpd.GeoDataFrame]:
    """The layers of ``QuyHoach.gpkg``: zones, red lines, building lines and boundary."""
    return {
        "ChucNangSuDungDat_A": zones_layer(zones),
        "ChiGioiDuongDo_L": red_lines_layer(s, as_of_2019=version_2019),
        "ChiGioiXayDung_L": building_lines_layer(s, as_of_2019=version_2019),
        "RanhGioiQuyHoach_A": boundary_layer(s),
    }
