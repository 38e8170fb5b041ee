"""Extrusion of (multi)polygons into closed, flat-shaded triangle meshes, vectorised over all features of a tile.

Walls are built for every ring edge at once with NumPy; only the caps (roof and floor) need a triangulation per
polygon, done by earcut (the ``mapbox_earcut`` wheel from PyPI, the C++ port of Mapbox's earcut, which handles holes).
Rings are re-oriented (exteriors counter-clockwise, holes clockwise seen from above) so every normal points out of the
solid, whatever orientation the database stores.

Positions are exact to the millimetre: each vertex is placed in ECEF from its WGS84 longitude/latitude and its own
ellipsoidal height (base, or base + height along the local ellipsoid normal), then expressed in the tileset's
east-north-up frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import mapbox_earcut  # type: ignore[import-not-found]
import numpy as np
import numpy.typing as npt
import shapely

from tiles.geodesy import geodetic_to_ecef, up_vectors

__all__ = ["Mesh", "extrude"]

F64 = npt.NDArray[np.float64]


@dataclass
class Mesh:
    """Triangles of one tile in the east-north-up frame (z up), float64 until written."""

    positions: F64  # (v, 3) east, north, up in metres
    normals: npt.NDArray[np.float32]  # (v, 3) unit vectors
    feature_ids: npt.NDArray[np.int64]  # (v,) index of the feature of each vertex
    indices: npt.NDArray[np.int64]  # (t * 3,) counter-clockwise seen from outside

    @property
    def vertex_count(self) -> int:
        """How many vertices the mesh has."""
        return int(self.positions.shape[0])


def _ring_layout(ring_offsets: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Per kept vertex (closing duplicates removed): its index in the coordinate array and its ring."""
    lengths = np.diff(ring_offsets) - 1  # without the closing point
    ring_of = np.repeat(np.arange(lengths.shape[0]), lengths)
    starts = np.repeat(ring_offsets[:-1], lengths)
    new_starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    within = np.arange(ring_of.shape[0]) - new_starts
    return starts + within, ring_of


