"""The land-use balance table (bảng cân bằng sử dụng đất) of a plan version, computed from its zones.

Every Vietnamese plan carries one: the area (ha) and share of each land-use code and group, totalled against the
plan's boundary. Here it is computed by PostGIS from the version's zones (``balance.sql``), with the land of the
boundary in no zone, the change since the previous version and, when the dossier declared its own table, a finding
for each code whose declared area differs by more than :data:`DECLARED_TOLERANCE` (1 %).

:func:`balance_of` returns plain dataclasses (``as_dict()`` for JSON); :mod:`gis_service.balance.render` writes
them as CSV and HTML, so the validation report can include the table as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from importlib.resources import files
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gis_service.errors import NotFound

__all__ = [
    "DECLARED_TOLERANCE",
    "BalanceFinding",
    "BalanceGroup",
    "BalanceRow",
    "BalanceTable",
    "balance_of",
    "compare_declared",
    "plan_balance",
]

#: A declared area further than this (relative) from the computed one is a finding.
DECLARED_TOLERANCE = 0.01

_SQL = sa.text((files("gis_service.balance") / "balance.sql").read_text(encoding="utf-8"))


def _ha(m2: float | None) -> float | None:
    return None if m2 is None else round(m2 / 10_000, 4)


@dataclass
class BalanceRow:
    """One land-use code: its area (ha), share of the plan (%), zones, and the change since the previous version."""

    code: str
    name_vi: str | None
    name_en: str | None
    group: str
    color: str | None
    area_ha: float
    share_pct: float
    zones: int
    previous_ha: float | None = None
    change_ha: float | None = None
    declared_ha: float | None = None


@dataclass
class BalanceGroup:
    """One group of codes (agricultural NNP, non-agricultural PNN, unused CSD, or a map group)."""

    code: str
    name_vi: str | None
    name_en: str | None
    area_ha: float
    share_pct: float


@dataclass(frozen=True)
class BalanceFinding:
    """A code whose declared area differs from the zones' by more than 1 %: both figures and the difference."""

    rule: str
    code: str
    declared_ha: float | None
    computed_ha: float
    difference_pct: float | None
    message_vi: str
    message_en: str
    severity: str = "error"


@dataclass
class BalanceTable:
    """The balance of one plan version. Shares are of the boundary's area when the plan has one, else of the zones'.

    ``no_zone_ha`` is the boundary's land in no zone; ``outside_boundary_ha`` the zones' land outside it;
    ``overlap_ha`` land counted twice by overlapping zones (the codes' sum minus the land they cover).
    """

    plan: dict[str, Any]
    rows: list[BalanceRow]
    groups: list[BalanceGroup]
    zones_ha: float
    covered_ha: float
    boundary_ha: float | None
    no_zone_ha: float | None
    outside_boundary_ha: float | None
    overlap_ha: float
    previous: dict[str, Any] | None = None
    findings: list[BalanceFinding] = field(default_factory=list)

    @property
    def base_ha(self) -> float:
        """What the shares are of: the boundary, else the land the zones cover."""
        return self.boundary_ha if self.boundary_ha else self.covered_ha

    def as_dict(self) -> dict[str, Any]:
        """The table as JSON-ready values."""
        d = asdict(self)
        d["base_ha"] = self.base_ha
        d["crs"] = "EPSG:9214"
        return d


_PLAN_SQL = sa.text(
    "SELECT id, code, version, name, level, status, decision_no, decision_date, based_on_id, "
    "attributes -> 'declared_balance' FROM planning.plans WHERE id = :id"
)
_PREVIOUS_SQL = sa.text(
    "SELECT id FROM planning.plans WHERE code = :code AND version < :v AND (:drafts OR status <> 'draft') "
    "ORDER BY version DESC LIMIT 1"
)


def plan_balance(conn: Connection, code: str, *, version: int | None = None, drafts: bool = False) -> BalanceTable:
    """The balance of version ``version`` of plan ``code`` (default: the latest one the caller may see).

    ``drafts`` lets drafts be seen (planners); otherwise only approved and superseded versions (NotFound).
    """
    row = conn.execute(
        sa.text(
            "SELECT id FROM planning.plans WHERE code = :code AND (CAST(:v AS integer) IS NULL OR version = :v) "
            "AND (:drafts OR status <> 'draft') ORDER BY (status = 'approved') DESC, version DESC LIMIT 1"
        ),
        {"code": code, "v": version, "drafts": drafts},
    ).scalar_one_or_none()
    if row is None:
        which = f"version {version} of plan {code}" if version else f"plan {code}"
        raise NotFound(f"no published {which} / không có đồ án đã công bố này")
    return balance_of(conn, int(row), drafts=drafts)


