"""The production files checked with what runs here (no Docker daemon): the Dockerfile read by Docker's own parser
against the image's rules, the compose file resolved by ``docker-compose config``, the HAProxy configuration the
compose file renders checked by ``haproxy -c``."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import dockerfile
import httpx
import pytest
import yaml

from gis_service.topology import render_haproxy

ROOT = Path(__file__).resolve().parents[1]
SECRET = "s3cret-from-the-environment"


def instructions() -> list[dockerfile.Command]:
    return list(dockerfile.parse_file(str(ROOT / "Dockerfile")))


def final_stage(commands: list[dockerfile.Command]) -> list[dockerfile.Command]:
    last_from = max(i for i, c in enumerate(commands) if c.cmd == "FROM")
    return commands[last_from:]


def env_of(stage: list[dockerfile.Command]) -> dict[str, str]:
    env: dict[str, str] = {}
    for c in stage:
        if c.cmd == "ENV":
            env.update(zip(c.value[::2], c.value[1::2], strict=True))
    return env


def test_the_image_follows_its_rules() -> None:
    commands = instructions()
    for c in commands:
        if c.cmd == "FROM":  # pinned bases: a rebuild gets the same system
            image = c.value[0]
            assert ":" in image and not image.endswith(":latest"), image
        if c.cmd == "RUN" and "apt-get install" in c.value[0]:  # no package lists left in a layer
            assert "apt-get update" in c.value[0] and "rm -rf /var/lib/apt/lists/*" in c.value[0]
        if c.cmd in ("ENV", "ARG"):  # secrets come from the environment at run time, never from the image
            names = c.value[::2] if c.cmd == "ENV" else [v.split("=")[0] for v in c.value]
            assert not [n for n in names if re.search("PASSWORD|PASSPHRASE|SECRET|TOKEN", n)], c.original
        if c.cmd == "COPY" and not any(f.startswith("--from") for f in c.flags):
            for source in c.value[:-1]:
                assert (ROOT / source).exists(), f"COPY of a missing {source}"
    stage = final_stage(commands)
    users = [c.value[0] for c in stage if c.cmd == "USER"]
    assert users and users[-1] not in ("root", "0"), "the service runs as a user of its own"
    (health,) = [c for c in stage if c.cmd == "HEALTHCHECK"]
    assert "/healthz" in " ".join(health.value)
    env = env_of(stage)
    (volume,) = [c.value for c in stage if c.cmd == "VOLUME"]
    for key in ("GIS_TILES__OUT_DIR", "GIS_VECTOR_TILES__DIR"):  # tiles on the volume: they survive a new container
        assert any(env[key].startswith(v.rstrip("/") + "/") for v in volume), (key, env[key], volume)


def test_the_database_image_is_pinned_and_clean() -> None:
    """The primary's image (PostGIS with pgBackRest): a pinned base, no package lists left, no secret."""
    commands = list(dockerfile.parse_file(str(ROOT / "deploy" / "postgres" / "Dockerfile")))
    (base,) = [c.value[0] for c in commands if c.cmd == "FROM"]
    assert base.startswith("postgis/postgis:15-") and not base.endswith(":latest")
    (run,) = [c.value[0] for c in commands if c.cmd == "RUN"]
    assert "pgbackrest" in run and "apt-get update" in run and "rm -rf /var/lib/apt/lists/*" in run
    assert not [c for c in commands if c.cmd in ("ENV", "ARG")], "secrets come from the environment at run time"


def test_the_image_holds_the_viewer_files_the_service_serves() -> None:
    commands = instructions()
    stage = final_stage(commands)
    modules = env_of(stage)["GIS_VIEWER__NODE_MODULES"]
    (copy,) = [c for c in stage if c.cmd == "COPY" and "--from=viewer" in c.flags]
    assert copy.value[-1] in ("./node_modules", modules, "node_modules")
    built = " ".join(c.value[0] for c in commands[: commands.index(stage[0])] if c.cmd == "RUN")
    # the folders gis_service/api/viewer.py serves from GIS_VIEWER__NODE_MODULES
    viewer = (ROOT / "gis_service" / "api" / "viewer.py").read_text()
    for folder, source in (
        ("/viewer/cesium/Build/Cesium", '"cesium" / "Build" / "Cesium"'),
        ("/viewer/maplibre-gl/dist", '"maplibre-gl" / "dist"'),
        ("/viewer/swagger-ui-dist", '"swagger-ui-dist"'),
    ):
        assert source in viewer, f"viewer.py no longer serves {source}: update the Dockerfile"
        assert folder in built, f"the image lacks {folder}"


