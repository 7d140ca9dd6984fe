"""WhatsApp and Telegram: signed webhooks stored raw, the assistant first, a person on request, replies out."""
import datetime as dt
import threading

import pytest
from sqlalchemy import select

from portal.channels import services
from portal.channels.models import ChannelThread, InboundMessage, OutboundMessage
from portal.core.db import db, tenant_scope, utcnow
from portal.tenancy.services import get_tenant
from tests.channels.conftest import ACCESS_TOKEN, BOT_TOKEN, TELEGRAM_SECRET, VERIFY_TOKEN, sign, wa_text, whatsapp_body

WEBHOOK = "/farajaland/channels/whatsapp"


def post_whatsapp(client, body, signature=None, **headers):
    if signature is None:
        signature = sign(body)
    if signature:
        headers["X-Hub-Signature-256"] = signature
    # buffered: the test client then closes the response, which runs the after-response processing.
    return client.post(WEBHOOK, data=body, headers=headers, content_type="application/json", buffered=True)


def rows(app, model, slug="farajaland"):
    with app.app_context():
        with tenant_scope(db.session, get_tenant(slug).id):
            found = db.session.scalars(select(model).order_by(model.id)).all()
            db.session.expunge_all()
            return found


def test_the_verification_handshake_echoes_the_challenge_only_with_the_right_token(client, channel_secrets):
    ok = client.get(WEBHOOK, query_string={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"})
    assert (ok.status_code, ok.get_data(as_text=True)) == (200, "1158201444")
    wrong = client.get(WEBHOOK, query_string={"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"})
    assert wrong.status_code == 403


@pytest.mark.parametrize("signature", ["", "sha256=" + "0" * 64, sign(b"another body")])
def test_a_missing_or_wrong_signature_is_refused_and_nothing_is_stored(app, client, channel_secrets, signature):
    response = post_whatsapp(client, whatsapp_body(wa_text("hello")), signature=signature)
    assert response.status_code == 403
    assert rows(app, InboundMessage) == []


def test_without_a_configured_secret_every_post_is_refused_and_the_log_says_why(app, client):
    import logging

    from portal.channels import base

    heard = []
    listener = logging.Handler(logging.WARNING)
    listener.emit = lambda record: heard.append(record.getMessage())
    base.log.addHandler(listener)  # on the logger itself: other tests may change how records propagate
    base._MISSING_SECRET_LOGGED.clear()  # what an earlier test in this process had logged
    try:
        body = whatsapp_body(wa_text("hello"))
        for _ in range(3):  # a sender retrying: said once, not once per call
            assert post_whatsapp(client, body, signature=sign(body, "")).status_code == 403
    finally:
        base.log.removeHandler(listener)
    assert rows(app, InboundMessage) == []
    said = [m for m in heard if "webhook refused" in m]
    assert len(said) == 1
    assert said[0].startswith("farajaland: whatsapp webhook refused: channels.whatsapp.app_secret_env names FARAJALAND_WHATSAPP_APP_SECRET, which is not set on this server")


def test_a_whatsapp_message_becomes_a_ticket_and_the_requester_is_told_on_whatsapp(app, client, runner, fake_api, fake_desk):
    response = post_whatsapp(client, whatsapp_body(wa_text("My verification code never arrives")))
    assert response.status_code == 200
    [inbound] = rows(app, InboundMessage)
    assert (inbound.status, inbound.provider_id, inbound.sender) == ("processed", "wamid.in.1", "260971234567")
    [ticket] = fake_desk.tickets.values()
    assert (ticket["subject"], ticket["channel"]) == ("My verification code never arrives", "whatsapp")
    assert runner.invoke(args=["outbox", "work", "--once"]).exit_code == 0
    [sent] = [r for r in fake_api.requests if r["method"] == "POST"]
    assert sent["path"] == "/100200300400500/messages"
    assert sent["headers"]["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert sent["json"]["to"] == "260971234567" and sent["json"]["type"] == "text"
    assert "FAR-000042" in sent["json"]["text"]["body"]
    # The next message continues the same ticket.
    post_whatsapp(client, whatsapp_body(wa_text("It says code expired", wamid="wamid.in.2")))
    assert [m["body"] for m in fake_desk.messages] == ["It says code expired"]


def test_the_same_webhook_delivered_twice_is_processed_once(app, client, fake_api, fake_desk):
    body = whatsapp_body(wa_text("hello"))
    post_whatsapp(client, body)
    post_whatsapp(client, body)
    assert len(rows(app, InboundMessage)) == 1
    assert len(fake_desk.tickets) == 1


def test_media_is_fetched_by_id_and_attached(app, client, fake_api, fake_desk):
    image = {"from": "260971234567", "id": "wamid.img", "type": "image", "image": {"id": "MEDIA123", "mime_type": "image/jpeg", "caption": "Blank certificate"}}
    post_whatsapp(client, whatsapp_body(image))
    [ticket] = fake_desk.tickets.values()
    [(filename, stream)] = ticket["attachments"]
    assert (filename, stream.read()) == ("MEDIA123.jpeg", b"\xff\xd8\xff\xe0fake-jpeg")
    assert ticket["body"] == "Blank certificate"
    gets = [r["path"] for r in fake_api.requests if r["method"] == "GET"]
    assert gets == ["/MEDIA123", "/media-content/MEDIA123"]


@pytest.mark.parametrize(
    "message, text",
    [
        ({"type": "location", "location": {"latitude": -15.4, "longitude": 28.3, "name": "Ibombo office"}}, "📍 Ibombo office (-15.4, 28.3)"),
        ({"type": "interactive", "interactive": {"type": "button_reply", "button_reply": {"id": "b1", "title": "Still broken"}}}, "Still broken"),
        ({"type": "audio", "audio": {"id": "AUDIO1", "mime_type": "audio/ogg; codecs=opus"}}, ""),
        ({"type": "document", "document": {"id": "DOC1", "mime_type": "application/pdf", "filename": "form.pdf", "caption": "the form"}}, "the form"),
    ],
)
def test_every_kind_of_message_reaches_the_desk(app, client, fake_api, fake_desk, message, text):
    post_whatsapp(client, whatsapp_body({"from": "260971234567", "id": "wamid.k", **message}))
    [ticket] = fake_desk.tickets.values()
    assert ticket["body"] == (text or ticket["subject"])
    if message["type"] in ("audio", "document"):
        assert len(ticket["attachments"]) == 1


def test_a_reaction_is_recorded_without_a_ticket(app, client, fake_api, fake_desk):
    reaction = {"from": "260971234567", "id": "wamid.r", "type": "reaction", "reaction": {"message_id": "wamid.out.1", "emoji": "👍"}}
    post_whatsapp(client, whatsapp_body(reaction))
    [inbound] = rows(app, InboundMessage)
    assert (inbound.status, inbound.kind, inbound.summary) == ("processed", "reaction", "👍 → wamid.out.1")
    assert fake_desk.tickets == {}


def test_a_shared_contact_card_reaches_the_desk_as_text(app, client, fake_api, fake_desk):
    card = {"from": "260971234567", "id": "wamid.c", "type": "contacts", "contacts": [
        {"name": {"formatted_name": "Chanda Mwale", "first_name": "Chanda"}, "phones": [{"phone": "+260 97 111 2222", "type": "CELL"}]}]}
    post_whatsapp(client, whatsapp_body(card))
    [ticket] = fake_desk.tickets.values()
    assert ticket["body"] == "👤 Chanda Mwale: +260 97 111 2222"


def test_a_sticker_is_a_sign_not_a_request(app, client, fake_api, fake_desk):
    sticker = {"from": "260971234567", "id": "wamid.s", "type": "sticker", "sticker": {"id": "STICKER1", "mime_type": "image/webp", "animated": False}}
    post_whatsapp(client, whatsapp_body(sticker))
    [inbound] = rows(app, InboundMessage)
    assert (inbound.status, inbound.error) == ("ignored", "a sticker")
    assert fake_desk.tickets == {} and rows(app, OutboundMessage) == []
    assert [r for r in fake_api.requests if r["method"] == "GET"] == []  # nothing fetched
    [thread] = rows(app, ChannelThread)
    assert thread.address == "260971234567"  # the 24-hour window is open all the same


def test_a_message_whatsapp_cannot_pass_on_gets_a_note_asking_for_text(app, client, runner, fake_api, fake_desk):
    poll = {"from": "260971234567", "id": "wamid.u", "type": "unsupported",
            "errors": [{"code": 131051, "title": "Message type unknown", "message": "Message type unknown"}]}
    post_whatsapp(client, whatsapp_body(poll))
    [inbound] = rows(app, InboundMessage)
    assert (inbound.status, inbound.error) == ("ignored", "unsupported message type unsupported: Message type unknown")
    assert fake_desk.tickets == {}
    assert runner.invoke(args=["outbox", "work", "--once"]).exit_code == 0
    [sent] = [r for r in fake_api.requests if r["method"] == "POST"]
    assert sent["json"]["to"] == "260971234567"
    assert "cannot read this kind of message" in sent["json"]["text"]["body"]


def test_a_system_notice_is_kept_without_an_answer(app, client, fake_api, fake_desk):
    notice = {"from": "260971234567", "id": "wamid.sys", "type": "system",
              "system": {"body": "User A changed from 260971234567 to 260971239999", "type": "user_changed_number"}}
    post_whatsapp(client, whatsapp_body(notice))
    [inbound] = rows(app, InboundMessage)
    assert inbound.status == "ignored"
    assert fake_desk.tickets == {} and rows(app, OutboundMessage) == []


def test_delivery_statuses_are_recorded_on_the_outgoing_message(app, client, runner, fake_api, fake_desk):
    post_whatsapp(client, whatsapp_body(wa_text("hello")))
    runner.invoke(args=["outbox", "work", "--once"])
    [out] = rows(app, OutboundMessage)
    assert (out.status, out.provider_id) == ("sent", "wamid.out.1")
    statuses = [{"id": "wamid.out.1", "status": s, "timestamp": "1790000100", "recipient_id": "260971234567"} for s in ("delivered", "read")]
    post_whatsapp(client, whatsapp_body(statuses=statuses))
    [out] = rows(app, OutboundMessage)
    assert out.status == "read"
    assert [d["status"] for d in out.deliveries] == ["sent", "delivered", "read"]
    failed = {"id": "wamid.out.1", "status": "failed", "timestamp": "1790000200", "errors": [{"code": 131026, "title": "Message undeliverable"}]}
    post_whatsapp(client, whatsapp_body(statuses=[failed]))
    [out] = rows(app, OutboundMessage)
    assert (out.status, out.last_error) == ("failed", "Message undeliverable")


def test_outside_the_24_hour_window_only_the_approved_template_goes(app, runner, fake_api):
    with app.app_context():
        tenant = get_tenant("farajaland")
        with tenant_scope(db.session, tenant.id):
            db.session.add(ChannelThread(channel="whatsapp", address="260970000001", last_inbound_at=utcnow() - dt.timedelta(hours=25)))
            db.session.add(ChannelThread(channel="whatsapp", address="260970000002", last_inbound_at=utcnow() - dt.timedelta(hours=23)))
            for address in ("260970000001", "260970000002"):
                services.enqueue_text(tenant, "whatsapp", address, "Your certificate is ready.", locale="fr")
            db.session.commit()
            from portal.channels.whatsapp import window_open

            assert not window_open(tenant, "260970000001") and window_open(tenant, "260970000002")
    runner.invoke(args=["outbox", "work", "--once"])
    sent = {r["json"]["to"]: r["json"] for r in fake_api.requests if r["method"] == "POST"}
    assert sent["260970000001"]["type"] == "template"
    assert sent["260970000001"]["template"]["name"] == "support_reply"
    assert sent["260970000001"]["template"]["language"] == {"code": "fr"}
    assert sent["260970000001"]["template"]["components"][0]["parameters"][0]["text"] == "Your certificate is ready."
    assert sent["260970000002"]["type"] == "text"


def test_a_graph_api_refusal_is_not_retried_and_the_error_is_kept(app, runner, fake_api):
    fake_api.fail_with = [400]
    with app.app_context():
        tenant = get_tenant("farajaland")
        with tenant_scope(db.session, tenant.id):
            services.enqueue_text(tenant, "whatsapp", "260970000009", "hi")
            db.session.commit()
    runner.invoke(args=["outbox", "work", "--once"])
    [out] = rows(app, OutboundMessage)
    assert out.status == "failed" and "HTTP 400" in out.last_error


TELEGRAM = "/farajaland/channels/telegram"


def telegram_update(text, update_id=9001, chat_id=555):
    return {"update_id": update_id, "message": {"message_id": 1, "from": {"id": chat_id, "first_name": "Jean", "language_code": "fr"}, "chat": {"id": chat_id, "type": "private"}, "text": text}}


def test_telegram_checks_its_secret_token(app, client, channel_secrets):
    for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
        assert client.post(TELEGRAM, json=telegram_update("hi"), headers=headers).status_code == 403
    assert rows(app, InboundMessage) == []
    assert client.post("/kalondo/channels/telegram", json=telegram_update("hi"), headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}).status_code == 403


def test_a_telegram_message_goes_through_the_same_path_and_gets_its_answer(app, client, runner, fake_api, fake_desk):
    response = client.post(TELEGRAM, json=telegram_update("Bonjour, mon code PIN est bloqué"), headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}, buffered=True)
    assert response.status_code == 200
    [ticket] = fake_desk.tickets.values()
    assert ticket["channel"] == "telegram"
    runner.invoke(args=["outbox", "work", "--once"])
    [sent] = [r for r in fake_api.requests if r["method"] == "POST"]
    assert sent["path"] == f"/bot{BOT_TOKEN}/sendMessage"
    assert sent["json"]["chat_id"] == "555" and "FAR-000042" in sent["json"]["text"]
    [out] = rows(app, OutboundMessage)
    assert (out.status, out.provider_id) == ("sent", "501")


def test_a_message_whose_processing_died_after_the_answer_is_taken_by_the_worker(app, client, runner, fake_api, fake_desk, monkeypatch):
    from portal.channels import views

    monkeypatch.setattr(views, "_process_later", lambda *args: None)  # the process died after answering
    post_whatsapp(client, whatsapp_body(wa_text("hello")))
    [inbound] = rows(app, InboundMessage)
    assert inbound.status == "received"
    with app.app_context():
        assert services.process_waiting_inbound(older_than=dt.timedelta(0)) == 1
    assert rows(app, InboundMessage)[0].status == "processed"
    assert len(fake_desk.tickets) == 1


def test_a_waiting_message_another_worker_is_processing_is_left_to_it(app, client, fake_api, fake_desk, monkeypatch):
    """Two `outbox work` processes on two servers reach the same waiting message: the one that
    finds it held by the other moves on, and the message reaches its ticket once."""
    from sqlalchemy import update

    from portal.channels import views

    monkeypatch.setattr(views, "_process_later", lambda *args: None)
    post_whatsapp(client, whatsapp_body(wa_text("hello")))
    [inbound] = rows(app, InboundMessage)
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("row locks are PostgreSQL's")
        with db.engine.connect() as other_worker:
            other_worker.execute(select(InboundMessage.id).where(InboundMessage.id == inbound.id).with_for_update())
            done = {}
            thread = threading.Thread(target=lambda: done.update(n=_in_app(app, lambda: services.process_waiting_inbound(older_than=dt.timedelta(0)))))
            thread.start()
            thread.join(timeout=10)
            waited = thread.is_alive()
            other_worker.execute(update(InboundMessage).where(InboundMessage.id == inbound.id).values(status="processed"))
            other_worker.commit()
            thread.join(timeout=30)
    assert not waited, "the worker waited for a row another worker holds"
    assert fake_desk.tickets == {}  # processed by the other worker (here: marked so), not a second time


def test_a_message_that_meets_a_row_written_at_the_same_moment_is_tried_again_not_quarantined(app, client, fake_api, fake_desk, monkeypatch):
    """A new sender's two first messages reach two servers together and both make the sender's
    thread: the loser's unique-key error leaves its message waiting, and the worker's next pass
    processes it (it used to be quarantined until an administrator pressed "process again")."""
    from sqlalchemy.exc import IntegrityError

    from portal.channels.base import get_channel

    channel = get_channel("whatsapp")
    process = type(channel).process
    clashes = []

    def clash_once(self, tenant, inbound, prepared=None):
        if not clashes:
            clashes.append(inbound.provider_id)
            raise IntegrityError("INSERT INTO channel_threads ...", {}, Exception("duplicate key value violates unique constraint"))
        return process(self, tenant, inbound, prepared)

    monkeypatch.setattr(type(channel), "process", clash_once)
    post_whatsapp(client, whatsapp_body(wa_text("hello")))
    [inbound] = rows(app, InboundMessage)
    assert inbound.status == "received" and "duplicate key" in inbound.error
    assert fake_desk.tickets == {}
    with app.app_context():
        assert services.process_waiting_inbound(older_than=dt.timedelta(0)) == 1
    assert rows(app, InboundMessage)[0].status == "processed"
    assert len(fake_desk.tickets) == 1


def test_a_new_sender_s_message_arriving_while_another_server_makes_their_thread_shares_it(app, client, fake_api, fake_desk):
    """The sender's first two messages reach two servers at once: the second waits for the first's
    thread, then uses it, and is processed at once (not left for the worker after a clash)."""
    from sqlalchemy import insert, text

    from tests.conftest import until_waiting

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite lets one writer in at a time")
        with db.engine.connect() as first_server:
            tenant_id = first_server.execute(text("SELECT id FROM tenants WHERE slug = 'farajaland'")).scalar_one()
            first_server.execute(insert(ChannelThread.__table__).values(tenant_id=tenant_id, channel="whatsapp", address="260971234567", name="", created_at=utcnow(), updated_at=utcnow()))
            answer = {}
            second = threading.Thread(target=lambda: answer.update(response=post_whatsapp(client, whatsapp_body(wa_text("hello", wamid="wamid.second")))))
            second.start()
            until_waiting(first_server, "the second message")
            first_server.commit()
            second.join(timeout=30)
    assert answer["response"].status_code == 200
    [inbound] = rows(app, InboundMessage)
    assert inbound.status == "processed", inbound.error
    assert len(rows(app, ChannelThread)) == 1


def _in_app(app, fn):
    with app.app_context():
        return fn()


def test_the_webhook_answers_after_one_commit_of_the_raw_event_and_processes_afterwards(app, client, fake_api, fake_desk, monkeypatch):
    from sqlalchemy import event

    from portal.channels import views

    later = []
    monkeypatch.setattr(views, "_process_later", lambda app, tenant_id, ids, base_url: later.append(ids))
    with app.app_context():
        engine = db.engine
    commits = []
    listener = lambda conn: commits.append(1)  # noqa: E731
    event.listen(engine, "commit", listener)
    try:
        response = post_whatsapp(client, whatsapp_body(wa_text("hello"), wa_text("second", wamid="wamid.in.2")))
    finally:
        event.remove(engine, "commit", listener)
    assert response.status_code == 200
    assert len(commits) == 2  # one per event, nothing else before the answer
    stored = rows(app, InboundMessage)
    assert [r.status for r in stored] == ["received", "received"]
    assert later == [[r.id for r in stored]] and fake_desk.tickets == {}


def post_telegram(client, update):
    return client.post(TELEGRAM, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}, buffered=True)


