"""Streets (names, red-line widths, setbacks) and the areas the zoning plan covers, in the frame of
:mod:`sample.frame`. Names are those in use in Huế; where each one runs is approximate."""

from __future__ import annotations

from dataclasses import dataclass

from shapely.geometry import LineString, Polygon
from shapely.ops import unary_union

from sample.frame import SIDE, rect
from sample.geography import INNER, NGU_HA_BANKS, north_bank_land


@dataclass(frozen=True)
class Road:
    """A street: its centre line, red-line width (lộ giới) and the setback of its building line (khoảng lùi)."""

    name: str
    width: float
    setback: float
    centre: LineString
    widened_from: float | None = None  # the width before the plan widened it (lots now cut by the red line)

    def area(self) -> Polygon:
        """The land between the street's red lines."""
        shape: Polygon = self.centre.buffer(self.width / 2, cap_style="flat", join_style="mitre")
        return shape


def _u(name: str, v: float, w: float, setback: float, u0: float, u1: float, **kw: float) -> Road:
    """A street along the south-east face (constant v)."""
    return Road(name, w, setback, LineString([(u0, v), (u1, v)]), **kw)


def _v(name: str, u: float, w: float, setback: float, v0: float, v1: float) -> Road:
    """A street across the citadel, parallel to its axis (constant u)."""
    return Road(name, w, setback, LineString([(u, v0), (u, v1)]))


LO, HI = INNER, SIDE - INNER  # the streets inside the walls start at the earth bank
OUT_SE, OUT_SW, OUT_NW, OUT_NE = -95.0, -95.0, SIDE + 95.0, SIDE + 95.0  # the streets outside the moat

# Inside the walls: a regular grid, turned with the citadel.
CITADEL_ROADS = [
    _u("23 Tháng 8", 110.0, 26.0, 6.0, LO, HI),
    _u("Nhật Lệ", 559.0, 11.5, 3.0, OUT_SW, 790.0),
    _u("Ngô Đức Kế", 559.0, 11.5, 3.0, 1445.0, HI),
    _u("Lê Thánh Tôn", 912.0, 16.5, 3.0, LO, HI),
    _u("Thạch Hãn", 985.75, 11.5, 3.0, LO, HI),
    _u("Đặng Trần Côn", 1304.0, 13.0, 3.0, LO, 1445.0),
    _u("Mai Thúc Loan", 1304.0, 16.5, 0.0, 1445.0, OUT_NE, widened_from=13.0),
    _u("Hàn Thuyên", 1676.0, 13.0, 0.0, OUT_SW, OUT_NE),
    _u("Xuân 68", 1960.0, 13.0, 3.0, LO, 1960.0),
    _v("Tống Duy Tân", 300.0, 13.0, 3.0, LO, HI),
    _v("Nguyễn Trãi", 559.0, 19.5, 6.0, OUT_SE, OUT_NW),
    _v("Ông Ích Khiêm", 790.0, 16.5, 3.0, LO, 912.0),
    _v("Đoàn Thị Điểm", 1445.0, 13.0, 3.0, 110.0, 1304.0),
    _v("Đinh Tiên Hoàng", 1676.0, 19.5, 0.0, OUT_SE, OUT_NW),
    _v("Lê Huân", 1960.0, 11.5, 3.0, 110.0, 912.0),
    _v("Nguyễn Chí Thanh", 1960.0, 13.0, 3.0, 985.75, HI),
    _v("Lê Trung Đình", 1000.0, 11.5, 3.0, 985.75, HI),
]

BRIDGE_U = 1900.0
TRUONG_TIEN = LineString([(BRIDGE_U, OUT_SE), (BRIDGE_U + 60.0, -600.0)])

# Outside the walls: along the river, round the moat, and at Đông Ba.
RIVER_ROADS = [
    Road("Lê Duẩn", 26.0, 6.0, LineString([(OUT_SW, 1676.0), (OUT_SW, OUT_SE), (BRIDGE_U, OUT_SE)])),
    _u("Trần Hưng Đạo", OUT_SE, 24.0, 0.0, BRIDGE_U, 3000.0),
    Road("Cầu Trường Tiền", 11.5, 0.0, TRUONG_TIEN),
    _v("Tăng Bạt Hổ", 2330.0, 13.0, 0.0, -300.0, OUT_NW),
    _u("Đào Duy Anh", OUT_NW, 19.5, 3.0, OUT_SW, 2330.0),
    _v("Huỳnh Thúc Kháng", 2490.0, 16.5, 0.0, -300.0, 700.0),
    _u("Hàn Mặc Tử", 150.0, 13.0, 3.0, 2330.0, 2490.0),
    _u("Cao Bá Quát", 350.0, 11.5, 3.0, 2330.0, 2490.0),
]
# On the south bank, for the base map only.
SOUTH_BANK_ROADS = [_u("Lê Lợi", -600.0, 24.0, 6.0, -150.0, 2700.0)]

# Kim Long: Kim Long street follows the river upstream; the cross streets meet it at odd angles.
KIM_LONG_ST = [
    (OUT_SW, OUT_SE),
    (-420.0, 150.0),
    (-720.0, 420.0),
    (-980.0, 640.0),
    (-1215.0, 905.0),
    (-1500.0, 1075.0),
    (-1745.0, 1345.0),
    (-2050.0, 1540.0),
    (-2330.0, 1830.0),
    (-2600.0, 2060.0),
    (-2900.0, 2300.0),
]
BACK_ST = [
    (-780.0, 850.0),
    (-845.0, 790.0),
    (-1130.0, 1080.0),
    (-1350.0, 1200.0),
    (-1650.0, 1510.0),
    (-1900.0, 1680.0),
    (-1990.0, 1770.0),
]
#: The cross streets: (name, width, setback, the point on Kim Long street, the point on the back street).
CROSS = [
    ("Nguyễn Hoàng", 24.0, 6.0, KIM_LONG_ST[3], BACK_ST[1]),
    ("Nguyễn Phúc Nguyên", 13.0, 3.0, KIM_LONG_ST[4], BACK_ST[2]),
    ("Phú Mộng", 11.5, 3.0, KIM_LONG_ST[5], BACK_ST[3]),
    ("Vạn Xuân", 13.0, 3.0, KIM_LONG_ST[6], BACK_ST[4]),
    ("Văn Thánh", 11.5, 3.0, KIM_LONG_ST[7], BACK_ST[5]),
]


