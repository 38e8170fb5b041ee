"""Permit checks through the REST API: straddling parcels, missing data, bad input, the recorded workflow with its
reproduction after the plan changes, decisions, and the printable report (HTML, PDF turned into an image)."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from permits_sample import CODE, E0, N0, box, box_geojson, load_permit_plan
from pyproj import Transformer

from gis_service.api.app import create_app
from gis_service.db import create_db_engine
from gis_service.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
TO_LONLAT = Transformer.from_crs("EPSG:9214", "OGC:CRS84", always_xy=True)


@pytest.fixture(scope="module")
def permit_db(db_server: Any) -> Iterator[tuple[str, dict[str, int]]]:
    from gis_service.db.migrate import upgrade

    url = db_server.create("permitsapi")
    upgrade(url)
    ids = load_permit_plan(url)
    yield url, ids
    db_server.drop(url)


@pytest.fixture(scope="module")
def client(permit_db: tuple[str, dict[str, int]], tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(database_url=permit_db[0], public_url="http://testserver", ogc_dir=tmp_path_factory.mktemp("o"))
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture(scope="module")
def officer(permit_db: tuple[str, dict[str, int]], auth_headers: Callable[..., dict[str, str]]) -> dict[str, str]:
    return auth_headers("permit_officer", database_url=permit_db[0])


def lonlat_box(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    """A rectangle given in EPSG:9214 offsets, sent as CRS84 lon/lat (pyproj uses the official EPSG:6960 shift)."""
    ring = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    return {
        "type": "Polygon",
        "coordinates": [[list(TO_LONLAT.transform(E0 + x, N0 + y)) for x, y in ring]],
    }


COMPLIANT = {
    "lot": box_geojson(-50, 0, -40, 20),
    "footprint": box_geojson(-49, 3, -41, 15),
    "crs": "EPSG:9214",
    "floors": 3,
    "basements": 1,
    "height_m": 12,
    "total_floor_area_m2": 250,
    "use": "detached_house",
}


def by_id(result: dict[str, Any], rid: str) -> list[dict[str, Any]]:
    return [r for r in result["rules"] if r["id"] == rid]


def test_compliant_precheck_needs_no_login(client: TestClient) -> None:
    r = client.post("/permits/check", json=COMPLIANT)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["verdict"] == "compliant", [x for x in body["rules"] if x["status"] != "pass"]
    # the road has a building line: it governs the setback (Table 2.7 asks no more of a 12 m building)
    assert {x["id"] for x in body["rules"]} == {
        "land_use",
        "inside_lot",
        "building_line",
        "access",
        "density",
        "floors",
        "height",
        "far",
        "frontage",
        "lot_area",
        "architecture",
    }
    assert by_id(body, "architecture")[0]["status"] == "officer_judgement"
    assert body["plan"]["code"] == CODE and body["plan"]["decision_no"] == "77/QĐ-UBND"
    density = by_id(body, "density")[0]
    assert density["value"] == 48.0 and density["limit"] == 70.0 and "Bảng 2.8" in density["source"]
    assert by_id(body, "frontage")[0]["value"] == pytest.approx(10.0, abs=0.001)
    assert body["red_line"]["footprint_distance_m"] == 3.0 and by_id(body, "building_line")[0]["value"] == 0.0
    assert by_id(body, "building_line")[0]["road"]["name"] == "Lê Duẩn"


def test_uses_are_listed(client: TestClient) -> None:
    body = client.get("/permits/uses").json()
    apartment = next(c for c in body["categories"] if c["id"] == "apartment")
    assert apartment["qcvn_density_table"] == "apartment" and apartment["name_vi"] == "Nhà chung cư"
    assert body["land_use_code_defaults"]["ODT"] == "detached_house"


def test_straddling_parcel_gets_an_answer_per_zone(client: TestClient, permit_db: tuple[str, dict[str, int]]) -> None:
    # the parcel (tờ 5 thửa 7) lies half in zone A (ODT) and half in zone B (TMD); footprint sent in lon/lat
    fp = lonlat_box(-8, 4, 8, 16)
    r = client.post(
        "/permits/check",
        json={"sheet_no": 5, "parcel_no": 7, "footprint": fp, "use": "ODT", "floors": 4, "height_m": 15},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    # the footprint travelled through the official VN-2000 shift: 16 x 12 m within a few cm²
    assert body["footprint"]["area_m2"] == pytest.approx(192.0, abs=0.05)
    # and lands where it was drawn: centred 10 m north of the control point, within a centimetre
    assert abs(body["footprint"]["centroid_e"] - E0) < 0.01 and abs(body["footprint"]["centroid_n"] - (N0 + 10)) < 0.01
    assert body["parcel"]["id"] == permit_db[1]["parcel"] and body["lot"]["area_m2"] == 400.0
    land_use = {x["zone"]["zone_code"]: x for x in by_id(body, "land_use")}
    assert land_use["A"]["status"] == "pass" and land_use["B"]["status"] == "fail"
    assert land_use["B"]["limit"] == "TMD" and land_use["A"]["zone"]["share_of_footprint_pct"] == pytest.approx(
        50, abs=0.1
    )
    floors = {x["zone"]["zone_code"]: x for x in by_id(body, "floors")}
    assert floors["A"]["limit"] == 5 and floors["B"]["limit"] == 9
    # one road, one building line: the setback is the road's, not the zones'
    (line,) = by_id(body, "building_line")
    assert line["status"] == "pass" and line["road"]["name"] == "Lê Duẩn" and "zone" not in line
    assert body["verdict"] == "not_compliant" and "land_use" in body["failed"]
    assert [z["zone_code"] for z in body["plan"]["zones"]] == ["A", "B"] or [
        z["zone_code"] for z in body["plan"]["zones"]
    ] == ["B", "A"]


def test_missing_plan_values_need_review_never_pass(client: TestClient) -> None:
    data = {
        "lot": box_geojson(-1100, 0, -1090, 20),
        "footprint": box_geojson(-1099, 3, -1091, 15),
        "crs": "EPSG:9214",
        "use": "ODT",
        "floors": 3,
        "height_m": 12,
        "total_floor_area_m2": 200,
    }
    body = client.post("/permits/check", json=data).json()
    assert body["verdict"] == "needs_review" and not body["failed"]
    assert {"floors", "height", "far", "density"} <= set(body["needs_review"])
    for rid in ("floors", "height", "far", "density"):
        assert all(x["status"] == "needs_review" for x in by_id(body, rid)), by_id(body, rid)
        assert all(x["basis"] == "no_data" for x in by_id(body, rid)), by_id(body, rid)
    # the same proposal without its height: the rule says what is missing
    data.pop("height_m")
    body = client.post(
        "/permits/check", json={**data, "lot": box_geojson(-50, 0, -40, 20), "footprint": box_geojson(-49, 3, -41, 15)}
    ).json()
    height = by_id(body, "height")[0]
    assert height["status"] == "needs_review" and "height_m" in height["message_en"]
    assert body["verdict"] == "needs_review"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (
            {
                "footprint": box_geojson(-49, 3, -41, 15)
                | {
                    "coordinates": [
                        [
                            [E0 - 49, N0 + 3],
                            [E0 - 41, N0 + 15],
                            [E0 - 41, N0 + 3],
                            [E0 - 49, N0 + 15],
                            [E0 - 49, N0 + 3],
                        ]
                    ]
                }
            },
            "Self-intersection at e 561580",
        ),
        ({"footprint": {"type": "Point", "coordinates": [E0, N0]}}, "Polygon or MultiPolygon is needed"),
        ({"footprint": {"type": "Polygon", "coordinates": [[[1, 2], [3]]]}}, "footprint"),
        ({"crs": "EPSG:3405"}, "unknown CRS"),
        ({"crs": "CRS84"}, "look like VN-2000 metres"),
        (  # a corner far north of Việt Nam: the whole box is checked, not only its lowest corner
            {
                "crs": "CRS84",
                "footprint": lonlat_box(-49, 3, -41, 15),
                "lot": {"type": "Polygon", "coordinates": [[[107.5, 16], [107.6, 16], [107.6, 60], [107.5, 16]]]},
            },
            "lot: coordinates are not lon/lat (CRS84) in Việt Nam",
        ),
        ({"use": "XYZ"}, "neither a land-use code"),
        ({"parcel_id": 5}, "give the lot in one way"),
        ({"floors": -1}, "floors"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_a_400_naming_the_problem(client: TestClient, change: dict[str, Any], words: str) -> None:
    r = client.post("/permits/check", json={**COMPLIANT, **change})
    assert r.status_code == 400, r.text
    assert words in r.json()["description"], r.json()


def test_unknown_parcel_is_404(client: TestClient) -> None:
    r = client.post("/permits/check", json={**COMPLIANT, "lot": None, "crs": "EPSG:9214", "parcel_id": 987654})
    assert r.status_code == 404 and "987654" in r.json()["description"]


def _republish_with_two_floors(url: str, ids: dict[str, int]) -> None:
    """Edit zone A of the approved plan (history), then publish version 2 where zone A allows 2 floors."""
    import sqlalchemy as sa

    from gis_service.editing import insert_feature, publish_plan, update_feature

    engine = create_db_engine(url, pool_size=1)
    try:
        with engine.begin() as conn:
            update_feature(conn, "zones", ids["A"], {"max_height_m": 15}, user="lan.nguyen", reason="điều chỉnh")
            v2 = insert_feature(
                conn,
                "plans",
                {
                    "code": CODE,
                    "name": "Chi tiết khu Lê Duẩn (điều chỉnh)",
                    "level": "detailed",
                    "version": 2,
                    "based_on_id": ids["plan"],
                    "decision_no": "90/QĐ-UBND",
                    "decision_date": "2026-01-10",
                },
                user="lan.nguyen",
                reason="điều chỉnh quy hoạch",
            )
            for key in ("A", "B", "C"):
                row = conn.execute(
                    sa.text(
                        "SELECT zone_code, land_use_code, max_density_pct, max_floors, "
                        "max_height_m, max_far, min_setback_m, ST_AsEWKT(geom) FROM planning.zones WHERE id = :id"
                    ),
                    {"id": ids[key]},
                ).one()
                insert_feature(
                    conn,
                    "zones",
                    {
                        "plan_id": v2["id"],
                        "zone_code": row[0],
                        "land_use_code": row[1],
                        "max_density_pct": row[2],
                        "max_floors": 2 if key == "A" else row[3],
                        "max_height_m": row[4],
                        "max_far": row[5],
                        "min_setback_m": row[6],
                        "geom": row[7],
                    },
                    user="lan.nguyen",
                    reason="điều chỉnh quy hoạch",
                )
            for table in ("red_lines", "building_lines"):
                conn.execute(sa.text(f"UPDATE planning.{table} SET plan_id = :v2"), {"v2": v2["id"]})
            publish_plan(conn, CODE, user="lan.nguyen", reason="QĐ 90/QĐ-UBND")
    finally:
        engine.dispose()


def test_recorded_check_reproduces_after_the_plan_is_edited_and_republished(
    client: TestClient,
    officer: dict[str, str],
    permit_db: tuple[str, dict[str, int]],
    auth_headers: Callable[..., dict[str, str]],
) -> None:
    # officers only: no token 401, a planner 403
    new = {"reference": "GPXD-2026-0001", "applicant_name": "Nguyễn Văn An"}
    assert client.post("/permits/applications", json=new).status_code == 401
    planner = auth_headers("planner", database_url=permit_db[0])
    assert client.post("/permits/applications", json=new, headers=planner).status_code == 403
    r = client.post("/permits/applications", json=new, headers=officer)
    assert r.status_code == 201, r.text
    app_id = r.json()["id"]
    assert client.post("/permits/applications", json=new, headers=officer).status_code == 409  # same reference

    r = client.post(f"/permits/applications/{app_id}/checks", json=COMPLIANT, headers=officer)
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["verdict"] == "compliant" and first["plan"]["version"] == 1
    check_id = first["check_id"]

    _republish_with_two_floors(*permit_db)

    # the recorded check, re-run, still answers from version 1 (3 floors allowed in 5)
    r = client.post(f"/permits/checks/{check_id}/rerun", headers=officer)
    assert r.status_code == 200, r.text
    rerun = r.json()
    assert rerun["reproduced"] is True and rerun["rerun"]["verdict"] == "compliant"
    assert rerun["rerun"]["plan"]["version"] == 1 and rerun["rerun"]["rules"] == first["rules"]
    # a new check of the same proposal meets version 2: 3 floors where 2 are allowed
    r = client.post(f"/permits/applications/{app_id}/checks", json=COMPLIANT, headers=officer)
    second = r.json()
    assert second["verdict"] == "not_compliant" and second["failed"] == ["floors"]
    assert second["plan"]["version"] == 2 and second["plan"]["decision_no"] == "90/QĐ-UBND"

    # decisions: a non-compliant check cannot be approved; request changes, then approve the compliant one
    r = client.post(
        f"/permits/applications/{app_id}/decisions", json={"decision": "approve", "comment": "ok"}, headers=officer
    )
    assert r.status_code == 409 and "not compliant" in r.json()["description"]
    r = client.post(
        f"/permits/applications/{app_id}/decisions",
        json={"decision": "request_changes", "comment": "giảm xuống 2 tầng"},
        headers=officer,
    )
    assert r.status_code == 201 and r.json()["status"] == "changes_requested"
    r = client.post(f"/permits/applications/{app_id}/checks", json={**COMPLIANT, "floors": 2}, headers=officer)
    assert r.json()["verdict"] == "compliant"
    r = client.post(
        f"/permits/applications/{app_id}/decisions",
        json={"decision": "approve", "comment": "Đủ điều kiện cấp phép"},
        headers=officer,
    )
    assert r.status_code == 201 and r.json()["status"] == "approved"
    assert (
        client.post(
            f"/permits/applications/{app_id}/decisions", json={"decision": "reject", "comment": "x"}, headers=officer
        ).status_code
        == 409
    )

    app = client.get(f"/permits/applications/{app_id}", headers=officer).json()
    assert [c["verdict"] for c in app["checks"]] == ["compliant", "not_compliant", "compliant"]
    assert [d["decision"] for d in app["decisions"]] == ["request_changes", "approve"]
    history = [(h["table"], h["operation"]) for h in app["history"]]
    assert history.count(("permit_checks", "insert")) == 3 and history.count(("permit_decisions", "insert")) == 2
    assert ("permit_applications", "update") in history
    assert all(h["by"] == "test-permit_officer" and h["reason"] for h in app["history"])
    assert client.get(f"/permits/applications/{app_id}").status_code == 401

    # the report of the first check, in English, still shows version 1
    r = client.get(f"/permits/checks/{check_id}/report.html", params={"lang": "en"}, headers=officer)
    assert r.status_code == 200 and "<svg" in r.text and "COMPLIANT" in r.text and "v1" in r.text


def test_pdf_report_renders(client: TestClient) -> None:
    import pypdfium2 as pdfium

    data = {**COMPLIANT, "footprint": box_geojson(-49, 2.5, -41, 15)}  # over the building line: a failing rule
    html = client.post("/permits/check/report.html", json=data)
    assert html.status_code == 200 and "Chỉ giới xây dựng" in html.text and "Không đạt" in html.text
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    (ROOT / "test-artifacts" / "permit_report.html").write_text(html.text, encoding="utf-8")
    r = client.post("/permits/check/report.pdf", json=data)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf" and r.content[:5] == b"%PDF-"
    pdf = pdfium.PdfDocument(r.content)
    image = pdf[0].render(scale=1.5).to_pil().convert("L")
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    image.save(ROOT / "test-artifacts" / "permit_report.png")  # for people: what the test saw
    histogram = image.histogram()
    ink = sum(histogram[:200]) / (image.width * image.height)
    assert 0.01 < ink < 0.6, ink  # text, table and drawing, not a blank (or black) page
    assert len(set(image.crop((0, 0, image.width, image.height // 3)).get_flattened_data())) > 20
    text = pdf[0].get_textpage().get_text_range()
    assert "Kết quả kiểm tra cấp phép xây dựng" in text and "KHÔNG PHÙ HỢP" in text and "Chỉ giới xây dựng" in text
    assert client.post("/permits/check/report.pdf", json=data, params={"lang": "fr"}).status_code == 400
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    assert buf.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"


def test_permit_check_process_sync_and_async(client: TestClient) -> None:
    import time

    desc = client.get("/ogc/processes/permit-check", params={"f": "json"})
    assert desc.status_code == 200
    assert {"parcel_id", "sheet_no", "lot", "footprint", "use", "road_width_m"} <= set(desc.json()["inputs"])
    assert "async-execute" in desc.json()["jobControlOptions"]
    inputs = {**COMPLIANT, "footprint": lonlat_box(-49, 3, -41, 15), "lot": lonlat_box(-50, 0, -40, 20), "crs": "CRS84"}
    rest = client.post("/permits/check", json=inputs).json()
    r = client.post("/ogc/processes/permit-check/execution", json={"inputs": inputs})
    assert r.status_code == 200, r.text
    assert r.json()["verdict"] == rest["verdict"] and r.json()["rules"] == rest["rules"]

    r = client.post(
        "/ogc/processes/permit-check/execution", json={"inputs": inputs}, headers={"Prefer": "respond-async"}
    )
    assert r.status_code == 201, r.text
    job = r.headers["location"].split("/ogc/", 1)[1]
    for _ in range(100):
        status = client.get(f"/ogc/{job}", params={"f": "json"}).json()["status"]
        if status in ("successful", "failed"):
            break
        time.sleep(0.05)
    assert status == "successful"
    result = client.get(f"/ogc/{job}/results", params={"f": "json"})
    assert result.status_code == 200 and result.json()["rules"] == rest["rules"]

    bad = client.post("/ogc/processes/permit-check/execution", json={"inputs": {**inputs, "use": "XYZ"}})
    assert bad.status_code == 400 and "neither a land-use code" in bad.json()["description"]


def test_recorded_parcel_check_survives_a_parcel_edit(
    client: TestClient, officer: dict[str, str], permit_db: tuple[str, dict[str, int]]
) -> None:
    from gis_service.editing import update_feature

    url, ids = permit_db
    app_id = client.post(
        "/permits/applications",
        json={"reference": "GPXD-2026-0002", "applicant_name": "Trần Thị Bình"},
        headers=officer,
    ).json()["id"]
    data = {
        "parcel_id": ids["parcel"],
        "footprint": lonlat_box(-8, 4, -2, 16),
        "use": "ODT",
        "floors": 2,
        "height_m": 8,
        "total_floor_area_m2": 140,
    }
    first = client.post(f"/permits/applications/{app_id}/checks", json=data, headers=officer).json()
    assert first["lot"]["area_m2"] == 400.0 and first["parcel"]["row_version"] == 1
    engine = create_db_engine(url, pool_size=1)
    try:
        with engine.begin() as conn:  # the parcel is split: half of it goes
            update_feature(
                conn, "parcels", ids["parcel"], {"geom": box(-10, 0, 0, 20)}, user="địa chính", reason="tách thửa"
            )
    finally:
        engine.dispose()
    rerun = client.post(f"/permits/checks/{first['check_id']}/rerun", headers=officer).json()
    assert rerun["reproduced"] is True and rerun["rerun"]["lot"]["area_m2"] == 400.0
    now = client.post("/permits/check", json=data).json()
    assert now["lot"]["area_m2"] == 200.0 and now["parcel"]["row_version"] == 2
