"""The cadastre: parcels with ward, map sheet and parcel numbers, addresses on their street or kiệt, and the buildings
standing on them today (some of which break today's plan)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import shapely
import shapely.affinity
from shapely.geometry import LineString, Point, Polygon

from sample.blocks import BIG, Block, StreetLine, block_at, corner_region
from sample.frame import polygons, rng
from sample.lots import Kiet, Lot, layout_block
from sample.places import PLACES, PUBLIC, WARD_CODES
from sample.zoning import Zone


@dataclass
class Parcel:
    """A parcel of the cadastre (thửa đất): its lot, ward, sheet and parcel numbers, address and zones."""

    lot: Lot
    ward: str
    sheet: int
    number: int = 0
    house: str = ""  # the house number on its street or kiệt
    address: str = ""
    area_recorded: float = 0.0
    land_use: str = "ODT"
    name: str = ""  # public parcels
    zones: list[tuple[str, float]] = field(default_factory=list)  # (zone code, share of the parcel)

    @property
    def ward_code(self) -> str:
        """The ward's (illustrative) administrative code."""
        return WARD_CODES[self.ward]


@dataclass
class Building:
    """A building standing on a parcel today, and what of today's plan it breaks."""

    parcel: Parcel
    geom: Polygon
    name: str
    floors: int
    basement: int
    height: float
    land_use: str
    key: str
    breaks: list[str] = field(default_factory=list)  # what of today's plan it breaks


def lay_out(blocks: list[Block]) -> tuple[list[Parcel], list[Kiet]]:
    """The parcels of the places the cadastre covers, and their kiệt."""
    parcels: list[Parcel] = []
    all_kiet: list[Kiet] = []
    for k, place in enumerate(PLACES):
        block = block_at(blocks, *place.at)
        lots, kiet = layout_block(block, place.layout, rng(100 + k))
        parcels += [Parcel(lot, place.ward, place.sheet, land_use=lot.land_use) for lot in lots]
        all_kiet += kiet
    for pub in PUBLIC:
        block = block_at(blocks, *pub.at)
        geom = block.poly if pub.shape is None else block.poly.intersection(pub.shape)
        if pub.corner is not None:
            geom = corner_region(block, *pub.corner)
        poly = max(polygons(geom), key=lambda p: p.area)
        road = next(s.road for s in block.sides if s.road is not None and s.road.name == pub.road)
        lot = Lot(poly, "public", road, None, None, land_use=pub.land_use)
        parcels.append(Parcel(lot, pub.ward, pub.sheet, pub.parcel, land_use=pub.land_use, name=pub.name))
    return parcels, all_kiet


def _touching(parcels: list[Parcel], red: list[StreetLine]) -> None:
    """Every street whose red line a lot touches (within 1 cm); the part of a lot beyond its street's red line."""
    tree = shapely.STRtree([r.geom for r in red])
    for p in parcels:
        hits = tree.query(p.lot.poly, predicate="dwithin", distance=0.01)
        p.lot.roads = list(dict.fromkeys(red[i].road for i in sorted(hits)))
        if p.lot.road is not None and p.lot.row is not None and p.lot.row.widen > 0 and p.lot.front_t < 0:
            assert p.lot.side is not None
            beyond = p.lot.poly.intersection(p.lot.side.band(-50.0, 0.0))
            p.lot.cut_by_red_line = beyond.area


def _side_of(line: LineString, p: Point) -> tuple[float, int]:
    """Where along ``line`` a point lies, and on which side (1 left, 0 right)."""
    at = line.project(p)
    a = line.interpolate(max(at - 0.5, 0.0))
    b = line.interpolate(min(at + 0.5, line.length))
    cross = (b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x)
    return at, 1 if cross > 0 else 0


def number_houses(parcels: list[Parcel], kiet: list[Kiet]) -> None:
    """House numbers along each street (odd on its left, even on its right, rising from where it starts, one number
    kept for each kiệt, as in Huế: "kiệt 45" lies between numbers 43 and 47), then along each kiệt."""
    for items in _along_streets(parcels, kiet).values():
        _number_street(items)
    for k in kiet:
        along = [p for p in parcels if p.lot.kiet is k]
        for side in (1, 0):
            mine = [p for p in along if _side_of(k.line, p.lot.poly.centroid)[1] == side]
            for j, p in enumerate(sorted(mine, key=lambda p: p.lot.kiet_at)):
                p.house = str(2 * j + (1 if side else 2))


