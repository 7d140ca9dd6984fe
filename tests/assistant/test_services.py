"""The service API other channels call (WhatsApp, Telegram): answer_question and hand_over."""
from __future__ import annotations

import pytest

from portal.assistant import services
from portal.assistant.models import Outcome
from portal.core.db import db, tenant_scope
from portal.tenancy.services import get_tenant
from portal.tickets.services import find_or_create_contact


def test_a_channel_conversation_is_answered_then_handed_over_to_a_ticket(app):
    with app.test_request_context():
        tenant = get_tenant("farajaland")
        with tenant_scope(db.session, tenant.id):
            contact = find_or_create_contact(tenant, whatsapp_id="260975550199", name="Field agent")
            first = services.answer_question(tenant, "code de verification pas recu", channel="whatsapp", contact=contact)
            assert first.lang == "fr" and not first.handoff
            assert first.articles[0].slug == "verification-code-not-received"
            assert first.articles[0].url in first.message  # a ready-to-send text with the link
            second = services.answer_question(tenant, "ou acheter un generateur pour le bureau", channel="whatsapp",
                                              contact=contact, conversation_id=first.conversation_id)
            assert second.conversation_id == first.conversation_id
            assert second.handoff and second.answer is None
            assert "+260 97 555 0100" in second.message  # how to reach a person
            ticket = services.hand_over(tenant, first.conversation_id, contact=contact)
            assert ticket.contact_id == contact.id and ticket.channel == "assistant"
            assert services.hand_over(tenant, first.conversation_id, contact=contact).id == ticket.id  # once only
            conversation = services.find_conversation(tenant, first.conversation_id)
            assert conversation.outcome == Outcome.HANDED_OVER and conversation.channel == "whatsapp"
            with pytest.raises(services.ConversationNotFound):
                services.hand_over(tenant, "unknown", contact=contact)
            with pytest.raises(services.AssistantError):
                services.answer_question(tenant, "")


def test_a_chat_reply_that_abstains_lists_the_articles_only_when_it_came_close(app, configure_tenant):
    with app.test_request_context():
        tenant = get_tenant("farajaland")
        with tenant_scope(db.session, tenant.id):
            far = services.answer_question(tenant, "ou acheter un generateur pour le bureau", channel="whatsapp")
            assert far.handoff and "Ces articles" not in far.message
    configure_tenant("farajaland", "assistant", threshold=0.99)  # nothing is sure enough to answer
    with app.test_request_context():
        tenant = get_tenant("farajaland")
        with tenant_scope(db.session, tenant.id):
            near = services.answer_question(tenant, "code de verification pas recu", channel="whatsapp")
            assert near.handoff and near.answer is None and near.confidence >= 0.99 / 2
            assert "Ces articles pourraient être liés :" in near.message  # in the question's language
            assert "http://" in near.message and near.articles[0].url in near.message
            assert near.articles[0].title in near.message


def test_a_tenant_threshold_of_one_always_hands_over(app):
    with app.test_request_context():
        tenant = get_tenant("farajaland")
        tenant.config = {**tenant.config, "assistant": {"enabled": True, "threshold": 1.0}}
        with tenant_scope(db.session, tenant.id):
            reply = services.answer_question(tenant, "forgot my password")
        assert reply.handoff and reply.answer is None
        assert reply.articles[0].slug == "forgotten-password"  # still suggested as possibly related


def test_a_channel_gets_plain_text_tables_as_lines_and_full_links(app):
    with app.test_request_context(base_url="https://support.example"):
        tenant = get_tenant("farajaland")
        with tenant_scope(db.session, tenant.id):
            contact = find_or_create_contact(tenant, whatsapp_id="260975550198", name="Registrar")
            deadlines = services.answer_question(tenant, "combien de jours pour declarer une naissance",
                                                 channel="whatsapp", contact=contact)
            fees = services.answer_question(tenant, "what are the fees for a late birth registration",
                                            channel="whatsapp", contact=contact)
    assert deadlines.articles[0].slug == "birth-and-death-registration-deadlines"
    assert "• Naissance — Dans les délais : Dans les 30 jours" in deadlines.message  # French spacing
    assert fees.articles[0].slug == "registration-and-certificate-fees"
    assert "• Late — Birth: 5.0 FRD; Death: 5.0 FRD" in fees.message
    assert "(https://support.example/farajaland/kb/articles/birth-and-death-registration-deadlines)" in fees.message
    for reply in (deadlines, fees):
        assert "|" not in reply.message and "**" not in reply.message and "](" not in reply.message
        assert "|" in reply.answer  # the web chat still gets the Markdown, shown as a table


def test_chat_text_writes_out_emphasis_lists_and_links():
    from portal.assistant.engine import chat_text

    text = chat_text("Tap **Send** in [the outbox](/x/outbox), see [help](/x/help).\n\n1. Open it\n2. Retry\n"
                     "   - twice\n\nDone _then_, as [below](#steps).", lambda address: "https://h" + address)
    assert text == ("Tap Send in the outbox (https://h/x/outbox), see help (https://h/x/help).\n\n1. Open it\n"
                    "2. Retry\n  • twice\n\nDone then, as below.")
