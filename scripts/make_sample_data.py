"""Make the sample plans of Huế in ``sample_data/`` (reproducible: same output on every run).

A realistic slice of Huế around the Kinh thành (citadel) and Kim Long, in EPSG:9214 (VN-2000 / TM-3 107-00):

- ``46QPK0000001/HoSoGIS/QuyHoach.gpkg``: zoning plan 1:2000 as a TT 16/2025 dossier (layers
  ``ChucNangSuDungDat_A`` zones, ``ChiGioiDuongDo_L`` red lines, ``ChiGioiXayDung_L`` building lines,
  ``RanhGioiQuyHoach_A`` plan boundary), with the mandatory TT 16/2025 fields on every layer;
- ``46QPK0000001/HoSoGIS/HienTrang.gpkg``: cadastral parcels ``ThuaDat_A`` (ward, sheet, parcel number; several
  straddle two zones, listed in ``straddling_parcels.csv``) and buildings ``CongTrinh_A`` (floors, height);
- ``46QCT0000001/HoSoBASIC/KimLong_QHCT_1-500.dxf``: a detailed plan 1:500 drawn in CAD: closed polylines with arcs
  (bulges), a hatch, TEXT/MTEXT labels (some in TCVN3), red and building lines; no CRS (as every DXF);
- ``46QPK0000001/HoSoScan/KinhThanh_QHPK_scan.tif``: a scanned-style colour map of part of the zoning plan (official
  land-use colours, black linework and lettering, scanner noise), georeferenced in EPSG:9214.

Run: ``python scripts/make_sample_data.py [OUT_DIR]`` (default ``sample_data``). Written with GDAL (pyogrio),
ezdxf and rasterio, as the files planners hold are.
"""

from __future__ import annotations

import csv
import math
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import ezdxf
import geopandas as gpd
import numpy as np
import pyogrio
import rasterio
import rasterio.features
import shapely
from ezdxf.enums import TextEntityAlignment
from pyproj import Transformer
from rasterio.transform import from_origin
from shapely.geometry import LineString, MultiPolygon, Polygon, box
from shapely.ops import unary_union

CRS = "EPSG:9214"
ZONING_CODE = "46QPK0000001"
DETAILED_CODE = "46QCT0000001"
SEED = 20250716

# The control point (Kinh thành) and the centres of the two areas, in EPSG:9214.
TO_9214 = Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
CONTROL = TO_9214.transform(107.5790, 16.4698)
KIM_LONG = TO_9214.transform(107.5555, 16.4560)

# Land-use names (TT 08/2024) and the colours of the official palette used by the scan.
NAMES = {
    "ODT": "Đất ở tại đô thị",
    "TMD": "Đất thương mại dịch vụ",
    "DDT": "Đất có di tích lịch sử - văn hóa",
    "DGD": "Đất xây dựng cơ sở giáo dục và đào tạo",
    "DYT": "Đất xây dựng cơ sở y tế",
    "DKV": "Đất khu vui chơi giải trí công cộng",
    "MNC": "Đất có mặt nước chuyên dùng",
    "TSC": "Đất xây dựng trụ sở cơ quan",
    "CLN": "Đất trồng cây lâu năm",
    "TON": "Đất cơ sở tôn giáo",
    "NTD": "Đất nghĩa trang nhà tang lễ",
    "DGT": "Đất giao thông",
}
RGB = {
    "ODT": (255, 160, 255),
    "TMD": (250, 170, 160),
    "DDT": (255, 170, 160),
    "DGD": (255, 170, 160),
    "DYT": (255, 170, 160),
    "DKV": (255, 170, 160),
    "MNC": (180, 255, 255),
    "TSC": (255, 170, 160),
    "CLN": (255, 210, 160),
    "TON": (255, 170, 160),
    "NTD": (210, 210, 210),
}
# Planning rules by land use: density %, max floors, min floors, max height m, FAR, setback m.
RULES = {
    "ODT": (70, 4, 2, 16.0, 2.8, 3.0),
    "TMD": (60, 5, 2, 20.0, 3.0, 6.0),
    "DDT": (5, 2, None, 10.0, 0.1, 10.0),
    "DGD": (40, 4, None, 16.0, 1.6, 6.0),
    "DYT": (40, 5, None, 20.0, 2.0, 6.0),
    "DKV": (5, 1, None, 6.0, 0.05, 5.0),
    "MNC": (0, 0, None, 0.0, 0.0, None),
    "TSC": (40, 5, None, 20.0, 2.0, 6.0),
    "CLN": (25, 2, None, 9.0, 0.5, 5.0),
    "TON": (30, 2, None, 12.0, 0.6, 6.0),
    "NTD": (5, 1, None, 5.0, 0.05, 5.0),
}
STREETS_U = ["Lê Duẩn", "Tăng Bạt Hổ", "Lê Thánh Tôn", "Đinh Tiên Hoàng", "Đoàn Thị Điểm", "Thái Phiên", "Xuân 68"]
STREETS_V = ["Nguyễn Trãi", "Lê Huân", "Mai Thúc Loan", "Ông Ích Khiêm", "Hàn Thuyên", "Đặng Trần Côn", "Lê Văn Hưu"]

