"""``planning serve`` in a subprocess on a free loopback port, as users run it, for the tests over real HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

__all__ = ["PlanningServer"]


class PlanningServer:
    """The service on ``database_url``, answering at :attr:`url` once ``/healthz`` says so.

    Its log goes to a file in ``tmp`` (an unread pipe fills up and blocks the server); :meth:`output` reads it.
    ``extra_env`` adds ``GIS_*`` settings; those of the test's own environment are not passed on.
    """

    def __init__(self, database_url: str, tmp: Path, extra_env: dict[str, str] | None = None) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIS_")}
        env |= {"GIS_DATABASE_URL": database_url, "GIS_TILES__OUT_DIR": str(tmp / "tiles"), "GIS_OGC_DIR": str(tmp)}
        env |= extra_env or {}
        self.log_path = tmp / f"serve-{self.port}.log"
        self.log = self.log_path.open("w")
        planning = str(Path(sys.executable).with_name("planning"))
        self.process = subprocess.Popen(
            [planning, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        try:
            self._wait_until_healthy(60)
        except BaseException:
            self.stop()
            raise

    def _wait_until_healthy(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert self.process.poll() is None, self.output()
            assert time.monotonic() < deadline, f"server did not start in {seconds:g} s"
            time.sleep(0.2)

    def output(self) -> str:
        """What the server logged so far."""
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """Stop the server (SIGTERM, as a service manager would) and close its log."""
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.log.close()

    def __enter__(self) -> PlanningServer:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
