"""A zoning plan (approved) and a detailed plan (draft) inside it, with known breaches, for the consistency tests.

Zoning plan ``46QPK0009911`` (1/2000, approved): zone ``A`` urban housing (ODT) limited to 3 floors, 12 m, FAR 2;
zone ``B`` a school (DGD); zone ``R`` the river (SON); one red line along the north edge (y = 100 m).

Detailed plan ``46QCT0009911`` (1/500, draft): ``a1`` housing with 5 floors inside ``A`` (2,500 m²); ``b1`` housing
on the school land of ``B`` (3,600 m²); ``a2`` a road (DGT) inside ``A``, which any zone allows; ``r1`` housing on
the river (400 m²); its red line drawn 3 m north of the zoning plan's.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

__all__ = ["DETAILED", "E0", "N0", "ZONING", "box", "load_plan_pair"]

E0, N0 = 561000.0, 1822500.0
ZONING, DETAILED = "46QPK0009911", "46QCT0009911"


def box(x0: float, y0: float, x1: float, y1: float) -> str:
    """EWKT of a rectangle in EPSG:9214, in metres from (E0, N0)."""
    ring = ", ".join(f"{E0 + x:.3f} {N0 + y:.3f}" for x, y in [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)])
    return f"SRID=9214;MULTIPOLYGON((({ring})))"


def line(x0: float, y0: float, x1: float, y1: float) -> str:
    return f"SRID=9214;MULTILINESTRING(({E0 + x0:.3f} {N0 + y0:.3f}, {E0 + x1:.3f} {N0 + y1:.3f}))"


def _plan(conn: Connection, code: str, level: str, scale: int, status: str, geom: str) -> int:
    pid: int = conn.execute(
        sa.text(
            "INSERT INTO planning.plans (code, name, level, scale_denominator, status, decision_no, decision_date, "
            "geom) VALUES (:code, :name, :level, :scale, :status, :dno, :ddate, ST_GeomFromEWKT(:geom)) RETURNING id"
        ),
        {
            "code": code,
            "name": f"Đồ án thử {code}",
            "level": level,
            "scale": scale,
            "status": status,
            "dno": "12/QĐ-UBND" if status == "approved" else None,
            "ddate": "2025-03-01" if status == "approved" else None,
            "geom": geom,
        },
    ).scalar_one()
    return pid


def _zone(conn: Connection, plan_id: int, code: str, use: str, geom: str, **rules: Any) -> int:
    cols = ["plan_id", "zone_code", "land_use_code", "geom", *rules]
    values = [":plan_id", ":zone_code", ":use", "ST_GeomFromEWKT(:geom)", *(f":{k}" for k in rules)]
    zid: int = conn.execute(
        sa.text(f"INSERT INTO planning.zones ({', '.join(cols)}) VALUES ({', '.join(values)}) RETURNING id"),
        {"plan_id": plan_id, "zone_code": code, "use": use, "geom": geom, **rules},
    ).scalar_one()
    return zid


def load_plan_pair(conn: Connection) -> dict[str, int]:
    """Write both plans in the caller's transaction; their ids and the zones' ids by zone code."""
    ids: dict[str, int] = {}
    ids["zoning"] = z = _plan(conn, ZONING, "zoning", 2000, "approved", box(0, 0, 300, 100))
    ids["A"] = _zone(conn, z, "A", "ODT", box(0, 0, 100, 100), max_floors=3, max_height_m=12, max_far=2)
    ids["B"] = _zone(conn, z, "B", "DGD", box(100, 0, 200, 100), max_floors=4)
    ids["R"] = _zone(conn, z, "R", "SON", box(200, 0, 300, 100))
    conn.execute(
        sa.text("INSERT INTO planning.red_lines (plan_id, road_name, red_line_width_m, geom) VALUES (:p, :n, 20, :g)"),
        {"p": z, "n": "Đường Thử", "g": line(0, 100, 300, 100)},
    )
    ids["detailed"] = d = _plan(conn, DETAILED, "detailed", 500, "draft", box(0, 0, 220, 100))
    ids["a1"] = _zone(conn, d, "a1", "ODT", box(10, 10, 60, 60), max_floors=5, max_height_m=12)
    ids["a2"] = _zone(conn, d, "a2", "DGT", box(60, 0, 100, 100))
    ids["b1"] = _zone(conn, d, "b1", "ODT", box(120, 10, 180, 70), max_floors=3)
    ids["r1"] = _zone(conn, d, "r1", "ODT", box(200, 30, 220, 50), max_floors=2)
    conn.execute(
        sa.text("INSERT INTO planning.red_lines (plan_id, road_name, red_line_width_m, geom) VALUES (:p, :n, 20, :g)"),
        {"p": d, "n": "Đường Thử", "g": line(0, 103, 220, 103)},
    )
    return ids
