"""The SHA-256 of a set of source files, by which an import knows it has seen the very same files before.

Kept apart from :mod:`converters` (whose imports take half a second) so that ``planning import`` can start hashing
the file it is given while Python loads the rest: :func:`start` runs in a thread (hashlib lets go of Python's lock
on large reads), and the import takes the result when it needs it.
"""

from __future__ import annotations

import hashlib
import threading
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
    """:func:`sha256` of ``paths`` (their names as given), computed in a thread of its own from the moment it is
    made. The thread is a daemon: a command that fails meanwhile does not wait for a large file to be read."""

    def __init__(self, paths: list[Path] | tuple[Path, ...]) -> None:
        self.given = [Path(p) for p in paths]
        self.paths = _same_files(self.given)
        self._done = threading.Event()
        self._result: str | None = None
        self._error: BaseException | None = None
        threading.Thread(target=self._run, name="file-digest", daemon=True).start()

    def _run(self) -> None:
        try:
            self._result = sha256(self.given)
        except BaseException as exc:  # handed to the caller of of()
            self._error = exc
        finally:
            self._done.set()

    def of(self, paths: list[Path] | tuple[Path, ...]) -> str | None:
        """The digest if it is of these very files (compared once resolved), else None."""
        if _same_files([Path(p) for p in paths]) != self.paths:
            return None
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._result


def _same_files(paths: list[Path]) -> tuple[Path, ...]:
    return tuple(sorted({p.resolve() for p in paths}))


def start(path: Path) -> Digest | None:
    """A :class:`Digest` of a single file, started now; None for a folder (a dossier: its files are found later)."""
    return Digest([path]) if path.is_file() else None
