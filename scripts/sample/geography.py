"""The shape of the place: the Kinh thành's walls, bastions and gates, the moat, the canals, the river, the lakes and
the landmarks, in the frame of :mod:`sample.frame` (approximate, for realism only)."""

from __future__ import annotations

from dataclasses import dataclass, field

import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon
from shapely.ops import unary_union

from sample.frame import AXIS_U, SIDE, frame_of_lonlat, rect

WALL = 21.0  # the walls: about 21 m thick, 6.5 m high
WALL_HEIGHT = 6.5
INNER = 45.0  # the earth bank behind the walls ends 24 m further in: the streets and blocks start there
BERM, MOAT = 8.0, 30.0  # a berm, then the moat along the walls outside
BASTION_OUT, BASTION_BASE, BASTION_TIP = 18.0, 56.0, 30.0

#: The Imperial City (Hoàng thành), on the axis behind the Kỳ Đài, about 600 m a side.
IC = (AXIS_U - 300.0, 280.0, AXIS_U + 300.0, 880.0)
IC_MOAT = 15.0
#: The Ngự Hà canal crosses the citadel from west to east (v range).
NGU_HA = (935.0, 970.0)
#: The Ngự Hà with its green banks, between the streets along it (Lê Thánh Tôn, Thạch Hãn): one zone of protection I.
NGU_HA_BANKS = (920.25, 980.0)
#: Hộ Thành Hà: the outer canal on the west, north and east (its centre line's offsets from the walls).
HO_THANH_HA_W, HO_THANH_HA_N, HO_THANH_HA_E = -200.0, SIDE + 200.0, SIDE + 285.0
HO_THANH_HA_WIDTH = 40.0

# The four faces: (name, start corner, direction along the face, outward normal).
FACES = {
    "Nam": ((0.0, 0.0), (1.0, 0.0), (0.0, -1.0)),
    "Đông": ((SIDE, 0.0), (0.0, 1.0), (1.0, 0.0)),
    "Bắc": ((0.0, SIDE), (1.0, 0.0), (0.0, 1.0)),
    "Tây": ((0.0, 0.0), (0.0, 1.0), (-1.0, 0.0)),
}
FACE_EN = {"Nam": "south", "Đông": "east", "Bắc": "north", "Tây": "west"}

#: The ten gates: (face, position along the face, Vietnamese name, common name, English name).
GATES = [
    ("Nam", 559.0, "Cửa Chánh Nam", "Cửa Nhà Đồ", "Chanh Nam Gate"),
    ("Nam", AXIS_U - 180.0, "Cửa Thể Nhơn", "Cửa Ngăn", "The Nhon Gate"),
    ("Nam", AXIS_U + 180.0, "Cửa Quảng Đức", "Cửa Sập", "Quang Duc Gate"),
    ("Nam", 1676.0, "Cửa Đông Nam", "Cửa Thượng Tứ", "Thuong Tu Gate"),
    ("Đông", 1304.0, "Cửa Chánh Đông", "Cửa Đông Ba", "Dong Ba Gate"),
    ("Đông", 1676.0, "Cửa Đông Bắc", "Cửa Kẻ Trài", "Ke Trai Gate"),
    ("Bắc", 1676.0, "Cửa Chánh Bắc", "Cửa Hậu", "Chanh Bac Gate"),
    ("Bắc", 559.0, "Cửa Tây Bắc", "Cửa An Hòa", "An Hoa Gate"),
    ("Tây", 1676.0, "Cửa Chánh Tây", "Cửa Chánh Tây", "Chanh Tay Gate"),
    ("Tây", 559.0, "Cửa Tây Nam", "Cửa Hữu", "Huu Gate"),
]
GATE_WIDTH = 16.0


@dataclass
class Feature:
    """A base-map feature: its names, what it is, and its shape in the frame."""

    ten: str
    ten_en: str
    loai: str
    geom: object
    height: float | None = None
    extra: dict[str, object] = field(default_factory=dict)


