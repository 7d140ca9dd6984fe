"""End to end with the real ticket desk: a message becomes a ticket, an agent answers from the desk,
and the requester receives the answer on the channel they used."""
import email
from email import policy

from sqlalchemy import select

from portal.auth.permissions import Role
from portal.auth.services import get_user_by_email
from portal.channels.models import InboundMessage, OutboundMessage
from portal.core.db import db, tenant_scope
from portal.tenancy.services import get_tenant
from portal.tickets import services as tickets
from portal.tickets.models import Attachment, Message, Ticket
from tests.channels.conftest import fixture_bytes, sign, wa_text, whatsapp_body


def in_tenant(app, fn):
    with app.app_context():
        tenant = get_tenant("farajaland")
        with tenant_scope(db.session, tenant.id):
            return fn(tenant)


def agent_replies(app, agent_email, body):
    def run(tenant):
        ticket = db.session.scalar(select(Ticket))
        tickets.add_message(tenant, get_user_by_email(agent_email), ticket, body=body)
        return ticket.reference

    return in_tenant(app, run)


def test_an_email_becomes_a_ticket_and_the_agents_reply_threads_back(app, runner, make_user, smtp_sink):
    agent = make_user("l1@farajaland.demo", role=Role.L1_AGENT)
    assert runner.invoke(args=["channels", "email-ingest", "--tenant", "farajaland"], input=fixture_bytes("alternative_attachments.eml")).exit_code == 0

    def check(tenant):
        ticket = db.session.scalar(select(Ticket))
        assert (ticket.subject, ticket.channel, ticket.contact.email) == ("Declaration stuck in outbox", "email", "grace.tembo@farajaland.example")
        names = sorted(a.filename for a in db.session.scalars(select(Attachment)))
        assert len(names) == 3 and any(n.endswith(".pdf") for n in names)
        return ticket.reference

    reference = in_tenant(app, check)
    agent_replies(app, agent, "Please connect to the internet and open the outbox again.")
    # The outbox row was committed with the reply; nothing is sent until the worker runs.
    assert smtp_sink.messages == []
    assert "sent=1" in runner.invoke(args=["outbox", "work", "--once"]).output
    [envelope] = smtp_sink.messages
    msg = email.message_from_bytes(envelope.content, policy=policy.default)
    assert envelope.rcpt_tos == ["grace.tembo@farajaland.example"]
    assert msg["In-Reply-To"] == "<alt-att-1@farajaland.example>"
    assert reference in msg["Subject"]
    assert msg.get_body(("plain",)).get_content().startswith("Please connect to the internet")

    # The requester answers from their mail client: the answer joins the same ticket.
    answer = (
        f"From: Grace Tembo <grace.tembo@farajaland.example>\nTo: support@farajaland.example\n"
        f"Subject: Re: {msg['Subject']}\nMessage-ID: <grace-2@farajaland.example>\nIn-Reply-To: {msg['Message-ID']}\n\n"
        f"It worked, thank you!\n\nOn Mon, 30 Nov 2026, Farajaland wrote:\n> Please connect\n"
    ).encode()
    runner.invoke(args=["channels", "email-ingest", "--tenant", "farajaland"], input=answer)

    def conversation(tenant):
        assert db.session.query(Ticket).count() == 1
        return [m.body for m in db.session.scalars(select(Message).order_by(Message.id))]

    assert in_tenant(app, conversation)[-1] == "It worked, thank you!"


def test_a_whatsapp_message_becomes_a_ticket_and_the_agent_answers_on_whatsapp(app, client, runner, make_user, fake_api, monkeypatch):
    from portal.channels import routing

    monkeypatch.setattr(routing, "_service", lambda module: None if module == "portal.assistant.services" else routing.importlib.import_module(module))
    agent = make_user("l1@farajaland.demo", role=Role.L1_AGENT)
    body = whatsapp_body(wa_text("The app says user is currently deactivated"))
    assert client.post("/farajaland/channels/whatsapp", data=body, headers={"X-Hub-Signature-256": sign(body)}, content_type="application/json", buffered=True).status_code == 200

    def check(tenant):
        ticket = db.session.scalar(select(Ticket))
        assert (ticket.channel, ticket.contact.whatsapp_id, ticket.contact.name) == ("whatsapp", "260971234567", "Amina Banda")
        assert db.session.scalar(select(InboundMessage)).ticket_id == ticket.id

    in_tenant(app, check)
    runner.invoke(args=["outbox", "work", "--once"])  # the "a person will answer" confirmation
    agent_replies(app, agent, "Your account is active again, please sign in.")
    runner.invoke(args=["outbox", "work", "--once"])
    texts = [r["json"]["text"]["body"] for r in fake_api.requests if r["method"] == "POST"]
    assert texts[-1] == "Your account is active again, please sign in."
    assert all(r["json"]["to"] == "260971234567" for r in fake_api.requests if r["method"] == "POST")

    def delivery(tenant):
        reply = db.session.scalar(select(Message).where(Message.is_from_staff.is_(True)))
        out = db.session.scalar(select(OutboundMessage).where(OutboundMessage.ticket_message_id == reply.id))
        return out.status

    assert in_tenant(app, delivery) == "sent"


def test_an_internal_note_never_leaves_the_desk(app, runner, make_user, smtp_sink):
    agent = make_user("l1@farajaland.demo", role=Role.L1_AGENT)
    runner.invoke(args=["channels", "email-ingest", "--tenant", "farajaland"], input=fixture_bytes("utf8_base64.eml"))

    def note(tenant):
        ticket = db.session.scalar(select(Ticket))
        tickets.add_message(tenant, get_user_by_email(agent), ticket, body="check the printer driver", public=False)
        return db.session.query(OutboundMessage).count()

    assert in_tenant(app, note) == 0


def test_the_ticket_page_can_show_delivery_status_and_the_whatsapp_window(app, make_user, fake_api, smtp_sink):
    from flask import g, render_template_string

    agent = make_user("l1@farajaland.demo", role=Role.L1_AGENT)

    def run(tenant):
        contact = tickets.find_or_create_contact(tenant, whatsapp_id="260970000077", name="Old Chat")
        ticket = tickets.open_ticket(tenant, None, requester=contact, subject="Stuck", body="Stuck", channel="whatsapp")
        reply = tickets.add_message(tenant, get_user_by_email(agent), ticket, body="Try again")
        out = db.session.scalar(select(OutboundMessage).where(OutboundMessage.ticket_message_id == reply.id))
        out.record_delivery("failed", "Message undeliverable")
        db.session.commit()
        with app.test_request_context("/farajaland/"):
            g.tenant = tenant
            return render_template_string(
                '{% from "channels/_delivery.html" import delivery, window_notice with context %}{% set d = channel_deliveries(ticket) %}'
                "{{ window_notice(ticket) }}|{{ delivery(d.get(reply.id)) }}",
                ticket=ticket, reply=reply,
            )

    html = in_tenant(app, run)
    assert "more than 24 hours ago" in html and "support_reply" in html
    assert "Not delivered by whatsapp: Message undeliverable" in html
