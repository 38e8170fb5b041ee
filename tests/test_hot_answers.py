"""Prepared lookups kept in the service process and point lookups asked together, over real HTTP.

``planning serve`` on the demo's sample plans, 200 parcels prepared: answers kept in memory and points asked in
batches (gis_service.hot_answers, gis_service.api.point_batches) give the same bytes as the route reading the
prepared row itself; concurrent points share queries; an edit empties the memory; without its notifications the
process reads the database, and it listens again once the database lets it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from planning_served import PlanningServer
from psycopg_pool import AsyncConnectionPool

from gis_service.api.deps import pool_kwargs
from gis_service.api.point_batches import MOST_POINTS, PointBatches
from gis_service.api.read_routing import ReadRouter
from gis_service.hot_answers import HotAnswers
from gis_service.lookup_prepared import prepare_parcels
from gis_service.settings import Settings

LISTENER = "hue-planning-hot-answers"  # the listening connection's application_name (gis_service.api.app)


def _sql(url: str, sql: str, args: Any = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(sql, args)
        return cur.fetchall() if cur.description else []


@pytest.fixture(scope="module")
def prepared(server: PlanningServer, sample_plans_url: str) -> list[tuple[int, float, float]]:
    """200 parcels of the sample prepared, once the server's job runner is done: (id, lon, lat of a point inside)."""
    started = time.perf_counter()
    busy = "SELECT count(*) FROM planning.jobs WHERE status IN ('queued', 'running')"
    while _sql(sample_plans_url, busy)[0][0]:  # the sample's publications queued tile builds and a preparation
        assert time.perf_counter() - started < 300, "the jobs of the sample's publications did not end"
        time.sleep(0.5)
    rows = _sql(
        sample_plans_url,
        "SELECT p.id, ST_X(w), ST_Y(w) FROM planning.parcels p, "
        "LATERAL ST_Transform(ST_PointOnSurface(p.geom), 4326) w ORDER BY p.id LIMIT 200",
    )
    with psycopg.connect(sample_plans_url) as conn:
        assert prepare_parcels(conn, [r[0] for r in rows]) == len(rows)
    return [(int(pid), float(lon), float(lat)) for pid, lon, lat in rows]


@pytest.fixture(scope="module")
def server(sample_plans_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlanningServer]:
    s = PlanningServer(sample_plans_url, Path(tmp_path_factory.mktemp("hot")))
    try:
        yield s
    finally:
        s.stop()


def _paths(parcels: list[tuple[int, float, float]]) -> list[str]:
    return [f"/lookup/parcels/{pid}" for pid, _, _ in parcels] + [
        f"/lookup?lon={lon:.7f}&lat={lat:.7f}" for _, lon, lat in parcels
    ]


async def _get_all(base: str, paths: list[str], concurrency: int) -> dict[str, tuple[int, bytes]]:
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        gate = asyncio.Semaphore(concurrency)

        async def one(path: str) -> tuple[str, tuple[int, bytes]]:
            async with gate:
                r = await client.get(path)
                return path, (r.status_code, r.content)

        return dict(await asyncio.gather(*(one(p) for p in paths)))


