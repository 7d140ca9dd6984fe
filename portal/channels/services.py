"""The durable inbox (store raw first, then process, idempotently) and the outbox (send with retries).

Inbound: `store_inbound` commits the raw bytes before anything else runs, so a crash afterwards
loses nothing; `process_inbound` can run any number of times on the same row. Outbound:
`enqueue` adds a row to the caller's transaction (commit together with the reply); the worker
claims due rows so that two workers never hold the same one, sends, and records the outcome.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer

from portal.channels.base import MalformedInbound, SendError, get_channel
from portal.channels.models import InboundMessage, InboundStatus, OutboundMessage, OutboundStatus
from portal.core import mail, queue
from portal.core.db import SYSTEM, across_tenants, db, keep_loaded, tenant_scope, utcnow
from portal.core.queue import BACKOFF_CAP, CLAIM_LEASE, MAX_ATTEMPTS, backoff  # noqa: F401 (part of this API)
from portal.core.security import storable
from portal.tenancy.models import Tenant

log = logging.getLogger(__name__)

# Inbound rows not processed after this long (the process after the webhook answer died) are
# picked up by the worker.
INBOUND_GRACE = dt.timedelta(minutes=1)


class DeskUnavailable(RuntimeError):
    """Routing needs the ticket desk, which is not installed: the message waits, still received."""


# -- inbox ---------------------------------------------------------------------------------------


def _new_inbound(tenant: Tenant, channel: str, provider_id: str, raw: bytes, *, kind: str = "message", sender: str = "", summary: str = "") -> InboundMessage:
    # The model keeps every text field storable and within its column (InboundMessage._storable).
    return InboundMessage(tenant_id=tenant.id, channel=channel, provider_id=provider_id, raw=raw, kind=kind, sender=sender, summary=summary)


def store_inbound(tenant: Tenant, channel: str, provider_id: str, raw: bytes, *, kind: str = "message", sender: str = "", summary: str = "") -> tuple[InboundMessage, bool]:
    """Store one raw message and commit. Returns (row, created); a known provider id is not stored twice."""
    with tenant_scope(db.session, tenant.id):
        row = _new_inbound(tenant, channel, provider_id, raw, kind=kind, sender=sender, summary=summary)
        db.session.add(row)
        try:
            db.session.commit()  # no lookup first: the unique key tells a copy already stored
        except IntegrityError:
            db.session.rollback()
            return _inbound_by_provider_id(channel, provider_id), False
        return row, True


def _inbound_by_provider_id(channel: str, provider_id: str) -> InboundMessage | None:
    key = InboundMessage.limits["provider_id"]
    return db.session.scalar(select(InboundMessage).where(InboundMessage.channel == channel, InboundMessage.provider_id == storable(provider_id, key)))


def process_inbound(tenant: Tenant, inbound: InboundMessage) -> str:
    """Understand and route one stored message, then commit; failures quarantine it, never lose it.

    The row is held while it is processed (PostgreSQL): when two workers, or a worker and the
    request that stored the message, reach it at once, one processes it and the other leaves it,
    instead of adding the message to its ticket twice. A row no longer waiting is left as it is."""
    with tenant_scope(db.session, tenant.id):
        held = db.session.scalar(
            select(InboundMessage).where(InboundMessage.id == inbound.id).with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        if held is None or held.status != InboundStatus.RECEIVED:
            return held.status if held is not None else InboundStatus.RECEIVED
        return _process(tenant, held, _Copy.of(held))


@dataclass
class _Copy:
    """What is needed to keep a message when processing fails and its transaction is rolled back."""

    channel: str
    provider_id: str
    raw: bytes
    kind: str
    sender: str
    summary: str

    @classmethod
    def of(cls, inbound: InboundMessage) -> "_Copy":
        return cls(inbound.channel, inbound.provider_id, inbound.raw, inbound.kind, inbound.sender, inbound.summary)


def _process(tenant: Tenant, inbound: InboundMessage, copy: _Copy, prepared: Any = None, *, counted: bool = False) -> str:
    """Process `inbound` (stored, or only flushed in this transaction) and commit the outcome.

    Success is one commit: the channel's router writes the row's outcome before the desk commits
    the ticket, so the row, the ticket and any acknowledgement commit together (or not at all).
    Failure rolls back everything the processing did, then keeps the raw message with the reason,
    re-creating the row if it had not been committed yet: nothing is lost, nothing half done.
    """
    if not counted:  # a new row is inserted with its first attempt already counted
        inbound.attempts += 1
        inbound.processed_at = utcnow()
        inbound.error = ""
    try:
        get_channel(inbound.channel).process(tenant, inbound, prepared)
        if "status" in inspect(inbound).unloaded:
            # Expired by a commit during processing: the desk committed the row, marked processed,
            # with its ticket (routing._linked); reading it back would cost a query per message.
            status = InboundStatus.PROCESSED
        else:
            if inbound.status == InboundStatus.RECEIVED:
                inbound.status = InboundStatus.PROCESSED
            status = inbound.status
        if db.session().in_transaction():
            db.session.commit()
    except DeskUnavailable as exc:
        db.session.rollback()
        status = _keep(tenant, copy, InboundStatus.RECEIVED, str(exc))
    except MalformedInbound as exc:
        db.session.rollback()
        status = _keep(tenant, copy, InboundStatus.QUARANTINED, str(exc))
    except IntegrityError as exc:
        # Most often another server wrote the same row at the same moment (a new sender's first two
        # messages both making their conversation thread): processed again later, it finds that row.
        db.session.rollback()
        status = _keep(tenant, copy, InboundStatus.RECEIVED, f"{type(exc.orig).__name__}: {exc.orig}".splitlines()[0][:500])
    except Exception as exc:
        log.exception("processing inbound %s message %s failed", copy.channel, copy.provider_id)
        db.session.rollback()
        status = _keep(tenant, copy, InboundStatus.QUARANTINED, f"{type(exc).__name__}: {exc}".splitlines()[0][:500])
    return status


def _keep(tenant: Tenant, copy: _Copy, status: str, error: str) -> str:
    """Record why processing stopped on the message's row, storing the raw message again if its
    insert was rolled back with the processing."""
    row = _inbound_by_provider_id(copy.channel, copy.provider_id)
    if row is not None and row.status == InboundStatus.PROCESSED:
        # Its ticket was committed before the failure (or another worker processed it): keep
        # that outcome, so that processing it again can never open a second ticket.
        log.warning("inbound %s message %s: %s, after it was processed", copy.channel, copy.provider_id, error)
        db.session.rollback()
        return row.status
    if row is None:
        row = _new_inbound(tenant, copy.channel, copy.provider_id, copy.raw, kind=copy.kind, sender=copy.sender, summary=copy.summary)
        db.session.add(row)
    row.attempts = (row.attempts or 0) + 1
    if status == InboundStatus.RECEIVED and row.attempts >= MAX_ATTEMPTS:
        status = InboundStatus.QUARANTINED  # tried enough: an administrator looks at it
    row.status = status
    row.error = error
    row.processed_at = utcnow()
    try:
        db.session.commit()
    except IntegrityError:  # a copy of the same message was stored meanwhile: that one stands
        db.session.rollback()
        return _inbound_by_provider_id(copy.channel, copy.provider_id).status
    return status


def reprocess_inbound(tenant: Tenant, actor: Any, inbound_id: int) -> InboundMessage | None:
    """Run a quarantined (or waiting) message through processing again; None if not this tenant's."""
    with tenant_scope(db.session, tenant.id):
        inbound = db.session.get(InboundMessage, inbound_id)
        if inbound is None or inbound.tenant_id != tenant.id:
            return None
        if inbound.status in (InboundStatus.QUARANTINED, InboundStatus.RECEIVED):
            inbound.status = InboundStatus.RECEIVED
            process_inbound(tenant, inbound)
        return inbound