def telegram_message(update_id=9100, **content):
    update = telegram_update("", update_id=update_id)
    del update["message"]["text"]
    update["message"].update(content)
    return update


def test_a_telegram_voice_message_a_location_and_a_contact_reach_the_desk(app, client, fake_api, fake_desk):
    post_telegram(client, telegram_message(9101, voice={"file_id": "VOICE1", "duration": 7, "mime_type": "audio/ogg"}))
    post_telegram(client, telegram_message(9102, chat={"id": 556, "type": "private"}, location={"latitude": -15.4, "longitude": 28.3}))
    post_telegram(client, telegram_message(9103, chat={"id": 557, "type": "private"}, venue={
        "location": {"latitude": -15.4, "longitude": 28.3}, "title": "Ibombo office", "address": "Main road"}))
    post_telegram(client, telegram_message(9104, chat={"id": 558, "type": "private"}, contact={"phone_number": "+260971112222", "first_name": "Chanda"}))
    voice, place, venue, card = fake_desk.tickets.values()
    [(filename, stream)] = voice["attachments"]
    assert (filename, stream.read()) == ("file_1.pdf", b"%PDF-telegram")
    assert place["body"] == "📍 (-15.4, 28.3)"
    assert venue["body"] == "📍 Ibombo office Main road (-15.4, 28.3)"
    assert card["body"] == "👤 Chanda: +260971112222"


