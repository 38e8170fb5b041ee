"""Lookups prepared at publication: each parcel's default answer stored as the bytes the live lookup sends.

The default lookup (today's approved plans, with the envelope; no ``as_of``, no ``view``) of a parcel changes only
when what it reads changes. :func:`prepare_lookups` (run by the job runner after a publication, and by
``planning lookup prepare``) computes it with the live code's statements and envelope
(:func:`gis_service.lookup.default_lookups`: the live lookup's statement and the envelope's site statement, each run
for a chunk of parcels at once) and stores it without its first two members, ``query`` and ``location``, which depend
on the request and are written around it when served (:func:`prepared_answer_async`), so the bytes sent are those of
the live answer.

Many parcels are computed by worker processes (:data:`PROCESSES`), each on its own connection reading the snapshot
the preparing transaction exported once its locks were held; the preparing transaction writes the rows (COPY) and
the state row.

Each row carries the data version (:mod:`gis_service.data_version`) at preparation: it is served only while the
version has not moved, else the lookup goes live. A preparation re-prepares only the parcels within the rules' reach
of what ``planning.change_history`` records since the previous one (a republished plan: the zones and lines of its
old and new versions) and re-stamps the others; the first one, or one after the land-use codes or base map changed,
does every parcel.
"""

from __future__ import annotations

import atexit
import json
import multiprocessing
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import Engine

from gis_service.data_version import CHANNEL
from gis_service.errors import PlanningError
from gis_service.hot_answers import HotAnswers
from gis_service.jobs import LOOKUP_PREPARE, Handler, Progress
from gis_service.lookup import LookupQuery, default_lookups
from gis_service.rules.site import SEARCH_M
from gis_service.settings import Settings

__all__ = [
    "HANDLERS",
    "PrepareReport",
    "compose_answer",
    "prepare_lookups",
    "prepare_parcels",
    "prepared_answer_async",
    "prepared_tail_async",
]

#: Writers wait while a preparation reads (so the data version it stamps is that of what it read); a preparation
#: that cannot have the tables soon gives up (the lookups stay live) rather than queue every writer behind it.
_LOCK_SQL = (
    "SET LOCAL lock_timeout = '10s'; LOCK TABLE planning.prepared_lookup_state IN SHARE ROW EXCLUSIVE MODE; "
    "LOCK TABLE planning.parcels, planning.zones, planning.plans, planning.red_lines, planning.building_lines, "
    "planning.map_features, planning.land_use_codes IN SHARE MODE"
)
_STATE_SQL = (
    "SELECT (SELECT planning.data_version()), "
    "(SELECT coalesce(max(id), 0) FROM planning.change_history), "
    "(SELECT history_id FROM planning.prepared_lookup_state)"
)
#: Parcels whose answer may have changed since history id ``since``: near a changed zone, line or parcel, or near
#: any zone or line of a plan version whose row changed (published, superseded, renamed).
_TOUCHED_SQL = """
WITH h AS (SELECT * FROM planning.change_history WHERE id > %(since)s),
changed AS (
    SELECT g FROM h, LATERAL (VALUES (h.before_geom), (h.after_geom)) v(g)
    WHERE g IS NOT NULL AND h.table_name <> 'plans'
    UNION ALL SELECT z.geom FROM planning.zones z
        WHERE z.plan_id IN (SELECT feature_id FROM h WHERE table_name = 'plans')
    UNION ALL SELECT r.geom FROM planning.red_lines r
        WHERE r.plan_id IN (SELECT feature_id FROM h WHERE table_name = 'plans')
    UNION ALL SELECT b.geom FROM planning.building_lines b
        WHERE b.plan_id IN (SELECT feature_id FROM h WHERE table_name = 'plans')
)
-- from each changed geometry to the parcels near it (the parcels' index), not from every parcel to the changes
SELECT p.id FROM changed c JOIN planning.parcels p ON ST_DWithin(p.geom, c.g, %(reach)s)
UNION SELECT p.id FROM h JOIN planning.parcels p ON p.id = h.feature_id WHERE h.table_name = 'parcels'
-- parcels never prepared (e.g. their preparation failed) are done now too
UNION SELECT p.id FROM planning.parcels p
    WHERE NOT EXISTS (SELECT 1 FROM planning.prepared_lookups pl WHERE pl.parcel_id = p.id)
"""
#: The answers computed (a temporary table, filled by COPY), how many differ from those stored, and stored.
_NOW_SQL = (
    "DROP TABLE IF EXISTS pg_temp.prepared_now; "
    "CREATE TEMP TABLE prepared_now (parcel_id bigint NOT NULL, answer bytea NOT NULL) ON COMMIT DROP"
)
_CHANGED_SQL = (
    "SELECT count(*) FROM pg_temp.prepared_now n LEFT JOIN planning.prepared_lookups p USING (parcel_id) "
    "WHERE p.answer IS DISTINCT FROM n.answer"
)
_SAVE_SQL = (
    "INSERT INTO planning.prepared_lookups (parcel_id, data_version, answer) "
    "SELECT parcel_id, %s, answer FROM pg_temp.prepared_now "
    "ON CONFLICT (parcel_id) DO UPDATE SET data_version = excluded.data_version, answer = excluded.answer, "
    "prepared_at = now()"
)
_SAVE_STATE_SQL = (
    "INSERT INTO planning.prepared_lookup_state (data_version, history_id) VALUES (%s, %s) "
    "ON CONFLICT (only_row) DO UPDATE SET data_version = excluded.data_version, history_id = excluded.history_id, "
    "prepared_at = now()"
)
#: At commit, the service processes forget the answers they kept (gis_service.hot_answers): a preparation may write
#: other bytes at the same data version (e.g. after the service was updated).
_TELL_SQL = f"SELECT pg_notify('{CHANNEL}', '')"

