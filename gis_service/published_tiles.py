"""Published vector tiles: the tiles of approved plans written once at publication and served as files.

Approved plans change only when a planner publishes a version, so their tiles are drawn by PostGIS once, by the job
that follows a publication (``tiles.rebuild``) or ``planning tiles vector``, with the same SQL as the live tiles
(:func:`gis_service.vector_tiles.tile_sql`, approved rows only: a draft cannot reach them), and read back from files
without a database query. Plain files (``<set>/<z>/<y>/<x>.mvt``, the routes' order) rather than one archive: an
incremental rebuild replaces only the tiles whose bytes changed, and the folder copies to object storage or a CDN as
it is.

Each layer set the routes serve (one collection, or the whole plan map) has its folder and a ``tiles.json`` saying
up to which zoom it was built, and from which database (host, port and name: a folder written from another database
is not served, it is drawn live); a tile of that zoom range without a file is empty (nothing there). Deeper zooms,
dates (``as_of``), drafts under consultation and sets not built yet are drawn live.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from gis_service.model import LAYERS as CATALOGUE
from gis_service.model.visibility import is_dated
from gis_service.vector_tiles import TILE_LAYERS, tile_sql

__all__ = [
    "LAYER_SETS",
    "MANIFEST",
    "BuildReport",
    "PublishedTiles",
    "build_published_tiles",
    "database_of",
    "etag_of",
    "tiles_over",
]

#: The layer sets the routes serve: each collection alone, and the plan map of all of them (``/ogc/tiles/...``).
LAYER_SETS: dict[str, tuple[str, ...]] = {**{name: (name,) for name in TILE_LAYERS}, "map": tuple(TILE_LAYERS)}
#: The file saying up to which zoom a layer set was built.
MANIFEST = "tiles.json"
#: Web Mercator's latitude limit.
_MAX_LAT = 85.0511287798066

Progress = Callable[[str], None]


def database_of(url: str | sa.URL) -> str:
    """The database a folder of tiles belongs to: host, port and name of its URL (no user, no password).

    >>> database_of("postgresql://u:secret@127.0.0.1:5432/hue")
    '127.0.0.1:5432/hue'
    """
    u = sa.make_url(url)
    return f"{u.host or ''}:{u.port or ''}/{u.database or ''}"


def etag_of(body: bytes) -> str:
    """The strong ETag of a tile: a digest of its bytes, so a file tile and a live tile of the same bytes agree."""
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


_EMPTY_ETAG = etag_of(b"")


def tiles_over(bbox: tuple[float, float, float, float], z: int, margin: int = 1) -> Iterator[tuple[int, int]]:
    """The WebMercatorQuad tiles (x, y) of zoom ``z`` over a lon/lat box, widened by ``margin`` tiles on each side
    (a feature near a tile's edge is drawn in its neighbour's buffer too).

    >>> sorted(tiles_over((107.58, 16.46, 107.59, 16.47), 10, margin=0))
    [(818, 464)]
    """
    n = 1 << z

    def col(lon: float) -> int:
        return min(n - 1, max(0, int((lon + 180.0) / 360.0 * n)))

    def row(lat: float) -> int:
        phi = math.radians(max(-_MAX_LAT, min(_MAX_LAT, lat)))
        return min(n - 1, max(0, int((1.0 - math.asinh(math.tan(phi)) / math.pi) / 2.0 * n)))

    x0, x1 = col(bbox[0]) - margin, col(bbox[2]) + margin
    y0, y1 = row(bbox[3]) - margin, row(bbox[1]) + margin
    for x in range(max(0, x0), min(n - 1, x1) + 1):
        for y in range(max(0, y0), min(n - 1, y1) + 1):
            yield x, y


@dataclass
class BuildReport:
    """What a build of one layer set did: tiles drawn, written (new or changed), deleted (now empty), seconds."""

    layer_set: str
    max_zoom: int
    drawn: int = 0
    written: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def describe(self) -> str:
        """One line for the command line and the job's result."""
        return (
            f"vector tiles {self.layer_set} z0-{self.max_zoom}: {self.drawn} drawn, {len(self.written)} written, "
            f"{len(self.deleted)} deleted, {self.seconds:.2f} s"
        )


