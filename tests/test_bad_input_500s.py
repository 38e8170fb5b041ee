"""Bad input is a 4xx in the project's error shape, never a 500: NaN and infinite bboxes, ids beyond bigint, lone
surrogates, NaN where a validation answer repeated it, two drafts started at once; answers repeat neither the
values sent (passwords) nor the database's error text."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from ogc_sample import DRAFT_CODE, E0, N0, PLAN_CODE, load_sample
from viewer_served import serve_app

from gis_service.api.app import create_app
from gis_service.auth import create_user, issue_token
from gis_service.db import create_db_engine
from gis_service.db.migrate import upgrade
from gis_service.settings import Settings

Headers = Callable[..., dict[str, str]]
CQL = "application/query-cql-json"
CHECK: dict[str, Any] = {
    "sheet_no": 12,
    "parcel_no": 35,
    "ward": "Thuận Thành",
    "crs": "EPSG:9214",
    "footprint": {
        "type": "Polygon",
        "coordinates": [[[E0 - 20, N0 - 5], [E0, N0 - 5], [E0, N0 + 5], [E0 - 20, N0 + 5], [E0 - 20, N0 - 5]]],
    },
    "floors": 2,
    "use": "ODT",
}
BIG = 2**63


@pytest.fixture(scope="module")
def bad_db(db_server: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    url = db_server.create("badinput")
    upgrade(url)
    ids = load_sample(url)
    yield url, ids
    db_server.drop(url)


@pytest.fixture(scope="module")
def settings(bad_db: tuple[str, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(database_url=bad_db[0], public_url="http://testserver", ogc_dir=tmp_path_factory.mktemp("ogc"))


@pytest.fixture(scope="module")
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


def refused(r: Any, status: int = 400, *, names: str = "") -> dict[str, Any]:
    """The answer is ``status`` in the project's shape (naming ``names``); returns its body."""
    assert r.status_code == status, (r.request.method, str(r.request.url)[:200], r.status_code, r.text[:400])
    body: dict[str, Any] = r.json()
    assert {"code", "description"} <= set(body), body
    assert names in body["description"], body
    return body


# ---- bbox ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bbox", ["nan,nan,nan,nan", "1e400,1e400,1e400,1e400", "107,16,1e400,17", "-1e400,16,108,17"])
def test_a_bbox_that_is_no_finite_number_is_a_400(client: TestClient, bbox: str) -> None:
    r = client.get("/ogc/collections/zones/items", params={"bbox": bbox, "f": "json"})
    refused(r, names="bbox")


