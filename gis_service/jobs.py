"""Background jobs (table ``planning.jobs``), run by one thread of the web process, status readable by anyone.

A job is a row: queued -> running -> succeeded | failed, with its parameters, result, last message and who asked.
The runner claims the oldest queued job (``FOR UPDATE SKIP LOCKED``, so several processes may run runners) and holds
a session advisory lock on it while it works: a job left ``running`` by a process that died holds no lock, and the
next runner to start puts it back in the queue. The kinds of job the queue takes are :data:`KINDS`; the code that
runs each kind is given to the runner by whoever starts it (the web app), so this module needs none of it.

A rebuild or a preparation brings everything up to date, so a runner that fell behind (twenty plans published in a
row) runs the queued jobs of such a kind (:data:`MERGED_KINDS`) once, together: it claims them all, gives the handler
the plan versions of all of them, and ends them all with the same result.

The kinds: ``tiles.rebuild`` (:data:`TILES_REBUILD`): after a plan is published, the 3D tiles are brought up to date
(incrementally: only tiles whose features changed are rewritten, see :mod:`tiles.jobs`); ``mail.send``
(:data:`MAIL_SEND`): the mails of ``planning.outbox`` are sent after the transaction that wrote them commits (see
:mod:`gis_service.notices.outbox`); ``notices.write`` (:data:`NOTICES_WRITE`): after a draft is opened for
consultation or a version is published, the notices to the subscriptions it touches are worded and written (see
:mod:`gis_service.notices.events`).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from gis_service.db import create_db_engine
from gis_service.errors import NotFound
from gis_service.settings import Settings

__all__ = [
    "KINDS",
    "LOOKUP_PREPARE",
    "MAIL_SEND",
    "MERGED_KINDS",
    "NOTICES_WRITE",
    "TILES_REBUILD",
    "Handler",
    "Job",
    "JobRunner",
    "Progress",
    "enqueue",
    "get_job",
    "list_jobs",
    "merge_params",
    "start_job_runner",
]

log = logging.getLogger(__name__)

#: Advisory lock namespace of running jobs (first key of pg_advisory_lock(int, int)).
LOCK_CLASS = 6_2026

#: The kind of job that rebuilds the 3D tiles after a plan is published.
TILES_REBUILD = "tiles.rebuild"
#: The kind of job that sends the unsent mails of ``planning.outbox`` (confirmations, notices of plan changes).
MAIL_SEND = "mail.send"
#: The kind of job that writes the notices of a consultation opened or a version published (then queues a mail.send).
NOTICES_WRITE = "notices.write"
#: The kind of job that prepares the published lookups after a publication (:mod:`gis_service.lookup_prepared`).
LOOKUP_PREPARE = "lookup.prepare"
#: The kinds of job :func:`enqueue` accepts.
KINDS = frozenset({TILES_REBUILD, MAIL_SEND, NOTICES_WRITE, LOOKUP_PREPARE})

#: Kinds whose queued jobs run once, together: each brings everything up to date, the plan versions only narrow it.
MERGED_KINDS = frozenset({TILES_REBUILD, LOOKUP_PREPARE})
#: The parameters naming the plan version a job was queued for; jobs differing only in these are run together.
PLAN_KEYS = ("plan", "published_id", "superseded_id")

#: Tells the job's status what it is doing now (a short message).
Progress = Callable[[str], None]
#: Runs one kind of job: ``handler(settings, engine, params, progress)`` returns the job's result.
Handler = Callable[[Settings, Engine, dict[str, Any], Progress], dict[str, Any]]


@dataclass(frozen=True)
class Job:
    """A background job as stored: kind, status (queued, running, succeeded, failed), parameters and result."""

    id: int
    kind: str
    status: str
    params: dict[str, Any]
    result: dict[str, Any] | None
    message: str | None
    created_by: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    def as_json(self, base_url: str = "") -> dict[str, Any]:
        """The job as the API shows it, with a link to itself under ``base_url``."""
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "params": self.params,
            "result": self.result,
            "message": self.message,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "links": [{"rel": "self", "href": f"{base_url}/jobs/{self.id}"}],
        }


_COLUMNS = "id, kind, status, params, result, message, created_by, created_at, started_at, finished_at"


def enqueue(conn: Connection, kind: str, params: dict[str, Any], *, created_by: str | None) -> Job:
    """Queue a job inside the caller's transaction: it runs only if that transaction commits."""
    if kind not in KINDS:
        raise ValueError(f"unknown job kind {kind!r}")
    row = conn.execute(
        sa.text(
            f"INSERT INTO planning.jobs (kind, params, created_by) VALUES (:k, CAST(:p AS jsonb), :by) "  # noqa: S608
            f"RETURNING {_COLUMNS}"
        ),
        {"k": kind, "p": json.dumps(params), "by": created_by},
    ).one()
    return Job(*row)


