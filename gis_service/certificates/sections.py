"""The certificate's text, in Vietnamese or English, as sections of simple blocks that both writers lay out.

:func:`sections` turns a :class:`~gis_service.certificates.content.CertificateContent` into numbered sections of
key–value tables, tables, bullet lists and figures; :mod:`gis_service.certificates.document` writes them as a PDF
(reportlab) and as an HTML page. What the document says is decided here, once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gis_service.certificates.content import CertificateContent, LineFacts, RuleFacts, ZoneFacts
from gis_service.rules.answers import Figure as CapacityFigure
from gis_service.rules.tables import qcvn_tables
from gis_service.wording import BASIS, RULE_UNITS, num, pick, with_unit

__all__ = [
    "MONTHS_EN",
    "Bullets",
    "KeyValues",
    "MapBlock",
    "Section",
    "Table",
    "as_of_line",
    "long_date",
    "num",
    "rule_value",
    "sections",
    "t",
]

MONTHS_EN = (
    "January February March April May June July August September October November December".split()  # noqa: SIM905
)

TEXT = {
    "authority": ("HỆ THỐNG THÔNG TIN QUY HOẠCH\nTHÀNH PHỐ HUẾ", "HUẾ PLANNING INFORMATION SYSTEM"),
    "nation": ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
    "motto": ("Độc lập - Tự do - Hạnh phúc", "Độc lập - Tự do - Hạnh phúc"),
    "nation_en": ("", "Socialist Republic of Viet Nam — Independence, Freedom, Happiness"),
    "title": ("PHIẾU THÔNG TIN QUY HOẠCH", "PLANNING INFORMATION CERTIFICATE"),
    "subtitle": ("Thông tin quy hoạch xây dựng của thửa đất", "Phiếu thông tin quy hoạch"),
    "number": ("Số", "No."),
    "preview": ("BẢN XEM TRƯỚC", "PREVIEW"),
    "preview_mark": ("BẢN XEM TRƯỚC / PREVIEW", "BẢN XEM TRƯỚC / PREVIEW"),
    "preview_note": ("không có giá trị pháp lý", "không có giá trị pháp lý — no legal value"),
    "s_parcel": ("Thông tin thửa đất", "The parcel"),
    "s_map": ("Trích lục bản đồ quy hoạch", "Map extract of the plan"),
    "s_zones": ("Các ô quy hoạch thửa đất thuộc", "Zones the parcel lies in"),
    "s_rules": ("Chỉ tiêu quy hoạch của từng ô", "Planning rules of each zone"),
    "s_lines": ("Chỉ giới đường đỏ và chỉ giới xây dựng", "Red lines and building lines"),
    "s_envelope": ("Khả năng xây dựng", "Buildable envelope and capacity"),
    "s_plans": ("Quy hoạch được áp dụng", "Plans applied"),
    "s_missing": ("Nội dung chưa xác định được", "What the data cannot settle"),
    "s_issue": ("Xác thực", "Issue and verification"),
    "ward": ("Phường/xã", "Ward"),
    "sheet": ("Tờ bản đồ số", "Map sheet (tờ)"),
    "parcel_no": ("Thửa đất số", "Parcel (thửa)"),
    "address": ("Địa chỉ", "Address"),
    "recorded_area": ("Diện tích theo hồ sơ địa chính", "Recorded area"),
    "measured_area": ("Diện tích đo trên bản đồ (VN-2000)", "Measured area (VN-2000)"),
    "current_use": ("Loại đất theo hồ sơ địa chính", "Recorded land use"),
    "parcel_id": ("Mã thửa trong cơ sở dữ liệu", "Parcel id in the database"),
    "scale": ("tỷ lệ", "scale"),
    "map_note": (
        "Hệ tọa độ VN-2000, kinh tuyến trục 107°00′, múi 3° (EPSG:9214); hướng Bắc lên trên.",
        "VN-2000, central meridian 107°00′, 3° zone (EPSG:9214); north is up.",
    ),
    "zone": ("Ô quy hoạch", "Zone"),
    "land_use": ("Chức năng sử dụng đất", "Land use"),
    "area": ("Diện tích (m²)", "Area (m²)"),
    "share": ("Tỷ lệ (%)", "Share (%)"),
    "plan": ("Quy hoạch", "Plan"),
    "governs": ("Được áp dụng (m²)", "Governs (m²)"),
    "governs_note": (
        "Nơi quy hoạch các cấp chồng lên nhau, quy hoạch chi tiết hơn được áp dụng: cột “Được áp dụng” là phần thửa "
        "đất theo chỉ tiêu của ô đó.",
        "Where plans of several levels overlap, the more detailed one governs: “Governs” is the part of the parcel "
        "held to that zone's rules.",
    ),
    "rule": ("Chỉ tiêu", "Rule"),
    "sources": ("Căn cứ", "Sources"),
    "kind": ("Loại", "Kind"),
    "road": ("Tuyến đường", "Road"),
    "road_width": ("Lộ giới (m)", "Red-line width (m)"),
    "setback": ("Khoảng lùi (m)", "Setback (m)"),
    "distance": ("Cách thửa đất (m)", "From the parcel (m)"),
    "red_line": ("Chỉ giới đường đỏ", "Red line"),
    "building_line": ("Chỉ giới xây dựng", "Building line"),
    "no_lines": (
        "Không có chỉ giới đường đỏ, chỉ giới xây dựng trong phạm vi 30 m quanh thửa đất.",
        "No red line or building line within 30 m of the parcel.",
    ),
    "status": ("Kết luận", "Conclusion"),
    "use": ("Áp dụng cho", "For the use"),
    "lot_area": ("Diện tích thửa đất (m²)", "Lot area (m²)"),
    "road_area": ("Phần thuộc đất giao thông (m²)", "Part in road land (m²)"),
    "net_area": ("Diện tích còn lại (m²)", "Net lot area (m²)"),
    "buildable_area": ("Diện tích được phép xây dựng (m²)", "Buildable area (m²)"),
    "access": ("Tiếp cận giao thông", "Access"),
    "figure": ("Chỉ số", "Figure"),
    "value": ("Giá trị", "Value"),
    "bounded_by": ("Giới hạn bởi", "Bounded by"),
    "source": ("Căn cứ", "Source"),
    "no_envelope": ("Không xác định được khả năng xây dựng.", "The buildable envelope could not be determined."),
    "code": ("Mã quy hoạch", "Plan code"),
    "name": ("Tên", "Name"),
    "level": ("Cấp", "Level"),
    "version": ("Phiên bản", "Version"),
    "decision": ("Quyết định phê duyệt", "Approval decision"),
    "date": ("Ngày", "Date"),
    "no_plans": ("Không có quy hoạch đã phê duyệt tại thửa đất.", "No approved plan at the parcel."),
    "nothing_missing": ("Không có: số liệu quy hoạch đầy đủ.", "Nothing: the plan's data is complete."),
    "issued_at": ("Thời điểm lập", "Issued at"),
    "issued_by": ("Người lập", "Issued by"),
    "verify": ("Kiểm tra tính xác thực", "Verify at"),
    "auto": ("lập tự động", "issued automatically"),
    "disclaimer": (
        "Phiếu được lập từ cơ sở dữ liệu quy hoạch đã được phê duyệt, tại thời điểm lập phiếu. Quét mã QR hoặc mở "
        "địa chỉ kiểm tra để xem phiếu như đã cấp, chữ ký số, và quy hoạch đã thay đổi hay chưa kể từ khi cấp.",
        "This certificate is drawn from the database of approved plans as they stood when it was issued. Scan the "
        "QR code or open the verify address to see the certificate as issued, its digital signature, and whether "
        "the plan has changed since.",
    ),
    "footer": ("Dữ liệu quy hoạch", "Plan data"),
    "page": ("Trang", "Page"),
}

LEVELS = {
    "land_use": ("Quy hoạch sử dụng đất", "Land-use plan"),
    "general": ("Quy hoạch chung", "General plan"),
    "zoning": ("Quy hoạch phân khu 1/2000", "Zoning plan 1/2000"),
    "detailed": ("Quy hoạch chi tiết 1/500", "Detailed plan 1/500"),
}
STATUS = {
    "buildable": ("Được phép xây dựng", "Buildable"),
    "not_buildable": ("Không được phép xây dựng mới", "No new building allowed"),
    "needs_review": ("Cần cán bộ xem xét (thiếu số liệu)", "Needs review (missing data)"),
}
CAPACITY = {
    "footprint_m2": ("Diện tích xây dựng tối đa", "Largest footprint"),
    "floors": ("Số tầng tối đa", "Most floors"),
    "min_floors": ("Số tầng tối thiểu", "Least floors"),
    "height_m": ("Chiều cao tối đa", "Height limit"),
    "floor_area_m2": ("Tổng diện tích sàn tối đa", "Largest total floor area"),
    "min_ground_elev_m": ("Cao độ nền tối thiểu", "Lowest ground floor level"),
}
RULE_WORDS = {
    "density": ("mật độ xây dựng", "building density"),
    "floors": ("tầng cao", "floors"),
    "height": ("chiều cao", "height"),
    "far": ("hệ số sử dụng đất", "floor area ratio"),
    "ground_elevation": ("cao độ nền", "ground level"),
}


def long_date(iso: str, lang: str) -> str:
    """A YYYY-MM-DD date as a sentence writes it: ``01/07/2024`` in Vietnamese, ``1 July 2024`` in English.

    >>> long_date("2024-07-01", "vi"), long_date("2024-07-01", "en")
    ('01/07/2024', '1 July 2024')
    """
    y, m, d = iso.split("-")
    return f"{d}/{m}/{y}" if lang == "vi" else f"{int(d)} {MONTHS_EN[int(m) - 1]} {y}"


def as_of_line(c: CertificateContent, lang: str) -> str | None:
    """The line under the title of a certificate drawn for a date, in both languages (``lang``'s first); ``None``
    for a certificate of the plan at issue.

    A date asked after the day of issue answers for that day: the line says so.
    """
    if c.as_of is None:
        return None
    day, asked = c.as_of.date, c.as_of.requested
    vi = f"Thông tin quy hoạch tại ngày {long_date(day, 'vi')}"
    en = f"Planning information as of {long_date(day, 'en')}"
    if asked != day:
        vi += f" (ngày yêu cầu {long_date(asked, 'vi')} chưa đến)"
        en += f" (asked for {long_date(asked, 'en')}, a day still to come)"
    return f"{vi} / {en}" if lang == "vi" else f"{en} / {vi}"


def t(key: str, lang: str) -> str:
    """A label of the document in ``lang``."""
    return TEXT[key][0 if lang == "vi" else 1]


@dataclass
class KeyValues:
    """Label–value pairs, two pairs a row."""

    pairs: list[tuple[str, str]]


@dataclass
class Table:
    """A table: a header row, rows of cells, relative column widths."""

    head: list[str]
    rows: list[list[str]]
    widths: list[float]
    note: str = ""


@dataclass
class Bullets:
    """A list of sentences."""

    items: list[str]


@dataclass
class MapBlock:
    """The map extract and its legend (drawn by the writer from the content)."""

    caption: str


Block = KeyValues | Table | Bullets | MapBlock


@dataclass
class Section:
    """A numbered section of the document."""

    title: str
    blocks: list[Block] = field(default_factory=list)


def sections(c: CertificateContent, lang: str) -> list[Section]:
    """The document's sections, in order (the issue block is the writers' own: it carries the stamp)."""
    plans = {p.id: p for p in c.plans}
    out = [
        Section(t("s_parcel", lang), [_parcel(c, lang)]),
        Section(
            f"{t('s_map', lang)}, {t('scale', lang)} 1:{num(c.map.scale_denominator, lang, 0)}",
            [MapBlock(t("map_note", lang))],
        ),
        Section(t("s_zones", lang), [_zones(c, lang, plans)]),
    ]
    out.append(Section(t("s_rules", lang), _rules(c.zones, lang)))
    out.append(Section(t("s_lines", lang), [_lines(c.red_lines, c.building_lines, lang)]))
    out.append(Section(t("s_envelope", lang), _envelope(c, lang)))
    out.append(Section(t("s_plans", lang), [_plans(c, lang)]))
    missing = [m.text_vi if lang == "vi" else m.text_en for m in c.missing]
    out.append(Section(t("s_missing", lang), [Bullets(missing or [t("nothing_missing", lang)])]))
    for i, s in enumerate(out, start=1):
        s.title = f"{i}. {s.title}"
    return out


def _parcel(c: CertificateContent, lang: str) -> KeyValues:
    p = c.parcel
    use = p.land_use
    use_text = "—" if use is None else f"{use.code} – {(use.name_vi if lang == 'vi' else use.name_en) or ''}"
    return KeyValues(
        [
            (t("ward", lang), p.ward or "—"),
            (t("sheet", lang), "—" if p.sheet_no is None else str(p.sheet_no)),
            (t("parcel_no", lang), "—" if p.parcel_no is None else str(p.parcel_no)),
            (t("address", lang), p.address or "—"),
            (t("recorded_area", lang), with_unit(p.area_m2, "m²", lang)),
            (t("measured_area", lang), with_unit(p.measured_area_m2, "m²", lang)),
            (t("current_use", lang), use_text.rstrip(" –")),
            (t("parcel_id", lang), str(p.id)),
        ]
    )


def _zones(c: CertificateContent, lang: str, plans: dict[int, Any]) -> Table | Bullets:
    """The zones with their area and share; where plans of several levels overlap, where each one governs."""
    if not c.zones:
        return Bullets([t("no_plans", lang)])
    overlap = any(z.governing_m2 < z.area_m2 - 0.01 for z in c.zones)
    rows = []
    for z in c.zones:
        plan = plans.get(z.plan_id)
        lu = z.land_use
        row = [
            z.label,
            f"{lu.code} – {(lu.name_vi if lang == 'vi' else lu.name_en) or ''}".rstrip(" –"),
            num(z.area_m2, lang),
            num(z.share_pct, lang),
        ]
        if overlap:
            row.append(num(z.governing_m2, lang))
        rows.append([*row, "—" if plan is None else f"{plan.code} v{plan.version}"])
    if not overlap:
        head = [t(k, lang) for k in ("zone", "land_use", "area", "share", "plan")]
        return Table(head, rows, [0.14, 0.38, 0.15, 0.13, 0.2])
    head = [t(k, lang) for k in ("zone", "land_use", "area", "share", "governs", "plan")]
    return Table(head, rows, [0.13, 0.31, 0.13, 0.11, 0.13, 0.19], note=t("governs_note", lang))


def rule_value(r: RuleFacts, lang: str) -> str:
    """A zone rule as the document shows it: value and unit, or what the plan says instead of a number."""
    if isinstance(r.value, str):
        return r.value
    if r.basis in ("no_limit", "no_data"):
        return pick(BASIS[r.basis], lang)
    text = with_unit(r.value, RULE_UNITS.get(r.name, r.unit), lang)
    return f"{text} ({pick(BASIS['scanned_draft'], lang)})" if r.basis == "scanned_draft" else text


def _rules(zones: list[ZoneFacts], lang: str) -> list[Block]:
    """One table per three zones: a row per rule, a column per zone; then each zone's source."""
    if not zones:
        return [Bullets([t("no_plans", lang)])]
    blocks: list[Block] = []
    for start in range(0, len(zones), 3):
        group = zones[start : start + 3]
        names: list[str] = []
        for z in group:
            names += [r.name for r in z.rules if r.name not in names]
        labels = {r.name: (r.label_vi if lang == "vi" else r.label_en) for z in group for r in z.rules}
        rows = []
        for name in names:
            cells = [labels[name]]
            for z in group:
                rule = next((r for r in z.rules if r.name == name), None)
                cells.append("—" if rule is None else rule_value(rule, lang))
            rows.append(cells)
        head = [t("rule", lang)] + [f"{z.label} ({num(z.share_pct, lang)} %)" for z in group]
        first = 0.34
        widths = [first] + [(1 - first) / len(group)] * len(group)
        note = "; ".join(f"{z.label}: {_source(z)}" for z in group)
        blocks.append(Table(head, rows, widths, note=f"{t('sources', lang)}: {note}."))
    return blocks


