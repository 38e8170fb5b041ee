"""Test fixtures: a real PostGIS, a fresh database per test session.

The database server is ``GIS_TEST_DATABASE_URL`` when set (tests create and drop throwaway databases there, so the
role needs CREATEDB), else the project's own local cluster (``planning db up`` is run for you).
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url

from gis_service.db import create_db_engine, local_cluster
from gis_service.db.local_cluster import LocalCluster
from gis_service.db.migrate import upgrade
from gis_service.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


class DatabaseServer:
    """Creates and drops throwaway databases (with PostGIS) on one server."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url

    def _admin(self) -> psycopg.Connection:
        u = make_url(self.admin_url)
        return psycopg.connect(
            host=u.host, port=u.port, user=u.username, password=u.password, dbname=u.database, autocommit=True
        )

    def create(self, prefix: str = "test") -> str:
        name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
        with self._admin() as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        url = make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)
        u = make_url(url)
        with psycopg.connect(
            host=u.host, port=u.port, user=u.username, password=u.password, dbname=name, autocommit=True
        ) as db:
            db.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        return url

    def drop(self, url: str) -> None:
        with self._admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


# The service writes its 3D tiles, published vector tiles and pygeoapi's files to the project's .data by default, the
# demo's folders. Each test process writes them to a folder of its own instead: the tests leave the demo's alone, and
# two workers publishing plans of the same code at once do not write into each other's tiles.
SERVICE_FOLDERS = {"GIS_TILES__OUT_DIR": "tiles", "GIS_VECTOR_TILES__DIR": "vector-tiles", "GIS_OGC_DIR": "ogc"}
_SERVICE_FOLDERS_ROOT = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    root = Path(tempfile.mkdtemp(prefix="planning-tests-"))
    config.stash[_SERVICE_FOLDERS_ROOT] = root
    for variable, folder in SERVICE_FOLDERS.items():
        os.environ.setdefault(variable, str(root / folder))  # a test's own settings still win


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(config.stash[_SERVICE_FOLDERS_ROOT], ignore_errors=True)


def _project_cluster() -> LocalCluster | None:
    """The project's local cluster, unless the tests use the server of ``GIS_TEST_DATABASE_URL``."""
    return None if os.environ.get("GIS_TEST_DATABASE_URL") else local_cluster(Settings(database_url=None))


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")  # a pytest-xdist worker, not the process that started the run


_CLUSTER_WAS_RUNNING = pytest.StashKey[bool]()


def pytest_sessionstart(session: pytest.Session) -> None:
    # Whether the cluster ran before the tests: the first test that needs it starts it (in whichever worker), and the
    # process that started the run stops it at the very end, once no worker uses it any more.
    cluster = None if _is_worker(session.config) else _project_cluster()
    session.config.stash[_CLUSTER_WAS_RUNNING] = cluster is None or cluster.status().running


def pytest_sessionfinish(session: pytest.Session) -> None:
    if not session.config.stash.get(_CLUSTER_WAS_RUNNING, True):  # leave the machine as the tests found it
        cluster = _project_cluster()
        if cluster is not None and cluster.status().running:
            cluster.down()


@pytest.fixture(scope="session")
def db_server() -> DatabaseServer:
    cluster = _project_cluster()
    if cluster is None:
        return DatabaseServer(os.environ["GIS_TEST_DATABASE_URL"])
    cluster.up()  # nothing to do when it runs; two workers starting it at once take turns (a lock)
    return DatabaseServer(cluster.url("postgres"))


@pytest.fixture(scope="session")
def database_url(db_server: DatabaseServer) -> Iterator[str]:
    """A fresh database migrated to head, dropped after the session."""
    url = db_server.create()
    upgrade(url)
    yield url
    db_server.drop(url)


@pytest.fixture
def empty_database_url(db_server: DatabaseServer) -> Iterator[str]:
    """A fresh database with PostGIS and no schema yet, dropped after the test."""
    url = db_server.create("empty")
    yield url
    db_server.drop(url)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = create_db_engine(database_url, pool_size=2)
    yield eng
    eng.dispose()


@pytest.fixture
def conn(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    with engine.connect() as c:
        tx = c.begin()
        try:
            yield c
        finally:
            tx.rollback()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url)


@pytest.fixture
def plan_id(conn: Connection) -> int:
    # a code no test commits (the dossier import commits the sample's 46QPK0000001 in the same database)
    pid: int = conn.execute(
        sa.text(
            "INSERT INTO planning.plans (code, name, level, scale_denominator) "
            "VALUES ('46QPK0009901', 'Phân khu Kinh thành Huế', 'zoning', 2000) RETURNING id"
        )
    ).scalar_one()
    return pid


@pytest.fixture(scope="session")
def sample_plan(db_server: DatabaseServer) -> Iterator[tuple[str, dict[str, Any]]]:
    """A database of its own holding the small approved plan of tests/ogc_sample.py: (url, ids)."""
    from ogc_sample import load_sample

    url = db_server.create("ogc")
    upgrade(url)
    ids = load_sample(url)
    yield url, ids
    db_server.drop(url)


