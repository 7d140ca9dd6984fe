"""What the desk tells a requester reaches them on the channel they wrote from (email, WhatsApp,
Telegram), once: a reply that resolves the request carries the resolution notice and the rating
link, and a request merged into another tells its requester where it continues."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.channels.models import OutboundMessage
from portal.channels.services import work_once
from portal.core.db import db
from portal.core.mail import sent_mail
from portal.tickets import services
from portal.tickets.models import Ticket

CHANNELS = ("email", "whatsapp", "telegram")


@pytest.fixture(autouse=True)
def channel_secrets(monkeypatch):
    """Farajaland's WhatsApp and Telegram are set up (their secrets are in the environment)."""
    for name in ("WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN", "WHATSAPP_ACCESS_TOKEN", "TELEGRAM_SECRET", "TELEGRAM_BOT_TOKEN"):
        monkeypatch.setenv(f"FARAJALAND_{name}", "test-" + name.lower())


@pytest.fixture
def open_on(in_tenant):
    """Open a ticket as a requester without an account who wrote on `channel`; returns its reference."""

    def factory(channel, subject="Verification code never arrives", body="No SMS since Monday."):
        def run(t):
            who = {"email": {"email": "grace@example.org"}, "whatsapp": {"whatsapp_id": "260971234567"}, "telegram": {"telegram_id": "5550001"}}[channel]
            contact = services.find_or_create_contact(t, name="Grace Tembo", **who)
            return services.open_ticket(t, None, requester=contact, subject=subject, body=body, channel=channel).reference

        return in_tenant(run)

    return factory


def outbox(in_tenant, reference):
    """(channel, recipient, text) of what is queued for the requester of `reference`, in order."""

    def run(t):
        ticket_id = db.session.scalar(select(Ticket.id).where(Ticket.reference == reference))
        rows = db.session.scalars(select(OutboundMessage).where(OutboundMessage.ticket_id == ticket_id).order_by(OutboundMessage.id))
        return [(row.channel, row.recipient, row.payload.get("text") or row.payload.get("body") or str(row.payload)) for row in rows]

    return in_tenant(run)


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_reply_that_resolves_the_request_is_one_message_with_the_notice_and_the_rating_link(channel, client, auth, l1, open_on, in_tenant):
    reference = open_on(channel)
    auth.login(l1)
    client.post(f"/farajaland/tickets/{reference}/reply", data={"body": "Your number is fixed, please try again.", "visibility": "public", "status": "resolved"})
    [(sent_on, _, text)] = outbox(in_tenant, reference)
    assert sent_on == channel
    assert text.startswith("Your number is fixed, please try again.")
    assert "We consider this request solved." in text and f"http://localhost/farajaland/tickets/{reference}/rate/" in text
    page = client.get(f"/farajaland/tickets/{reference}").get_data(as_text=True)
    assert "Resolved" in page and page.count("We consider this request solved.") == 1  # in the reply, not in a second message


def test_an_internal_note_that_resolves_the_request_still_tells_the_requester(app, client, auth, l1, open_on, in_tenant):
    reference = open_on("email")
    auth.login(l1)
    client.post(f"/farajaland/tickets/{reference}/reply", data={"body": "Gateway fixed upstream.", "visibility": "internal", "status": "resolved"})
    [(_, recipient, text)] = outbox(in_tenant, reference)
    assert recipient == "grace@example.org" and "Gateway fixed" not in text and "We consider this request solved." in text


def test_a_reply_with_a_status_the_ticket_cannot_take_is_refused_whole(client, auth, l1, open_on, in_tenant):
    reference = open_on("email")
    auth.login(l1)
    client.post(f"/farajaland/tickets/{reference}/update", data={"status": "resolved", "priority": "normal"})
    refused = client.post(f"/farajaland/tickets/{reference}/reply", data={"body": "One more thing.", "visibility": "public", "status": "waiting"}, follow_redirects=True)
    page = refused.get_data(as_text=True)
    assert "Not a valid choice" in page and "One more thing." not in page
    assert len(outbox(in_tenant, reference)) == 1  # the resolution notice only


@pytest.mark.parametrize("channel", CHANNELS)
def test_the_requester_of_a_merged_request_is_told_on_their_channel_where_it_continues(channel, app, client, auth, l1, requester, make_ticket, open_on, in_tenant):
    kept = make_ticket(subject="No SMS code")
    duplicate = open_on(channel, subject="SMS code missing")
    auth.login(l1)
    page = client.post(f"/farajaland/tickets/{duplicate}/merge", data={"target": kept}, follow_redirects=True).get_data(as_text=True)
    assert f"{duplicate} is merged into {kept}." in page
    # Another person asked: the agent is told, and so is whoever works on the kept ticket.
    assert f"The requester of {duplicate}, Grace Tembo, is not the requester of {kept}:" in page
    assert "Its requester, Grace Tembo, is not this ticket&#39;s" in page
    [(sent_on, _, text)] = outbox(in_tenant, duplicate)
    # Its replies will not reach them (the kept ticket is someone else's): no promise that they will.
    assert sent_on == channel and "If you still need help, reply to this message: it opens a new request." in text and kept not in text
    assert outbox(in_tenant, kept) == []  # the kept ticket's requester hears nothing of it


