"""What changed between two plan versions: the comparison, the changed region, a parcel's and an area's summary,
and the routes ``GET /plans/{code}/diff`` and ``GET /parcels/{id}/changes``.

The versions are made as planners make them: an approved version, a draft started from it
(:func:`gis_service.editing.start_draft`, which copies every zone and line to new rows), edits through
:func:`gis_service.editing.update_feature`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import shapely
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Connection, Engine

from gis_service.api.app import create_app
from gis_service.api.changes_models import ChangesFeatureCollection, DiffAnswer, ParcelChangesAnswer
from gis_service.as_of import today_in_hue
from gis_service.changes import (
    area_summary,
    changed_region_wkb,
    parcel_changes,
    plan_diff,
    resolve_versions,
)
from gis_service.changes.sentences import area_m2
from gis_service.consultation.periods import close_consultation, open_consultation
from gis_service.db import create_db_engine
from gis_service.db.migrate import upgrade
from gis_service.editing import start_draft, update_feature
from gis_service.errors import NotFound, ValidationError
from gis_service.model.layers import ZONES
from gis_service.settings import Settings

E0, N0 = 561625.296, 1821650.262
CODE = "46QPK0007001"
USER, WHY = "test-planner", "test: a new version"


def box(x0: float, y0: float, x1: float, y1: float) -> str:
    """EWKT of a rectangle in EPSG:9214, in metres from the control point."""
    ring = ", ".join(f"{E0 + x:.3f} {N0 + y:.3f}" for x, y in [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)])
    return f"SRID=9214;MULTIPOLYGON((({ring})))"


def line(x0: float, y0: float, x1: float, y1: float) -> str:
    return f"SRID=9214;MULTILINESTRING(({E0 + x0:.3f} {N0 + y0:.3f}, {E0 + x1:.3f} {N0 + y1:.3f}))"


def _one(conn: Connection, sql: str, **params: Any) -> Any:
    return conn.execute(sa.text(sql), params).scalar_one()


@pytest.fixture
def versions(conn: Connection) -> Iterator[dict[str, Any]]:
    """The two versions of :func:`make_versions`, in the test's transaction."""
    yield make_versions(conn)


def make_versions(conn: Connection) -> dict[str, Any]:
    """An approved version (zones Z1, Z2, Z3 side by side, a red line and a building line along a road north of
    them, parcels) and a draft just started from it: nothing changed yet."""
    ids: dict[str, Any] = {}
    ids["v1"] = _one(
        conn,
        "INSERT INTO planning.plans (code, name, level, scale_denominator, status, version, decision_no, "
        "decision_date) VALUES (:c, 'Phân khu thử', 'zoning', 2000, 'approved', 1, '1/QĐ-UBND', DATE '2024-01-10') "
        "RETURNING id",
        c=CODE,
    )
    for code, x0, x1, floors in (("Z1", 0, 100, 3), ("Z2", 100, 200, 4), ("Z3", 200, 300, 2)):
        ids[code] = _one(
            conn,
            "INSERT INTO planning.zones (plan_id, zone_code, name, land_use_code, max_density_pct, max_floors, "
            "min_floors, max_height_m, max_far, min_setback_m, heritage_zone, geom) VALUES (:p, :code, :name, 'ODT', "
            "60, :f, 1, 14.5, 1.8, 3, NULL, CAST(:g AS geometry)) RETURNING id",
            p=ids["v1"],
            code=code,
            name=f"Ô {code}",
            f=floors,
            g=box(x0, 0, x1, 100),
        )
    ids["red"] = _one(
        conn,
        "INSERT INTO planning.red_lines (plan_id, road_name, red_line_width_m, geom) "
        "VALUES (:p, 'Lê Duẩn', 24, CAST(:g AS geometry)) RETURNING id",
        p=ids["v1"],
        g=line(-50, 100, 350, 100),
    )
    ids["building"] = _one(
        conn,
        "INSERT INTO planning.building_lines (plan_id, road_name, red_line_width_m, setback_m, geom) "
        "VALUES (:p, 'Lê Duẩn', 24, 3, CAST(:g AS geometry)) RETURNING id",
        p=ids["v1"],
        g=line(-50, 97, 350, 97),
    )
    for name, geom in (("lot_road", box(10, 80, 30, 95)), ("lot_far", box(250, 10, 270, 30))):
        ids[name] = _one(
            conn,
            "INSERT INTO planning.parcels (ward, sheet_no, parcel_no, land_use_code, geom) "
            "VALUES ('Phú Hội', 3, :n, 'ODT', CAST(:g AS geometry)) RETURNING id",
            n=len(ids),
            g=geom,
        )
    ids["v2"] = start_draft(conn, CODE, user=USER, reason=WHY).id
    copied = conn.execute(
        sa.text("SELECT zone_code, id FROM planning.zones WHERE plan_id = :p"), {"p": ids["v2"]}
    ).all()
    ids["draft"] = {code: fid for code, fid in copied}
    ids["draft_red"] = _one(conn, "SELECT id FROM planning.red_lines WHERE plan_id = :p", p=ids["v2"])
    return ids


