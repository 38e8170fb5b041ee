"""The job runner on a real database: a runner that fell behind runs the queued rebuilds and preparations once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from gis_service.db import create_db_engine
from gis_service.db.migrate import upgrade
from gis_service.jobs import LOOKUP_PREPARE, NOTICES_WRITE, TILES_REBUILD, JobRunner, Progress, merge_params
from gis_service.settings import Settings


@pytest.fixture(scope="module")
def engine(db_server: Any) -> Iterator[Engine]:
    url = db_server.create("jobs")
    upgrade(url)
    eng = create_db_engine(url, pool_size=3, statement_timeout_ms=0)
    yield eng
    eng.dispose()
    db_server.drop(url)


def _queue(engine: Engine, jobs: list[tuple[str, dict[str, Any]]]) -> list[int]:
    with engine.begin() as c:
        c.execute(sa.text("DELETE FROM planning.jobs"))
        return [
            int(
                c.execute(
                    sa.text("INSERT INTO planning.jobs (kind, params) VALUES (:k, CAST(:p AS jsonb)) RETURNING id"),
                    {"k": kind, "p": json.dumps(params)},
                ).scalar_one()
            )
            for kind, params in jobs
        ]


def test_queued_rebuilds_and_preparations_run_once_together(engine: Engine) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []

    def handler(kind: str) -> Any:
        def run(settings: Settings, eng: Engine, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
            progress(f"{kind} working")
            calls.append((kind, params))
            return {"done": len(calls)}

        return run

    kinds = (TILES_REBUILD, LOOKUP_PREPARE, NOTICES_WRITE)
    # as twenty plans published in a row queue them: per plan a notice, a rebuild, a preparation
    queued: list[tuple[str, dict[str, Any]]] = []
    for n in range(3):
        plan = {"plan": f"P{n}", "published_id": 10 + n, "superseded_id": 5 if n == 1 else None}
        queued += [(NOTICES_WRITE, {"published_id": 10 + n}), (TILES_REBUILD, plan), (LOOKUP_PREPARE, plan)]
    queued.append((TILES_REBUILD, {"layers": ["zones"]}))  # other parameters: runs on its own
    ids = _queue(engine, queued)
    runner = JobRunner(Settings(database_url="postgresql://unused/x"), engine, {k: handler(k) for k in kinds})
    ran = 0
    while runner.run_one():
        ran += 1
    print(f"{len(ids)} jobs queued, {ran} runs")
    assert ran == 6  # 3 notices, 1 rebuild for 3 plans, 1 preparation for 3 plans, the zones' rebuild
    rebuilds = [p for k, p in calls if k == TILES_REBUILD]
    assert rebuilds[0] == {"plans": ["P0", "P1", "P2"], "plan_versions": [5, 10, 11, 12]}
    assert rebuilds[1] == {"layers": ["zones"]}
    with engine.connect() as c:
        rows = c.execute(sa.text("SELECT id, kind, status, result, message FROM planning.jobs ORDER BY id")).all()
    assert {r.status for r in rows} == {"succeeded"}
    together = [r for r in rows if r.kind == TILES_REBUILD and r.result.get("jobs")]
    assert [r.id for r in together] == [ids[1], ids[4], ids[7]]
    # each job of the run ends with the run's result, and says it was done together with the others
    assert all(r.result == together[0].result for r in together)
    assert together[0].result["jobs"] == [ids[1], ids[4], ids[7]]
    assert all(r.message == "done, together with 2 other job(s)" for r in together)


def test_one_job_of_everything_makes_the_merged_run_do_everything() -> None:
    merged = merge_params([{"plan": "A", "published_id": 3}, {}, {"plan": "B", "published_id": 4}])
    assert merged == {"plans": ["A", "B"], "plan_versions": []}
