"""3D tiler: valid glb (Khronos validator), sound tilesets, centimetre positions, incremental rebuilds, serving."""

from __future__ import annotations

import filecmp
import gzip
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from conftest import DatabaseServer
from fastapi.testclient import TestClient
from pyproj import Geod, Transformer
from sqlalchemy.engine import Engine
from tiles_sample import PLAN_CODE, WHO, E, N, Sample, content_path, decoded_glb, make_sample, read_glb, walk

from gis_service.api.app import create_app
from gis_service.cli import cli
from gis_service.db import create_db_engine
from gis_service.db.migrate import upgrade
from gis_service.editing import delete_feature, update_feature
from gis_service.errors import ConfigError, NotFound, ValidationError
from gis_service.settings import Settings, TileSettings
from tiles import TileOptions, build_tilesets
from tiles.geodesy import ecef_to_geodetic, enu_frame, geodetic_to_ecef
from tiles.glb import Property, glb_bytes
from tiles.mesh import extrude

ROOT = Path(__file__).resolve().parents[1]
# Small caps so that 65 buildings make a quadtree of several levels.
OPTIONS = TileOptions(ground_level_m=4.5, geoid_offset_m=10.0, max_features_per_tile=10, max_vertices_per_tile=2000)
LAYER_NAMES = ("zones", "buildings", "parcels")


@pytest.fixture(scope="module")
def tiles_db(db_server: DatabaseServer) -> Iterator[tuple[Engine, Sample, str]]:
    """A database of its own (the tiler commits), with the sample plan."""
    url = db_server.create("tiles")
    upgrade(url)
    engine = create_db_engine(url, pool_size=2)
    with engine.begin() as conn:
        sample = make_sample(conn)
    yield engine, sample, url
    engine.dispose()
    db_server.drop(url)


