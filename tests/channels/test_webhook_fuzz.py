"""Fuzzing the signed inbound webhooks (WhatsApp, Telegram, GitHub) with what the wild may send.

Every body is signed as the provider signs it, so each one gets past the door: arbitrary JSON values
(any code point in strings, NUL and lone surrogates escaped, huge integers) and real payload shapes
with one field replaced by an arbitrary value at any depth, or removed; then any text a person can
type, through the fake desk and through the real assistant and desk. The inputs the fuzzing found
to break the contract are pinned at the end, one test each.

Whatever comes, the contract of the webhooks is: an answer of 200 (or a clear 4xx), never a 500, no
exception escaping (not even from the processing that runs after the answer), and no message lost:
every event the channel cuts out of the body is stored and has reached an outcome (processed,
ignored or quarantined), not left `received` by a crash.
"""
from __future__ import annotations

import copy
import itertools
import json

import pytest
from hypothesis import HealthCheck, example, given, note, settings
from hypothesis import event as _event
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from sqlalchemy import select

from portal.channels.base import get_channel
from portal.channels.models import InboundMessage, InboundStatus
from portal.core.db import db, tenant_scope
from portal.tenancy.services import get_tenant
from tests.channels.conftest import TELEGRAM_SECRET, app_answering_from_the_demo_kb, sign, wa_text, whatsapp_body

WHATSAPP = "/farajaland/channels/whatsapp"
TELEGRAM = "/farajaland/channels/telegram"
GITHUB = "/expert/github/webhook"
GITHUB_SECRET = "whsec_fuzz"
GITHUB_REPOSITORY = "opencrvs/opencrvs-core"

FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,  # no example database in the working tree
    # The same examples on every run (a seed per test), so that a run passes or fails the same way in CI;
    # set derandomize=False locally to explore new examples on every run.
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)

# -- arbitrary JSON -------------------------------------------------------------------------------

# Keys the channels read, so that random objects reach deep into the code, and any other key.
KNOWN_KEYS = [
    "object", "entry", "id", "changes", "field", "value", "messaging_product", "metadata", "display_phone_number",
    "phone_number_id", "contacts", "profile", "name", "wa_id", "messages", "statuses", "from", "timestamp", "type",
    "text", "body", "image", "document", "audio", "video", "sticker", "caption", "mime_type", "filename", "location",
    "latitude", "longitude", "address", "interactive", "button_reply", "list_reply", "title", "button", "payload",
    "reaction", "emoji", "message_id", "system", "errors", "code", "message", "status", "recipient_id", "phones",
    "phone", "formatted_name", "update_id", "edited_message", "chat", "first_name", "last_name", "language_code",
    "photo", "file_id", "file_name", "voice", "contact", "phone_number", "venue", "poll", "question", "options",
    "date", "issue", "number", "state", "state_reason", "html_url", "repository", "full_name", "action",
]
# Every code point, controls, NUL and lone surrogates included (json.dumps escapes them as \uXXXX).
WILD_CHAR = st.characters(exclude_categories=())
SPECIAL_STRINGS = ["", " ", "\x00", "a\x00b", "\ud800", "x\udfff", "😀", "\u202e\u200b", "é" * 400, "9" * 700,
                   "text", "image", "sticker", "reaction", "status", "system", "location", "contacts", "null", "{}"]
wild_text = st.one_of(st.text(WILD_CHAR, max_size=40), st.sampled_from(SPECIAL_STRINGS))
keys = st.one_of(st.sampled_from(KNOWN_KEYS), wild_text)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([0, -1, 2**31, 2**63, -(2**63) - 1, 10**30, 10**300]),
    st.floats(allow_nan=False, allow_infinity=False),  # what RFC 8259 JSON can carry
    wild_text,
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=5)),
    max_leaves=20,
)