def list_inbound(tenant: Tenant, *, status: str | None = None, limit: int = 100) -> list[InboundMessage]:
    with tenant_scope(db.session, tenant.id):
        # Not the raw messages (a mail with its attachments can weigh megabytes): the list shows summaries.
        query = (select(InboundMessage).options(defer(InboundMessage.raw))
                 .order_by(InboundMessage.created_at.desc(), InboundMessage.id.desc()).limit(limit))
        if status:
            query = query.where(InboundMessage.status == status)
        return list(db.session.scalars(query))


def process_waiting_inbound(limit: int = 100, older_than: dt.timedelta = INBOUND_GRACE) -> int:
    """Process inbound rows left in `received` (the after-response step died); the worker calls this."""
    cutoff = utcnow() - older_than
    with across_tenants(db.session, SYSTEM):
        rows = db.session.execute(
            select(InboundMessage.id, InboundMessage.tenant_id)
            .where(InboundMessage.status == InboundStatus.RECEIVED, InboundMessage.created_at <= cutoff, InboundMessage.attempts < MAX_ATTEMPTS)
            .order_by(InboundMessage.id).limit(limit)
        ).all()
    for inbound_id, tenant_id in rows:
        tenant = db.session.get(Tenant, tenant_id)
        with tenant_scope(db.session, tenant_id):
            inbound = db.session.get(InboundMessage, inbound_id)
            if inbound is not None and inbound.status == InboundStatus.RECEIVED:
                process_inbound(tenant, inbound)
    return len(rows)


