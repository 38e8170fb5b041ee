"""Bulk-loaded zones: the value checks made once, by the importer; zone ids taken from the sequence 1,000 at a time.

Why: on each row of a bulk load the server spent, per million zones (``bench/import``'s rows, COPY alone, the
server's CPU, median of four runs against the same file):

* 0.4 s evaluating the checks below, which the importer has just made on every one of those values, more strictly
  (``converters.importer.RANGES``: a density above 100 % or a negative number of floors is refused with the
  feature's id, before any row is sent), or made sure of (it drops empty shapes and repairs the rest; it never sends
  ``row_version``, whose default is 1);
* 0.5 s in ``nextval`` for the ids: with the default cache of 1, every call locks the sequence's page and every 32nd
  writes WAL. With ``CACHE 1000`` a session takes 1,000 ids at once and hands them out itself.

So, as migration 0005 did for validity (the importer checks, the server records that it did not):

* these checks of ``planning.zones`` are ``NOT VALID``. PostgreSQL still checks a ``NOT VALID`` constraint on every
  insert and update of every partition; only rows present when it was added are not looked at;
* ``planning.zones_default`` and the partitions loaded before this revision keep them validated (checked again here);
* the importer's partition of a plan version gets them ``NOT VALID`` after its rows are in
  (``converters.importer.IMPORTER_CHECKS``). ``ALTER TABLE planning.zones VALIDATE CONSTRAINT ...`` checks them all
  at any time.

Ids stay unique and increasing within one session. Two sessions inserting at once now get ids from different
blocks, so an id no longer tells which of two concurrent inserts came first (it never told which committed first),
and a session that ends leaves the rest of its block unused: gaps, as a rolled-back insert always left.

Revision ID: 0008_bulk_zone_checks
Revises: 0007_bulk_zone_keys
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0008_bulk_zone_checks"
down_revision = "0007_bulk_zone_keys"
branch_labels = None
depends_on = None

#: The checks of zones the importer makes itself on each row it loads in bulk (with 0005's ``zones_geom_valid``).
VALUE_CHECKS = {
    "zones_geom_not_empty": "CHECK (NOT ST_IsEmpty(geom))",
    "zones_floors_order": "CHECK (min_floors IS NULL OR max_floors IS NULL OR min_floors <= max_floors)",
    "zones_max_density_pct_check": "CHECK (max_density_pct >= 0 AND max_density_pct <= 100)",
    "zones_max_far_check": "CHECK (max_far >= 0)",
    "zones_max_floors_check": "CHECK (max_floors >= 0)",
    "zones_min_floors_check": "CHECK (min_floors >= 0)",
    "zones_max_height_m_check": "CHECK (max_height_m >= 0)",
    "zones_min_setback_m_check": "CHECK (min_setback_m >= 0)",
    "zones_row_version_check": "CHECK (row_version >= 1)",
}
ID_CACHE = 1000

_VALIDATE_EACH_PARTITION = """
DO $$
DECLARE
    part regclass;
BEGIN
    FOR part IN SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = 'planning.zones'::regclass LOOP
        {body}
    END LOOP;
END
$$;
"""

UPGRADE_SQL = (
    "".join(
        f"ALTER TABLE planning.zones DROP CONSTRAINT {name};\n"  # and its copy on each partition
        f"ALTER TABLE planning.zones ADD CONSTRAINT {name} {check} NOT VALID;\n"
        for name, check in VALUE_CHECKS.items()
    )
    + _VALIDATE_EACH_PARTITION.format(
        body="\n        ".join(
            f"EXECUTE format('ALTER TABLE %s VALIDATE CONSTRAINT {name}', part);" for name in VALUE_CHECKS
        )
    )
    + f"ALTER SEQUENCE planning.zones_id_seq CACHE {ID_CACHE};\n"
)

DOWNGRADE_SQL = (
    "".join(
        f"ALTER TABLE planning.zones DROP CONSTRAINT {name};\n"
        f"ALTER TABLE planning.zones ADD CONSTRAINT {name} {check};\n"  # checks every partition's rows
        for name, check in VALUE_CHECKS.items()
    )
    + "ALTER SEQUENCE planning.zones_id_seq CACHE 1;\n"
)


def upgrade() -> None:
    op.execute(UPGRADE_SQL)


def downgrade() -> None:
    op.execute(DOWNGRADE_SQL)