#: Parcels computed by one pair of statements: enough to spread a statement's cost, few enough that the workers
#: share the work evenly.
CHUNK = 250
#: Worker processes computing the answers by default (the machine's cores; each with its own connection).
PROCESSES = 2
#: Fewer parcels than this are computed in the preparing process: starting workers would cost more than it saves.
POOL_FROM = 1000
#: A progress message every so many parcels.
PROGRESS_EVERY = 1000

#: The members the live answer starts with, which depend on the request rather than the parcel.
_HEAD = ("query", "location")


@dataclass(frozen=True)
class PrepareReport:
    """What a preparation did: parcels in all, re-prepared (of which answers that changed), re-stamped unchanged,
    dropped (parcels gone); whether it did every parcel, the data version, and how long it took."""

    parcels: int
    prepared: int
    changed: int
    kept: int
    dropped: int
    whole: bool
    data_version: int
    seconds: float


def _tail(answer_text: str) -> bytes:
    """The live answer's bytes after ``query`` and ``location`` (its opening brace and those two members)."""
    answer: dict[str, Any] = json.loads(answer_text)
    if list(answer)[:2] != list(_HEAD):
        raise ValueError(f"the lookup answer no longer starts with {_HEAD}: {list(answer)[:3]}")
    for key in _HEAD:
        del answer[key]
    return json.dumps(answer, ensure_ascii=False)[1:].encode()


