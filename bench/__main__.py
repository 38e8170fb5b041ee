"""Run the benchmarks: ``python -m bench [NAME ...]``; ``--list`` names them."""

from __future__ import annotations

import argparse
import importlib
import sys

BENCHMARKS = {
    "storage": "bench.storage",
    "import": "bench.import_zones",
    "tiles": "bench.tiles",
    "serve": "bench.serve",
    "edits": "bench.edits",
    "permits": "bench.permits",
    "envelope": "bench.envelope",
    "certificates": "bench.certificates",
    "viewer": "bench.viewer",
    "lookup": "bench.lookup",
    "prepare": "bench.prepare",
    "diff": "bench.diff",
    "drills": "bench.drills",
    "validate": "bench.validate",
    "province": "bench.province",
}
#: Run only when named: the province at scale 1 loads a million parcels and takes hours (docs/benchmarks.md).
ON_REQUEST = frozenset({"province"})


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks named in ``argv`` (all by default) and print their reports; 0 on success."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    default = [name for name in BENCHMARKS if name not in ON_REQUEST]
    parser.add_argument(
        "names", nargs="*", help=f"benchmarks to run (default all but {', '.join(ON_REQUEST)}: {', '.join(default)})"
    )
    parser.add_argument("--list", action="store_true", help="list the benchmarks")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the data sizes")
    parser.add_argument("--pairs", type=int, default=None, help="import, validate: runs of each side in turn")
    parser.add_argument(
        "--processes",
        type=int,
        default=None,
        help="serve: instead of the peers, one process beside 1 and N processes behind HAProxy and PgBouncer",
    )
    parser.add_argument("--replica", action="store_true", help="serve --processes: reads on a streaming replica")
    args = parser.parse_args(argv)
    if args.list:
        for name, module in BENCHMARKS.items():
            print(f"{name}: {(importlib.import_module(module).__doc__ or '').strip().splitlines()[0]}")
        return 0
    unknown = set(args.names) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    for name in args.names or default:
        run = importlib.import_module(BENCHMARKS[name]).run
        if name == "serve" and args.processes is not None:
            from bench.balanced import run as run_balanced

            run_balanced(scale=args.scale, processes=args.processes, replica=args.replica)
        elif name in ("import", "validate") and args.pairs is not None:
            run(scale=args.scale, pairs=args.pairs)
        else:
            run(scale=args.scale)
    return 0


if __name__ == "__main__":
    sys.exit(main())
