"""Provenance of every plan feature: ``planning.feature_sources`` and three columns on each plan layer.

Why: a planner answering "where does this zone come from, and can I trust it?" needs the file and layer it was read
from, that file's hash, the sheet or drawing, who imported it and why, and, for a scan or a CAD drawing placed on
the map, how far off it may be. One row per source layer of an import holds those facts
(``planning.feature_sources``); each feature names its row (``source_id``) and carries what is its own:

- ``position_error_m``: its estimated positional error, first its source's georeferencing error (the RMS of the
  ground control points' residuals, else one pixel of the scan), so the OGC API can filter on it;
- ``review_status``: ``digitised`` (as imported), ``checked`` (a planner compared it with the source), ``approved``;
  planners set it, and each change is an update in ``planning.change_history`` like any other.

No foreign key from the layers to ``feature_sources``: a plan's zones are loaded in bulk into a table of their own
(migration 0004), whose keys are built after the load; the importer writes the source row first, in the same
transaction.

Revision ID: 0015_provenance
Revises: 0014_prepared_lookup
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0015_provenance"
down_revision = "0014_prepared_lookup"
branch_labels = None
depends_on = None

#: The layers whose features come from imported files.
LAYERS = ("zones", "red_lines", "building_lines", "parcels", "buildings")

UPGRADE_SQL = """
CREATE TABLE planning.feature_sources (
    id serial PRIMARY KEY,
    plan_id integer REFERENCES planning.plans (id) ON DELETE CASCADE,
    method text NOT NULL CHECK (method IN ('gis', 'cad', 'scan')),
    file_name text NOT NULL CHECK (btrim(file_name) <> ''),
    layer_name text,
    sha256 text CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    sheet text,
    georef_error_m numeric(8, 2) CHECK (georef_error_m >= 0),
    imported_by text NOT NULL,
    reason text,
    imported_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX feature_sources_plan_idx ON planning.feature_sources (plan_id);
COMMENT ON TABLE planning.feature_sources IS
  'Where imported features come from: one row per source layer of an import (file inside the dossier, layer, '
  'SHA-256, sheet or drawing, who and why, georeferencing error of a scan or a placed CAD drawing in metres)';
"""


def upgrade() -> None:
    op.execute(UPGRADE_SQL)
    # lookups prepared before (migration 0014) lack each zone's provenance: moving the data version retires them
    op.execute("SELECT nextval('planning.data_version')")
    for table in LAYERS:
        op.execute(
            f"ALTER TABLE planning.{table} ADD COLUMN source_id integer, "
            "ADD COLUMN position_error_m numeric(8, 2) "
            f"CONSTRAINT {table}_position_error_m_check CHECK (position_error_m >= 0), "
            "ADD COLUMN review_status text NOT NULL DEFAULT 'digitised' "
            f"CONSTRAINT {table}_review_status_check CHECK (review_status IN ('digitised', 'checked', 'approved'))"
        )
        op.execute(
            f"COMMENT ON COLUMN planning.{table}.review_status IS "
            "'digitised (as imported), checked (compared with its source by a planner), approved'"
        )


def downgrade() -> None:
    for table in LAYERS:
        op.execute(
            f"ALTER TABLE planning.{table} DROP COLUMN review_status, DROP COLUMN position_error_m, "
            "DROP COLUMN source_id"
        )
    op.execute("DROP TABLE planning.feature_sources")
