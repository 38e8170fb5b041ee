"""The consultation report of a plan (báo cáo tổng hợp ý kiến), for the plan dossier: every consultation of the
plan, every comment (hidden ones marked, with the reason), its answer and its outcome.

:func:`consultation_report` gathers it; :func:`report_xlsx` writes the spreadsheet and
:func:`gis_service.consultation.report_pdf.report_pdf` the PDF. Headers are Vietnamese first, English second.

A commenter's text is data, never markup or a formula: a spreadsheet cell beginning with ``=``, ``+``, ``-``, ``@``
(or a tab or carriage return) would be run as a formula by the office program that opens it (CSV/formula injection),
so such a cell gets a leading apostrophe; the PDF escapes every text before reportlab reads its markup.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gis_service.as_of import HUE_TZ
from gis_service.consultation.comments import comments_of
from gis_service.consultation.periods import Consultation, list_consultations
from gis_service.errors import NotFound

__all__ = [
    "COMMENT_HEADERS",
    "FORMATS",
    "OUTCOME_WORDS",
    "TARGET_WORDS",
    "ConsultationReport",
    "consultation_report",
    "hue_time",
    "outcome_text",
    "report_xlsx",
    "safe_cell",
    "target_text",
]

FORMATS = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}

OUTCOME_WORDS = {
    "pending": "Chưa xử lý / Pending",
    "accepted": "Tiếp thu / Accepted",
    "changed": "Đã điều chỉnh / Changed",
    "not_accepted": "Không tiếp thu / Not accepted",
}
TARGET_WORDS = {
    "plan": "Toàn bộ đồ án / Whole plan",
    "zone": "Ô quy hoạch / Zone",
    "point": "Vị trí / Point",
    "parcel": "Thửa đất / Parcel",
}
#: The columns of the comments' sheet and table.
COMMENT_HEADERS = (
    "STT / No.",
    "Đợt / Consultation",
    "Ngày / Date",
    "Đối tượng / Target",
    "Người góp ý / Author",
    "Liên hệ / Contact",
    "Nội dung góp ý / Comment",
    "Trạng thái / Visibility",
    "Trả lời / Answer",
    "Kết quả / Outcome",
)
CONSULTATION_HEADERS = (
    "Đợt / Consultation",
    "Phiên bản / Version",
    "Từ ngày / From",
    "Đến ngày / To",
    "Đóng lúc / Closed at",
    "Số góp ý / Comments",
    "Thuyết minh / Explanation",
)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ConsultationReport:
    """A plan's consultations (oldest first) and their comments as planners see them."""

    code: str
    name: str
    consultations: list[Consultation]
    comments: list[dict[str, Any]]
    made_at: datetime

    def comments_of(self, consultation_id: int) -> list[dict[str, Any]]:
        """The comments of one consultation, oldest first."""
        return [c for c in self.comments if c["consultation_id"] == consultation_id]


def consultation_report(conn: Connection, code: str) -> ConsultationReport:
    """Gather the report of plan ``code``. NotFound when there is no such plan."""
    plan = conn.execute(
        sa.text("SELECT name FROM planning.plans WHERE code = :c ORDER BY version DESC LIMIT 1"), {"c": code}
    ).first()
    if plan is None:
        raise NotFound(f"không có đồ án {code} / no plan with code {code!r}")
    consultations = sorted(list_consultations(conn, code=code), key=lambda c: c.id)
    comments = comments_of(conn, [c.id for c in consultations], staff=True)
    made_at = conn.execute(sa.text("SELECT now()")).scalar_one()
    return ConsultationReport(code, plan.name, consultations, comments, made_at)


