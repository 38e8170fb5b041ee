"""Validation of the 1,000,000-zone GeoPackage of ``bench import``: ``planning validate`` against ``ogrinfo -al -so``
and against the import's own reading and checking steps, on the same file in the same run.

``ogrinfo -al -so`` reads the layer's summary only (its extent and count from the GeoPackage's metadata, no
feature): the floor of any tool that opens the file. The import's reading and checking steps are what
``planning import`` does before it encodes rows for COPY: every batch read, brought to EPSG:9214, checked to lie in
Viet Nam, validated and repaired (:class:`~converters.importer.checking.LayerChecker`), values mapped and checked,
then the zones' overlap check. The validation does the same through the same step, plus what only it checks
(mandatory fields and widths, slivers, the province's extent, duplicates, legacy text), and builds its report.
Target: the validation no slower than the import's steps. The validation reads the next batch in a thread while
it checks one (as the import reads ahead while it copies); the import's steps are timed here one after the other,
without their COPY to overlap with.

Each side runs in a child process of its own (its imports not timed), ``pairs`` rounds of the three in turn
(``python -m bench validate --pairs 3``); each round's figures, the medians and the best of the rounds (the least
disturbed by other work on the machine) and their ratios are printed.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.import_zones import make_gpkg

ZONES = 1_000_000

_IMPORT_STEPS = """
import itertools, json, sys, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import numpy as np
from converters.importer import ImportOptions
from converters.importer.checking import LayerChecker, resolve_fields
from converters.importer.quality import overlapping_pairs
from converters.importer.reading import read_batches, source_crs
from converters.importer.values import ValueErrors
from converters.mapping import load_profile
from converters.report import ImportReport, LayerReport
from converters.sources import find_sources
from converters.validation import reference_codebook
t0 = time.perf_counter()
path, opts = Path(sys.argv[1]), ImportOptions(kind="zones")
profile, codes = load_profile(None), reference_codebook()
report, shapes = ImportReport(source=path.name), []
with ThreadPoolExecutor(1) as pool:
    for src in find_sources(path, profile, kind="zones"):
        batches = read_batches(src, opts)
        first = next(batches)
        crs = source_crs(first, src, opts, report)
        fmap, _ = resolve_fields(profile, "zones", first, codes, accept_suggested=False)
        lr = LayerReport(source=src.label, kind="zones", table="zones")
        checker = LayerChecker(src, "zones", codes, fmap, crs, lr, ValueErrors(src.label), pool)
        for batch in itertools.chain([first], batches):
            checked = checker.shapes(batch)
            checker.values(batch, checked.keep)
            shapes.append(checked.geoms)
pairs, _ = overlapping_pairs(np.concatenate(shapes))
print(json.dumps({"seconds": time.perf_counter() - t0, "features": lr.read, "overlaps": len(pairs)}))
"""

_VALIDATE = """
import json, sys, time
from pathlib import Path
from converters.validation import validate_path
t0 = time.perf_counter()
report = validate_path(Path(sys.argv[1]))
print(json.dumps({"seconds": time.perf_counter() - t0, "features": sum(l["features"] for l in report.layers),
                  "findings": len(report.findings), "counts": report.counts()}))
"""


def _child(code: str, path: Path) -> dict[str, float]:
    """Run ``code`` on ``path`` in a child Python; its JSON answer with the child's whole wall time."""
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    answer: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    answer["process_seconds"] = time.perf_counter() - t0
    return answer


def _ogrinfo(path: Path) -> dict[str, float]:
    ogrinfo = shutil.which("ogrinfo")
    if ogrinfo is None:
        raise SystemExit("ogrinfo is missing: install gdal-bin (scripts/setup.sh does)")
    t0 = time.perf_counter()
    subprocess.run([ogrinfo, "-al", "-so", "-ro", str(path)], capture_output=True, check=True)
    return {"seconds": time.perf_counter() - t0, "process_seconds": time.perf_counter() - t0}


def run(scale: float = 1.0, pairs: int = 1) -> None:
    """Make the GeoPackage (``scale`` × 1,000,000 zones) and time the three sides in turn, ``pairs`` times."""
    n = max(1000, int(ZONES * scale))
    with tempfile.TemporaryDirectory(prefix="bench-validate-") as tmp:
        path = Path(tmp) / "zones.gpkg"
        t0 = time.perf_counter()
        make_gpkg(path, n)
        print(f"validate: {n:,} zones in {path.stat().st_size / 1e6:.0f} MB (made in {time.perf_counter() - t0:.0f} s)")
        sides: dict[str, list[dict[str, float]]] = {"ogrinfo -al -so": [], "import: read and check": [], "validate": []}
        for _ in range(pairs):
            sides["ogrinfo -al -so"].append(_ogrinfo(path))
            sides["import: read and check"].append(_child(_IMPORT_STEPS, path))
            sides["validate"].append(_child(_VALIDATE, path))
    for k in range(pairs):  # each round: the three sides one after the other (the machine's speed drifts)
        figures = ", ".join(f"{name} {runs[k]['seconds']:.2f} s" for name, runs in sides.items())
        print(f"round {k + 1}: {figures}")
    med = {k: statistics.median(r["seconds"] for r in v) for k, v in sides.items()}
    best = {k: min(r["seconds"] for r in v) for k, v in sides.items()}
    print(f"{'side':<26}{'median s':>10}{'best s':>10}{'process s':>12}{'zones/s':>12}")
    for name, runs in sides.items():
        proc = statistics.median(r["process_seconds"] for r in runs)
        rate = f"{n / med[name]:,.0f}" if name != "ogrinfo -al -so" else "-"
        print(f"{name:<26}{med[name]:>10.2f}{best[name]:>10.2f}{proc:>12.2f}{rate:>12}")
    last = sides["validate"][-1]
    print(f"validate found {int(last['findings'])} findings listed: {last.get('counts')}")
    steps = "import: read and check"
    print(
        f"ratio validate / import's read and check: median {med['validate'] / med[steps]:.2f}, best "
        f"{best['validate'] / best[steps]:.2f} (target ≤ 1.0); validate / ogrinfo -al -so: "
        f"{med['validate'] / med['ogrinfo -al -so']:.0f}"
    )
