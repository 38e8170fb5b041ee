"""The vector part of the tiler's job: after a publication, rewrite the published vector tiles it touched.

Kept apart from the 3D rebuild (:mod:`tiles.jobs`), which calls it: the vector tiles are drawn by PostGIS
(:mod:`gis_service.published_tiles`), not by the 3D tiler.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from gis_service.jobs import Progress
from gis_service.published_tiles import build_published_tiles
from gis_service.settings import Settings

__all__ = ["rebuild_published_vector_tiles"]


def rebuild_published_vector_tiles(
    settings: Settings, engine: Engine, params: dict[str, Any], progress: Progress
) -> list[dict[str, Any]]:
    """Bring the published vector tiles (``GIS_VECTOR_TILES__DIR``) up to date after a publication.

    Parameters
    ----------
    settings
        The folder and deepest zoom are ``settings.vector_tiles``.
    engine
        Where the features are read.
    params
        The job's parameters: ``published_id`` and ``superseded_id`` limit the redraw to those plan versions'
        features (``plan_versions`` when jobs were run together, see :func:`gis_service.jobs.merge_params`); without
        them every published tile is drawn again (and only changed ones written).
    progress
        Told what is being done.

    Returns
    -------
    list of dict
        Per layer set: tiles drawn, written, deleted, seconds.
    """
    if "plan_versions" in params:
        ids = [int(i) for i in params["plan_versions"]]
    else:
        ids = [int(params[k]) for k in ("published_id", "superseded_id") if params.get(k) is not None]
    reports = build_published_tiles(
        engine,
        settings.vector_tiles.dir,
        max_zoom=settings.vector_tiles.max_zoom,
        plan_ids=ids or None,
        progress=progress,
    )
    return [
        {
            "layer_set": r.layer_set,
            "drawn": r.drawn,
            "written": len(r.written),
            "deleted": len(r.deleted),
            "seconds": round(r.seconds, 3),
        }
        for r in reports
    ]
