"""WhatsApp and Telegram with the real assistant answering from the demo knowledge base: a question
it can answer gets its answer on the channel and no ticket; a question it cannot answer, or a request
for a person, becomes one ticket carrying the conversation, and the requester gets their reference."""
import pytest
from sqlalchemy import select

from portal.assistant.models import Conversation, Outcome, Turn
from portal.auth.permissions import Role
from portal.auth.services import get_user_by_email
from portal.channels.models import InboundMessage, OutboundMessage
from portal.channels.routing import asks_for_person
from portal.core.db import db, tenant_scope
from portal.tenancy.services import get_tenant
from portal.tickets import services as tickets
from portal.tickets.models import Contact, Message, Ticket
from tests.channels.conftest import TELEGRAM_SECRET, app_answering_from_the_demo_kb, wa_text, whatsapp_body
from tests.channels.test_instant_channels import TELEGRAM, post_whatsapp, rows, telegram_update


@pytest.fixture
def app(make_app):
    """The assistant reads the knowledge base, loaded with the demo library and Farajaland's articles."""
    return app_answering_from_the_demo_kb(make_app)


def whatsapp(client, text, wamid, sender="260971234567"):
    response = post_whatsapp(client, whatsapp_body(wa_text(text, wamid=wamid, sender=sender)))
    assert response.status_code == 200


def telegram(client, text, update_id, language="fr"):
    update = telegram_update(text, update_id=update_id)
    update["message"]["from"]["language_code"] = language
    response = client.post(TELEGRAM, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}, buffered=True)
    assert response.status_code == 200


def outbox_texts(app):
    return [(row.recipient, row.payload["text"]) for row in rows(app, OutboundMessage)]


def the_ticket(app):
    """The one ticket, its internal notes and its contact (asserting there is exactly one)."""
    with app.app_context(), tenant_scope(db.session, get_tenant("farajaland").id):
        [ticket] = db.session.scalars(select(Ticket)).all()
        notes = [m.body for m in db.session.scalars(select(Message).where(Message.ticket_id == ticket.id, Message.is_public.is_(False)))]
        contact = db.session.get(Contact, ticket.contact_id)
        db.session.expunge_all()
        return ticket, notes, contact


def test_a_question_the_knowledge_base_answers_gets_the_answer_on_whatsapp_and_no_ticket(app, client, runner, fake_api):
    whatsapp(client, "My verification code never arrives", "wamid.q1")
    [(recipient, answer)] = outbox_texts(app)
    assert recipient == "260971234567"
    assert "verification code" in answer and "http://localhost/farajaland/kb/articles/verification-code-not-received" in answer
    assert rows(app, Ticket) == []
    assert [r.status for r in rows(app, InboundMessage)] == ["processed"]
    [turn] = rows(app, Turn)
    assert (turn.channel, turn.locale, turn.handoff, turn.article_slug) == ("whatsapp", "en", False, "verification-code-not-received")
    assert "sent=1" in runner.invoke(args=["outbox", "work", "--once"]).output
    [sent] = [r["json"] for r in fake_api.requests if r["method"] == "POST"]
    assert sent["to"] == "260971234567" and sent["text"]["body"] == answer


def test_a_french_question_is_answered_in_french_from_the_french_article(app, client, fake_api):
    whatsapp(client, "Ma déclaration est bloquée dans la boîte d'envoi", "wamid.fr1")
    [(_, answer)] = outbox_texts(app)
    assert "boîte d'envoi" in answer and "/farajaland/kb/articles/declaration-stuck-in-outbox" in answer
    assert rows(app, Ticket) == []
    [conversation] = rows(app, Conversation)
    assert (conversation.channel, conversation.locale) == ("whatsapp", "fr")


