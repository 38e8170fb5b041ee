"""Where an import's features come from: one ``planning.feature_sources`` row per source layer (migration 0015),
which every feature it writes names (``source_id``), with its georeferencing error as the feature's first
``position_error_m``."""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from converters.importer.options import ImportOptions
from converters.sources import Batch, SourceLayer
from gis_service.file_digest import sha256 as file_sha256

__all__ = ["SourceRecord", "record_source", "sheet_of"]

_METHOD = {"vector": "gis", "dxf": "cad", "dgn": "cad", "scan": "scan"}
#: A sheet number in a scan's or drawing's file name: ``to12``, ``sheet_12``, ``So-12``, ``T12``.
_SHEET = re.compile(r"(?:^|[_\- .])(?:to|sheet|so|t)[_\- ]?(\d{1,4})(?=$|[_\- .])", re.IGNORECASE)


def sheet_of(path: Path, method: str) -> str | None:
    """The sheet or drawing a scan or CAD file is: a sheet number in its name, else its name (GIS layers: None).

    >>> sheet_of(Path("QHPK_to12_2024.tif"), "scan"), sheet_of(Path("KimLong_QHCT.dxf"), "cad")
    ('12', 'KimLong_QHCT')
    """
    if method == "gis":
        return None
    m = _SHEET.search(path.stem)
    return m.group(1) if m else path.stem


class SourceRecord:
    """The source row's id and the georeferencing error each feature starts with."""

    def __init__(self, source_id: int, error_m: float | None) -> None:
        self.id = source_id
        self.error_m = error_m


def _digest(src: SourceLayer, opts: ImportOptions) -> str | None:
    """The SHA-256 of the layer's files: the import's own when they are its only files, else computed once per set of
    files (a GeoPackage's four layers hash it once)."""
    files = tuple(src.files)
    if not files:
        return None
    if opts.digest is not None and (known := opts.digest.of(list(files))) is not None:
        return known
    cache: dict[tuple[Path, ...], str] = opts.extra.setdefault("_sha256_of_files", {})
    if files not in cache:
        cache[files] = file_sha256(files)
    return cache[files]


def record_source(
    conn: Connection, src: SourceLayer, kind: str, plan_id: int | None, opts: ImportOptions, first: Batch
) -> SourceRecord:
    """Write the layer's ``feature_sources`` row (in the import's transaction) and return it; the reason is the
    import's (``planning.reason``, set for the transaction's history)."""
    method = _METHOD.get(src.fmt, "gis")
    path = Path(src.path)
    error = first.georef_error_m
    source_id = conn.execute(
        sa.text(
            "INSERT INTO planning.feature_sources (plan_id, method, file_name, layer_name, sha256, sheet, "
            "georef_error_m, imported_by, reason) VALUES (:plan, :method, :file, :layer, :sha, :sheet, :err, :user, "
            "coalesce(:reason, nullif(current_setting('planning.reason', true), ''))) RETURNING id"
        ),
        {
            "plan": plan_id,
            "method": method,
            "file": path.name,
            "layer": src.layer if method == "gis" else kind,
            "sha": _digest(src, opts),
            "sheet": sheet_of(path, method),
            "err": error,
            "user": opts.user,
            "reason": opts.reason,
        },
    ).scalar_one()
    return SourceRecord(int(source_id), error)
