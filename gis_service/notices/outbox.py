"""The outbox of mails (``planning.outbox``): written in the transaction of what caused them, sent after it commits.

Writing a mail and queueing a ``mail.send`` job (:data:`~gis_service.jobs.MAIL_SEND`) in the same transaction means a
mail exists exactly when its cause does (a rolled-back publication mails no one), and the slow SMTP conversation
happens outside the planner's request. The job's handler (:func:`send_pending`) takes each unsent mail with ``FOR
UPDATE SKIP LOCKED``, so two runners never send one twice; a failure is counted and its last error kept, and the mail
is tried again (a few times in the same job, then by the next job) until ``max_attempts``.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import time
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from gis_service.jobs import MAIL_SEND, Handler, enqueue
from gis_service.notices.compose import PUBLIC_URL, Mail, unsubscribe_link
from gis_service.settings import Settings, SmtpSettings

__all__ = ["HANDLERS", "SendResult", "build_message", "queue_mail", "queue_sending", "send_pending"]

log = logging.getLogger(__name__)

#: SMTP's line ends; a header too long for 78 characters is folded, never turned into encoded words: a mail program
#: reads ``List-Unsubscribe`` only as a plain ``<URL>``, and the unsubscribe URL alone passes 78.
_POLICY = policy.SMTP.clone(max_line_length=998)
#: Pauses, seconds, before the second and later passes over mails that failed (within one job).
RETRY_PAUSES_S = (1.0, 4.0)


def queue_mail(conn: Connection, *, to_addr: str, mail: Mail, event: str, subscription_id: int | None) -> None:
    """Write a confirmation mail into the outbox (notices are written by :mod:`gis_service.notices.events`)."""
    conn.execute(
        sa.text(
            "INSERT INTO planning.outbox (to_addr, subject, body_text, body_html, subscription_id, event) "
            "VALUES (:to, :s, :t, :h, :sub, :e)"
        ),
        {"to": to_addr, "s": mail.subject, "t": mail.text, "h": mail.html, "sub": subscription_id, "e": event},
    )


def queue_sending(conn: Connection, *, reason: str, created_by: str | None = None) -> None:
    """Queue a ``mail.send`` job in the caller's transaction (``reason``: what wrote the mails, for the job list)."""
    enqueue(conn, MAIL_SEND, {"reason": reason}, created_by=created_by)


SendResult = dict[str, int]


def build_message(
    *, from_addr: str, to_addr: str, subject: str, text: str, html: str | None, token: str | None, base_url: str
) -> EmailMessage:
    """The mail as sent: the service's address put into its links, and for a subscription's mail the one-click
    unsubscribe headers (RFC 2369 ``List-Unsubscribe``, RFC 8058 ``List-Unsubscribe-Post``)."""
    msg = EmailMessage(policy=_POLICY)
    msg["From"] = from_addr
    msg["To"] = to_addr
    msg["Subject"] = " ".join(subject.split())  # a line break in a plan's name must not end the header
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=from_addr.rpartition("@")[2].strip("> ") or None)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a notice
    if token is not None:
        msg["List-Unsubscribe"] = f"<{unsubscribe_link(token).replace(PUBLIC_URL, base_url)}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(text.replace(PUBLIC_URL, base_url))
    if html is not None:
        msg.add_alternative(html.replace(PUBLIC_URL, base_url), subtype="html")
    return msg


def _connect(smtp: SmtpSettings) -> smtplib.SMTP:
    assert smtp.host is not None
    client: smtplib.SMTP
    if smtp.security == "ssl":
        client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout_s, context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_s)
        if smtp.security == "starttls":
            client.starttls(context=ssl.create_default_context())
    if smtp.username:
        client.login(smtp.username, smtp.password.get_secret_value() if smtp.password else "")
    return client


