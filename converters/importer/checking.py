"""The reading and checking step that the import and the validation share: a batch's shapes brought to EPSG:9214
and repaired, its values mapped and checked, with no database and nothing written.

The import (:class:`~converters.importer.prepare.BatchPreparer`) goes on to encode what this step gives for COPY
and stops at the first bad value; the validation (:mod:`converters.validation`) turns everything it met into
findings. ``strict`` is the one difference: a strict check raises where a lenient one records and goes on.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely

from converters.crs import SourceCRS, check_in_vietnam, outside_vietnam, to_storage
from converters.geometry import normalise
from converters.importer.columns import POLYGONAL_KINDS
from converters.importer.reading import read_shapes
from converters.importer.suggest import Suggestion, apply_suggestions, suggest_fields
from converters.importer.threads import in_two
from converters.importer.values import (
    ColumnValues,
    TextState,
    ValueErrors,
    check_codes,
    check_parcel_keys,
    raw_codes,
)
from converters.mapping import CodeBook, FieldMap, Profile
from converters.report import LayerReport
from converters.sources import Batch, SourceLayer


@dataclass
class CheckedShapes:
    """A batch's shapes: as read in EPSG:9214 (every feature), their validity (polygonal kinds, else None), and
    those kept once repaired and normalised, with their indexes in the batch; the bounds of them all, and
    ``outside_vietnam``: those bounds when the batch lands outside Viet Nam (a lenient check then keeps nothing)."""

    storage: np.ndarray
    valid: np.ndarray | None
    geoms: np.ndarray
    keep: np.ndarray
    total_bounds: np.ndarray
    outside_vietnam: tuple[float, float, float, float] | None = None


@dataclass
class CheckedValues:
    """The kept features' model values, the columns no field feeds, their ids, which of them are to be written
    (``ok``), the source's own code where it is not the one stored (``more``), and the codes as written."""

    values: dict[str, Any]
    unmapped: set[str]
    fids: list[Any]
    ok: np.ndarray
    more: np.ndarray
    raw_codes: np.ndarray | None
    steps: ColumnValues


def resolve_fields(
    profile: Profile, kind: str, first: Batch, codes: CodeBook, *, accept_suggested: bool
) -> tuple[FieldMap, list[Suggestion]]:
    """The layer's field mapping by the profile's names, and the fields proposed for the columns no known name
    fills (applied when ``accept_suggested``)."""
    fmap = FieldMap.resolve(profile, kind, list(first.fields))
    suggestions = suggest_fields(kind, fmap, first, codes)
    if accept_suggested and suggestions:
        fmap = apply_suggestions(fmap, suggestions, profile)
    return fmap, suggestions


@dataclass
class LayerChecker:
    """Reads and checks each batch of one layer. The state kept across batches (text encodings met, bad values)
    lives in its fields; ``strict`` raises on coordinates outside Viet Nam and on bad values."""

    src: SourceLayer
    kind: str
    codes: CodeBook
    fmap: FieldMap
    source_crs: SourceCRS
    lr: LayerReport
    errors: ValueErrors
    pool: ThreadPoolExecutor
    strict: bool = True
    text: TextState = field(default_factory=TextState)

    def shapes(self, batch: Batch) -> CheckedShapes:
        """The batch's shapes in EPSG:9214, checked to lie in Viet Nam (when strict) and repaired."""
        self.lr.read += len(batch.fids)
        storage = read_shapes(batch, self.src.label, self.pool)
        storage = to_storage(storage, self.source_crs)
        total = shapely.total_bounds(storage)
        if self.strict:
            check_in_vietnam(storage, self.src.label, self.source_crs, total)
        elif (bounds := outside_vietnam(storage, total)) is not None:  # a wrong CRS: nothing to repair or place
            return CheckedShapes(storage, None, storage[:0], np.zeros(0, dtype=np.intp), total, bounds)
        polygonal = self.kind == "zones" or (not self.strict and self.kind in POLYGONAL_KINDS)
        valid = in_two(self.pool, shapely.is_valid, storage) if polygonal else None
        geoms, keep = normalise(storage, batch.fids, self.kind, self.lr, valid)
        return CheckedShapes(storage, valid, geoms, keep, total)

    def values(self, batch: Batch, keep: np.ndarray) -> CheckedValues:
        """The kept features' values mapped and checked; a strict check raises on the first batch with bad ones."""
        unmapped: set[str] = set()
        steps = ColumnValues(batch, self.fmap, self.codes, self.lr, self.errors, keep, self.text)
        values = steps.of(self.kind, unmapped)
        fids = batch.fids[keep].tolist()
        ok = np.ones(len(keep), dtype=bool)
        more = np.full(len(keep), None, dtype=object)  # the source's own code, when it is not the one stored
        raw = None
        if "land_use_code" in values:
            raw = raw_codes(batch, self.fmap, keep)
            ok = check_codes(steps, self.kind, values, raw, fids, ok, more)
        if self.kind == "parcels":
            ok = check_parcel_keys(values, fids, ok, self.errors)
        if self.strict:
            self.errors.raise_if_any()
        return CheckedValues(values, unmapped, fids, ok, more, raw, steps)
