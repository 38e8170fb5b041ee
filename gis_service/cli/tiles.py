"""``planning tiles``: build the 3D tiles (3D Tiles 1.1) served under ``/tiles/3d/``."""

from __future__ import annotations

from pathlib import Path

import click

from gis_service.cli import get_settings, say
from gis_service.db import create_db_engine, resolve_database_url


@click.group()
def tiles() -> None:
    """3D tiles of plan zones, buildings and parcels."""


@tiles.command()
@click.option("--plan", "plan", default=None, metavar="CODE", help="Only this plan (maHoSoQH, e.g. 46QPK0000001).")
@click.option(
    "--layers",
    default="zones,buildings,parcels",
    show_default=True,
    help="Comma-separated layers to build.",
)
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output folder [default: GIS_TILES__OUT_DIR, or .data/tiles; with --plan, a sub-folder named after it].",
)
@click.pass_context
def build(ctx: click.Context, plan: str | None, layers: str, out: Path | None) -> None:
    """Build the tilesets, or bring them up to date: only tiles whose features changed are rewritten."""
    from tiles import TileOptions, build_tilesets

    settings = get_settings(ctx)
    ts = settings.tiles
    if out is None:
        out = ts.out_dir / plan if plan else ts.out_dir
    options = TileOptions(**ts.model_dump(exclude={"out_dir"}))
    quiet = ctx.find_root().obj.get("quiet", False)
    engine = create_db_engine(resolve_database_url(settings), pool_size=1, statement_timeout_ms=0)
    try:
        reports = build_tilesets(
            engine,
            out,
            plan=plan,
            layers=[name.strip() for name in layers.split(",") if name.strip()],
            options=options,
            progress=None if quiet else say,
        )
    finally:
        engine.dispose()
    for report in reports:
        say(report.describe())
    if (out / "tileset.json").is_file():
        say(f"tileset: {out / 'tileset.json'} (served at /tiles/3d/ when it is the configured folder)")
    else:
        say("nothing to tile yet: the database holds no zones, buildings or parcels for this selection")


@tiles.command()
@click.option(
    "--sets",
    "sets",
    default=None,
    metavar="NAMES",
    help="Comma-separated layer sets (zones, parcels, red_lines, map_features, map) [default: all].",
)
@click.option("--max-zoom", type=click.IntRange(0, 22), default=None, help="[default: GIS_VECTOR_TILES__MAX_ZOOM]")
@click.pass_context
def vector(ctx: click.Context, sets: str | None, max_zoom: int | None) -> None:
    """Write the published vector tiles (served as files), or bring them up to date: only changed tiles are
    rewritten. Publication does this by itself; run it after importing parcels or the base map."""
    from gis_service.published_tiles import LAYER_SETS, build_published_tiles

    settings = get_settings(ctx)
    names = [n.strip() for n in sets.split(",") if n.strip()] if sets else list(LAYER_SETS)
    unknown = [n for n in names if n not in LAYER_SETS]
    if unknown:
        raise click.BadParameter(
            f"no layer set {', '.join(unknown)}; sets: {', '.join(LAYER_SETS)}", param_hint="--sets"
        )
    quiet = ctx.find_root().obj.get("quiet", False)
    engine = create_db_engine(resolve_database_url(settings), pool_size=1, statement_timeout_ms=0)
    try:
        reports = build_published_tiles(
            engine,
            settings.vector_tiles.dir,
            max_zoom=settings.vector_tiles.max_zoom if max_zoom is None else max_zoom,
            layer_sets=names,
            progress=None if quiet else say,
        )
    finally:
        engine.dispose()
    for report in reports:
        say(report.describe())
