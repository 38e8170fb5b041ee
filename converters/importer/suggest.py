"""Fields proposed for the columns that no known field name fills: the land-use code by its values, the zone rules
(density, floors, height, FAR, setback) by their name and range.

Consultants' files name fields freely (``MaDat``, ``TangCao``): rather than stop at "no field for land_use_code",
the import and the validation look at the values and say which field it most likely is, with the evidence; the
user accepts it with ``--accept-suggested-mapping``. Only the layer's first batch is looked at: a field's kind shows
in its first few thousand values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from converters.encoding import to_unicode
from converters.importer.columns import COLUMNS, RANGES
from converters.mapping import CodeBook, FieldMap, Profile, _norm
from converters.sources import Batch

__all__ = ["Suggestion", "apply_suggestions", "suggest_fields"]

#: Share of a field's non-empty values that must be land-use codes for the field to be proposed as the code.
MIN_CODE_SHARE = 0.6
#: What a rule field's name says, normalised (no case, accents or punctuation): stems of Vietnamese and English
#: names and their usual abbreviations.
RULE_NAME_HINTS: dict[str, tuple[str, ...]] = {
    "max_density_pct": ("matdo", "mdxd", "density", "mdo"),
    "max_floors": ("tangcao", "tangtoida", "sotang", "floors", "tcmax", "tangmax"),
    "min_floors": ("tangtoithieu", "tangmin", "minfloors", "tcmin"),
    "max_height_m": ("chieucao", "docao", "height", "hmax"),
    "max_far": ("hesosd", "hssd", "far", "hesosudung"),
    "min_setback_m": ("khoanglui", "setback", "lui"),
}
#: The zone rules proposed by name and range, for the kinds that carry them.
RULE_KINDS = {"zones"}
_CODE_KINDS = {kind for kind, cols in COLUMNS.items() if "land_use_code" in cols}


@dataclass(frozen=True)
class Suggestion:
    """A field proposed for a column, and why: the share of its non-empty values that fit, out of how many, with
    a few examples."""

    column: str
    field: str
    share: float
    values: int
    examples: tuple[str, ...]
    by_name: bool = False

    def sentence(self, *, applied: bool) -> str:
        """The proposal in a sentence (English), ending with what to do about it."""
        pct = f"{100 * self.share:.0f} %"
        if self.column == "land_use_code":
            why = (
                f"{pct} of its {self.values} values are land-use codes, current or legacy "
                f"(e.g. {', '.join(self.examples)})"
            )
        else:
            lo, hi = RANGES[self.column]
            why = f"its name says so and {pct} of its {self.values} values lie in {lo:g}–{hi:g}"
        then = "used, as --accept-suggested-mapping asks" if applied else "use it with --accept-suggested-mapping"
        return f"field {self.field!r} looks like {self.column}: {why}; {then}"

    def sentence_vi(self) -> str:
        """The proposal in Vietnamese."""
        pct = f"{100 * self.share:.0f} %"
        if self.column == "land_use_code":
            why = f"{pct} trong {self.values} giá trị là mã loại đất hiện hành hoặc mã cũ ({', '.join(self.examples)})"
        else:
            lo, hi = RANGES[self.column]
            why = f"tên trường gợi ý như vậy và {pct} trong {self.values} giá trị nằm trong {lo:g}–{hi:g}"
        return f"trường {self.field!r} có vẻ là {self.column}: {why}; dùng --accept-suggested-mapping để áp dụng"

    def to_dict(self) -> dict[str, Any]:
        """As plain data for the reports."""
        return {
            "column": self.column,
            "field": self.field,
            "share": round(self.share, 3),
            "values": self.values,
            "examples": list(self.examples),
            "by_name": self.by_name,
        }


def _is_code(codes: CodeBook, value: Any) -> bool:
    """Whether a value is a current or legacy land-use code (without counting it, as ``CodeBook.map`` would)."""
    text = to_unicode(str(value).strip())[0].upper()
    return text in codes.current or text in codes.legacy


def _non_empty(values: np.ndarray) -> list[Any]:
    return [v for v in values.tolist() if v is not None and not (isinstance(v, float) and v != v) and str(v).strip()]


def _code_field(fmap: FieldMap, batch: Batch, codes: CodeBook) -> Suggestion | None:
    """The unmapped text field whose values are most often land-use codes, if enough of them are."""
    best: Suggestion | None = None
    used = set(fmap.columns.values())
    for name in batch.fields:
        if name in used:
            continue
        values = _non_empty(np.asarray(batch.fields[name]))
        if not values or not all(isinstance(v, str) for v in values):
            continue
        fits = [v for v in values if _is_code(codes, v)]
        share = len(fits) / len(values)
        if share >= MIN_CODE_SHARE and (best is None or share > best.share):
            examples = tuple(dict.fromkeys(str(v).strip() for v in fits))[:4]
            best = Suggestion("land_use_code", name, share, len(values), examples)
    return best


def _number(v: Any) -> float | None:
    try:
        return float(str(v).replace(",", "."))
    except ValueError:
        return None


def _rule_field(column: str, fmap: FieldMap, batch: Batch, taken: set[str]) -> Suggestion | None:
    """The unmapped field whose name hints at ``column`` and whose values all lie in its legal range."""
    lo, hi = RANGES[column]
    for name in batch.fields:
        if name in taken or not any(h in _norm(name) for h in RULE_NAME_HINTS[column]):
            continue
        if column == "max_floors" and re.search("(min|toithieu)", _norm(name)):
            continue  # tangCaoToiThieu is the minimum, whatever else its name holds
        values = _non_empty(np.asarray(batch.fields[name]))
        numbers = [n for v in values if (n := _number(v)) is not None]
        if not values or len(numbers) < len(values):
            continue
        fits = [n for n in numbers if lo <= n <= hi]
        if len(fits) == len(numbers):
            return Suggestion(column, name, 1.0, len(values), tuple(f"{n:g}" for n in fits[:4]), by_name=True)
    return None


def suggest_fields(kind: str, fmap: FieldMap, batch: Batch, codes: CodeBook) -> list[Suggestion]:
    """Fields proposed for the columns of ``kind`` that no field of the profile's names fills, from the layer's
    first batch (none for a reader's preset values: CAD labels and scans map their own)."""
    if batch.preset is not None:
        return []
    out: list[Suggestion] = []
    if kind in _CODE_KINDS and "land_use_code" not in fmap.columns:
        found = _code_field(fmap, batch, codes)
        if found is not None:
            out.append(found)
    if kind in RULE_KINDS:
        taken = set(fmap.columns.values()) | {s.field for s in out}
        for column in RULE_NAME_HINTS:
            if column not in fmap.columns and (rule := _rule_field(column, fmap, batch, taken)) is not None:
                out.append(rule)
                taken.add(rule.field)
    return out


def apply_suggestions(fmap: FieldMap, suggestions: list[Suggestion], profile: Profile) -> FieldMap:
    """The mapping with each proposed field filling its column (no longer kept as a plain attribute)."""
    columns = dict(fmap.columns) | {s.column: s.field for s in suggestions}
    used = {s.field for s in suggestions}
    kept = [f for f in fmap.kept if f not in used or f in profile.attributes]
    return replace(fmap, columns=columns, kept=kept)
