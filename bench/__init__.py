"""Benchmarks: ``./run.sh bench`` (or ``python -m bench [NAME ...]``). Each prints ratios against a baseline run
in the same process, on a throwaway database; they are never timing assertions in the test suite."""