def _face_pt(face: str, a: float, b: float) -> tuple[float, float]:
    """The point ``a`` metres along a face from its start corner and ``b`` metres outwards."""
    (x0, y0), (dx, dy), (nx, ny) = FACES[face]
    return x0 + a * dx + b * nx, y0 + a * dy + b * ny


def _face_poly(face: str, pts: list[tuple[float, float]]) -> Polygon:
    return Polygon([_face_pt(face, a, b) for a, b in pts])


def kyda_base() -> Polygon:
    """The Kỳ Đài's three-tier base on the middle of the south face (about 17.5 m high)."""
    return rect(AXIS_U - 36.0, -32.0, AXIS_U + 36.0, WALL)


def bastions() -> list[Feature]:
    """24 bastions: 4 at the corners, 5 on each face (the middle one of the south face carries the Kỳ Đài)."""
    out = []
    for face in FACES:
        for k in range(1, 6):
            a = SIDE * k / 6
            if face == "Nam" and k == 3:
                continue  # the Kỳ Đài (below)
            half_b, half_t = BASTION_BASE / 2, BASTION_TIP / 2
            geom = _face_poly(
                face, [(a - half_b, 0), (a + half_b, 0), (a + half_t, BASTION_OUT), (a - half_t, BASTION_OUT)]
            )
            out.append(
                Feature(f"Pháo đài mặt {face} {k}", f"Bastion, {FACE_EN[face]} face {k}", "phao_dai", geom, WALL_HEIGHT)
            )
    corners = {
        "Nam": ((0.0, 0.0), (1, 0), (0, 1)),
        "Đông": ((SIDE, 0.0), (0, 1), (-1, 0)),
        "Bắc": ((SIDE, SIDE), (-1, 0), (0, -1)),
        "Tây": ((0.0, SIDE), (0, -1), (1, 0)),
    }
    for name, ((cx, cy), f1, f2) in corners.items():
        o1, o2 = (-f2[0], -f2[1]), (-f1[0], -f1[1])  # outwards across each face
        tip = (cx + 30 * (o1[0] + o2[0]), cy + 30 * (o1[1] + o2[1]))
        geom = Polygon(
            [
                (cx + 30 * f1[0], cy + 30 * f1[1]),
                (cx + 30 * f1[0] + 16 * o1[0], cy + 30 * f1[1] + 16 * o1[1]),
                tip,
                (cx + 30 * f2[0] + 16 * o2[0], cy + 30 * f2[1] + 16 * o2[1]),
                (cx + 30 * f2[0], cy + 30 * f2[1]),
                (cx, cy),
            ]
        )
        out.append(Feature(f"Pháo đài góc {name}", f"Corner bastion ({FACE_EN[name]})", "phao_dai", geom, WALL_HEIGHT))
    return out


def gates() -> list[Feature]:
    """The citadel's gates, each a stretch of its face's wall."""
    out = []
    for face, a, name, common, english in GATES:
        geom = _face_poly(
            face,
            [
                (a - GATE_WIDTH / 2, -WALL),
                (a + GATE_WIDTH / 2, -WALL),
                (a + GATE_WIDTH / 2, 0),
                (a - GATE_WIDTH / 2, 0),
            ],
        )
        out.append(Feature(f"{name} ({common})", english, "cua", geom, 11.0, {"face": face, "at": a}))
    return out


def wall_ring() -> Polygon:
    """The citadel's walls as one square ring."""
    return rect(0, 0, SIDE, SIDE).difference(rect(WALL, WALL, SIDE - WALL, SIDE - WALL))


