"""The sample plan of Huế, published and tiled, served by the app on a live uvicorn; Chromium for the viewer tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import uvicorn

from converters import ImportOptions, import_path
from gis_service.api.app import create_app
from gis_service.api.headers import UVICORN_OPTIONS
from gis_service.db import create_db_engine
from gis_service.editing import publish_plan
from gis_service.settings import Settings, TileSettings
from tiles import TileOptions, build_tilesets

ROOT = Path(__file__).resolve().parents[1]
DOSSIER = ROOT / "sample_data" / "46QPK0000001"
PLAN_CODE = "46QPK0000001"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
ARTIFACTS = ROOT / "test-artifacts"

# Reports every Content-Security-Policy violation of a page (and of the pages opened after it) to the test.
CSP_LISTENER = """document.addEventListener("securitypolicyviolation", (e) => window.cspViolation(
  `${e.effectiveDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`));"""


def watch_csp(context: Any) -> list[str]:
    """The list the Content-Security-Policy violations of ``context``'s pages go to (page and workers' console)."""
    violations: list[str] = []
    context.expose_function("cspViolation", lambda text: violations.append(text))
    context.add_init_script(CSP_LISTENER)
    return violations


def load_published_sample(url: str, tiles_dir: Path) -> None:
    """Import the sample dossier with its decision, publish it, build its 3D tiles."""
    engine = create_db_engine(url, pool_size=2)
    try:
        options = ImportOptions(
            plan=PLAN_CODE,
            plan_name="Quy hoạch phân khu Kinh thành Huế",
            decision_no="1234/QĐ-UBND",
            decision_date=date(2025, 6, 30),
            user="lan.nguyen",
        )
        import_path(DOSSIER, engine, options)
        with engine.begin() as conn:
            publish_plan(conn, PLAN_CODE, user="lan.nguyen", reason="phê duyệt")
        build_tilesets(engine, tiles_dir, options=TileOptions())
    finally:
        engine.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serve_app(app: Any) -> Iterator[str]:
    """An ASGI app on 127.0.0.1 in a thread (uvicorn, real HTTP); yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **UVICORN_OPTIONS))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the app did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def serve(url: str, tiles_dir: Path, **settings: Any) -> Iterator[str]:
    """The app on 127.0.0.1 in a thread; yields its base URL."""
    with serve_app(create_app(Settings(database_url=url, tiles=TileSettings(out_dir=tiles_dir), **settings))) as base:
        yield base
