"""Columns into PostgreSQL with binary COPY, typed from the target table's own columns, encoded column by column.

Binary COPY spares the client the text formatting of every value (geometry as hex EWKB was a large share of an
import) and the server its parsing: geometry goes as EWKB bytes, which PostGIS's ``geometry_recv`` reads directly.

The stream is built a column at a time, never a row at a time: each column becomes two Arrow arrays, its fields'
lengths (big-endian int32, -1 for NULL) and their bytes, and Arrow's ``binary_join_element_wise`` lays the columns
side by side into rows in C, without psycopg's ``write_row`` call per row and value nor the tuples the rows would
have to be built as (the figures: ``docs/decisions.md``).

A column is given as one of:

- a numpy array of values, encoded here by the column's type (``int2``/``int4``/``int8``, ``float4``/``float8``,
  ``bool``, text types); ``None`` (or NaN in a float column) is NULL;
- :class:`Const`, one value for every row, encoded once;
- an Arrow binary array of fields already in PostgreSQL's binary form (NULL where null), e.g. :func:`numeric`,
  :func:`jsonb` or geometry as EWKB, or a :class:`Field` of such fields given as parts joined here.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "Const", "Field", "binary", "binary_array", "copy_columns", "copy_encoded", "encode_rows", "field_bytes",
    "fixed_width", "jsonb", "numeric", "table_types",
]  # fmt: skip

#: The types of the columns we write, by their catalog name: how a value becomes a binary field.
_FIXED = {"int2": ">i2", "int4": ">i4", "int8": ">i8", "float4": ">f4", "float8": ">f8", "bool": "u1"}
_TEXT = {"text", "varchar", "bpchar"}
_BYTES = {"numeric", "jsonb", "geometry", "bytea"}  # given as their binary fields, encoded by the caller

_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_TRAILER = b"\xff\xff"
_NULL_LENGTH = struct.pack(">i", -1)
BIN = pa.large_binary()  # int64 offsets: a batch of rows can pass 2 GB without overflow


def numeric(value: Decimal) -> bytes:
    """A finite ``Decimal`` as a ``numeric`` field of binary COPY: digit count, weight, sign and display scale
    (int16 each), then base-10000 digits (int16), the integer part's groups first. PostgreSQL strips the zero
    groups and applies the column's precision and scale itself."""
    sign, digits, exp = value.as_tuple()
    assert isinstance(exp, int), "NaN and infinity are not plan values"
    text = "".join(map(str, digits)) + "0" * max(exp, 0)
    point = len(text) + min(exp, 0)  # digits before the decimal point
    whole, frac = text[: max(point, 0)], "0" * max(-point, 0) + text[max(point, 0) :]
    whole = whole.rjust((len(whole) + 3) // 4 * 4, "0")
    frac = frac.ljust((len(frac) + 3) // 4 * 4, "0")
    groups = [int(whole[i : i + 4]) for i in range(0, len(whole), 4)]
    groups += [int(frac[i : i + 4]) for i in range(0, len(frac), 4)]
    head = struct.pack(">hhhh", len(groups), len(whole) // 4 - 1, 0x4000 if sign else 0, max(-exp, 0))
    return head + struct.pack(f">{len(groups)}h", *groups)


def jsonb(text: str) -> bytes:
    """A JSON document's text as a ``jsonb`` field of binary COPY (format version 1, then the text)."""
    return b"\x01" + text.encode()


def binary(data: bytes) -> pa.Scalar:
    """Bytes as a part of a :class:`Field` (the same in every row)."""
    return pa.scalar(data, BIN)


def field_bytes(field: Field) -> list[bytes]:
    """Each row's bytes of a :class:`Field` (its parts joined), as Python bytes: for tests and small uses."""
    out: list[bytes] = pc.binary_join_element_wise(*field.parts, binary(b"")).to_pylist()
    return out


@dataclass(frozen=True)
class Const:
    """One value for every row (a plan, a user, a file name), encoded by the column's type once."""

    value: Any


@dataclass(frozen=True)
class Field:
    """Fields given as parts joined in this order (arrays of one value a row, or :func:`binary` constants), and
    each field's length in bytes (-1: NULL, and the parts are empty there). E.g. a one-part MultiPolygon's EWKB:
    a header the same in every row, then each polygon's own WKB."""

    lengths: np.ndarray
    parts: Sequence[pa.Array | pa.Scalar]


def _as_binary(values: pa.Array) -> pa.Array:
    return values.cast(BIN) if values.type != BIN else values


def binary_array(data: Any, offsets: np.ndarray) -> pa.Array:
    """Bytes as an Arrow array over them, without a copy: element i is ``data[offsets[i]:offsets[i + 1]]``."""
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    return pa.Array.from_buffers(BIN, len(offsets) - 1, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def fixed_width(values: np.ndarray, code: str) -> pa.Array:
    """Each value as the bytes of numpy type ``code`` (e.g. ``">i4"``), one array element each."""
    width = np.dtype(code).itemsize
    data = np.ascontiguousarray(values, dtype=code)
    return binary_array(data, np.arange(len(values) + 1, dtype=np.int64) * width)


def _lengths(lengths: np.ndarray) -> pa.Array:
    """Each row's field length as the 4 bytes that precede the field."""
    return fixed_width(lengths, ">i4")


def _fixed(values: np.ndarray, code: str, null: np.ndarray | None) -> tuple[np.ndarray, pa.Array]:
    """Fixed-width values (numbers, booleans) in big-endian, with their lengths (-1 where null)."""
    width = np.dtype(code).itemsize
    lengths = np.full(len(values), width, dtype=np.int32)
    if null is None or not null.any():
        return lengths, fixed_width(values, code)
    lengths[null] = -1  # a NULL field has no bytes: they are left out of the row's stream
    data = np.ascontiguousarray(values[~null], dtype=code)
    return lengths, binary_array(data, np.concatenate([[0], np.cumsum(np.where(null, 0, width))]))


def _encode(name: str, typ: str, values: Any, n: int) -> list[pa.Array | pa.Scalar]:
    """The parts of one column in the row stream: each field's length, then its bytes."""
    if isinstance(values, Const):
        return _encode_const(name, typ, values)
    if isinstance(values, Field):
        if len(values.lengths) != n:
            raise ValueError(f"{name}: {len(values.lengths)} fields for {n} rows")
        return [_lengths(values.lengths), *values.parts]
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return _encode_arrow(name, typ, values)
    values = np.asarray(values)
    if len(values) != n:
        raise ValueError(f"{name}: {len(values)} values for {n} rows")
    if typ in _TEXT:
        return _encode(name, typ, pa.array(values, pa.large_string(), from_pandas=True), n)
    if typ in _BYTES:
        return _encode(name, typ, pa.array(values, BIN, from_pandas=True), n)
    if typ in _FIXED:
        return _encode_fixed(typ, values)
    raise TypeError(f"{name}: no binary COPY for type {typ!r}")


def _encode_const(name: str, typ: str, values: Const) -> list[pa.Array | pa.Scalar]:
    """One value for every row: its length and bytes as a single constant part."""
    if values.value is None:
        return [binary(_NULL_LENGTH)]
    data = _encode(name, typ, np.array([values.value], dtype=object), 1)
    return [binary(b"".join(p[0].as_py() for p in data))]


def _encode_arrow(name: str, typ: str, values: pa.Array | pa.ChunkedArray) -> list[pa.Array | pa.Scalar]:
    """Text, or fields already in binary form, given as an Arrow array (NULL where null)."""
    if typ not in _BYTES and typ not in _TEXT:
        raise TypeError(f"{name}: an Arrow array is taken for {', '.join(sorted(_BYTES | _TEXT))}, not {typ}")
    arr = _as_binary(values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values)
    lengths = pc.binary_length(arr).fill_null(-1).to_numpy(zero_copy_only=False)
    return [_lengths(lengths), arr.fill_null(b"")]


def _encode_fixed(typ: str, values: np.ndarray) -> list[pa.Array | pa.Scalar]:
    """Numbers or booleans; ``None`` in an object array, or NaN in a float array, is NULL."""
    code = _FIXED[typ]
    null: np.ndarray | None = None
    if values.dtype == object:
        arrow_type = pa.bool_() if typ == "bool" else pa.float64() if code[1] == "f" else pa.int64()
        arr = pa.array(values, arrow_type, from_pandas=True)
        null = arr.is_null().to_numpy(zero_copy_only=False) if arr.null_count else None
        values = arr.fill_null(False if typ == "bool" else 0).to_numpy(zero_copy_only=False)
    elif values.dtype.kind == "f":
        nan = np.isnan(values)
        null = nan if nan.any() else None
    lengths, encoded = _fixed(values, code, null)
    return [_lengths(lengths), encoded]


def table_types(conn: psycopg.Connection[Any], table: str) -> dict[str, str]:
    """The catalog type name of each column of ``table`` (what :func:`encode_rows` encodes by)."""
    rows = conn.execute(
        "SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
        "WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped",
        (table,),
    ).fetchall()
    return {str(n): str(t) for n, t in rows}


def _types(types: dict[str, str], table: str, columns: Sequence[str]) -> list[str]:
    missing = [c for c in columns if c not in types]
    if missing:
        raise TypeError(f"{table} has no column {', '.join(missing)}")
    return [types[c] for c in columns]


def encode_rows(types: Sequence[str], names: Sequence[str], columns: Sequence[Any], n: int) -> pa.Buffer:
    """The rows of binary COPY (without its header and trailer) for ``n`` rows of these columns, of these catalog
    types. No database here: an importer's thread can encode a batch while another batch is being copied."""
    if not n:
        return pa.py_buffer(b"")
    parts: list[pa.Array | pa.Scalar] = [binary(struct.pack(">h", len(columns)))]
    for name, typ, values in zip(names, types, columns, strict=True):
        parts += _encode(name, typ, values, n)
    if not any(isinstance(p, pa.Array) for p in parts):  # constants only: one row's bytes, n times
        row = b"".join(p.as_py() for p in parts)
        return pa.py_buffer(row * n)
    # Arrow joins the parts row by row. No part is null here (a NULL field is its -1 length and no bytes), so each
    # row is every part's bytes in order.
    rows = pc.binary_join_element_wise(*parts, binary(b""))
    if len(rows) != n or rows.null_count:  # pragma: no cover - a fault of ours, not of the data
        raise AssertionError(f"binary COPY: {len(rows)} rows ({rows.null_count} null) for {n}")
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int64)
    start, end = int(offsets[rows.offset]), int(offsets[rows.offset + n])
    data: pa.Buffer = rows.buffers()[2]
    return data.slice(start, end - start)


def copy_encoded(conn: psycopg.Connection[Any], table: str, names: Sequence[str], rows: pa.Buffer) -> None:
    """COPY rows :func:`encode_rows` made for ``names`` into ``table``."""
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN (FORMAT BINARY)") as cp:
        cp.write(_SIGNATURE)
        if rows.size:
            cp.write(memoryview(rows))
        cp.write(_TRAILER)


def copy_columns(
    conn: psycopg.Connection[Any], table: str, names: Sequence[str], columns: Sequence[Any], n: int
) -> None:
    """COPY ``n`` rows given as ``columns`` (in ``names`` order, see the module's text) into ``table`` in binary."""
    types = _types(table_types(conn, table), table, names)
    copy_encoded(conn, table, names, encode_rows(types, names, columns, n))
