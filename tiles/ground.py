"""Base heights of features: a fixed ground level, or a DEM GeoTIFF sampled with rasterio, plus the geoid offset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import Transformer

from gis_service.errors import ConfigError

__all__ = ["Ground"]


class Ground:
    """Ellipsoidal height of each feature's floor.

    Without a DEM every feature stands on ``ground_level_m``. With one, a feature stands on the lowest DEM height
    under its vertices (so no corner floats above the terrain), or on ``ground_level_m`` where the DEM has no data.
    ``geoid_offset_m`` turns those sea-level heights into WGS84 ellipsoidal heights.
    """

    def __init__(self, *, ground_level_m: float, geoid_offset_m: float, dem_path: Path | None = None) -> None:
        self.ground_level_m = ground_level_m
        self.geoid_offset_m = geoid_offset_m
        self.dem_path = dem_path
        self._dem: tuple[npt.NDArray[np.float64], object, Transformer, float | None] | None = None
        if dem_path is not None:
            self._dem = self._open(dem_path)

    @staticmethod
    def _open(path: Path) -> tuple[npt.NDArray[np.float64], object, Transformer, float | None]:
        import rasterio
        from rasterio.errors import RasterioIOError

        if not path.is_file():
            raise ConfigError(f"DEM {path} does not exist (setting GIS_TILES__DEM_PATH)")
        try:
            with rasterio.open(path) as src:
                if src.crs is None:
                    raise ConfigError(f"DEM {path} has no coordinate reference system: add one (e.g. EPSG:9214)")
                band = src.read(1, masked=False).astype(np.float64)
                transform = src.transform
                # Through the EPSG code where there is one, so that pyproj picks the registered VN-2000 shift
                # (EPSG:6960); a custom WKT without TOWGS84 would place the DEM about 225 m off.
                epsg = src.crs.to_epsg()
                crs = f"EPSG:{epsg}" if epsg else src.crs.to_wkt()
                nodata = src.nodata
        except RasterioIOError as exc:
            raise ConfigError(f"DEM {path} cannot be read as a GeoTIFF: {exc}") from None
        to_dem = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        return band, transform, to_dem, nodata

    def signature(self) -> str:
        """What the heights depend on, for the incremental rebuild (a changed DEM file rebuilds everything)."""
        dem = ""
        if self.dem_path is not None:
            st = self.dem_path.stat()
            dem = f"{self.dem_path.resolve()}:{st.st_size}:{st.st_mtime_ns}"
        return f"{self.ground_level_m!r}|{self.geoid_offset_m!r}|{dem}"

    def base_heights(self, geoms: npt.NDArray[np.object_]) -> npt.NDArray[np.float64]:
        """Ellipsoidal floor height per feature of WGS84 lon/lat geometries."""
        n = geoms.shape[0]
        ground = np.full(n, self.ground_level_m, dtype=np.float64)
        if self._dem is not None and n:
            band, transform, to_dem, nodata = self._dem
            coords, which = shapely.get_coordinates(geoms, return_index=True)
            x, y = to_dem.transform(coords[:, 0], coords[:, 1])
            inv = ~transform  # type: ignore[operator]
            x, y = np.asarray(x), np.asarray(y)
            col = np.floor(inv.a * x + inv.b * y + inv.c).astype(np.int64)
            row = np.floor(inv.d * x + inv.e * y + inv.f).astype(np.int64)
            inside = (row >= 0) & (row < band.shape[0]) & (col >= 0) & (col < band.shape[1])
            h = np.full(coords.shape[0], np.inf)
            h[inside] = band[row[inside], col[inside]]
            if nodata is not None:
                h[h == nodata] = np.inf
            h[~np.isfinite(h)] = np.inf
            lowest = np.full(n, np.inf)
            np.minimum.at(lowest, which, h)
            ground = np.where(np.isfinite(lowest), lowest, ground)
        return ground + self.geoid_offset_m
