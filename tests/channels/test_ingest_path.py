"""The email ingest path with the real ticket desk: one commit when all goes well, the raw message
kept whatever fails, and never a second ticket for one message."""
import pytest
from sqlalchemy import event, func, select

from portal.channels import routing
from portal.channels.mail import ingest_email
from portal.channels.models import InboundMessage
from portal.core.db import db, tenant_scope
from portal.tenancy.services import get_tenant
from portal.tickets import services as tickets
from portal.tickets.models import Ticket
from tests.channels.conftest import fixture_bytes

MESSAGE = fixture_bytes("plain_utf8_qp.eml")


@pytest.fixture(autouse=True)
def seeded_categories(app):
    """The very first ticket of a country seeds its categories (and commits that on its own)."""
    with app.app_context():
        tenant = get_tenant("farajaland")
        with tenant_scope(db.session, tenant.id):
            tickets.ensure_categories(tenant)


def ingest(app, raw=MESSAGE):
    with app.app_context():
        result = ingest_email(get_tenant("farajaland"), raw)
        return result.created, str(result.status)


def state(app):
    """(inbound rows as (status, ticket_id, error), ticket ids) of Farajaland."""
    with app.app_context(), tenant_scope(db.session, get_tenant("farajaland").id):
        rows = [(r.status, r.ticket_id, r.error) for r in db.session.scalars(select(InboundMessage).order_by(InboundMessage.id))]
        ticket_ids = list(db.session.scalars(select(Ticket.id).order_by(Ticket.id)))
        return rows, ticket_ids


def test_a_new_message_is_stored_and_becomes_a_ticket_in_one_commit(app):
    with app.app_context():
        tenant = get_tenant("farajaland")
        commits = []
        listener = lambda conn: commits.append(1)  # noqa: E731
        event.listen(db.engine, "commit", listener)
        try:
            result = ingest_email(tenant, MESSAGE)
        finally:
            event.remove(db.engine, "commit", listener)
        assert result.created and result.status == "processed"
        assert len(commits) == 1
    [(status, ticket_id, error)], [ticket] = state(app)
    assert (status, ticket_id, error) == ("processed", ticket, "")


def test_message_after_message_the_tenant_is_read_once_and_a_new_ticket_takes_three_flushes(app):
    with app.app_context():
        tenant = get_tenant("farajaland")
        ingest_email(tenant, MESSAGE)
        statements, flushes = [], []
        on_statement = lambda conn, cursor, statement, *args: statements.append(statement)  # noqa: E731
        on_flush = lambda session, context, instances: flushes.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", on_statement)
        event.listen(db.session(), "before_flush", on_flush)
        try:
            second = MESSAGE.replace(b"Message-ID: <qp-utf8-1@", b"Message-ID: <qp-utf8-2@").replace(b"amina.banda@", b"amina.b@")
            result = ingest_email(tenant, second)
        finally:
            event.remove(db.engine, "before_cursor_execute", on_statement)
            event.remove(db.session(), "before_flush", on_flush)
        assert result.created and result.status == "processed"
        assert not [s for s in statements if "FROM tenants" in s]
        # The inbound row; the new requester, ticket and first message; the commit.
        assert len(flushes) == 3
    [_, (status, ticket_id, _error)], [_, ticket] = state(app)
    assert (status, ticket_id) == ("processed", ticket)


def test_a_failure_inside_the_desk_keeps_the_raw_message_and_leaves_no_half_ticket(app, client, auth, make_user, monkeypatch):
    def full_disk(*args, **kwargs):
        raise OSError("attachment folder is full")

    original = tickets._attach
    monkeypatch.setattr(tickets, "_attach", full_disk)  # after the ticket and its message were flushed
    assert ingest(app) == (True, "quarantined")
    [(status, ticket_id, error)], ticket_ids = state(app)
    assert status == "quarantined" and "attachment folder is full" in error
    assert ticket_id is None and ticket_ids == []  # rolled back with the failure
    with app.app_context(), tenant_scope(db.session, get_tenant("farajaland").id):
        row = db.session.scalar(select(InboundMessage))
        assert row.raw == MESSAGE and row.sender == "amina.banda@health.farajaland.example"  # what an admin sees in the inbox
        assert row.summary == "Code de vérification non reçu" and row.attempts == 1
    monkeypatch.setattr(tickets, "_attach", original)
    from portal.auth.permissions import Role

    auth.login(make_user(role=Role.TENANT_ADMIN))
    with app.app_context(), tenant_scope(db.session, get_tenant("farajaland").id):
        inbound_id = db.session.scalar(select(InboundMessage.id))
    client.post(f"/farajaland/channels/inbox/{inbound_id}/reprocess")
    [(status, ticket_id, _error)], [ticket] = state(app)
    assert (status, ticket_id) == ("processed", ticket)


def test_a_crash_before_the_commit_leaves_nothing_and_the_sender_can_deliver_again(app, monkeypatch):
    """The MTA, the SMTP client or the IMAP box are told the message arrived only after the commit:
    a crash before it (here an interrupt inside the desk) must leave no trace, so that the copy
    they deliver again is processed as new."""

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    original = tickets.pick_assignee
    monkeypatch.setattr(tickets, "pick_assignee", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ingest(app)
    assert state(app) == ([], [])
    monkeypatch.setattr(tickets, "pick_assignee", original)
    assert ingest(app) == (True, "processed")
    assert len(state(app)[1]) == 1


def test_a_failure_after_the_ticket_was_committed_does_not_quarantine_it(app, monkeypatch):
    route = routing.route_email

    def route_then_fail(tenant, inbound, parsed):
        route(tenant, inbound, parsed)
        raise RuntimeError("failed after the desk committed")

    monkeypatch.setattr(routing, "route_email", route_then_fail)
    assert ingest(app) == (True, "processed")
    [(status, ticket_id, _error)], [ticket] = state(app)
    assert (status, ticket_id) == ("processed", ticket)  # nothing to re-process: no second ticket


def test_the_same_message_again_is_a_duplicate_without_a_second_ticket(app):
    assert ingest(app) == (True, "processed")
    assert ingest(app) == (False, "processed")
    rows, ticket_ids = state(app)
    assert len(rows) == 1 and len(ticket_ids) == 1


def test_a_reply_joins_its_ticket_in_the_same_single_commit(app):
    ingest(app)
    reply = (
        b"From: Amina Banda <amina.banda@health.farajaland.example>\nTo: support@farajaland.example\n"
        b"Subject: Re: code\nMessage-ID: <qp-utf8-2@health.farajaland.example>\n"
        b"In-Reply-To: <qp-utf8-1@health.farajaland.example>\n\nStill nothing today.\n"
    )
    with app.app_context():
        commits = []
        listener = lambda conn: commits.append(1)  # noqa: E731
        event.listen(db.engine, "commit", listener)
        try:
            result = ingest_email(get_tenant("farajaland"), reply)
        finally:
            event.remove(db.engine, "commit", listener)
        assert (result.created, str(result.status), len(commits)) == (True, "processed", 1)
    rows, [ticket] = state(app)
    assert [r[1] for r in rows] == [ticket, ticket]
    with app.app_context(), tenant_scope(db.session, get_tenant("farajaland").id):
        assert db.session.scalar(select(func.count()).select_from(Ticket)) == 1