def encode(value, ascii_only: bool) -> bytes:
    """As a provider may write it: escaped ASCII, or raw UTF-8 (a lone surrogate then makes bytes that
    are not UTF-8 at all, as a broken encoder would)."""
    return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


# -- mutations of real payloads --------------------------------------------------------------------


def _paths(value, prefix=()):
    """Every place in a JSON value: the path of keys / indexes leading to it (the root excluded)."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield prefix + (key,)
            yield from _paths(child, prefix + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield prefix + (index,)
            yield from _paths(child, prefix + (index,))


@st.composite
def mutated(draw, seeds, prepare=copy.deepcopy):
    """A real payload with one field replaced by an arbitrary JSON value at a random depth, removed,
    or given an unknown sibling. `prepare` makes a fresh copy of the seed (new ids) first."""
    value = prepare(draw(st.sampled_from(seeds)))
    path = draw(st.sampled_from(list(_paths(value))))
    parent = value
    for step in path[:-1]:
        parent = parent[step]
    operation = draw(st.sampled_from(["replace", "replace", "replace", "delete", "add"]))
    if operation == "delete" and isinstance(parent, dict):
        del parent[path[-1]]
    elif operation == "add" and isinstance(parent, dict):
        parent[draw(keys)] = draw(json_values)
    else:
        parent[path[-1]] = draw(json_values)
    note(f"{operation} at {path!r}")
    return value


_ids = itertools.count(1)


def fresh(kind: str) -> str:
    """An id unused so far, so that each example is processed (not recognised as a copy)."""
    return f"{kind}.fuzz.{next(_ids)}"


WA_SENDER = "260971234567"
WHATSAPP_MESSAGES = [
    wa_text("My verification code never arrives"),
    {"from": WA_SENDER, "id": "wamid.img", "timestamp": "1790000000", "type": "image",
     "image": {"id": "MEDIA123", "mime_type": "image/jpeg", "sha256": "abc", "caption": "Blank certificate"}},
    {"from": WA_SENDER, "id": "wamid.doc", "type": "document",
     "document": {"id": "DOC1", "mime_type": "application/pdf", "filename": "form.pdf", "caption": "the form"}},
    {"from": WA_SENDER, "id": "wamid.aud", "type": "audio", "audio": {"id": "AUDIO1", "mime_type": "audio/ogg; codecs=opus", "voice": True}},
    {"from": WA_SENDER, "id": "wamid.loc", "type": "location",
     "location": {"latitude": -15.4, "longitude": 28.3, "name": "Ibombo office", "address": "Main road"}},
    {"from": WA_SENDER, "id": "wamid.c", "type": "contacts", "contacts": [
        {"name": {"formatted_name": "Chanda Mwale", "first_name": "Chanda"}, "phones": [{"phone": "+260 97 111 2222", "type": "CELL"}]}]},
    {"from": WA_SENDER, "id": "wamid.btn", "type": "interactive",
     "interactive": {"type": "button_reply", "button_reply": {"id": "b1", "title": "Still broken"}}},
    {"from": WA_SENDER, "id": "wamid.tpl", "type": "button", "button": {"text": "Yes", "payload": "YES"}},
    {"from": WA_SENDER, "id": "wamid.r", "type": "reaction", "reaction": {"message_id": "wamid.out.1", "emoji": "👍"}},
    {"from": WA_SENDER, "id": "wamid.s", "type": "sticker", "sticker": {"id": "STICKER1", "mime_type": "image/webp", "animated": False}},
    {"from": WA_SENDER, "id": "wamid.u", "type": "unsupported",
     "errors": [{"code": 131051, "title": "Message type unknown", "message": "Message type unknown"}]},
    {"from": WA_SENDER, "id": "wamid.sys", "type": "system", "system": {"body": "User changed number", "type": "user_changed_number"}},
]
WHATSAPP_STATUSES = [
    {"id": "wamid.out.1", "status": "delivered", "timestamp": "1790000100", "recipient_id": WA_SENDER},
    {"id": "wamid.out.1", "status": "failed", "timestamp": "1790000200", "recipient_id": WA_SENDER,
     "errors": [{"code": 131026, "title": "Message undeliverable"}]},
]
WHATSAPP_SEEDS = [json.loads(whatsapp_body(m)) for m in WHATSAPP_MESSAGES] + [json.loads(whatsapp_body(statuses=[s])) for s in WHATSAPP_STATUSES]


def _telegram(update_id=9001, chat_id=555, **content):
    message = {"message_id": 1, "from": {"id": chat_id, "is_bot": False, "first_name": "Jean", "last_name": "Phiri", "language_code": "fr"},
               "chat": {"id": chat_id, "first_name": "Jean", "type": "private"}, "date": 1790000000, **content}
    return {"update_id": update_id, "message": message}


TELEGRAM_SEEDS = [
    _telegram(text="Bonjour, mon code PIN est bloqué", entities=[{"offset": 0, "length": 7, "type": "bold"}]),
    _telegram(photo=[{"file_id": "P1", "file_unique_id": "u1", "width": 90, "height": 90, "file_size": 1000},
                     {"file_id": "P2", "file_unique_id": "u2", "width": 800, "height": 800}], caption="Blank certificate"),
    _telegram(voice={"file_id": "VOICE1", "file_unique_id": "v1", "duration": 7, "mime_type": "audio/ogg"}),
    _telegram(document={"file_id": "DOC1", "file_unique_id": "d1", "file_name": "form.pdf", "mime_type": "application/pdf"}, caption="the form"),
    _telegram(location={"latitude": -15.4, "longitude": 28.3}),
    _telegram(venue={"location": {"latitude": -15.4, "longitude": 28.3}, "title": "Ibombo office", "address": "Main road"}),
    _telegram(contact={"phone_number": "+260971112222", "first_name": "Chanda", "user_id": 77}),
    _telegram(poll={"id": "1", "question": "?", "options": [{"text": "a", "voter_count": 0}], "is_closed": False}),
    _telegram(sticker={"file_id": "STICKER", "file_unique_id": "s1", "emoji": "👍", "type": "regular", "width": 512, "height": 512}),
    {"update_id": 9002, "edited_message": _telegram(text="corrected text")["message"]},
]

GITHUB_SEEDS = [
    {"action": action, "repository": {"full_name": GITHUB_REPOSITORY, "id": 1},
     "issue": {"number": 42, "html_url": "https://github.example/opencrvs/core/issues/42", "state": state, "state_reason": reason,
               "title": "Outbox does not retry", "labels": [{"name": "bug"}]},
     "sender": {"login": "octocat"}}
    for action, state, reason in [("closed", "closed", "completed"), ("reopened", "open", "reopened"), ("labeled", "open", None),
                                  ("closed", "closed", "not_planned")]
]


def _fresh_whatsapp(body: dict) -> dict:
    """Give the seed's messages and statuses ids never seen, before it is mutated."""
    body = copy.deepcopy(body)
    for change in body["entry"][0]["changes"]:
        for message in change["value"].get("messages", []):
            message["id"] = fresh("wamid")
        for status in change["value"].get("statuses", []):
            status["timestamp"] = str(1790000000 + next(_ids))
    return body


