"""Two changes to one ticket at the same moment (two agents, two app servers): the second waits for
the first and then checks the ticket as it is now.

Each PostgreSQL test holds the ticket's row in a transaction of its own, sends a request that must
wait for it, makes a change there (as a first request on another server would) and commits: the
request waiting must see that change. Without the lock it would go ahead on what it read before.
"""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, update

from portal.core.db import db, utcnow
from portal.escalation.models import TierStep
from portal.tickets.models import Message, Ticket
from tests.conftest import until_waiting


def _while_held(app, reference, send, change):
    """Run `send()` in a thread while another transaction holds the ticket's row; once `send`
    waits for the row, run `change(connection, ticket_id)` there and commit. Returns send's result."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("row locks are PostgreSQL's; SQLite lets one writer in at a time")
        with db.engine.connect() as first:
            ticket_id = first.execute(select(Ticket.id).where(Ticket.reference == reference)).scalar_one()
            first.execute(select(Ticket.id).where(Ticket.id == ticket_id).with_for_update())
            result = {}
            thread = threading.Thread(target=lambda: result.update(response=send()))
            thread.start()
            until_waiting(first, "the request")
            change(first, ticket_id)
            first.commit()
            thread.join(timeout=30)
    return result["response"]


def _ticket(app, reference):
    """(status, tier, assignee id, merged into id), read past the ORM's tenant scoping."""
    with app.app_context(), db.engine.connect() as conn:
        return tuple(conn.execute(select(Ticket.status, Ticket.tier, Ticket.assignee_id, Ticket.merged_into_id).where(Ticket.reference == reference)).one())


def _count(app, model):
    with app.app_context(), db.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar()


def test_a_reply_sent_while_the_ticket_is_being_closed_is_refused(app, client, auth, requester, make_ticket):
    reference = make_ticket()
    auth.login(requester)
    messages = _count(app, Message)

    def close(conn, ticket_id):
        conn.execute(update(Ticket).where(Ticket.id == ticket_id).values(status="closed", closed_at=utcnow()))

    response = _while_held(app, reference, lambda: client.post(f"/farajaland/tickets/{reference}/reply", data={"body": "Still no SMS"}, follow_redirects=True), close)
    assert "This request is closed" in response.get_data(as_text=True)
    assert _ticket(app, reference)[0] == "closed"
    assert _count(app, Message) == messages


def test_an_escalation_sent_while_another_moves_the_ticket_makes_no_second_step(app, client, auth, l1, make_ticket):
    reference = make_ticket()
    auth.login(l1)

    def escalated_meanwhile(conn, ticket_id):
        conn.execute(update(Ticket).where(Ticket.id == ticket_id).values(tier="L2", status="escalated"))

    response = _while_held(app, reference, lambda: client.post(f"/farajaland/tickets/{reference}/escalation/up", data={"up-reason": "Needs a technician", "up-severity": "high"}), escalated_meanwhile)
    assert response.status_code in (403, 409)
    assert _count(app, TierStep) == 0
    assert _ticket(app, reference)[1] == "L2"


def test_two_tickets_merged_into_each_other_at_once_leave_one_open(app, client, auth, l1, make_ticket):
    first, second = make_ticket(subject="No SMS"), make_ticket(subject="SMS never comes")
    auth.login(l1)

    def merged_meanwhile(conn, ticket_id):  # the other agent merged the first ticket into the second
        other = conn.execute(select(Ticket.id).where(Ticket.reference == second)).scalar_one()
        conn.execute(update(Ticket).where(Ticket.id == ticket_id).values(merged_into_id=other, status="closed", closed_at=utcnow()))

    response = _while_held(app, first, lambda: client.post(f"/farajaland/tickets/{second}/merge", data={"target": first}, follow_redirects=True), merged_meanwhile)
    assert "Merge into an open ticket" in response.get_data(as_text=True)
    assert _ticket(app, second)[0] != "closed" and _ticket(app, second)[3] is None


def test_taking_a_ticket_a_colleague_took_meanwhile_is_refused_with_their_name(app, client, auth, l1, l2, make_user, make_ticket, in_tenant):
    """Tom's page showed the ticket with Lina; a colleague took it before his "Assign to me" arrived."""
    from portal.auth.permissions import Role
    from portal.auth.services import get_user_by_email
    from portal.tickets import services

    reference = make_ticket()
    lina = _ticket(app, reference)[2]  # the first-line group's agent got it on opening
    assert lina is not None
    auth.login(l2)
    page = client.get(f"/farajaland/tickets/{reference}").get_data(as_text=True)
    assert f'name="assignee" value="{lina}"' in page
    sam = make_user(role=Role.L1_AGENT, name="Sam Second")

    def colleague_takes(t):
        user = get_user_by_email(sam)
        services.assign(t, user, services.get_ticket_by_reference(t, reference), user)

    in_tenant(colleague_takes)
    response = client.post(f"/farajaland/tickets/{reference}/take", data={"assignee": str(lina)}, follow_redirects=True)
    assert "Meanwhile this ticket was given to Sam Second" in response.get_data(as_text=True)
    with app.app_context():
        assert _ticket(app, reference)[2] == get_user_by_email(sam).id
    # Seen as Sam's, it is taken from him on purpose.
    response = client.post(f"/farajaland/tickets/{reference}/take", data={"assignee": str(_ticket(app, reference)[2])}, follow_redirects=True)
    assert "is assigned to you" in response.get_data(as_text=True)
    assert _ticket(app, reference)[2] != lina
