"""The land-use balance table of a dossier's zones, exported with its validation report, and compared with the table
the dossier declares (``BangCanBangSuDungDat``, :mod:`gis_service.balance.declared`).

The same table as a published version's (:mod:`gis_service.balance`), computed from the zones as read and
repaired, without a database: areas in EPSG:9214, shares of the land the zones cover (a dossier's boundary is not
read here), each code with its group, names and map colour from the reference list.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from converters.validation.report import Finding, ValidationReport
from gis_service.balance import BalanceGroup, BalanceRow, BalanceTable, balance_html, compare_declared
from gis_service.balance.declared import DECLARED_LAYER, find_declared_balance
from gis_service.errors import ValidationError
from gis_service.reference_data import land_use_codes

__all__ = ["BalanceSection", "add_balance", "dossier_balance"]


@dataclass
class BalanceSection:
    """The report's section holding the balance table (in the JSON as ``land_use_balance``, and in the HTML)."""

    table: BalanceTable
    name: str = "land_use_balance"

    def to_dict(self) -> dict[str, Any]:
        """The table as JSON-ready values."""
        return self.table.as_dict()

    def html(self) -> str:
        """The table with a bar per code in its map colour."""
        return balance_html(self.table)


def dossier_balance(source: str, zones: list[tuple[np.ndarray, np.ndarray]]) -> BalanceTable | None:
    """The balance of the zones read (shapes in EPSG:9214 with their mapped codes), or None with no zone."""
    if not zones:
        return None
    geoms = np.concatenate([g for g, _ in zones])
    codes = np.concatenate([c for _, c in zones])
    areas = shapely.area(geoms)
    covered = float(shapely.area(shapely.union_all(geoms)))
    base = covered or 1.0
    reference = {c.code: c for c in land_use_codes()}
    by_code: dict[str, tuple[float, int]] = {}
    for code, area in zip(codes.tolist(), areas.tolist(), strict=True):
        if code is None:
            continue  # a zone with no code is its own finding
        m2, n = by_code.get(str(code), (0.0, 0))
        by_code[str(code)] = (m2 + area, n + 1)
    rows: list[BalanceRow] = []
    groups: dict[str, BalanceGroup] = {}
    for code, (m2, n) in sorted(by_code.items(), key=lambda kv: -kv[1][0]):
        ref = reference.get(code)
        group = (ref.group_code if ref else None) or code
        rows.append(
            BalanceRow(
                code,
                ref.name_vi if ref else None,
                ref.name_en if ref else None,
                group,
                ref.color_hex if ref else None,
                round(m2 / 10_000, 4),
                round(100 * m2 / base, 2),
                n,
            )
        )
        if group not in groups:
            named = reference.get(group)
            names = (named.name_vi, named.name_en) if named else (None, None)
            groups[group] = BalanceGroup(group, names[0], names[1], 0.0, 0.0)
        groups[group].area_ha += m2  # m² until the end of the loop
    for each in groups.values():
        each.share_pct, each.area_ha = round(100 * each.area_ha / base, 2), round(each.area_ha / 10_000, 4)
    zones_m2 = float(areas.sum())
    return BalanceTable(
        {"id": None, "code": source, "version": "", "name": source, "level": None, "status": "dossier"},
        rows,
        sorted(groups.values(), key=lambda g: -g.area_ha),
        round(zones_m2 / 10_000, 4),
        round(covered / 10_000, 4),
        None,
        None,
        None,
        round(max(zones_m2 - covered, 0.0) / 10_000, 4),
    )


def add_balance(report: ValidationReport, path: Path, zones: list[tuple[np.ndarray, np.ndarray]]) -> None:
    """Add the zones' balance to ``report``, and a finding for each code whose declared area differs by over 1 %."""
    table = dossier_balance(path.name, zones)
    if table is None:
        return
    try:
        declared = find_declared_balance(path) if path.is_dir() else None
    except ValidationError as exc:
        report.add(Finding("layer-unreadable", layer=DECLARED_LAYER, details={"detail": exc.message}))
        declared = None
    for f in compare_declared(table, declared) if declared else []:
        said = "-" if f.declared_ha is None else f"{f.declared_ha:.2f}"
        details = {"declared": said, "computed": f"{f.computed_ha:.2f}"}
        report.add(Finding("balance-declared", layer=DECLARED_LAYER, code=f.code, details=details))
    report.sections.append(BalanceSection(table))
