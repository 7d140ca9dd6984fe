"""Default subscribers: tell people by email what happened on a ticket.

Kept small and separate on purpose: the channels' outbox replaces `email_requester` (the requester
is answered on the channel they wrote from: `portal.channels.outgoing` disconnects it). The notices
to staff go through the system mail queue (`portal.core.mail.queue_mail`), sent by the outbox workers.
"""
from __future__ import annotations

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from portal.core.db import db
from portal.core.mail import queue_mail
from portal.core.urls import external_url
from portal.tickets import signals
from portal.tickets.models import Message


def ticket_link(tenant, ticket) -> str | None:
    return external_url("tickets.detail", tenant=tenant.slug, reference=ticket.reference)


def _send(to: str, subject: str, template: str, *, in_transaction: bool = False, **context) -> None:
    """Queue a notice. Most signals come after the change is committed, so the notice is committed on
    its own; `message_posted` comes inside the reply's transaction, which commits the notice with it."""
    queue_mail(to, subject, render_template(template, **context))
    if not in_transaction:
        db.session.commit()


@signals.message_posted.connect
def email_requester(app, tenant, ticket, message, **_extra) -> None:
    """Email a public staff message to the requester, in the requester's language."""
    contact = ticket.contact
    if not contact.email or not message.is_public:
        return
    locale = tenant.best_locale(contact.locale or ticket.locale)
    with force_locale(locale):
        subject = _("[%(reference)s] %(subject)s", reference=ticket.reference, subject=ticket.subject)
        _send(contact.email, subject, "tickets/email/reply.txt", in_transaction=True, ticket=ticket, message=message, link=ticket_link(tenant, ticket), tenant=tenant)


@signals.colleague_mentioned.connect
def email_mentioned(app, tenant, ticket, message, user, **_extra) -> None:
    with force_locale(tenant.best_locale(user.locale)):
        subject = _("[%(reference)s] You were mentioned", reference=ticket.reference)
        _send(user.email, subject, "tickets/email/mention.txt", ticket=ticket, message=message, link=ticket_link(tenant, ticket), tenant=tenant)


def _people_answering_for(tenant, ticket) -> list:
    """Who answers for the ticket: the assignee while still on the desk, else the active members of
    the ticket's group, else those of its tier's first group (as `escalation.notify._l2_people`)."""
    from portal.tickets.services import default_group, group_members, is_active_staff

    if ticket.assignee is not None and is_active_staff(tenant, ticket.assignee):
        return [ticket.assignee]
    return group_members(tenant, ticket.group_key) or group_members(tenant, default_group(tenant, ticket.tier))


@signals.sla_breached.connect
def email_on_breach(app, tenant, ticket, kind, escalated=False, **_extra) -> None:
    """Tell whoever answers for the ticket (`_people_answering_for`) that a target was missed (not when the
    miss handed the ticket to Level 2: the escalation's notice says so, with the reason)."""
    if escalated:
        return
    for user in _people_answering_for(tenant, ticket):
        with force_locale(tenant.best_locale(user.locale)):
            subject = _("[%(reference)s] Service level missed", reference=ticket.reference)
            _send(user.email, subject, "tickets/email/breach.txt", ticket=ticket, kind=kind, link=ticket_link(tenant, ticket), tenant=tenant)


@signals.ticket_assigned.connect
def email_assignee(app, tenant, ticket, actor, assignee, reason=None, **_extra) -> None:
    """Tell a staff member that a colleague gave them a ticket, with the colleague's reason if any
    and the requester's last words."""
    last = db.session.scalar(select(Message).where(Message.ticket_id == ticket.id, Message.is_public.is_(True), Message.is_from_staff.is_(False))
                             .order_by(Message.created_at.desc(), Message.id.desc()).limit(1))
    with force_locale(tenant.best_locale(assignee.locale)):
        subject = _("[%(reference)s] Assigned to you", reference=ticket.reference)
        _send(assignee.email, subject, "tickets/email/assigned.txt", ticket=ticket, actor=actor, reason=reason, last=last, link=ticket_link(tenant, ticket), tenant=tenant)


@signals.tickets_assigned.connect
def email_assignee_of_several(app, tenant, tickets, actor, assignee, **_extra) -> None:
    """Tell a staff member, in one mail, that a colleague gave them several tickets."""
    with force_locale(tenant.best_locale(assignee.locale)):
        subject = ngettext("%(num)s ticket assigned to you", "%(num)s tickets assigned to you", len(tickets))
        _send(assignee.email, subject, "tickets/email/assigned_several.txt", tickets=tickets, actor=actor, tenant=tenant,
              links=[ticket_link(tenant, t) for t in tickets], queue=external_url("tickets.queue", tenant=tenant.slug, view="mine"))


@signals.requester_replied.connect
def email_assignee_of_reply(app, tenant, ticket, message, reopened=False, **_extra) -> None:
    """Tell the staff member who holds the ticket that the requester wrote (and reopened it, if so),
    with their words. Inside the message's transaction: the notice commits with it."""
    from portal.tickets.services import is_active_staff

    assignee = ticket.assignee
    # Someone suspended or no longer on the desk since they took it gets none of the requester's words.
    if assignee is not None and assignee.email and is_active_staff(tenant, assignee):
        people = [assignee]
    elif reopened and assignee is not None:
        # A request they resolved, reopened after they left: its group hears of it, or nobody would.
        people = _people_answering_for(tenant, ticket)
    else:
        return  # unassigned: the reply shows in the queue
    for user in people:
        with force_locale(tenant.best_locale(user.locale)):
            if reopened:
                subject = _("[%(reference)s] Reopened by the requester", reference=ticket.reference)
            else:
                subject = _("[%(reference)s] The requester replied", reference=ticket.reference)
            _send(user.email, subject, "tickets/email/requester_replied.txt", in_transaction=True, ticket=ticket, message=message,
                  reopened=reopened, link=ticket_link(tenant, ticket), tenant=tenant)
