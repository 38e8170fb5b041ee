"""Database URLs, engines and the friendly errors for a database that cannot be reached."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from gis_service.errors import ConfigError, DatabaseRefused, DatabaseUnavailable

__all__ = ["check_database", "create_db_engine", "describe_operational_error", "safe_url", "sqlalchemy_url"]

LOCAL_HINT = "check GIS_DATABASE_URL, or unset it to use the project's own database ('planning db up')"


def sqlalchemy_url(url: str) -> URL:
    """Parse a libpq-style URL (``postgresql://…``) into a SQLAlchemy URL using psycopg 3.

    >>> sqlalchemy_url("postgres://u:p@db:5432/planning").drivername
    'postgresql+psycopg'
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            f"GIS_DATABASE_URL is not a database URL ({safe_text(url)!r}): expected "
            "postgresql://user:password@host:port/database"
        ) from None
    backend = parsed.get_backend_name()
    if backend not in ("postgresql", "postgres"):
        raise ConfigError(
            f"GIS_DATABASE_URL must point at PostgreSQL with PostGIS, not {backend!r}: "
            "postgresql://user:password@host:port/database"
        )
    if not parsed.database:
        raise ConfigError("GIS_DATABASE_URL names no database: postgresql://user:password@host:port/DATABASE")
    return parsed.set(drivername="postgresql+psycopg")


def safe_text(url: str) -> str:
    """A URL string with its password masked, for messages."""
    return re.sub(r"(//[^:/@]+:)[^@]*@", r"\1***@", url)


def safe_url(url: URL | str) -> str:
    """Render a URL for messages and logs, never with its password."""
    if isinstance(url, str):
        return safe_text(url)
    return url.set(drivername=url.get_backend_name()).render_as_string(hide_password=True)


def create_db_engine(
    url: str,
    *,
    pool_size: int = 10,
    statement_timeout_ms: int = 30_000,
    prepared_statements: bool = True,
    application_name: str = "hue-planning",
    **kw: Any,
) -> Engine:
    """An engine with a connection pool; no connection is opened until first use.

    ``prepared_statements=False`` for a server behind PgBouncer's transaction pooling, which cannot keep them.
    """
    sa_url = sqlalchemy_url(url)
    connect_args: dict[str, Any] = {"connect_timeout": 10, "application_name": application_name}
    if not prepared_statements:
        connect_args["prepare_threshold"] = None
    if statement_timeout_ms:
        connect_args["options"] = f"-c statement_timeout={statement_timeout_ms}"
    return sa.create_engine(
        sa_url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args=connect_args,
        **kw,
    )


def describe_operational_error(exc: BaseException, url: URL | str) -> str:
    """One line saying why the database at ``url`` cannot be used and what to do."""
    raw = str(getattr(exc, "orig", exc) or exc).strip()
    first = raw.splitlines()[0] if raw else type(exc).__name__
    # libpq prefixes messages with 'connection to server at "h" (ip), port p failed: '
    first = re.sub(r'^connection to server at "[^"]*" \([^)]*\), port \d+ failed: ', "", first)
    first = re.sub(r"^connection to server .*? failed: ", "", first)
    return f"cannot connect to the database {safe_url(url)}: {first}; {LOCAL_HINT}"


def check_database(engine: Engine) -> dict[str, str]:
    """Connect once and report the server and PostGIS versions.

    Raises
    ------
    DatabaseRefused
        The server cannot be reached or refuses the login.
    DatabaseUnavailable
        The database lacks PostGIS.
    """
    try:
        with engine.connect() as conn:
            server = conn.execute(sa.text("SHOW server_version")).scalar_one()
            has_postgis = conn.execute(
                sa.text("SELECT extversion FROM pg_extension WHERE extname = 'postgis'")
            ).scalar_one_or_none()
    except (OperationalError, DBAPIError) as exc:
        raise DatabaseRefused(describe_operational_error(exc, engine.url)) from None
    if has_postgis is None:
        raise DatabaseUnavailable(
            f"the database {safe_url(engine.url)} has no PostGIS: run 'CREATE EXTENSION postgis' there as a "
            "superuser (the server needs the postgis package, e.g. postgresql-15-postgis-3)"
        )
    return {"server_version": str(server), "postgis_version": str(has_postgis)}
