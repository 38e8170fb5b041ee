"""A plan version's zones in bulk: the table of its own they are loaded into, their geometry columns, the checks the
importer makes itself, and the attaching of that table as the plan's partition of ``planning.zones``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import psycopg
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from converters.crs import STORAGE_EPSG, serving_coordinates
from converters.errors import ConverterError
from converters.importer.columns import BULK_DEFAULTS
from converters.report import ImportReport
from converters.wkb import copy_shapes
from gis_service.model.layers import ZONES

#: Checks of ``planning.zones`` that the importer makes itself on every zone it loads in bulk, so the server does not
#: make them again. Valid geometry (migration 0005): ``converters.geometry.normalise`` checks it with the same GEOS
#: predicate as ``ST_IsValid``, and repairs. The rest (migration 0008): no empty shape (``normalise`` drops them),
#: each number within :data:`~converters.importer.columns.RANGES` (narrower than the checks), minimum floors at most
#: maximum floors (:class:`~converters.importer.values.ColumnValues`), and ``row_version``, which the importer never
#: sends (its default is 1). They are ``NOT VALID`` on ``planning.zones``: still checked on every other insert and
#: update.
IMPORTER_CHECKS = (
    "zones_geom_valid",
    "zones_geom_not_empty",
    "zones_floors_order",
    *(f"zones_{c.name}_check" for c in ZONES.imported() if c.range is not None),
    "zones_row_version_check",
)


def zone_partition(plan_id: int) -> str:
    """The name of the plan version's table of bulk zones."""
    return f"planning.zones_plan_{int(plan_id)}"


def zone_geometry_columns(geoms: np.ndarray) -> list[Any]:
    """The geometry columns of bulk zones: EWKB in EPSG:9214, its lon/lat and Web Mercator copies (the same shapes
    with their points replaced, ``converters.wkb``), and the area in m²."""
    shapes = copy_shapes(geoms)
    lonlat, merc = serving_coordinates(shapes.coordinates())
    return [shapes.field(STORAGE_EPSG), shapes.field(4326, lonlat), shapes.field(3857, merc), shapely.area(geoms)]


def importer_checks(conn: Connection) -> list[str]:
    """Those of :data:`IMPORTER_CHECKS` that are ``NOT VALID`` on ``planning.zones`` (a database before migration
    0005 checks them on the server as before)."""
    rows = conn.execute(
        sa.text(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'planning.zones'::regclass AND contype = 'c' "
            "AND NOT convalidated AND conname = ANY(:names) ORDER BY conname"
        ),
        {"names": list(IMPORTER_CHECKS)},
    ).all()
    return [str(r[0]) for r in rows]


def create_partition(conn: Connection, plan_id: int, user: str) -> None:
    """The plan's table: the columns and checks of ``planning.zones``, and a check that every row is the plan's.

    Keys and indexes come after the load (:func:`attach_zones`): PostgreSQL then builds each index in one pass,
    far cheaper than keeping them up row by row. The ``plan_id`` check spares ATTACH its scan of the rows.
    """
    part, pid = zone_partition(plan_id), int(plan_id)
    name = part.split(".")[1]
    conn.execute(sa.text(f"CREATE TABLE {part} (LIKE planning.zones INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"))
    # The checks this importer makes itself are added after the load, unchecked by the server (attach_zones)
    for check in importer_checks(conn):
        conn.execute(sa.text(f"ALTER TABLE {part} DROP CONSTRAINT IF EXISTS {check}"))
    conn.execute(
        sa.text(
            f"ALTER TABLE {part} ADD CONSTRAINT {name}_plan_id_check CHECK (plan_id IS NOT NULL AND plan_id = {pid})"
        )
    )
    quoted = conn.execute(sa.text("SELECT quote_literal(:u)"), {"u": user}).scalar_one()
    defaults = {"plan_id": str(pid), "created_by": quoted, "updated_by": quoted}
    assert set(defaults) == set(BULK_DEFAULTS)
    conn.execute(sa.text(f"ALTER TABLE {part} " + ", ".join(f"ALTER {c} SET DEFAULT {v}" for c, v in defaults.items())))


def _index_statements(conn: Connection, part: str) -> list[str]:
    """``CREATE INDEX zones_geom_idx ON ONLY planning.zones USING gist (geom)`` → the same index on the plan's
    table."""
    return [
        f"CREATE INDEX ON {part} {definition.split(' ON ONLY planning.zones ', 1)[1]}"
        for (definition,) in conn.execute(
            sa.text(
                "SELECT pg_get_indexdef(indexrelid) FROM pg_index "
                "WHERE indrelid = 'planning.zones'::regclass AND NOT indisprimary ORDER BY indexrelid"
            )
        ).all()
    ]


