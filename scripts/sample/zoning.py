"""The zones of the zoning plan 1/2000 and their rules (and those of its superseded 2019 version).

Zones tile the blocks: a block is one zone, or is split (a strip along a street, the side of a line, a shape such as
a lake or a school) into several. The monuments (the walls with their earth bank, the moat, the Ngự Hà, the Imperial
City) are zones of protection zone I where nothing new may be built (0 floors, 0 m).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import shapely
from shapely.geometry import Polygon
from shapely.ops import unary_union

from sample.blocks import Block, block_at, corner_region
from sample.frame import SIDE, polygons, rect
from sample.geography import INNER, NGU_HA_BANKS, citadel_outline, mang_ca, moat
from sample.network import kl_north, kl_river, road_areas
from sample.places import KL_MARKET, KL_PAGODA, SCHOOL

H1_IC = "Khu vực bảo vệ I - Hoàng thành Huế"
H1_WALL = "Khu vực bảo vệ I - Kinh thành Huế (tường thành, hào)"
H1_CANAL = "Khu vực bảo vệ I - Ngự Hà"
H2 = "Khu vực bảo vệ II - Kinh thành Huế"
H2_RIVER = "Khu vực bảo vệ II - cảnh quan sông Hương"
KL = "Khu vực bảo tồn cảnh quan Kim Long"
BUFFER = "Vùng đệm Kinh thành Huế"


@dataclass(frozen=True)
class Rule:
    """What a zone allows: land use, max density %, floors, height m, FAR, setback m, ground elevation m, heritage.

    ``None`` is "no data" (the plan says nothing); ``unlimited`` names the values the plan leaves unlimited on
    purpose (the field ``khongGioiHan``); ``new`` marks a new development area (``khuVucMoi``)."""

    code: str
    density: float | None
    fmax: int | None
    fmin: int | None
    hmax: float | None
    far: float | None
    setback: float | None
    elev: float
    heritage: str | None
    unlimited: str = ""
    new: int = 0
    note: str = ""


def _no_build(code: str, elev: float, heritage: str, note: str = "") -> Rule:
    return Rule(code, 0.0, 0, None, 0.0, 0.0, None, elev, heritage, note=note)


IC = _no_build("DDT", 3.8, H1_IC, "Hoàng thành: không xây dựng mới")
WALLS = _no_build("DDT", 4.0, H1_WALL, "Tường thành, pháo đài, Kỳ Đài và dải đất thành")
MOAT = _no_build("MNC", 3.0, H1_WALL, "Hào thành")
CANAL = _no_build("MNC", 3.0, H1_CANAL, "Ngự Hà và hai bờ")
SQUARE = _no_build("DDT", 3.6, H1_IC, "Quảng trường Ngọ Môn - Kỳ Đài")
# Zone II of the Kinh thành: low limits so that the walls and the Kỳ Đài stay dominant.
KT_ODT3 = Rule("ODT", 65.0, 3, 1, 12.0, 1.9, 3.0, 3.8, H2)
KT_ODT2 = Rule("ODT", 60.0, 2, 1, 11.0, 1.2, 3.0, 3.9, H2, note="Gần tường thành: tối đa 2 tầng")
KT_VILLA = Rule("ODT", 50.0, 3, 1, 12.0, 1.5, 6.0, 3.7, H2)
KT_GARDEN = Rule("ODT", 40.0, 2, 1, 11.0, 0.8, 6.0, 3.8, H2, note="Nhà vườn nhìn ra Hoàng thành")
KT_TMD = Rule("TMD", 80.0, 3, 2, 12.0, 2.4, 0.0, 3.7, H2)
KT_TMD_MTL = Rule("TMD", 75.0, 3, 2, 12.0, 2.2, 0.0, 3.6, H2)
KT_TMD_HT = Rule("TMD", 70.0, 3, 1, 12.0, 2.1, 0.0, 3.9, H2)
KT_GREEN = Rule("DKV", 5.0, 1, None, 6.0, 0.05, 6.0, 3.6, H2)
KT_PARK = Rule("DKV", 10.0, 1, None, 6.0, 0.1, 3.0, 3.8, H2, note="Công viên quy hoạch mới")
KT_SCHOOL = Rule("DGD", 40.0, 3, None, 12.0, 1.2, 6.0, 4.0, H2)
KT_SCHOOL_NO_SETBACK = dataclasses.replace(KT_SCHOOL, setback=None)  # the plan gives no setback: "no data"
KT_MUSEUM = Rule("DVH", 40.0, 2, None, 11.0, 0.8, 6.0, 3.9, H2)
KT_OFFICE = Rule("TSC", 40.0, 3, None, 12.0, 1.2, 6.0, 3.9, H2)
KT_LAKE = _no_build("MNC", 3.5, H2)
KT_DEFENCE = Rule("CQP", 30.0, 2, None, 11.0, 0.6, 6.0, 4.0, H2, note="Trấn Bình Đài (Mang Cá)")
# The riverbank corridor on the north bank: green, low.
BS_GREEN = Rule("DKV", 5.0, 1, None, 6.0, 0.05, 6.0, 3.0, H2_RIVER)
BS_GREEN_NO_FAR = dataclasses.replace(BS_GREEN, far=None)  # no FAR given, none left unlimited: "no data"
BS_SERVICE = Rule("TMD", 40.0, 1, None, 6.0, 0.4, 6.0, 3.2, H2_RIVER, note="Dịch vụ ven sông")
# Đông Ba: the market and its shop-houses.
DB_TMD = Rule("TMD", 90.0, 5, 2, 20.0, None, 0.0, 3.4, BUFFER, unlimited="max_far")
DB_ODT = Rule("ODT", 85.0, 4, 2, 16.0, 3.4, 0.0, 3.4, BUFFER)
DB_MARKET = Rule("DCH", 70.0, 4, None, 18.0, 2.8, 0.0, 3.4, BUFFER)
# Kim Long: garden houses along the river.
KL_ODT = Rule("ODT", 55.0, 3, 1, 12.0, 1.6, 3.0, 3.3, KL)
KL_GARDEN = Rule("ODT", 40.0, 2, 1, 10.0, 0.8, 6.0, 3.4, KL, note="Nhà vườn Kim Long")
KL_GREEN = Rule("DKV", 10.0, 1, None, 6.0, 0.1, 6.0, 3.0, KL, note="Hành lang xanh ven sông")
KL_TEMPLE = Rule("TON", 40.0, 2, None, None, 0.8, 6.0, 3.5, KL)  # no height given: "no data"
KL_MARKET_R = Rule("DCH", 60.0, 2, None, 10.0, 1.2, 3.0, 3.3, KL)
# The new residential area (khu vực mới: QCVN 01:2021 lot sizes apply).
HS_TOWN = Rule("ODT", 90.0, 5, 3, 20.0, 4.5, 0.0, 4.5, None, new=1)
HS_VILLA = Rule("ODT", 60.0, 3, 2, 13.0, 1.8, 3.0, 4.4, None, new=1)
HS_MIXED = Rule("TMD", 60.0, 7, 3, 28.0, None, 6.0, 4.3, None, unlimited="max_far", new=1)
HS_SCHOOL = Rule("DGD", 40.0, 4, None, 16.0, 1.6, 6.0, 4.5, None, new=1)
HS_PARK = Rule("DKV", 5.0, 1, None, 6.0, 0.05, None, 4.2, None, unlimited="min_setback_m", new=1)

Parts = list[tuple[Polygon | None, Rule]]
Spec = Callable[[Block], Parts]


def whole(rule: Rule) -> Spec:
    """The whole block, one zone."""
    return lambda b: [(None, rule)]


def front(road: str, depth: float, rule: Rule, *rest: tuple[Polygon | None, Rule]) -> Spec:
    """A strip ``depth`` metres deep along ``road``, then the rest."""

    def spec(b: Block) -> Parts:
        strip = unary_union([b.sides[i].band(-1.0, depth) for i in b.sides_on(road)])
        return [(strip, rule), *rest]

    return spec


def split(u: float | None, v: float | None, near: Rule, far: Rule) -> Spec:
    """Two zones either side of the line u = const (or v = const): ``near`` on the lower side."""
    return lambda b: [
        (rect(-1e4, -1e4, u, 1e4) if u is not None else rect(-1e4, -1e4, 1e4, v or 0.0), near),
        (None, far),
    ]


def shape(region: Polygon, rule: Rule, *rest: tuple[Polygon | None, Rule]) -> Spec:
    """The part of the block inside ``region``, then the rest."""
    return lambda b: [(region, rule), *rest]


def corner(at: tuple[str, float, str, float], rule: Rule, *rest: tuple[Polygon | None, Rule]) -> Spec:
    """The corner of the block where two streets meet (see :func:`corner_region`), then the rest."""
    return lambda b: [(corner_region(b, *at), rule), *rest]


def chain(*specs: Spec) -> Spec:
    """The parts of several specs in turn (each taking what the earlier ones left)."""
    return lambda b: [p for s in specs for p in s(b) if p[0] is not None] + [specs[-1](b)[-1]]


HOC_HAI = shapely.Point(420.0, 1240.0).buffer(50.0, quad_segs=8)
PARK_TL = rect(350.0, 1390.0, 470.0, 1520.0)  # a park planned over the gardens of Tây Lộc

ZONING: list[tuple[tuple[float, float], Spec]] = [
    # inside the walls
    ((1118, 513), whole(IC)),
    ((1232, 71), shape(rect(798.25, 0, 1438.5, 123), SQUARE, (None, KT_GREEN))),
    (
        (1559, 338),
        chain(front("Đinh Tiên Hoàng", 18.0, KT_TMD), front("Đoàn Thị Điểm", 62.0, KT_GARDEN, (None, KT_ODT3))),
    ),
    ((1820, 338), front("Đinh Tiên Hoàng", 20.0, KT_TMD, (None, KT_ODT3))),
    ((1559, 734), whole(KT_MUSEUM)),
    ((1820, 734), front("Đinh Tiên Hoàng", 20.0, KT_TMD, (None, KT_ODT3))),
    ((2078, 338), split(2110.0, None, KT_ODT3, KT_ODT2)),
    ((2078, 734), whole(KT_OFFICE)),
    ((428, 338), split(420.0, None, KT_ODT2, KT_VILLA)),
    ((169, 338), whole(KT_ODT2)),
    ((675, 734), whole(KT_SCHOOL_NO_SETBACK)),
    ((169, 734), whole(KT_ODT2)),
    ((428, 1144), shape(HOC_HAI, KT_LAKE, (None, KT_ODT3))),
    ((782, 1144), shape(SCHOOL, KT_SCHOOL, (None, KT_ODT3))),
    ((1222, 1144), whole(KT_OFFICE)),
    ((1559, 1144), whole(dataclasses.replace(KT_LAKE, note="Hồ Tịnh Tâm và bờ hồ"))),
    (
        (1820, 1144),
        chain(front("Đinh Tiên Hoàng", 20.0, KT_TMD), front("Mai Thúc Loan", 18.0, KT_TMD_MTL, (None, KT_ODT3))),
    ),
    ((2078, 1144), whole(KT_ODT2)),
    ((169, 1144), whole(KT_ODT2)),
    ((169, 1490), whole(KT_ODT2)),
    ((428, 1490), chain(front("Hàn Thuyên", 25.0, KT_TMD_HT), shape(PARK_TL, KT_PARK, (None, KT_ODT3)))),
    (
        (1820, 1491),
        chain(front("Đinh Tiên Hoàng", 20.0, KT_TMD), front("Mai Thúc Loan", 18.0, KT_TMD_MTL, (None, KT_ODT3))),
    ),
    ((2078, 1491), chain(front("Mai Thúc Loan", 18.0, KT_TMD_MTL), split(2110.0, None, KT_ODT3, KT_ODT2))),
    ((1820, 1818), front("Đinh Tiên Hoàng", 20.0, KT_TMD, (None, KT_ODT3))),
    ((2078, 1936), shape(mang_ca(), KT_DEFENCE, (None, KT_ODT2))),
    ((169, 1818), whole(KT_ODT2)),
    ((169, 2078), whole(KT_ODT2)),
    ((428, 2078), whole(KT_ODT2)),
    ((1118, 2078), whole(KT_ODT2)),
    ((1820, 2078), whole(KT_ODT2)),
    # the riverbank, Đông Ba
    (
        (923, -149),
        lambda b: [
            (rect(-1e4, -1e4, 700.0, 1e4), BS_GREEN_NO_FAR),
            (rect(-1e4, -1e4, 1500.0, 1e4), BS_GREEN),
            (None, BS_SERVICE),
        ],
    ),
    ((2139, -158), whole(BS_SERVICE)),
    ((2409, -188), whole(DB_MARKET)),
    ((2409, 30), front("Trần Hưng Đạo", 25.0, DB_TMD, (None, DB_ODT))),
    ((2409, 250), whole(DB_ODT)),
    # Kim Long: the riverside blocks keep a green corridor along the river
    (kl_river(0), front("Kim Long", 45.0, KL_ODT, (None, KL_GREEN))),
    (kl_river(1), front("Kim Long", 45.0, KL_ODT, (None, KL_GREEN))),
    (kl_river(2), corner(KL_MARKET, KL_MARKET_R, (None, KL_GREEN))),
    (kl_river(3), front("Kim Long", 45.0, KL_ODT, (None, KL_GREEN))),
    (kl_north(0), whole(KL_ODT)),
    (kl_north(1), front("Kim Long", 40.0, KL_ODT, (None, KL_GARDEN))),
    (kl_north(2), front("Kim Long", 40.0, KL_ODT, (None, KL_GARDEN))),
    (kl_north(3), corner(KL_PAGODA, KL_TEMPLE, (None, KL_GARDEN))),
    # the new area
    ((508, 2512), whole(HS_TOWN)),
    ((742, 2512), whole(HS_SCHOOL)),
    ((980, 2512), whole(HS_MIXED)),
    ((508, 2572), whole(HS_VILLA)),
    ((742, 2572), whole(HS_PARK)),
    ((980, 2572), whole(HS_VILLA)),
    ((508, 2631), whole(HS_TOWN)),
    ((742, 2631), whole(HS_MIXED)),
    ((980, 2631), whole(HS_TOWN)),
]

DEFAULT = {"citadel": KT_ODT3, "riverbank": BS_GREEN, "dongba": DB_ODT, "kimlong": KL_ODT, "new": HS_TOWN}
PREFIX = {"monument": "KT", "citadel": "KT", "riverbank": "BS", "dongba": "ĐB", "kimlong": "KL", "new": "HS"}


@dataclass
class Zone:
    """A zone (ô quy hoạch) of the zoning plan: its code, rules, shape and the area it lies in."""

    code: str
    rule: Rule
    geom: Polygon
    area: str


def _monuments() -> list[tuple[Polygon, Rule]]:
    """The walls with the earth bank inside them, the moat, the Ngự Hà inside the walls."""
    inner = rect(INNER, INNER, SIDE - INNER, SIDE - INNER)
    walls = citadel_outline().difference(inner)
    canal = rect(INNER, NGU_HA_BANKS[0], SIDE - INNER, NGU_HA_BANKS[1]).difference(road_areas())
    return [(walls, WALLS), (moat(), MOAT), *[(p, CANAL) for p in polygons(canal)]]


def zones(blocks: list[Block]) -> list[Zone]:
    """Every zone of the plan, coded by area (KT Kinh thành, BS bờ sông, ĐB Đông Ba, KL Kim Long, HS Hương Sơ)."""
    specs: dict[str, Spec] = {}
    for at, spec in ZONING:
        specs[block_at(blocks, *at).key] = spec
    out: list[Zone] = []
    for geom, rule in _monuments():
        out.append(Zone("", rule, geom, "monument"))
    for b in blocks:
        spec = specs.get(b.key, whole(DEFAULT[b.area]))
        taken: Polygon | None = None
        for region, rule in spec(b):
            part = b.poly if region is None else b.poly.intersection(region)
            if taken is not None:
                part = part.difference(taken)
            pieces = [p for p in polygons(part) if p.area > 20.0]
            if not pieces:
                continue
            geom = unary_union(pieces)
            taken = geom if taken is None else unary_union([taken, geom])
            out.append(Zone("", rule, geom, b.area))
    counters: dict[str, int] = {}
    for z in out:
        prefix = PREFIX[z.area]
        counters[prefix] = counters.get(prefix, 0) + 1
        z.code = f"{prefix}-{counters[prefix]:02d}"
    return out


def version_2019(zones_now: list[Zone], new_area: Polygon) -> list[Zone]:
    """The superseded 2019 version: one floor (and 3.5 m) more in zone II and in Kim Long, no new area (farmland
    then), no unlimited values."""
    out = []
    for z in zones_now:
        if z.area == "new":
            continue
        r = z.rule
        if r.heritage in (H2, KL) and r.fmax:
            r = dataclasses.replace(r, fmax=r.fmax + 1, hmax=(r.hmax or 0) + 3.5, far=r.far and round(r.far * 1.25, 2))
        r = dataclasses.replace(r, unlimited="", new=0)
        out.append(Zone(z.code, r, z.geom, z.area))
    farm = Rule("HNK", 5.0, 1, None, 5.0, 0.05, None, 4.0, None, note="Đất nông nghiệp (chưa quy hoạch khu ở)")
    out.append(Zone("HS-01", farm, new_area, "new"))
    return out