# -- outbox --------------------------------------------------------------------------------------


def enqueue(tenant: Tenant, channel: str, recipient: str, payload: dict[str, Any], *, ticket_id: int | None = None, ticket_message_id: int | None = None, provider_id: str | None = None) -> OutboundMessage:
    """Add a message to the outbox in the caller's transaction (the caller commits it with its change)."""
    row = OutboundMessage(tenant_id=tenant.id, channel=channel, recipient=recipient, payload=payload, ticket_id=ticket_id, ticket_message_id=ticket_message_id, provider_id=provider_id, deliveries=[])
    db.session.add(row)
    return row


def enqueue_text(tenant: Tenant, channel: str, recipient: str, text: str, **context: Any) -> OutboundMessage:
    """Queue `text` for `recipient` in the payload form that `channel` needs."""
    payload = get_channel(channel).text_payload(tenant, recipient, text, **context)
    provider_id = payload.get("message_id") if channel == "email" else None
    return enqueue(tenant, channel, recipient, payload, ticket_id=context.get("ticket_id"), ticket_message_id=context.get("ticket_message_id"), provider_id=provider_id)


def claim_due(limit: int = 20, worker: str | None = None, now: dt.datetime | None = None) -> list[int]:
    """Claim up to `limit` due outbound messages, of every tenant, for this worker (see `queue.claim_due`)."""
    with across_tenants(db.session, SYSTEM):
        return queue.claim_due(OutboundMessage.__table__, limit, worker, now)


def deliver(outbound_id: int) -> str:
    """Send one claimed message and record the outcome (sent, or retry later, or failed)."""
    with across_tenants(db.session, SYSTEM):
        row = db.session.get(OutboundMessage, outbound_id)
        tenant = db.session.get(Tenant, row.tenant_id)
    with tenant_scope(db.session, tenant.id):
        try:
            provider_id = get_channel(row.channel).send(tenant, row)
        except SendError as exc:
            _failed_attempt(row, str(exc), permanent=exc.permanent)
        except Exception as exc:  # a bug or an unexpected library error: retry, and say what it was
            log.exception("sending outbound message %s failed", outbound_id)
            _failed_attempt(row, f"{type(exc).__name__}: {exc}", permanent=False)
        else:
            row.provider_id = provider_id or row.provider_id
            row.status = OutboundStatus.SENT
            row.sent_at = utcnow()
            row.last_error = ""
            row.deliveries = [*(row.deliveries or []), {"status": "sent", "at": row.sent_at.isoformat(), "error": ""}]
        status = row.status
        db.session.commit()
    return status


