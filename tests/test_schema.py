"""Migrations and the data model: tables, reference data, SRID 9214."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gis_service.db import create_db_engine
from gis_service.db.migrate import current_revision, downgrade, head_revision, upgrade

ROOT = Path(__file__).resolve().parents[1]

TABLES = {
    "land_use_codes",
    "legacy_land_use_codes",
    "plans",
    "zones",
    "parcels",
    "buildings",
    "red_lines",
    "building_lines",
    "change_history",
    "jobs",  # 0002_auth: background jobs (tile rebuilds)
    "permit_applications",  # 0003_permits
    "permit_checks",
    "permit_decisions",
    "zones_default",  # 0004_zone_partitions: zones of plan versions not imported in bulk
    "bulk_loads",
    "map_features",  # 0009: the base map (water, walls, streets, alleys, landmarks)
    "certificates",  # 0012: issued planning-information certificates
    "consultations",  # 0013: drafts put to public consultation
    "comments",  # 0013: comments on a consultation, their moderation and outcome
    "subscriptions",  # 0013: subscriptions to plan changes by mail
    "outbox",  # 0013: mail to send (confirmations, notices)
    "prepared_lookups",  # 0014: the published lookups, prepared per parcel
    "prepared_lookup_state",
    "feature_sources",  # 0015: where imported features come from
    "data_versions",  # 0018: the data version, a row added as each change commits
    "data_version_pending",
}


def _scalars(url: str, sql: str) -> list[object]:
    eng = create_db_engine(url, pool_size=1)
    try:
        with eng.connect() as c:
            return list(c.execute(sa.text(sql)).scalars())
    finally:
        eng.dispose()


def _tables(url: str) -> set[str]:
    return {str(t) for t in _scalars(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'planning'")}


def _srid_9214_rows(url: str) -> int:
    return int(str(_scalars(url, "SELECT count(*) FROM spatial_ref_sys WHERE srid = 9214")[0]))


def test_migrations_go_up_down_and_up_again(empty_database_url: str) -> None:
    url = empty_database_url
    assert current_revision(url) is None
    upgrade(url)
    assert current_revision(url) == head_revision()
    assert _tables(url) == TABLES
    assert _srid_9214_rows(url) == 1

    downgrade(url, "base")
    assert current_revision(url) is None
    assert _tables(url) == set()
    assert _srid_9214_rows(url) == 0, "the SRID row this migration added is removed again"

    upgrade(url)
    assert _tables(url) == TABLES
    upgrade(url)  # already at head: nothing to do
    assert current_revision(url) == head_revision()


def test_the_command_line_migrates_and_downgrades(empty_database_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIS_")} | {"GIS_DATABASE_URL": empty_database_url}
    planning = str(Path(sys.executable).with_name("planning"))

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([planning, "db", *args], env=env, capture_output=True, text=True, timeout=120)

    assert "schema revision none" in run("status").stdout
    migrate = run("migrate")
    assert migrate.returncode == 0 and "migrating the schema from empty to" in migrate.stderr
    assert "up to date" in run("migrate").stderr
    assert "up to date" in run("status").stdout
    assert _tables(empty_database_url) == TABLES
    refused = run("downgrade", "base")  # no terminal to confirm: nothing happens
    assert refused.returncode != 0 and _tables(empty_database_url) == TABLES
    assert run("downgrade", "base", "--yes").returncode == 0
    assert _tables(empty_database_url) == set()


def test_code_table_holds_every_code_of_the_csv(conn: Connection) -> None:
    with open(ROOT / "gis_service" / "data" / "land_use_codes.csv", encoding="utf-8") as f:
        expected = {r["code"]: r for r in csv.DictReader(f)}
    rows = {
        r.code: r
        for r in conn.execute(
            sa.text("SELECT code, group_code, name_vi, name_en, rgb, color_hex FROM planning.land_use_codes")
        )
    }
    assert len(expected) == 50
    missing = set(expected) - set(rows)
    assert not missing, f"codes of the CSV not in the table: {missing}"
    odt = rows["ODT"]
    assert (odt.name_vi, odt.name_en, odt.group_code) == ("Đất ở tại đô thị", "Urban residential land", "PNN")
    assert (odt.rgb, odt.color_hex) == ("255 160 255", "#ffa0ff")
    for code, row in expected.items():
        assert rows[code].name_vi == row["name_vi"]
        assert rows[code].rgb == (row["rgb"] or None)
    # group codes seen on maps are there too, linked to their parents
    assert rows["OTC"].group_code == "PNN"
    assert rows["LUA"].group_code == "CHN"


def test_legacy_codes_map_to_current_codes(conn: Connection) -> None:
    mapping: dict[str, str] = dict(
        conn.execute(sa.text("SELECT legacy_code, code FROM planning.legacy_land_use_codes")).all()
    )
    assert mapping == {"BHK": "HNK", "NHK": "HNK"}


def test_geometry_columns_use_the_legal_crs_with_indexes(conn: Connection) -> None:
    cols = conn.execute(
        sa.text(
            "SELECT f_table_name, f_geometry_column, srid, type FROM geometry_columns "
            "WHERE f_table_schema = 'planning' ORDER BY 1, 2"
        )
    ).all()
    # zones_plan_<id>: a bulk-imported plan version's partition of zones (0004), made by the importer
    storage = {(t, s, ty) for t, c, s, ty in cols if c == "geom" and not t.startswith("zones_plan_")}
    # 0013: places of comments and subscriptions, in the legal CRS too, but no map layers: no lon/lat copies
    places = {("comments", 9214, "POINT"), ("subscriptions", 9214, "MULTIPOLYGON")}
    assert places <= storage
    assert "subscriptions_geom_idx" in set(
        conn.execute(sa.text("SELECT indexname FROM pg_indexes WHERE schemaname = 'planning'")).scalars()
    )  # the notices find the subscriptions a change meets
    storage -= places
    assert storage == {
        ("plans", 9214, "MULTIPOLYGON"),
        ("zones", 9214, "MULTIPOLYGON"),
        ("zones_default", 9214, "MULTIPOLYGON"),  # 0004: the partition of zones not imported in bulk
        ("parcels", 9214, "MULTIPOLYGON"),
        ("buildings", 9214, "MULTIPOLYGON"),
        ("red_lines", 9214, "MULTILINESTRING"),
        ("building_lines", 9214, "MULTILINESTRING"),
        ("permit_applications", 9214, "MULTIPOLYGON"),  # 0003_permits: the lot
        ("permit_checks", 9214, "MULTIPOLYGON"),  # the footprint checked
        ("map_features", 9214, "GEOMETRY"),  # 0009: areas, lines or points, by kind (a check)
    }
    derived = {(t, c, s) for t, c, s, _ in cols if c != "geom"}
    for table, _, _ in storage:
        assert (table, "geom_4326", 4326) in derived
        assert (table, "geom_3857", 3857) in derived
    gist = set(
        conn.execute(
            sa.text("SELECT indexname FROM pg_indexes WHERE schemaname = 'planning' AND indexdef LIKE '%USING gist%'")
        ).scalars()
    )
    for table, _, _ in storage:
        for col in ("geom", "geom_4326", "geom_3857"):
            if table in ("zones", "zones_default") and col != "geom":
                # 0004: vector tiles find zones by their lon/lat copy (a tile is a lon/lat rectangle too); 0006: and
                # the index on geom finds them, through the window's EPSG:9214 box (planning.box_9214)
                assert f"{table}_{col}_idx" not in gist
                continue
            assert f"{table}_{col}_idx" in gist


def test_one_approved_version_per_plan_and_decision_required(conn: Connection) -> None:
    insert = sa.text(
        "INSERT INTO planning.plans (code, name, level, status, version, decision_no, decision_date) "
        "VALUES ('46QPK0000009', 'Phân khu A', 'zoning', :status, :version, :no, :date)"
    )
    conn.execute(insert, {"status": "approved", "version": 1, "no": "1234/QĐ-UBND", "date": "2024-05-01"})
    with conn.begin_nested() as sp:
        try:
            conn.execute(insert, {"status": "approved", "version": 2, "no": "99/QĐ-UBND", "date": "2025-01-01"})
        except sa.exc.IntegrityError as exc:
            assert "plans_one_approved_per_code" in str(exc)
            sp.rollback()
        else:
            raise AssertionError("two approved versions of one plan were accepted")
    with conn.begin_nested() as sp:
        try:
            conn.execute(insert, {"status": "approved", "version": 3, "no": None, "date": None})
        except sa.exc.IntegrityError as exc:
            assert "plans_approved_has_decision" in str(exc)
            sp.rollback()
        else:
            raise AssertionError("an approved plan without a decision was accepted")


def test_map_features_tie_the_geometry_type_to_the_kind(conn: Connection) -> None:
    insert = sa.text(
        "INSERT INTO planning.map_features (kind, name, width_m, height_m, geom) "
        "VALUES (:kind, :name, :width, :height, ST_GeomFromText(:wkt, 9214)) RETURNING id, row_version, created_by"
    )
    square = "POLYGON((561600 1821600, 561650 1821600, 561650 1821650, 561600 1821650, 561600 1821600))"
    line = "LINESTRING(561600 1821600, 561700 1821610)"
    ok = [
        ("water", "Sông Hương", None, None, square),
        ("wall", "Kinh thành", None, 6.5, "MULTI" + square.replace("((", "(((").replace("))", ")))")),
        ("street", "Đinh Tiên Hoàng", 12, None, line),
        ("alley", "Kiệt 12", 2.5, None, line),
        ("landmark", "Kỳ Đài", None, 37, "POINT(561625 1821650)"),
    ]
    for kind, name, width, height, wkt in ok:
        row = conn.execute(insert, {"kind": kind, "name": name, "width": width, "height": height, "wkt": wkt}).one()
        assert row[1] == 1 and row[2]  # bookkeeping as on the other layers
    history = conn.execute(
        sa.text("SELECT count(*) FROM planning.change_history WHERE table_name = 'map_features'")
    ).scalar_one()
    assert history >= len(ok)
    # the rule model's query: alleys near a lot, with name, width and shape
    alley = conn.execute(
        sa.text(
            "SELECT name, width_m FROM planning.map_features WHERE kind = 'alley' "
            "AND ST_DWithin(geom, ST_SetSRID(ST_MakePoint(561650, 1821605), 9214), 10)"
        )
    ).all()
    assert [(a[0], float(a[1])) for a in alley] == [("Kiệt 12", 2.5)]
    bad = [
        ("water", None, None, line, "map_features_geom_type"),  # a river as a line
        ("street", None, None, square, "map_features_geom_type"),
        ("landmark", None, None, "MULTIPOINT((561625 1821650))", "map_features_geom_type"),
        ("road", None, None, line, "map_features_"),  # kind_check, or geom_type checked first
        ("alley", 0, None, line, "map_features_width_m_check"),
        ("wall", None, -1, square, "map_features_height_m_check"),
        ("wall", None, None, "POLYGON((561600 1821600, 561650 1821650, 561650 1821600, 561600 1821650, "
         "561600 1821600))", "map_features_geom_valid"),  # a bow tie
    ]  # fmt: skip
    for kind, width, height, wkt, rule in bad:
        with conn.begin_nested() as sp:
            try:
                conn.execute(insert, {"kind": kind, "name": None, "width": width, "height": height, "wkt": wkt})
            except sa.exc.IntegrityError as exc:
                assert rule in str(exc), (kind, wkt, exc)
                sp.rollback()
            else:
                raise AssertionError(f"accepted a {kind} {wkt}")
