"""The parcels' geometries in each service process: the parcel at a point found without a query, as PostGIS finds it.

A prepared point lookup needs two things from the database: the parcel at the point (the live lookup's choice: the
lowest id among the parcels the point intersects) and the point's location as PostGIS writes it (lon/lat rounded to
8 decimals, e/n to the millimetre, :data:`gis_service.lookup_prepared.PREPARED_POINTS_SQL`). A query costs more than
everything else the lookup does, so each process keeps the parcels (EPSG:9214, shapely, an STR tree) and finds both
itself, when it can be sure of the database's answer:

- pyproj and PostGIS run the same transformation (VN-2000's Helmert shift) but not the same PROJ: they agree to
  about a nanometre, not bit for bit. A value within :data:`GUARD_M` (or :data:`GUARD_DEG`) of a rounding step
  could round the other way in the database, so such a point is not answered here;
- a point within :data:`GUARD_M` of a parcel's edge could fall on the other side of it there: not answered here.

Those points (under 1 % of random points) and every point while the parcels are being read go to the database as before
(:class:`gis_service.api.point_batches.PointBatches`). The parcels are read again whenever they may have changed
(:attr:`gis_service.hot_answers.HotAnswers.parcels_epoch`): a change of parcels, a change not notified, the listener
reconnecting. More parcels than ``settings.lookup_point_index`` are not kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

import numpy as np
import psycopg
import shapely
from pyproj import Transformer
from shapely.errors import GEOSException

from gis_service.hot_answers import HotAnswers

__all__ = ["GUARD_DEG", "GUARD_M", "UNSURE", "ParcelIndex"]

log = logging.getLogger(__name__)

#: Points closer than this to a parcel's edge or to a rounding step of e/n (metres) are left to the database.
GUARD_M = 1e-6
#: Points whose lon/lat lie closer than this to a rounding step (degrees, about 1 µm) are left to the database.
GUARD_DEG = 1e-11
#: What :meth:`ParcelIndex.find` answers when only the database can say.
UNSURE: Final = "unsure"

_TO_VN2000 = Transformer.from_crs(4326, 9214, always_xy=True)
_TO_WGS84 = Transformer.from_crs(9214, 4326, always_xy=True)
_PARCELS_SQL = "SELECT id, ST_AsBinary(geom) FROM planning.parcels WHERE geom IS NOT NULL ORDER BY id"


def _pg_round(value: float, places: int, guard: float) -> float | None:
    """``round(value::numeric, places)`` as PostgreSQL computes it (15 significant digits, then half away from zero).

    With a ``guard``: None when ``value`` lies within it of a half step, where a value a nanometre off could round
    the other way; elsewhere the 15 digits and the way halves go do not matter, and Python's round is exact.
    """
    if guard:
        scale = 10.0**places
        if abs((value * scale) % 1.0 - 0.5) < guard * scale:
            return None
        return round(value, places)
    exact = Decimal(format(value, ".15g"))
    return float(exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


class ParcelIndex:
    """The parcels of the database, kept for finding the parcel at a point (see the module doc).

    Parameters
    ----------
    most
        Parcels kept at most; with more in the database nothing is kept (0: never).
    url, connect_kwargs
        Where the parcels are read (the primary, as the listener of :mod:`gis_service.hot_answers`).
    """

    def __init__(self, most: int, url: str = "", connect_kwargs: dict[str, Any] | None = None) -> None:
        self.most = most
        self.url = url
        self.connect_kwargs = connect_kwargs or {}
        #: The parcels epoch the geometries were read at (None: none read).
        self.epoch: int | None = None
        self._ids: np.ndarray[Any, np.dtype[np.int64]] = np.empty(0, dtype=np.int64)
        self._geoms: np.ndarray[Any, np.dtype[np.object_]] = np.empty(0, dtype=object)
        self._tree: shapely.STRtree | None = None
        self._loading: asyncio.Task[None] | None = None

    def ready(self, epoch: int) -> bool:
        """True when the parcels read are those of ``epoch``."""
        return self._tree is not None and self.epoch == epoch

    def start(self, hot: HotAnswers) -> None:
        """Read the parcels as soon as ``hot`` listens, before the first point lookup asks for them."""
        if self.most > 0 and hot.size > 0 and self._loading is None:
            self._loading = asyncio.get_running_loop().create_task(self._first(hot))

    async def _first(self, hot: HotAnswers) -> None:
        while hot.version is None:
            await asyncio.sleep(0.05)
        await self.load(hot.parcels_epoch)

    def refresh(self, epoch: int) -> None:
        """Read the parcels again in the background if they were read at another epoch (and not being read)."""
        if self.most <= 0 or self.epoch == epoch or (self._loading is not None and not self._loading.done()):
            return
        self._loading = asyncio.get_running_loop().create_task(self.load(epoch))

    async def stop(self) -> None:
        """Stop a reading under way."""
        if self._loading is not None:
            self._loading.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):  # stopping: a failure no longer matters
                await self._loading

    async def load(self, epoch: int) -> None:
        """Read the parcels now, as those of ``epoch``."""
        started = time.perf_counter()
        try:
            ids, geoms = await asyncio.to_thread(self._read)
        except Exception as exc:  # the points go to the database; not tried again before the parcels change
            log.warning("parcels not kept for point lookups: %s", str(exc).split("\n")[0] or exc)
            self.epoch, self._tree = epoch, None
            return
        if ids is None:
            log.info("parcels not kept for point lookups: more than %s (GIS_LOOKUP_POINT_INDEX)", f"{self.most:,}")
            self.epoch, self._tree = epoch, None
            return
        tree = await asyncio.to_thread(shapely.STRtree, geoms)
        self._ids, self._geoms, self._tree, self.epoch = ids, geoms, tree, epoch
        # shapely's geometries are tracked by the cyclic collector: out of its sight (as the app's start-up objects,
        # gis_service.api.app), or each full collection walks them all, a pause that was the p99 of the lookup.
        # Dropped later, they are freed all the same (by reference counting: a geometry holds no cycle).
        gc.freeze()
        log.info("%s parcels kept for point lookups in %.1f s", f"{len(ids):,}", time.perf_counter() - started)

    def _read(self) -> tuple[np.ndarray[Any, np.dtype[np.int64]] | None, np.ndarray[Any, np.dtype[np.object_]]]:
        with psycopg.connect(self.url, autocommit=True, **self.connect_kwargs) as conn:
            count = conn.execute("SELECT count(*) FROM planning.parcels").fetchone()
            if count is None or int(count[0]) > self.most:
                return None, np.empty(0, dtype=object)
            rows = conn.execute(_PARCELS_SQL).fetchall()
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        return ids, shapely.from_wkb([bytes(r[1]) for r in rows])

    def find(self, mode: str, x: float, y: float) -> tuple[int, dict[str, float]] | str | None:
        """The parcel at the point (``lonlat`` or ``en``) and the point's location as the database writes them.

        None: no parcel there. :data:`UNSURE`: the database must say (parcels not read, or the point too close to
        an edge or a rounding step).
        """
        tree = self._tree
        if tree is None:
            return UNSURE
        e, n = _TO_VN2000.transform(x, y) if mode == "lonlat" else (x, y)
        # every parcel whose box meets the guard's square around the point (an edge may run along a parcel's box);
        # an edge crossing the square leaves the point to the database
        guard = shapely.box(e - GUARD_M, n - GUARD_M, e + GUARD_M, n + GUARD_M)
        near = tree.query(guard)
        if len(near) == 0:
            return None
        geoms = self._geoms[near]
        try:
            if any(shapely.intersects(shapely.boundary(geoms), guard)):  # a few parcels: any() beats numpy's reduce
                return UNSURE
            inside = self._ids[near[shapely.intersects_xy(geoms, e, n)]].tolist()
        except GEOSException:  # e.g. a parcel GEOS cannot read: the database answers for it
            return UNSURE
        if not inside:
            return None
        location = self._location(e, n, GUARD_M if mode == "lonlat" else 0.0)  # e and n as given: rounded exactly
        return UNSURE if location is None else (min(inside), location)

    @staticmethod
    def _location(e: float, n: float, guard_m: float) -> dict[str, float] | None:
        lon, lat = _TO_WGS84.transform(e, n)
        values = (
            _pg_round(lon, 8, GUARD_DEG),
            _pg_round(lat, 8, GUARD_DEG),
            _pg_round(e, 3, guard_m),
            _pg_round(n, 3, guard_m),
        )
        if None in values:
            return None
        return dict(zip(("lon", "lat", "e", "n"), values, strict=True))  # type: ignore[arg-type]