def _failed_attempt(row: OutboundMessage, error: str, *, permanent: bool) -> None:
    if not queue.retry_later(row, error, permanent=permanent):
        row.record_delivery(OutboundStatus.FAILED, row.last_error)


def work_once(limit: int = 20, worker: str | None = None) -> dict[str, int]:
    """One pass of the worker: late inbound processing, every due outbound message, then the due
    system mail (password resets, invitations, notices to staff)."""
    counts: dict[str, int] = {"inbound": process_waiting_inbound()}
    for outbound_id in claim_due(limit, worker):
        status = deliver(outbound_id)
        counts[status] = counts.get(status, 0) + 1
    for status, count in mail.send_queued(limit, worker).items():
        counts[status] = counts.get(status, 0) + count
    return counts


def record_status(tenant: Tenant, channel: str, provider_id: str, status: str, error: str = "", at: dt.datetime | None = None) -> bool:
    """A provider's delivery status (sent, delivered, read, failed) for one of our messages."""
    provider_id, status, error = storable(provider_id, 500), storable(status, 20), storable(error, 500)  # as the provider wrote them
    with tenant_scope(db.session, tenant.id):
        row = db.session.scalar(select(OutboundMessage).where(OutboundMessage.channel == channel, OutboundMessage.provider_id == provider_id))
        if row is None:
            return False
        row.record_delivery(status, error, at)
        return True


def deliveries_for_ticket(tenant: Tenant, ticket_id: int) -> dict[int, OutboundMessage]:
    """The outbound message of each ticket message (by message id), for status next to each reply."""
    with tenant_scope(db.session, tenant.id):
        rows = db.session.scalars(select(OutboundMessage).where(OutboundMessage.ticket_id == ticket_id).order_by(OutboundMessage.id))
        return {row.ticket_message_id: row for row in rows if row.ticket_message_id is not None}


@dataclass
class IngestResult:
    inbound: InboundMessage
    created: bool
    status: str


def ingest(tenant: Tenant, channel: str, provider_id: str, raw: bytes, *, process: bool = True, prepared: Any = None, **fields: Any) -> IngestResult:
    """Store and process one inbound message: the one inbound path of channels that answer their
    sender only once this returns (the MTA pipe, the SMTP listener, the IMAP poller).

    The raw row is inserted first (a second copy of the same provider id waits on it, then is
    reported as a duplicate) and commits with the processing in one transaction; if processing
    fails, the raw message is still committed, quarantined or waiting, before this returns. A
    crash before that commit leaves the message with its sender, who has not been told it arrived
    and sends it again. `process=False` only stores it (and commits). `prepared` goes to the
    channel's `process` (what the entry point already made of `raw`).
    """
    if not process:
        inbound, created = store_inbound(tenant, channel, provider_id, raw, **fields)
        return IngestResult(inbound, created, inbound.status)
    # The tenant stays loaded through the commit: the next message (the IMAP poller's, the
    # listener's) does not begin by reading it again.
    with tenant_scope(db.session, tenant.id), keep_loaded(db.session, tenant):
        inbound = _new_inbound(tenant, channel, provider_id, raw, **fields)
        inbound.attempts, inbound.processed_at, inbound.error = 1, utcnow(), ""
        db.session.add(inbound)
        try:
            # Insert first, ask later: a duplicate is rare, and the unique key answers for it
            # (a copy being stored by someone else right now makes this wait for their commit).
            db.session.flush()
        except IntegrityError:
            db.session.rollback()
            existing = _inbound_by_provider_id(channel, provider_id)
            return IngestResult(existing, False, existing.status)
        copy = _Copy.of(inbound)
        status = _process(tenant, inbound, copy, prepared, counted=True)
        if inbound not in db.session:  # rolled back, then kept as a new row
            inbound = _inbound_by_provider_id(channel, provider_id)
        return IngestResult(inbound, True, status)


# A message due this long ago and still not sent means no worker is sending (`flask outbox work`).
STALLED_AFTER = dt.timedelta(minutes=10)
UNDONE = (OutboundStatus.FAILED, "expired")  # gave up (system mail also expires: its link no longer works)