def _cross(name: str, w: float, setback: float, k: tuple[float, float], b: tuple[float, float]) -> Road:
    """A cross street from beyond the back street, through Kim Long street, down to the river."""
    dx, dy = k[0] - b[0], k[1] - b[1]
    return Road(
        name, w, setback, LineString([(b[0] - 0.15 * dx, b[1] - 0.15 * dy), (k[0] + 0.9 * dx, k[1] + 0.9 * dy)])
    )


def kl_north(i: int) -> tuple[float, float]:
    """A point in the Kim Long block north of Kim Long street between cross streets ``i`` and ``i + 1`` (0-3)."""
    k0, k1, b0, b1 = KIM_LONG_ST[3 + i], KIM_LONG_ST[4 + i], BACK_ST[1 + i], BACK_ST[2 + i]
    return ((k0[0] + k1[0] + b0[0] + b1[0]) / 4, (k0[1] + k1[1] + b0[1] + b1[1]) / 4)


def kl_river(i: int) -> tuple[float, float]:
    """A point in the riverside block south of Kim Long street between cross streets ``i`` and ``i + 1``."""
    k0, k1 = KIM_LONG_ST[3 + i], KIM_LONG_ST[4 + i]
    dx, dy = k1[0] - k0[0], k1[1] - k0[1]
    n = (dx * dx + dy * dy) ** 0.5
    return ((k0[0] + k1[0]) / 2 - 40.0 * dy / n, (k0[1] + k1[1]) / 2 + 40.0 * dx / n)


KIM_LONG_ROADS = [
    Road("Kim Long", 13.0, 3.0, LineString(KIM_LONG_ST)),
    Road("Lý Nam Đế", 16.5, 6.0, LineString(BACK_ST)),
    *[_cross(*c) for c in CROSS],
]

# The new residential area (khu dân cư mới Hương Sơ), north of the citadel beyond the Hộ Thành Hà.
NEW_ROADS = [
    _u("Đặng Tất", 2480.0, 19.5, 0.0, 300.0, 1200.0),
    _u("Đường số 1 khu dân cư Hương Sơ", 2540.0, 13.0, 0.0, 400.0, 1100.0),
    _u("Đường số 2 khu dân cư Hương Sơ", 2603.0, 13.0, 3.0, 400.0, 1100.0),
    _u("Nguyễn Văn Linh", 2665.0, 26.0, 3.0, 300.0, 1200.0),
    _v("Đường số 4 khu dân cư Hương Sơ", 400.0, 13.0, 3.0, 2480.0, 2665.0),
    _v("Đường số 5 khu dân cư Hương Sơ", 620.0, 19.5, 3.0, 2480.0, 2665.0),
    _v("Đường số 6 khu dân cư Hương Sơ", 860.0, 13.0, 3.0, 2480.0, 2665.0),
    _v("Đường số 7 khu dân cư Hương Sơ", 1100.0, 13.0, 3.0, 2480.0, 2665.0),
]

ROADS = CITADEL_ROADS + RIVER_ROADS + KIM_LONG_ROADS + NEW_ROADS


def road(name: str) -> Road:
    """The street named ``name``."""
    return next(r for r in ROADS if r.name == name)


@dataclass(frozen=True)
class Area:
    """A part of the zoning plan: the land its blocks are cut from."""

    key: str
    name: str
    region: Polygon


def areas() -> list[Area]:
    """The citadel (inside the walls, the Ngự Hà left out), the riverbank, Đông Ba, Kim Long, the new area."""
    v0, v1 = NGU_HA_BANKS
    citadel = rect(LO, LO, HI, HI).difference(rect(LO, v0, HI, v1))
    riverbank = north_bank_land(rect(OUT_SW, -600.0, 2330.0, OUT_SE))
    dong_ba = north_bank_land(rect(2330.0, -600.0, 2490.0, 350.0))
    k3, k7 = KIM_LONG_ST[3], KIM_LONG_ST[7]
    b3, b7 = BACK_ST[1], BACK_ST[5]
    kim_long = north_bank_land(
        Polygon(
            [
                b3,
                *BACK_ST[2:5],
                b7,
                (k7[0] + 1.2 * (k7[0] - b7[0]), k7[1] + 1.2 * (k7[1] - b7[1])),
                (k3[0] + 1.2 * (k3[0] - b3[0]), k3[1] + 1.2 * (k3[1] - b3[1])),
            ]
        )
    )
    new = rect(400.0, 2480.0, 1100.0, 2665.0)
    return [
        Area("citadel", "Kinh thành", citadel),
        Area("riverbank", "Bờ bắc sông Hương", riverbank),
        Area("dongba", "Đông Ba", dong_ba),
        Area("kimlong", "Kim Long", kim_long),
        Area("new", "Khu dân cư mới Hương Sơ", new),
    ]


def road_areas() -> Polygon:
    """The land of every street, between its red lines."""
    shape: Polygon = unary_union([r.area() for r in ROADS])
    return shape