def compose(*args: str, password: str | None = SECRET) -> subprocess.CompletedProcess[str]:
    program = shutil.which("docker-compose")
    if program is None:
        pytest.fail("docker-compose is missing: apt-get install docker-compose (./run.sh setup does it)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "PLANNING_", "PGBACKREST_"))}
    if password is not None:
        env["POSTGRES_PASSWORD"] = password
        env["PGBACKREST_REPO1_CIPHER_PASS"] = "backup-" + password
    return subprocess.run(
        [program, "-f", str(ROOT / "docker-compose.yml"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_compose_file_resolves_with_every_part_and_secrets_from_the_environment() -> None:
    done = compose("config")
    assert done.returncode == 0, done.stderr
    config = yaml.safe_load(done.stdout)
    services = config["services"]
    assert {"primary", "replica", "pgbouncer", "haproxy", "app", "backup", "migrate"} <= set(services)
    assert int(services["app"]["deploy"]["replicas"]) >= 2
    app_env = services["app"]["environment"]
    assert "@pgbouncer:6432/planning_replica1" in app_env["GIS_DATABASE_REPLICAS"]
    assert app_env["GIS_DB_PREPARED_STATEMENTS"] == "false"
    assert "@primary:5432/" in app_env["GIS_DATABASE_SESSION_URL"]
    assert any(str(v).startswith("service-data:/data") or "/data" in str(v) for v in services["app"]["volumes"])
    assert SECRET in app_env["GIS_DATABASE_URL"], "the password comes from the environment"
    assert "postgres" in services["replica"]["user"]
    assert any("8000" in str(p) for p in services["haproxy"]["ports"])
    # no secret written in the file itself
    raw = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name, service in raw["services"].items():
        for key, value in (service.get("environment") or {}).items():
            text = str(value)
            if re.search("PASSWORD|PASSPHRASE|_PASS$", key):
                assert text.startswith("${"), f"{name}: {key} is written in the file"
            for password in re.findall(r"postgresql://[^:/@]+:([^@]*)@", text):
                assert password.startswith("${"), f"{name}: a password written in {key}"

    missing = compose("config", password=None)
    assert missing.returncode != 0 and "POSTGRES_PASSWORD" in missing.stderr
    # the primary archives every WAL segment with pgBackRest, and the backup service backs it up on a schedule
    primary, backup = services["primary"], services["backup"]
    command = " ".join(primary["command"])
    assert "archive_mode=on" in command and "archive-push" in command
    assert "backups:/var/lib/pgbackrest" in " ".join(map(str, primary["volumes"])) or any(
        "pgbackrest" in str(v) for v in primary["volumes"]
    )
    assert backup["image"] == primary["image"] and "schedule.sh" in " ".join(backup["entrypoint"])
    assert backup["environment"]["PGBACKREST_REPO1_CIPHER_PASS"] != "", "the repository is encrypted"


def test_the_balancer_configuration_of_the_compose_file_is_valid(tmp_path: Path) -> None:
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not Path(haproxy).is_file():
        pytest.fail("haproxy is missing: apt-get install haproxy (./run.sh setup does it)")
    # the command the compose file's haproxy service runs
    planning = str(Path(sys.executable).with_name("planning"))
    args = ["topology", "render", "haproxy", "--out", str(tmp_path), "--dns-service", "app:8000", "--max-servers", "16"]
    rendered = subprocess.run([planning, *args], capture_output=True, text=True, check=False)
    assert rendered.returncode == 0, rendered.stderr
    cfg = (tmp_path / "haproxy.cfg").read_text()
    assert "server-template app 1-16 app:8000" in cfg and "option httpchk GET /healthz" in cfg
    check = subprocess.run([haproxy, "-c", "-f", str(tmp_path / "haproxy.cfg")], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_the_balancer_answers_in_the_service_s_shape_when_no_process_can(tmp_path: Path) -> None:
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    ports = []
    for _ in range(2):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
    # one process, on a port where nothing listens: out of rotation after its first checks
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(render_haproxy(bind=f"127.0.0.1:{ports[0]}", servers=[f"127.0.0.1:{ports[1]}"]))
    proc = subprocess.Popen([haproxy, "-f", str(cfg)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{ports[0]}/lookup/parcels/1", timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "HAProxy did not start"
                time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert r.status_code == 503 and r.headers["content-type"] == "application/json"
    assert r.headers["retry-after"] == "5"
    body = r.json()
    assert body["code"] == "ServiceUnavailable"
    assert "try again" in body["description"] and "thử lại" in body["description"]
