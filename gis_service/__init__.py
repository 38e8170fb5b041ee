"""Huế 3D planning service: the core (plans, rules, lookup, permits, editing with history), which knows nothing of
the web, and its shells (``gis_service.api``: the FastAPI app; ``gis_service.cli``; ``gis_service.viewer``).

The web application is built by :func:`gis_service.api.app.create_app`; the settings are :class:`Settings`.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["Settings", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "Settings":
        from gis_service.settings import Settings

        return Settings
    raise AttributeError(name)
