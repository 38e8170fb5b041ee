"""Alembic environment: the URL comes from the caller (gis_service.db.migrate), never from a file."""

from __future__ import annotations

from alembic import context

from gis_service.db.engine import create_db_engine
from gis_service.db.migrate import VERSION_TABLE

url = context.config.attributes["database_url"]
engine = create_db_engine(url, pool_size=1, statement_timeout_ms=0)
try:
    with engine.connect() as connection:
        context.configure(connection=connection, version_table=VERSION_TABLE, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
finally:
    engine.dispose()
