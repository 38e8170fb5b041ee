"""Benchmarks of this checkout side by side with an older revision, in one run: ``python -m bench.against REV NAME``.

A change that should not change speed (a redesign) is shown to keep it by running the same benchmarks on both: the
older revision is checked out into a temporary git worktree, and the two sides take turns (``--rounds``), each in a
process of its own with its own code first on the path, against the same database server. Each benchmark already
prints its own baseline from the same process; this prints both sides' lines, figure by figure.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def _server_url() -> str:
    """One database server for both sides: GIS_BENCH_DATABASE_URL, else this checkout's local cluster (started)."""
    if url := os.environ.get("GIS_BENCH_DATABASE_URL"):
        return url
    from gis_service.db import local_cluster
    from gis_service.settings import Settings

    cluster = local_cluster(Settings(database_url=None))
    cluster.up()
    return cluster.url("postgres")


def _run(root: Path, names: list[str], extra: list[str]) -> str:
    # The same server for both sides: a checkout's own local cluster would differ in its caches and its age.
    env = {**os.environ, "PYTHONPATH": str(root), "GIS_BENCH_DATABASE_URL": _server_url()}
    cmd = [sys.executable, "-m", "bench", *names, *extra]
    done = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed in {root}:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return done.stdout


def _label(line: str) -> str:
    # a figure line's words: the endpoint's name, before its first figure
    return _NUMBER.split(line, maxsplit=1)[0].strip()


def side_by_side(before: str, now: str) -> list[str]:
    """Lines that hold figures, paired by their label (the words before the first figure), ``before`` then
    ``now``; a line only one side prints (a newer benchmark's extra rows) is shown alone and marked.

    >>> side_by_side("x 1.0 ms\\n", "x 1.2 ms\\ny 3 ms\\n")
    ['  before  x 1.0 ms', '  now     x 1.2 ms', '  now     y 3 ms   (now only)']
    """
    out: list[str] = []
    b_lines = [ln for ln in before.splitlines() if _NUMBER.search(ln)]
    n_lines = [ln for ln in now.splitlines() if _NUMBER.search(ln)]
    waiting = list(n_lines)
    for b in b_lines:
        match = next((n for n in waiting if _label(n) == _label(b)), None)
        if match is None:
            out.append(f"  before  {b}   (before only)")
            continue
        waiting.remove(match)
        differ = "" if _NUMBER.sub("#", b) == _NUMBER.sub("#", match) else "   (lines differ)"
        out += [f"  before  {b}", f"  now     {match}{differ}"]
    out += [f"  now     {n}   (now only)" for n in waiting]
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the named benchmarks on REV and on this checkout, in turns, and print their figures side by side."""
    parser = argparse.ArgumentParser(prog="python -m bench.against", description=__doc__)
    parser.add_argument("rev", help="the older revision, e.g. a commit before the change")
    parser.add_argument("names", nargs="+", help="benchmarks, as for python -m bench")
    parser.add_argument("--rounds", type=int, default=1, help="turns of each side (default 1)")
    parser.add_argument("--scale", type=float, default=None, help="passed on to each benchmark")
    args = parser.parse_args(argv)
    here = Path(__file__).resolve().parent.parent
    extra = ["--scale", str(args.scale)] if args.scale is not None else []
    with tempfile.TemporaryDirectory(prefix="bench-against-") as tmp:
        old = Path(tmp) / "before"
        subprocess.run(["git", "-C", str(here), "worktree", "add", "--detach", str(old), args.rev], check=True)
        try:
            for node_modules in (here / "node_modules",):
                if node_modules.exists():
                    (old / "node_modules").symlink_to(node_modules)
            for round_no in range(1, args.rounds + 1):
                for name in args.names:
                    if round_no % 2:  # the order alternates, so that a drift of the machine favours neither side
                        before, now = _run(old, [name], extra), _run(here, [name], extra)
                    else:
                        now, before = _run(here, [name], extra), _run(old, [name], extra)
                    first = "before" if round_no % 2 else "now"
                    title = f"{name}, round {round_no}: {args.rev} (before), this checkout (now); {first} ran first"
                    print(f"\n=== {title} ===")
                    print("\n".join(side_by_side(before, now)), flush=True)
        finally:
            subprocess.run(["git", "-C", str(here), "worktree", "remove", "--force", str(old)], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
