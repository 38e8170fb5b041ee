"""Reads on a real streaming replica (``planning db up --replicas 1`` in a throwaway cluster): read-your-writes,
and a replica taken out of rotation when it stops or lags, and put back when it recovers."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from ogc_sample import PLAN_CODE, load_sample

from gis_service.api.app import create_app
from gis_service.api.read_routing import LSN_HEADER, ReadRouter, lsn_from_text
from gis_service.consultation.periods import today_in_hue
from gis_service.db.local_cluster import LocalCluster
from gis_service.db.local_replicas import LocalReplica, destroy_replicas, scale_replicas
from gis_service.db.migrate import upgrade
from gis_service.lookup_prepared import PREPARED_PARCELS_SQL, prepare_parcels
from gis_service.settings import ReplicaSettings, Settings, TileSettings

pytestmark = pytest.mark.cluster

MAX_LAG_S = 1.5


@pytest.fixture(scope="module")
def topology() -> Iterator[tuple[LocalCluster, LocalReplica]]:
    """A primary with the sample plan and one replica of it, in a folder the 'postgres' user can reach."""
    folder = Path(tempfile.mkdtemp(prefix="planning-replicas-"))
    folder.chmod(0o755)
    primary = LocalCluster(folder / "pg")
    try:
        primary.up()
        upgrade(primary.url())
        load_sample(primary.url())
        (replica,) = scale_replicas(primary, 1)
        yield primary, replica
    finally:
        destroy_replicas(primary)
        primary.destroy()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def app(topology: tuple[LocalCluster, LocalReplica], tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    primary, replica = topology
    settings = Settings(
        database_url=primary.url(),
        database_replicas=[replica.url()],
        replicas=ReplicaSettings(check_interval_s=0.2, max_lag_s=MAX_LAG_S),
        tiles=TileSettings(out_dir=tmp_path_factory.mktemp("tiles")),
        ogc_dir=tmp_path_factory.mktemp("ogc"),
    )
    application = create_app(settings)
    with TestClient(application):
        yield application


@pytest.fixture(scope="module")
def planner(topology: tuple[LocalCluster, LocalReplica], auth_headers: Callable[..., dict[str, str]]) -> dict[str, str]:
    return auth_headers("planner", database_url=topology[0].url())


@pytest.fixture(scope="module")
def zone(app: FastAPI, planner: dict[str, str], topology: tuple[LocalCluster, LocalReplica]) -> dict[str, Any]:
    """Zone Z1 of a draft of the sample plan under consultation (so that anonymous readers see it)."""
    c = TestClient(app)
    r = c.post(f"/plans/{PLAN_CODE}/drafts", headers={**planner, "X-Change-Reason": "lay y kien"})
    assert r.status_code == 201, r.text
    today = today_in_hue()
    opened = c.post(
        f"/plans/{PLAN_CODE}/consultations",
        json={
            "starts_on": today.isoformat(),
            "ends_on": (today + timedelta(days=30)).isoformat(),
            "explanation": "Điều chỉnh số tầng ô Z1; lấy ý kiến cộng đồng dân cư 30 ngày.",
        },
        headers=planner,
    )
    assert opened.status_code == 201, opened.text
    with psycopg.connect(topology[0].url()) as pg:
        row = pg.execute(
            "SELECT id FROM planning.zones WHERE plan_id = %s AND zone_code = 'Z1'", [r.json()["id"]]
        ).fetchone()
    assert row is not None
    item = f"/ogc/collections/zones/items/{row[0]}"
    return {"id": row[0], "item": item, "etag": c.get(item, headers=planner).headers["etag"]}


def router(app: FastAPI) -> ReadRouter:
    found: ReadRouter = app.state.read_router
    return found


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 15) -> float:
    """Seconds until ``condition()`` holds (fails after ``timeout``)."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)
    return time.monotonic() - start


def edit(client: TestClient, zone: dict[str, Any], planner: dict[str, str], floors: int) -> None:
    r = client.patch(
        zone["item"],
        headers={
            **planner,
            "X-Change-Reason": "dieu chinh so tang",
            "If-Match": zone["etag"],
            "Content-Type": "application/merge-patch+json",
        },
        content=json.dumps({"properties": {"max_floors": floors}}).encode(),
    )
    assert r.status_code == 200, r.text
    zone["etag"] = r.headers["etag"]
    assert lsn_from_text(r.headers[LSN_HEADER]) > 0  # the position to read at, as a header and as the cookie
    assert "planning_lsn" in client.cookies


def floors_seen(client: TestClient, zone: dict[str, Any]) -> int:
    """Z1's floors as an anonymous reader sees them (the OGC items of the draft under consultation)."""
    r = client.get("/ogc/collections/zones/items", params={"f": "json", "zone_code": "Z1", "view": "consultation"})
    assert r.status_code == 200, r.text
    (feature,) = [f for f in r.json()["features"] if f["properties"]["plan_status"] == "draft"]
    return int(feature["properties"]["max_floors"])


def test_a_writer_reads_its_own_writes_100_times(app: FastAPI, zone: dict[str, Any], planner: dict[str, str]) -> None:
    reads = router(app)
    (replica,) = reads.replicas
    wait_until(lambda: replica.healthy, "the replica in rotation")
    writer = TestClient(app)  # keeps the cookie the edits give; its reads carry no Authorization
    before_replica, before_primary = replica.reads, reads.primary_reads
    for floors in range(1, 101):
        edit(writer, zone, planner, floors)
        assert floors_seen(writer, zone) == floors
    on_replica, on_primary = replica.reads - before_replica, reads.primary_reads - before_primary
    print(f"100 edits read back: {on_replica} on the replica, {on_primary} on the primary (replica behind)")
    assert on_replica + on_primary >= 100
    assert on_replica > 0, "the reads must really go to the replica when it has caught up"


