"""Schema migrations (Alembic), run programmatically: ``planning db migrate`` and ``planning db up`` call these."""

from __future__ import annotations

from importlib.resources import files
from typing import TYPE_CHECKING

from sqlalchemy.exc import DBAPIError, OperationalError

from gis_service.db.engine import create_db_engine, describe_operational_error
from gis_service.errors import DatabaseError, DatabaseUnavailable

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported where it is used: every CLI command (an import of a plan, say) loads this module, and only
# the migration commands need Alembic, whose import is slow (docs/decisions.md).

__all__ = ["VERSION_TABLE", "current_revision", "downgrade", "head_revision", "upgrade"]

#: Alembic's bookkeeping table, kept in ``public`` so that downgrading to base can drop schema ``planning``.
VERSION_TABLE = "planning_schema_version"


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(files("gis_service.db") / "migrations"))
    cfg.attributes["database_url"] = url
    return cfg


def head_revision() -> str:
    """The newest revision of the migrations shipped with the package."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    assert head is not None
    return head


def current_revision(url: str) -> str | None:
    """The revision the database at ``url`` is at, or ``None`` when it has never been migrated."""
    engine = create_db_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            from alembic.runtime.migration import MigrationContext

            return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()
    except OperationalError as exc:
        raise DatabaseUnavailable(describe_operational_error(exc, engine.url)) from None
    finally:
        engine.dispose()


def _run(action: str, url: str, revision: str) -> None:
    from alembic import command

    cfg = alembic_config(url)
    try:
        if action == "upgrade":
            command.upgrade(cfg, revision)
        else:
            command.downgrade(cfg, revision)
    except OperationalError as exc:
        raise DatabaseUnavailable(describe_operational_error(exc, url)) from None
    except DBAPIError as exc:
        msg = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise DatabaseError(f"migration {action} to {revision} failed, nothing was changed: {msg}") from None


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (each migration runs in one transaction)."""
    _run("upgrade", url, revision)


def downgrade(url: str, revision: str) -> None:
    """Take the schema down to ``revision`` (``base`` removes schema ``planning`` entirely)."""
    _run("downgrade", url, revision)
