"""The demo's command is safe to repeat after real use (issue 18, item 6).

``./run.sh demo`` loads the sample plans with ``planning demo load`` (:func:`load_sample_plans`) before it serves.
Run again after a planner started a draft of a sample plan and edited it, the load leaves that draft as it is (it
imports and publishes only what it imported itself), says what it found, and the approved versions are served as
they were. "Already holds these very files" is said only of a version imported from them and not edited since.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from converters import ImportOptions, import_path
from converters.report import ImportReport
from gis_service.api.app import create_app
from gis_service.cli import cli
from gis_service.cli.sample_plans import SAMPLE_PLANS, load_sample_plans
from gis_service.db import create_db_engine
from gis_service.db.migrate import upgrade
from gis_service.editing import delete_feature, publish_plan, start_draft, update_feature
from gis_service.settings import Settings, TileSettings, project_root

Headers = Callable[..., dict[str, str]]
ZONING = "46QPK0000001"
DETAILED = "46QCT0000001"
KIM_LONG = project_root() / "sample_data" / "46QCT0000001" / "HoSoBASIC" / "KimLong_QHCT_1-500.dxf"


@pytest.fixture
def demo_db(db_server: Any) -> Iterator[str]:
    """A fresh database migrated to head, as ``./run.sh demo`` finds it the first time."""
    url = db_server.create("demo")
    upgrade(url)
    yield url
    db_server.drop(url)


@pytest.fixture
def demo_engine(demo_db: str) -> Iterator[Engine]:
    eng = create_db_engine(demo_db, pool_size=1)
    yield eng
    eng.dispose()


def demo_load(settings: Settings) -> str:
    """``planning demo load``, as ``./run.sh demo`` runs it: what it said (it must succeed)."""
    result = CliRunner().invoke(cli, ["demo", "load"], obj={"settings": settings})
    assert result.exit_code == 0, result.output
    return result.output


def versions(engine: Engine) -> dict[tuple[str, int], tuple[int, str, int]]:
    """Every plan version: (code, version) -> (id, status, row_version)."""
    with engine.connect() as c:
        rows = c.execute(sa.text("SELECT code, version, id, status, row_version FROM planning.plans")).all()
    return {(r[0], int(r[1])): (int(r[2]), str(r[3]), int(r[4])) for r in rows}


def history_size(engine: Engine) -> int:
    with engine.connect() as c:
        return int(c.execute(sa.text("SELECT count(*) FROM planning.change_history")).scalar_one())


def reason(text: str) -> dict[str, Any]:
    """The header that says why a change is made."""
    return {"X-Change-Reason": text.encode()}


def line_of(output: str, code: str) -> str:
    """The last line the load said about plan ``code``."""
    return [line for line in output.splitlines() if line.startswith(f"{code}: ")][-1]


def test_a_second_run_with_nothing_changed_imports_nothing_and_says_so(demo_db: str, demo_engine: Engine) -> None:
    settings = Settings(database_url=demo_db)
    first = demo_load(settings)
    assert "imported 46QPK0000001_2019" in first and "published it as version 2" in line_of(first, ZONING), first
    assert f"{DETAILED}: imported" in first and "published it as version 1" in line_of(first, DETAILED), first
    before, entries = versions(demo_engine), history_size(demo_engine)
    again = demo_load(settings)
    assert "imported 46Q" not in again and "published" not in again, again
    assert "not imported again (the plan has versions already)" in again, again
    for code, served in ((ZONING, 2), (DETAILED, 1)):
        line = line_of(again, code)
        assert "already holds these very files" in line and "nothing imported" in line, again
        assert line.endswith(f"the approved version {served} is served"), again
    assert versions(demo_engine) == before and history_size(demo_engine) == entries


def test_a_run_after_a_planner_started_and_edited_a_draft_leaves_it_and_serves(
    demo_db: str, demo_engine: Engine, auth_headers: Headers, tmp_path: Path
) -> None:
    settings = Settings(database_url=demo_db, tiles=TileSettings(out_dir=tmp_path))
    demo_load(settings)
    approved = versions(demo_engine)
    assert {k: v[1] for k, v in approved.items()} == {
        (ZONING, 1): "superseded",
        (ZONING, 2): "approved",
        (DETAILED, 1): "approved",
    }
    planner = auth_headers("planner", database_url=demo_db)
    with TestClient(create_app(settings)) as client:
        # as the viewer does: a draft of the sample zoning plan, one of its zones edited
        r = client.post(f"/plans/{ZONING}/drafts", headers={**planner, **reason("điều chỉnh")})
        assert r.status_code == 201, r.text
        draft = r.json()
        assert draft["version"] == 3 and draft["status"] == "draft"
        with demo_engine.connect() as c:
            zone_id, floors = c.execute(
                sa.text("SELECT id, max_floors FROM planning.zones WHERE plan_id = :p ORDER BY id LIMIT 1"),
                {"p": draft["id"]},
            ).one()
        edited = 9 if floors != 9 else 8
        path = f"/ogc/collections/zones/items/{zone_id}"
        tag = client.get(path, headers=planner).headers["etag"]
        r = client.patch(
            path,
            headers={**planner, **reason("tăng tầng cao"), "If-Match": tag},
            json={"properties": {"max_floors": edited}},
        )
        assert r.status_code == 200, r.text

        again = demo_load(settings)
        print(f"\nplanning demo load, run again after a planner's draft:\n{again}")
        line = line_of(again, ZONING)
        assert "a draft (version 3) started by test-planner is left as it is" in line, again
        assert line.endswith("the approved version 2 is served"), again
        assert "version 3 already holds" not in again and "published" not in again, again
        after = versions(demo_engine)
        assert after.pop((ZONING, 3)) == (draft["id"], "draft", 1)
        assert after == approved  # same ids, statuses and row versions
        with demo_engine.connect() as c:
            kept = c.execute(sa.text("SELECT max_floors FROM planning.zones WHERE id = :z"), {"z": zone_id}).scalar()
        assert kept == edited
        # the demo serves the approved versions, and only them, to the public
        public = {(p["code"], p["version"], p["status"]) for p in client.get("/plans").json()["plans"]}
        assert (ZONING, 2, "approved") in public and (DETAILED, 1, "approved") in public
        assert all(status != "draft" for _c, _v, status in public)
        zones = client.get("/ogc/collections/zones/items", params={"plan_id": approved[(ZONING, 2)][0], "f": "json"})
        assert zones.status_code == 200 and zones.json()["features"], zones.text
        # once the planner's draft is published (with its decision), a run leaves that too
        r = client.post(
            f"/plans/{ZONING}/publish",
            headers={**planner, **reason("công bố")},
            json={"decision_no": "88/QĐ-UBND", "decision_date": "2026-12-01"},
        )
        assert r.status_code == 200, r.text
    third = demo_load(settings)
    line = line_of(third, ZONING)
    assert "the approved version 3 started by test-planner is left as it is" in line, third
    assert line.endswith("the approved version 3 is served") and "published" not in third, third
    statuses = {k[1]: v[1] for k, v in versions(demo_engine).items() if k[0] == ZONING}
    assert statuses == {1: "superseded", 2: "superseded", 3: "approved"}


def import_kim_long(engine: Engine, code: str) -> ImportReport:
    """The sample's small detailed plan imported under plan ``code`` (a draft unless published after)."""
    return import_path(KIM_LONG, engine, ImportOptions(plan=code, src_crs="EPSG:9214", user="t", decision_no="1/QĐ"))


