"""The parcels kept in the process find the parcel at a point, and its location, as the database finds them.

On the demo's sample plans, every parcel prepared: a point inside each parcel, thousands of random points over the
sample (lon/lat and VN-2000 e/n), and points on the parcels' corners and edges. Where the index answers, its parcel
and location equal those of the prepared points' statement (:data:`PREPARED_POINTS_SQL`), digit for digit; where it
cannot be sure (an edge, a rounding step), it says so. A change of parcels, and only of parcels, makes it stale.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sample_plans_db import fill_with_sample_plans

from gis_service.hot_answers import HotAnswers
from gis_service.lookup_prepared import PREPARED_POINTS_SQL, prepare_parcels
from gis_service.parcel_index import UNSURE, ParcelIndex


@pytest.fixture(scope="module")
def db_url(db_server: Any) -> Iterator[str]:
    url: str = db_server.create("parcel_index")
    fill_with_sample_plans(url)
    with psycopg.connect(url) as conn:
        ids = [int(r[0]) for r in conn.execute("SELECT id FROM planning.parcels")]
        assert prepare_parcels(conn, ids) == len(ids)
    yield url
    db_server.drop(url)


def _rows(url: str, sql: str, args: Any = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql, args).fetchall()


def _points(url: str) -> dict[str, list[tuple[float, float]]]:
    """Points in lon/lat and in e/n: inside each parcel, random over the sample, on corners and edges."""
    inside = _rows(
        url,
        "SELECT ST_X(s), ST_Y(s), ST_X(w), ST_Y(w) FROM planning.parcels p, LATERAL ST_PointOnSurface(p.geom) s, "
        "LATERAL ST_Transform(s, 4326) w ORDER BY p.id",
    )
    e0, n0, e1, n1, lon0, lat0, lon1, lat1 = _rows(
        url,
        "SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b), ST_XMin(w), ST_YMin(w), ST_XMax(w), ST_YMax(w) "
        "FROM (SELECT ST_Extent(geom) b, ST_Extent(ST_Transform(geom, 4326)) w FROM planning.parcels) t",
    )[0]
    edges = _rows(
        url,
        "SELECT ST_X(c), ST_Y(c) FROM (SELECT geom FROM planning.parcels ORDER BY id LIMIT 300) p, "
        "LATERAL (SELECT (ST_DumpPoints(p.geom)).geom) d(c) "
        "UNION ALL SELECT ST_X(m), ST_Y(m) FROM (SELECT geom FROM planning.parcels ORDER BY id LIMIT 300) p, "
        "LATERAL ST_LineInterpolatePoint(ST_ExteriorRing(ST_GeometryN(p.geom, 1)), 0.3) m",
    )
    rng = random.Random(9)
    # the sample's plans lie in several places of Huế: most random points over their extent fall on no parcel
    return {
        "lonlat": [(r[2], r[3]) for r in inside]
        + [(rng.uniform(lon0, lon1), rng.uniform(lat0, lat1)) for _ in range(3000)],
        "en": [(r[0], r[1]) for r in inside] + [(rng.uniform(e0, e1), rng.uniform(n0, n1)) for _ in range(3000)],
        "en, on corners and edges": [(r[0], r[1]) for r in edges],
    }


def _database(url: str, mode: str, points: list[tuple[float, float]]) -> dict[int, tuple[int, dict[str, float]]]:
    """The prepared points' statement: by point number (from 0), the parcel and the location."""
    rows = _rows(
        url, PREPARED_POINTS_SQL[mode], {"x": [p[0] for p in points], "y": [p[1] for p in points], "with_answer": False}
    )
    return {
        int(i) - 1: (int(pid), dict(zip(("lon", "lat", "e", "n"), (float(v) for v in numbers), strict=True)))
        for i, pid, _version, _answer, *numbers in rows
    }


def test_the_parcel_and_location_found_in_the_process_are_the_databases(db_url: str) -> None:
    index = ParcelIndex(10**6, db_url)
    asyncio.run(index.load(1))
    assert index.ready(1)
    for name, points in _points(db_url).items():
        mode = name.split(",")[0]
        truth = _database(db_url, mode, points)
        counts = {"same": 0, "no parcel": 0, "unsure": 0}
        for i, (x, y) in enumerate(points):
            found = index.find(mode, x, y)
            if found == UNSURE:
                counts["unsure"] += 1
            elif found is None:
                assert i not in truth, (mode, x, y, truth.get(i))
                counts["no parcel"] += 1
            else:
                assert found == truth[i], (mode, x, y, found, truth.get(i))
                counts["same"] += 1
        print(f"\n{name}: {len(points)} points: {counts}")
        if name.endswith("edges"):  # a point on an edge may fall either side in the database: never answered here
            assert counts["unsure"] == len(points) > 1000
        else:
            assert counts["same"] > 1000 and counts["no parcel"] > 1000
            assert counts["unsure"] < len(points) / 100


def test_only_a_change_of_parcels_makes_the_parcels_read_stale(db_url: str) -> None:
    async def run() -> list[int]:
        hot = HotAnswers(10)
        hot.start(db_url, {})
        while hot.version is None:
            await asyncio.sleep(0.01)
        epochs = [hot.parcels_epoch]
        for sql in (
            "UPDATE planning.zones SET max_floors = max_floors WHERE id = (SELECT min(id) FROM planning.zones)",
            "UPDATE planning.parcels SET geom = geom WHERE id = (SELECT min(id) FROM planning.parcels)",
        ):
            version = hot.version
            async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
                await conn.execute(sql)
            while hot.version == version:
                await asyncio.sleep(0.01)
            epochs.append(hot.parcels_epoch)
        await hot.stop()
        return epochs

    before, after_zone, after_parcel = asyncio.run(run())
    assert after_zone == before and after_parcel == before + 1
