"""What may be built on a lot: the buildable ground area, the largest footprint, the 3D envelope and its capacity.

The envelope is computed from the very rules the permit check applies (:mod:`gis_service.rules.limits`,
:mod:`gis_service.rules.roads`, :mod:`gis_service.rules.footprint`): a proposal that fills the largest footprint, at
the floors, height and floor area it gives, is what the check calls compliant (tests sweep every sample parcel).

* **Buildable area**: the lot less road land (the part inside a red line), less each road's setback (the band in
  front of the road's building line, or within the zone's setback or QCVN Table 2.7's distance of the red line), in
  the zones whose land use allows the building's use and that allow building at all.
* **Largest footprint**: in each zone, the buildable area cut back from the lot's fronts until it meets the density
  limit (the smaller of the plan's and QCVN's).
* **Capacity**: footprint (m²), floors, height (m), floor area (m², by the FAR), the minimum ground level, each with
  the rule, basis and legal source that bounds it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from gis_service.rules.footprint import SLIVER_M2, Placement, ZonePart, lot_parts, place
from gis_service.rules.limits import QCVN, STOREY_M, Limit, density_limit, qcvn_setback, setback_requirement, zone_limit
from gis_service.rules.roads import EMPTY, Road, Roads, polygonal, roads_of, solid_parts
from gis_service.rules.site import Site, Zone
from gis_service.rules.tables import UseCategory, qcvn_tables
from gis_service.rules.uses import resolve_use

__all__ = ["Capacity", "Envelope", "envelope_of"]

#: The largest footprint is cut back this far below the density limit (a share of it, and at least some m²), so that
#: its figures, sent in lon/lat rounded to 1e-9 degree and shown to 0.01 %, never exceed the limit, also in a zone
#: that holds only a few m² of the lot.
_DENSITY_MARGIN = 1e-4
_DENSITY_MARGIN_M2 = 0.005
_BUFFER = {"cap_style": "square", "join_style": "mitre", "mitre_limit": 10.0}


@dataclass(frozen=True)
class Capacity:
    """One number of the envelope and what bounds it."""

    value: float | None
    unit: str
    rule: str
    limit: Limit

    def as_dict(self) -> dict[str, Any]:
        """The figure with its rule and limit, as JSON."""
        limit = self.limit.as_dict()
        limit["limit"] = limit.pop("value")
        return {"value": self.value, "unit": self.unit, "rule": self.rule, **limit}


@dataclass
class Envelope:
    """A lot's buildable envelope (geometry in EPSG:9214)."""

    site: Site
    roads: Roads
    use: str
    category: str | None
    status: str  # buildable | not_buildable | needs_review
    buildable: BaseGeometry
    footprint: BaseGeometry
    placement: Placement | None
    capacity: dict[str, Capacity]
    parts: list[dict[str, Any]]
    notes_vi: list[str] = field(default_factory=list)
    notes_en: list[str] = field(default_factory=list)
    fronts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def net_lot(self) -> BaseGeometry:
        """The lot less road land."""
        return self.roads.net_lot


def _floor2(value: float) -> float:
    """Round down to 0.01 (a capacity never exceeds the limit it was derived from)."""
    return math.floor(value * 100 + 1e-9) / 100


def _allowed(zone: Zone, codes: tuple[str, ...]) -> bool:
    tables = qcvn_tables()
    allowed = {zone.land_use_code, *zone.allowed_uses} | tables.group_members.get(zone.land_use_code, frozenset())
    return bool(allowed & set(codes))


def _band(road: Road, zone: Zone, height: float | None) -> tuple[BaseGeometry, str, Limit | None]:
    """The strip of a road's front that a zone's buildings must keep free, and the rule that sets it."""
    if road.bl is not None and road.bl_road_side is not None:
        band = road.bl_road_side
        rule = "building_line"
        qcvn, _missing = qcvn_setback(road, height)
        if qcvn is not None and qcvn > (road.bl_setback_m or 0.0):
            band = shapely.union(band, shapely.buffer(road.red, qcvn, **_BUFFER))
            rule = "red_line_setback"
        return band, rule, None
    limit, _missing = setback_requirement(road, zone, height)
    if limit.value is None or limit.value <= 0:
        return EMPTY, "red_line_setback", limit
    return shapely.buffer(road.red, limit.value, **_BUFFER), "red_line_setback", limit