def prepare_lookups(
    conn: psycopg.Connection[Any],
    *,
    whole: bool = False,
    progress: Callable[[str], None] | None = None,
    processes: int = PROCESSES,
) -> PrepareReport:
    """Prepare the default lookup of every parcel that needs it, in one transaction of ``conn``.

    Parameters
    ----------
    conn
        A connection to the service's database (not in a transaction).
    whole
        Prepare every parcel, not only those near what changed since the previous preparation.
    progress
        Told how far it is (a short message).
    processes
        Worker processes computing the answers (:data:`PROCESSES`); 1 computes them on ``conn`` itself.
    """
    started = time.perf_counter()
    # workers read the snapshot this transaction exports: within a caller's transaction (a savepoint) it cannot
    alone = conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    with conn.transaction():
        conn.execute(_LOCK_SQL)
        row = conn.execute(_STATE_SQL).fetchone()
        assert row is not None
        version, history_id, since = int(row[0]), int(row[1]), row[2]
        whole = whole or since is None
        if whole:
            todo = [int(r[0]) for r in conn.execute("SELECT id FROM planning.parcels ORDER BY id")]
        else:
            todo = sorted(int(r[0]) for r in conn.execute(_TOUCHED_SQL, {"since": since, "reach": SEARCH_M}))
        count = conn.execute("SELECT count(*) FROM planning.parcels").fetchone()
        parcels = int(count[0]) if count else 0
        prepared, changed, failed = _prepare(conn, todo, version, processes if alone else 1, progress)
        # a parcel whose live answer is an error has nothing prepared: the lookup stays live for it
        conn.execute("DELETE FROM planning.prepared_lookups WHERE parcel_id = ANY(%s)", [failed])
        dropped = conn.execute(
            "DELETE FROM planning.prepared_lookups pl "
            "WHERE NOT EXISTS (SELECT 1 FROM planning.parcels p WHERE p.id = pl.parcel_id)"
        ).rowcount
        if not whole:
            # the others' answers are what they were: they are right at this version too
            conn.execute(
                "UPDATE planning.prepared_lookups SET data_version = %s WHERE data_version <> %s AND "
                "NOT (parcel_id = ANY(%s))",
                [version, version, todo],
            )
        conn.execute(_SAVE_STATE_SQL, [version, history_id])
        conn.execute(_TELL_SQL)  # the service processes forget the answers they kept
    return PrepareReport(
        parcels, prepared, changed, parcels - len(todo), dropped, whole, version, time.perf_counter() - started
    )


def prepare_parcels(conn: psycopg.Connection[Any], parcel_ids: list[int], *, processes: int = PROCESSES) -> int:
    """Prepare these parcels only, at the current data version (e.g. a benchmark's sample); how many were.

    The record of the latest whole preparation is left as it is: the next :func:`prepare_lookups` still does what
    changed since.
    """
    alone = conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    with conn.transaction():
        conn.execute(_LOCK_SQL)
        row = conn.execute(_STATE_SQL).fetchone()
        assert row is not None
        done, _changed, _failed = _prepare(conn, sorted(set(parcel_ids)), int(row[0]), processes if alone else 1)
        conn.execute(_TELL_SQL)  # the service processes forget the answers they kept
    return done


