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
from sqlalchemy.dialects import postgresql, sqlite

from portal.channels.base import Channel, InstantMessage
from portal.channels.emailparse import ParsedEmail
from portal.channels.models import ChannelThread, InboundMessage, InboundStatus, OutboundMessage
from portal.channels.services import DeskUnavailable, enqueue_text
from portal.core.db import db, utcnow
from portal.core.intents import asks_for_person
from portal.core.security import storable
from portal.tenancy.models import Tenant

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
    address, name = storable(address, 320), storable(name, 200)  # as a provider sent them (a reaction's sender, say)
    find = select(ChannelThread).where(ChannelThread.channel == channel, ChannelThread.address == address)
    thread = db.session.scalar(find)
    if thread is None:
        # One statement that gives way to the same row being made elsewhere at this moment (a new
        # sender's first two messages on two servers): both messages then share that row.
        insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
        db.session.execute(insert(ChannelThread).values(tenant_id=tenant.id, channel=channel, address=address).on_conflict_do_nothing())
        thread = db.session.scalar(find)
    thread.last_inbound_at = utcnow()
    thread.name = name or thread.name
    thread.locale = tenant.best_locale(locale or thread.locale)
    return thread


def route_unreadable(tenant: Tenant, channel: Channel, inbound: InboundMessage, chat: InstantMessage, reason: str, *,
                     answer: bool = True) -> None:
    """A chat message with nothing the desk can read (a poll, a message type the provider does not
    pass on): kept as ignored with the reason, and the sender told what the desk reads, so that they
    write again rather than wait for an answer that cannot come. A sticker (`answer=False`) is a sign,
    like a reaction: nobody waits for an answer to it."""
    thread = touch_thread(tenant, channel.name, chat.address, chat.name, chat.locale)
    inbound.status = InboundStatus.IGNORED
    inbound.error = reason
    if answer:
        with force_locale(thread.locale):
            text = _("Sorry, I cannot read this kind of message. Please write your question as text; you can also send photos, documents and voice messages.")
        enqueue_text(tenant, channel.name, chat.address, text, locale=thread.locale)


def _ticket_by_id(ticket_id: int | None):
    if not ticket_id:
        return None
    from portal.tickets.models import Ticket

    return db.session.get(Ticket, ticket_id)


def _continued(ticket: Any):
    """The ticket a message for `ticket` belongs to: the ticket it was merged into when that one has the
    same requester ("your request continues as FAR-000008"), else `ticket` itself."""
    seen = set()
    while ticket is not None and getattr(ticket, "merged_into_id", None) and ticket.id not in seen:
        seen.add(ticket.id)
        target = _ticket_by_id(ticket.merged_into_id)
        if target is None or target.contact_id != ticket.contact_id:
            break
        ticket = target
    return ticket


def ticket_for_email(tenant: Tenant, parsed: ParsedEmail):
    """The ticket an email answers: by In-Reply-To/References (a reply to a mail of the ticket's
    thread, whose Message-ID only its recipients know), else by the reference in the subject when the
    sender is the ticket's requester. Anyone can write a reference: a stranger's "Re: FAR-000004"
    opens a ticket of its own (which an agent may merge), and never reopens nor speaks in someone
    else's request."""
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
    ticket = tickets.get_ticket_by_reference(tenant, match.group(1)) if match else None
    if ticket is None or _same_address(getattr(ticket.contact, "email", None), parsed.sender):
        return ticket
    return None


def _same_address(one: str | None, other: str | None) -> bool:
    from portal.auth.services import normalize_email  # contacts' addresses are stored so

    return bool(one and other) and normalize_email(one) == normalize_email(other)


def _files(tickets: Any, attachments, locale: str | None) -> tuple[list[tuple[str, io.BytesIO]], list[str]]:
    """Attachments as the ticket desk takes them ((filename, binary stream) pairs), less those it
    would refuse, and why it refuses those, in the requester's language: one file it does not keep
    (an Outlook winmail.dat) does not cost the whole message."""
    kept, refused = [], []
    for attachment in attachments:
        with force_locale(locale):
            reason = tickets.refused_file(attachment.filename, attachment.data)
        if reason:
            refused.append(reason)
        else:
            kept.append((attachment.filename, io.BytesIO(attachment.data)))
    return kept, refused


def _with_refusals(text: str, refused: list[str]) -> str:
    """The message as the desk keeps it: its text, then a line per file it could not keep."""
    if not refused:
        return text
    return "\n\n".join([text.strip(), *(f"[{reason}]" for reason in refused)]).strip()


def _is_open(ticket: Any) -> bool:
    return ticket is not None and str(getattr(ticket, "status", "open")) not in CLOSED_STATES


def _linked(inbound: InboundMessage, then: Any = None):
    """A `before_commit` for the desk: mark the inbound row processed and linked to the ticket (and
    run `then`, e.g. queue an acknowledgement) inside the desk's transaction, so that the row, the
    ticket and the outbox commit together; a crash can then never make a second ticket of one message."""

    def link(ticket: Any, message: Any) -> None:
        inbound.status = InboundStatus.PROCESSED
        inbound.ticket_id = ticket.id
        inbound.ticket_message_id = message.id
        if then is not None:
            then(ticket)

    return link


