"""Sending system mail (password resets, invitations) over SMTP.

In development, with no MAIL_SERVER, messages are written to the instance folder's `mail/` so a
developer can read them; tests set MAIL_SUPPRESS_SEND and read `sent_mail()`.
"""
from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from flask import current_app


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


def send_mail(to: str, subject: str, text: str, html: str | None = None) -> EmailMessage:
    """Send one message now; raise on an SMTP failure so the caller can tell the user."""
    return send_prepared(build_message(to, subject, text, html))


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
