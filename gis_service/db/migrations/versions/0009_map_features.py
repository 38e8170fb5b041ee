"""Base-map features: the river, lakes, moat and canals, the citadel's walls, streets, alleys (kiệt) and landmarks.

Why: with no internet base map a citizen must still recognise Huế around the zones, so the dossier's base-map layers
(``NenDiaHinh``: ``ThuyHe_A``, ``TuongThanh_A``, ``TimDuong_L``, ``DiaDanh_P``) are stored, served (OGC API, vector
tiles) and drawn under the plan. They are not plan data: outside plan versions, public, like parcels.

One table for the four layers, told apart by ``kind`` (``water``, ``wall``, ``street``, ``alley``, ``landmark``;
``subkind`` the source's own class, e.g. ``song``, ``ho_thanh``): a map draws them together, and the rule model
reads the alleys near a lot (``WHERE kind = 'alley'``: ``name``, ``width_m``, ``geom``) to judge a back lot's access.
The geometry column is of any type, and a check ties the type to the kind (areas for water and walls, lines for
streets and alleys, points for landmarks). Serving copies, indexes, bookkeeping and history as for parcels.

Features are keyed across re-imports by their source id (``attributes->>'source_key'``, the TT 16/2025
``maDoiTuong``), as buildings are: indexed, since an import looks each one up.

Revision ID: 0009_map_features
Revises: 0008_bulk_zone_checks
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0009_map_features"
down_revision = "0008_bulk_zone_checks"
branch_labels = None
depends_on = None

#: ``kind`` → the geometry types its features may have (``GeometryType(geom)``).
GEOMETRY_TYPES = {
    "water": ("POLYGON", "MULTIPOLYGON"),
    "wall": ("POLYGON", "MULTIPOLYGON"),
    "street": ("LINESTRING", "MULTILINESTRING"),
    "alley": ("LINESTRING", "MULTILINESTRING"),
    "landmark": ("POINT",),
}

# A function, not the expression itself in the check: PostGIS's geometry_columns view reads any check that mentions
# GeometryType(...) = '...' as the column's one type (it took this column for one of type "water"), and QGIS
# trusts that view.
_FITS = "\n        ".join(
    f"WHEN '{kind}' THEN GeometryType(geom) IN ({', '.join(repr(t) for t in types)})"
    for kind, types in GEOMETRY_TYPES.items()
)

UPGRADE_SQL = f"""
CREATE FUNCTION planning.map_feature_shape_fits(kind text, geom geometry) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE kind
        {_FITS}
        ELSE false END
$$;
COMMENT ON FUNCTION planning.map_feature_shape_fits(text, geometry) IS
  'Whether a base-map feature''s geometry type fits its kind: areas for water and walls, lines for streets and '
  'alleys, a point for a landmark';

CREATE TABLE planning.map_features (
    id bigserial PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ({", ".join(repr(k) for k in GEOMETRY_TYPES)})),
    subkind text,
    name text,
    name_en text,
    width_m numeric(7, 2) CHECK (width_m > 0),
    height_m numeric(7, 2) CHECK (height_m >= 0),
    source text,
    attributes jsonb NOT NULL DEFAULT '{{}}'::jsonb,
    geom geometry(Geometry, 9214) NOT NULL,
    geom_4326 geometry(Geometry, 4326) GENERATED ALWAYS AS (ST_Transform(geom, 4326)) STORED,
    geom_3857 geometry(Geometry, 3857) GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text,
    row_version integer NOT NULL DEFAULT 1 CHECK (row_version >= 1),
    CONSTRAINT map_features_geom_valid CHECK (ST_IsValid(geom)),
    CONSTRAINT map_features_geom_not_empty CHECK (NOT ST_IsEmpty(geom)),
    CONSTRAINT map_features_geom_type CHECK (planning.map_feature_shape_fits(kind, geom))
);
COMMENT ON TABLE planning.map_features IS
  'Base map (nền địa hình): water (sông, hồ, hào thành, kênh), citadel walls, streets, alleys (kiệt) and landmarks, '
  'outside plan versions. kind water|wall|street|alley|landmark, subkind the source class (loai)';
COMMENT ON COLUMN planning.map_features.width_m IS 'Street or alley width m (lộ giới)';
COMMENT ON COLUMN planning.map_features.height_m IS 'Height above the ground m (walls, landmarks)';
CREATE INDEX map_features_kind_idx ON planning.map_features (kind);
CREATE INDEX map_features_source_key_idx ON planning.map_features ((attributes->>'source_key'));
CREATE INDEX map_features_geom_idx ON planning.map_features USING gist (geom);
CREATE INDEX map_features_geom_4326_idx ON planning.map_features USING gist (geom_4326);
CREATE INDEX map_features_geom_3857_idx ON planning.map_features USING gist (geom_3857);
CREATE TRIGGER map_features_bookkeeping BEFORE INSERT OR UPDATE ON planning.map_features
    FOR EACH ROW EXECUTE FUNCTION planning.tg_bookkeeping();
CREATE TRIGGER map_features_history_insert AFTER INSERT ON planning.map_features
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION planning.tg_record_history();
CREATE TRIGGER map_features_history_update AFTER UPDATE ON planning.map_features
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION planning.tg_record_history();
CREATE TRIGGER map_features_history_delete AFTER DELETE ON planning.map_features
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION planning.tg_record_history();
"""

# The table's entries in planning.change_history stay: the history is append-only.
DOWNGRADE_SQL = "DROP TABLE planning.map_features; DROP FUNCTION planning.map_feature_shape_fits(text, geometry);"


def upgrade() -> None:
    op.execute(UPGRADE_SQL)


def downgrade() -> None:
    op.execute(DOWNGRADE_SQL)
