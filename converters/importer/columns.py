"""What the importer knows of the model's columns, per kind of layer, derived from the layer catalogue.

The rest of the package reads these; they come from :mod:`gis_service.model`, the one declaration of the layers.
"""

from __future__ import annotations

from gis_service.model import LAYERS

#: The layers this package writes (the base map has its own reader, converters.base_map).
_WRITTEN = [layer for layer in LAYERS.values() if layer.name != "map_features"]

COLUMNS: dict[str, list[str]] = {layer.kind: [c.name for c in layer.imported()] for layer in _WRITTEN}
REQUIRED = {layer.kind: names for layer in _WRITTEN if (names := [c.name for c in layer.imported() if c.required])}
#: Accepted values, by column name (a name means one thing in every layer: tests/test_catalogue.py checks it).
RANGES = {c.name: c.range for layer in _WRITTEN for c in layer.imported() if c.range is not None}
PLAN_KINDS = tuple(layer.kind for layer in LAYERS.values() if layer.versioned or layer.name == "plans")
#: Layers whose rows are areas (the plan's boundary is the plan's own geometry, not rows of a layer).
POLYGONAL_KINDS = tuple(layer.kind for layer in _WRITTEN if layer.is_polygonal and layer.name != "plans")
#: Columns the plan's table of bulk zones has as defaults during the load, so they are not sent with every row.
BULK_DEFAULTS = ("plan_id", "created_by", "updated_by")
ORDER = tuple(layer.kind for layer in LAYERS.values())
LEVEL_OF = {"QHC": "general", "QPK": "zoning", "QCT": "detailed", "QSD": "land_use"}
SCALE_OF = {"general": 10000, "zoning": 2000, "detailed": 500, "land_use": 10000}
