"""The rules left to the officer: architecture, and heritage appearance in a heritage zone (never passed or failed)."""

from __future__ import annotations

from gis_service.rules.measured import PlacedProposal

__all__ = ["architecture", "heritage_appearance"]


def architecture(c: PlacedProposal) -> None:
    """``architecture``: form, colours and materials, listed for the officer."""
    c.add(
        "architecture",
        "officer_judgement",
        None,
        None,
        None,
        "Quy chế quản lý kiến trúc (QĐ 06/2024/QĐ-UBND)",
        "Hình thức kiến trúc, màu sắc, vật liệu: do cán bộ đánh giá theo quy chế quản lý kiến trúc.",
        "Architectural form, colours and materials: judged by the officer under the architecture regulation.",
    )


def heritage_appearance(c: PlacedProposal) -> None:
    """``heritage_appearance``: once per heritage zone the footprint stands in, listed for the officer."""
    heritage = sorted({p.zone.heritage_zone for p in c.placed.parts if p.zone.heritage_zone})
    for name in heritage:
        c.add(
            "heritage_appearance",
            "officer_judgement",
            name,
            None,
            None,
            "Luật Di sản văn hóa; quy định bảo vệ di tích Cố đô Huế",
            f"Công trình trong {name}: hình thức, chiều cao nhìn từ di tích do cán bộ và cơ quan di sản đánh giá.",
            f"A building in the heritage zone '{name}': its appearance and views from the monuments are judged by "
            "the officer and the heritage authority.",
        )
