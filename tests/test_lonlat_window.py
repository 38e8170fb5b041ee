"""Zones have one spatial index, on ``geom`` (migration 0006): lon/lat windows find them through
``planning.box_9214`` and give exactly the rows the lon/lat test gives alone.

Real PostGIS, zones written through the model (their lon/lat copies made by its trigger): a grid of 100 m zones,
and long thin strips whose 40-50 km edges are where a lon/lat copy strays furthest from the metric shape.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import psycopg
import pytest
import sqlalchemy as sa
from ogc_sample import E0, N0
from sqlalchemy.engine import Connection

from gis_service.vector_tiles import tile_sql
from ogc.cql import compile_filter
from ogc.layers import LAYERS, lonlat_window

WINDOW = "ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)"


@pytest.fixture
def zones(conn: Connection, plan_id: int) -> dict[str, int]:
    """A grid of 30 x 30 zones of 100 m around the control point, and three strips (E-W, N-S, diagonal)."""
    conn.execute(
        sa.text(
            "UPDATE planning.plans SET status = 'approved', decision_no = '1/QĐ-UBND', decision_date = '2025-01-01' "
            "WHERE id = :p"
        ),
        {"p": plan_id},
    )
    conn.execute(
        sa.text(
            "INSERT INTO planning.zones (plan_id, zone_code, land_use_code, geom) "
            "SELECT :p, 'G' || i || '-' || j, 'ODT', ST_Multi(ST_MakeEnvelope(:e + i * 100, :n + j * 100, "
            ":e + i * 100 + 90, :n + j * 100 + 90, 9214)) FROM generate_series(-15, 14) i, generate_series(-15, 14) j"
        ),
        {"p": plan_id, "e": E0, "n": N0},
    )
    strips = {
        "EW": f"POLYGON(({E0 - 25000} {N0 + 5000}, {E0 + 25000} {N0 + 5000}, {E0 + 25000} {N0 + 5020}, "
        f"{E0 - 25000} {N0 + 5020}, {E0 - 25000} {N0 + 5000}))",
        "NS": f"POLYGON(({E0 + 5000} {N0 - 25000}, {E0 + 5020} {N0 - 25000}, {E0 + 5020} {N0 + 25000}, "
        f"{E0 + 5000} {N0 + 25000}, {E0 + 5000} {N0 - 25000}))",
        "DIAG": f"POLYGON(({E0 - 20000} {N0 - 20000}, {E0 + 20000} {N0 + 20000}, {E0 + 20020} {N0 + 20000}, "
        f"{E0 - 19980} {N0 - 20000}, {E0 - 20000} {N0 - 20000}))",
    }
    ids = {}
    for code, wkt in strips.items():
        ids[code] = conn.execute(
            sa.text(
                "INSERT INTO planning.zones (plan_id, zone_code, land_use_code, geom) "
                "VALUES (:p, :c, 'DGT', ST_Multi(ST_GeomFromText(:g, 9214))) RETURNING id"
            ),
            {"p": plan_id, "c": code, "g": wkt},
        ).scalar_one()
    return ids


def _found(conn: Connection, window: dict[str, float], through_index: bool) -> set[int]:
    extra = f" AND {lonlat_window('zones', WINDOW)}" if through_index else ""
    rows = conn.execute(
        sa.text(f"SELECT id FROM planning.zones t WHERE ST_Intersects(t.geom_4326, {WINDOW}){extra}"), window
    )
    return set(rows.scalars())


def _windows(conn: Connection, zones: dict[str, int]) -> list[dict[str, float]]:
    """Boxes of 1 m to 30 km around the zones, and 2 m boxes on the middle of each strip's long lon/lat edges (the
    farthest a lon/lat copy's edge is from the shape's own)."""
    rng = np.random.default_rng(6)
    lon0, lat0 = conn.execute(
        sa.text("SELECT ST_X(p), ST_Y(p) FROM ST_Transform(ST_SetSRID(ST_Point(:e, :n), 9214), 4326) p"),
        {"e": E0, "n": N0},
    ).one()
    out = []
    for _ in range(300):
        size = 10 ** rng.uniform(-5, -0.5)  # degrees: 1 m to 30 km
        spread = 0.3 if rng.random() < 0.5 else 0.02  # around the strips, or among the grid's zones
        x, y = lon0 + rng.uniform(-spread, spread), lat0 + rng.uniform(-spread, spread)
        out.append({"x0": x, "y0": y, "x1": x + size * rng.uniform(0.2, 1), "y1": y + size * rng.uniform(0.2, 1)})
    edges = conn.execute(
        sa.text(
            "SELECT z.id, ST_X(m), ST_Y(m) FROM planning.zones z, "
            "LATERAL (SELECT (ST_DumpSegments(z.geom_4326)).geom AS s) d, "
            "LATERAL (SELECT ST_LineInterpolatePoint(d.s, 0.5) AS m) q "
            "WHERE z.id = ANY(:ids) AND ST_Length(ST_Transform(d.s, 9214)) > 10000 ORDER BY z.id"
        ),
        {"ids": list(zones.values())},
    ).all()
    assert len(edges) == 6
    d = 1e-5
    out += [{"x0": x - d, "y0": y - d, "x1": x + d, "y1": y + d, "zone": i} for i, x, y in edges]
    return out


def test_windows_find_the_same_zones_through_the_index(conn: Connection, zones: dict[str, int]) -> None:
    windows = _windows(conn, zones)
    hits = 0
    for w in windows:
        expected = _found(conn, w, through_index=False)
        assert _found(conn, w, through_index=True) == expected, w
        hits += len(expected)
    assert hits > 1000  # the windows do find zones
    # On a strip's long edge, the lon/lat copy's edge is metres away from the shape's own: what the 100 m margin
    # of planning.box_9214 is for (without a margin, the middle of the E-W strip's edges would be missed).
    sags = [
        conn.execute(
            sa.text(
                f"SELECT ST_Distance(ST_Transform({WINDOW}, 9214), z.geom) FROM planning.zones z WHERE z.id = :zone"
            ),
            w,
        ).scalar_one()
        for w in windows
        if "zone" in w
    ]
    assert 2.0 < max(sags) < 100.0, sags


def test_windows_far_from_vietnam_take_every_zone(conn: Connection, zones: dict[str, int], plan_id: int) -> None:
    world = {"x0": -180.0, "y0": -85.0, "x1": 180.0, "y1": 85.0}
    assert _found(conn, world, through_index=True) == _found(conn, world, through_index=False)
    ours = set(conn.execute(sa.text("SELECT id FROM planning.zones WHERE plan_id = :p"), {"p": plan_id}).scalars())
    assert len(ours) == 30 * 30 + 3 and ours <= _found(conn, world, through_index=True)  # (other tests' zones too)
    elsewhere = {"x0": 2.0, "y0": 48.0, "x1": 3.0, "y1": 49.0}  # Paris: far outside, no zone, no error
    assert _found(conn, elsewhere, through_index=True) == set()


def test_the_box_brings_the_index(conn: Connection, zones: dict[str, int]) -> None:
    conn.execute(sa.text("ANALYZE planning.zones_default"))
    conn.execute(sa.text("SET LOCAL enable_seqscan = off"))
    w = {"x0": 107.57, "y0": 16.46, "x1": 107.58, "y1": 16.47}

    def plan(extra: str) -> str:
        sql = f"EXPLAIN (FORMAT JSON) SELECT id FROM planning.zones t WHERE ST_Intersects(t.geom_4326, {WINDOW})"
        return json.dumps(conn.execute(sa.text(sql + extra), w).scalar_one())

    assert "zones_default_geom_idx" in plan(f" AND {lonlat_window('zones', WINDOW)}")
    assert "geom_idx" not in plan("")  # zones have no lon/lat index: without the box, no index at all


def test_cql_spatial_filters_carry_the_window(conn: Connection, zones: dict[str, int]) -> None:
    from pygeofilter.parsers.cql2_text import parse

    sql, params = compile_filter(parse("S_INTERSECTS(geometry, BBOX(107.57, 16.46, 107.58, 16.47))"), LAYERS["zones"])
    assert "planning.box_9214" in sql and len(params) == 8
    sql, _ = compile_filter(parse("S_DISJOINT(geometry, BBOX(107.57, 16.46, 107.58, 16.47))"), LAYERS["zones"])
    assert "box_9214" not in sql  # disjoint shapes are not in the window
    sql, _ = compile_filter(parse("S_INTERSECTS(geometry, BBOX(107.57, 16.46, 107.58, 16.47))"), LAYERS["parcels"])
    assert "box_9214" not in sql  # parcels keep their lon/lat index
    raw: psycopg.Connection[Any] = conn.connection.driver_connection  # type: ignore[assignment]
    for text in (
        "S_INTERSECTS(geometry, BBOX(107.55, 16.44, 107.6, 16.48))",
        "BBOX(geometry, 107.55, 16.44, 107.6, 16.48)",
        "S_WITHIN(geometry, POLYGON((107.5 16.4, 107.65 16.4, 107.65 16.5, 107.5 16.5, 107.5 16.4)))",
        "NOT S_INTERSECTS(geometry, BBOX(107.55, 16.44, 107.6, 16.48))",
        "S_INTERSECTS(geometry, POINT(107.5795 16.4698)) OR land_use_code = 'DGT'",
    ):
        sql, params = compile_filter(parse(text), LAYERS["zones"])
        plain, plain_params = compile_filter(parse(text), LAYERS["parcels"])  # the same test without the window
        got = {r[0] for r in raw.execute(f"SELECT id FROM planning.zones t WHERE {sql}", params)}
        want = {r[0] for r in raw.execute(f"SELECT id FROM planning.zones t WHERE {plain}", plain_params)}
        assert got == want, text


def _features(row: tuple[bytes] | None) -> list[str]:
    import mapbox_vector_tile

    if not row or not row[0]:
        return []
    layer = mapbox_vector_tile.decode(bytes(row[0])).get("zones", {"features": []})
    return sorted(json.dumps(f, sort_keys=True) for f in layer["features"])


def test_vector_tiles_have_the_same_features(conn: Connection, zones: dict[str, int]) -> None:
    raw: psycopg.Connection[Any] = conn.connection.driver_connection  # type: ignore[assignment]
    lon0, lat0 = 107.5795, 16.4698
    tiles = 0
    for z in (6, 9, 11, 13, 15, 17):
        n = 1 << z
        cx = int((lon0 + 180) / 360 * n)
        cy = int((1 - np.log(np.tan(np.radians(lat0)) + 1 / np.cos(np.radians(lat0))) / np.pi) / 2 * n)
        for x in range(cx - 1, cx + 2):
            for y in range(cy - 1, cy + 2):
                sql = tile_sql(["zones"], z)
                window = lonlat_window("zones", "e.reach_4326")
                assert window is not None and window in sql
                got = _features(raw.execute(sql, (z, x, y)).fetchone())
                want = _features(raw.execute(sql.replace(window, "true"), (z, x, y)).fetchone())
                assert got == want, (z, x, y)  # the same features, drawn the same (their order is the scan's)
                tiles += bool(got)
    assert tiles >= 8  # tiles with zones in them were compared
