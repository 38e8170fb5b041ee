"""A small approved detailed plan for the permit tests, in EPSG:9214 around the control point (offsets in metres).

* plan ``46QCT0000009`` v1 approved (QĐ 77/QĐ-UBND), level detailed;
* a road along y = 0 (south of it): red line y = 0 (12 m wide, Lê Duẩn), building line y = 3 (setback 3 m),
  both from x = -3000 to 1000;
* a second road along y = 1000 (north of it): red line y = 1000 (12 m wide, Nguyễn Trãi) from x = -3000 to 1000,
  with no building line (its setback comes from the zone, else QCVN Table 2.7);
* zone A (ODT) x -1000..0, y 0..1000: density 95 %, floors 1..5, height 18 m, FAR 4, setback 3 m, a new development
  area (``khuVucMoi``: QCVN's smallest lot sizes apply);
* zone B (TMD) x 0..1000, y 0..1000: density 60 %, floors ..9, height 32 m, FAR 5, no setback (QCVN Table 2.7);
* zone C (ODT) x -3000..-1000, y 0..1000: no rules at all (missing plan values);
* parcel (Phú Xuân, tờ 5 thửa 7) x -10..10, y 0..20, straddling zones A and B.
"""

from __future__ import annotations

from typing import Any

import psycopg

E0 = 561625.296
N0 = 1821650.262
CODE = "46QCT0000009"


def box(x0: float, y0: float, x1: float, y1: float) -> str:
    pts = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    return "SRID=9214;MULTIPOLYGON(((" + ", ".join(f"{E0 + x:.4f} {N0 + y:.4f}" for x, y in pts) + ")))"


def box_geojson(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    """A rectangle as a GeoJSON Polygon in EPSG:9214 metres (send with crs EPSG:9214)."""
    pts = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    return {"type": "Polygon", "coordinates": [[[round(E0 + x, 4), round(N0 + y, 4)] for x, y in pts]]}


def line(x0: float, y0: float, x1: float, y1: float) -> str:
    return f"SRID=9214;MULTILINESTRING(({E0 + x0:.4f} {N0 + y0:.4f}, {E0 + x1:.4f} {N0 + y1:.4f}))"


def load_permit_plan(url: str) -> dict[str, int]:
    ids: dict[str, int] = {}
    with psycopg.connect(url) as conn:

        def one(sql: str, *args: Any) -> int:
            row = conn.execute(sql, args).fetchone()
            assert row is not None
            return int(row[0])

        conn.execute("SELECT set_config('planning.user', 'test', false)")
        ids["plan"] = one(
            "INSERT INTO planning.plans (code, name, level, status, decision_no, decision_date, geom) VALUES "
            "(%s, 'Chi tiết khu Lê Duẩn', 'detailed', 'approved', '77/QĐ-UBND', DATE '2025-03-01', %s::geometry) "
            "RETURNING id",
            CODE,
            box(-3000, -100, 1000, 1000),
        )
        zone_sql = (
            "INSERT INTO planning.zones (plan_id, zone_code, land_use_code, max_density_pct, min_floors, max_floors, "
            "max_height_m, max_far, min_setback_m, geom) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s::geometry) "
            "RETURNING id"
        )
        ids["A"] = one(zone_sql, ids["plan"], "A", "ODT", 95, 1, 5, 18, 4, 3, box(-1000, 0, 0, 1000))
        conn.execute("UPDATE planning.zones SET attributes = '{\"khuVucMoi\": 1}' WHERE id = %s", (ids["A"],))
        ids["B"] = one(zone_sql, ids["plan"], "B", "TMD", 60, None, 9, 32, 5, None, box(0, 0, 1000, 1000))
        ids["C"] = one(
            zone_sql, ids["plan"], "C", "ODT", None, None, None, None, None, None, box(-3000, 0, -1000, 1000)
        )
        ids["red_line"] = one(
            "INSERT INTO planning.red_lines (plan_id, road_name, red_line_width_m, geom) "
            "VALUES (%s, 'Lê Duẩn', 12, %s::geometry) RETURNING id",
            ids["plan"],
            line(-3000, 0, 1000, 0),
        )
        ids["north_red_line"] = one(
            "INSERT INTO planning.red_lines (plan_id, road_name, red_line_width_m, geom) "
            "VALUES (%s, 'Nguyễn Trãi', 12, %s::geometry) RETURNING id",
            ids["plan"],
            line(-3000, 1000, 1000, 1000),
        )
        ids["building_line"] = one(
            "INSERT INTO planning.building_lines (plan_id, road_name, red_line_width_m, setback_m, geom) "
            "VALUES (%s, 'Lê Duẩn', 12, 3, %s::geometry) RETURNING id",
            ids["plan"],
            line(1000, 3, -3000, 3),
        )
        ids["parcel"] = one(
            "INSERT INTO planning.parcels (ward, sheet_no, parcel_no, area_m2, land_use_code, geom) "
            "VALUES ('Phú Xuân', 5, 7, 400, 'ODT', %s::geometry) RETURNING id",
            box(-10, 0, 10, 20),
        )
        conn.commit()
    return ids
