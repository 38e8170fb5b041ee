"""Which blocks the sample's cadastre covers, in which ward and on which map sheet, and how their lots are cut.

A block is named by a point inside it (frame metres). The cadastre covers these blocks only (as a real sample of
a few map sheets would); the others have zones but no parcels, except a few public parcels (the Imperial City,
the Đông Ba market, a school, a pagoda, a lake).
"""

from __future__ import annotations

from dataclasses import dataclass

from shapely.geometry import Polygon

from sample.frame import rect
from sample.lots import KietPlan, Layout, Row
from sample.network import kl_north, kl_river

WARD_CODES = {  # illustrative 5-digit codes
    "Phú Xuân": "19750",
    "Tây Lộc": "19756",
    "Thuận Lộc": "19759",
    "Thuận Hòa": "19768",
    "Đông Ba": "19774",
    "Kim Long": "19780",
    "Hương Sơ": "19813",
}


@dataclass(frozen=True)
class Place:
    """A block the cadastre covers: a point inside it, its ward and map sheet, and how its lots are cut."""

    at: tuple[float, float]
    ward: str
    sheet: int
    layout: Layout
    note: str


# Rows of lots by kind: (frontage m, depth m).
TOWN = Row("town", (4.5, 8.0), (16.0, 28.0), corner=(8.0, 12.0))
TOWN_NARROW = Row("town", (4.0, 6.5), (15.0, 25.0), corner=(7.0, 10.0))
SHOP_WIDE = Row("town", (6.0, 9.0), (16.0, 24.0), corner=(9.0, 13.0))
VILLA = Row("villa", (15.0, 24.0), (28.0, 36.0), jitter=1.2, corner=(16.0, 22.0))
GARDEN = Row("garden", (20.0, 30.0), (45.0, 60.0), jitter=1.5, corner=(22.0, 30.0))
KL_GARDEN = Row("garden", (16.0, 28.0), (35.0, 50.0), jitter=1.5, corner=(18.0, 24.0))
KL_VILLA = Row("villa", (15.0, 22.0), (25.0, 32.0), jitter=1.2, corner=(15.0, 20.0))
MTL_TOWN = Row("town", (4.5, 7.5), (16.0, 26.0), corner=(8.0, 11.0), widen=3.5)  # 13 m → 16.5 m: 1.75 m each side
NEW_TOWN_19 = Row("new", (5.0, 5.0), (21.875, 21.875), jitter=0.0)  # regular new lots: 5 m on a road ≥ 19 m
NEW_TOWN_13 = Row("new", (4.5, 4.5), (21.875, 21.875), jitter=0.0)  # 4.5 m on a 13 m road
NEW_VILLA = Row("new", (10.0, 10.0), (25.0, 25.0), jitter=0.0)
NEW_TOWN_19B = Row("new", (5.0, 5.0), (21.25, 21.25), jitter=0.0)
NEW_TOWN_13B = Row("new", (4.5, 4.5), (21.25, 21.25), jitter=0.0)

