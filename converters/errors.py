"""Errors of the converters: each names the file (and layer, feature or field) and says what to do."""

from __future__ import annotations

from gis_service.errors import ValidationError

__all__ = [
    "ConverterError",
    "CorruptFile",
    "EmptyLayer",
    "MissingCRS",
    "UnknownCodes",
    "UnsupportedFormat",
]


class ConverterError(ValidationError):
    """A file cannot be imported as it is; nothing was written."""

    code = "InvalidInput"


class UnsupportedFormat(ConverterError):
    """A format the importer cannot read (DWG, DGN v8, an unknown file)."""


class CorruptFile(ConverterError):
    """A file that is truncated, corrupt or incomplete (a shapefile without its .shx, say)."""


class MissingCRS(ConverterError):
    """Coordinates without a coordinate reference system, or one the importer cannot use."""


class EmptyLayer(ConverterError):
    """A layer with no features (or none left after dropping empty geometries)."""


class UnknownCodes(ConverterError):
    """Land-use codes that are neither current (TT 08/2024) nor known legacy codes."""

    def __init__(self, message: str, codes: dict[str, int]) -> None:
        super().__init__(message)
        self.codes = codes
