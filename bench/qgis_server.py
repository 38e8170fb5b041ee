"""QGIS Server (Debian ``qgis-server`` 3.22, C++) as a peer of ``bench serve``: OGC API - Features at ``/wfs3``.

``qgis_mapserver`` serves one project file, one request at a time per process, so as many processes run as the
other servers have uvicorn workers, each on its own port, and ``wrk`` loads all of them at once (the connections
shared out). The project file is written for ``planning.parcels`` by Debian's ``python3-qgis`` (the system
Python, not the project's): a postgres layer in EPSG:9214 listed among the WFS layers (else OAPIF hides it), the
columns the public does not see hidden from WFS, coordinates at 8 decimals.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import make_url

__all__ = ["QGIS_PATHS", "available", "compare_answers", "load_all", "qgis_servers", "write_project"]

SYSTEM_PYTHON = "/usr/bin/python3"
COLLECTION = "/wfs3/collections/parcels"
#: parcels' columns the OGC API of the service does not publish
HIDDEN = ("source", "attributes", "geom_4326", "geom_3857", "created_at", "created_by", "updated_by")

PROJECT_SCRIPT = r"""
import json, sys
from qgis.core import QgsApplication, QgsDataSourceUri, QgsProject, QgsVectorLayer

spec = json.loads(sys.argv[1])
app = QgsApplication([], False)
app.initQgis()
uri = QgsDataSourceUri()
uri.setConnection(spec["host"], str(spec["port"]), spec["dbname"], spec["user"], spec["password"])
uri.setDataSource("planning", "parcels", "geom", "", "id")
uri.setSrid("9214")
uri.setWkbType(6)  # MultiPolygon
layer = QgsVectorLayer(uri.uri(False), "parcels", "postgres")
if not layer.isValid():
    sys.exit("the parcels layer is not valid: " + layer.error().summary())
layer.setShortName("parcels")
project = QgsProject.instance()
project.addMapLayer(layer)
project.writeEntry("WFSLayers", "/", [layer.id()])
project.writeEntry("WFSLayersPrecision", "/" + layer.id(), 8)
project.writeEntry("WMSCrsList", "/", ["EPSG:4326", "EPSG:9214", "EPSG:3857"])  # the CRSs OAPIF offers
project.writeEntry("WMSExtent", "/", ["107.0", "15.95", "108.25", "16.8"])
if not project.write(spec["out"]):
    sys.exit("cannot write " + spec["out"])
app.exitQgis()
text = open(spec["out"], encoding="utf-8").read()
for name in spec["hidden"]:  # 3.22's API for this does not take effect; the project file's flag does
    shown, hidden = 'configurationFlags="None" name="%s"' % name, 'configurationFlags="HideFromWfs" name="%s"' % name
    text = text.replace(shown, hidden)
open(spec["out"], "w", encoding="utf-8").write(text)
"""


def available() -> str | None:
    """Why QGIS Server cannot run here, or None when it can."""
    if shutil.which("qgis_mapserver") is None:
        return "QGIS Server is not installed: apt-get install qgis-server (Debian)"
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True, check=False)
    if probe.returncode != 0:
        return "python3-qgis is not installed (Debian): it writes QGIS Server's project file"
    return None


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    return env | {"QT_QPA_PLATFORM": "offscreen"}


def write_project(libpq_url: str, out: Path) -> Path:
    """Write the QGIS project of ``planning.parcels`` in the database at ``libpq_url`` into ``out``."""
    u = make_url(libpq_url)
    spec = {
        "host": u.host,
        "port": u.port or 5432,
        "dbname": u.database,
        "user": u.username,
        "password": u.password or "",
        "out": str(out),
        "hidden": list(HIDDEN),
    }
    done = subprocess.run(
        [SYSTEM_PYTHON, "-c", PROJECT_SCRIPT, json.dumps(spec)],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
        check=False,
    )
    if done.returncode != 0 or not out.is_file():
        raise RuntimeError(f"the QGIS project was not written: {done.stderr[-2000:]}")
    return out


@contextmanager
def qgis_servers(project: Path, processes: int) -> Iterator[list[str]]:
    """Run ``processes`` ``qgis_mapserver`` processes on the project, each on its own port; yield their base URLs."""
    from bench.serve import free_port

    with ExitStack() as stack:
        bases = []
        for _ in range(processes):
            port = free_port()
            log = stack.enter_context(tempfile.NamedTemporaryFile("w+", suffix=".log"))
            cmd = ["qgis_mapserver", "-l", "2", "-p", str(project), f"127.0.0.1:{port}"]
            proc = subprocess.Popen(cmd, env=_env(), stdout=log, stderr=subprocess.STDOUT)
            stack.callback(_stop, proc)
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 90
            while True:
                try:
                    if httpx.get(f"{base}{COLLECTION}/items.json?limit=1", timeout=30).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(f"qgis_mapserver did not start:\n{log.read()[-3000:]}")
                time.sleep(0.5)
            bases.append(base)
        yield bases


def _stop(proc: subprocess.Popen[Any]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def load_all(bases: list[str], paths: list[str], seconds: float, connections: int) -> Any:
    """Load every base URL at once with ``wrk``, the connections shared out; requests summed, the worst p99."""
    from bench.serve import WRK_LUA, Result, load

    load(bases[0], paths, min(2.0, seconds), max(1, connections // len(bases)))  # checks the first path, warms up
    with tempfile.TemporaryDirectory() as d:
        plist = Path(d) / "paths.txt"
        plist.write_text("\n".join(paths) + "\n")
        script = Path(d) / "paths.lua"
        script.write_text(WRK_LUA % plist)
        share = max(1, connections // len(bases))
        cmd = ["wrk", "-t", "1", "-c", str(share), "-d", f"{max(1, int(seconds))}s", "--timeout", "10s"]
        cmd += ["-s", str(script)]
        procs = [subprocess.Popen([*cmd, base], stdout=subprocess.PIPE, text=True) for base in bases]
        outs = [p.communicate(timeout=seconds + 60)[0] for p in procs]
    figures = []
    for out in outs:
        line = next((x for x in out.splitlines() if x.startswith("JSON ")), None)
        if line is None:
            raise RuntimeError(f"wrk gave no summary:\n{out}")
        figures.append(json.loads(line[5:]))
    return Result(
        sum(f["rps"] for f in figures),
        sum(f["p50"] for f in figures) / len(figures),
        max(f["p99"] for f in figures),
        sum(int(f["errors"]) + int(f["non2xx"]) for f in figures),
    )


#: The requests of ``bench serve``'s endpoints on QGIS Server (filled by :func:`QGIS_PATHS`).
def QGIS_PATHS(ids: list[int], bboxes: list[str]) -> dict[str, list[str]]:  # noqa: N802 - a table, as in serve
    """QGIS Server's paths of the items, bbox and single item endpoints (CRS84, as ours)."""
    return {
        "items?limit=10 (CRS84 from EPSG:9214)": [f"{COLLECTION}/items.json?limit=10"],
        "bbox (~130 m, ~40 parcels)": [f"{COLLECTION}/items.json?limit=100&bbox={b}" for b in bboxes],
        "single item": [f"{COLLECTION}/items/{i}.json" for i in ids],
    }


