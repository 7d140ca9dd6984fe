"""A small data set with known answers: eight Farajaland tickets in the fortnight from 5 to 18 October
2026, three in the fortnight before, and one Kalondo ticket that must never show in Farajaland.

Farajaland works Monday to Friday, 8:00 to 17:00 in Lusaka (06:00 to 15:00 UTC); normal tickets must
be answered within 8 business hours and resolved within 40. Due times are set from the opening, as
the desk does, and moved on by the business hours a ticket waited for its requester.

Expected figures (see test_dashboard.py): categories certificates 5 (previous 1), access 3 (previous
2); channels web 4, WhatsApp 3, email 1; offices Ibombo 4, Isamba 4; roles Registration agent 4,
Registrar 4. L1 6 tickets: first response late twice (ticket 3 answered after 15 business hours, no
flag; ticket 8 never answered, flagged by the SLA check), no resolution late (ticket 2 took 45
business hours but waited 6 for its requester, so 39); L2 2 tickets, 1 resolution late (ticket 6,
flagged). Business hours of first responses L1 [1, 2, 15, 4, 5], L2 [1, 3]; of resolutions L1
[9, 39], L2 [6]. Ratings 5 and 3 (certificates, L1), 1 (access, L2); tickets 5 and 6 answered with
the password article.
"""
from __future__ import annotations

import datetime as dt

import pytest

from portal.auth import services as auth_services
from portal.auth.permissions import Role
from portal.core.db import db, tenant_scope
from portal.insights import services as insights
from portal.tenancy.services import get_tenant
from portal.tickets import services as tickets
from portal.tickets.business_time import add_business_hours

UTC = dt.timezone.utc
START, END = "2026-10-05", "2026-10-18"
IBOMBO, ISAMBA = "Ibombo District Office", "Isamba District Office"

# (requester, category, subject, channel, tier, created, response h, resolution h, late response flag, late resolution flag, rating,
#  business hours waiting for the requester); hours after opening are wall-clock hours.
FARAJALAND = [
    ("a", "certificates-and-printing", "Cannot print birth certificate", "web", "L1", "2026-10-05 09:00", 1, 24, False, False, 5, 0),
    ("a", "certificates-and-printing", "Certificate printing fails", "web", "L1", "2026-10-06 09:00", 2, 168, False, False, 3, 6),
    ("a", "certificates-and-printing", "Printer will not print certificate", "web", "L1", "2026-10-07 09:00", 30, None, False, False, None, 0),
    ("a", "certificates-and-printing", "Printing certificate shows blank page", "web", "L1", "2026-10-12 09:00", 4, None, False, False, None, 0),
    ("b", "access-and-login", "Forgot password", "whatsapp", "L2", "2026-10-13 09:00", 1, 10, False, False, 1, 0),
    ("b", "access-and-login", "Password reset code not received", "whatsapp", "L2", "2026-10-14 09:00", 3, None, False, True, None, 0),
    ("b", "certificates-and-printing", "Certificate printing question", "email", "L1", "2026-10-14 10:00", 10, None, False, False, None, 0),
    ("b", "access-and-login", "Locked out of account", "whatsapp", "L1", "2026-10-15 09:00", None, None, True, False, None, 0),
    # the previous period
    ("a", "certificates-and-printing", "Reprint a certificate", "web", "L1", "2026-09-25 09:00", None, None, False, False, None, 0),
    ("b", "access-and-login", "Cannot sign in", "web", "L1", "2026-09-22 09:00", None, None, False, False, None, 0),
    ("b", "access-and-login", "Account locked", "web", "L1", "2026-09-23 09:00", None, None, False, False, None, 0),
]
PASSWORD_ARTICLE = ("reset-password", "Resetting your password")  # a name: these tests load no articles


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def add_ticket(tenant, user, category, subject, channel, tier, created, response=None, resolution=None,
               late_response=False, late_resolution=False, rating=None, waiting=0, office=None):
    """Open a ticket through the service, then move its clock to the known moments (due times as the
    desk sets them for a normal ticket opened then, the resolution due moved on by the wait)."""
    ticket = tickets.open_ticket(tenant, None, requester=user, subject=subject, body=subject, channel=channel, category=category, office=office)
    opened = _at(created)
    hours, tz, target = tenant.settings.support.business_hours, tenant.settings.tz, tenant.settings.sla.normal
    ticket.created_at = opened
    ticket.first_response_due_at = add_business_hours(opened, target.first_response_hours, hours, tz)
    ticket.resolution_due_at = add_business_hours(opened, target.resolution_hours + waiting, hours, tz)
    ticket.waiting_hours = waiting
    ticket.tier = tier
    ticket.first_responded_at = opened + dt.timedelta(hours=response) if response is not None else None
    if resolution is not None:
        ticket.resolved_at = opened + dt.timedelta(hours=resolution)
        ticket.status = "resolved"
    ticket.first_response_breached = late_response
    ticket.resolution_breached = late_resolution
    ticket.rating = rating
    db.session.commit()
    return ticket


