"""What differs between two contents of a parcel's certificate, in plain words (:func:`changes_between`).

The verify page computes the content of an issued certificate's parcel again and lists what changed since issue:
the plans and their versions, the zones (land use, share, each rule), the red lines and building lines, the parcel
and the envelope's figures. Zones are matched by plan code and zone code (a new version of a plan has new rows for
the same zones), lines by road name. A change to the rows the certificate was drawn from that alters none of what
it says (a zone edited and set back, a line redrawn to the same distance) is still reported, from the pins.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gis_service.certificates.content import CertificateContent, LineFacts, ZoneFacts, lower_first
from gis_service.certificates.sections import CAPACITY, STATUS, num, rule_value
from gis_service.printing import check_lang

__all__ = ["changes_between"]

Say = Callable[[str, str], str]


def changes_between(old: CertificateContent, new: CertificateContent, lang: str = "vi") -> list[str]:
    """What ``new`` says differently from ``old``, one sentence per change (empty when nothing changed).

    Parameters
    ----------
    old, new
        Two contents of the same parcel: as issued, and computed again now.
    lang
        ``vi`` or ``en``.
    """
    lang = check_lang(lang)

    def say(vi: str, en: str) -> str:
        return vi if lang == "vi" else en

    out = _plans(old, new, say)
    out += _zones(old, new, say, lang)
    out += _lines(old.red_lines, new.red_lines, say, lang, red=True)
    out += _lines(old.building_lines, new.building_lines, say, lang, red=False)
    out += _parcel(old, new, say, lang)
    out += _envelope(old, new, say, lang)
    if not out and old.pins != new.pins:
        out.append(_pins(old, new, say))
    return out


def _arrow(a: str, b: str) -> str:
    return f"{a} → {b}"


def _plans(old: CertificateContent, new: CertificateContent, say: Say) -> list[str]:
    before = {p.code: p for p in old.plans}
    after = {p.code: p for p in new.plans}
    out = []
    for code in sorted(before.keys() | after.keys()):
        a, b = before.get(code), after.get(code)
        if a is None and b is not None:
            out.append(say(f"Áp dụng thêm quy hoạch {code} v{b.version}.", f"Plan {code} v{b.version} now applies."))
        elif b is None and a is not None:
            out.append(say(f"Quy hoạch {code} không còn áp dụng.", f"Plan {code} no longer applies."))
        elif a is not None and b is not None and (a.version, a.decision_no) != (b.version, b.decision_no):
            was, now = f"v{a.version} ({a.decision_no or '—'})", f"v{b.version} ({b.decision_no or '—'})"
            out.append(say(f"Quy hoạch {code}: {_arrow(was, now)}.", f"Plan {code}: {_arrow(was, now)}."))
    return out


def _zone_keys(c: CertificateContent) -> dict[tuple[str, str], ZoneFacts]:
    codes = {p.id: p.code for p in c.plans}
    return {(codes.get(z.plan_id, "?"), z.label): z for z in c.zones}


def _zones(old: CertificateContent, new: CertificateContent, say: Say, lang: str) -> list[str]:
    before, after = _zone_keys(old), _zone_keys(new)
    out = []
    for key in sorted(before.keys() | after.keys()):
        a, b = before.get(key), after.get(key)
        code = key[1]
        if a is None and b is not None:
            share = num(b.share_pct, lang)
            use = b.land_use.code
            out.append(
                say(
                    f"Thửa đất nay thuộc ô {code} ({use}, {share} %).",
                    f"The parcel now lies in zone {code} ({use}, {share} %).",
                )
            )
        elif b is None and a is not None:
            out.append(say(f"Thửa đất không còn thuộc ô {code}.", f"The parcel no longer lies in zone {code}."))
        elif a is not None and b is not None:
            out += _zone(code, a, b, say, lang)
    return out


def _zone(code: str, a: ZoneFacts, b: ZoneFacts, say: Say, lang: str) -> list[str]:
    out = []
    if a.land_use.code != b.land_use.code:
        change = _arrow(str(a.land_use.code), str(b.land_use.code))
        out.append(say(f"Ô {code}: chức năng sử dụng đất {change}.", f"Zone {code}: land use {change}."))
    if abs(a.share_pct - b.share_pct) >= 0.01 or abs(a.area_m2 - b.area_m2) >= 0.01:
        change = _arrow(
            f"{num(a.share_pct, lang)} % ({num(a.area_m2, lang)} m²)",
            f"{num(b.share_pct, lang)} % ({num(b.area_m2, lang)} m²)",
        )
        out.append(say(f"Ô {code}: phần thửa đất {change}.", f"Zone {code}: share of the parcel {change}."))
    rules_a = {r.name: r for r in a.rules}
    rules_b = {r.name: r for r in b.rules}
    for name in list(dict.fromkeys([*rules_a, *rules_b])):
        ra, rb = rules_a.get(name), rules_b.get(name)
        was = "—" if ra is None else rule_value(ra, lang)
        now = "—" if rb is None else rule_value(rb, lang)
        if was != now:
            rule = rb or ra
            assert rule is not None
            label = rule.label_vi if lang == "vi" else rule.label_en
            out.append(
                say(
                    f"Ô {code}: {lower_first(label)} {_arrow(was, now)}.",
                    f"Zone {code}: {lower_first(label)} {_arrow(was, now)}.",
                )
            )
    return out


def _line_text(line: LineFacts, lang: str, red: bool) -> str:
    if red:
        return f"{'lộ giới' if lang == 'vi' else 'width'} {num(line.width_m, lang)} m, " + (
            f"{'cách thửa đất' if lang == 'vi' else 'from the parcel'} {num(line.distance_m, lang)} m"
        )
    return f"{'khoảng lùi' if lang == 'vi' else 'setback'} {num(line.setback_m, lang)} m, " + (
        f"{'cách thửa đất' if lang == 'vi' else 'from the parcel'} {num(line.distance_m, lang)} m"
    )


def _by_road(lines: list[LineFacts], lang: str, red: bool) -> dict[str, list[str]]:
    roads: dict[str, list[str]] = {}
    for line in sorted(lines, key=lambda x: (x.distance_m, x.id)):
        roads.setdefault(line.road_name or "—", []).append(_line_text(line, lang, red))
    return roads


def _lines(old: list[LineFacts], new: list[LineFacts], say: Say, lang: str, *, red: bool) -> list[str]:
    """Each road's lines, nearest the parcel first, compared one by one."""
    before, after = _by_road(old, lang, red), _by_road(new, lang, red)
    kind = say("Chỉ giới đường đỏ", "Red line") if red else say("Chỉ giới xây dựng", "Building line")
    none = say("không có", "none")
    out = []
    for road in sorted(before.keys() | after.keys()):
        a, b = before.get(road, []), after.get(road, [])
        for i in range(max(len(a), len(b))):
            was = a[i] if i < len(a) else none
            now = b[i] if i < len(b) else none
            if was != now:
                out.append(say(f"{kind} đường {road}: {_arrow(was, now)}.", f"{kind} of {road}: {_arrow(was, now)}."))
    return out


