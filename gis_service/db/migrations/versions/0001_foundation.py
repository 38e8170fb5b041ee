"""Foundation: schema planning, SRID 9214, land-use codes, plans, plan layers, change history.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gis_service.reference_data import land_use_codes, legacy_codes

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# PostGIS 3.3 (PROJ 9.1) ships no row for EPSG:9214. The proj4text carries the Ministry's 7-parameter shift
# (QĐ 05/2007/QĐ-BTNMT = EPSG:6960); without +towgs84 a point lands about 225 m off.
SRID_9214_SRTEXT = (
    'PROJCS["VN-2000 / TM-3 107-00",GEOGCS["VN-2000",DATUM["Vietnam_2000",'
    'SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],'
    "TOWGS84[-191.90441429,-39.30318279,-111.45032835,0.00928836,-0.01975479,0.00427372,0.252906278],"
    'AUTHORITY["EPSG","6756"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],'
    'UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4756"]],'
    'PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",107],'
    'PARAMETER["scale_factor",0.9999],PARAMETER["false_easting",500000],PARAMETER["false_northing",0],'
    'UNIT["metre",1,AUTHORITY["EPSG","9001"]],AXIS["Easting",EAST],AXIS["Northing",NORTH],'
    'AUTHORITY["EPSG","9214"]]'
)
SRID_9214_PROJ4 = (
    "+proj=tmerc +lat_0=0 +lon_0=107 +k=0.9999 +x_0=500000 +y_0=0 +ellps=WGS84 "
    "+towgs84=-191.90441429,-39.30318279,-111.45032835,0.00928836,-0.01975479,0.00427372,0.252906278 "
    "+units=m +no_defs"
)

BOOKKEEPING = """
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text,
    row_version integer NOT NULL DEFAULT 1 CHECK (row_version >= 1)
"""


def derived_geometry(kind: str) -> str:
    """Web Mercator and CRS84 copies kept by PostgreSQL itself, so serving never transforms per request."""
    return f"""
    geom_4326 geometry({kind}, 4326) GENERATED ALWAYS AS (ST_Transform(geom, 4326)) STORED,
    geom_3857 geometry({kind}, 3857) GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED"""


def valid_geometry(table: str) -> str:
    return f"""
    CONSTRAINT {table}_geom_valid CHECK (ST_IsValid(geom)),
    CONSTRAINT {table}_geom_not_empty CHECK (NOT ST_IsEmpty(geom))"""


LAYER_TABLES = ("plans", "zones", "parcels", "buildings", "red_lines", "building_lines")

UPGRADE_SQL = f"""
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE SCHEMA planning;
COMMENT ON SCHEMA planning IS
  'Huế land-use and construction plans. Geometry column geom in EPSG:9214 (VN-2000 / TM-3 107-00); '
  'geom_4326 (lon/lat, CRS84 order) and geom_3857 are generated copies for serving.';

-- Reference data ------------------------------------------------------------------------------------
CREATE TABLE planning.land_use_codes (
    code text PRIMARY KEY CHECK (code ~ '^[A-Z]{{3}}$'),
    group_code text REFERENCES planning.land_use_codes (code) DEFERRABLE INITIALLY DEFERRED,
    is_group boolean NOT NULL DEFAULT false,
    name_vi text NOT NULL,
    name_en text NOT NULL,
    rgb text CHECK (rgb ~ '^[0-9]{{1,3}} [0-9]{{1,3}} [0-9]{{1,3}}$'),
    color_hex text CHECK (color_hex ~ '^#[0-9a-f]{{6}}$'),
    notes text
);
COMMENT ON TABLE planning.land_use_codes IS
  'Land-use codes of TT 08/2024/TT-BTNMT with map colours (TT 27/2018 palette), and the group codes used on maps';

CREATE TABLE planning.legacy_land_use_codes (
    legacy_code text PRIMARY KEY,
    code text NOT NULL REFERENCES planning.land_use_codes (code),
    source text,
    notes text
);
COMMENT ON TABLE planning.legacy_land_use_codes IS 'Older codes still found in cadastral data, and their current code';

