"""The printable report of a permit check: HTML (inline SVG drawing) and PDF (reportlab), Vietnamese or English.

Both show a drawing of the lot (EPSG:9214 metres, north up, with a scale bar): the zones it stands in with their
official colours, the footprint, the red line, the building line and the measured setback; then the verdict, the
rule table and the plan reference. The drawing is built once as plain shapes and written by either backend.

The PDF needs a TrueType font with Vietnamese letters: DejaVu Sans (Debian ``fonts-dejavu-core``, which the set-up
installs), looked for in the usual font folders.
"""

from __future__ import annotations

import html
import io
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gis_service import printing
from gis_service.printing import (
    FONT_DIRS,
    Figure,
    Frame,
    Shape,
    check_lang,
    clipped,
    fonts,
    geojson_parts,
    north_arrow,
    scale_bar,
    svg,
)

__all__ = ["Figure", "figure", "report_html", "report_pdf"]

RULE_NAMES = {
    "land_use": ("Chức năng sử dụng đất", "Land use"),
    "inside_lot": ("Trong ranh giới lô đất", "Inside the lot"),
    "building_line": ("Chỉ giới xây dựng", "Building line"),
    "red_line_setback": ("Khoảng lùi so với chỉ giới đường đỏ", "Setback from the red line"),
    "density": ("Mật độ xây dựng", "Building density"),
    "floors": ("Tầng cao", "Floors"),
    "height": ("Chiều cao", "Height"),
    "far": ("Hệ số sử dụng đất", "Floor area ratio"),
    "frontage": ("Bề rộng mặt tiền", "Frontage"),
    "lot_area": ("Diện tích lô đất", "Lot area"),
    "access": ("Tiếp cận giao thông", "Access"),
    "ground_elevation": ("Cao độ nền", "Ground level"),
    "architecture": ("Kiến trúc", "Architecture"),
    "heritage_appearance": ("Cảnh quan di sản", "Heritage appearance"),
}
STATUS = {
    "pass": ("Đạt", "Pass", "#1b7f3a"),
    "fail": ("Không đạt", "Fail", "#b3261e"),
    "needs_review": ("Cần xem xét", "Review", "#a15c00"),
    "warn": ("Cần xem xét", "Review", "#a15c00"),  # checks recorded before the status was renamed
    "not_applicable": ("Không áp dụng", "N/A", "#5f6368"),
    "officer_judgement": ("Cán bộ đánh giá", "Officer's judgement", "#3c4a8a"),
}
VERDICT = {
    "compliant": ("PHÙ HỢP quy hoạch và QCVN 01:2021/BXD", "COMPLIANT with the plan and QCVN 01:2021/BXD", "#1b7f3a"),
    "not_compliant": ("KHÔNG PHÙ HỢP", "NOT COMPLIANT", "#b3261e"),
    "needs_review": ("CẦN CÁN BỘ XEM XÉT (thiếu số liệu)", "NEEDS REVIEW (missing data)", "#a15c00"),
}
TEXT = {
    "title": ("Kết quả kiểm tra cấp phép xây dựng", "Building permit check"),
    "precheck": ("Kiểm tra sơ bộ (không lưu hồ sơ)", "Pre-check (not recorded)"),
    "drawing": ("Sơ đồ lô đất (VN-2000 / TM-3 107°00′, EPSG:9214)", "Lot drawing (VN-2000 / TM-3 107°00′, EPSG:9214)"),
    "rules": ("Các chỉ tiêu kiểm tra", "Rules checked"),
    "plan": ("Quy hoạch áp dụng", "Plan applied"),
    "rule": ("Chỉ tiêu", "Rule"),
    "zone": ("Ô", "Zone"),
    "status": ("Kết quả", "Result"),
    "value": ("Đo được", "Measured"),
    "limit": ("Giới hạn", "Limit"),
    "source": ("Căn cứ", "Source"),
    "message": ("Diễn giải", "Explanation"),
    "lot": ("Lô đất", "Lot"),
    "footprint": ("Công trình", "Footprint"),
    "red_line": ("Chỉ giới đường đỏ", "Red line"),
    "building_line": ("Chỉ giới xây dựng", "Building line"),
    "setback": ("Khoảng lùi đo được", "Measured setback"),
    "none": ("Không có quy hoạch đã phê duyệt tại vị trí này", "No approved plan at this place"),
    "decision": ("Quyết định", "Decision"),
    "parcel": ("Thửa đất", "Parcel"),
    "application": ("Hồ sơ", "Application"),
    "generated": ("Lập lúc", "Generated"),
    "area": ("Diện tích", "Area"),
    "pinned": ("Kết quả tính lại trên đúng phiên bản quy hoạch đã dùng", "Re-run on the exact plan version used"),
}


