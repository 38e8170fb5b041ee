"""The comparison's statements, sent with PostgreSQL's own ``$n`` placeholders.

psycopg caches the parsing of its ``%(name)s`` placeholders only for statements under 4 KB; the comparisons are
longer, and parsing them again cost more than running them on a parcel. A :class:`Statement` is parsed once, at
import, and runs through a :class:`psycopg.RawCursor`.

PostGIS declares its functions costly (COST 10000), so a comparison of a whole plan is planned at a cost of
millions and PostgreSQL's JIT compiles it first: 3 to 4 s spent before a query of 0.2 s. The statements run with
JIT off for themselves, in the caller's transaction, which gets its setting back after.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import psycopg

__all__ = ["Statement"]

_NAMED = re.compile(r"%\((\w+)\)s")


class Statement:
    """A statement written with ``%(name)s`` placeholders, turned into ``$1, $2, ...`` once.

    >>> s = Statement("SELECT %(a)s + %(b)s -- a comment\\n, %(a)s")
    >>> s.text, s.names
    ('SELECT $1 + $2 , $1', ('a', 'b'))
    """

    def __init__(self, sql: str) -> None:
        names: list[str] = []

        def number(m: re.Match[str]) -> str:
            if m.group(1) not in names:
                names.append(m.group(1))
            return f"${names.index(m.group(1)) + 1}"

        compact = re.sub(r"\s+", " ", re.sub(r"--[^\n]*", "", sql)).strip()
        self.text = _NAMED.sub(number, compact)
        self.names = tuple(names)

    def rows(self, pg: psycopg.Connection[Any], params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Run the statement with ``params`` (by name) and return its rows."""
        if pg.autocommit:  # a setting local to a transaction needs one around the statement
            with pg.transaction():
                return self._rows(pg, params)
        return self._rows(pg, params)

    def _rows(self, pg: psycopg.Connection[Any], params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        with psycopg.RawCursor(pg) as cur:
            cur.execute("SELECT current_setting('jit'), set_config('jit', 'off', true)", prepare=True)
            row = cur.fetchone()
            try:
                cur.execute(self.text, [params[n] for n in self.names], prepare=True)
                return cur.fetchall()
            finally:
                failed = pg.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
                if row is not None and row[0] != "off" and not failed:
                    cur.execute("SELECT set_config('jit', $1, true)", [row[0]], prepare=True)
