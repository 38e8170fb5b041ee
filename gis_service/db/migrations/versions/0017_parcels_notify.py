"""Say which changes moved ``planning.data_version`` through the parcels: their notification's payload starts with p.

Why: each service process keeps the parcels' geometries to find the parcel at a point without a query
(:mod:`gis_service.parcel_index`). A change of zones or lines leaves them as they were, so only a change of the
parcels should make the processes read them again. The parcels' statement-level trigger of migration 0010 now
notifies ``planning_data_version`` with ``p`` before the version it took; the other tables' triggers are unchanged.

Revision ID: 0017_parcels_notify
Revises: 0016_data_version_notify
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0017_parcels_notify"
down_revision = "0016_data_version_notify"
branch_labels = None
depends_on = None

UPGRADE_SQL = """
CREATE FUNCTION planning.tg_parcels_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_notify('planning_data_version', 'p' || nextval('planning.data_version')); RETURN NULL; END $$;
DROP TRIGGER parcels_data_version ON planning.parcels;
CREATE TRIGGER parcels_data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON planning.parcels
    FOR EACH STATEMENT EXECUTE FUNCTION planning.tg_parcels_data_version();
"""

DOWNGRADE_SQL = """
DROP TRIGGER parcels_data_version ON planning.parcels;
CREATE TRIGGER parcels_data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON planning.parcels
    FOR EACH STATEMENT EXECUTE FUNCTION planning.tg_data_version();
DROP FUNCTION planning.tg_parcels_data_version();
"""


def upgrade() -> None:
    op.execute(UPGRADE_SQL)


def downgrade() -> None:
    op.execute(DOWNGRADE_SQL)
