"""The tickets API with personal tokens: list, create, show, update, reply; JSON errors."""
from __future__ import annotations

import pytest

from portal.auth import services as auth_services
from portal.core.db import db


@pytest.fixture
def token_for(app):
    def issue(email):
        with app.app_context():
            token = auth_services.issue_api_token(auth_services.get_user_by_email(email), "test")
            db.session.commit()
        return {"Authorization": f"Bearer {token}"}

    return issue


def test_requester_creates_lists_and_replies(client, requester, l1, token_for):
    headers = token_for(requester)
    created = client.post("/farajaland/api/v1/tickets", json={"subject": "Declaration stuck in outbox", "body": "Failed to send", "category": "offline-and-sync"}, headers=headers)
    assert created.status_code == 201
    ticket = created.get_json()
    assert ticket["reference"] == "FAR-000001" and ticket["status"] == "new" and "assignee" not in ticket
    listing = client.get("/farajaland/api/v1/tickets", headers=headers).get_json()
    assert [t["reference"] for t in listing["tickets"]] == ["FAR-000001"] and listing["has_more"] is False
    reply = client.post("/farajaland/api/v1/tickets/FAR-000001/messages", json={"body": "Still stuck"}, headers=headers)
    assert reply.status_code == 201 and reply.get_json()["internal"] is False
    internal = client.post("/farajaland/api/v1/tickets/FAR-000001/messages", json={"body": "note", "internal": True}, headers=headers)
    assert internal.status_code == 403 and "internal notes" in internal.get_json()["error"]["message"]


def test_agent_filters_updates_and_sees_the_audit_trail(client, requester, l1, l2, token_for, make_ticket):
    make_ticket(subject="Urgent one", priority="urgent")
    make_ticket(subject="Normal one")
    headers = token_for(l1)
    urgent = client.get("/farajaland/api/v1/tickets?priority=urgent", headers=headers).get_json()["tickets"]
    assert [t["subject"] for t in urgent] == ["Urgent one"]
    page = client.get("/farajaland/api/v1/tickets?per_page=1&page=1", headers=headers).get_json()
    assert len(page["tickets"]) == 1 and page["has_more"] is True
    updated = client.patch("/farajaland/api/v1/tickets/FAR-000002", json={"status": "waiting", "assignee": "l2@farajaland.demo", "priority": "high"}, headers=headers)
    assert updated.status_code == 200, updated.get_json()
    body = updated.get_json()
    assert body["status"] == "waiting" and body["assignee"] == "l2@farajaland.demo" and body["priority"] == "high"
    shown = client.get("/farajaland/api/v1/tickets/far-000002", headers=headers).get_json()
    fields = {e["field"] for e in shown["events"]}
    assert {"created", "status", "assignee", "priority"} <= fields
    assert shown["messages"][0]["body"] == "I asked three times, no SMS."


def test_json_errors(client, requester, l1, token_for, make_ticket, make_user):
    make_ticket()
    headers = token_for(l1)
    assert client.get("/farajaland/api/v1/tickets").status_code == 401
    bad_status = client.patch("/farajaland/api/v1/tickets/FAR-000001", json={"status": "resolved-ish"}, headers=headers)
    assert bad_status.status_code == 422 and bad_status.get_json()["error"]["message"] == "Unknown status."
    transition = client.patch("/farajaland/api/v1/tickets/FAR-000001", json={"status": "closed"}, headers=headers)
    assert transition.status_code == 200
    again = client.patch("/farajaland/api/v1/tickets/FAR-000001", json={"status": "open"}, headers=headers)
    assert again.status_code == 409
    assert client.get("/farajaland/api/v1/tickets/FAR-999999", headers=headers).status_code == 404
    assert client.post("/farajaland/api/v1/tickets", data="not json", headers=headers).status_code == 400
    assert client.get("/farajaland/api/v1/tickets?per_page=1000", headers=headers).status_code == 400
    assert client.post("/farajaland/api/v1/tickets", json={"subject": "x"}, headers=headers).status_code == 422
    # Fields that must be text refuse anything else with a 422 naming them, instead of a 500 or a guess.
    odd = {"subject": "x", "body": "y", "category": [None], "locale": [None], "channel": False}
    refused = client.post("/farajaland/api/v1/tickets", json=odd, headers=headers)
    assert refused.status_code == 422 and "category, channel, locale" in refused.get_json()["error"]["message"]
    assert client.post("/farajaland/api/v1/tickets", json={"subject": "x", "body": "y", "requester": {"email": ["a@b.c"]}}, headers=headers).status_code == 422
    assert client.patch("/farajaland/api/v1/tickets/FAR-000001", json={"office": 7}, headers=headers).status_code == 422
    stranger = token_for(make_user("stranger@example.org"))
    assert client.get("/farajaland/api/v1/tickets/FAR-000001", headers=stranger).status_code == 404


def test_staff_opens_a_ticket_for_a_contact_known_by_phone(client, l1, token_for):
    response = client.post(
        "/farajaland/api/v1/tickets",
        json={"subject": "Called the hotline", "body": "PIN locked", "requester": {"phone": "+260 97 000 1111", "name": "Field agent"}, "channel": "api", "priority": "high"},
        headers=token_for(l1),
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["requester"]["phone"] == "+260 97 000 1111" and body["priority"] == "high"


def test_escalated_is_refused_by_hand_and_the_error_says_how_to_escalate(client, requester, l1, token_for, make_ticket):
    make_ticket()
    for headers in (token_for(l1), token_for(requester)):
        refused = client.patch("/farajaland/api/v1/tickets/FAR-000001", json={"status": "escalated"}, headers=headers)
        assert refused.status_code == 422 and "only when it is escalated, with a reason" in refused.get_json()["error"]["message"]
    shown = client.get("/farajaland/api/v1/tickets/FAR-000001", headers=token_for(l1)).get_json()
    assert (shown["status"], shown["tier"]) == ("new", "L1") and "status" not in {e["field"] for e in shown["events"]}


def test_assigning_to_an_unknown_address_or_a_non_member_gets_one_answer(client, requester, l1, token_for, make_ticket, make_user):
    """The answer must not tell an agent whether an address has an account somewhere."""
    make_ticket()
    outsider = make_user(tenant="kalondo", role="requester")
    headers = token_for(l1)
    answers = [client.patch("/farajaland/api/v1/tickets/FAR-000001", json={"assignee": email}, headers=headers)
               for email in ("nobody-at-all@example.org", outsider)]
    assert [a.status_code for a in answers] == [422, 422]
    assert answers[0].get_json()["error"]["message"] == answers[1].get_json()["error"]["message"] == "Tickets can only be assigned to the support team."