def get_job(conn: Connection, job_id: int) -> Job:
    """The job of that id; raises :class:`~gis_service.errors.NotFound`."""
    row = conn.execute(sa.text(f"SELECT {_COLUMNS} FROM planning.jobs WHERE id = :id"), {"id": job_id}).one_or_none()  # noqa: S608
    if row is None:
        raise NotFound(f"no job {job_id}")
    return Job(*row)


def list_jobs(conn: Connection, *, limit: int = 50) -> list[Job]:
    """The latest ``limit`` jobs, newest first."""
    rows = conn.execute(sa.text(f"SELECT {_COLUMNS} FROM planning.jobs ORDER BY id DESC LIMIT :n"), {"n": limit}).all()  # noqa: S608
    return [Job(*r) for r in rows]


def merge_params(jobs: list[dict[str, Any]]) -> dict[str, Any]:
    """The parameters of one run doing the work of ``jobs`` (parameters equal apart from :data:`PLAN_KEYS`).

    ``plans`` and ``plan_versions`` list the plans and plan versions (published and superseded) of all of them;
    ``plan_versions`` is empty when one of the jobs was not queued for a plan version (it asked for everything).
    """
    merged = {k: v for k, v in jobs[0].items() if k not in PLAN_KEYS}
    merged["plans"] = sorted({str(p["plan"]) for p in jobs if p.get("plan") is not None})
    versions = {int(p[k]) for p in jobs for k in ("published_id", "superseded_id") if p.get(k) is not None}
    merged["plan_versions"] = sorted(versions) if all(p.get("published_id") is not None for p in jobs) else []
    return merged


