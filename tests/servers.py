"""``planning serve`` in a subprocess on a free loopback port: the service as an operator starts it, over real HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


class Server:
    """``planning serve`` on a free loopback port against ``database_url``, with extra ``GIS_*`` settings.

    The environment's own ``GIS_*`` settings are dropped so that the test decides; the server's log goes to a file
    in ``tmp`` (an unread pipe would fill up and block it) and is shown when it fails to start.
    """

    def __init__(self, database_url: str, tmp: Path, extra_env: dict[str, str] | None = None) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIS_")}
        env |= {"GIS_DATABASE_URL": database_url, "GIS_TILES__OUT_DIR": str(tmp / "tiles"), "GIS_OGC_DIR": str(tmp)}
        env |= extra_env or {}
        self.log = (tmp / f"server-{self.port}.log").open("w+")
        planning = str(Path(sys.executable).with_name("planning"))
        self.process = subprocess.Popen(
            [planning, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert self.process.poll() is None, self.output()
            assert time.monotonic() < deadline, "server did not start in 60 s"
            time.sleep(0.2)

    def output(self) -> str:
        """What the server has logged so far."""
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> None:
        """Terminate the server (SIGTERM: a clean shutdown) and close its log."""
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.log.close()
