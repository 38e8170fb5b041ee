"""Zones' foreign keys (plan, land-use code) on each partition: a bulk-loaded plan version's are added ``NOT VALID``.

Why: a foreign key of ``planning.zones`` must be validated on each partition attached to it, and PostgreSQL
validates one by scanning the whole partition: 0.3 s (plan) and 0.4 s (land-use code) per million zones imported,
a quarter of the server's work once the rows are in (``bench/import``). The importer has already made sure of both:
the plan is the version it created in the same transaction (and the partition's check holds every row to it), and
each land-use code was mapped against ``planning.land_use_codes`` in that transaction too. This is the rule of
migration 0005 for validity: the importer checks, the server records that it did not.

* ``planning.zones`` carries no foreign key of its own any more. ``zones_default`` (zones drawn through the API,
  drafts) has both, validated. Each plan version's partition that the importer loads gets both ``NOT VALID``, after
  its rows are in. PostgreSQL enforces a ``NOT VALID`` foreign key like any other on every later insert and update
  of the partition, and on every delete or key change in ``plans`` and ``land_use_codes``: a plan or a code that
  zones use cannot go. Only the rows loaded are not looked at again.
* ``ALTER TABLE planning.zones_plan_<id> VALIDATE CONSTRAINT zones_land_use_code_fkey`` checks them at any time.
* Partitions loaded before this revision keep both keys, validated: their rows were checked then.

Revision ID: 0007_bulk_zone_keys
Revises: 0006_zones_one_spatial_index
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0007_bulk_zone_keys"
down_revision = "0006_zones_one_spatial_index"
branch_labels = None
depends_on = None

#: The foreign keys of zones, by name: each partition has them (a bulk-loaded one, NOT VALID).
ZONE_FOREIGN_KEYS = {
    "zones_plan_id_fkey": "FOREIGN KEY (plan_id) REFERENCES planning.plans (id)",
    "zones_land_use_code_fkey": "FOREIGN KEY (land_use_code) REFERENCES planning.land_use_codes (code)",
}

_EACH_PARTITION = """
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
    "".join(f"ALTER TABLE planning.zones DROP CONSTRAINT {name};\n" for name in ZONE_FOREIGN_KEYS)  # and the copies
    + _EACH_PARTITION.format(
        body="\n        ".join(
            f"EXECUTE format('ALTER TABLE %s ADD CONSTRAINT {name} {definition}', part);"
            for name, definition in ZONE_FOREIGN_KEYS.items()
        )
    )
)

DOWNGRADE_SQL = (
    _EACH_PARTITION.format(
        body="\n        ".join(
            f"EXECUTE format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS {name}', part);" for name in ZONE_FOREIGN_KEYS
        )
    )
    # on the parent again: PostgreSQL adds each to every partition, and checks their rows
    + "".join(f"ALTER TABLE planning.zones ADD CONSTRAINT {name} {d};\n" for name, d in ZONE_FOREIGN_KEYS.items())
)


def upgrade() -> None:
    op.execute(UPGRADE_SQL)


def downgrade() -> None:
    op.execute(DOWNGRADE_SQL)
