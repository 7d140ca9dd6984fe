"""Default subscribers: tell the country's Level 2 team when the central team answers, when the fix
for one of its tickets is done and waits for a release, and when the roll-out of a fix resolves one."""
from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _

from portal.core.db import db
from portal.core.mail import queue_mail
from portal.core.urls import external_url
from portal.escalation import signals
from portal.tickets.models import Tier


def _l2_people(tenant, ticket):
    from portal.tickets.services import default_group, group_members

    if ticket.assignee is not None:
        return [ticket.assignee]
    return group_members(tenant, default_group(tenant, Tier.L2.value))


def _link(endpoint, tenant, ticket) -> str:
    return external_url(endpoint, tenant=tenant.slug, reference=ticket.reference) or ""


def _send(user, subject: str, text: str) -> None:
    # These signals come after the change is committed: the notice is committed on its own.
    queue_mail(user.email, subject, text)
    db.session.commit()


@signals.ticket_escalated.connect
def email_l2_on_escalation(app, tenant, ticket, step, **_extra) -> None:
    """A ticket reached Level 2 (from first line, or by a missed target): tell whoever now holds it,
    or the Level 2 team when nobody does. The central team works from its console instead."""
    if step.to_tier != Tier.L2.value:
        return
    link = _link("tickets.detail", tenant, ticket)
    for user in _l2_people(tenant, ticket):
        with force_locale(tenant.best_locale(user.locale)):
            subject = _("[%(reference)s] Escalated to Level 2", reference=ticket.reference)
            text = "\n\n".join([_("%(reference)s (%(subject)s) needs Level 2. Reason given:", reference=ticket.reference, subject=ticket.subject),
                                 step.reason, link])
        _send(user, subject, text)


@signals.expert_replied.connect
def email_l2(app, tenant, ticket, message, **_extra) -> None:
    link = _link("escalation.ticket", tenant, ticket)
    for user in _l2_people(tenant, ticket):
        with force_locale(tenant.best_locale(user.locale)):
            subject = _("[%(reference)s] The central team answered", reference=ticket.reference)
            text = "\n\n".join(
                [_("The central team answered on %(reference)s (%(subject)s). You can relay the answer to the requester.", reference=ticket.reference, subject=ticket.subject), message.body, link]
            )
        _send(user, subject, text)


def _tell_l2(tenant, pairs, write) -> None:
    """For each (ticket, problem), mail whoever holds the ticket at Level 2, in their language:
    `write(ticket, problem)` gives the subject and the text (the ticket's link is added)."""
    for ticket, problem in pairs:
        link = _link("tickets.detail", tenant, ticket)
        for user in _l2_people(tenant, ticket):
            with force_locale(tenant.best_locale(user.locale)):
                subject, text = write(ticket, problem)
            _send(user, subject, f"{text}\n\n{link}")


@signals.rollout_applied.connect
def email_l2_on_rollout(app, tenant, fixed=(), **_extra) -> None:
    """The country's upgrade fixed the problem behind a ticket: tell whoever holds it."""

    def write(ticket, problem):
        return (
            _("[%(reference)s] Resolved by the upgrade to OpenCRVS %(version)s", reference=ticket.reference, version=tenant.opencrvs_version),
            _(
                "%(country)s now runs OpenCRVS %(version)s, which fixes problem #%(id)s “%(title)s”. The request %(reference)s (%(subject)s) is resolved and its requester was told.",
                country=tenant.name, version=tenant.opencrvs_version, id=problem.id, title=problem.title, reference=ticket.reference, subject=ticket.subject,
            ),
        )

    _tell_l2(tenant, fixed, write)


@signals.fix_awaiting_release.connect
def email_l2_on_fix_awaiting_release(app, tenant, told=(), **_extra) -> None:
    """The fix behind a ticket is done and comes with a release: tell whoever holds it."""

    def write(ticket, problem):
        return (
            _("[%(reference)s] Fixed, waiting for a release", reference=ticket.reference),
            _(
                "The central team fixed problem #%(id)s “%(title)s”, behind %(reference)s (%(subject)s). The fix comes "
                "with a release of OpenCRVS: the request will be resolved when %(country)s runs it.",
                id=problem.id, title=problem.title, reference=ticket.reference, subject=ticket.subject, country=tenant.name,
            ),
        )

    _tell_l2(tenant, told, write)