def _along_streets(parcels: list[Parcel], kiet: list[Kiet]) -> dict[str, list[tuple[float, int, object]]]:
    """By street name: where each front lot and each kiệt opening lies along the street, and on which side."""
    by_road: dict[str, list[tuple[float, int, object]]] = {}
    for p in parcels:
        if p.lot.road is None:
            continue
        front = p.lot.poly.intersection(p.lot.road.centre.buffer(p.lot.road.width / 2 + 0.05))
        where = front.centroid if not front.is_empty else p.lot.poly.centroid
        at, left = _side_of(p.lot.road.centre, where)
        by_road.setdefault(p.lot.road.name, []).append((at, left, p))
    for k in kiet:
        at, left = _side_of(k.road.centre, Point(k.line.coords[0]))
        by_road.setdefault(k.road.name, []).append((at, left, k))
    return by_road


def _number_street(items: list[tuple[float, int, object]]) -> None:
    """Number the lots and kiệt of one street, each side from where the street starts."""
    for side in (1, 0):
        prev, prev_at = None, 0.0
        for at, _, item in sorted((i for i in items if i[1] == side), key=lambda i: i[0]):
            n = 2 * int(at // 14) + (1 if side else 2)
            if prev is not None:
                n = max(n, prev + 2) if at - prev_at > 40 else prev + 2
            prev, prev_at = n, at
            if isinstance(item, Parcel):
                item.house = str(n)
            else:
                assert isinstance(item, Kiet)
                item.number = n
                item.name = f"Kiệt {n} {item.road.name}"


def number_parcels(parcels: list[Parcel]) -> None:
    """Parcel numbers on each sheet: the front row first (street by street, along the street), then the kiệt."""
    sheets: dict[tuple[str, int], list[Parcel]] = {}
    for p in parcels:
        if p.number == 0:
            sheets.setdefault((p.ward, p.sheet), []).append(p)
    for group in sheets.values():

        def key(p: Parcel) -> tuple[int, str, float]:
            if p.lot.kiet is not None:
                return 1, p.lot.kiet.name, p.lot.kiet_at
            assert p.lot.road is not None
            return 0, p.lot.road.name, p.lot.road.centre.project(p.lot.poly.centroid)

        for n, p in enumerate(sorted(group, key=key), start=1):
            p.number = n


def address(parcels: list[Parcel], r: np.random.Generator) -> None:
    """Each parcel's address, and its recorded area (the lot's, give or take half a square metre, as surveys differ)."""
    for p in parcels:
        where = f"phường {p.ward}, thành phố Huế"
        if p.lot.kiet is not None:
            p.address = f"{p.house} {p.lot.kiet.name.replace('Kiệt', 'kiệt')}, {where}"
        elif p.name:
            p.address = f"{p.name}, đường {p.lot.road.name if p.lot.road else ''}, {where}"
        else:
            assert p.lot.road is not None
            p.address = f"{p.house} {p.lot.road.name}, {where}"
        p.area_recorded = round(p.lot.poly.area + float(r.normal(0, 0.5)), 1)


def legacy_codes(parcels: list[Parcel]) -> None:
    """A few garden back lots in Kim Long still carry the old code BHK (annual crops) on the record."""
    gardens = [p for p in parcels if p.ward == "Kim Long" and p.lot.kind == "back" and p.land_use == "CLN"]
    for p in sorted(gardens, key=lambda p: (p.sheet, p.number))[1::4]:
        p.land_use = "BHK"


def zone_shares(parcels: list[Parcel], zones: list[Zone]) -> None:
    """Each parcel's zones and their shares (those over 0.01 m², as a lookup counts them)."""
    tree = shapely.STRtree([z.geom for z in zones])
    for p in parcels:
        shares = []
        for i in sorted(tree.query(p.lot.poly, predicate="intersects")):
            a = p.lot.poly.intersection(zones[i].geom).area
            if a > 0.01:
                shares.append((zones[i].code, a / p.lot.poly.area))
        p.zones = sorted(shares)


def zone_of(point: Point, zones: list[Zone]) -> Zone | None:
    """The zone holding ``point``, if any."""
    return next((z for z in zones if z.geom.contains(point)), None)


def _front_footprint(lot: Lot, setback: float, built_depth: float, margin: float) -> Polygon | None:
    """A house across a front lot: from ``setback`` behind the lot's front, ``built_depth`` deep, ``margin`` off the
    lot's sides (a hair for the party walls of town houses)."""
    side = lot.side
    assert side is not None
    t0 = lot.front_t + setback
    across = lot.poly.intersection(LineString([side.pt(-BIG, t0 + 0.5), side.pt(side.length + BIG, t0 + 0.5)]))
    spans = [[side.st(np.asarray(c))[0] for c in g.coords] for g in shapely.get_parts(across) if not g.is_empty]
    if not spans:
        return None
    s0, s1 = max(((min(sp), max(sp)) for sp in spans), key=lambda ab: ab[1] - ab[0])
    rect = Polygon(
        [
            side.pt(s0 + margin, t0),
            side.pt(s1 - margin, t0),
            side.pt(s1 - margin, t0 + built_depth),
            side.pt(s0 + margin, t0 + built_depth),
        ]
    )
    parts = polygons(rect.intersection(lot.poly.buffer(-0.1, join_style="mitre")))
    return max(parts, key=lambda p: p.area) if parts else None


def lot_depth(lot: Lot) -> float:
    """How deep a front lot reaches behind its front."""
    assert lot.side is not None
    return max(lot.side.st(np.asarray(c))[1] for c in lot.poly.exterior.coords) - lot.front_t


def _back_footprint(lot: Lot, r: np.random.Generator) -> Polygon | None:
    """A house on a back lot: a rectangle a little way in from the kiệt, square to it."""
    k = lot.kiet
    assert k is not None
    p0 = np.asarray(k.line.coords[0])
    d = np.asarray(k.line.coords[-1]) - p0
    d = d / np.linalg.norm(d)
    w = np.array([-d[1], d[0]])
    pts = np.asarray(lot.poly.exterior.coords) - p0
    q, across = pts @ d, pts @ w
    sign = 1.0 if across.mean() > 0 else -1.0
    reach = float(np.max(np.abs(across)))
    q_mid = float(q.min() + q.max()) / 2
    half = min(float(q.max() - q.min()) / 2 - 2.0, float(r.uniform(4.5, 7.5)))
    depth = min(reach - 5.0, float(r.uniform(8.0, 14.0)))
    if half < 2.5 or depth < 5.0:
        return None
    a0, a1 = 2.5, 2.5 + depth

    def xy(qq: float, aa: float) -> tuple[float, float]:
        p = p0 + qq * d + sign * aa * w
        return float(p[0]), float(p[1])

    rect = Polygon([xy(q_mid - half, a0), xy(q_mid + half, a0), xy(q_mid + half, a1), xy(q_mid - half, a1)])
    parts = polygons(rect.intersection(lot.poly.buffer(-1.0, join_style="mitre")))
    return max(parts, key=lambda p: p.area) if parts else None


NAMES = {"town": "Nhà ở kết hợp kinh doanh", "villa": "Biệt thự", "garden": "Nhà vườn", "new": "Nhà liên kế"}


def buildings(parcels: list[Parcel], zones: list[Zone]) -> list[Building]:
    """Houses on most lots (most new lots still empty), their floors drawn around what the area has; some higher
    than today's plan allows, some built out to the red line where the plan wants a setback."""
    r = rng(7)
    out: list[Building] = []
    for p in sorted(parcels, key=lambda p: (p.ward, p.sheet, p.number)):
        lot = p.lot
        if lot.kind == "public":
            continue
        kind = lot.row.kind if lot.row else "back"
        if r.random() > (0.45 if kind == "new" else 0.9):
            continue
        setback_rule = lot.road.setback if lot.road else 0.0
        fp = _footprint(lot, kind, setback_rule, r)
        if fp is None or fp.area < 25.0:
            continue
        zone = zone_of(fp.representative_point(), zones)
        floors = _floors(kind, zone, r)
        height = round(floors * 3.6 + float(r.uniform(0.4, 1.6)), 1)
        b = Building(
            p,
            fp,
            NAMES.get(kind, "Nhà ở riêng lẻ"),
            floors,
            1 if kind == "new" and floors >= 5 else 0,
            height,
            p.land_use if p.land_use not in ("BHK", "CLN") else "ODT",
            "",
        )
        _record_breaks(b, kind, zone, setback_rule)
        out.append(b)
    for b in out:
        b.key = f"CT-{b.parcel.ward_code}-{b.parcel.sheet:02d}-{b.parcel.number:03d}"
    return out


def _footprint(lot: Lot, kind: str, setback_rule: float, r: np.random.Generator) -> Polygon | None:
    """The house a lot of ``kind`` has, drawn with ``r`` (in the order the sample has always drawn it)."""
    if kind == "town":
        return _front_footprint(lot, 0.0, lot_depth(lot) * float(r.uniform(0.65, 0.9)), 0.12)
    if kind == "new":
        small = lot.poly.area < 130
        return _front_footprint(lot, setback_rule, 14.0 if small else 16.0, 0.12 if small else 2.0)
    if kind in ("villa", "garden"):
        out_of_line = r.random() < 0.12  # built before the plan, out to the red line
        sb = float(r.uniform(0.5, 1.5)) if out_of_line else setback_rule + float(r.uniform(0.5, 3.0))
        return _front_footprint(lot, sb, float(r.uniform(10.0, 15.0)), float(r.uniform(1.5, 3.0)))
    return _back_footprint(lot, r)


def _floors(kind: str, zone: Zone | None, r: np.random.Generator) -> int:
    """A house's floors: what houses of its kind have, some over the zone's limit."""
    limit = zone.rule.fmax if zone and zone.rule.fmax is not None else 3
    floors = int(
        r.choice(
            {
                "town": [2, 3, 3, 4],
                "new": [3, 4, 4, 5],
                "villa": [1, 2, 2, 3],
                "garden": [1, 1, 2, 2],
                "back": [1, 1, 2, 2, 3],
            }[kind]
        )
    )
    if r.random() < 0.06 and kind != "new":
        floors = limit + int(r.choice([1, 2]))  # higher than today's plan allows
    elif limit >= 2:
        floors = min(floors, limit)  # (houses in a planned park keep their floors)
    return floors


def _record_breaks(b: Building, kind: str, zone: Zone | None, setback_rule: float) -> None:
    """What of today's plan the house ``b`` breaks: too many floors, or too close to the street."""
    lot = b.parcel.lot
    if zone and zone.rule.fmax is not None and b.floors > zone.rule.fmax:
        b.breaks.append(f"{b.floors} tầng, ô {zone.code} cho phép {zone.rule.fmax}")
    if kind in ("villa", "garden") and lot.road and lot.side is not None and setback_rule > 0:
        gap = b.geom.distance(lot.side.line())
        if gap < setback_rule - 0.01:
            b.breaks.append(f"lùi {gap:.1f} m, chỉ giới xây dựng lùi {setback_rule:g} m")


def heritage_buildings(parcels: list[Parcel]) -> list[Building]:
    """Monuments on the public parcels: the Imperial City's palaces, the Đông Ba market hall."""
    from sample.frame import AXIS_U, rect

    ic = next(p for p in parcels if p.name.startswith("Đại Nội"))
    market = next(p for p in parcels if p.name == "Chợ Đông Ba")
    c = market.lot.poly.centroid
    return [
        Building(ic, rect(AXIS_U - 22, 405, AXIS_U + 22, 435), "Điện Thái Hòa", 1, 0, 11.8, "DDT", "CT-19750-01-001-1"),
        Building(
            ic, rect(AXIS_U - 210, 445, AXIS_U - 170, 465), "Hiển Lâm Các", 3, 0, 13.0, "DDT", "CT-19750-01-001-2"
        ),
        Building(
            ic, rect(AXIS_U - 25, 690, AXIS_U + 25, 716), "Điện Kiến Trung", 2, 0, 12.5, "DDT", "CT-19750-01-001-3"
        ),
        Building(
            market,
            rect(c.x - 50, c.y - 35, c.x + 50, c.y + 35),
            "Nhà lồng chợ Đông Ba",
            2,
            0,
            14.0,
            "DCH",
            "CT-19774-01-001-1",
        ),
    ]


def straight_frontage(p: Parcel) -> float:
    """The length of a front lot's boundary on its street's red line."""
    if p.lot.road is None or p.lot.side is None:
        return 0.0
    edge = p.lot.poly.boundary.intersection(p.lot.side.line().buffer(0.01))
    return float(edge.length) if not edge.is_empty else 0.0


def angle_off(p: Parcel) -> float:
    """How far (degrees) the lot's corners are from right angles, at most."""
    coords = np.asarray(p.lot.poly.exterior.coords)[:-1]
    worst = 0.0
    for i in range(len(coords)):
        a, b, c = coords[i - 1], coords[i], coords[(i + 1) % len(coords)]
        u, v = a - b, c - b
        cos = float(u @ v / (np.linalg.norm(u) * np.linalg.norm(v)))
        ang = math.degrees(math.acos(max(-1.0, min(1.0, cos))))
        if 60 < ang < 120:
            worst = max(worst, abs(ang - 90))
    return worst


def prepare(blocks: list[Block], red: list[StreetLine], zones: list[Zone]) -> tuple[list[Parcel], list[Kiet]]:
    """The cadastre of the covered blocks: parcels numbered, addressed and shared among the zones, and their kiệt."""
    parcels, kiet = lay_out(blocks)
    _touching(parcels, red)
    number_houses(parcels, kiet)
    number_parcels(parcels)
    address(parcels, rng(8))
    legacy_codes(parcels)
    zone_shares(parcels, zones)
    return parcels, kiet
