"""Diff: what changed between two versions of a 10,000-zone plan, for the whole plan and for one parcel.

A generated plan: a grid of 100 x 100 zones (50 m a side, codes ``G-0000``), a red line and a building line along
each side of every tenth row of blocks, 2,000 parcels; a draft started from it as planners start one (every row
copied), then edited: rules of 200 zones, the boundary of 40 pairs of neighbours, 20 red lines moved 2 m.

Timed (median of a few runs, this process, one connection):

* :func:`gis_service.changes.plan_diff` of the whole plan, and :func:`gis_service.changes.changed_region_wkb`;
* :func:`gis_service.changes.parcel_changes` of one parcel in a changed zone beside a moved red line (with its
  sentences and the road land measured by the rule model), and of one parcel where nothing changed.

Baseline, in the same process on the same data: the raw SQL of the same comparison, written by hand as one would
without the package: zones joined by code, rules compared, areas gained and lost; lines compared by equality
(whole plan); the same cut to the parcel's zones (one parcel).

Targets: the whole plan under 2 s, one parcel under 20 ms.
"""

from __future__ import annotations

import os
import time

import psycopg
import shapely
import sqlalchemy as sa

from bench.common import report, throwaway_database, timed

TARGET_PLAN_S = 2.0
TARGET_PARCEL_S = 0.020
SIDE = 100  # zones per side of the grid
CELL_M = 50.0
E0, N0 = 555000.0, 1815000.0
CODE = "46QPK0099001"

_GENERATE = f"""
INSERT INTO planning.plans (code, name, level, scale_denominator, status, version, decision_no, decision_date, geom)
VALUES ('{CODE}', 'Phân khu sinh tự động', 'zoning', 2000, 'approved', 1, '1/QĐ-UBND', DATE '2024-01-10',
        ST_Multi(ST_MakeEnvelope({E0}, {N0}, {E0} + %(side)s * {CELL_M}, {N0} + %(side)s * {CELL_M}, 9214)));
INSERT INTO planning.zones (plan_id, zone_code, name, land_use_code, max_density_pct, max_floors, min_floors,
                            max_height_m, max_far, min_setback_m, geom)
SELECT currval('planning.plans_id_seq'), format('G-%%s-%%s', i, j), format('Ô %%s-%%s', i, j),
       (ARRAY['ODT', 'TMD', 'DGD', 'DKV'])[1 + (i + j) %% 4], 40 + (i * j) %% 40, 2 + (i + j) %% 6, 1,
       8 + (i + j) %% 6 * 3.6, 1.5 + (i %% 5) * 0.5, 3,
       ST_Multi(ST_MakeEnvelope({E0} + i * {CELL_M}, {N0} + j * {CELL_M},
                                {E0} + (i + 1) * {CELL_M}, {N0} + (j + 1) * {CELL_M}, 9214))
FROM generate_series(0, %(side)s - 1) i, generate_series(0, %(side)s - 1) j;
INSERT INTO planning.red_lines (plan_id, road_name, red_line_width_m, geom)
SELECT currval('planning.plans_id_seq'), format('Đường %%s', j), 13 + j %% 3 * 3.5,
       ST_SetSRID(ST_Multi(ST_MakeLine(ST_MakePoint({E0}, {N0} + j * {CELL_M} + s),
                                       ST_MakePoint({E0} + %(side)s * {CELL_M}, {N0} + j * {CELL_M} + s))), 9214)
FROM generate_series(10, %(side)s - 1, 10) j, (VALUES (-6.0), (6.0)) v(s);
INSERT INTO planning.building_lines (plan_id, road_name, red_line_width_m, setback_m, geom)
SELECT plan_id, road_name, red_line_width_m, 3, ST_Multi(ST_OffsetCurve(ST_GeometryN(geom, 1), sign(
           ST_Y(ST_StartPoint(ST_GeometryN(geom, 1))) - {N0} - round((ST_Y(ST_StartPoint(ST_GeometryN(geom, 1))) - {N0})
           / {CELL_M}) * {CELL_M}) * 3))
FROM planning.red_lines WHERE plan_id = currval('planning.plans_id_seq');
INSERT INTO planning.parcels (ward, sheet_no, parcel_no, land_use_code, geom)
SELECT 'Phường thử', 1 + k / 500, 1 + k %% 500, 'ODT',
       ST_Multi(ST_MakeEnvelope(x, y, x + 20, y + 25, 9214))
FROM generate_series(0, 1999) k,
     LATERAL (SELECT {E0} + 5 + (k %% 200) * 24.7 AS x, {N0} + 505 + (k / 200) * 50.0 - 27 AS y) p;
"""