@pytest.fixture(scope="module")
def built(tiles_db: tuple[Engine, Sample, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    engine, _, _ = tiles_db
    out = tmp_path_factory.mktemp("tiles") / "out"
    build_tilesets(engine, out, options=OPTIONS)
    return out


def glb_files(out: Path) -> list[Path]:
    return sorted(out.rglob("*.glb"))


def tile_file(out: Path, layer: str, address: str) -> Path:
    """The glb of a tile, by its quadtree address (its file name also carries the hash of its bytes)."""
    manifest = json.loads((out / layer / "manifest.json").read_text())
    return out / layer / "t" / manifest["tiles"][address]["file"]


def tileset_contents(tileset_path: Path) -> list[tuple[dict[str, Any], Path]]:
    ts = json.loads(tileset_path.read_text())
    return [(t, content_path(tileset_path, t["content"]["uri"])) for t, _ in walk(ts["root"]) if "content" in t]


# --- validity ----------------------------------------------------------------------------------------------


def big_glb(path: Path) -> Path:
    """A glb past 65,535 vertices (32-bit indices): one round zone of 12,000 points with a hole."""
    import shapely

    lon, lat = Transformer.from_crs("EPSG:9214", "EPSG:4326", always_xy=True).transform(E, N)
    outer = shapely.Point(lon, lat).buffer(0.004, quad_segs=3000)
    hole = shapely.Point(lon, lat).buffer(0.001, quad_segs=50)
    geoms = np.array([shapely.Polygon(outer.exterior.coords, [hole.exterior.coords])], dtype=object)
    origin, rotation = enu_frame(lon, lat)
    mesh = extrude(geoms, np.array([0.0]), np.array([20.0]), origin, rotation)
    assert mesh.vertex_count > 65535
    data = glb_bytes(
        mesh,
        colors=np.array([[255, 160, 255, 255]], dtype=np.uint8),
        translation=np.zeros(3),
        class_id="zone",
        class_name="Ô quy hoạch / Plan zone",
        properties=[Property("land_use_code", "STRING", "Mã loại đất / Land-use code")],
        columns={"land_use_code": ["ODT"]},
        translucent=True,
    )
    path.write_bytes(data)
    assert read_glb(path).gltf["accessors"][read_glb(path).primitive["indices"]]["componentType"] == 5125
    return path


def test_every_glb_passes_the_khronos_gltf_validator(built: Path, tmp_path: Path) -> None:
    files = [*glb_files(built), big_glb(tmp_path / "big.glb")]
    assert len(files) >= 5
    # The validator skips EXT_meshopt_compression: check each glb as written and decoded.
    decoded = []
    for i, path in enumerate(files):
        glb = read_glb(path)
        assert "EXT_meshopt_compression" in glb.gltf["extensionsRequired"]
        decoded.append(tmp_path / f"decoded-{i}.glb")
        decoded[-1].write_bytes(decoded_glb(glb))
    files += decoded
    validator = ROOT / "node_modules" / "gltf-validator"
    assert validator.is_dir(), "npm package gltf-validator missing: run ./run.sh setup (npm ci)"
    run = subprocess.run(
        ["node", str(ROOT / "tests" / "validate_gltf.cjs"), *map(str, files)],
        capture_output=True,
        text=True,
        env={**os.environ, "NODE_PATH": str(ROOT / "node_modules")},
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    reports = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(reports) == len(files)
    for r in reports:
        assert r["errors"] == 0 and r["warnings"] == 0, r
        # The validator knows neither metadata extension; nothing else may be reported.
        unexpected = [m for m in r["messages"] if "UNSUPPORTED_EXTENSION" not in m and "UNUSED_OBJECT" not in m]
        assert not unexpected, r


def box_corners(box: list[float]) -> np.ndarray:
    c = np.array(box[:3])
    axes = np.array(box[3:]).reshape(3, 3)
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=float)
    return c + signs @ axes


def inside(points: np.ndarray, box: list[float], tol: float = 1e-6) -> bool:
    c = np.array(box[:3])
    axes = np.array(box[3:]).reshape(3, 3)
    half = np.linalg.norm(axes, axis=1)
    local = (points - c) @ (axes / half[:, None]).T
    return bool(np.all(np.abs(local) <= half + tol))


@pytest.mark.parametrize("layer", LAYER_NAMES)
def test_tileset_structure_is_sound(built: Path, layer: str) -> None:
    path = built / layer / "tileset.json"
    ts = json.loads(path.read_text())
    assert ts["asset"]["version"] == "1.1"
    root = ts["root"]
    assert len(root["transform"]) == 16
    assert ts["geometricError"] > root["geometricError"]
    tiles = walk(root)
    if layer == "buildings":
        assert max(d for _, d in tiles) >= 2, "65 buildings with a cap of 10 per tile make a deeper tree"
    seen_features = 0
    for tile, _ in tiles:
        assert tile["refine"] == "ADD"
        for child in tile.get("children", []):
            assert inside(box_corners(child["boundingVolume"]["box"]), tile["boundingVolume"]["box"])
            assert child["geometricError"] < tile["geometricError"]
        if "content" in tile:
            uri = tile["content"]["uri"]
            # A plain relative file named after its bytes: a copy of the folder is a valid tileset.
            assert "?" not in uri and uri.startswith("t/")
            data = content_path(path, uri).read_bytes()
            assert uri.endswith(f"-{hashlib.sha256(data).hexdigest()[:12]}.glb")
            glb = read_glb(content_path(path, uri))
            assert set(glb.gltf["extensionsRequired"]) <= {"EXT_meshopt_compression", "KHR_mesh_quantization"}
            assert "EXT_meshopt_compression" in glb.gltf["extensionsRequired"]
            assert inside(glb.positions_enu(), tile["boundingVolume"]["box"], tol=1e-3)
            table = glb.table()
            fids = glb.feature_ids()
            count = table["count"]
            ext = glb.primitive["extensions"]["EXT_mesh_features"]["featureIds"][0]
            assert ext["featureCount"] == count == len(np.unique(fids)) and fids.max() == count - 1
            assert count <= OPTIONS.max_features_per_tile
            vertices = int(glb.gltf["accessors"][glb.primitive["attributes"]["POSITION"]]["count"])
            assert vertices <= 65535
            assert count == 1 or vertices <= OPTIONS.max_vertices_per_tile
            for name in table["properties"]:
                assert len(glb.column(name)) == count
            seen_features += count
    with_layer = {"zones": 3, "buildings": 65, "parcels": 4}[layer]
    assert seen_features == with_layer
    # The root tileset points at every layer tileset, with boxes (in ECEF) around their roots.
    top = json.loads((built / "tileset.json").read_text())
    child = next(c for c in top["root"]["children"] if c["content"]["uri"] == f"{layer}/tileset.json")
    m = np.array(root["transform"]).reshape(4, 4, order="F")
    corners = box_corners(root["boundingVolume"]["box"])
    ecef = corners @ m[:3, :3].T + m[:3, 3]
    assert inside(ecef, child["boundingVolume"]["box"], tol=1e-3)
    assert inside(ecef, top["root"]["boundingVolume"]["box"], tol=1e-3)


def test_normals_point_out_of_every_solid(built: Path) -> None:
    for path in (built / "zones" / "tileset.json", built / "buildings" / "tileset.json"):
        for _, glb_path in tileset_contents(path):
            glb = read_glb(glb_path)
            pos = glb.positions_enu()
            nrm = glb.accessor(glb.primitive["attributes"]["NORMAL"]).astype(np.float64)
            nrm = np.stack([nrm[:, 0], -nrm[:, 2], nrm[:, 1]], axis=1)
            tri = glb.accessor(glb.primitive["indices"]).astype(np.int64).reshape(-1, 3)
            a, b, c = pos[tri[:, 0]], pos[tri[:, 1]], pos[tri[:, 2]]
            face = np.cross(b - a, c - a)
            # Winding (counter-clockwise seen from outside) agrees with the stored normal of every triangle.
            assert np.all(np.einsum("ij,ij->i", face, nrm[tri[:, 0]]) > 0)
            # Closed solid: the signed volume of each feature is positive (outward-facing triangles).
            fid = glb.feature_ids()[tri[:, 0]]
            vol = np.einsum("ij,ij->i", a - pos.mean(axis=0), np.cross(b - a, c - a)) / 6
            per_feature = np.bincount(fid, weights=vol)
            assert np.all(per_feature > 0)


# --- geography ------------------------------------------------------------------------------------------


def test_zone_corner_lands_within_5_cm_of_the_database_geometry(built: Path, tiles_db: Any) -> None:
    engine, sample, _ = tiles_db
    # pyproj's EPSG:9214 -> WGS84 is the official shift: check it at the control point first (1 cm).
    to_wgs84 = Transformer.from_crs("EPSG:9214", "EPSG:4326", always_xy=True)
    lon, lat = to_wgs84.transform(E, N)
    geod = Geod(ellps="WGS84")
    assert geod.inv(lon, lat, 107.5790, 16.4698)[2] < 0.01

    path = built / "zones" / "tileset.json"
    ts = json.loads(path.read_text())
    m = np.array(ts["root"]["transform"]).reshape(4, 4, order="F")
    (_, glb_path) = tileset_contents(path)[0]
    glb = read_glb(glb_path)
    row = glb.column("zone_id").index(sample.courtyard_zone)
    assert glb.column("land_use_code")[row] == "ODT"
    assert glb.column("land_use_name_vi")[row] == "Đất ở tại đô thị"
    assert glb.column("plan_code")[row] == PLAN_CODE
    assert glb.column("max_height_m")[row] == pytest.approx(12.5)
    assert glb.column("max_far")[row] == pytest.approx(1.8)
    mine = glb.feature_ids() == row
    with engine.connect() as conn:
        rgb = conn.execute(sa.text("SELECT rgb FROM planning.land_use_codes WHERE code = 'ODT'")).scalar_one()
    colors = glb.accessor(glb.primitive["attributes"]["COLOR_0"])[mine]
    assert {tuple(c) for c in colors.tolist()} == {(*map(int, rgb.split()), 255)}  # the official colour
    enu = glb.positions_enu()[mine]
    ecef = enu @ m[:3, :3].T + m[:3, 3]
    to_geodetic = Transformer.from_crs("EPSG:4978", "EPSG:4979", always_xy=True)
    vlon, vlat, vh = to_geodetic.transform(ecef[:, 0], ecef[:, 1], ecef[:, 2])
    with engine.connect() as conn:
        cx, cy = conn.execute(
            sa.text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointN(ST_ExteriorRing(ST_GeometryN(geom, 1)), 1) p "
                "FROM planning.zones WHERE id = :id) s"
            ),
            {"id": sample.courtyard_zone},
        ).one()
    assert (cx, cy) == pytest.approx(sample.courtyard_corner, abs=1e-6)
    clon, clat = to_wgs84.transform(cx, cy)
    dist = np.array([geod.inv(clon, clat, lo, la)[2] for lo, la in zip(vlon, vlat, strict=True)])
    ground = OPTIONS.ground_level_m + OPTIONS.geoid_offset_m
    floor = (dist < 0.05) & (np.abs(vh - ground) < 0.05)
    roof = (dist < 0.05) & (np.abs(vh - (ground + 12.5)) < 0.05)
    assert floor.any(), f"nearest vertex {dist.min():.3f} m away"
    assert roof.any()
    assert dist.min() < 0.005  # in fact within millimetres


def test_every_building_corner_read_back_from_quantized_tiles_is_within_5_cm(built: Path, tiles_db: Any) -> None:
    """KHR_mesh_quantization: int16 positions scaled by the node; every building's corners against PostGIS."""
    engine, _, _ = tiles_db
    path = built / "buildings" / "tileset.json"
    m = np.array(json.loads(path.read_text())["root"]["transform"]).reshape(4, 4, order="F")
    to_geodetic = Transformer.from_crs("EPSG:4978", "EPSG:4979", always_xy=True)
    with engine.connect() as conn:
        corners = {
            int(r.id): np.array(json.loads(r.ring)["coordinates"])
            for r in conn.execute(
                sa.text(
                    "SELECT id, ST_AsGeoJSON(ST_Transform(ST_ExteriorRing(ST_GeometryN(geom, 1)), 4326), 9) ring "
                    "FROM planning.buildings"
                )
            )
        }
    worst, checked, quantized = 0.0, 0, 0
    for _, glb_path in tileset_contents(path):
        glb = read_glb(glb_path)
        position = glb.gltf["accessors"][glb.primitive["attributes"]["POSITION"]]
        quantized += position["componentType"] == 5122 and position["normalized"]
        ecef = glb.positions_enu() @ m[:3, :3].T + m[:3, 3]
        vlon, vlat, _ = to_geodetic.transform(ecef[:, 0], ecef[:, 1], ecef[:, 2])
        fids = glb.feature_ids()
        for row, bid in enumerate(glb.column("building_id")):
            mine = fids == row
            for lon, lat in corners[bid][:-1]:
                # Metres on the ground from the corner to its nearest vertex (equirectangular: fine at this scale).
                dx = (vlon[mine] - lon) * 111_320 * np.cos(np.radians(lat))
                dy = (vlat[mine] - lat) * 110_574
                worst = max(worst, float(np.hypot(dx, dy).min()))
                checked += 1
    print(f"{checked} building corners in {quantized} quantized tiles: worst {worst * 100:.2f} cm from PostGIS")
    assert quantized == len(tileset_contents(path)) and checked >= 65 * 4
    assert worst < 0.05


def test_compact_tiles_are_smaller_than_plain_ones(tiles_db: Any, tmp_path: Path) -> None:
    engine, _, _ = tiles_db
    sizes = {}
    for compact in (True, False):
        out = tmp_path / f"compact-{compact}"
        [report] = build_tilesets(
            engine, out, layers=["buildings"], options=TileOptions(max_features_per_tile=1000, compact=compact)
        )
        files = glb_files(out)
        sizes[compact] = sum(len(gzip.compress(p.read_bytes(), 6)) for p in files) / report.features
        required = {e for p in files for e in read_glb(p).gltf.get("extensionsRequired", [])}
        assert required == ({"EXT_meshopt_compression", "KHR_mesh_quantization"} if compact else set())
    print(f"bytes per building gzipped: {sizes[True]:.0f} compact, {sizes[False]:.0f} plain float32")
    assert sizes[True] < 0.8 * sizes[False]


@pytest.mark.parametrize(("side_deg", "quantized"), [(0.005, True), (0.02, False)])
def test_tiles_too_wide_for_16_bits_keep_float_positions(side_deg: float, quantized: bool, tmp_path: Path) -> None:
    """Past 1.31 km a 16-bit step would exceed 2 cm: such a tile keeps float32 positions (still compressed)."""
    import shapely

    lon, lat = Transformer.from_crs("EPSG:9214", "EPSG:4326", always_xy=True).transform(E, N)
    geoms = np.array([shapely.box(lon, lat, lon + side_deg, lat + side_deg / 4)], dtype=object)
    origin, rotation = enu_frame(lon, lat)
    mesh = extrude(geoms, np.array([0.0]), np.array([9.0]), origin, rotation)
    path = tmp_path / "wide.glb"
    path.write_bytes(
        glb_bytes(
            mesh,
            colors=np.array([[200, 200, 200, 255]], dtype=np.uint8),
            translation=np.zeros(3),
            class_id="zone",
            class_name="Ô quy hoạch / Plan zone",
            properties=[Property("land_use_code", "STRING", "Mã loại đất / Land-use code")],
            columns={"land_use_code": ["ODT"]},
        )
    )
    glb = read_glb(path)
    assert ("KHR_mesh_quantization" in glb.gltf["extensionsRequired"]) is quantized
    assert "EXT_meshopt_compression" in glb.gltf["extensionsRequired"]
    error = np.abs(glb.positions_enu() - mesh.positions).max()
    print(f"{side_deg * 111:.1f} km tile, quantized {quantized}: worst vertex {error * 1000:.1f} mm off")
    assert error < (0.01 if quantized else 0.001)


def test_numpy_geodesy_agrees_with_pyproj() -> None:
    lon = np.array([107.579, 107.0, 108.2])
    lat = np.array([16.4698, 15.9, 16.8])
    h = np.array([0.0, 25.0, 1500.0])
    ours = geodetic_to_ecef(lon, lat, h)
    x, y, z = Transformer.from_crs("EPSG:4979", "EPSG:4978", always_xy=True).transform(lon, lat, h)
    assert np.abs(ours - np.stack([x, y, z], axis=1)).max() < 1e-6
    back = ecef_to_geodetic(ours)
    assert np.abs(back[0] - lon).max() < 1e-10 and np.abs(back[2] - h).max() < 1e-6
    origin, r = enu_frame(107.579, 16.4698)
    assert np.allclose(r @ r.T, np.identity(3))
    assert (r @ (ours[0] - origin))[2] == pytest.approx(0.0, abs=1e-6)


def test_heights_follow_the_plan_rules_and_the_dem(tiles_db: Any, tmp_path: Path) -> None:
    import rasterio
    from rasterio.transform import from_origin

    engine, sample, _ = tiles_db
    dem = tmp_path / "dem.tif"
    data = np.full((40, 40), 7.25, dtype=np.float32)
    data[:20, :] = 9.5  # the northern half of the DEM is higher
    with rasterio.open(
        dem,
        "w",
        driver="GTiff",
        width=40,
        height=40,
        count=1,
        dtype="float32",
        crs="EPSG:9214",
        transform=from_origin(E - 400, N + 400, 20, 20),
        nodata=-9999,
    ) as dst:
        dst.write(data, 1)
    options = TileOptions(geoid_offset_m=10.0, dem_path=dem)
    build_tilesets(engine, tmp_path / "out", layers=["zones"], options=options)
    glb = read_glb(tileset_contents(tmp_path / "out" / "zones" / "tileset.json")[0][1])
    path = tmp_path / "out" / "zones" / "tileset.json"
    m = np.array(json.loads(path.read_text())["root"]["transform"]).reshape(4, 4, order="F")
    ecef = glb.positions_enu() @ m[:3, :3].T + m[:3, 3]
    h = ecef_to_geodetic(ecef)[2]
    fid = glb.feature_ids()
    ids = glb.column("zone_id")
    expected = {  # (floor, envelope height): DEM 7.25 in the south, the school reaches the 9.5 north
        sample.courtyard_zone: (7.25 + 10, 12.5),
        sample.twin_zone: (7.25 + 10, 5 * options.floor_height_m),
        sample.plain_zone: (9.5 + 10, options.default_zone_height_m),
    }
    for zone_id, (floor, height) in expected.items():
        mine = h[fid == ids.index(zone_id)]
        assert mine.min() == pytest.approx(floor, abs=0.01)
        assert mine.max() == pytest.approx(floor + height, abs=0.01)
        assert glb.column("envelope_height_m")[ids.index(zone_id)] == pytest.approx(height)
    no_crs = tmp_path / "no_crs.tif"
    with rasterio.open(
        no_crs,
        "w",
        driver="GTiff",
        width=4,
        height=4,
        count=1,
        dtype="float32",
        transform=from_origin(E - 400, N + 400, 20, 20),
    ) as dst:
        dst.write(data[:4, :4], 1)
    with pytest.raises(ConfigError, match=r"no_crs\.tif has no coordinate reference system"):
        build_tilesets(engine, tmp_path / "out3", options=TileOptions(dem_path=no_crs))
    broken = tmp_path / "broken.tif"
    broken.write_bytes(b"not a tiff")
    with pytest.raises(Exception, match=r"broken\.tif"):
        build_tilesets(engine, tmp_path / "out2", options=TileOptions(dem_path=broken))


# --- incremental -----------------------------------------------------------------------------------------


def snapshot(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file() and p.name[0] != "."}


def test_incremental_rebuild_rewrites_only_the_tiles_of_edited_features(tiles_db: Any, tmp_path: Path) -> None:
    engine, sample, _ = tiles_db
    out = tmp_path / "inc"
    first = build_tilesets(engine, out, options=OPTIONS)
    assert all(r.written for r in first)
    before = snapshot(out)
    again = build_tilesets(engine, out, options=OPTIONS)
    assert [len(r.written) for r in again] == [0, 0, 0]
    assert snapshot(out) == before
    # Rows that move on disk without changing (a no-op update writes new tuples) change nothing either.
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE planning.buildings SET geom = geom WHERE id % 2 = 0"))
        conn.execute(sa.text("UPDATE planning.zones SET geom = geom WHERE id = :id"), {"id": sample.courtyard_zone})
    assert [len(r.written) for r in build_tilesets(engine, out, options=OPTIONS)] == [0, 0, 0]

    victim = sample.buildings[5]
    with engine.begin() as conn:
        update_feature(conn, "zones", sample.twin_zone, {"max_floors": 7}, **WHO)
        update_feature(conn, "buildings", victim, {"height_m": 21.0}, **WHO)
    try:
        reports = {r.layer: r for r in build_tilesets(engine, out, options=OPTIONS)}
        after = snapshot(out)
        assert all(after[k] == before[k] for k in after if k.endswith(".glb") and k in before)  # never rewritten
        new_glb = {k for k in after if k.endswith(".glb") and k not in before}
        gone_glb = {k for k in before if k.endswith(".glb") and k not in after}
        print(f"after 2 edits: {len(new_glb)} glb written under new names, {len(gone_glb)} old ones removed")
        assert len(reports["zones"].written) == 1 and len(reports["buildings"].written) == 1
        assert reports["parcels"].written == [] and reports["zones"].deleted == reports["buildings"].deleted == []
        assert new_glb == {
            str(tile_file(out, "zones", reports["zones"].written[0]).relative_to(out)),
            str(tile_file(out, "buildings", reports["buildings"].written[0]).relative_to(out)),
        }
        assert len(gone_glb) == 2 and {k.split("/")[0] for k in gone_glb} == {"zones", "buildings"}
        assert after["parcels/tileset.json"] == before["parcels/tileset.json"]
        # The edited building is in the rewritten tile, with its new height.
        glb = read_glb(tile_file(out, "buildings", reports["buildings"].written[0]))
        assert glb.column("height_m")[glb.column("building_id").index(victim)] == pytest.approx(21.0)

        # A full build from scratch gives exactly the same files.
        fresh = tmp_path / "fresh"
        build_tilesets(engine, fresh, options=OPTIONS)
        assert snapshot(fresh) == after

        # Deleting a building rewrites its tile only (or removes it), and the tileset stays consistent.
        with engine.begin() as conn:
            delete_feature(conn, "buildings", victim, **WHO)
        reports = {r.layer: r for r in build_tilesets(engine, out, options=OPTIONS)}
        assert len(reports["buildings"].written) + len(reports["buildings"].deleted) >= 1
        assert len(reports["buildings"].written) <= 2 and reports["zones"].written == []
        ts = out / "buildings" / "tileset.json"
        uris = {p for _, p in tileset_contents(ts)}
        assert uris == set((out / "buildings" / "t").rglob("*.glb"))
        shutil.rmtree(fresh)
        build_tilesets(engine, fresh, options=OPTIONS)
        assert snapshot(fresh) == snapshot(out)
        assert not any(filecmp.dircmp(fresh, out).diff_files)
    finally:
        with engine.begin() as conn:
            update_feature(conn, "zones", sample.twin_zone, {"max_floors": 5}, **WHO)


# --- command line, errors, serving ----------------------------------------------------------------------------


def test_cli_builds_a_plan_and_explains_bad_input(tiles_db: Any, tmp_path: Path) -> None:
    _, _, url = tiles_db
    runner = CliRunner()
    env = {"GIS_DATABASE_URL": url, "GIS_TILES__OUT_DIR": str(tmp_path / "tiles")}
    ok = runner.invoke(cli, ["tiles", "build", "--plan", PLAN_CODE, "--layers", "zones,buildings"], env=env)
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / "tiles" / PLAN_CODE / "zones" / "tileset.json").is_file()
    assert not (tmp_path / "tiles" / PLAN_CODE / "parcels").exists()
    assert "zones: 3 features" in ok.output
    bad = runner.invoke(cli, ["tiles", "build", "--layers", "zones,roads"], env=env)
    assert bad.exit_code == 1 and "unknown layer roads" in bad.output and "Traceback" not in bad.output
    missing = runner.invoke(cli, ["tiles", "build", "--plan", "46QPK9999999", "--out", str(tmp_path / "x")], env=env)
    assert missing.exit_code == 1 and "no plan with code '46QPK9999999'" in missing.output


