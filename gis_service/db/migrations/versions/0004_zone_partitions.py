"""Zones partitioned by plan version, so an import can load a plan's zones in bulk.

Why: writing a million zones into one table row by row cost about 7x ``ogr2ogr`` before any client work (two
``ST_Transform`` per row for the generated serving columns, three GiST indexes maintained row by row, the history
written row by row, checks and foreign keys). Now:

* ``planning.zones`` is partitioned by ``plan_id``. The importer loads a new plan version's zones into a table of its
  own, created in the import's transaction (``planning.zones_plan_<id>``): rows checked as they go in, then each
  index built in one pass and each foreign key checked with one query, then ``ATTACH PARTITION``, which adopts
  them. Zones of plans made any other way (a draft started from an approved version, the API) live in
  ``planning.zones_default``, the old table.
* ``geom_4326``, ``geom_3857`` and ``geom_area_m2`` are plain columns kept by a trigger (``tg_zone_serving_geometry``)
  on every insert and update, since a partition cannot be attached with generated columns it did not compute
  itself. The importer supplies them for the rows it loads (computed with the same PROJ pipeline as ``ST_Transform``).
* A bulk-loaded plan version has one row in ``planning.bulk_loads`` (who, when, why, transaction) instead of a
  million ``insert`` entries in ``planning.change_history``. A zone's ``insert`` entry is written when it is first
  needed: before its first update or delete (trigger ``zones_history_0bulk_*``, which fires before the history
  triggers) and when the history is read or pinned (``planning.ensure_history``). Its content is exact: a zone
  without any history entry has not changed since it was loaded.
* No Web Mercator index on zones: vector tiles find features through ``geom_4326`` (a tile is a lon/lat rectangle
  too), which saves building a third spatial index per import.
* The primary key is ``(id, plan_id)``, as PostgreSQL requires the partition key in it; ids still come from one
  sequence, so ``id`` alone names a zone.

Revision ID: 0004_zone_partitions
Revises: 0003_permits
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0004_zone_partitions"
down_revision = "0003_permits"
branch_labels = None
depends_on = None

#: The history triggers of zones, as 0001 made them: put back on the partitioned table, and again on a downgrade.
HISTORY_TRIGGERS_SQL = """
CREATE TRIGGER zones_history_insert AFTER INSERT ON planning.zones
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION planning.tg_record_history();
CREATE TRIGGER zones_history_update AFTER UPDATE ON planning.zones
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION planning.tg_record_history();
CREATE TRIGGER zones_history_delete AFTER DELETE ON planning.zones
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION planning.tg_record_history();
"""

FUNCTIONS_SQL = """
-- Bookkeeping: "nothing changed" now ignores the serving columns on both sides (plain columns in zones: NEW carries
-- them; generated columns elsewhere: NULL in NEW).
CREATE OR REPLACE FUNCTION planning.tg_bookkeeping() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n record;
    o record;
    serving constant jsonb := '{"geom_4326": null, "geom_3857": null, "geom_area_m2": null}';
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.created_at := coalesce(NEW.created_at, now());
        NEW.created_by := coalesce(NEW.created_by, planning.current_actor());
        NEW.updated_at := now();
        NEW.updated_by := planning.current_actor();
        RETURN NEW;
    END IF;
    NEW.created_at := OLD.created_at;
    NEW.created_by := OLD.created_by;
    n := jsonb_populate_record(NEW, serving);
    n.updated_at := OLD.updated_at;
    n.updated_by := OLD.updated_by;
    n.row_version := OLD.row_version;
    o := jsonb_populate_record(OLD, serving);
    IF n IS NOT DISTINCT FROM o THEN
        RETURN OLD;  -- no new version, no history entry
    END IF;
    NEW.updated_at := now();
    NEW.updated_by := planning.current_actor();
    NEW.row_version := OLD.row_version + 1;
    RETURN NEW;
END
$$;

-- History keeps what a user can set: not geometry (kept natively), not generated or serving columns.
CREATE OR REPLACE FUNCTION planning.history_columns(t regclass, alias text) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT string_agg(quote_ident(alias) || '.' || quote_ident(attname), ', ' ORDER BY attnum)
    FROM pg_attribute
    WHERE attrelid = t AND attnum > 0 AND NOT attisdropped AND attgenerated = ''
      AND atttypid <> 'geometry'::regtype AND attname <> 'geom_area_m2'
$$;

CREATE FUNCTION planning.tg_zone_serving_geometry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.geom_4326 := ST_Transform(NEW.geom, 4326);
    NEW.geom_3857 := ST_Transform(NEW.geom, 3857);
    NEW.geom_area_m2 := ST_Area(NEW.geom);
    RETURN NEW;
END
$$;

CREATE TABLE planning.bulk_loads (
    table_name text NOT NULL CHECK (table_name = 'zones'),
    plan_id integer NOT NULL REFERENCES planning.plans (id),
    row_count bigint NOT NULL CHECK (row_count >= 0),
    loaded_by text NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    reason text,
    transaction_id bigint NOT NULL DEFAULT txid_current(),
    PRIMARY KEY (table_name, plan_id)
);
COMMENT ON TABLE planning.bulk_loads IS
  'Plan versions whose zones were loaded in bulk by an import: who, when, why. A zone''s insert entry in '
  'change_history is written from this when first needed (planning.ensure_history).';

