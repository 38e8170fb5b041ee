"""OGC APIs: pygeoapi configuration, the project's own PostGIS provider and processes (mounted at /ogc).

Filled in by the OGC API read path issue.
"""

__all__: list[str] = []
