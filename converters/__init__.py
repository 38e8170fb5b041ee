"""Converters: digitize plan maps (vector files, CAD drawings, scanned rasters in VN-2000) into PostGIS.

``import_path(path, engine, ImportOptions(plan="46QPK0000001"))`` reads a file or a TT 16/2025 dossier, brings its
coordinates to EPSG:9214 (recognising VN-2000 written as a custom Transverse Mercator), maps its attributes through a
profile, converts TCVN3/VNI text, repairs geometry, and writes everything in one transaction with history.
"""

from converters.errors import (
    ConverterError,
    CorruptFile,
    EmptyLayer,
    MissingCRS,
    UnknownCodes,
    UnsupportedFormat,
)
from converters.importer import ImportOptions, import_path
from converters.report import ImportReport, LayerReport

__all__ = [
    "ConverterError",
    "CorruptFile",
    "EmptyLayer",
    "ImportOptions",
    "ImportReport",
    "LayerReport",
    "MissingCRS",
    "UnknownCodes",
    "UnsupportedFormat",
    "import_path",
]
