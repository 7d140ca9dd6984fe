"""System mail (password resets, invitations, notices to staff), sent over SMTP by the queue's workers.

`queue_mail` writes the message to the `mail_queue` table in the caller's transaction: a request never
waits for the mail server, and a mail server that is down loses nothing. The outbox workers
(`flask outbox work`, see `send_queued`) send it, retrying with growing delays, as they do for the
channels' messages. In development, with no MAIL_SERVER, messages are written at once to the
instance folder's `mail/` so a developer can read them; tests set MAIL_SUPPRESS_SEND and read
`sent_mail()`.
"""
from __future__ import annotations

import datetime as dt
import email
import logging
import smtplib
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from flask import current_app
from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.core import queue
from portal.core.db import TimestampMixin, db, utcnow

log = logging.getLogger(__name__)


class QueuedMail(queue.Queued, TimestampMixin, db.Model):
    """One system mail to send: its whole message as written, and where its sending stands."""

    __tablename__ = "mail_queue"
    __table_args__ = (Index("ix_mail_queue_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(320))
    # The message as written; emptied once it is sent, failed or expired (it may carry a live link).
    message: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[dt.datetime | None]  # not sent after this (a link in it no longer works)


def build_message(to: str, subject: str, text: str, html: str | None = None, sender: str | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender or current_app.config["MAIL_DEFAULT_SENDER"]
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="crvs-support")
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    return msg


def queue_mail(to: str, subject: str, text: str, html: str | None = None,
               expires_in: dt.timedelta | None = None) -> EmailMessage:
    """Queue one message in the caller's transaction (the caller commits it with its change).
    `expires_in`: give up sending after this long (a password link that will not work any more).

    Where there is no mail server to reach (development, tests), it is written or kept at once."""
    msg = build_message(to, subject, text, html)
    config = current_app.config
    if config.get("MAIL_SUPPRESS_SEND") or not config.get("MAIL_SERVER"):
        return send_prepared(msg)
    expires_at = utcnow() + expires_in if expires_in is not None else None
    db.session.add(QueuedMail(recipient=to, message=msg.as_string(policy=policy.SMTP), expires_at=expires_at))
    return msg


def send_queued(limit: int = 20, worker: str | None = None) -> dict[str, int]:
    """One pass of a worker over the mail queue: each due message is claimed (by no other worker),
    sent, and marked sent, or retried later, or failed after queue.MAX_ATTEMPTS. Counts by status."""
    counts: dict[str, int] = {}
    for mail_id in queue.claim_due(QueuedMail.__table__, limit, worker):
        row = db.session.get(QueuedMail, mail_id)
        if row.expires_at is not None and row.expires_at <= utcnow():
            row.status, row.last_error = "expired", row.last_error or "not sent in time"
        else:
            try:
                send_prepared(email.message_from_string(row.message, policy=policy.default))
            except smtplib.SMTPRecipientsRefused as exc:
                _failed(row, f"recipient refused: {exc.recipients}", permanent=True)
            except (smtplib.SMTPException, OSError) as exc:
                _failed(row, f"{type(exc).__name__}: {exc}", permanent=False)
            except Exception as exc:  # a bug or an unexpected library error: retry, and say what it was
                log.exception("sending system mail %s failed", mail_id)
                _failed(row, f"{type(exc).__name__}: {exc}", permanent=False)
            else:
                row.status, row.sent_at, row.last_error = "sent", utcnow(), ""
        if row.status != queue.PENDING:
            row.message = ""  # done with: a reset link must not stay readable in the database
        counts[row.status] = counts.get(row.status, 0) + 1
        db.session.commit()
    return counts


def _failed(row: QueuedMail, error: str, *, permanent: bool) -> None:
    log.warning("system mail %s to %s not sent (attempt %s): %s", row.id, row.recipient, row.attempts, error)
    if not queue.retry_later(row, error, permanent=permanent):
        row.status = "failed"


def send_prepared(msg: EmailMessage) -> EmailMessage:
    """Send a message built by the caller (the channels' replies) with the system mail settings."""
    config = current_app.config
    to = msg["To"]
    if config.get("MAIL_SUPPRESS_SEND"):
        current_app.extensions.setdefault("sent_mail", []).append(msg)
        return msg
    if not config.get("MAIL_SERVER"):
        folder = Path(current_app.instance_path) / "mail"
        folder.mkdir(parents=True, exist_ok=True)
        name = msg["Message-ID"].strip("<>").replace("@", "_")
        (folder / f"{name}.eml").write_bytes(bytes(msg))
        current_app.logger.info("mail to %s written to %s (no MAIL_SERVER set)", to, folder)
        return msg
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=10) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        smtp.send_message(msg)
    return msg


def sent_mail() -> list[EmailMessage]:
    return current_app.extensions.setdefault("sent_mail", [])
