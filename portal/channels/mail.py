"""The email channel: one ingest function (behind the pipe, SMTP and IMAP entry points) and SMTP sending."""
from __future__ import annotations

import imaplib
import smtplib
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from typing import Any

from flask import render_template
from flask_babel import force_locale
from sqlalchemy.exc import SQLAlchemyError

from portal.channels.base import Channel, MalformedInbound, SendError, register, secret
from portal.channels.emailparse import MalformedEmail, message_id_of, parse_email
from portal.channels.models import InboundMessage, InboundStatus, OutboundStatus
from portal.channels.services import IngestResult, ingest, record_status
from portal.core.db import db
from portal.core.mail import send_prepared
from portal.tenancy.models import Tenant
from portal.tenancy.services import list_tenants

MAX_EMAIL_BYTES = 25 * 1024 * 1024


def ingest_email(tenant: Tenant, raw: bytes, *, process: bool = True) -> IngestResult:
    """The one way an email enters the portal: stored raw (idempotent by Message-ID), then processed.

    The message is parsed once, before it is stored, so that its row is written with its sender and
    subject at once; a message that cannot be parsed is stored all the same (processing then
    quarantines it with the reason)."""
    if len(raw) > MAX_EMAIL_BYTES:
        raise ValueError("message larger than 25 MB")
    try:
        parsed = parse_email(raw)
    except Exception:  # malformed, or a fault of the parser: never a reason not to store it
        parsed, fields = None, {}
    else:
        fields = {"sender": parsed.sender, "summary": _summary(parsed)}
    message_id = parsed.message_id if parsed is not None else message_id_of(raw)  # the same value
    return ingest(tenant, "email", message_id, raw, process=process, prepared=parsed, **fields)


def _summary(parsed) -> str:
    return (parsed.subject or parsed.text[:120])[:300]


def tenant_for_address(address: str) -> Tenant | None:
    """The tenant whose support address is `address` (the receiving address of an email)."""
    address = address.strip().lower()
    for tenant in list_tenants():
        cfg = tenant.settings.channels.email
        if cfg is not None and cfg.enabled and cfg.address.lower() == address:
            return tenant
    return None


@register
class EmailChannel(Channel):
    name = "email"

    def process(self, tenant: Tenant, inbound: InboundMessage, prepared=None) -> None:
        from portal.channels import routing

        parsed = prepared
        if parsed is None:
            try:
                parsed = parse_email(inbound.raw)
            except MalformedEmail as exc:
                raise MalformedInbound(str(exc)) from None
            inbound.sender = parsed.sender[:320]
            inbound.summary = _summary(parsed)
        if parsed.auto_reason:
            inbound.kind = "bounce" if parsed.bounced_message_ids else "auto"
            for message_id in parsed.bounced_message_ids:
                record_status(tenant, "email", message_id, OutboundStatus.FAILED, "bounced: " + parsed.text[:200])
            inbound.status = InboundStatus.IGNORED
            inbound.error = parsed.auto_reason
            return
        own = self.config(tenant)
        if own is not None and parsed.sender == own.address.lower():
            inbound.status = InboundStatus.IGNORED
            inbound.error = "sent from the support address itself"
            return
        routing.route_email(tenant, inbound, parsed)

    def text_payload(self, tenant: Tenant, recipient: str, text: str, **context: Any) -> dict[str, Any]:
        """Subject, text and HTML rendered in the requester's locale; a Message-ID fixed now, for threading."""
        locale = tenant.best_locale(context.get("locale"))
        reference = context.get("reference") or ""
        values = {"tenant": tenant, "settings": tenant.settings, "text": text, "reference": reference, "subject": context.get("subject") or ""}
        with force_locale(locale):
            subject = render_template("channels/email/subject.txt", **values).strip()
            body_text = render_template("channels/email/reply.txt", **values)
            body_html = render_template("channels/email/reply.html", **values)
        domain = (self.config(tenant).address.split("@")[-1] if self.config(tenant) else "crvs-support")
        references = list(context.get("references") or [])
        return {
            "subject": subject,
            "text": body_text,
            "html": body_html,
            "message_id": make_msgid(domain=domain).strip("<>"),
            "in_reply_to": context.get("in_reply_to") or (references[0] if references else None),
            "references": references,
            "auto": bool(context.get("auto")),
        }

    def build(self, tenant: Tenant, recipient: str, payload: dict[str, Any]) -> EmailMessage:
        cfg = self.config(tenant)
        msg = EmailMessage()
        msg["From"] = formataddr((tenant.name, cfg.address))
        msg["To"] = recipient
        msg["Subject"] = payload["subject"]
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = f"<{payload['message_id']}>"
        if payload.get("in_reply_to"):
            msg["In-Reply-To"] = f"<{payload['in_reply_to']}>"
        if payload.get("references"):
            # Oldest first, as mail clients write them.
            msg["References"] = " ".join(f"<{r}>" for r in reversed(payload["references"]))
        if payload.get("auto"):
            msg["Auto-Submitted"] = "auto-replied"
        msg.set_content(payload["text"])
        if payload.get("html"):
            msg.add_alternative(payload["html"], subtype="html")
        return msg

    def send(self, tenant: Tenant, outbound) -> str:
        cfg = self.config(tenant)
        if cfg is None:
            raise SendError("email is switched off for this country (channels.email)")
        msg = self.build(tenant, outbound.recipient, outbound.payload)
        try:
            if not cfg.smtp_host:
                # No SMTP server of its own: the portal's system mail settings carry it.
                send_prepared(msg)
                return outbound.payload["message_id"]
            with smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=10) as smtp:
                if cfg.smtp_starttls:
                    smtp.starttls()
                if cfg.smtp_username_env:
                    smtp.login(secret(cfg.smtp_username_env), secret(cfg.smtp_password_env))
                smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            raise SendError(f"recipient refused: {exc.recipients}", permanent=True) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise SendError(f"{type(exc).__name__}: {exc}") from None
        return outbound.payload["message_id"]


