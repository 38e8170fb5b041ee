"""Published vector tiles: written at publication, served as files without the database, equal to the live tiles,
free of drafts, and rewritten only where a republished plan changed.

The module runs its own throwaway cluster (the demo's sample plans in it): one test stops it.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import psycopg
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sample_plans_db import fill_with_sample_plans

from gis_service.api.app import create_app
from gis_service.db import create_db_engine
from gis_service.db.local_cluster import LocalCluster
from gis_service.editing import publish_with_decision, start_draft, update_feature
from gis_service.published_tiles import LAYER_SETS, PublishedTiles, build_published_tiles, database_of, tiles_over
from gis_service.settings import Settings, TileSettings, VectorTileSettings
from gis_service.vector_tiles import tile_sql
from tiles.vector_job import rebuild_published_vector_tiles

pytestmark = pytest.mark.cluster

MAX_ZOOM = 16
WHO = {"user": "test", "reason": "kiểm thử ô bản đồ công bố"}
SMALL_PLAN = "46QCT0000001"
MVT = "application/vnd.mapbox-vector-tile"

Tile = tuple[str, int, int, int]


class Published:
    """The throwaway cluster, its database, the folder of published tiles and the settings of an app serving them."""

    def __init__(self, cluster: LocalCluster, url: str, folder: Path, tmp: Path) -> None:
        self.cluster, self.url, self.folder = cluster, url, folder
        self.engine = create_db_engine(url, pool_size=1)
        self.settings = Settings(
            database_url=url,
            tiles=TileSettings(out_dir=tmp / "3d"),
            vector_tiles=VectorTileSettings(dir=folder, max_zoom=MAX_ZOOM),
        )

    def every_tile(self) -> list[Tile]:
        """Every tile of every set at the served zooms over the published features (and their neighbours)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.text(
                    "SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM (SELECT ST_Extent(geom_4326) b FROM "
                    "(SELECT geom_4326 FROM planning.zones UNION ALL SELECT geom_4326 FROM planning.parcels "
                    "UNION ALL SELECT geom_4326 FROM planning.map_features) u) v"
                )
            ).one()
        bbox = tuple(float(v) for v in row)
        return [
            (name, z, x, y)
            for name in LAYER_SETS
            for z in range(MAX_ZOOM + 1)
            for x, y in tiles_over(bbox, z)  # type: ignore[arg-type]
        ]

    def live(self, tile: Tile) -> bytes:
        name, z, x, y = tile
        with self.engine.connect() as conn:
            return bytes(conn.exec_driver_sql(tile_sql(list(LAYER_SETS[name]), z), (z, x, y)).scalar_one() or b"")

    def files(self) -> dict[str, bytes]:
        return {str(p.relative_to(self.folder)): p.read_bytes() for p in sorted(self.folder.rglob("*.mvt"))}


@pytest.fixture(scope="module")
def published() -> Iterator[Published]:
    tmp = Path(tempfile.mkdtemp(prefix="planning-test-"))
    tmp.chmod(0o755)  # the 'postgres' system user runs the cluster when the tests run as root
    cluster = LocalCluster(tmp / "pg")
    try:
        cluster.up()
        url = cluster.url()
        fill_with_sample_plans(url)
        p = Published(cluster, url, tmp / "vector", tmp)
        reports = build_published_tiles(p.engine, p.folder, max_zoom=MAX_ZOOM)
        print("\n" + "\n".join(r.describe() for r in reports))
        yield p
        p.engine.dispose()
    finally:
        cluster.destroy()
        shutil.rmtree(tmp, ignore_errors=True)


def features(body: bytes) -> dict[str, list[tuple[Any, ...]]]:
    """The decoded tile: per layer, its features' ids, properties and geometries, sorted."""
    decoded = mapbox_vector_tile.decode(body) if body else {}
    return {
        name: sorted((f.get("id"), sorted(f["properties"].items()), repr(f["geometry"])) for f in layer["features"])
        for name, layer in decoded.items()
    }


def test_file_tiles_equal_the_live_tiles_at_every_served_zoom(published: Published) -> None:
    store = PublishedTiles(published.folder)
    tiles = published.every_tile()
    compared = with_features = feature_count = 0
    for tile in tiles:
        from_file = store.read(*tile)
        assert from_file is not None, f"{tile} is not published"
        live = published.live(tile)
        assert features(from_file) == features(live), f"tile {tile} differs from the live one"
        compared += 1
        with_features += bool(live)
        feature_count += sum(len(v) for v in features(live).values())
    print(
        f"\n{compared} tiles compared (z0-{MAX_ZOOM}, {len(LAYER_SETS)} sets), {with_features} hold features, "
        f"{feature_count} features in all"
    )
    assert with_features > 100 and feature_count > 1000
    # deeper zooms are drawn live, and so are tiles written from another database
    assert store.read("zones", MAX_ZOOM + 1, 0, 0) is None
    assert PublishedTiles(published.folder, "127.0.0.1:1/other").read(*tiles[0]) is None
    assert PublishedTiles(published.folder, database_of(published.url)).read(*tiles[0]) is not None


