"""The certificate as a document: an A4 PDF (reportlab) and a standalone HTML page, in Vietnamese or English.

Laid out like an official Vietnamese document: the issuer and number on the left, the Quốc hiệu and the place and
date on the right, the title (and, for a certificate of the plan on a date, that date in both languages), then the
numbered sections of :mod:`gis_service.certificates.sections` (the parcel, the map extract at its scale with north
arrow, scale bar and legend, the zones and their rules, the red and building lines, the envelope, the plans with
their decisions, what cannot be settled), and the issue block (number, time, issuer, verify address and its QR
code). Every page's footer names the plan versions the content was drawn from. A certificate without a number is a
preview, marked so across every page.

:func:`render_pdf` is deterministic: the same content and stamp give the same bytes (reportlab's invariant mode,
the PDF's dates set to the time of issue), so an issued certificate can be rendered again byte for byte.
:func:`render_html` escapes every value and has no script (the site's policy allows no inline script).
"""

from __future__ import annotations

import html
import io
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from gis_service import printing
from gis_service.certificates.content import CertificateContent
from gis_service.certificates.figures import MM, legend_figure, map_figure, qr_figure
from gis_service.certificates.sections import (
    MONTHS_EN,
    Bullets,
    KeyValues,
    MapBlock,
    Section,
    Table,
    as_of_line,
    sections,
    t,
)
from gis_service.errors import ValidationError
from gis_service.printing import FONT_DIRS, check_lang

__all__ = ["VIETNAM_TIME", "Stamp", "render_html", "render_pdf"]

#: Asia/Ho_Chi_Minh: UTC+7 all year (no daylight saving since 1975), so no time-zone database is needed.
VIETNAM_TIME = timezone(timedelta(hours=7), "ICT")


@dataclass(frozen=True)
class Stamp:
    """What makes a rendering an issued certificate (or a preview).

    Parameters
    ----------
    number
        The serial number; ``None`` for a preview, marked "BẢN XEM TRƯỚC / PREVIEW — không có giá trị pháp lý"
        across every page.
    issued_at
        The time of issue, timezone-aware; shown in Việt Nam time (UTC+7).
    issued_by
        The officer's user name or display name (``None``: issued automatically).
    verify_url
        The public verify address, printed and encoded as a QR code.
    lang
        ``vi`` or ``en``.
    """

    number: str | None
    issued_at: datetime
    issued_by: str | None
    verify_url: str | None
    lang: str = "vi"

    def checked(self) -> Stamp:
        """The stamp with its language normalised (raises ValidationError for a naive time or another language)."""
        if self.issued_at.tzinfo is None or self.issued_at.utcoffset() is None:
            raise ValidationError("issued_at must carry its time zone (e.g. 2025-03-05T14:30:00+07:00)")
        return Stamp(self.number, self.issued_at, self.issued_by, self.verify_url, check_lang(self.lang))

    @property
    def local_time(self) -> datetime:
        """The time of issue in Việt Nam."""
        return self.issued_at.astimezone(VIETNAM_TIME)


def _place_date(stamp: Stamp) -> str:
    d = stamp.local_time
    if stamp.lang == "vi":
        return f"Huế, ngày {d.day:02d} tháng {d.month:02d} năm {d.year}"
    return f"Huế, {d.day} {MONTHS_EN[d.month - 1]} {d.year}"


def _issued_at(stamp: Stamp) -> str:
    d = stamp.local_time
    if stamp.lang == "vi":
        return f"{d:%H:%M:%S} ngày {d:%d/%m/%Y} (giờ Việt Nam, UTC+7)"
    return f"{d:%Y-%m-%d %H:%M:%S} (Viet Nam time, UTC+7)"


def _number(stamp: Stamp) -> str:
    return stamp.number or t("preview", stamp.lang)


def _issue_pairs(stamp: Stamp) -> list[tuple[str, str]]:
    return [
        (t("number", stamp.lang), _number(stamp)),
        (t("issued_at", stamp.lang), _issued_at(stamp)),
        (t("issued_by", stamp.lang), stamp.issued_by or t("auto", stamp.lang)),
        (t("verify", stamp.lang), stamp.verify_url or "—"),
    ]


