"""The permit check's rules, evaluated on a footprint placed on its site.

Each rule answers ``pass``, ``fail``, ``needs_review`` (the data cannot settle it: an officer must look, and the
message says at what), ``not_applicable`` or ``officer_judgement`` (architecture and heritage appearance: listed for
the officer, never passed or failed), with the measured value, the limit and its basis, its legal source, what it
measured against (zone, road) and a sentence in Vietnamese and English. Zone rules answer once per zone the footprint
stands in, road rules once per road the lot faces. Values are rounded to what is shown (m to the mm, % and m² to
0.01) before they are compared, so the answer never contradicts the figures printed next to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import shapely
from shapely.geometry.base import BaseGeometry

from gis_service.rules.footprint import Placement, ZonePart
from gis_service.rules.limits import (
    QCVN,
    Limit,
    density_limit,
    plan_source,
    qcvn_setback,
    setback_requirement,
    zone_limit,
)
from gis_service.rules.result import RuleResult, Status
from gis_service.rules.roads import MIN_AREA_M2, Road, Roads, solid_parts
from gis_service.rules.site import Site
from gis_service.rules.tables import qcvn_tables

if TYPE_CHECKING:
    from gis_service.permits.model import Proposal

__all__ = ["LINE_TOLERANCE_M", "RULE_IDS", "evaluate"]

RULE_IDS = (
    "land_use",
    "inside_lot",
    "building_line",
    "red_line_setback",
    "access",
    "density",
    "floors",
    "height",
    "far",
    "ground_elevation",
    "frontage",
    "lot_area",
    "architecture",
    "heritage_appearance",
)
#: Part of a footprint outside its lot (m²) still taken as digitising noise.
OUTSIDE_LOT_TOLERANCE_M2 = 0.01
#: A footprint may stand on a line; beyond this it crosses it (m).
LINE_TOLERANCE_M = 0.001
#: Features of a footprint's part in a zone thinner than twice this are noise of the zone edge (m).
OPENING_M = 0.0005
_BASIS_VI = {"no_data": "quy hoạch không có số liệu", "scanned_draft": "số liệu đọc từ bản đồ quét (bản nháp)"}
_BASIS_EN = {"no_data": "the plan has no data", "scanned_draft": "the value is read from a scanned map (a draft)"}


def _r(value: float | None, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)


def _zone_ref(part: ZonePart, fp_area: float) -> dict[str, Any]:
    z = part.zone
    return {
        "id": z.id,
        "zone_code": z.zone_code,
        "land_use_code": z.land_use_code,
        "share_of_footprint_pct": round(100 * part.fp_m2 / fp_area, 2) if fp_area else None,
        "plan_code": z.plan.code,
        "plan_version": z.plan.version,
    }


def _line_source(site: Site, road: Road, what_vi: str) -> str:
    plan = site.plans.get(road.red_line.plan_id)
    name = f" đường {road.name}" if road.name else ""
    if plan is None:
        return f"{what_vi}{name}"
    decision = f"QĐ {plan.decision_no}, " if plan.decision_no else ""
    return f"{what_vi}{name}, {decision}{plan.code} v{plan.version}"


def _max_distance(part: shapely.Geometry, line: shapely.Geometry) -> float:
    """How far the farthest corner of ``part`` lies from ``line`` (m)."""
    coords = shapely.get_coordinates(part)
    if len(coords) == 0:
        return 0.0
    return float(shapely.distance(shapely.points(coords), line).max())


class _Check:
    def __init__(self, proposal: Proposal, site: Site, roads: Roads, placed: Placement) -> None:
        self.p = proposal
        self.req = proposal.request
        self.site = site
        self.roads = roads
        self.placed = placed
        self.tables = qcvn_tables()
        self.cat = self.tables.categories.get(proposal.category or "")
        self.net_area = float(shapely.area(roads.net_lot))
        self.out: list[RuleResult] = []

    def add(
        self,
        rid: str,
        status: Status,
        value: Any,
        limit: Any,
        unit: str | None,
        source: str,
        vi: str,
        en: str,
        *,
        part: ZonePart | None = None,
        road: Road | None = None,
        basis: str | None = None,
        confidence: float | None = None,
    ) -> None:
        zone = None if part is None else _zone_ref(part, self.placed.area_m2)
        ref = None if road is None else road.ref()
        self.out.append(RuleResult(rid, status, value, limit, unit, source, vi, en, zone, ref, basis, confidence))

    def parts(self) -> tuple[ZonePart | None, ...]:
        return self.placed.parts or (None,)

    # -- the lot and its roads -----------------------------------------------------------------------------------
    def land_use(self) -> None:
        use = " ".join(self.p.use_codes)
        if not self.placed.parts:
            self.add(
                "land_use",
                "needs_review",
                use,
                None,
                None,
                "quy hoạch đã phê duyệt",
                "Quy hoạch không có số liệu tại vị trí công trình (không có ô quy hoạch đã phê duyệt): cán bộ cần "
                "kiểm tra.",
                "The plan has no data at the footprint (no zone of an approved plan): an officer must check.",
                basis="no_data",
            )
            return
        for part in self.placed.parts:
            z = part.zone
            allowed = {z.land_use_code, *z.allowed_uses}
            allowed |= self.tables.group_members.get(z.land_use_code, frozenset())
            ok = bool(allowed & set(self.p.use_codes))
            limit = " ".join(sorted(allowed))
            lim = zone_limit(z, "max_floors")  # only its source and confidence are used here
            if z.scanned:
                self.add(
                    "land_use",
                    "needs_review",
                    use,
                    limit,
                    None,
                    lim.source,
                    f"Ô {z.label} đọc từ bản đồ quét (độ tin cậy {lim.confidence}): chức năng {z.land_use_code} "
                    f"{'phù hợp' if ok else 'không phù hợp'} với {use}; cán bộ cần đối chiếu bản đồ gốc.",
                    f"Zone {z.label} is read from a scanned map (confidence {lim.confidence}): its use "
                    f"{z.land_use_code} {'fits' if ok else 'does not fit'} {use}; an officer must check the original.",
                    part=part,
                    basis="scanned_draft",
                    confidence=lim.confidence,
                )
            elif ok:
                self.add(
                    "land_use",
                    "pass",
                    use,
                    limit,
                    None,
                    plan_source(z),
                    f"Mục đích sử dụng {use} phù hợp ô {z.label} ({z.land_use_code}).",
                    f"Use {use} is allowed in zone {z.label} ({z.land_use_code}).",
                    part=part,
                    basis="plan",
                )
            else:
                self.add(
                    "land_use",
                    "fail",
                    use,
                    limit,
                    None,
                    plan_source(z),
                    f"Mục đích sử dụng {use} không phù hợp ô {z.label}, nơi quy hoạch cho phép {limit}.",
                    f"Use {use} is not allowed in zone {z.label}, planned for {limit}.",
                    part=part,
                    basis="plan",
                )
        outside = _r(self.placed.outside_zones_m2, 2) or 0.0
        if outside > OUTSIDE_LOT_TOLERANCE_M2:
            self.add(
                "land_use",
                "needs_review",
                outside,
                0,
                "m²",
                "quy hoạch đã phê duyệt",
                f"{outside} m² của công trình nằm ngoài mọi ô quy hoạch đã phê duyệt (không có số liệu).",
                f"{outside} m² of the footprint lies outside every zone of an approved plan (no data).",
                basis="no_data",
            )

    def inside_lot(self) -> None:
        outside = _r(self.placed.outside_lot_m2, 2) or 0.0
        src = f"{QCVN} §2.6 (công trình trong ranh giới lô đất)"
        if outside > OUTSIDE_LOT_TOLERANCE_M2:
            self.add(
                "inside_lot",
                "fail",
                outside,
                0,
                "m²",
                src,
                f"{outside} m² của công trình nằm ngoài ranh giới lô đất.",
                f"{outside} m² of the footprint lies outside the lot.",
            )
        else:
            self.add(
                "inside_lot",
                "pass",
                outside,
                0,
                "m²",
                src,
                "Công trình nằm trong ranh giới lô đất.",
                "The footprint lies inside the lot.",
            )

    def _in_road(self, road: Road) -> float:
        """How far the footprint reaches past the road's red line into road land (m; 0 when it does not)."""
        inside = shapely.intersection(self.placed.geom, road.road_side)
        if shapely.area(inside) < MIN_AREA_M2:
            return 0.0
        return _max_distance(inside, road.red)

    def building_line(self, road: Road) -> None:
        assert road.bl is not None and road.bl_road_side is not None
        src = _line_source(self.site, road, "Chỉ giới xây dựng")
        name = road.name or "đường"
        # the part already in road land is the red line's rule: here, what crosses the building line on the lot
        on_lot = shapely.difference(self.placed.geom, road.road_side)
        ahead = shapely.intersection(on_lot, road.bl_road_side)
        protrudes = _r(_max_distance(ahead, road.bl), 3) if shapely.area(ahead) >= MIN_AREA_M2 else 0.0
        assert protrudes is not None
        if protrudes > LINE_TOLERANCE_M:
            self.add(
                "building_line",
                "fail",
                -protrudes,
                0,
                "m",
                src,
                f"Công trình vượt quá chỉ giới xây dựng đường {name} {protrudes} m.",
                f"The footprint crosses the building line of {name} by {protrudes} m.",
                road=road,
                basis="plan",
            )
            return
        behind = _r(shapely.distance(on_lot, road.bl), 3) if not on_lot.is_empty else None
        self.add(
            "building_line",
            "pass",
            behind,
            0,
            "m",
            src,
            f"Công trình nằm sau chỉ giới xây dựng đường {name} ({behind} m; khoảng lùi {road.bl_setback_m:g} m).",
            f"The footprint stands behind the building line of {name} ({behind} m; setback {road.bl_setback_m:g} m).",
            road=road,
            basis="plan",
        )

    def red_line_setback(self, road: Road) -> None:
        name = road.name or "đường"
        in_road = _r(self._in_road(road), 3) or 0.0
        src = _line_source(self.site, road, "Chỉ giới đường đỏ")
        if in_road > LINE_TOLERANCE_M:
            self.add(
                "red_line_setback",
                "fail",
                -in_road,
                0,
                "m",
                src,
                f"Công trình lấn qua chỉ giới đường đỏ đường {name} {in_road} m vào phần đất dành cho đường.",
                f"The footprint crosses the red line of {name} by {in_road} m into the road reservation.",
                road=road,
                basis="plan",
            )
            return
        height = self.req.height_m
        if road.bl is not None:
            # the plan's building line governs this road; QCVN Table 2.7 may still ask more of a tall building
            qcvn, _missing = qcvn_setback(road, height)
            if qcvn is None or qcvn <= (road.bl_setback_m or 0.0):
                return
            parts: tuple[ZonePart | None, ...] = (None,)
        else:
            parts = self.parts()
        for part in parts:
            dist = _r(shapely.distance(self._in_zone(part), road.red), 3)
            if part is None:
                value, _m = qcvn_setback(road, height)
                assert value is not None and height is not None and road.width_m is not None
                limit = Limit(value, "qcvn", f"{QCVN} Bảng 2.7 (đường {road.width_m:g} m, cao {height:g} m)")
                missing = None
            else:
                limit, missing = setback_requirement(road, part.zone, height)
            self._setback_answer(road, part, dist, limit, missing)

    def _in_zone(self, part: ZonePart | None) -> BaseGeometry:
        """The footprint's area in a zone, without the edges and hair-thin tails it only shares with the next zone."""
        if part is None or len(self.placed.parts) == 1:
            return self.placed.geom
        inside = solid_parts(shapely.intersection(self.placed.geom, part.area))
        opened = shapely.buffer(shapely.buffer(inside, -OPENING_M, join_style="mitre"), OPENING_M, join_style="mitre")
        return opened if not opened.is_empty else inside

    def _setback_answer(
        self, road: Road, part: ZonePart | None, dist: float | None, limit: Limit, missing: str | None
    ) -> None:
        name = road.name or "đường"
        if limit.value is None:
            if limit.basis == "no_limit":
                self.add(
                    "red_line_setback",
                    "pass",
                    dist,
                    None,
                    "m",
                    limit.source,
                    f"Quy hoạch không giới hạn khoảng lùi theo đường {name} ({dist} m).",
                    f"The plan sets no setback from {name} ({dist} m).",
                    part=part,
                    road=road,
                    basis="no_limit",
                )
                return
            need_vi = {"height_m": "chiều cao công trình", "road_width_m": "lộ giới đường"}.get(missing or "", "")
            need_en = {"height_m": "the building height", "road_width_m": "the road width"}.get(missing or "", "")
            self.add(
                "red_line_setback",
                "needs_review",
                dist,
                None,
                "m",
                f"{QCVN} Bảng 2.7",
                f"Quy hoạch không có số liệu khoảng lùi theo đường {name} và thiếu {need_vi} để tra Bảng 2.7: cán bộ "
                "cần kiểm tra.",
                f"The plan has no setback from {name} and {need_en} is missing for Table 2.7: an officer must check.",
                part=part,
                road=road,
                basis="no_data",
            )
            return
        assert dist is not None
        ok = dist >= limit.value
        status: Status = "pass" if ok else "fail"
        if not limit.settled:
            status = "needs_review"
        sign = "≥" if ok else "<"
        self.add(
            "red_line_setback",
            status,
            dist,
            limit.value,
            "m",
            limit.source,
            f"Khoảng lùi so với chỉ giới đường đỏ đường {name} {dist} m {sign} {limit.value:g} m yêu cầu."
            + self._basis_note_vi(limit),
            f"Setback from the red line of {name} {dist} m {sign} the required {limit.value:g} m."
            + self._basis_note_en(limit),
            part=part,
            road=road,
            basis=limit.basis,
            confidence=limit.confidence,
        )

    @staticmethod
    def _basis_note_vi(limit: Limit) -> str:
        if limit.basis == "scanned_draft":
            return f" Số liệu đọc từ bản đồ quét (độ tin cậy {limit.confidence}): cán bộ cần đối chiếu bản gốc."
        return ""

    @staticmethod
    def _basis_note_en(limit: Limit) -> str:
        if limit.basis == "scanned_draft":
            return f" The value is read from a scanned map (confidence {limit.confidence}): an officer must confirm."
        return ""

    def road_rules(self) -> None:
        fronts = self.roads.fronts
        for road in fronts:
            if road.bl is not None:
                self.building_line(road)
            self.red_line_setback(road)
        for road in self.roads.roads:  # a road the lot does not face may still be crossed
            if not road.faces and self._in_road(road) > LINE_TOLERANCE_M:
                self.red_line_setback(road)

    def access(self) -> None:
        src = f"{QCVN} §2.6 (tiếp cận giao thông)"
        fronts = self.roads.fronts
        if fronts:
            names = ", ".join(r.name or f"#{r.red_line.id}" for r in fronts)
            self.add(
                "access",
                "pass",
                names,
                None,
                None,
                src,
                f"Lô đất tiếp giáp đường quy hoạch: {names}.",
                f"The lot faces a planned road: {names}.",
                road=fronts[0],
                basis="plan",
            )
            return
        alleys = sorted(self.site.alleys, key=lambda a: (shapely.distance(a.geom, self.site.lot), a.id))
        if alleys:
            a = alleys[0]
            width = "" if a.width_m is None else f" ({a.width_m:g} m)"
            name = a.name or f"kiệt #{a.id}"
            self.add(
                "access",
                "pass",
                a.width_m,
                None,
                "m",
                src,
                f"Lô đất phía sau, tiếp cận qua {name}{width}; không xét bề rộng mặt tiền theo đường quy hoạch.",
                f"A back lot reached by the alley {name}{width}; the road-frontage rule does not apply.",
                basis="plan",
            )
            return
        self.add(
            "access",
            "needs_review",
            None,
            None,
            None,
            src,
            "Lô đất không tiếp giáp đường quy hoạch nào và không có kiệt trong dữ liệu: cán bộ cần kiểm tra lối "
            "tiếp cận.",
            "The lot faces no planned road and no alley is recorded beside it: an officer must check its access.",
            basis="no_data",
        )

    # -- zone rules ----------------------------------------------------------------------------------------------
    def density(self) -> None:
        for part in self.parts():
            if part is None:
                value = _r(100 * self.placed.area_m2 / self.net_area, 2) if self.net_area else None
                self.add(
                    "density",
                    "needs_review",
                    value,
                    None,
                    "%",
                    "quy hoạch đã phê duyệt",
                    f"Mật độ xây dựng {value}%: quy hoạch không có số liệu tại đây, cán bộ cần kiểm tra.",
                    f"Building density {value}%: the plan has no data here; an officer must check.",
                    basis="no_data",
                )
                continue
            value = _r(100 * part.fp_m2 / part.lot_m2, 2) if part.lot_m2 else None
            limit, missing = density_limit(
                part.zone,
                category=self.cat,
                lot_area_m2=self.net_area,
                height_m=self.req.height_m,
                floors=self.req.floors,
            )
            self._compare("density", part, value, limit, "%", "mật độ xây dựng", "building density", missing)

    def _compare(
        self,
        rid: str,
        part: ZonePart | None,
        value: float | None,
        limit: Limit,
        unit: str,
        what_vi: str,
        what_en: str,
        missing_input: str | None,
        minimum: float | None = None,
    ) -> None:
        shown = value if unit != "floors" or value is None else int(value)
        bound = None if limit.value is None else (round(limit.value, 2) if unit != "floors" else int(limit.value))
        common = {"part": part, "basis": limit.basis, "confidence": limit.confidence}
        if value is None:
            self.add(
                rid,
                "needs_review",
                None,
                bound,
                unit,
                limit.source,
                f"Thiếu {what_vi} trong hồ sơ ({missing_input}): cán bộ cần kiểm tra.",
                f"The proposal gives no {what_en} ({missing_input}): an officer must check.",
                **common,  # type: ignore[arg-type]
            )
            return
        if bound is None:
            if limit.basis == "no_limit":
                self.add(
                    rid,
                    "pass",
                    shown,
                    None,
                    unit,
                    limit.source,
                    f"Quy hoạch không giới hạn {what_vi} cho ô này ({shown:g}).",
                    f"The plan sets no limit on {what_en} in this zone ({shown:g}).",
                    **common,  # type: ignore[arg-type]
                )
                return
            why_vi = _BASIS_VI.get(limit.basis, "quy hoạch không có số liệu")
            why_en = _BASIS_EN.get(limit.basis, "the plan has no data")
            if missing_input and limit.basis != "scanned_draft":
                why_vi, why_en = f"thiếu {missing_input} để tra QCVN", f"{missing_input} is missing to read QCVN"
            self.add(
                rid,
                "needs_review",
                shown,
                None,
                unit,
                limit.source,
                f"{what_vi.capitalize()} {shown:g}: {why_vi}; cán bộ cần kiểm tra.",
                f"{what_en.capitalize()} {shown:g}: {why_en}; an officer must check.",
                **common,  # type: ignore[arg-type]
            )
            return
        over = value > bound
        under = minimum is not None and value < minimum
        status: Status = "fail" if over or under else "pass"
        if not limit.settled:
            status = "needs_review"
        if over:
            vi = f"{what_vi.capitalize()} {shown:g} vượt mức tối đa {bound:g}."
            en = f"{what_en.capitalize()} {shown:g} exceeds the maximum {bound:g}."
        elif under:
            vi = f"{what_vi.capitalize()} {shown:g} thấp hơn mức tối thiểu {minimum:g}."
            en = f"{what_en.capitalize()} {shown:g} is below the minimum {minimum:g}."
        else:
            vi = f"{what_vi.capitalize()} {shown:g} ≤ {bound:g}."
            en = f"{what_en.capitalize()} {shown:g} ≤ {bound:g}."
        self.add(
            rid,
            status,
            shown,
            bound,
            unit,
            limit.source,
            vi + self._basis_note_vi(limit),
            en + self._basis_note_en(limit),
            **common,  # type: ignore[arg-type]
        )

    def _per_zone(
        self, rid: str, column: str, value: float | None, unit: str, what: tuple[str, str], missing: str
    ) -> None:
        for part in self.parts():
            if part is None:
                self.add(
                    rid,
                    "needs_review",
                    value,
                    None,
                    unit,
                    "quy hoạch đã phê duyệt",
                    f"Quy hoạch không có số liệu {what[0]} tại đây: cán bộ cần kiểm tra.",
                    f"The plan has no data on {what[1]} here: an officer must check.",
                    basis="no_data",
                )
                continue
            minimum = None
            if column == "max_floors" and part.zone.min_floors is not None and not part.zone.scanned:
                minimum = float(part.zone.min_floors)
            self._compare(rid, part, value, zone_limit(part.zone, column), unit, what[0], what[1], missing, minimum)

    def floors(self) -> None:
        floors = self.req.floors
        self._per_zone(
            "floors",
            "max_floors",
            None if floors is None else float(floors),
            "floors",
            ("số tầng", "number of floors"),
            "floors",
        )

    def height(self) -> None:
        self._per_zone("height", "max_height_m", _r(self.req.height_m, 2), "m", ("chiều cao", "height"), "height_m")

    def far(self) -> None:
        total = self.req.total_floor_area_m2
        for part in self.parts():
            value = None
            if total is not None:
                if part is None:
                    value = _r(total / self.net_area, 3) if self.net_area else None
                else:
                    value = _r(total * self.placed.share(part) / part.lot_m2, 3) if part.lot_m2 else None
            if part is None:
                self.add(
                    "far",
                    "needs_review",
                    value,
                    None,
                    "ratio",
                    "quy hoạch đã phê duyệt",
                    "Quy hoạch không có số liệu hệ số sử dụng đất tại đây: cán bộ cần kiểm tra.",
                    "The plan has no data on the floor area ratio here: an officer must check.",
                    basis="no_data",
                )
                continue
            limit = zone_limit(part.zone, "max_far")
            self._compare(
                "far", part, value, limit, "ratio", "hệ số sử dụng đất", "floor area ratio", "total_floor_area_m2"
            )

    def ground_elevation(self) -> None:
        elev = self.req.ground_floor_elev_m
        for part in self.placed.parts:
            limit = zone_limit(part.zone, "min_ground_elev_m")
            if limit.basis == "no_limit" or (limit.value is None and elev is None):
                continue  # nothing to compare: the plan sets no ground level here
            common = {"part": part, "basis": limit.basis, "confidence": limit.confidence}
            if elev is None:
                self.add(
                    "ground_elevation",
                    "needs_review",
                    None,
                    limit.value,
                    "m",
                    limit.source + " (cao độ nền tối thiểu)",
                    f"Ô {part.zone.label} quy định cao độ nền tối thiểu {limit.value:g} m; hồ sơ chưa ghi cao độ "
                    "nền tầng trệt (ground_floor_elev_m): cán bộ cần kiểm tra.",
                    f"Zone {part.zone.label} sets a minimum ground level of {limit.value:g} m; the proposal gives no "
                    "ground floor level (ground_floor_elev_m): an officer must check.",
                    **common,  # type: ignore[arg-type]
                )
                continue
            if limit.value is None:
                self.add(
                    "ground_elevation",
                    "needs_review",
                    elev,
                    None,
                    "m",
                    limit.source,
                    "Quy hoạch không có số liệu cao độ nền tại đây: cán bộ cần kiểm tra.",
                    "The plan has no data on the ground level here: an officer must check.",
                    **common,  # type: ignore[arg-type]
                )
                continue
            ok = round(elev, 2) >= limit.value
            status: Status = ("pass" if ok else "fail") if limit.settled else "needs_review"
            sign = "≥" if ok else "<"
            self.add(
                "ground_elevation",
                status,
                round(elev, 2),
                limit.value,
                "m",
                limit.source + " (cao độ nền tối thiểu)",
                f"Cao độ nền tầng trệt {elev:g} m {sign} {limit.value:g} m tối thiểu (chống ngập).",
                f"Ground floor level {elev:g} m {sign} the minimum {limit.value:g} m (flooding).",
                **common,  # type: ignore[arg-type]
            )

    # -- lot size (new development areas) -----------------------------------------------------------------------
    def _lot_size_applies(self, rid: str) -> bool:
        unit = "m" if rid == "frontage" else "m²"
        if self.cat is None or not self.cat.housing_lot:
            self.add(
                rid,
                "not_applicable",
                None,
                None,
                unit,
                f"{QCVN} §2.6",
                "Quy định kích thước lô đất chỉ áp dụng cho lô đất ở (nhà ở riêng lẻ).",
                "The lot-size rule applies to housing lots (detached and row houses) only.",
            )
            return False
        if not any(p.zone.new_area for p in self.placed.parts):
            self.add(
                rid,
                "not_applicable",
                None,
                None,
                unit,
                f"{QCVN} §2.6",
                "Kích thước lô đất tối thiểu của QCVN áp dụng cho khu vực phát triển mới; lô đất hiện hữu trong khu "
                "dân cư cũ không xét theo quy định này.",
                "QCVN's smallest lot sizes apply to new development areas; an existing lot in an established "
                "neighbourhood is not judged by them.",
            )
            return False
        return True

    def frontage(self) -> None:
        if not self._lot_size_applies("frontage"):
            return
        road = self.roads.main_front
        if road is None:
            self.add(
                "frontage",
                "not_applicable",
                None,
                None,
                "m",
                f"{QCVN} §2.6",
                "Lô đất phía sau, không có mặt tiền đường quy hoạch: xem quy định tiếp cận (access).",
                "A back lot without frontage on a planned road: see the access rule.",
            )
            return
        width = self.req.road_width_m or road.width_m
        name = road.name or "đường"
        if width is None:
            self.add(
                "frontage",
                "needs_review",
                _r(road.frontage_m, 3),
                None,
                "m",
                f"{QCVN} §2.6",
                f"Không có số liệu lộ giới đường {name}: cán bộ cần kiểm tra bề rộng mặt tiền.",
                f"The width of {name} is not recorded: an officer must check the lot's frontage.",
                road=road,
                basis="no_data",
            )
            return
        minimum, _area = self.tables.lot_size(width)
        value = _r(road.frontage_m, 3) or 0.0
        ok = value >= minimum
        self.add(
            "frontage",
            "pass" if ok else "fail",
            value,
            minimum,
            "m",
            f"{QCVN} §2.6 (đường {width:g} m)",
            f"Mặt tiền lô đất theo đường {name} {value} m {'≥' if ok else '<'} {minimum:g} m tối thiểu.",
            f"The lot's frontage on {name} is {value} m, {'at least' if ok else 'less than'} the minimum "
            f"{minimum:g} m.",
            road=road,
            basis="qcvn",
        )

    def lot_area(self) -> None:
        if not self._lot_size_applies("lot_area"):
            return
        value = _r(self.net_area, 2)
        assert value is not None
        road = self.roads.main_front
        width = self.req.road_width_m or (road.width_m if road else None)
        if width is None:
            width = 0.0  # a back lot: the smallest row of the table
        _front, minimum = self.tables.lot_size(width)
        ok = value >= minimum
        self.add(
            "lot_area",
            "pass" if ok else "fail",
            value,
            minimum,
            "m²",
            f"{QCVN} §2.6 (đường {width:g} m)",
            f"Diện tích lô đất (trừ phần đất dành cho đường) {value} m² {'≥' if ok else '<'} {minimum:g} m².",
            f"Lot area (less road land) {value} m² is {'at least' if ok else 'less than'} the minimum {minimum:g} m².",
            road=road,
            basis="qcvn",
        )

    # -- judgement -----------------------------------------------------------------------------------------------
    def judgement(self) -> None:
        self.add(
            "architecture",
            "officer_judgement",
            None,
            None,
            None,
            "Quy chế quản lý kiến trúc (QĐ 06/2024/QĐ-UBND)",
            "Hình thức kiến trúc, màu sắc, vật liệu: do cán bộ đánh giá theo quy chế quản lý kiến trúc.",
            "Architectural form, colours and materials: judged by the officer under the architecture regulation.",
        )
        heritage = sorted({p.zone.heritage_zone for p in self.placed.parts if p.zone.heritage_zone})
        for name in heritage:
            self.add(
                "heritage_appearance",
                "officer_judgement",
                name,
                None,
                None,
                "Luật Di sản văn hóa; quy định bảo vệ di tích Cố đô Huế",
                f"Công trình trong {name}: hình thức, chiều cao nhìn từ di tích do cán bộ và cơ quan di sản đánh giá.",
                f"A building in the heritage zone '{name}': its appearance and views from the monuments are judged by "
                "the officer and the heritage authority.",
            )

    def run(self) -> list[RuleResult]:
        self.land_use()
        self.inside_lot()
        self.road_rules()
        self.access()
        self.density()
        self.floors()
        self.height()
        self.far()
        self.ground_elevation()
        self.frontage()
        self.lot_area()
        self.judgement()
        return self.out


def evaluate(proposal: Proposal, site: Site, roads: Roads, placed: Placement) -> list[RuleResult]:
    """Every rule's answers for a footprint placed on its site, in the order of :data:`RULE_IDS`."""
    results = _Check(proposal, site, roads, placed).run()
    order = {rid: i for i, rid in enumerate(RULE_IDS)}
    return sorted(results, key=lambda r: order[r.id])
