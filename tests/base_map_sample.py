"""A small base map of the Kinh thành (``NenDiaHinh.gpkg``) in EPSG:9214, for the tests.

Laid in the frame of the sample plan's citadel (``scripts/make_sample_data.py``: 7 x 7 blocks of 300 m around a
point 60 m east and 390 m north of the control point, turned 45°): the walls on the edge of the blocks, the moat
around them, the Hương river south-east of the south-east face, the grid's streets, a few alleys (kiệt) and
landmarks. Each feature carries the six TT 16/2025 mandatory fields.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import geopandas as gpd
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry

CONTROL = (561625.296, 1821650.262)  # E, N of the Kinh thành control point (EPSG:9214)
ORIGIN = (CONTROL[0] + 60.0, CONTROL[1] + 390.0)
ANGLE = 45.0
HALF = 1050.0  # half the side of the blocks inside the walls
WALL = 21.0  # thickness of the walls
WALL_HEIGHT = 6.6
MOAT = (32.0, 62.0)  # the moat: from this far outside the walls to that
RIVER = (-1300.0, -1560.0)  # v of the river's banks (north-west, south-east)
STREETS_U = ["Lê Duẩn", "Tăng Bạt Hổ", "Lê Thánh Tôn", "Đinh Tiên Hoàng", "Đoàn Thị Điểm", "Thái Phiên", "Xuân 68"]
STREETS_V = ["Nguyễn Trãi", "Lê Huân", "Mai Thúc Loan", "Ông Ích Khiêm", "Hàn Thuyên", "Đặng Trần Côn", "Lê Văn Hưu"]
CODE = "46QPK0000001"


def xy(u: float, v: float) -> tuple[float, float]:
    """EPSG:9214 of a point (u, v) metres in the citadel's frame (u north-east, v north-west)."""
    a = math.radians(ANGLE)
    return (
        round(ORIGIN[0] + u * math.cos(a) - v * math.sin(a), 3),
        round(ORIGIN[1] + u * math.sin(a) + v * math.cos(a), 3),
    )


def ring(h: float) -> list[tuple[float, float]]:
    return [xy(-h, -h), xy(h, -h), xy(h, h), xy(-h, h), xy(-h, -h)]


def rect(u0: float, v0: float, u1: float, v1: float) -> Polygon:
    return Polygon([xy(u0, v0), xy(u1, v0), xy(u1, v1), xy(u0, v1)])


def mandatory(kind: str, i: int, name: str, category: str) -> dict[str, Any]:
    return {
        "maThongTinQH": f"{CODE}{i:03d}",
        "maHoSoQH": CODE,
        "maDoiTuong": f"{kind}-{i:04d}",
        "tenDoiTuong": name,
        "phanLoai": category,
        "ghiChu": "",
    }