def test_a_lagging_replica_serves_others_the_old_answer_and_the_writer_the_new(
    app: FastAPI, zone: dict[str, Any], planner: dict[str, str], topology: tuple[LocalCluster, LocalReplica]
) -> None:
    reads = router(app)
    (replica,) = reads.replicas
    wait_until(lambda: replica.healthy, "the replica in rotation")
    writer, stranger = TestClient(app), TestClient(app)
    edit(writer, zone, planner, 11)
    wait_until(lambda: floors_seen(stranger, zone) == 11, "the replica has replayed the edit")
    with psycopg.connect(topology[1].url(), autocommit=True) as standby:
        standby.execute("SELECT pg_wal_replay_pause()")
        try:
            edit(writer, zone, planner, 12)
            before = replica.reads
            assert floors_seen(stranger, zone) == 11, "a reader who did not write reads the replica, behind"
            assert replica.reads == before + 1
            assert floors_seen(writer, zone) == 12, "the writer reads its edit (on the primary)"
            # lagging beyond the bound: out of rotation, everyone reads the primary
            took = wait_until(lambda: not replica.healthy, "the lagging replica out of rotation")
            assert "lags" in replica.reason
            assert floors_seen(stranger, zone) == 12
            print(f"replay paused: out of rotation after {took:.1f} s more (bound {MAX_LAG_S} s)")
        finally:
            standby.execute("SELECT pg_wal_replay_resume()")
    wait_until(lambda: replica.healthy, "the replica back once it caught up")
    before = replica.reads
    assert floors_seen(stranger, zone) == 12
    assert replica.reads == before + 1


def test_a_stopped_replica_is_taken_out_and_put_back(
    app: FastAPI, zone: dict[str, Any], topology: tuple[LocalCluster, LocalReplica]
) -> None:
    reads = router(app)
    (replica,) = reads.replicas
    _primary, local = topology
    wait_until(lambda: replica.healthy, "the replica in rotation")
    reader = TestClient(app)
    expected = floors_seen(reader, zone)
    assert local.down()
    try:
        took = wait_until(lambda: not replica.healthy, "the stopped replica out of rotation")
        print(f"stopped replica out of rotation after {took:.2f} s ({replica.reason})")
        before = reads.primary_reads
        for _ in range(5):  # no error: the primary answers
            assert floors_seen(reader, zone) == expected
        assert reads.primary_reads == before + 5
    finally:
        local.up()
    took = wait_until(lambda: replica.healthy, "the restarted replica back in rotation")
    print(f"restarted replica back in rotation after {took:.2f} s")
    before = replica.reads
    for _ in range(3):
        assert floors_seen(reader, zone) == expected
    assert replica.reads == before + 3


def test_signed_in_reads_and_bad_tokens_go_to_the_primary(
    app: FastAPI, zone: dict[str, Any], planner: dict[str, str]
) -> None:
    reads = router(app)
    (replica,) = reads.replicas
    wait_until(lambda: replica.healthy, "the replica in rotation")
    before = replica.reads
    c = TestClient(app)
    assert c.get("/ogc/collections/zones/items", params={"f": "json", "limit": 1}, headers=planner).status_code == 200
    r = c.get("/ogc/collections/zones/items", params={"f": "json", "limit": 1}, headers={LSN_HEADER: "not-a-position"})
    assert r.status_code == 200
    assert replica.reads == before


def test_the_replica_reads_the_primarys_data_version_and_its_prepared_lookups(
    topology: tuple[LocalCluster, LocalReplica],
) -> None:
    """Forty changes in a row, each seen on the replica with the primary's version (a sequence, written to the WAL 32
    values ahead, stood still there), then prepared lookups read on the replica as on the primary."""
    primary, replica = topology
    with (
        psycopg.connect(primary.url(), autocommit=True) as on_primary,
        psycopg.connect(replica.url(), autocommit=True) as on_replica,
    ):

        def version(conn: psycopg.Connection) -> int:
            row = conn.execute("SELECT planning.data_version()").fetchone()
            assert row is not None
            return int(row[0])

        def replayed(at: int) -> bool:
            return version(on_replica) >= at

        parcel = on_primary.execute("SELECT min(id) FROM planning.parcels").fetchone()
        assert parcel is not None and parcel[0] is not None
        for _ in range(40):
            on_primary.execute("UPDATE planning.parcels SET address = address WHERE id = %s", [parcel[0]])
            moved = version(on_primary)
            wait_until(partial(replayed, moved), "the replica replaying the change", 5)
            assert version(on_replica) == moved
        ids = [int(r[0]) for r in on_primary.execute("SELECT id FROM planning.parcels ORDER BY id LIMIT 5")]
        assert prepare_parcels(on_primary, ids) == len(ids)
        moved = version(on_primary)
        wait_until(
            lambda: on_replica.execute(PREPARED_PARCELS_SQL, [ids]).fetchall() != [], "the prepared lookups replayed", 5
        )
        rows = on_replica.execute(PREPARED_PARCELS_SQL, [ids]).fetchall()
        assert sorted(r[0] for r in rows) == ids
        assert {r[2] for r in rows} == {moved}
    print(f"40 changes: the replica read the primary's version after each (now {moved}); {len(rows)} prepared read")
