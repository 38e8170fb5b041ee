#!/usr/bin/env bash
# The project's two commands (and their parts). On a fresh Debian 12 machine each sets up what is missing first.
#
#   ./run.sh demo     set up, start the local PostGIS, migrate, serve on http://127.0.0.1:8000/ (mail: .data/mail)
#   ./run.sh test     set up, then lint (ruff), type-check (mypy) and run the test suite (pytest)
#   ./run.sh setup    only the set-up (Debian packages, .venv, the project)
#   ./run.sh bench    set up, then run the benchmarks in bench/
#
# Extra arguments of 'test' go to pytest (./run.sh test -k history). GIS_DATABASE_URL selects another PostGIS
# for the demo; GIS_TEST_DATABASE_URL one for the tests.
set -euo pipefail
cd "$(dirname "$0")"
VENV=.venv/bin

cmd=${1:-help}
[ $# -gt 0 ] && shift

case "$cmd" in
setup)
    bash scripts/setup.sh
    ;;
demo)
    bash scripts/setup.sh
    "$VENV/planning" db up
    # the sample plans, each published with a sample decision so that citizens see them (only approved plans are
    # public): the zoning plan's superseded 2019 version first, once, then the current dossier as its next version,
    # then the Kim Long detailed plan. A re-run finds the same files already imported and changes nothing; only a
    # version this command imported is published, and a draft someone started is left as it is, with nothing
    # imported beside it, while the approved version goes on being served (gis_service/cli/sample_plans.py).
    "$VENV/planning" demo load
    # the 3D tiles of what is in the database (only what changed is rebuilt)
    "$VENV/planning" tiles build
    # a local SMTP server keeping the demo's mails (subscriptions, notices) as files in .data/mail, unless one is set
    if [ -z "${GIS_SMTP__HOST:-}" ]; then
        "$VENV/planning" mail serve --port "${MAIL_PORT:-8025}" &
        export GIS_SMTP__HOST=127.0.0.1 GIS_SMTP__PORT="${MAIL_PORT:-8025}"
    fi
    exec "$VENV/planning" serve --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}"
    ;;
test)
    bash scripts/setup.sh
    echo "[test] ruff check" >&2
    "$VENV/ruff" check .
    echo "[test] ruff format --check" >&2
    "$VENV/ruff" format --check .
    echo "[test] mypy" >&2
    "$VENV/mypy"
    echo "[test] pytest" >&2
    "$VENV/pytest" "$@"
    ;;
bench)
    bash scripts/setup.sh
    "$VENV/planning" db up
    exec "$VENV/python" -m bench "$@"
    ;;
*)
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
    [ "$cmd" = help ] || exit 2
    ;;
esac
