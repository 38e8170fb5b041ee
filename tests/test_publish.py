"""Publishing through the API: a draft from the approved version, edits, publish with the decision, the previous
version superseded, the 3D tiles rebuilt by a background job whose status is read over HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from ogc_sample import PLAN_CODE, PUBLISH_CODE, load_sample
from sqlalchemy.engine import Engine

from gis_service.api.app import create_app
from gis_service.api.models import JobAnswer, JobList, PlanAnswer, PlanList, PublicJobAnswer, PublishAnswer
from gis_service.db import create_db_engine
from gis_service.db.migrate import upgrade
from gis_service.settings import Settings, TileSettings

Headers = Callable[..., dict[str, str]]


@pytest.fixture(scope="module")
def pub_db(db_server: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    url = db_server.create("publish")
    upgrade(url)
    ids = load_sample(url)
    yield url, ids
    db_server.drop(url)


@pytest.fixture(scope="module")
def tiles_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tiles")


@pytest.fixture(scope="module")
def client(pub_db: tuple[str, dict[str, Any]], tiles_dir: Path) -> Iterator[TestClient]:
    settings = Settings(database_url=pub_db[0], tiles=TileSettings(out_dir=tiles_dir))
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture(scope="module")
def db(pub_db: tuple[str, dict[str, Any]]) -> Iterator[Engine]:
    eng = create_db_engine(pub_db[0], pool_size=1)
    yield eng
    eng.dispose()


def reason(text: str) -> dict[str, Any]:
    return {"X-Change-Reason": text.encode()}


def wait_for_job(client: TestClient, href: str, timeout_s: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        job: dict[str, Any] = client.get(href).json()
        if job["status"] in ("succeeded", "failed"):
            return job
        assert time.monotonic() < deadline, f"job still {job['status']} after {timeout_s} s: {job}"
        time.sleep(0.2)


def statuses(db: Engine, code: str) -> dict[int, str]:
    with db.connect() as c:
        rows = c.execute(sa.text("SELECT version, status FROM planning.plans WHERE code = :c"), {"c": code}).all()
    return {int(v): str(s) for v, s in rows}


def test_publish_supersedes_and_rebuilds_the_tiles_in_the_background(
    client: TestClient, pub_db: tuple[str, dict[str, Any]], auth_headers: Headers, db: Engine, tiles_dir: Path
) -> None:
    planner = auth_headers("planner", database_url=pub_db[0])
    assert statuses(db, PUBLISH_CODE) == {1: "approved", 2: "draft"}
    r = client.post(
        f"/plans/{PUBLISH_CODE}/publish",
        headers={**planner, **reason("công bố QĐ 22")},
        json={"decision_no": "22/QĐ-UBND", "decision_date": "2026-11-20", "approving_authority": "UBND thành phố Huế"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    PublishAnswer.model_validate(body)
    assert body["published"]["version"] == 2 and body["published"]["status"] == "approved"
    assert body["published"]["decision_no"] == "22/QĐ-UBND" and body["published"]["decision_date"] == "2026-11-20"
    assert body["superseded"]["version"] == 1 and body["superseded"]["status"] == "superseded"
    assert statuses(db, PUBLISH_CODE) == {1: "superseded", 2: "approved"}
    job = body["job"]
    assert job["kind"] == "tiles.rebuild" and job["status"] in ("queued", "running", "succeeded")
    assert r.headers["link"].endswith('rel="monitor"')
    done = wait_for_job(client, f"/jobs/{job['id']}")  # anyone may read a job's status (without names)
    PublicJobAnswer.model_validate(done)
    done = client.get(f"/jobs/{job['id']}", headers=planner).json()  # staff read it in full
    JobAnswer.model_validate(done)
    assert done["created_by"] == "test-planner"
    assert done["status"] == "succeeded", done
    layers = {entry["layer"]: entry for entry in done["result"]["layers"]}
    assert layers["zones"]["features"] >= 1 and layers["zones"]["written"] >= 1
    assert (tiles_dir / "tileset.json").is_file() and (tiles_dir / "zones" / "tileset.json").is_file()
    with db.connect() as c:
        hist = c.execute(
            sa.text(
                "SELECT changed_by, reason FROM planning.change_history WHERE table_name = 'plans' "
                "AND feature_id = :id ORDER BY id DESC LIMIT 1"
            ),
            {"id": body["published"]["id"]},
        ).one()
    assert tuple(hist) == ("test-planner", "công bố QĐ 22")
    # the public now sees version 2's zone, not version 1's
    zones = client.get("/ogc/collections/zones/items", params={"plan_id": body["published"]["id"], "f": "json"})
    assert [f["properties"]["zone_code"] for f in zones.json()["features"]] == ["P2"]
    old = client.get("/ogc/collections/zones/items", params={"plan_id": body["superseded"]["id"], "f": "json"})
    assert old.json()["features"] == []
    # nothing left to publish
    again = client.post(f"/plans/{PUBLISH_CODE}/publish", headers={**planner, **reason("lại")}, json={})
    assert again.status_code == 404 and "no draft" in again.json()["description"]


def test_new_draft_from_the_approved_version_edited_and_published(
    client: TestClient, pub_db: tuple[str, dict[str, Any]], auth_headers: Headers, db: Engine
) -> None:
    planner = auth_headers("planner", database_url=pub_db[0])
    r = client.post(f"/plans/{PLAN_CODE}/drafts", headers={**planner, **reason("điều chỉnh cục bộ")})
    assert r.status_code == 201, r.text
    draft = r.json()
    PlanAnswer.model_validate(draft)
    assert draft["version"] == 2 and draft["status"] == "draft" and draft["zones"] == 2
    assert client.post(f"/plans/{PLAN_CODE}/drafts", headers={**planner, **reason("x")}).status_code == 409
    # the public list hides drafts; planners see them
    public = {(p.code, p.version) for p in PlanList.model_validate(client.get("/plans").json()).plans}
    staff = {(p["code"], p["version"]) for p in client.get("/plans", headers=planner).json()["plans"]}
    assert (PLAN_CODE, 2) in staff and (PLAN_CODE, 2) not in public
    with db.connect() as c:
        zone_id = c.execute(
            sa.text("SELECT id FROM planning.zones WHERE plan_id = :p AND zone_code = 'Z1'"), {"p": draft["id"]}
        ).scalar_one()
    path = f"/ogc/collections/zones/items/{zone_id}"
    tag = client.get(path, headers=planner).headers["etag"]
    r = client.patch(
        path, headers={**planner, **reason("tăng tầng cao"), "If-Match": tag}, json={"properties": {"max_floors": 5}}
    )
    assert r.status_code == 200, r.text
    # publishing needs the approval decision
    r = client.post(f"/plans/{PLAN_CODE}/publish", headers={**planner, **reason("công bố")}, json={})
    assert r.status_code == 400 and "decision" in r.json()["description"]
    assert statuses(db, PLAN_CODE) == {1: "approved", 2: "draft"}  # nothing changed
    r = client.post(
        f"/plans/{PLAN_CODE}/publish",
        headers={**planner, **reason("công bố")},
        json={"decision_no": "99/QĐ-UBND", "decision_date": "2026-11-24"},
    )
    assert r.status_code == 200, r.text
    assert statuses(db, PLAN_CODE) == {1: "superseded", 2: "approved"}
    feature = client.get(path, params={"f": "json"}).json()
    assert feature["properties"]["max_floors"] == 5  # public now
    # an approved version is read-only
    tag = client.get(path, headers=planner).headers["etag"]
    r = client.patch(path, headers={**planner, **reason("x"), "If-Match": tag}, json={"properties": {"max_floors": 6}})
    assert r.status_code == 409
    jobs = JobList.model_validate(client.get("/jobs", headers=planner).json()).model_dump()["jobs"]
    # each publication queues the 3D tiles' rebuild, the preparation of the lookups and the writing of its notices
    assert {j["kind"] for j in jobs} == {"tiles.rebuild", "lookup.prepare", "notices.write"}, jobs
    assert client.get("/jobs").status_code == 401
    assert client.get("/jobs/999999").status_code == 404


def test_jobs_left_running_by_a_dead_process_run_again_and_failures_say_why(
    pub_db: tuple[str, dict[str, Any]], db: Engine, tiles_dir: Path
) -> None:
    from gis_service.jobs import JobRunner
    from tiles.jobs import HANDLERS

    with db.begin() as c:
        orphan = c.execute(
            sa.text(
                "INSERT INTO planning.jobs (kind, status, params, started_at) "
                "VALUES ('tiles.rebuild', 'running', '{}', now() - interval '1 hour') RETURNING id"
            )
        ).scalar_one()
        broken = c.execute(
            sa.text(
                "INSERT INTO planning.jobs (kind, params) VALUES ('tiles.rebuild', '{\"layers\": [\"nope\"]}') "
                "RETURNING id"
            )
        ).scalar_one()
    settings = Settings(database_url=pub_db[0], tiles=TileSettings(out_dir=tiles_dir))
    engine = create_db_engine(pub_db[0], pool_size=3, statement_timeout_ms=0)
    runner = JobRunner(settings, engine, HANDLERS, poll_s=0.2).start()
    try:
        deadline = time.monotonic() + 120
        while True:
            with db.connect() as c:
                states: dict[int, str] = dict(
                    c.execute(
                        sa.text("SELECT id, status FROM planning.jobs WHERE id IN (:a, :b)"), {"a": orphan, "b": broken}
                    ).all()
                )
            if set(states.values()) <= {"succeeded", "failed"}:
                break
            assert time.monotonic() < deadline, states
            time.sleep(0.2)
    finally:
        runner.stop()
    assert states == {orphan: "succeeded", broken: "failed"}
    with db.connect() as c:
        message = c.execute(sa.text("SELECT message FROM planning.jobs WHERE id = :b"), {"b": broken}).scalar_one()
    assert "unknown layer nope" in message