def _edit(conn: Connection, layer: str, fid: int, **values: Any) -> None:
    update_feature(conn, layer, fid, values, user=USER, reason=WHY)


def test_a_draft_just_started_differs_in_nothing(conn: Connection, versions: dict[str, Any]) -> None:
    diff = plan_diff(conn, versions["v1"], versions["v2"])
    assert diff.empty, diff
    assert diff.counts()["zones"] == {"added": 0, "removed": 0, "changed": 0}
    assert changed_region_wkb(conn, versions["v1"], versions["v2"]) is None
    assert plan_diff(conn, versions["v1"], versions["v1"]).empty
    assert parcel_changes(conn, versions["lot_road"], versions["v1"], versions["v2"]).summary == []


def test_one_zone_rule_and_one_moved_red_line_are_exactly_what_is_listed(
    conn: Connection, versions: dict[str, Any]
) -> None:
    _edit(conn, "zones", versions["draft"]["Z1"], max_floors=5)
    _edit(conn, "red_lines", versions["draft_red"], geom=line(-50, 92, 350, 92))  # 8 m south, into the lots
    diff = plan_diff(conn, versions["v1"], versions["v2"])
    print(diff.counts())
    assert [(z.change, z.zone_code) for z in diff.zones] == [("changed", "Z1")]
    (z1,) = diff.zones
    assert [(a.column, a.before, a.after) for a in z1.attributes] == [("max_floors", 3, 5)]
    assert (z1.area_from_m2, z1.area_to_m2, z1.area_gained_m2, z1.area_lost_m2) == (10000.0, 10000.0, 0.0, 0.0)
    assert [(r.change, r.road_name, r.max_shift_m) for r in diff.red_lines] == [("moved", "Lê Duẩn", 8.0)]
    assert diff.building_lines == ()
    region = shapely.from_wkb(changed_region_wkb(conn, versions["v1"], versions["v2"]))
    # Z1 whole (its rule changed) and the red line's old and new places 1 m either side (less what lies in Z1)
    assert region.area == pytest.approx(10000 + 2 * 400 * 2 - 100 - 200, abs=10.0)
    assert region.contains(shapely.Point(E0 + 50, N0 + 50)) and not region.contains(shapely.Point(E0 + 150, N0 + 50))
    as_json = diff.as_dict()
    assert as_json["counts"]["red_lines"]["moved"] == 1 and as_json["to"]["version"] == 2


