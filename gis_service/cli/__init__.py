"""The ``planning`` command line. Each command is a thin wrapper over a library function.

Errors of the project (:class:`~gis_service.errors.PlanningError`) and bad settings come out as one line on
stderr with exit status 1, never as a traceback (``-v`` shows the traceback for debugging).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import Any

import click
import pydantic

from gis_service.errors import PlanningError
from gis_service.settings import Settings

__all__ = ["cli", "exit_without_teardown", "main", "own_process"]


class PlanningGroup(click.Group):
    """A group whose commands turn project errors into one-line messages."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PlanningError as exc:
            if logging.getLogger().isEnabledFor(logging.DEBUG):
                raise
            raise click.ClickException(exc.message) from None
        except pydantic.ValidationError as exc:
            err = exc.errors()[0]
            where = "GIS_" + "__".join(str(p).upper() for p in err["loc"])
            raise click.ClickException(f"setting {where} is invalid: {err['msg']}") from None


_EXIT_WITHOUT_TEARDOWN = threading.Event()
_OWN_PROCESS = threading.Event()


def own_process() -> bool:
    """Whether the command runs as the ``planning`` process itself (:func:`main`), not inside another program
    (tests, CliRunner): settings of the whole process are then the command's to make."""
    return _OWN_PROCESS.is_set()


def exit_without_teardown() -> None:
    """Let the ``planning`` process end, once its command has succeeded, without Python's teardown of the modules
    it loaded (GDAL, pandas, Arrow...: a noticeable wait after an import, when all is written and committed). A command
    calls this when it has nothing left to clean up; run in-process (tests, CliRunner) it changes nothing."""
    _EXIT_WITHOUT_TEARDOWN.set()


def get_settings(ctx: click.Context) -> Settings:
    obj = ctx.ensure_object(dict)
    if "settings" not in obj:
        obj["settings"] = Settings()
    settings: Settings = obj["settings"]
    return settings


def say(message: str) -> None:
    """Progress for people, on stderr (stdout stays clean for values such as ``planning db url``)."""
    click.echo(message, err=True)


@click.group(cls=PlanningGroup)
@click.option("-v", "--verbose", count=True, help="More detail on stderr (-v debug, with tracebacks).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors.")
@click.version_option(package_name="hue-planning", prog_name="planning")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: bool) -> None:
    """Huế 3D planning service: database, imports, 3D tiles and the web service."""
    level = logging.ERROR if quiet else (logging.DEBUG if verbose else logging.INFO)
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    if not verbose:
        logging.getLogger("alembic").setLevel(logging.WARNING)
    ctx.ensure_object(dict)["quiet"] = quiet


def _register() -> None:
    from gis_service.cli.certificates import certificates
    from gis_service.cli.consultation import consultation
    from gis_service.cli.db import db
    from gis_service.cli.importer import import_
    from gis_service.cli.lookup import lookup
    from gis_service.cli.mail import mail
    from gis_service.cli.plans import plans
    from gis_service.cli.review import review
    from gis_service.cli.sample_plans import demo
    from gis_service.cli.serve import serve, topology
    from gis_service.cli.tiles import tiles
    from gis_service.cli.users import users
    from gis_service.cli.validate import validate

    cli.add_command(db)
    cli.add_command(serve)
    cli.add_command(topology)
    cli.add_command(import_)
    cli.add_command(validate)
    cli.add_command(tiles)
    cli.add_command(plans)
    cli.add_command(users)
    cli.add_command(demo)
    cli.add_command(certificates)
    cli.add_command(consultation)
    cli.add_command(mail)
    cli.add_command(lookup)
    cli.add_command(review)


_register()


def main() -> None:
    """Entry point of the ``planning`` command.

    A command that asked for it (:func:`exit_without_teardown`) ends the process without Python's teardown of the
    modules it loaded, once it has succeeded.
    """
    _EXIT_WITHOUT_TEARDOWN.clear()  # set by a command of this run only (an in-process run may have set it before)
    _OWN_PROCESS.set()
    try:
        cli(prog_name="planning")
    except SystemExit as exc:
        if exc.code in (0, None) and _EXIT_WITHOUT_TEARDOWN.is_set():
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
        raise
