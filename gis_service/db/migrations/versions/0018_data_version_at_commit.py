"""The data version moves as a change commits, in commit order, and reads the same on a replica: rows, not a sequence.

Why: the statement triggers of migration 0010 took ``nextval('planning.data_version')`` when a statement ran, not
when its transaction committed. Two faults followed:

- a site read while a writer had taken the next value but not committed was kept under that value: once the change
  committed, the version had not moved, and the parcel's envelope and permit pre-check kept the old zone until the
  next change (an envelope read during a planner's edit of the zone's floors said 2 floors after the edit to 1);
- a sequence is written to the WAL 32 values ahead, so on a streaming replica ``last_value`` stood still for up to
  32 changes (kept sites served stale there) and never equalled the primary's (prepared lookups never served there).

Now each transaction that changes a table the rules read leaves one row in ``planning.data_version_pending``
(the statement triggers, cheap and idempotent), and that row's deferred trigger runs as the transaction commits:
under an advisory lock held to the end of the commit it takes the sequence's next value, writes it as a row of
``planning.data_versions`` and notifies it (``p`` before it when the parcels changed, migration 0017). Committers
take the lock in turn, so versions follow commit order; the rows are ordinary ones, so a reader sees version N
(``planning.data_version()``, the greatest row) exactly when it sees the changes committed with N, on the primary
and on every replica, and a transaction rolled back moves nothing. Rows are only ever added (every thousandth
version drops those a thousand or more behind it), never updated: a writer in REPEATABLE READ does not fail at its
commit because another change committed meanwhile (SERIALIZABLE writers of these tables may now meet serialization
failures at commit, to be retried as any). Versions only grow, not always by one (a commit that fails after its
trigger ran leaves a gap). The sequence stays, the source of the numbers.

Revision ID: 0018_data_version_at_commit
Revises: 0017_parcels_notify
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0018_data_version_at_commit"
down_revision = "0017_parcels_notify"
branch_labels = None
depends_on = None

UPGRADE_SQL = """
-- writers under way finish first: none wrote under the old triggers and commits under the new ones unseen
LOCK TABLE planning.plans, planning.zones, planning.parcels, planning.red_lines, planning.building_lines,
    planning.map_features IN SHARE MODE;
CREATE TABLE planning.data_versions (version bigint PRIMARY KEY);
COMMENT ON TABLE planning.data_versions IS
    'A row per committed change to the tables the rules read; the greatest is the data version';
INSERT INTO planning.data_versions (version)
    SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM planning.data_version;
-- what statements read, as "(SELECT planning.data_version())": evaluated once per statement
CREATE FUNCTION planning.data_version() RETURNS bigint LANGUAGE sql STABLE PARALLEL SAFE
    AS 'SELECT coalesce(max(version), 0) FROM planning.data_versions';

CREATE TABLE planning.data_version_pending (
    xact xid8 PRIMARY KEY DEFAULT pg_current_xact_id(),
    parcels boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE planning.data_version_pending IS
    'A transaction that changed the tables the rules read, until it commits (then the version moves)';

-- as the history triggers: whoever may edit a layer moves the version, without rights on its tables
CREATE OR REPLACE FUNCTION planning.tg_data_version() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    INSERT INTO planning.data_version_pending (parcels) VALUES (TG_TABLE_NAME = 'parcels')
        ON CONFLICT (xact) DO UPDATE SET parcels = true
        WHERE excluded.parcels AND NOT planning.data_version_pending.parcels;
    RETURN NULL;
END $$;

CREATE FUNCTION planning.tg_data_version_commit() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    parcels_changed boolean;
    moved bigint;
BEGIN
    DELETE FROM planning.data_version_pending WHERE xact = NEW.xact RETURNING parcels INTO parcels_changed;
    -- one committer at a time from here until its commit is visible ((9214, 1): migration 0004's bulk history)
    PERFORM pg_advisory_xact_lock(9214, 2);
    moved := nextval('planning.data_version');
    INSERT INTO planning.data_versions (version) VALUES (moved);
    PERFORM pg_notify('planning_data_version', CASE WHEN parcels_changed THEN 'p' ELSE '' END || moved);
    IF moved % 1000 = 0 THEN
        BEGIN
            DELETE FROM planning.data_versions WHERE version <= moved - 1000;
        EXCEPTION WHEN serialization_failure THEN
            NULL;  -- a committer after this transaction's snapshot dropped them already
        END;
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER data_version_commit AFTER INSERT ON planning.data_version_pending
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION planning.tg_data_version_commit();

DROP TRIGGER parcels_data_version ON planning.parcels;
CREATE TRIGGER parcels_data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON planning.parcels
    FOR EACH STATEMENT EXECUTE FUNCTION planning.tg_data_version();
DROP FUNCTION planning.tg_parcels_data_version();
"""

DOWNGRADE_SQL = """
CREATE OR REPLACE FUNCTION planning.tg_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_notify('planning_data_version', nextval('planning.data_version')::text); RETURN NULL; END $$;
CREATE FUNCTION planning.tg_parcels_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_notify('planning_data_version', 'p' || nextval('planning.data_version')); RETURN NULL; END $$;
DROP TRIGGER parcels_data_version ON planning.parcels;
CREATE TRIGGER parcels_data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON planning.parcels
    FOR EACH STATEMENT EXECUTE FUNCTION planning.tg_parcels_data_version();
DROP TABLE planning.data_version_pending;
DROP FUNCTION planning.tg_data_version_commit();
DROP FUNCTION planning.data_version();
DROP TABLE planning.data_versions;
"""


def upgrade() -> None:
    op.execute(UPGRADE_SQL)


def downgrade() -> None:
    op.execute(DOWNGRADE_SQL)