class PublishedTiles:
    """The folder of published vector tiles: where each tile is, and reading one without the database.

    Parameters
    ----------
    root
        The folder (``GIS_VECTOR_TILES__DIR``).
    database
        The database served (:func:`database_of`): sets built from another one are not read. None: any.
    """

    def __init__(self, root: Path, database: str | None = None) -> None:
        self.root = root
        self.database = database
        self._etags: dict[Path, tuple[tuple[int, int], str]] = {}
        self._manifests: dict[str, tuple[float, int | None]] = {}

    def path(self, layer_set: str, z: int, x: int, y: int) -> Path:
        """The file of a tile: row before column, as in the routes' ``{z}/{y}/{x}``, so a CDN maps one to the other."""
        return self.root / layer_set / str(z) / str(y) / f"{x}.mvt"

    def max_zoom(self, layer_set: str) -> int | None:
        """The deepest zoom built for a layer set; None when it was never built."""
        manifest = self.root / layer_set / MANIFEST
        try:
            mtime = manifest.stat().st_mtime
        except OSError:
            return None
        cached = self._manifests.get(layer_set)
        if cached is None or cached[0] != mtime:
            try:
                found = json.loads(manifest.read_text())
                zoom: int | None = int(found["max_zoom"])
                if self.database is not None and found.get("database") != self.database:
                    zoom = None
            except (OSError, ValueError, KeyError, TypeError):
                zoom = None  # being replaced or damaged: draw live rather than answer wrongly
            cached = (mtime, zoom)
            self._manifests[layer_set] = cached
        return cached[1]

    def read(self, layer_set: str, z: int, x: int, y: int) -> bytes | None:
        """The published tile's bytes (empty where nothing is), or None when it must be drawn live."""
        found = self.read_tagged(layer_set, z, x, y)
        return None if found is None else found[0]

    def read_tagged(self, layer_set: str, z: int, x: int, y: int) -> tuple[bytes, str] | None:
        """The published tile's bytes and ETag, or None when it must be drawn live.

        The ETag of a file is kept while its size and modification time stay the same: a z14 tile of parcels is
        over 500 kB, and hashing it on every request would cost more than reading it.
        """
        top = self.max_zoom(layer_set)
        if top is None or z > top:
            return None
        path = self.path(layer_set, z, x, y)
        try:
            with open(path, "rb") as fh:
                st = os.fstat(fh.fileno())
                body = fh.read()
        except FileNotFoundError:
            return b"", _EMPTY_ETAG
        key = (st.st_mtime_ns, st.st_size)
        known = self._etags.get(path)
        if known is None or known[0] != key:
            known = (key, etag_of(body))
            self._etags[path] = known
        return body, known[1]

    def write_manifest(self, layer_set: str, max_zoom: int) -> None:
        """Say the set is built up to ``max_zoom`` from :attr:`database` (written last, so a half-built set is
        never served)."""
        manifest = {"max_zoom": max_zoom, "database": self.database}
        _replace(self.root / layer_set / MANIFEST, json.dumps(manifest).encode())

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the folder's lock: one build at a time (the job runner of each process, the command line)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


def _replace(path: Path, body: bytes) -> None:
    # a reader sees the old file or the new one, never half of one
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(body)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk leaves no half-written file behind
        raise


def _extent(conn: Connection, layers: Iterable[str], plan_ids: list[int] | None) -> tuple[float, ...] | None:
    """The lon/lat box of the published features of ``layers``, or with ``plan_ids`` of those plan versions'
    features (any status: a superseded version's zones leave tiles that must be redrawn)."""
    parts = []
    for name in layers:
        layer = CATALOGUE[name]
        if plan_ids is None:
            where = TILE_LAYERS[name].public_filter
            parts.append(f"SELECT ST_Extent(geom_4326) AS e FROM planning.{name} t WHERE {where}")  # noqa: S608 (catalog)
        elif is_dated(layer):
            parts.append(f"SELECT ST_Extent(geom_4326) AS e FROM planning.{name} t WHERE t.plan_id = ANY(:ids)")  # noqa: S608
    if not parts:
        return None
    sql = "SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM (SELECT ST_Extent(e) AS b FROM ("
    row = conn.execute(sa.text(sql + " UNION ALL ".join(parts) + ") u) v"), {"ids": plan_ids or []}).one()
    return None if row[0] is None else tuple(float(v) for v in row)