def test_every_rule_column_of_the_catalogue_is_reported_with_its_values(
    conn: Connection, versions: dict[str, Any]
) -> None:
    z1 = versions["draft"]["Z1"]
    seen = []
    for column in ZONES.rules():
        before = conn.execute(sa.text(f"SELECT {column.name} FROM planning.zones WHERE id = :id"), {"id": z1}).scalar()
        after: Any
        if column.is_numeric:
            after = 2 if before is None else float(before) + 1
            after = int(after) if column.type == "integer" else after
        else:
            after = f"{before or ''} đã sửa"
        savepoint = conn.begin_nested()
        _edit(conn, "zones", z1, **{column.name: after})
        diff = plan_diff(conn, versions["v1"], versions["v2"])
        assert [z.zone_code for z in diff.zones] == ["Z1"], column.name
        changes = [(a.column, a.before, a.after) for a in diff.zones[0].attributes]
        expected_before = None if before is None else (float(before) if column.type == "number" else before)
        assert changes == [(column.name, expected_before, after)], column.name
        summary = parcel_changes(conn, versions["lot_road"], versions["v1"], versions["v2"], "en").summary
        assert any(column.label_en.lower()[:8] in s.lower() for s in summary), (column.name, summary)
        seen.append(column.name)
        savepoint.rollback()
    print(f"{len(seen)} rule columns checked: {', '.join(seen)}")
    assert len(seen) == len(ZONES.rules()) >= 9


def test_areas_gained_and_lost_are_measured_to_a_tenth_of_a_square_metre(
    conn: Connection, versions: dict[str, Any]
) -> None:
    # Z1 takes a strip 12.35 m wide from Z2
    _edit(conn, "zones", versions["draft"]["Z1"], geom=box(0, 0, 112.35, 100))
    _edit(conn, "zones", versions["draft"]["Z2"], geom=box(112.35, 0, 200, 100))
    diff = plan_diff(conn, versions["v1"], versions["v2"], geojson=True)
    got = {z.zone_code: (z.area_from_m2, z.area_to_m2, z.area_gained_m2, z.area_lost_m2) for z in diff.zones}
    assert got == {"Z1": (10000.0, 11235.0, 1235.0, 0.0), "Z2": (10000.0, 8765.0, 0.0, 1235.0)}
    assert all(z.attributes == () for z in diff.zones)
    part = diff.zones[0].geometry
    assert part is not None and part["type"] in ("Polygon", "MultiPolygon")
    lon, lat = part["coordinates"][0][0] if part["type"] == "Polygon" else part["coordinates"][0][0][0]
    assert 107.5 < lon < 107.7 and 16.4 < lat < 16.6  # CRS84: longitude first
    # the lot far away is in Z3: nothing changes for it
    far = parcel_changes(conn, versions["lot_far"], versions["v1"], versions["v2"])
    assert not far.touched and far.summary == []


def test_zones_without_a_unique_code_are_found_again_by_the_land_they_share(
    conn: Connection, versions: dict[str, Any]
) -> None:
    draft = versions["draft"]
    _edit(conn, "zones", draft["Z1"], zone_code="Z2")  # two zones called Z2 in the draft
    _edit(conn, "zones", draft["Z3"], zone_code=None, geom=box(200, 0, 290, 100))
    diff = plan_diff(conn, versions["v1"], versions["v2"])
    got = sorted((z.change, z.from_id, z.to_id, tuple(a.column for a in z.attributes)) for z in diff.zones)
    assert got == [
        ("changed", versions["Z1"], draft["Z1"], ("zone_code",)),  # found by its land; only its code changed
        ("changed", versions["Z3"], draft["Z3"], ("zone_code",)),
    ]
    z3 = next(z for z in diff.zones if z.from_id == versions["Z3"])
    assert (z3.area_lost_m2, z3.area_gained_m2) == (1000.0, 0.0)


