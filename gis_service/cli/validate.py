"""``planning validate``: check a plan dossier as ``planning import`` reads it, write nothing, report every finding."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gis_service.cli import say
from gis_service.cli.importer import KINDS


@click.command("validate")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--kind", type=click.Choice(KINDS), help="What the file holds (default: by its TT 16/2025 layer names).")
@click.option("--mapping", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Mapping profile (YAML).")
@click.option("--src-crs", metavar="CRS", help="CRS of the coordinates: EPSG:9214, vn2000:107, vn2000:107.75, ...")
@click.option(
    "--accept-suggested-mapping", is_flag=True, help="Use the fields proposed for columns no known field fills."
)
@click.option("--report", "report_paths", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report: .json, .html or .pdf (repeatable).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the JSON report on stdout.")
@click.pass_context
def validate(ctx: click.Context, path: Path, report_paths: tuple[Path, ...], as_json: bool, **kw: object) -> None:
    """Validate PATH (a file or TT 16/2025 dossier folder) without writing anything.

    Exit status 0 when the dossier passes (no error; warnings allowed), 1 when errors were found.
    """
    from converters import ImportOptions
    from converters.validation import validate_path

    opts = ImportOptions(**kw)  # type: ignore[arg-type]
    report = validate_path(path, opts)
    for p in report_paths:
        report.write(p)
    if as_json:
        click.echo(report.to_json())
    if not ctx.ensure_object(dict).get("quiet"):
        say(report.summary())
    sys.exit(0 if report.passed else 1)