def footer_text(content: CertificateContent, lang: str) -> str:
    """The footer line: the plan versions (and decisions) the content was drawn from."""
    plans = [f"{p.code} v{p.version}" + (f" ({p.decision_no})" if p.decision_no else "") for p in content.plans]
    return f"{t('footer', lang)}: " + ("; ".join(plans) if plans else "—")


# -- PDF ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Styles:
    font: str
    bold: str
    sans: str
    sans_bold: str
    body: Any
    small: Any
    cell: Any
    cell_bold: Any
    head: Any
    section: Any
    title: Any
    subtitle: Any
    centre: Any
    centre_bold: Any


def _styles(font_dirs: tuple[Path, ...]) -> _Styles:
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.styles import ParagraphStyle

    font, bold = printing.fonts(font_dirs, "DejaVuSerif")
    sans, sans_bold = printing.fonts(font_dirs, "DejaVuSans")
    body = ParagraphStyle("body", fontName=font, fontSize=9.5, leading=12.5)
    cell = ParagraphStyle("cell", fontName=font, fontSize=8, leading=9.6)
    return _Styles(
        font=font,
        bold=bold,
        sans=sans,
        sans_bold=sans_bold,
        body=body,
        small=ParagraphStyle("small", parent=body, fontSize=7.5, leading=9.5),
        cell=cell,
        cell_bold=ParagraphStyle("cellb", parent=cell, fontName=bold),
        head=ParagraphStyle("head", parent=cell, fontName=bold),
        section=ParagraphStyle("section", fontName=bold, fontSize=10.5, leading=13, spaceBefore=5, spaceAfter=2),
        title=ParagraphStyle("title", fontName=bold, fontSize=15, leading=19, alignment=TA_CENTER, spaceBefore=10),
        subtitle=ParagraphStyle("sub", fontName=font, fontSize=9.5, leading=12, alignment=TA_CENTER, spaceAfter=4),
        centre=ParagraphStyle("centre", parent=body, alignment=TA_CENTER, fontSize=9, leading=11.5),
        centre_bold=ParagraphStyle("centreb", parent=body, fontName=bold, alignment=TA_CENTER, fontSize=9, leading=12),
    )


def _p(text: str, style: Any) -> Any:
    from reportlab.platypus import Paragraph

    return Paragraph(html.escape(text).replace("\n", "<br/>"), style)


def _heading(content: CertificateContent, stamp: Stamp, st: _Styles, width: float) -> list[Any]:
    """The issuer and number (left), the Quốc hiệu with the place and date (right), then the title (and the date
    the plan is given as of)."""
    from reportlab.platypus import Paragraph, Table, TableStyle

    lang = stamp.lang
    left = [
        _p(t("authority", lang), st.centre_bold),
        _p("———", st.centre),
        _p(f"{t('number', lang)}: {_number(stamp)}", st.centre),
    ]
    right = [
        _p(t("nation", lang), st.centre_bold),
        Paragraph(f"<u>{html.escape(t('motto', lang))}</u>", st.centre_bold),
    ]
    if t("nation_en", lang):
        right.append(_p(t("nation_en", lang), st.small))
    right.append(_p(_place_date(stamp), st.centre))
    table = Table([[left, right]], colWidths=[width * 0.42, width * 0.58])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    out = [table, _p(t("title", lang), st.title), _p(t("subtitle", lang), st.subtitle)]
    dated = as_of_line(content, lang)
    if dated is not None:
        out.append(_p(dated, st.centre_bold))
    return out


def _key_values(block: KeyValues, st: _Styles, width: float) -> Any:
    from reportlab.platypus import Table, TableStyle

    pairs = block.pairs
    rows = []
    for i in range(0, len(pairs), 2):
        row = []
        for label, value in pairs[i : i + 2]:
            row += [_p(label + ":", st.cell), _p(value, st.cell_bold)]
        rows.append(row + [""] * (4 - len(row)))
    table = Table(rows, colWidths=[width * w for w in (0.23, 0.27, 0.23, 0.27)])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 2),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
            ]
        )
    )
    return table


def _table(block: Table, st: _Styles, width: float) -> list[Any]:
    from reportlab.lib import colors
    from reportlab.platypus import Table as RTable
    from reportlab.platypus import TableStyle

    data = [[_p(h, st.head) for h in block.head]] + [[_p(c, st.cell) for c in row] for row in block.rows]
    table = RTable(data, colWidths=[width * w for w in block.widths], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#8a8a8a")),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#ececec")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
            ]
        )
    )
    out: list[Any] = [table]
    if block.note:
        out.append(_p(block.note, st.small))
    return out


