"""The data version (migration 0018): it moves once per committed change, in commit order, and a site read while a
change was being written is not kept once the change has committed."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sample_plans_db import fill_with_sample_plans

from gis_service.api.app import create_app
from gis_service.data_version import CHANNEL
from gis_service.settings import Settings


@pytest.fixture(scope="module")
def db_url(db_server: Any) -> Iterator[str]:
    """The demo's sample plans in a database of this module's own: the tests change zones and parcels."""
    url = db_server.create("version")
    fill_with_sample_plans(url)
    yield url
    db_server.drop(url)


def _version(conn: psycopg.Connection) -> int:
    row = conn.execute("SELECT planning.data_version()").fetchone()
    assert row is not None
    return int(row[0])


def _first_parcel(conn: psycopg.Connection) -> int:
    row = conn.execute("SELECT min(id) FROM planning.parcels").fetchone()
    assert row is not None
    return int(row[0])


def _notes(listener: psycopg.Connection) -> list[str]:
    return [n.payload for n in listener.notifies(timeout=0.5, stop_after=10)]


def test_the_version_moves_once_per_commit_and_not_before(db_url: str) -> None:
    with (
        psycopg.connect(db_url, autocommit=True) as reader,
        psycopg.connect(db_url, autocommit=True) as listener,
        psycopg.connect(db_url) as writer,
    ):
        listener.execute(f"LISTEN {CHANNEL}")
        start = _version(reader)
        zone = writer.execute("SELECT id, max_floors FROM planning.zones ORDER BY id LIMIT 1").fetchone()
        assert zone is not None
        for floors in (1, 2, 3):  # three statements, one transaction
            writer.execute("UPDATE planning.zones SET max_floors = %s WHERE id = %s", [floors, zone[0]])
        assert _version(reader) == start, "a change not yet committed moved the version"
        writer.commit()
        assert _version(reader) == start + 1
        assert _notes(listener) == [str(start + 1)]

        writer.execute("UPDATE planning.zones SET max_floors = %s WHERE id = %s", [zone[1], zone[0]])
        writer.execute("UPDATE planning.parcels SET address = address WHERE id = %s", [_first_parcel(writer)])
        writer.commit()
        assert _version(reader) == start + 2
        assert _notes(listener) == [f"p{start + 2}"], "a change of parcels is said with a p"

        writer.execute("UPDATE planning.zones SET max_floors = 9 WHERE id = %s", [zone[0]])
        writer.rollback()
        with writer.transaction():  # a savepoint rolled back changes nothing either
            writer.execute("SELECT 1")
            with pytest.raises(psycopg.errors.DivisionByZero), writer.transaction():
                writer.execute("UPDATE planning.zones SET max_floors = 9 WHERE id = %s", [zone[0]])
                writer.execute("SELECT 1 / 0")
        writer.commit()
        assert _version(reader) == start + 2
        assert _notes(listener) == []
        print(f"versions {start} -> {start + 2}: one per committed change, none for the two rolled back")


def test_versions_follow_the_order_of_commits(db_url: str) -> None:
    with (
        psycopg.connect(db_url, autocommit=True) as reader,
        psycopg.connect(db_url, autocommit=True) as listener,
        psycopg.connect(db_url) as first,
        psycopg.connect(db_url) as second,
    ):
        listener.execute(f"LISTEN {CHANNEL}")
        start = _version(reader)
        first.execute("UPDATE planning.red_lines SET geom = geom WHERE id = (SELECT min(id) FROM planning.red_lines)")
        second.execute("UPDATE planning.plans SET name = name WHERE id = (SELECT min(id) FROM planning.plans)")
        second.commit()  # began second, committed first
        assert _version(reader) == start + 1
        first.commit()
        assert _version(reader) == start + 2
        assert _notes(listener) == [str(start + 1), str(start + 2)]


def test_a_repeatable_read_writer_commits_after_other_changes(db_url: str) -> None:
    """Versions are rows added, never a row updated: a writer whose snapshot predates another commit still commits."""
    with (
        psycopg.connect(db_url, autocommit=True) as reader,
        psycopg.connect(db_url) as slow,
        psycopg.connect(db_url) as quick,
    ):
        slow.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        start = _version(reader)
        slow.execute("UPDATE planning.zones SET name = name WHERE id = (SELECT min(id) FROM planning.zones)")
        quick.execute("UPDATE planning.zones SET name = name WHERE id = (SELECT max(id) FROM planning.zones)")
        quick.commit()
        slow.commit()  # no "could not serialize access"
        assert _version(reader) == start + 2


def test_writers_committing_side_by_side_get_one_version_each(db_url: str) -> None:
    rounds = 40
    with psycopg.connect(db_url, autocommit=True) as reader, psycopg.connect(db_url, autocommit=True) as listener:
        listener.execute(f"LISTEN {CHANNEL}")
        start = _version(reader)

        def write(which: str) -> None:
            with psycopg.connect(db_url) as conn:
                for _ in range(rounds):
                    zone = f"(SELECT {which}(id) FROM planning.zones)"
                    conn.execute(f"UPDATE planning.zones SET name = name WHERE id = {zone}")
                    conn.commit()

        with ThreadPoolExecutor(2) as pool:
            list(pool.map(write, ["min", "max"]))
        assert _version(reader) == start + 2 * rounds
        notes = [n.payload for n in listener.notifies(timeout=1, stop_after=2 * rounds)]
    assert notes == [str(v) for v in range(start + 1, start + 2 * rounds + 1)], "versions not in the order notified"
    print(f"two writers, {2 * rounds} commits side by side: versions {start + 1}-{start + 2 * rounds}, in order")


def test_every_thousandth_version_drops_the_rows_far_behind(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        start = _version(conn)
        thousandth = (start // 1000 + 2) * 1000
        conn.execute(
            "INSERT INTO planning.data_versions SELECT generate_series(%s::bigint, %s)", [start + 1, thousandth - 1]
        )
        conn.execute("SELECT setval('planning.data_version', %s)", [thousandth - 1])
        conn.execute("UPDATE planning.zones SET name = name WHERE id = (SELECT min(id) FROM planning.zones)")
        assert _version(conn) == thousandth
        kept = conn.execute("SELECT min(version), count(*) FROM planning.data_versions").fetchone()
    assert kept == (thousandth - 999, 1000)


def test_a_site_read_during_an_edit_is_not_kept_after_it(db_url: str) -> None:
    """The envelope read while a planner's edit of the zone is under way, then again once it has committed."""
    with psycopg.connect(db_url) as writer:
        row = writer.execute(
            "SELECT p.id, z.id, z.max_floors, coalesce(z.min_floors, 1) FROM planning.parcels p "
            "JOIN planning.zones z ON ST_Contains(z.geom, ST_PointOnSurface(p.geom)) "
            "JOIN planning.plans pl ON pl.id = z.plan_id "
            "WHERE pl.status = 'approved' AND z.max_floors > coalesce(z.min_floors, 1) ORDER BY p.id LIMIT 1"
        ).fetchone()
        writer.rollback()
        assert row is not None
        parcel, zone, floors, fewer = row
        with (
            tempfile.TemporaryDirectory() as tmp,
            TestClient(create_app(Settings(database_url=db_url, ogc_dir=Path(tmp) / "ogc"))) as client,
        ):

            def floors_allowed() -> float:
                r = client.get(f"/parcels/{parcel}/envelope")
                assert r.status_code == 200, r.text
                return float(r.json()["capacity"]["floors"]["value"])

            before = floors_allowed()
            assert before == floors
            try:
                writer.execute("UPDATE planning.zones SET max_floors = %s WHERE id = %s", [fewer, zone])
                assert floors_allowed() == before  # not committed: not seen
                writer.commit()
                assert floors_allowed() == fewer, "the site read during the edit was kept after it"
            finally:
                writer.rollback()
                writer.execute("UPDATE planning.zones SET max_floors = %s WHERE id = %s", [floors, zone])
                writer.commit()
            assert floors_allowed() == before
        print(f"parcel {parcel}: {before:g} floors, {fewer} once the edit committed, {before:g} again after")