def test_a_parcel_summary_says_what_changes_in_plain_words(conn: Connection, versions: dict[str, Any]) -> None:
    _edit(conn, "zones", versions["draft"]["Z1"], max_floors=5, land_use_code="TMD")
    _edit(conn, "red_lines", versions["draft_red"], geom=line(-50, 92, 350, 92))
    lot = versions["lot_road"]
    vi = parcel_changes(conn, lot, versions["v1"], versions["v2"], "vi")
    en = parcel_changes(conn, lot, versions["v1"], versions["v2"], "en")
    print("\n".join(vi.summary + en.summary))
    assert vi.touched and en.touched
    assert "Ô Z1: tầng cao tối đa từ 3 lên 5 tầng." in vi.summary
    assert "Zone Z1: max floors go up from 3 to 5 floors." in en.summary
    assert "Ô Z1: mã loại đất từ ODT thành TMD." in vi.summary
    # the red line moved 8 m south: 3 m of the 20 m wide lot (y 92..95) is now road land
    assert "60 m² của thửa đất nay nằm trong đất giao thông quy hoạch." in vi.summary
    assert "60 m² of the lot now lies inside the planned road." in en.summary
    assert "Chỉ giới đường đỏ đường Lê Duẩn dịch chuyển tối đa 8 m." in vi.summary
    assert (vi.road_from_m2, round(vi.road_to_m2, 1)) == (0.0, 60.0)
    answer = en.as_dict()
    assert answer["parcel"]["id"] == lot and answer["touched"] is True
    assert {c["layer"] for c in answer["changes"]} == {"zones", "red_lines"}
    far = parcel_changes(conn, versions["lot_far"], versions["v1"], versions["v2"], "en")
    assert (far.touched, far.summary) == (False, [])
    with pytest.raises(NotFound):
        parcel_changes(conn, 987654321, versions["v1"], versions["v2"])
    with pytest.raises(ValidationError):
        parcel_changes(conn, lot, versions["v1"], versions["v2"], "fr")


def test_an_area_summary_names_the_zones_and_lines_that_change(conn: Connection, versions: dict[str, Any]) -> None:
    _edit(conn, "zones", versions["draft"]["Z1"], max_floors=5)
    _edit(conn, "zones", versions["draft"]["Z2"], max_density_pct=50)
    _edit(conn, "red_lines", versions["draft_red"], geom=line(-50, 92, 350, 92))
    area = shapely.to_wkb(shapely.box(E0 - 10, N0 + 10, E0 + 150, N0 + 120))
    vi = area_summary(conn, area, versions["v1"], versions["v2"], "vi")
    en = area_summary(conn, area, versions["v1"], versions["v2"], "en")
    print("\n".join(vi + en))
    assert vi[0].startswith("2 ô quy hoạch thay đổi: Z1 (tầng cao tối đa 3 tầng → 5 tầng), Z2 (mật độ")
    assert en[0].startswith("2 zones change: Z1 (max floors 3 floors → 5 floors)")
    assert en[1] == "1 red line changes: Lê Duẩn (moved by up to 8 m)."
    assert vi[1] == "1 chỉ giới đường đỏ thay đổi: Lê Duẩn (dịch chuyển tối đa 8 m)."
    quiet = shapely.to_wkb(shapely.box(E0 + 250, N0 + 10, E0 + 260, N0 + 20))
    assert area_summary(conn, quiet, versions["v1"], versions["v2"]) == []


def test_which_versions_are_compared_by_default(conn: Connection, versions: dict[str, Any]) -> None:
    v1, v2 = versions["v1"], versions["v2"]
    assert resolve_versions(conn, CODE, None, None) == (v1, v2)  # the last two
    assert resolve_versions(conn, CODE, None, 2) == (v1, v2)  # the version the draft was started from
    assert resolve_versions(conn, CODE, 1, None) == (v1, v2)
    assert resolve_versions(conn, CODE, 2, 1) == (v2, v1)
    # the public does not see a draft that is not under consultation
    with pytest.raises(NotFound, match="no version 2"):
        resolve_versions(conn, CODE, 1, 2, public=True)
    with pytest.raises(ValidationError, match="one version only"):
        resolve_versions(conn, CODE, None, None, public=True)
    with pytest.raises(NotFound):
        resolve_versions(conn, "46QPK0007999", None, None)
    today = today_in_hue()
    open_consultation(conn, CODE, starts_on=today, ends_on=today + timedelta(days=30), explanation="Dự thảo", user=USER)
    assert resolve_versions(conn, CODE, None, None, public=True) == (v1, v2)