def _map(content: CertificateContent, block: MapBlock, st: _Styles, lang: str) -> list[Any]:
    fig = map_figure(content.map, content.parcel, lang)
    legend = legend_figure(content.map, lang, fig.width)
    return [
        printing.drawing(fig, st.sans, bold=st.sans_bold, border="#000000"),
        printing.drawing(legend, st.sans, bold=st.sans_bold, border=None),
        _p(block.caption, st.small),
    ]


def _section(content: CertificateContent, s: Section, st: _Styles, width: float, lang: str) -> list[Any]:
    from reportlab.platypus import KeepTogether, Spacer

    flow: list[Any] = []
    for block in s.blocks:
        if isinstance(block, KeyValues):
            flow.append(_key_values(block, st, width))
        elif isinstance(block, Table):
            flow += _table(block, st, width)
        elif isinstance(block, Bullets):
            flow += [_p("– " + item, st.body) for item in block.items]
        else:
            flow += _map(content, block, st, lang)
        flow.append(Spacer(1, 3))
    # a title stays with its first block; the map, its legend and caption stay together
    head = [_p(s.title, st.section), flow[0]]
    if any(isinstance(b, MapBlock) for b in s.blocks):
        return [KeepTogether([_p(s.title, st.section), *flow])]
    return [KeepTogether(head), *flow[1:]]


def _issue(stamp: Stamp, st: _Styles, width: float, number: int) -> list[Any]:
    from reportlab.platypus import KeepTogether, Table, TableStyle

    lang = stamp.lang
    rows = [[_p(label + ":", st.cell), _p(value, st.cell_bold)] for label, value in _issue_pairs(stamp)]
    facts = Table(rows, colWidths=[width * 0.2, width * 0.56])
    facts.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 2)]))
    left = [facts, _p(t("disclaimer", lang), st.small)]
    qr = printing.drawing(qr_figure(stamp.verify_url, 30 * MM), st.sans, border=None) if stamp.verify_url else ""
    box = Table([[left, qr]], colWidths=[width * 0.78, width * 0.22])
    box.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (1, 0), (1, 0), "RIGHT")]))
    return [KeepTogether([_p(f"{number}. {t('s_issue', lang)}", st.section), box])]


class _IssueTime:
    """The PDF's creation date: the time of issue (what reportlab's ``TimeStamp`` gives the document)."""

    def __init__(self, when: datetime) -> None:
        local = when.astimezone(VIETNAM_TIME)
        self.t = when.timestamp()
        self.lt = local.timetuple()
        self.YMDhms = tuple(self.lt)[:6]
        self.dhh, self.dmm = 7, 0
        self.tzname = "ICT"


