"""The catalogue of plan layers against the database the migrations build.

The catalogue is the one declaration of the layers; the tables are made by migrations. These tests fail when the two
drift apart: a column in one and not the other, a type that does not match, or an accepted range outside the
table's CHECK (some CHECKs are ``NOT VALID`` for bulk loads, so the importer's range is what keeps those rows in).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gis_service.model import LAYERS, SYSTEM_COLUMNS, Column

SQL_TYPES = {
    "string": {"text"},
    "integer": {"integer", "bigint"},
    "number": {"numeric", "double precision"},
    "date": {"date"},
    "datetime": {"timestamp with time zone"},
}


@dataclass
class Bounds:
    """What a table's CHECKs and column type allow for a number: lo (strict or not) and hi."""

    lo: float = -math.inf
    lo_strict: bool = False
    hi: float = math.inf

    def holds(self, accepted: tuple[float, float]) -> bool:
        lo, hi = accepted
        above = lo > self.lo if self.lo_strict else lo >= self.lo
        return above and hi <= self.hi


_CMP = re.compile(r"\((\w+) (>=|>|<=|<) \(?(-?[\d.]+)\)?(?:::numeric)?\)")


def check_bounds(definitions: list[str]) -> dict[str, Bounds]:
    """The bounds each column gets from CHECK definitions (``pg_get_constraintdef``).

    >>> b = check_bounds(["CHECK (((d >= (0)::numeric) AND (d <= (100)::numeric)))"])["d"]
    >>> (b.lo, b.lo_strict, b.hi)
    (0.0, False, 100.0)
    """
    out: dict[str, Bounds] = {}
    for definition in definitions:
        for col, op, value in _CMP.findall(definition):
            b = out.setdefault(col, Bounds())
            v = float(value)
            if op in (">=", ">") and v >= b.lo:
                b.lo, b.lo_strict = v, op == ">"
            elif op in ("<=", "<"):
                b.hi = min(b.hi, v)
    return out


def _numeric_max(precision: int | None, scale: int | None) -> float:
    """The largest value numeric(precision, scale) holds."""
    if precision is None or scale is None:
        return math.inf
    return float(10 ** (precision - scale) - 10 ** (-scale))


def _columns(conn: Connection, table: str) -> dict[str, tuple[str, int | None, int | None]]:
    rows = conn.execute(
        sa.text(
            "SELECT column_name, data_type, numeric_precision, numeric_scale FROM information_schema.columns "
            "WHERE table_schema = 'planning' AND table_name = :t"
        ),
        {"t": table},
    ).all()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def _checks(conn: Connection, table: str) -> list[str]:
    return list(
        conn.execute(
            sa.text(
                "SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c WHERE c.contype = 'c' "
                "AND c.conrelid = CAST(:t AS regclass)"
            ),
            {"t": f"planning.{table}"},
        ).scalars()
    )


@pytest.mark.parametrize("name", list(LAYERS))
def test_catalogue_lists_every_column_of_the_table(conn: Connection, name: str) -> None:
    layer = LAYERS[name]
    in_db = set(_columns(conn, name))
    declared = {c.name for c in layer.columns}
    assert in_db, f"no table planning.{name}"
    assert sorted(in_db - set(SYSTEM_COLUMNS) - declared) == [], f"{name}: columns missing from the catalogue"
    assert sorted(declared - in_db) == [], f"{name}: catalogue columns missing from the table"


@pytest.mark.parametrize("name", list(LAYERS))
def test_catalogue_types_match_the_table(conn: Connection, name: str) -> None:
    columns = _columns(conn, name)
    wrong = [
        f"{c.name}: catalogue {c.type}, table {columns[c.name][0]}"
        for c in LAYERS[name].columns
        if columns[c.name][0] not in SQL_TYPES[c.type]
    ]
    assert wrong == []


@pytest.mark.parametrize("name", list(LAYERS))
def test_accepted_ranges_lie_inside_the_checks(conn: Connection, name: str) -> None:
    columns = _columns(conn, name)
    bounds = check_bounds(_checks(conn, name))
    problems: list[str] = []
    for c in LAYERS[name].columns:
        b = bounds.get(c.name, Bounds())
        if columns[c.name][0] == "numeric":  # numeric(p, s) holds no more than its digits
            b.hi = min(b.hi, _numeric_max(columns[c.name][1], columns[c.name][2]))
        if c.name in bounds and c.range is None:
            problems.append(f"{c.name}: the table checks it, the catalogue accepts any value")
        elif c.range is not None and not b.holds(c.range):
            problems.append(f"{c.name}: catalogue accepts {c.range}, the table allows {b}")
    print(f"{name}: {len(bounds)} checked columns, {sum(c.range is not None for c in LAYERS[name].columns)} ranges")
    assert problems == []


def test_a_range_outside_its_check_is_found() -> None:
    """The comparison above can fail: a density up to 120 % against CHECK (0..100), a width from 0 against > 0."""
    bounds = check_bounds(["CHECK (((d >= (0)::numeric) AND (d <= (100)::numeric)))", "CHECK ((w > (0)::numeric))"])
    assert not bounds["d"].holds((0, 120))
    assert not bounds["w"].holds((0, 10))
    assert bounds["w"].holds((0.01, 10))
    assert _numeric_max(5, 2) == pytest.approx(999.99)


def test_every_layer_says_what_users_read() -> None:
    for layer in LAYERS.values():
        assert layer.title_vi and layer.title_en and layer.description
        for c in layer.columns:
            assert isinstance(c, Column)
            assert c.label_vi and c.label_en, f"{layer.name}.{c.name} has no label"
            assert not (c.required and not c.imported), f"{layer.name}.{c.name}: required but never imported"
            assert c.range is None or c.is_numeric, f"{layer.name}.{c.name}: a range on a {c.type}"


def test_a_column_name_means_one_thing_in_every_layer() -> None:
    """The importer keys types and ranges by column name, so one name must have one type and one range."""
    seen: dict[str, Column] = {}
    clashes = []
    for layer in LAYERS.values():
        for c in layer.imported():
            first = seen.setdefault(c.name, c)
            if (first.type, first.range) != (c.type, c.range):
                clashes.append(f"{layer.name}.{c.name}: {c.type} {c.range}, elsewhere {first.type} {first.range}")
    assert clashes == []
