"""A plan version checked against the approved plan above it, where they overlap (PostGIS overlays, no Python loops).

A detailed plan (1/500) must respect the approved zoning plan (1/2000) and a zoning plan the general plan. The
overlay (``zones.sql``) cuts every zone of the lower plan by every zone of the higher one and reports, once per
overlap and rule: a land use the higher zone does not allow there, floors, height, density or FAR above its limits,
a heritage or riverbank zone encroached. ``red_lines.sql`` reports the higher plan's red lines that the lower plan
moved. Each finding carries both values, both plans (code, version, decision) and the area in m² (VN-2000).

The check reads only the database, in the caller's transaction: validation can load a dossier in a transaction it
rolls back and call :func:`check_consistency` on the plan version it made.
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass, field
from datetime import date
from importlib.resources import files
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gis_service.errors import NotFound, ValidationError

__all__ = [
    "HIGHER_LEVELS",
    "ConsistencyFinding",
    "ConsistencyReport",
    "PlanRef",
    "approved_version_id",
    "check_consistency",
    "higher_plan_for",
    "plan_version_id",
]

#: The plan levels above each level, nearest first: a detailed plan answers to the zoning plan, else the general one.
HIGHER_LEVELS: dict[str, tuple[str, ...]] = {
    "detailed": ("zoning", "general"),
    "zoning": ("general",),
    "general": ("land_use",),
}
#: Land uses the higher plan protects (relic land; rivers and water surfaces, whose banks go with them).
HERITAGE_USES = ("DDT",)
WATER_USES = ("SON", "MNC", "DTL")
#: Overlaps smaller than this are digitising slivers along a shared edge, not a finding.
MIN_AREA_M2 = 1.0
#: A lower plan's red line this close to the higher plan's is the same line drawn at a finer scale.
RED_LINE_TOLERANCE_M = 0.5
MIN_MOVED_LENGTH_M = 1.0

_RULES: dict[str, tuple[str, str]] = {
    "land_use": ("chức năng sử dụng đất", "land use"),
    "max_floors": ("tầng cao tối đa", "maximum floors"),
    "max_height_m": ("chiều cao tối đa (m)", "maximum height (m)"),
    "max_density_pct": ("mật độ xây dựng tối đa (%)", "maximum building density (%)"),
    "max_far": ("hệ số sử dụng đất tối đa", "maximum FAR"),
    "heritage": ("vùng bảo vệ di sản", "heritage protection zone"),
    "riverbank": ("hành lang sông, mặt nước", "river, riverbank or water surface"),
    "red_line": ("chỉ giới đường đỏ", "red line"),
}


@dataclass(frozen=True)
class PlanRef:
    """One plan version as a finding names it."""

    id: int
    code: str
    version: int
    level: str
    status: str
    decision_no: str | None
    decision_date: date | None

    def label(self) -> str:
        """``46QPK0000001 v2 (QĐ 1234/QĐ-UBND, 2026-01-05)``."""
        decision = f" ({self.decision_no}, {self.decision_date})" if self.decision_no else f" ({self.status})"
        return f"{self.code} v{self.version}{decision}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, the date as ISO text."""
        d = asdict(self)
        d["decision_date"] = self.decision_date.isoformat() if self.decision_date else None
        return d


@dataclass(frozen=True)
class ConsistencyFinding:
    """One place where the lower plan breaks the higher one: rule, both values, the zones, area and a point."""

    rule: str
    lower_value: Any
    higher_value: Any
    lower_feature: dict[str, Any]
    higher_feature: dict[str, Any]
    area_m2: float | None
    easting: float
    northing: float
    message_vi: str
    message_en: str
    length_m: float | None = None
    severity: str = "error"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