@pytest.mark.parametrize("corner", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_a_cql2_json_bbox_that_is_no_finite_number_is_a_400(client: TestClient, corner: str) -> None:
    query = '{"op":"s_intersects","args":[{"property":"geometry"},{"bbox":[CORNER,16.4,107.6,16.5]}]}'
    query = query.replace("CORNER", corner)
    r = client.post("/ogc/collections/zones/items", content=query, headers={"Content-Type": CQL})
    refused(r, names="finite")
    text = f"S_INTERSECTS(geometry, POLYGON((107.5 16.4, {corner} 16.4, 107.6 16.5, 107.5 16.4)))"
    r = client.get("/ogc/collections/zones/items", params={"filter": text, "f": "json"})
    assert r.status_code == 400, r.text[:300]


def test_a_finite_bbox_still_filters(client: TestClient) -> None:
    r = client.get("/ogc/collections/zones/items", params={"bbox": "107.5,16.4,107.7,16.5", "f": "json"})
    assert r.status_code == 200 and r.json()["features"]
    far = client.get("/ogc/collections/zones/items", params={"bbox": "100,10,100.1,10.1", "f": "json"})
    assert far.status_code == 200 and far.json()["features"] == []


def test_the_database_error_text_is_not_answered(client: TestClient) -> None:
    # a geometry literal PostGIS cannot read: the answer says what to check, not what PostgreSQL said
    query = '{"op":"s_intersects","args":[{"property":"geometry"},{"type":"Polygon","coordinates":"x"}]}'
    r = client.post("/ogc/collections/zones/items", content=query, headers={"Content-Type": CQL})
    assert r.status_code == 400, r.text[:300]
    text = r.text.lower()
    for internal in ("geojson", "psycopg", "postgres", "sqlstate", "st_", "syntax error", "line 1"):
        assert internal not in text, r.text
    # a text compared with a number: PostgreSQL's "invalid input syntax for type integer" stays in the log
    query = '{"op":"=","args":[{"property":"max_floors"},"năm"]}'
    r = client.post("/ogc/collections/zones/items", content=query.encode(), headers={"Content-Type": CQL})
    assert r.status_code == 400, r.text[:300]
    assert "invalid input syntax" not in r.text and "integer" not in r.text, r.text


def test_an_edit_refused_by_the_database_says_it_in_plain_words(
    client: TestClient, bad_db: tuple[str, dict[str, Any]], auth_headers: Headers
) -> None:
    planner = auth_headers("planner", database_url=bad_db[0])
    item = f"/ogc/collections/zones/items/{bad_db[1]['draft_zone']}"
    tag = client.get(item, headers=planner).headers["etag"]
    headers = {**planner, "If-Match": tag, "X-Change-Reason": "test", "Content-Type": "application/json"}
    r = client.patch(item, content='{"properties": {"max_floors": "năm"}}', headers=headers)
    body = refused(r, names="a value is not a valid integer")
    assert "invalid input syntax" not in body["description"]


@pytest.mark.parametrize(
    ("prop", "value", "says"),
    [
        ("max_floors", True, "takes a number, not true or false"),
        ("max_height_m", False, "takes a number, not true or false"),
        ("max_floors", 2.5, "takes a whole number, not a fraction"),
        ("name", ["Ô secret-1"], "takes a single value, not a list"),
    ],
)
def test_a_property_of_the_wrong_json_type_is_a_400_naming_it(
    client: TestClient, bad_db: tuple[str, dict[str, Any]], auth_headers: Headers, prop: str, value: Any, says: str
) -> None:
    # found by fuzzing: a JSON true for a number reached PostgreSQL as a boolean (DatatypeMismatch), a 500
    planner = auth_headers("planner", database_url=bad_db[0])
    item = f"/ogc/collections/zones/items/{bad_db[1]['draft_zone']}"
    tag = client.get(item, headers=planner).headers["etag"]
    headers = {**planner, "If-Match": tag, "X-Change-Reason": "test"}
    body = refused(client.patch(item, json={"properties": {prop: value}}, headers=headers), names=says)
    assert f"'{prop}'" in body["description"] and "secret" not in body["description"]
    square = [[107.578, 16.4688], [107.579, 16.4688], [107.579, 16.4698], [107.578, 16.4698], [107.578, 16.4688]]
    new = {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [square]},
        "properties": {"plan_id": bad_db[1]["draft"], "land_use_code": "ODT", prop: value},
    }
    refused(client.post("/ogc/collections/zones/items", json=new, headers=headers), names=says)
    assert client.get(item, headers=planner).headers["etag"] == tag  # nothing written


# ---- ids beyond bigint -------------------------------------------------------------------------------------
@pytest.mark.parametrize("field", ["red_line_id", "parcel_id", "sheet_no", "parcel_no"])
def test_an_id_beyond_the_database_integers_is_a_400(client: TestClient, field: str) -> None:
    body = {**CHECK, field: BIG}
    if field == "parcel_id":
        body = {k: v for k, v in body.items() if k not in ("sheet_no", "parcel_no", "ward")}
    for path in ("/permits/check", "/permits/check/report.html", "/permits/check/report.pdf"):
        refused(client.post(path, json=body), names=field)
    r = client.post("/ogc/processes/permit-check/execution", json={"inputs": body})
    assert r.status_code == 400 and field in r.text, r.text[:300]


