"""The public verification page of a certificate: the verdict in Vietnamese, with English beneath, as HTML.

No script (the service's CSP allows none inline): checking a PDF is a plain form posting the file back to the page.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from gis_service.certificates.document import VIETNAM_TIME
from gis_service.certificates.sections import long_date
from gis_service.certificates.verify import Verdict

__all__ = ["verify_html"]

_COLOURS = {"valid": "#1b5e20", "altered": "#b71c1c", "revoked": "#b71c1c", "unknown": "#6d4c41"}
_TITLES = {
    "valid": ("HỢP LỆ", "VALID"),
    "altered": ("ĐÃ BỊ THAY ĐỔI", "ALTERED"),
    "revoked": ("ĐÃ THU HỒI", "REVOKED"),
    "unknown": ("KHÔNG TỒN TẠI", "UNKNOWN NUMBER"),
}
_STYLE = """
body{font-family:"DejaVu Sans",Arial,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#222}
.verdict{color:#fff;padding:1rem 1.25rem;border-radius:.4rem}
.verdict h1{margin:0 0 .4rem;font-size:1.4rem}
.en{color:#555;font-style:italic}
.verdict .en{color:#eee}
table{border-collapse:collapse;width:100%;margin:1rem 0}
th,td{text-align:left;border-bottom:1px solid #ddd;padding:.35rem .5rem;vertical-align:top}
th{width:34%;font-weight:600}
code{font-size:.8rem;word-break:break-all}
.demo{background:#fff3cd;border:1px solid #e0b100;padding:.75rem;border-radius:.4rem}
form{margin:1.5rem 0;padding:1rem;border:1px solid #ccc;border-radius:.4rem}
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _row(vi: str, en: str, value: str) -> str:
    return f'<tr><th>{_e(vi)}<br><span class="en">{_e(en)}</span></th><td>{value}</td></tr>'


def _yes_no(ok: bool | None) -> str:
    if ok is None:
        return "—"
    return "Có <span class='en'>(yes)</span>" if ok else "<strong>Không</strong> <span class='en'>(no)</span>"


def _parcel(v: Verdict) -> str:
    p = v.parcel
    if p is None:
        return _e((v.certificate or {}).get("parcel_id", "—"))
    parts = [f"tờ {p['sheet_no']}, thửa {p['parcel_no']}" if p.get("sheet_no") is not None else None, p.get("ward")]
    text = ", ".join(str(x) for x in parts if x)
    if p.get("address"):
        text += f" ({p['address']})"
    return f"{_e(text or '—')} <span class='en'>(id {_e(p['id'])})</span>"


def _time(value: object) -> str:
    """An ISO time in Việt Nam as Vietnamese read it: 20:50:47 ngày 06/12/2026 (giờ Việt Nam, UTC+7)."""
    try:
        at = datetime.fromisoformat(str(value)).astimezone(VIETNAM_TIME)
    except ValueError:
        return _e(value if value is not None else "—")
    return _e(f"{at:%H:%M:%S} ngày {at:%d/%m/%Y} (giờ Việt Nam, UTC+7)")


def _record_rows(v: Verdict) -> list[str]:
    c = v.certificate or {}
    signer = c.get("signer") or {}
    assert isinstance(signer, dict)
    rows = [
        _row("Số phiếu", "Number", _e(v.number)),
        _row("Thửa đất", "Parcel", _parcel(v)),
        _row("Thời điểm cấp", "Issued at", _time(c.get("issued_at"))),
        _row("Người cấp", "Issued by", _e(c.get("issued_by", "—"))),
        _row("Người ký số", "Signed by", _e(signer.get("subject", "—"))),
        _row("Mã băm SHA-256 của tệp PDF", "SHA-256 of the PDF", f"<code>{_e(c.get('pdf_sha256', '—'))}</code>"),
        _row("Nội dung khớp mã băm", "Content matches its hash", _yes_no(v.content_intact)),
    ]
    if v.as_of is not None:
        day = f"{_e(long_date(v.as_of, 'vi'))} <span class='en'>({_e(long_date(v.as_of, 'en'))})</span>"
        rows.insert(3, _row("Thông tin quy hoạch tại ngày", "Planning information as of", day))
    if v.reproduced is not None:
        rows.append(_row("Tạo lại PDF cho cùng mã băm", "PDF re-rendered to the same hash", _yes_no(v.reproduced)))
    revoked = c.get("revoked")
    if isinstance(revoked, dict):
        rows.append(_row("Thu hồi", "Revoked", f"{_e(revoked.get('at'))}: {_e(revoked.get('reason'))}"))
    return rows


def _file_rows(v: Verdict) -> list[str]:
    if v.file is None:
        return []
    f = v.file
    rows = [
        _row("Mã băm của tệp đã gửi", "SHA-256 of the file sent", f"<code>{_e(f.sha256)}</code>"),
        _row("Đúng là tệp đã cấp", "The file issued, byte for byte", _yes_no(f.matches_record)),
        _row("Chữ ký số hợp lệ", "Digital signature valid", _yes_no(f.signature_valid)),
    ]
    if f.problem:
        rows.append(_row("Vấn đề", "Problem", _e(f.problem)))
    return rows


def _plan_block(v: Verdict) -> str:
    if v.plan is None:
        return ""
    if v.as_of is not None:
        return _dated_plan_block(v)
    if not v.plan.changed:
        return (
            "<h2>Quy hoạch từ ngày cấp <span class='en'>Plan since issue</span></h2>"
            "<p>Quy hoạch của thửa đất không thay đổi kể từ ngày cấp.<br>"
            "<span class='en'>The plan for the parcel has not changed since the certificate was issued.</span></p>"
        )
    items = "".join(f"<li>{_e(change)}</li>" for change in v.plan.changes)
    return (
        "<h2>Quy hoạch từ ngày cấp <span class='en'>Plan since issue</span></h2>"
        "<p><strong>Quy hoạch của thửa đất đã thay đổi kể từ ngày cấp.</strong><br>"
        "<span class='en'>The plan for the parcel has changed since the certificate was issued.</span></p>"
        f"<ul>{items}</ul>"
    )


def _dated_plan_block(v: Verdict) -> str:
    """A certificate of the plan on a date: compared with the plan in force today."""
    assert v.plan is not None and v.as_of is not None
    vi, en = _e(long_date(v.as_of, "vi")), _e(long_date(v.as_of, "en"))
    head = "<h2>Quy hoạch hiện hành <span class='en'>The plan in force today</span></h2>"
    if not v.plan.changed:
        return (
            f"{head}<p>Quy hoạch đang có hiệu lực của thửa đất giống quy hoạch tại ngày {vi} mà phiếu nêu.<br>"
            f"<span class='en'>The plan in force for the parcel today is the plan as of {en} the certificate "
            "gives.</span></p>"
        )
    items = "".join(f"<li>{_e(change)}</li>" for change in v.plan.changes)
    return (
        f"{head}<p><strong>Quy hoạch đang có hiệu lực của thửa đất khác với quy hoạch tại ngày {vi} mà phiếu nêu."
        f"</strong><br><span class='en'>The plan in force for the parcel today differs from the plan as of {en} "
        f"the certificate gives.</span></p><ul>{items}</ul>"
    )


def _demo_block(v: Verdict) -> str:
    if not v.demo_key:
        return ""
    return (
        "<p class='demo'><strong>Khoá ký số tự ký dùng để trình diễn</strong>: chữ ký chỉ chứng tỏ tệp không bị "
        "thay đổi, không chứng tỏ cơ quan nào đã cấp.<br><span class='en'>Self-signed demo key: the signature only "
        "shows the file was not changed, not which authority issued it.</span></p>"
    )


def _form(v: Verdict) -> str:
    action = f"/certificates/{_e(v.number)}/verify?f=html"
    return (
        f"<form method='post' action='{action}' enctype='multipart/form-data'>"
        "<p><label>Kiểm tra tệp PDF bạn đang giữ <span class='en'>Check the PDF you hold</span><br>"
        "<input type='file' name='file' accept='application/pdf' required></label></p>"
        "<p><button type='submit'>Kiểm tra <span class='en'>Check</span></button></p></form>"
    )


def verify_html(v: Verdict) -> str:
    """The verification page of a verdict (see the module doc)."""
    title_vi, title_en = _TITLES[v.status]
    head = (
        f"<div class='verdict' style='background:{_COLOURS[v.status]}'><h1>{_e(title_vi)} "
        f"<span class='en'>{_e(title_en)}</span></h1><p>{_e(v.message_vi)}<br>"
        f"<span class='en'>{_e(v.message_en)}</span></p></div>"
    )
    body = [head]
    if v.status != "unknown":
        body.append(_demo_block(v))
        body.append("<table>" + "".join(_record_rows(v) + _file_rows(v)) + "</table>")
        body.append(_plan_block(v))
        links = (
            f"<p><a href='/certificates/{_e(v.number)}'>Phiếu như đã cấp (PDF)</a> · "
            f"<a href='/certificates/{_e(v.number)}?f=html'>HTML</a> "
            "<span class='en'>the certificate as issued</span></p>"
        )
        body.append(links)
        body.append(_form(v))
    return (
        "<!DOCTYPE html><html lang='vi'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>Kiểm tra phiếu {_e(v.number)} · Verify certificate</title><style>{_STYLE}</style></head>"
        f"<body><p>Phiếu thông tin quy hoạch · <span class='en'>Planning information certificate</span></p>"
        f"{''.join(body)}</body></html>"
    )