def _coordinates(value: Any) -> list[float]:
    if isinstance(value, (int, float)):
        return [float(value)]
    return [c for v in value for c in _coordinates(v)]


_OURS_CRS = "http://www.opengis.net/def/crs/EPSG/0/9214"


def _features(client: httpx.Client, url: str, params: dict[str, str]) -> dict[int, Any]:
    r = client.get(url, params=params)
    r.raise_for_status()
    return {int(f["id"]): f["geometry"] for f in r.json()["features"]}


def _apart(a: Any, b: Any) -> float:
    """The largest difference between the coordinates of two geometries with the same vertices."""
    x, y = _coordinates(a["coordinates"]), _coordinates(b["coordinates"])
    if len(x) != len(y):
        raise AssertionError(f"different vertices: {len(x)} and {len(y)}")
    return max(abs(p - q) for p, q in zip(x, y, strict=True))


def _single_items(client: httpx.Client, ours: str, qgis: str, qgis_crs: str, ids: list[int]) -> float:
    """Single items: the same id; the geometry in metres from QGIS's items filtered on the id (its single item
    ignores crs)."""
    worst = 0.0
    for fid in ids:
        a = client.get(f"{ours}/ogc/collections/parcels/items/{fid}", params={"f": "json", "crs": _OURS_CRS}).json()
        single = client.get(f"{qgis}{COLLECTION}/items/{fid}.json").json()
        if int(single["id"]) != fid or int(a["id"]) != fid:
            raise AssertionError(f"item {fid}: ids {a['id']} and {single['id']}")
        b = _features(client, f"{qgis}{COLLECTION}/items.json", {"id": str(fid), "crs": qgis_crs})
        if list(b) != [fid]:
            raise AssertionError(f"item {fid}: QGIS's items filtered on the id hold {sorted(b)}")
        worst = max(worst, _apart(a["geometry"], b[fid]))
    return worst


def compare_answers(ours: str, qgis: str, ids: list[int], bboxes: list[str]) -> str:
    """Ours and QGIS Server's answers on sample pages, bboxes and items: same features, coordinates within 1 cm.

    Coordinates are compared in EPSG:9214 (metres), where QGIS writes them at its fixed 6 decimals; in CRS84 its
    6 decimals of a degree (up to 5 cm) would be the difference. QGIS widens a bbox to the enclosing EPSG:9214
    rectangle, so its features in a bbox must hold ours and may hold a few more.
    """
    worst = 0.0
    extra = 0
    offsets, boxes, items = (0, 10, 1000), bboxes[:20], ids[:50]
    with httpx.Client(timeout=60) as client:
        # QGIS names the CRS with its EPSG database's version (.../EPSG/9.6.2/9214)
        qgis_crs = next(c for c in client.get(f"{qgis}{COLLECTION}.json").json()["crs"] if c.endswith("/9214"))
        pages = [{"limit": "10", "offset": str(o)} for o in offsets] + [{"limit": "1000", "bbox": b} for b in boxes]
        for params in pages:
            a = _features(client, f"{ours}/ogc/collections/parcels/items", params | {"f": "json", "crs": _OURS_CRS})
            b = _features(client, f"{qgis}{COLLECTION}/items.json", params | {"crs": qgis_crs})
            if "bbox" not in params:  # QGIS pages in the table's order, not by id: compare its features with ours
                worst = max(worst, _single_items(client, ours, qgis, qgis_crs, sorted(b)))
                continue
            if not a.keys() <= b.keys():
                raise AssertionError(f"{params}: ids {sorted(a)} and {sorted(b)}")
            extra += len(b.keys() - a.keys())
            worst = max([worst, *(_apart(a[i], b[i]) for i in a)])
        worst = max(worst, _single_items(client, ours, qgis, qgis_crs, items))
    if not math.isfinite(worst) or worst > 0.01:
        raise AssertionError(f"coordinates differ by {worst:.4f} m")
    return (
        f"answers equal on {len(offsets)} pages, {len(boxes)} bboxes ({extra} more features in QGIS's widened "
        f"boxes) and {len(items)} items; coordinates within {worst * 1000:.1f} mm"
    )


if __name__ == "__main__":  # write a project for a database: python -m bench.qgis_server URL OUT.qgs
    print(write_project(sys.argv[1], Path(sys.argv[2])))
