"""The balance table as CSV (one row per code, then the groups and totals) and as an HTML fragment with bars in the
land-use colours, for the validation report and downloads."""

from __future__ import annotations

import csv
import html
import io

from gis_service.balance.table import BalanceTable

__all__ = ["balance_csv", "balance_html"]


def _num(v: float | None, digits: int = 2) -> str:
    return "" if v is None else f"{v:.{digits}f}"


def balance_csv(table: BalanceTable) -> str:
    """CSV: ``kind, code, name_vi, name_en, group, area_ha, share_pct, previous_ha, change_ha, declared_ha``."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(
        [
            "kind",
            "code",
            "name_vi",
            "name_en",
            "group",
            "area_ha",
            "share_pct",
            "previous_ha",
            "change_ha",
            "declared_ha",
        ]
    )
    for r in table.rows:
        w.writerow(
            [
                "code",
                r.code,
                r.name_vi or "",
                r.name_en or "",
                r.group,
                _num(r.area_ha, 4),
                _num(r.share_pct),
                _num(r.previous_ha, 4),
                _num(r.change_ha, 4),
                _num(r.declared_ha, 4),
            ]
        )
    for g in table.groups:
        w.writerow(
            ["group", g.code, g.name_vi or "", g.name_en or "", "", _num(g.area_ha, 4), _num(g.share_pct), "", "", ""]
        )
    for code, vi, en, ha in (
        ("zones", "Tổng diện tích các ô", "Zones in total", table.zones_ha),
        ("boundary", "Ranh giới quy hoạch", "Plan boundary", table.boundary_ha),
        ("no_zone", "Đất không thuộc ô nào", "Land in no zone", table.no_zone_ha),
        ("outside", "Ô ngoài ranh giới", "Zones outside the boundary", table.outside_boundary_ha),
    ):
        w.writerow(["total", code, vi, en, "", _num(ha, 4), "", "", "", ""])
    return out.getvalue()


def balance_html(table: BalanceTable) -> str:
    """An HTML ``<section>`` (no page around it): the table with a bar per code in its map colour, then findings."""
    e = html.escape
    p = table.plan
    head = (
        f"<h2>Bảng cân bằng sử dụng đất / Land-use balance — {e(str(p['code']))} v{p['version']}</h2>"
        "<table class='balance'><thead><tr><th>Mã / Code</th><th>Loại đất / Land use</th><th>ha</th><th>%</th>"
        "<th></th><th>± ha</th><th>Kê khai / Declared ha</th></tr></thead><tbody>"
    )
    body = []
    for r in table.rows:
        colour = e(r.color or "#cccccc")
        bar = f"<div style='background:{colour};width:{max(r.share_pct, 0):.1f}%;height:0.8em'></div>"
        body.append(
            f"<tr><td>{e(r.code)}</td><td>{e(r.name_vi or '')}<br><small>{e(r.name_en or '')}</small></td>"
            f"<td>{_num(r.area_ha)}</td><td>{_num(r.share_pct)}</td><td style='width:20%'>{bar}</td>"
            f"<td>{_num(r.change_ha)}</td><td>{_num(r.declared_ha)}</td></tr>"
        )
    totals = (
        f"<tr><th colspan='2'>Tổng các ô / Zones</th><td>{_num(table.zones_ha)}</td><td colspan='4'></td></tr>"
        f"<tr><th colspan='2'>Ranh giới / Boundary</th><td>{_num(table.boundary_ha)}</td><td colspan='4'></td></tr>"
        f"<tr><th colspan='2'>Không thuộc ô nào / In no zone</th><td>{_num(table.no_zone_ha)}</td>"
        "<td colspan='4'></td></tr>"
    )
    findings = "".join(f"<li>{e(f.message_vi)}<br><small>{e(f.message_en)}</small></li>" for f in table.findings)
    return head + "".join(body) + totals + "</tbody></table>" + (f"<ul>{findings}</ul>" if findings else "")
