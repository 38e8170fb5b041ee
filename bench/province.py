"""Province scale: a synthetic Huế province loaded, published and tiled step by step, beside the sample plan.

At scale 1: 1,000,000 parcels, 300,000 buildings and 50,000 zones in 20 plans (:mod:`bench.province_data`, written
as GeoPackages into a temporary folder, never kept). Everything goes through the paths planners and the service use:
the cadastre and each plan are imported with :func:`converters.import_path` (what ``planning import`` runs), each
plan is published with :func:`gis_service.editing.publish_with_decision` (what the API's publication runs), then
the jobs a publication queues are run one by one, in order, by the job runner's own code
(:meth:`gis_service.jobs.JobRunner.run_one` with the handlers the web app gives it): ``tiles.rebuild`` (the published
vector tiles, then the 3D tiles), ``lookup.prepare`` (the prepared lookups), ``notices.write``. The 20 plans are
published first and their jobs run after, as a runner that fell behind would: the queued rebuilds run once,
together, as do the preparations (:data:`gis_service.jobs.MERGED_KINDS`), and the notices one by one. Last, the
web viewer's time to its first 2D render and to its 3D tileset loaded (headless Chromium, as ``bench viewer``) on
the province.

Baseline in the same run: the published sample plan (``sample_data/46QPK0000001``: 97 zones, 1,362 parcels, 1,137
buildings) through the same steps, in a database of its own. Each step prints its time, its counts and its rate,
so that a run at a small scale tells how long scale 1 would take.
"""

from __future__ import annotations

import math
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bench.common import throwaway_database
from bench.province_data import PLACES, make_province, plan_code
from converters import ImportOptions, import_path
from gis_service.db import create_db_engine
from gis_service.editing import publish_with_decision
from gis_service.jobs import JobRunner, get_job
from gis_service.lookup_prepared import HANDLERS as LOOKUP_JOBS
from gis_service.notices import HANDLERS as MAIL_JOBS
from gis_service.settings import Settings, TileSettings, VectorTileSettings, project_root
from tiles.jobs import HANDLERS as TILE_JOBS

__all__ = ["Dataset", "Step", "load_publish_tile", "run"]

SAMPLE = project_root() / "sample_data" / "46QPK0000001"
DECISION_DATE = date(2025, 6, 30)


def log(message: str) -> None:
    """A progress line on stderr."""
    print(f"[province] {message}", file=sys.stderr, flush=True)


@dataclass
class Step:
    """One step of a run: its wall time, what it handled (``count`` of ``unit``), bytes written, a note."""

    seconds: float
    count: int | None = None
    unit: str = ""
    bytes: int | None = None
    note: str = ""

    def rate(self) -> str:
        """Features (or whatever ``unit`` counts) per second, for people; empty when nothing was counted or the count
        is no work rate (``unit`` empty)."""
        if not self.count or not self.unit or not self.seconds > 0:
            return ""
        return f"{self.count / self.seconds:,.0f} {self.unit}/s"


@dataclass
class Dataset:
    """What to load (the cadastre's files, then each plan's file with its import options) and the steps it took."""

    label: str
    cadastre: list[Path]
    plans: list[tuple[Path, ImportOptions]]
    steps: dict[str, Step] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    jobs: list[dict[str, Any]] = field(default_factory=list)


def _folder_size(folder: Path, suffixes: tuple[str, ...]) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file() and p.suffix in suffixes]
    return len(files), sum(p.stat().st_size for p in files)


def _count(engine: Engine) -> dict[str, int]:
    sql = (
        "SELECT (SELECT count(*) FROM planning.plans WHERE status = 'approved'), "
        "(SELECT count(*) FROM planning.zones z JOIN planning.plans p ON p.id = z.plan_id AND p.status = 'approved'), "
        "(SELECT count(*) FROM planning.red_lines), (SELECT count(*) FROM planning.parcels), "
        "(SELECT count(*) FROM planning.buildings), (SELECT count(*) FROM planning.prepared_lookups)"
    )
    with engine.connect() as conn:
        row = conn.execute(sa.text(sql)).one()
    return dict(zip(("plans", "zones", "red_lines", "parcels", "buildings", "prepared_lookups"), row, strict=True))


