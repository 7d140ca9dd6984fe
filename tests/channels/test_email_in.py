"""Email in: pipe, SMTP and IMAP over one ingest function; nothing lost, nothing looping."""
import smtplib

import pytest
from sqlalchemy import func, select

from portal.auth.permissions import Role
from portal.channels import mail, services
from portal.channels.models import InboundMessage, OutboundMessage
from portal.core.db import db, tenant_scope
from portal.tenancy.services import get_tenant
from tests.channels.conftest import fixture_bytes, free_port


def inbound_rows(app, slug="farajaland"):
    with app.app_context():
        tenant = get_tenant(slug)
        with tenant_scope(db.session, tenant.id):
            rows = db.session.scalars(select(InboundMessage).order_by(InboundMessage.id)).all()
            db.session.expunge_all()
            return rows


def pipe(runner, name, tenant="farajaland"):
    return runner.invoke(args=["channels", "email-ingest", "--tenant", tenant], input=fixture_bytes(name))


def test_piped_mail_opens_a_ticket_with_its_attachments(app, runner, fake_desk):
    result = pipe(runner, "alternative_attachments.eml")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("stored ")
    [ticket] = fake_desk.tickets.values()
    assert ticket["subject"] == "Declaration stuck in outbox"
    assert ticket["channel"] == "email"
    assert {name for name, _ in ticket["attachments"]} == {"shot1@x", "déclaration n°1.pdf", "journal_été.txt"}
    [row] = inbound_rows(app)
    assert (row.status, row.sender, row.ticket_id) == ("processed", "grace.tembo@farajaland.example", ticket["ticket"].id)


def test_the_same_message_id_twice_is_stored_once(app, runner, fake_desk):
    assert pipe(runner, "utf8_base64.eml").exit_code == 0
    again = pipe(runner, "utf8_base64.eml")
    assert again.exit_code == 0 and again.output.startswith("duplicate ")
    assert len(inbound_rows(app)) == 1
    assert len(fake_desk.tickets) == 1


def test_a_reply_continues_its_ticket_by_headers_or_by_reference(app, runner, fake_desk):
    pipe(runner, "plain_utf8_qp.eml")
    [ticket] = fake_desk.tickets.values()
    with app.app_context():
        tenant = get_tenant("farajaland")
        with tenant_scope(db.session, tenant.id):
            services.enqueue(tenant, "email", "amina.banda@health.farajaland.example", {"text": "Try again"}, ticket_id=ticket["ticket"].id, provider_id="out-1@farajaland.example")
            db.session.commit()
    pipe(runner, "reply_en.eml")  # In-Reply-To: <out-1@farajaland.example>
    # No headers, "FAR-000042" in the subject, from the requester.
    runner.invoke(args=["channels", "email-ingest", "--tenant", "farajaland"],
                  input=fixture_bytes("reply_fr.eml").replace(b"Jean Kabwe <jean.kabwe@farajaland.example>", b"Amina Banda <Amina.Banda@health.farajaland.example>"))
    assert len(fake_desk.tickets) == 1
    assert [(m["ticket"], m["body"]) for m in fake_desk.messages] == [
        (42, "Thank you, it works now."),
        (42, "Toujours le même problème après la mise à jour."),
    ]


def test_a_reference_in_the_subject_from_someone_else_opens_their_own_ticket(app, runner, fake_desk):
    pipe(runner, "plain_utf8_qp.eml")  # FAR-000042, Amina Banda's
    pipe(runner, "reply_fr.eml")  # "Re: ... FAR-000042" from Jean Kabwe, with no In-Reply-To
    assert fake_desk.messages == []  # nothing added to Amina's request
    assert len(fake_desk.tickets) == 2
    theirs = fake_desk.tickets[43]
    assert "FAR-000042" in theirs["subject"] and theirs["requester"].email == "jean.kabwe@farajaland.example"


@pytest.mark.parametrize("name", ["auto_reply.eml", "bulk_list.eml", "bounce_dsn.eml"])
def test_auto_replies_and_bounces_never_open_tickets_nor_get_answers(app, runner, fake_desk, name):
    assert pipe(runner, name).exit_code == 0
    [row] = inbound_rows(app)
    assert row.status == "ignored" and row.error
    assert fake_desk.tickets == {} and fake_desk.messages == []
    with app.app_context(), tenant_scope(db.session, get_tenant("farajaland").id):
        assert db.session.scalar(select(func.count(OutboundMessage.id))) == 0