# TCVN3 (ABC) bytes of the Vietnamese letters used in the CAD labels, as a drafter's .VnTime font would store them.
TCVN3 = str.maketrans(
    {
        "Đ": "§",
        "đ": "®",
        "ấ": "Ê",
        "ở": "ë",
        "ạ": "¹",
        "ô": "«",
        "ị": "Þ",
        "ử": "ö",
        "Ô": "¤",
        "ư": "­",
        "ơ": "¬",
        "ì": "×",
        "à": "µ",
        "á": "¸",
        "ả": "¶",
        "ồ": "å",
        "ê": "ª",
        "ế": "Õ",
        "ỳ": "ú",
        "ậ": "Ë",
        "â": "©",
        "ă": "¨",
        "ặ": "Æ",
        "ố": "è",
        "ờ": "ê",
        "ớ": "í",
        "ợ": "î",
        "ụ": "ô",
        "ứ": "ø",
        "ừ": "õ",
        "ự": "ù",
        "ú": "ó",
        "ù": "ï",
        "ó": "ã",
        "ò": "ß",
        "é": "Ð",
        "è": "Ì",
        "í": "Ý",
        "ỏ": "á",
        "ọ": "ä",
        "ộ": "é",
        "ủ": "ñ",
        "ũ": "ò",
        "ỉ": "Ø",
        "ĩ": "Ü",
        "ẹ": "Ñ",
        "ẻ": "Î",
        "ệ": "Ö",
        "ể": "Ó",
        "ễ": "Ô",
        "ề": "Ò",
        "ầ": "Ç",
        "ẩ": "È",
        "ẫ": "É",
    }
)


def tcvn3(text: str) -> str:
    """Unicode → TCVN3 as stored by a .VnTime font (each byte read as Latin-1)."""
    return text.translate(TCVN3)


@dataclass
class Grid:
    """A rotated local frame: (u, v) metres from ``origin``, u along ``angle`` (degrees from east)."""

    origin: tuple[float, float]
    angle: float

    def xy(self, u: float, v: float) -> tuple[float, float]:
        a = math.radians(self.angle)
        return (
            round(self.origin[0] + u * math.cos(a) - v * math.sin(a), 3),
            round(self.origin[1] + u * math.sin(a) + v * math.cos(a), 3),
        )

    def rect(self, u0: float, v0: float, u1: float, v1: float) -> Polygon:
        return Polygon([self.xy(u0, v0), self.xy(u1, v0), self.xy(u1, v1), self.xy(u0, v1)])

    def line(self, pts: list[tuple[float, float]]) -> LineString:
        return LineString([self.xy(u, v) for u, v in pts])


CITADEL = Grid((CONTROL[0] + 60.0, CONTROL[1] + 390.0), 45.0)  # the Imperial City lies south of the centre


def mandatory(code: str, i: int, kind: str, name: str, category: str, note: str = "") -> dict[str, str]:
    """The six TT 16/2025 fields every layer carries."""
    return {
        "maThongTinQH": f"{code}{i:03d}",
        "maHoSoQH": code,
        "maDoiTuong": f"{kind}-{i:04d}",
        "tenDoiTuong": name,
        "phanLoai": category,
        "ghiChu": note,
    }