def _listening(url: str) -> bool:
    return bool(_sql(url, "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [LISTENER])[0][0])


def test_kept_and_batched_answers_equal_the_prepared_rows(
    server: PlanningServer, prepared: list[tuple[int, float, float]]
) -> None:
    paths = _paths(prepared)
    # the route (reached with a parameter the fast path leaves to it) reads each prepared row itself
    with httpx.Client(base_url=server.url, timeout=30) as client:
        routed = {p: client.get(p + ("&" if "?" in p else "?") + "envelope=true") for p in paths}
    assert all(r.status_code == 200 for r in routed.values())
    first = asyncio.run(_get_all(server.url, paths, 16))  # read from the database, kept
    again = asyncio.run(_get_all(server.url, paths, 16))  # parcels from memory; points asked together
    for p in paths:
        assert first[p] == again[p] == (200, routed[p].content), p
    print(f"\n{len(paths)} lookups, read and then kept, equal to the route's byte for byte")


class _CountingRouter(ReadRouter):
    """The service's read routing, counting the connections taken (one per query of points)."""

    taken = 0

    def connection(self, scope: Any) -> Any:
        self.taken += 1
        return super().connection(scope)


def test_points_asked_together_share_one_query(prepared: list[tuple[int, float, float]], sample_plans_url: str) -> None:
    settings = Settings(database_url=sample_plans_url)

    async def run() -> tuple[list[Any], list[Any], int]:
        async with AsyncConnectionPool(sample_plans_url, kwargs=pool_kwargs(settings), min_size=1, max_size=2) as pool:
            router = _CountingRouter(pool, [], settings.replicas, pool_kwargs=pool_kwargs(settings), pool_size=2)
            hot = HotAnswers(1000)
            hot.start(sample_plans_url, {})
            while hot.version is None:
                await asyncio.sleep(0.01)
            batches = PointBatches(router, hot)
            alone = [await batches.find("lonlat", lon, lat) for _, lon, lat in prepared[:MOST_POINTS]]
            router.taken = 0
            together = await asyncio.gather(*(batches.find("lonlat", lon, lat) for _, lon, lat in prepared))
            await hot.stop()
            # how the points' statement was planned, on each of the pool's connections
            async with pool.connection() as one, pool.connection() as two:
                for conn in (one, two):
                    cur = await conn.execute(
                        "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE %s",
                        ["%unnest%ST_Intersects%"],
                    )
                    plans.extend(await cur.fetchall())
            return alone, together, router.taken

    plans: list[tuple[int, int]] = []
    alone, together, queries = asyncio.run(run())
    assert [p.parcel_id if p else None for p in alone] == [pid for pid, _, _ in prepared[:MOST_POINTS]]
    assert together[:MOST_POINTS] == alone
    print(f"\n{len(prepared)} points asked together: {queries} queries of points (at most {MOST_POINTS} each)")
    assert queries == -(-len(prepared) // MOST_POINTS)
    # batches of any size share one plan after PostgreSQL's first five custom ones, not planned anew each time
    print(f"the points' statement: (generic plans, custom plans) per connection: {plans}")
    assert plans and sum(g for g, _ in plans) > 0 and all(c <= 5 for _, c in plans), plans


def test_an_edit_empties_the_memory_and_the_listener_comes_back(
    server: PlanningServer, prepared: list[tuple[int, float, float]], sample_plans_url: str
) -> None:
    pid = prepared[0][0]
    path = f"/lookup/parcels/{pid}"
    (address,) = _sql(sample_plans_url, "SELECT address FROM planning.parcels WHERE id = %s", [pid])[0]
    with psycopg.connect(sample_plans_url) as conn:
        prepare_parcels(conn, [pid])
    assert httpx.get(server.url + path).json()["parcel"]["address"] == address  # kept now
    try:
        _sql(sample_plans_url, "UPDATE planning.parcels SET address = 'Số 9 Ngô Quyền (sửa)' WHERE id = %s", [pid])
        started = time.perf_counter()
        while httpx.get(server.url + path).json()["parcel"]["address"] != "Số 9 Ngô Quyền (sửa)":
            assert time.perf_counter() - started < 1.0, "the edit was not seen within 1 s"
        print(f"\nan edit seen by the lookup after {1000 * (time.perf_counter() - started):.1f} ms")

        # the listener cut off: nothing from memory, every answer read from the database
        _sql(
            sample_plans_url,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            [LISTENER],
        )
        _sql(sample_plans_url, "UPDATE planning.parcels SET address = 'Số 10 Ngô Quyền (sửa)' WHERE id = %s", [pid])
        assert httpx.get(server.url + path).json()["parcel"]["address"] == "Số 10 Ngô Quyền (sửa)"
        started = time.perf_counter()
        while not _listening(sample_plans_url):
            assert time.perf_counter() - started < 5.0, "not listening again within 5 s"
            time.sleep(0.05)
        print(f"listening again {time.perf_counter() - started:.2f} s after being cut off")
    finally:
        _sql(sample_plans_url, "UPDATE planning.parcels SET address = %s WHERE id = %s", [address, pid])
    with psycopg.connect(sample_plans_url) as conn:
        prepare_parcels(conn, [pid])
    # back in memory and right: the restored address, from the re-prepared row
    for _ in range(3):
        assert httpx.get(server.url + path).json()["parcel"]["address"] == address
