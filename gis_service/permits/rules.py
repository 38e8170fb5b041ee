"""The rules of a permit check, evaluated on the measurements of :mod:`gis_service.permits.measure`.

Each rule answers ``pass``, ``fail``, ``warn`` (missing data: an officer must look) or ``not_applicable``, with the
measured value, the limit, its legal source and a sentence in Vietnamese and in English. Rules that depend on the
zone (land use, setback from the red line, density, floors, height, FAR) answer once per zone the footprint stands
in. Values are rounded to what is shown (m to the mm, % and m² to 0.01) before they are compared, so the answer
never contradicts the figures printed next to it.
"""

from __future__ import annotations

from typing import Any

from gis_service.permits.model import Proposal, RuleResult
from gis_service.permits.tables import qcvn_tables

__all__ = ["RULE_IDS", "evaluate", "verdict"]

RULE_IDS = (
    "land_use",
    "inside_lot",
    "building_line",
    "red_line_setback",
    "density",
    "floors",
    "height",
    "far",
    "frontage",
    "lot_area",
)
QCVN = "QCVN 01:2021/BXD"
#: Part of a footprint outside its lot (m²) still taken as digitising noise.
OUTSIDE_LOT_TOLERANCE_M2 = 0.01
#: A footprint may stand on the building line; beyond this it protrudes (m).
LINE_TOLERANCE_M = 0.001


def _plan_source(zone: dict[str, Any]) -> str:
    p = zone["plan"]
    decision = f"QĐ {p['decision_no']}" + (f" ngày {p['decision_date']}" if p.get("decision_date") else "")
    return f"{decision}, {p['code']} v{p['version']}, ô {zone['zone_code'] or zone['id']}"


def _zone_ref(zone: dict[str, Any], fp_area: float) -> dict[str, Any]:
    return {
        "id": zone["id"],
        "zone_code": zone["zone_code"],
        "land_use_code": zone["land_use_code"],
        "share_of_footprint_pct": round(100 * zone["fp_m2"] / fp_area, 2) if fp_area else None,
        "plan_code": zone["plan"]["code"],
        "plan_version": zone["plan"]["version"],
    }


def _line_plan_source(m: dict[str, Any], line: dict[str, Any], what_vi: str) -> str:
    plan = next((z["plan"] for z in m["zones"] if z["plan"]["id"] == line["plan_id"]), None)
    road = f" {line['road_name']}" if line.get("road_name") else ""
    if plan is None:
        return f"{what_vi}{road} (quy hoạch id {line['plan_id']})"
    return f"{what_vi}{road}, QĐ {plan['decision_no']}, {plan['code']} v{plan['version']}"


def _r(value: float | None, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)


