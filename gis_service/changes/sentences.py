"""What changed, in plain words: one sentence per change, Vietnamese or English.

Numbers and units are written as the certificate writes them (:mod:`gis_service.wording`), so "3 tầng" reads the
same in a certificate, a comparison and a notice.
"""

from __future__ import annotations

from typing import Any

from gis_service.changes.lines import LineChange
from gis_service.changes.zones import AttributeChange, ZoneChange
from gis_service.wording import BASIS, RULE_UNITS, lower_first, num, pick, with_unit

__all__ = ["area_m2", "attribute_phrase", "line_sentence", "value_text", "zone_brief", "zone_sentences"]

_LINE_KIND = {
    "red_lines": (("Chỉ giới đường đỏ", "The red line"), ("chỉ giới đường đỏ", "red lines")),
    "building_lines": (("Chỉ giới xây dựng", "The building line"), ("chỉ giới xây dựng", "building lines")),
}


def value_text(a: AttributeChange, value: Any, is_open: bool, lang: str) -> str:
    """A value of a zone's attribute as a sentence says it: a number with its unit, a text, or what stands instead.

    >>> from gis_service.changes.zones import AttributeChange
    >>> a = AttributeChange("max_floors", "Tầng cao tối đa", "Max floors", "", 3, 5)
    >>> value_text(a, 5, False, "vi"), value_text(a, None, True, "en"), value_text(a, None, False, "vi")
    ('5 tầng', 'no limit', 'không có số liệu')
    """
    if value is None:
        if is_open:
            return pick(BASIS["no_limit"], lang)
        return pick(BASIS["no_data"], lang) if a.unit or a.column in RULE_UNITS else pick(("không có", "none"), lang)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return with_unit(value, RULE_UNITS.get(a.column, a.unit), lang)
    return str(value)


def attribute_phrase(a: AttributeChange, lang: str) -> str:
    """How an attribute changed: "từ 3 lên 5 tầng", "goes down from 60 to 50 %", "từ ODT thành TMD".

    >>> from gis_service.changes.zones import AttributeChange
    >>> a = AttributeChange("max_floors", "Tầng cao tối đa", "Max floors", "", 3, 5)
    >>> attribute_phrase(a, "vi"), attribute_phrase(a, "en")
    ('tầng cao tối đa từ 3 lên 5 tầng', 'max floors go up from 3 to 5 floors')
    """
    label = lower_first(a.label_vi if lang == "vi" else a.label_en)
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (a.before, a.after))
    if numbers:
        was, now = num(a.before, lang), with_unit(a.after, RULE_UNITS.get(a.column, a.unit), lang)
        up = a.after > a.before
        if lang == "vi":
            return f"{label} từ {was} {'lên' if up else 'xuống'} {now}"
        verb = "go" if label.endswith("floors") else "goes"
        return f"{label} {verb} {'up' if up else 'down'} from {was} to {now}"
    was = value_text(a, a.before, a.before_open, lang)
    now = value_text(a, a.after, a.after_open, lang)
    return f"{label} từ {was} thành {now}" if lang == "vi" else f"{label} changes from {was} to {now}"


def area_m2(value: float, lang: str) -> str:
    """An area to 0.1 m² as a sentence writes it: ``42,5 m²`` / ``42.5 m²``."""
    return f"{num(value, lang, 1)} m²"


