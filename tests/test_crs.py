"""VN-2000: the official 7-parameter shift (EPSG:6960) is applied in the database, at the control point."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from pyproj import Geod, Transformer
from sqlalchemy.engine import Connection

from gis_service.editing import insert_feature

CONTROL_E, CONTROL_N = 561625.296, 1821650.262  # EPSG:9214
CONTROL_LON, CONTROL_LAT = 107.5790, 16.4698  # WGS84
GEOD = Geod(ellps="WGS84")


def _metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    return float(GEOD.inv(lon1, lat1, lon2, lat2)[2])


def _zone_at_control_point(conn: Connection, plan_id: int) -> int:
    e, n = CONTROL_E, CONTROL_N
    wkt = f"MULTIPOLYGON((({e} {n},{e + 40} {n},{e + 40} {n + 30},{e} {n + 30},{e} {n})))"
    state = insert_feature(
        conn,
        "zones",
        {"plan_id": plan_id, "zone_code": "ÔQH-01", "land_use_code": "ODT", "geom": wkt},
        user="test",
        reason="control point test",
    )
    return int(state["id"])


def _first_vertex(conn: Connection, zone_id: int, column: str) -> tuple[float, float]:
    """First vertex of a zone's geometry column (``geom``, ``geom_4326`` or ``geom_3857``)."""
    assert column in ("geom", "geom_4326", "geom_3857")
    x, y = conn.execute(
        sa.text(
            f"SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointN(ST_ExteriorRing(ST_GeometryN({column}, 1)), 1) p "
            "FROM planning.zones WHERE id = :id) s"
        ),
        {"id": zone_id},
    ).one()
    return float(x), float(y)


def test_vertex_at_control_point_reads_back_in_crs84_within_1cm(conn: Connection, plan_id: int) -> None:
    zone_id = _zone_at_control_point(conn, plan_id)
    lon, lat = _first_vertex(conn, zone_id, "geom_4326")
    off = _metres(lon, lat, CONTROL_LON, CONTROL_LAT)
    assert off < 0.01, f"control point read back {off:.3f} m off (lon {lon:.8f}, lat {lat:.8f})"


def test_area_is_in_legal_metres(conn: Connection, plan_id: int) -> None:
    zone_id = _zone_at_control_point(conn, plan_id)
    area = conn.execute(sa.text("SELECT geom_area_m2 FROM planning.zones WHERE id = :id"), {"id": zone_id}).scalar()
    assert area == pytest.approx(1200.0, abs=1e-6)


def test_web_mercator_copy_agrees_with_pyproj(conn: Connection, plan_id: int) -> None:
    zone_id = _zone_at_control_point(conn, plan_id)
    x, y = _first_vertex(conn, zone_id, "geom_3857")
    ex, ey = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True).transform(CONTROL_LON, CONTROL_LAT)
    assert abs(x - ex) < 0.02 and abs(y - ey) < 0.02  # 1 cm on the ground is ~1.04 cm in Web Mercator here


def test_crs84_input_is_stored_in_vn2000(conn: Connection, plan_id: int) -> None:
    """A geometry sent in WGS84 lands on the legal coordinates (the shift applied the other way too)."""
    d = 0.0003
    lo, la = CONTROL_LON, CONTROL_LAT
    ewkt = f"SRID=4326;POLYGON(({lo} {la},{lo + d} {la},{lo + d} {la + d},{lo} {la + d},{lo} {la}))"
    state = insert_feature(
        conn, "zones", {"plan_id": plan_id, "land_use_code": "ODT", "geom": ewkt}, user="test", reason="crs84"
    )
    e, n = _first_vertex(conn, state["id"], "geom")
    assert abs(e - CONTROL_E) < 0.01 and abs(n - CONTROL_N) < 0.01


def test_ignoring_the_datum_shift_would_be_225_m_off() -> None:
    """The check above can fail: a VN-2000 definition without +towgs84 puts the point ~225 m away."""
    naive = Transformer.from_crs(
        "+proj=tmerc +lat_0=0 +lon_0=107 +k=0.9999 +x_0=500000 +y_0=0 +ellps=WGS84 +units=m +no_defs",
        "EPSG:4326",
        always_xy=True,
    )
    lon, lat = naive.transform(CONTROL_E, CONTROL_N)
    assert 200 < _metres(lon, lat, CONTROL_LON, CONTROL_LAT) < 250
    official = Transformer.from_crs("EPSG:9214", "EPSG:4326", always_xy=True)
    lon, lat = official.transform(CONTROL_E, CONTROL_N)
    assert _metres(lon, lat, CONTROL_LON, CONTROL_LAT) < 0.01
