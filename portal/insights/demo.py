"""Demo activity for the insights page: eight weeks of tickets, searches and article feedback with
patterns a support manager should spot (a topic no article covers, an article that fails its
readers, a district whose agents need training). Loaded by `flask --app wsgi demo load`."""
from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import func, select

from portal.auth import services as auth_services
from portal.auth.permissions import Role
from portal.core.db import db, utcnow
from portal.insights.rollup import roll_up
from portal.insights.services import link_article
from portal.tickets import services as tickets
from portal.tickets.models import Contact, Ticket

MARKER = "demo-requester"
JOBS = ["Registration agent", "Local registrar", "Health worker"]
# (category, subjects, weight in the first four weeks, in the last four)
STREAMS = [
    ("certificates-and-printing", ["Certificate prints blank page", "Printer does not print the certificate", "Certificate printing fails",
                                   "Cannot print birth certificate", "Blank certificate after printing"], 2, 6),
    ("access-and-login", ["Forgot my password", "Password reset code not received", "Cannot log in, password refused"], 3, 3),
    ("declarations", ["Declaration rejected without reason", "Declaration sent back for updates", "Declaration stuck in outbox"], 2, 2),
    ("offline-and-sync", ["Tablet does not sync", "Records not sent when offline"], 1, 1),
    ("reports", ["Monthly report totals look wrong"], 1, 1),
]
SEARCHES = [("en", "certificate blank", 0, None, 9), ("en", "printer certificate", 0, None, 6), ("fr", "imprimer acte vierge", 0, None, 4),
            ("en", "password reset", 4, None, 7), ("en", "declaration rejected", 3, "declaration-requires-updates", 5)]


def _user(email: str, name: str):
    return auth_services.get_user_by_email(email) or auth_services.create_user(email, name=name)


def load_demo_activity(tenant) -> int:
    """Create the demo activity of `tenant` (session scoped to it) unless it exists; returns tickets made."""
    demo_contacts = select(Contact.id).where(Contact.email.like(f"%@{MARKER}.{tenant.slug}"))
    if db.session.scalar(select(func.count(Ticket.id)).where(Ticket.contact_id.in_(demo_contacts))):
        return 0
    rng = random.Random(tenant.slug)
    offices = tenant.settings.registration.offices[:6] or ["Head office"]
    staff = _user(f"insights-agent@{MARKER}.{tenant.slug}", "Demo agent")
    auth_services.add_membership(tenant, staff, Role.L1_AGENT, "Support agent")
    people = []
    for i in range(18):
        user = _user(f"user{i}@{MARKER}.{tenant.slug}", f"Demo requester {i + 1}")
        office, job = offices[i % len(offices)], JOBS[i % len(JOBS)]
        auth_services.add_membership(tenant, user, Role.REQUESTER, job, office)
        tickets.find_or_create_contact(tenant, user=user)
        people.append((user, office, job))
    db.session.commit()
    today = utcnow().replace(hour=9, minute=0, second=0, microsecond=0)
    made = 0
    for week in range(8):
        for category, subjects, early, late in STREAMS:
            for _ in range(early if week < 4 else late):
                user, office, job = rng.choice(people)
                if category == "declarations" and rng.random() < 0.7:
                    # The local registrars of the second office struggle with declarations.
                    user, office, job = people[1]
                ticket = tickets.open_ticket(tenant, None, requester=user, subject=rng.choice(subjects), body="(demo)", category=category,
                                             channel=rng.choice(["web", "web", "whatsapp", "email"]), office=office)
                opened = today - dt.timedelta(days=7 * (7 - week) + rng.randrange(7), hours=rng.randrange(8))
                _move_steps(ticket, opened - ticket.created_at)  # a ticket routed to Level 2 at opening has a step then
                ticket.created_at = opened
                ticket.first_responded_at = opened + dt.timedelta(hours=rng.choice([1, 2, 3, 5, 8, 30]))
                ticket.first_response_breached = ticket.first_responded_at - opened > dt.timedelta(hours=24)
                if rng.random() < 0.7:
                    ticket.resolved_at = opened + dt.timedelta(hours=rng.randrange(4, 120))
                    ticket.status = "resolved"
                    ticket.rating = rng.choice([2, 3, 4, 4, 5, 5])
                    ticket.resolution_breached = ticket.resolved_at - opened > dt.timedelta(hours=96)
                ticket.last_activity_at = ticket.resolved_at or ticket.first_responded_at
                if category == "access-and-login" and rng.random() < 0.6:
                    link_article(tenant, staff, ticket, "forgotten-password")
                made += 1
    from portal.kb.models import ArticleFeedback, SearchLog

    for locale, query, results, opened_slug, times in SEARCHES:
        for n in range(times):
            user = people[n % len(people)][0]
            db.session.add(SearchLog(locale=locale, query=query, result_count=results, opened_slug=opened_slug, user_id=user.id,
                                     created_at=today - dt.timedelta(days=rng.randrange(50))))
    for n in range(6):
        db.session.add(ArticleFeedback(slug="forgotten-password", locale="en", is_helpful=n == 0, user_id=people[n][0].id,
                                       comment="" if n == 0 else rng.choice(["The reset code never arrives", "Steps do not match my screen"]),
                                       created_at=today - dt.timedelta(days=rng.randrange(40))))
    db.session.commit()
    roll_up(tenant)
    return made


def _move_steps(ticket, shift: dt.timedelta) -> None:
    """Move the ticket's tier steps (and their targets) by `shift`, as its opening is moved back."""
    from portal.escalation.models import TierStep

    for step in db.session.scalars(select(TierStep).where(TierStep.ticket_id == ticket.id)):
        step.created_at += shift
        if step.due_at is not None:
            step.due_at += shift
