""""Talk to a person": a ticket is opened for the conversation, carrying its transcript."""
from __future__ import annotations

import threading

from portal.assistant.models import Conversation, Outcome, Turn
from portal.tickets.models import Contact, Message, Ticket
from tests.conftest import until_waiting


def test_signed_in_user_hands_over_and_a_ticket_carries_the_transcript(client, auth, make_user, stored):
    email = make_user()
    auth.login(email)
    client.post("/farajaland/assistant", data={"message": "my declaration is stuck in the outbox"})
    client.post("/farajaland/assistant", data={"message": "still stuck after reconnecting"})
    response = client.post("/farajaland/assistant/handover", follow_redirects=True)
    [ticket] = stored(Ticket)
    assert f"request {ticket.reference}" in response.get_data(as_text=True)
    assert ticket.channel == "assistant" and ticket.subject == "my declaration is stuck in the outbox"
    assert [e["text"] for e in ticket.transcript if e["role"] == "user"] == [
        "my declaration is stuck in the outbox", "still stuck after reconnecting"]
    assert ticket.transcript[1]["article"] == "declaration-stuck-in-outbox"
    [contact] = stored(Contact)
    assert contact.email == email and ticket.contact_id == contact.id
    notes = [m for m in stored(Message) if not m.is_public]
    assert notes and "still stuck after reconnecting" in notes[0].body  # the transcript, for the agent
    turns = stored(Turn)
    assert turns[-1].outcome == Outcome.HANDED_OVER
    [conversation] = stored(Conversation)
    assert conversation.ticket_id == ticket.id and conversation.outcome == Outcome.HANDED_OVER
    # The next question starts a new conversation.
    client.post("/farajaland/assistant", data={"message": "forgot my password"})
    assert stored(Turn)[-1].conversation_id != turns[0].conversation_id