def _drain(runner: JobRunner, data: Dataset) -> None:
    """Run the queued jobs one by one as the runner does, timing each; a failed job stops the benchmark."""
    next_sql = sa.text("SELECT id, kind FROM planning.jobs WHERE status = 'queued' ORDER BY id LIMIT 1")
    while True:
        with runner.engine.connect() as conn:
            row = conn.execute(next_sql).one_or_none()
        if row is None:
            return
        job_id, kind = int(row[0]), str(row[1])
        log(f"{data.label}: job {job_id} {kind} ...")
        t0 = time.perf_counter()
        if not runner.run_one():
            return
        took = time.perf_counter() - t0
        with runner.engine.connect() as conn:
            job = get_job(conn, job_id)
        if job.status != "succeeded":
            raise RuntimeError(f"job {job_id} ({kind}) {job.status}: {job.message}")
        data.jobs.append({"id": job_id, "kind": kind, "seconds": took, "result": job.result or {}})
        log(f"{data.label}: job {job_id} {kind} done in {took:.1f} s: {_brief(kind, job.result or {})}")


def _brief(kind: str, result: dict[str, Any]) -> str:
    together = f" ({len(result['jobs'])} jobs together)" if result.get("jobs") else ""
    return _what_was_done(kind, result) + together


def _what_was_done(kind: str, result: dict[str, Any]) -> str:
    if kind == "tiles.rebuild":
        vec = result.get("vector_tiles", [])
        return (
            f"vector tiles {sum(v['drawn'] for v in vec)} drawn, {sum(v['written'] for v in vec)} written; 3D "
            + ", ".join(
                f"{r['layer']} {r['features']} features {r['written']}/{r['tiles']} tiles" for r in result["layers"]
            )
        )
    if kind == "lookup.prepare":
        return f"{result.get('prepared')} of {result.get('parcels')} parcels prepared"
    return str(result)[:200]


def _runs_note(runs: list[dict[str, Any]]) -> str:
    """How many runs did the work of how many jobs (runs of queued jobs together, :func:`JobRunner.run_one`)."""
    jobs = sum(len(r["result"].get("jobs") or [r["id"]]) for r in runs)
    return f"{len(runs)} run(s) for {jobs} job(s)"


def _summarise_jobs(data: Dataset, tiles_dir: Path, vector_dir: Path) -> None:
    """Rows for the jobs: all of them, then the first run of each kind (the whole data set, with the jobs queued
    beside it) apart from any later run."""
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for job in data.jobs:
        by_kind.setdefault(job["kind"], []).append(job)
    data.steps["jobs: all, in queue order"] = Step(
        sum(j["seconds"] for j in data.jobs), len(data.jobs), "",
        note=", ".join(f"{len(v)} {k}" for k, v in sorted(by_kind.items())),
    )  # fmt: skip
    rebuilds = by_kind.get("tiles.rebuild", [])
    for label, jobs in (("first", rebuilds[:1]), ("others", rebuilds[1:])):
        if not jobs:
            continue
        vec = [v for j in jobs for v in j["result"].get("vector_tiles", [])]
        layers = [r for j in jobs for r in j["result"].get("layers", [])]
        vfiles, vsize = _folder_size(vector_dir, (".mvt",)) if label == "first" else (0, None)
        gfiles, gsize = _folder_size(tiles_dir, (".glb", ".json")) if label == "first" else (0, None)
        data.steps[f"  tiles.rebuild, {label}: vector tiles"] = Step(
            sum(v["seconds"] for v in vec), sum(v["drawn"] for v in vec), "tiles", vsize,
            f"{_runs_note(jobs)}, {sum(v['written'] for v in vec):,} tiles written"
            + (f", {vfiles:,} files in the folder" if vfiles else ""),
        )  # fmt: skip
        data.steps[f"  tiles.rebuild, {label}: 3D tiles"] = Step(
            sum(r["seconds"] for r in layers), sum(r["features"] for r in layers), "features", gsize,
            f"{_runs_note(jobs)}, {sum(r['written'] for r in layers):,} of {sum(r['tiles'] for r in layers):,} "
            "tiles written" + (f", {gfiles:,} files in the folder" if gfiles else ""),
        )  # fmt: skip
    prep = by_kind.get("lookup.prepare", [])
    for label, jobs in (("first", prep[:1]), ("others", prep[1:])):
        if jobs:
            data.steps[f"  lookup.prepare, {label}"] = Step(
                sum(j["seconds"] for j in jobs), sum(int(j["result"].get("prepared", 0)) for j in jobs), "parcels",
                note=f"{_runs_note(jobs)}, of {jobs[0]['result'].get('parcels', 0):,} parcels",
            )  # fmt: skip
    for kind in sorted(set(by_kind) - {"tiles.rebuild", "lookup.prepare"}):
        jobs = by_kind[kind]
        data.steps[f"  {kind}"] = Step(sum(j["seconds"] for j in jobs), note=f"{len(jobs)} job(s)")