def test_talk_to_a_person_hands_the_conversation_over_as_one_ticket_with_its_transcript(app, client, runner, make_user, fake_api):
    agent = make_user("l1@farajaland.demo", role=Role.L1_AGENT)
    whatsapp(client, "My declaration is stuck in the outbox", "wamid.h1")
    whatsapp(client, "talk to a person", "wamid.h2")
    ticket, notes, contact = the_ticket(app)
    assert (ticket.channel, ticket.locale, ticket.subject) == ("whatsapp", "en", "My declaration is stuck in the outbox")
    assert contact.whatsapp_id == "260971234567" and contact.name == "Amina Banda"
    [transcript] = notes
    assert "My declaration is stuck in the outbox" in transcript and "Outbox" in transcript  # the question and the answer given
    assert [e["role"] for e in ticket.transcript][:2] == ["user", "assistant"]
    [conversation] = rows(app, Conversation)
    assert (conversation.outcome, conversation.ticket_id) == (Outcome.HANDED_OVER, ticket.id)
    answer, acknowledgement = [text for _, text in outbox_texts(app)]
    assert ticket.reference in acknowledgement and "A person from the support team will answer you here" in acknowledgement
    assert [(r.status, r.ticket_id) for r in rows(app, InboundMessage)] == [("processed", None), ("processed", ticket.id)]
    # The requester's next message goes to the agent, not to the assistant; the agent's reply goes out on WhatsApp.
    whatsapp(client, "It still shows 2 items", "wamid.h3")
    assert len(rows(app, Turn)) == 1
    with app.app_context(), tenant_scope(db.session, get_tenant("farajaland").id):
        tenant = get_tenant("farajaland")
        tickets.add_message(tenant, get_user_by_email(agent), db.session.get(Ticket, ticket.id), body="Please connect to Wi-Fi and open the outbox.")
    runner.invoke(args=["outbox", "work", "--once"])
    bodies = [r["json"]["text"]["body"] for r in fake_api.requests if r["method"] == "POST"]
    assert bodies[-1] == "Please connect to Wi-Fi and open the outbox."


def test_a_question_it_cannot_answer_becomes_a_ticket_in_the_requesters_language(app, client, fake_api):
    whatsapp(client, "Comment enregistrer un mariage ?", "wamid.m1")
    ticket, [transcript], _contact = the_ticket(app)
    assert (ticket.channel, ticket.locale, ticket.subject) == ("whatsapp", "fr", "Comment enregistrer un mariage ?")
    assert "Comment enregistrer un mariage ?" in transcript
    [turn] = rows(app, Turn)
    assert turn.handoff and turn.outcome == Outcome.HANDED_OVER
    [(_, acknowledgement)] = outbox_texts(app)  # one message: no "I don't know" followed by a second one
    assert ticket.reference in acknowledgement


def test_a_shared_location_goes_to_a_person_with_the_conversation_not_to_the_assistant(app, client, fake_api):
    whatsapp(client, "My declaration is stuck in the outbox", "wamid.l1")  # answered by the assistant
    place = {"from": "260971234567", "id": "wamid.l2", "type": "location",
             "location": {"latitude": -15.4, "longitude": 28.3, "name": "Ibombo district office"}}
    assert post_whatsapp(client, whatsapp_body(place)).status_code == 200
    assert len(rows(app, Turn)) == 1  # the assistant was not asked about the office
    ticket, [transcript], _contact = the_ticket(app)
    with app.app_context(), tenant_scope(db.session, get_tenant("farajaland").id):
        bodies = [m.body for m in db.session.scalars(select(Message).where(Message.ticket_id == ticket.id, Message.is_public.is_(True)))]
    # The agent reads what was asked and answered before the location, not a location out of the blue.
    assert bodies == ["My declaration is stuck in the outbox\n\n📍 Ibombo district office (-15.4, 28.3)"]
    assert "Outbox" in transcript and ticket.subject == "My declaration is stuck in the outbox"
    [conversation] = rows(app, Conversation)
    assert (conversation.outcome, conversation.ticket_id) == (Outcome.HANDED_OVER, ticket.id)
    assert ticket.reference in outbox_texts(app)[-1][1]