-- SQL over the bulk-loaded zones among ``src`` (rows of planning.zones) that have no history entry yet:
-- ``what`` 'any' asks whether there is one, 'write' writes their insert entries (the row as loaded).
CREATE FUNCTION planning.bulk_entries_sql(src text, what text) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE what WHEN 'any' THEN 'SELECT EXISTS (SELECT 1 ' ELSE
        'INSERT INTO planning.change_history (table_name, feature_id, operation, row_version, changed_by, '
        'changed_at, reason, transaction_id, after, after_geom) '
        'SELECT ''zones'', s.id, ''insert'', s.row_version, b.loaded_by, b.loaded_at, b.reason, b.transaction_id, '
        || format('(SELECT to_jsonb(x) FROM (SELECT %s) x), s.geom ', planning.history_columns('planning.zones', 's'))
        END
        || format('FROM %s s JOIN planning.bulk_loads b ON b.table_name = ''zones'' AND b.plan_id = s.plan_id ', src)
        || 'WHERE NOT EXISTS (SELECT 1 FROM planning.change_history h '
        || 'WHERE h.table_name = ''zones'' AND h.feature_id = s.id)'
        || CASE what WHEN 'any' THEN ')' ELSE ' ORDER BY s.id' END
$$;

-- Entries are written under a lock, writers and readers one at a time, and looked for again once it is held: an
-- entry is never written twice. Zones that have their entries (nearly always) cost one indexed look, no lock.
-- (The transition table old_rows is only visible here, in the trigger's own function: hence SQL text, not a call.)
CREATE FUNCTION planning.tg_zones_bulk_history() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    pending boolean;
BEGIN
    EXECUTE planning.bulk_entries_sql('old_rows', 'any') INTO pending;
    IF pending THEN
        PERFORM pg_advisory_xact_lock(9214, 1);
        EXECUTE planning.bulk_entries_sql('old_rows', 'write');
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION planning.ensure_history(ids bigint[]) RETURNS void LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    rows constant text := '(SELECT * FROM planning.zones WHERE id = ANY($1))';
    pending boolean;
BEGIN
    EXECUTE planning.bulk_entries_sql(rows, 'any') INTO pending USING ids;
    IF pending THEN
        PERFORM pg_advisory_xact_lock(9214, 1);
        EXECUTE planning.bulk_entries_sql(rows, 'write') USING ids;
    END IF;
END
$$;
COMMENT ON FUNCTION planning.ensure_history(bigint[]) IS
  'Write the insert entries of these zones if they were bulk-loaded and have none yet: call before reading history';
"""

PARTITION_SQL = """
DROP TRIGGER zones_bookkeeping ON planning.zones;
DROP TRIGGER zones_history_insert ON planning.zones;
DROP TRIGGER zones_history_update ON planning.zones;
DROP TRIGGER zones_history_delete ON planning.zones;
ALTER TABLE planning.zones
    ALTER COLUMN geom_4326 DROP EXPRESSION,
    ALTER COLUMN geom_3857 DROP EXPRESSION,
    ALTER COLUMN geom_area_m2 DROP EXPRESSION;
ALTER TABLE planning.zones DROP CONSTRAINT zones_pkey;
ALTER TABLE planning.zones RENAME TO zones_default;
ALTER TABLE planning.zones_default ADD CONSTRAINT zones_default_pkey PRIMARY KEY (id, plan_id);
ALTER INDEX planning.zones_geom_idx RENAME TO zones_default_geom_idx;
ALTER INDEX planning.zones_geom_4326_idx RENAME TO zones_default_geom_4326_idx;
DROP INDEX planning.zones_geom_3857_idx;  -- vector tiles find features through geom_4326 (gis_service/vector_tiles.py)
ALTER INDEX planning.zones_land_use_code_idx RENAME TO zones_default_land_use_code_idx;
ALTER INDEX planning.zones_plan_id_idx RENAME TO zones_default_plan_id_idx;

CREATE TABLE planning.zones (LIKE planning.zones_default INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
    PARTITION BY LIST (plan_id);
ALTER SEQUENCE planning.zones_id_seq OWNED BY planning.zones.id;
ALTER TABLE planning.zones ADD CONSTRAINT zones_pkey PRIMARY KEY (id, plan_id);
ALTER TABLE planning.zones ADD CONSTRAINT zones_plan_id_fkey FOREIGN KEY (plan_id) REFERENCES planning.plans (id);
ALTER TABLE planning.zones
    ADD CONSTRAINT zones_land_use_code_fkey FOREIGN KEY (land_use_code) REFERENCES planning.land_use_codes (code);
CREATE INDEX zones_geom_idx ON planning.zones USING gist (geom);
CREATE INDEX zones_geom_4326_idx ON planning.zones USING gist (geom_4326);
CREATE INDEX zones_land_use_code_idx ON planning.zones (land_use_code);
ALTER TABLE planning.zones ATTACH PARTITION planning.zones_default DEFAULT;
COMMENT ON TABLE planning.zones IS
  'Land-use zones of a plan (ô quy hoạch) with their rules: density %, floors, height m, FAR, setback m. '
  'Partitioned by plan_id: zones_plan_<id> holds a bulk-imported plan version, zones_default the others.';
COMMENT ON COLUMN planning.zones.geom_4326 IS 'geom in lon/lat (CRS84 order), kept by a trigger';
COMMENT ON COLUMN planning.zones.geom_3857 IS 'geom in Web Mercator, kept by a trigger';
COMMENT ON COLUMN planning.zones.geom_area_m2 IS 'area of geom in m² (VN-2000), kept by a trigger';

CREATE TRIGGER zones_bookkeeping BEFORE INSERT OR UPDATE ON planning.zones
    FOR EACH ROW EXECUTE FUNCTION planning.tg_bookkeeping();
CREATE TRIGGER zones_serving_geometry BEFORE INSERT OR UPDATE ON planning.zones
    FOR EACH ROW EXECUTE FUNCTION planning.tg_zone_serving_geometry();
-- "0bulk" sorts before "delete" and "update": the insert entry is written before the change's own entry.
CREATE TRIGGER zones_history_0bulk_update AFTER UPDATE ON planning.zones
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION planning.tg_zones_bulk_history();
CREATE TRIGGER zones_history_0bulk_delete AFTER DELETE ON planning.zones
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION planning.tg_zones_bulk_history();
{history_triggers}"""

DOWNGRADE_SQL = """
DO $$
DECLARE
    part regclass;
BEGIN
    PERFORM planning.ensure_history(array_agg(id)) FROM planning.zones;
    FOR part IN
        SELECT inhrelid::regclass FROM pg_inherits
        WHERE inhparent = 'planning.zones'::regclass AND inhrelid <> 'planning.zones_default'::regclass
    LOOP
        EXECUTE format('ALTER TABLE planning.zones DETACH PARTITION %s', part);
        EXECUTE format('INSERT INTO planning.zones_default SELECT * FROM %s', part);
        EXECUTE format('DROP TABLE %s', part);
    END LOOP;
END
$$;
ALTER TABLE planning.zones DETACH PARTITION planning.zones_default;
ALTER SEQUENCE planning.zones_id_seq OWNED BY NONE;
DROP TABLE planning.zones;
ALTER TABLE planning.zones_default RENAME TO zones;
ALTER TABLE planning.zones DROP CONSTRAINT zones_default_pkey;
ALTER TABLE planning.zones ADD CONSTRAINT zones_pkey PRIMARY KEY (id);
ALTER SEQUENCE planning.zones_id_seq OWNED BY planning.zones.id;
ALTER INDEX planning.zones_default_geom_idx RENAME TO zones_geom_idx;
ALTER INDEX planning.zones_default_geom_4326_idx RENAME TO zones_geom_4326_idx;
ALTER INDEX planning.zones_default_land_use_code_idx RENAME TO zones_land_use_code_idx;
ALTER INDEX planning.zones_default_plan_id_idx RENAME TO zones_plan_id_idx;
ALTER TABLE planning.zones DROP COLUMN geom_area_m2, DROP COLUMN geom_4326, DROP COLUMN geom_3857;
ALTER TABLE planning.zones
    ADD COLUMN geom_area_m2 double precision GENERATED ALWAYS AS (ST_Area(geom)) STORED,
    ADD COLUMN geom_4326 geometry(MultiPolygon, 4326) GENERATED ALWAYS AS (ST_Transform(geom, 4326)) STORED,
    ADD COLUMN geom_3857 geometry(MultiPolygon, 3857) GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED;
CREATE INDEX zones_geom_4326_idx ON planning.zones USING gist (geom_4326);
CREATE INDEX zones_geom_3857_idx ON planning.zones USING gist (geom_3857);
CREATE TRIGGER zones_bookkeeping BEFORE INSERT OR UPDATE ON planning.zones
    FOR EACH ROW EXECUTE FUNCTION planning.tg_bookkeeping();
{history_triggers}DROP FUNCTION planning.ensure_history(bigint[]);
DROP FUNCTION planning.tg_zones_bulk_history();
DROP FUNCTION planning.bulk_entries_sql(text, text);
DROP FUNCTION planning.tg_zone_serving_geometry();
DROP TABLE planning.bulk_loads;
"""
# tg_bookkeeping and history_columns keep their new bodies on downgrade: both are right for the old schema too
# (generated columns are NULL in NEW, and geom_area_m2 was left out of the history as a generated column).


def upgrade() -> None:
    sql = FUNCTIONS_SQL + PARTITION_SQL.replace("{history_triggers}", HISTORY_TRIGGERS_SQL.lstrip("\n"))
    op.get_bind().exec_driver_sql(sql.replace("%", "%%"))


def downgrade() -> None:
    sql = DOWNGRADE_SQL.replace("{history_triggers}", HISTORY_TRIGGERS_SQL.lstrip("\n"))
    op.get_bind().exec_driver_sql(sql.replace("%", "%%"))