def _fresh_telegram(update: dict) -> dict:
    update = copy.deepcopy(update)
    update["update_id"] = 10**6 + next(_ids)
    return update


# -- posting and checking -------------------------------------------------------------------------


def event(label: str) -> None:
    """Count an outcome for --hypothesis-show-statistics (a no-op outside Hypothesis' tests)."""
    if currently_in_test_context():
        _event(label)


def post_whatsapp(client, body: bytes):
    return client.post(WHATSAPP, data=body, headers={"X-Hub-Signature-256": sign(body)}, content_type="application/json", buffered=True)


def post_telegram(client, body: bytes):
    return client.post(TELEGRAM, data=body, headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}, content_type="application/json", buffered=True)


def assert_kept_and_handled(app, channel: str, body: bytes, response) -> None:
    """200 (or a clear 4xx), and every event of the body stored and taken to an outcome."""
    assert response.status_code != 500, response.get_data(as_text=True)[:500]
    assert response.status_code == 200 or 400 <= response.status_code < 500, response.status_code
    event(f"HTTP {response.status_code}")
    if response.status_code != 200:
        return
    with app.app_context():
        tenant = get_tenant("farajaland")
        events = get_channel(channel).split_webhook(tenant, body)
        with tenant_scope(db.session, tenant.id):
            rows = db.session.execute(select(InboundMessage.provider_id, InboundMessage.status, InboundMessage.error)
                                      .where(InboundMessage.channel == channel)).all()
    stored = {provider_id: status for provider_id, status, _ in rows}
    errors = {provider_id: error for provider_id, _, error in rows}
    event(f"{len(events)} event(s)")
    for cut in events:
        provider_id = cut.provider_id[:500]
        assert provider_id in stored, f"event {provider_id!r} was not stored (lost)"
        assert stored[provider_id] != InboundStatus.RECEIVED, f"event {provider_id!r} was stored but its processing never finished"
        outcome = stored[provider_id]
        event(f"{cut.kind} -> {outcome}" + (f" ({errors[provider_id].split(':')[0][:40]})" if outcome == InboundStatus.QUARANTINED else ""))