_RAW_PLAN_SQL = """
SELECT count(*) FROM (
    SELECT a.id, b.id, ST_Area(ST_Difference(b.geom, a.geom)), ST_Area(ST_Difference(a.geom, b.geom))
    FROM planning.zones a JOIN planning.zones b ON b.zone_code = a.zone_code
    WHERE a.plan_id = %(f)s AND b.plan_id = %(t)s AND (NOT (a.geom = b.geom)
       OR (a.land_use_code, a.name, a.max_density_pct, a.max_floors, a.min_floors, a.max_height_m, a.max_far,
           a.min_setback_m, a.min_ground_elev_m, a.heritage_zone, a.notes)
          IS DISTINCT FROM (b.land_use_code, b.name, b.max_density_pct, b.max_floors, b.min_floors, b.max_height_m,
           b.max_far, b.min_setback_m, b.min_ground_elev_m, b.heritage_zone, b.notes))
    UNION ALL
    SELECT a.id, NULL, ST_HausdorffDistance(a.geom, b.geom), NULL
    FROM planning.red_lines a JOIN planning.red_lines b ON b.road_name = a.road_name AND ST_DWithin(a.geom, b.geom, 50)
    WHERE a.plan_id = %(f)s AND b.plan_id = %(t)s AND NOT (a.geom = b.geom)
) d
"""

_RAW_PARCEL_SQL = """
SELECT a.id, b.id, ST_Area(ST_Intersection(a.geom, p.geom)), ST_Area(ST_Intersection(b.geom, p.geom)),
       a.max_floors, b.max_floors
FROM planning.parcels p
JOIN planning.zones a ON a.plan_id = %(f)s AND ST_Intersects(a.geom, p.geom)
JOIN planning.zones b ON b.plan_id = %(t)s AND b.zone_code = a.zone_code
WHERE p.id = %(p)s AND (NOT (a.geom = b.geom)
   OR (a.land_use_code, a.name, a.max_density_pct, a.max_floors, a.min_floors, a.max_height_m, a.max_far,
       a.min_setback_m, a.min_ground_elev_m, a.heritage_zone, a.notes)
      IS DISTINCT FROM (b.land_use_code, b.name, b.max_density_pct, b.max_floors, b.min_floors, b.max_height_m,
       b.max_far, b.min_setback_m, b.min_ground_elev_m, b.heritage_zone, b.notes))
"""


def _edit_draft(conn: sa.Connection, v2: int, side: int) -> None:
    """The planners' edits: rules of some zones, boundaries between neighbours, red lines moved."""
    from gis_service.editing import change_context

    with change_context(conn, user="bench", reason="bench: a new version"):
        conn.execute(
            sa.text("UPDATE planning.zones SET max_floors = max_floors + 1 WHERE plan_id = :p AND id % 50 = 0"),
            {"p": v2},
        )
        # 40 pairs of neighbours: the left zone takes a 7.5 m strip of the right one
        for k in range(40):
            i, j = (k * 7) % (side - 1), (k * 13) % side
            left, right = f"G-{i}-{j}", f"G-{i + 1}-{j}"
            x = E0 + (i + 1) * CELL_M + 7.5
            y0, y1 = N0 + j * CELL_M, N0 + (j + 1) * CELL_M
            conn.execute(
                sa.text(
                    "UPDATE planning.zones SET geom = ST_Multi(ST_MakeEnvelope(:x0, :y0, :x, :y1, 9214)) "
                    "WHERE plan_id = :p AND zone_code = :c"
                ),
                {"p": v2, "c": left, "x0": E0 + i * CELL_M, "x": x, "y0": y0, "y1": y1},
            )
            conn.execute(
                sa.text(
                    "UPDATE planning.zones SET geom = ST_Multi(ST_MakeEnvelope(:x, :y0, :x1, :y1, 9214)) "
                    "WHERE plan_id = :p AND zone_code = :c"
                ),
                {"p": v2, "c": right, "x": x, "x1": E0 + (i + 2) * CELL_M, "y0": y0, "y1": y1},
            )
        conn.execute(
            sa.text(
                "UPDATE planning.red_lines SET geom = ST_Translate(geom, 0, -2) WHERE plan_id = :p AND id IN "
                "(SELECT id FROM planning.red_lines WHERE plan_id = :p ORDER BY id LIMIT 20)"
            ),
            {"p": v2},
        )


