"""Escalation fixtures: both countries' staff, an L3 expert, and helpers that move tickets up."""
from __future__ import annotations

import pytest

from portal.auth import services as auth_services
from portal.auth.permissions import GlobalRole, Role
from portal.core.db import db
from portal.escalation import services
from portal.tickets import services as tickets
from portal.tickets.models import Ticket
from tests.tickets.conftest import in_tenant  # noqa: F401  (the same fixture, shared)

L3_DETAILS = {
    "reason": "Core defect: the outbox never retries after a timeout.",
    "severity": "high",
    "environment": "production",
    "device": "Tecno Spark 10",
    "os": "Android 13",
    "browser": "Chrome 120",
    "steps": "Go offline, declare a birth, come back online after 20 minutes.",
    "expected": "The declaration is sent.",
    "actual": "It stays in the outbox with failed to send.",
    "impact": "All field agents of two districts.",
    "regression": "yes",
}


PEOPLE = {
    "far_l1": dict(email="l1@farajaland.demo", role=Role.L1_AGENT, name="Lina First"),
    "far_l2": dict(email="l2@farajaland.demo", role=Role.L2_TECHNICIAN, name="Tom Tech"),
    "far_admin": dict(email="admin@farajaland.demo", role=Role.TENANT_ADMIN, name="Ada Admin"),
    "far_req": dict(email="clerk@example.org", role=Role.REQUESTER, name="Clara Clerk", phone="+260 97 123 4567"),
    "kal_l1": dict(email="l1@kalondo.demo", tenant="kalondo", role=Role.L1_AGENT, name="Luc Premier"),
    "kal_l2": dict(email="l2@kalondo.demo", tenant="kalondo", role=Role.L2_TECHNICIAN, name="Théo Tech"),
    "kal_admin": dict(email="admin@kalondo.demo", tenant="kalondo", role=Role.TENANT_ADMIN, name="Aline Admin"),
    "kal_req": dict(email="agent@kalondo.example", tenant="kalondo", role=Role.REQUESTER, name="Awa Agent", locale="fr"),
    "expert": dict(email="expert@crvs.demo", tenant=None, role=None, global_role=GlobalRole.L3_EXPERT, name="Eva Expert"),
}


class _Staff(dict):
    """Staff of both countries and the central team by short name, created on first use (hashing
    passwords is slow, so a test pays only for the people it needs)."""

    def __init__(self, make_user):
        super().__init__()
        self.make_user = make_user

    def __missing__(self, key):
        self[key] = self.make_user(**PEOPLE[key])
        return self[key]


@pytest.fixture
def staff(make_user):
    return _Staff(make_user)


@pytest.fixture
def open_ticket(in_tenant):
    """Open a ticket as `requester` in `tenant` through the service; returns its reference."""

    def factory(requester: str, tenant: str = "farajaland", subject: str = "Declaration stuck in the outbox", body: str = "Failed to send since this morning."):
        def run(t):
            user = auth_services.get_user_by_email(requester)
            contact = tickets.find_or_create_contact(t, user=user, phone=user.phone)
            return tickets.open_ticket(t, user, requester=contact, subject=subject, body=body).reference

        return in_tenant(run, tenant)

    return factory


@pytest.fixture
def move_up(in_tenant):
    """Escalate a ticket one level as `actor` (service call); returns the step id."""

    def factory(reference: str, actor: str, tenant: str = "farajaland", **data):
        def run(t):
            ticket = tickets.get_ticket_by_reference(t, reference)
            user = auth_services.get_user_by_email(actor)
            return services.escalate_ticket(t, user, ticket, {**L3_DETAILS, **data}).id

        return in_tenant(run, tenant)

    return factory


@pytest.fixture
def to_l3(open_ticket, move_up, staff):
    """A ticket opened by the country's requester and escalated L1 → L2 → L3; returns (reference, step id)."""

    def factory(tenant: str = "farajaland", subject: str = "Declaration stuck in the outbox", **data):
        prefix = "far" if tenant == "farajaland" else "kal"
        reference = open_ticket(staff[f"{prefix}_req"], tenant, subject=subject)
        move_up(reference, staff[f"{prefix}_l1"], tenant)
        return reference, move_up(reference, staff[f"{prefix}_l2"], tenant, **data)

    return factory


@pytest.fixture
def read_ticket(in_tenant):
    """(status, tier, [(is_public, body)]) of a ticket, read in its tenant."""

    def factory(reference: str, tenant: str = "farajaland"):
        def run(t):
            ticket = db.session.scalar(db.select(Ticket).where(Ticket.reference == reference))
            return ticket.status, ticket.tier, [(m.is_public, m.body) for m in tickets.conversation(ticket, include_internal=True)]

        return in_tenant(run, tenant)

    return factory


@pytest.fixture
def token_for(app):
    def factory(email: str) -> str:
        with app.app_context():
            value = auth_services.issue_api_token(auth_services.get_user_by_email(email), "test")
            db.session.commit()
        return value

    return factory

