"""Build 3D Tiles 1.1 tilesets of plan zones, buildings and parcels from PostGIS, incrementally.

Layout of the output folder::

    tileset.json                   root tileset: one child per layer tileset (external tilesets)
    zones/tileset.json             a quadtree of tiles; the root tile carries the east-north-up -> ECEF transform
    zones/t/<level>/<x>/<y>-<sha>.glb  leaf contents (glTF + EXT_mesh_features + EXT_structural_metadata), named
                                   after the first 12 hex digits of their bytes' SHA-256
    zones/manifest.json            what each tile was built from: the incremental rebuild reads it
    buildings/..., parcels/...

A rebuild plans the quadtree from the cheap key query (ids, versions, boxes), and writes only the tiles whose key
(the build parameters and the id and version of every feature in them) changed, or whose file is missing; tiles
that no longer exist are deleted. The same database therefore always gives the same files, built in one go or step
by step. A content's name changes with its bytes, so the tileset links to plain relative files (no query string:
a copy of the folder to a disk, object storage or a CDN is a valid tileset) that can be cached for good. New
contents are written first, then the tileset (atomically: write, then rename), and only then are the contents it no
longer names removed, so a viewer never reads half a tile.

The tileset model is py3dtiles' (``TileSet``, ``Tile``, ``BoundingVolumeBox``): children are appended directly
rather than through ``Tile.add_child``, which re-applies the parent's transform to the child's box (py3dtiles
12.1.1), and the root transform is set on the root tile only. The glb contents are written by :mod:`tiles.glb`.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
import sqlalchemy as sa
from py3dtiles.tileset import BoundingVolumeBox, Tile, TileSet
from py3dtiles.tileset.tileset import SpecVersion
from sqlalchemy.engine import Connection, Engine

from gis_service.errors import DiskFull, NotFound, ValidationError
from tiles.geodesy import enu_frame, enu_to_ecef_matrix
from tiles.glb import glb_bytes
from tiles.ground import Ground
from tiles.layers import LAYERS, Layer
from tiles.mesh import estimated_vertices, extrude
from tiles.quadtree import Node, build_quadtree, cell_bounds

__all__ = ["FORMAT_VERSION", "LayerReport", "TileOptions", "build_tilesets"]

FORMAT_VERSION = "2"  #: bump when the content of tiles changes for the same data, to force a full rebuild
FETCH_BATCH = 20_000  #: features fetched from PostGIS in one query
BOX_MARGIN_M = 0.01  #: bounding boxes grow by this much so float32 content stays inside them

Progress = Callable[[str], None]


@dataclass(frozen=True)
class TileOptions:
    """How tall things are and how big tiles get (``GIS_TILES__*`` settings, passed down by the caller)."""

    ground_level_m: float = 0.0
    geoid_offset_m: float = 0.0
    dem_path: Path | None = None
    floor_height_m: float = 3.3
    default_zone_height_m: float = 12.0
    default_building_height_m: float = 6.0
    parcel_slab_m: float = 0.3
    max_features_per_tile: int = 1000
    max_vertices_per_tile: int = 60_000
    compact: bool = True  #: quantized, meshopt-compressed glb (``False``: plain float32, for comparison)


@dataclass
class LayerReport:
    """What one layer's build did."""

    layer: str
    features: int = 0
    tiles: int = 0
    written: list[str] = field(default_factory=list)  # tile addresses (re)written
    deleted: list[str] = field(default_factory=list)
    bytes_written: int = 0
    seconds: float = 0.0

    def describe(self) -> str:
        """One line for people: features, tiles, what was written and removed, and the time taken."""
        if not self.features:
            return f"{self.layer}: no features"
        return (
            f"{self.layer}: {self.features:,} features in {self.tiles} tiles; {len(self.written)} written "
            f"({self.bytes_written / 1e6:.1f} MB), {self.tiles - len(self.written)} unchanged, "
            f"{len(self.deleted)} removed, {self.seconds:.1f} s"
        )