PLACES = [
    Place(
        (1559, 338),
        "Phú Xuân",
        13,
        Layout(
            {"Đinh Tiên Hoàng": TOWN, "Ngô Đức Kế": VILLA, "23 Tháng 8": VILLA, "Đoàn Thị Điểm": GARDEN},
            KietPlan("Đinh Tiên Hoàng", 90.0, (15.0, 24.0)),
            ("Đinh Tiên Hoàng",),
        ),
        "town lots on Đinh Tiên Hoàng, garden lots facing the Imperial City",
    ),
    Place(
        (1820, 338),
        "Phú Xuân",
        14,
        Layout(
            {"Đinh Tiên Hoàng": TOWN, "Lê Huân": GARDEN, "23 Tháng 8": VILLA, "Ngô Đức Kế": VILLA},
            KietPlan("Đinh Tiên Hoàng", 90.0, (15.0, 24.0)),
            ("Đinh Tiên Hoàng",),
        ),
        "town lots on Đinh Tiên Hoàng, garden lots on Lê Huân",
    ),
    Place(
        (2078, 1491),
        "Thuận Lộc",
        7,
        Layout(
            {"Mai Thúc Loan": MTL_TOWN, "Nguyễn Chí Thanh": VILLA, "Hàn Thuyên": VILLA},
            KietPlan("Mai Thúc Loan", 90.0, (15.0, 22.0)),
            ("Mai Thúc Loan",),
        ),
        "Mai Thúc Loan widened from 13 m to 16.5 m: its lots are cut by the new red line",
    ),
    Place(
        (428, 338),
        "Thuận Hòa",
        12,
        Layout(
            {"Nguyễn Trãi": VILLA, "Tống Duy Tân": GARDEN, "23 Tháng 8": VILLA, "Nhật Lệ": VILLA},
            KietPlan("Nguyễn Trãi", 90.0, (18.0, 26.0)),
            ("Nguyễn Trãi", "23 Tháng 8"),
        ),
        "villa and garden lots (nhà vườn)",
    ),
    Place(
        (428, 1490),
        "Tây Lộc",
        21,
        Layout(
            {"Hàn Thuyên": TOWN_NARROW, "Nguyễn Trãi": VILLA, "Tống Duy Tân": GARDEN, "Đặng Trần Côn": VILLA},
            KietPlan("Hàn Thuyên", 60.0, (16.0, 26.0)),
            ("Hàn Thuyên", "Nguyễn Trãi"),
        ),
        "town lots on Hàn Thuyên, villas and gardens behind",
    ),
    Place(
        (2409, 30),
        "Đông Ba",
        4,
        Layout(
            {
                "Trần Hưng Đạo": TOWN_NARROW,
                "Tăng Bạt Hổ": SHOP_WIDE,
                "Huỳnh Thúc Kháng": SHOP_WIDE,
                "Hàn Mặc Tử": VILLA,
            },
            KietPlan("Trần Hưng Đạo", 95.0, (12.0, 16.0)),
            ("Trần Hưng Đạo",),
        ),
        "shop-houses by the market",
    ),
    Place(
        kl_river(0),
        "Kim Long",
        8,
        Layout(
            {"Kim Long": KL_GARDEN, "Nguyễn Hoàng": KL_VILLA, "Nguyễn Phúc Nguyên": KL_VILLA},
            KietPlan("Kim Long", 70.0, (14.0, 20.0)),
            ("Kim Long",),
            back_use="CLN",
        ),
        "riverside garden lots; kiệt down to the river",
    ),
    Place(
        kl_river(1),
        "Kim Long",
        9,
        Layout(
            {"Kim Long": KL_GARDEN, "Nguyễn Phúc Nguyên": KL_VILLA, "Phú Mộng": KL_VILLA},
            KietPlan("Kim Long", 70.0, (14.0, 20.0)),
            ("Kim Long",),
            back_use="CLN",
        ),
        "riverside garden lots; kiệt down to the river",
    ),
    Place(
        kl_north(1),
        "Kim Long",
        10,
        Layout(
            {"Kim Long": KL_GARDEN, "Lý Nam Đế": KL_VILLA, "Nguyễn Phúc Nguyên": KL_VILLA, "Phú Mộng": KL_VILLA},
            KietPlan("Kim Long", 70.0, (14.0, 20.0)),
            ("Kim Long", "Lý Nam Đế"),
        ),
        "garden houses north of Kim Long street",
    ),
    Place(
        kl_north(2),
        "Kim Long",
        11,
        Layout(
            {"Kim Long": KL_GARDEN, "Lý Nam Đế": KL_VILLA, "Phú Mộng": KL_VILLA, "Vạn Xuân": KL_VILLA},
            KietPlan("Kim Long", 70.0, (14.0, 20.0)),
            ("Kim Long", "Lý Nam Đế"),
        ),
        "garden houses under the detailed plan 1/500",
    ),
    Place(
        (508, 2512),
        "Hương Sơ",
        30,
        Layout({"Đặng Tất": NEW_TOWN_19, "Đường số 1 khu dân cư Hương Sơ": NEW_TOWN_13}),
        "new area: 5 m lots on a 19.5 m road, 4.5 m lots on a 13 m road",
    ),
    Place(
        (508, 2572),
        "Hương Sơ",
        31,
        Layout({"Đường số 1 khu dân cư Hương Sơ": NEW_VILLA, "Đường số 2 khu dân cư Hương Sơ": NEW_VILLA}),
        "new area: villa lots 10 m x 25 m",
    ),
    Place(
        (508, 2631),
        "Hương Sơ",
        32,
        Layout({"Nguyễn Văn Linh": NEW_TOWN_19B, "Đường số 2 khu dân cư Hương Sơ": NEW_TOWN_13B}),
        "new area: 5 m lots on a 26 m road, 4.5 m lots on a 13 m road",
    ),
]


@dataclass(frozen=True)
class Public:
    """A parcel of a public body: a whole block, the part of a block in ``shape``, or its ``corner`` (two streets and
    the depth along each, as :func:`sample.blocks.corner_region`)."""

    at: tuple[float, float]
    ward: str
    sheet: int
    parcel: int
    name: str
    land_use: str
    road: str
    shape: Polygon | None = None
    corner: tuple[str, float, str, float] | None = None


SCHOOL = rect(1000.0, 991.5, 1200.0, 1150.0)  # Trường THCS Nguyễn Tri Phương, on Thạch Hãn
KL_MARKET = ("Kim Long", 55.0, "Phú Mộng", 75.0)  # Chợ Kim Long, at the corner of Kim Long and Phú Mộng
KL_PAGODA = ("Lý Nam Đế", 70.0, "Văn Thánh", 85.0)  # Chùa Kim Long

PUBLIC = [
    Public((1118, 513), "Phú Xuân", 1, 1, "Đại Nội (Hoàng thành Huế)", "DDT", "23 Tháng 8"),
    Public((1559, 1144), "Thuận Lộc", 2, 1, "Hồ Tịnh Tâm", "MNC", "Đinh Tiên Hoàng"),
    Public((2409, -188), "Đông Ba", 1, 1, "Chợ Đông Ba", "DCH", "Trần Hưng Đạo"),
    Public((1100, 1050), "Tây Lộc", 20, 1, "Trường THCS Nguyễn Tri Phương", "DGD", "Thạch Hãn", SCHOOL),
    Public(kl_river(2), "Kim Long", 12, 1, "Chợ Kim Long", "DCH", "Kim Long", corner=KL_MARKET),
    Public(kl_north(3), "Kim Long", 14, 1, "Chùa Kim Long", "TON", "Văn Thánh", corner=KL_PAGODA),
]
