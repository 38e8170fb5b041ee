"""Huế 3D planning service: the web application and the domain services.

Public surface: :func:`create_app` and :class:`Settings`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Settings", "__version__", "create_app"]

if TYPE_CHECKING:
    from fastapi import FastAPI

    from gis_service.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the FastAPI application (see :func:`gis_service.api.app.create_app`)."""
    from gis_service.api.app import create_app as _create_app

    return _create_app(settings)


def __getattr__(name: str) -> Any:
    if name == "Settings":
        from gis_service.settings import Settings

        return Settings
    raise AttributeError(name)