def safe_cell(value: Any) -> Any:
    """A value fit for a spreadsheet cell: text that an office program would run as a formula gets a leading
    apostrophe, and characters no XML can hold are dropped.

    >>> safe_cell("=HYPERLINK(\\"http://x\\")")
    '\\'=HYPERLINK("http://x")'
    >>> safe_cell("Nhà 3 tầng")
    'Nhà 3 tầng'
    """
    if not isinstance(value, str):
        return value
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # type: ignore[import-untyped]

    text = ILLEGAL_CHARACTERS_RE.sub("", value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def hue_time(value: datetime | str | None) -> str:
    """A moment as the clock in Huế shows it, to the minute (the dossier's readers are there).

    >>> hue_time("2026-12-06T17:14:39.5+00:00")
    '2026-12-07 00:14'
    """
    if value is None:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(HUE_TZ).strftime("%Y-%m-%d %H:%M")


def target_text(c: dict[str, Any]) -> str:
    """What a comment is about, in words: ``Ô quy hoạch / Zone 12``."""
    words = TARGET_WORDS[c["target"]]
    if c["target"] == "zone":
        words += f" {c['zone_id']}"
    elif c["target"] == "parcel":
        words += f" {c['parcel_id']}"
    if c["point"]:
        words += f" ({c['point'][0]:.6f}, {c['point'][1]:.6f})"
    return words


def outcome_text(c: dict[str, Any]) -> str:
    """A comment's outcome in words, with the version or the reason."""
    words = OUTCOME_WORDS[c["outcome"]]
    if c["outcome_version"] is not None:
        words += f" (phiên bản / version {c['outcome_version']})"
    if c["outcome_reason"]:
        words += f": {c['outcome_reason']}"
    return words


def visibility_text(c: dict[str, Any]) -> str:
    """``Hiển thị / Shown``, or hidden with the reason."""
    return f"Đã ẩn / Hidden: {c['hidden_reason']}" if c["hidden"] else "Hiển thị / Shown"


def comment_row(number: int, c: dict[str, Any]) -> list[Any]:
    """One comment as the cells of :data:`COMMENT_HEADERS` (texts as written; the writers escape them)."""
    return [
        number,
        c["consultation_id"],
        hue_time(c["created_at"]),
        target_text(c),
        c["author_name"],
        c["contact"],
        c["body"],
        visibility_text(c),
        c["answer"] or "",
        outcome_text(c),
    ]


def _period_row(report: ConsultationReport, period: Consultation) -> list[Any]:
    return [
        period.id,
        period.version,
        period.starts_on,
        period.ends_on,
        hue_time(period.closed_at),
        len(report.comments_of(period.id)),
        period.explanation,
    ]


def _lay_out(ws: Any, *, head_row: int, widths: tuple[int, ...], wrap_from: int | None = None) -> None:
    """Bold headers frozen in place, column widths, and text wrapped in the rows below (from ``wrap_from``)."""
    from openpyxl.styles import Alignment, Font  # type: ignore[import-untyped]
    from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

    for cell in ws[head_row]:
        cell.font = Font(bold=True)
    ws.freeze_panes = ws.cell(row=head_row + 1, column=1)
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    if wrap_from is not None:
        wrap = Alignment(wrap_text=True, vertical="top")
        for row in ws.iter_rows(min_row=wrap_from):
            for cell in row:
                cell.alignment = wrap


def report_xlsx(report: ConsultationReport) -> bytes:
    """The report as an Excel workbook: a sheet of the consultations and a sheet of the comments."""
    from openpyxl import Workbook  # type: ignore[import-untyped]

    wb = Workbook()
    periods = wb.active
    assert periods is not None
    periods.title = "Đợt lấy ý kiến"
    periods.append([safe_cell(f"Báo cáo tổng hợp ý kiến góp ý / Consultation report: {report.code} {report.name}")])
    periods.append([safe_cell(f"Lập lúc / Made at: {hue_time(report.made_at)} (giờ Việt Nam / ICT)")])
    periods.append(list(CONSULTATION_HEADERS))
    for period in report.consultations:
        periods.append([safe_cell(v) for v in _period_row(report, period)])
    for row in periods.iter_rows(min_row=4, min_col=3, max_col=4):
        for cell in row:
            cell.number_format = "yyyy-mm-dd"  # dates, not date-times: a period is whole days
    _lay_out(periods, head_row=3, widths=(10, 10, 12, 12, 17, 10, 80))
    sheet = wb.create_sheet("Góp ý")
    sheet.append(list(COMMENT_HEADERS))
    for number, c in enumerate(report.comments, start=1):
        sheet.append([safe_cell(v) for v in comment_row(number, c)])
    _lay_out(sheet, head_row=1, widths=(7, 10, 17, 28, 24, 24, 70, 30, 60, 40), wrap_from=2)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
