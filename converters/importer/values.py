"""Source values into model values: legacy text decoded, codes mapped, numbers coerced and checked, once per
distinct value of a batch."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from converters.encoding import to_unicode
from converters.errors import ConverterError
from converters.importer.arrays import as_float, factorize, is_null, is_text, none
from converters.importer.columns import COLUMNS, RANGES, REQUIRED
from converters.importer.reading import arrow_values, field_codes, source_values
from converters.mapping import NUM_COLUMNS, TEXT_COLUMNS, CodeBook, FieldMap, coerce
from converters.pgcopy import numeric
from converters.report import LayerReport
from converters.sources import ArrowFields, Batch

MAX_LISTED_ERRORS = 20
#: Bad values kept one by one for the validation's findings (beyond, only counted).
MAX_RECORDED = 10_000

#: What ``str.strip()`` takes off (``str.isspace``): Unicode's white space and the four information separators.
PY_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000"
)


class ValueErrors:
    """The bad values of a layer: counted, the first :data:`MAX_LISTED_ERRORS` listed, raised together; and each
    recorded as (feature id, rule id, message) for the validation report."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.items: list[str] = []
        self.count = 0
        self.records: list[tuple[Any, str, str]] = []

    def add(self, fid: Any, msg: str, rule: str) -> None:
        """A bad value in one feature, breaking the validation rule ``rule``."""
        self.count += 1
        if len(self.items) < MAX_LISTED_ERRORS:
            self.items.append(f"feature {fid}: {msg}")
        if len(self.records) < MAX_RECORDED:
            self.records.append((fid, rule, msg))

    def add_rows(self, fids: np.ndarray, msg: str, rule: str) -> None:
        """The same bad value in several features."""
        for fid in fids[: max(0, MAX_LISTED_ERRORS - len(self.items))].tolist():
            self.items.append(f"feature {fid}: {msg}")
        for fid in fids[: max(0, MAX_RECORDED - len(self.records))].tolist():
            self.records.append((fid, rule, msg))
        self.count += len(fids)

    def raise_if_any(self) -> None:
        """Stop the import (nothing imported) if any value was bad."""
        if self.count:
            more = f" (and {self.count - len(self.items)} more)" if self.count > len(self.items) else ""
            raise ConverterError(f"{self.label}: bad values, nothing imported: {'; '.join(self.items)}{more}")


class TextState:
    """Per source field: once 2,000 distinct non-ASCII values needed no conversion, the field is taken as Unicode."""

    SETTLE_AFTER = 2000

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()
        self.converted: Counter[str] = Counter()

    def settled(self, name: str) -> bool:
        """The field is taken as Unicode: its values need no look any more."""
        return self.seen[name] >= self.SETTLE_AFTER and not self.converted[name]

    def convert(self, name: str, v: str, lr: LayerReport, count: int = 1) -> str:
        """``v`` in Unicode; ``count`` features hold it (the report counts features)."""
        if self.seen[name] >= self.SETTLE_AFTER and not self.converted[name]:
            return v
        self.seen[name] += 1
        out, enc = to_unicode(v)
        if enc:
            self.converted[name] += count
            lr.encodings[enc] += count
        return str(out)


def arrow_text(batch: Batch, fmap: FieldMap, col: str, keep: np.ndarray) -> pa.Array | None:
    """A text column whose field is known to be Unicode, straight from Arrow: stripped, empty → NULL (what
    ``coerce`` does to each), without a Python object per value. None when the field is not Arrow text."""
    name = fmap.columns.get(col)
    if name is None or not isinstance(batch.fields, ArrowFields) or (batch.preset and col in batch.preset):
        return None
    arr = arrow_values(batch, name, keep)
    if not is_text(arr):
        return None
    trimmed = pc.utf8_trim(arr.cast(pa.large_string()), characters=PY_WHITESPACE)
    out: pa.Array = pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.large_string()), trimmed)
    return out