@pytest.fixture
def insight_data(app):
    """Load the data set; returns the references of the Farajaland tickets in order."""
    with app.app_context():
        faraja = get_tenant("farajaland")
        with tenant_scope(db.session, faraja.id):
            a = auth_services.create_user("agent-a@example.org", name="Agent A")
            auth_services.add_membership(faraja, a, Role.REQUESTER, "Registration agent", IBOMBO)
            b = auth_services.create_user("registrar-b@example.org", name="Registrar B")
            auth_services.add_membership(faraja, b, Role.REQUESTER, "Registrar", ISAMBA)
            db.session.commit()
            people = {"a": (a, IBOMBO), "b": (b, ISAMBA)}
            refs = []
            for who, *rest in FARAJALAND:
                user, office = people[who]
                refs.append(add_ticket(faraja, user, *rest, office=office).reference)
            admin = auth_services.create_user("l1-links@example.org")
            auth_services.add_membership(faraja, admin, Role.L1_AGENT)
            for ref in refs[4:6]:
                insights.link_article(faraja, admin, tickets.get_ticket_by_reference(faraja, ref), *PASSWORD_ARTICLE)
            # Knowledge base activity: searches (for gaps and deflection) and feedback.
            from portal.kb.models import ArticleFeedback, SearchLog

            for locale, query, results, opened, user, when in [
                ("en", "print certificate", 3, None, a, "2026-10-05 08:00"),  # a opened a ticket that day
                ("en", "password", 2, "reset-password", b, "2026-10-10 08:00"),  # b opened none that day or the next
                ("en", "Birth certificate printer ", 0, None, None, "2026-10-08 08:00"),
                ("en", "birth certificate printer", 0, None, None, "2026-10-09 08:00"),
                ("fr", "imprimer acte", 0, None, None, "2026-10-09 09:00"),
                ("en", "old search", 0, None, None, "2026-09-01 09:00"),  # outside the period
            ]:
                db.session.add(SearchLog(locale=locale, query=query, result_count=results, opened_slug=opened,
                                         user_id=user.id if user else None, created_at=_at(when)))
            db.session.add(ArticleFeedback(slug="reset-password", locale="en", is_helpful=False, comment="Code never arrives", created_at=_at("2026-10-11 08:00")))
            db.session.add(ArticleFeedback(slug="reset-password", locale="en", is_helpful=True, created_at=_at("2026-10-12 08:00")))
            # Assistant turns: two printing questions handed over, one solved.
            from portal.assistant.models import Conversation, Turn

            conversation = Conversation(locale="en", user_id=a.id)
            for question, outcome in [("My certificate printer prints blank", "handed_over"), ("certificate printing broken", "handed_over"),
                                      ("how to print a certificate", "solved")]:
                db.session.add(Turn(conversation=conversation, locale="en", question=question, outcome=outcome, created_at=_at("2026-10-07 08:00")))
            # A request for a person, handed over too: not a question the articles missed.
            db.session.add(Turn(conversation=conversation, locale="en", question="printer person please", outcome="handed_over",
                                asked_for_person=True, created_at=_at("2026-10-07 09:00")))
            db.session.commit()
        kalondo = get_tenant("kalondo")
        with tenant_scope(db.session, kalondo.id):
            k = auth_services.create_user("kalondo-agent@example.org")
            auth_services.add_membership(kalondo, k, Role.REQUESTER, "Officier d'état civil", "Centre d'état civil de Mbanga")
            db.session.commit()
            add_ticket(kalondo, k, "declarations", "Kalondo secret declaration problem", "web", "L1", "2026-10-06 09:00",
                       response=5, office="Centre d'état civil de Mbanga")
    return refs
