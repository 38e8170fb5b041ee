"""Tell the service processes when ``planning.data_version`` moves: a notification on ``planning_data_version``.

Why: each service process keeps the prepared lookups it has served in memory (:mod:`gis_service.hot_answers`),
valid while the data version is the one they were read at. Asking the database for the version on every lookup
cost as much as reading the answer; listening costs nothing until something changes. The statement-level triggers
of migration 0010 (the tables the rules read) now send the version each statement took, and those of migration
0014 (land-use codes and base map, which drop the prepared answers) an empty payload. PostgreSQL delivers them at
commit, and none for a transaction rolled back.

Revision ID: 0016_data_version_notify
Revises: 0015_provenance
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0016_data_version_notify"
down_revision = "0015_provenance"
branch_labels = None
depends_on = None

#: The channel the service processes listen on (gis_service.hot_answers.CHANNEL).
CHANNEL = "planning_data_version"

UPGRADE_SQL = f"""
CREATE OR REPLACE FUNCTION planning.tg_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_notify('{CHANNEL}', nextval('planning.data_version')::text); RETURN NULL; END $$;
CREATE OR REPLACE FUNCTION planning.tg_drop_prepared_lookups() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN DELETE FROM planning.prepared_lookups; DELETE FROM planning.prepared_lookup_state;
      PERFORM pg_notify('{CHANNEL}', ''); RETURN NULL; END $$;
"""

DOWNGRADE_SQL = """
CREATE OR REPLACE FUNCTION planning.tg_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM nextval('planning.data_version'); RETURN NULL; END $$;
CREATE OR REPLACE FUNCTION planning.tg_drop_prepared_lookups() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN DELETE FROM planning.prepared_lookups; DELETE FROM planning.prepared_lookup_state; RETURN NULL; END $$;
"""


def upgrade() -> None:
    op.execute(UPGRADE_SQL)


def downgrade() -> None:
    op.execute(DOWNGRADE_SQL)
