"""Ticket references: per tenant, from the country code, unique and gapless under concurrency."""
from __future__ import annotations

import io
import threading

from sqlalchemy import select

from portal.core.db import db, tenant_scope
from portal.tenancy.services import get_tenant
from portal.tickets import services
from portal.tickets.models import Ticket
from portal.tickets.storage import AttachmentRejected


def test_references_are_numbered_per_tenant_from_the_country_code(make_ticket, requester, make_user):
    make_user("clerk@kalondo.example", tenant="kalondo")
    assert make_ticket() == "FAR-000001"
    assert make_ticket() == "FAR-000002"
    assert make_ticket(requester_email="clerk@kalondo.example", tenant="kalondo") == "KAL-000001"


def test_concurrent_creation_gives_gapless_unique_references(app, requester):
    threads_count, per_thread = 6, 5
    errors = []
    barrier = threading.Barrier(threads_count)

    def worker():
        try:
            with app.app_context():
                tenant = get_tenant("farajaland")
                with tenant_scope(db.session, tenant.id):
                    contact = services.find_or_create_contact(tenant, email="crowd@example.org")
                    db.session.commit()
                    barrier.wait()
                    for _ in range(per_thread):
                        services.open_ticket(tenant, None, requester=contact, subject="Outbox stuck", body="Failed to send", channel="whatsapp")
                db.session.remove()
        except Exception as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(threads_count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with app.app_context():
        tenant = get_tenant("farajaland")
        with tenant_scope(db.session, tenant.id):
            numbers = sorted(db.session.scalars(select(Ticket.number)))
            references = set(db.session.scalars(select(Ticket.reference)))
    total = threads_count * per_thread
    assert numbers == list(range(1, total + 1))
    assert len(references) == total


def test_a_failed_creation_gives_its_number_back(in_tenant, make_ticket, requester):
    assert make_ticket() == "FAR-000001"

    def fail(t):
        contact = services.find_or_create_contact(t, email="x@example.org")
        db.session.commit()
        try:  # the attachment is refused after the number was taken
            services.open_ticket(t, None, requester=contact, subject="x", body="y", attachments=[("tool.exe", io.BytesIO(b"MZ\x90\x00\x03" + bytes(200)))])
        except AttachmentRejected:
            pass
        else:
            raise AssertionError("the attachment should have been refused")

    in_tenant(fail)
    assert make_ticket() == "FAR-000002"
