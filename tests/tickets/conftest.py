"""Ticket fixtures: staff and requesters of Farajaland, and a `make_ticket` factory."""
from __future__ import annotations

import pytest

from portal.auth.permissions import Role
from portal.auth.services import get_user_by_email
from portal.core.db import db, tenant_scope
from portal.tenancy.services import get_tenant
from portal.tickets import services


@pytest.fixture
def l1(make_user):
    """The Level 1 agent named in Farajaland's first-line group."""
    return make_user("l1@farajaland.demo", role=Role.L1_AGENT, name="Lina First")


@pytest.fixture
def l2(make_user):
    return make_user("l2@farajaland.demo", role=Role.L2_TECHNICIAN, name="Tom Tech")


@pytest.fixture
def requester(make_user):
    return make_user("clerk@example.org", role=Role.REQUESTER, name="Clara Clerk")


@pytest.fixture
def in_tenant(app):
    """Run a function as a tenant inside an app context: `in_tenant(fn, slug="farajaland")`."""

    def run(fn, slug="farajaland"):
        with app.app_context():
            tenant = get_tenant(slug)
            with tenant_scope(db.session, tenant.id):
                return fn(tenant)

    return run


@pytest.fixture
def make_ticket(in_tenant):
    """Open a ticket through the service and return its reference."""

    def factory(requester_email="clerk@example.org", tenant="farajaland", subject="Verification code never arrives", body="I asked three times, no SMS.", **kwargs):
        def run(t):
            user = get_user_by_email(requester_email) if requester_email else None
            contact = services.find_or_create_contact(t, user=user) if user else services.find_or_create_contact(t, email="walkin@example.org", name="Walk In")
            return services.open_ticket(t, user, requester=contact, subject=subject, body=body, **kwargs).reference

        return in_tenant(run, tenant)

    return factory