def test_a_location_sent_first_is_named_after_its_sender_not_its_coordinates(app, client, fake_api):
    place = {"from": "260971234567", "id": "wamid.l3", "type": "location",
             "location": {"latitude": -15.4, "longitude": 28.3, "name": "Ibombo district office"}}
    assert post_whatsapp(client, whatsapp_body(place)).status_code == 200
    ticket, notes, _contact = the_ticket(app)
    assert ticket.subject == "Message from Amina Banda" and notes == []  # no conversation, no transcript
    assert rows(app, Turn) == []


def test_a_photo_after_a_conversation_reaches_the_agent_with_the_conversation(app, client, fake_api):
    whatsapp(client, "Ma déclaration est bloquée dans la boîte d'envoi", "wamid.p1")
    image = {"from": "260971234567", "id": "wamid.p2", "type": "image",
             "image": {"id": "MEDIA123", "mime_type": "image/jpeg", "caption": "voici l'écran"}}
    assert post_whatsapp(client, whatsapp_body(image)).status_code == 200
    ticket, [transcript], _contact = the_ticket(app)
    assert (ticket.subject, ticket.locale) == ("Ma déclaration est bloquée dans la boîte d'envoi", "fr")
    assert "boîte d'envoi" in transcript
    with app.app_context(), tenant_scope(db.session, get_tenant("farajaland").id):
        [first] = db.session.scalars(select(Message).where(Message.ticket_id == ticket.id, Message.is_public.is_(True))).all()
        assert first.body == "Ma déclaration est bloquée dans la boîte d'envoi\n\nvoici l'écran"
        assert [(a.filename, a.content_type) for a in first.attachments] == [("MEDIA123.jpeg", "image/jpeg")]
    [inbound_answered, inbound_photo] = rows(app, InboundMessage)
    assert (inbound_photo.status, inbound_photo.ticket_id) == ("processed", ticket.id)
    assert ticket.reference in outbox_texts(app)[-1][1]


def test_on_telegram_parler_a_quelquun_reaches_a_person_with_the_conversation(app, client, runner, fake_api):
    telegram(client, "J'ai oublié mon mot de passe", 7001)
    [(chat, answer)] = outbox_texts(app)
    assert chat == "555" and "mot de passe" in answer.lower()
    telegram(client, "Je voudrais parler à quelqu'un", 7002)
    ticket, [transcript], contact = the_ticket(app)
    assert (ticket.channel, ticket.locale, contact.telegram_id) == ("telegram", "fr", "555")
    assert ticket.subject == "J'ai oublié mon mot de passe" and "J'ai oublié mon mot de passe" in transcript
    runner.invoke(args=["outbox", "work", "--once"])
    sent = [r["json"] for r in fake_api.requests if r["method"] == "POST"]
    assert [s["chat_id"] for s in sent] == ["555", "555"] and ticket.reference in sent[-1]["text"]


def test_on_telegram_an_unanswerable_english_question_opens_a_ticket_and_the_next_message_joins_it(app, client, fake_api):
    telegram(client, "how do I register a marriage", 7101, language="en")
    ticket, [transcript], _contact = the_ticket(app)
    assert (ticket.channel, ticket.locale) == ("telegram", "en") and "how do I register a marriage" in transcript
    telegram(client, "It is for my sister", 7102, language="en")
    with app.app_context(), tenant_scope(db.session, get_tenant("farajaland").id):
        bodies = [m.body for m in db.session.scalars(select(Message).where(Message.is_public.is_(True)).order_by(Message.id))]
    assert bodies[-1] == "It is for my sister"
    assert len(rows(app, Turn)) == 1 and len(rows(app, Ticket)) == 1


def test_agent_as_a_first_message_opens_a_ticket_without_asking_the_assistant(app, client, fake_api):
    whatsapp(client, "Agent", "wamid.a1")
    ticket, notes, _contact = the_ticket(app)
    assert ticket.subject == "Message from Amina Banda" and notes == []
    assert rows(app, Turn) == []
    [(_, acknowledgement)] = outbox_texts(app)
    assert ticket.reference in acknowledgement