def zoning_plan(rng: np.random.Generator) -> dict[str, gpd.GeoDataFrame]:
    """The Kinh thành zoning plan: a 7 x 7 grid of blocks inside the walls, and Kim Long along the river."""
    citadel = CITADEL
    zones: list[dict] = []
    red: list[dict] = []
    bld: list[dict] = []
    cell, n = 300.0, 7
    half = cell * n / 2
    widths_u = [24.0, 16.5, 19.5, 13.5, 19.5, 16.5, 24.0, 24.0]
    widths_v = [24.0, 13.5, 16.5, 19.5, 16.5, 13.5, 24.0, 24.0]
    zone_no = 0
    straddle_cells = {(1, 1), (2, 5), (4, 2), (5, 4)}  # blocks split between two zones, parcels laid across
    parcel_cells: dict[tuple[int, int], tuple[Polygon, list[tuple[Polygon, str, str]]]] = {}

    def add_zone(geom: Polygon, code: str, heritage: str | None, label: str | None = None) -> str:
        nonlocal zone_no
        zone_no += 1
        zcode = label or f"ÔQH-{zone_no:02d}"
        dens, fmax, fmin, hmax, far, setback = RULES[code]
        in_citadel = heritage is not None
        if in_citadel and code in ("ODT", "TMD"):  # heritage height limits inside the Kinh thành
            fmax, hmax, far = min(fmax, 3), min(hmax, 12.0), min(far, 2.0)
        zones.append(
            {
                **mandatory(ZONING_CODE, zone_no, "CNSDD", f"Ô quy hoạch {zcode}", NAMES[code]),
                "kyHieuO": zcode,
                "maSDD": code,
                "matDoXayDung": float(dens),
                "tangCaoToiDa": fmax,
                "tangCaoToiThieu": fmin,
                "chieuCaoToiDa": hmax,
                "heSoSDD": far,
                "khoangLuiToiThieu": setback,
                "caoDoNenToiThieu": round(3.2 + float(rng.uniform(0, 0.8)), 2),
                "khuVucBaoTon": heritage,
                "dienTich": round(geom.area, 1),
                "geometry": geom,
            }
        )
        return zcode

    for i in range(n):
        for j in range(n):
            u0, v0 = -half + i * cell, -half + j * cell
            u1, v1 = u0 + cell, v0 + cell
            g = citadel.rect(
                u0 + widths_u[i] / 2, v0 + widths_v[j] / 2, u1 - widths_u[i + 1] / 2, v1 - widths_v[j + 1] / 2
            )
            heritage = "Khu vực bảo vệ II - Kinh thành Huế"
            if i in (2, 3, 4) and j in (0, 1):  # Đại Nội, the Imperial City
                code, heritage = "DDT", "Khu vực bảo vệ I - Đại Nội"
            elif (i, j) in ((0, 6), (6, 6)):
                code = "MNC"  # Hồ Tịnh Tâm and the lakes of the north
            elif (i, j) in ((1, 4), (5, 6)):
                code = "DKV"
            elif (i, j) == (3, 4):
                code = "DGD"
            elif (i, j) == (5, 2):
                code = "DYT"
            elif (i, j) == (6, 0):
                code = "TSC"
            elif (i, j) == (3, 6):
                code = "TON"
            else:
                code = "ODT"
            if (i, j) in straddle_cells:
                # Split the block: the front third is commercial, the rest housing; parcels ignore the split.
                a, b = g.exterior.coords[0], g.exterior.coords[1]
                du = widths_u[i] / 2
                um = u0 + du + (cell - du - widths_u[i + 1] / 2) * 0.42
                left = citadel.rect(u0 + widths_u[i] / 2, v0 + widths_v[j] / 2, um, v1 - widths_v[j + 1] / 2)
                right = citadel.rect(um, v0 + widths_v[j] / 2, u1 - widths_u[i + 1] / 2, v1 - widths_v[j + 1] / 2)
                del a, b
                z1 = add_zone(left, "TMD", heritage)
                z2 = add_zone(right, "ODT", heritage)
                parcel_cells[(i, j)] = (g, [(left, z1, "TMD"), (right, z2, "ODT")])
            else:
                z = add_zone(g, code, heritage)
                if code == "ODT" and (i + j) % 3 == 0:
                    parcel_cells[(i, j)] = (g, [(g, z, code)])
    # Red lines: both edges of each street of the grid; building lines a setback inside.
    rl_no = 0
    for k in range(n + 1):
        for vertical, widths, names in ((True, widths_u, STREETS_U), (False, widths_v, STREETS_V)):
            w = widths[k]
            c = -half + k * cell
            name = names[k % len(names)]
            for side in (-1, 1):
                off = c + side * w / 2
                if (k == 0 and side == -1) or (k == n and side == 1):
                    continue  # outside the walls
                pts = [(off, -half), (off, half)] if vertical else [(-half, off), (half, off)]
                rl_no += 1
                line = citadel.line(pts)
                red.append(
                    {
                        **mandatory(ZONING_CODE, rl_no, "CGDD", f"Chỉ giới đường đỏ đường {name}", "Chỉ giới đường đỏ"),
                        "tenDuong": name,
                        "loGioi": w,
                        "geometry": line,
                    }
                )
                setback = 3.0 if w < 19 else 6.0
                off2 = off + side * setback
                pts2 = [(off2, -half), (off2, half)] if vertical else [(-half, off2), (half, off2)]
                bld.append(
                    {
                        **mandatory(ZONING_CODE, rl_no, "CGXD", f"Chỉ giới xây dựng đường {name}", "Chỉ giới xây dựng"),
                        "tenDuong": name,
                        "loGioi": w,
                        "khoangLui": setback,
                        "geometry": citadel.line(pts2),
                    }
                )

    # Kim Long: garden houses, pagodas and a school along the river road (Kim Long street).
    kim = Grid((KIM_LONG[0], KIM_LONG[1]), 28.0)
    kim_codes = [["CLN", "ODT", "TON", "ODT", "DGD", "ODT"], ["ODT", "CLN", "ODT", "NTD", "CLN", "TMD"]]
    for r, row in enumerate(kim_codes):
        for c, code in enumerate(row):
            u0, v0 = -540 + c * 180.0, 20 + r * 160.0
            g = kim.rect(u0 + 7, v0 + 7, u0 + 173, v0 + 153)
            z = add_zone(g, code, None, f"KL-{r * len(row) + c + 1:02d}")
            if code == "ODT" and c in (1, 3):
                parcel_cells[(100 + r, c)] = (g, [(g, z, code)])
    for side, v in ((-1, 13.5), (1, 26.5)):
        rl_no += 1
        red.append(
            {
                **mandatory(ZONING_CODE, rl_no, "CGDD", "Chỉ giới đường đỏ đường Kim Long", "Chỉ giới đường đỏ"),
                "tenDuong": "Kim Long",
                "loGioi": 13.0,
                "geometry": kim.line([(-560, v), (540, v)]),
            }
        )
        del side

    boundary = unary_union([z["geometry"] for z in zones]).convex_hull
    zones_gdf = gpd.GeoDataFrame(zones, crs=CRS)
    parcels, buildings, straddling = cadastre(parcel_cells, rng)
    return {
        "ChucNangSuDungDat_A": zones_gdf,
        "ChiGioiDuongDo_L": gpd.GeoDataFrame(red, crs=CRS),
        "ChiGioiXayDung_L": gpd.GeoDataFrame(bld, crs=CRS),
        "RanhGioiQuyHoach_A": gpd.GeoDataFrame(
            [
                {
                    **mandatory(ZONING_CODE, 1, "RGQH", "Ranh giới quy hoạch phân khu Kinh thành", "Ranh giới"),
                    "geometry": MultiPolygon([boundary]),
                }
            ],
            crs=CRS,
        ),
        "ThuaDat_A": parcels,
        "CongTrinh_A": buildings,
        "_straddling": straddling,
    }