def _trim(region: BaseGeometry, target: float, anchor: BaseGeometry) -> BaseGeometry:
    """The part of ``region`` within some distance of ``anchor`` whose area is ``target`` (just under).

    The distance is found by regula falsi (Illinois), starting from the region's nearest and farthest corners: the
    area grows about linearly with it (exactly, for a lot's rectangle behind a straight front), so it takes few cuts.
    """
    area = float(shapely.area(region))
    if area <= target:
        return region
    if target <= 0:
        return EMPTY
    corners = shapely.distance(shapely.points(shapely.get_coordinates(region)), anchor)
    lo, hi = float(shapely.distance(region, anchor)), float(corners.max()) + 0.01
    a_lo, a_hi = 0.0, area
    best, side = EMPTY, 0
    for _ in range(40):
        t = lo + (hi - lo) * (target - a_lo) / (a_hi - a_lo)
        cut = polygonal(shapely.intersection(region, shapely.buffer(anchor, t, quad_segs=4)))
        a = float(shapely.area(cut))
        if a <= target:
            lo, a_lo, best = t, a, cut
            if target - a <= max(0.01, target * 1e-4):
                break
            if side == -1:  # Illinois: the other end stayed twice, halve its excess
                a_hi = target + (a_hi - target) / 2
            side = -1
        else:
            hi, a_hi = t, a
            if side == 1:
                a_lo = target - (target - a_lo) / 2
            side = 1
    return best


def envelope_of(site: Site, *, use: str | None = None) -> Envelope:
    """The buildable envelope of the site's lot for a use (a land-use code or category; default: the main zone's)."""
    roads = roads_of(site)
    # a zone holding a sliver of the lot (under 1 m²: the noise of a plan's lines) is no place to build
    parts = [p for p in lot_parts(site, roads) if p.lot_m2 >= SLIVER_M2]
    notes_vi: list[str] = []
    notes_en: list[str] = []
    if not parts:
        return _empty(
            site,
            roads,
            use or "",
            "needs_review",
            ["Quy hoạch không có số liệu tại lô đất này."],
            ["The plan has no data on this lot."],
        )
    main = max(parts, key=lambda p: (p.lot_m2, -p.zone.id))
    codes, category_id = resolve_use(use or main.zone.land_use_code)
    category = qcvn_tables().categories.get(category_id or "")
    use_label = use or main.zone.land_use_code
    building_parts = _building_parts(parts, codes, use_label, notes_vi, notes_en)
    if not building_parts:
        return _empty(site, roads, use_label, "not_buildable", notes_vi, notes_en)
    fronts = roads.fronts
    anchor = shapely.union_all([r.red for r in fronts]) if fronts else _back_anchor(site, roads.net_lot)
    layout = _Layout(site, roads, building_parts, anchor, category)
    height, floors = _lay_out(layout, *_height_and_floors(building_parts))
    buildable = solid_parts(shapely.union_all(layout.buildable_parts))
    capacity = _capacity(layout.placement, layout.density_caps, floors, height, building_parts)
    status = _status(layout.footprint, buildable, capacity, notes_vi, notes_en)
    if not fronts and not site.alleys and status == "buildable":
        status = "needs_review"
        notes_vi.append(
            "Lô đất không tiếp giáp đường quy hoạch nào và không có kiệt trong dữ liệu: cần xem lối tiếp cận."
        )
        notes_en.append("The lot faces no planned road and no alley is recorded beside it: its access needs review.")
    return Envelope(
        site=site,
        roads=roads,
        use=use_label,
        category=category_id,
        status=status,
        buildable=buildable,
        footprint=layout.footprint,
        placement=layout.placement,
        capacity=capacity,
        parts=layout.part_info,
        notes_vi=notes_vi,
        notes_en=notes_en,
        fronts=[_front(r, layout.table_height) for r in fronts],
    )


def _building_parts(
    parts: list[ZonePart], codes: tuple[str, ...], use_label: str, notes_vi: list[str], notes_en: list[str]
) -> list[ZonePart]:
    """The lot's parts in zones that allow the use and allow building at all (a note for each other one)."""
    building_parts: list[ZonePart] = []
    for p in parts:
        z = p.zone
        if not _allowed(z, codes):
            notes_vi.append(f"Phần lô đất trong ô {z.label} ({z.land_use_code}) không dành cho {use_label}.")
            notes_en.append(f"The part of the lot in zone {z.label} ({z.land_use_code}) is not for {use_label}.")
            continue
        if z.max_floors == 0 or z.max_height_m == 0:
            notes_vi.append(f"Ô {z.label} không cho phép xây dựng mới ({z.heritage_zone or z.land_use_code}).")
            notes_en.append(f"Zone {z.label} allows no new building ({z.heritage_zone or z.land_use_code}).")
            continue
        building_parts.append(p)
    return building_parts


