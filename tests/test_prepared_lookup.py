"""Lookups prepared at publication: the same bytes as the live lookup, never stale, only the default lookup.

On the demo's sample plans (a database of this module's own, since it publishes): every parcel by id, by sheet and
parcel number, and at a point inside it (WGS84 and VN-2000) is answered live first, then prepared, then compared
byte for byte over HTTP.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sample_plans_db import fill_with_sample_plans

from gis_service.api.app import create_app
from gis_service.as_of import today_in_hue
from gis_service.data_version import CHANNEL
from gis_service.db import create_db_engine
from gis_service.editing import publish_with_decision, start_draft, update_feature
from gis_service.lookup_prepared import prepare_lookups, prepare_parcels
from gis_service.published_tiles import build_published_tiles
from gis_service.settings import Settings, TileSettings, VectorTileSettings
from tiles.build import TileOptions, build_tilesets

CODE = "46QCT0000001"  # the detailed plan: a corner of the sample


@pytest.fixture(scope="module")
def db_url(db_server: Any) -> Iterator[str]:
    url: str = db_server.create("prepared")
    fill_with_sample_plans(url)
    yield url
    db_server.drop(url)


@pytest.fixture(scope="module")
def settings(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The service's settings: its own folders of 3D and vector tiles, which its job runner rebuilds."""
    tmp = tmp_path_factory.mktemp("served")
    return Settings(
        database_url=db_url,
        public_url="http://testserver",
        ogc_dir=tmp / "ogc",
        tiles=TileSettings(out_dir=tmp / "3d"),
        vector_tiles=VectorTileSettings(dir=tmp / "vector", max_zoom=16),
    )


@pytest.fixture(scope="module")
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


#: The data version moved as a commit would move it, without a change (nor its notification).
_MOVE_VERSION = "INSERT INTO planning.data_versions VALUES (nextval('planning.data_version')) RETURNING version"


