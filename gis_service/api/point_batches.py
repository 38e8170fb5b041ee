"""Prepared point lookups that arrive while one is with the database go together in the next query.

Under load, most of a point lookup's cost was its query's round trip (psycopg, the pool, the server's work per
statement), not finding the parcel. A process sends at most one query of points at a time per kind of point
(lon/lat, e/n): the points asked meanwhile wait for it to come back and go in the next one, up to
:data:`MOST_POINTS`. Alone, a point goes at once; there is no waiting window. Only anonymous reads are batched (they
may read any replica and the answers kept in memory); a request that must see its own writes asks on its own.
"""

from __future__ import annotations

import asyncio

from gis_service.api.read_routing import ANONYMOUS_READ, ReadRouter
from gis_service.hot_answers import HotAnswers
from gis_service.lookup_prepared import PreparedPoint, prepared_points

__all__ = ["PointBatches"]

#: The most points in one query (a bound on the statement's size and on one batch's time).
MOST_POINTS = 64

type _Waiting = tuple[float, float, asyncio.Future[PreparedPoint | None]]


class PointBatches:
    """The point lookups waiting for the next query, by kind of point; see the module doc.

    Parameters
    ----------
    router
        Where the reads go (a replica's pool, else the primary's).
    hot
        The prepared answers kept in this process.
    """

    def __init__(self, router: ReadRouter, hot: HotAnswers) -> None:
        self.router = router
        self.hot = hot
        self._waiting: dict[str, list[_Waiting]] = {"lonlat": [], "en": []}
        self._busy = {"lonlat": False, "en": False}
        self._tasks: set[asyncio.Task[None]] = set()  # held: the loop keeps only weak references to tasks

    async def find(self, mode: str, x: float, y: float) -> PreparedPoint | None:
        """The prepared parcel at the point, asked with the points waiting beside it (see :func:`prepared_points`)."""
        future: asyncio.Future[PreparedPoint | None] = asyncio.get_running_loop().create_future()
        self._waiting[mode].append((x, y, future))
        if not self._busy[mode]:
            self._busy[mode] = True
            task = asyncio.get_running_loop().create_task(self._drain(mode))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await future

    async def _drain(self, mode: str) -> None:
        try:
            while waiting := self._waiting[mode]:
                batch, self._waiting[mode] = waiting[:MOST_POINTS], waiting[MOST_POINTS:]
                try:
                    async with self.router.connection(ANONYMOUS_READ) as conn:
                        found = await prepared_points(conn, mode, [(x, y) for x, y, _ in batch], self.hot)
                except Exception as exc:  # each request answers it (e.g. falls back to its route)
                    for _, _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, _, future), point in zip(batch, found, strict=True):
                    if not future.done():  # not given up by its request in the meantime
                        future.set_result(point)
        finally:
            self._busy[mode] = False
