"""The background job of the tiler: bring the served 3D tiles up to date after a plan is published.

:data:`HANDLERS` is what the web app gives its job runner (:func:`gis_service.jobs.start_job_runner`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from gis_service.jobs import TILES_REBUILD, Handler, Progress
from gis_service.settings import Settings
from tiles.build import TileOptions, build_tilesets
from tiles.vector_job import rebuild_published_vector_tiles

#: How long a rebuild waits for another build of the same folder (another job, another process, the command line).
BUILD_WAIT_S = 600.0

__all__ = ["HANDLERS", "rebuild_tiles"]


def rebuild_tiles(settings: Settings, engine: Engine, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Bring the served 3D tiles (``GIS_TILES__OUT_DIR``) up to date; only changed tiles are rewritten.

    Parameters
    ----------
    settings
        The tiles' folder and options are ``settings.tiles``.
    engine
        Where the features are read.
    params
        The job's parameters: ``layers`` to rebuild (default zones, buildings and parcels).
    progress
        Told what is being done.

    Returns
    -------
    dict
        Per layer: features, tiles, tiles written and deleted, seconds.
    """
    vector_tiles = rebuild_published_vector_tiles(settings, engine, params, progress)  # issue 21: served as files
    ts = settings.tiles
    reports = build_tilesets(
        engine,
        ts.out_dir,
        layers=params.get("layers") or ("zones", "buildings", "parcels"),
        options=TileOptions(**ts.model_dump(exclude={"out_dir"})),
        progress=progress,
        wait_s=BUILD_WAIT_S,
    )
    return {
        "layers": [
            {
                "layer": r.layer,
                "features": r.features,
                "tiles": r.tiles,
                "written": len(r.written),
                "deleted": len(r.deleted),
                "seconds": round(r.seconds, 3),
            }
            for r in reports
        ],
        "vector_tiles": vector_tiles,
    }


#: The code of each kind of job the tiler runs.
HANDLERS: dict[str, Handler] = {TILES_REBUILD: rebuild_tiles}