def test_sweep_every_sample_parcel_against_a_direct_sql_of_the_changed_zones(sample_plans_url: str) -> None:
    """A draft of the demo's zoning plan with a few zones changed; every parcel's summary, checked against SQL."""
    import time

    from gis_service.db import create_db_engine

    engine = create_db_engine(sample_plans_url, pool_size=1)
    try:
        with engine.connect() as conn:
            tx = conn.begin()  # rolled back: the sample database is shared by the session
            try:
                code = "46QPK0000001"
                v1 = _one(conn, "SELECT id FROM planning.plans WHERE code = :c AND status = 'approved'", c=code)
                v2 = start_draft(conn, code, user=USER, reason=WHY).id
                # six zones holding parcels, spread over the plan (every fourth of those with the most lots)
                picked = conn.execute(
                    sa.text(
                        "SELECT z.zone_code, z.id FROM planning.zones z JOIN planning.parcels p ON p.geom && z.geom "
                        "AND ST_Intersects(p.geom, z.geom) WHERE z.plan_id = :p GROUP BY z.zone_code, z.id "
                        "ORDER BY count(*) DESC, z.zone_code"
                    ),
                    {"p": v2},
                ).all()[::4][:6]
                for k, (_code, zid) in enumerate(picked):
                    if k % 3 == 0:
                        _edit(conn, "zones", zid, max_floors=7)
                    elif k % 3 == 1:
                        _edit(conn, "zones", zid, land_use_code="DGT")
                    else:  # the zone shrinks by 4 m all round
                        shrunk = _one(
                            conn, "SELECT ST_AsEWKT(ST_Buffer(geom, -4)) FROM planning.zones WHERE id = :i", i=zid
                        )
                        _edit(conn, "zones", zid, geom=shrunk)
                parcels = [r[0] for r in conn.execute(sa.text("SELECT id FROM planning.parcels ORDER BY id"))]
                t0 = time.perf_counter()
                found = {pid: parcel_changes(conn, pid, v1, v2) for pid in parcels}
                elapsed = time.perf_counter() - t0
                touched = {pid for pid, c in found.items() if c.touched}
                # the same question asked directly: parcels sharing land with a zone whose rules changed, or with
                # the land a zone lost
                direct = {
                    r[0]
                    for r in conn.execute(
                        sa.text(
                            "SELECT DISTINCT p.id FROM planning.parcels p "
                            "JOIN planning.zones b ON b.plan_id = :t AND b.geom && p.geom "
                            "JOIN planning.zones a ON a.plan_id = :f AND a.zone_code = b.zone_code "
                            "WHERE (b.row_version > 1 AND (a.land_use_code, a.max_floors) "
                            "       IS DISTINCT FROM (b.land_use_code, b.max_floors) "
                            "       AND ST_Area(ST_Intersection(p.geom, b.geom)) >= 0.05) "
                            "   OR (NOT a.geom = b.geom "
                            "       AND ST_Area(ST_Intersection(p.geom, ST_SymDifference(a.geom, b.geom))) >= 0.05)"
                        ),
                        {"f": v1, "t": v2},
                    )
                }
                sentences = sum(len(c.summary) for c in found.values())
                road = sum(1 for c in found.values() if any("giao thông" in s for s in c.summary))
                floors = sum(1 for c in found.values() if any("tầng cao tối đa" in s for s in c.summary))
                shrunk_lots = sum(1 for c in found.values() if any(s.startswith("Phần thửa đất") for s in c.summary))
                print(
                    f"\n{len(parcels)} parcels, {len(picked)} zones changed: {len(touched)} touched, "
                    f"{len(parcels) - len(touched)} not; direct SQL {len(direct)}; {sentences} sentences, "
                    f"told of: road land {road}, floors {floors}, a shrunk zone {shrunk_lots}; "
                    f"{1000 * elapsed / len(parcels):.1f} ms a parcel"
                )
                assert len(parcels) > 1000 and len(picked) == 6
                assert touched == direct
                assert 0 < len(touched) < len(parcels)
                assert all(c.summary for pid, c in found.items() if pid in touched)
                assert road > 0 and floors > 0 and shrunk_lots > 0
                print("e.g. " + " ".join(next(c.summary for c in found.values() if len(c.summary) > 1)))
            finally:
                tx.rollback()
    finally:
        engine.dispose()


