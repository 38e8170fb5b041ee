"""Rows of a layer into the database: COPY in batches, then the upserts of parcels and buildings (a re-import
updates what changed and adds what is new)."""

from __future__ import annotations

import re
from typing import Any

import psycopg
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from converters.errors import ConverterError
from converters.importer.bulk_zones import create_partition, zone_partition
from converters.mapping import TABLE_OF
from converters.pgcopy import copy_encoded, encode_rows, table_types
from converters.report import LayerReport


class Writer:
    """Rows of one layer into its table: COPY, in batches, inside the import's transaction.

    Zones of a plan version go in bulk into a table of their own (``planning.zones_plan_<id>``, a copy of the
    columns and checks of ``planning.zones``), with their serving columns computed here;
    :func:`~converters.importer.bulk_zones.attach_zones` then builds its indexes and attaches it as the plan's
    partition (migration 0004 says why). Parcels and buildings go into a temporary table first, to be merged into
    theirs by :meth:`finish`.
    """

    def __init__(self, conn: Connection, kind: str, plan_id: int | None, columns: list[str], user: str) -> None:
        self.conn = conn
        self.kind = kind
        self.table = TABLE_OF[kind]
        self.plan_id = plan_id
        self.user = user
        self.columns = [*list(columns), "source", "source_id", "position_error_m", "attributes", "geom"]
        if kind in ("zones", "red-lines", "building-lines"):
            self.columns = ["plan_id", *self.columns]
        self.staged = kind in ("parcels", "buildings")
        self.bulk = kind == "zones" and plan_id is not None
        self.target = f"import_{self.table}" if self.staged else f"planning.{self.table}"
        if plan_id is not None and self.bulk:
            self._bulk_target(plan_id)
        if self.staged:
            self._staging_table()
        self.raw: psycopg.Connection[Any] = conn.connection.driver_connection  # type: ignore[assignment]
        self.types = table_types(self.raw, self.target)
        missing = [c for c in self.columns if c not in self.types]
        if missing:  # pragma: no cover - the model and this module disagree
            raise TypeError(f"{self.target} has no column {', '.join(missing)}")

    def _bulk_target(self, plan_id: int) -> None:
        """The plan's table of bulk zones, made if it is not there yet, and the serving columns sent to it."""
        self.target = zone_partition(plan_id)
        self.columns += ["geom_4326", "geom_3857", "geom_area_m2", "created_by", "updated_by"]
        if self._exec("SELECT to_regclass(:t)", {"t": self.target}).scalar() is None:
            create_partition(self.conn, plan_id, self.user)

    def _staging_table(self) -> None:
        """The temporary table the rows are copied into before :meth:`finish` merges them."""
        extra = ", NULL::text AS source_key" if self.kind == "buildings" else ""
        self._exec(
            f"CREATE TEMP TABLE import_{self.table} ON COMMIT DROP AS "
            f"SELECT {', '.join(self.columns)}{extra} FROM planning.{self.table} WITH NO DATA"
        )
        if self.kind == "buildings":
            self.columns.append("source_key")

    def _exec(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        return self.conn.execute(sa.text(sql), params or {})

    def encode(self, columns: list[str], values: list[Any], n: int) -> pa.Buffer:
        """Rows for :meth:`copy` (no database: the reading thread encodes a batch while another is copied)."""
        return encode_rows([self.types[c] for c in columns], columns, values, n)

    def copy(self, columns: list[str], rows: pa.Buffer, fids: list[Any], label: str) -> None:
        """Copy encoded rows into the target; a row the server refuses is named by its feature id."""
        try:
            copy_encoded(self.raw, self.target, columns, rows)
        except psycopg.Error as exc:
            raise row_error(exc, fids, label) from None

    def finish(self, lr: LayerReport) -> None:
        """Merge staged parcels or buildings into their table, counting what was written, updated, unchanged."""
        cols = [c for c in self.columns if c != "source_key"]
        if self.kind == "parcels":
            self._finish_parcels(cols, lr)
        elif self.kind == "buildings":
            self._finish_buildings(cols, lr)

    def _finish_parcels(self, cols: list[str], lr: LayerReport) -> None:
        """Parcels keyed by ward, sheet and parcel number: a parcel twice in the source stops the import."""
        cl = ", ".join(cols)
        dup = self._exec(
            "SELECT ward, sheet_no, parcel_no, count(*) FROM import_parcels GROUP BY 1, 2, 3 HAVING count(*) > 1 "
            "ORDER BY 1, 2, 3 LIMIT 20"
        ).all()
        if dup:
            listed = "; ".join(f"{w} sheet {s} parcel {p} ({n}×)" for w, s, p, n in dup)
            raise ConverterError(f"{lr.source}: the same parcel appears more than once: {listed}")
        sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in cols)
        row = self._exec(
            f"WITH up AS (INSERT INTO planning.parcels AS t ({cl}) SELECT {cl} FROM import_parcels "
            f"ON CONFLICT (ward, sheet_no, parcel_no) DO UPDATE SET {sets} "
            f"WHERE {changed(cols, 't', 'EXCLUDED')} "
            "RETURNING (xmax = 0) AS inserted) "
            "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up"
        ).one()
        lr.written, lr.updated = int(row[0]), int(row[1])
        lr.unchanged = lr.read - lr.dropped_total - lr.written - lr.updated

    def _finish_buildings(self, cols: list[str], lr: LayerReport) -> None:
        """Buildings keyed by their source id (else always new), each on the parcel holding a point of it."""
        self._exec(
            "UPDATE import_buildings s "
            "SET attributes = s.attributes || jsonb_build_object('source_key', s.source_key) "
            "WHERE s.source_key IS NOT NULL"
        )
        # the building stands on the parcel holding a point of its footprint
        cols2 = [*cols, "parcel_id"]
        self._exec("ALTER TABLE import_buildings ADD COLUMN parcel_id bigint")
        self._exec(
            "UPDATE import_buildings s SET parcel_id = p.id FROM planning.parcels p "
            "WHERE p.geom && s.geom AND ST_Contains(p.geom, ST_PointOnSurface(s.geom))"
        )
        cl2 = ", ".join(cols2)
        updated = self._exec(
            f"UPDATE planning.buildings t SET ({cl2}) = (SELECT {', '.join('s.' + c for c in cols2)}) "
            "FROM import_buildings s WHERE s.source_key IS NOT NULL AND t.attributes->>'source_key' = s.source_key "
            f"AND {changed(cols2, 't', 's')}"
        ).rowcount
        inserted = self._exec(
            f"INSERT INTO planning.buildings ({cl2}) "
            f"SELECT {', '.join('s.' + c for c in cols2)} FROM import_buildings s "
            "WHERE s.source_key IS NULL OR NOT EXISTS (SELECT 1 FROM planning.buildings t "
            "WHERE t.attributes->>'source_key' = s.source_key)"
        ).rowcount
        lr.written, lr.updated = int(inserted), int(updated)
        lr.unchanged = lr.read - lr.dropped_total - lr.written - lr.updated


def changed(cols: list[str], old: str, new: str) -> str:
    """SQL: the row's content changed. Where it came from (file name, feature id) is not a change of the parcel."""
    content = [c for c in cols if c not in ("source", "source_id", "position_error_m", "attributes")]
    return (
        f"(({', '.join(f'{old}.{c}' for c in content)}, {old}.attributes - 'source_fid') IS DISTINCT FROM "
        f"({', '.join(f'{new}.{c}' for c in content)}, {new}.attributes - 'source_fid'))"
    )


def row_error(exc: psycopg.Error, fids: list[Any], label: str) -> ConverterError:
    """The server's refusal of a COPY row, naming the feature of the row's line."""
    diag = exc.diag
    msg = (diag.message_primary or str(exc)).strip()
    m = re.search(r"line (\d+)", diag.context or "")
    where = label
    if m and int(m.group(1)) - 1 < len(fids):
        where = f"{label}, feature {fids[int(m.group(1)) - 1]}"
    if diag.constraint_name:
        msg += f" (rule {diag.constraint_name})"
    return ConverterError(f"{where}: the database refused it: {msg}")
