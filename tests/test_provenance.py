"""Provenance of imported features: the sample scan imported and published, a lookup of one of its zones showing
where it comes from, and its review status set through the route and the command, recorded in the history."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from converters import ImportOptions, import_path
from gis_service.api.app import create_app
from gis_service.cli import cli
from gis_service.editing import feature_history, publish_plan
from gis_service.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SCAN = ROOT / "sample_data" / "46QPK0000001" / "HoSoScan" / "KinhThanh_QHPK_scan.tif"
CODE = "46QPK0009931"


@pytest.fixture(scope="module")
def scanned_zone(engine: Engine) -> Iterator[dict[str, Any]]:
    """The scan imported as an approved plan of its own; its largest zone (id, a point inside it in VN-2000)."""
    import_path(
        SCAN,
        engine,
        ImportOptions(
            plan=CODE,
            user="test-importer",
            reason="test: the scanned sample",
            decision_no="9/QĐ-UBND",
            decision_date=date(2025, 1, 2),
        ),
    )
    with engine.begin() as c:
        publish_plan(c, CODE, user="test", reason="test: publish the scan")
        row = c.execute(
            sa.text(
                "SELECT z.id, ST_X(p.g), ST_Y(p.g) FROM planning.zones z JOIN planning.plans pl ON pl.id = z.plan_id, "
                "LATERAL (SELECT ST_PointOnSurface(z.geom) AS g) p WHERE pl.code = :c ORDER BY ST_Area(z.geom) DESC "
                "LIMIT 1"
            ),
            {"c": CODE},
        ).one()
    yield {"id": int(row[0]), "e": float(row[1]), "n": float(row[2])}


def _zone_in(answer: dict[str, Any], zone_id: int) -> dict[str, Any]:
    return next(z for z in answer["zones"] if z["id"] == zone_id)


def test_lookup_shows_provenance_and_review(
    settings: Settings, engine: Engine, scanned_zone: dict[str, Any], auth_headers: Any
) -> None:
    zid = scanned_zone["id"]
    with TestClient(create_app(settings)) as client:
        answer = client.get("/lookup", params={"e": scanned_zone["e"], "n": scanned_zone["n"], "envelope": "false"})
        assert answer.status_code == 200, answer.text
        prov = _zone_in(answer.json(), zid)["provenance"]
        assert prov["method"] == "scan" and prov["file"] == SCAN.name and prov["layer"] == "zones"
        assert prov["sheet"] == "KinhThanh_QHPK_scan"
        assert prov["sha256"] == hashlib.sha256(SCAN.name.encode() + SCAN.read_bytes()).hexdigest()
        assert prov["imported_by"] == "test-importer" and prov["reason"] == "test: the scanned sample"
        assert prov["review_status"] == "digitised"
        assert 0 < prov["position_error_m"] < 20  # one pixel of the scan
        assert prov["sentence_en"].startswith("From the scanned sheet KinhThanh_QHPK_scan, positional error about ")
        assert prov["sentence_en"].endswith(" m, not yet checked.")
        assert prov["sentence_vi"].startswith("Từ bản đồ quét tờ KinhThanh_QHPK_scan, sai số vị trí khoảng ")
        assert prov["sentence_vi"].endswith("chưa kiểm tra.")

        url = f"/provenance/zones/{zid}/review-status"
        why = {"X-Change-Reason": "compared with the paper sheet"}
        assert client.put(url, json={"status": "checked"}, headers=why).status_code == 401
        bad = client.put(url, json={"status": "fine"}, headers={**auth_headers("planner"), **why})
        assert bad.status_code in (400, 422)
        assert client.put(
            "/provenance/plans/1/review-status", json={"status": "checked"}, headers={**auth_headers("planner"), **why}
        ).status_code in (400, 404, 422)
        r = client.put(url, json={"status": "checked"}, headers={**auth_headers("planner"), **why})
        assert r.status_code == 200, r.text
        assert r.json()["review_status"] == "checked" and r.json()["sentence_en"].endswith(", checked.")
        answer = client.get("/lookup", params={"e": scanned_zone["e"], "n": scanned_zone["n"], "envelope": "false"})
        assert _zone_in(answer.json(), zid)["provenance"]["sentence_vi"].endswith(", đã kiểm tra.")
        got = client.get(f"/provenance/zones/{zid}", headers=auth_headers("planner"))
        assert got.json()["review_status"] == "checked"
    result = CliRunner().invoke(
        cli,
        ["review", "set", "zones", str(zid), "approved", "--user", "lan", "--reason", "approved with the plan"],
        env={"GIS_DATABASE_URL": settings.database_url or ""},
    )
    assert result.exit_code == 0, result.output
    with engine.connect() as c:
        history = feature_history(c, "zones", zid)
    changes = [
        (h.changed_by, h.reason, (h.after or {}).get("review_status")) for h in history if h.operation == "update"
    ]
    assert changes == [
        ("test-planner", "compared with the paper sheet", "checked"),
        ("lan", "approved with the plan", "approved"),
    ]


def test_imported_gis_layers_name_their_file(engine: Engine, scanned_zone: dict[str, Any]) -> None:
    """Features of a GIS layer name their file and layer, and start without a positional error."""
    gpkg = ROOT / "sample_data" / "46QPK0000001_2019" / "HoSoGIS"
    code = "46QPK0009932"
    import_path(gpkg, engine, ImportOptions(plan=code, user="test-importer"))
    with engine.connect() as c:
        rows = c.execute(
            sa.text(
                "SELECT DISTINCT s.method, s.file_name, s.layer_name, s.sheet, z.position_error_m, z.review_status "
                "FROM planning.zones z JOIN planning.plans p ON p.id = z.plan_id "
                "JOIN planning.feature_sources s ON s.id = z.source_id WHERE p.code = :c"
            ),
            {"c": code},
        ).all()
    assert rows == [("gis", "QuyHoach.gpkg", "ChucNangSuDungDat_A", None, None, "digitised")]
