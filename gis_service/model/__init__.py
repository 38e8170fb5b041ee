"""The data model: the catalogue of plan layers and their columns, and who may see which features."""

from gis_service.model.columns import Column, ColumnType
from gis_service.model.layers import LAYERS, PLAN_LAYERS, SYSTEM_COLUMNS, TT16_FIELDS, Layer, layer_of_kind

__all__ = ["LAYERS", "PLAN_LAYERS", "SYSTEM_COLUMNS", "TT16_FIELDS", "Column", "ColumnType", "Layer", "layer_of_kind"]
