"""The service API other parts call: contacts from channels, assistant hand-over, audit in one transaction."""
from __future__ import annotations

from portal.auth.services import get_user_by_email
from portal.core.db import db
from portal.tickets import services
from portal.tickets.models import Message, TicketEvent
from portal.tickets.signals import message_posted


def test_contacts_are_found_by_any_known_identity_and_completed(in_tenant, requester):
    def run(t):
        by_whatsapp = services.find_or_create_contact(t, whatsapp_id="26097555", phone="+260 97 555", name="Field Agent", locale="fr")
        again = services.find_or_create_contact(t, phone="+260 97 555", email="fa@example.org")
        assert again.id == by_whatsapp.id and again.email == "fa@example.org" and again.locale == "fr"
        user = get_user_by_email(requester)
        mine = services.find_or_create_contact(t, user=user)
        assert mine.user_id == user.id and mine.email == "clerk@example.org" and mine.id != again.id
        assert services.find_or_create_contact(t, email="CLERK@example.org").id == mine.id
        db.session.commit()
        return by_whatsapp.id

    first = in_tenant(run)  # another tenant never sees this contact: it gets its own
    other = in_tenant(lambda t: services.find_or_create_contact(t, whatsapp_id="26097555").id, "kalondo")
    assert other != first


def test_assistant_hand_over_keeps_the_transcript_for_agents(client, auth, in_tenant, requester, l1):
    transcript = [{"role": "user", "text": "My code never arrives"}, {"role": "assistant", "text": "Check your phone number in your profile."}]

    def run(t):
        contact = services.find_or_create_contact(t, user=get_user_by_email(requester))
        ticket = services.open_ticket(t, None, requester=contact, subject="Talk to a person", body="The assistant did not help", channel="assistant", transcript=transcript)
        notes = [m for m in services.conversation(ticket, include_internal=True) if not m.is_public]
        return ticket.reference, ticket.channel, notes[0].body

    reference, channel, note = in_tenant(run)
    assert channel == "assistant" and "Assistant: Check your phone number" in note
    auth.login(l1)
    page = client.get(f"/farajaland/tickets/{reference}").get_data(as_text=True)
    assert "Conversation with the assistant before this request" in page and "My code never arrives" in page


def test_message_posted_is_sent_for_public_staff_replies_only(app, in_tenant, requester, l1, make_ticket):
    reference = make_ticket()
    received = []

    def listener(sender, tenant, ticket, message, **extra):
        received.append((ticket.reference, message.body))

    with message_posted.connected_to(listener):
        def run(t):
            ticket = services.get_ticket_by_reference(t, reference)
            agent = get_user_by_email(l1)
            services.add_message(t, agent, ticket, body="internal", public=False)
            services.add_message(t, get_user_by_email(requester), ticket, body="from requester")
            services.add_message(t, agent, ticket, body="public answer")

        in_tenant(run)
    assert received == [(reference, "public answer")]


def test_a_failed_change_leaves_no_audit_event(in_tenant, requester, make_ticket):
    reference = make_ticket()

    def run(t):
        ticket = services.get_ticket_by_reference(t, reference)
        before = len(services.audit_trail(ticket))
        try:
            services.update_ticket(t, None, ticket, priority="high", category="no-such-category")
        except services.TicketError:
            pass
        ticket = services.get_ticket_by_reference(t, reference)
        return before, len(services.audit_trail(ticket)), ticket.priority

    before, after, priority = in_tenant(run)
    assert before == after and priority == "normal"


def test_messages_and_events_have_no_delete_path(app):
    # Agents cannot hard-delete: no route deletes, and no service offers it.
    methods = {m for rule in app.url_map.iter_rules() if rule.endpoint.startswith("tickets") for m in rule.methods}
    assert "DELETE" not in methods
    assert not [name for name in dir(services) if name.startswith(("delete", "remove", "purge"))]
    assert Message.__tablename__ and TicketEvent.__tablename__
