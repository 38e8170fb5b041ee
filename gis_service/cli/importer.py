"""``planning import``: digitise a plan map (GIS file, CAD drawing, scan, TT 16/2025 dossier) into the database."""

from __future__ import annotations

import ctypes
import gc
import getpass
import sys
from pathlib import Path
from typing import Any

import click

from gis_service.cli import exit_without_teardown, get_settings, own_process, say
from gis_service.db import create_db_engine, resolve_database_url
from gis_service.model import LAYERS

KINDS = [layer.kind for layer in LAYERS.values()]


class _Progress:
    """A one-line progress counter on stderr (only on a terminal, or every 100,000 features otherwise)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.last = 0

    def __call__(self, label: str, done: int, total: int | None) -> None:
        if self.quiet:
            return
        if sys.stderr.isatty():
            if total:
                filled = int(30 * min(done / total, 1.0))
                bar = f"[{'#' * filled}{'.' * (30 - filled)}] {100 * done / total:3.0f}% "
                sys.stderr.write(f"\r  {label} {bar}{done:,}/{total:,} features\x1b[K")  # [K: clear the rest
            else:
                sys.stderr.write(f"\r  {label}: {done:,} features\x1b[K")
            sys.stderr.flush()
        elif done - self.last >= 100_000:
            say(f"  {label}: {done:,} features")
            self.last = done

    def end(self) -> None:
        if not self.quiet and sys.stderr.isatty():
            sys.stderr.write("\n")


@click.command("import")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--plan", "plan", metavar="CODE", help="Plan code (maHoSoQH, e.g. 46QPK0000001); created if new.")
@click.option("--kind", type=click.Choice(KINDS), help="What the file holds (default: by its TT 16/2025 layer names).")
@click.option("--mapping", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Mapping profile (YAML).")
@click.option("--src-crs", metavar="CRS", help="CRS of the coordinates: EPSG:9214, vn2000:107, vn2000:107.75, ...")
@click.option("--dry-run", is_flag=True, help="Do everything but write.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path), help="Write the JSON report.")
@click.option("--allow-unknown-codes", is_flag=True, help="Import despite unknown land-use codes (listed).")
@click.option(
    "--accept-suggested-mapping", is_flag=True, help="Use the fields proposed for columns no known field fills."
)
@click.option("--name", "plan_name", help="Plan name (a new plan).")
@click.option("--level", "plan_level", type=click.Choice(["land_use", "general", "zoning", "detailed"]))
@click.option("--scale", type=int, help="Scale denominator (2000 for 1:2000).")
@click.option("--decision-no", help="Approval decision number (e.g. 1234/QĐ-UBND).")
@click.option("--decision-date", type=click.DateTime(formats=["%Y-%m-%d"]), help="Decision date YYYY-MM-DD.")
@click.option("--new-version", is_flag=True, help="Make a new plan version even if the same files were imported.")
@click.option("--user", default=None, help="Who imports (recorded in the history; default: your login).")
@click.option("--reason", default=None, help="Why (recorded in the history; default: 'import of FILE').")
@click.pass_context
def import_(
    ctx: click.Context, path: Path, report_path: Path | None, decision_date: Any, user: str | None, **kw: Any
) -> None:
    """Import PATH into the planning database, in one transaction (all or nothing).

    PATH is a GeoPackage, Shapefile (alone or zipped), GeoJSON, MapInfo TAB/MIF, FileGDB, DXF, DGN v7, a scanned
    GeoTIFF or a TT 16/2025 dossier folder (HoSoGIS/*.gpkg or *.gdb).
    """
    # Python's cyclic garbage collector is off while the command runs: reference counting frees the import's
    # objects, and the collector's passes over the live ones (modules, each batch's shapes) find few cycles. The
    # process ends after.
    gc_was_on = gc.isenabled()
    gc.disable()
    if own_process():
        _keep_freed_memory()
    try:
        _import(ctx, path, report_path, decision_date, user, kw)
    finally:
        if gc_was_on:  # a run inside another program (tests) gives it back as it was
            gc.enable()


def _keep_freed_memory() -> None:
    """glibc's malloc keeps the memory an import frees for its next batches, rather than giving it back to the
    system at once and having it zeroed again on the next touch. By default every array above a threshold (which
    grows to at most 32 MB) is a mapping of its own, unmapped when freed, and the top of the heap is trimmed past
    twice that, and each page of new memory costs the kernel a fault and its clearing (``docs/import-pipeline.md``
    has the figures). A setting of the whole process: only when the command is the process (which ends after).
    Elsewhere (musl, macOS) nothing is changed."""
    if not sys.platform.startswith("linux"):
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_mmap_threshold = -1, -3  # <malloc.h>
    mallopt(m_mmap_threshold, 256 << 20)  # arrays up to 256 MB from the heap, reused once freed
    mallopt(m_trim_threshold, 1 << 30)  # freed memory kept up to 1 GB


def _import(
    ctx: click.Context, path: Path, report_path: Path | None, decision_date: Any, user: str | None, kw: dict[str, Any]
) -> None:
    from gis_service import file_digest

    digest = file_digest.start(path)  # hashed while the converters load
    from converters import ConverterError, ImportOptions, import_path
    from gis_service.errors import PlanningError

    settings = get_settings(ctx)
    quiet = bool(ctx.ensure_object(dict).get("quiet"))
    opts = ImportOptions(
        decision_date=decision_date.date() if decision_date is not None else None,
        user=user or getpass.getuser(),
        digest=digest,
        **kw,
    )
    engine = create_db_engine(resolve_database_url(settings), pool_size=1, statement_timeout_ms=0)
    progress = _Progress(quiet)
    try:
        report = import_path(path, engine, opts, progress=progress)
    except ConverterError:
        progress.end()
        raise
    except PlanningError:
        progress.end()
        raise
    finally:
        engine.dispose()
    progress.end()
    if report_path is not None:
        report.write(report_path)
    if not quiet:
        say(report.summary())
    exit_without_teardown()  # the import is committed, the engine disposed, the report written
