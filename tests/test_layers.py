"""The packages' import directions: a core that knows nothing of the web, under the shells that use it.

====================  =====================================================================================
package               may import (first-party)
====================  =====================================================================================
core                  core (``gis_service`` but for ``api``, ``cli`` and ``viewer``); no fastapi, starlette,
                      pygeoapi or uvicorn either
converters            core (no web framework either)
tiles                 core
ogc                   core, tiles, converters
gis_service.viewer    core (the viewer's own files; its routes are in ``gis_service.api.viewer``)
gis_service.api       everything but ``gis_service.cli``
gis_service.cli       anything
bench, scripts, tests anything (not checked)
====================  =====================================================================================

Every import counts, also one inside a function or under ``if TYPE_CHECKING:``: a lazy import is still a
dependency. A second test imports the whole core in a fresh interpreter and checks that no shell came with it.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("gis_service", "converters", "tiles", "ogc")
#: Shells inside gis_service, by their package.
INNER_SHELLS = {"gis_service.api": "api", "gis_service.cli": "cli", "gis_service.viewer": "viewer"}
#: The one module of the web shell the viewer may use.
API_DEPS = "gis_service.api.deps"
WEB = frozenset({"fastapi", "starlette", "pygeoapi", "uvicorn"})

EVERYTHING = {"core", "converters", "tiles", "ogc", "viewer", "api", "api.deps", "cli"}
ALLOWED: dict[str, set[str]] = {
    "core": {"core"},
    "converters": {"core", "converters"},
    "tiles": {"core", "tiles"},
    "ogc": {"core", "tiles", "converters", "ogc"},
    "viewer": {"core", "viewer"},
    "api": EVERYTHING - {"cli"},
    "cli": EVERYTHING,
}
#: Layers that must not import a web framework at all.
NO_WEB = {"core", "converters"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def first_party_modules() -> dict[str, Path]:
    """Every module of the four packages, by dotted name."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[module_name(path)] = path
    return found


MODULES = first_party_modules()


def layer(module: str) -> str | None:
    """The layer of a first-party module (None for the standard library and third parties)."""
    top = module.split(".")[0]
    if top in ("converters", "tiles", "ogc"):
        return top
    if top != "gis_service":
        return None
    if module == API_DEPS:
        return "api.deps"
    for package, name in INNER_SHELLS.items():
        if module == package or module.startswith(package + "."):
            return name
    return "core"


def imports(module: str, path: Path) -> Iterator[tuple[int, str]]:
    """``(line, imported module)`` of every import statement of the file, wherever it is in the file."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's package
                package = module.split(".") if is_package else module.split(".")[:-1]
                package = package[: len(package) - (node.level - 1)]
                base = ".".join([*package, base] if base else package)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield node.lineno, sub if sub in MODULES else base


def offences() -> list[str]:
    found = []
    for module, path in MODULES.items():
        source = layer(module)
        assert source is not None
        source = "api" if source == "api.deps" else source
        for line, target in imports(module, path):
            where = f"{path.relative_to(ROOT)}:{line}: {module} ({source}) imports {target}"
            target_layer = layer(target)
            if target_layer is None:
                if source in NO_WEB and target.split(".")[0] in WEB:
                    found.append(f"{where} (a web framework)")
                continue
            if target_layer not in ALLOWED[source]:
                found.append(f"{where} ({target_layer})")
    return found


def test_the_layers_are_known() -> None:
    assert {layer(m) for m in MODULES} == EVERYTHING
    assert "gis_service.editing.history" in MODULES and layer("gis_service.editing.history") == "core"
    assert layer("gis_service.api.app") == "api" and layer("gis_service.viewer.planner") == "viewer"


def test_every_import_follows_the_allowed_directions() -> None:
    bad = offences()
    for line in bad:
        print(line)
    assert not bad, "imports against the allowed directions:\n" + "\n".join(bad)


def test_the_core_loads_no_shell_nor_web_framework() -> None:
    """Each core module imported in a fresh interpreter, in turn: which shell or web framework came with it."""
    core = [m for m in MODULES if layer(m) == "core" and not m.startswith("gis_service.db.migrations")]
    assert "gis_service.rules" in core and "gis_service.lookup" in core and "gis_service.permits.workflow" in core
    shells = sorted(WEB | {"ogc", "tiles", "converters"})
    code = (
        "import importlib, json, sys\n"
        f"shells = {shells!r}\n"
        f"inner = {tuple(INNER_SHELLS)!r}\n"
        "def loaded():\n"
        "    # the shell packages (and web frameworks) loaded so far, by their package\n"
        "    found = {m.split('.')[0] for m in sys.modules if m.split('.')[0] in shells}\n"
        "    return found | {p for p in inner for m in sys.modules if m == p or m.startswith(p + '.')}\n"
        "came = {}\n"
        "for name in sys.argv[1:]:\n"
        "    before = loaded()\n"
        "    importlib.import_module(name)\n"
        "    new = sorted(loaded() - before)\n"
        "    if new:\n"
        "        came[name] = new\n"
        "print(json.dumps(came))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(
        [sys.executable, "-c", code, *core], capture_output=True, text=True, cwd=ROOT, env=env, timeout=240
    )
    assert done.returncode == 0, done.stderr
    came = json.loads(done.stdout.strip().splitlines()[-1])
    for name, shells_loaded in came.items():
        print(f"importing {name} loaded {', '.join(shells_loaded)}")
    assert came == {}


def test_no_import_cycle_between_modules() -> None:
    """Module-level imports between first-party modules form no cycle (lazy imports inside functions aside)."""
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        body = ast.parse(path.read_text(encoding="utf-8")).body
        statements = [node for node in body if isinstance(node, ast.Import | ast.ImportFrom)]
        graph[module] = set()
        for node in statements:
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
            graph[module] |= {n for n in names if n in MODULES and n != module}

    def cycle_from(start: str) -> list[str] | None:
        path: list[str] = []
        seen: set[str] = set()

        def visit(node: str) -> list[str] | None:
            if node in path:
                return [*path[path.index(node) :], node]
            if node in seen:
                return None
            seen.add(node)
            path.append(node)
            for nxt in sorted(graph[node]):
                if (found := visit(nxt)) is not None:
                    return found
            path.pop()
            return None

        return visit(start)

    cycles = [c for m in sorted(graph) if (c := cycle_from(m)) is not None]
    assert not cycles, "import cycle: " + " -> ".join(cycles[0])