# ---- runner -----------------------------------------------------------------------------------------------
class JobRunner:
    """One background thread running queued jobs, woken by :meth:`wake` or every ``poll_s`` seconds.

    Parameters
    ----------
    settings, engine
        Given to each handler; the engine is the runner's own (it is disposed of by :meth:`stop`).
    handlers
        The code of each kind of job (e.g. ``tiles.jobs.HANDLERS``); a job of another kind fails.
    poll_s
        Seconds between two looks at the queue when nothing wakes the runner.
    """

    def __init__(
        self, settings: Settings, engine: Engine, handlers: Mapping[str, Handler], *, poll_s: float = 5.0
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.handlers = dict(handlers)
        self.poll_s = poll_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="planning-jobs", daemon=True)

    def start(self) -> JobRunner:
        """Start the thread; returns the runner."""
        self._thread.start()
        return self

    def wake(self) -> None:
        """Look at the queue now (a job was just queued)."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the thread (waiting up to ``timeout`` seconds for a running job) and dispose of the engine."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self.engine.dispose()

    def _loop(self) -> None:
        last_failure: str | None = None
        orphans_looked_at = False  # a database down at start is looked at again once it answers
        while not self._stop.is_set():
            try:
                if not orphans_looked_at:
                    self._requeue_orphans()
                    orphans_looked_at = True
                while not self._stop.is_set() and self.run_one():
                    pass
                if last_failure is not None:
                    log.info("the job runner works again")
                    last_failure = None
            except Exception as exc:
                # e.g. a database not migrated yet: say it once, not every few seconds until it is fixed
                if repr(exc) != last_failure:
                    if isinstance(exc, OperationalError):  # the database is down: no traceback to read
                        first = str(exc.orig or exc).strip().splitlines()[0]
                        log.warning(
                            "the job runner cannot reach the database (%s); trying again every %s s", first, self.poll_s
                        )
                    else:
                        log.exception("the job runner failed; trying again every %s s", self.poll_s)
                    last_failure = repr(exc)
                else:
                    log.debug("the job runner still fails: %s", exc)
            self._wake.wait(self.poll_s)
            self._wake.clear()

    def _requeue_orphans(self) -> None:
        with self.engine.begin() as conn:
            ids = conn.execute(sa.text("SELECT id FROM planning.jobs WHERE status = 'running'")).scalars().all()
            for job_id in ids:
                free = conn.execute(
                    sa.text("SELECT pg_try_advisory_xact_lock(:c, :id)"), {"c": LOCK_CLASS, "id": int(job_id)}
                ).scalar_one()
                if free:
                    conn.execute(
                        sa.text(
                            "UPDATE planning.jobs SET status = 'queued', started_at = NULL, "
                            "message = 'queued again: the process running it stopped' WHERE id = :id"
                        ),
                        {"id": job_id},
                    )
                    log.warning("job %s was left running by a stopped process: queued again", job_id)

    def run_one(self) -> bool:
        """Run the oldest queued job, if any, with the queued jobs it can do at once (:data:`MERGED_KINDS`).

        Returns True when a job ran.
        """
        with self.engine.connect() as lock_conn:
            with self.engine.begin() as conn:
                row = conn.execute(
                    sa.text(
                        "SELECT id, kind, params FROM planning.jobs WHERE status = 'queued' "
                        "ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1"
                    )
                ).one_or_none()
                if row is None:
                    return False
                job_id, kind, params = row
                ids, all_params = [int(job_id)], [params]
                if kind in MERGED_KINDS:
                    # only the jobs that can run together are locked: the others stay free for other runners
                    for other_id, other in conn.execute(
                        sa.text(
                            "SELECT id, params FROM planning.jobs WHERE status = 'queued' AND kind = :k AND id > :id "
                            "AND params - CAST(:keys AS text[]) = CAST(:p AS jsonb) - CAST(:keys AS text[]) "
                            "ORDER BY id FOR UPDATE SKIP LOCKED"
                        ),
                        {"k": kind, "id": job_id, "p": json.dumps(params), "keys": list(PLAN_KEYS)},
                    ).all():
                        ids.append(int(other_id))
                        all_params.append(other)
                # a lock per job: a runner starting elsewhere must not queue the merged ones again
                for one in ids:
                    lock_conn.execute(sa.text("SELECT pg_advisory_lock(:c, :id)"), {"c": LOCK_CLASS, "id": one})
                lock_conn.commit()
                conn.execute(
                    sa.text(
                        "UPDATE planning.jobs SET status = 'running', started_at = now(), message = NULL "
                        "WHERE id = ANY(:ids)"
                    ),
                    {"ids": ids},
                )
            try:
                self._run(ids, kind, merge_params(all_params) if len(ids) > 1 else params)
            finally:
                for one in ids:
                    lock_conn.execute(sa.text("SELECT pg_advisory_unlock(:c, :id)"), {"c": LOCK_CLASS, "id": one})
                lock_conn.commit()
        return True

    def _run(self, ids: list[int], kind: str, params: dict[str, Any]) -> None:
        def progress(message: str) -> None:
            with self.engine.begin() as conn:
                conn.execute(
                    sa.text("UPDATE planning.jobs SET message = :m WHERE id = ANY(:ids)"),
                    {"m": message[:500], "ids": ids},
                )

        name = f"job {ids[0]}" if len(ids) == 1 else f"jobs {', '.join(map(str, ids))}"
        log.info("%s (%s) started", name, kind)
        try:
            result = self.handlers[kind](self.settings, self.engine, params, progress)
        except Exception as exc:
            message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            log.exception("%s (%s) failed", name, kind)
            status, result, text = "failed", None, str(message).splitlines()[0][:500]
        else:
            status, text = "succeeded", "done" if len(ids) == 1 else f"done, together with {len(ids) - 1} other job(s)"
            if len(ids) > 1:
                result = {**(result or {}), "jobs": ids}
            log.info("%s (%s) succeeded", name, kind)
        with self.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "UPDATE planning.jobs SET status = :s, result = CAST(:r AS jsonb), message = :m, "
                    "finished_at = now(), progress = 1 WHERE id = ANY(:ids)"
                ),
                {"s": status, "r": None if result is None else json.dumps(result), "m": text, "ids": ids},
            )


def start_job_runner(settings: Settings, database_url: str, handlers: Mapping[str, Handler]) -> JobRunner:
    """Start the runner of this process on an engine of its own (no statement timeout: a rebuild may be long).

    Parameters
    ----------
    settings
        The service's settings, given to each handler.
    database_url
        A direct URL of the primary: the runner holds session advisory locks, which a transaction pooler
        (PgBouncer) would lose between transactions.
    handlers
        The code of each kind of job (see :class:`JobRunner`).
    """
    jobs_engine = create_db_engine(
        database_url,
        pool_size=3,
        statement_timeout_ms=0,
        prepared_statements=settings.db_prepared_statements,
        application_name=f"hue-planning-jobs {os.getpid()}",  # which process runs a job (pg_stat_activity)
    )
    return JobRunner(settings, jobs_engine, handlers).start()