def _source(z: ZoneFacts) -> str:
    sources = list(dict.fromkeys(r.source for r in z.rules))
    return " / ".join(sources)


def _lines(red: list[LineFacts], building: list[LineFacts], lang: str) -> Table | Bullets:
    if not red and not building:
        return Bullets([t("no_lines", lang)])
    rows = [
        [t("red_line", lang), r.road_name or "—", num(r.width_m, lang), "—", num(r.distance_m, lang)] for r in red
    ] + [
        [
            t("building_line", lang),
            b.road_name or "—",
            num(b.width_m, lang),
            num(b.setback_m, lang),
            num(b.distance_m, lang),
        ]
        for b in building
    ]
    head = [t(k, lang) for k in ("kind", "road", "road_width", "setback", "distance")]
    return Table(head, rows, [0.24, 0.28, 0.16, 0.16, 0.16])


def _envelope(c: CertificateContent, lang: str) -> list[Block]:
    env = c.envelope
    if env is None:
        return [Bullets([t("no_envelope", lang)])]
    category = qcvn_tables().categories.get(env.category or "")
    use = env.use + (f" ({category.name_vi if lang == 'vi' else category.name_en})" if category else "")
    if env.access.kind == "road":
        access = ", ".join(r or "—" for r in env.access.roads or [])
    elif env.access.kind == "alley":
        access = ("kiệt " if lang == "vi" else "alley ") + (env.access.name or "—")
    else:
        access = "—"
    blocks: list[Block] = [
        KeyValues(
            [
                (t("status", lang), pick(STATUS[env.status], lang)),
                (t("use", lang), use),
                (t("lot_area", lang), num(env.lot_area_m2, lang)),
                (t("road_area", lang), num(env.road_area_m2, lang)),
                (t("net_area", lang), num(env.net_lot_area_m2, lang)),
                (t("buildable_area", lang), num(env.buildable_area_m2, lang)),
                (t("access", lang), access),
            ]
        )
    ]
    rows = []
    for key, pair in CAPACITY.items():
        fig: CapacityFigure | None = getattr(env.capacity, key)
        if fig is None:
            continue
        bound = pick(RULE_WORDS.get(fig.rule, (fig.rule, fig.rule)), lang)
        if fig.limit is not None:
            unit = {"density": "%", "far": "ratio", "floors": "floors", "height": "m", "ground_elevation": "m"}
            bound += " " + with_unit(fig.limit, unit.get(fig.rule, ""), lang)
        if fig.basis not in ("plan", "qcvn"):
            bound += f" ({pick(BASIS[fig.basis], lang)})"
        rows.append([pick(pair, lang), with_unit(fig.value, fig.unit, lang), bound, fig.source])
    if rows:
        head = [t(k, lang) for k in ("figure", "value", "bounded_by", "source")]
        blocks.append(Table(head, rows, [0.24, 0.13, 0.2, 0.43]))
    notes = env.notes_vi if lang == "vi" else env.notes_en
    if notes and env.status != "needs_review":  # needs_review notes are listed with what cannot be settled
        blocks.append(Bullets(list(notes)))
    return blocks


def _plans(c: CertificateContent, lang: str) -> Table | Bullets:
    if not c.plans:
        return Bullets([t("no_plans", lang)])
    rows = []
    for p in c.plans:
        decision = p.decision_no or "—"
        if p.decision_date:
            decision += (" ngày " if lang == "vi" else " of ") + _date(p.decision_date, lang)
        if p.approving_authority:
            decision += f", {p.approving_authority}"
        level = pick(LEVELS.get(p.level, (p.level, p.level)), lang)
        rows.append([f"{p.code} v{p.version}", p.name or "—", level, decision])
    head = [t(k, lang) for k in ("code", "name", "level", "decision")]
    return Table(head, rows, [0.19, 0.31, 0.19, 0.31])


def _date(iso: str | None, lang: str) -> str:
    """A YYYY-MM-DD date as written in ``lang`` (dd/mm/yyyy in Vietnamese).

    >>> _date("2024-06-15", "vi"), _date("2024-06-15", "en"), _date(None, "vi")
    ('15/06/2024', '2024-06-15', '—')
    """
    if not iso:
        return "—"
    if lang != "vi":
        return iso
    y, m, d = iso.split("-")
    return f"{d}/{m}/{y}"
