"""Which database answers a read: a streaming replica, or the primary (issue 22).

Anonymous reads of the public routes (OGC items, vector tiles, lookup, envelope, certificates' verification) go to
the healthy replicas in turn; requests with an ``Authorization`` header, and every write, go to the primary.

Read-your-writes: a replica replays the primary's WAL a little later, so a client that has just written could read
the old answer there. After a successful write by a signed-in user, :class:`ReadYourWrites` gives the client the
primary's WAL position once the write committed (cookie ``planning_lsn``, and header ``X-Planning-LSN`` which other
programs may send back). A read carrying it goes to a replica only if that replica has replayed at least that far
(``pg_last_wal_replay_lsn()``), else to the primary.

Health: every ``check_interval_s`` each replica is asked how far it has replayed; one that does not answer, or lags
more than ``max_lag_s`` behind the primary, is out of rotation until it answers and catches up. With no healthy
replica, everything reads from the primary.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy.engine import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gis_service.db.engine import create_db_engine, safe_text
from gis_service.settings import ReplicaSettings

__all__ = [
    "ANONYMOUS_READ",
    "LSN_COOKIE",
    "LSN_HEADER",
    "ReadRouter",
    "ReadYourWrites",
    "Replica",
    "lsn_from_text",
    "lsn_to_text",
]

log = logging.getLogger(__name__)

LSN_COOKIE = "planning_lsn"
LSN_HEADER = "x-planning-lsn"
_WRITES = frozenset(("POST", "PUT", "PATCH", "DELETE"))


def lsn_from_text(text: str) -> int:
    """A WAL position as PostgreSQL writes it (``pg_lsn``), as a number of bytes.

    >>> lsn_from_text("16/B374D848")
    97500059720
    """
    high, slash, low = text.strip().partition("/")
    if not slash or not (0 < len(high) <= 8 and 0 < len(low) <= 8):
        raise ValueError(f"not a WAL position: {text!r}")
    return (int(high, 16) << 32) + int(low, 16)


def lsn_to_text(lsn: int) -> str:
    """The inverse of :func:`lsn_from_text`.

    >>> lsn_to_text(97500059720)
    '16/B374D848'
    """
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


@dataclass
class Replica:
    """One replica: its pool, and what the last health check saw."""

    name: str  # its URL without the password, for logs
    url: str
    pool: AsyncConnectionPool[Any]
    engine: Engine  # for the routes that read with SQLAlchemy (certificates' verification)
    healthy: bool = False  # in rotation; false until the first check answers
    replay_lsn: int = 0
    lag_s: float = 0.0
    reason: str = "not checked yet"
    reads: int = 0  # answered here since start (tests, bench)
    _probe: psycopg.AsyncConnection[Any] | None = field(default=None, repr=False)


def _wants_primary(scope: Scope) -> tuple[bool, int | None]:
    """Whether the request must read on the primary, and the WAL position it has seen written (if any).

    A signed-in user reads on the primary (drafts, and what they just did); so does a token that does not parse.
    """
    token: str | None = None
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            return True, None
        if name == LSN_HEADER.encode():
            token = value.decode("latin-1")
        elif name == b"cookie" and token is None and LSN_COOKIE.encode() in value:
            morsel = SimpleCookie(value.decode("latin-1")).get(LSN_COOKIE)
            token = morsel.value if morsel else None
    if token is None:
        return False, None
    try:
        return False, lsn_from_text(token)
    except ValueError:
        return True, None


#: The scope of a read made for anonymous requests, with no write to see (a replica's connection, when there is one).
ANONYMOUS_READ: Scope = {"type": "http", "headers": []}


def reads_own_writes(scope: Scope) -> bool:
    """Whether the request must see the writes made before it (signed in, or carrying a write's position)."""
    to_primary, seen_lsn = _wants_primary(scope)
    return to_primary or seen_lsn is not None


def _take_out(replica: Replica, reason: str) -> None:
    """Out of rotation at once, said in the log as the health checks say it (operators and the drills read it)."""
    if replica.healthy:
        log.warning("replica %s out of rotation: %s", replica.name, reason)
    replica.healthy, replica.reason = False, reason


class ReadRouter:
    """The primary's read pool, the replicas' pools, their health and the choice for each request.

    Parameters
    ----------
    primary
        The pool of the primary (always there: writes, signed-in users, fallback).
    replica_urls
        ``postgresql://`` URLs of the replicas; none: every read on the primary.
    settings
        Check interval and lag bound.
    pool_kwargs
        Connection arguments of the replicas' pools (as the primary's).
    pool_size
        Connections of each replica's pool.
    engine_kwargs
        Arguments of :func:`~gis_service.db.create_db_engine` for each replica's SQLAlchemy engine.
    """

    def __init__(
        self,
        primary: AsyncConnectionPool[Any],
        replica_urls: list[str],
        settings: ReplicaSettings,
        *,
        pool_kwargs: dict[str, Any],
        pool_size: int,
        engine_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.primary = primary
        self.settings = settings
        self.replicas = [
            Replica(
                name=safe_text(url),
                url=url,
                pool=AsyncConnectionPool(
                    url, min_size=1, max_size=pool_size, kwargs=pool_kwargs, open=False, name=f"replica{i}"
                ),
                engine=create_db_engine(url, **(engine_kwargs or {})),
            )
            for i, url in enumerate(replica_urls, 1)
        ]
        self.primary_reads = 0
        self._turn = itertools.count()
        self._primary_lsns: deque[tuple[float, int]] = deque()  # (when, primary's WAL position) of recent checks
        self._task: asyncio.Task[None] | None = None

    # ---- lifetime -------------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Open the replicas' pools (in the background), check them once, and keep checking."""
        for r in self.replicas:
            await r.pool.open(wait=False)
        if self.replicas:
            await self.check()
            self._task = asyncio.create_task(self._keep_checking(), name="replica-health")

    async def stop(self) -> None:
        """Stop checking and close the replicas' pools (the primary's belongs to the caller)."""
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
        for r in self.replicas:
            if r._probe is not None:
                await r._probe.close()
            await r.pool.close()
            r.engine.dispose()

    # ---- health ---------------------------------------------------------------------------------------------
    async def _keep_checking(self) -> None:
        while True:
            await asyncio.sleep(self.settings.check_interval_s)
            try:
                await self.check()
            except Exception:  # a bug here must not end the checks: every replica would stay as last seen
                log.exception("replica health check failed")

    async def check(self) -> None:
        """Ask the primary how far it has written and each replica how far it has replayed; update the rotation."""
        now = time.monotonic()
        try:
            async with self.primary.connection(timeout=2) as conn:
                row = await (await conn.execute("SELECT pg_current_wal_lsn()::text")).fetchone()
            if row is not None:
                self._primary_lsns.append((now, lsn_from_text(row[0])))
        except (psycopg.Error, PoolTimeout) as exc:
            log.warning("replica check: the primary does not answer: %s", str(exc).splitlines()[0] if str(exc) else exc)
        horizon = now - 2 * self.settings.max_lag_s - 2 * self.settings.check_interval_s
        while len(self._primary_lsns) > 1 and self._primary_lsns[1][0] < horizon:
            self._primary_lsns.popleft()
        await asyncio.gather(*(self._check_one(r, now) for r in self.replicas))

    def _lag_s(self, replay_lsn: int, now: float) -> float:
        """How long ago the primary had written past ``replay_lsn``: 0 when the replica has replayed all it knew.

        Measured against the primary's positions seen by the checks, not the replica's replay timestamps, which
        grow on an idle primary where there is nothing to replay.
        """
        for when, lsn in self._primary_lsns:
            if lsn > replay_lsn:
                return now - when
        return 0.0

    async def _check_one(self, r: Replica, now: float) -> None:
        was = r.healthy
        try:
            if r._probe is None or r._probe.closed:
                r._probe = await psycopg.AsyncConnection.connect(
                    r.url,
                    autocommit=True,
                    connect_timeout=2,
                    application_name="hue-planning-check",
                    prepare_threshold=None,  # nothing to gain, and PgBouncer may be in between
                )
            cur = await asyncio.wait_for(
                r._probe.execute("SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text"), timeout=2
            )
            row = await cur.fetchone()
        except (psycopg.Error, OSError, TimeoutError) as exc:
            if r._probe is not None:
                await r._probe.close()
            r._probe = None
            r.healthy, r.reason = False, f"unreachable: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        else:
            if row is None or not row[0] or row[1] is None:
                r.healthy, r.reason = False, "not a replica (not in recovery)"
            else:
                r.replay_lsn = max(r.replay_lsn, lsn_from_text(row[1]))
                r.lag_s = self._lag_s(r.replay_lsn, now)
                ok = r.lag_s <= self.settings.max_lag_s
                r.healthy, r.reason = ok, "ok" if ok else f"lags {r.lag_s:.1f} s behind the primary"
        if was and not r.healthy:
            log.warning("replica %s out of rotation: %s", r.name, r.reason)
        elif r.healthy and not was:
            await r.pool.check()  # connections left broken by a restart are dropped before it serves again
            log.warning("replica %s in rotation", r.name)

    # ---- the choice -----------------------------------------------------------------------------------------
    def _next_healthy(self) -> Replica | None:
        healthy = [r for r in self.replicas if r.healthy]
        if not healthy:
            return None
        return healthy[next(self._turn) % len(healthy)]

    @asynccontextmanager
    async def connection(self, scope: Scope) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A connection to answer the read of ``scope``: a replica's when it may, else the primary's."""
        to_primary, seen_lsn = _wants_primary(scope)
        replica = None if to_primary else self._next_healthy()
        if replica is not None:
            async with self._replica_connection(replica, seen_lsn) as conn:
                if conn is not None:
                    replica.reads += 1
                    try:
                        yield conn
                    except psycopg.OperationalError:
                        # the replica went away under the request: out of rotation now, not at the next check
                        _take_out(replica, "a read failed on it")
                        raise
                    return
        self.primary_reads += 1
        async with self.primary.connection() as conn:
            yield conn

    @asynccontextmanager
    async def _replica_connection(
        self, replica: Replica, seen_lsn: int | None
    ) -> AsyncIterator[psycopg.AsyncConnection[Any] | None]:
        """A connection of ``replica`` if it has replayed ``seen_lsn`` (None: it has not, or cannot be reached)."""
        try:
            async with replica.pool.connection(timeout=2) as conn:
                if seen_lsn is not None and replica.replay_lsn < seen_lsn:
                    cur = await conn.execute("SELECT pg_last_wal_replay_lsn()::text")
                    row = await cur.fetchone()
                    replayed = lsn_from_text(row[0]) if row and row[0] else 0
                    replica.replay_lsn = max(replica.replay_lsn, replayed)
                    if replayed < seen_lsn:
                        yield None
                        return
                yield conn
        except PoolTimeout:
            _take_out(replica, "no connection within 2 s")
            yield None

    def engine(self, scope: Scope, primary: Engine) -> Engine:
        """The SQLAlchemy engine to answer the read of ``scope``: a replica's when it may, else ``primary``.

        Read-your-writes on what the health checks saw replayed (no extra query: these routes are not hot).
        """
        to_primary, seen_lsn = _wants_primary(scope)
        replica = None if to_primary else self._next_healthy()
        if replica is None or (seen_lsn is not None and replica.replay_lsn < seen_lsn):
            self.primary_reads += 1
            return primary
        replica.reads += 1
        return replica.engine

    async def primary_lsn(self) -> str:
        """The primary's WAL position now (after a commit: at or past that commit)."""
        async with self.primary.connection() as conn:
            row = await (await conn.execute("SELECT pg_current_wal_lsn()::text")).fetchone()
        return str(row[0]) if row else "0/0"

    def describe(self) -> list[dict[str, Any]]:
        """Each replica's state, for logs, tests and the bench."""
        return [
            {"replica": r.name, "healthy": r.healthy, "reason": r.reason, "lag_s": round(r.lag_s, 3), "reads": r.reads}
            for r in self.replicas
        ]


class ReadYourWrites:
    """ASGI middleware: after a successful write by a signed-in user, tell the client the primary's WAL position.

    Only when there are replicas; the position is read once the route has answered, i.e. after its commit.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add the cookie and header to the answer of a write (2xx) with an ``Authorization`` header."""
        if scope["type"] != "http" or scope["method"] not in _WRITES:
            await self.app(scope, receive, send)
            return
        router: ReadRouter | None = getattr(scope["app"].state, "read_router", None)
        signed_in = any(name == b"authorization" for name, _ in scope.get("headers", ()))
        if router is None or not router.replicas or not signed_in:
            await self.app(scope, receive, send)
            return

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start" and 200 <= message["status"] < 300:
                try:
                    lsn = await router.primary_lsn()
                except (psycopg.Error, PoolTimeout):
                    lsn = None  # no position: the client's reads stay as before; its write did commit
                if lsn is not None:
                    secure = "; Secure" if scope.get("scheme") == "https" else ""
                    cookie = (
                        f"{LSN_COOKIE}={lsn}; Path=/; Max-Age={router.settings.token_max_age_s}; HttpOnly; "
                        f"SameSite=Lax{secure}"
                    )
                    headers = list(message.get("headers", []))
                    headers += [(b"set-cookie", cookie.encode()), (LSN_HEADER.encode(), lsn.encode())]
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, stamped)
