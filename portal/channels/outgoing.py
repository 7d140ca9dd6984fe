"""Agent replies go out on the channel the ticket came from, through the outbox.

Listens to `tickets.signals.message_posted`, which is sent inside the reply's transaction: the
outbox row commits (or rolls back) with the reply, and the worker sends it. This replaces the
ticket desk's default subscriber that emailed the requester directly.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from portal.channels.base import get_channel
from portal.channels.models import InboundMessage, OutboundMessage
from portal.channels.services import enqueue_text
from portal.core.db import db
from portal.tickets import notify, signals

signals.message_posted.disconnect(notify.email_requester)


def reply_route(tenant, ticket) -> tuple[str, str] | None:
    """(channel, recipient) for the requester of `ticket`: its own channel if we can reach them
    there, else email; None when the requester can be reached on no channel."""
    contact = ticket.contact
    wanted = {"whatsapp": contact.whatsapp_id, "telegram": contact.telegram_id}
    if ticket.channel in wanted and wanted[ticket.channel] and get_channel(ticket.channel).config(tenant) is not None:
        return ticket.channel, wanted[ticket.channel]
    if contact.email:
        return "email", contact.email
    return None


def email_thread(ticket_id: int) -> list[str]:
    """Message-IDs of the ticket's email so far, newest first (for In-Reply-To and References)."""
    ids: list[tuple[Any, str]] = []
    for model in (InboundMessage, OutboundMessage):
        rows = db.session.execute(select(model.created_at, model.provider_id).where(model.ticket_id == ticket_id, model.channel == "email", model.provider_id.is_not(None)))
        ids += [(created, provider_id) for created, provider_id in rows if not provider_id.startswith("sha256:")]
    return [provider_id for _, provider_id in sorted(ids, reverse=True)][:20]


@signals.message_posted.connect
def queue_reply(app, tenant, ticket, message, **_extra) -> None:
    if not message.is_public:
        return
    route = reply_route(tenant, ticket)
    if route is None:
        return
    channel, recipient = route
    references = email_thread(ticket.id) if channel == "email" else []
    enqueue_text(
        tenant, channel, recipient, message.body,
        subject=ticket.subject, reference=ticket.reference, references=references,
        locale=ticket.locale, ticket_id=ticket.id, ticket_message_id=message.id,
    )