def cadastre(
    cells: dict[tuple[int, int], tuple[Polygon, list[tuple[Polygon, str, str]]]], rng: np.random.Generator
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Parcels (12-16 m frontage, 20-25 m deep) laid over blocks, one building on most of them."""
    parcels: list[dict] = []
    buildings: list[dict] = []
    straddling: list[dict] = []
    for sheet, ((i, _j), (block, zones)) in enumerate(sorted(cells.items()), start=1):
        ward = "Kim Long" if i >= 100 else "Phú Xuân"
        ward_code = "19804" if ward == "Kim Long" else "19750"
        coords = list(block.exterior.coords)[:4]
        p0, p1, p3 = np.array(coords[0]), np.array(coords[1]), np.array(coords[3])
        eu, ev = p1 - p0, p3 - p0
        lu, lv = float(np.linalg.norm(eu)), float(np.linalg.norm(ev))
        eu, ev = eu / lu, ev / lv
        parcel_no = 0
        depth = 22.0
        rows = [0.0, depth, lv - depth]  # two rows along the front and one along the back street
        for r, v0 in enumerate(rows):
            u = 0.0
            while u < lu - 8:
                w = float(rng.uniform(12, 16))
                if lu - u - w < 8:
                    w = lu - u
                corners = [p0 + eu * u + ev * v0, p0 + eu * (u + w) + ev * v0]
                corners += [p0 + eu * (u + w) + ev * (v0 + depth), p0 + eu * u + ev * (v0 + depth)]
                poly = Polygon([(round(x, 3), round(y, 3)) for x, y in corners])
                u += w
                parcel_no += 1
                code = "ODT"
                if ward == "Kim Long" and r == 2 and parcel_no % 5 == 0:
                    code = "BHK"  # an old cadastral code (annual crops) still on the record: maps to HNK
                parcels.append(
                    {
                        "phuongXa": ward,
                        "maPhuongXa": ward_code,
                        "soHieuToBanDo": sheet,
                        "soThuTuThua": parcel_no,
                        "dienTich": round(poly.area + float(rng.normal(0, 0.6)), 1),
                        "maMucDichSDD": code,
                        "diaChi": f"Thửa {parcel_no}, tờ {sheet}, phường {ward}, thành phố Huế",
                        "geometry": poly,
                    }
                )
                shares = [(zc, poly.intersection(zg).area / poly.area) for zg, zc, _ in zones]
                shares = [(zc, s) for zc, s in shares if s > 0.001]
                if len(shares) > 1:
                    straddling.append(
                        {
                            "ward": ward,
                            "sheet_no": sheet,
                            "parcel_no": parcel_no,
                            "area_m2": round(poly.area, 2),
                            "zones": ";".join(f"{zc}:{s:.3f}" for zc, s in shares),
                        }
                    )
                if rng.random() < 0.85:
                    floors = int(rng.choice([1, 2, 2, 3, 3, 4]))
                    fw, fd = w * float(rng.uniform(0.6, 0.8)), depth * float(rng.uniform(0.55, 0.75))
                    a = p0 + eu * (u - w + (w - fw) / 2) + ev * (v0 + (3.0 if r != 2 else depth - fd - 3.0))
                    fp = Polygon([a, a + eu * fw, a + eu * fw + ev * fd, a + ev * fd])
                    fp = shapely.set_precision(fp, 0.001)
                    buildings.append(
                        {
                            "tenCongTrinh": "Nhà ở riêng lẻ",
                            "soTang": floors,
                            "soTangHam": 0,
                            "chieuCao": round(floors * 3.6 + 0.6, 2),
                            "maMucDichSDD": "ODT",
                            "maDoiTuong": f"CT-{sheet:03d}-{parcel_no:04d}",
                            "geometry": fp,
                        }
                    )
    return (
        gpd.GeoDataFrame(parcels, crs=CRS),
        gpd.GeoDataFrame(buildings, crs=CRS),
        gpd.GeoDataFrame(straddling),
    )


def bulge(p0: tuple[float, float], p1: tuple[float, float], sagitta: float) -> float:
    """DXF bulge of an arc from p0 to p1 with the given sagitta (positive: arc to the left)."""
    chord = math.dist(p0, p1)
    return 2 * sagitta / chord


def detailed_plan_dxf(path: Path) -> None:
    """The Kim Long detailed plan 1:500 drawn in AutoCAD style: layers, arcs, a hatch, labels (some TCVN3)."""
    ezdxf.options.write_fixed_meta_data_for_testing = True  # fixed dates and GUIDs: the same bytes on every run
    doc = ezdxf.new("R2010", setup=True)
    for name, color in (
        ("QH_DAT_O", 6),
        ("QH_THUONG_MAI", 1),
        ("QH_CAY_XANH", 3),
        ("QH_GIAO_DUC", 30),
        ("QH_TON_GIAO", 40),
        ("KY_HIEU_O", 7),
        ("CHI_GIOI_DUONG_DO", 1),
        ("CHI_GIOI_XAY_DUNG", 5),
        ("TIM_DUONG", 8),
    ):
        doc.layers.add(name, color=color)
    msp = doc.modelspace()
    g = Grid((KIM_LONG[0] - 200.0, KIM_LONG[1] + 380.0), 28.0)
    lots = [  # (u0, v0, u1, v1, layer, labels, label style)
        (0, 0, 48, 40, "QH_DAT_O", ["ODT", "ÔQH-01", "MĐXD 60%", "TC 3", "HSSDĐ 1.8"], "mtext"),
        (52, 0, 100, 40, "QH_DAT_O", ["ODT", "ÔQH-02", "MĐXD 70%", "4T", "HSSDĐ 2.8"], "text"),
        (104, 0, 160, 40, "QH_THUONG_MAI", ["TMD", "ÔQH-03", "MĐXD 60%", "TC 5", "HSSDĐ 3.0"], "mtext"),
        (0, 48, 48, 96, "QH_DAT_O", ["ODT", "ÔQH-04", "MĐXD 60%", "TC 3", "Đất ở tại đô thị"], "tcvn3"),
        (52, 48, 100, 96, "QH_GIAO_DUC", ["DGD", "ÔQH-05", "MĐXD 40%", "TC 4", "HSSDĐ 1.6"], "text"),
        (104, 48, 160, 96, "QH_TON_GIAO", ["TON", "ÔQH-06", "MĐXD 30%", "2T", "HSSDĐ 0.6"], "mtext"),
        (0, 104, 48, 150, "QH_DAT_O", ["ODT", "ÔQH-07", "MĐXD 65%", "TC 3", "Thửa đất"], "tcvn3"),
        (52, 104, 100, 150, "QH_CAY_XANH", [], "none"),  # a park drawn without labels: its code comes from the layer
    ]
    for k, (u0, v0, u1, v1, layer, labels, style) in enumerate(lots):
        pts = [g.xy(u0, v0), g.xy(u1, v0), g.xy(u1, v1), g.xy(u0, v1)]
        # Rounded street corners (radius ~4 m) on the first lot of each row: a bulge on the corner chord.
        if k in (0, 3):
            c0, c1 = g.xy(u0, v0 + 4), g.xy(u0 + 4, v0)
            ring = [(*c1, 0.0), (*pts[1], 0.0), (*pts[2], 0.0), (*pts[3], 0.0), (*c0, math.tan(math.pi / 8))]
            msp.add_lwpolyline(
                [(x, y, 0, 0, b) for x, y, b in ring], format="xyseb", close=True, dxfattribs={"layer": layer}
            )
        else:
            msp.add_lwpolyline(pts, close=True, dxfattribs={"layer": layer})
        cu, cv = (u0 + u1) / 2, (v0 + v1) / 2
        if style == "mtext":
            m = msp.add_mtext("\\P".join(labels), dxfattribs={"layer": "KY_HIEU_O", "char_height": 1.6})
            m.set_location(g.xy(cu, cv), attachment_point=5)
        elif style in ("text", "tcvn3"):
            for r, label in enumerate(labels):
                text = tcvn3(label) if style == "tcvn3" else label
                t = msp.add_text(text, height=1.4, dxfattribs={"layer": "KY_HIEU_O", "style": "Standard"})
                t.set_placement(g.xy(cu, cv + 6 - r * 2.6), align=TextEntityAlignment.MIDDLE_CENTER)
    # A school yard bounded by a curved street (a 70 m radius arc: bulges must be followed within 5 cm).
    a, b = g.xy(164, 0), g.xy(164, 96)
    ring = [(*a, 0.0), (*g.xy(230, 0), 0.0), (*g.xy(230, 96), bulge(g.xy(230, 96), b, -16.0)), (*b, 0.0)]
    msp.add_lwpolyline(
        [(x, y, 0, 0, bb) for x, y, bb in ring], format="xyseb", close=True, dxfattribs={"layer": "QH_GIAO_DUC"}
    )
    m = msp.add_mtext(
        "DGD\\PÔQH-08\\PMĐXD 40%\\PTC 4\\PHSSDĐ 1.6", dxfattribs={"layer": "KY_HIEU_O", "char_height": 1.6}
    )
    m.set_location(g.xy(190, 48), attachment_point=5)
    # A green strip as a HATCH (no polyline), with an arc edge, labelled in TCVN3 with a zone name.
    hatch = msp.add_hatch(color=3, dxfattribs={"layer": "QH_CAY_XANH"})
    edges = hatch.paths.add_edge_path()
    h0, h1, h2 = g.xy(104, 104), g.xy(160, 104), g.xy(160, 150)
    edges.add_line(h0, h1)
    edges.add_line(h1, h2)
    h3 = g.xy(104, 150)
    edges.add_line(h2, h3)
    edges.add_line(h3, h0)
    hatch.set_pattern_fill("ANSI31", scale=0.5)
    for r, label in enumerate(["DKV", tcvn3("ÔQH-09"), tcvn3("MĐXD 5%"), "1T"]):
        t = msp.add_text(label, height=1.4, dxfattribs={"layer": "KY_HIEU_O"})
        t.set_placement(g.xy(132, 131 - r * 2.6), align=TextEntityAlignment.MIDDLE_CENTER)
    # A label that fell outside every lot (the importer reports it).
    t = msp.add_text("ODT", height=1.4, dxfattribs={"layer": "KY_HIEU_O"})
    t.set_placement(g.xy(130, -12), align=TextEntityAlignment.MIDDLE_CENTER)
    # Red lines and building lines along the streets, with the road width as text.
    for layer, off in (("CHI_GIOI_DUONG_DO", -4.0), ("CHI_GIOI_XAY_DUNG", 3.0)):
        msp.add_lwpolyline([g.xy(-10, off), g.xy(240, off)], dxfattribs={"layer": layer})
        msp.add_lwpolyline(
            [g.xy(-10, 100 + (off if off > 0 else 0)), g.xy(170, 100 + (off if off > 0 else 0))],
            dxfattribs={"layer": layer},
        )
    msp.add_lwpolyline([g.xy(-10, -9.5), g.xy(240, -9.5)], dxfattribs={"layer": "TIM_DUONG"})
    doc.header["$INSUNITS"] = 6  # metres
    doc.saveas(path)


def scan_geotiff(path: Path, zones: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Paint part of the zoning plan as a scanned colour map; returns the source polygons it was drawn from."""
    res = 1.5
    cx, cy = CITADEL.xy(-560.0, 560.0)  # the north-west quarter: lakes, a park, a school, a pagoda, housing
    x0, y0, w, h = cx - 600, cy + 600, 800, 800  # 1.2 km x 1.2 km
    window = box(x0, y0 - h * res, x0 + w * res, y0)
    src = zones[zones.intersects(window)].copy()
    src["geometry"] = src.geometry.intersection(window)
    src = src[src.geometry.area > 500]
    transform = from_origin(x0, y0, res, res)
    img = np.full((3, h, w), 255, dtype=np.uint8)
    for code, rgb in RGB.items():
        sel = src[src["maSDD"] == code]
        if sel.empty:
            continue
        mask = rasterio.features.rasterize(
            ((geom, 1) for geom in sel.geometry), out_shape=(h, w), transform=transform, dtype="uint8"
        ).astype(bool)
        for band in range(3):
            img[band][mask] = rgb[band]
    # Black linework: zone outlines and road centre lines, ~2 px wide; lettering as small black blocks.
    outlines = [g.boundary.buffer(1.2) for g in src.geometry]
    ink = rasterio.features.rasterize(((o, 1) for o in outlines), out_shape=(h, w), transform=transform, dtype="uint8")
    for geom in src.geometry:
        c = geom.representative_point()
        for k in range(3):
            r0, c0 = rasterio.transform.rowcol(transform, c.x - 12, c.y + 6 - k * 6)
            ink[max(r0, 0) : max(r0, 0) + 3, max(c0, 0) : max(c0, 0) + int(rng.integers(8, 16))] = 1
    for band in range(3):
        img[band][ink.astype(bool)] = 20
    noise = rng.normal(0, 3.0, size=img.shape)
    img = np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=w,
        height=h,
        count=3,
        dtype="uint8",
        crs=CRS,
        transform=transform,
        compress="deflate",
        predictor=2,
        photometric="RGB",
    ) as dst:
        dst.write(img)
        dst.update_tags(TIFFTAG_DOCUMENTNAME="Bản đồ quy hoạch phân khu Kinh thành Huế (bản quét)")
    return src[["kyHieuO", "maSDD", "geometry"]]


