"""The validation rules: the one list of what a plan dossier is checked for, each with its id, severity, title in
Vietnamese and English, why it matters, and the sentence its findings say (``docs/validation.md`` is its table;
a test checks that they agree).

An ``error`` makes the dossier fail: the province cannot accept it as it is. A ``warning`` is something the
importer repairs or works around (a legacy code mapped, TCVN3 text converted), listed so the consultant can fix the
source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["RULES", "Rule"]

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Rule:
    """One rule: its findings' severity and the sentences they say (``str.format`` templates over a finding's
    details)."""

    id: str
    severity: Severity
    title_vi: str
    title_en: str
    why: str
    message_vi: str
    message_en: str


_RULES = [
    Rule(
        "layer-missing",
        "error",
        "Thiếu lớp bắt buộc",
        "Mandatory layer missing",
        "TT 16/2025 requires the plan's zones, red lines and boundary in every plan dossier.",
        "Hồ sơ thiếu lớp bắt buộc {layer} ({title_vi})",
        "the dossier has no {layer} layer ({title_en}), which TT 16/2025 requires",
    ),
    Rule(
        "layer-unknown",
        "warning",
        "Lớp không thuộc TT 16/2025",
        "Layer of no known kind",
        "A layer with no TT 16/2025 name is not imported; name it or say what it holds.",
        "Lớp {layer} không mang tên theo TT 16/2025 nên sẽ không được nhập",
        "layer {layer} has no TT 16/2025 name and would not be imported",
    ),
    Rule(
        "layer-unreadable",
        "error",
        "Lớp không đọc được",
        "Layer cannot be read",
        "A corrupt, empty or unsupported layer cannot be imported at all.",
        "Không đọc được lớp {layer}: {detail}",
        "layer {layer} cannot be read: {detail}",
    ),
    Rule(
        "field-missing",
        "error",
        "Thiếu trường bắt buộc",
        "Mandatory field missing",
        "TT 16/2025 requires six fields on every layer (maThongTinQH, maHoSoQH, maDoiTuong, tenDoiTuong, phanLoai, "
        "ghiChu); the importer needs the land-use code of zones and the keys of parcels.",
        "Lớp {layer} thiếu trường {field}",
        "layer {layer} has no field {field}",
    ),
    Rule(
        "field-suggested",
        "warning",
        "Đề xuất trường dữ liệu",
        "Field proposed",
        "No known field name holds a column, but a field's values look like it: accept the proposal with "
        "--accept-suggested-mapping or name it in a mapping profile.",
        "Lớp {layer}: {detail}",
        "layer {layer}: {detail_en}",
    ),
    Rule(
        "field-type",
        "error",
        "Sai kiểu dữ liệu",
        "Wrong type",
        "A value that is not of its column's type (text where a number is due) cannot be stored or checked.",
        "Giá trị sai kiểu: {detail}",
        "wrong type: {detail}",
    ),
    Rule(
        "field-length",
        "warning",
        "Giá trị dài quá quy định",
        "Value too long",
        "TT 16/2025 fixes the width of its mandatory fields (maThongTinQH and maHoSoQH 15 characters).",
        "Trường {field} dài {length} ký tự, quá {width} ký tự",
        "field {field} is {length} characters long, more than its {width}",
    ),
    Rule(
        "code-unknown",
        "error",
        "Mã loại đất không xác định",
        "Unknown land-use code",
        "A code that is neither a TT 08/2024 code nor a known legacy code has no meaning in the lookup or rules.",
        "Mã loại đất {code!r} không có trong TT 08/2024 và không phải mã cũ đã biết",
        "land-use code {code!r} is neither a TT 08/2024 code nor a known legacy code",
    ),
    Rule(
        "code-legacy",
        "warning",
        "Mã loại đất cũ",
        "Legacy land-use code",
        "Older codes (TT 27/2018, TT 25/2014) are mapped to current ones on import; the source should use them.",
        "Mã loại đất cũ {code!r}, được chuyển thành {detail}",
        "legacy land-use code {code!r}, mapped to {detail}",
    ),
    Rule(
        "code-missing",
        "error",
        "Thiếu mã loại đất",
        "No land-use code",
        "Every zone needs its land-use code: the lookup and the rules start from it.",
        "Ô quy hoạch không có mã loại đất",
        "the zone has no land-use code",
    ),
    Rule(
        "value-range",
        "error",
        "Giá trị ngoài phạm vi",
        "Value out of range",
        "Density is a share (0-100 %), floors, heights, FAR and setbacks have legal bounds (QCVN 01:2021).",
        "Giá trị ngoài phạm vi cho phép: {detail}",
        "value outside its legal range: {detail}",
    ),
    Rule(
        "floors-order",
        "error",
        "Tầng cao tối thiểu lớn hơn tối đa",
        "Minimum floors above maximum",
        "A zone whose minimum floors exceed its maximum admits no building.",
        "Tầng cao tối thiểu lớn hơn tối đa: {detail}",
        "minimum floors above maximum: {detail}",
    ),
    Rule(
        "parcel-key",
        "error",
        "Thiếu số tờ, số thửa",
        "Parcel key missing",
        "A parcel is found by its ward, sheet and parcel number.",
        "Thửa đất thiếu phường/xã, số tờ hoặc số thửa",
        "the parcel lacks its ward, sheet or parcel number",
    ),
    Rule(
        "geom-empty",
        "error",
        "Không có hình học",
        "No geometry",
        "A feature without a shape cannot be drawn, looked up or checked.",
        "Đối tượng không có hình học ({detail})",
        "the feature has no geometry ({detail})",
    ),
    Rule(
        "geom-invalid",
        "error",
        "Hình học không hợp lệ",
        "Invalid geometry",
        "Self-intersecting or badly nested rings have no well-defined area; the importer repairs them, but the "
        "source must be corrected.",
        "Hình học không hợp lệ ({detail}); diện tích {area_m2:.2f} m²",
        "invalid geometry ({detail}); area {area_m2:.2f} m²",
    ),
    Rule(
        "geom-duplicate",
        "error",
        "Đối tượng trùng lặp",
        "Duplicate geometry",
        "The same shape twice counts its area twice and gives two answers to a lookup.",
        "Trùng hình học với đối tượng {other} ({area_m2:.2f} m²)",
        "same geometry as feature {other} ({area_m2:.2f} m²)",
    ),
    Rule(
        "geom-overlap",
        "error",
        "Các ô chồng lấn",
        "Overlapping zones",
        "Zones of a plan partition its land: an overlap gives one place two sets of rules.",
        "Chồng lấn với đối tượng {other}: {area_m2:.2f} m²",
        "overlaps feature {other}: {area_m2:.2f} m²",
    ),
    Rule(
        "geom-gap",
        "error",
        "Khe hở giữa các ô",
        "Gap between zones",
        "Land inside the zones' outline that no zone covers has no rules.",
        "Khe hở giữa các ô quy hoạch: {area_m2:.2f} m²",
        "gap between zones: {area_m2:.2f} m²",
    ),
    Rule(
        "geom-sliver",
        "warning",
        "Mảnh vụn hình học",
        "Sliver",
        "A shape thinner than a metre or smaller than a square metre is a digitising slip, not a zone.",
        "Mảnh vụn: diện tích {area_m2:.2f} m², bề rộng trung bình {detail}",
        "sliver: area {area_m2:.2f} m², mean width {detail}",
    ),
    Rule(
        "crs-missing",
        "error",
        "Không có hệ tọa độ",
        "No coordinate system",
        "Without a CRS the coordinates cannot be placed; VN-2000 / TM-3 107-00 (EPSG:9214) is Huế's.",
        "Lớp {layer} không có hệ tọa độ",
        "layer {layer} has no coordinate reference system",
    ),
    Rule(
        "crs-wrong",
        "error",
        "Sai hệ tọa độ",
        "Wrong coordinate system",
        "Read in the CRS the file declares, the features land outside Viet Nam: the declared CRS is wrong.",
        "Đọc theo hệ tọa độ khai báo ({detail}), các đối tượng nằm ngoài Việt Nam",
        "read in the declared CRS ({detail}), the features land outside Viet Nam",
    ),
    Rule(
        "crs-custom",
        "warning",
        "Hệ tọa độ tự định nghĩa",
        "Custom coordinate system",
        "A custom Transverse Mercator recognised as VN-2000 is used with the official datum shift; the file should "
        "say EPSG:9214.",
        "Lớp {layer}: {detail}",
        "layer {layer}: {detail}",
    ),
    Rule(
        "outside-province",
        "error",
        "Tọa độ ngoài tỉnh",
        "Outside the province",
        "A plan of Huế has nothing outside the province: such a feature is misplaced or in another zone's CRS.",
        "Đối tượng nằm ngoài địa giới tỉnh Huế",
        "the feature lies outside the province of Huế",
    ),
    Rule(
        "cad-unclosed",
        "error",
        "Đường bao chưa khép kín",
        "Unclosed outline",
        "An open polyline on a zone layer encloses no area: the zone it should draw is lost.",
        "Đường bao trên lớp CAD {detail} chưa khép kín (hở {gap_m:.2f} m)",
        "the outline on CAD layer {detail} is not closed (open by {gap_m:.2f} m)",
    ),
    Rule(
        "cad-label-outside",
        "warning",
        "Nhãn nằm ngoài mọi hình",
        "Label outside any shape",
        "A label in no closed shape gives its code or rule to no zone.",
        "Nhãn {detail!r} không nằm trong hình khép kín nào",
        "label {detail!r} lies in no closed shape",
    ),
    Rule(
        "text-legacy-encoding",
        "warning",
        "Văn bản mã cũ (TCVN3/VNI)",
        "Text in a legacy encoding",
        "TCVN3 and VNI text reads as garbage outside the fonts made for it; the importer converts it to Unicode.",
        "Trường {field} viết bằng {detail}",
        "field {field} is written in {detail}",
    ),
    Rule(
        "balance-declared",
        "error",
        "Bảng cân bằng kê khai sai",
        "Declared land-use balance differs",
        "The balance table a dossier declares must match its zones: a code off by more than 1 % misstates the plan.",
        "Bảng cân bằng sử dụng đất kê khai {declared} ha, các ô quy hoạch có {computed} ha",
        "the declared land-use balance says {declared} ha, the zones hold {computed} ha",
    ),
]

#: The rules by id.
RULES: dict[str, Rule] = {r.id: r for r in _RULES}