def balance_of(conn: Connection, plan_id: int, *, drafts: bool = True) -> BalanceTable:
    """The balance of plan version ``plan_id``, with the change since the version before it and the findings
    against the table its dossier declared (``plans.attributes.declared_balance``, ha by code) if any."""
    plan = conn.execute(_PLAN_SQL, {"id": plan_id}).one_or_none()
    if plan is None:
        raise NotFound(f"no plan version with id {plan_id}")
    table = _computed(conn, plan_id, plan)
    prev_id = (
        plan.based_on_id
        or conn.execute(_PREVIOUS_SQL, {"code": plan.code, "v": plan.version, "drafts": drafts}).scalar_one_or_none()
    )
    if prev_id is not None:
        prev = _computed(conn, int(prev_id), conn.execute(_PLAN_SQL, {"id": prev_id}).one())
        table.previous = prev.plan
        before = {r.code: r.area_ha for r in prev.rows}
        for r in table.rows:
            r.previous_ha = before.get(r.code, 0.0)
            r.change_ha = round(r.area_ha - r.previous_ha, 4)
        for code, ha in before.items():  # codes the new version no longer has
            if code not in {r.code for r in table.rows}:
                table.rows.append(BalanceRow(code, None, None, "", None, 0.0, 0.0, 0, ha, round(-ha, 4)))
    declared = plan[9]
    if isinstance(declared, dict) and declared:
        table.findings = compare_declared(table, {str(k): float(v) for k, v in declared.items()})
    return table


def _computed(conn: Connection, plan_id: int, plan: Any) -> BalanceTable:
    rows = conn.execute(_SQL, {"plan": plan_id}).all()
    totals = rows[-1]
    codes = rows[:-1]
    zones_m2, covered_m2, boundary_m2, no_zone_m2, outside_m2 = totals[7], totals[9], totals[10], totals[11], totals[12]
    base_m2 = boundary_m2 or covered_m2 or 1.0

    def share(m2: float) -> float:
        return round(100 * m2 / base_m2, 2)

    out = [
        BalanceRow(r[0], r[1], r[2], r[3], r[6], _ha(r[7]) or 0.0, share(r[7]), r[8])
        for r in sorted(codes, key=lambda r: -r[7])
    ]
    groups: dict[str, BalanceGroup] = {}
    for r in codes:
        g = groups.setdefault(r[3], BalanceGroup(r[3], r[4], r[5], 0.0, 0.0))
        g.area_ha += r[7]  # m² until the end of the loop
    for g in groups.values():
        g.share_pct, g.area_ha = share(g.area_ha), _ha(g.area_ha) or 0.0
    ref = {
        "id": plan.id,
        "code": plan.code,
        "version": plan.version,
        "name": plan.name,
        "level": plan.level,
        "status": plan.status,
        "decision_no": plan.decision_no,
        "decision_date": plan.decision_date.isoformat() if plan.decision_date else None,
    }
    return BalanceTable(
        ref,
        out,
        sorted(groups.values(), key=lambda g: -g.area_ha),
        _ha(zones_m2) or 0.0,
        _ha(covered_m2) or 0.0,
        _ha(boundary_m2),
        _ha(no_zone_m2),
        _ha(outside_m2),
        round(max((zones_m2 or 0.0) - (covered_m2 or 0.0), 0.0) / 10_000, 4),
    )


def compare_declared(table: BalanceTable, declared: Mapping[str, float]) -> list[BalanceFinding]:
    """A finding for each code whose declared area (ha) differs from the computed one by more than 1 %, or that
    one side has and the other not. Also fills each row's ``declared_ha``.

    >>> t = BalanceTable({}, [BalanceRow("ODT", None, None, "PNN", None, 10.0, 50.0, 3)], [], 10, 10, 20, 10, 0, 0)
    >>> [(f.code, f.declared_ha, f.computed_ha, f.difference_pct) for f in compare_declared(t, {"ODT": 10.5})]
    [('ODT', 10.5, 10.0, 5.0)]
    >>> compare_declared(t, {"ODT": 10.05})
    []
    """
    computed = {r.code: r for r in table.rows}
    findings: list[BalanceFinding] = []
    for code in sorted(set(computed) | set(declared)):
        row = computed.get(code)
        have = row.area_ha if row is not None else 0.0
        if row is not None:
            row.declared_ha = declared.get(code)
        said = declared.get(code)
        if said is not None and have and abs(said - have) <= DECLARED_TOLERANCE * have:
            continue
        if said is None and not have:
            continue
        diff = None if not have or said is None else round(100 * (said - have) / have, 2)
        said_vi = f"{said:.2f} ha" if said is not None else "không kê khai"
        said_en = f"{said:.2f} ha" if said is not None else "not declared"
        findings.append(
            BalanceFinding(
                "declared_balance",
                code,
                said,
                have,
                diff,
                f"Bảng cân bằng sử dụng đất: {code} kê khai {said_vi}, tính từ các ô quy hoạch {have:.2f} ha"
                + (f" (chênh {diff:+.2f} %)." if diff is not None else "."),
                f"Land-use balance: {code} declared {said_en}, computed from the zones {have:.2f} ha"
                + (f" ({diff:+.2f} %)." if diff is not None else "."),
            )
        )
    return findings
