"""Bulk-loaded zones: validity checked once, by the importer; no land-use code index on each plan version.

Why: ``CHECK (ST_IsValid(geom))`` evaluated on each row of a bulk load cost the server 3 s per million zones, the
largest single part of its work in an import, and the importer has just checked every one of those shapes with the
same GEOS predicate (``shapely.is_valid``), repairing those that fail. PostgreSQL can attach a partition whose
rows it did not check only if the parent's constraint is ``NOT VALID``. So:

* ``zones_geom_valid`` on ``planning.zones`` is ``NOT VALID``: it is still checked on every insert and update of
  any partition (PostgreSQL checks a ``NOT VALID`` constraint on new rows); only rows already present when it was
  added are not looked at.
* ``planning.zones_default`` and the partitions loaded before this revision keep the constraint validated: their
  rows were checked by the server, and are again here.
* The importer's partition of a plan version gets the constraint ``NOT VALID`` after its rows are in, which records
  exactly that the server did not check them (``converters.importer`` checked them). ``ALTER TABLE planning.zones
  VALIDATE CONSTRAINT zones_geom_valid`` checks them all at any time.

And the index on ``land_use_code`` is kept on ``planning.zones_default`` only, not on each plan version's partition:
building it cost 0.6-0.8 s per million zones imported, and it serves nothing there. Within one plan version a code
is held by a large share of the zones (8 codes in a usual zoning plan), so a filter by code scans the partition
whatever the index; and the foreign key's own checks look up ``land_use_codes``, not zones (PostgreSQL would scan
zones only if a code were deleted from the code table, which a migration does, not a user).

Revision ID: 0005_bulk_zone_validity
Revises: 0004_zone_partitions
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0005_bulk_zone_validity"
down_revision = "0004_zone_partitions"
branch_labels = None
depends_on = None

UPGRADE_SQL = """
DROP INDEX planning.zones_land_use_code_idx;  -- and its copy on each partition
CREATE INDEX zones_default_land_use_code_idx ON planning.zones_default (land_use_code);
ALTER TABLE planning.zones DROP CONSTRAINT zones_geom_valid;
ALTER TABLE planning.zones ADD CONSTRAINT zones_geom_valid CHECK (ST_IsValid(geom)) NOT VALID;
DO $$
DECLARE
    part regclass;
BEGIN
    FOR part IN SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = 'planning.zones'::regclass LOOP
        EXECUTE format('ALTER TABLE %s VALIDATE CONSTRAINT zones_geom_valid', part);
    END LOOP;
END
$$;
"""

DOWNGRADE_SQL = """
ALTER TABLE planning.zones DROP CONSTRAINT zones_geom_valid;
ALTER TABLE planning.zones ADD CONSTRAINT zones_geom_valid CHECK (ST_IsValid(geom));
DROP INDEX planning.zones_default_land_use_code_idx;
CREATE INDEX zones_land_use_code_idx ON planning.zones (land_use_code);  -- on zones_default, and each partition
"""


def upgrade() -> None:
    op.execute(UPGRADE_SQL)


def downgrade() -> None:
    op.execute(DOWNGRADE_SQL)