def run(scale: float = 1.0) -> None:
    """Generate the plan and its new version, time the comparisons against the raw SQL, print the report.

    Parameters
    ----------
    scale
        Multiplies the number of zones (10,000 at 1.0).
    """
    from gis_service.changes import changed_region_wkb, parcel_changes, plan_diff
    from gis_service.db import create_db_engine
    from gis_service.editing import start_draft

    side = max(10, round(SIDE * scale**0.5))
    print(f"\nDiff: two versions of a {side * side:,}-zone plan, whole plan and one parcel, vs raw SQL")
    print(f"  {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (other work on the machine skews the times)")
    with throwaway_database() as url:
        t0 = time.perf_counter()
        with psycopg.connect(url) as pg:
            for statement in _GENERATE.split(";\n"):
                if statement.strip():
                    pg.execute(statement, {"side": side})
            pg.commit()
        engine = create_db_engine(url, pool_size=1)
        try:
            with engine.begin() as conn:
                v1 = conn.execute(sa.text("SELECT id FROM planning.plans WHERE code = :c"), {"c": CODE}).scalar_one()
                v2 = start_draft(conn, CODE, user="bench", reason="bench: a new version").id
                _edit_draft(conn, v2, side)
            with engine.connect() as conn:
                conn.execute(sa.text("ANALYZE"))
                print(f"  generated, draft started and edited in {time.perf_counter() - t0:.1f} s")
                diff = plan_diff(conn, v1, v2)
                print(f"  changes found: {diff.counts()}")
                region = changed_region_wkb(conn, v1, v2)
                area = 0.0 if region is None else float(shapely.area(shapely.from_wkb(region)))
                print(f"  changed region: {area:,.0f} m²")
                moved = conn.execute(
                    sa.text(
                        "SELECT p.id FROM planning.parcels p JOIN planning.red_lines r ON r.plan_id = :v "
                        "AND ST_DWithin(r.geom, p.geom, 1) AND r.row_version > 1 ORDER BY p.id LIMIT 1"
                    ),
                    {"v": v2},
                ).scalar()
                quiet = conn.execute(
                    sa.text(
                        "SELECT p.id FROM planning.parcels p WHERE NOT EXISTS (SELECT 1 FROM planning.red_lines r "
                        "WHERE r.plan_id = :v AND ST_DWithin(r.geom, p.geom, 60)) ORDER BY p.id LIMIT 1"
                    ),
                    {"v": v2},
                ).scalar()
                touched = parcel_changes(conn, moved, v1, v2, "vi") if moved else None
                if touched is not None:
                    print(f"  parcel {moved}: " + " ".join(touched.summary))
                driver = conn.connection.driver_connection
                assert isinstance(driver, psycopg.Connection)

                def raw_plan() -> None:
                    driver.execute(_RAW_PLAN_SQL, {"f": v1, "t": v2}).fetchall()

                def raw_parcel(pid: int) -> None:
                    driver.execute(_RAW_PARCEL_SQL, {"f": v1, "t": v2, "p": pid}).fetchall()

                rows = [
                    (
                        "plan_diff, whole plan",
                        timed(lambda: plan_diff(conn, v1, v2), repeat=3),
                        timed(raw_plan, repeat=3),
                    ),
                    (
                        "changed_region_wkb, whole plan",
                        timed(lambda: changed_region_wkb(conn, v1, v2), repeat=3),
                        timed(raw_plan, repeat=3),
                    ),
                ]
                for label, pid in (("beside a moved red line", moved), ("nothing changed", quiet)):
                    if pid is None:
                        continue
                    one = int(pid)

                    def ours(one: int = one) -> None:
                        parcel_changes(conn, one, v1, v2, "vi")

                    def raw(one: int = one) -> None:
                        raw_parcel(one)

                    rows.append(
                        (
                            f"parcel_changes, one parcel ({label})",
                            timed(ours, repeat=15, warmup=3),
                            timed(raw, repeat=15, warmup=3),
                        )
                    )
                report("  ours = gis_service.changes; baseline = raw SQL of the same comparison", rows)
                plan_s, parcel_s = rows[0][1], max(r[1] for r in rows[2:])
                print(
                    f"  targets: whole plan {plan_s:.2f} s (< {TARGET_PLAN_S:.0f} s: "
                    f"{'met' if plan_s < TARGET_PLAN_S else 'MISSED'}); one parcel {parcel_s * 1000:.1f} ms "
                    f"(< {TARGET_PARCEL_S * 1000:.0f} ms: {'met' if parcel_s < TARGET_PARCEL_S else 'MISSED'})"
                )
        finally:
            engine.dispose()