def _canvas_maker(content: CertificateContent, stamp: Stamp, st: _Styles) -> Any:
    """A canvas class that dates the PDF at the time of issue and writes each page's footer and preview mark.

    The footer says "page i of n", so pages are kept until the end (reportlab's numbered-canvas recipe).
    """
    from reportlab.pdfgen.canvas import Canvas

    footer = footer_text(content, stamp.lang)
    number = f"{t('number', stamp.lang)} {_number(stamp)}"

    class _Canvas(Canvas):
        def __init__(self, *args: Any, **kw: Any) -> None:
            super().__init__(*args, **kw)
            self._doc._timeStamp = _IssueTime(stamp.issued_at)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 (reportlab's name)
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            for i, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                _decorate(self, i, len(self._pages), footer, number, stamp, st)
                Canvas.showPage(self)
            Canvas.save(self)

    return _Canvas


def _decorate(c: Any, page: int, pages: int, footer: str, number: str, stamp: Stamp, st: _Styles) -> None:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import simpleSplit

    w, h = A4
    c.saveState()
    c.setStrokeColor(colors.HexColor("#8a8a8a"))
    c.setLineWidth(0.5)
    c.line(15 * MM, 14 * MM, w - 15 * MM, 14 * MM)
    c.setFont(st.sans, 6.8)
    c.setFillColor(colors.HexColor("#333333"))
    lines = simpleSplit(footer, st.sans, 6.8, w - 75 * MM)[:2]
    for i, line in enumerate(lines):
        c.drawString(15 * MM, 11 * MM - i * 8.5, line)
    c.drawRightString(w - 15 * MM, 11 * MM, f"{number} · {t('page', stamp.lang)} {page}/{pages}")
    if stamp.number is None:
        c.translate(w / 2, h / 2)
        c.rotate(55)
        c.setFillColor(colors.Color(0.75, 0.05, 0.05, alpha=0.16))
        c.setFont(st.sans_bold, 40)
        c.drawCentredString(0, 12, t("preview_mark", stamp.lang))
        c.setFont(st.sans_bold, 22)
        c.drawCentredString(0, -22, t("preview_note", stamp.lang))
    c.restoreState()


def render_pdf(content: CertificateContent, stamp: Stamp, *, font_dirs: tuple[Path, ...] = FONT_DIRS) -> bytes:
    """The certificate as an A4 PDF; the same content and stamp always give the same bytes.

    Raises
    ------
    ValidationError
        The stamp's time has no time zone, or its language is not ``vi`` or ``en``.
    ConfigError
        The DejaVu fonts are not installed.
    """
    from reportlab.lib.pagesizes import A4
    from reportlab.platypus import SimpleDocTemplate

    stamp = stamp.checked()
    lang = stamp.lang
    st = _styles(font_dirs)
    width = A4[0] - 30 * MM
    story = _heading(content, stamp, st, width)
    parts = sections(content, lang)
    for s in parts:
        story += _section(content, s, st, width, lang)
    story += _issue(stamp, st, width, len(parts) + 1)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=15 * MM,
        rightMargin=15 * MM,
        topMargin=12 * MM,
        bottomMargin=20 * MM,
        title=f"{t('title', lang)} — {_number(stamp)}",
        author="Huế 3D planning service",
        subject=footer_text(content, lang),
        creator="Huế 3D planning service",
        invariant=1,
    )
    doc.build(story, canvasmaker=_canvas_maker(content, stamp, st))
    return buf.getvalue()


# -- HTML --------------------------------------------------------------------------------------------------------

_CSS = """
@page{size:A4;margin:12mm 15mm 18mm}
body{font-family:"DejaVu Serif","Times New Roman",serif;color:#1a1a1a;margin:0;background:#f4f4f4;font-size:10pt}
main{max-width:190mm;margin:0 auto;background:#fff;padding:12mm 10mm;position:relative;overflow:hidden}
.heading{display:flex;justify-content:space-between;text-align:center;gap:8mm}
.heading .left{flex:0 0 42%} .heading .right{flex:1} .heading p{margin:1mm 0}
.b{font-weight:bold} .u{text-decoration:underline} .small{font-size:8pt;color:#333}
h1{text-align:center;font-size:15pt;margin:6mm 0 1mm} .subtitle{text-align:center;margin:0 0 3mm}
h2{font-size:10.5pt;margin:5mm 0 2mm}
table{border-collapse:collapse;width:100%;font-size:8.5pt}
table.grid th,table.grid td{border:1px solid #8a8a8a;padding:1.2mm 1.5mm;vertical-align:top;text-align:left}
table.grid th{background:#ececec}
table.kv td{padding:.6mm 1.5mm;vertical-align:top} table.kv td.v{font-weight:bold}
.issue{display:flex;justify-content:space-between;gap:6mm;align-items:flex-start}
.issue .qr{flex:0 0 32mm}
footer{margin-top:6mm;border-top:1px solid #8a8a8a;padding-top:1.5mm;font-family:"DejaVu Sans",Arial,sans-serif;
font-size:7.5pt;color:#333}
.preview{position:absolute;top:38%;left:-10%;width:120%;transform:rotate(-35deg);text-align:center;
color:rgba(190,13,13,.18);font:bold 34pt "DejaVu Sans",Arial,sans-serif;pointer-events:none}
.banner{background:#fde8e8;color:#8a1010;border:1px solid #e3a0a0;padding:1.5mm;text-align:center;font-weight:bold}
svg.figure{display:block} .map svg{border:1px solid #000;box-sizing:border-box}
@media print{body{background:#fff} main{padding:0}}
"""


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _html_block(content: CertificateContent, block: Any, lang: str) -> str:
    if isinstance(block, KeyValues):
        cells = [f'<td>{_e(k)}:</td><td class="v">{_e(v)}</td>' for k, v in block.pairs]
        rows = ["<tr>" + "".join(cells[i : i + 2]) + "</tr>" for i in range(0, len(cells), 2)]
        return f'<table class="kv">{"".join(rows)}</table>'
    if isinstance(block, Table):
        head = "".join(
            f'<th style="width:{w * 100:.0f}%">{_e(h)}</th>' for h, w in zip(block.head, block.widths, strict=True)
        )
        body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in block.rows)
        note = f'<p class="small">{_e(block.note)}</p>' if block.note else ""
        return f'<table class="grid"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}'
    if isinstance(block, Bullets):
        return "<ul>" + "".join(f"<li>{_e(i)}</li>" for i in block.items) + "</ul>"
    fig = map_figure(content.map, content.parcel, lang)
    legend = legend_figure(content.map, lang, fig.width)
    return (
        f'<div class="map">{printing.svg(fig, css_width=f"{content.map.width_mm:g}mm")}</div>'
        + printing.svg(legend, css_width=f"{content.map.width_mm:g}mm")
        + f'<p class="small">{_e(block.caption)}</p>'
    )