def extrude(
    geoms: npt.NDArray[np.object_],
    base_h: F64,
    height: F64,
    origin: F64,
    rotation: F64,
) -> Mesh:
    """Extrude WGS84 lon/lat (multi)polygons (shapely, axis order lon, lat) into one mesh.

    Parameters
    ----------
    geoms
        One geometry per feature, Polygon or MultiPolygon.
    base_h, height
        Per feature: ellipsoidal height of the floor, and the extrusion height (m, > 0).
    origin, rotation
        The east-north-up frame (:func:`tiles.geodesy.enu_frame`).
    """
    geoms = np.array([g if g.geom_type == "MultiPolygon" else shapely.MultiPolygon([g]) for g in geoms], dtype=object)
    _, coords, (ring_off, poly_off, feat_off) = shapely.to_ragged_array(geoms)
    ring_off = ring_off.astype(np.int64)
    poly_off = poly_off.astype(np.int64)
    feat_off = feat_off.astype(np.int64)
    n_rings = ring_off.shape[0] - 1
    n_polys = poly_off.shape[0] - 1
    poly_of_ring = np.repeat(np.arange(n_polys), np.diff(poly_off))
    feat_of_poly = np.repeat(np.arange(feat_off.shape[0] - 1), np.diff(feat_off))
    feat_of_ring = feat_of_poly[poly_of_ring]

    src, ring_of = _ring_layout(ring_off)
    lengths = np.diff(ring_off) - 1
    ring_start = np.cumsum(lengths) - lengths
    lon = coords[src, 0]
    lat = coords[src, 1]
    feat_of_v = feat_of_ring[ring_of]
    ups = up_vectors(lon, lat)
    base_ecef = geodetic_to_ecef(lon, lat, base_h[feat_of_v])
    top_ecef = base_ecef + ups * height[feat_of_v][:, None]
    base = (base_ecef - origin) @ rotation.T
    top = (top_ecef - origin) @ rotation.T

    # Orientation: exterior rings counter-clockwise, holes clockwise (seen from above, in east/north).
    idx = np.arange(src.shape[0])
    nxt = idx + 1
    last = ring_start + lengths - 1
    nxt[last] = ring_start
    cross = base[:, 0] * base[nxt, 1] - base[nxt, 0] * base[:, 1]
    area2 = np.add.reduceat(cross, ring_start) if n_rings else np.zeros(0)
    is_exterior = np.zeros(n_rings, dtype=bool)
    is_exterior[poly_off[:-1]] = True
    flip = np.where(is_exterior, area2 < 0, area2 > 0)
    if flip.any():
        rs = ring_start[ring_of]
        re = rs + lengths[ring_of]
        perm = np.where(flip[ring_of], rs + re - 1 - idx, idx)
        base, top = base[perm], top[perm]

    # Walls: one quad (4 vertices, 2 triangles) per edge with a length.
    b0, b1 = base, base[nxt]
    t0, t1 = top, top[nxt]
    d = b1[:, :2] - b0[:, :2]
    length = np.hypot(d[:, 0], d[:, 1])
    keep = length > 1e-6
    b0, b1, t0, t1, d, length = b0[keep], b1[keep], t0[keep], t1[keep], d[keep], length[keep]
    n_quads = b0.shape[0]
    wall_pos = np.stack([b0, b1, t1, t0], axis=1).reshape(-1, 3)
    wall_n = np.zeros((n_quads, 3))
    wall_n[:, 0] = d[:, 1] / length
    wall_n[:, 1] = -d[:, 0] / length
    wall_nrm = np.repeat(wall_n, 4, axis=0)
    wall_feat = np.repeat(feat_of_v[keep], 4)
    q = np.arange(n_quads) * 4
    wall_idx = np.stack([q, q + 1, q + 2, q, q + 2, q + 3], axis=1).reshape(-1)

    # Caps: earcut per polygon on the (east, north) of its rings.
    tri_parts = []
    for p in range(n_polys):
        r0, r1 = poly_off[p], poly_off[p + 1]
        v0 = ring_start[r0]
        v1 = ring_start[r1 - 1] + lengths[r1 - 1]
        ends = (np.cumsum(lengths[r0:r1])).astype(np.uint32)
        tri = mapbox_earcut.triangulate_float64(base[v0:v1, :2], ends)
        tri_parts.append(tri.astype(np.int64) + v0)
    tris = np.concatenate(tri_parts).reshape(-1, 3) if tri_parts else np.zeros((0, 3), dtype=np.int64)
    # earcut does not promise a winding: make every roof triangle counter-clockwise seen from above.
    a, b, c = base[tris[:, 0], :2], base[tris[:, 1], :2], base[tris[:, 2], :2]
    ccw = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]) > 0
    tris = np.where(ccw[:, None], tris, tris[:, [0, 2, 1]])
    n_v = base.shape[0]
    up = np.array([0.0, 0.0, 1.0])

    positions = np.concatenate([wall_pos, top, base])
    normals = np.concatenate([wall_nrm, np.broadcast_to(up, (n_v, 3)), np.broadcast_to(-up, (n_v, 3))])
    feature_ids = np.concatenate([wall_feat, feat_of_v, feat_of_v])
    roof = tris.reshape(-1) + wall_pos.shape[0]
    floor = tris[:, [0, 2, 1]].reshape(-1) + wall_pos.shape[0] + n_v
    indices = np.concatenate([wall_idx, roof, floor])
    return Mesh(positions=positions, normals=normals.astype(np.float32), feature_ids=feature_ids, indices=indices)


def estimated_vertices(npoints: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Upper bound of the mesh vertices of a feature from its point count (``ST_NPoints``): 6 per point."""
    return npoints * 6
