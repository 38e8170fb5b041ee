"""A detailed plan checked against the approved zoning plan above it (tests/plan_pair_sample.py), by the function,
the route ``GET /plans/{code}/consistency`` and ``planning plans check-consistency``."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from fastapi.testclient import TestClient
from plan_pair_sample import DETAILED, ZONING, load_plan_pair
from sqlalchemy.engine import Connection

from gis_service.api.app import create_app
from gis_service.cli import cli
from gis_service.consistency import check_consistency, higher_plan_for
from gis_service.errors import NotFound
from gis_service.settings import Settings


@pytest.fixture
def pair(conn: Connection) -> dict[str, int]:
    return load_plan_pair(conn)


def _by_rule(findings: list[Any], rule: str) -> list[Any]:
    return [f for f in findings if f.rule == rule]


def test_five_floors_where_the_zoning_plan_allows_three(conn: Connection, pair: dict[str, int]) -> None:
    assert higher_plan_for(conn, pair["detailed"]) == pair["zoning"]
    report = check_consistency(conn, pair["detailed"])
    floors = _by_rule(report.findings, "max_floors")
    assert len(floors) == 1
    f = floors[0]
    assert (f.lower_value, f.higher_value) == (5, 3)
    assert f.lower_feature["zone_code"] == "a1" and f.higher_feature["zone_code"] == "A"
    assert f.area_m2 == pytest.approx(2500.0, abs=0.1)
    # both plans named with version and decision, the place in VN-2000
    assert f.higher_feature["plan"] == f"{ZONING} v1 (12/QĐ-UBND, 2025-03-01)"
    assert f.lower_feature["plan"] == f"{DETAILED} v1 (draft)"
    assert 561010 <= f.easting <= 561060 and 1822510 <= f.northing <= 1822560
    assert "5" in f.message_en and "3" in f.message_en and "2,500.0 m²" in f.message_vi
    # same height as the limit: no finding; a road inside housing is allowed
    assert not _by_rule(report.findings, "max_height_m")
    assert all(f.lower_feature.get("zone_code") != "a2" for f in report.findings)


def test_housing_on_the_school_land(conn: Connection, pair: dict[str, int]) -> None:
    report = check_consistency(conn, pair["detailed"])
    uses = _by_rule(report.findings, "land_use")
    assert [(f.lower_feature["zone_code"], f.higher_feature["zone_code"]) for f in uses] == [("b1", "B")]
    assert (uses[0].lower_value, uses[0].higher_value) == ("ODT", "DGD")
    assert uses[0].area_m2 == pytest.approx(3600.0, abs=0.1)


def test_river_and_red_line(conn: Connection, pair: dict[str, int]) -> None:
    report = check_consistency(conn, pair["detailed"])
    river = _by_rule(report.findings, "riverbank")
    assert [(f.lower_value, f.higher_value, f.area_m2) for f in river] == [("ODT", "SON", 400.0)]
    assert not _by_rule(report.findings, "land_use")[1:]  # the river is reported once, as a riverbank
    red = _by_rule(report.findings, "red_line")
    assert len(red) == 1
    assert red[0].lower_value == {"offset_m": 3.0}
    # the part of the zoning plan's line inside both plans (0 to 220 m) moved
    assert red[0].length_m == pytest.approx(220.0, abs=0.1)


def test_consistent_plan_and_no_higher_plan(conn: Connection, pair: dict[str, int]) -> None:
    conn.execute(
        sa.text("UPDATE planning.zones SET max_floors = 3, land_use_code = 'DGD' WHERE id IN (:a, :b)"),
        {"a": pair["a1"], "b": pair["b1"]},
    )
    conn.execute(sa.text("UPDATE planning.zones SET land_use_code = 'SON' WHERE id = :r"), {"r": pair["r1"]})
    conn.execute(
        sa.text("UPDATE planning.red_lines SET geom = ST_Translate(geom, 0, -3) WHERE plan_id = :d"),
        {"d": pair["detailed"]},
    )
    report = check_consistency(conn, pair["detailed"])
    assert report.findings == [] and report.consistent
    with pytest.raises(NotFound, match="no approved plan above"):
        higher_plan_for(conn, pair["zoning"])


@pytest.fixture(scope="module")
def committed_pair(engine: sa.Engine) -> Any:
    with engine.begin() as c:
        ids = load_plan_pair(c)
    yield ids
    with engine.begin() as c:
        for table in ("zones", "red_lines"):
            c.execute(
                sa.text(f"DELETE FROM planning.{table} WHERE plan_id IN (:z, :d)"),
                {"z": ids["zoning"], "d": ids["detailed"]},
            )
        c.execute(
            sa.text("DELETE FROM planning.plans WHERE id IN (:z, :d)"), {"z": ids["zoning"], "d": ids["detailed"]}
        )


def test_route_and_command(settings: Settings, committed_pair: dict[str, int], auth_headers: Any) -> None:
    with TestClient(create_app(settings)) as client:
        url = f"/plans/{DETAILED}/consistency"
        assert client.get(url).status_code == 401
        assert client.get(url, headers=auth_headers("public")).status_code == 403
        r = client.get(url, headers=auth_headers("planner"))
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["higher_plan"]["code"] == ZONING and not body["consistent"]
        rules = sorted(f["rule"] for f in body["findings"])
        assert rules == ["land_use", "max_floors", "red_line", "riverbank"]
        bad = client.get("/plans/46QCT0000000/consistency", headers=auth_headers("planner"))
        assert bad.status_code == 404 and "46QCT0000000" in bad.json()["description"]
        bad = client.get(f"{url}?version=0", headers=auth_headers("planner"))
        assert bad.status_code in (400, 422)
    result = CliRunner().invoke(
        cli, ["plans", "check-consistency", DETAILED, "--json"], env={"GIS_DATABASE_URL": settings.database_url or ""}
    )
    assert result.exit_code == 1, result.output  # findings: the command fails, for scripts
    assert sorted(f["rule"] for f in json.loads(result.stdout)["findings"]) == rules
