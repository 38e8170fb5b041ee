"""Reference data shipped with the package: land-use codes, their groups, legacy codes, QCVN 01:2021 tables."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib.resources import files

__all__ = ["LandUseCode", "land_use_codes", "legacy_codes", "rgb_to_hex"]


@dataclass(frozen=True)
class LandUseCode:
    """A land-use code (or group of codes) of the reference list, with its names and map colour."""

    code: str
    group_code: str | None
    is_group: bool
    name_vi: str
    name_en: str
    rgb: str | None
    notes: str | None

    @property
    def color_hex(self) -> str | None:
        """The map colour as ``#rrggbb``, or ``None`` when the list gives none."""
        return rgb_to_hex(self.rgb)


def rgb_to_hex(rgb: str | None) -> str | None:
    """``"255 160 255"`` → ``"#ffa0ff"``; ``None`` or empty stays ``None``.

    >>> rgb_to_hex("255 160 255")
    '#ffa0ff'
    """
    if not rgb:
        return None
    r, g, b = (int(v) for v in rgb.split())
    if not all(0 <= v <= 255 for v in (r, g, b)):
        raise ValueError(f"RGB out of range: {rgb!r}")
    return f"#{r:02x}{g:02x}{b:02x}"


def _rows(name: str) -> list[dict[str, str]]:
    text = (files("gis_service") / "data" / name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def land_use_codes() -> list[LandUseCode]:
    """Group codes first (parents before children), then the land-use codes of TT 08/2024."""
    groups = [
        LandUseCode(r["code"], r["parent"] or None, True, r["name_vi"], r["name_en"], None, r["notes"] or None)
        for r in _rows("land_use_groups.csv")
    ]
    codes = [
        LandUseCode(
            r["code"], r["group"] or None, False, r["name_vi"], r["name_en"], r["rgb"] or None, r["notes"] or None
        )
        for r in _rows("land_use_codes.csv")
    ]
    return groups + codes


def legacy_codes() -> list[dict[str, str]]:
    """Rows ``legacy_code, code, source, notes`` mapping older codes to current ones."""
    return _rows("legacy_codes.csv")