@pytest.mark.parametrize(
    "text, lang",
    [
        ("agent", ""), ("Agent.", ""), ("talk to a person", "en"), ("Can I speak to someone?", "en"), ("I need a human", "en"),
        ("parler à quelqu'un", "fr"), ("Je voudrais parler à un agent", "fr"), ("Parler à quelqu’un svp", "fr"), ("une personne", "fr"),
        ("How does a field agent unassign a record?", None), ("My code never arrives", None),
        ("How do I talk to the registrar?", None), ("Le déclarant est une autre personne que le parent", None),
        # the same words as the subject of a report of a problem are not a request
        ("Parler au support", "fr"), ("chat with support is not working", None), ("talk to a person button does nothing", None),
        ("parler avec le support ne marche pas", None),
        # ...while what else follows a request leaves it one
        ("talk to a person, not a bot", "en"), ("talk to support does anyone answer", "en"),
        ("parler à un agent est-ce possible ?", "fr"),
    ],
)
def test_requests_for_a_person_are_told_from_questions(text, lang):
    assert asks_for_person(text) == lang


def test_a_greeting_alone_gets_asked_for_the_question_not_a_ticket(app, client, runner, fake_api):
    # Many WhatsApp conversations start with "Bonjour" on its own, then the question.
    whatsapp(client, "Bonjour", "wamid.g1")
    [(_recipient, prompt)] = outbox_texts(app)
    assert "Quelle est votre question" in prompt
    assert rows(app, Ticket) == []
    whatsapp(client, "mon code de vérification n'arrive jamais", "wamid.g2")
    answer = outbox_texts(app)[-1][1]
    assert "verification-code-not-received" in answer and rows(app, Ticket) == []
    whatsapp(client, "ok merci", "wamid.g3")
    assert "Je vous en prie" in outbox_texts(app)[-1][1] and rows(app, Ticket) == []


@pytest.mark.parametrize("greeting, thanks", [("السلام عليكم", "شكراً جزيلاً"), ("Habari", "asante sana"),
                                              ("Hola", "gracias"), ("Olá", "obrigada"), ("Salam", "shukran"),
                                              ("allo ?", "merci")])
def test_greetings_and_thanks_in_other_languages_are_small_talk_too(app, client, fake_api, greeting, thanks):
    # Staff write in the languages they speak, not only in the portal's.
    whatsapp(client, greeting, "wamid.x1")
    whatsapp(client, thanks, "wamid.x2")
    prompt, welcome = (text for _recipient, text in outbox_texts(app))
    # in the language the conversation is guessed to be in: English or French
    assert "your question" in prompt or "votre question" in prompt
    assert "welcome" in welcome or "Je vous en prie" in welcome
    assert rows(app, Ticket) == []


def test_a_question_in_a_script_the_assistant_cannot_read_is_handed_over_not_taken_for_a_greeting(app, client, fake_api):
    whatsapp(client, "لا أستطيع تسجيل الدخول، رمز التحقق لا يصل", "wamid.ar1")
    ticket, _notes, _contact = the_ticket(app)
    assert ticket.reference in outbox_texts(app)[-1][1]


def test_after_a_greeting_the_ticket_is_named_after_the_question_and_thanks_are_not_the_solved_answer(app, client, fake_api):
    whatsapp(client, "Bonjour", "wamid.s1")
    whatsapp(client, "Ma déclaration est bloquée dans la boîte d'envoi", "wamid.s2")
    whatsapp(client, "parler à quelqu'un", "wamid.s3")
    ticket, _notes, _contact = the_ticket(app)
    assert ticket.subject == "Ma déclaration est bloquée dans la boîte d'envoi"
    greeting, question = rows(app, Turn)
    assert (greeting.outcome, question.outcome) == (Outcome.NO_FEEDBACK, Outcome.HANDED_OVER)