def _t(key: str, lang: str) -> str:
    return TEXT[key][0 if lang == "vi" else 1]


# ---- the drawing as plain shapes ------------------------------------------------------------------------------
def _frame(pts: list[tuple[float, float]], width: float, height: float) -> Frame:
    """Around the points with a margin, at the same scale both ways, centred in the figure."""
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    pad = max(4.0, 0.25 * max(max(xs) - min(xs), max(ys) - min(ys)))
    x0, x1, y0, y1 = min(xs) - pad, max(xs) + pad, min(ys) - pad, max(ys) + pad
    # the same scale both ways: widen the view to the figure's shape, then cut everything to it
    aspect = (width - 20) / (height - 52)
    if (x1 - x0) / (y1 - y0) < aspect:
        grow = ((y1 - y0) * aspect - (x1 - x0)) / 2
        x0, x1 = x0 - grow, x1 + grow
    else:
        grow = ((x1 - x0) / aspect - (y1 - y0)) / 2
        y0, y1 = y0 - grow, y1 + grow
    scale = min((width - 20) / (x1 - x0), (height - 52) / (y1 - y0))
    ox = 10 + ((width - 20) - scale * (x1 - x0)) / 2
    oy = 10 + ((height - 52) - scale * (y1 - y0)) / 2
    return Frame(x0, y0, x1, y1, scale, ox, oy)


def figure(drawing: dict[str, Any], lang: str = "vi", *, width: float = 460, height: float = 270) -> Figure:
    """The drawing of a check (``measurements["drawing"]``) as shapes in page units (y down), north up."""
    lot = geojson_parts(drawing.get("lot"))
    pts = [p for poly in lot for ring in poly for p in ring] or [
        p for poly in geojson_parts(drawing.get("footprint")) for ring in poly for p in ring
    ]
    fr = _frame(pts, width, height)
    shapes = _map_shapes(drawing, lot, fr)
    shapes += _setback_shapes(drawing, fr)
    shapes += _furniture(fr, lang, width, height)
    return Figure(width, height, shapes)


def _map_shapes(drawing: dict[str, Any], lot: list[list[list[tuple[float, float]]]], fr: Frame) -> list[Shape]:
    """Zones (labelled), the lot, the footprint, the red line and the building line."""
    shapes: list[Shape] = []
    for z in drawing.get("zones") or []:
        for poly in geojson_parts(clipped(z.get("geom"), fr.view)):
            rings = fr.poly(poly)
            shapes.append(Shape("polygon", rings, fill=z.get("color") or "#dddddd", stroke="#777777", opacity=0.45))
            cx = sum(p[0] for p in rings[0]) / len(rings[0])
            cy = sum(p[1] for p in rings[0]) / len(rings[0])
            shapes.append(Shape("text", [[(cx, cy)]], fill="#333333", text=f"{z['zone_code']} ({z['land_use_code']})"))
    for poly in lot:
        shapes.append(Shape("polygon", fr.poly(poly), stroke="#000000", width=1.6, dash=(5, 3)))
    for poly in geojson_parts(drawing.get("footprint")):
        shapes.append(Shape("polygon", fr.poly(poly), fill="#555555", stroke="#111111", width=1.2, opacity=0.75))
    for line in geojson_parts(clipped(drawing.get("red_line"), fr.view)):
        shapes.append(Shape("line", [[fr.tr(p) for p in line[0]]], stroke="#e00000", width=2.4))
    for line in geojson_parts(clipped(drawing.get("building_line"), fr.view)):
        shapes.append(Shape("line", [[fr.tr(p) for p in line[0]]], stroke="#0050c8", width=1.6, dash=(6, 3)))
    return shapes


def _setback_shapes(drawing: dict[str, Any], fr: Frame) -> list[Shape]:
    """The measured setback, a line with its length."""
    setback = geojson_parts(drawing.get("setback"))
    if not (setback and len(setback[0][0]) == 2):
        return []
    a, b = setback[0][0]
    length = math.dist(a, b)
    pa, pb = fr.tr(a), fr.tr(b)
    mid = ((pa[0] + pb[0]) / 2 + 4, (pa[1] + pb[1]) / 2)
    return [
        Shape("line", [[pa, pb]], stroke="#e07000", width=1.6),
        Shape("text", [[mid]], fill="#e07000", text=f"{length:.2f} m", size=10),
    ]