# ---- the routes ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(db_server: Any) -> Iterator[tuple[TestClient, dict[str, Any], Engine]]:
    """The app on a database of its own holding the two versions, the draft edited: Z1's floors and the red line."""
    url = db_server.create("changes")
    upgrade(url)
    engine = create_db_engine(url, pool_size=1)
    with engine.begin() as conn:
        ids = make_versions(conn)
        _edit(conn, "zones", ids["draft"]["Z1"], max_floors=5)
        _edit(conn, "red_lines", ids["draft_red"], geom=line(-50, 92, 350, 92))
        ids["lonely"] = _one(
            conn,
            "INSERT INTO planning.parcels (ward, sheet_no, parcel_no, geom) VALUES ('Phú Hội', 9, 9, "
            "CAST(:g AS geometry)) RETURNING id",
            g=box(5000, 5000, 5020, 5020),
        )
    ids["url"] = url
    try:
        with TestClient(create_app(Settings(database_url=url))) as client:
            yield client, ids, engine
    finally:
        engine.dispose()
        db_server.drop(url)


def test_the_diff_route_answers_planners_and_hides_a_draft_from_the_public(
    served: tuple[TestClient, dict[str, Any], Engine], auth_headers: Any
) -> None:
    client, ids, _engine = served
    planner = auth_headers("planner", database_url=ids["url"])
    r = client.get(f"/plans/{CODE}/diff", headers=planner)
    assert r.status_code == 200, r.text
    body = DiffAnswer.model_validate(r.json()).model_dump(by_alias=True)
    assert (body["from"]["version"], body["to"]["version"], body["to"]["status"]) == (1, 2, "draft")
    assert [(z["zone_code"], [a["column"] for a in z["attributes"]]) for z in body["zones"]] == [("Z1", ["max_floors"])]
    assert [(x["change"], x["max_shift_m"]) for x in body["red_lines"]] == [("moved", 8.0)]
    # the public sees the approved version only: nothing to compare, and the draft is "not found"
    r = client.get(f"/plans/{CODE}/diff")
    assert r.status_code == 400 and "one version only" in r.json()["description"], r.text
    r = client.get(f"/plans/{CODE}/diff?from=1&to=2")
    assert r.status_code == 404 and "no version 2" in r.json()["description"], r.text
    r = client.get("/plans/46QPK0007999/diff", headers=planner)
    assert r.status_code == 404, r.text
    r = client.get(f"/plans/{CODE}/diff?from=0", headers=planner)
    assert r.status_code == 422, r.text
    r = client.get(f"/plans/{CODE}/diff?f=kml", headers=planner)
    assert r.status_code == 422, r.text


