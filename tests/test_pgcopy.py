"""converters.pgcopy: what binary COPY writes reads back exactly (numbers, NULLs, text, numeric as its own
encoding, jsonb, geometry, constants and fields given as parts)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import psycopg
import pyarrow as pa
import pytest
import shapely
from sqlalchemy.engine import Engine

from converters.pgcopy import Const, Field, binary, copy_columns, jsonb, numeric

VALUES = ["0", "0.0", "60.0", "60.00", "3.5", "0.5", "0.01", "0.0001", "0.00001", "-1.25", "123456.78", "10000",
          "9999.9999", "1E+3", "1E-7", "-0.05", "100", "25.1", "7.0"]  # fmt: skip


@pytest.fixture
def conn(engine: Engine) -> Any:
    raw = engine.raw_connection()
    try:
        c: psycopg.Connection[Any] = raw.driver_connection  # type: ignore[assignment]
        yield c
        c.rollback()
    finally:
        raw.close()


def test_binary_copy_reads_back_exactly(conn: psycopg.Connection[Any]) -> None:
    conn.execute("CREATE TEMP TABLE c (i int, v numeric, w numeric(9, 2), j jsonb, g geometry(Point, 9214))")
    point = shapely.to_wkb(shapely.set_srid(shapely.Point(561625.296, 1821650.262), 9214), include_srid=True)
    n = len(VALUES)
    nums = np.array([numeric(Decimal(v)) for v in VALUES], dtype=object)
    docs = pa.array([jsonb('{"k": "Đất ở"}')] * n, pa.binary())
    copy_columns(conn, "c", ["i", "v", "w", "j", "g"], [np.arange(n), nums, nums, docs, Const(point)], n)
    got = conn.execute("SELECT i, v, w, j->>'k', ST_AsText(g) FROM c ORDER BY i").fetchall()
    assert len(got) == n
    for i, v, w, k, g in got:
        given = Decimal(VALUES[i])
        assert v == given and v.as_tuple().exponent == min(0, int(given.as_tuple().exponent))  # value and scale
        assert w == round(Decimal(VALUES[i]), 2)
        assert k == "Đất ở" and g == "POINT(561625.296 1821650.262)"


def test_nulls_types_constants_and_parts(conn: psycopg.Connection[Any]) -> None:
    conn.execute(
        "CREATE TEMP TABLE t (a int2, b int4, c int8, d float8, e float4, f bool, s text, v varchar, k text, "
        "z text, p bytea)"
    )
    a = np.array([1, None, -3], dtype=object)
    b = np.array([2**31 - 1, -(2**31), 0], dtype=np.int64)
    c = np.array([None, 2**40, None], dtype=object)
    d = np.array([1.5, np.nan, -0.25])
    e = np.array([0.5, 2.0, None], dtype=object)
    f = np.array([True, None, False], dtype=object)
    s = np.array(["Đất ở tại đô thị", None, ""], dtype=object)
    v = pa.array(["x", "Thửa đất", None])
    p = Field(np.array([3, 2, 2], dtype=np.int32), [binary(b"ab"), pa.array([b"c", b"", b""], pa.large_binary())])
    copy_columns(
        conn, "t", ["a", "b", "c", "d", "e", "f", "s", "v", "k", "z", "p"],
        [a, b, c, d, e, f, s, v, Const("hằng"), Const(None), p], 3,
    )  # fmt: skip
    got = conn.execute("SELECT a, b, c, d, e, f, s, v, k, z, p FROM t").fetchall()
    assert got == [
        (1, 2**31 - 1, None, 1.5, 0.5, True, "Đất ở tại đô thị", "x", "hằng", None, b"abc"),
        (None, -(2**31), 2**40, None, 2.0, None, None, "Thửa đất", "hằng", None, b"ab"),
        (-3, 0, None, -0.25, None, False, "", None, "hằng", None, b"ab"),
    ]


def test_refuses_what_it_cannot_type(conn: psycopg.Connection[Any]) -> None:
    conn.execute("CREATE TEMP TABLE u (d date, i int)")
    with pytest.raises(TypeError, match="no binary COPY for type 'date'"):
        copy_columns(conn, "u", ["d"], [np.array([None], dtype=object)], 1)
    with pytest.raises(TypeError, match="has no column x"):
        copy_columns(conn, "u", ["x"], [np.array([1])], 1)
    with pytest.raises(ValueError, match="2 values for 3 rows"):
        copy_columns(conn, "u", ["i"], [np.array([1, 2])], 3)


def test_a_refused_row_is_named_by_its_feature(conn: psycopg.Connection[Any]) -> None:
    """The server's COPY error gives the row's line; the importer names the feature of that line."""
    from converters.importer.writes import row_error

    conn.execute("CREATE TEMP TABLE r (v int CHECK (v < 4), s text)")
    with pytest.raises(psycopg.Error) as refused:
        copy_columns(conn, "r", ["v", "s"], [np.arange(6), Const("Đất ở")], 6)
    error = row_error(refused.value, [10, 20, 30, 40, 50, 60], "zones.gpkg")
    assert str(error).startswith("zones.gpkg, feature 50: the database refused it: ")
    assert str(error).endswith("(rule r_v_check)")
