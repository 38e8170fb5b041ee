"""The pygeoapi configuration and OpenAPI document, generated from the settings and validated.

pygeoapi reads both files when ``pygeoapi.starlette_app`` is imported (``PYGEOAPI_CONFIG``, ``PYGEOAPI_OPENAPI``).
The configuration names the database only by a key (``ogc.provider.register_database``), so no password is
written to disk.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import yaml

from ogc.layers import LAYERS
from ogc.provider import CRS84, OUTPUT_CRS, STORAGE_CRS_FOR_PYGEOAPI

__all__ = ["AS_OF_PARAMETER", "HUE_BBOX", "VIEW_PARAMETER", "OgcFiles", "build_config", "with_as_of", "write_config"]

#: Thừa Thiên Huế / Huế city, CRS84
HUE_BBOX = [107.0, 15.95, 108.25, 16.8]
DATABASE_KEY = "planning"
#: The plan on a date (gis_service.as_of), as the items of the plan layers take it.
AS_OF_PARAMETER = {
    "name": "as_of",
    "in": "query",
    "required": False,
    "description": "Quy hoạch tại ngày: the features of the plan versions in force on this date (YYYY-MM-DD) "
    "instead of the approved ones; a later date answers for today",
    "schema": {"type": "string", "format": "date"},
    "style": "form",
    "explode": False,
}


#: The drafts under consultation instead of the approved plans (gis_service.consultation.view).
VIEW_PARAMETER = {
    "name": "view",
    "in": "query",
    "required": False,
    "description": "view=consultation: Dự thảo đang lấy ý kiến — only the features of the drafts under consultation "
    "today, each with view and plan_status draft (not in force, never mixed with the approved plan). Not with as_of.",
    "schema": {"type": "string", "enum": ["consultation"]},
    "style": "form",
    "explode": False,
}


def build_config(
    *, base_url: str, database_key: str = DATABASE_KEY, max_items: int = 1000, default_items: int = 10
) -> dict[str, Any]:
    """The pygeoapi configuration of the service mounted at ``base_url`` (e.g. ``http://host:8000/ogc``)."""
    resources: dict[str, Any] = {}
    for layer in LAYERS.values():
        resources[layer.name] = {
            "type": "collection",
            "title": {"en": layer.title_en, "vi": layer.title_vi},
            "description": {"en": layer.description, "vi": f"{layer.title_vi} ({layer.title_en})"},
            "keywords": list(layer.keywords),
            "extents": {"spatial": {"bbox": HUE_BBOX, "crs": CRS84}},
            "links": _tile_links(base_url, layer.name),
            "limits": {"max_items": max_items, "default_items": default_items, "on_exceed": "throttle"},
            "providers": [
                {
                    "type": "feature",
                    "name": "ogc.provider.PlanningProvider",
                    "data": database_key,
                    "table": layer.name,
                    "id_field": "id",
                    # What pygeoapi is told about storage: see ogc.provider (the legal CRS is EPSG:9214).
                    "storage_crs": STORAGE_CRS_FOR_PYGEOAPI,
                    "crs": list(OUTPUT_CRS),
                    "editable": False,
                    # hands the provider as_of and view; it drops the others, as pygeoapi would
                    "include_extra_query_parameters": True,
                }
            ],
        }
    resources["zoning-lookup"] = {
        "type": "process",
        "processor": {"name": "ogc.processes.ZoningLookupProcessor", "database": database_key},
    }
    resources["permit-check"] = {  # sync and async (Prefer: respond-async; jobs: ogc.permit_process)
        "type": "process",
        "processor": {"name": "ogc.permit_process.PermitCheckProcessor", "database": database_key},
    }
    return {
        "server": {
            "bind": {"host": "127.0.0.1", "port": 8000},  # unused: the app is mounted by FastAPI
            "url": base_url.rstrip("/"),
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "gzip": False,
            "languages": ["en-US", "vi-VN"],
            "cors": True,
            "pretty_print": False,
            "limits": {"default_items": default_items, "max_items": max_items, "on_exceed": "throttle"},
            "map": {
                "url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
                "attribution": "&copy; OpenStreetMap contributors",
            },
        },
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {
                "title": {"en": "Huế planning service", "vi": "Dịch vụ quy hoạch Huế"},
                "description": {
                    "en": "Land-use and construction plans of Huế (approved versions), VN-2000 EPSG:9214",
                    "vi": "Quy hoạch sử dụng đất và quy hoạch xây dựng Huế (đã phê duyệt), VN-2000 EPSG:9214",
                },
                "keywords": {"en": ["planning", "zoning", "Huế"], "vi": ["quy hoạch", "Huế"]},
                "keywords_type": "theme",
                "terms_of_service": "https://www.apache.org/licenses/LICENSE-2.0",
                "url": base_url.rsplit("/ogc", 1)[0] + "/",
            },
            "license": {"name": "Apache-2.0", "url": "https://www.apache.org/licenses/LICENSE-2.0"},
            "provider": {"name": "Huế 3D planning service", "url": base_url.rsplit("/ogc", 1)[0] + "/"},
            "contact": {"name": "Huế 3D planning service", "position": "Maintainer", "role": "pointOfContact"},
        },
        "resources": resources,
    }


