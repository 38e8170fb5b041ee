#!/usr/bin/env bash
# The project's two commands (and their parts). On a fresh Debian 12 machine each sets up what is missing first.
#
#   ./run.sh demo     set up, start the local PostGIS, migrate, serve on http://127.0.0.1:8000/
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
    # the sample plans (a re-run finds the same files already imported and changes nothing), then published
    # with a sample decision so that citizens see them: only approved plans are public. The zoning plan's
    # superseded 2019 version goes first, once (any version of that code already there means it was done; the
    # list prints nothing on stdout when there is none): the current dossier is then imported as its next
    # version, and publishing it supersedes the 2019 one.
    if [ -z "$("$VENV/planning" plans list --code 46QPK0000001)" ]; then
        "$VENV/planning" import sample_data/46QPK0000001_2019 --plan 46QPK0000001 \
            --name "Quy hoạch phân khu Kinh thành Huế" \
            --decision-no "DEMO-00/QĐ-UBND" --decision-date 2019-12-20 --reason "demo data (2019 version)"
        "$VENV/planning" plans publish 46QPK0000001 --user demo --reason "demo data (2019 version)"
    fi
    "$VENV/planning" import sample_data/46QPK0000001 --plan 46QPK0000001 --name "Quy hoạch phân khu Kinh thành Huế" \
        --decision-no "DEMO-01/QĐ-UBND" --decision-date 2024-06-15 --reason "demo data"
    "$VENV/planning" import sample_data/46QCT0000001/HoSoBASIC/KimLong_QHCT_1-500.dxf --plan 46QCT0000001 \
        --src-crs EPSG:9214 --name "Quy hoạch chi tiết 1/500 khu dân cư Kim Long" \
        --decision-no "DEMO-02/QĐ-UBND" --decision-date 2024-09-20 --reason "demo data"
    for code in 46QPK0000001 46QCT0000001; do
        if "$VENV/planning" plans list --code "$code" | grep -q " draft "; then
            "$VENV/planning" plans publish "$code" --user demo --reason "demo data"
        fi
    done
    # the 3D tiles of what is in the database (only what changed is rebuilt)
    "$VENV/planning" tiles build
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
