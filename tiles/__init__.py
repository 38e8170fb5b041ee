"""3D Tiles 1.1 (glb with EXT_mesh_features / EXT_structural_metadata) built from PostGIS.

Filled in by the 3D tiler issue.
"""

__all__: list[str] = []