def test_the_same_features_give_the_same_bytes_even_drawn_in_parallel(published: Published) -> None:
    # PostgreSQL is made to scan in parallel workers, which hand rows over in any order; an unordered tile got other
    # bytes nearly every draw, so its ETag changed and it was rewritten though nothing in it had
    parallel = ["parallel_setup_cost = 0", "parallel_tuple_cost = 0", "min_parallel_table_scan_size = 0",
                "min_parallel_index_scan_size = 0", "parallel_leader_participation = off"]  # fmt: skip
    tiles = [t for t in published.every_tile() if t[1] in (10, 14)]
    libpq = sa.make_url(published.url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute("ANALYZE")  # with its tables' sizes known, the planner takes the parallel plans
        for setting in parallel:
            conn.execute(f"SET {setting}")
        varied = drawn = 0
        for layer_set, z, x, y in tiles:
            sql = tile_sql(list(LAYER_SETS[layer_set]), z)
            draws = {bytes(conn.execute(sql, [z, x, y]).fetchone()[0]) for _ in range(4)}  # type: ignore[index]
            varied += len(draws) > 1
            drawn += 1
    print(f"\n{drawn} tiles drawn 4 times each by parallel workers: {varied} gave different bytes")
    assert drawn > 20 and varied == 0


def test_a_draft_never_reaches_the_published_tiles(published: Published) -> None:
    before = published.files()
    with published.engine.begin() as conn:
        draft = start_draft(conn, SMALL_PLAN, **WHO)
        zone = conn.execute(
            sa.text("SELECT id FROM planning.zones WHERE plan_id = :p ORDER BY id LIMIT 1"), {"p": draft.id}
        ).scalar_one()
        update_feature(conn, "zones", zone, {"max_floors": 42}, **WHO)
    # the draft stays for the next test, which publishes it
    reports = build_published_tiles(published.engine, published.folder, max_zoom=MAX_ZOOM)
    assert [len(r.written) + len(r.deleted) for r in reports] == [0] * len(LAYER_SETS)
    assert published.files() == before
    seen = [
        f
        for body in before.values()
        for name, layer in mapbox_vector_tile.decode(body).items()
        if name == "zones"
        for f in layer["features"]
        if f.get("id") == zone or f["properties"].get("plan_id") == draft.id or f["properties"].get("max_floors") == 42
    ]
    assert seen == [], "a feature of the draft is in a published tile"


def test_republishing_a_zone_rewrites_only_the_tiles_it_touches(published: Published) -> None:
    before = published.files()
    with published.engine.begin() as conn:
        draft = conn.execute(
            sa.text("SELECT id FROM planning.plans WHERE code = :c AND status = 'draft'"), {"c": SMALL_PLAN}
        ).scalar_one_or_none()
        if draft is None:
            start_draft(conn, SMALL_PLAN, **WHO)
        new, old, _ = publish_with_decision(
            conn, SMALL_PLAN, decision_no="99/QĐ-UBND", decision_date=date.today(), user="test", reason="công bố"
        )
    assert old is not None
    result = rebuild_published_vector_tiles(
        published.settings, published.engine, {"published_id": new.id, "superseded_id": old.id}, print
    )
    after = published.files()
    changed = {k for k in after.keys() | before.keys() if after.get(k) != before.get(k)}
    written = sum(r["written"] + r["deleted"] for r in result)
    print(f"\nrepublished {SMALL_PLAN}: {result}; {len(changed)} of {len(after)} tile files changed")
    assert {r["layer_set"] for r in result} == {"zones", "red_lines", "map"}, "parcels and base map are untouched"
    assert written == len(changed) and 0 < len(changed) < len(after) / 2
    # the tiles left alone are still right: a build from scratch gives the same files
    fresh = published.folder.parent / "fresh"
    build_published_tiles(published.engine, fresh, max_zoom=MAX_ZOOM)
    assert {str(p.relative_to(fresh)): p.read_bytes() for p in sorted(fresh.rglob("*.mvt"))} == after
    shutil.rmtree(fresh)


def test_published_tiles_answer_with_the_database_stopped(published: Published) -> None:
    store = PublishedTiles(published.folder)
    name, z, x, y = max(
        (t for t in published.every_tile() if t[0] == "parcels"), key=lambda t: len(store.read(*t) or b"")
    )
    path = f"/ogc/collections/{name}/tiles/WebMercatorQuad/{z}/{y}/{x}"
    with TestClient(create_app(published.settings)) as client:
        first = client.get(path)
        assert first.status_code == 200 and first.headers["content-type"] == MVT and first.content
        etag = first.headers["etag"]
        assert etag.startswith('"') and "max-age" in first.headers["cache-control"]
        empty = client.get(f"/ogc/tiles/WebMercatorQuad/{MAX_ZOOM}/0/0")
        assert empty.status_code == 200 and empty.content == b""
        assert published.cluster.down() is True
        try:
            again = client.get(path)
            assert again.status_code == 200 and again.content == first.content and again.headers["etag"] == etag
            not_modified = client.get(path, headers={"If-None-Match": etag})
            assert not_modified.status_code == 304 and not_modified.headers["etag"] == etag
            plan_map = client.get(f"/ogc/tiles/WebMercatorQuad/{z}/{y}/{x}")
            assert plan_map.status_code == 200 and "parcels" in mapbox_vector_tile.decode(plan_map.content)
        finally:
            published.cluster.up()


def test_a_tile_that_cannot_be_written_leaves_no_file_behind(tmp_path: Path) -> None:
    # the file-size limit makes the write fail as a full disk does, on a real file system
    import resource
    import signal

    from gis_service.published_tiles import _replace

    target = tmp_path / "14" / "1" / "2.mvt"
    _replace(target, b"old tile")
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1024, hard))
    try:
        with pytest.raises(OSError):
            _replace(target, b"x" * 4096)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    assert target.read_bytes() == b"old tile"  # readers still get the whole old tile
    assert sorted(p.name for p in target.parent.iterdir()) == ["2.mvt"]  # and no half-written file