def test_anonymous_visitor_must_leave_a_way_to_reply(client, stored):
    client.post("/farajaland/assistant", data={"message": "how do I register a marriage"})
    response = client.post("/farajaland/assistant/handover", data={"handover-name": "Ama"}, headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert "email address or a phone number" in response.get_json()["error"]["message"]
    response = client.post("/farajaland/assistant/handover", data={"handover-email": "not-an-email"},
                           headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert stored(Ticket) == []
    response = client.post("/farajaland/assistant/handover", data={"handover-name": "Ama", "handover-phone": "+260 97 000 1111"},
                           headers={"Accept": "application/json"})
    assert response.status_code == 200 and "passed to the support team" in response.get_json()["message"]
    [ticket] = stored(Ticket)
    [contact] = stored(Contact)
    assert contact.phone == "+260 97 000 1111" and contact.name == "Ama" and ticket.contact_id == contact.id
    assert ticket.transcript[0] == {**ticket.transcript[0], "role": "user", "text": "how do I register a marriage"}


def test_a_signed_in_user_typing_talk_to_a_person_is_handed_over_at_once(client, auth, make_user, stored):
    auth.login(make_user())
    client.post("/farajaland/assistant", data={"message": "my declaration is stuck in the outbox"})
    page = client.post("/farajaland/assistant", data={"message": "talk to a person"}, follow_redirects=True).get_data(as_text=True)
    [ticket] = stored(Ticket)
    assert ticket.subject == "my declaration is stuck in the outbox"
    assert f"passed to the support team as request {ticket.reference}" in page
    # From the panel (JavaScript), the turn says so with the reference.
    client.post("/farajaland/assistant", data={"message": "the printer prints blank pages"})
    data = client.post("/farajaland/assistant", data={"message": "I want to talk to a human"}, headers={"Accept": "application/json"}).get_json()
    second = stored(Ticket)[-1]
    assert second.id != ticket.id and f"as request {second.reference}" in data["html"]


def test_the_ways_to_reach_a_person_can_be_tapped(client):
    page = client.post("/farajaland/assistant", data={"message": "how do I adopt a cat"}, follow_redirects=True).get_data(as_text=True)
    contacts = page.split('<ul class="contact-list">')[1].split("</ul>")[0]
    assert 'href="https://wa.me/' in contacts and 'href="tel:+' in contacts and 'href="mailto:' in contacts


def test_the_agent_reads_the_conversation_as_text_with_its_speakers_named(client, auth, make_user, stored):
    from portal.auth.permissions import Role

    auth.login(make_user())
    client.post("/farajaland/assistant", data={"message": "my declaration is stuck in the outbox"})
    client.post("/farajaland/assistant", data={"message": "how do I adopt a cat"})  # no answer: a person offered
    client.post("/farajaland/assistant/handover")
    [ticket] = stored(Ticket)
    auth.logout()
    auth.login(make_user(role=Role.L1_AGENT))
    page = client.get(f"/farajaland/tickets/{ticket.reference}", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    block = page.split('<details class="transcript">')[1].split("</details>")[0]
    assert "<dt>Demandeur</dt>" in block and "<dt>Assistant</dt>" in block and "<dt>user</dt>" not in block
    assert "**" not in block and "##" not in block  # the answer as text, not as typed Markdown
    assert 'href="/farajaland/kb/articles/declaration-stuck-in-outbox"' in block
    assert "Pas de réponse : une personne a été proposée." in block
    [note] = [m for m in stored(Message) if not m.is_public and m.ticket_id == ticket.id]
    assert "**" not in note.body and "/farajaland/kb/articles/declaration-stuck-in-outbox" in note.body


def test_the_request_is_about_what_is_still_unsolved(client, stored):
    client.post("/farajaland/assistant", data={"message": "I forgot my password"})
    client.post("/farajaland/assistant/solved")
    client.post("/farajaland/assistant", data={"message": "my declaration is stuck in the outbox"})
    client.post("/farajaland/assistant", data={"message": "still stuck after reconnecting"})
    client.post("/farajaland/assistant/handover", data={"handover-email": "ama@example.org"})
    [ticket] = stored(Ticket)
    assert ticket.subject == "my declaration is stuck in the outbox"
    first = min((m for m in stored(Message) if m.is_public), key=lambda m: m.id)
    assert first.body == "my declaration is stuck in the outbox\n\nstill stuck after reconnecting"
    assert "I forgot my password" in ticket.transcript[0]["text"]  # the solved question stays in the transcript


def test_a_visitor_not_signed_in_giving_an_accounts_address_is_flagged_to_the_team(client, make_user, stored):
    email = make_user(name="Clara Clerk")
    client.post("/farajaland/assistant", data={"message": "please change my role to administrator"})
    client.post("/farajaland/assistant/handover", data={"handover-email": email})
    [ticket] = stored(Ticket)
    notes = [m.body for m in stored(Message) if not m.is_public]
    assert f"Not verified: this request was made by a visitor who was not signed in and gave the address of an account ({email})." in "".join(notes)
    # A signed-in user, or a visitor giving an address no account has, is not flagged.
    client.post("/farajaland/assistant", data={"message": "how do I register a marriage"})
    client.post("/farajaland/assistant/handover", data={"handover-email": "someone.new@example.org"})
    assert not any(m.body.startswith("Not verified") for m in stored(Message) if m.ticket_id != ticket.id)


def test_hand_over_without_a_conversation_is_refused(client, stored):
    response = client.post("/farajaland/assistant/handover", data={"handover-email": "a@example.org"}, follow_redirects=True)
    assert "ask a question first" in response.get_data(as_text=True)
    assert stored(Ticket) == []


def test_without_javascript_a_refused_hand_over_keeps_what_was_typed_and_a_done_one_keeps_the_conversation(client, stored):
    client.post("/farajaland/assistant", data={"message": "how do I register a marriage"})
    refused = client.post("/farajaland/assistant/handover", data={"handover-name": "Ama Mensah"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "email address or a phone number" in page
    assert 'value="Ama Mensah"' in page and "<details open>" in page  # the form is open, the name still there
    assert "how do I register a marriage" in page and stored(Ticket) == []
    done = client.post("/farajaland/assistant/handover", data={"handover-name": "Ama Mensah", "handover-email": "ama@example.org"},
                       follow_redirects=True)
    page = done.get_data(as_text=True)
    [ticket] = stored(Ticket)
    assert f"request {ticket.reference}" in page
    assert "how do I register a marriage" in page and "This conversation was passed to the support team." in page
    assert "Send to the support team" not in page  # no second hand-over of the same conversation
    client.post("/farajaland/assistant", data={"message": "forgot my password"})
    page = client.get("/farajaland/assistant").get_data(as_text=True)
    assert "forgot my password" in page and "how do I register a marriage" not in page  # a new conversation
    assert len({turn.conversation_id for turn in stored(Turn)}) == 2


def test_talk_to_a_person_pressed_twice_at_once_opens_one_ticket(app, client, auth, make_user, stored):
    """Two presses reach two servers together: the second waits for the first's ticket and answers with it."""

    import pytest
    from sqlalchemy import select

    from portal.core.db import db

    auth.login(make_user())
    client.post("/farajaland/assistant", data={"message": "I forgot my password"})
    client.post("/farajaland/assistant/handover")  # an earlier request: the country's ticket numbers exist
    client.post("/farajaland/assistant", data={"message": "my declaration is stuck in the outbox"})
    conversation = stored(Conversation)[-1]
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("row locks are PostgreSQL's")
        with db.engine.connect() as held:  # holds the conversation until both presses wait for it
            held.execute(select(Conversation.id).where(Conversation.id == conversation.id).with_for_update())
            answers = []
            presses = [threading.Thread(target=lambda: answers.append(client.post("/farajaland/assistant/handover", headers={"Accept": "application/json"})))
                       for _ in range(2)]
            for press in presses:
                press.start()
            until_waiting(held, "the presses", waiters=2)
            held.commit()
            for press in presses:
                press.join(timeout=30)
    assert [a.status_code for a in answers] == [200, 200]
    [_earlier, ticket] = stored(Ticket)
    assert all(ticket.reference in a.get_json()["message"] for a in answers)


def test_the_same_new_person_made_by_two_requests_at_once_is_one_contact(app, client, stored):
    """Another request (another server) is making a contact for this email and has not committed:
    the hand-over waits for it, then takes that contact instead of making a second."""
    import pytest
    from sqlalchemy import insert, text

    from portal.core.db import db
    from portal.tickets.services import contact_lock_key

    client.post("/farajaland/assistant", data={"message": "my declaration is stuck in the outbox"})
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("advisory locks are PostgreSQL's")
        with db.engine.connect() as other:
            tenant = other.execute(text("SELECT id FROM tenants WHERE slug = 'farajaland'")).scalar_one()
            other.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": contact_lock_key(tenant, "email", "ama@example.org")})
            contact_id = other.execute(insert(Contact.__table__).values(tenant_id=tenant, email="ama@example.org", name="Ama").returning(Contact.__table__.c.id)).scalar()
            answer = {}
            press = threading.Thread(target=lambda: answer.update(response=client.post(
                "/farajaland/assistant/handover", data={"handover-name": "Ama", "handover-email": "ama@example.org"}, headers={"Accept": "application/json"})))
            press.start()
            until_waiting(other, "the hand-over")
            other.commit()
            press.join(timeout=30)
    assert answer["response"].status_code == 200
    assert [c.id for c in stored(Contact)] == [contact_id]
    [ticket] = stored(Ticket)
    assert ticket.contact_id == contact_id