def _one_pass(engine: Engine, smtp: SmtpSettings, base_url: str) -> tuple[int, int]:
    """Send each unsent mail once; returns (sent, failed)."""
    sent = failed = 0
    client: smtplib.SMTP | None = None
    seen: set[int] = set()
    try:
        while True:
            with engine.begin() as conn:
                row = conn.execute(
                    sa.text(
                        "SELECT o.id, o.to_addr, o.subject, o.body_text, o.body_html, s.token "
                        "FROM planning.outbox o LEFT JOIN planning.subscriptions s ON s.id = o.subscription_id "
                        "WHERE o.sent_at IS NULL AND o.attempts < :max AND NOT (o.id = ANY(:seen)) "
                        "AND (o.event = 'confirm' OR s.unsubscribed_at IS NULL) "
                        "ORDER BY o.id FOR UPDATE OF o SKIP LOCKED LIMIT 1"
                    ),
                    {"max": smtp.max_attempts, "seen": list(seen)},
                ).one_or_none()
                if row is None:
                    return sent, failed
                seen.add(row.id)
                try:
                    msg = build_message(
                        from_addr=smtp.from_addr,
                        to_addr=row.to_addr,
                        subject=row.subject,
                        text=row.body_text,
                        html=row.body_html,
                        token=row.token,
                        base_url=base_url,
                    )
                    if client is None:
                        client = _connect(smtp)
                    client.send_message(msg, from_addr=_bare(smtp.from_addr), to_addrs=[row.to_addr])
                except (OSError, smtplib.SMTPException, ValueError) as exc:  # ValueError: a header the mail refuses
                    failed += 1
                    error = f"{type(exc).__name__}: {exc}"[:500]
                    log.warning("mail %s not sent: %s", row.id, error)
                    conn.execute(
                        sa.text("UPDATE planning.outbox SET attempts = attempts + 1, last_error = :e WHERE id = :id"),
                        {"e": error, "id": row.id},
                    )
                    if client is not None:
                        _close(client)
                        client = None  # a broken conversation: the next mail opens a new one
                else:
                    sent += 1
                    conn.execute(
                        sa.text(
                            "UPDATE planning.outbox SET attempts = attempts + 1, sent_at = now(), last_error = NULL "
                            "WHERE id = :id"
                        ),
                        {"id": row.id},
                    )
    finally:
        if client is not None:
            _close(client)


def _bare(addr: str) -> str:
    """The address of a ``Name <addr>`` sender, for the SMTP envelope."""
    return addr.rpartition("<")[2].rstrip(">").strip() if "<" in addr else addr.strip()


def _close(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except (OSError, smtplib.SMTPException):
        client.close()


def send_pending(
    engine: Engine,
    smtp: SmtpSettings,
    base_url: str,
    *,
    pauses_s: tuple[float, ...] = RETRY_PAUSES_S,
    progress: Callable[[str], None] | None = None,
) -> SendResult:
    """Send the unsent mails of the outbox through ``smtp``; those that fail are tried again after each pause.

    Returns
    -------
    dict
        ``sent`` and ``failed`` (still unsent after the last pass; their ``last_error`` says why).
    """
    if smtp.host is None:
        return {"sent": 0, "failed": 0, "not_configured": 1}
    total = 0
    sent, failed = _one_pass(engine, smtp, base_url)
    total += sent
    for pause in pauses_s:
        if not failed:
            break
        if progress:
            progress(f"{failed} mail(s) failed; trying again in {pause:g} s")
        time.sleep(pause)
        sent, failed = _one_pass(engine, smtp, base_url)
        total += sent
    return {"sent": total, "failed": failed}


def _handler(settings: Settings, engine: Engine, _params: dict[str, Any], progress: Callable[[str], None]) -> Any:
    return send_pending(engine, settings.smtp, settings.base_url(), progress=progress)


#: The code of the ``mail.send`` jobs, given to the job runner by the web app.
HANDLERS: dict[str, Handler] = {MAIL_SEND: _handler}
