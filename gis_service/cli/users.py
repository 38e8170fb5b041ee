"""``planning users``: add, list and disable the users of the web service."""

from __future__ import annotations

import sys

import click
from sqlalchemy.engine import Engine

from gis_service.cli import get_settings, say
from gis_service.db import create_db_engine, resolve_database_url


def _engine(ctx: click.Context) -> Engine:
    return create_db_engine(resolve_database_url(get_settings(ctx)), pool_size=1)


@click.group()
def users() -> None:
    """Users and roles: public (read only), planner, permit_officer, admin."""


@users.command("add")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice(["public", "planner", "permit_officer", "admin"]),
    default="public",
    show_default=True,
    help="What the user may do.",
)
@click.option("--full-name", default=None, help="The person's full name (họ và tên).")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input (for scripts) instead of prompting.",
)
@click.pass_context
def add(ctx: click.Context, name: str, role: str, full_name: str | None, password_stdin: bool) -> None:
    """Add user NAME; the password is asked twice (or read from stdin when it is not a terminal)."""
    from gis_service.auth import create_user

    if password_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(f"password for {name}", hide_input=True, confirmation_prompt=True)
    engine = _engine(ctx)
    try:
        with engine.begin() as conn:
            user = create_user(conn, name, role, password, full_name=full_name, created_by="planning users add")
    finally:
        engine.dispose()
    say(f"user {user.name} added with role {user.role.value}")


@users.command("list")
@click.pass_context
def list_command(ctx: click.Context) -> None:
    """Every user: name, role, whether disabled."""
    from gis_service.auth import list_users

    engine = _engine(ctx)
    try:
        with engine.connect() as conn:
            found = list_users(conn)
    finally:
        engine.dispose()
    if not found:
        say("no users yet: add one with 'planning users add NAME --role admin'")
        return
    click.echo(f"{'name':<32} {'role':<15} state")
    for u in found:
        click.echo(f"{u.name:<32} {u.role.value:<15} {'disabled' if u.disabled else 'active'}")


@users.command("disable")
@click.argument("name")
@click.pass_context
def disable(ctx: click.Context, name: str) -> None:
    """Disable user NAME: it can no longer log in and its tokens stop working now."""
    from gis_service.auth import disable_user

    engine = _engine(ctx)
    try:
        with engine.begin() as conn:
            user = disable_user(conn, name)
    finally:
        engine.dispose()
    say(f"user {user.name} disabled; its tokens are revoked")


@users.command("unlock")
@click.argument("name", required=False)
@click.option("--address", default=None, help="Also lift the lock of this client address (all names from it).")
@click.pass_context
def unlock(ctx: click.Context, name: str | None, address: str | None) -> None:
    """Lift the login locks of user NAME (from every address) and/or of a client address."""
    from gis_service.auth import unlock_logins

    engine = _engine(ctx)
    try:
        with engine.begin() as conn:
            cleared = unlock_logins(conn, name, address=address)
    finally:
        engine.dispose()
    whose = " and ".join(w for w in (name, address and f"address {address}") if w)
    say(f"login locks of {whose} lifted ({cleared} cleared); logins may go on at once")
