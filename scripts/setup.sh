#!/usr/bin/env bash
# Set up everything the project needs on a Debian 12 machine, idempotently:
#   1. Debian packages (PostgreSQL 15 with PostGIS 3), installed only when missing;
#   2. a Python >= 3.12 virtual environment in .venv;
#   3. the project with its dev extras, reinstalled only when pyproject.toml or constraints.txt changed.
# A second run does nothing but check. Run as root, or as a user with sudo for step 1.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV="$ROOT/.venv"
say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[setup] error:\033[0m %s\n' "$*" >&2; exit 1; }

# --- 1. Debian packages -------------------------------------------------------------------------
APT_PACKAGES=(postgresql-15 postgresql-15-postgis-3 postgresql-15-postgis-3-scripts gdal-bin python3-qgis qgis-server wrk)
APT_PACKAGES+=(chromium)  # headless browser tests: the 3D tiles in CesiumJS
APT_PACKAGES+=(fonts-dejavu-core)  # the PDF permit report's font (Vietnamese letters)
APT_PACKAGES+=(poppler-utils)  # pdfsig, pdftoppm: an independent check of the certificates' signatures in the tests
APT_PACKAGES+=(g++)  # pip builds meshoptimizer (the 3D tiles' compression) from its sdist
APT_PACKAGES+=(haproxy pgbouncer)  # planning serve --processes N: the balancer and the connection pooler
APT_PACKAGES+=(docker-compose)  # the tests check docker-compose.yml with "docker-compose config" (no daemon needed)
APT_PACKAGES+=(pgbackrest)  # 'planning db backup|restore': WAL archiving and point-in-time recovery
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    if [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" != "install ok installed" ]; then
        missing+=("$pkg")
    fi
done
if [ ${#missing[@]} -gt 0 ]; then
    command -v apt-get >/dev/null || die "missing packages ${missing[*]} and no apt-get: install them with your system's package manager"
    SUDO=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || die "missing Debian packages: ${missing[*]}; run as root: apt-get install ${missing[*]}"
        SUDO=(sudo)
    fi
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    "${SUDO[@]}" apt-get update -qq
    "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    say "Debian packages present: ${APT_PACKAGES[*]}"
fi

# --- 2. Python >= 3.12 ----------------------------------------------------------------------------
works() { "$1" -c 'import sys, venv, ensurepip; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }
find_python() {
    local c
    if [ -n "${PLANNING_PYTHON:-}" ]; then
        works "$PLANNING_PYTHON" && { echo "$PLANNING_PYTHON"; return 0; }
        die "PLANNING_PYTHON=$PLANNING_PYTHON is not a working Python >= 3.12"
    fi
    # 3.12 first: it is the version the project is tested on.
    for c in python3.12 python3 python3.13 python3.14; do
        if command -v "$c" >/dev/null 2>&1 && works "$c"; then command -v "$c"; return 0; fi
    done
    # pyenv keeps interpreters that its shims only expose when selected: look at them directly.
    local roots=()
    command -v pyenv >/dev/null 2>&1 && roots+=("$(pyenv root)")
    roots+=("${PYENV_ROOT:-}" "$HOME/.pyenv" /root/.pyenv /opt/pyenv)
    for r in "${roots[@]}"; do
        [ -n "$r" ] && [ -d "$r/versions" ] || continue
        for c in $(ls -d "$r"/versions/3.12* 2>/dev/null | sort -V -r) $(ls -d "$r"/versions/3.1[3-9]* 2>/dev/null | sort -V); do
            [ -x "$c/bin/python3" ] && works "$c/bin/python3" && { echo "$c/bin/python3"; return 0; }
        done
    done
    for c in /usr/local/bin/python3.1[2-9] /opt/python*/bin/python3; do
        [ -x "$c" ] && works "$c" && { echo "$c"; return 0; }
    done
    return 1
}

if [ -x "$VENV/bin/python" ] && works "$VENV/bin/python"; then
    say "virtual environment ready: .venv ($("$VENV/bin/python" -V))"
else
    PY=$(find_python) || die "no Python >= 3.12 found (this project needs it: pygeoapi >= 0.22 requires 3.12). Install one (Debian 12 ships 3.11: use pyenv, e.g. 'pyenv install 3.12') or point PLANNING_PYTHON at it."
    say "creating .venv with $PY ($("$PY" -V))"
    rm -rf "$VENV"
    "$PY" -m venv "$VENV"
fi

# --- 3. the project ---------------------------------------------------------------------------------
stamp="$VENV/.planning-installed"
want=$(cat pyproject.toml $(ls constraints.txt 2>/dev/null) | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && "$VENV/bin/python" -c 'import gis_service' 2>/dev/null; then
    say "Python packages up to date"
else
    log="$VENV/install.log"
    say "installing the project and its dependencies into .venv (a few minutes the first time; log: .venv/install.log)"
    cons=()
    [ -f constraints.txt ] && cons=(-c constraints.txt)
    if ! { "$VENV/bin/python" -m pip install --upgrade pip && "$VENV/bin/python" -m pip install "${cons[@]}" -e '.[dev]'; } >"$log" 2>&1; then
        grep -E "^(ERROR|error)" "$log" | tail -n 15 >&2 || tail -n 15 "$log" >&2
        die "installing the Python packages failed (whole log: .venv/install.log)"
    fi
    echo "$want" >"$stamp"
fi
# --- 4. npm packages (CesiumJS, the glTF validator), from package-lock.json --------------------------------
if [ -f package-lock.json ]; then
    command -v npm >/dev/null 2>&1 || die "npm is missing: install Node.js 20+ with npm (e.g. 'apt-get install nodejs npm'), then run this again; the web viewer and the tile tests need the packages of package.json"
    npm_stamp=node_modules/.planning-installed
    npm_want=$(sha256sum package-lock.json | cut -d' ' -f1)
    if [ -d node_modules ] && [ -f "$npm_stamp" ] && [ "$(cat "$npm_stamp")" = "$npm_want" ]; then
        say "npm packages up to date"
    else
        say "installing npm packages (npm ci; log: .venv/npm.log)"
        if ! npm ci --no-audit --no-fund >"$VENV/npm.log" 2>&1; then
            tail -n 15 "$VENV/npm.log" >&2
            die "installing the npm packages failed (whole log: .venv/npm.log)"
        fi
        echo "$npm_want" >"$npm_stamp"
    fi
fi
say "done"