def _key_and_check_statements(conn: Connection, part: str) -> list[str]:
    """The primary key, the importer's own checks (``CHECK (st_isvalid(geom)) NOT VALID``, added without a scan)
    and the foreign keys of ``planning.zones``."""
    return [f"ALTER TABLE {part} ADD PRIMARY KEY (id, plan_id)"] + [
        f"ALTER TABLE {part} ADD CONSTRAINT {name} {definition}"
        for name, definition in conn.execute(
            sa.text(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = 'planning.zones'::regclass "
                "AND (contype = 'f' OR (contype = 'c' AND conname = ANY(:checks))) ORDER BY conname"
            ),
            {"checks": importer_checks(conn)},
        ).all()
    ]


def _foreign_key_statements(conn: Connection, part: str) -> list[str]:
    """Since migration 0007 the foreign keys are each partition's own (``planning.zones`` has none): those of
    ``zones_default``, added NOT VALID, without a scan. The importer made sure of them: the plan is the one it
    created, each code was mapped against ``planning.land_use_codes`` in this transaction."""
    return [
        f"ALTER TABLE {part} ADD CONSTRAINT {name} {definition} NOT VALID"
        for name, definition in conn.execute(
            sa.text(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = 'planning.zones_default'::regclass AND contype = 'f' "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint p WHERE p.conrelid = 'planning.zones'::regclass "
                "AND p.contype = 'f') ORDER BY conname"
            )
        ).all()
    ]


def _attach_statements(conn: Connection, part: str, plan_id: int) -> list[str]:
    """The statements that build the keys and indexes of the plan's table, then attach it."""
    keys = _key_and_check_statements(conn, part)
    keys += _foreign_key_statements(conn, part)
    # The spatial index first: one backend builds it while the overlap check runs beside; the primary key's build
    # then takes both cores (PostgreSQL's parallel workers).
    keys[:0] = _index_statements(conn, part)
    keys.append(f"ALTER TABLE {part} " + ", ".join(f"ALTER {c} DROP DEFAULT" for c in BULK_DEFAULTS))
    keys.append(f"ALTER TABLE planning.zones ATTACH PARTITION {part} FOR VALUES IN ({int(plan_id)})")
    return keys


def attach_zones(
    conn: Connection, plan_id: int, user: str, reason: str, report: ImportReport, beside: Callable[[], Any]
) -> Any:
    """Attach the plan version's bulk-loaded zones as its partition of ``planning.zones``.

    First, on the table no one else sees yet, the keys and indexes of ``planning.zones``: each index built in one
    pass; the foreign keys (plan, land-use code) and the checks the importer has made itself
    (:data:`IMPORTER_CHECKS`) added as ``NOT VALID`` (migrations 0005, 0007). ``ATTACH PARTITION`` then adopts them, so
    the locks it takes (``zones_default`` exclusively, until the commit) last milliseconds, not the seconds the
    builds take. The history gets one ``planning.bulk_loads`` row; each zone's own ``insert`` entry is written when
    first needed (``planning.ensure_history``).

    ``beside`` starts work to run while the server builds (the overlap check); what it returns is returned. It is
    called once the statements are ready, and they go to the server as one: a thread that holds Python's lock
    (building an STRtree of a million zones) then cannot hold up the next statement.
    """
    part = zone_partition(plan_id)
    if conn.execute(sa.text("SELECT to_regclass(:t)"), {"t": part}).scalar() is None:
        return beside()
    rows = sum(lr.written for lr in report.layers if lr.kind == "zones")
    keys = _attach_statements(conn, part, plan_id)
    raw: psycopg.Connection[Any] = conn.connection.driver_connection  # type: ignore[assignment]
    started = beside()
    try:
        with conn.begin_nested():
            raw.execute(";\n".join(keys))  # no parameters: one message, the statements run in turn
    except psycopg.Error as exc:
        msg = exc.diag.message_primary or str(exc)
        raise ConverterError(f"the database refused the plan's zones: {msg}") from None
    conn.execute(
        sa.text(
            "INSERT INTO planning.bulk_loads (table_name, plan_id, row_count, loaded_by, reason) "
            "VALUES ('zones', :p, :n, :u, :r)"
        ),
        {"p": plan_id, "n": rows, "u": user, "r": reason},
    )
    return started