def test_a_bounce_marks_our_message_failed(app, runner, fake_desk):
    with app.app_context():
        tenant = get_tenant("farajaland")
        with tenant_scope(db.session, tenant.id):
            services.enqueue(tenant, "email", "nobody@nowhere.example", {"text": "x"}, provider_id="out-bounced-1@farajaland.example").status = "sent"
            db.session.commit()
    pipe(runner, "bounce_dsn.eml")
    with app.app_context(), tenant_scope(db.session, get_tenant("farajaland").id):
        out = db.session.scalar(select(OutboundMessage))
        assert out.status == "failed" and out.last_error.startswith("bounced")


def test_mail_from_our_own_address_is_ignored(app, runner, fake_desk):
    raw = fixture_bytes("utf8_base64.eml").replace(b"Peter Phiri <peter.phiri@farajaland.example>", b"<support@farajaland.example>")
    runner.invoke(args=["channels", "email-ingest", "--tenant", "farajaland"], input=raw)
    assert inbound_rows(app)[0].status == "ignored"
    assert fake_desk.tickets == {}


@pytest.mark.parametrize("name", ["malformed_no_headers.eml", "malformed_no_sender.eml"])
def test_malformed_mail_is_quarantined_and_shown_to_tenant_admins(app, runner, client, auth, make_user, fake_desk, name):
    assert pipe(runner, name).exit_code == 0  # stored: the MTA must not bounce it
    [row] = inbound_rows(app)
    assert row.status == "quarantined"
    auth.login(make_user(role=Role.TENANT_ADMIN))
    page = client.get("/farajaland/channels/inbox").get_data(as_text=True)
    assert row.error in page
    detail = client.get(f"/farajaland/channels/inbox/{row.id}").get_data(as_text=True)
    assert "Process again" in detail


def test_the_inbox_is_for_tenant_admins_only(client, auth, make_user):
    auth.login(make_user(role=Role.L1_AGENT))
    assert client.get("/farajaland/channels/inbox").status_code == 403


def test_a_crash_after_storing_keeps_the_message_for_reprocessing(app, runner, client, auth, make_user, fake_desk, monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("database went away mid-processing")

    monkeypatch.setattr(fake_desk, "open_ticket", crash)
    assert pipe(runner, "html_only.eml").exit_code == 0
    [row] = inbound_rows(app)
    assert row.status == "quarantined" and "database went away" in row.error
    assert b"Chikobo Rural Health Centre" in row.raw
    monkeypatch.undo()
    from portal.channels import routing

    monkeypatch.setattr(routing, "_tickets", lambda: fake_desk)
    monkeypatch.setattr(routing, "_ticket_by_id", lambda ticket_id: None)
    auth.login(make_user(role=Role.TENANT_ADMIN))
    response = client.post(f"/farajaland/channels/inbox/{row.id}/reprocess", follow_redirects=True)
    assert "The message was processed." in response.get_data(as_text=True)
    assert [t["subject"] for t in fake_desk.tickets.values()] == ["Health facility missing"]
    assert inbound_rows(app)[0].status == "processed"


def test_without_the_ticket_desk_mail_waits_as_received(app, runner, monkeypatch):
    from portal.channels import routing

    monkeypatch.setattr(routing, "_service", lambda module: None)
    assert pipe(runner, "utf8_base64.eml").exit_code == 0
    [row] = inbound_rows(app)
    assert row.status == "received" and "ticket desk" in row.error


def test_email_ingest_says_why_it_refuses(runner):
    result = runner.invoke(args=["channels", "email-ingest", "--tenant", "nowhere"], input=b"x")
    assert result.exit_code != 0 and "no tenant 'nowhere'" in result.output
    result = runner.invoke(args=["channels", "email-ingest", "--tenant", "farajaland"], input=b"")
    assert result.exit_code != 0 and "empty message" in result.output


def test_smtp_listener_stores_mail_for_a_country_address_and_refuses_others(app, fake_desk):
    from portal.cli.channels import smtp_controller

    port = free_port()
    controller = smtp_controller(app, "127.0.0.1", port)
    controller.start()
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
            smtp.sendmail("jose.mwale@farajaland.example", ["support@farajaland.example"], fixture_bytes("latin1_windows1252.eml"))
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                smtp.sendmail("x@example.org", ["nobody@elsewhere.example"], fixture_bytes("utf8_base64.eml"))
    finally:
        controller.stop()
    [row] = inbound_rows(app)
    assert row.status == "processed" and row.summary == "Frais de retard – combien ?"
    assert "5 €" in next(iter(fake_desk.tickets.values()))["body"]