@dataclass
class ConsistencyReport:
    """The findings of one plan version against the plan above it."""

    lower: PlanRef
    higher: PlanRef
    findings: list[ConsistencyFinding] = field(default_factory=list)

    @property
    def consistent(self) -> bool:
        """No finding."""
        return not self.findings

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready values."""
        return {
            "plan": self.lower.as_dict(),
            "higher_plan": self.higher.as_dict(),
            "consistent": self.consistent,
            "crs": "EPSG:9214",
            "findings": [f.as_dict() for f in self.findings],
        }


_PLAN_SQL = sa.text(
    "SELECT id, code, version, level, status, decision_no, decision_date FROM planning.plans WHERE id = :id"
)


def _plan_ref(conn: Connection, plan_id: int) -> PlanRef:
    row = conn.execute(_PLAN_SQL, {"id": plan_id}).one_or_none()
    if row is None:
        raise NotFound(f"no plan version with id {plan_id}")
    return PlanRef(*row)


def plan_version_id(conn: Connection, code: str, version: int | None = None) -> int:
    """The row id of version ``version`` of plan ``code`` (default: its latest version, draft or not)."""
    row = conn.execute(
        sa.text(
            "SELECT id FROM planning.plans WHERE code = :code AND (CAST(:v AS integer) IS NULL OR version = :v) "
            "ORDER BY version DESC LIMIT 1"
        ),
        {"code": code, "v": version},
    ).scalar_one_or_none()
    if row is None:
        which = f"version {version} of plan {code}" if version else f"plan {code}"
        raise NotFound(f"no {which}; 'planning plans list' shows the plans / không có đồ án này")
    return int(row)


def approved_version_id(conn: Connection, code: str) -> int:
    """The approved version of plan ``code``, else its latest version."""
    row = conn.execute(
        sa.text("SELECT id FROM planning.plans WHERE code = :c AND status = 'approved'"), {"c": code}
    ).scalar_one_or_none()
    return int(row) if row is not None else plan_version_id(conn, code)


def higher_plan_for(conn: Connection, plan_id: int) -> int:
    """The approved plan of the nearest level above ``plan_id``'s whose zones overlap its zones (the largest overlap).

    Raises NotFound when there is none (a general plan, or no approved plan above covers it).
    """
    lower = _plan_ref(conn, plan_id)
    levels = list(HIGHER_LEVELS.get(lower.level, ()))
    row = conn.execute(
        sa.text(
            """
SELECT h.id FROM planning.plans h
CROSS JOIN LATERAL (
    SELECT sum(ST_Area(ST_Intersection(hz.geom, lz.geom))) AS shared
    FROM planning.zones hz JOIN planning.zones lz ON lz.plan_id = :lower AND ST_Intersects(hz.geom, lz.geom)
    WHERE hz.plan_id = h.id) o
