"""Due times on every ticket, and `tickets sla-check` marking breaches once, notifying or escalating."""
from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import update

from portal.core.db import db, tenant_scope, utcnow
from portal.core.mail import sent_mail
from portal.tenancy.services import get_tenant
from portal.tickets import services
from portal.tickets.business_time import add_business_hours
from portal.tickets.models import Ticket


def make_overdue(in_tenant):
    def run(t):
        db.session.execute(update(Ticket).values(first_response_due_at=utcnow() - dt.timedelta(hours=1), resolution_due_at=utcnow() - dt.timedelta(minutes=5)))
        db.session.commit()

    in_tenant(run)


def test_due_times_follow_the_priority_targets_in_business_hours(in_tenant, requester, make_ticket):
    make_ticket(priority="urgent")

    def check(t):
        ticket = services.get_ticket_by_reference(t, "FAR-000001")
        hours, tz = t.settings.support.business_hours, t.settings.tz
        assert ticket.first_response_due_at == add_business_hours(ticket.created_at, 1, hours, tz)
        assert ticket.resolution_due_at == add_business_hours(ticket.created_at, 8, hours, tz)
        services.update_ticket(t, None, ticket, priority="low")
        assert ticket.resolution_due_at == add_business_hours(ticket.created_at, 80, hours, tz)

    in_tenant(check)


def test_sla_check_marks_breaches_once_and_notifies_the_assignee(app, runner, in_tenant, requester, l1, make_ticket):
    reference = make_ticket(category="access-and-login")
    make_overdue(in_tenant)
    result = runner.invoke(args=["tickets", "sla-check"])
    assert result.exit_code == 0, result.output
    assert f"farajaland: {reference} first_response breached" in result.output
    assert f"farajaland: {reference} resolution breached" in result.output
    with app.app_context():
        mails = [m for m in sent_mail() if "Service level missed" in m["Subject"]]
    assert [m["To"] for m in mails] == ["l1@farajaland.demo", "l1@farajaland.demo"]
    again = runner.invoke(args=["tickets", "sla-check"])
    assert "0 new breaches" in again.output


def test_waiting_on_the_requester_pauses_the_resolution_clock(in_tenant, requester, l1, make_ticket):
    reference = make_ticket()

    def run(t):
        ticket = services.get_ticket_by_reference(t, reference)
        services.change_status(t, None, ticket, "waiting")
        due_before = ticket.resolution_due_at
        ticket.waiting_since = utcnow() - dt.timedelta(days=7)  # a full working week passed
        db.session.commit()
        services.change_status(t, None, ticket, "open")
        assert ticket.resolution_due_at > due_before

    in_tenant(run)


def test_a_priority_change_keeps_the_time_spent_waiting_off_the_clock(in_tenant, requester, l1, make_ticket):
    reference = make_ticket()

    def run(t):
        ticket = services.get_ticket_by_reference(t, reference)
        hours, tz = t.settings.support.business_hours, t.settings.tz
        services.change_status(t, None, ticket, "waiting")
        ticket.waiting_since = utcnow() - dt.timedelta(days=7)
        db.session.commit()
        services.change_status(t, None, ticket, "open")
        waited = ticket.waiting_hours
        assert waited > 0
        services.update_ticket(t, None, ticket, priority="high")
        target = t.settings.sla.high.resolution_hours
        assert ticket.resolution_due_at == add_business_hours(ticket.created_at, target + waited, hours, tz)

    in_tenant(run)


def test_escalation_policy_raises_priority_and_hands_to_level_2(app, configure_tenant, in_tenant, requester, l1, l2, make_ticket):
    reference = make_ticket(category="access-and-login")
    configure_tenant("farajaland", "sla", on_breach="escalate")
    make_overdue(in_tenant)

    def run(t):
        services.check_sla(t)
        ticket = services.get_ticket_by_reference(t, reference)
        return ticket.status, ticket.tier, ticket.priority, ticket.assignee.email

    with app.app_context():
        before = len(sent_mail())
    status, tier, priority, assignee = in_tenant(run)
    assert (status, tier, assignee) == ("escalated", "L2", "l2@farajaland.demo")
    assert priority == "urgent"  # normal -> high -> urgent: one step per breach
    with app.app_context():  # the technician gets one notice, saying why, not a second "service level missed"
        subjects = [m["Subject"] for m in sent_mail()[before:] if m["To"] == "l2@farajaland.demo"]
    assert subjects == [f"[{reference}] Escalated to Level 2"]


def test_concurrent_sla_checks_act_once_per_breach(app, in_tenant, requester, make_ticket):
    for _ in range(4):
        make_ticket()
    make_overdue(in_tenant)
    found, errors = [], []
    barrier = threading.Barrier(3)

    def worker():
        try:
            with app.app_context():
                tenant = get_tenant("farajaland")
                with tenant_scope(db.session, tenant.id):
                    barrier.wait()
                    found.extend((t.reference, kind) for t, kind in services.check_sla(tenant))
                db.session.remove()
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(found) == 8 and len(set(found)) == 8