-- Who is changing data: the application sets planning.user and planning.reason per transaction;
-- direct SQL or QGIS edits are attributed to the database role.
CREATE FUNCTION planning.current_actor() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('planning.user', true), ''), session_user::text)
$$;

-- Plans -------------------------------------------------------------------------------------------------
CREATE TABLE planning.plans (
    id serial PRIMARY KEY,
    code text NOT NULL CHECK (code ~ '^[0-9]{{2}}[A-Z]{{3}}[0-9]{{7}}$'),
    name text NOT NULL CHECK (btrim(name) <> ''),
    level text NOT NULL CHECK (level IN ('land_use', 'general', 'zoning', 'detailed')),
    scale_denominator integer CHECK (scale_denominator > 0),
    status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'approved', 'superseded')),
    version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    based_on_id integer REFERENCES planning.plans (id),
    decision_no text,
    decision_date date,
    approving_authority text,
    description text,
    attributes jsonb NOT NULL DEFAULT '{{}}'::jsonb,
    geom geometry(MultiPolygon, 9214),
    {derived_geometry("MultiPolygon")},
    {BOOKKEEPING},
    CONSTRAINT plans_code_version_key UNIQUE (code, version),
    CONSTRAINT plans_approved_has_decision
        CHECK (status = 'draft' OR (decision_no IS NOT NULL AND decision_date IS NOT NULL)),
    CONSTRAINT plans_geom_valid CHECK (geom IS NULL OR ST_IsValid(geom))
);
CREATE UNIQUE INDEX plans_one_approved_per_code ON planning.plans (code) WHERE status = 'approved';
COMMENT ON TABLE planning.plans IS
  'Plan versions. code is maHoSoQH (TT 16/2025: province 46 + QHC/QPK/QCT + 7 digits); level land_use = quy hoạch '
  'sử dụng đất, general = quy hoạch chung, zoning = phân khu 1/2000, detailed = chi tiết 1/500';

-- Plan layers --------------------------------------------------------------------------------------------
CREATE TABLE planning.zones (
    id bigserial PRIMARY KEY,
    plan_id integer NOT NULL REFERENCES planning.plans (id),
    zone_code text,
    name text,
    land_use_code text NOT NULL REFERENCES planning.land_use_codes (code),
    max_density_pct numeric(5, 2) CHECK (max_density_pct BETWEEN 0 AND 100),
    max_floors integer CHECK (max_floors >= 0),
    min_floors integer CHECK (min_floors >= 0),
    max_height_m numeric(7, 2) CHECK (max_height_m >= 0),
    max_far numeric(6, 2) CHECK (max_far >= 0),
    min_setback_m numeric(6, 2) CHECK (min_setback_m >= 0),
    min_ground_elev_m numeric(7, 2),
    heritage_zone text,
    notes text,
    source text,
    attributes jsonb NOT NULL DEFAULT '{{}}'::jsonb,
    geom geometry(MultiPolygon, 9214) NOT NULL,
    geom_area_m2 double precision GENERATED ALWAYS AS (ST_Area(geom)) STORED,
    {derived_geometry("MultiPolygon")},
    {BOOKKEEPING},
    {valid_geometry("zones")},
    CONSTRAINT zones_floors_order CHECK (min_floors IS NULL OR max_floors IS NULL OR min_floors <= max_floors)
);
COMMENT ON TABLE planning.zones IS
  'Land-use zones of a plan (ô quy hoạch) with their rules: density %, floors, height m, FAR, setback m';

CREATE TABLE planning.parcels (
    id bigserial PRIMARY KEY,
    ward text NOT NULL CHECK (btrim(ward) <> ''),
    ward_code text,
    sheet_no integer NOT NULL CHECK (sheet_no > 0),
    parcel_no integer NOT NULL CHECK (parcel_no > 0),
    area_m2 numeric(14, 2) CHECK (area_m2 >= 0),
    land_use_code text REFERENCES planning.land_use_codes (code),
    address text,
    source text,
    attributes jsonb NOT NULL DEFAULT '{{}}'::jsonb,
    geom geometry(MultiPolygon, 9214) NOT NULL,
    geom_area_m2 double precision GENERATED ALWAYS AS (ST_Area(geom)) STORED,
    {derived_geometry("MultiPolygon")},
    {BOOKKEEPING},
    {valid_geometry("parcels")},
    CONSTRAINT parcels_ward_sheet_parcel_key UNIQUE (ward, sheet_no, parcel_no)
);
COMMENT ON TABLE planning.parcels IS
  'Cadastral parcels (thửa đất): sheet_no = số tờ, parcel_no = số thửa; area_m2 as recorded, geom_area_m2 measured';