WHERE h.status = 'approved' AND h.code <> :code AND h.level = ANY(CAST(:levels AS text[])) AND o.shared > 0
ORDER BY array_position(CAST(:levels AS text[]), h.level), o.shared DESC, h.id LIMIT 1
"""
        ),
        {"lower": plan_id, "code": lower.code, "levels": levels},
    ).scalar_one_or_none()
    if row is None:
        above = " or ".join(levels) or "none"
        raise NotFound(
            f"no approved plan above {lower.code} ({lower.level}; above it: {above}) overlaps it / "
            "không có đồ án cấp trên đã phê duyệt chồng lấn đồ án này"
        )
    return int(row)


def _allowed_pairs() -> tuple[list[str], list[str]]:
    """(higher code, lower code) pairs the higher zone allows besides its own code, from the reference data."""
    higher: list[str] = []
    lower: list[str] = []
    data = files("gis_service") / "data"
    for name, key, members in (
        ("higher_plan_uses.csv", "higher_code", "lower_codes"),
        ("land_use_group_members.csv", "group_code", "members"),
    ):
        for row in csv.DictReader(data.joinpath(name).read_text(encoding="utf-8").splitlines()):
            for code in row[members].split():
                higher.append(row[key])
                lower.append(code)
    return higher, lower


def _sql(name: str) -> sa.TextClause:
    return sa.text((files("gis_service.consistency") / name).read_text(encoding="utf-8"))


_ZONES_SQL = _sql("zones.sql")
_RED_LINES_SQL = _sql("red_lines.sql")


def check_consistency(conn: Connection, plan_id: int, *, against: int | None = None) -> ConsistencyReport:
    """Plan version ``plan_id`` against the approved plan above it (or against plan version ``against``).

    Raises
    ------
    NotFound
        No such version, or no approved higher plan overlaps it.
    ValidationError
        ``against`` is the plan itself.
    """
    higher_id = against if against is not None else higher_plan_for(conn, plan_id)
    if higher_id == plan_id:
        raise ValidationError("a plan version cannot be checked against itself / không thể đối chiếu với chính nó")
    report = ConsistencyReport(_plan_ref(conn, plan_id), _plan_ref(conn, higher_id))
    # PostGIS functions are declared costly: JIT would compile this overlay for seconds before a sub-second run
    conn.execute(sa.text("SELECT set_config('jit', 'off', true)"))
    allowed_higher, allowed_lower = _allowed_pairs()
    params = {
        "lower": plan_id,
        "higher": higher_id,
        "min_area_m2": MIN_AREA_M2,
        "heritage_uses": list(HERITAGE_USES),
        "water_uses": list(WATER_USES),
        "allowed_higher": allowed_higher,
        "allowed_lower": allowed_lower,
    }
    for row in conn.execute(_ZONES_SQL, params).all():
        report.findings.append(_zone_finding(report, *row))
    lines = {
        "lower": plan_id,
        "higher": higher_id,
        "tolerance_m": RED_LINE_TOLERANCE_M,
        "min_length_m": MIN_MOVED_LENGTH_M,
    }
    for row in conn.execute(_RED_LINES_SQL, lines).all():
        report.findings.append(_red_line_finding(report, *row))
    return report


def _zone_finding(
    report: ConsistencyReport,
    rule: str,
    lower_zone_id: int,
    lower_zone_code: str | None,
    higher_zone_id: int,
    higher_zone_code: str | None,
    lower_value: Any,
    higher_value: Any,
    area_m2: float,
    easting: float,
    northing: float,
) -> ConsistencyFinding:
    name_vi, name_en = _RULES[rule]
    lo, hi = report.lower, report.higher
    lz, hz = lower_zone_code or f"#{lower_zone_id}", higher_zone_code or f"#{higher_zone_id}"
    where = f"{area_m2:,.1f} m² (E {easting:.2f}, N {northing:.2f}, VN-2000)"
    return ConsistencyFinding(
        rule,
        lower_value,
        higher_value,
        {"collection": "zones", "id": lower_zone_id, "zone_code": lower_zone_code, "plan": lo.label()},
        {"collection": "zones", "id": higher_zone_id, "zone_code": higher_zone_code, "plan": hi.label()},
        area_m2,
        easting,
        northing,
        f"Ô {lz} của {lo.label()}: {name_vi} {lower_value} không phù hợp ô {hz} của đồ án cấp trên {hi.label()} "
        f"({higher_value}) trên {where}.",
        f"Zone {lz} of {lo.label()}: {name_en} {lower_value} breaks zone {hz} of the higher plan {hi.label()} "
        f"({higher_value}) over {where}.",
    )


def _red_line_finding(
    report: ConsistencyReport,
    line_id: int,
    road: str | None,
    width_m: float | None,
    length_m: float,
    offset_m: float | None,
    easting: float,
    northing: float,
) -> ConsistencyFinding:
    lo, hi = report.lower, report.higher
    road_vi = road or "không tên"
    road_en = road or "unnamed"
    off_vi = f"lệch tới {offset_m:.1f} m" if offset_m is not None else "không có chỉ giới đường đỏ tương ứng"
    off_en = f"moved by up to {offset_m:.1f} m" if offset_m is not None else "with no matching red line"
    where = f"E {easting:.2f}, N {northing:.2f}, VN-2000"
    return ConsistencyFinding(
        "red_line",
        {"offset_m": offset_m},
        {"road_name": road, "red_line_width_m": width_m},
        {"collection": "red_lines", "plan": lo.label()},
        {"collection": "red_lines", "id": line_id, "road_name": road, "plan": hi.label()},
        None,
        easting,
        northing,
        f"Chỉ giới đường đỏ đường {road_vi} của {hi.label()}: {length_m:.1f} m {off_vi} trong {lo.label()} ({where}).",
        f"Red line of {road_en} in {hi.label()}: {length_m:.1f} m {off_en} in {lo.label()} ({where}).",
        length_m=length_m,
    )
