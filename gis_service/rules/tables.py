"""QCVN 01:2021/BXD tables and the use categories, read from the package's data files (values live in data, not code).

>>> qcvn_tables().detached_density(150)
80.0
>>> qcvn_tables().red_line_setback(road_width_m=12, height_m=20)
3.0
"""

from __future__ import annotations

import bisect
import csv
import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

__all__ = ["QcvnTables", "UseCategory", "qcvn_tables"]


def _rows(name: str) -> list[dict[str, str]]:
    text = (files("gis_service") / "data" / name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def _interpolate(xs: list[float], ys: list[float], x: float) -> float:
    """Linear interpolation in a table, held constant beyond its ends.

    >>> _interpolate([100, 200], [90, 70], 150)
    80.0
    """
    if x <= xs[0]:
        return ys[0]
    if x >= xs[-1]:
        return ys[-1]
    i = bisect.bisect_right(xs, x)
    x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0)


@dataclass(frozen=True)
class UseCategory:
    """A building-use category (``detached_house``, ``apartment``, ...) and what it means for the rules."""

    id: str
    name_vi: str
    name_en: str
    land_use_codes: tuple[str, ...]
    density_table: str | None  # detached | apartment | commercial | fixed | None
    fixed_density_pct: float | None
    fixed_density_pct_above_5_floors: float | None
    housing_lot: bool


@dataclass(frozen=True)
class _HeightTable:
    """Density by height band (rows) and lot area (columns, interpolated)."""

    height_bounds: list[float | None]  # None: taller than the last bound
    lot_areas: list[float]
    values: list[list[float]]

    def lookup(self, lot_area_m2: float, height_m: float) -> float:
        row = next(
            (i for i, bound in enumerate(self.height_bounds) if bound is None or height_m <= bound),
            len(self.height_bounds) - 1,
        )
        return _interpolate(self.lot_areas, self.values[row], lot_area_m2)


class QcvnTables:
    """The tables of QCVN 01:2021/BXD the permit rules use (see ``gis_service/data/README.md``)."""

    def __init__(self) -> None:
        density = _rows("qcvn01_2021_density.csv")
        self._t28_areas = [float(r["lot_area_m2"]) for r in density]
        self._t28_pct = [float(r["max_density_pct"]) for r in density]
        self._t29 = self._height_table("qcvn01_2021_density_apartment.csv")
        self._t210 = self._height_table("qcvn01_2021_density_commercial.csv")
        self._setbacks = []
        for r in _rows("qcvn01_2021_setbacks.csv"):
            bands = []
            for key, value in r.items():
                band = _height_band(key)
                if band is not None:
                    bands.append((band, float(value)))
            top = float(r["road_width_max_m"]) if r["road_width_max_m"] else None
            self._setbacks.append((float(r["road_width_min_m"]), top, bands))
        self._lot_size = [
            (
                float(r["road_width_min_m"]),
                float(r["road_width_max_m"]) if r["road_width_max_m"] else None,
                float(r["min_frontage_m"]),
                float(r["min_lot_area_m2"]),
            )
            for r in _rows("qcvn01_2021_lot_size.csv")
        ]
        self.categories: dict[str, UseCategory] = {}
        for r in _rows("permit_use_categories.csv"):
            self.categories[r["category"]] = UseCategory(
                id=r["category"],
                name_vi=r["name_vi"],
                name_en=r["name_en"],
                land_use_codes=tuple(r["land_use_codes"].split()),
                density_table=r["density_table"] or None,
                fixed_density_pct=float(r["fixed_density_pct"]) if r["fixed_density_pct"] else None,
                fixed_density_pct_above_5_floors=(
                    float(r["fixed_density_pct_above_5_floors"]) if r["fixed_density_pct_above_5_floors"] else None
                ),
                housing_lot=r["housing_lot"] == "true",
            )
        self.default_category = {r["land_use_code"]: r["category"] for r in _rows("permit_land_use_defaults.csv")}
        self.group_members = {
            r["group_code"]: frozenset(r["members"].split()) for r in _rows("land_use_group_members.csv")
        }

    @staticmethod
    def _height_table(name: str) -> _HeightTable:
        rows = _rows(name)
        columns = [c for c in rows[0] if c.startswith("lot_")]
        return _HeightTable(
            height_bounds=[float(r["max_height_m"]) if r["max_height_m"] else None for r in rows],
            lot_areas=[float(c.removeprefix("lot_")) for c in columns],
            values=[[float(r[c]) for c in columns] for r in rows],
        )

    def detached_density(self, lot_area_m2: float) -> float:
        """Table 2.8: maximum net density (%) of a detached-house lot, interpolated by lot area."""
        return round(_interpolate(self._t28_areas, self._t28_pct, lot_area_m2), 4)

    def apartment_density(self, lot_area_m2: float, height_m: float) -> float:
        """Table 2.9: apartment lots, by lot area (interpolated) and building height."""
        return round(self._t29.lookup(lot_area_m2, height_m), 4)

    def commercial_density(self, lot_area_m2: float, height_m: float) -> float:
        """Table 2.10: commercial and mixed-use lots, by lot area (interpolated) and building height."""
        return round(self._t210.lookup(lot_area_m2, height_m), 4)

    def red_line_setback(self, *, road_width_m: float, height_m: float) -> float:
        """Table 2.7: minimum setback (m) from the red line by road (red-line) width and building height."""
        for low, high, bands in self._setbacks:
            if road_width_m >= low and (high is None or road_width_m < high):
                for (h_low, h_high), value in bands:
                    if height_m >= h_low and (h_high is None or height_m < h_high):
                        return value
        raise ValueError(f"no row of Table 2.7 for a {road_width_m} m road and a {height_m} m building")

    def lot_size(self, road_width_m: float) -> tuple[float, float]:
        """Smallest (frontage m, lot area m²) of a housing lot facing a road of this red-line width."""
        for low, high, frontage, area in self._lot_size:
            if road_width_m >= low and (high is None or road_width_m < high):
                return frontage, area
        raise ValueError(f"no lot-size row for a {road_width_m} m road")


def _height_band(column: str) -> tuple[float, float | None] | None:
    """``height_lt_19`` → (0, 19); ``height_19_to_22`` → (19, 22); ``height_ge_28`` → (28, None)."""
    if m := re.fullmatch(r"height_lt_(\d+(?:\.\d+)?)", column):
        return 0.0, float(m[1])
    if m := re.fullmatch(r"height_(\d+(?:\.\d+)?)_to_(\d+(?:\.\d+)?)", column):
        return float(m[1]), float(m[2])
    if m := re.fullmatch(r"height_ge_(\d+(?:\.\d+)?)", column):
        return float(m[1]), None
    return None


@cache
def qcvn_tables() -> QcvnTables:
    """The tables, read once per process."""
    return QcvnTables()