def test_library_errors(tiles_db: Any, tmp_path: Path) -> None:
    engine, _, _ = tiles_db
    with pytest.raises(ValidationError, match="unknown layer"):
        build_tilesets(engine, tmp_path, layers=["zone"])
    with pytest.raises(NotFound):
        build_tilesets(engine, tmp_path, plan="46QPK0000009")


def test_app_serves_tiles_with_gzip_and_cache_headers(built: Path, database_url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=database_url, tiles=TileSettings(out_dir=built))
    with TestClient(create_app(settings)) as client:
        r = client.get("/tiles/3d/tileset.json", headers={"Accept-Encoding": "gzip"})
        assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
        assert r.headers["cache-control"] == "no-cache"
        assert r.json()["asset"]["version"] == "1.1"
        # tileset.json: a strong ETag from its bytes, and a 304 when it has not changed.
        digest = hashlib.sha256((built / "tileset.json").read_bytes()).hexdigest()[:32]
        assert r.headers["etag"] == f'"{digest}"'
        again = client.get("/tiles/3d/tileset.json", headers={"If-None-Match": r.headers["etag"]})
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == r.headers["etag"]
        assert client.get("/tiles/3d/tileset.json", headers={"If-None-Match": '"other"'}).status_code == 200
        uri = tileset_contents(built / "zones" / "tileset.json")[0][0]["content"]["uri"]
        assert "?" not in uri
        g = client.get(f"/tiles/3d/zones/{uri}", headers={"Accept-Encoding": "gzip"})
        assert g.status_code == 200 and g.headers["content-type"] == "model/gltf-binary"
        assert g.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert g.headers["content-encoding"] == "gzip"
        assert g.headers["etag"] == f'"{uri[-16:-4]}"'  # the hash in its name
        g304 = client.get(f"/tiles/3d/zones/{uri}", headers={"If-None-Match": g.headers["etag"]})
        assert g304.status_code == 304 and "immutable" in g304.headers["cache-control"]
        assert client.get("/tiles/3d/zones/manifest.json").headers["cache-control"] == "no-cache"
        assert client.get("/tiles/3d/zones/t/nothing.glb").status_code == 404
        assert client.get("/tiles/3d/zones/../../etc/passwd").status_code == 404
        assert g.content[:4] == b"glTF"  # httpx has decoded the gzip
        raw = client.get(f"/tiles/3d/zones/{uri}", headers={"Accept-Encoding": "identity"})
        assert len(gzip.compress(raw.content)) < len(raw.content) / 2
        assert client.get("/tiles/3d/.build.lock").status_code == 404
    empty = Settings(database_url=database_url, tiles=TileSettings(out_dir=tmp_path / "none"))
    with TestClient(create_app(empty)) as client:
        r = client.get("/tiles/3d/tileset.json")
        assert r.status_code == 404 and "planning tiles build" in r.json()["description"]


