"""Storage model: serving CRS84/Web Mercator from maintained columns, and the price of history on writes.

Baselines, in the same run on the same data:
- reading zones in a bbox as CRS84 GeoJSON: ``ST_Transform`` per request in SQL, and the stock pygeoapi way
  (fetch EPSG:9214 geometry, build a pyproj Transformer, transform in Python);
- a z15 MVT tile: ``ST_Transform`` of the storage geometry per request;
- writes: the same rows into a plain table without triggers or generated columns (the cost of the history and the
  maintained columns, a ratio below 1 by design).
"""

from __future__ import annotations

import json
import math

import psycopg
from pyproj import Transformer
from shapely import wkb
from shapely.geometry import mapping
from shapely.ops import transform

from bench.common import report, throwaway_database, timed

# A grid of 20-vertex zones around the Kinh thành (EPSG:9214), side ~60 m.
GRID_SQL = """
INSERT INTO planning.zones (plan_id, zone_code, land_use_code, max_floors, geom)
SELECT %(plan)s, 'Z' || i || '-' || j, 'ODT', 3,
       ST_Multi(ST_Buffer(ST_SetSRID(ST_MakePoint(558000 + i * 70.0, 1818000 + j * 70.0), 9214), 30, 5))
FROM generate_series(0, %(n)s - 1) i, generate_series(0, %(n)s - 1) j
"""
BBOX_4326 = (107.574, 16.465, 107.584, 16.475)  # ~1 km around the control point


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """WebMercatorQuad tile (x, y) holding a point."""
    n = 2**z
    lat_r = math.radians(lat)
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(lat_r)) / math.pi) / 2 * n)


TILE_Z15 = tile_of(107.5790, 16.4698, 15)  # over the Imperial City


def run(scale: float = 1.0) -> None:
    """Time CRS84 reads, a z15 MVT tile and history-keeping writes against their baselines; print the report.

    Parameters
    ----------
    scale
        Multiplies the number of zones.
    """
    n = max(10, int(150 * scale**0.5))  # 150 x 150 = 22,500 zones
    with throwaway_database() as url, psycopg.connect(url) as conn:
        plan = conn.execute(
            "INSERT INTO planning.plans (code, name, level) VALUES ('46QPK0000001', 'bench', 'zoning') RETURNING id"
        ).fetchone()
        assert plan is not None
        conn.execute(
            "CREATE TABLE plain_zones (LIKE planning.zones INCLUDING DEFAULTS EXCLUDING GENERATED)"
            ";ALTER TABLE plain_zones DROP COLUMN geom_4326, DROP COLUMN geom_3857, DROP COLUMN geom_area_m2"
        )
        conn.commit()

        def write_ours() -> None:
            conn.execute(GRID_SQL, {"plan": plan[0], "n": n})
            conn.rollback()

        def write_plain() -> None:
            conn.execute(GRID_SQL.replace("planning.zones", "plain_zones"), {"plan": plan[0], "n": n})
            conn.rollback()

        w_ours, w_plain = timed(write_ours, repeat=3), timed(write_plain, repeat=3)
        conn.execute(GRID_SQL, {"plan": plan[0], "n": n})
        conn.commit()
        conn.execute("ANALYZE planning.zones")
        conn.commit()

        bbox = {"x0": BBOX_4326[0], "y0": BBOX_4326[1], "x1": BBOX_4326[2], "y1": BBOX_4326[3]}
        env4326 = "ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)"

        def read_maintained() -> int:
            rows = conn.execute(
                f"SELECT id, ST_AsGeoJSON(geom_4326, 7) FROM planning.zones WHERE geom_4326 && {env4326} "
                f"AND geom && planning.box_9214({env4326})",  # found through zones' one index (migration 0006)
                bbox,
            ).fetchall()
            return len(rows)

        def read_transform_sql() -> int:
            rows = conn.execute(
                f"SELECT id, ST_AsGeoJSON(ST_Transform(geom, 4326), 7) FROM planning.zones "
                f"WHERE geom && ST_Transform({env4326}, 9214)",
                bbox,
            ).fetchall()
            return len(rows)

        def read_transform_python() -> int:
            rows = conn.execute(
                f"SELECT id, ST_AsBinary(geom) FROM planning.zones WHERE geom && ST_Transform({env4326}, 9214)", bbox
            ).fetchall()
            tr = Transformer.from_crs("EPSG:9214", "EPSG:4326", always_xy=True)  # per request, as the stock provider
            out = [json.dumps(mapping(transform(tr.transform, wkb.loads(bytes(g))))) for _, g in rows]
            return len(out)

        count = read_maintained()
        assert count == read_transform_sql() == read_transform_python() and count > 100

        tile = {"z": 15, "x": TILE_Z15[0], "y": TILE_Z15[1]}

        def mvt_maintained() -> None:
            conn.execute(
                "SELECT ST_AsMVT(t, 'zones') FROM (SELECT id, land_use_code, "
                "ST_AsMVTGeom(geom_3857, ST_TileEnvelope(%(z)s, %(x)s, %(y)s)) AS g FROM planning.zones "
                "WHERE geom_4326 && ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s), 4326) "
                "AND geom && planning.box_9214(ST_Transform("
                "ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => 64.0 / 4096), 4326))) t",
                tile,
            ).fetchone()

        def mvt_transform() -> None:
            conn.execute(
                "SELECT ST_AsMVT(t, 'zones') FROM (SELECT id, land_use_code, "
                "ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope(%(z)s, %(x)s, %(y)s)) AS g "
                "FROM planning.zones WHERE geom && ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s), 9214)) t",
                tile,
            ).fetchone()

        rows = [
            (
                f"bbox read, {count} zones as CRS84 GeoJSON vs ST_Transform in SQL",
                timed(read_maintained),
                timed(read_transform_sql),
            ),
            (
                f"bbox read, {count} zones as CRS84 GeoJSON vs pyproj in Python",
                timed(read_maintained),
                timed(read_transform_python),
            ),
            (
                "z15 MVT tile from geom_3857 (found by geom) vs ST_Transform",
                timed(mvt_maintained),
                timed(mvt_transform),
            ),
            (f"write {n * n} zones (history, derived, indexes) vs bare table", w_ours, w_plain),
        ]
        report(f"storage ({n * n} zones in PostGIS)", rows)