def zone_sentences(z: ZoneChange, lang: str) -> list[str]:
    """The sentences of a changed zone as a whole: each attribute, then its area."""
    code = z.label
    head = f"Ô {code}" if lang == "vi" else f"Zone {code}"
    if z.change == "added":
        use = (z.after or {}).get("land_use_code") or "—"
        size = area_m2(z.area_to_m2 or 0.0, lang)
        return [f"{head}: ô mới ({use}, {size})." if lang == "vi" else f"{head}: a new zone ({use}, {size})."]
    if z.change == "removed":
        return [f"{head}: ô bị bỏ." if lang == "vi" else f"{head}: the zone is removed."]
    out = [f"{head}: {attribute_phrase(a, lang)}." for a in z.attributes]
    if z.area_gained_m2 or z.area_lost_m2:
        gained, lost = area_m2(z.area_gained_m2, lang), area_m2(z.area_lost_m2, lang)
        was, now = area_m2(z.area_from_m2 or 0.0, lang), area_m2(z.area_to_m2 or 0.0, lang)
        out.append(
            f"{head}: ranh giới thay đổi, thêm {gained}, bớt {lost} (diện tích từ {was} thành {now})."
            if lang == "vi"
            else f"{head}: its boundary changes, {gained} gained and {lost} lost (area from {was} to {now})."
        )
    return out


def zone_brief(z: ZoneChange, lang: str) -> str:
    """A zone's change in a few words, for a list: "KT-20 (tầng cao tối đa 3 → 5)"."""
    if z.change == "added":
        return f"{z.label} ({pick(('ô mới', 'new'), lang)})"
    if z.change == "removed":
        return f"{z.label} ({pick(('bị bỏ', 'removed'), lang)})"
    bits = []
    for a in z.attributes:
        label = lower_first(a.label_vi if lang == "vi" else a.label_en)
        bits.append(
            f"{label} {value_text(a, a.before, a.before_open, lang)} → {value_text(a, a.after, a.after_open, lang)}"
        )
    if z.area_gained_m2 or z.area_lost_m2:
        delta = (z.area_to_m2 or 0.0) - (z.area_from_m2 or 0.0)
        sign = "+" if delta >= 0 else "−"
        bits.append(f"{pick(('ranh giới', 'boundary'), lang)} {sign}{area_m2(abs(delta), lang)}")
    return f"{z.label} ({'; '.join(bits)})"


#: First words of Vietnamese street names that already say what the way is.
_STREET_WORDS = frozenset({"đường", "phố", "kiệt", "hẻm", "ngõ", "ngách", "quốc", "tỉnh", "đại"})


def line_sentence(line: LineChange, lang: str) -> str:
    """A line's change: "Chỉ giới đường đỏ đường Mai Thúc Loan dịch chuyển tối đa 1,8 m."."""
    kind = pick(_LINE_KIND[line.layer][0], lang)
    road = line.road_name
    if lang == "vi":
        named = road and road.split()[0].lower() in _STREET_WORDS  # "Đường 10", "Kiệt 5": no second "đường"
        where = f"{kind} {road}" if named else f"{kind} đường {road}" if road else f"{kind} (không tên đường)"
        verbs = {
            "added": "được thêm",
            "removed": "bị bỏ",
            "moved": f"dịch chuyển tối đa {num(line.max_shift_m, lang)} m",
        }
    else:
        where = f"{kind} of {road}" if road else f"{kind} (no road name)"
        verbs = {
            "added": "is added",
            "removed": "is removed",
            "moved": f"moves by up to {num(line.max_shift_m, lang)} m",
        }
    out = where + " " + verbs.get(line.change, "")
    phrases = [attribute_phrase(a, lang) for a in line.attributes]
    if phrases:
        out = (out.rstrip() + (", " if line.change != "changed" else ": ") + ", ".join(phrases)).replace("  ", " ")
    return out.rstrip() + "."


def line_count_phrase(layer: str, n: int, lang: str) -> str:
    """How many lines change: "2 chỉ giới xây dựng thay đổi" / "2 red lines change" / "1 red line changes".

    >>> line_count_phrase("red_lines", 1, "en"), line_count_phrase("building_lines", 2, "vi")
    ('1 red line changes', '2 chỉ giới xây dựng thay đổi')
    """
    if lang == "vi":
        return f"{n} {_LINE_KIND[layer][1][0]} thay đổi"
    noun = _LINE_KIND[layer][1][1]
    return f"{n} {noun} change" if n != 1 else f"1 {noun[:-1]} changes"
