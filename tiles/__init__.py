"""3D Tiles 1.1 of plan zones, buildings and parcels from PostGIS: ``build_tilesets`` (``planning tiles build``)."""

from tiles.build import LayerReport, TileOptions, build_tilesets
from tiles.layers import LAYERS

__all__ = ["LAYERS", "LayerReport", "TileOptions", "build_tilesets"]