def _furniture(fr: Frame, lang: str, width: float, height: float) -> list[Shape]:
    """The scale bar, the north arrow and the legend."""
    # scale bar: a round length near a fifth of the width; the north arrow in the top right corner
    by = height - 20
    shapes = scale_bar(12, by, fr.scale, (fr.x1 - fr.x0) / 5 * fr.scale) + north_arrow(width - 16, 8, 20)
    legend = [
        ("#e00000", _t("red_line", lang)),
        ("#0050c8", _t("building_line", lang)),
        ("#555555", _t("footprint", lang)),
        ("#e07000", _t("setback", lang)),
    ]
    lx, ly = 12.0, by - 12  # the legend on a row above the scale bar
    for color, label in legend:
        shapes.append(Shape("line", [[(lx, ly), (lx + 14, ly)]], stroke=color, width=3))
        shapes.append(Shape("text", [[(lx + 18, ly + 3)]], fill="#000000", text=label, size=8))
        lx += 24 + 4.4 * len(label)
    return shapes


# ---- text parts shared by both backends -------------------------------------------------------------------------
UNITS_VI = {"floors": "tầng", "ratio": "lần"}


def _fmt(value: Any, unit: str | None, lang: str = "en") -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        value = f"{value:g}"
    if unit == "ratio" and lang == "en":
        unit = None
    elif lang == "vi":
        unit = UNITS_VI.get(unit or "", unit)
    return f"{value} {unit}" if unit else str(value)


def _rows(result: dict[str, Any], lang: str) -> list[list[str]]:
    rows = []
    for r in result["rules"]:
        names = RULE_NAMES.get(r["id"], (r["id"], r["id"]))
        status = STATUS[r["status"]]
        rows.append(
            [
                names[0] if lang == "vi" else names[1],
                (r.get("zone") or {}).get("zone_code") or (r.get("road") or {}).get("name") or "",
                status[0] if lang == "vi" else status[1],
                _fmt(r["value"], r["unit"], lang),
                _fmt(r["limit"], r["unit"], lang),
                r["source"],
                r["message_vi"] if lang == "vi" else r["message_en"],
            ]
        )
    return rows


def _plan_lines(result: dict[str, Any], lang: str, context: dict[str, Any]) -> list[str]:
    lines = []
    if context.get("reference"):
        lines.append(f"{_t('application', lang)}: {context['reference']} — check {context.get('check_id', '')}")
    if context.get("pinned"):
        lines.append(_t("pinned", lang))
    plan = result.get("plan")
    if plan:
        lines.append(f"{plan['code']} v{plan['version']} — {plan['name']}")
        lines.append(
            f"{_t('decision', lang)}: {plan.get('decision_no') or '—'} ({plan.get('decision_date') or '—'}), "
            f"{plan.get('approving_authority') or ''}".rstrip(", ")
        )
        for z in plan.get("zones", []):
            lines.append(
                f"{_t('zone', lang)} {z['zone_code']} ({z['land_use_code']}), row_version {z['row_version']}: "
                f"{_t('footprint', lang).lower()} {z['footprint_m2']} m², {_t('lot', lang).lower()} {z['lot_m2']} m²"
            )
    else:
        lines.append(_t("none", lang))
    parcel = result.get("parcel")
    if parcel:
        lines.append(
            f"{_t('parcel', lang)}: {parcel['ward']}, tờ {parcel['sheet_no']} thửa {parcel['parcel_no']}"
            + (f", {parcel['address']}" if parcel.get("address") else "")
        )
    lines.append(
        f"{_t('area', lang)}: {_t('lot', lang).lower()} {result['lot']['area_m2']} m², "
        f"{_t('footprint', lang).lower()} {result['footprint']['area_m2']} m²"
    )
    red = result.get("red_line")
    if red:
        lines.append(
            f"{_t('red_line', lang)}: {red.get('road_name') or ''} ({red.get('width_m') or '—'} m), "
            f"{_t('setback', lang).lower()} {red['footprint_distance_m']} m"
        )
    lines.append(f"{_t('generated', lang)}: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}")
    return lines