def _sql(url: str, sql: str, args: Any = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(sql, args)
        return cur.fetchall() if cur.description else []


def _requests(url: str) -> list[str]:
    """Every parcel by id and at a point inside it (lon/lat); every tenth by sheet and parcel number and by e/n."""
    rows = _sql(
        url,
        "SELECT p.id, p.sheet_no, p.parcel_no, p.ward, ST_X(w), ST_Y(w), ST_X(s), ST_Y(s) FROM planning.parcels p, "
        "LATERAL ST_PointOnSurface(p.geom) s, LATERAL ST_Transform(s, 4326) w ORDER BY p.id",
    )
    paths = []
    for i, (pid, sheet, no, ward, lon, lat, e, n) in enumerate(rows):
        paths += [f"/lookup/parcels/{pid}", f"/lookup?lon={lon:.7f}&lat={lat:.7f}"]
        if i % 10 == 0:  # the other two ways on every tenth parcel (they read the same prepared rows)
            paths += [f"/lookup?sheet_no={sheet}&parcel_no={no}&ward={ward}", f"/lookup?e={e:.3f}&n={n:.3f}"]
    return paths


def _answers(client: TestClient, paths: list[str]) -> dict[str, tuple[int, bytes]]:
    out = {}
    for path in paths:
        r = client.get(path)
        out[path] = (r.status_code, r.content)
    return out


def _prepared_rows(url: str) -> int:
    return int(
        _sql(
            url,
            "SELECT count(*) FROM planning.prepared_lookups WHERE data_version = (SELECT planning.data_version())",
        )[0][0]
    )


def _prepare(url: str, *, whole: bool = False) -> Any:
    with psycopg.connect(url) as conn:
        return prepare_lookups(conn, whole=whole)


def _first_within(seconds: float, check: Callable[[], bool]) -> float | None:
    """How long until ``check()`` held (None: not within ``seconds``)."""
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        if check():
            return time.perf_counter() - started
        time.sleep(0.005)
    return None


def _compare(live: dict[str, tuple[int, bytes]], prepared: dict[str, tuple[int, bytes]]) -> int:
    differ = [p for p in live if live[p] != prepared[p]]
    assert not differ, f"{len(differ)} differ, e.g. {differ[0]}:\n{live[differ[0]]}\n{prepared[differ[0]]}"
    return len(live)


@pytest.mark.timeout(900)
def test_prepared_answers_equal_the_live_ones_byte_for_byte(client: TestClient, db_url: str) -> None:
    paths = _requests(db_url)
    _sql(db_url, "DELETE FROM planning.prepared_lookups")
    live = _answers(client, paths)
    ok = sum(1 for s, _ in live.values() if s == 200)
    assert ok == len(paths), [p for p, (s, _) in live.items() if s != 200][:5]
    report = _prepare(db_url, whole=True)
    parcels = report.parcels
    assert report.prepared == parcels > 0 and _prepared_rows(db_url) == parcels
    started = time.perf_counter()
    served = _answers(client, paths)
    print(
        f"\n{parcels} parcels prepared in {report.seconds:.2f} s; {_compare(live, served)} answers "
        f"(by id, sheet, lon/lat, e/n) equal byte for byte, {time.perf_counter() - started:.2f} s to read"
    )
    # the default forms are answered before routing (gis_service.api.fast_path); the route, reached with a
    # parameter the fast path leaves to it, reads the same prepared row: same bytes, same headers
    routed = [(p, p + ("&" if "?" in p else "?") + "envelope=true") for p in paths[::7]]
    for fast, route in routed:
        a, b = client.get(fast), client.get(route)
        assert (a.status_code, a.content) == (b.status_code, b.content), fast
        assert sorted(a.headers.items()) == sorted(b.headers.items()), fast
    # the prepared rows are what is served: a marked row comes back as it is
    pid = int(_sql(db_url, "SELECT min(id) FROM planning.parcels")[0][0])
    kept = _sql(db_url, "SELECT answer FROM planning.prepared_lookups WHERE parcel_id = %s", [pid])[0][0]
    _sql(db_url, "UPDATE planning.prepared_lookups SET answer = %s WHERE parcel_id = %s", [b'"parcel": "MARK"}', pid])
    # as a preparation tells the service processes, which keep the answers they served (gis_service.hot_answers)
    _sql(db_url, "SELECT pg_notify(%s, '')", [CHANNEL])
    try:
        marked = _first_within(2.0, lambda: client.get(f"/lookup/parcels/{pid}").content.endswith(b'"parcel": "MARK"}'))
        assert marked is not None
        for extra in ("as_of=" + today_in_hue().isoformat(), "view=consultation", "envelope=false"):
            r = client.get(f"/lookup/parcels/{pid}?{extra}")
            assert r.status_code == 200 and b"MARK" not in r.content, extra  # not the default lookup: live
    finally:
        _sql(db_url, "UPDATE planning.prepared_lookups SET answer = %s WHERE parcel_id = %s", [kept, pid])


def test_an_edit_is_never_answered_from_a_stale_preparation(client: TestClient, db_url: str) -> None:
    _prepare(db_url)
    pid, address = _sql(db_url, "SELECT id, address FROM planning.parcels ORDER BY id LIMIT 1")[0]
    before = client.get(f"/lookup/parcels/{pid}").json()
    assert before["parcel"]["address"] == address
    _sql(db_url, "UPDATE planning.parcels SET address = '7 Lê Lợi, Huế (sửa)' WHERE id = %s", [pid])
    try:
        assert _prepared_rows(db_url) == 0  # the counter moved: nothing prepared is current
        # the answer kept in memory goes once the notification of the commit arrives: milliseconds, as a replica's lag
        waited = _first_within(
            1.0, lambda: client.get(f"/lookup/parcels/{pid}").json()["parcel"]["address"] == "7 Lê Lợi, Huế (sửa)"
        )
        assert waited is not None, "the edit was not seen within 1 s"
        for _ in range(20):  # and never the old answer again
            assert client.get(f"/lookup/parcels/{pid}").json()["parcel"]["address"] == "7 Lê Lợi, Huế (sửa)"
        report = _prepare(db_url)
        assert report.prepared >= 1 and not report.whole
        assert client.get(f"/lookup/parcels/{pid}").json()["parcel"]["address"] == "7 Lê Lợi, Huế (sửa)"
        print(
            f"\nparcel edit: seen by the lookup after {waited * 1000:.1f} ms; {report.prepared} of {report.parcels} "
            f"re-prepared ({report.changed} changed), {report.kept} kept"
        )
    finally:
        _sql(db_url, "UPDATE planning.parcels SET address = %s WHERE id = %s", [address, pid])


def _wait_for_job(db_url: str, job_id_after: int, kind: str = "lookup.prepare") -> dict[str, Any]:
    for _ in range(1500):
        rows = _sql(
            db_url,
            "SELECT status, result, message FROM planning.jobs WHERE kind = %s AND id > %s",
            [kind, job_id_after],
        )
        if rows and rows[0][0] in ("succeeded", "failed"):
            assert rows[0][0] == "succeeded", rows[0][2]
            result: dict[str, Any] = rows[0][1]
            return result
        time.sleep(0.2)
    raise AssertionError("the lookup preparation job did not finish")


@pytest.mark.timeout(900)
def test_republishing_a_zone_re_prepares_only_what_it_touches(
    client: TestClient, db_url: str, settings: Settings
) -> None:
    _prepare(db_url)
    paths = _requests(db_url)
    eng = create_db_engine(db_url, pool_size=1)
    # the published tiles as they are before the change, so that the rebuild after it is incremental
    build_tilesets(eng, settings.tiles.out_dir, options=TileOptions(**settings.tiles.model_dump(exclude={"out_dir"})))
    build_published_tiles(eng, settings.vector_tiles.dir, max_zoom=settings.vector_tiles.max_zoom)
    last_job = int(_sql(db_url, "SELECT coalesce(max(id), 0) FROM planning.jobs")[0][0])
    started = time.perf_counter()
    try:
        with eng.begin() as conn:
            draft = start_draft(conn, CODE, user="test", reason="sửa một ô")
            zone_id, floors = conn.execute(
                sa.text("SELECT id, max_floors FROM planning.zones WHERE plan_id = :p ORDER BY id LIMIT 1"),
                {"p": draft.id},
            ).one()
            update_feature(conn, "zones", zone_id, {"max_floors": (floors or 3) + 1}, user="test", reason="tầng cao")
            publish_with_decision(
                conn, CODE, decision_no="99/QĐ-UBND", decision_date=today_in_hue(), user="test", reason="QĐ 99"
            )
        assert _prepared_rows(db_url) == 0  # published: nothing prepared before is served
        result = _wait_for_job(db_url, last_job)  # the service's job runner prepares after the publication
        tiles = _wait_for_job(db_url, last_job, "tiles.rebuild")  # and rebuilds the 3D and vector tiles
    finally:
        eng.dispose()
    assert not result["whole"] and 0 < result["prepared"] < result["parcels"], result
    assert result["prepared"] + result["kept"] == result["parcels"] == _prepared_rows(db_url)
    print(
        f"\nrepublished {CODE} (one zone's floors), both jobs done {time.perf_counter() - started:.1f} s after it:\n"
        f"  prepared lookups: {result['prepared']} of {result['parcels']} parcels re-prepared "
        f"({result['changed']} answers changed), {result['kept']} kept, {result['seconds']} s"
    )
    for layer in tiles["layers"]:
        print(
            f"  3D tiles {layer['layer']}: {layer['written']} of {layer['tiles']} written, {layer['deleted']} "
            f"deleted, {layer['seconds']} s"
        )
    for report in tiles["vector_tiles"]:
        print(
            f"  vector tiles {report['layer_set']}: {report['written']} of {report['drawn']} drawn written, "
            f"{report['deleted']} deleted"
        )
    zones_3d = next(layer for layer in tiles["layers"] if layer["layer"] == "zones")
    assert zones_3d["written"] >= 1, zones_3d  # the sample's zones fit in one 3D tile: it is rewritten
    assert all(layer["written"] == 0 for layer in tiles["layers"] if layer["layer"] != "zones"), tiles["layers"]
    assert {r["layer_set"] for r in tiles["vector_tiles"]} == {"zones", "red_lines", "map"}, tiles["vector_tiles"]
    prepared = _answers(client, paths)
    _sql(db_url, _MOVE_VERSION)  # every preparation stale: the lookups go live
    live = _answers(client, paths)
    print(f"{_compare(live, prepared)} answers equal to the live ones after the republication")


def test_prepare_parcels_prepares_those_only_with_the_live_bytes(client: TestClient, db_url: str) -> None:
    _sql(db_url, _MOVE_VERSION)  # nothing prepared is current
    ids = [int(r[0]) for r in _sql(db_url, "SELECT id FROM planning.parcels ORDER BY id LIMIT 3")]
    state = _sql(db_url, "SELECT data_version, history_id FROM planning.prepared_lookup_state")
    with psycopg.connect(db_url) as conn:
        assert prepare_parcels(conn, [*ids, ids[0], 2**62]) == 3  # repeated and unknown ids: nothing more
    assert _prepared_rows(db_url) == 3
    assert _sql(db_url, "SELECT data_version, history_id FROM planning.prepared_lookup_state") == state
    paths = [f"/lookup/parcels/{i}" for i in ids]
    prepared = _answers(client, paths)
    _sql(db_url, _MOVE_VERSION)
    assert _compare(_answers(client, paths), prepared) == 3
