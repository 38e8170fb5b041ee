"""Blocks split into lots the way Huế's are: a row of lots along each street (narrow and deep town lots on
commercial streets, wide villa and garden lots elsewhere), corner lots on two streets, and back lots behind the rows
reached only by a kiệt (alley) that runs between two front lots into the block.

The side boundaries of a row's lots are lines from the red line into the block, their directions turning from one
end of the row to the other with the block's shape and wandering a metre or so at the back (lots are not
rectangles); each lot is the block cut between two such lines and its own rear line. The lots of a row therefore
never overlap, and a corner belongs to one row (the other row starts behind the corner lot's depth).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import LineString, Point, Polygon
from shapely.ops import unary_union

from sample.blocks import BIG, Block, Side
from sample.frame import polygons
from sample.network import Road


@dataclass(frozen=True)
class Row:
    """How the lots along one street are cut."""

    kind: str  # town | villa | garden | new
    frontage: tuple[float, float]
    depth: tuple[float, float]
    jitter: float = 1.0  # metres the back ends of the side boundaries wander
    corner: tuple[float, float] = (10.0, 14.0)  # frontage of a corner lot on this street
    widen: float = 0.0  # metres of the old lots lying beyond today's red line (the street was widened)
    land_use: str = "ODT"


@dataclass(frozen=True)
class KietPlan:
    """Kiệt opening on ``road``, about ``spacing`` metres apart along the block (each serving the land nearer to it
    than to the next), with back lots of ``frontage`` along them."""

    road: str
    spacing: float
    frontage: tuple[float, float] = (10.0, 16.0)


@dataclass
class Layout:
    """How a block's lots are cut: the row on each street, its kiệt, and which row owns a corner."""

    rows: dict[str, Row]
    kiet: KietPlan | None = None
    first: tuple[str, ...] = ()  # which street's row owns a corner (first listed wins; else the wider street)
    back_use: str = "ODT"


@dataclass
class Kiet:
    """A kiệt (alley) from a street into a block, serving the back lots."""

    line: LineString
    road: Road
    side: Side
    width: float
    name: str = ""
    number: int = 0


@dataclass
class Lot:
    """A lot cut from a block: its shape, the street or kiệt it is reached from, and its land use."""

    poly: Polygon
    kind: str  # front | corner | back
    road: Road | None  # the street it is addressed on (None for back lots)
    row: Row | None
    side: Side | None  # the side of the block it faces (front lots)
    front_t: float = 0.0  # where its front lies (t of its side; negative: beyond the red line)
    kiet: Kiet | None = None
    kiet_at: float = 0.0  # how far along the kiệt it lies
    land_use: str = "ODT"
    roads: list[Road] = field(default_factory=list)  # every street whose red line it touches
    cut_by_red_line: float = 0.0  # m² lying in the planned street


def _halfplane(p: np.ndarray, d: np.ndarray) -> Polygon:
    """Everything to the left of the line through ``p`` in direction ``d``."""
    left = np.array([-d[1], d[0]])
    return Polygon([p - BIG * d, p + BIG * d, p + BIG * d + BIG * left, p - BIG * d + BIG * left])


def _unit(v: np.ndarray) -> np.ndarray:
    unit: np.ndarray = v / np.linalg.norm(v)
    return unit


def _rotate(v: np.ndarray, deg: float) -> np.ndarray:
    a = math.radians(deg)
    return np.array([v[0] * math.cos(a) - v[1] * math.sin(a), v[0] * math.sin(a) + v[1] * math.cos(a)])


@dataclass
class _Cut:
    s: float  # where it leaves the red line
    d: np.ndarray  # its direction into the block
    kiet: bool = False  # a kiệt runs along it (it does not wander)


def _s_at(side: Side, cut: _Cut, t: float) -> float:
    """The ``s`` of a cut line at depth ``t``."""
    de, dn = float(cut.d @ side.e), float(cut.d @ side.n)
    return cut.s + t * de / dn


