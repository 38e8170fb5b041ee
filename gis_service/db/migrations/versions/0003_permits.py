"""Permits: applications, recorded check runs (with the exact plan rows they used) and officers' decisions.

Every insert and update lands in ``planning.change_history`` like the plan layers (who, when, why, before, after);
check runs and decisions are append-only records.

Revision ID: 0003_permits
Revises: 0002_auth
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0003_permits"
down_revision = "0002_auth"
branch_labels = None
depends_on = None

PERMIT_TABLES = ("permit_applications", "permit_checks", "permit_decisions")

UPGRADE_SQL = """
CREATE TABLE planning.permit_applications (
    id bigserial PRIMARY KEY,
    reference text NOT NULL CHECK (btrim(reference) <> ''),
    applicant_name text NOT NULL CHECK (btrim(applicant_name) <> ''),
    parcel_id bigint REFERENCES planning.parcels (id) ON DELETE SET NULL,
    status text NOT NULL DEFAULT 'submitted'
        CHECK (status IN ('submitted', 'approved', 'rejected', 'changes_requested')),
    notes text,
    geom geometry(MultiPolygon, 9214) CHECK (geom IS NULL OR (ST_IsValid(geom) AND NOT ST_IsEmpty(geom))),
    geom_4326 geometry(MultiPolygon, 4326) GENERATED ALWAYS AS (ST_Transform(geom, 4326)) STORED,
    geom_3857 geometry(MultiPolygon, 3857) GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text,
    row_version integer NOT NULL DEFAULT 1 CHECK (row_version >= 1),
    CONSTRAINT permit_applications_reference_key UNIQUE (reference)
);
COMMENT ON TABLE planning.permit_applications IS
  'Building permit applications (hồ sơ cấp phép xây dựng): a reference and the applicant''s name only; geom is the lot';

CREATE TABLE planning.permit_checks (
    id bigserial PRIMARY KEY,
    application_id bigint NOT NULL REFERENCES planning.permit_applications (id),
    proposal jsonb NOT NULL,
    pins jsonb NOT NULL,
    result jsonb NOT NULL,
    verdict text NOT NULL CHECK (verdict IN ('compliant', 'not_compliant', 'needs_review')),
    geom geometry(MultiPolygon, 9214) CHECK (geom IS NULL OR ST_IsValid(geom)),
    geom_4326 geometry(MultiPolygon, 4326) GENERATED ALWAYS AS (ST_Transform(geom, 4326)) STORED,
    geom_3857 geometry(MultiPolygon, 3857) GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text,
    row_version integer NOT NULL DEFAULT 1 CHECK (row_version >= 1)
);
COMMENT ON TABLE planning.permit_checks IS
  'Recorded permit checks: the proposal, the plan rows used (pins: history entries, so the check can be re-run on '
  'exactly that plan version), the result and verdict; geom is the footprint. Append-only.';
CREATE INDEX permit_checks_application_idx ON planning.permit_checks (application_id, id);

CREATE TABLE planning.permit_decisions (
    id bigserial PRIMARY KEY,
    application_id bigint NOT NULL REFERENCES planning.permit_applications (id),
    check_id bigint REFERENCES planning.permit_checks (id),
    decision text NOT NULL CHECK (decision IN ('approve', 'reject', 'request_changes')),
    comment text NOT NULL CHECK (btrim(comment) <> ''),
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text,
    row_version integer NOT NULL DEFAULT 1 CHECK (row_version >= 1)
);
COMMENT ON TABLE planning.permit_decisions IS 'Officers'' decisions on applications, with a comment. Append-only.';
CREATE INDEX permit_decisions_application_idx ON planning.permit_decisions (application_id, id);

CREATE FUNCTION planning.tg_permit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'planning.% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END
$$;
CREATE TRIGGER permit_checks_append_only BEFORE UPDATE OR DELETE ON planning.permit_checks
    FOR EACH ROW EXECUTE FUNCTION planning.tg_permit_append_only();