CREATE TABLE planning.buildings (
    id bigserial PRIMARY KEY,
    parcel_id bigint REFERENCES planning.parcels (id) ON DELETE SET NULL,
    name text,
    floors integer CHECK (floors >= 0),
    basement_floors integer CHECK (basement_floors >= 0),
    height_m numeric(7, 2) CHECK (height_m >= 0),
    land_use_code text REFERENCES planning.land_use_codes (code),
    source text,
    attributes jsonb NOT NULL DEFAULT '{{}}'::jsonb,
    geom geometry(MultiPolygon, 9214) NOT NULL,
    geom_area_m2 double precision GENERATED ALWAYS AS (ST_Area(geom)) STORED,
    {derived_geometry("MultiPolygon")},
    {BOOKKEEPING},
    {valid_geometry("buildings")}
);
COMMENT ON TABLE planning.buildings IS 'Existing or planned buildings (footprints), floors and height in metres';

CREATE TABLE planning.red_lines (
    id bigserial PRIMARY KEY,
    plan_id integer NOT NULL REFERENCES planning.plans (id),
    road_name text,
    red_line_width_m numeric(7, 2) CHECK (red_line_width_m > 0),
    notes text,
    source text,
    attributes jsonb NOT NULL DEFAULT '{{}}'::jsonb,
    geom geometry(MultiLineString, 9214) NOT NULL,
    {derived_geometry("MultiLineString")},
    {BOOKKEEPING},
    {valid_geometry("red_lines")}
);
COMMENT ON TABLE planning.red_lines IS 'Red lines (chỉ giới đường đỏ): boundary between lots and road land';

CREATE TABLE planning.building_lines (
    id bigserial PRIMARY KEY,
    plan_id integer NOT NULL REFERENCES planning.plans (id),
    road_name text,
    red_line_width_m numeric(7, 2) CHECK (red_line_width_m > 0),
    setback_m numeric(6, 2) CHECK (setback_m >= 0),
    notes text,
    source text,
    attributes jsonb NOT NULL DEFAULT '{{}}'::jsonb,
    geom geometry(MultiLineString, 9214) NOT NULL,
    {derived_geometry("MultiLineString")},
    {BOOKKEEPING},
    {valid_geometry("building_lines")}
);
COMMENT ON TABLE planning.building_lines IS 'Building lines (chỉ giới xây dựng): bound the main building';

CREATE INDEX zones_plan_id_idx ON planning.zones (plan_id);
CREATE INDEX zones_land_use_code_idx ON planning.zones (land_use_code);
CREATE INDEX parcels_sheet_parcel_idx ON planning.parcels (sheet_no, parcel_no);
CREATE INDEX buildings_parcel_id_idx ON planning.buildings (parcel_id);
CREATE INDEX red_lines_plan_id_idx ON planning.red_lines (plan_id);
CREATE INDEX building_lines_plan_id_idx ON planning.building_lines (plan_id);

-- Change history -----------------------------------------------------------------------------------------
CREATE TABLE planning.change_history (
    id bigserial PRIMARY KEY,
    table_name text NOT NULL,
    feature_id bigint NOT NULL,
    operation text NOT NULL CHECK (operation IN ('insert', 'update', 'delete', 'restore')),
    row_version integer NOT NULL,
    changed_by text NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    reason text,
    restored_from bigint REFERENCES planning.change_history (id),
    transaction_id bigint NOT NULL DEFAULT txid_current(),
    before jsonb,
    before_geom geometry,
    after jsonb,
    after_geom geometry
);
CREATE INDEX change_history_feature_idx ON planning.change_history (table_name, feature_id, id);
CREATE INDEX change_history_changed_at_idx ON planning.change_history (changed_at);
COMMENT ON TABLE planning.change_history IS
  'Every insert, update, delete and restore on the plan tables: who, when, why, and the row before and after '
  '(columns as JSON, geometry as stored, so a restore is exact). Append-only.';