def test_a_telegram_poll_gets_a_note_in_the_senders_language_and_a_sticker_nothing(app, client, runner, fake_api, fake_desk):
    post_telegram(client, telegram_message(9201, sticker={"file_id": "STICKER", "emoji": "👍", "type": "regular"}))
    post_telegram(client, telegram_message(9202, poll={"id": "1", "question": "?", "options": []}))
    sticker, poll = rows(app, InboundMessage)
    assert (sticker.status, sticker.error) == ("ignored", "a sticker")
    assert (poll.status, poll.error) == ("ignored", "unsupported message type poll")
    assert fake_desk.tickets == {}
    runner.invoke(args=["outbox", "work", "--once"])
    [sent] = [r for r in fake_api.requests if r["method"] == "POST"]
    assert sent["json"]["chat_id"] == "555"
    assert sent["json"]["text"].startswith("Désolé")  # the sender's Telegram is in French


@pytest.mark.parametrize("body", [
    b'{"entry": "x"}',
    b'{"entry": [{"changes": [{"value": {"messages": ["not an object"], "statuses": [7]}}]}]}',
    b'{"entry": [{"changes": [{"value": {"messages": [{"id": "wamid.odd", "from": "2609", "type": "text", "text": "no body"}]}}]}]}',
    b'[1, 2]',
    b'\xff\xfe not json',
])
def test_an_odd_signed_whatsapp_body_is_kept_and_answered_200(app, client, fake_api, fake_desk, body):
    assert post_whatsapp(client, body).status_code == 200
    assert rows(app, InboundMessage) != []
    assert fake_desk.tickets == {}