@dataclass
class ColumnValues:
    """The values of each model column for a batch's kept features: mapped, converted and checked.

    Object arrays, or Arrow arrays for plain text; numeric columns encoded for binary COPY, once per distinct value.
    Columns no source field feeds go in ``unmapped``.
    """

    batch: Batch
    fmap: FieldMap
    codes: CodeBook
    lr: LayerReport
    errors: ValueErrors
    keep: np.ndarray
    text: TextState

    def __post_init__(self) -> None:
        self.fids = self.batch.fids[self.keep]

    def of(self, kind: str, unmapped: set[str]) -> dict[str, Any]:
        """Every column of ``kind``, then the floors' order where both floor fields are given."""
        out: dict[str, Any] = {}
        for col in COLUMNS[kind]:
            out[col] = self.column(col, unmapped)
        if kind == "zones" and not {"min_floors", "max_floors"} & unmapped:  # both given: min at most max
            mn, mx = out["min_floors"], out["max_floors"]
            for i in np.flatnonzero(as_float(mn) > as_float(mx)):
                self.errors.add(self.fids[i], f"min floors {mn[i]} above max floors {mx[i]}", "floors-order")
        return out

    def column(self, col: str, unmapped: set[str]) -> Any:
        """One column's values (all None, and ``col`` added to ``unmapped``, when no source field feeds it)."""
        batch, fmap, keep, text = self.batch, self.fmap, self.keep, self.text
        if col in TEXT_COLUMNS and text.settled(col) and (plain := arrow_text(batch, fmap, col, keep)) is not None:
            return plain
        field_name = fmap.columns.get(col, col)
        if (batch.preset is None or col not in batch.preset) and col in fmap.columns and col not in TEXT_COLUMNS:
            idx, uniq = field_codes(batch, field_name, keep)  # codes, numbers: a few distinct values
            return self.distinct(col, field_name, idx, uniq)[idx]
        vals = source_values(batch, fmap, col, keep)
        if vals is None:
            unmapped.add(col)
            return np.full(len(keep), None, dtype=object)
        if col in TEXT_COLUMNS and vals.dtype == object and text.settled(col):
            # Plain text once the field is known to be Unicode: names and zone codes are mostly all different,
            # so hashing them buys nothing; each is stripped (empty → NULL) as coerce does.
            res_text = np.empty(len(keep), dtype=object)
            res_text[:] = [(v.strip() or None) if type(v) is str else coerce(col, v) for v in vals.tolist()]
            return res_text
        idx, uniq = factorize(vals)
        return self.distinct(col, field_name, idx, uniq)[idx]

    def distinct(self, col: str, field_name: str, idx: np.ndarray, uniq: np.ndarray) -> np.ndarray:
        """The model value of each distinct source value (None where it is bad: listed in the errors)."""
        counts = np.bincount(idx, minlength=len(uniq))
        res = np.empty(len(uniq), dtype=object)
        settled = self.text.settled(col)
        for u in range(len(uniq)):
            v = uniq[u]
            if not settled and isinstance(v, str) and not v.isascii():
                v = self.text.convert(col, v, self.lr, int(counts[u]))
                settled = self.text.settled(col)
            res[u] = self.value(col, field_name, v, int(counts[u]), idx, u)
        return res

    def value(self, col: str, field_name: str, v: Any, count: int, idx: np.ndarray, u: int) -> Any:
        """The model value of source value ``v``, the distinct value ``u`` of ``idx``, which ``count`` features
        hold."""
        if col == "land_use_code":
            return None if is_null(v) else self.codes.map(v, count=count)
        try:
            cv = coerce(col, v)
        except (TypeError, ValueError) as exc:
            msg = f"{field_name} = {v!r} is not valid for {col} ({exc})"
            self.errors.add_rows(self.fids[idx == u], msg, "field-type")
            return None
        if cv is not None and col in RANGES:
            lo, hi = RANGES[col]
            if not lo <= cv <= hi:
                self.errors.add_rows(
                    self.fids[idx == u], f"{field_name} = {cv} is outside {lo:g}–{hi:g} ({col})", "value-range"
                )
        return numeric(Decimal(repr(cv))) if cv is not None and col in NUM_COLUMNS else cv