def _slab(side: Side, c0: _Cut | None, c1: _Cut | None, tlo: float, thi: float) -> Polygon:
    """The part of the plane between two cut lines (None: no bound at that end), for ``tlo <= t <= thi``."""
    s0lo = _s_at(side, c0, tlo) if c0 else -BIG
    s0hi = _s_at(side, c0, thi) if c0 else -BIG
    s1lo = _s_at(side, c1, tlo) if c1 else side.length + BIG
    s1hi = _s_at(side, c1, thi) if c1 else side.length + BIG
    return Polygon([side.pt(s0lo, tlo), side.pt(s1lo, tlo), side.pt(s1hi, thi), side.pt(s0hi, thi)])


def _widths(rng: np.random.Generator, length: float, lo: float, hi: float) -> list[float]:
    """Frontages between ``lo`` and ``hi`` summing to ``length`` (equal ones when ``lo == hi``, ends absorbing the
    rest)."""
    if length < lo:
        return [length]
    if lo == hi:
        n = max(1, int(length // lo))
        if n <= 2:
            return [length / n] * n
        end = (length - (n - 2) * lo) / 2
        return [end, *([lo] * (n - 2)), end]
    n = max(1, round(length / ((lo + hi) / 2)))
    w = rng.uniform(lo, hi, n)
    return list(w * length / w.sum())


def _corner_owner(layout: Layout, a: Road, b: Road) -> Road:
    for name in layout.first:
        if name in (a.name, b.name):
            return a if a.name == name else b
    return a if a.width >= b.width else b


@dataclass
class _RowPlan:
    i: int
    side: Side
    row: Row
    dmax: float
    cuts: list[_Cut]
    start_corner: bool
    end_corner: bool
    keep_out: list[Polygon]


@dataclass
class _RowEnds:
    """Where a row's lots start and end along its side, and which of its corners it owns."""

    s_start: float
    s_end: float
    start_corner: bool = False
    end_corner: bool = False
    keep_out: list[Polygon] = field(default_factory=list)  # the corner lots of the neighbouring rows


def _plan_rows(block: Block, layout: Layout, rng: np.random.Generator) -> list[_RowPlan]:
    m = len(block.sides)
    lotted = [s.road is not None and s.road.name in layout.rows for s in block.sides]
    plans = []
    for i, side in enumerate(block.sides):
        if not lotted[i]:
            continue
        assert side.road is not None
        row = layout.rows[side.road.name]
        dmax = row.depth[1]
        prev, nxt = block.sides[(i - 1) % m], block.sides[(i + 1) % m]
        ends = _row_ends(block, layout, lotted, i)
        dir0 = _unit(-prev.e) if float(-prev.e @ side.n) > 0.2 else side.n
        dir1 = _unit(nxt.e) if float(nxt.e @ side.n) > 0.2 else side.n
        cuts, end_cut, plain = _row_cuts(side, row, ends, dir0, dir1, rng)
        kp = layout.kiet
        if kp is not None and kp.road == side.road.name:
            _mark_kiet(cuts, plain, kp, ends.start_corner, ends.s_start, ends.s_end, block, lotted, i, layout)
        if end_cut is not None:
            cuts.append(end_cut)
        _untangle(side, cuts, -row.widen - 2.0, dmax + 2.0)
        plans.append(_RowPlan(i, side, row, dmax, cuts, ends.start_corner, ends.end_corner, ends.keep_out))
    return plans


def _row_ends(block: Block, layout: Layout, lotted: list[bool], i: int) -> _RowEnds:
    """The ends of the row on side ``i``: a corner it owns, or where the neighbouring row's corner lot ends."""
    m = len(block.sides)
    side = block.sides[i]
    assert side.road is not None
    h, j = (i - 1) % m, (i + 1) % m
    ends = _RowEnds(0.0, side.length)
    for k, other, at_start in ((h, block.sides[h], True), (j, block.sides[j], False)):
        if not lotted[k] or other.road is None:
            continue
        if _corner_owner(layout, side.road, other.road) is side.road:
            if at_start:
                ends.start_corner = True
            else:
                ends.end_corner = True
            continue
        d_other = layout.rows[other.road.name].depth[1]
        ends.keep_out.append(other.band(-BIG, d_other))
        # where the other row's corner depth crosses this side
        inter = LineString([other.pt(-BIG, d_other), other.pt(other.length + BIG, d_other)]).intersection(side.line())
        if not inter.is_empty:
            s_here = side.st(np.asarray(inter.coords[0]))[0]
            if at_start:
                ends.s_start = max(ends.s_start, s_here)
            else:
                ends.s_end = min(ends.s_end, s_here)
    return ends


def _row_cuts(
    side: Side, row: Row, ends: _RowEnds, dir0: np.ndarray, dir1: np.ndarray, rng: np.random.Generator
) -> tuple[list[_Cut], _Cut | None, list[np.ndarray]]:
    """The cut lines between the row's lots (the end corner's apart, added after the kiệt are marked), and the
    directions of the plain cuts before they wander."""
    s_start, s_end = ends.s_start, ends.s_end
    cuts: list[_Cut] = []
    lo, hi = s_start, s_end
    if ends.start_corner:
        f = float(rng.uniform(*row.corner))
        s_c = f / max(float(dir0 @ side.n), 0.2)  # the corner lot's side runs parallel to the other street
        cuts.append(_Cut(s_start + s_c, dir0))
        lo = s_start + s_c
    end_cut = None
    if ends.end_corner:
        f = float(rng.uniform(*row.corner))
        s_c = f / max(float(dir1 @ side.n), 0.2)
        end_cut = _Cut(s_end - s_c, dir1)
        hi = s_end - s_c
    widths = _widths(rng, hi - lo, *row.frontage)
    pos = lo
    plain: list[np.ndarray] = []
    for w in widths[:-1]:
        pos += w
        frac = (pos - s_start) / max(s_end - s_start, 1e-9)
        d = _unit((1 - frac) * dir0 + frac * dir1)
        plain.append(d)
        if row.jitter > 0:
            d = _rotate(d, math.degrees(math.atan2(float(rng.uniform(-row.jitter, row.jitter)), row.depth[1])))
        cuts.append(_Cut(pos, d))
    return cuts, end_cut, plain


def _mark_kiet(
    cuts: list[_Cut],
    plain: list[np.ndarray],
    kp: KietPlan,
    start_corner: bool,
    s_start: float,
    s_end: float,
    block: Block,
    lotted: list[bool],
    i: int,
    layout: Layout,
) -> None:
    """The cuts the kiệt run along: evenly spaced along the land behind the row, not wandering."""
    m = len(block.sides)
    depth_of = [layout.rows[s.road.name].depth[1] if lotted[k] and s.road else 0.0 for k, s in enumerate(block.sides)]
    a, b = s_start + depth_of[(i - 1) % m], s_end - depth_of[(i + 1) % m]
    n = max(1, round((b - a) / kp.spacing))
    first = 1 if start_corner else 0
    for j in range(n):
        target = a + (2 * j + 1) / (2 * n) * (b - a)
        k = min(range(first, first + len(plain)), key=lambda k: abs(cuts[k].s - target))
        cuts[k] = _Cut(cuts[k].s, plain[k - first], kiet=True)


def _untangle(side: Side, cuts: list[_Cut], tlo: float, thi: float) -> None:
    """Straighten a cut line that would cross its neighbour within the row's depth (a kiệt's cut stays)."""
    for k in range(1, len(cuts)):
        for t in (tlo, thi):
            if _s_at(side, cuts[k], t) - _s_at(side, cuts[k - 1], t) < 1.5:
                j = k - 1 if cuts[k].kiet else k
                cuts[j] = _Cut(cuts[j].s, cuts[j].d if cuts[j].kiet else side.n, cuts[j].kiet)
                break


def _row_lots(block: Block, plan: _RowPlan, taken: Polygon | None, rng: np.random.Generator) -> list[Lot]:
    side, row = plan.side, plan.row
    region = block.poly.intersection(side.band(0.0, plan.dmax))
    if taken is not None:
        region = region.difference(taken)
    for ko in plan.keep_out:
        region = region.difference(ko)
    cuts: list[_Cut | None] = [None, *plan.cuts, None]
    widened = None
    if row.widen > 0 and plan.cuts:
        s_a = plan.cuts[0].s if plan.start_corner else 0.0
        s_b = plan.cuts[-1].s if plan.end_corner else side.length
        strip = Polygon([side.pt(s_a, -row.widen), side.pt(s_b, -row.widen), side.pt(s_b, 0), side.pt(s_a, 0)])
        widened = region.union(strip)
    lots = []
    n = len(cuts) - 1
    for k in range(n):
        c0, c1 = cuts[k], cuts[k + 1]
        corner = (k == 0 and plan.start_corner) or (k == n - 1 and plan.end_corner)
        depth = plan.dmax if corner else float(rng.uniform(*row.depth))
        base = widened if (widened is not None and not corner) else region
        tlo = -row.widen - 2.0
        slab = _slab(side, c0, c1, tlo, plan.dmax + 2.0)
        s0 = c0.s if c0 else 0.0
        s1 = c1.s if c1 else side.length
        e0, e1 = (0.0, 0.0) if corner or row.jitter == 0 else rng.uniform(-0.6, 0.6, 2)
        rear = _halfplane(side.pt(s1, depth + e1), _unit(side.pt(s0, depth + e0) - side.pt(s1, depth + e1)))
        shape = base.intersection(slab).intersection(rear)
        parts = polygons(shape)
        if not parts:
            continue
        poly = max(parts, key=lambda p: p.area)
        if poly.distance(side.line()) > 0.001:
            continue  # the front of this slab went to a lot of another row: what is left joins the core
        front_t = -row.widen if base is widened else 0.0
        lots.append(Lot(poly, "corner" if corner else "front", side.road, row, side, front_t, land_use=row.land_use))
    return lots


def _reach(block: Block, side: Side, cut: _Cut, others: list[Polygon]) -> float:
    """How far a kiệt along ``cut`` can run into the block before it meets the lots of another row."""
    start = side.pt(cut.s, 0.0)
    ray = LineString([start, start + 3000.0 * cut.d])
    inside = [
        g for g in shapely.get_parts(ray.intersection(block.poly)) if isinstance(g, LineString) and not g.is_empty
    ]
    stop = ray.project(Point(min(inside, key=lambda g: ray.project(Point(g.coords[0]))).coords[-1]))
    for other in others:
        hit = ray.intersection(other)
        if not hit.is_empty:
            stop = min(stop, min(ray.project(Point(c)) for g in shapely.get_parts(hit) for c in g.coords))
    return float(stop)


def _kiet_lines(block: Block, layout: Layout, plans: list[_RowPlan], lots: list[Lot]) -> list[Kiet]:
    """Each kiệt leaves the red line along the boundary of two front lots and runs into the core of the block,
    ending a few metres before the lots across it."""
    kp = layout.kiet
    assert kp is not None
    out: list[Kiet] = []
    for plan in plans:
        if plan.side.road is None or plan.side.road.name != kp.road:
            continue
        own = {id(lot) for lot in lots if lot.side is plan.side}
        others = [lot.poly.buffer(-0.05) for lot in lots if id(lot) not in own]
        for cut in plan.cuts:
            if not cut.kiet:
                continue
            stop = _reach(block, plan.side, cut, others)
            start = plan.side.pt(cut.s, 0.0)
            width = (2.0, 2.5, 3.0, 3.5)[len(out) % 4]
            out.append(Kiet(LineString([start, start + (stop - 4.0) * cut.d]), plan.side.road, plan.side, width))
    return out


def _back_lots(core: Polygon, kiet: list[Kiet], layout: Layout, rng: np.random.Generator) -> list[Lot]:
    """The core of a block split among its kiệt: each takes the land nearer to it than to the next, and cuts it into
    lots on both of its sides, every lot touching it."""
    out: list[Lot] = []
    kiet = sorted(kiet, key=lambda k: k.side.st(np.asarray(k.line.coords[0]))[0])
    kp = layout.kiet
    assert kp is not None
    for r, k in enumerate(kiet):
        p0 = np.asarray(k.line.coords[0])
        d = _unit(np.asarray(k.line.coords[-1]) - p0)
        band = core
        for other, keep_left in (
            (kiet[r - 1] if r > 0 else None, False),
            (kiet[r + 1] if r + 1 < len(kiet) else None, True),
        ):
            if other is None:
                continue
            q0 = np.asarray(other.line.coords[0])
            qd = _unit(np.asarray(other.line.coords[-1]) - q0)
            mid, md = (p0 + q0) / 2, _unit(d + qd)
            half = _halfplane(mid, md)
            band = band.intersection(half) if keep_left else band.difference(half)
        inside = [
            g for g in shapely.get_parts(k.line.intersection(core)) if isinstance(g, LineString) and not g.is_empty
        ]
        q_in = min((k.line.project(Point(g.coords[0])) for g in inside), default=0.0)
        q_end = k.line.length
        for left in (True, False):
            region = band.intersection(_halfplane(p0, d)) if left else band.difference(_halfplane(p0, d))
            widths = _widths(rng, max(q_end - q_in, 1.0), *kp.frontage)
            cuts = list(np.cumsum(widths)[:-1] + q_in)
            bounds = [None, *cuts, None]
            pieces = []
            for j in range(len(bounds) - 1):
                a, b = bounds[j], bounds[j + 1]
                slab = region
                across = np.array([d[1], -d[0]])  # its left is ahead along the kiệt
                if a is not None:
                    slab = slab.intersection(_halfplane(p0 + a * d, across))
                if b is not None:
                    slab = slab.difference(_halfplane(p0 + b * d, across))
                pieces.append(slab)
            for piece in pieces:
                for part in polygons(piece):
                    at = k.line.project(part.centroid)
                    out.append(Lot(part, "back", None, None, None, kiet=k, kiet_at=at, land_use=layout.back_use))
    return out


def _merge_strays(back: list[Lot], front: list[Lot]) -> list[Lot]:
    """Back lots that do not reach their kiệt or are tiny join the lot they share the longest boundary with."""
    keep = [b for b in back if b.kiet is not None and b.poly.distance(b.kiet.line) < 0.05 and b.poly.area >= 40]
    strays = [b for b in back if b not in keep]
    hosts = keep + front
    for stray in sorted(strays, key=lambda x: -x.poly.area):
        shared = sorted(
            ((stray.poly.boundary.intersection(h.poly.boundary).length, n) for n, h in enumerate(hosts)), reverse=True
        )
        for length, n in shared:
            if length < 0.5:
                break
            merged = unary_union([hosts[n].poly, stray.poly])
            if isinstance(merged, Polygon):
                hosts[n].poly = merged
                break
        else:
            raise ValueError(f"a piece of {stray.poly.area:.0f} m² at {stray.poly.centroid} joins no lot")
    return keep


def layout_block(block: Block, layout: Layout, rng: np.random.Generator) -> tuple[list[Lot], list[Kiet]]:
    """The block's lots (front and corner lots along its streets, back lots along its kiệt) and its kiệt."""
    plans = _plan_rows(block, layout, rng)
    lots: list[Lot] = []
    for plan in plans:
        taken = unary_union([lot.poly for lot in lots]) if lots else None
        lots += _row_lots(block, plan, taken, rng)
    core = block.poly.difference(unary_union([lot.poly for lot in lots]))
    # slivers a micrometre wide between neighbouring lots are no land: an opening of 1 cm takes them out
    core = core.buffer(-0.01, join_style="mitre").buffer(0.01, join_style="mitre")
    core_parts = [p for p in polygons(core) if p.area > 1.0]
    kiet: list[Kiet] = []
    if layout.kiet and core_parts:
        kiet = _kiet_lines(block, layout, plans, lots)
        lots += _merge_strays(_back_lots(unary_union(core_parts), kiet, layout, rng), lots)
    else:
        _absorb(lots, core_parts)
    return lots, kiet


def _absorb(lots: list[Lot], pieces: list[Polygon]) -> None:
    """Land left behind the rows of a block without kiệt goes to the lot it shares the longest boundary with."""
    for piece in pieces:
        if piece.area < 1.0:
            continue
        shared = [(piece.boundary.intersection(lot.poly.boundary).length, n) for n, lot in enumerate(lots)]
        length, n = max(shared)
        if length > 0.5:
            merged = unary_union([lots[n].poly, piece])
            if isinstance(merged, Polygon):
                lots[n].poly = merged
