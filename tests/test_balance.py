"""The land-use balance table of the sample plan: against an independent sum in SQL, the previous version, a
declared table off by 5 % for one code (in the database and in a dossier file), and ``GET /plans/{code}/balance``."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Connection

from gis_service.api.app import create_app
from gis_service.balance import balance_of, compare_declared, plan_balance, read_declared_balance
from gis_service.db import create_db_engine
from gis_service.settings import Settings

CODE = "46QPK0000001"


@pytest.fixture(scope="module")
def sample(sample_plans_url: str) -> Iterator[Connection]:
    eng = create_db_engine(sample_plans_url, pool_size=1)
    with eng.connect() as c:
        tx = c.begin()
        yield c
        tx.rollback()
    eng.dispose()


def test_equals_an_independent_sum(sample: Connection) -> None:
    table = plan_balance(sample, CODE)
    assert table.plan["status"] == "approved"
    # the importer's own area of each zone (GEOS, at import), summed by code
    expected: dict[str, Any] = dict(
        sample.execute(
            sa.text(
                "SELECT land_use_code, sum(geom_area_m2) / 10000 FROM planning.zones "
                "WHERE plan_id = :p GROUP BY land_use_code"
            ),
            {"p": table.plan["id"]},
        ).all()
    )
    got = {r.code: r.area_ha for r in table.rows if r.zones}  # not the codes only the version before had
    assert set(got) == set(expected) and len(got) >= 3
    for code, ha in expected.items():
        assert got[code] == pytest.approx(float(ha), abs=0.01), code
    boundary, uncovered = sample.execute(
        sa.text(
            "SELECT ST_Area(p.geom) / 10000, ST_Area(ST_Difference(p.geom, (SELECT ST_Union(z.geom) "
            "FROM planning.zones z WHERE z.plan_id = p.id))) / 10000 FROM planning.plans p WHERE p.id = :p"
        ),
        {"p": table.plan["id"]},
    ).one()
    assert table.boundary_ha == pytest.approx(boundary, abs=0.01)
    assert table.no_zone_ha == pytest.approx(uncovered, abs=0.01)
    assert sum(r.share_pct for r in table.rows) == pytest.approx(100 * table.zones_ha / float(boundary), abs=0.1)
    assert sum(g.area_ha for g in table.groups) == pytest.approx(table.zones_ha, abs=0.01)
    # the superseded 2019 version is the one before: the change per code adds up to the change of the total
    assert table.previous is not None and table.previous["version"] < table.plan["version"]
    before = balance_of(sample, table.previous["id"])
    assert sum(r.change_ha or 0 for r in table.rows) == pytest.approx(table.zones_ha - before.zones_ha, abs=0.01)


def _declared_off_by_5pct(sample: Connection) -> tuple[dict[str, float], str, float]:
    table = plan_balance(sample, CODE)
    declared = {r.code: r.area_ha for r in table.rows if r.zones}
    code = table.rows[0].code
    declared[code] = round(declared[code] * 1.05, 4)
    return declared, code, table.rows[0].area_ha


def test_declared_table_off_by_5pct(sample: Connection) -> None:
    declared, code, computed = _declared_off_by_5pct(sample)
    pid = plan_balance(sample, CODE).plan["id"]
    sample.execute(
        sa.text(
            "UPDATE planning.plans SET attributes = attributes || jsonb_build_object('declared_balance', "
            "CAST(:d AS jsonb)) WHERE id = :p"
        ),
        {"d": json.dumps(declared), "p": pid},
    )
    table = balance_of(sample, pid)
    assert [(f.code, f.declared_ha, f.computed_ha, f.difference_pct) for f in table.findings] == [
        (code, declared[code], computed, pytest.approx(5.0, abs=0.01))
    ]
    assert f"{declared[code]:.2f} ha" in table.findings[0].message_en
    assert f"{computed:.2f} ha" in table.findings[0].message_vi


def test_declared_table_in_a_dossier_file(sample: Connection, tmp_path: Path) -> None:
    declared, code, computed = _declared_off_by_5pct(sample)
    gpkg = tmp_path / "QuyHoach.gpkg"
    frame = pd.DataFrame({"maSDD": list(declared), "dienTich": list(declared.values())})
    gpd.GeoDataFrame(frame).to_file(gpkg, layer="BangCanBangSuDungDat", driver="GPKG", engine="pyogrio")
    read = read_declared_balance(gpkg)
    assert read == pytest.approx(declared)
    findings = compare_declared(plan_balance(sample, CODE), read)
    assert [(f.code, f.computed_ha) for f in findings] == [(code, computed)]


def test_route_public_for_published_versions(sample_plans_url: str, auth_headers: Any) -> None:
    with TestClient(create_app(Settings(database_url=sample_plans_url))) as client:
        r = client.get(f"/plans/{CODE}/balance")
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["plan"]["code"] == CODE and body["rows"] and body["rows"][0]["color"].startswith("#")
        rows = list(csv.DictReader(io.StringIO(client.get(f"/plans/{CODE}/balance?f=csv").text)))
        assert [r["code"] for r in rows if r["kind"] == "code"] == [r["code"] for r in body["rows"]]
        page = client.get(f"/plans/{CODE}/balance?f=html")
        assert page.headers["content-type"].startswith("text/html") and "Land-use balance" in page.text
        assert client.get("/plans/46QPK9999999/balance").status_code == 404
        assert client.get(f"/plans/{CODE}/balance?f=xml").status_code in (400, 422)
