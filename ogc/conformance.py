"""The conformance classes the OGC API at ``/ogc`` declares: exactly those its routes implement.

pygeoapi's own list names classes whatever the providers do (CQL2 text but not JSON, no Part 3 filter, none of the
tiles the project serves itself, process callbacks nobody sends). This list is served instead
(``gis_service.api.ogc_conformance``), and ``tests/test_ogc_conformance.py`` exercises every class in it: a class
added here without a check there fails that test.
"""

from __future__ import annotations

__all__ = ["CONFORMANCE"]

_COMMON = "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/"
_FEATURES = "http://www.opengis.net/spec/ogcapi-features-{}/1.0/conf/"
_CQL2 = "http://www.opengis.net/spec/cql2/1.0/conf/"
_TILES = "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/"
_PROCESSES = "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/"

CONFORMANCE: tuple[str, ...] = (
    *(_COMMON + c for c in ("core", "landing-page", "json", "html", "oas30")),
    "http://www.opengis.net/spec/ogcapi-common-2/1.0/conf/collections",
    *(_FEATURES.format(1) + c for c in ("core", "geojson", "html", "oas30")),
    _FEATURES.format(2) + "crs",
    # Part 3: queryables, property filters, the filter parameter on items
    *(_FEATURES.format(3) + c for c in ("queryables", "queryables-query-parameters", "filter", "features-filter")),
    _FEATURES.format(4) + "create-replace-delete",
    _FEATURES.format(4) + "update",
    *(
        _CQL2 + c
        for c in (
            "basic-cql2",
            "cql2-text",
            "cql2-json",
            "advanced-comparison-operators",
            "basic-spatial-functions",
        )
    ),
    # the vector tiles (gis_service.api.tiles): a dataset tileset and one per collection, Mapbox vector tiles
    *(_TILES + c for c in ("core", "tileset", "tilesets-list", "dataset-tilesets", "geodata-tilesets", "mvt")),
    *(_PROCESSES + c for c in ("core", "json", "oas30", "ogc-process-description")),
)