def load_publish_tile(url: str, data: Dataset, tiles_dir: Path, vector_dir: Path, vector_max_zoom: int = 16) -> None:
    """Import ``data``'s cadastre and plans, publish each plan, run the jobs queued; fills ``data.steps``."""
    settings = Settings(
        database_url=url,
        tiles=TileSettings(out_dir=tiles_dir),
        vector_tiles=VectorTileSettings(dir=vector_dir, max_zoom=vector_max_zoom),
    )
    engine = create_db_engine(url, pool_size=2, statement_timeout_ms=0)
    try:
        t0 = time.perf_counter()
        for path in data.cadastre:
            log(f"{data.label}: importing {path.name} ...")
            report = import_path(path, engine, ImportOptions(user="bench", reason="bench province"))
            log(f"{data.label}: {path.name}: " + ", ".join(f"{lr.table} {lr.written:,}" for lr in report.layers))
        counts = _count(engine)
        data.steps["import cadastre (parcels, buildings)"] = Step(
            time.perf_counter() - t0, counts["parcels"] + counts["buildings"], "features"
        )
        log(f"{data.label}: cadastre imported in {data.steps['import cadastre (parcels, buildings)'].seconds:.1f} s")
        t0 = time.perf_counter()
        for path, options in data.plans:
            report = import_path(path, engine, options)
            written = ", ".join(f"{lr.table} {lr.written:,}" for lr in report.layers)
            log(f"{data.label}: plan {options.plan}: {written}")
        took = time.perf_counter() - t0
        counts = _count(engine)
        with engine.connect() as conn:
            zones = conn.execute(sa.text("SELECT count(*) FROM planning.zones")).scalar_one()
        data.steps["import plans (zones, red lines)"] = Step(
            took,
            zones + counts["red_lines"],
            "features",
            note=f"{len(data.plans)} plans: {zones:,} zones, {counts['red_lines']:,} red lines",
        )
        t0 = time.perf_counter()
        for _path, options in data.plans:
            assert options.plan is not None
            with engine.begin() as conn:
                publish_with_decision(
                    conn, options.plan, decision_no=None, decision_date=None, user="bench", reason="bench province"
                )
        data.steps["publish plans"] = Step(time.perf_counter() - t0, len(data.plans), "plans")
        log(f"{data.label}: {len(data.plans)} plans published; running the jobs they queued")
        handlers = {**TILE_JOBS, **MAIL_JOBS, **LOOKUP_JOBS}  # as the web app gives its runner (gis_service.api.app)
        runner_engine = create_db_engine(url, pool_size=3, statement_timeout_ms=0)
        runner = JobRunner(settings, runner_engine, handlers)
        try:
            _drain(runner, data)
        finally:
            runner_engine.dispose()
        _summarise_jobs(data, tiles_dir, vector_dir)
        data.counts = _count(engine)
    finally:
        engine.dispose()


def _viewer(url: str, tiles_dir: Path, vector_dir: Path, ogc_dir: Path, browser: Any, runs: int) -> tuple[float, ...]:
    """Median seconds to the first 2D render (2D page), and to the first 2D render and the 3D tileset (3D page)."""
    from bench.viewer import _browser_run, _first_2d_only, _served

    with _served(url, tiles_dir, ogc_dir, VectorTileSettings(dir=vector_dir)) as base:
        _first_2d_only(browser, base)  # warm-up: the server's first requests, the browser's start
        first_2d = statistics.median(_first_2d_only(browser, base) for _ in range(runs))
        both = [_browser_run(browser, base) for _ in range(runs)]
    return first_2d, statistics.median(b[0] for b in both), statistics.median(b[1] for b in both)


def _sample() -> Dataset:
    gis = SAMPLE / "HoSoGIS"
    options = ImportOptions(
        plan="46QPK0000001",
        plan_name="Quy hoạch phân khu Kinh thành Huế",
        decision_no="1234/QĐ-UBND",
        decision_date=DECISION_DATE,
        user="bench",
        reason="bench province",
    )
    return Dataset("sample", [gis / "HienTrang.gpkg", gis / "NenDiaHinh.gpkg"], [(gis / "QuyHoach.gpkg", options)])


def _province(folder: Path, scale: float) -> tuple[Dataset, Step]:
    t0 = time.perf_counter()
    files = make_province(folder, scale)
    made = Step(time.perf_counter() - t0, sum(files.counts[k] for k in ("zones", "red_lines", "parcels", "buildings")),
                "features", files.bytes, ", ".join(f"{v:,} {k}" for k, v in files.counts.items()))  # fmt: skip
    plans = []
    for k, (code, path) in enumerate(files.plans.items()):
        assert code == plan_code(k)
        plans.append(
            (
                path,
                ImportOptions(
                    plan=code,
                    plan_name=f"Quy hoạch phân khu {PLACES[k][0]}",
                    decision_no=f"{101 + k}/QĐ-UBND",
                    decision_date=DECISION_DATE,
                    user="bench",
                    reason="bench province",
                ),
            )
        )
    assert files.cadastre is not None
    return Dataset("province", [files.cadastre], plans), made