@dataclass
class _Frame:
    lon: float
    lat: float
    origin: npt.NDArray[np.float64]
    rotation: npt.NDArray[np.float64]


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)  # no half-written file left behind
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFull(
                f"không còn chỗ trống trên đĩa / no space left on the disk of {path.parent}: {path.name} was not "
                "written, and the tiles served are still the last complete set; free some space there, then build "
                "again ('planning tiles build')"
            ) from None
        raise


def _write_if_changed(path: Path, data: bytes) -> bool:
    if path.is_file() and path.read_bytes() == data:
        return False
    _write_atomic(path, data)
    return True


@contextmanager
def _locked(out_dir: Path, wait_s: float = 0.0) -> Iterator[None]:
    out_dir.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_s
    with (out_dir / ".build.lock").open("w") as lock:
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise ValidationError(
                        f"another 'planning tiles build' is writing to {out_dir}: wait for it"
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _rgb(text: str | None, default: tuple[int, int, int]) -> tuple[int, int, int]:
    if not text:
        return default
    r, g, b = (int(v) for v in text.split())
    return r, g, b


HASH_CHARS = 12  #: hex digits of the SHA-256 in a content's file name (48 bits: no collision among a layer's tiles)


def content_name(address: str, data: bytes) -> str:
    """The file name of a tile's glb under ``t/``: its quadtree address and the hash of its bytes.

    >>> content_name("14/3/5", b"glTF")
    '14/3/5-c74f91943979.glb'
    """
    return f"{address}-{hashlib.sha256(data).hexdigest()[:HASH_CHARS]}.glb"


def _address_of(name: str) -> str:
    """The quadtree address of a content file name (``14/3/5-<sha>.glb`` -> ``14/3/5``)."""
    stem = name.removesuffix(".glb")
    head, _, tail = stem.rpartition("-")
    return head if head and len(tail) == HASH_CHARS else stem


def _sweep(tiles_dir: Path, keep: set[str]) -> list[str]:
    """Delete contents the tileset does not name (older versions, leftovers of an interrupted build); their names."""
    gone: list[str] = []
    if not tiles_dir.is_dir():
        return gone
    for path in sorted(tiles_dir.rglob("*")):
        if not path.is_file():
            continue
        name = path.relative_to(tiles_dir).as_posix()
        if path.name.startswith(".") or path.suffix != ".glb" or name not in keep:
            path.unlink()
            if path.suffix == ".glb":
                gone.append(name)
    for folder in sorted((p for p in tiles_dir.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        if not any(folder.iterdir()):
            folder.rmdir()
    return gone


def build_tile(
    layer: Layer,
    rows: Sequence[Any],
    frame: _Frame,
    ground: Ground,
    options: TileOptions,
) -> tuple[bytes, list[float]]:
    """The glb of one tile's features (rows of the layer's fetch query, in feature-id order) and its ENU box."""
    geoms = shapely.from_wkb([r.wkb for r in rows])
    base = ground.base_heights(geoms)
    heights = np.array([layer.height(r._mapping, options) for r in rows], dtype=np.float64)
    mesh = extrude(geoms, base, heights, frame.origin, frame.rotation)
    lo = mesh.positions.min(axis=0)
    hi = mesh.positions.max(axis=0)
    translation = np.round((lo + hi) / 2, 3)
    colors = np.array([(*_rgb(r.rgb, layer.default_rgb), 255) for r in rows], dtype=np.uint8)
    columns: dict[str, list[Any]] = {}
    for prop in layer.properties:
        if prop.id == "envelope_height_m":
            columns[prop.id] = heights.tolist()
        else:
            columns[prop.id] = [r._mapping[prop.id] for r in rows]
    data = glb_bytes(
        mesh,
        colors=colors,
        translation=translation,
        class_id=layer.class_id,
        class_name=layer.class_name,
        properties=layer.properties,
        columns=columns,
        translucent=layer.translucent,
        compact=options.compact,
    )
    box = [*(lo - BOX_MARGIN_M).tolist(), *(hi + BOX_MARGIN_M).tolist()]
    return data, [round(v, 4) for v in box]


def _frame_of(conn: Connection, root: Node) -> _Frame:
    """The east-north-up frame at the centre of the quadtree's root cell (through PostGIS's VN-2000 shift)."""
    x0, y0, x1, y1 = cell_bounds(root.level, root.x, root.y)
    lon, lat = conn.execute(
        sa.text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_SetSRID(ST_MakePoint(:x, :y), 9214), 4326) AS p) s"
        ),
        {"x": (x0 + x1) / 2, "y": (y0 + y1) / 2},
    ).one()
    lon, lat = round(float(lon), 9), round(float(lat), 9)
    origin, rotation = enu_frame(lon, lat, 0.0)
    return _Frame(lon=lon, lat=lat, origin=origin, rotation=rotation)


