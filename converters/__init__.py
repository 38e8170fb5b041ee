"""Converters: digitize plan maps (vector files, CAD drawings, scanned rasters in VN-2000) into PostGIS.

Filled in by the converters issue; this package exists so the layout shows the architecture from the start.
"""

__all__: list[str] = []