def test_recorded_checks_and_applications_with_a_huge_id_are_a_400(
    client: TestClient, bad_db: tuple[str, dict[str, Any]], auth_headers: Headers
) -> None:
    officer = auth_headers("permit_officer", database_url=bad_db[0])
    refused(client.get(f"/permits/applications/{BIG}", headers=officer), names="application_id")
    refused(client.get(f"/permits/checks/{BIG}", headers=officer), names="check_id")
    refused(client.get(f"/permits/checks/{BIG}/report.html", headers=officer), names="check_id")
    refused(client.post(f"/permits/checks/{BIG}/rerun", headers=officer), names="check_id")
    refused(client.post(f"/permits/applications/{BIG}/checks", json=CHECK, headers=officer), names="application_id")
    decision = {"decision": "approve", "comment": "ok", "check_id": BIG}
    refused(client.post("/permits/applications/1/decisions", json=decision, headers=officer), names="check_id")


# ---- text that is no text ------------------------------------------------------------------------------------
def test_a_lone_surrogate_in_a_patch_is_a_400(
    client: TestClient, bad_db: tuple[str, dict[str, Any]], auth_headers: Headers
) -> None:
    planner = auth_headers("planner", database_url=bad_db[0])
    item = f"/ogc/collections/zones/items/{bad_db[1]['draft_zone']}"
    tag = client.get(item, headers=planner).headers["etag"]
    headers = {**planner, "If-Match": tag, "X-Change-Reason": "test", "Content-Type": "application/json"}
    r = client.patch(item, content=b'{"properties": {"name": "\\ud800"}}', headers=headers)
    refused(r, names="surrogate")
    # a pair of surrogates is one character (an emoji): accepted
    r = client.patch(item, content=b'{"properties": {"name": "\\ud83c\\udfe0 Z"}}', headers=headers)
    assert r.status_code == 200, r.text[:300]
    assert r.json()["properties"]["name"] == "\U0001f3e0 Z"


def test_a_lone_surrogate_in_a_check_or_filter_is_a_400(client: TestClient) -> None:
    r = client.post("/permits/check", content=b'{"use": "\\udc00", "footprint": {}}')
    refused(r, names="surrogate")
    query = b'{"op":"=","args":[{"property":"zone_code"},"\\ud800"]}'
    refused(client.post("/ogc/collections/zones/items", content=query, headers={"Content-Type": CQL}))


# ---- validation answers ----------------------------------------------------------------------------------
def test_nan_in_a_body_gets_an_answer_that_can_be_written(
    client: TestClient, bad_db: tuple[str, dict[str, Any]], auth_headers: Headers
) -> None:
    planner = auth_headers("planner", database_url=bad_db[0])
    headers = {**planner, "X-Change-Reason": "test", "Content-Type": "application/json"}
    r = client.post(f"/plans/{DRAFT_CODE}/publish", content=b'{"version": NaN}', headers=headers)
    refused(r, 400, names="NaN or Infinity")
    r = client.post("/permits/check", content=b'{"use": "ODT", "footprint": {}, "height_m": -Infinity}')
    refused(r, names="finite numbers")
    # as text, NaN is a word like any other
    r = client.post(f"/plans/{DRAFT_CODE}/publish", content=b'{"decision_no": "NaN", "version": 0.5}', headers=headers)
    body = refused(r, 422, names="version")
    assert body["detail"] == [{"type": "int_from_float", "loc": ["body", "version"], "msg": body["detail"][0]["msg"]}]
    assert "0.5" not in r.text


def test_a_validation_answer_never_repeats_the_values_sent(
    client: TestClient, bad_db: tuple[str, dict[str, Any]], auth_headers: Headers
) -> None:
    admin = auth_headers("admin", database_url=bad_db[0])
    secret = "Zq" + secrets.token_hex(3)[:5]  # 7 characters: one too few for a password
    r = client.post("/auth/users", json={"name": "nam.le", "role": "planner", "password": secret}, headers=admin)
    body = refused(r, 422, names="password")
    assert secret not in r.text, body
    r = client.post("/permits/check", json={**CHECK, "floors": "secret-floors"})
    assert r.status_code == 400 and "secret-floors" not in r.text and "floors" in r.text


