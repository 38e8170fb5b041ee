"""The import as a whole: its sources found and ordered, the plan version made, each layer imported, the quality
checks run beside the attaching of the plan's zones, all in one transaction."""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from converters.errors import ConverterError
from converters.importer.bulk_zones import attach_zones
from converters.importer.columns import ORDER, PLAN_KINDS
from converters.importer.layer import import_layer
from converters.importer.options import ImportOptions, ProgressFn
from converters.importer.plan import ensure_plan
from converters.importer.quality import ZoneShapes, overlaps_then_free, quality
from converters.mapping import CodeBook, Profile, load_profile
from converters.report import ImportReport
from converters.sources import SourceLayer, find_sources
from gis_service.balance.declared import find_declared_balance
from gis_service.editing import change_context
from gis_service.file_digest import sha256 as file_sha256


def import_path(
    path: Path, engine: Engine, options: ImportOptions | None = None, *, progress: ProgressFn | None = None
) -> ImportReport:
    """Import a file, zipped shapefile or TT 16/2025 dossier folder into the planning schema, in one transaction.

    Returns the report; raises a :class:`~converters.errors.ConverterError` (nothing written) on bad input.
    """
    opts = options or ImportOptions()
    t0 = time.perf_counter()
    path = Path(path)
    report = ImportReport(source=path.name, dry_run=opts.dry_run)
    profile = load_profile(opts.mapping)
    sources, _skipped = ordered_sources(path, profile, opts, report)
    needs_plan = any(s.kind in PLAN_KINDS or s.kind is None for s in sources)
    if needs_plan and not opts.plan:
        raise ConverterError(
            f"{path.name} holds plan layers (zones, red or building lines): name the plan with --plan CODE"
        )
    files = [f for s in sources for f in s.files]
    sha = (opts.digest.of(files) if opts.digest is not None else None) or file_sha256(files)
    reason = opts.reason or f"import of {path.name} (sha256 {sha[:12]})"
    run = _Run(opts, profile, report, progress, reason, t0)
    with engine.connect() as conn:
        tx = conn.begin()
        try:
            conn.execute(sa.text("SET LOCAL statement_timeout = 0"))
            with change_context(conn, user=opts.user, reason=reason):
                declared = find_declared_balance(path) if needs_plan and path.is_dir() else None
                plan_id = ensure_plan(conn, opts, sha, report, declared_balance=declared) if needs_plan else None
                if needs_plan and plan_id is None:
                    tx.rollback()
                    report.seconds = time.perf_counter() - t0
                    return report
                run.load(conn, sources, plan_id)
            t3 = time.perf_counter()
            if opts.dry_run:
                tx.rollback()
            else:
                tx.commit()
            report.timings["commit"] = round(time.perf_counter() - t3, 3)
        except BaseException:
            if tx.is_active:
                tx.rollback()
            raise
    report.seconds = time.perf_counter() - t0
    return report


def ordered_sources(
    path: Path, profile: Profile, opts: ImportOptions, report: ImportReport
) -> tuple[list[SourceLayer], list[SourceLayer]]:
    """The layers to import, in the order they must go in (plan boundary and zones first, buildings after
    parcels), and those skipped: a GIS layer of no known kind is skipped with a warning, and a file of only those
    stops the import (and the validation, which reads the same)."""
    sources = find_sources(path, profile, kind=opts.kind)
    for s in sources:
        if s.kind is None and s.fmt == "vector":
            report.warn(f"{s.label}: not a layer the profile knows (give --kind to import it): skipped")
    skipped = [s for s in sources if s.kind is None and s.fmt == "vector"]
    sources = [s for s in sources if s.kind is not None or s.fmt in ("dxf", "dgn")]
    if not sources:
        layers = ", ".join(s.layer or s.label for s in skipped)
        raise ConverterError(
            f"{path.name}: no layer with a TT 16/2025 name (found {layers}): say what it holds with --kind "
            "(zones, parcels, buildings, red-lines, building-lines) or name its layer in a --mapping profile"
        )
    sources.sort(key=lambda s: ORDER.index(s.kind) if s.kind in ORDER else 1)
    return sources, skipped


