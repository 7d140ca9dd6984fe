""""Talk to a person": the conversation goes to the support team with its transcript."""
from __future__ import annotations

from portal.assistant.models import HandoverRequest, Outcome, Turn


def test_signed_in_user_hands_over_with_the_transcript(client, auth, make_user, stored):
    email = make_user()
    auth.login(email)
    client.post("/farajaland/assistant", data={"message": "my declaration is stuck in the outbox"})
    client.post("/farajaland/assistant", data={"message": "still stuck after reconnecting"})
    response = client.post("/farajaland/assistant/handover", follow_redirects=True)
    assert "passed to the support team" in response.get_data(as_text=True)
    [request] = stored(HandoverRequest)
    assert request.email == email
    assert [t["question"] for t in request.transcript] == ["my declaration is stuck in the outbox",
                                                           "still stuck after reconnecting"]
    assert request.transcript[0]["article"] == "declaration-stuck-in-outbox"
    turns = stored(Turn)
    assert turns[-1].outcome == Outcome.HANDED_OVER
    # The next question starts a new conversation.
    client.post("/farajaland/assistant", data={"message": "forgot my password"})
    assert stored(Turn)[-1].conversation_id != turns[0].conversation_id


def test_anonymous_visitor_must_leave_a_way_to_reply(client, stored):
    client.post("/farajaland/assistant", data={"message": "how do I register a marriage"})
    response = client.post("/farajaland/assistant/handover", data={"name": "Ama"}, headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert "email address or a phone number" in response.get_json()["error"]["message"]
    response = client.post("/farajaland/assistant/handover", data={"email": "not-an-email"},
                           headers={"Accept": "application/json"})
    assert response.status_code == 400
    response = client.post("/farajaland/assistant/handover", data={"name": "Ama", "phone": "+260 97 000 1111"},
                           headers={"Accept": "application/json"})
    assert response.status_code == 200 and "passed to the support team" in response.get_json()["message"]
    [request] = stored(HandoverRequest)
    assert request.phone == "+260 97 000 1111" and request.name == "Ama"
    assert request.transcript[0]["question"] == "how do I register a marriage"


def test_hand_over_without_a_conversation_is_refused(client):
    response = client.post("/farajaland/assistant/handover", data={"email": "a@example.org"}, follow_redirects=True)
    assert "ask a question first" in response.get_data(as_text=True)