def test_under_consultation_the_public_sees_the_diff_its_map_and_a_parcel_summary(
    served: tuple[TestClient, dict[str, Any], Engine],
) -> None:
    client, ids, engine = served
    today = today_in_hue()
    with engine.begin() as conn:
        c = open_consultation(
            conn, CODE, starts_on=today, ends_on=today + timedelta(days=30), explanation="Dự thảo điều chỉnh", user=USER
        )
    try:
        r = client.get(f"/plans/{CODE}/diff")
        assert r.status_code == 200, r.text
        assert r.json()["counts"]["zones"]["changed"] == 1
        r = client.get(f"/plans/{CODE}/diff?f=geojson")
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json"), r.text
        fc = ChangesFeatureCollection.model_validate(r.json())
        layers = sorted((f.properties["layer"], f.properties["change"]) for f in fc.features)
        assert layers == [("red_lines", "moved"), ("zones", "changed")]
        zone = next(f for f in fc.features if f.properties["layer"] == "zones")
        assert zone.properties["summary_vi"] == "Ô Z1: tầng cao tối đa từ 3 lên 5 tầng."
        assert zone.geometry is not None and zone.geometry["type"] in ("Polygon", "MultiPolygon")

        r = client.get(f"/parcels/{ids['lot_road']}/changes?lang=en")
        assert r.status_code == 200, r.text
        answer = ParcelChangesAnswer.model_validate(r.json())
        print("\n".join(answer.summary))
        assert answer.touched and [p.code for p in answer.plans] == [CODE]
        assert "Zone Z1: max floors go up from 3 to 5 floors." in answer.summary
        assert "60 m² of the lot now lies inside the planned road." in answer.summary
        r = client.get(f"/parcels/{ids['lot_far']}/changes")
        assert r.status_code == 200 and r.json()["touched"] is False and r.json()["summary"] == [], r.text
        r = client.get(f"/parcels/{ids['lonely']}/changes")
        assert r.status_code == 200, r.text
        assert r.json()["plans"] == [] and r.json()["message_vi"] == "Không có quy hoạch nào tại thửa đất này."
        assert client.get("/parcels/987654321/changes").status_code == 404
        assert client.get(f"/parcels/{ids['lot_road']}/changes?lang=fr").status_code == 400
        assert client.get(f"/parcels/{ids['lot_road']}/changes?code={CODE}&from=1&to=7").status_code == 404
    finally:
        with engine.begin() as conn:
            close_consultation(conn, c.id, user=USER)


def test_the_sample_plans_2019_version_against_todays_widens_mai_thuc_loan_into_the_lots(
    sample_plans_url: str,
) -> None:
    """The demo's zoning plan of 2019 (superseded) against today's: Mai Thúc Loan widened from 13 m to 16.5 m cuts
    into 36 lots (sample_data/lots_cut_by_red_lines.csv gives each lot's area beyond the new red line)."""
    import csv

    from gis_service.db import create_db_engine
    from gis_service.settings import project_root

    lots = list(csv.DictReader((project_root() / "sample_data" / "lots_cut_by_red_lines.csv").open(encoding="utf-8")))
    engine = create_db_engine(sample_plans_url, pool_size=1)
    try:
        with engine.connect() as conn:
            v2019, today = resolve_versions(conn, "46QPK0000001", None, None, public=True)  # the last two versions
            diff = plan_diff(conn, v2019, today)
            print(f"\n2019 -> today: {diff.counts()}")
            widened = [r for r in diff.red_lines if r.road_name == "Mai Thúc Loan"]
            assert widened and all(r.change == "moved" for r in widened)
            assert {(a.column, a.before, a.after) for r in widened for a in r.attributes} == {
                ("red_line_width_m", 13, 16.5)
            }
            hs = next(z for z in diff.zones if z.zone_code == "HS-01")  # farmland then, the new area now
            assert ("land_use_code", "HNK", "ODT") in {(a.column, a.before, a.after) for a in hs.attributes}
            told = 0
            for lot in lots:
                pid = conn.execute(
                    sa.text("SELECT id FROM planning.parcels WHERE ward = :w AND sheet_no = :s AND parcel_no = :p"),
                    {"w": lot["ward"], "s": int(lot["sheet_no"]), "p": int(lot["parcel_no"])},
                ).scalar_one()
                found = parcel_changes(conn, pid, v2019, today, "vi")
                assert found.road_to_m2 == pytest.approx(float(lot["area_in_road_m2"]), abs=0.01), lot
                gained = round(found.road_to_m2 - found.road_from_m2, 1)
                assert gained > 0, lot
                total = area_m2(found.road_to_m2, "vi")
                words = (
                    f"Thêm {area_m2(gained, 'vi')} của thửa đất nằm trong đất giao thông quy hoạch (tổng cộng {total})."
                )
                assert words in found.summary, (lot, found.summary)
                assert any(s.startswith("Chỉ giới đường đỏ đường Mai Thúc Loan") for s in found.summary)
                told += 1
            print(f"{told} of {len(lots)} lots told how much of them the widened road now takes")
            assert told == len(lots) == 36
    finally:
        engine.dispose()