-- Columns a history entry keeps: all but geometry (kept natively) and generated columns (derived).
CREATE FUNCTION planning.history_columns(t regclass, alias text) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT string_agg(quote_ident(alias) || '.' || quote_ident(attname), ', ' ORDER BY attnum)
    FROM pg_attribute
    WHERE attrelid = t AND attnum > 0 AND NOT attisdropped AND attgenerated = ''
      AND atttypid <> 'geometry'::regtype
$$;

CREATE FUNCTION planning.tg_bookkeeping() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n record;
    o record;
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
    -- Nothing changed? Compare with the bookkeeping of OLD, and without the generated columns (NULL in NEW here).
    n := NEW;
    n.updated_at := OLD.updated_at;
    n.updated_by := OLD.updated_by;
    n.row_version := OLD.row_version;
    o := jsonb_populate_record(OLD, '{{"geom_4326": null, "geom_3857": null, "geom_area_m2": null}}'::jsonb);
    IF n IS NOT DISTINCT FROM o THEN
        RETURN n;  -- no new version, no history entry
    END IF;
    NEW.updated_at := now();
    NEW.updated_by := planning.current_actor();
    NEW.row_version := OLD.row_version + 1;
    RETURN NEW;
END
$$;

-- One statement-level trigger per operation: the history of a bulk import is written in one INSERT ... SELECT
-- from the transition tables, about ten times faster than a row trigger.
CREATE FUNCTION planning.tg_record_history() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    op text := lower(TG_OP);
    marked text := nullif(current_setting('planning.operation', true), '');
    from_id bigint := nullif(current_setting('planning.restored_from', true), '')::bigint;
    actor text := planning.current_actor();
    why text := nullif(current_setting('planning.reason', true), '');
    insert_head text := 'INSERT INTO planning.change_history (table_name, feature_id, operation, row_version, '
        'changed_by, reason, restored_from, before, before_geom, after, after_geom) ';
BEGIN
    IF marked = 'restore' AND TG_OP <> 'DELETE' THEN
        op := 'restore';
    ELSE
        from_id := NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        EXECUTE insert_head || format(
            'SELECT %L, n.id, %L, n.row_version, $1, $2, $3, NULL, NULL, '
            '(SELECT to_jsonb(x) FROM (SELECT %s) x), n.geom FROM new_rows n ORDER BY n.id',
            TG_TABLE_NAME, op, planning.history_columns(TG_RELID, 'n'))
        USING actor, why, from_id;
    ELSIF TG_OP = 'UPDATE' THEN
        EXECUTE insert_head || format(
            'SELECT %L, n.id, %L, n.row_version, $1, $2, $3, '
            '(SELECT to_jsonb(x) FROM (SELECT %s) x), o.geom, (SELECT to_jsonb(x) FROM (SELECT %s) x), n.geom '
            'FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE n.row_version <> o.row_version ORDER BY n.id',
            TG_TABLE_NAME, op, planning.history_columns(TG_RELID, 'o'), planning.history_columns(TG_RELID, 'n'))
        USING actor, why, from_id;
    ELSE
        EXECUTE insert_head || format(
            'SELECT %L, o.id, %L, o.row_version, $1, $2, $3, '
            '(SELECT to_jsonb(x) FROM (SELECT %s) x), o.geom, NULL, NULL FROM old_rows o ORDER BY o.id',
            TG_TABLE_NAME, op, planning.history_columns(TG_RELID, 'o'))
        USING actor, why, from_id;
    END IF;
    RETURN NULL;
END
$$;

-- The state of a row as the application sees it in the history: columns as JSON, geom as hex EWKB (exact).
CREATE FUNCTION planning.row_state(j jsonb, g geometry) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN j IS NULL THEN NULL
        ELSE (j - ARRAY['geom', 'geom_4326', 'geom_3857', 'geom_area_m2'])
            || jsonb_build_object('geom', encode(ST_AsEWKB(g), 'hex')) END
$$;

