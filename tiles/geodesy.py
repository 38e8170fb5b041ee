"""WGS84 geodesy in NumPy: geodetic <-> ECEF (EPSG:4978) and the local east-north-up frame of a tileset.

These are closed formulas (no datum shift: the input is already WGS84, the VN-2000 shift is applied by PostGIS when it
fills ``geom_4326``), vectorised: no Python call per point, even for a tile of 60,000 vertices. pyproj does the
same transforms, point by point through PROJ; the tests check these against pyproj at the VN-2000 control point.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["E2", "A", "ecef_to_geodetic", "enu_frame", "geodetic_to_ecef", "up_vectors"]

F64 = npt.NDArray[np.float64]

A = 6378137.0  #: WGS84 semi-major axis (m)
F = 1 / 298.257223563
E2 = F * (2 - F)  #: first eccentricity squared


def geodetic_to_ecef(lon_deg: F64, lat_deg: F64, h: F64) -> F64:
    """Geodetic WGS84 longitude, latitude (degrees) and ellipsoidal height (m) to ECEF (n, 3).

    >>> p = geodetic_to_ecef(np.array([0.0]), np.array([0.0]), np.array([0.0]))
    >>> p.round(3).tolist()
    [[6378137.0, 0.0, 0.0]]
    """
    lon = np.radians(lon_deg)
    lat = np.radians(lat_deg)
    sin_lat = np.sin(lat)
    cos_lat = np.cos(lat)
    n = A / np.sqrt(1.0 - E2 * sin_lat * sin_lat)
    out = np.empty((lon.shape[0], 3))
    out[:, 0] = (n + h) * cos_lat * np.cos(lon)
    out[:, 1] = (n + h) * cos_lat * np.sin(lon)
    out[:, 2] = (n * (1.0 - E2) + h) * sin_lat
    return out


def up_vectors(lon_deg: F64, lat_deg: F64) -> F64:
    """Unit ellipsoid normals (the direction of ellipsoidal height) at each point, (n, 3) in ECEF."""
    lon = np.radians(lon_deg)
    lat = np.radians(lat_deg)
    cos_lat = np.cos(lat)
    return np.stack([cos_lat * np.cos(lon), cos_lat * np.sin(lon), np.sin(lat)], axis=1)


def ecef_to_geodetic(xyz: F64) -> tuple[F64, F64, F64]:
    """ECEF (n, 3) to longitude, latitude (degrees) and ellipsoidal height (Bowring, then two refinements).

    >>> lon, lat, h = ecef_to_geodetic(geodetic_to_ecef(np.array([107.579]), np.array([16.4698]), np.array([12.5])))
    >>> round(float(lon[0]), 9), round(float(lat[0]), 9), round(float(h[0]), 6)
    (107.579, 16.4698, 12.5)
    """
    x, y, z = xyz[:, 0], xyz[:, 1], xyz[:, 2]
    lon = np.arctan2(y, x)
    p = np.hypot(x, y)
    lat = np.arctan2(z, p * (1.0 - E2))
    for _ in range(5):
        n = A / np.sqrt(1.0 - E2 * np.sin(lat) ** 2)
        h = p / np.cos(lat) - n
        lat = np.arctan2(z, p * (1.0 - E2 * n / (n + h)))
    n = A / np.sqrt(1.0 - E2 * np.sin(lat) ** 2)
    h = p / np.cos(lat) - n
    return np.degrees(lon), np.degrees(lat), h


def enu_frame(lon_deg: float, lat_deg: float, h: float = 0.0) -> tuple[F64, F64]:
    """The east-north-up frame at a point: its ECEF origin (3,) and rotation R (3, 3) with rows east, north, up.

    ``enu = R @ (ecef - origin)``; the 3D Tiles ``transform`` (ENU -> ECEF) is ``[[R.T, origin], [0, 1]]``.
    """
    lon, lat = np.radians(lon_deg), np.radians(lat_deg)
    origin = geodetic_to_ecef(np.array([lon_deg]), np.array([lat_deg]), np.array([h]))[0]
    east = np.array([-np.sin(lon), np.cos(lon), 0.0])
    north = np.array([-np.sin(lat) * np.cos(lon), -np.sin(lat) * np.sin(lon), np.cos(lat)])
    up = np.array([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
    return origin, np.stack([east, north, up])


def enu_to_ecef_matrix(origin: F64, rotation: F64) -> F64:
    """The 4x4 ENU -> ECEF matrix (column vectors) of a frame from :func:`enu_frame`."""
    m = np.identity(4)
    m[:3, :3] = rotation.T
    m[:3, 3] = origin
    return m