def _codebook(conn: Connection) -> CodeBook:
    """The land-use codes of the database and the legacy codes they replace."""
    codes = conn.execute(sa.text("SELECT code, name_vi FROM planning.land_use_codes")).all()
    legacy = conn.execute(sa.text("SELECT legacy_code, code FROM planning.legacy_land_use_codes")).all()
    return CodeBook.from_rows([(c, n) for c, n in codes], [(a, b) for a, b in legacy])


class _Run:
    """What one import does inside its transaction once its plan version is known."""

    def __init__(
        self,
        opts: ImportOptions,
        profile: Profile,
        report: ImportReport,
        progress: ProgressFn | None,
        reason: str,
        t0: float,
    ) -> None:
        self.opts, self.profile, self.report, self.progress = opts, profile, report, progress
        self.reason, self.t0 = reason, t0
        self.zone_shapes: ZoneShapes | None = [] if opts.check_quality else None

    def load(self, conn: Connection, sources: list[SourceLayer], plan_id: int | None) -> None:
        """Every source's layers, then the code mappings, the quality checks and the plan's zones attached."""
        report = self.report
        codes = _codebook(conn)
        for src in sources:
            self._source(conn, src, plan_id, codes)
        report.code_mappings = [
            {"from": a, "to": b, "count": n} for (a, b), n in sorted(codes.mapped.items(), key=lambda x: -x[1])
        ]
        report.unknown_codes = dict(codes.unknown)
        t1 = time.perf_counter()
        report.timings["layers"] = round(t1 - self.t0, 3)
        if plan_id is not None and self.opts.check_quality:
            quality(conn, plan_id, self.zone_shapes or [], report)
        self._attach(conn, plan_id)
        report.timings["quality_checks"] = round(time.perf_counter() - t1 - report.timings["attach_zones"], 3)

    def _source(self, conn: Connection, src: SourceLayer, plan_id: int | None, codes: CodeBook) -> None:
        """One source: a CAD drawing's layers, a scan's zones, or a GIS layer of its kind."""
        args = (self.opts, self.profile, codes, self.report, self.progress)
        if src.fmt in ("dxf", "dgn"):
            from converters.cad import read_cad

            for kind, batch in read_cad(src, self.profile, codes, self.report).items():
                import_layer(conn, src, kind, plan_id, *args, [batch], self.zone_shapes)
        elif src.fmt == "scan":
            from converters.scan import read_scan

            rgb = conn.execute(
                sa.text("SELECT code, rgb FROM planning.land_use_codes WHERE rgb IS NOT NULL AND NOT is_group")
            ).all()
            batch = read_scan(src, self.profile, codes, dict(rgb), self.report, src_crs=self.opts.src_crs)
            import_layer(conn, src, "zones", plan_id, *args, [batch], self.zone_shapes)
        else:
            assert src.kind is not None
            import_layer(conn, src, src.kind, plan_id, *args, None, self.zone_shapes)

    def _attach(self, conn: Connection, plan_id: int | None) -> None:
        """The plan's zones attached, with the overlap check (GEOS, in a thread) run while the server builds the
        zones' indexes."""
        report = self.report
        with ThreadPoolExecutor(1, thread_name_prefix="import-overlaps") as pool:

            def check_overlaps() -> Future[None] | None:
                """The overlap check started in ``pool`` (None when there is nothing to check)."""
                if plan_id is None or not self.opts.check_quality:
                    return None
                return pool.submit(overlaps_then_free, self.zone_shapes or [], report)

            t2 = time.perf_counter()
            if plan_id is not None:
                zones = sum(lr.written for lr in report.layers if lr.kind == "zones")
                if self.progress and zones:  # a long step on a large plan, after the last feature's bar
                    self.progress("zones: indexes, keys and checks", zones, zones)
                overlaps = attach_zones(conn, plan_id, self.opts.user, self.reason, report, check_overlaps)
            else:
                overlaps = check_overlaps()
            report.timings["attach_zones"] = round(time.perf_counter() - t2, 3)
            if overlaps is not None:
                overlaps.result()