def code_pairs(raw: np.ndarray, code: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each feature's (source code, stored code) pair as an index among the distinct pairs, and for each distinct
    pair: whether the stored code is another than the source's (both given, not the same but for case), and the
    ``source_land_use_code`` JSON member of its source code (None where it has none). Worked out once per pair, not
    per feature: a million zones hold a dozen pairs."""
    ri, ru = factorize(raw)
    ci, cu = factorize(code)
    width = max(len(cu), 1)
    pair, uniq = factorize(ri.astype(np.int64) * width + ci)
    changed = np.zeros(len(uniq), dtype=bool)
    member = np.full(len(uniq), None, dtype=object)
    for k, key in enumerate(uniq.tolist()):
        r, c = ru[key // width], cu[key % width]
        if is_null(r):
            continue
        member[k] = '"source_land_use_code": ' + json.dumps(r, ensure_ascii=False)
        changed[k] = not is_null(c) and r.upper() != c
    return pair, changed, member


def raw_codes(batch: Batch, fmap: FieldMap, keep: np.ndarray) -> np.ndarray:
    """The land-use code as written in the source (Unicode, stripped), or None, for each kept feature."""
    if batch.preset is not None and "land_use_code_raw" in batch.preset:
        out = np.empty(len(keep), dtype=object)
        out[:] = [None if (v := batch.preset["land_use_code_raw"][i]) is None else str(v) for i in keep]
        return out
    name = fmap.columns.get("land_use_code")
    if name is None:
        return np.full(len(keep), None, dtype=object)
    idx, uniq = field_codes(batch, name, keep)
    res = np.empty(len(uniq), dtype=object)
    for u in range(len(uniq)):
        v = uniq[u]
        res[u] = None if is_null(v) or str(v).strip() == "" else to_unicode(str(v).strip())[0]
    out_codes: np.ndarray = res[idx]
    return out_codes


def check_codes(
    steps: ColumnValues,
    kind: str,
    values: dict[str, Any],
    raw: np.ndarray,
    fids: list[Any],
    ok: np.ndarray,
    more: np.ndarray,
) -> np.ndarray:
    """The land-use codes of the kept features: ``more`` gets the source's own code where it is not the one stored;
    a zone with an unknown code is left out (``--allow-unknown-codes``, else the layer fails later), a feature of a
    kind that requires a code and has none is a bad value. ``raw``: the codes as written (:func:`raw_codes`).
    Returns ``ok``, the features still to write."""
    code = values["land_use_code"]
    has_code, has_raw = ~none(code), ~none(raw)
    pair, changed, member = code_pairs(raw, code)
    differs = np.flatnonzero(changed[pair])  # both codes given, and not the same but for case
    unknown = np.flatnonzero(~has_code & has_raw)
    if kind == "zones":  # with --allow-unknown-codes: left out and listed (else the layer fails below)
        for i in unknown:
            steps.lr.drop(fids[i], f"unknown land-use code {raw[i]!r}")
        ok[unknown] = False
    else:
        differs = np.union1d(differs, unknown)
    more[differs] = member[pair[differs]]
    if kind in REQUIRED and "land_use_code" in REQUIRED[kind]:
        for i in np.flatnonzero(~has_code & ~has_raw):
            steps.errors.add(fids[i], "no land-use code", "code-missing")
        ok &= has_code | has_raw
    return ok


def check_parcel_keys(values: dict[str, Any], fids: list[Any], ok: np.ndarray, errors: ValueErrors) -> np.ndarray:
    """A parcel without its ward, sheet or parcel number is a bad value. Returns ``ok`` without those parcels."""
    missing = np.zeros(len(ok), dtype=bool)
    for c in REQUIRED["parcels"]:
        missing |= none(values[c])
    for i in np.flatnonzero(missing & ok):
        errors.add(fids[i], "missing ward, sheet or parcel number", "parcel-key")
    ok &= ~missing
    return ok