# -- WhatsApp ---------------------------------------------------------------------------------------


@FUZZ
@given(value=json_values, ascii_only=st.booleans())
def test_whatsapp_any_signed_json_is_answered_and_kept(app, client, fake_api, fake_desk, value, ascii_only):
    body = encode(value, ascii_only)
    assert_kept_and_handled(app, "whatsapp", body, post_whatsapp(client, body))


@FUZZ
@given(body=mutated(WHATSAPP_SEEDS, _fresh_whatsapp), ascii_only=st.booleans())
def test_whatsapp_a_real_payload_with_one_field_gone_wild_is_answered_and_kept(app, client, fake_api, fake_desk, body, ascii_only):
    body = encode(body, ascii_only)
    assert_kept_and_handled(app, "whatsapp", body, post_whatsapp(client, body))


# -- Telegram ---------------------------------------------------------------------------------------


@FUZZ
@given(value=json_values, ascii_only=st.booleans())
def test_telegram_any_json_with_the_secret_token_is_answered_and_kept(app, client, fake_api, fake_desk, value, ascii_only):
    body = encode(value, ascii_only)
    assert_kept_and_handled(app, "telegram", body, post_telegram(client, body))


@FUZZ
@given(update=mutated(TELEGRAM_SEEDS, _fresh_telegram), ascii_only=st.booleans())
def test_telegram_a_real_update_with_one_field_gone_wild_is_answered_and_kept(app, client, fake_api, fake_desk, update, ascii_only):
    body = encode(update, ascii_only)
    assert_kept_and_handled(app, "telegram", body, post_telegram(client, body))


# -- any text a person can type reaches the desk -------------------------------------------------------

# What a person can type or paste: any code point but lone surrogates and NUL (those two are the
# subject of test_a_signed_webhook_is_never_refused_for_the_characters_it_carries).
typed_char = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
typed_text = st.text(typed_char, min_size=1, max_size=5000).filter(lambda t: t.strip())


@FUZZ
@given(text=typed_text)
@example(text="é" * 4096)
@example(text="\u202eright-to-left override, zero\u200bwidth, 👨‍👩‍👧 family emoji")
def test_any_whatsapp_text_reaches_the_desk(app, client, fake_api, fake_desk, text):
    sender = f"2609{next(_ids):08d}"
    body = whatsapp_body(wa_text(text, wamid=fresh("wamid"), sender=sender))
    response = post_whatsapp(client, body)
    assert_kept_and_handled(app, "whatsapp", body, response)
    ticket = next(t for t in fake_desk.tickets.values() if t["body"] == text)
    assert ticket["channel"] == "whatsapp"


