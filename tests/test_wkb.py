"""converters.wkb writes the same bytes as shapely, for shapes with several parts and holes."""

from __future__ import annotations

import numpy as np
import shapely

from converters.crs import serving_coordinates
from converters.wkb import MultiPolygonWKB


def _shapes() -> np.ndarray:
    rng = np.random.default_rng(7)
    out = []
    for _ in range(300):
        parts = []
        for p in range(int(rng.integers(1, 4))):
            c = rng.random(2) * 1000 + [500_000 + 60 * p, 1_800_000]
            part = shapely.Point(c).buffer(10 + rng.random() * 5, quad_segs=int(rng.integers(1, 6)))
            if rng.random() < 0.5:  # one or two holes
                part = part.difference(shapely.Point(c).buffer(3, quad_segs=2))
                part = part.difference(shapely.Point(c + np.array([6.0, 0.0])).buffer(1, quad_segs=1))
            parts.append(part)
        out.append(shapely.MultiPolygon(parts))
    return np.array(out, dtype=object)


def test_points_and_ewkb_match_shapely() -> None:
    geoms = _shapes()
    w = MultiPolygonWKB(geoms)
    xy = w.coordinates()
    assert np.array_equal(xy, shapely.get_coordinates(geoms))
    assert w.ewkb(9214) == shapely.to_wkb(shapely.set_srid(geoms, 9214), include_srid=True).tolist()
    moved = xy * 2 + 1
    expected = shapely.to_wkb(shapely.set_srid(shapely.set_coordinates(geoms.copy(), moved), 4326), include_srid=True)
    assert w.ewkb(4326, moved) == expected.tolist()


def test_serving_coordinates_match_proj_web_mercator() -> None:
    from pyproj import Transformer

    xy = np.array([[561625.296, 1821650.262], [540_000.0, 1_800_000.0]])
    lonlat, merc = serving_coordinates(xy)
    assert abs(lonlat[0, 0] - 107.5790) < 1e-7 and abs(lonlat[0, 1] - 16.4698) < 1e-7  # the control point
    x, y = Transformer.from_crs(4326, 3857, always_xy=True).transform(lonlat[:, 0], lonlat[:, 1])
    assert np.abs(merc - np.column_stack([x, y])).max() < 1e-6


def test_polygons_are_written_as_one_part_multipolygons() -> None:
    polys = np.array([shapely.get_geometry(g, 0) for g in _shapes()], dtype=object)
    w = MultiPolygonWKB(polys)
    assert np.array_equal(w.coordinates(), shapely.get_coordinates(polys))
    multi = shapely.multipolygons(polys.reshape(-1, 1))
    assert w.ewkb(9214) == shapely.to_wkb(shapely.set_srid(multi, 9214), include_srid=True).tolist()
    moved = w.coordinates() - 5
    expected = shapely.set_srid(shapely.set_coordinates(multi.copy(), moved), 3857)
    assert w.ewkb(3857, moved) == shapely.to_wkb(expected, include_srid=True).tolist()


def test_fitted_serving_coordinates_are_proj_to_a_micrometre_and_the_points_own() -> None:
    """The transformation is fitted per 50 km square and used only where it comes within 1e-11° (about 1 µm) of
    PROJ; a point's copy is the same whatever other points are transformed with it."""
    from converters.crs import _CELL_FITS, WEB_MERCATOR_RADIUS, _proj_serving

    rng = np.random.default_rng(3)
    for width, height in ((3_000.0, 2_000.0), (40_000.0, 60_000.0), (600_000.0, 1_500_000.0)):
        xy = np.column_stack([300_000 + rng.random(40_000) * width, 1_000_000 + rng.random(40_000) * height])
        lonlat, merc = serving_coordinates(xy)
        exact = _proj_serving(xy)
        assert np.abs(lonlat - exact[:, :2]).max() <= 2e-11
        assert np.abs(merc[:, 1] - exact[:, 2]).max() <= 2e-6
        some = rng.permutation(len(xy))[:777]
        alone = serving_coordinates(xy[some])
        assert np.array_equal(alone[0], lonlat[some]) and np.array_equal(alone[1], merc[some])
        # two (n, 2) arrays binary COPY takes as they are; Web Mercator x is lon in radians times the radius
        assert lonlat.flags.c_contiguous and merc.flags.c_contiguous and lonlat.shape == merc.shape == xy.shape
        assert np.array_equal(merc[:, 0], WEB_MERCATOR_RADIUS * np.radians(lonlat[:, 0]))
    assert any(f is not None for f in _CELL_FITS.values())  # the fits were used, not PROJ alone
    assert all(a.shape == (0, 2) for a in serving_coordinates(np.empty((0, 2))))
