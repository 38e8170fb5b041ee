"""Lookups prepared at publication: ``planning.prepared_lookups``.

Why: published plans change only when a planner publishes, yet every citizen's lookup computed the same answer again
(the SQL is cheap, the Python between it and the socket is not). Publication now prepares, per parcel, the bytes the
live lookup would send, tagged with ``planning.data_version`` (migration 0010) at the time; a row is served only
while the counter has not moved since, so a stale answer is never sent (the lookup goes live instead).

- ``planning.prepared_lookups``: a parcel's answer without its first two members (``query`` and ``location`` differ
  per request and are written around it when served), and the data version it was made at.
- ``planning.prepared_lookup_state``: one row, the data version and the last ``change_history`` id of the latest
  preparation, so the next one re-prepares only the parcels near what changed since.

The land-use codes and the base map keep no history: a change to them drops every prepared answer (a statement
trigger), so the next preparation is a whole one.

Revision ID: 0014_prepared_lookup
Revises: 0013_consultation
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0014_prepared_lookup"
down_revision = "0013_consultation"
branch_labels = None
depends_on = None

UPGRADE_SQL = """
CREATE TABLE planning.prepared_lookups (
    parcel_id bigint PRIMARY KEY,
    data_version bigint NOT NULL,
    answer bytea NOT NULL,
    prepared_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE planning.prepared_lookups IS
  'The default lookup answer of each parcel (JSON bytes after query and location), served while data_version holds';

CREATE TABLE planning.prepared_lookup_state (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    data_version bigint NOT NULL,
    history_id bigint NOT NULL,
    prepared_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION planning.tg_drop_prepared_lookups() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN DELETE FROM planning.prepared_lookups; DELETE FROM planning.prepared_lookup_state; RETURN NULL; END $$;
CREATE TRIGGER land_use_codes_prepared_lookups AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON planning.land_use_codes FOR EACH STATEMENT EXECUTE FUNCTION planning.tg_drop_prepared_lookups();
CREATE TRIGGER map_features_prepared_lookups AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON planning.map_features FOR EACH STATEMENT EXECUTE FUNCTION planning.tg_drop_prepared_lookups();
"""

DOWNGRADE_SQL = """
DROP TRIGGER IF EXISTS map_features_prepared_lookups ON planning.map_features;
DROP TRIGGER IF EXISTS land_use_codes_prepared_lookups ON planning.land_use_codes;
DROP FUNCTION planning.tg_drop_prepared_lookups();
DROP TABLE planning.prepared_lookup_state;
DROP TABLE planning.prepared_lookups;
"""


def upgrade() -> None:
    op.execute(UPGRADE_SQL)


def downgrade() -> None:
    op.execute(DOWNGRADE_SQL)
