"""A synthetic Huế province as files: 20 zoning plans (TT 16/2025 dossiers) and the cadastre, in EPSG:9214.

At scale 1: 50,000 zones in 20 plans of 2,500, 1,000,000 parcels (20 a block), 300,000 buildings (6 a block),
100,000 red lines (the two long sides of each block). Each plan lies over a real ward or area of Huế and its
neighbours (both banks of the Hương, the Kinh thành turned 45° like the real one, An Cựu, Vỹ Dạ, Kim Long, Thuận
An, Hương Thủy, Hương Trà...); where two would overlap, the later one is pushed away from the citadel until it
fits. Blocks are not one grid: their widths, depths and the streets between them vary, the grid is bent and turned
per plan, and each corner moves a little, so few corners are right angles. Lots split each block in two rows of
ten (town houses, narrow and deep) or four rows of five (garden and back lots, some reached only by a kiệt);
buildings stand inside their lots. Zones carry land-use codes of the catalogue and QCVN 01:2021-like limits
(density from the lot area, floors, height, FAR, setback, minimum ground elevation against floods).
**The data is synthetic**: it is shaped like Huế, never surveyed.

Built with numpy and shapely on whole arrays (no Python loop per feature but for the text fields), written with
pyogrio's raw writer to GeoPackage, the format the importer reads fastest.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyogrio
import shapely
from pyogrio import raw
from pyproj import Transformer

from gis_service.reference_data import land_use_codes
from gis_service.settings import project_root

__all__ = ["PLACES", "ProvinceFiles", "expected_counts", "make_province", "zones_per_plan"]

PLANS = 20
ZONES_PER_PLAN = 2500
LOTS_PER_BLOCK = 20  # 2 rows of 10 or 4 rows of 5
BUILDINGS_PER_BLOCK = 6  # 30 % of the lots

#: Where the plans lie: (ward or area, lon, lat of its centre, turn of its street grid in degrees, lot size factor).
#: The centres are approximate public positions; the lot factor makes the old town dense and the outskirts roomy.
PLACES: tuple[tuple[str, float, float, float, float], ...] = (
    ("Kinh thành", 107.5773, 16.4698, 45.0, 0.8),
    ("Gia Hội - Đông Ba", 107.5920, 16.4740, 35.0, 0.75),
    ("Kim Long", 107.5530, 16.4620, 30.0, 1.1),
    ("Phú Hội - Vĩnh Ninh", 107.5900, 16.4620, 15.0, 0.8),
    ("Vỹ Dạ", 107.6060, 16.4680, 20.0, 0.9),
    ("An Cựu", 107.5980, 16.4520, 10.0, 0.9),
    ("Hương Sơ", 107.5630, 16.4880, 40.0, 1.0),
    ("Xuân Phú", 107.6050, 16.4580, 18.0, 0.9),
    ("An Đông", 107.6150, 16.4480, 5.0, 1.0),
    ("An Tây", 107.5880, 16.4380, 25.0, 1.1),
    ("Thủy Xuân", 107.5670, 16.4380, 50.0, 1.3),
    ("Hương Long", 107.5450, 16.4520, 20.0, 1.2),
    ("Thủy Vân", 107.6320, 16.4620, 0.0, 1.1),
    ("Phú Thượng", 107.6150, 16.4950, 30.0, 1.1),
    ("Thủy Dương (Hương Thủy)", 107.6280, 16.4370, 12.0, 1.2),
    ("Hương An (Hương Trà)", 107.5300, 16.4900, 35.0, 1.2),
    ("Thuận An", 107.6260, 16.5590, 40.0, 1.0),
    ("Phú Bài (Hương Thủy)", 107.6900, 16.4000, 60.0, 1.3),
    ("Hương Chữ (Hương Trà)", 107.5150, 16.5150, 45.0, 1.3),
    ("Tứ Hạ (Hương Trà)", 107.4820, 16.5300, 55.0, 1.2),
)

#: Red-line widths of Huế's streets (m), as in the sample plan.
STREET_WIDTHS = np.array([11.5, 13.0, 16.5, 19.5, 24.0, 26.0])
STREET_NAMES = np.array(
    ["Lê Duẩn", "Trần Hưng Đạo", "Đinh Tiên Hoàng", "Lê Huân", "Mai Thúc Loan", "Đoàn Thị Điểm", "Nguyễn Trãi",
     "Ông Ích Khiêm", "Hàn Thuyên", "Đặng Trần Côn", "Lê Thánh Tôn", "Tống Duy Tân", "Thạch Hãn", "Nguyễn Chí Thanh",
     "Lê Lợi", "Hùng Vương", "Bà Triệu", "Phan Đình Phùng", "Nguyễn Huệ", "Điện Biên Phủ", "Kim Long", "Phú Mộng",
     "Vạn Xuân", "Nguyễn Sinh Cung", "Ngự Bình", "Tôn Đức Thắng", "Nguyễn Tất Thành", "An Dương Vương"],
    dtype=object,
)  # fmt: skip

#: Kinds of zone: land-use code, share of the blocks, floors (min, max), setback m; density comes from QCVN 01:2021
#: (residential: by lot area) or is fixed (public and green land).
ZONE_KINDS: tuple[tuple[str, float, int, int, float, float | None], ...] = (
    ("ODT", 0.60, 2, 5, 0.0, None),
    ("TMD", 0.12, 3, 9, 0.0, 70.0),
    ("DGD", 0.05, 2, 4, 6.0, 40.0),
    ("DYT", 0.02, 2, 5, 6.0, 40.0),
    ("DVH", 0.03, 1, 3, 3.0, 40.0),
    ("DTT", 0.03, 1, 2, 6.0, 25.0),
    ("DKV", 0.06, 1, 1, 3.0, 5.0),
    ("TSC", 0.03, 2, 6, 6.0, 40.0),
    ("DCH", 0.02, 1, 3, 0.0, 60.0),
    ("TIN", 0.02, 1, 2, 3.0, 30.0),
    ("SKN", 0.02, 1, 3, 6.0, 60.0),
)
CLASS_NAMES = {c.code: c.name_vi for c in land_use_codes()}
BUILDING_NAMES = {"ODT": "Nhà ở", "TMD": "Nhà phố thương mại", "DGD": "Trường học", "DYT": "Trạm y tế",
                  "DVH": "Nhà văn hóa", "DTT": "Nhà thi đấu", "DKV": "Nhà nghỉ chân", "TSC": "Trụ sở",
                  "DCH": "Nhà chợ", "TIN": "Đình làng", "SKN": "Nhà xưởng"}  # fmt: skip


def zones_per_plan(scale: float) -> int:
    """Zones in each of the 20 plans at ``scale`` (2,500 at scale 1, at least 1)."""
    return max(1, round(ZONES_PER_PLAN * scale))


def expected_counts(scale: float) -> dict[str, int]:
    """What :func:`make_province` writes at ``scale``: plans, zones, red lines, parcels, buildings."""
    zones = PLANS * zones_per_plan(scale)
    return {
        "plans": PLANS,
        "zones": zones,
        "red_lines": 2 * zones,
        "parcels": LOTS_PER_BLOCK * zones,
        "buildings": BUILDINGS_PER_BLOCK * zones,
    }


@dataclass
class ProvinceFiles:
    """The files written: one GeoPackage per plan (plan code -> file), the cadastre's, and their size."""

    plans: dict[str, Path] = field(default_factory=dict)
    cadastre: Path | None = None
    bytes: int = 0
    counts: dict[str, int] = field(default_factory=dict)