@pytest.fixture(scope="session")
def sample_plans_url(db_server: DatabaseServer) -> Iterator[str]:
    """A database of its own holding the demo's sample plans (``sample_data/``), imported and published as the demo
    does (:func:`gis_service.cli.sample_plans.load_sample_plans`). Tests must leave it as they found it."""
    from sample_plans_db import fill_with_sample_plans

    url = db_server.create("sample")
    fill_with_sample_plans(url)
    yield url
    db_server.drop(url)


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A folder the 'postgres' system user can reach (pytest's own tmp folders are closed to it when root)."""
    d = Path(tempfile.mkdtemp(prefix="planning-test-"))
    d.chmod(0o755)
    yield d
    for sub in d.iterdir():
        if (sub / "pgdata").exists():
            LocalCluster(sub).destroy()
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def auth_headers(database_url: str) -> Iterator[Any]:
    """Bearer headers of a user of a role: ``auth_headers("planner")`` -> ``{"Authorization": "Bearer ..."}``.

    One user per role and database (``test-<role>``), made once per session; ``database_url=`` for another test
    database (e.g. the one of ``sample_plan``).
    """
    from gis_service.auth import Role, create_user, get_user, issue_token
    from gis_service.errors import NotFound

    engines: dict[str, Engine] = {}
    made: dict[tuple[str, str], dict[str, str]] = {}

    def headers(role: str, *, database_url: str = database_url) -> dict[str, str]:
        key = (database_url, Role(role).value)
        if key not in made:
            eng = engines.setdefault(database_url, create_db_engine(database_url, pool_size=1))
            with eng.begin() as c:
                name = f"test-{key[1]}"
                try:
                    user = get_user(c, name)
                except NotFound:
                    user = create_user(c, name, key[1], secrets.token_urlsafe(12))
                token = issue_token(c, user, ttl_s=3600).access_token
            made[key] = {"Authorization": f"Bearer {token}"}
        return dict(made[key])

    yield headers
    for eng in engines.values():
        eng.dispose()


# Programs the set-up (scripts/setup.sh) installs from Debian. A test that needs one fails when it is missing, with
# the way out, instead of being skipped: a skip would hide a broken set-up in CI.
QGIS_PYTHON = "/usr/bin/python3"  # Debian's python3-qgis lives in the system Python, not in .venv


@pytest.fixture(scope="session")
def gdal_bin() -> str:
    """The folder of ogr2ogr/ogrinfo (Debian gdal-bin)."""
    ogr2ogr = shutil.which("ogr2ogr")
    if ogr2ogr is None or shutil.which("ogrinfo") is None:
        pytest.fail("ogr2ogr/ogrinfo are missing: ./run.sh setup installs them (Debian gdal-bin)")
    return os.path.dirname(ogr2ogr)


@pytest.fixture(scope="session")
def qgis_python() -> str:
    """A Python that imports QGIS (Debian python3-qgis)."""
    probe = subprocess.run([QGIS_PYTHON, "-c", "import qgis.core"], capture_output=True, timeout=120, check=False)
    if probe.returncode != 0:
        pytest.fail(f"QGIS does not import in {QGIS_PYTHON}: ./run.sh setup installs it (Debian python3-qgis)")
    return QGIS_PYTHON


# ---- two workers (pytest-xdist) --------------------------------------------------------------------------------
# pyproject's addopts run the suite on two workers (-n auto --dist loadfile): the slow tests mostly wait (for servers,
# clusters, fixed-rate loads, a browser), so two of them share two cores well. A module runs whole on one worker (its
# module-scoped databases and servers are made once), and so does each group below, one module after another.
GROUPS = {
    # a throwaway cluster takes port 55432 when free, else any: two starting at one moment may take the same
    "cluster": ("test_drills", "test_local_cluster", "test_published_tiles", "test_read_replicas"),
    # two Chromiums, each drawing WebGL in software, starve each other on two cores (and their waits time out)
    "browser": (
        "test_tiles_browser",
        "test_viewer",
        "test_viewer_balance",
        "test_viewer_base_map",
        "test_viewer_certificate",
        "test_viewer_consultation",
        "test_viewer_envelope",
    ),
}
#: Units of work (a group, else a module) that take longest, started first so that the other worker fills in around
#: them instead of one worker finishing a long one alone at the end (from a run's --durations on 2 cores).
LONGEST_FIRST = ("cluster", "browser", "test_prepared_lookup", "test_fuzz", "test_sample_rules")
_GROUP_OF = {module: group for group, modules in GROUPS.items() for module in modules}


def _unit(nodeid: str) -> str:
    """The unit of work a test belongs to: its module's group, else its module (``test_x``)."""
    module = Path(nodeid.split("::", 1)[0]).stem
    return _GROUP_OF.get(module, module)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    # a stable sort: each module's tests stay together and in their order (the same order in both workers)
    items.sort(key=lambda item: rank.get(_unit(item.nodeid), len(rank)))


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist: none without it (-p no:xdist)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadfile``, with each of :data:`GROUPS` one unit of work too (xdist's own ``loadgroup`` mark no longer
    reaches its scheduler on pytest 9.2: pytest-xdist issue 1386)."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModulesAndGroups(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _unit(nodeid)

    return ModulesAndGroups(config, log)


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: two workers, or none (as before) for one module, or with ``-s`` to see what the tests print."""
    files = {arg.split("::")[0] for arg in config.args}
    one_module = len(files) == 1 and next(iter(files)).endswith(".py")
    if one_module or config.getoption("capture") == "no" or len(os.sched_getaffinity(0)) < 2:
        return 0
    return 2