def base_map_layers() -> dict[str, list[dict[str, Any]]]:
    """The features of each layer (``geometry`` and fields)."""
    water: list[dict[str, Any]] = []
    walls: list[dict[str, Any]] = []
    streets: list[dict[str, Any]] = []
    places: list[dict[str, Any]] = []

    def add_water(geom: BaseGeometry, kind: str, name: str, english: str) -> None:
        i = len(water) + 1
        water.append({**mandatory("TH", i, name, "Thủy hệ"), "loai": kind, "ten": name, "tenTiengAnh": english,
                      "geometry": geom})  # fmt: skip

    add_water(rect(-2600, RIVER[1], 2600, RIVER[0]), "song", "Sông Hương", "Perfume River")
    moat = Polygon(ring(HALF + WALL + MOAT[1]), [ring(HALF + WALL + MOAT[0])[::-1]])
    add_water(moat, "ho_thanh", "Hộ Thành Hào", "Citadel moat")
    add_water(rect(-HALF + 60, HALF - 240, -HALF + 240, HALF - 60), "ho", "Hồ Tịnh Tâm", "Tinh Tam Lake")
    add_water(rect(HALF + WALL + MOAT[1], -400, HALF + WALL + MOAT[1] + 25, 2000), "kenh", "Sông Đông Ba",
              "Dong Ba Canal")  # fmt: skip

    wall_ring = Polygon(ring(HALF + WALL), [ring(HALF)[::-1]])
    walls.append({**mandatory("TT", 1, "Kinh thành Huế", "Tường thành"), "ten": "Tường thành Kinh thành Huế",
                  "tenTiengAnh": "Citadel walls", "chieuCao": WALL_HEIGHT, "geometry": wall_ring})  # fmt: skip
    flag = rect(-40, -HALF - WALL - 28, 40, -HALF - WALL)  # the Kỳ Đài's base, on the south-east face
    walls.append({**mandatory("TT", 2, "Kỳ Đài", "Tường thành"), "ten": "Kỳ Đài", "tenTiengAnh": "Flag Tower",
                  "chieuCao": 17.4, "geometry": flag})  # fmt: skip

    cell = 300.0
    widths = [24.0, 16.5, 19.5, 13.5, 19.5, 16.5, 24.0, 24.0]
    for k in range(1, 7):
        c = -HALF + k * cell
        for name, line in ((STREETS_U[k], [(c, -HALF), (c, HALF)]), (STREETS_V[k], [(-HALF, c), (HALF, c)])):
            i = len(streets) + 1
            geom = LineString([xy(*p) for p in line])
            streets.append({**mandatory("TD", i, f"Đường {name}", "Tim đường"), "tenDuong": name,
                            "loGioi": widths[k], "loai": "duong", "geometry": geom})  # fmt: skip
    along = -HALF - WALL - MOAT[1] - 60  # the street between the moat and the river
    i = len(streets) + 1
    streets.append({**mandatory("TD", i, "Đường Lê Duẩn", "Tim đường"), "tenDuong": "Lê Duẩn", "loGioi": 26.0,
                    "loai": "duong", "geometry": LineString([xy(-2200, along), xy(2200, along)])})  # fmt: skip
    for n, (u, v) in enumerate([(-600, -900), (0, -300), (450, 150), (-150, 450)], start=1):
        i = len(streets) + 1
        name = f"Kiệt {n * 12} {STREETS_V[2]}"
        streets.append({**mandatory("TD", i, name, "Tim đường"), "tenDuong": name, "loGioi": 3.0, "loai": "kiet",
                        "geometry": LineString([xy(u, v), xy(u + 120, v), xy(u + 120, v + 60)])})  # fmt: skip

    for name, english, kind, height, (pu, pv) in (
        ("Kỳ Đài", "Flag Tower", "di_tich", 37.0, (0, -HALF - WALL - 14)),
        ("Ngọ Môn", "Noon Gate", "di_tich", 17.0, (0, -HALF + 60)),
        ("Chợ Đông Ba", "Dong Ba Market", "cho", None, (HALF + 260, -500)),
        ("Cầu Trường Tiền", "Truong Tien Bridge", "cau", None, (HALF + 420, -1430)),
        ("Trường Quốc Học", "Quoc Hoc High School", "truong", None, (900, -1750)),
    ):
        i = len(places) + 1
        places.append({**mandatory("DD", i, name, "Địa danh"), "ten": name, "tenTiengAnh": english, "loai": kind,
                       "chieuCao": height, "geometry": Point(xy(pu, pv))})  # fmt: skip
    return {"ThuyHe_A": water, "TuongThanh_A": walls, "TimDuong_L": streets, "DiaDanh_P": places}


def write_base_map(path: Path, layers: dict[str, list[dict[str, Any]]] | None = None) -> dict[str, int]:
    """Write ``NenDiaHinh.gpkg`` (or another path) with the layers; returns the features per layer."""
    layers = layers if layers is not None else base_map_layers()
    for name, rows in layers.items():
        gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:9214").to_file(
            path, layer=name, driver="GPKG", engine="pyogrio"
        )
    return {name: len(rows) for name, rows in layers.items()}