def _density_table() -> tuple[np.ndarray, np.ndarray]:
    with open(project_root() / "gis_service" / "data" / "qcvn01_2021_density.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return np.array([float(r["lot_area_m2"]) for r in rows]), np.array([float(r["max_density_pct"]) for r in rows])


def _blocks(rng: np.random.Generator, n: int, factor: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Block corners (n, 4, 2) in local metres around (0, 0), the streets below and above each block (index of
    STREET_WIDTHS), and each block's (column, row)."""
    cols = max(1, math.ceil(math.sqrt(n * 1.4)))
    rows = math.ceil(n / cols)
    widths = rng.uniform(60, 140, cols) * factor
    depths = rng.uniform(35, 80, rows) * factor
    sx, sy = rng.integers(0, len(STREET_WIDTHS), cols + 1), rng.integers(0, len(STREET_WIDTHS), rows + 1)
    x0 = np.concatenate([[0.0], np.cumsum(widths + STREET_WIDTHS[sx[1:]])])[:-1] + STREET_WIDTHS[sx[0]]
    y0 = np.concatenate([[0.0], np.cumsum(depths + STREET_WIDTHS[sy[1:]])])[:-1] + STREET_WIDTHS[sy[0]]
    k = np.arange(n)
    c, r = k % cols, k // cols
    bx0, by0 = x0[c], y0[r]
    bx1, by1 = bx0 + widths[c], by0 + depths[r]
    corners = np.stack(
        [np.stack([bx0, by0], -1), np.stack([bx1, by0], -1), np.stack([bx1, by1], -1), np.stack([bx0, by1], -1)], 1
    )
    corners -= corners.reshape(-1, 2).mean(axis=0)
    # bend the grid (streets that follow the land) and move each corner a little: irregular blocks, same streets
    amp, wave = 25.0 * factor, 900.0
    ph = rng.uniform(0, 2 * np.pi, 2)
    bent = corners.copy()
    bent[..., 0] += amp * np.sin(2 * np.pi * corners[..., 1] / wave + ph[0])
    bent[..., 1] += amp * np.sin(2 * np.pi * corners[..., 0] / wave + ph[1])
    bent += rng.uniform(-2.0, 2.0, bent.shape)
    return bent, np.stack([sy[r], sy[r + 1]], 1), np.stack([c, r], 1)


def _bilinear(corners: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Points (…, 2) at unit coordinates (u, v) of quadrilaterals ``corners`` (…, 4, 2): straight lots in a block."""
    p00, p10, p11, p01 = (corners[..., i, :] for i in range(4))
    u, v = u[..., None], v[..., None]
    return (1 - u) * (1 - v) * p00 + u * (1 - v) * p10 + u * v * p11 + (1 - u) * v * p01


def _lots(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each block's 20 lots as unit rectangles (n, 20, 4) = u0, u1, v0, v1; their row (n, 20); layout (n,) of 2 or 4
    rows."""
    rows_of = np.where(rng.random(n) < 0.7, 2, 4)
    rect = np.empty((n, LOTS_PER_BLOCK, 4))
    row_of = np.empty((n, LOTS_PER_BLOCK), dtype=np.int64)
    for rows in (2, 4):
        m = rows_of == rows
        k, cols = int(m.sum()), LOTS_PER_BLOCK // rows
        w = rng.uniform(0.5, 1.5, (k, rows, cols))
        u = np.concatenate([np.zeros((k, rows, 1)), np.cumsum(w, -1) / w.sum(-1, keepdims=True)], -1)
        h = rng.uniform(0.7, 1.3, (k, rows))
        v = np.concatenate([np.zeros((k, 1)), np.cumsum(h, -1) / h.sum(-1, keepdims=True)], -1)
        lot = np.stack(
            [u[..., :-1], u[..., 1:], np.broadcast_to(v[:, :-1, None], (k, rows, cols)),
             np.broadcast_to(v[:, 1:, None], (k, rows, cols))], -1
        )  # fmt: skip
        rect[m] = lot.reshape(k, LOTS_PER_BLOCK, 4)
        row_of[m] = np.repeat(np.arange(rows), cols)[None, :]
    return rect, row_of, rows_of


def _quads(corners: np.ndarray, rect: np.ndarray) -> np.ndarray:
    """Polygons of unit rectangles ``rect`` (n, m, 4) inside blocks ``corners`` (n, 4, 2), flattened (n * m,)."""
    u0, u1, v0, v1 = (rect[..., i] for i in range(4))
    ring = np.stack(
        [_bilinear(corners[:, None], u0, v0), _bilinear(corners[:, None], u1, v0),
         _bilinear(corners[:, None], u1, v1), _bilinear(corners[:, None], u0, v1),
         _bilinear(corners[:, None], u0, v0)], -2
    )  # fmt: skip
    return shapely.polygons(ring.reshape(-1, 5, 2))


def _turn(points: np.ndarray, degrees: float, centre: np.ndarray) -> np.ndarray:
    a = math.radians(degrees)
    rot = np.array([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]])
    return points @ rot + centre


def _place(centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Move each plan (in order) away from the first until it overlaps none placed before it."""
    placed = centres.copy()
    origin = centres[0]
    for k in range(1, len(centres)):
        away = centres[k] - origin
        norm = float(np.hypot(*away)) or 1.0
        step = away / norm * max(50.0, radii[k] / 10)
        while np.any(np.hypot(*(placed[:k] - placed[k]).T) < radii[:k] + radii[k] + 100.0):
            placed[k] = placed[k] + step
    return placed


def _write(path: Path, layer: str, geoms: np.ndarray, fields: dict[str, np.ndarray], geometry_type: str) -> None:
    raw.write(
        str(path),
        shapely.to_wkb(geoms),
        field_data=list(fields.values()),
        fields=list(fields),
        layer=layer,
        driver="GPKG",
        geometry_type=geometry_type,
        crs="EPSG:9214",
        append=path.exists(),
    )


def _tt16(
    code: str, suffix: str, prefix: str, n: int, name: np.ndarray, kind: str | np.ndarray
) -> dict[str, np.ndarray]:
    """The six mandatory TT 16/2025 fields of a layer."""
    return {
        "maThongTinQH": np.full(n, code + suffix, dtype=object),
        "maHoSoQH": np.full(n, code, dtype=object),
        "maDoiTuong": np.array([f"{prefix}-{i + 1:07d}" for i in range(n)], dtype=object),
        "tenDoiTuong": name,
        "phanLoai": np.full(n, kind, dtype=object) if isinstance(kind, str) else kind,
        "ghiChu": np.full(n, "", dtype=object),
    }


def plan_code(k: int) -> str:
    """The code (maHoSoQH) of the province's ``k``-th plan (0-based): 46QPK0000101..."""
    return f"46QPK{101 + k:07d}"


def make_province(folder: Path, scale: float = 1.0, seed: int = 21) -> ProvinceFiles:
    """Write the province's GeoPackages into ``folder``: ``<code>/QuyHoach.gpkg`` per plan, ``HienTrang.gpkg``."""
    # throwaway files: SQLite need not wait for the disk after each write (half the time on a busy machine)
    before = pyogrio.get_gdal_config_option("OGR_SQLITE_SYNCHRONOUS")
    pyogrio.set_gdal_config_options({"OGR_SQLITE_SYNCHRONOUS": "OFF"})
    try:
        return _make_province(folder, scale, seed)
    finally:
        pyogrio.set_gdal_config_options({"OGR_SQLITE_SYNCHRONOUS": before})


def _make_province(folder: Path, scale: float, seed: int) -> ProvinceFiles:
    rng = np.random.default_rng(seed)
    nz = zones_per_plan(scale)
    to_vn2000 = Transformer.from_crs("EPSG:4326", "EPSG:9214", always_xy=True)
    lon, lat = np.array([p[1] for p in PLACES]), np.array([p[2] for p in PLACES])
    centres = np.stack(to_vn2000.transform(lon, lat), 1)
    area_sizes, area_density = _density_table()
    kinds = np.array([k[0] for k in ZONE_KINDS], dtype=object)
    shares = np.array([k[1] for k in ZONE_KINDS])
    grids = [_blocks(rng, nz, place[4]) for place in PLACES]
    radii = np.array([float(np.hypot(*g[0].reshape(-1, 2).T).max()) for g in grids])
    centres = _place(centres, radii)
    out = ProvinceFiles()
    folder.mkdir(parents=True, exist_ok=True)
    parcel_parts: list[dict[str, np.ndarray]] = []
    building_parts: list[dict[str, np.ndarray]] = []
    for k, ((ward, *_rest, turn, _factor), (local, streets, _cr)) in enumerate(zip(PLACES, grids, strict=True)):
        code = plan_code(k)
        blocks = _turn(local.reshape(-1, 2), turn, centres[k]).reshape(local.shape)
        zone_geoms = shapely.polygons(np.concatenate([blocks, blocks[:, :1]], 1))
        zone_area = shapely.area(zone_geoms)
        kind = rng.choice(len(ZONE_KINDS), nz, p=shares / shares.sum())
        code_of = kinds[kind]
        lo, hi = np.array([z[2] for z in ZONE_KINDS])[kind], np.array([z[3] for z in ZONE_KINDS])[kind]
        fmin, fmax = lo, lo + (rng.random(nz) * (hi - lo + 1)).astype(np.int64)
        heritage = np.full(nz, "", dtype=object)
        if k == 0:  # the citadel: protection zone II keeps the walls and the Kỳ Đài dominant (2-3 floors, 12 m)
            fmax = np.minimum(fmax, 3)
            fmin = np.minimum(fmin, fmax)
            heritage[:] = "Khu vực bảo vệ II - Kinh thành Huế"
            first = np.arange(nz) < max(1, nz // 50)  # zone I: the monuments, nothing new
            code_of = np.where(first, "DDT", code_of)
            fmax, fmin = np.where(first, 0, fmax), np.where(first, 0, fmin)
            heritage[first] = "Khu vực bảo vệ I - Kinh thành Huế"
        lot_area = zone_area / LOTS_PER_BLOCK
        fixed = np.array([np.nan if ZONE_KINDS[i][5] is None else ZONE_KINDS[i][5] for i in kind])
        density = np.where(np.isnan(fixed), np.interp(lot_area, area_sizes, area_density), fixed)
        density = np.where(fmax == 0, 0.0, np.round(density, 0))
        zfields = _tt16(
            code, "CNS", "CNSDD", nz, np.array([f"Ô quy hoạch {ward} {i + 1}" for i in range(nz)], dtype=object),
            np.array([CLASS_NAMES.get(c, c) for c in code_of], dtype=object),
        )  # fmt: skip
        zfields.update(
            {
                "kyHieuO": np.array([f"Ô-{i + 1:04d}" for i in range(nz)], dtype=object),
                "maSDD": code_of.astype(object),
                "matDoXayDung": density.astype(np.float64),
                "tangCaoToiDa": fmax.astype(np.int32),
                "tangCaoToiThieu": fmin.astype(np.int32),
                "chieuCaoToiDa": np.round(fmax * 3.6 + np.where(fmax > 0, 1.2, 0.0), 1),
                "heSoSDD": np.round(density / 100 * fmax, 1),
                "khoangLuiToiThieu": np.array([ZONE_KINDS[i][4] for i in kind], dtype=np.float64),
                "caoDoNenToiThieu": np.round(rng.uniform(3.0, 4.5, nz), 1),
                "khuVucBaoTon": heritage,
                "dienTich": np.round(zone_area, 1),
            }
        )
        path = folder / code / "QuyHoach.gpkg"
        path.parent.mkdir(parents=True, exist_ok=True)
        _write(path, "ChucNangSuDungDat_A", zone_geoms, zfields, "Polygon")
        # red lines: the two long sides of each block, on the streets below and above it
        lines = shapely.linestrings(np.concatenate([blocks[:, [0, 1]], blocks[:, [3, 2]]]))
        street = np.concatenate([streets[:, 0], streets[:, 1]])
        sname = STREET_NAMES[(street * 7 + k) % len(STREET_NAMES)]
        names = np.array([f"Chỉ giới đường đỏ đường {s}" for s in sname], dtype=object)
        rfields = _tt16(code, "CGD", "CGDD", len(lines), names, "Chỉ giới đường đỏ")
        rfields.update({"tenDuong": sname.astype(object), "loGioi": STREET_WIDTHS[street]})
        _write(path, "ChiGioiDuongDo_L", lines, rfields, "LineString")
        boundary = shapely.buffer(shapely.convex_hull(shapely.multipoints(blocks.reshape(-1, 2))), 15.0)
        _write(path, "RanhGioiQuyHoach_A", np.array([boundary]),
               _tt16(code, "RGQ", "RGQH", 1, np.array([f"Ranh giới quy hoạch {ward}"], dtype=object), "Ranh giới"),
               "Polygon")  # fmt: skip
        out.plans[code] = path
        # the cadastre of the plan's blocks: lots and the buildings on some of them
        rect, row_of, rows_of = _lots(rng, nz)
        parcels = _quads(blocks, rect)
        block_of = np.repeat(np.arange(nz), LOTS_PER_BLOCK)
        front_top = row_of >= rows_of[:, None] // 2  # the upper half of the rows faces the street above
        lot_street = np.where(front_top, streets[:, [1]], streets[:, [0]]).ravel()
        inner = ((row_of > 0) & (row_of < rows_of[:, None] - 1)).ravel()  # back lots of a 4-row block: a kiệt
        land_use = code_of[block_of]  # a lot keeps its zone's use
        no = (block_of % 5) * LOTS_PER_BLOCK + np.tile(np.arange(LOTS_PER_BLOCK), nz) + 1
        street_name = STREET_NAMES[(lot_street * 7 + k) % len(STREET_NAMES)]
        parcel_parts.append(
            {
                "geom": parcels,
                "phuongXa": np.full(len(parcels), ward, dtype=object),
                "maPhuongXa": np.full(len(parcels), str(19700 + 3 * k), dtype=object),
                "soHieuToBanDo": (block_of // 5 + 1).astype(np.int32),
                "soThuTuThua": no.astype(np.int32),
                "dienTich": np.round(shapely.area(parcels), 1),
                "maMucDichSDD": land_use.astype(object),
                "diaChi": np.array(
                    [f"{n} {s}, {ward}, thành phố Huế" for n, s in zip(no, street_name, strict=True)], dtype=object
                ),
                "tenDuong": np.where(inner, "", street_name).astype(object),
                "tenKiet": np.where(inner, np.char.add("Kiệt ", street_name.astype(str)), "").astype(object),
            }
        )
        pick = np.argsort(rng.random((nz, LOTS_PER_BLOCK)), axis=1)[:, :BUILDINGS_PER_BLOCK]
        lot = np.take_along_axis(rect, pick[..., None], 1)  # (nz, 6, 4)
        du, dv = lot[..., 1] - lot[..., 0], lot[..., 3] - lot[..., 2]
        side = rng.uniform(0.0, 0.15, (*lot.shape[:2], 2))
        depth = rng.uniform(0.1, 0.35, (*lot.shape[:2], 2))
        inside = np.stack(
            [lot[..., 0] + side[..., 0] * du, lot[..., 1] - side[..., 1] * du,
             lot[..., 2] + depth[..., 0] * dv, lot[..., 3] - depth[..., 1] * dv], -1
        )  # fmt: skip
        buildings = _quads(blocks, inside)
        bblock = np.repeat(np.arange(nz), BUILDINGS_PER_BLOCK)
        floors = np.maximum(1, np.minimum(rng.integers(1, 7, len(buildings)), np.maximum(fmax[bblock], 1)))
        height = np.where(rng.random(len(buildings)) < 0.2, np.nan, np.round(floors * 3.4 + 0.6, 1))
        building_parts.append(
            {
                "geom": buildings,
                "tenCongTrinh": np.array([BUILDING_NAMES.get(c, "Công trình") for c in code_of[bblock]], dtype=object),
                "soTang": floors.astype(np.int32),
                "soTangHam": np.zeros(len(buildings), dtype=np.int32),
                "chieuCao": height,
                "maMucDichSDD": land_use.reshape(nz, LOTS_PER_BLOCK)[bblock, 0].astype(object),
            }
        )
    cadastre = folder / "HienTrang.gpkg"
    for layer, parts, prefix, suffix, name in (
        ("ThuaDat_A", parcel_parts, "TD", "THD", "Thửa đất"),
        ("CongTrinh_A", building_parts, "CT", "CTR", "Công trình hiện trạng"),
    ):
        merged = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
        geoms = merged.pop("geom")
        n = len(geoms)
        fields = _tt16("46QPK0000100", suffix, prefix, n, np.full(n, name, dtype=object), name)
        fields.update(merged)
        _write(cadastre, layer, geoms, fields, "Polygon")
    out.cadastre = cadastre
    out.bytes = sum(p.stat().st_size for p in folder.rglob("*.gpkg"))
    out.counts = expected_counts(scale)
    return out