def test_after_a_merge_of_ones_own_requests_a_reply_to_either_reaches_the_kept_one(app, client, auth, l1, runner, open_on, in_tenant):
    kept, duplicate = open_on("email", subject="No SMS code"), open_on("email", subject="SMS code again")
    auth.login(l1)
    client.post(f"/farajaland/tickets/{duplicate}/merge", data={"target": kept})
    [(_, _, text)] = outbox(in_tenant, duplicate)
    assert f"your request continues as {kept}" in text
    mail = (f"From: Grace Tembo <grace@example.org>\r\nTo: support@farajaland.example\r\nSubject: Re: [{duplicate}] SMS code again\r\n"
            f"Message-ID: <r1@example.org>\r\n\r\nStill nothing this morning.\r\n").encode()
    assert runner.invoke(args=["channels", "email-ingest", "--tenant", "farajaland"], input=mail).exit_code == 0
    page = client.get(f"/farajaland/tickets/{kept}").get_data(as_text=True)
    assert "Still nothing this morning." in page
    assert in_tenant(lambda t: db.session.scalar(select(db.func.count(Ticket.id)))) == 2  # no third ticket


def test_a_merge_of_ones_own_two_requests_tells_them_by_mail_without_a_warning_to_the_agent(app, client, auth, l1, requester, make_ticket):
    kept, duplicate = make_ticket(subject="No SMS code"), make_ticket(subject="SMS code again")
    auth.login(l1)
    with app.app_context():
        before = len(sent_mail())
    page = client.post(f"/farajaland/tickets/{duplicate}/merge", data={"target": kept}, follow_redirects=True).get_data(as_text=True)
    assert f"{duplicate} is merged into {kept}." in page and "is not the requester of" not in page
    with app.app_context():
        work_once()
        [notice] = [m for m in sent_mail()[before:] if m["To"] == "clerk@example.org"]
    assert duplicate in notice["Subject"] and f"your request continues as {kept}" in notice.get_body(preferencelist=("plain",)).get_content()


def test_a_refused_merge_tells_nobody(client, auth, l1, requester, make_ticket, open_on, in_tenant):
    kept = make_ticket(subject="No SMS code")
    duplicate = open_on("whatsapp")
    auth.login(l1)
    client.post(f"/farajaland/tickets/{kept}/update", data={"status": "closed", "priority": "normal"})
    refused = client.post(f"/farajaland/tickets/{duplicate}/merge", data={"target": kept}, follow_redirects=True)
    assert "Merge into an open ticket." in refused.get_data(as_text=True)
    assert outbox(in_tenant, duplicate) == []


def test_an_agent_resolving_their_own_request_with_a_reply_keeps_both(client, auth, l1, make_ticket, in_tenant):
    reference = make_ticket(requester_email=l1)  # a problem with the agent's own account
    auth.login(l1)
    client.post(f"/farajaland/tickets/{reference}/reply", data={"body": "Fixed it myself.", "visibility": "public", "status": "resolved"})

    def read(t):
        ticket = services.get_ticket_by_reference(t, reference)
        return ticket.status, [m.body for m in services.conversation(ticket, include_internal=True)]

    status, bodies = in_tenant(read)
    assert status == "resolved" and "Fixed it myself." in bodies


def test_after_a_merge_of_ones_own_whatsapp_requests_the_next_message_reaches_the_kept_one(app, client, auth, l1, open_on, in_tenant):
    from portal.channels.routing import touch_thread
    from tests.channels.conftest import sign, wa_text, whatsapp_body

    kept, duplicate = open_on("whatsapp", subject="No SMS code"), open_on("whatsapp", subject="SMS code again")

    def chatting_about_the_duplicate(t):  # their WhatsApp conversation is on the newer request
        thread = touch_thread(t, "whatsapp", "260971234567", "Grace Tembo", "en")
        thread.ticket_id = db.session.scalar(select(Ticket.id).where(Ticket.reference == duplicate))
        db.session.commit()

    in_tenant(chatting_about_the_duplicate)
    auth.login(l1)
    client.post(f"/farajaland/tickets/{duplicate}/merge", data={"target": kept})
    body = whatsapp_body(wa_text("Still nothing this morning.", wamid="wamid.after.merge"))
    response = client.post("/farajaland/channels/whatsapp", data=body, content_type="application/json", buffered=True,
                           headers={"X-Hub-Signature-256": sign(body, "test-whatsapp_app_secret")})
    assert response.status_code == 200
    with app.app_context():
        work_once()  # what the webhook left to the worker, if anything
    assert "Still nothing this morning." in client.get(f"/farajaland/tickets/{kept}").get_data(as_text=True)
    assert "Still nothing this morning." not in client.get(f"/farajaland/tickets/{duplicate}").get_data(as_text=True)
    assert in_tenant(lambda t: db.session.scalar(select(db.func.count(Ticket.id)))) == 2  # no third ticket