class _Rules:
    def __init__(self, proposal: Proposal, m: dict[str, Any]) -> None:
        self.p = proposal
        self.req = proposal.request
        self.m = m
        self.tables = qcvn_tables()
        self.cat = self.tables.categories.get(proposal.category or "")
        self.out: list[RuleResult] = []
        self.lot_area = float(m["lot"]["area_m2"])
        self.fp_area = float(m["footprint"]["area_m2"])
        self.red = m["red_line"]
        self.road_width: float | None = self.req.road_width_m or (self.red or {}).get("width_m")
        self.road_width_source = (
            "đề xuất (road_width_m)" if self.req.road_width_m else ("chỉ giới đường đỏ" if self.red else None)
        )

    def add(
        self,
        rid: str,
        status: str,
        value: Any,
        limit: Any,
        unit: str | None,
        source: str,
        vi: str,
        en: str,
        zone: dict[str, Any] | None = None,
    ) -> None:
        self.out.append(
            RuleResult(
                rid,
                status,  # type: ignore[arg-type]
                value,
                limit,
                unit,
                source,
                vi,
                en,
                None if zone is None else _zone_ref(zone, self.fp_area),
            )
        )

    # -- rules -----------------------------------------------------------------------------------------------
    def land_use(self) -> None:
        zones = self.m["zones"]
        use = " ".join(self.p.use_codes)
        if not zones:
            self.add(
                "land_use",
                "warn",
                use,
                None,
                None,
                "quy hoạch đã phê duyệt",
                "Không có ô quy hoạch đã phê duyệt nào tại vị trí công trình: cán bộ cần kiểm tra.",
                "No zone of an approved plan lies under the footprint: an officer must check.",
            )
            return
        for z in zones:
            allowed = {z["land_use_code"], *(z.get("allowed_uses") or [])}
            allowed |= self.tables.group_members.get(z["land_use_code"], frozenset())
            ok = bool(allowed & set(self.p.use_codes))
            limit = " ".join(sorted(allowed))
            code = z["zone_code"] or z["id"]
            if ok:
                self.add(
                    "land_use",
                    "pass",
                    use,
                    limit,
                    None,
                    _plan_source(z),
                    f"Mục đích sử dụng {use} phù hợp ô {code} ({z['land_use_code']}).",
                    f"Use {use} is allowed in zone {code} ({z['land_use_code']}).",
                    z,
                )
            else:
                self.add(
                    "land_use",
                    "fail",
                    use,
                    limit,
                    None,
                    _plan_source(z),
                    f"Mục đích sử dụng {use} không phù hợp ô {code}, nơi quy hoạch cho phép {limit}.",
                    f"Use {use} is not allowed in zone {code}, planned for {limit}.",
                    z,
                )
        outside = _r(self.m["footprint"]["outside_zones_m2"], 2) or 0.0
        if outside > OUTSIDE_LOT_TOLERANCE_M2:
            self.add(
                "land_use",
                "warn",
                outside,
                0,
                "m²",
                "quy hoạch đã phê duyệt",
                f"{outside} m² của công trình nằm ngoài mọi ô quy hoạch đã phê duyệt.",
                f"{outside} m² of the footprint lies outside every zone of an approved plan.",
            )

    def inside_lot(self) -> None:
        outside = _r(self.m["footprint"]["outside_lot_m2"], 2) or 0.0
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

    def building_line(self) -> None:
        bl = self.m["building_line"]
        if bl is None:
            self.add(
                "building_line",
                "not_applicable",
                None,
                None,
                "m",
                "quy hoạch đã phê duyệt",
                f"Quy hoạch không vẽ chỉ giới xây dựng trong phạm vi {30:.0f} m quanh lô đất.",
                "The plan draws no building line within 30 m of the lot.",
            )
            return
        src = _line_plan_source(self.m, bl, "Chỉ giới xây dựng")
        protrudes = _r(bl["protrudes_m"], 3) or 0.0
        if protrudes > LINE_TOLERANCE_M:
            self.add(
                "building_line",
                "fail",
                -protrudes,
                0,
                "m",
                src,
                f"Công trình vượt quá chỉ giới xây dựng {protrudes} m.",
                f"The footprint crosses the building line by {protrudes} m.",
            )
        else:
            behind = _r(bl["behind_m"], 3)
            self.add(
                "building_line",
                "pass",
                behind,
                0,
                "m",
                src,
                f"Công trình nằm sau chỉ giới xây dựng ({behind} m).",
                f"The footprint stands behind the building line ({behind} m).",
            )

    def red_line_setback(self) -> None:
        if self.red is None:
            self.add(
                "red_line_setback",
                "warn",
                None,
                None,
                "m",
                "quy hoạch đã phê duyệt",
                "Không tìm thấy chỉ giới đường đỏ trong phạm vi 30 m quanh lô đất: cán bộ cần kiểm tra.",
                "No red line found within 30 m of the lot: an officer must check.",
            )
            return
        zones = self.m["zones"] or [None]
        in_road = _r(self.red.get("footprint_in_road_m"), 3) or 0.0
        for z in zones:
            dist = _r(z["setback_m"] if z is not None else self.red["footprint_distance_m"], 3)
            plan_value = None if z is None else z["min_setback_m"]
            limit: float | None = None
            src = _line_plan_source(self.m, self.red, "Chỉ giới đường đỏ")
            if plan_value is not None:
                limit, src = float(plan_value), _plan_source(z) + " (khoảng lùi tối thiểu)"
            elif self.req.height_m is not None and self.road_width is not None:
                limit = self.tables.red_line_setback(road_width_m=self.road_width, height_m=self.req.height_m)
                src = f"{QCVN} Bảng 2.7 (đường {self.road_width:g} m, cao {self.req.height_m:g} m)"
            if in_road > LINE_TOLERANCE_M:
                self.add(
                    "red_line_setback",
                    "fail",
                    -in_road,
                    limit,
                    "m",
                    src,
                    f"Công trình lấn qua chỉ giới đường đỏ {in_road} m vào phần đất dành cho đường.",
                    f"The footprint crosses the red line by {in_road} m into the road reservation.",
                    z,
                )
                continue
            if limit is None:
                missing = "chiều cao công trình" if self.req.height_m is None else "chiều rộng đường"
                missing_en = "the building height" if self.req.height_m is None else "the road width"
                self.add(
                    "red_line_setback",
                    "warn",
                    dist,
                    None,
                    "m",
                    f"{QCVN} Bảng 2.7",
                    f"Quy hoạch không quy định khoảng lùi và thiếu {missing} để tra Bảng 2.7.",
                    f"The plan sets no setback and {missing_en} is missing for Table 2.7.",
                    z,
                )
                continue
            assert dist is not None
            if dist >= limit:
                self.add(
                    "red_line_setback",
                    "pass",
                    dist,
                    limit,
                    "m",
                    src,
                    f"Khoảng lùi so với chỉ giới đường đỏ {dist} m ≥ {limit:g} m.",
                    f"Setback from the red line {dist} m ≥ {limit:g} m.",
                    z,
                )
            else:
                self.add(
                    "red_line_setback",
                    "fail",
                    dist,
                    limit,
                    "m",
                    src,
                    f"Khoảng lùi so với chỉ giới đường đỏ {dist} m < {limit:g} m yêu cầu.",
                    f"Setback from the red line {dist} m is less than the required {limit:g} m.",
                    z,
                )

    def _qcvn_density(self) -> tuple[float | None, str | None, str | None]:
        """(limit %, source, missing-data sentence) of QCVN for this category and lot."""
        cat = self.cat
        if cat is None or cat.density_table is None:
            return None, None, None
        area = self.lot_area
        if cat.density_table == "detached":
            return self.tables.detached_density(area), f"{QCVN} Bảng 2.8 (lô {area:.2f} m², nội suy)", None
        if cat.density_table in ("apartment", "commercial"):
            if self.req.height_m is None:
                return None, None, "height_m"
            fn = self.tables.apartment_density if cat.density_table == "apartment" else self.tables.commercial_density
            table = "2.9" if cat.density_table == "apartment" else "2.10"
            return (
                fn(area, self.req.height_m),
                f"{QCVN} Bảng {table} (lô {area:.2f} m², cao {self.req.height_m:g} m)",
                None,
            )
        if cat.density_table == "fixed" and cat.fixed_density_pct is not None:
            pct = cat.fixed_density_pct
            if cat.fixed_density_pct_above_5_floors is not None and (self.req.floors or 0) > 5:
                pct = cat.fixed_density_pct_above_5_floors
            return pct, f"{QCVN} §2.6 ({cat.name_vi})", None
        return None, None, None

    def density(self) -> None:
        qcvn, qsrc, missing = self._qcvn_density()
        zones = self.m["zones"] or [None]
        for z in zones:
            fp_m2 = z["fp_m2"] if z else self.fp_area
            lot_m2 = z["lot_m2"] if z else self.lot_area
            value = _r(100 * fp_m2 / lot_m2, 2) if lot_m2 else None
            plan = None if z is None else z["max_density_pct"]
            limits = [(float(plan), _plan_source(z))] if plan is not None else []
            if qcvn is not None:
                limits.append((qcvn, qsrc or QCVN))
            if not limits:
                why = "thiếu chiều cao công trình" if missing else "quy hoạch không quy định mật độ"
                why_en = "the building height is missing" if missing else "the plan sets no density"
                self.add(
                    "density",
                    "warn",
                    value,
                    None,
                    "%",
                    "quy hoạch đã phê duyệt",
                    f"Mật độ xây dựng {value}%: {why}, cán bộ cần kiểm tra.",
                    f"Building density {value}%: {why_en}; an officer must check.",
                    z,
                )
                continue
            limit, src = min(limits, key=lambda x: x[0])
            limit = round(limit, 2)
            if value is not None and value > limit:
                self.add(
                    "density",
                    "fail",
                    value,
                    limit,
                    "%",
                    src,
                    f"Mật độ xây dựng {value}% vượt mức tối đa {limit:g}%.",
                    f"Building density {value}% exceeds the maximum {limit:g}%.",
                    z,
                )
            elif plan is None:
                self.add(
                    "density",
                    "warn",
                    value,
                    limit,
                    "%",
                    src,
                    f"Mật độ xây dựng {value}% ≤ {limit:g}% theo QCVN, nhưng quy hoạch không quy định mật độ.",
                    f"Building density {value}% ≤ {limit:g}% by QCVN, but the plan sets no density.",
                    z,
                )
            else:
                self.add(
                    "density",
                    "pass",
                    value,
                    limit,
                    "%",
                    src,
                    f"Mật độ xây dựng {value}% ≤ {limit:g}%.",
                    f"Building density {value}% ≤ {limit:g}%.",
                    z,
                )

    def _zone_limit(
        self,
        rid: str,
        z: dict[str, Any] | None,
        value: float | None,
        limit: float | None,
        unit: str,
        what_vi: str,
        what_en: str,
        missing_input: str,
        minimum: float | None = None,
    ) -> None:
        src = _plan_source(z) if z else "quy hoạch đã phê duyệt"
        shown = value if unit != "floors" else (None if value is None else int(value))
        if value is None:
            self.add(
                rid,
                "warn",
                None,
                limit,
                unit,
                src,
                f"Thiếu {what_vi} trong hồ sơ ({missing_input}): cán bộ cần kiểm tra.",
                f"The proposal gives no {what_en} ({missing_input}): an officer must check.",
                z,
            )
        elif limit is None:
            self.add(
                rid,
                "warn",
                shown,
                None,
                unit,
                src,
                f"Quy hoạch không quy định {what_vi} tối đa cho ô này: cán bộ cần kiểm tra.",
                f"The plan sets no maximum {what_en} for this zone: an officer must check.",
                z,
            )
        elif value > limit:
            self.add(
                rid,
                "fail",
                shown,
                limit,
                unit,
                src,
                f"{what_vi.capitalize()} {shown:g} vượt mức tối đa {limit:g}.",
                f"{what_en.capitalize()} {shown:g} exceeds the maximum {limit:g}.",
                z,
            )
        elif minimum is not None and value < minimum:
            self.add(
                rid,
                "fail",
                shown,
                limit,
                unit,
                src,
                f"{what_vi.capitalize()} {shown:g} thấp hơn mức tối thiểu {minimum:g}.",
                f"{what_en.capitalize()} {shown:g} is below the minimum {minimum:g}.",
                z,
            )
        else:
            self.add(
                rid,
                "pass",
                shown,
                limit,
                unit,
                src,
                f"{what_vi.capitalize()} {shown:g} ≤ {limit:g}.",
                f"{what_en.capitalize()} {shown:g} ≤ {limit:g}.",
                z,
            )

    def floors(self) -> None:
        floors = self.req.floors
        for z in self.m["zones"] or [None]:
            self._zone_limit(
                "floors",
                z,
                None if floors is None else float(floors),
                None if z is None else z["max_floors"],
                "floors",
                "số tầng",
                "number of floors",
                "floors",
                None if z is None else z["min_floors"],
            )

    def height(self) -> None:
        for z in self.m["zones"] or [None]:
            self._zone_limit(
                "height",
                z,
                _r(self.req.height_m, 2),
                None if z is None else z["max_height_m"],
                "m",
                "chiều cao",
                "height",
                "height_m",
            )

    def far(self) -> None:
        total = self.req.total_floor_area_m2
        for z in self.m["zones"] or [None]:
            value = None
            if total is not None:
                share = z["fp_m2"] / self.fp_area if z and self.fp_area else 1.0
                lot_m2 = z["lot_m2"] if z else self.lot_area
                value = _r(total * share / lot_m2, 2) if lot_m2 else None
            self._zone_limit(
                "far",
                z,
                value,
                None if z is None else z["max_far"],
                "ratio",
                "hệ số sử dụng đất",
                "floor area ratio",
                "total_floor_area_m2",
            )

    def _housing(self, rid: str) -> bool:
        if self.cat is None or not self.cat.housing_lot:
            self.add(
                rid,
                "not_applicable",
                None,
                None,
                "m" if rid == "frontage" else "m²",
                f"{QCVN} §2.6",
                "Quy định kích thước lô đất chỉ áp dụng cho lô đất ở (nhà ở riêng lẻ).",
                "The lot-size rule applies to housing lots (detached and row houses) only.",
            )
            return False
        return True

    def frontage(self) -> None:
        if not self._housing("frontage"):
            return
        if self.red is None or self.road_width is None:
            self.add(
                "frontage",
                "warn",
                None,
                None,
                "m",
                f"{QCVN} §2.6",
                "Không xác định được đường mà lô đất tiếp giáp: cán bộ cần kiểm tra bề rộng mặt tiền.",
                "The road the lot faces is not known: an officer must check its frontage.",
            )
            return
        minimum, _area = self.tables.lot_size(self.road_width)
        value = _r(self.red["frontage_m"], 3) or 0.0
        src = f"{QCVN} §2.6 (đường {self.road_width:g} m)"
        road = self.red.get("road_name") or "đường"
        if value >= minimum:
            self.add(
                "frontage",
                "pass",
                value,
                minimum,
                "m",
                src,
                f"Mặt tiền lô đất theo {road} {value} m ≥ {minimum:g} m.",
                f"The lot's frontage on {road} is {value} m ≥ {minimum:g} m.",
            )
        else:
            self.add(
                "frontage",
                "fail",
                value,
                minimum,
                "m",
                src,
                f"Mặt tiền lô đất theo {road} {value} m < {minimum:g} m tối thiểu.",
                f"The lot's frontage on {road} is {value} m, less than the minimum {minimum:g} m.",
            )

    def lot_area_rule(self) -> None:
        if not self._housing("lot_area"):
            return
        value = _r(self.lot_area, 2)
        assert value is not None
        if self.road_width is None:
            self.add(
                "lot_area",
                "warn",
                value,
                None,
                "m²",
                f"{QCVN} §2.6",
                "Không xác định được chiều rộng đường để tra diện tích lô đất tối thiểu.",
                "The road width is not known, so the smallest lot area cannot be looked up.",
            )
            return
        _front, minimum = self.tables.lot_size(self.road_width)
        src = f"{QCVN} §2.6 (đường {self.road_width:g} m)"
        if value >= minimum:
            self.add(
                "lot_area",
                "pass",
                value,
                minimum,
                "m²",
                src,
                f"Diện tích lô đất {value} m² ≥ {minimum:g} m².",
                f"Lot area {value} m² ≥ {minimum:g} m².",
            )
        else:
            self.add(
                "lot_area",
                "fail",
                value,
                minimum,
                "m²",
                src,
                f"Diện tích lô đất {value} m² < {minimum:g} m² tối thiểu.",
                f"Lot area {value} m² is less than the minimum {minimum:g} m².",
            )

    def run(self) -> list[RuleResult]:
        self.land_use()
        self.inside_lot()
        self.building_line()
        self.red_line_setback()
        self.density()
        self.floors()
        self.height()
        self.far()
        self.frontage()
        self.lot_area_rule()
        return self.out


def evaluate(proposal: Proposal, measurements: dict[str, Any]) -> list[RuleResult]:
    """Every rule's answers for a measured proposal, in the order of :data:`RULE_IDS`."""
    return _Rules(proposal, measurements).run()


def verdict(results: list[RuleResult]) -> str:
    """``not_compliant`` when any rule fails, else ``needs_review`` when any warns, else ``compliant``.

    >>> verdict([])
    'compliant'
    """
    statuses = {r.status for r in results}
    if "fail" in statuses:
        return "not_compliant"
    if "warn" in statuses:
        return "needs_review"
    return "compliant"