def _height_and_floors(parts: tuple[ZonePart, ...] | list[ZonePart]) -> tuple[Limit, Limit]:
    """The binding height and floors of the zones of ``parts``."""
    height = _min_limit([zone_limit(p.zone, "max_height_m") for p in parts])
    floors = _min_limit([zone_limit(p.zone, "max_floors") for p in parts])
    return height, floors


def _lay_out(layout: _Layout, height: Limit, floors: Limit) -> tuple[Limit, Limit]:
    """Lay the footprint out; the height and floors that bound it are those of the zones it stands in."""
    layout.run(height, floors)
    if layout.placement is None or not layout.placement.parts:
        return height, floors
    # a zone whose buildable part the setbacks took whole bounds nothing. Where that raises the height, QCVN's
    # height tables are read again for it.
    height2, floors2 = _height_and_floors(layout.placement.parts)
    if (height2.value, floors2.value) == (height.value, floors.value):
        return height, floors
    layout.run(height2, floors2)
    if layout.placement is not None and layout.placement.parts:
        return _height_and_floors(layout.placement.parts)
    return height, floors


def _status(
    footprint: BaseGeometry,
    buildable: BaseGeometry,
    capacity: dict[str, Capacity],
    notes_vi: list[str],
    notes_en: list[str],
) -> str:
    """``buildable``, ``not_buildable`` (with a note saying why) or ``needs_review`` (a figure not settled)."""
    if footprint.is_empty or float(shapely.area(footprint)) < 1.0:
        if float(shapely.area(buildable)) >= 1.0:
            notes_vi.append("Mật độ xây dựng tối đa của quy hoạch tại đây không cho phép diện tích xây dựng nào.")
            notes_en.append("The plan's largest building density here allows no footprint at all.")
        else:
            notes_vi.append("Sau khi trừ phần đất dành cho đường và khoảng lùi, không còn diện tích xây dựng.")
            notes_en.append("Once road land and setbacks are taken off, no buildable area is left.")
        return "not_buildable"
    if any(not c.limit.settled and c.limit.basis != "no_limit" for c in capacity.values()):
        return "needs_review"
    return "buildable"


class _Layout:
    """The buildable area and largest footprint of each zone of a lot, for a building of a given height."""

    def __init__(
        self, site: Site, roads: Roads, parts: list[ZonePart], anchor: BaseGeometry, category: UseCategory | None
    ) -> None:
        self.site, self.roads, self.parts, self.anchor, self.category = site, roads, parts, anchor, category
        self.net = roads.net_lot
        self.net_area = float(shapely.area(self.net))
        self.buildable_parts: list[BaseGeometry] = []
        self.footprint: BaseGeometry = EMPTY
        self.placement: Placement | None = None
        self.part_info: list[dict[str, Any]] = []
        self.density_caps: list[tuple[ZonePart, Limit]] = []
        self.table_height: float | None = None  # the height QCVN's tables were read for

    def run(self, height: Limit, floors: Limit) -> None:
        h = height.value if height.value is not None else (None if floors.value is None else floors.value * STOREY_M)
        self.table_height = h
        self.buildable_parts, footprints, self.part_info, self.density_caps = [], [], [], []
        for p in self.parts:
            area = polygonal(shapely.intersection(p.area, self.net))
            for road in self.roads.fronts:
                band, _rule, _lim = _band(road, p.zone, h)
                if not band.is_empty:
                    area = polygonal(shapely.difference(area, band))
            area = solid_parts(area)
            dens, _missing = density_limit(
                p.zone,
                category=self.category,
                lot_area_m2=self.net_area,
                height_m=h,
                floors=None if floors.value is None else int(floors.value),
            )
            self.density_caps.append((p, dens))
            cap = None
            if dens.value is not None:
                full = dens.value / 100 * p.lot_m2
                cap = max(0.0, full - max(full * _DENSITY_MARGIN, _DENSITY_MARGIN_M2))
            fp = area if cap is None else _trim(area, cap, self.anchor)
            self.buildable_parts.append(area)
            footprints.append(fp)
            self.part_info.append(
                {
                    "zone_id": p.zone.id,
                    "zone_code": p.zone.zone_code,
                    "land_use_code": p.zone.land_use_code,
                    "lot_m2": round(p.lot_m2, 2),
                    "buildable_m2": round(float(shapely.area(area)), 2),
                    "footprint_m2": _floor2(float(shapely.area(fp))),
                    "height_m": p.zone.max_height_m,
                    "floors": p.zone.max_floors,
                    "density": dens.as_dict(),
                }
            )
        self.footprint = solid_parts(shapely.union_all(footprints))
        self.placement = place(self.site, self.roads, self.footprint) if not self.footprint.is_empty else None