def build_published_tiles(
    engine: Engine,
    root: Path,
    *,
    max_zoom: int,
    layer_sets: Iterable[str] | None = None,
    plan_ids: list[int] | None = None,
    progress: Progress | None = None,
) -> list[BuildReport]:
    """Draw the published vector tiles into ``root``, or bring them up to date: only tiles whose bytes changed are
    written, tiles now empty are deleted.

    Parameters
    ----------
    engine
        Where the features are read.
    root
        The folder of the published tiles.
    max_zoom
        The deepest zoom written; deeper tiles are drawn live.
    layer_sets
        The sets to build (default all of :data:`LAYER_SETS`).
    plan_ids
        After a publication: the plan versions published and superseded. Only the sets holding plan layers are
        redrawn, and only over those versions' features; without it every tile over every published feature is.

    Returns
    -------
    list of BuildReport
        One per layer set.
    """
    store = PublishedTiles(root, database_of(engine.url))
    names = list(layer_sets or LAYER_SETS)
    unknown = [n for n in names if n not in LAYER_SETS]
    if unknown:
        raise ValueError(f"no layer set {', '.join(unknown)}; sets: {', '.join(LAYER_SETS)}")
    reports = []
    with store.locked(), engine.connect() as conn:
        for name in names:
            layers = LAYER_SETS[name]
            # a set never built is built whole, even after a publication
            plan_ids_here = None if store.max_zoom(name) is None else plan_ids
            if plan_ids_here is not None and not any(is_dated(CATALOGUE[n]) for n in layers):
                continue  # a publication changes no parcel and no base map
            report = BuildReport(name, max_zoom)
            started = time.perf_counter()
            bbox = _extent(conn, layers, plan_ids_here)
            for z in range(max_zoom + 1):
                sql = tile_sql(list(layers), z)
                seen: set[tuple[int, int]] = set()
                if bbox is not None:
                    for x, y in tiles_over(bbox, z):  # type: ignore[arg-type]
                        seen.add((x, y))
                        body = bytes(conn.exec_driver_sql(sql, (z, x, y)).scalar_one() or b"")
                        report.drawn += 1
                        _store(store, name, z, x, y, body, report)
                if plan_ids_here is None:
                    _delete_outside(store, name, z, seen, report)
                if progress:
                    progress(f"vector tiles {name} z{z}: {report.drawn} drawn, {len(report.written)} written")
            store.write_manifest(name, max_zoom)
            report.seconds = time.perf_counter() - started
            reports.append(report)
    return reports


def _store(store: PublishedTiles, name: str, z: int, x: int, y: int, body: bytes, report: BuildReport) -> None:
    path = store.path(name, z, x, y)
    key = f"{name}/{z}/{y}/{x}"
    try:
        old: bytes | None = path.read_bytes()
    except FileNotFoundError:
        old = None
    if not body:
        if old is not None:
            path.unlink()
            report.deleted.append(key)
    elif body != old:
        _replace(path, body)
        report.written.append(key)


def _delete_outside(store: PublishedTiles, name: str, z: int, seen: set[tuple[int, int]], report: BuildReport) -> None:
    # a full build drops the tiles of features that are gone from the published plans
    folder = store.root / name / str(z)
    if not folder.is_dir():
        return
    for path in folder.glob("*/*.mvt"):
        y, x = int(path.parent.name), int(path.stem)
        if (x, y) not in seen:
            path.unlink()
            report.deleted.append(f"{name}/{z}/{y}/{x}")
