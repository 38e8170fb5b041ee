"""Run a generator one or two items ahead in a thread, so reading a file overlaps with writing to the database."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator

__all__ = ["prefetch"]

_DONE = object()


class _Failed:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class _Producer[T]:
    """The background side of :func:`prefetch`: puts the items in the queue until told to stop."""

    def __init__(self, items: Iterable[T], q: queue.Queue[object], stop: threading.Event) -> None:
        self.items, self.q, self.stop = items, q, stop

    def put(self, item: object) -> bool:
        """Queue ``item`` once there is room; ``False`` if the consumer stopped first."""
        while not self.stop.is_set():
            try:
                self.q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run(self) -> None:
        """Queue every item, then the end marker; an exception is queued for the consumer to raise."""
        try:
            for item in self.items:
                if not self.put(item):
                    return
        except BaseException as exc:  # handed to the consumer, which raises it
            self.put(_Failed(exc))
            return
        self.put(_DONE)


def prefetch[T](items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Yield ``items`` as a background thread produces them (at most ``depth`` waiting).

    An exception in the producer is raised here, in the consumer; if the consumer stops early, the producer stops
    at its next item. GDAL, GEOS and the socket release the GIL, so the two threads really run side by side.
    """
    q: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    worker = threading.Thread(target=_Producer(items, q, stop).run, name="import-reader", daemon=True)
    worker.start()
    try:
        while True:
            item = q.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.exc
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join(timeout=30)
