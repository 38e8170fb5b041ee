"""``planning mail``: a local SMTP server for the demo and tests, and sending the outbox now.

``planning mail serve`` keeps every message it receives as an ``.eml`` file in a folder, so the confirmations and
notices of the demo can be read (any mail program opens them); it relays nothing. Point the service at it with
``GIS_SMTP__HOST=127.0.0.1 GIS_SMTP__PORT=8025``.
"""

from __future__ import annotations

import itertools
import logging
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import click

from gis_service.cli import get_settings, say
from gis_service.settings import project_root

__all__ = ["MailFolder", "mail"]


class MailFolder:
    """An aiosmtpd handler that writes each message received into ``folder`` as ``<time>-<n>.eml``.

    The file appears whole (written under another name, then renamed), so a reader never sees half a message.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._count = itertools.count(1)
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        """Keep the message; answer 250."""
        content = envelope.original_content or envelope.content
        data = content if isinstance(content, bytes) else str(content).encode()
        with self._lock:
            name = f"{time.strftime('%Y%m%dT%H%M%S')}-{next(self._count):05d}.eml"
        part = self.folder / f".{name}.part"
        part.write_bytes(data)
        os.replace(part, self.folder / name)
        return "250 Message accepted"

    def messages(self) -> list[Path]:
        """The files received so far, oldest first."""
        return sorted(self.folder.glob("*.eml"))


@click.group()
def mail() -> None:
    """Mail of the notices: a local SMTP server, sending what is waiting."""


@mail.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=8025, show_default=True, help="SMTP port.")
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder of the messages received [default: .data/mail].",
)
def serve(host: str, port: int, folder: Path | None) -> None:
    """A local SMTP server that keeps every message as an .eml file (for the demo; it relays nothing)."""
    from aiosmtpd.controller import Controller

    folder = folder or project_root() / ".data" / "mail"
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command at INFO
    # started in the background by ./run.sh demo, the shell gave it SIGINT ignored: Ctrl+C there must stop it too
    signal.signal(signal.SIGINT, signal.default_int_handler)
    controller = Controller(MailFolder(folder), hostname=host, port=port)
    controller.start()
    say(f"SMTP on {host}:{port}, messages kept in {folder} (Ctrl+C to stop)")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


@mail.command("send")
@click.pass_context
def send(ctx: click.Context) -> None:
    """Send the mails waiting in the outbox now (those the web service could not send), through GIS_SMTP__*."""
    from gis_service.db import create_db_engine, resolve_database_url
    from gis_service.errors import ConfigError
    from gis_service.notices import send_pending

    settings = get_settings(ctx)
    if settings.smtp.host is None:
        raise ConfigError("mail is not configured: set GIS_SMTP__HOST (and GIS_SMTP__PORT)")
    engine = create_db_engine(resolve_database_url(settings), pool_size=1)
    try:
        result = send_pending(engine, settings.smtp, settings.base_url(), progress=say)
    finally:
        engine.dispose()
    say(f"{result['sent']} mail(s) sent, {result['failed']} failed (their last error is kept in the outbox)")