@FUZZ
@given(text=typed_text, first_name=st.text(typed_char, max_size=64))
def test_any_telegram_text_reaches_the_desk(app, client, fake_api, fake_desk, text, first_name):
    update = _telegram(update_id=2 * 10**6 + next(_ids), chat_id=next(_ids), text=text)
    update["message"]["from"]["first_name"] = first_name
    body = json.dumps(update).encode()
    response = post_telegram(client, body)
    assert_kept_and_handled(app, "telegram", body, response)
    assert any(t["body"] == text and t["channel"] == "telegram" for t in fake_desk.tickets.values())


# -- GitHub -----------------------------------------------------------------------------------------


@pytest.fixture
def github_webhook(app, monkeypatch):
    """The webhook set up (secret and repository, no API token: nothing is fetched from GitHub), and a
    problem following issue 42, so that deliveries about it reach the database."""
    from portal.escalation.models import Problem

    for name in ("GITHUB_TOKEN", "GITHUB_API_BASE", "GITHUB_REPOSITORY", "GITHUB_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    app.config.update(GITHUB_WEBHOOK_SECRET=GITHUB_SECRET, GITHUB_REPOSITORY=GITHUB_REPOSITORY, GITHUB_TOKEN="")
    with app.app_context():
        db.session.add(Problem(title="Outbox does not retry", github_number=42))
        db.session.commit()


def post_github(client, body: bytes, event: str):
    return client.post(GITHUB, data=body, content_type="application/json",
                       headers={"X-GitHub-Event": event, "X-Hub-Signature-256": sign(body, GITHUB_SECRET)})


github_events = st.one_of(st.sampled_from(["issues", "issues", "ping", "push", ""]), st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=10))


@FUZZ
@given(value=json_values, event=github_events, ascii_only=st.booleans())
def test_github_any_signed_json_is_answered_without_a_500(client, github_webhook, value, event, ascii_only):
    response = post_github(client, encode(value, ascii_only), event)
    assert response.status_code < 500, response.get_data(as_text=True)[:500]


@FUZZ
@given(payload=mutated(GITHUB_SEEDS), event=st.sampled_from(["issues", "issues", "issues", "ping"]), ascii_only=st.booleans())
def test_github_a_real_issues_event_with_one_field_gone_wild_is_answered_without_a_500(client, github_webhook, payload, event, ascii_only):
    response = post_github(client, encode(payload, ascii_only), event)
    assert response.status_code < 500, response.get_data(as_text=True)[:500]


# -- inputs found by the fuzzing above, pinned ----------------------------------------------------------


@pytest.mark.parametrize("channel, body", [
    ("whatsapp", whatsapp_body(wa_text("code \x00 never came", wamid="wamid.nul"))),
    # Half of an emoji (a string cut in UTF-16 code units, as JavaScript cuts it), escaped as JSON allows.
    ("whatsapp", whatsapp_body(wa_text("stuck again \ud83d", wamid="wamid.half-emoji"))),
    ("telegram", json.dumps(_telegram(update_id=7001, text="code \x00 never came")).encode()),
    ("telegram", json.dumps(_telegram(update_id=7002, text="stuck again \ud83d")).encode()),
], ids=["whatsapp-nul", "whatsapp-lone-surrogate", "telegram-nul", "telegram-lone-surrogate"])
def test_a_signed_webhook_is_never_refused_for_the_characters_it_carries(app, client, fake_api, fake_desk, channel, body):
    """The provider signed it: refusing it (a 400) loses the message after the provider's retries. It
    must be stored raw (the raw column is bytes) and answered 200, whatever the text columns can keep."""
    response = (post_whatsapp if channel == "whatsapp" else post_telegram)(client, body)
    assert response.status_code == 200
    assert_kept_and_handled(app, channel, body, response)


