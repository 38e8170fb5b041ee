"""The validation report as one HTML page for the consultant: the verdict, counts per rule, each finding with its
messages, feature, VN-2000 coordinates and a small map thumbnail (PNG, inline), then the report's sections.

Thumbnails are drawn with Pillow: the feature in red over its layer's shapes in grey, 40 to 400 m across (written
in a corner), north up. One per finding with a place, up to :data:`MAX_THUMBNAILS` (then none: the coordinates
still say where).
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any

import numpy as np
import shapely
from PIL import Image, ImageDraw

from converters.validation.report import Finding, ValidationReport
from converters.validation.rules import RULES

__all__ = ["report_html", "thumbnail_png"]

MAX_THUMBNAILS = 300
THUMB_PX = 160
MIN_VIEW_M = 40.0  # the smallest square shown around a finding, so a point or a tiny sliver has surroundings
MAX_VIEW_M = 400.0


def _rings(shape: Any) -> list[np.ndarray]:
    """The shape's outlines and lines as coordinate arrays."""
    out: list[np.ndarray] = []
    for part in shapely.get_parts(shape):
        if part.geom_type == "Polygon":
            out.append(np.asarray(part.exterior.coords))
            out += [np.asarray(r.coords) for r in part.interiors]
        elif part.geom_type in ("LineString", "LinearRing", "Point"):
            out.append(np.asarray(part.coords))
        else:
            out += _rings(part)
    return out


_TREES: dict[int, tuple[np.ndarray, shapely.STRtree]] = {}


def _tree(shapes: np.ndarray) -> shapely.STRtree:
    """An STRtree of a layer's shapes, built once for all of its thumbnails (the last layer's is kept)."""
    cached = _TREES.get(id(shapes))
    if cached is None or cached[0] is not shapes:
        _TREES.clear()
        cached = _TREES[id(shapes)] = (shapes, shapely.STRtree(shapes))
    return cached[1]


def _draw_context(draw: ImageDraw.ImageDraw, near: np.ndarray, px: Any) -> None:
    """The layer's shapes around a finding: filled light grey, their holes white, the largest first so that a zone
    lying in another's hole is drawn over it (a gap shows white, an overlap grey on grey)."""
    for g in sorted(near, key=lambda g: -g.area):
        for part in shapely.get_parts(g):
            if part.geom_type == "Polygon":
                draw.polygon(px(np.asarray(part.exterior.coords)), fill=(225, 225, 225), outline=(140, 140, 140))
                for hole in part.interiors:
                    draw.polygon(px(np.asarray(hole.coords)), fill="white", outline=(140, 140, 140))
            else:
                for ring in _rings(part):
                    if len(ring) > 1:
                        draw.line(px(ring), fill=(140, 140, 140), width=1)


def thumbnail_png(shape: Any, context: np.ndarray | None = None, size: int = THUMB_PX) -> bytes:
    """A PNG of ``shape`` (red) among ``context`` (grey), in EPSG:9214 metres, north up."""
    x0, y0, x1, y1 = shape.bounds
    side = min(max(x1 - x0, y1 - y0, MIN_VIEW_M) * 1.3, MAX_VIEW_M)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    view = (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)
    scale = size / side
    img = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(img)

    def px(coords: np.ndarray) -> list[tuple[float, float]]:
        return [((x - view[0]) * scale, (view[3] - y) * scale) for x, y in coords[:, :2]]

    if context is not None and len(context):
        _draw_context(draw, context[_tree(context).query(shapely.box(*view))], px)
    for ring in _rings(shape):
        pts = px(ring)
        if len(pts) == 1:
            x, y = pts[0]
            draw.ellipse((x - 4, y - 4, x + 4, y + 4), outline=(200, 0, 0), width=2)
        else:
            draw.line(pts, fill=(200, 0, 0), width=2)
    draw.text((4, size - 14), f"{side:.0f} m", fill=(60, 60, 60))  # the side of the view, for scale
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def _thumbnail(f: Finding, report: ValidationReport, drawn: list[int]) -> str:
    if f.shape is None or drawn[0] >= MAX_THUMBNAILS:
        return ""
    drawn[0] += 1
    png = thumbnail_png(f.shape, report.shapes.get(f.layer or ""))
    alt = html.escape(f"{f.rule} E {f.e} N {f.n}")
    data = base64.b64encode(png).decode()
    return f'<img alt="{alt}" width="{THUMB_PX}" height="{THUMB_PX}" src="data:image/png;base64,{data}">'


def _row(f: Finding, report: ValidationReport, drawn: list[int]) -> str:
    where = f"E {f.e:,.2f}<br>N {f.n:,.2f}" if f.e is not None and f.n is not None else ""
    area = f"{f.area_m2:,.2f} m²" if f.area_m2 is not None else ""
    cells = [
        f'<span class="{f.severity}">{html.escape(f.severity)}</span><br><code>{html.escape(f.rule)}</code>',
        f"{html.escape(f.message_vi)}<br><i>{html.escape(f.message_en)}</i>",
        html.escape(f.layer or ""),
        html.escape("" if f.feature is None else str(f.feature)),
        html.escape(f.code or ""),
        where,
        area,
        _thumbnail(f, report, drawn),
    ]
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


_CSS = """
body{font-family:"DejaVu Sans",sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:4px;vertical-align:top;font-size:13px}
.error{color:#b00;font-weight:bold}.warning{color:#a60}.pass{color:#070}.fail{color:#b00}
"""


def report_html(report: ValidationReport) -> str:
    """The whole report as a self-contained HTML page (thumbnails inline)."""
    verdict = (
        '<p class="pass">Đạt — không có lỗi / Passed: no error</p>'
        if report.passed
        else f'<p class="fail">Không đạt — {report.errors} lỗi / Failed: {report.errors} error(s)</p>'
    )
    counts = "".join(
        f"<tr><td><code>{html.escape(rule)}</code></td><td>{html.escape(RULES[rule].title_vi)}"
        f" / {html.escape(RULES[rule].title_en)}</td><td>{RULES[rule].severity}</td><td>{n}</td></tr>"
        for rule, n in sorted(report.counts().items())
    )
    drawn = [0]
    rows = "".join(_row(f, report, drawn) for f in report.findings)
    suggestions = "".join(f"<li>{html.escape(s['sentence'])}</li>" for s in report.suggestions)
    sections = "".join(f"<section><h2>{html.escape(s.name)}</h2>{s.html()}</section>" for s in report.sections)
    return f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Kết quả kiểm tra hồ sơ {html.escape(report.source)}</title>
<style>{_CSS}</style></head><body>
<h1>Kết quả kiểm tra hồ sơ / Validation report: {html.escape(report.source)}</h1>
{verdict}
<p>{report.errors} lỗi (errors), {report.warnings} cảnh báo (warnings). Tọa độ VN-2000 / TM-3 107°00' (EPSG:9214).</p>
<table><tr><th>Quy tắc / Rule</th><th></th><th>Mức / Severity</th><th>Số / Count</th></tr>{counts}</table>
{f"<h2>Đề xuất ánh xạ trường / Suggested mapping</h2><ul>{suggestions}</ul>" if suggestions else ""}
<h2>Chi tiết / Findings</h2>
<table><tr><th>Mức / Rule</th><th>Nội dung / Message</th><th>Lớp / Layer</th><th>Đối tượng / Feature</th>
<th>Mã / Code</th><th>Vị trí / Where</th><th>Diện tích / Area</th><th>Bản đồ / Map</th></tr>
{rows}</table>
{sections}
</body></html>
"""
