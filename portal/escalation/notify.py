"""Default subscribers: tell the country's Level 2 team when a ticket reaches it or comes back to it
from the central team, when the central team answers, when the fix for one of its tickets is done
and waits for a release, and when the roll-out of a fix resolves one; tell the central team when a
ticket reaches Level 3, the experts working on an escalation when the country writes on it, and an
expert when a colleague hands them an escalation."""
from __future__ import annotations

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from portal.auth.models import User
from portal.auth.permissions import GlobalRole
from portal.core.db import db
from portal.core.mail import queue_mail
from portal.core.urls import external_url
from portal.escalation import signals
from portal.escalation.services import experts_on, mask_text, shares_contact_with_l3, tier_label
from portal.tickets.models import Tier


def _l2_people(tenant, ticket):
    """Who holds the ticket at Level 2: its assignee while still on the desk, else the Level 2 group."""
    from portal.tickets.services import default_group, group_members, is_active_staff

    if ticket.assignee is not None and is_active_staff(tenant, ticket.assignee):
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


@signals.ticket_deescalated.connect
def email_l2_on_return(app, tenant, ticket, step, actor=None, **_extra) -> None:
    """A ticket came back from Level 3 to Level 2: tell whoever holds it (or the Level 2 team when
    nobody does) why, unless they took it back themselves."""
    if step.from_tier != Tier.L3.value or step.to_tier != Tier.L2.value:
        return
    link = _link("escalation.ticket", tenant, ticket)
    for user in _l2_people(tenant, ticket):
        if actor is not None and user.id == actor.id:
            continue
        with force_locale(tenant.best_locale(user.locale)):
            tier = tier_label(Tier.L2.value)
            if getattr(actor, "is_expert", False):
                subject = _("[%(reference)s] Sent back by the central team", reference=ticket.reference)
                intro = _("The central team sent %(reference)s (%(subject)s) back to %(tier)s. Their reason:",
                          reference=ticket.reference, subject=ticket.subject, tier=tier)
            else:
                subject = _("[%(reference)s] Taken back from the central team", reference=ticket.reference)
                intro = _("%(name)s took %(reference)s (%(subject)s) back from the central team to %(tier)s. Their reason:",
                          name=actor.display_name if actor is not None else "", reference=ticket.reference, subject=ticket.subject, tier=tier)
            text = "\n\n".join([intro, step.reason, link])
        _send(user, subject, text)


def _experts() -> list[User]:
    """The central team: every active account with the global L3 expert role."""
    return list(db.session.scalars(
        select(User).where(User.global_role == GlobalRole.L3_EXPERT.value, User.is_active_account.is_(True)).order_by(User.email)
    ))


def _interface_locale(user: User) -> str:
    """The central team reads the interface outside any country: the user's language if offered."""
    config = current_app.config
    return user.locale if user.locale in config["UI_LOCALES"] else config["BABEL_DEFAULT_LOCALE"]


@signals.ticket_escalated.connect
def email_experts_on_escalation(app, tenant, ticket, step, **_extra) -> None:
    """A ticket reached Level 3: one mail to each expert of the central team, in their language, with
    the country, the reference, the summary and severity, and the link to the console's item. The
    requester's contact details are masked as on the console, unless the country shares them."""
    if step.to_tier != Tier.L3.value:
        return
    experts = _experts()
    if not experts:
        return
    shown = (lambda text: text) if shares_contact_with_l3(tenant) else mask_text
    link = external_url("escalation.expert_ticket", step_id=step.id) or ""
    for user in experts:
        with force_locale(_interface_locale(user)):
            subject = _("[%(reference)s] New escalation from %(country)s", reference=ticket.reference, country=tenant.name)
            lines = [
                _("%(country)s sent %(reference)s to the central team.", country=tenant.name, reference=ticket.reference),
                "\n".join([
                    _("Summary: %(subject)s", subject=shown(ticket.subject)),
                    _("Severity: %(severity)s", severity=step.severity_enum.label if step.severity_enum else _("not set")),
                    _("OpenCRVS version: %(version)s", version=step.opencrvs_version or "?"),
                ]),
                _("Reason given:"),
                shown(step.reason),
                link,
            ]
        queue_mail(user.email, subject, "\n\n".join(lines))
    db.session.commit()  # after the escalation's own commit: the notices commit on their own, together


@signals.country_wrote.connect
def email_experts_on_country_message(app, tenant, ticket, message, author, step, **_extra) -> None:
    """The country's staff wrote on a ticket with the central team: tell the experts working on it
    (`experts_on`), in their language, with the words written, contact details masked as on the
    console unless the country shares them. Inside the message's transaction: the notice commits
    with it (nothing is committed here)."""
    shown = (lambda text: text) if shares_contact_with_l3(tenant) else mask_text
    link = external_url("escalation.expert_ticket", step_id=step.id) or ""
    for user in experts_on(tenant, ticket, step):
        with force_locale(_interface_locale(user)):
            subject = _("[%(reference)s] New information from %(country)s", reference=ticket.reference, country=tenant.name)
            intro = _("%(name)s (%(country)s) wrote on %(reference)s (%(subject)s), which is with the central team:",
                      name=author.display_name, country=tenant.name, reference=ticket.reference, subject=shown(ticket.subject))
        queue_mail(user.email, subject, "\n\n".join([intro, shown(message.body), link]))


@signals.escalation_handed.connect
def email_expert_on_hand_over(app, tenant, ticket, step, actor, owner, **_extra) -> None:
    """A colleague handed an escalation to an expert: tell them, in their language, with the link to
    it. The subject is masked as on the console unless the country shares contact details."""
    shown = (lambda text: text) if shares_contact_with_l3(tenant) else mask_text
    link = external_url("escalation.expert_ticket", step_id=step.id) or ""
    with force_locale(_interface_locale(owner)):
        subject = _("[%(reference)s] Handed to you by %(name)s", reference=ticket.reference, name=actor.display_name)
        text = "\n\n".join([
            _("%(name)s handed you %(reference)s (%(subject)s) from %(country)s: you now own this escalation.",
              name=actor.display_name, reference=ticket.reference, subject=shown(ticket.subject), country=tenant.name),
            _("Severity: %(severity)s", severity=step.severity_enum.label if step.severity_enum else _("not set")),
            link,
        ])
    _send(owner, subject, text)


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
