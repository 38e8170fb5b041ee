"""The limits a lot is held to, one place for both the envelope and the permit check.

Each limit says where it comes from (:class:`Limit`): the approved plan (``plan``), QCVN 01:2021/BXD (``qcvn``), the
plan explicitly leaving it open (``no_limit``), the plan having no value there (``no_data``: an officer must look),
or a zone digitised from a scanned map (``scanned_draft``, with the reading's confidence: a draft, never final).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from gis_service.rules.roads import Road
from gis_service.rules.site import Zone
from gis_service.rules.tables import UseCategory, qcvn_tables

__all__ = ["QCVN", "Basis", "Limit", "density_limit", "plan_source", "setback_requirement", "zone_limit"]

QCVN = "QCVN 01:2021/BXD"
Basis = Literal["plan", "qcvn", "no_limit", "no_data", "scanned_draft"]
#: Storey height the envelope assumes when a zone limits floors but not height (m), for QCVN's height-based tables.
STOREY_M = 3.6


@dataclass(frozen=True)
class Limit:
    """A limit and where it comes from; ``value`` is ``None`` for ``no_limit`` and ``no_data``."""

    value: float | None
    basis: Basis
    source: str
    confidence: float | None = None

    @property
    def settled(self) -> bool:
        """Whether a comparison against it can be final (plan or QCVN values)."""
        return self.basis in ("plan", "qcvn")

    def as_dict(self) -> dict[str, Any]:
        """The limit as JSON (``confidence`` only when known)."""
        d: dict[str, Any] = {"value": self.value, "basis": self.basis, "source": self.source}
        if self.confidence is not None:
            d["confidence"] = self.confidence
        return d


def plan_source(zone: Zone) -> str:
    """The legal reference of a zone's values: decision, plan version, zone."""
    p = zone.plan
    decision = f"QĐ {p.decision_no}" if p.decision_no else "quy hoạch đã phê duyệt"
    if p.decision_date:
        decision += f" ngày {p.decision_date}"
    return f"{decision}, {p.code} v{p.version}, ô {zone.label}"


def zone_limit(zone: Zone, column: str) -> Limit:
    """A zone's own value of ``column`` (e.g. ``max_floors``) with its basis."""
    value = getattr(zone, column)
    src = plan_source(zone)
    if zone.scanned:
        conf = zone.confidence
        return Limit(None if value is None else float(value), "scanned_draft", src + " (bản quét)", conf)
    if value is not None:
        return Limit(float(value), "plan", src)
    if column in zone.no_limit:
        return Limit(None, "no_limit", src)
    return Limit(None, "no_data", src)


def density_limit(
    zone: Zone, *, category: UseCategory | None, lot_area_m2: float, height_m: float | None, floors: int | None
) -> tuple[Limit, str | None]:
    """The density limit (%) in a zone: the smaller of the plan's and QCVN's (Tables 2.8–2.10, §2.6).

    Returns the limit and, when QCVN's table needs a value the caller lacks, the name of that input.
    """
    tables = qcvn_tables()
    plan = zone_limit(zone, "max_density_pct")
    qcvn: Limit | None = None
    missing = None
    if category is not None and category.density_table is not None:
        table = category.density_table
        if table == "detached":
            pct = tables.detached_density(lot_area_m2)
            qcvn = Limit(pct, "qcvn", f"{QCVN} Bảng 2.8 (lô {lot_area_m2:.2f} m², nội suy)")
        elif table in ("apartment", "commercial"):
            if height_m is None:
                missing = "height_m"
            else:
                fn = tables.apartment_density if table == "apartment" else tables.commercial_density
                no = "2.9" if table == "apartment" else "2.10"
                src = f"{QCVN} Bảng {no} (lô {lot_area_m2:.2f} m², cao {height_m:g} m)"
                qcvn = Limit(fn(lot_area_m2, height_m), "qcvn", src)
        elif table == "fixed" and category.fixed_density_pct is not None:
            pct = category.fixed_density_pct
            if category.fixed_density_pct_above_5_floors is not None and (floors or 0) > 5:
                pct = category.fixed_density_pct_above_5_floors
            qcvn = Limit(pct, "qcvn", f"{QCVN} §2.6 ({category.name_vi})")
    if plan.value is not None and (qcvn is None or plan.value <= qcvn.value):  # type: ignore[operator]
        return plan, missing
    if qcvn is not None:
        if plan.basis in ("no_data", "scanned_draft"):  # QCVN bounds it, but the plan's own value is unknown
            return Limit(qcvn.value, plan.basis, qcvn.source, plan.confidence), missing
        return qcvn, missing
    return plan, missing


def setback_requirement(road: Road, zone: Zone, height_m: float | None) -> tuple[Limit, str | None]:
    """The smallest distance (m) from a road's red line in a zone, where the plan draws no building line for it.

    The zone's setback (``min_setback_m``) when the plan gives one, else QCVN Table 2.7 by the road's width and the
    building's height. Returns the limit and the missing input's name when Table 2.7 cannot be read.
    """
    plan = zone_limit(zone, "min_setback_m")
    qcvn_value, missing = qcvn_setback(road, height_m)
    if plan.value is not None and (qcvn_value is None or plan.value >= qcvn_value):
        return plan, None
    if qcvn_value is not None:
        src = f"{QCVN} Bảng 2.7 (đường {road.width_m:g} m, cao {height_m:g} m)"
        return Limit(qcvn_value, "qcvn", src), None
    return plan, missing


def qcvn_setback(road: Road, height_m: float | None) -> tuple[float | None, str | None]:
    """QCVN Table 2.7's setback for this road and height, or the name of the input it lacks."""
    if road.width_m is None:
        return None, "road_width_m"
    if height_m is None:
        return None, "height_m"
    return qcvn_tables().red_line_setback(road_width_m=road.width_m, height_m=height_m), None