def walls() -> list[Feature]:
    """The wall of each face between its gates (and the Kỳ Đài), as separate stretches."""
    cut = unary_union([g.geom for g in gates()] + [kyda_base()])
    out = []
    for face in FACES:
        band = _face_poly(face, [(0, -WALL), (SIDE, -WALL), (SIDE, 0), (0, 0)])
        parts = sorted(shapely.get_parts(band.difference(cut)), key=lambda p: (p.centroid.x, p.centroid.y))
        for k, part in enumerate(parts, start=1):
            out.append(
                Feature(
                    f"Tường thành mặt {face}, đoạn {k}",
                    f"City wall, {FACE_EN[face]} face, section {k}",
                    "tuong",
                    part,
                    WALL_HEIGHT,
                )
            )
    return out


def citadel_outline() -> Polygon:
    """The walls with their bastions and the Kỳ Đài (what the moat runs around)."""
    return unary_union([rect(0, 0, SIDE, SIDE), kyda_base(), *[b.geom for b in bastions()]])


def moat() -> Polygon:
    """The moat: a ring outside the walls, beyond the berm."""
    outline = citadel_outline()
    outer = outline.buffer(BERM + MOAT, join_style="mitre")
    return outer.difference(outline.buffer(BERM, join_style="mitre"))


def mang_ca() -> Polygon:
    """Trấn Bình Đài (Mang Cá): a hexagonal fort in the north-east corner, two of its sides the citadel's walls."""
    return Polygon(
        [
            (SIDE - INNER, 1990),
            (SIDE - INNER, SIDE - INNER),
            (1990, SIDE - INNER),
            (1990, 2110),
            (2050, 2050),
            (2110, 1990),
        ]
    )


def imperial_city() -> Polygon:
    """The Imperial City (Hoàng thành) inside its walls."""
    return rect(*IC)


def imperial_city_features() -> list[Feature]:
    """The Imperial City's wall and its four gates."""
    u0, v0, u1, v1 = IC
    ring = rect(u0, v0, u1, v1).difference(rect(u0 + 2.5, v0 + 2.5, u1 - 2.5, v1 - 2.5))
    ngo_mon = rect(AXIS_U - 29.0, v0 - 18.0, AXIS_U + 29.0, v0 + 10.0)
    hien_nhon = rect(u1 - 2.5, 640.0, u1 + 4.0, 652.0)
    chuong_duc = rect(u0 - 4.0, 640.0, u0 + 2.5, 652.0)
    hoa_binh = rect(AXIS_U - 6.0, v1 - 2.5, AXIS_U + 6.0, v1 + 4.0)
    gates_ = unary_union([ngo_mon, hien_nhon, chuong_duc, hoa_binh])
    return [
        Feature("Tường Hoàng thành", "Imperial City wall", "tuong", ring.difference(gates_), 4.16),
        Feature("Ngọ Môn", "Noon Gate (Ngo Mon)", "cua", ngo_mon, 17.0),
        Feature("Cửa Hiển Nhơn", "Hien Nhon Gate", "cua", hien_nhon, 8.0),
        Feature("Cửa Chương Đức", "Chuong Duc Gate", "cua", chuong_duc, 8.0),
        Feature("Cửa Hòa Bình", "Hoa Binh Gate", "cua", hoa_binh, 7.0),
    ]


def citadel_structures() -> list[Feature]:
    """The layer ``TuongThanh_A``: walls, bastions, gates, the Kỳ Đài base, the Imperial City wall, Mang Cá."""
    mc = mang_ca()
    inner = LineString(list(mc.exterior.coords)[2:6]).buffer(3.0, cap_style="flat")
    return [
        *walls(),
        *bastions(),
        *gates(),
        Feature("Kỳ Đài (nền ba tầng)", "Flag Tower base (three tiers)", "ky_dai", kyda_base(), 17.5),
        *imperial_city_features(),
        Feature("Tường Trấn Bình Đài (Mang Cá)", "Tran Binh Dai fort wall (Mang Ca)", "tuong", inner, 5.0),
    ]


