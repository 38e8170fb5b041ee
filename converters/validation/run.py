"""The validation of a dossier: the import's own reading and checking step (:mod:`converters.importer.checking`)
over every layer, nothing written, and every problem met turned into a finding instead of stopping at the first.

What the import checks as it goes (CRS, types, ranges, codes, repairs) comes from the shared step; what only an
acceptance check needs (mandatory layers and fields, duplicates, slivers, the province's extent, CAD outlines and
labels, legacy text) is added here on the same arrays.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.compute as pc
import shapely

from converters.cad import CadNotes
from converters.crs import HUE_PROVINCE_BOUNDS_9214, SourceCRS
from converters.encoding import to_unicode
from converters.errors import ConverterError, MissingCRS
from converters.importer.arrays import factorize, is_null, is_text
from converters.importer.checking import CheckedShapes, LayerChecker, resolve_fields
from converters.importer.columns import COLUMNS, POLYGONAL_KINDS, REQUIRED
from converters.importer.options import ImportOptions, ProgressFn
from converters.importer.pipeline import ordered_sources
from converters.importer.quality import GAP_CHECK_MAX_ZONES, gaps_in, overlapping_pairs
from converters.importer.reading import read_batches, source_crs
from converters.importer.values import ValueErrors
from converters.mapping import TABLE_OF, CodeBook, FieldMap, Profile, load_profile
from converters.prefetch import prefetch
from converters.report import ImportReport, LayerReport
from converters.sources import ArrowFields, Batch, SourceLayer
from converters.validation.balance import add_balance
from converters.validation.report import Finding, ValidationReport
from gis_service.model import LAYERS, TT16_FIELDS

__all__ = ["reference_codebook", "validate_path"]

#: Shapes thinner than this on average (2 × area ÷ perimeter, m) or smaller than :data:`SLIVER_AREA_M2` are slivers.
SLIVER_WIDTH_M = 0.5
SLIVER_AREA_M2 = 1.0
#: Holes in the zones' union this small, or this narrow on average, are gaps; larger ones are streets and water
#: that the plan leaves out of its zones (the land-use balance counts them as land in no zone).
GAP_MAX_AREA_M2 = 200.0
GAP_MAX_WIDTH_M = 2.0
#: Distinct non-ASCII values of a text field looked at for TCVN3 or VNI: a field typed in a legacy font shows it in
#: its first values (the importer converts every value anyway; this only finds the field to report).
TEXT_SAMPLE = 300
#: Findings of one rule listed per layer; beyond, counted in a last finding of the same rule.
MAX_PER_RULE = 1000


def reference_codebook() -> CodeBook:
    """The land-use codes and legacy codes shipped with the package (the database's seed), for a validation that
    needs no database."""
    from gis_service.reference_data import land_use_codes, legacy_codes

    return CodeBook.from_rows(
        [(c.code, c.name_vi) for c in land_use_codes()], [(r["legacy_code"], r["code"]) for r in legacy_codes()]
    )


def validate_path(
    path: Path,
    options: ImportOptions | None = None,
    *,
    codes: CodeBook | None = None,
    progress: ProgressFn | None = None,
) -> ValidationReport:
    """Validate a file, zipped shapefile or TT 16/2025 dossier folder as ``planning import`` would read it, writing
    nothing. Returns the report; raises :class:`~converters.errors.ConverterError` only when ``path`` is not a
    dossier or file the importer reads at all (as the import does: no layer of a known kind, say)."""
    opts = options or ImportOptions()
    t0 = time.perf_counter()
    path = Path(path)
    report = ValidationReport(source=path.name)
    profile = load_profile(opts.mapping)
    sources, skipped = ordered_sources(path, profile, opts, ImportReport(source=path.name))
    for src in skipped:
        report.add(Finding("layer-unknown", layer=src.label))
    book = codes or reference_codebook()
    if path.is_dir() and path.suffix.lower() != ".gdb":
        _missing_layers(sources, report)
    with ThreadPoolExecutor(1, thread_name_prefix="validate-geos") as pool:
        for src in sources:
            _Source(src, opts, profile, book, report, pool, progress).check()
    add_balance(report, path, report.zones)  # the land-use balance table, exported with the report
    report.seconds = time.perf_counter() - t0
    return report


def _missing_layers(sources: list[SourceLayer], report: ValidationReport) -> None:
    """The layers TT 16/2025 requires in a plan dossier that none of its files holds."""
    kinds = {s.kind for s in sources}
    for layer in LAYERS.values():
        if layer.dossier_required and layer.kind not in kinds:
            details = {"layer": layer.source_layers[0], "title_vi": layer.title_vi, "title_en": layer.title_en}
            report.add(Finding("layer-missing", layer=layer.source_layers[0], details=details))


@dataclass
class _Source:
    """One source of the dossier (a GIS layer, a CAD drawing, a scan), its layers checked in turn."""

    src: SourceLayer
    opts: ImportOptions
    profile: Profile
    codes: CodeBook
    report: ValidationReport
    pool: ThreadPoolExecutor
    progress: ProgressFn | None

    def check(self) -> None:
        """Every layer of the source; a layer that cannot be read is a finding, and the others go on."""
        src = self.src
        try:
            for kind, batches in self._layers():
                _Layer(self, kind).check(batches)
        except MissingCRS as exc:
            self.report.add(Finding("crs-missing", layer=src.label, details={"detail": exc.message}))
        except ConverterError as exc:
            self.report.add(Finding("layer-unreadable", layer=src.label, details={"detail": exc.message}))

    def _layers(self) -> Iterator[tuple[str, Iterator[Batch]]]:
        """The source's layers: (kind, batches), as the import reads them."""
        src, scratch = self.src, ImportReport(source=self.src.label)
        if src.fmt in ("dxf", "dgn"):
            from converters.cad import read_cad

            notes = CadNotes()
            batches = read_cad(src, self.profile, self.codes, scratch, notes)
            self._cad_notes(notes)
            for kind, batch in batches.items():
                yield kind, iter([batch])
        elif src.fmt == "scan":
            from converters.scan import read_scan
            from gis_service.reference_data import land_use_codes

            rgb = {c.code: c.rgb for c in land_use_codes() if c.rgb and not c.is_group}
            yield "zones", iter([read_scan(src, self.profile, self.codes, rgb, scratch, src_crs=self.opts.src_crs)])
        else:
            assert src.kind is not None
            yield src.kind, read_batches(src, self.opts)

    def _cad_notes(self, notes: CadNotes) -> None:
        """Open outlines and stray labels of a drawing, placed in its coordinates (CAD has no CRS: those given)."""
        crs = _cad_crs(self.opts)
        for handle, layer, line in notes.open_outlines:
            coords = shapely.get_coordinates(line)
            gap = float(np.hypot(*(coords[-1] - coords[0])))
            f = Finding("cad-unclosed", layer=self.src.label, feature=handle, details={"detail": layer, "gap_m": gap})
            self.report.add(f.at(_placed(line, crs)))
        for text, point in notes.orphan_labels:
            f = Finding("cad-label-outside", layer=self.src.label, details={"detail": text})
            self.report.add(f.at(_placed(point, crs)))


def _cad_crs(opts: ImportOptions) -> SourceCRS | None:
    """The CRS a drawing's coordinates are in, when the user gave one."""
    if not opts.src_crs:
        return None
    from converters.crs import parse_crs

    return SourceCRS(parse_crs(opts.src_crs), f"--src-crs {opts.src_crs}")


def _placed(shape: Any, crs: SourceCRS | None) -> Any:
    """A shape in EPSG:9214 (as drawn when no CRS is known)."""
    if crs is None:
        return shape
    from converters.crs import to_storage

    out = to_storage(np.array([shape], dtype=object), crs)
    return out[0]


@dataclass
class _Layer:
    """One layer of a source: its batches through the shared checking step, each problem a finding."""

    source: _Source
    kind: str
    per_rule: dict[str, int] = field(default_factory=dict)
    unlisted: dict[str, int] = field(default_factory=dict)
    kept: list[np.ndarray] = field(default_factory=list)
    kept_fids: list[np.ndarray] = field(default_factory=list)
    kept_codes: list[np.ndarray] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.source.src.label

    def room(self, rule: str, n: int) -> int:
        """How many of ``n`` new findings of ``rule`` are still to be listed; the others are only counted."""
        listed = max(0, MAX_PER_RULE - self.per_rule.get(rule, 0))
        if n > listed:
            self.unlisted[rule] = self.unlisted.get(rule, 0) + n - listed
        return min(n, listed)

    def add(self, finding: Finding) -> None:
        """A finding of this layer, while its rule has fewer than :data:`MAX_PER_RULE` here."""
        n = self.per_rule.get(finding.rule, 0)
        self.per_rule[finding.rule] = n + 1
        if n < MAX_PER_RULE:
            self.source.report.add(finding)

    def check(self, batches: Iterator[Batch]) -> None:
        """Read and check every batch, then what needs the whole layer (duplicates, overlaps, gaps)."""
        src, opts, report = self.source.src, self.source.opts, self.source.report
        first = next(batches, None)
        if first is None:
            raise ConverterError(f"{src.label}: the layer has no features")
        scratch = ImportReport(source=src.label)
        crs = source_crs(first, src, opts, scratch)
        for w in scratch.warnings:
            self.add(Finding("crs-custom", layer=src.label, details={"detail": w.removeprefix(f"{src.label}: ")}))
        fmap = self._mapping(first)
        missing = [c for c in REQUIRED.get(self.kind, []) if c not in fmap.columns and not _preset(first, c)]
        lr = LayerReport(source=src.label, kind=self.kind, table=TABLE_OF[self.kind], crs=crs.how)
        errors = ValueErrors(src.label)
        checker = LayerChecker(src, self.kind, self.source.codes, fmap, crs, lr, errors, self.source.pool, strict=False)
        t = time.perf_counter()
        values = not missing and self.kind in COLUMNS and self.kind != "plan-boundary"  # as the import: no values
        # the next batch read from the file (GDAL, in a thread) while this one is checked, as the import reads ahead
        for batch in prefetch(_chain(first, batches)):
            if not self._batch(batch, batch is first, checker, crs, errors if values else None):
                break  # the whole layer lies outside Viet Nam: nothing else in it can be placed
            if self.source.progress:
                self.source.progress(src.label, lr.read, None)
        self._whole_layer()
        report.timings[src.label] = round(time.perf_counter() - t, 3)
        report.layers.append({"layer": src.label, "kind": self.kind, "features": lr.read, "crs": crs.how,
                              "fields": dict(fmap.columns)})  # fmt: skip
        for rule in sorted(set(self.per_rule) | set(self.unlisted)):
            more = self.per_rule.get(rule, 0) + self.unlisted.get(rule, 0) - MAX_PER_RULE
            if more > 0:  # counted in the report, not listed one by one
                report.not_listed[rule] += more

    def _batch(
        self, batch: Batch, first: bool, checker: LayerChecker, crs: SourceCRS, errors: ValueErrors | None
    ) -> bool:
        """One batch's findings (its values', unless ``errors`` is None); False when it lies outside Viet Nam."""
        shapes = checker.shapes(batch)
        if not self._coordinates(batch, shapes, crs):
            return False
        self._widths(batch, shapes)
        if first:
            self._text(batch, shapes)
        self._geometries(batch, shapes)
        # the slivers' areas and widths in GEOS beside this thread's value checks (GEOS releases the GIL)
        slivers = self.source.pool.submit(_slivers, shapes.geoms) if self.kind in POLYGONAL_KINDS else None
        if errors is not None:
            self._values(batch, shapes, checker, errors)
        for k, area, width in slivers.result() if slivers is not None else []:
            f = Finding("geom-sliver", layer=self.label, feature=_fid(batch.fids[shapes.keep[k]]), area_m2=area)
            f.details["detail"] = f"{width:.2f} m"
            self.add(f.at(shapes.geoms[k]))
        return True

    def _mapping(self, first: Batch) -> FieldMap:
        """The layer's fields mapped as the import maps them, the fields proposed for the columns no known name
        fills (a finding each, unless accepted), and the mandatory fields checked."""
        src, opts, report = self.source.src, self.source.opts, self.source.report
        fmap, suggestions = resolve_fields(
            self.source.profile, self.kind, first, self.source.codes, accept_suggested=opts.accept_suggested_mapping
        )
        for s in suggestions:
            report.suggestions.append({"layer": src.label, **s.to_dict(), "sentence": s.sentence(applied=False)})
            if not opts.accept_suggested_mapping:
                details = {"detail": s.sentence_vi(), "detail_en": s.sentence(applied=False)}
                self.add(Finding("field-suggested", layer=src.label, details=details))
        self._fields(first, fmap, suggestions)
        return fmap

    def _fields(self, first: Batch, fmap: FieldMap, suggestions: list[Any]) -> None:
        """TT 16/2025's mandatory fields (GIS layers only: CAD and scans carry none), and the fields the import
        requires of the kind."""
        src = self.source.src
        if first.preset is None and src.fmt == "vector":
            names = {f.lower(): f for f in first.fields}
            for name in TT16_FIELDS:
                found = names.get(name.lower())
                if found is None:
                    self.add(Finding("field-missing", layer=src.label, details={"field": name}))
                    continue
                values = np.asarray(first.fields[found])
                if values.dtype.kind in "iufb":
                    detail = f"{found} holds numbers, not text"
                    self.add(Finding("field-type", layer=self.label, details={"detail": detail}))
        for col in REQUIRED.get(self.kind, []):
            if col not in fmap.columns and not _preset(first, col):
                proposed = [s for s in suggestions if s.column == col]
                detail = f"{col}" + (f" ({proposed[0].sentence(applied=False)})" if proposed else "")
                self.add(Finding("field-missing", layer=src.label, details={"field": detail}))

    def _widths(self, batch: Batch, shapes: CheckedShapes) -> None:
        """TT 16/2025's mandatory text fields no wider than their widths, each long value at its feature."""
        if batch.preset is not None:
            return
        names = {f.lower(): f for f in batch.fields}
        for name, width in TT16_FIELDS.items():
            found = names.get(name.lower())
            if found is None:
                continue
            lengths = _text_lengths(batch, found)
            if lengths is None:
                continue
            long = np.flatnonzero(lengths > width)
            for i in long[: self.room("field-length", len(long))]:
                details = {"field": name, "length": int(lengths[i]), "width": width}
                f = Finding("field-length", layer=self.label, feature=_fid(batch.fids[i]), details=details)
                self.add(f.at(shapes.storage[i]))

    def _coordinates(self, batch: Batch, shapes: CheckedShapes, crs: SourceCRS) -> bool:
        """Features outside the province; False (and one finding) when the layer lands outside Viet Nam."""
        if shapes.outside_vietnam is not None:
            x0, y0, x1, y1 = shapes.outside_vietnam
            detail = f"{crs.how}; EPSG:9214 bounds {x0:.0f} {y0:.0f} {x1:.0f} {y1:.0f}"
            self.add(Finding("crs-wrong", layer=self.label, details={"detail": detail}))
            return False
        px0, py0, px1, py1 = HUE_PROVINCE_BOUNDS_9214
        x0, y0, x1, y1 = shapes.total_bounds
        if not (x0 < px0 or x1 > px1 or y0 < py0 or y1 > py1):  # the usual case: all in, or nothing but empties
            return True
        bounds = shapely.bounds(shapes.storage)
        with np.errstate(invalid="ignore"):  # NaN bounds of empty shapes compare False
            out = (bounds[:, 0] < px0) | (bounds[:, 2] > px1) | (bounds[:, 1] < py0) | (bounds[:, 3] > py1)
        for i in np.flatnonzero(out):
            self.add(Finding("outside-province", layer=self.label, feature=_fid(batch.fids[i])).at(shapes.storage[i]))
        return True

    def _geometries(self, batch: Batch, shapes: CheckedShapes) -> None:
        """Empty, invalid and sliver shapes; the kept shapes gathered for the whole-layer checks."""
        storage, fids = shapes.storage, batch.fids
        empty = np.zeros(len(storage), dtype=bool)
        if len(shapes.keep) < len(storage):  # normalise keeps every feature with a shape: only those left out
            left_out = np.setdiff1d(np.arange(len(storage)), shapes.keep)
            empty[left_out] = shapely.is_missing(storage[left_out]) | shapely.is_empty(storage[left_out])
        for i in np.flatnonzero(empty):
            self.add(Finding("geom-empty", layer=self.label, feature=_fid(fids[i]), details={"detail": "empty"}))
        if shapes.valid is not None:
            bad = np.flatnonzero(~shapes.valid & ~empty)
            if len(bad):
                reasons = shapely.is_valid_reason(storage[bad])
                repaired = shapely.area(shapely.make_valid(storage[bad], method="structure", keep_collapsed=False))
                for k, i in enumerate(bad):
                    f = Finding("geom-invalid", layer=self.label, feature=_fid(fids[i]), area_m2=float(repaired[k]))
                    f.details["detail"] = str(reasons[k])
                    self.add(f.at(storage[i]))
        if self.kind in POLYGONAL_KINDS:
            self.kept.append(shapes.geoms)
            self.kept_fids.append(fids[shapes.keep])

    def _values(self, batch: Batch, shapes: CheckedShapes, checker: LayerChecker, errors: ValueErrors) -> None:
        """Bad values (types, ranges, floors, keys) and unknown and legacy codes, each at its feature."""
        recorded = len(errors.records)
        checked = checker.values(batch, shapes.keep)
        by_fid = {f: k for k, f in enumerate(checked.fids)} if len(errors.records) > recorded else {}
        for fid, rule, msg in errors.records[recorded:]:
            k = by_fid.get(fid)
            f = Finding(rule, layer=self.label, feature=_fid(fid), details={"detail": msg})
            self.add(f.at(shapes.geoms[k]) if k is not None else f)
        code = checked.values.get("land_use_code")
        if self.kind == "zones" and code is not None:
            self.kept_codes.append(np.asarray(code, dtype=object))
        if code is None or checked.raw_codes is None:
            return
        raw = checked.raw_codes
        idx, uniq = factorize(raw)  # a few dozen distinct codes in a million zones: each decided once
        for u, r in enumerate(uniq.tolist()):
            if is_null(r):
                continue
            rows = np.flatnonzero(idx == u)
            mapped = code[rows[0]]
            if mapped is None:
                rule, detail = "code-unknown", None
            elif str(r).upper() in self.source.codes.legacy:
                rule, detail = "code-legacy", mapped
            else:
                continue
            for k in rows[: self.room(rule, len(rows))]:
                f = Finding(rule, layer=self.label, feature=_fid(checked.fids[k]), code=str(r))
                if detail is not None:
                    f.details["detail"] = detail
                self.add(f.at(shapes.geoms[k]))

    def _text(self, first: Batch, shapes: CheckedShapes) -> None:
        """Text fields written in TCVN3 or VNI, each with the first feature holding such text. As the importer
        settles a field's encoding, the first batch is looked at, each distinct value once, and a field whose
        first :data:`TEXT_SAMPLE` distinct non-ASCII values are Unicode is taken as Unicode."""
        if first.preset is not None:
            return
        for name in first.fields:
            values = np.asarray(first.fields[name])
            if values.dtype != object:
                continue
            idx, uniq = factorize(values)
            looked = 0
            for u, v in enumerate(uniq.tolist()):
                if not isinstance(v, str) or v.isascii():
                    continue
                unicode, enc = to_unicode(v)
                if enc:
                    i = int(np.argmax(idx == u))
                    f = Finding("text-legacy-encoding", layer=self.label, feature=_fid(first.fids[i]))
                    f.details = {"field": name, "detail": f"{enc} ({v!r} → {unicode!r})"}
                    self.add(f.at(shapes.storage[i]))
                    break
                looked += 1
                if looked >= TEXT_SAMPLE:
                    break

    def _whole_layer(self) -> None:
        """Duplicates (every polygonal layer), overlaps and gaps (zones)."""
        if self.kind not in POLYGONAL_KINDS or not self.kept:
            return
        geoms = np.concatenate(self.kept)
        self.kept.clear()
        # The report keeps the shapes for the thumbnails' surroundings: they are let go with it, not here.
        self.source.report.shapes[self.label] = geoms
        if self.kind == "zones" and len(self.kept_codes) == len(self.kept_fids):
            self.source.report.zones.append((geoms, np.concatenate(self.kept_codes)))
        pair, area = overlapping_pairs(geoms)
        if len(pair):
            fids = np.concatenate(self.kept_fids)
            codes = np.concatenate(self.kept_codes) if len(self.kept_codes) == len(self.kept_fids) else None
            same = shapely.equals(geoms[pair[:, 0]], geoms[pair[:, 1]])
            for (i, j), ar, dup in zip(pair.tolist(), area.tolist(), same.tolist(), strict=True):
                if not dup and self.kind != "zones":
                    continue  # parcels and buildings may be drawn over each other; only copies are wrong
                rule = "geom-duplicate" if dup else "geom-overlap"
                f = Finding(rule, layer=self.label, feature=_fid(fids[j]), area_m2=ar,
                            code=codes[j] if codes is not None else None, details={"other": _fid(fids[i])})  # fmt: skip
                self.add(f.at(shapely.intersection(geoms[i], geoms[j]) if not dup else geoms[j]))
        if self.kind == "zones" and len(geoms) <= GAP_CHECK_MAX_ZONES:
            for gap in gaps_in(shapely.union_all(geoms)):
                if gap["area_m2"] > GAP_MAX_AREA_M2 and gap["width_m"] > GAP_MAX_WIDTH_M:
                    continue  # a street or a river between zones, not a digitising gap
                e, n = gap["at_9214"]
                f = Finding("geom-gap", layer=self.label, area_m2=float(gap["area_m2"]), e=e, n=n)
                f.shape = shapely.Point(e, n)
                self.add(f)


def _slivers(geoms: np.ndarray) -> list[tuple[int, float, float]]:
    """The shapes under :data:`SLIVER_AREA_M2` or thinner than :data:`SLIVER_WIDTH_M` on average (2 × area ÷
    perimeter): (index, area, mean width) of each."""
    if not len(geoms):
        return []
    area = shapely.area(geoms)
    width = 2 * area / np.maximum(shapely.length(geoms), 1e-9)
    found = np.flatnonzero((area < SLIVER_AREA_M2) | (width < SLIVER_WIDTH_M))
    return [(int(k), float(area[k]), float(width[k])) for k in found]


def _text_lengths(batch: Batch, name: str) -> np.ndarray | None:
    """Each feature's length of a text field (0 where empty), by Arrow when it holds the field; None for a field
    of numbers."""
    if isinstance(batch.fields, ArrowFields) and is_text(arr := batch.fields.arrow(name)):
        return np.asarray(pc.utf8_length(arr).fill_null(0).to_numpy(zero_copy_only=False))
    values = np.asarray(batch.fields[name])
    if values.dtype != object:
        return None
    return np.array([len(v) if isinstance(v, str) else 0 for v in values.tolist()], dtype=np.int64)


def _chain(first: Batch, rest: Iterator[Batch]) -> Iterator[Batch]:
    yield first
    yield from rest


def _preset(batch: Batch, col: str) -> bool:
    return batch.preset is not None and col in batch.preset


def _fid(value: Any) -> Any:
    """A feature id as plain Python (numpy integers to int)."""
    return value.item() if hasattr(value, "item") else value