def _parcel(old: CertificateContent, new: CertificateContent, say: Say, lang: str) -> list[str]:
    a, b = old.parcel, new.parcel
    fields: list[tuple[str, str, Any, Any]] = [
        ("địa chỉ", "address", a.address, b.address),
        ("diện tích theo hồ sơ", "recorded area", num(a.area_m2, lang), num(b.area_m2, lang)),
        ("diện tích đo", "measured area", num(a.measured_area_m2, lang), num(b.measured_area_m2, lang)),
        ("loại đất", "land use", a.land_use and a.land_use.code, b.land_use and b.land_use.code),
    ]
    return [
        say(
            f"Thửa đất: {vi} {_arrow(str(x or '—'), str(y or '—'))}.",
            f"Parcel: {en} {_arrow(str(x or '—'), str(y or '—'))}.",
        )
        for vi, en, x, y in fields
        if x != y
    ]


def _envelope(old: CertificateContent, new: CertificateContent, say: Say, lang: str) -> list[str]:
    a, b = old.envelope, new.envelope
    if a is None or b is None:
        return [] if a is b else [say("Khả năng xây dựng đã thay đổi.", "The buildable envelope changed.")]
    out = []
    if a.status != b.status:
        change = _arrow(STATUS[a.status][0 if lang == "vi" else 1], STATUS[b.status][0 if lang == "vi" else 1])
        out.append(say(f"Khả năng xây dựng: {change}.", f"Buildable envelope: {change}."))
    for key, names in CAPACITY.items():
        fa, fb = getattr(a.capacity, key), getattr(b.capacity, key)
        va, vb = None if fa is None else fa.value, None if fb is None else fb.value
        if va != vb:
            change = _arrow(num(va, lang), num(vb, lang))
            unit = (fa or fb).unit
            unit = {"floors": say("tầng", "floors")}.get(unit, unit)
            out.append(say(f"{names[0]}: {change} {unit}.", f"{names[1]}: {change} {unit}."))
    return out


def _pins(old: CertificateContent, new: CertificateContent, say: Say) -> str:
    before = {(p.table, p.id): p.row_version for p in old.pins}
    after = {(p.table, p.id): p.row_version for p in new.pins}
    changed = []
    for key in sorted(before.keys() | after.keys()):
        a, b = before.get(key), after.get(key)
        if a != b:
            changed.append(f"{key[0]} {key[1]}: {'—' if a is None else f'v{a}'} → {'—' if b is None else f'v{b}'}")
    rows = ", ".join(changed)
    return say(
        f"Dữ liệu quy hoạch của thửa đất đã được sửa (hình dạng hoặc thuộc tính), nội dung phiếu không đổi: {rows}.",
        f"The plan rows of the parcel were edited (shape or attributes) without changing what the certificate "
        f"says: {rows}.",
    )
