"""A small approved plan around the VN-2000 control point, written into a test database (EPSG:9214).

Layout (E0, N0 = the control point, E 561625.296 N 1821650.262; metres):

* plan ``46QPK0000001`` v1 approved (QĐ 1234/QĐ-UBND, 2024-06-15): zone Z1 (ODT, west of E0+10) and zone Z2 (TMD,
  east of E0+10), each 1 km tall, a red line and a building line at N0+100;
* parcel P1 (Thuận Thành, tờ 12 thửa 35): E0-30..E0+20 x N0-10..N0+10 = 1000 m², 800 m² (80 %) in Z1 and
  200 m² (20 %) in Z2; the control point lies inside it, in Z1;
* parcel P2 (Thuận Thành, tờ 12 thửa 34): E0-200..E0-150 x N0-200..N0-150 = 2500 m², all in Z1;
* parcel P3 (Phú Hậu, tờ 12 thửa 35, the same numbers in another ward): in Z2;
* building B1 with a vertex exactly at the control point;
* plan ``46QPK0000003`` draft with a zone over everything (never public);
* plan ``46QCT0000002`` v1 approved and v2 draft (for ``planning plans publish``), one zone each.
"""

from __future__ import annotations

from typing import Any

import psycopg

E0 = 561625.296
N0 = 1821650.262
CONTROL_LONLAT = (107.5790, 16.4698)

PLAN_CODE = "46QPK0000001"
DRAFT_CODE = "46QPK0000003"
PUBLISH_CODE = "46QCT0000002"


def box(x0: float, y0: float, x1: float, y1: float) -> str:
    """EWKT of a rectangle in EPSG:9214, offsets in metres from the control point."""
    pts = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    ring = ", ".join(f"{E0 + x:.3f} {N0 + y:.3f}" for x, y in pts)
    return f"SRID=9214;MULTIPOLYGON((({ring})))"


def line(x0: float, y0: float, x1: float, y1: float) -> str:
    return f"SRID=9214;MULTILINESTRING(({E0 + x0:.3f} {N0 + y0:.3f}, {E0 + x1:.3f} {N0 + y1:.3f}))"


def load_sample(url: str) -> dict[str, Any]:
    """Write the sample; returns the ids of what it wrote."""
    ids: dict[str, Any] = {}
    with psycopg.connect(url) as conn:

        def one(sql: str, *args: Any) -> Any:
            row = conn.execute(sql, args).fetchone()
            assert row is not None
            return row[0]

        def plan(code: str, name: str, status: str, version: int, decision: str | None) -> int:
            return int(
                one(
                    "INSERT INTO planning.plans (code, name, level, scale_denominator, status, version, decision_no, "
                    "decision_date, approving_authority, geom) VALUES (%s, %s, 'zoning', 2000, %s, %s, %s, "
                    "CASE WHEN %s::text IS NULL THEN NULL ELSE DATE '2024-06-15' END, 'UBND tỉnh Thừa Thiên Huế', "
                    "%s::geometry) RETURNING id",
                    code,
                    name,
                    status,
                    version,
                    decision,
                    decision,
                    box(-500, -500, 500, 500),
                )
            )

        def zone(plan_id: int, code: str, use: str, geom: str, floors: int, density: float) -> int:
            return int(
                one(
                    "INSERT INTO planning.zones (plan_id, zone_code, name, land_use_code, max_density_pct, max_floors,"
                    " min_floors, max_height_m, max_far, min_setback_m, heritage_zone, geom) VALUES "
                    "(%s, %s, %s, %s, %s, %s, 1, %s, %s, 3, 'Vùng đệm di sản', %s::geometry) RETURNING id",
                    plan_id,
                    code,
                    f"Ô {code}",
                    use,
                    density,
                    floors,
                    floors * 3.6,
                    round(floors * density / 100, 2),
                    geom,
                )
            )

        def parcel(ward: str, sheet: int, number: int, geom: str, use: str) -> int:
            return int(
                one(
                    "INSERT INTO planning.parcels (ward, sheet_no, parcel_no, area_m2, land_use_code, address, geom) "
                    "VALUES (%s, %s, %s, round(ST_Area(%s::geometry)::numeric, 1), %s, %s, %s::geometry) RETURNING id",
                    ward,
                    sheet,
                    number,
                    geom,
                    use,
                    f"{number} Đinh Tiên Hoàng, {ward}",
                    geom,
                )
            )

        ids["plan"] = plan(PLAN_CODE, "Phân khu Kinh thành Huế", "approved", 1, "1234/QĐ-UBND")
        ids["z1"] = zone(ids["plan"], "Z1", "ODT", box(-500, -500, 10, 500), 3, 60)
        ids["z2"] = zone(ids["plan"], "Z2", "TMD", box(10, -500, 500, 500), 9, 40)
        ids["p1"] = parcel("Thuận Thành", 12, 35, box(-30, -10, 20, 10), "ODT")
        ids["p2"] = parcel("Thuận Thành", 12, 34, box(-200, -200, -150, -150), "ODT")
        ids["p3"] = parcel("Phú Hậu", 12, 35, box(200, 200, 250, 250), "TMD")
        ids["b1"] = one(
            "INSERT INTO planning.buildings (parcel_id, name, floors, height_m, geom) "
            "VALUES (%s, 'Nhà số 35', 3, 11.5, %s::geometry) RETURNING id",
            ids["p1"],
            box(0, 0, 5, 5),
        )
        ids["red_line"] = one(
            "INSERT INTO planning.red_lines (plan_id, road_name, red_line_width_m, geom) "
            "VALUES (%s, 'Đinh Tiên Hoàng', 24, %s::geometry) RETURNING id",
            ids["plan"],
            line(-500, 100, 500, 100),
        )
        ids["building_line"] = one(
            "INSERT INTO planning.building_lines (plan_id, road_name, red_line_width_m, setback_m, geom) "
            "VALUES (%s, 'Đinh Tiên Hoàng', 24, 6, %s::geometry) RETURNING id",
            ids["plan"],
            line(-500, 94, 500, 94),
        )
        ids["draft"] = plan(DRAFT_CODE, "Phân khu dự thảo", "draft", 1, None)
        ids["draft_zone"] = zone(ids["draft"], "D1", "ONT", box(-500, -500, 500, 500), 2, 80)
        ids["publish_v1"] = plan(PUBLISH_CODE, "Chi tiết Thượng Thành v1", "approved", 1, "10/QĐ-UBND")
        ids["publish_v1_zone"] = zone(ids["publish_v1"], "P1", "DGD", box(300, 300, 400, 400), 2, 50)
        ids["publish_v2"] = plan(PUBLISH_CODE, "Chi tiết Thượng Thành v2", "draft", 2, "22/QĐ-UBND")
        ids["publish_v2_zone"] = zone(ids["publish_v2"], "P2", "DVH", box(300, 300, 400, 400), 3, 45)
        conn.commit()
    return ids