CREATE TRIGGER permit_decisions_append_only BEFORE UPDATE OR DELETE ON planning.permit_decisions
    FOR EACH ROW EXECUTE FUNCTION planning.tg_permit_append_only();
"""

# The foundation's history trigger keeps each row's geom; decisions have none, so they get the same function with
# NULL geometry (planning.tg_record_history_without_geom), written here rather than changing the foundation's.
HISTORY_WITHOUT_GEOM_SQL = """
CREATE FUNCTION planning.tg_record_history_without_geom() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    op text := lower(TG_OP);
    actor text := planning.current_actor();
    why text := nullif(current_setting('planning.reason', true), '');
    insert_head text := 'INSERT INTO planning.change_history (table_name, feature_id, operation, row_version, '
        'changed_by, reason, before, after) ';
BEGIN
    IF TG_OP = 'INSERT' THEN
        EXECUTE insert_head || format(
            'SELECT %L, n.id, %L, n.row_version, $1, $2, NULL, (SELECT to_jsonb(x) FROM (SELECT %s) x) '
            'FROM new_rows n ORDER BY n.id', TG_TABLE_NAME, op, planning.history_columns(TG_RELID, 'n'))
        USING actor, why;
    ELSIF TG_OP = 'UPDATE' THEN
        EXECUTE insert_head || format(
            'SELECT %L, n.id, %L, n.row_version, $1, $2, (SELECT to_jsonb(x) FROM (SELECT %s) x), '
            '(SELECT to_jsonb(x) FROM (SELECT %s) x) FROM new_rows n JOIN old_rows o ON o.id = n.id '
            'WHERE n.row_version <> o.row_version ORDER BY n.id',
            TG_TABLE_NAME, op, planning.history_columns(TG_RELID, 'o'), planning.history_columns(TG_RELID, 'n'))
        USING actor, why;
    ELSE
        EXECUTE insert_head || format(
            'SELECT %L, o.id, %L, o.row_version, $1, $2, (SELECT to_jsonb(x) FROM (SELECT %s) x), NULL '
            'FROM old_rows o ORDER BY o.id', TG_TABLE_NAME, op, planning.history_columns(TG_RELID, 'o'))
        USING actor, why;
    END IF;
    RETURN NULL;
END
$$;
"""
UPGRADE_SQL += HISTORY_WITHOUT_GEOM_SQL

for _table in PERMIT_TABLES:
    _history = "tg_record_history_without_geom" if _table == "permit_decisions" else "tg_record_history"
    if _table != "permit_decisions":
        UPGRADE_SQL += f"""
CREATE INDEX {_table}_geom_idx ON planning.{_table} USING gist (geom);
CREATE INDEX {_table}_geom_4326_idx ON planning.{_table} USING gist (geom_4326);
CREATE INDEX {_table}_geom_3857_idx ON planning.{_table} USING gist (geom_3857);
"""
    UPGRADE_SQL += f"""
CREATE TRIGGER {_table}_bookkeeping BEFORE INSERT OR UPDATE ON planning.{_table}
    FOR EACH ROW EXECUTE FUNCTION planning.tg_bookkeeping();
CREATE TRIGGER {_table}_history_insert AFTER INSERT ON planning.{_table}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION planning.{_history}();
CREATE TRIGGER {_table}_history_update AFTER UPDATE ON planning.{_table}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION planning.{_history}();
CREATE TRIGGER {_table}_history_delete AFTER DELETE ON planning.{_table}
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION planning.{_history}();
"""


def upgrade() -> None:
    op.get_bind().exec_driver_sql(UPGRADE_SQL.replace("%", "%%"))


def downgrade() -> None:
    op.get_bind().exec_driver_sql(
        "DROP TABLE planning.permit_decisions, planning.permit_checks, planning.permit_applications; "
        "DROP FUNCTION planning.tg_permit_append_only(); DROP FUNCTION planning.tg_record_history_without_geom()"
    )