@dataclass
class QueueFigures:
    """One queue: messages per status, and since when the oldest due message waits for a worker."""

    name: str  # "mail" (system mail) or "replies" (the channels' outbox)
    counts: dict[str, int]
    due_since: dt.datetime | None

    def stalled(self, now: dt.datetime) -> bool:
        return self.due_since is not None and now - self.due_since > STALLED_AFTER


@dataclass
class Undelivered:
    at: dt.datetime
    queue: str  # "mail", or the channel's name
    tenant: str | None  # the country's name (system mail belongs to none)
    recipient: str
    status: str
    attempts: int
    error: str


@dataclass
class InboundFigures:
    tenant: str
    slug: str
    quarantined: int
    waiting: int  # stored, and not processed after INBOUND_GRACE


@dataclass
class DeliveryReport:
    """How sending and receiving stand on the whole platform (what `flask outbox status` prints and
    the platform administrators' delivery page shows): system mail belongs to no country, so no
    country's page shows it fails."""

    now: dt.datetime
    queues: list[QueueFigures]
    inbound: list[InboundFigures]
    undelivered: list[Undelivered]

    @property
    def stalled(self) -> bool:
        return any(q.stalled(self.now) for q in self.queues)


def delivery_report(limit: int = 20, now: dt.datetime | None = None) -> DeliveryReport:
    now = now or utcnow()
    with across_tenants(db.session, SYSTEM):
        queues = []
        for name, model in (("mail", mail.QueuedMail), ("replies", OutboundMessage)):
            counts = dict(db.session.execute(select(model.status, func.count()).group_by(model.status)).all())
            due = db.session.scalar(select(func.min(model.next_attempt_at)).where(model.status == queue.PENDING, model.next_attempt_at <= now))
            queues.append(QueueFigures(name, counts, due))
        inbound = [
            InboundFigures(name, slug, int(quarantined or 0), int(waiting or 0))
            for name, slug, quarantined, waiting in db.session.execute(
                select(Tenant.name, Tenant.slug,
                       func.sum(case((InboundMessage.status == InboundStatus.QUARANTINED, 1), else_=0)),
                       func.sum(case(((InboundMessage.status == InboundStatus.RECEIVED) & (InboundMessage.created_at <= now - INBOUND_GRACE), 1), else_=0)))
                .join(Tenant, Tenant.id == InboundMessage.tenant_id)
                .where(InboundMessage.status.in_((InboundStatus.QUARANTINED, InboundStatus.RECEIVED)))
                .group_by(Tenant.name, Tenant.slug).order_by(Tenant.name))
            if quarantined or waiting
        ]
        mails = db.session.execute(
            select(mail.QueuedMail.updated_at, mail.QueuedMail.recipient, mail.QueuedMail.status, mail.QueuedMail.attempts, mail.QueuedMail.last_error)
            .where(mail.QueuedMail.status.in_(UNDONE)).order_by(mail.QueuedMail.updated_at.desc()).limit(limit)).all()
        replies = db.session.execute(
            select(OutboundMessage.updated_at, OutboundMessage.recipient, OutboundMessage.status, OutboundMessage.attempts,
                   OutboundMessage.last_error, OutboundMessage.channel, Tenant.name)
            .join(Tenant, Tenant.id == OutboundMessage.tenant_id)
            .where(OutboundMessage.status.in_(UNDONE)).order_by(OutboundMessage.updated_at.desc()).limit(limit)).all()
    undelivered = [Undelivered(at, "mail", None, to, status, attempts, error) for at, to, status, attempts, error in mails]
    undelivered += [Undelivered(at, channel, country, to, status, attempts, error) for at, to, status, attempts, error, channel, country in replies]
    undelivered.sort(key=lambda row: row.at, reverse=True)
    return DeliveryReport(now, queues, inbound, undelivered[:limit])


__all__ = ["MalformedInbound", "DeskUnavailable", "ingest", "enqueue", "enqueue_text", "work_once", "claim_due", "deliver"]