def _prepare(
    conn: psycopg.Connection[Any],
    todo: list[int],
    version: int,
    processes: int,
    progress: Callable[[str], None] | None = None,
) -> tuple[int, int, list[int]]:
    """Compute and store the answers of ``todo`` in the preparing transaction (its locks held, ``version`` read);
    how many were stored, how many of them changed, and the parcels whose live answer is an error."""
    conn.execute(_NOW_SQL)
    failed: list[int] = []
    done = 0
    for tails in _computed(conn, todo, processes):
        # a COPY for each chunk: the connection computes the next one itself when there are no workers
        with conn.cursor().copy("COPY pg_temp.prepared_now (parcel_id, answer) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["int8", "bytea"])
            for pid, tail in tails:
                if tail is None:
                    failed.append(pid)
                else:
                    copy.write_row((pid, tail))
        if progress is not None and (done + len(tails)) // PROGRESS_EVERY > done // PROGRESS_EVERY:
            progress(f"prepared lookups: {done + len(tails)} of {len(todo)} parcels")
        done += len(tails)
    row = conn.execute(_CHANGED_SQL).fetchone()
    assert row is not None
    prepared = conn.execute(_SAVE_SQL, [version]).rowcount
    return prepared, int(row[0]), failed


def _tails(conn: psycopg.Connection[Any], parcel_ids: list[int]) -> list[tuple[int, bytes | None]]:
    """Each parcel's prepared bytes (None where its live answer is an error), computed on ``conn``."""
    return [
        (pid, None if isinstance(answer, PlanningError) else _tail(answer))
        for pid, answer in default_lookups(conn, parcel_ids).items()
    ]


def _computed(
    conn: psycopg.Connection[Any], todo: list[int], processes: int
) -> Iterator[list[tuple[int, bytes | None]]]:
    """The prepared bytes of the parcels of ``todo``, chunk by chunk: computed on ``conn``, or in worker processes
    when there are enough parcels to pay for starting them (each imports the service and opens its own connection).

    The workers read what the preparing transaction reads: its snapshot, exported after its locks were taken.
    """
    chunks = [todo[i : i + CHUNK] for i in range(0, len(todo), CHUNK)]
    if processes <= 1 or len(todo) < POOL_FROM:
        for chunk in chunks:
            yield _tails(conn, chunk)
        return
    row = conn.execute("SELECT pg_export_snapshot(), current_setting('statement_timeout')").fetchone()
    assert row is not None
    info = conn.info
    # as ``conn`` is: its server and role, its statement timeout, prepared statements or not (PgBouncer)
    conninfo = make_conninfo(
        info.dsn,
        options=f"-c statement_timeout={row[1]} -c lock_timeout=30s",
        **({"password": info.password} if info.password else {}),
    )
    # spawned, not forked: a forked child would share the parent's connection socket
    with ProcessPoolExecutor(
        processes,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_worker_start,
        initargs=(conninfo, str(row[0]), conn.prepare_threshold),
    ) as pool:
        yield from pool.map(_worker_chunk, chunks)


# -- worker processes: each reads the preparing transaction's snapshot on a connection of its own ----------------
_worker: dict[str, Any] = {}


def _worker_start(conninfo: str, snapshot: str, prepare_threshold: int | None) -> None:
    # the lock timeout in ``conninfo``: a worker queued behind a writer that waits for the preparation would wait
    # for ever (the database cannot see that the preparation waits for the worker)
    conn = psycopg.connect(conninfo, prepare_threshold=prepare_threshold)
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    conn.read_only = True
    atexit.register(conn.close)
    _worker.update(conn=conn, snapshot=snapshot)


def _worker_chunk(parcel_ids: list[int]) -> list[tuple[int, bytes | None]]:
    conn: psycopg.Connection[Any] = _worker["conn"]
    with conn.transaction():
        conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(_worker["snapshot"])))
        return _tails(conn, parcel_ids)


#: The query's members in the order jsonb keeps keys (by length, then bytes): the live answer echoes its query so.
_JSONB_ORDER = sorted(LookupQuery.__dataclass_fields__, key=lambda k: (len(k.encode()), k.encode()))


def _json_value(value: float | int | str) -> str:
    """``value`` as ``json.dumps`` writes it (a finite float as its repr, an int, a string unescaped non-ASCII)."""
    if isinstance(value, float):
        return float.__repr__(value)
    if isinstance(value, int):
        return int.__repr__(value)
    return json.dumps(value, ensure_ascii=False)