def report_html(
    result: dict[str, Any], drawing: dict[str, Any], *, lang: str = "vi", context: dict[str, Any] | None = None
) -> str:
    """The report as a standalone HTML page (no external resources)."""
    lang = check_lang(lang)
    context = context or {}
    v = VERDICT[result["verdict"]]
    e = html.escape
    head = ["rule", "zone", "status", "value", "limit", "source", "message"]
    rows = "".join(
        "<tr>"
        + "".join(
            f'<td class="{r["status"]}">{e(c)}</td>' if i == 2 else f"<td>{e(c)}</td>" for i, c in enumerate(cells)
        )
        + "</tr>"
        for cells, r in zip(_rows(result, lang), result["rules"], strict=True)
    )
    plan = "".join(f"<li>{e(line)}</li>" for line in _plan_lines(result, lang, context))
    colors = "".join(f"td.{k}{{color:{c[2]};font-weight:bold}}" for k, c in STATUS.items())
    subtitle = "" if context.get("reference") else f"<p>{e(_t('precheck', lang))}</p>"
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{e(_t("title", lang))}</title>
<style>
body{{font-family:"DejaVu Sans",Arial,sans-serif;margin:24px;color:#222;font-size:13px}}
h1{{font-size:20px;margin:0 0 4px}} .verdict{{font-size:16px;font-weight:bold;color:{v[2]};margin:8px 0}}
table{{border-collapse:collapse;width:100%}} th,td{{border:1px solid #bbb;padding:4px 6px;vertical-align:top}}
th{{background:#eee;text-align:left}} {colors}
@media print{{body{{margin:0}} svg{{max-width:100%}}}}
</style></head><body>
<h1>{e(_t("title", lang))}</h1>{subtitle}
<div class="verdict">{e(v[0] if lang == "vi" else v[1])}</div>
<h2>{e(_t("drawing", lang))}</h2>
{svg(figure(drawing, lang))}
<h2>{e(_t("rules", lang))}</h2>
<table><thead><tr>{"".join(f"<th>{e(_t(h, lang))}</th>" for h in head)}</tr></thead><tbody>{rows}</tbody></table>
<h2>{e(_t("plan", lang))}</h2><ul>{plan}</ul>
</body></html>"""


def _pdf_table(result: dict[str, Any], lang: str, body: Any) -> Any:
    """The rules' answers as a reportlab table, each status in its colour."""
    from reportlab.lib import colors
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Table, TableStyle

    head = [_t(h, lang) for h in ("rule", "zone", "status", "value", "limit", "source", "message")]
    data = [[Paragraph(c, body) for c in head]]
    styles = [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    for i, (cells, r) in enumerate(zip(_rows(result, lang), result["rules"], strict=True), start=1):
        data.append([Paragraph(html.escape(c), body) for c in cells])
        styles.append(("TEXTCOLOR", (2, i), (2, i), colors.HexColor(STATUS[r["status"]][2])))
    widths = [x * mm for x in (34, 12, 20, 24, 18, 58, 95)]
    table = Table(data, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle(styles))
    return table


def report_pdf(
    result: dict[str, Any],
    drawing: dict[str, Any],
    *,
    lang: str = "vi",
    context: dict[str, Any] | None = None,
    font_dirs: tuple[Path, ...] = FONT_DIRS,
) -> bytes:
    """The report as an A4 PDF (reportlab: pure Python, no browser at run time)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    lang = check_lang(lang)
    context = context or {}
    font, bold = fonts(font_dirs)
    body = ParagraphStyle("body", fontName=font, fontSize=8, leading=10)
    h1 = ParagraphStyle("h1", fontName=bold, fontSize=15, leading=19, spaceAfter=4)
    h2 = ParagraphStyle("h2", fontName=bold, fontSize=11, leading=14, spaceBefore=6, spaceAfter=3)
    v = VERDICT[result["verdict"]]
    verdict_style = ParagraphStyle("v", fontName=bold, fontSize=12, leading=15, textColor=colors.HexColor(v[2]))
    d = printing.drawing(figure(drawing, lang, width=440, height=235), font)
    table = _pdf_table(result, lang, body)

    story: list[Any] = [Paragraph(html.escape(_t("title", lang)), h1)]
    if not context.get("reference"):
        story.append(Paragraph(html.escape(_t("precheck", lang)), body))
    story += [
        Paragraph(html.escape(v[0] if lang == "vi" else v[1]), verdict_style),
        Paragraph(html.escape(_t("drawing", lang)), h2),
        d,
        Paragraph(html.escape(_t("rules", lang)), h2),
        table,
        Paragraph(html.escape(_t("plan", lang)), h2),
    ]
    story += [Paragraph("• " + html.escape(line), body) for line in _plan_lines(result, lang, context)]
    story.append(Spacer(1, 4))
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=_t("title", lang),
        author="Huế 3D planning service",
    )
    doc.build(story)
    return buf.getvalue()