def _link(url: str | None) -> str:
    if not url:
        return "—"
    if url.startswith(("https://", "http://", "/")):
        return f'<a href="{_e(url)}">{_e(url)}</a>'
    return _e(url)


def _html_issue(stamp: Stamp, number: int) -> str:
    pairs = _issue_pairs(stamp)
    rows = "".join(f'<tr><td>{_e(k)}:</td><td class="v">{_e(v)}</td></tr>' for k, v in pairs[:3])
    rows += f'<tr><td>{_e(pairs[3][0])}:</td><td class="v">{_link(stamp.verify_url)}</td></tr>'
    qr = printing.svg(qr_figure(stamp.verify_url, 30 * MM), css_width="30mm") if stamp.verify_url else ""
    return (
        f'<section><h2>{number}. {_e(t("s_issue", stamp.lang))}</h2><div class="issue"><div>'
        f'<table class="kv">{rows}</table><p class="small">{_e(t("disclaimer", stamp.lang))}</p></div>'
        f'<div class="qr">{qr}</div></div></section>'
    )


def render_html(content: CertificateContent, stamp: Stamp) -> str:
    """The certificate as a standalone HTML page (inline SVG map and QR code, inline styles, no script).

    Raises
    ------
    ValidationError
        The stamp's time has no time zone, or its language is not ``vi`` or ``en``.
    """
    stamp = stamp.checked()
    lang = stamp.lang
    parts = sections(content, lang)
    body = "".join(
        f"<section><h2>{_e(s.title)}</h2>{''.join(_html_block(content, b, lang) for b in s.blocks)}</section>"
        for s in parts
    )
    preview = ""
    if stamp.number is None:
        preview = (
            f'<p class="banner">{_e(t("preview_mark", lang))} — {_e(t("preview_note", lang))}</p>'
            f'<div class="preview" aria-hidden="true">{_e(t("preview_mark", lang))}</div>'
        )
    nation_en = f'<p class="small">{_e(t("nation_en", lang))}</p>' if t("nation_en", lang) else ""
    authority = "<br>".join(_e(line) for line in t("authority", lang).split("\n"))
    title = f"{t('title', lang)} — {_number(stamp)}"
    dated = as_of_line(content, lang)
    as_of = "" if dated is None else f'<p class="subtitle b">{_e(dated)}</p>'
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{_e(title)}</title><style>{_CSS}</style></head><body><main>
{preview}<header class="heading"><div class="left"><p class="b">{authority}</p><p>———</p>
<p>{_e(t("number", lang))}: {_e(_number(stamp))}</p></div>
<div class="right"><p class="b">{_e(t("nation", lang))}</p><p class="b u">{_e(t("motto", lang))}</p>{nation_en}
<p>{_e(_place_date(stamp))}</p></div></header>
<h1>{_e(t("title", lang))}</h1><p class="subtitle">{_e(t("subtitle", lang))}</p>{as_of}
{body}{_html_issue(stamp, len(parts) + 1)}
<footer>{_e(footer_text(content, lang))} · {_e(t("number", lang))} {_e(_number(stamp))}</footer>
</main></body></html>
"""
