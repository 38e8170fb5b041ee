"""The web application: created without side effects, health check against the real database, real HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from gis_service.api.app import create_app
from gis_service.db.migrate import head_revision
from gis_service.settings import Settings


def test_creating_the_app_touches_no_database() -> None:
    app = create_app(Settings(database_url="postgresql://nobody:x@127.0.0.1:1/none"))
    assert app.title == "Huế 3D planning service"


def test_healthz_answers_200_with_the_database_reachable(settings: Settings, auth_headers: Any) -> None:
    with TestClient(create_app(settings)) as client:
        r = client.get("/healthz")
        assert r.status_code == 200, r.text
        assert r.json() == {"status": "ok", "database": "reachable"}  # the versions: administrators only
        r = client.get("/healthz", params={"details": "true"}, headers=auth_headers("admin"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ok"
    assert body["database"] == "reachable"
    assert body["schema_revision"] == head_revision()
    assert body["postgis_version"].startswith("3.")


def test_healthz_answers_503_when_the_database_is_gone() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = Settings(database_url=f"postgresql://planning:secret@127.0.0.1:{port}/planning")
    with TestClient(create_app(settings)) as client:
        r = client.get("/healthz")
    assert r.status_code == 503
    body = r.json()
    assert body["database"] == "unreachable"
    assert "cannot connect" in body["detail"] and "secret" not in body["detail"]


def test_healthz_says_when_the_schema_is_behind(empty_database_url: str) -> None:
    with TestClient(create_app(Settings(database_url=empty_database_url))) as client:
        r = client.get("/healthz")
    assert r.status_code == 503
    assert r.json()["status"] == "degraded" and "planning db migrate" in r.json()["detail"]


def test_planning_serve_answers_over_real_http(database_url: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIS_")}
    env["GIS_DATABASE_URL"] = database_url
    planning = str(Path(sys.executable).with_name("planning"))
    server = subprocess.Popen(
        [planning, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read() if server.stdout else ""
                assert time.monotonic() < deadline, "server did not start in 30 s"
                time.sleep(0.2)
        assert r.status_code == 200 and r.json()["database"] == "reachable"
        assert "server" not in r.headers  # uvicorn's "server: uvicorn" names the stack
        landing = httpx.get(f"http://127.0.0.1:{port}/api", timeout=5).json()
        assert {link["href"] for link in landing["links"]} >= {"/healthz", "/docs", "/"}
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)  # the web viewer
        assert page.headers["content-type"].startswith("text/html") and "/viewer/app.js" in page.text
        # a second server on the same port is refused with one line, not a traceback
        clash = subprocess.run(
            [planning, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert clash.returncode == 1 and "already taken" in clash.stderr and "Traceback" not in clash.stderr
    finally:
        server.terminate()
        server.wait(timeout=20)