PREPARED_PARCEL_SQL = (
    "SELECT answer, data_version FROM planning.prepared_lookups WHERE parcel_id = %s "
    "AND data_version = (SELECT planning.data_version())"
)
#: For each point (``x`` and ``y`` arrays, numbered from 1): the parcel there (the live lookup's choice: the
#: lowest id), the point's location as the live lookup answers it, and the parcel's prepared answer if asked for
#: (else only its stamp: the process may keep the answer in memory). Points with no prepared parcel give no row.
#: The arrays are read through sub-selects, which hide their lengths from the planner: every batch then has the
#: same plan, which PostgreSQL keeps (a generic plan) rather than planning each batch anew (0.3 ms, as long as
#: finding a few points).
_POINTS_SQL = """
WITH q AS (SELECT * FROM unnest((SELECT %(x)s::float8[]), (SELECT %(y)s::float8[])) WITH ORDINALITY AS q(x, y, i)),
pt AS MATERIALIZED (SELECT q.i, __POINT__ AS g FROM q)
SELECT pt.i, parcel.id, pl.data_version, CASE WHEN %(with_answer)s THEN pl.answer END,
       round(ST_X(w)::numeric, 8)::text, round(ST_Y(w)::numeric, 8)::text,
       round(ST_X(pt.g)::numeric, 3)::text, round(ST_Y(pt.g)::numeric, 3)::text
FROM pt CROSS JOIN LATERAL ST_Transform(pt.g, 4326) AS w
CROSS JOIN LATERAL (
    -- "+ 0": find the parcels through the spatial index, not by walking the ids in order until one is hit
    SELECT p.id FROM planning.parcels p WHERE ST_Intersects(p.geom, pt.g) ORDER BY p.id + 0 LIMIT 1) parcel
JOIN planning.prepared_lookups pl ON pl.parcel_id = parcel.id
    AND pl.data_version = (SELECT planning.data_version())
"""
PREPARED_POINTS_SQL = {
    "lonlat": _POINTS_SQL.replace("__POINT__", "ST_Transform(ST_SetSRID(ST_MakePoint(q.x, q.y), 4326), 9214)"),
    "en": _POINTS_SQL.replace("__POINT__", "ST_SetSRID(ST_MakePoint(q.x, q.y), 9214)"),
}
#: The prepared answers of parcels (``ids``) that hold at the database's data version.
PREPARED_PARCELS_SQL = (
    "SELECT parcel_id, answer, data_version FROM planning.prepared_lookups WHERE parcel_id = ANY(%s) "
    "AND data_version = (SELECT planning.data_version())"
)


@dataclass(frozen=True)
class PreparedPoint:
    """A point's prepared parcel: its id, the point's location as the live lookup gives it, the prepared bytes."""

    parcel_id: int
    location: dict[str, float]
    tail: bytes


async def prepared_points(
    conn: psycopg.AsyncConnection[Any], mode: str, points: list[tuple[float, float]], hot: HotAnswers | None
) -> list[PreparedPoint | None]:
    """The prepared parcel at each point (None: none there, or not prepared at the database's data version).

    One query for all the points, and one more for the answers ``hot`` does not keep (all of them when None).
    """
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    params = {"x": xs, "y": ys, "with_answer": hot is None}
    cur = await conn.execute(PREPARED_POINTS_SQL[mode], params, prepare=True)
    rows = await cur.fetchall()
    tails: dict[int, bytes | None] = {}
    if hot is not None:
        tails = {int(r[1]): hot.get(int(r[1])) for r in rows}
        missing = [pid for pid, tail in tails.items() if tail is None]
        if missing:
            cur = await conn.execute(PREPARED_PARCELS_SQL, [missing], prepare=True)
            for pid, tail, version in await cur.fetchall():
                tails[pid] = tail
                hot.keep(pid, int(version), tail)
    found: list[PreparedPoint | None] = [None] * len(points)
    for i, pid, _version, answer, *numbers in rows:
        tail = answer if hot is None else tails.get(int(pid))
        if tail is not None:
            # as the live answer reads the database's numbers: JSON numbers parsed to floats
            location = dict(zip(("lon", "lat", "e", "n"), (float(v) for v in numbers), strict=True))
            found[int(i) - 1] = PreparedPoint(int(pid), location, tail)
    return found