def readme(out: Path, straddling: gpd.GeoDataFrame, counts: dict[str, int]) -> str:
    example = straddling.iloc[0]
    lines = [
        "# Sample data: plans of Huế around the Kinh thành and Kim Long",
        "",
        "Made by `python scripts/make_sample_data.py` (reproducible; do not edit by hand). All coordinates are in",
        "EPSG:9214 (VN-2000 / TM-3 107-00); the DXF has no CRS (import it with `--src-crs EPSG:9214`). The places are",
        "realistic, not surveyed: use these files for demos and tests, never for decisions.",
        "",
        "| file | what |",
        "|---|---|",
        f"| `{ZONING_CODE}/HoSoGIS/QuyHoach.gpkg` | zoning plan 1:2000 (TT 16/2025 dossier): `ChucNangSuDungDat_A` "
        f"{counts['zones']} zones, `ChiGioiDuongDo_L` {counts['red']} red lines, `ChiGioiXayDung_L` {counts['bld']} "
        "building lines, `RanhGioiQuyHoach_A` plan boundary |",
        f"| `{ZONING_CODE}/HoSoGIS/HienTrang.gpkg` | current state: `ThuaDat_A` {counts['parcels']} cadastral parcels "
        f"(ward, sheet, parcel number; some with the old code BHK), `CongTrinh_A` {counts['buildings']} buildings |",
        f"| `{ZONING_CODE}/HoSoScan/KinhThanh_QHPK_scan.tif` | a scanned-style colour map of part of the zoning plan "
        "(1.5 m pixels, official colours, black linework, noise), georeferenced |",
        f"| `{ZONING_CODE}/HoSoScan/KinhThanh_QHPK_scan_source.gpkg` | the zone polygons the scan was painted from |",
        f"| `{DETAILED_CODE}/HoSoBASIC/KimLong_QHCT_1-500.dxf` | detailed plan 1:500 of a Kim Long block in CAD: "
        "closed polylines with arcs, a hatch, TEXT/MTEXT labels (`ODT`, `MĐXD 60%`, `TC 3`/`4T`, `HSSDĐ 1.8`, "
        "`ÔQH-01`), "
        "two lots labelled in TCVN3, one lot without labels (code from its layer), one label outside every lot |",
        "| `straddling_parcels.csv` | parcels lying in two zones, with each zone's share of the parcel |",
        "",
        "## Zone fields (`ChucNangSuDungDat_A`)",
        "",
        "The six mandatory TT 16/2025 fields (`maThongTinQH`, `maHoSoQH`, `maDoiTuong`, `tenDoiTuong`, `phanLoai`,",
        "`ghiChu`), then `kyHieuO` zone code, `maSDD` land-use code (TT 08/2024), `matDoXayDung` max density %,",
        "`tangCaoToiDa`/`tangCaoToiThieu` floors, `chieuCaoToiDa` height m, `heSoSDD` FAR, `khoangLuiToiThieu`",
        "setback m, `caoDoNenToiThieu` minimum ground elevation m (flooding), `khuVucBaoTon` heritage zone.",
        "",
        "## Parcels straddling two zones",
        "",
        f"{len(straddling)} parcels lie across the boundary between a commercial (TMD) and a housing (ODT) zone.",
        "The one the lookup and viewer tests use:",
        "",
        f"- ward **{example['ward']}**, sheet (số tờ) **{example['sheet_no']}**, parcel (số thửa) "
        f"**{example['parcel_no']}**, {example['area_m2']} m²: zones {example['zones'].replace(';', ', ')} "
        "(zone code: share of the parcel).",
        "",
        "## Import",
        "",
        "```sh",
        f"planning import sample_data/{ZONING_CODE} --plan {ZONING_CODE} --name 'Quy hoạch phân khu Kinh thành Huế'",
        f"planning import sample_data/{DETAILED_CODE}/HoSoBASIC/KimLong_QHCT_1-500.dxf --plan {DETAILED_CODE} "
        "--src-crs EPSG:9214",
        "```",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    out = Path(argv[1] if len(argv) > 1 else "sample_data")
    rng = np.random.default_rng(SEED)
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2025-07-16T00:00:00Z"})  # same bytes on every run
    layers = zoning_plan(rng)
    straddling = layers.pop("_straddling")
    for sub in (ZONING_CODE, DETAILED_CODE):
        if (out / sub).exists():
            shutil.rmtree(out / sub)
    gis = out / ZONING_CODE / "HoSoGIS"
    gis.mkdir(parents=True)
    plan_layers = ("ChucNangSuDungDat_A", "ChiGioiDuongDo_L", "ChiGioiXayDung_L", "RanhGioiQuyHoach_A")
    for name in plan_layers:
        layers[name].to_file(gis / "QuyHoach.gpkg", layer=name, driver="GPKG", engine="pyogrio")
    for name in ("ThuaDat_A", "CongTrinh_A"):
        layers[name].to_file(gis / "HienTrang.gpkg", layer=name, driver="GPKG", engine="pyogrio")
    scan_dir = out / ZONING_CODE / "HoSoScan"
    scan_dir.mkdir(parents=True)
    src = scan_geotiff(scan_dir / "KinhThanh_QHPK_scan.tif", layers["ChucNangSuDungDat_A"], rng)
    src.to_file(scan_dir / "KinhThanh_QHPK_scan_source.gpkg", driver="GPKG", engine="pyogrio")
    basic = out / DETAILED_CODE / "HoSoBASIC"
    basic.mkdir(parents=True)
    detailed_plan_dxf(basic / "KimLong_QHCT_1-500.dxf")
    with (out / "straddling_parcels.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["ward", "sheet_no", "parcel_no", "area_m2", "zones"])
        writer.writeheader()
        writer.writerows(straddling.to_dict("records"))
    counts = {
        "zones": len(layers["ChucNangSuDungDat_A"]),
        "red": len(layers["ChiGioiDuongDo_L"]),
        "bld": len(layers["ChiGioiXayDung_L"]),
        "parcels": len(layers["ThuaDat_A"]),
        "buildings": len(layers["CongTrinh_A"]),
    }
    (out / "README.md").write_text(readme(out, straddling, counts), encoding="utf-8")
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(
        f"sample data written to {out}: {counts}, {len(straddling)} straddling parcels, {size / 1e6:.1f} MB",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