DEEP = 5000  # JSON nested this deep (a few hundred bytes more than a flat body) exhausts the decoder's recursion


@pytest.mark.parametrize("target, shape", [("whatsapp", "array"), ("whatsapp", "object"), ("telegram", "array"), ("github", "array"),
                                           ("whatsapp-unsigned", "array")])
def test_a_deeply_nested_json_body_is_answered_without_a_500(app, client, fake_api, fake_desk, github_webhook, target, shape):
    body = b"[" * DEEP + b"]" * DEEP if shape == "array" else b'{"a":' * DEEP + b"1" + b"}" * DEEP
    if target == "whatsapp":
        response = post_whatsapp(client, body)
    elif target == "telegram":
        response = post_telegram(client, body)
    elif target == "github":
        response = post_github(client, body, "issues")
    else:
        response = client.post(WHATSAPP, data=body, content_type="application/json")
    assert response.status_code != 500
    assert response.status_code == 200 or 400 <= response.status_code < 500


@pytest.mark.parametrize("issue", [
    {"number": 2**31},  # past problems.github_number (a 32-bit INTEGER on PostgreSQL)
    {"number": 2**63},  # one past the largest 64-bit integer
    {"number": 1e300},  # a float: int() of it is as large
    {"html_url": "https://github.example/opencrvs/core/issues/42?" + "x" * 600},  # longer than problems.github_url (500)
    {"state": "closed" * 10},  # cut to 20 by the webhook: must not fail
], ids=["number-2**31", "number-2**63", "number-1e300", "html_url-600-chars", "long-state"])
def test_github_an_issues_event_with_an_out_of_range_field_is_answered_without_a_500(client, github_webhook, issue):
    payload = {**GITHUB_SEEDS[0], "issue": {**GITHUB_SEEDS[0]["issue"], **issue}}
    response = post_github(client, json.dumps(payload).encode(), "issues")
    assert response.status_code != 500
    assert response.status_code == 200 or 400 <= response.status_code < 500


# -- with the real assistant and the real ticket desk ------------------------------------------------------


@pytest.fixture
def assistant_client(make_app, fake_api):
    """A client of an app whose assistant answers from the demo knowledge base, the real desk behind it."""
    app = app_answering_from_the_demo_kb(make_app)
    return app, app.test_client()


def assert_answered(app, channel: str, address: str, body: bytes, response) -> None:
    """Processed (not quarantined), and the requester gets something back: the assistant's answer or
    the reference of the ticket their message opened."""
    from portal.channels.models import OutboundMessage

    assert_kept_and_handled(app, channel, body, response)
    [cut] = get_channel(channel).split_webhook(None, body)
    with app.app_context(), tenant_scope(db.session, get_tenant("farajaland").id):
        row = db.session.scalar(select(InboundMessage).where(InboundMessage.channel == channel, InboundMessage.provider_id == cut.provider_id))
        assert (row.status, row.error) == (InboundStatus.PROCESSED, "")
        answers = db.session.scalars(select(OutboundMessage).where(OutboundMessage.recipient == address)).all()
        assert answers, "the requester was told nothing"
        event("ticket" if row.ticket_id else "answered by the assistant")


# Up to 2000 characters: longer ones (the providers carry 4096) are the subject of
# test_a_long_message_within_the_providers_limit_reaches_a_person.
typed_message = st.text(typed_char, min_size=1, max_size=2000).filter(lambda t: t.strip())


