"""A counter of changes to what the rules read: ``planning.data_version``.

Why: the anonymous permit pre-check, the envelope and the lookup's envelope read the same site (a parcel, the zones,
red lines and building lines around it, the alleys of the base map) over and over, and that site changes only when
one of those tables does. The service keeps the sites it has read, tagged with this counter, and reads the counter
(one tiny query) before using one: a site read before any change since is still right; otherwise it is read again.

A statement-level trigger on each table the rules read takes the next value after every insert, update, delete and
truncate, whatever the client (the API, an import, QGIS, psql). A bulk load of zones into a new plan version's own
table fires nothing there, but creating the version's plan row does, and the zones become visible only with it.

Revision ID: 0010_data_version
Revises: 0009_map_features
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0010_data_version"
down_revision = "0009_map_features"
branch_labels = None
depends_on = None

#: The tables the rules read (gis_service.rules.site).
TABLES = ("plans", "zones", "parcels", "red_lines", "building_lines", "map_features")


def upgrade() -> None:
    op.execute("CREATE SEQUENCE planning.data_version")
    op.execute(
        "COMMENT ON SEQUENCE planning.data_version IS "
        "'Advanced by every change to the tables the rules read: cached sites older than its value are read again'"
    )
    op.execute(
        "CREATE FUNCTION planning.tg_data_version() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN PERFORM nextval('planning.data_version'); RETURN NULL; END $$"
    )
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON planning.{table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION planning.tg_data_version()"
        )


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_data_version ON planning.{table}")
    op.execute("DROP FUNCTION planning.tg_data_version()")
    op.execute("DROP SEQUENCE planning.data_version")