# ---- two planners, one plan ----------------------------------------------------------------------------------
def test_two_drafts_of_one_plan_started_at_once_are_a_201_and_a_409(
    settings: Settings, bad_db: tuple[str, dict[str, Any]]
) -> None:
    engine = create_db_engine(bad_db[0], pool_size=1)
    tokens = []
    with engine.begin() as conn:
        for name in ("lan.nguyen", "minh.tran"):
            user = create_user(conn, f"{name}.{secrets.token_hex(2)}", "planner", secrets.token_urlsafe(12))
            tokens.append(issue_token(conn, user, ttl_s=600).access_token)
    app = create_app(settings)
    answers: list[httpx.Response] = []
    with serve_app(app) as url:
        start = threading.Barrier(2)

        def start_draft(token: str) -> None:
            with httpx.Client(base_url=url, timeout=30) as http:
                http.get("/api")  # connected and warm before the barrier
                start.wait()
                headers = {"Authorization": f"Bearer {token}", "X-Change-Reason": "dieu chinh"}
                answers.append(http.post(f"/plans/{PLAN_CODE}/drafts", headers=headers))

        threads = [threading.Thread(target=start_draft, args=(t,)) for t in tokens]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert sorted(r.status_code for r in answers) == [201, 409], [(r.status_code, r.text[:300]) for r in answers]
    conflict = next(r for r in answers if r.status_code == 409)
    assert conflict.json()["code"] == "ReadOnly" and "draft already" in conflict.json()["description"]
    with engine.connect() as conn:
        drafts = conn.execute(
            sa.text("SELECT count(*) FROM planning.plans WHERE code = :c AND status = 'draft'"), {"c": PLAN_CODE}
        ).scalar_one()
    engine.dispose()
    assert drafts == 1


# ---- answers without a body ----------------------------------------------------------------------------------
def test_logging_out_is_a_204_without_a_body_and_the_connection_lives_on(
    settings: Settings, bad_db: tuple[str, dict[str, Any]]
) -> None:
    # found by fuzzing: the 204 carried "null", which uvicorn refuses mid-answer, breaking the connection
    engine = create_db_engine(bad_db[0], pool_size=1)
    with engine.begin() as conn:
        user = create_user(conn, f"hoa.pham.{secrets.token_hex(2)}", "planner", secrets.token_urlsafe(12))
        token = issue_token(conn, user, ttl_s=600).access_token
    engine.dispose()
    with serve_app(create_app(settings)) as url, httpx.Client(base_url=url, timeout=30) as http:
        headers = {"Authorization": f"Bearer {token}"}
        r = http.post("/auth/revoke", headers=headers)
        assert r.status_code == 204 and r.content == b"" and "content-length" not in r.headers, r.headers
        again = http.get("/auth/me", headers=headers)  # the same keep-alive connection
        assert again.status_code == 401, again.text


# ---- refusals of the framework itself --------------------------------------------------------------------------
def test_a_body_that_is_no_utf8_text_is_a_400_in_the_project_shape(
    client: TestClient, bad_db: tuple[str, dict[str, Any]], auth_headers: Headers
) -> None:
    # found by fuzzing: FastAPI answered {"detail": "There was an error parsing the body"}, naming nothing
    planner = auth_headers("planner", database_url=bad_db[0])
    raw = b"\x03/\xefj\xbe4\xff"
    headers = {**planner, "X-Change-Reason": "test", "Content-Type": "application/json"}
    for path in (f"/plans/{DRAFT_CODE}/publish", "/permits/check"):
        body = refused(client.post(path, content=raw, headers=headers), names="body")
        assert "application/json" in body["description"]
    form = {"Content-Type": "multipart/form-data; boundary=x"}
    refused(client.post("/auth/token", content=b"username=a&password=%ff", headers=form), names="multipart")


def test_no_such_address_and_another_method_are_answered_in_the_project_shape(client: TestClient) -> None:
    body = refused(client.get("/plans/x/nothing"), 404, names="/plans/x/nothing")
    assert body["code"] == "NotFound"
    r = client.delete("/plans")
    body = refused(r, 405, names="use GET")
    assert body["code"] == "MethodNotAllowed" and r.headers["allow"] == "GET"