def test_building_tiles_follow_changes_of_their_parcel(tiles_db: Any, tmp_path: Path) -> None:
    """Buildings show their parcel's ward and numbers: a parcel edit rewrites the tiles of its buildings."""
    engine, sample, _ = tiles_db
    out = tmp_path / "parcel"
    build_tilesets(engine, out, options=OPTIONS)
    with engine.begin() as conn:
        update_feature(conn, "parcels", sample.parcels[1], {"ward": "Phú Hậu"}, **WHO)
    try:
        reports = {r.layer: r for r in build_tilesets(engine, out, options=OPTIONS)}
        assert len(reports["buildings"].written) == 1 and len(reports["parcels"].written) == 1
        glb = read_glb(tile_file(out, "buildings", reports["buildings"].written[0]))
        assert glb.column("ward")[glb.column("building_id").index(sample.buildings[-1])] == "Phú Hậu"
    finally:
        with engine.begin() as conn:
            update_feature(conn, "parcels", sample.parcels[1], {"ward": "Thuận Thành"}, **WHO)


def test_a_rebuild_cleans_up_after_an_interrupted_one(tiles_db: Any, tmp_path: Path) -> None:
    engine, _, _ = tiles_db
    out = tmp_path / "tidy"
    build_tilesets(engine, out, layers=["zones"], options=OPTIONS)
    stray = out / "zones" / "t" / "15" / "1" / "2.glb"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"glTF left over")
    (out / "zones" / "t" / ".9.glb.123.tmp").write_bytes(b"half a tile")
    [report] = build_tilesets(engine, out, layers=["zones"], options=OPTIONS)
    assert report.deleted == ["15/1/2"] and report.written == []
    assert not stray.exists() and not (out / "zones" / "t" / "15").exists()
    assert [p.name for p in (out / "zones" / "t").rglob("*") if p.is_file()] == [
        Path(u).name for _, u in [(t, str(p)) for t, p in tileset_contents(out / "zones" / "tileset.json")]
    ]