# The north bank of the Perfume River, from downstream (east of Đông Ba) to upstream (past Thiên Mụ).
NORTH_BANK = [
    (3300.0, -215.0),
    (2760.0, -232.0),
    (2560.0, -270.0),
    (2330.0, -268.0),
    (2240.0, -205.0),
    (1900.0, -190.0),
    (1200.0, -191.0),
    (420.0, -193.0),
    (80.0, -186.0),
    (-130.0, -150.0),
    (-310.0, -20.0),
    (-520.0, 150.0),
    (-790.0, 372.0),
    (-930.0, 470.0),
    (-1063.0, 545.0),
    (-1200.0, 690.0),
    (-1320.0, 790.0),
    (-1450.0, 860.0),
    (-1572.0, 930.0),
    (-1700.0, 1060.0),
    (-1840.0, 1190.0),
    (-1990.0, 1300.0),
    (-2125.0, 1400.0),
    (-2400.0, 1690.0),
    (-2690.0, 1942.0),
    (-2960.0, 2170.0),
    (-3300.0, 2420.0),
]
SOUTH_BANK = [
    (3300.0, -560.0),
    (2600.0, -600.0),
    (1900.0, -560.0),
    (1100.0, -548.0),
    (300.0, -540.0),
    (-140.0, -470.0),
    (-420.0, -265.0),
    (-700.0, -40.0),
    (-980.0, 200.0),
    (-1260.0, 440.0),
    (-1540.0, 680.0),
    (-1820.0, 930.0),
    (-2110.0, 1170.0),
    (-2400.0, 1420.0),
    (-2690.0, 1660.0),
    (-2980.0, 1900.0),
    (-3300.0, 2150.0),
]


def river() -> Polygon:
    """The Hương River, between its banks."""
    return Polygon(NORTH_BANK + SOUTH_BANK[::-1]).buffer(0)


def north_bank_land(area: Polygon) -> Polygon:
    """What of ``area`` lies on the north bank of the river."""
    north = Polygon([*NORTH_BANK, (-3300.0, 6000.0), (3300.0, 6000.0)])
    shape: Polygon = area.intersection(north)
    return shape


def ho_thanh_ha_line() -> LineString:
    """The outer canal's centre line: from the river west of the citadel, round the north, to the river at Đông Ba."""
    w, n, e = HO_THANH_HA_W, HO_THANH_HA_N, HO_THANH_HA_E
    pts = [(w - 40, -80.0), (w, 120.0), (w, n), (e - 60, n), (e, n - 60), (e, 200.0), (e - 10, -150.0), (e, -300.0)]
    return LineString(pts)


def ho_thanh_ha() -> Polygon:
    """The Hộ Thành Hà canal, its ends cut at the river bank."""
    canal = ho_thanh_ha_line().buffer(HO_THANH_HA_WIDTH / 2, cap_style="flat", join_style="round")
    return canal.union(river()).difference(river())  # ends cut at the bank


def ngu_ha() -> Polygon:
    """The Ngự Hà canal inside the citadel, from the west moat to the east moat (water gates under the walls)."""
    v0, v1 = NGU_HA
    return rect(-BERM, v0, SIDE + BERM, v1)


def tinh_tam() -> Polygon:
    """Hồ Tịnh Tâm, with its two islands (Bồng Lai, Phương Trượng)."""
    lake = rect(1478.0, 1018.0, 1642.0, 1268.0).buffer(-8).buffer(8)
    islands = [Point(1560, 1090).buffer(16, quad_segs=4), Point(1560, 1190).buffer(20, quad_segs=4)]
    return lake.difference(unary_union(islands))


def kim_thuy() -> Polygon:
    """The Imperial City's moat (Kim Thủy), a gap left for the bridge in front of the Ngọ Môn."""
    u0, v0, u1, v1 = IC
    ring = rect(u0 - IC_MOAT, v0 - IC_MOAT - 4, u1 + IC_MOAT, v1 + IC_MOAT).difference(
        rect(u0 - 4, v0 - 4, u1 + 4, v1 + 4)
    )
    return ring.difference(rect(AXIS_U - 40, v0 - 30, AXIS_U + 40, v0))