def _sheet_sql(query: LookupQuery) -> tuple[str, list[Any]]:
    sql = (
        "SELECT pl.answer FROM planning.parcels p LEFT JOIN planning.prepared_lookups pl ON pl.parcel_id = p.id "
        "AND pl.data_version = (SELECT planning.data_version()) "
        "WHERE p.sheet_no = %s AND p.parcel_no = %s"
    )
    args: list[Any] = [query.sheet_no, query.parcel_no]
    if query.ward is not None:
        sql += " AND (p.ward = %s OR p.ward_code = %s)"
        args += [query.ward, query.ward]
    return sql + " LIMIT 2", args


def compose_answer(query: LookupQuery, location: dict[str, float] | None, tail: bytes) -> bytes:
    """The answer's bytes: ``query`` and ``location`` as the live lookup writes them, then the prepared ``tail``.

    Written by hand rather than by ``json.dumps``, which was a fifth of a point lookup's Python; the test of this
    module holds the two equal.
    """
    values = query.__dict__
    echo = ", ".join(f'"{k}": {_json_value(values[k])}' for k in _JSONB_ORDER if values[k] is not None)
    where = "null"
    if location is not None:
        where = "{" + ", ".join(f'"{k}": {_json_value(v)}' for k, v in location.items()) + "}"
    return f'{{"query": {{{echo}}}, "location": {where}, '.encode() + tail


async def prepared_answer_async(
    conn: psycopg.AsyncConnection[Any], query: LookupQuery, mode: str, hot: HotAnswers | None = None
) -> bytes | None:
    """The default lookup's answer from its prepared parcel, or None when it must be computed live.

    None: no parcel at the point (the zones at the point are answered live), a parcel not prepared or prepared
    before the latest change, a sheet and parcel number found in no or several wards (live says which).
    ``hot``: this process's answers kept in memory (:mod:`gis_service.hot_answers`), used and filled; None for
    a request that must read the database (one that must see its own writes).
    """
    if mode == "parcel":
        pid = query.parcel_id
        assert pid is not None
        tail = hot.get(pid) if hot is not None else None
        if tail is None:
            tail = await prepared_tail_async(conn, pid, hot)
        return None if tail is None else compose_answer(query, None, tail)
    if mode == "sheet":
        if query.ward is not None and "\x00" in query.ward:
            return None
        sql, args = _sheet_sql(query)
        cur = await conn.execute(sql, args, prepare=True)
        rows = await cur.fetchall()
        if len(rows) != 1 or rows[0][0] is None:
            return None
        return compose_answer(query, None, rows[0][0])
    x, y = (query.lon, query.lat) if mode == "lonlat" else (query.e, query.n)
    assert x is not None and y is not None
    (found,) = await prepared_points(conn, mode, [(x, y)], hot)
    return None if found is None else compose_answer(query, found.location, found.tail)


async def prepared_tail_async(
    conn: psycopg.AsyncConnection[Any], parcel_id: int, hot: HotAnswers | None
) -> bytes | None:
    """The parcel's prepared bytes if they hold at the database's data version (kept in ``hot``)."""
    cur = await conn.execute(PREPARED_PARCEL_SQL, [parcel_id], prepare=True)
    row = await cur.fetchone()
    if row is None:
        return None
    tail: bytes = row[0]
    if hot is not None:
        hot.keep(parcel_id, int(row[1]), tail)
    return tail


def prepare_lookups_job(
    settings: Settings, engine: Engine, params: dict[str, Any], progress: Progress
) -> dict[str, Any]:
    """The job's handler: :func:`prepare_lookups` on a connection of the runner's engine; returns the counts."""
    del settings
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        assert isinstance(conn, psycopg.Connection)
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.rollback()
        processes = int(params.get("processes", PROCESSES))
        report = prepare_lookups(conn, whole=bool(params.get("whole")), progress=progress, processes=processes)
    finally:
        raw.close()
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(report).items()}


#: The code of the kind of job that prepares the lookups (given to the job runner by the web app).
HANDLERS: dict[str, Handler] = {LOOKUP_PREPARE: prepare_lookups_job}
