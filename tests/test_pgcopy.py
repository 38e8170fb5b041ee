"""converters.pgcopy: what binary COPY writes reads back exactly (numeric as its own encoding, jsonb, geometry)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import psycopg
import shapely
from sqlalchemy.engine import Engine

from converters.pgcopy import copy_rows, jsonb, numeric

VALUES = ["0", "0.0", "60.0", "60.00", "3.5", "0.5", "0.01", "0.0001", "0.00001", "-1.25", "123456.78", "10000",
          "9999.9999", "1E+3", "1E-7", "-0.05", "100", "25.1", "7.0"]  # fmt: skip


def test_binary_copy_reads_back_exactly(engine: Engine) -> None:
    raw = engine.raw_connection()
    try:
        conn: psycopg.Connection[Any] = raw.driver_connection  # type: ignore[assignment]
        conn.execute("CREATE TEMP TABLE c (i int, v numeric, w numeric(9, 2), j jsonb, g geometry(Point, 9214))")
        point = shapely.to_wkb(shapely.set_srid(shapely.Point(561625.296, 1821650.262), 9214), include_srid=True)
        rows = [
            (i, numeric(Decimal(v)), numeric(Decimal(v)), jsonb('{"k": "Đất ở"}'), point) for i, v in enumerate(VALUES)
        ]
        copy_rows(conn, "c", ["i", "v", "w", "j", "g"], rows)
        got = conn.execute("SELECT i, v, w, j->>'k', ST_AsText(g) FROM c ORDER BY i").fetchall()
        for i, v, w, k, g in got:
            given = Decimal(VALUES[i])
            assert v == given and v.as_tuple().exponent == min(0, int(given.as_tuple().exponent))  # value and scale
            assert w == round(Decimal(VALUES[i]), 2)
            assert k == "Đất ở" and g == "POINT(561625.296 1821650.262)"
        conn.rollback()
    finally:
        raw.close()