CREATE FUNCTION planning.tg_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'planning.change_history is append-only: % refused', TG_OP;
END
$$;
CREATE TRIGGER change_history_append_only BEFORE UPDATE OR DELETE ON planning.change_history
    FOR EACH ROW EXECUTE FUNCTION planning.tg_history_append_only();
"""

for _table in LAYER_TABLES:
    UPGRADE_SQL += f"""
CREATE INDEX {_table}_geom_idx ON planning.{_table} USING gist (geom);
CREATE INDEX {_table}_geom_4326_idx ON planning.{_table} USING gist (geom_4326);
CREATE INDEX {_table}_geom_3857_idx ON planning.{_table} USING gist (geom_3857);
CREATE TRIGGER {_table}_bookkeeping BEFORE INSERT OR UPDATE ON planning.{_table}
    FOR EACH ROW EXECUTE FUNCTION planning.tg_bookkeeping();
CREATE TRIGGER {_table}_history_insert AFTER INSERT ON planning.{_table}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION planning.tg_record_history();
CREATE TRIGGER {_table}_history_update AFTER UPDATE ON planning.{_table}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION planning.tg_record_history();
CREATE TRIGGER {_table}_history_delete AFTER DELETE ON planning.{_table}
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION planning.tg_record_history();
"""

# A bad row for 9214 (e.g. without +towgs84) would put every feature 225 m off: refuse to go on.
CHECK_CONTROL_POINT_SQL = """
DO $$
DECLARE off double precision;
BEGIN
    SELECT ST_Distance(
        ST_Transform(ST_SetSRID(ST_MakePoint(107.5790, 16.4698), 4326), 9214),
        ST_SetSRID(ST_MakePoint(561625.296, 1821650.262), 9214)) INTO off;
    IF off > 0.01 THEN
        RAISE EXCEPTION 'SRID 9214 in spatial_ref_sys puts the VN-2000 control point % m off: its definition lacks '
            'the official datum shift (EPSG:6960); fix or delete that row and migrate again', round(off::numeric, 3);
    END IF;
END
$$;
"""


def run_sql(script: str) -> None:
    """Run a multi-statement script as is (the driver would read each '%' as a parameter placeholder)."""
    op.get_bind().exec_driver_sql(script.replace("%", "%%"))


def upgrade() -> None:
    bind = op.get_bind()
    bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS postgis")
    bind.execute(
        sa.text(
            "INSERT INTO spatial_ref_sys (srid, auth_name, auth_srid, srtext, proj4text) "
            "VALUES (9214, 'EPSG', 9214, :srtext, :proj4) ON CONFLICT (srid) DO NOTHING"
        ),
        {"srtext": SRID_9214_SRTEXT, "proj4": SRID_9214_PROJ4},
    )
    run_sql(CHECK_CONTROL_POINT_SQL)
    run_sql(UPGRADE_SQL)
    bind.execute(
        sa.text(
            "INSERT INTO planning.land_use_codes (code, group_code, is_group, name_vi, name_en, rgb, color_hex, notes) "
            "VALUES (:code, :group_code, :is_group, :name_vi, :name_en, :rgb, :color_hex, :notes)"
        ),
        [
            {
                "code": c.code,
                "group_code": c.group_code,
                "is_group": c.is_group,
                "name_vi": c.name_vi,
                "name_en": c.name_en,
                "rgb": c.rgb,
                "color_hex": c.color_hex,
                "notes": c.notes,
            }
            for c in land_use_codes()
        ],
    )
    bind.execute(
        sa.text(
            "INSERT INTO planning.legacy_land_use_codes (legacy_code, code, source, notes) "
            "VALUES (:legacy_code, :code, :source, :notes)"
        ),
        legacy_codes(),
    )


def downgrade() -> None:
    bind = op.get_bind()
    bind.exec_driver_sql("DROP SCHEMA planning CASCADE")
    # Remove the SRID row only if it is the one this migration wrote and nothing else uses it.
    bind.execute(
        sa.text(
            "DELETE FROM spatial_ref_sys WHERE srid = 9214 AND proj4text = :proj4 "
            "AND NOT EXISTS (SELECT 1 FROM geometry_columns WHERE srid = 9214)"
        ),
        {"proj4": SRID_9214_PROJ4},
    )
