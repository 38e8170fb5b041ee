"""Edits with history: who, when, why, before and after; exact restore, also after a delete."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gis_service.editing import (
    delete_feature,
    feature_history,
    feature_state,
    insert_feature,
    restore_feature,
    update_feature,
)
from gis_service.errors import NotFound, ValidationError

E, N = 561625.296, 1821650.262
SQUARE = f"MULTIPOLYGON((({E} {N},{E + 25.125} {N},{E + 25.125} {N + 18.5},{E} {N + 18.5},{E} {N})))"
BOOKKEEPING = {"created_at", "created_by", "updated_at", "updated_by", "row_version"}


def content(state: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in state.items() if k not in BOOKKEEPING}


def row(conn: Connection, zone_id: int) -> dict[str, Any]:
    """The row as the database holds it (all columns, geometry as exact WKB hex)."""
    r = (
        conn.execute(
            sa.text(
                "SELECT id, plan_id, zone_code, name, land_use_code, max_density_pct, max_floors, min_floors, "
                "max_height_m, max_far, min_setback_m, min_ground_elev_m, heritage_zone, notes, source, attributes, "
                "encode(ST_AsEWKB(geom), 'hex') AS geom, geom_area_m2, encode(ST_AsEWKB(geom_4326), 'hex') AS g4326 "
                "FROM planning.zones WHERE id = :id"
            ),
            {"id": zone_id},
        )
        .mappings()
        .one()
    )
    return dict(r)


@pytest.fixture
def zone(conn: Connection, plan_id: int) -> int:
    state = insert_feature(
        conn,
        "zones",
        {
            "plan_id": plan_id,
            "zone_code": "ÔQH-12",
            "name": "Khu ở Thuận Thành",
            "land_use_code": "ODT",
            "max_density_pct": 60,
            "max_floors": 3,
            "max_height_m": 12.5,
            "max_far": 1.8,
            "min_setback_m": 3,
            "heritage_zone": "Kinh thành, vùng bảo vệ II",
            "attributes": {"maDoiTuong": "ODT.12", "ghiChu": "thửa đất có nhà cổ"},
            "geom": SQUARE,
        },
        user="lan.nguyen",
        reason="nhập quy hoạch phân khu",
    )
    return int(state["id"])


def test_two_edits_then_restoring_the_first_version_gives_back_the_original_row(conn: Connection, zone: int) -> None:
    original = row(conn, zone)
    update_feature(
        conn,
        "zones",
        zone,
        {"max_floors": 5, "max_height_m": 20, "name": "Khu ở mới"},
        user="minh.tran",
        reason="điều chỉnh tầng cao theo QĐ 06/2024",
    )
    moved = f"SRID=9214;MULTIPOLYGON((({E} {N},{E + 30} {N},{E + 30} {N + 20},{E} {N + 20},{E} {N})))"
    update_feature(conn, "zones", zone, {"geom": moved, "attributes": {}}, user="hoa.le", reason="sửa ranh giới")
    assert row(conn, zone) != original

    restored = restore_feature(conn, "zones", zone, version=1, user="lan.nguyen", reason="khôi phục bản gốc")
    assert row(conn, zone) == original, "every column, geometry to the bit, is back"
    assert restored["row_version"] == 4

    history = feature_history(conn, "zones", zone)
    assert [(h.operation, h.row_version, h.changed_by, h.reason) for h in history] == [
        ("insert", 1, "lan.nguyen", "nhập quy hoạch phân khu"),
        ("update", 2, "minh.tran", "điều chỉnh tầng cao theo QĐ 06/2024"),
        ("update", 3, "hoa.le", "sửa ranh giới"),
        ("restore", 4, "lan.nguyen", "khôi phục bản gốc"),
    ]
    assert history[3].restored_from == history[0].id
    assert history[1].before is not None and history[1].after is not None
    assert history[1].before["max_floors"] == 3 and history[1].after["max_floors"] == 5
    assert content(history[3].after or {}) == content(history[0].after or {})
    assert all(h.changed_at is not None for h in history)


def test_delete_is_recoverable(conn: Connection, zone: int) -> None:
    original = row(conn, zone)
    update_feature(conn, "zones", zone, {"max_far": 2.4}, user="minh.tran", reason="tăng hệ số")
    delete_feature(conn, "zones", zone, user="minh.tran", reason="nhầm ô")
    assert feature_state(conn, "zones", zone) is None

    restore_feature(conn, "zones", zone, version=1, user="lan.nguyen", reason="xoá nhầm")
    assert row(conn, zone) == original
    ops = [(h.operation, h.row_version) for h in feature_history(conn, "zones", zone)]
    assert ops == [("insert", 1), ("update", 2), ("delete", 2), ("restore", 3)]


def test_an_edit_that_changes_nothing_records_nothing(conn: Connection, zone: int) -> None:
    update_feature(conn, "zones", zone, {"max_floors": 3}, user="minh.tran", reason="no-op")
    assert len(feature_history(conn, "zones", zone)) == 1
    assert feature_state(conn, "zones", zone)["row_version"] == 1  # type: ignore[index]


def test_direct_sql_edits_are_recorded_with_the_database_role(conn: Connection, zone: int) -> None:
    conn.execute(sa.text("UPDATE planning.zones SET max_floors = 4 WHERE id = :id"), {"id": zone})
    last = feature_history(conn, "zones", zone)[-1]
    role = conn.execute(sa.text("SELECT session_user")).scalar()
    assert (last.operation, last.changed_by, last.reason) == ("update", role, None)


def test_the_history_cannot_be_rewritten(conn: Connection, zone: int) -> None:
    for sql in ("DELETE FROM planning.change_history", "UPDATE planning.change_history SET reason = 'x'"):
        sp = conn.begin_nested()
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            conn.execute(sa.text(sql))
        sp.rollback()
    assert len(feature_history(conn, "zones", zone)) == 1


def test_a_reason_is_required(conn: Connection, zone: int) -> None:
    with pytest.raises(ValidationError, match="reason"):
        update_feature(conn, "zones", zone, {"max_floors": 9}, user="minh.tran", reason="  ")
    assert feature_state(conn, "zones", zone)["max_floors"] == 3  # type: ignore[index]


def test_invalid_geometry_is_refused_and_nothing_changes(conn: Connection, zone: int) -> None:
    bowtie = f"MULTIPOLYGON((({E} {N},{E + 10} {N + 10},{E + 10} {N},{E} {N + 10},{E} {N})))"
    before = row(conn, zone)
    with pytest.raises(ValidationError, match=rf"zones {zone}: the geometry is invalid"):
        update_feature(conn, "zones", zone, {"geom": bowtie}, user="minh.tran", reason="vẽ lại")
    assert row(conn, zone) == before
    assert len(feature_history(conn, "zones", zone)) == 1


def test_bad_values_are_refused_with_the_rule_named(conn: Connection, zone: int) -> None:
    with pytest.raises(ValidationError, match="max_density_pct"):
        update_feature(conn, "zones", zone, {"max_density_pct": 140}, user="a", reason="b")
    with pytest.raises(ValidationError, match="land_use_code"):
        update_feature(conn, "zones", zone, {"land_use_code": "XYZ"}, user="a", reason="b")
    with pytest.raises(ValidationError, match="no editable field 'geom_4326'"):
        update_feature(conn, "zones", zone, {"geom_4326": "POINT(0 0)"}, user="a", reason="b")
    with pytest.raises(ValidationError, match=rf"zones {zone}: the geometry cannot be read \(parse error"):
        update_feature(conn, "zones", zone, {"geom": "POLYGON((1 2, 3"}, user="a", reason="b")
    with pytest.raises(ValidationError, match=rf"zones {zone}: a value is not a valid integer"):
        update_feature(conn, "zones", zone, {"max_floors": "năm"}, user="a", reason="b")
    with pytest.raises(ValidationError, match="unknown layer"):
        update_feature(conn, "zones; DROP TABLE x", zone, {"name": "x"}, user="a", reason="b")


def test_unknown_feature_or_version(conn: Connection, zone: int) -> None:
    with pytest.raises(NotFound):
        update_feature(conn, "zones", 999_999, {"max_floors": 2}, user="a", reason="b")
    with pytest.raises(NotFound, match="known versions: \\[1\\]"):
        restore_feature(conn, "zones", zone, version=7, user="a", reason="b")


def test_every_layer_keeps_history(conn: Connection, plan_id: int) -> None:
    line = f"MULTILINESTRING(({E} {N},{E + 100} {N}))"
    parcel = insert_feature(
        conn,
        "parcels",
        {
            "ward": "Thuận Thành",
            "sheet_no": 12,
            "parcel_no": 345,
            "area_m2": 464.81,
            "land_use_code": "ODT",
            "geom": SQUARE,
        },
        user="a",
        reason="b",
    )
    insert_feature(
        conn,
        "buildings",
        {"parcel_id": parcel["id"], "floors": 2, "height_m": 7.5, "geom": SQUARE},
        user="a",
        reason="b",
    )
    insert_feature(
        conn,
        "red_lines",
        {"plan_id": plan_id, "road_name": "Đinh Tiên Hoàng", "red_line_width_m": 19.5, "geom": line},
        user="a",
        reason="b",
    )
    insert_feature(
        conn,
        "building_lines",
        {"plan_id": plan_id, "road_name": "Đinh Tiên Hoàng", "setback_m": 3, "geom": line},
        user="a",
        reason="b",
    )
    update_feature(conn, "plans", plan_id, {"name": "Phân khu Kinh thành (điều chỉnh)"}, user="a", reason="b")
    # this test's own entries (its transaction's): other tests of the session write history too
    layers = (
        conn.execute(
            sa.text(
                "SELECT DISTINCT table_name FROM planning.change_history "
                "WHERE transaction_id = txid_current() ORDER BY 1"
            )
        )
        .scalars()
        .all()
    )
    assert layers == ["building_lines", "buildings", "parcels", "plans", "red_lines"]


def test_bulk_statements_record_one_entry_per_changed_row(conn: Connection, plan_id: int) -> None:
    """The history triggers work per statement: check a multi-row insert, and an update that leaves a row as is."""
    conn.execute(
        sa.text(
            "INSERT INTO planning.zones (plan_id, zone_code, land_use_code, max_floors, geom) "
            "SELECT :plan, 'B' || i, 'TMD', i, "
            "ST_Multi(ST_Buffer(ST_SetSRID(ST_MakePoint(:e + i * 50, :n), 9214), 10)) "
            "FROM generate_series(1, 3) i"
        ),
        {"plan": plan_id, "e": E, "n": N},
    )
    # the test's zones only: B and a digit (the sample's own zones include BS-01 and the like)
    conn.execute(sa.text("UPDATE planning.zones SET max_floors = 2 WHERE zone_code ~ '^B[0-9]$'"))
    rows = conn.execute(
        sa.text(
            "SELECT h.operation, z.zone_code, h.row_version, h.before->>'max_floors', h.after->>'max_floors', "
            "ST_Equals(h.after_geom, z.geom) FROM planning.change_history h "
            "JOIN planning.zones z ON z.id = h.feature_id AND h.table_name = 'zones' "
            "WHERE z.zone_code ~ '^B[0-9]$' ORDER BY h.id"
        )
    ).all()
    assert [tuple(r) for r in rows] == [
        ("insert", "B1", 1, None, "1", True),
        ("insert", "B2", 1, None, "2", True),
        ("insert", "B3", 1, None, "3", True),
        ("update", "B1", 2, "1", "2", True),
        ("update", "B3", 2, "3", "2", True),
    ]
    versions: dict[str, int] = dict(
        conn.execute(sa.text("SELECT zone_code, row_version FROM planning.zones WHERE zone_code ~ '^B[0-9]$'")).all()
    )
    assert versions == {"B1": 2, "B2": 1, "B3": 2}, "the unchanged row keeps its version"