@pytest.mark.parametrize("update", [{"update_id": 1, "message": "text"}, [1, 2], {"update_id": 2, "message": {"chat": "x"}}, {"message": {}}])
def test_an_odd_telegram_update_is_kept_and_answered_200(app, client, fake_api, fake_desk, update):
    assert post_telegram(client, update).status_code == 200
    assert rows(app, InboundMessage) != []
    assert fake_desk.tickets == {}


def test_one_odd_message_in_a_webhook_does_not_hold_back_its_neighbours(app, client, fake_api, fake_desk):
    body = whatsapp_body("not an object", wa_text("My verification code never arrives"))
    assert post_whatsapp(client, body).status_code == 200
    kinds = sorted((row.kind, row.status) for row in rows(app, InboundMessage))
    assert kinds == [("message", "processed"), ("unparsed", "quarantined")]
    [ticket] = fake_desk.tickets.values()
    assert ticket["subject"] == "My verification code never arrives"


def test_a_telegram_service_message_is_kept_without_an_answer(app, client, fake_api, fake_desk):
    post_telegram(client, telegram_message(9301, pinned_message={"message_id": 7, "chat": {"id": 555, "type": "private"}, "date": 1}))
    [row] = rows(app, InboundMessage)
    assert (row.status, row.error) == ("ignored", "unsupported message type pinned_message")
    assert rows(app, OutboundMessage) == [] and fake_desk.tickets == {}
