"""Prepared lookups kept in each service process, while the data version stays where they were read.

A prepared answer (:mod:`gis_service.lookup_prepared`) is right while the data version it was stamped with is the
database's. Reading it costs a query, and on two cores that query (its round trip, psycopg, the server) was most of
a lookup's cost. So each process keeps the answers it has read, up to ``settings.lookup_cache_size`` parcels, and
listens on the data version's channel (:mod:`gis_service.data_version`), which every change of the tables the rules
read and every drop of the prepared answers notifies at commit:

- every notification empties the cache;
- an answer is kept only if it was stamped with the newest version this process knows (notified, or read when it
  started listening and every :data:`REFRESH_S` seconds since), so one read on a replica that lags is not kept;
- a version read that was not notified empties it too (a lost notification costs at most :data:`REFRESH_S`);
- while the listening connection is down, nothing is kept or served from memory: the lookups read the database.

An answer may be served from memory for the few milliseconds between a commit and its notification, as a replica
would serve it. A request that must see its own writes (signed in, or carrying the position of a write) never uses
the cache (:func:`gis_service.api.read_routing.reads_own_writes`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import psycopg

from gis_service.data_version import CHANNEL

__all__ = ["HotAnswers"]

log = logging.getLogger(__name__)

#: How often the listener reads the version itself: a version it was not told of (notified on a connection that died
#: unnoticed) empties the cache too, so nothing kept is ever older than this.
REFRESH_S = 5.0
#: The wait before listening again after the connection was lost.
RETRY_S = 1.0


class HotAnswers:
    """The prepared answers this process has read, by parcel id, and the data version they hold for.

    Parameters
    ----------
    size
        Parcels kept at most (the oldest read goes first); 0 keeps none.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        #: The newest data version known to this process; None while not listening (nothing kept then).
        self.version: int | None = None
        #: Moves whenever the parcels may have changed (a change of parcels, a move not notified, listening anew):
        #: what was read of the parcels at another value is stale (:mod:`gis_service.parcel_index`).
        self.parcels_epoch = 0
        self._answers: dict[int, bytes] = {}
        self._task: asyncio.Task[None] | None = None

    def get(self, parcel_id: int) -> bytes | None:
        """The parcel's prepared answer (its bytes after ``query`` and ``location``) if kept."""
        return self._answers.get(parcel_id)

    def keep(self, parcel_id: int, version: int, answer: bytes) -> None:
        """Keep an answer just read, if it was stamped with the newest version known."""
        if version != self.version or self.size <= 0:
            return
        if len(self._answers) >= self.size:
            del self._answers[next(iter(self._answers))]
        self._answers[parcel_id] = answer

    def changed(self, version: int | None, parcels: bool = False) -> None:
        """Something changed (at ``version``, if known; ``parcels`` among it): forget every answer."""
        self._answers.clear()
        if parcels:
            self.parcels_epoch += 1
        if version is not None and self.version is not None:
            self.version = max(self.version, version)

    def notified(self, payload: str) -> None:
        """A notification of the data version (migration 0018): the version, after ``p`` when the parcels changed."""
        parcels = payload.startswith("p")
        number = payload[1:] if parcels else payload
        self.changed(int(number) if number else None, parcels)

    def _listening(self, version: int | None) -> None:
        self._answers.clear()
        self.parcels_epoch += 1
        self.version = version

    # ---- the listener ---------------------------------------------------------------------------------------
    def start(self, url: str, connect_kwargs: dict[str, Any]) -> None:
        """Listen on the primary at ``url`` (a session of its own: not through a transaction pooler)."""
        if self.size > 0 and self._task is None:
            self._task = asyncio.create_task(self._listen(url, connect_kwargs), name="hot-answers")

    async def stop(self) -> None:
        """Stop listening."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._listening(None)

    async def _listen(self, url: str, connect_kwargs: dict[str, Any]) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(url, autocommit=True, **connect_kwargs) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self._listening(await _version(conn))  # read after LISTEN: no change falls in between
                    while True:
                        async for note in conn.notifies(timeout=REFRESH_S):
                            self.notified(note.payload)
                        # a notification may be lost with a connection that died unnoticed: the read times out
                        known = await asyncio.wait_for(_version(conn), REFRESH_S)
                        if self.version is not None and known > self.version:
                            self._listening(known)  # moved unnotified (a lost notification)
            except (psycopg.Error, OSError, TimeoutError) as exc:
                if self.version is not None:
                    log.warning("prepared lookups no longer kept in memory: %s", str(exc).split("\n")[0] or exc)
                self._listening(None)
            await asyncio.sleep(RETRY_S)


async def _version(conn: psycopg.AsyncConnection[Any]) -> int:
    cur = await conn.execute("SELECT planning.data_version()")
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])
