"""Numbers, units and labels as sentences write them, in Vietnamese or English.

Shared by the documents and answers that speak to citizens: the planning-information certificate
(:mod:`gis_service.certificates.sections`) and what a new plan version changes (:mod:`gis_service.changes`), so a
rule reads the same in both.
"""

from __future__ import annotations

__all__ = ["BASIS", "RULE_UNITS", "UNITS", "lower_first", "num", "pick", "with_unit"]

#: What a plan says instead of a number: an open limit, no data, a scanned map (a draft).
BASIS = {
    "no_limit": ("không giới hạn", "no limit"),
    "no_data": ("không có số liệu", "no data"),
    "scanned_draft": ("bản quét, nháp", "scanned draft"),
    "qcvn": ("QCVN 01:2021/BXD", "QCVN 01:2021/BXD"),
    "plan": ("quy hoạch", "plan"),
}
UNITS = {"floors": ("tầng", "floors"), "ratio": ("lần", ""), "m²": ("m²", "m²"), "m": ("m", "m"), "%": ("%", "%")}
#: Zone rules whose number is a count of floors or a ratio (the catalogue gives them no unit).
RULE_UNITS = {"max_floors": "floors", "min_floors": "floors", "max_far": "ratio"}


def pick(pair: tuple[str, str], lang: str) -> str:
    """The Vietnamese or English one of a pair."""
    return pair[0 if lang == "vi" else 1]


def num(value: float | None, lang: str, digits: int = 2) -> str:
    """A number as written in ``lang``: ``1.234,5`` in Vietnamese, ``1,234.5`` in English; ``—`` for none.

    >>> num(1234.5, "vi"), num(1234.5, "en"), num(3, "vi"), num(None, "en")
    ('1.234,5', '1,234.5', '3', '—')
    """
    if value is None:
        return "—"
    text = f"{value:,.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:,.0f}"
    if lang == "vi":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def with_unit(value: float | None, unit: str, lang: str) -> str:
    """A number and its unit (``floors``, ``ratio``, ``m``, ``m²``, ``%``) in ``lang``.

    >>> with_unit(3, "floors", "vi"), with_unit(1, "floors", "en"), with_unit(1.8, "ratio", "en")
    ('3 tầng', '1 floor', '1.8')
    """
    words = UNITS.get(unit)
    u = pick(words, lang) if words else unit
    if u == "floors" and value == 1:
        u = "floor"
    return num(value, lang) + (f" {u}" if u and value is not None else "")


def lower_first(label: str) -> str:
    """A label inside a sentence: its first letter in lower case, unless it starts an abbreviation.

    >>> lower_first("Max floor area ratio (FAR)"), lower_first("QCVN table")
    ('max floor area ratio (FAR)', 'QCVN table')
    """
    if len(label) > 1 and label[1].isupper():
        return label
    return label[:1].lower() + label[1:]