def _land_use_digest(conn: Connection) -> str:
    digest: str = conn.execute(
        sa.text(
            "SELECT md5(coalesce(string_agg(concat_ws('|', code, name_vi, name_en, rgb), ',' ORDER BY code), '')) "
            "FROM planning.land_use_codes"
        )
    ).scalar_one()
    return digest


def _tileset_json(tileset: TileSet) -> bytes:
    return (json.dumps(tileset.to_dict(), indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def _new_tileset(geometric_error: float) -> TileSet:
    ts = TileSet(geometric_error=geometric_error, spec_version=SpecVersion.V1_1)
    ts.asset.extras.pop("created_date", None)  # same data, same bytes: the date would make every build differ
    ts.asset.extras["generator"] = {"name": "hue-planning tiles", "format": FORMAT_VERSION}
    return ts


def _geometric_error(node: Node) -> float:
    """Internal tiles: a tenth of the cell's side (m); leaves hold everything there is, so 0."""
    return 0.0 if not node.children else round(node.size / 10, 3)


def _layer_tileset(root: Node, tiles: dict[str, dict[str, Any]], frame: _Frame) -> TileSet:
    def tile_of(node: Node) -> Tile:
        if not node.children:
            entry = tiles[node.address]
            return Tile(
                geometric_error=0.0,
                bounding_volume=BoundingVolumeBox.from_mins_maxs(entry["box"]),
                refine_mode="ADD",
                content_uri=f"t/{entry['file']}",
            )
        tile = Tile(geometric_error=_geometric_error(node), refine_mode="ADD")
        tile.children.extend(tile_of(c) for c in node.children)  # not add_child: see the module docstring
        return tile

    root_tile = tile_of(root)
    root_tile.transform = enu_to_ecef_matrix(frame.origin, frame.rotation)
    ts = _new_tileset(max(round(root.size / 5, 3), 1.0))
    ts.root_tile = root_tile
    return ts


def _build_layer(
    conn: Connection,
    layer: Layer,
    layer_dir: Path,
    *,
    plan: str | None,
    options: TileOptions,
    ground: Ground,
    land_use: str,
    say: Progress,
) -> LayerReport:
    t0 = time.perf_counter()
    report = LayerReport(layer.name)
    keys = conn.execute(sa.text(layer.keys_sql), {"plan": plan}).all()
    manifest_path = layer_dir / "manifest.json"
    old: dict[str, Any] = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    old_tiles: dict[str, dict[str, Any]] = old.get("tiles", {})
    if not keys:
        report.deleted = sorted(set(map(_address_of, _sweep(layer_dir / "t", set()))))
        for name in ("tileset.json", "manifest.json"):
            (layer_dir / name).unlink(missing_ok=True)
        report.seconds = time.perf_counter() - t0
        return report

    ids = np.array([k[0] for k in keys], dtype=np.int64)
    versions = [str(k[1]) for k in keys]
    box = np.array([k[2:6] for k in keys], dtype=np.float64)
    npoints = np.array([k[6] for k in keys], dtype=np.int64)
    root = build_quadtree(
        (box[:, 0] + box[:, 2]) / 2,
        (box[:, 1] + box[:, 3]) / 2,
        estimated_vertices(npoints),
        max_features=options.max_features_per_tile,
        max_vertices=options.max_vertices_per_tile,
    )
    frame = _frame_of(conn, root)
    params = hashlib.sha256(
        json.dumps(
            {
                "format": FORMAT_VERSION,
                "layer": layer.name,
                "root": root.address,
                "frame": [frame.lon, frame.lat],
                "ground": ground.signature(),
                "options": {k: str(v) for k, v in asdict(options).items()},
                "land_use": land_use,
            },
            sort_keys=True,
        ).encode()
    ).hexdigest()
    reusable = old_tiles if old.get("params") == params else {}

    leaves = list(root.leaves())
    tiles: dict[str, dict[str, Any]] = {}
    stale: list[Node] = []
    for leaf in leaves:
        h = hashlib.sha256(f"{params}\n{leaf.address}\n".encode())
        h.update(";".join(f"{ids[i]}:{versions[i]}" for i in leaf.members).encode())
        key = h.hexdigest()
        prev = reusable.get(leaf.address)
        if prev and prev["key"] == key and "file" in prev and (layer_dir / "t" / prev["file"]).is_file():
            tiles[leaf.address] = prev
        else:
            tiles[leaf.address] = {"key": key, "features": int(leaf.members.size)}
            stale.append(leaf)
    report.features, report.tiles = int(ids.size), len(leaves)
    say(f"{layer.name}: {ids.size:,} features in {len(leaves)} tiles, {len(stale)} to write")

    if stale and manifest_path.is_file():
        # Forget the tiles about to be rewritten first: a build stopped half-way must not leave a manifest that
        # vouches for files it had already replaced.
        rewritten = {n.address for n in stale}
        kept = {a: t for a, t in old_tiles.items() if a in tiles and a not in rewritten}
        _write_atomic(manifest_path, (json.dumps({**old, "tiles": kept}, indent=1) + "\n").encode())

    done = 0
    batch: list[Node] = []
    for i, leaf in enumerate(stale):
        batch.append(leaf)
        if sum(n.members.size for n in batch) < FETCH_BATCH and i < len(stale) - 1:
            continue
        wanted = np.concatenate([ids[n.members] for n in batch]).tolist()
        rows = {r.id: r for r in conn.execute(sa.text(layer.fetch_sql), {"ids": wanted})}
        for node in batch:
            tile_rows = [rows[int(fid)] for fid in ids[node.members]]
            data, tile_box = build_tile(layer, tile_rows, frame, ground, options)
            name = content_name(node.address, data)
            if not (layer_dir / "t" / name).is_file():  # same bytes, same name: already there
                _write_atomic(layer_dir / "t" / name, data)
            tiles[node.address]["file"] = name
            tiles[node.address]["box"] = tile_box
            report.written.append(node.address)
            report.bytes_written += len(data)
        done += len(batch)
        say(f"{layer.name}: {done}/{len(stale)} tiles written")
        batch = []

    tileset = _layer_tileset(root, tiles, frame)
    root_volume: dict[str, Any] = dict(tileset.to_dict()["root"]["boundingVolume"])
    root_box = np.array(root_volume["box"], dtype=np.float64)
    _write_if_changed(layer_dir / "tileset.json", _tileset_json(tileset))
    manifest = {
        "params": params,
        "layer": layer.name,
        "root": root.address,
        "frame": {"lon": frame.lon, "lat": frame.lat},
        "transform": enu_to_ecef_matrix(frame.origin, frame.rotation).flatten("F").tolist(),
        "root_box": root_box.tolist(),
        "geometric_error": tileset.geometric_error,
        "tiles": dict(sorted(tiles.items())),
    }
    _write_if_changed(manifest_path, (json.dumps(manifest, indent=1) + "\n").encode())
    # Only now that the tileset names the new contents: drop the ones it no longer names. A tile rewritten under a
    # new name is not "deleted" for the report; a tile that is gone is.
    removed = _sweep(layer_dir / "t", {t["file"] for t in tiles.values()})
    report.deleted = sorted({a for a in map(_address_of, removed) if a not in tiles})
    report.seconds = time.perf_counter() - t0
    return report


def _root_tileset(out_dir: Path) -> bool:
    """The root tileset over every layer tileset in ``out_dir``; removed when there is none."""
    children = []
    for name in LAYERS:
        manifest_path = out_dir / name / "manifest.json"
        if not (manifest_path.is_file() and (out_dir / name / "tileset.json").is_file()):
            continue
        m = json.loads(manifest_path.read_text())
        transform = np.array(m["transform"], dtype=np.float64).reshape((4, 4), order="F")
        bv = BoundingVolumeBox()
        bv.set_from_list(m["root_box"])
        bv.transform(transform)  # ENU box -> oriented ECEF box (py3dtiles applies rotation, then translation)
        children.append(
            Tile(
                geometric_error=float(m["geometric_error"]),
                bounding_volume=bv,
                refine_mode="ADD",
                content_uri=f"{name}/tileset.json",
            )
        )
    path = out_dir / "tileset.json"
    if not children:
        path.unlink(missing_ok=True)
        return False
    ts = _new_tileset(max(c.geometric_error for c in children) * 2)
    ts.root_tile = Tile(geometric_error=max(c.geometric_error for c in children) * 2, refine_mode="ADD")
    ts.root_tile.children.extend(children)
    _write_if_changed(path, _tileset_json(ts))
    return True


def build_tilesets(
    engine: Engine,
    out_dir: Path,
    *,
    plan: str | None = None,
    layers: Sequence[str] = ("zones", "buildings", "parcels"),
    options: TileOptions | None = None,
    progress: Progress | None = None,
    wait_s: float = 0.0,
) -> list[LayerReport]:
    """Build (or bring up to date) the tilesets of ``layers`` in ``out_dir``.

    Parameters
    ----------
    engine
        The PostGIS database with schema ``planning``.
    out_dir
        Output folder (created); see the module docstring for its layout.
    plan
        A plan code (maHoSoQH, e.g. ``46QPK0000001``): its current version's zones, and the buildings and parcels
        inside its boundary (or the extent of its zones). ``None``: the current version of every plan, all buildings
        and parcels.
    layers
        Any of ``zones``, ``buildings``, ``parcels``.
    wait_s
        How long to wait for another build writing to the same folder to finish (0: refuse at once, as the
        command line does; the job runner waits, since a rebuild queued behind another is still wanted).

    Raises
    ------
    ValidationError
        An unknown layer, or another build writing to the same folder (after ``wait_s``).
    NotFound
        No plan with that code.
    DiskFull
        The folder's disk is full; the tileset served is still the last complete one.
    """
    options = options or TileOptions()
    say = progress or (lambda _m: None)
    unknown = [name for name in layers if name not in LAYERS]
    if unknown or not layers:
        raise ValidationError(
            f"unknown layer {', '.join(unknown) or '(none given)'}: choose from {', '.join(LAYERS)} (comma-separated)"
        )
    ground = Ground(
        ground_level_m=options.ground_level_m, geoid_offset_m=options.geoid_offset_m, dem_path=options.dem_path
    )
    reports = []
    with _locked(out_dir, wait_s), engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")  # one snapshot for every query
        with conn.begin():
            if plan is not None:
                found = conn.execute(sa.text("SELECT 1 FROM planning.plans WHERE code = :c LIMIT 1"), {"c": plan})
                if found.first() is None:
                    raise NotFound(f"no plan with code {plan!r} in the database")
            land_use = _land_use_digest(conn)
            for name in dict.fromkeys(layers):
                layer = LAYERS[name]
                reports.append(
                    _build_layer(
                        conn,
                        layer,
                        out_dir / name,
                        plan=plan,
                        options=options,
                        ground=ground,
                        land_use=land_use,
                        say=say,
                    )
                )
        _root_tileset(out_dir)
    return reports