def test_only_a_version_imported_from_the_files_and_not_edited_since_holds_them(engine: Engine) -> None:
    """Publishing is no edit; a draft started from the version is no import of its files; an edit makes the
    files new to the plan again."""
    code = "46QCT0009918"
    first = import_kim_long(engine, code)
    assert first.plan is not None and first.plan["version"] == 1 and not first.skipped
    with engine.begin() as c:  # a decision recorded, then published: no edit of what was imported
        update_feature(c, "plans", int(first.plan["id"]), {"decision_date": date(2026, 1, 2)}, user="t", reason="QĐ")
        publish_plan(c, code, user="t", reason="công bố")
        start_draft(c, code, user="lan.nguyen", reason="điều chỉnh")
    again = import_kim_long(engine, code)
    assert again.skipped is not None and again.plan is not None, again.summary()
    assert again.plan["version"] == 1 and again.plan["action"] == "unchanged", again.skipped
    assert "version 1 already holds these very files" in again.skipped
    assert "a draft (version 2) started by lan.nguyen is left as it is" in again.skipped


@pytest.mark.parametrize("edit", ["update", "delete", "rename"])
def test_a_version_edited_since_its_import_no_longer_holds_the_files(engine: Engine, edit: str) -> None:
    code = {"update": "46QCT0009919", "delete": "46QCT0009920", "rename": "46QCT0009921"}[edit]
    first = import_kim_long(engine, code)
    assert first.plan is not None and not first.skipped
    plan_id = int(first.plan["id"])
    with engine.begin() as c:
        if edit == "rename":
            update_feature(c, "plans", plan_id, {"name": "Kim Long (sửa)"}, user="lan.nguyen", reason="sửa tên")
        else:
            layer = "zones" if edit == "update" else "red_lines"
            fid = c.execute(
                sa.text(f"SELECT min(id) FROM planning.{layer} WHERE plan_id = :p"), {"p": plan_id}
            ).scalar_one()
            assert fid is not None, f"the sample has no {layer}"
            if edit == "update":
                update_feature(c, layer, fid, {"max_floors": 7}, user="lan.nguyen", reason="sửa")
            else:
                delete_feature(c, layer, fid, user="lan.nguyen", reason="xoá")
    again = import_kim_long(engine, code)
    assert not again.skipped and again.plan is not None, again.skipped
    assert again.plan["version"] == 2 and again.plan["action"].startswith("new version (based on version 1")