@settings(FUZZ, max_examples=20)  # each answer runs the real assistant: slower than the others
@given(text=st.one_of(typed_message, st.sampled_from([
    "My verification code never arrives", "Ma déclaration est bloquée dans la boîte d'envoi", "I want to talk to a person",
    "😡😡😡", "؟", "?!", "الرجاء المساعدة", "請幫忙", "http://x.example/" + "a" * 300,
])), channel=st.sampled_from(["whatsapp", "telegram"]))
def test_any_text_gets_an_answer_or_a_ticket_with_the_real_assistant_and_desk(assistant_client, text, channel):
    app, client = assistant_client
    number = next(_ids)
    if channel == "whatsapp":
        address = f"2609{number:08d}"
        body = whatsapp_body(wa_text(text, wamid=fresh("wamid"), sender=address))
        response = post_whatsapp(client, body)
    else:
        address = str(number)
        body = json.dumps(_telegram(update_id=3 * 10**6 + number, chat_id=number, text=text)).encode()
        response = post_telegram(client, body)
    assert_answered(app, channel, address, body, response)


@pytest.mark.parametrize("channel", ["whatsapp", "telegram"])
def test_a_long_message_within_the_providers_limit_reaches_a_person(assistant_client, channel):
    """WhatsApp and Telegram carry up to 4096 characters: a requester who pastes a long description
    must get an answer or a ticket, not silence."""
    app, client = assistant_client
    text = ("The declaration form fails when I submit it offline and then go back online. " * 40)[:2500]
    if channel == "whatsapp":
        address, body = "260970002500", whatsapp_body(wa_text(text, wamid="wamid.long", sender="260970002500"))
        response = post_whatsapp(client, body)
    else:
        address, body = "2500", json.dumps(_telegram(update_id=2500, chat_id=2500, text=text)).encode()
        response = post_telegram(client, body)
    assert_answered(app, channel, address, body, response)


OGG_OPUS = b"OggS\x00\x02" + b"\x00" * 20 + b"\x01\x13OpusHead\x01\x01\x38\x01\x80\xbb\x00\x00\x00\x00" + bytes(200)


@pytest.mark.parametrize("channel", ["whatsapp", "telegram"])
def test_a_voice_note_reaches_the_real_desk(app, client, fake_api, monkeypatch, channel):
    """A voice note is how many requesters write (WhatsApp and Telegram send Ogg/Opus): with the real
    ticket desk behind the channel it must open a ticket, not be quarantined for its file type."""
    from portal.channels import telegram, whatsapp
    from portal.channels.emailparse import Attachment
    from portal.tickets.models import Ticket

    # The fake provider APIs serve the same JPEG/PDF bytes for every file: serve what a voice note is.
    monkeypatch.setattr(whatsapp.WhatsAppChannel, "fetch_media", lambda self, tenant, media: Attachment(f"{media['id']}.ogg", "audio/ogg", OGG_OPUS))
    monkeypatch.setattr(telegram.TelegramChannel, "fetch_file", lambda self, tenant, file: Attachment("file_7.oga", "audio/ogg", OGG_OPUS))
    if channel == "whatsapp":
        body = whatsapp_body({"from": WA_SENDER, "id": "wamid.voice", "type": "audio", "audio": {"id": "AUDIO1", "mime_type": "audio/ogg; codecs=opus", "voice": True}})
        response = post_whatsapp(client, body)
    else:
        body = json.dumps(_telegram(update_id=8800, voice={"file_id": "VOICE1", "duration": 7, "mime_type": "audio/ogg"})).encode()
        response = post_telegram(client, body)
    assert response.status_code == 200
    [row] = [r for r in _rows(app) if r.channel == channel]
    assert (row.status, row.error) == (InboundStatus.PROCESSED, "")
    with app.app_context(), tenant_scope(db.session, get_tenant("farajaland").id):
        assert db.session.scalars(select(Ticket)).all()


def _rows(app):
    with app.app_context(), tenant_scope(db.session, get_tenant("farajaland").id):
        found = db.session.scalars(select(InboundMessage).order_by(InboundMessage.id)).all()
        db.session.expunge_all()
        return found
