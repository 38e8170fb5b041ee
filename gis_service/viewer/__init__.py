"""The web viewer's own files: one page with a 2D map (MapLibre GL JS) and a 3D globe (CesiumJS) of the plans.

The page and its modules live in ``static/`` (plain ES modules, no bundler); :mod:`gis_service.api.viewer` serves
them with the npm packages' build files and the page's settings (``/viewer/config.json``).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["STATIC_DIR"]

STATIC_DIR = Path(__file__).resolve().parent / "static"
