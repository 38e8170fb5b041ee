"""The SHA-256 of a set of source files, by which an import knows it has seen the very same files before.

Kept apart from :mod:`converters` (whose imports take half a second) so that ``planning import`` can start hashing
the file it is given while Python loads the rest: :func:`start` runs in a thread (hashlib lets go of Python's lock
on large reads), and the import takes the result when it needs it.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

__all__ = ["Digest", "sha256", "start"]


def sha256(paths: list[Path] | tuple[Path, ...]) -> str:
    """One digest of the files: each file's name, then its bytes, in the order of their paths."""
    h = hashlib.sha256()
    for p in sorted(set(paths)):
        h.update(p.name.encode())
        with p.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


class Digest:
    """:func:`sha256` of ``paths``, computed in a thread of its own from the moment it is made."""

    def __init__(self, paths: list[Path] | tuple[Path, ...]) -> None:
        self.paths = tuple(sorted(set(Path(p).resolve() for p in paths)))
        pool = ThreadPoolExecutor(1, thread_name_prefix="file-digest")
        self._future: Future[str] = pool.submit(sha256, list(self.paths))
        pool.shutdown(wait=False)

    def of(self, paths: list[Path] | tuple[Path, ...]) -> str | None:
        """The digest if it is of these very files, else None."""
        if tuple(sorted(set(Path(p).resolve() for p in paths))) != self.paths:
            return None
        return self._future.result()


def start(path: Path) -> Digest | None:
    """A :class:`Digest` of a single file, started now; None for a folder (a dossier: its files are found later)."""
    return Digest([path]) if path.is_file() else None
