"""Where an inbound message goes: a reply continues its ticket, a chat goes to the assistant first,
anything else opens a ticket. The ticket desk and the assistant are reached only through their
service contracts (`portal.tickets.services`, `portal.assistant.services`)."""
from __future__ import annotations

import importlib
import io
import re
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from portal.channels.base import Channel, InstantMessage
from portal.channels.emailparse import ParsedEmail
from portal.channels.models import ChannelThread, InboundMessage, InboundStatus, OutboundMessage
from portal.channels.services import DeskUnavailable, enqueue_text
from portal.core.db import db, utcnow
from portal.tenancy.models import Tenant

# What a requester writes to reach a person, in the languages the demo countries use.
HANDOVER_WORDS = frozenset({"agent", "human", "person", "someone", "operator", "humain", "personne", "conseiller", "opérateur", "operateur", "agent humain"})
CLOSED_STATES = ("closed",)  # a resolved ticket is reopened by the requester's message


def _service(module: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def _tickets():
    tickets = _service("portal.tickets.services")
    if tickets is None:
        raise DeskUnavailable("waiting for the ticket desk, which is not installed")
    return tickets


def touch_thread(tenant: Tenant, channel: str, address: str, name: str = "", locale: str | None = None) -> ChannelThread:
    """The requester's thread on an instant channel, with the time of their last message (24-hour window)."""
    thread = db.session.scalar(select(ChannelThread).where(ChannelThread.channel == channel, ChannelThread.address == address))
    if thread is None:
        thread = ChannelThread(tenant_id=tenant.id, channel=channel, address=address)
        db.session.add(thread)
    thread.last_inbound_at = utcnow()
    thread.name = name or thread.name
    thread.locale = tenant.best_locale(locale or thread.locale)
    return thread


def _ticket_by_id(ticket_id: int | None):
    if not ticket_id:
        return None
    from portal.tickets.models import Ticket

    return db.session.get(Ticket, ticket_id)


def ticket_for_email(tenant: Tenant, parsed: ParsedEmail):
    """The ticket an email answers: by In-Reply-To/References, else by the reference in the subject."""
    tickets = _tickets()
    if parsed.in_reply_to:
        for model in (OutboundMessage, InboundMessage):
            ticket_id = db.session.scalar(
                select(model.ticket_id).where(model.channel == "email", model.provider_id.in_(parsed.in_reply_to), model.ticket_id.is_not(None)).limit(1)
            )
            if ticket_id:
                return _ticket_by_id(ticket_id)
    code = re.escape(tenant.settings.country.code)
    match = re.search(rf"\b({code}-\d{{3,}})\b", parsed.subject or "")
    return tickets.get_ticket_by_reference(tenant, match.group(1)) if match else None


def _files(attachments) -> list[tuple[str, io.BytesIO]]:
    """Attachments as the ticket desk takes them: (filename, binary stream) pairs."""
    return [(a.filename, io.BytesIO(a.data)) for a in attachments]


def _is_open(ticket: Any) -> bool:
    return ticket is not None and str(getattr(ticket, "status", "open")) not in CLOSED_STATES


def route_email(tenant: Tenant, inbound: InboundMessage, parsed: ParsedEmail) -> None:
    tickets = _tickets()
    locale = tenant.best_locale(parsed.language)
    contact = tickets.find_or_create_contact(tenant, email=parsed.sender, name=parsed.sender_name, locale=locale)
    ticket = ticket_for_email(tenant, parsed)
    # The desk commits the ticket: the inbound row is marked in the same commit, so a crash
    # afterwards can never make a second ticket of the same message.
    inbound.status = InboundStatus.PROCESSED
    if _is_open(ticket):
        message = tickets.add_message(tenant, None, ticket, body=parsed.text, public=True, channel="email", author_contact=contact, attachments=_files(parsed.attachments))
        inbound.ticket_message_id = message.id
    else:
        subject = (parsed.subject or parsed.text[:80]).strip()
        ticket = tickets.open_ticket(tenant, None, requester=contact, subject=subject, body=parsed.text or subject, channel="email", attachments=_files(parsed.attachments), locale=locale)
    inbound.ticket_id = ticket.id


def route_instant(tenant: Tenant, channel: Channel, inbound: InboundMessage, chat: InstantMessage) -> None:
    """A chat message: continue the open ticket, or let the assistant answer, or hand over to a person."""
    thread = touch_thread(tenant, channel.name, chat.address, chat.name, chat.locale)
    tickets = _tickets()
    contact = tickets.find_or_create_contact(tenant, name=chat.name, locale=thread.locale, **{f"{channel.name}_id": chat.address})
    thread.contact_id = contact.id
    ticket = _ticket_by_id(thread.ticket_id)
    inbound.status = InboundStatus.PROCESSED  # committed with the ticket change (see route_email)
    if _is_open(ticket):
        message = tickets.add_message(tenant, None, ticket, body=chat.text or "📎", public=True, channel=channel.name, author_contact=contact, attachments=_files(chat.attachments))
        inbound.ticket_id, inbound.ticket_message_id = ticket.id, message.id
        return
    assistant = _service("portal.assistant.services")
    asks_person = chat.text.strip().strip(".!").lower() in HANDOVER_WORDS
    if assistant is not None and not asks_person and not chat.attachments and tenant.settings.assistant.enabled:
        reply = assistant.answer_question(tenant, chat.text, lang=thread.locale, conversation_id=thread.conversation_id, channel=channel.name, contact=contact)
        thread.conversation_id = reply.conversation_id
        with force_locale(thread.locale):
            text = reply.answer
            if reply.handoff:
                text += "\n\n" + _("To talk to a person from the support team, reply “agent”.")
        enqueue_text(tenant, channel.name, chat.address, text, locale=thread.locale)
        return
    subject = chat.text[:80] or _("Message from %(name)s", name=chat.name or chat.address)
    ticket = tickets.open_ticket(tenant, None, requester=contact, subject=subject, body=chat.text or subject, channel=channel.name, attachments=_files(chat.attachments), locale=thread.locale)
    if assistant is not None and thread.conversation_id:
        assistant.hand_over(tenant, thread.conversation_id, contact=contact)
    thread.ticket_id = ticket.id
    inbound.ticket_id = ticket.id
    with force_locale(thread.locale):
        text = _("Thank you. A person from the support team will answer you here. Your reference is %(reference)s.", reference=ticket.reference)
    enqueue_text(tenant, channel.name, chat.address, text, locale=thread.locale, ticket_id=ticket.id)
