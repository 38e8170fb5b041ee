"""A measured figure against a zone's limit: the comparison the density, floors, height and FAR rules share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gis_service.rules.footprint import ZonePart
from gis_service.rules.limits import Limit
from gis_service.rules.measured import PlacedProposal
from gis_service.rules.result import Status

__all__ = ["Measure", "basis_note_en", "basis_note_vi", "compare", "no_zone_data"]

_BASIS_VI = {"no_data": "quy hoạch không có số liệu", "scanned_draft": "số liệu đọc từ bản đồ quét (bản nháp)"}
_BASIS_EN = {"no_data": "the plan has no data", "scanned_draft": "the value is read from a scanned map (a draft)"}


@dataclass(frozen=True)
class Measure:
    """What a zone rule compares: its id and unit, the figure's name (Vietnamese, English), the request field."""

    rid: str
    unit: str
    what_vi: str
    what_en: str
    missing_input: str | None


def basis_note_vi(limit: Limit) -> str:
    """The Vietnamese sentence added to an answer whose limit is read from a scanned map (else ``""``)."""
    if limit.basis == "scanned_draft":
        return f" Số liệu đọc từ bản đồ quét (độ tin cậy {limit.confidence}): cán bộ cần đối chiếu bản gốc."
    return ""


def basis_note_en(limit: Limit) -> str:
    """The English sentence added to an answer whose limit is read from a scanned map (else ``""``)."""
    if limit.basis == "scanned_draft":
        return f" The value is read from a scanned map (confidence {limit.confidence}): an officer must confirm."
    return ""


def no_zone_data(c: PlacedProposal, rid: str, value: Any, unit: str | None, vi: str, en: str) -> None:
    """Answer ``needs_review`` where the footprint stands in no zone of an approved plan."""
    c.add(rid, "needs_review", value, None, unit, "quy hoạch đã phê duyệt", vi, en, basis="no_data")


def compare(
    c: PlacedProposal,
    m: Measure,
    part: ZonePart | None,
    value: float | None,
    limit: Limit,
    minimum: float | None = None,
) -> None:
    """Answer rule ``m.rid`` for a zone's part: ``value`` against ``limit`` (and a ``minimum``, when given).

    A missing value or limit needs review; a limit the plan leaves open passes; a limit not settled (a scanned draft)
    turns the comparison into a review.
    """
    floors = m.unit == "floors"
    bound = None if limit.value is None else (round(limit.value, 2) if not floors else int(limit.value))
    if value is None:
        c.add(
            m.rid,
            "needs_review",
            None,
            bound,
            m.unit,
            limit.source,
            f"Thiếu {m.what_vi} trong hồ sơ ({m.missing_input}): cán bộ cần kiểm tra.",
            f"The proposal gives no {m.what_en} ({m.missing_input}): an officer must check.",
            part=part,
            basis=limit.basis,
            confidence=limit.confidence,
        )
        return
    shown = int(value) if floors else value
    if bound is None:
        _unbounded(c, m, part, shown, limit)
    else:
        _bounded(c, m, part, value, shown, bound, limit, minimum)


def _unbounded(c: PlacedProposal, m: Measure, part: ZonePart | None, shown: float, limit: Limit) -> None:
    """A figure where the zone has no value: it passes when the plan leaves it open, else an officer must look."""
    if limit.basis == "no_limit":
        c.add(
            m.rid,
            "pass",
            shown,
            None,
            m.unit,
            limit.source,
            f"Quy hoạch không giới hạn {m.what_vi} cho ô này ({shown:g}).",
            f"The plan sets no limit on {m.what_en} in this zone ({shown:g}).",
            part=part,
            basis=limit.basis,
            confidence=limit.confidence,
        )
        return
    why_vi = _BASIS_VI.get(limit.basis, "quy hoạch không có số liệu")
    why_en = _BASIS_EN.get(limit.basis, "the plan has no data")
    if m.missing_input and limit.basis != "scanned_draft":
        why_vi, why_en = f"thiếu {m.missing_input} để tra QCVN", f"{m.missing_input} is missing to read QCVN"
    c.add(
        m.rid,
        "needs_review",
        shown,
        None,
        m.unit,
        limit.source,
        f"{m.what_vi.capitalize()} {shown:g}: {why_vi}; cán bộ cần kiểm tra.",
        f"{m.what_en.capitalize()} {shown:g}: {why_en}; an officer must check.",
        part=part,
        basis=limit.basis,
        confidence=limit.confidence,
    )


def _bounded(
    c: PlacedProposal,
    m: Measure,
    part: ZonePart | None,
    value: float,
    shown: float,
    bound: float,
    limit: Limit,
    minimum: float | None,
) -> None:
    """A figure against the zone's maximum (and minimum): pass or fail, or review when the limit is a draft."""
    over = value > bound
    under = minimum is not None and value < minimum
    status: Status = "fail" if over or under else "pass"
    if not limit.settled:
        status = "needs_review"
    what_vi, what_en = m.what_vi.capitalize(), m.what_en.capitalize()
    if over:
        vi = f"{what_vi} {shown:g} vượt mức tối đa {bound:g}."
        en = f"{what_en} {shown:g} exceeds the maximum {bound:g}."
    elif under:
        vi = f"{what_vi} {shown:g} thấp hơn mức tối thiểu {minimum:g}."
        en = f"{what_en} {shown:g} is below the minimum {minimum:g}."
    else:
        vi = f"{what_vi} {shown:g} ≤ {bound:g}."
        en = f"{what_en} {shown:g} ≤ {bound:g}."
    c.add(
        m.rid,
        status,
        shown,
        bound,
        m.unit,
        limit.source,
        vi + basis_note_vi(limit),
        en + basis_note_en(limit),
        part=part,
        basis=limit.basis,
        confidence=limit.confidence,
    )