def run(
    scale: float = 1.0, *, viewer: bool = True, vector_max_zoom: int = 16, out: Callable[[str], None] = print
) -> dict[str, Dataset]:
    """Generate the province at ``scale``, load, publish and tile it and the sample plan; print the table.

    Parameters
    ----------
    scale
        Multiplies the province's sizes (1: 1,000,000 parcels).
    viewer
        Also time the web viewer in headless Chromium on both.
    vector_max_zoom
        Deepest zoom of the published vector tiles (the service's default, 16; a test may ask less).
    out
        Where the report's lines go.
    """
    sets: dict[str, Dataset] = {}
    with tempfile.TemporaryDirectory(prefix="bench-province-") as tmp_name:
        tmp = Path(tmp_name)
        log(f"generating the province at scale {scale} ...")
        province, made = _province(tmp / "files", scale)
        province.steps["generate files (GeoPackage)"] = made
        log(f"generated in {made.seconds:.1f} s: {made.note}, {(made.bytes or 0) / 2**20:,.0f} MB")
        sample = _sample()
        with throwaway_database() as sample_url, throwaway_database() as url:
            for data, db in ((sample, sample_url), (province, url)):
                base = tmp / data.label
                load_publish_tile(db, data, base / "tiles", base / "vector-tiles", vector_max_zoom)
                sets[data.label] = data
            if viewer:
                from playwright.sync_api import sync_playwright

                from bench.viewer import ARGS, CHROMIUM

                with sync_playwright() as p:
                    browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
                    try:
                        for data, db in ((sample, sample_url), (province, url)):
                            base = tmp / data.label
                            log(f"{data.label}: timing the viewer in headless Chromium ...")
                            try:
                                t2d, t2d3, t3d = _viewer(
                                    db, base / "tiles", base / "vector-tiles", base / "ogc", browser, 2
                                )
                            except Exception as exc:  # the steps before are worth their table all the same
                                log(f"{data.label}: the viewer failed: {type(exc).__name__}: {exc}")
                                data.steps["viewer: failed"] = Step(float("nan"), note=str(exc).splitlines()[0])
                                continue
                            data.steps["viewer: first 2D render (2D page)"] = Step(t2d)
                            data.steps["viewer: first 2D render (3D page)"] = Step(t2d3)
                            data.steps["viewer: 3D tileset loaded (3D page)"] = Step(t3d)
                    finally:
                        browser.close()
    _report(sets, scale, out)
    return sets


def _report(sets: dict[str, Dataset], scale: float, out: Callable[[str], None]) -> None:
    province, sample = sets["province"], sets["sample"]
    c = province.counts
    out(
        f"\nprovince at scale {scale:g}: {c['plans']} plans, {c['zones']:,} zones, {c['red_lines']:,} red lines, "
        f"{c['parcels']:,} parcels, {c['buildings']:,} buildings ({c['prepared_lookups']:,} lookups prepared); "
        f"sample: {sample.counts['zones']:,} zones, {sample.counts['parcels']:,} parcels, "
        f"{sample.counts['buildings']:,} buildings"
    )
    out(f"  {'step':<48} {'province':>10} {'count':>11} {'rate':>22} {'MB':>7} {'sample':>9} {'rate':>20}")
    names = list(province.steps) + [n for n in sample.steps if n not in province.steps]
    for name in names:
        p, s = province.steps.get(name), sample.steps.get(name)
        if name not in province.steps and name.startswith("jobs"):
            continue  # a kind the sample queued and the province did not, e.g. mail
        mb = f"{p.bytes / 2**20:,.1f}" if p and p.bytes is not None else ""
        out(
            f"  {name:<48} {_secs(p):>10} {(f'{p.count:,}' if p and p.count else ''):>11} "
            f"{(p.rate() if p else ''):>22} {mb:>7} {_secs(s):>9} {(s.rate() if s else ''):>20}"
        )
    for name, step in province.steps.items():
        if step.note:
            out(f"  {name.strip()}: {step.note}")


def _secs(step: Step | None) -> str:
    if step is None:
        return "-"
    return "failed" if math.isnan(step.seconds) else f"{step.seconds:,.1f}s"