def _tile_links(base_url: str, name: str) -> list[dict[str, str]]:
    """Links from a collection to its vector tiles (served by the app, see gis_service.api.tiles)."""
    from gis_service.vector_tiles import TILE_LAYERS

    if name not in TILE_LAYERS:
        return []
    base = base_url.rstrip("/")
    return [
        {
            "type": "application/json",
            "rel": "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector",
            "title": "Vector tiles (Mapbox Vector Tiles, WebMercatorQuad)",
            "href": f"{base}/collections/{name}/tiles",
        }
    ]


def with_as_of(oas: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document with ``as_of`` and ``view`` among the query parameters of the plan layers' items.

    pygeoapi documents only the standard parameters and the queryables; ``as_of`` and ``view`` are neither.
    """
    for layer in LAYERS.values():
        operation = oas["paths"].get(f"/collections/{layer.name}/items", {}).get("get")
        if layer.in_force_filter is not None and operation is not None:
            operation.setdefault("parameters", []).extend([AS_OF_PARAMETER, VIEW_PARAMETER])
    return oas


class OgcFiles:
    """Paths of a written configuration and its OpenAPI document."""

    def __init__(self, config: Path, openapi: Path) -> None:
        self.config = config
        self.openapi = openapi


def write_config(config: dict[str, Any], directory: Path) -> OgcFiles:
    """Validate ``config`` against pygeoapi's schema, write it and its OpenAPI document into ``directory``.

    Files are named after a hash of the configuration, so apps with different settings never share files and an
    unchanged configuration is not regenerated.

    Raises
    ------
    gis_service.errors.ConfigError
        The configuration does not validate (a bug of this module or a bad setting).
    """
    from pygeoapi.config import validate_config
    from pygeoapi.openapi import get_oas

    from gis_service.errors import ConfigError

    try:
        validate_config(json.loads(json.dumps(config)))
    except Exception as exc:  # jsonschema.ValidationError: say where
        raise ConfigError(f"the generated pygeoapi configuration is invalid: {exc}".splitlines()[0]) from None
    text = yaml.safe_dump(config, allow_unicode=True, sort_keys=False)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    directory.mkdir(parents=True, exist_ok=True)
    files = OgcFiles(directory / f"pygeoapi-{digest}.yml", directory / f"openapi-{digest}.yml")
    if not files.config.is_file() or not files.openapi.is_file():
        oas = with_as_of(get_oas(config, fail_on_invalid_collection=True))
        tmp = files.openapi.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(yaml.safe_dump(json.loads(json.dumps(oas, default=str)), allow_unicode=True), encoding="utf-8")
        tmp.replace(files.openapi)
        tmp = files.config.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(files.config)
    return files