def test_envelope_heights_follow_the_plan_rules() -> None:
    from tiles.layers import LAYERS

    zone = LAYERS["zones"].height
    o = TileOptions(floor_height_m=3.5, default_zone_height_m=12.0, parcel_slab_m=0.3)
    assert zone({"max_height_m": 19.5, "max_floors": 5}, o) == 19.5
    assert zone({"max_height_m": None, "max_floors": 4}, o) == 14.0
    assert zone({"max_height_m": None, "max_floors": None}, o) == 12.0
    assert zone({"max_height_m": None, "max_floors": 0}, o) == 0.3  # nothing may be built: a slab
    assert zone({"max_height_m": 0, "max_floors": None}, o) == 0.3
    building = LAYERS["buildings"].height
    assert building({"height_m": 7.2, "floors": 2}, o) == 7.2
    assert building({"height_m": None, "floors": 2}, o) == 7.0
    assert building({"height_m": None, "floors": None}, o) == TileOptions().default_building_height_m


def test_a_queued_rebuild_waits_for_another_build_of_the_folder(tmp_path: Path) -> None:
    """The command line refuses at once; the job runner's rebuild waits its turn (no failed job under load)."""
    import threading
    import time

    from tiles.build import _locked

    held, release = threading.Event(), threading.Event()

    def other_build() -> None:
        with _locked(tmp_path):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=other_build)
    thread.start()
    assert held.wait(10)
    with pytest.raises(ValidationError, match="another 'planning tiles build'"), _locked(tmp_path):
        pass
    threading.Timer(0.5, release.set).start()
    started = time.monotonic()
    with _locked(tmp_path, wait_s=10):
        waited = time.monotonic() - started
    thread.join()
    assert 0.3 < waited < 10