def _back_anchor(site: Site, net: BaseGeometry) -> BaseGeometry:
    """Where a back lot's footprint starts: the alley that serves it, else the lot's inner point."""
    if site.alleys:
        return shapely.union_all([a.geom for a in site.alleys])
    return shapely.point_on_surface(net)


def _min_limit(limits: list[Limit]) -> Limit:
    """The binding one of several zones' limits (settled values first; an unknown one leaves it open to review)."""
    known = [lim for lim in limits if lim.value is not None]
    if known:
        best = min(known, key=lambda lim: lim.value)  # type: ignore[arg-type,return-value]
        unknown = [lim for lim in limits if lim.value is None and lim.basis != "no_limit"]
        if unknown:
            return Limit(best.value, unknown[0].basis, best.source, unknown[0].confidence)
        return best
    return next((lim for lim in limits if lim.basis != "no_limit"), limits[0])


def _capacity(
    placement: Placement | None,
    density_caps: list[tuple[ZonePart, Limit]],
    floors: Limit,
    height: Limit,
    building_parts: list[ZonePart],
) -> dict[str, Capacity]:
    """The envelope's figures, each with the limit that bounds it."""
    fp_area = 0.0 if placement is None else _floor2(placement.area_m2)
    dens = _min_limit([lim for _p, lim in density_caps]) if density_caps else Limit(None, "no_data", "")
    out = {
        "footprint_m2": Capacity(fp_area, "m²", "density", dens),
        "floors": Capacity(floors.value, "floors", "floors", floors),
        "height_m": Capacity(height.value, "m", "height", height),
        "floor_area_m2": _floor_area(placement, fp_area, floors),
    }
    stood = [p.zone for p in placement.parts] if placement is not None else [p.zone for p in building_parts]
    least = [zone_limit(z, "min_floors") for z in stood if z.min_floors is not None and not z.scanned]
    if least:  # some zones ask for a least number of floors (a street front kept continuous)
        most = max(least, key=lambda f: f.value)  # type: ignore[arg-type,return-value]
        out["min_floors"] = Capacity(most.value, "floors", "floors", most)
    grounds = [zone_limit(p.zone, "min_ground_elev_m") for p in building_parts]
    known = [g for g in grounds if g.value is not None]
    if known:
        top = max(known, key=lambda g: g.value)  # type: ignore[arg-type,return-value]
        out["min_ground_elev_m"] = Capacity(top.value, "m", "ground_elevation", top)
    return out


def _far_caps(placement: Placement) -> tuple[list[tuple[float, Limit]], Limit | None]:
    """The floor area each zone's FAR allows the whole building, and the last zone whose FAR is unknown."""
    far_caps: list[tuple[float, Limit]] = []
    unknown: Limit | None = None
    for part in placement.parts:
        lim = zone_limit(part.zone, "max_far")
        share = placement.share(part)
        if lim.value is None or not share:
            if lim.basis != "no_limit":
                unknown = lim
            continue
        far_caps.append((lim.value * part.lot_m2 / share, lim))
    return far_caps, unknown


def _floor_area(placement: Placement | None, fp_area: float, floors: Limit) -> Capacity:
    """The floor area the FAR allows: each zone's share of the footprint takes that share of the floor area."""
    far_caps, unknown = _far_caps(placement) if placement is not None else ([], None)
    if far_caps:
        value, lim = min(far_caps, key=lambda c: c[0])
        if unknown is not None:
            lim = Limit(lim.value, unknown.basis, lim.source, unknown.confidence)
        return Capacity(_floor2(value), "m²", "far", lim)
    if unknown is not None:
        return Capacity(None, "m²", "far", unknown)
    if floors.value is not None:
        return Capacity(_floor2(fp_area * floors.value), "m²", "floors", floors)
    return Capacity(None, "m²", "far", Limit(None, "no_limit", floors.source))


def _front(road: Road, height: float | None) -> dict[str, Any]:
    qcvn, _missing = qcvn_setback(road, height)
    ref = road.ref()
    governs = road.bl is not None and (qcvn or 0) <= (road.bl_setback_m or 0)
    return {
        "road_name": ref.pop("name"),
        **ref,
        "qcvn_setback_m": qcvn,
        "rule": "building_line" if governs else "red_line_setback",
        "source": "chỉ giới xây dựng" if road.bl is not None else f"{QCVN} Bảng 2.7",
    }


def _empty(site: Site, roads: Roads, use: str, status: str, vi: list[str], en: list[str]) -> Envelope:
    return Envelope(
        site=site,
        roads=roads,
        use=use,
        category=None,
        status=status,
        buildable=EMPTY,
        footprint=EMPTY,
        placement=None,
        capacity={},
        parts=[],
        notes_vi=vi,
        notes_en=en,
        fronts=[],
    )