def waters() -> list[Feature]:
    """The layer ``ThuyHe_A``."""
    return [
        Feature("Sông Hương", "Perfume River", "song", river()),
        Feature("Hộ Thành Hà", "Ho Thanh Ha canal (outer moat)", "kenh", ho_thanh_ha()),
        Feature("Hào Kinh thành", "Citadel moat", "ho_thanh", moat()),
        Feature(
            "Ngự Hà",
            "Ngu Ha canal (Royal Canal)",
            "kenh",
            ngu_ha().difference(citadel_outline().difference(rect(WALL, WALL, SIDE - WALL, SIDE - WALL))),
        ),
        Feature("Kim Thủy Hồ (hào Hoàng thành)", "Imperial City moat (Kim Thuy)", "ho_thanh", kim_thuy()),
        Feature("Hồ Tịnh Tâm", "Tinh Tam Lake", "ho", tinh_tam()),
        Feature("Hồ Học Hải", "Hoc Hai Lake", "ho", Point(420.0, 1240.0).buffer(42.0, quad_segs=8)),
    ]


THIEN_MU = frame_of_lonlat(107.5447, 16.4532)


def landmarks(places: dict[str, Polygon], bridge: LineString) -> list[Feature]:
    """The layer ``DiaDanh_P``: monuments, markets, the bridge, pagodas, a school (``places``: parcels by name)."""
    mc = mang_ca().centroid
    lake = tinh_tam().representative_point()

    def inside(name: str) -> Point:
        p = places[name].representative_point()
        return Point(p.x, p.y)

    return [
        Feature("Kỳ Đài", "Flag Tower", "di_tich", Point(AXIS_U, -6.0), 55.0),
        Feature("Ngọ Môn", "Noon Gate", "di_tich", Point(AXIS_U, IC[1] - 4.0), 17.0),
        Feature("Điện Thái Hòa", "Thai Hoa Palace", "di_tich", Point(AXIS_U, 420.0), 11.8),
        Feature("Tử Cấm Thành", "Forbidden Purple City", "di_tich", Point(AXIS_U, 650.0)),
        Feature("Hiển Lâm Các", "Hien Lam Pavilion", "di_tich", Point(AXIS_U - 190.0, 455.0), 13.0),
        Feature("Phu Văn Lâu", "Phu Van Lau Pavilion", "di_tich", Point(AXIS_U, -150.0), 8.0),
        Feature("Trấn Bình Đài (Mang Cá)", "Tran Binh Dai fort (Mang Ca)", "di_tich", Point(mc.x, mc.y)),
        Feature("Hồ Tịnh Tâm", "Tinh Tam Lake", "ho", Point(lake.x, lake.y)),
        Feature("Chợ Đông Ba", "Dong Ba Market", "cho", inside("Chợ Đông Ba"), 14.0),
        Feature("Cầu Trường Tiền", "Truong Tien Bridge", "cau", bridge.interpolate(0.5, normalized=True)),
        Feature("Chùa Thiên Mụ", "Thien Mu Pagoda", "chua", Point(*THIEN_MU), 21.0),
        Feature("Tháp Phước Duyên", "Phuoc Duyen Tower", "di_tich", Point(THIEN_MU[0] + 10, THIEN_MU[1] - 22), 21.0),
        Feature("Chợ Kim Long", "Kim Long Market", "cho", inside("Chợ Kim Long")),
        Feature("Chùa Kim Long", "Kim Long Pagoda", "chua", inside("Chùa Kim Long")),
        Feature(
            "Trường THCS Nguyễn Tri Phương",
            "Nguyen Tri Phuong Secondary School",
            "truong",
            inside("Trường THCS Nguyễn Tri Phương"),
        ),
    ]


def multipolygon(geom: object) -> MultiPolygon:
    """The non-empty polygons of a shape, as one multipolygon."""
    parts = [g for g in shapely.get_parts(geom) if isinstance(g, Polygon) and not g.is_empty]
    return MultiPolygon(parts)
