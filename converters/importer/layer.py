"""One layer of a source into its table: its first batch read (CRS, fields), every batch prepared in a thread and
copied here, then what is checked and written once the whole layer is in."""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from converters.base_map import import_base_map_layer
from converters.errors import EmptyLayer, UnknownCodes
from converters.importer.checking import LayerChecker, resolve_fields
from converters.importer.columns import COLUMNS
from converters.importer.options import ImportOptions, ProgressFn
from converters.importer.prepare import BatchPreparer
from converters.importer.provenance import record_source
from converters.importer.quality import ZoneShapes
from converters.importer.reading import check_required, feature_count, read_batches, source_crs
from converters.importer.values import ValueErrors
from converters.importer.writes import Writer
from converters.mapping import TABLE_OF, CodeBook, Profile
from converters.prefetch import prefetch
from converters.report import ImportReport, LayerReport
from converters.sources import Batch, SourceLayer


def import_layer(
    conn: Connection,
    src: SourceLayer,
    kind: str,
    plan_id: int | None,
    opts: ImportOptions,
    profile: Profile,
    codes: CodeBook,
    report: ImportReport,
    progress: ProgressFn | None,
    batches: Iterable[Batch] | None = None,
    zone_shapes: ZoneShapes | None = None,
) -> LayerReport:
    """Import one layer of ``kind`` (its batches: given by a CAD or scan reader, else read from ``src``).

    Returns the layer's report, which is also added to ``report``; raises a
    :class:`~converters.errors.ConverterError` on bad input.
    """
    lr = LayerReport(source=src.label, kind=kind, table=TABLE_OF[kind])
    report.layers.append(lr)
    errors = ValueErrors(src.label)
    unknown_before = Counter(codes.unknown)
    total = feature_count(src) if batches is None and src.fmt == "vector" else None
    source = iter(batches if batches is not None else read_batches(src, opts))
    first = next(source, None)
    if first is None:
        raise EmptyLayer(f"{src.label}: the layer has no features")
    crs = source_crs(first, src, opts, report)
    lr.crs = crs.how
    fmap, suggestions = resolve_fields(profile, kind, first, codes, accept_suggested=opts.accept_suggested_mapping)
    for s in suggestions:
        report.warn(f"{src.label}: {s.sentence(applied=opts.accept_suggested_mapping)}")
    lr.fields = dict(fmap.columns)
    all_batches = itertools.chain([first], source)
    if kind == "map-features":  # the base map: a few thousand features, written by a path of its own
        import_base_map_layer(conn, src, lr, all_batches, crs, fmap, progress=progress, total=total)
        return lr
    check_required(src, kind, fmap, profile, first, suggestions)
    writer = Writer(conn, kind, plan_id, COLUMNS[kind], opts.user) if kind != "plan-boundary" else None
    origin = record_source(conn, src, kind, plan_id, opts, first) if writer is not None else None
    with ThreadPoolExecutor(1, thread_name_prefix="import-proj") as proj_pool:
        checker = LayerChecker(src, kind, codes, fmap, crs, lr, errors, proj_pool)
        prepare = BatchPreparer(checker, plan_id, profile, writer, zone_shapes)
        prepare.origin = origin
        boundary = _copy_batches(prepare, all_batches, report, progress, total)
    errors.raise_if_any()
    _check_unknown_codes(src, codes, unknown_before, opts)
    if kind == "plan-boundary":
        _write_boundary(conn, boundary, plan_id, lr)
    elif writer is not None:
        writer.finish(lr)
    if lr.written + lr.updated + lr.unchanged == 0 and kind != "plan-boundary":
        raise EmptyLayer(f"{src.label}: no feature left to import ({lr.dropped_total} dropped: see the report)")
    return lr


def _copy_batches(
    prepare: BatchPreparer,
    batches: Iterator[Batch],
    report: ImportReport,
    progress: ProgressFn | None,
    total: int | None,
) -> list[Any]:
    """Each batch prepared in a thread and copied here; returns the plan boundary's shapes (none for other kinds).

    Reading and preparing the next batch overlaps with the database writing this one. The report says which side
    the other waited for: the time COPY took, and the time spent waiting for the next prepared batch.
    """
    lr, kind, writer, label = prepare.lr, prepare.kind, prepare.writer, prepare.src.label
    boundary: list[Any] = []
    copying = waiting = 0.0
    t = time.perf_counter()
    for rows, n_rows, fids, sent in prefetch(prepare(b) for b in batches):
        t1 = time.perf_counter()
        waiting += t1 - t
        if kind == "plan-boundary":
            boundary.extend(rows)
        if n_rows:
            assert writer is not None
            writer.copy(sent, rows, fids, label)
        if kind not in ("parcels", "buildings"):
            lr.written += n_rows
        if progress:
            progress(label, lr.read, total)
        t = time.perf_counter()
        copying += t - t1
    report.timings["copy"] = round(report.timings.get("copy", 0.0) + copying, 3)
    report.timings["waiting_for_reader"] = round(report.timings.get("waiting_for_reader", 0.0) + waiting, 3)
    return boundary


def _check_unknown_codes(src: SourceLayer, codes: CodeBook, unknown_before: Counter[str], opts: ImportOptions) -> None:
    """Stop the import on land-use codes the layer brought that are neither current nor known legacy codes
    (unless ``--allow-unknown-codes``)."""
    new_unknown = codes.unknown - unknown_before
    if new_unknown and not opts.allow_unknown_codes:
        listed = ", ".join(f"{c!r} ({n}×)" for c, n in new_unknown.most_common(30))
        raise UnknownCodes(
            f"{src.label}: unknown land-use codes {listed}: they are neither TT 08/2024 codes nor known legacy codes; "
            "correct them, map them in a profile, or import anyway with --allow-unknown-codes (zones with them are "
            "then left out and listed, other features keep the code in their attributes)",
            dict(new_unknown),
        )


def _write_boundary(conn: Connection, boundary: list[Any], plan_id: int | None, lr: LayerReport) -> None:
    """The plan's boundary: the union of the layer's shapes, as a MultiPolygon."""
    geom = shapely.union_all(np.asarray(boundary, dtype=object)) if boundary else None
    if geom is not None and plan_id is not None:
        if geom.geom_type == "Polygon":
            geom = shapely.MultiPolygon([geom])
        conn.execute(
            sa.text("UPDATE planning.plans SET geom = ST_SetSRID(CAST(:g AS geometry), 9214) WHERE id = :id"),
            {"g": shapely.to_wkb(geom, hex=True), "id": plan_id},
        )
        lr.written = 1