def route_email(tenant: Tenant, inbound: InboundMessage, parsed: ParsedEmail) -> None:
    tickets = _tickets()
    locale = tenant.best_locale(parsed.language)
    ticket = _continued(ticket_for_email(tenant, parsed))
    files, refused = _files(tickets, parsed.attachments, locale)
    text = _with_refusals(parsed.text, refused)
    if _is_open(ticket):
        contact = tickets.find_or_create_contact(tenant, email=parsed.sender, name=parsed.sender_name, locale=locale)
        body = text or ("📎" if files else parsed.subject)
        tickets.add_message(tenant, None, ticket, body=body, public=True, channel="email", author_contact=contact, attachments=files, before_commit=_linked(inbound))
    else:
        # A new requester is inserted with the ticket, in the flush that inserts the ticket.
        contact = tickets.find_or_create_contact(tenant, email=parsed.sender, name=parsed.sender_name, locale=locale, flush=False)
        with force_locale(locale):  # a photo sent from a phone often has no subject and no text
            subject = (parsed.subject or parsed.text[:80]).strip() or _("Message from %(name)s", name=parsed.sender_name or parsed.sender)
        tickets.open_ticket(tenant, None, requester=contact, subject=subject, body=text or subject, channel="email", attachments=files, locale=locale, before_commit=_linked(inbound))


def route_instant(tenant: Tenant, channel: Channel, inbound: InboundMessage, chat: InstantMessage) -> None:
    """A chat message: continue the open ticket, or let the assistant answer, or hand over to a person.

    The assistant answers a question it can answer (its answer goes to the outbox). A request for a
    person, a question it cannot answer, an attachment or a shared location or contact card, or any
    message when the assistant is off
    opens a ticket carrying the conversation so far, and the requester is told their reference.
    """
    thread = touch_thread(tenant, channel.name, chat.address, chat.name, chat.locale)
    tickets = _tickets()
    contact = tickets.find_or_create_contact(tenant, name=chat.name, locale=thread.locale, **{f"{channel.name}_id": chat.address})
    thread.contact_id = contact.id
    ticket = _continued(_ticket_by_id(thread.ticket_id))
    if ticket is not None and ticket.id != thread.ticket_id:
        thread.ticket_id = ticket.id  # the conversation goes on where the request was merged
    if _is_open(ticket):
        files, refused = _files(tickets, chat.attachments, thread.locale)
        tickets.add_message(tenant, None, ticket, body=_with_refusals(chat.text, refused) or "📎", public=True, channel=channel.name, author_contact=contact, attachments=files, before_commit=_linked(inbound))
        return
    assistant = _service("portal.assistant.services")
    person_lang = asks_for_person(chat.text)
    wants_person = person_lang is not None
    if person_lang:
        thread.locale = tenant.best_locale(person_lang)
    unanswered = False
    if assistant is not None and tenant.settings.assistant.enabled and not wants_person and not chat.for_a_person and chat.text.strip():
        inbound.status = InboundStatus.RECEIVED  # until the answer is in the outbox (see below)
        # The language is detected from the question; the one the channel reports, or the one of
        # the conversation so far, only breaks ties (a WhatsApp message says nothing of it).
        reply = assistant.answer_question(tenant, chat.text, hint=chat.locale or thread.locale, conversation_id=thread.conversation_id, channel=channel.name, contact=contact)
        # answer_question committed its turn; the inbound row is marked processed only with the
        # outbox row below, so a crash in between makes the worker ask again, never stay silent.
        thread.conversation_id = reply.conversation_id
        thread.locale = tenant.best_locale(reply.lang)
        if not reply.handoff:
            enqueue_text(tenant, channel.name, chat.address, reply.message, locale=thread.locale)
            inbound.status = InboundStatus.PROCESSED
            return
        unanswered = True

    def acknowledge(ticket: Any) -> None:
        thread.ticket_id = ticket.id
        thread.conversation_id = None  # the next question after this ticket starts afresh
        with force_locale(thread.locale):
            if unanswered:
                text = _("I am not sure I can answer this correctly, so I have passed your question to the support team. A person will answer you here. Your reference is %(reference)s.", reference=ticket.reference)
            else:
                text = _("Thank you. A person from the support team will answer you here. Your reference is %(reference)s.", reference=ticket.reference)
        enqueue_text(tenant, channel.name, chat.address, text, locale=thread.locale, ticket_id=ticket.id)

    files, refused = _files(tickets, chat.attachments, thread.locale)
    if assistant is not None and thread.conversation_id:
        # The conversation with the assistant becomes the ticket, its transcript a note for the agent;
        # what the requester sent for a person (a photo, a location, a long report) follows the questions.
        sent = _with_refusals(chat.text, refused) if chat.for_a_person else ""
        assistant.hand_over(tenant, thread.conversation_id, contact=contact, channel=channel.name, message=sent, attachments=files, before_commit=_linked(inbound, acknowledge))
        return
    with force_locale(thread.locale):
        subject = chat.text[:80] if chat.text and not wants_person and not chat.shared else _("Message from %(name)s", name=chat.name or chat.address)
    tickets.open_ticket(tenant, None, requester=contact, subject=subject, body=_with_refusals(chat.text, refused) or subject, channel=channel.name, attachments=files, locale=thread.locale, before_commit=_linked(inbound, acknowledge))
