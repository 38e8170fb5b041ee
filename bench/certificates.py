"""Certificates: planning-information certificates drawn, rendered as PDF and signed, per second, in one process.

Parcels of the demo's sample plans (``bench/sample.py``), spread over the sample, each issued a certificate as
``planning certificates issue`` does (content drawn from the lookup and the rule model, the PDF rendered with its map
extract, signed with PAdES, the record written; in a transaction rolled back), one after the other in this process;
the stages (content, PDF, signature) are timed apart.

Baseline, in the same process on the same parcels: the zoning lookup alone (:func:`gis_service.lookup.lookup`,
with the envelope, as ``GET /lookup/parcels/{id}`` answers), the answer a certificate is built around.

Target: a certificate in under 1 s at the median.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
from sqlalchemy.engine import Connection

from bench.common import throwaway_database
from bench.sample import load_sample

if TYPE_CHECKING:
    from gis_service.certificates.signing import SigningKey

TARGET_S = 1.0
PARCELS = 40


def _stats(times: list[float]) -> tuple[float, float, float]:
    """Median, p95 (nearest rank) and rate per second of a list of durations."""
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * len(ordered)) - 1)]
    return statistics.median(ordered), p95, len(ordered) / sum(ordered)


def _each(ids: list[int], fn: Callable[[int], object]) -> list[float]:
    times = []
    for pid in ids:
        t0 = time.perf_counter()
        fn(pid)
        times.append(time.perf_counter() - t0)
    return times


def run(scale: float = 1.0) -> None:
    """Measure certificates per second against the lookup alone on the same parcels, and print the report.

    Parameters
    ----------
    scale
        Multiplies the number of parcels (40 by default, at least 5).
    """
    from gis_service.certificates import records
    from gis_service.certificates.signing import ensure_demo_key, load_signing_key, validate_pdf
    from gis_service.db import create_db_engine
    from gis_service.lookup import LookupQuery, lookup

    print("\nCertificates: content + PDF + PAdES signature, one process, vs the zoning lookup alone (same parcels)")
    print(f"  {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (other work on the machine skews the rates)")
    with throwaway_database() as url, tempfile.TemporaryDirectory() as tmp:
        seconds = load_sample(url)
        key_file, cert_file, _made = ensure_demo_key(Path(tmp))
        key = load_signing_key(key_file=key_file, cert_file=cert_file)
        with psycopg.connect(url) as conn:
            every = [r[0] for r in conn.execute("SELECT id FROM planning.parcels ORDER BY id").fetchall()]
        count = max(5, int(PARCELS * scale))
        ids = every[:: max(1, len(every) // count)][:count]
        print(f"  sample imported and published in {seconds:.1f} s; {len(ids)} of its {len(every)} parcels")
        engine = create_db_engine(url, pool_size=1)
        try:
            with engine.connect() as conn:
                pg = conn.connection.driver_connection
                assert isinstance(pg, psycopg.Connection)
                lookup(pg, LookupQuery(parcel_id=ids[0]))  # warm-up: statements prepared, fonts read
                records.preview(conn, ids[0], lang="vi", fmt="pdf")
                base = _each(ids, lambda pid: lookup(pg, LookupQuery(parcel_id=pid)))
                issued: list[bytes] = []
                ours = _each(
                    ids,
                    lambda pid: issued.append(
                        records.issue_certificate(conn, pid, key=key, user="bench", base_url="http://localhost").pdf
                    ),
                )
                stages = _stages(conn, ids, key)
                conn.rollback()  # the records issued: a benchmark leaves none behind
        finally:
            engine.dispose()
        checks = _each(list(range(len(issued))), lambda i: validate_pdf(issued[i], fingerprints={key.fingerprint}))
    _report(ours, base, stages, checks, sum(len(p) for p in issued) / len(issued))


def _stages(conn: Connection, ids: list[int], key: SigningKey) -> dict[str, list[float]]:
    """Each stage of a certificate timed apart: the content drawn, the PDF rendered, the PDF signed."""
    from gis_service.certificates.content import certificate_content
    from gis_service.certificates.document import Stamp, render_pdf
    from gis_service.certificates.signing import sign_pdf

    out: dict[str, list[float]] = {"content": [], "PDF rendered": [], "signature": []}
    at = datetime.now(UTC).replace(microsecond=0)
    for n, pid in enumerate(ids):
        t0 = time.perf_counter()
        content = certificate_content(conn, pid)
        t1 = time.perf_counter()
        number = f"HUE-{at.year}-{n + 1:06d}"
        pdf = render_pdf(content, Stamp(number, at, "bench", f"http://localhost/certificates/{number}/verify"))
        t2 = time.perf_counter()
        sign_pdf(pdf, key, number=number, at=at)
        t3 = time.perf_counter()
        out["content"].append(t1 - t0)
        out["PDF rendered"].append(t2 - t1)
        out["signature"].append(t3 - t2)
    return out


def _report(
    ours: list[float], base: list[float], stages: dict[str, list[float]], checks: list[float], size: float
) -> None:
    med, p95, rate = _stats(ours)
    bmed, bp95, brate = _stats(base)
    print(f"  {'':<34} {'median':>9} {'p95':>9} {'per second':>11}")
    print(f"  {'certificate (issued, signed)':<34} {med * 1000:>7.0f}ms {p95 * 1000:>7.0f}ms {rate:>11.2f}")
    for name, times in stages.items():
        smed, sp95, srate = _stats(times)
        print(f"  {'  of which ' + name:<34} {smed * 1000:>7.0f}ms {sp95 * 1000:>7.0f}ms {srate:>11.2f}")
    print(f"  {'lookup alone (baseline)':<34} {bmed * 1000:>7.1f}ms {bp95 * 1000:>7.1f}ms {brate:>11.1f}")
    vmed, vp95, vrate = _stats(checks)
    print(f"  {'signature check of a PDF':<34} {vmed * 1000:>7.1f}ms {vp95 * 1000:>7.1f}ms {vrate:>11.1f}")
    print(f"  a certificate costs {med / bmed:.0f} lookups at the median; PDFs of {size / 1024:.0f} kB on average")
    verdict = "met" if med < TARGET_S else "NOT met"
    print(f"  median {med:.2f} s per certificate vs target < {TARGET_S:.0f} s: {verdict}")