def test_versions_imported_before_the_version_was_recorded_are_told_apart_from_drafts(engine: Engine) -> None:
    """A database loaded before imports recorded the version they made (the demo's of an earlier release): the
    version a draft was started from still holds its files, the draft (same digest, copied) does not."""
    code = "46QCT0009922"
    first = import_kim_long(engine, code)
    assert first.plan is not None
    with engine.begin() as c:
        update_feature(c, "plans", int(first.plan["id"]), {"decision_date": date(2026, 1, 2)}, user="t", reason="QĐ")
        publish_plan(c, code, user="t", reason="công bố")
        start_draft(c, code, user="lan.nguyen", reason="điều chỉnh")
    with engine.begin() as c:  # as an earlier release left them: no record of the version made, no history of this
        c.execute(sa.text("ALTER TABLE planning.plans DISABLE TRIGGER USER"))
        c.execute(
            sa.text("UPDATE planning.plans SET attributes = attributes - 'imported_as_version' WHERE code = :c"),
            {"c": code},
        )
        c.execute(sa.text("ALTER TABLE planning.plans ENABLE TRIGGER USER"))
    again = import_kim_long(engine, code)
    assert again.skipped is not None and again.plan is not None, again.summary()
    assert again.plan["version"] == 1, again.skipped
    assert "a draft (version 2) started by lan.nguyen is left as it is" in again.skipped


def test_other_files_are_not_imported_beside_a_planners_draft_by_the_demo(engine: Engine, tmp_path: Path) -> None:
    """With ``leave_others`` (the demo's load), new files are not imported beside a draft someone started; the
    import command (without it) still makes them a new version."""
    code = "46QCT0009923"
    first = import_kim_long(engine, code)
    assert first.plan is not None
    with engine.begin() as c:
        update_feature(c, "plans", int(first.plan["id"]), {"decision_date": date(2026, 1, 2)}, user="t", reason="QĐ")
        publish_plan(c, code, user="t", reason="công bố")
        start_draft(c, code, user="lan.nguyen", reason="điều chỉnh")
    other = tmp_path / "KimLong_QHCT_1-500_v2.dxf"  # other files: the digest covers the name
    other.write_bytes(KIM_LONG.read_bytes())
    opts = ImportOptions(plan=code, src_crs="EPSG:9214", user="t", decision_no="2/QĐ", leave_others=True)
    left = import_path(other, engine, opts)
    expected = "a draft (version 2) started by lan.nguyen is left as it is: these files are not imported beside it"
    assert left.skipped == expected, left.skipped
    assert left.plan is not None and left.plan["version"] == 2 and left.plan["status"] == "draft"
    opts.leave_others = False
    beside = import_path(other, engine, opts)
    assert not beside.skipped and beside.plan is not None and beside.plan["version"] == 3


def test_a_version_the_demo_imported_but_did_not_publish_is_published_by_the_next_run(
    demo_db: str, demo_engine: Engine
) -> None:
    """A run stopped between an import and its publication: the next run publishes what it imported itself."""
    sample = next(p for p in SAMPLE_PLANS if p.code == DETAILED)
    opts = ImportOptions(
        plan=sample.code,
        plan_name=sample.name,
        decision_no=sample.decision_no,
        decision_date=sample.decision_date,
        src_crs=sample.src_crs,
        user="demo",
        reason="demo data",
    )
    stopped = import_path(project_root() / "sample_data" / sample.path, demo_engine, opts)
    assert stopped.plan is not None and stopped.plan["status"] == "draft"
    said = load_sample_plans(demo_engine, project_root() / "sample_data")
    line = next(line for line in said if line.startswith(f"{DETAILED}: "))
    assert "imported before but not published, and published it as version 1" in line, said
    assert versions(demo_engine)[(DETAILED, 1)][:2] == (stopped.plan["id"], "approved")