@dataclass
class PollReport:
    """What one IMAP poll did: new messages stored, copies already stored, problems, and the error
    that stopped it (login refused, server unreachable, connection lost), if any."""

    stored: int = 0
    duplicates: int = 0
    problems: list[str] = field(default_factory=list)
    error: str | None = None


def _mailbox(name: str) -> str:
    """A folder name as an IMAP quoted string (imaplib sends it as given)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _ok(answer: tuple[str, list[Any]], what: str) -> list[Any]:
    typ, data = answer
    if typ != "OK":
        detail = b" ".join(d for d in data if isinstance(d, bytes)).decode("utf-8", "replace")
        raise imaplib.IMAP4.error(f"{what} refused: {detail or typ}")
    return data


def poll_imap(tenant: Tenant, *, limit: int = 200) -> PollReport:
    """Fetch the unseen mail of the tenant's IMAP folder into the inbox.

    A message is marked seen (or moved to `imap_move_to`) only once it is stored and committed, so
    a connection lost in between means it is fetched again next time and recognised by its
    Message-ID: nothing lost, nothing twice. A message that cannot be stored (too large) is left
    unseen and reported. The connection is opened for this poll and closed at its end; a poll that
    fails (login refused, server unreachable, connection lost) reports why, and the next poll
    connects again.
    """
    report = PollReport()
    cfg = tenant.settings.channels.email
    if cfg is None or not cfg.enabled or not cfg.imap_host:
        return report
    use_ssl = cfg.imap_ssl if cfg.imap_ssl is not None else cfg.imap_port != 143
    client_class = imaplib.IMAP4_SSL if use_ssl else imaplib.IMAP4
    where = f"{cfg.imap_host}:{cfg.imap_port}"
    try:
        imap = client_class(cfg.imap_host, cfg.imap_port, timeout=30)
        try:
            try:
                imap.login(secret(cfg.imap_username_env), secret(cfg.imap_password_env))
            except imaplib.IMAP4.error as exc:
                report.error = f"IMAP login to {where} refused: {_text(exc)}"
                return report
            # Servers announce more (MOVE, UIDPLUS) once logged in than in their greeting.
            capabilities = set((_ok(imap.capability(), "asking the capabilities")[0] or b"").decode().upper().split())
            _ok(imap.select(_mailbox(cfg.imap_folder)), f"opening folder {cfg.imap_folder}")
            uids = (_ok(imap.uid("SEARCH", None, "UNSEEN"), "searching unseen mail")[0] or b"").split()
            for uid in uids[:limit]:
                _fetch_one(tenant, imap, uid, cfg, capabilities, report)
        finally:
            _close(imap)
    except (imaplib.IMAP4.error, OSError) as exc:
        # IMAP4.abort (the connection dropped) is an IMAP4.error; a refused or timed-out socket is an OSError.
        done = f" after {report.stored + report.duplicates} message(s)" if report.stored + report.duplicates else ""
        report.error = f"IMAP {where}: {type(exc).__name__}: {_text(exc)}{done}; the rest waits for the next poll"
    return report


def _close(imap: imaplib.IMAP4) -> None:
    """Log out, or at least close the socket when the connection is already gone (imaplib's own
    context manager leaves it open when LOGOUT fails that way)."""
    try:
        imap.logout()
    except (imaplib.IMAP4.error, OSError):
        try:
            imap.shutdown()
        except OSError:
            pass


def _text(exc: Exception) -> str:
    return (str(exc).splitlines() or [""])[0][:200]


def _fetch_one(tenant: Tenant, imap: imaplib.IMAP4, uid: bytes, cfg, capabilities: set[str], report: PollReport) -> None:
    parts = _ok(imap.uid("FETCH", uid, "(BODY.PEEK[])"), f"fetching message {uid.decode()}")
    raw = next((p[1] for p in parts if isinstance(p, tuple)), None)
    if raw is None:
        report.problems.append(f"{tenant.slug}: message {uid.decode()} could not be fetched")
        return
    try:
        result = ingest_email(tenant, raw)
    except ValueError as exc:
        report.problems.append(f"{tenant.slug}: message {uid.decode()} left in the box: {exc}")
        return
    except SQLAlchemyError as exc:  # the database refused it: the next messages are still read
        db.session.rollback()
        report.problems.append(f"{tenant.slug}: message {uid.decode()} left in the box: {type(exc).__name__}: {_text(exc)}")
        return
    # Only now, with the message committed, may the box forget it.
    if cfg.imap_move_to:
        if "MOVE" in capabilities:
            _ok(imap.uid("MOVE", uid, _mailbox(cfg.imap_move_to)), f"moving message {uid.decode()}")
        else:
            _ok(imap.uid("COPY", uid, _mailbox(cfg.imap_move_to)), f"copying message {uid.decode()}")
            _ok(imap.uid("STORE", uid, "+FLAGS", "(\\Deleted)"), f"deleting message {uid.decode()}")
            # UID EXPUNGE (UIDPLUS) removes only this message; a plain EXPUNGE every deleted one.
            _ok(imap.uid("EXPUNGE", uid) if "UIDPLUS" in capabilities else imap.expunge(), "expunging")
    else:
        _ok(imap.uid("STORE", uid, "+FLAGS", "(\\Seen)"), f"marking message {uid.decode()} seen")
    if result.created:
        report.stored += 1
    else:
        report.duplicates += 1
