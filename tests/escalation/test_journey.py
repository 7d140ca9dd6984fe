"""The whole journey: requester → L1 → L2 → the central console → answer to L2 → relayed to the requester."""
from __future__ import annotations

import io

from portal.channels.services import work_once
from portal.core.mail import sent_mail

from .conftest import L3_DETAILS


def _form(prefix: str, data: dict) -> dict:
    return {f"{prefix}-{k}": v for k, v in data.items()}


def test_an_escalation_travels_to_the_central_team_and_back(app, client, auth, staff, open_ticket, read_ticket):
    reference = open_ticket(staff["far_req"], subject="Outbox never retries after a timeout")
    staff["far_l2"]  # the country's technician exists before the ticket reaches Level 2

    # L1 sends it to L2 with a reason and a severity.
    auth.login(staff["far_l1"])
    page = client.get(f"/farajaland/tickets/{reference}/escalation").get_data(as_text=True)
    assert "Escalate to Level 2" in page and 'value="1.8.1"' in page  # the deployed version by default
    with app.app_context():
        sent_before = len(sent_mail())
    response = client.post(f"/farajaland/tickets/{reference}/escalation/up", data=_form("up", {"reason": "Needs a technician", "severity": "medium"}))
    assert response.status_code == 302
    status, tier, _messages = read_ticket(reference)
    assert (status, tier) == ("escalated", "L2")
    with app.app_context():  # the technician who now holds it is told, with the reason (and nobody else)
        [notice] = [m for m in sent_mail()[sent_before:] if "Level 2" in m["Subject"]]
    assert (notice["To"], notice["Subject"]) == ("l2@farajaland.demo", f"[{reference}] Escalated to Level 2")
    assert "Needs a technician" in notice.get_content() and f"/farajaland/tickets/{reference}" in notice.get_content()
    auth.logout()

    # L2 must give the technical details the core team needs; missing ones are named.
    auth.login(staff["far_l2"])
    missing = client.post(f"/farajaland/tickets/{reference}/escalation/up", data=_form("up", {"reason": "Core defect", "severity": "high"}))
    assert missing.status_code == 422
    assert "Give the steps to reproduce the problem." in missing.get_data(as_text=True)
    assert read_ticket(reference)[1] == "L2"
    data = _form("up", L3_DETAILS)
    data["up-attachments"] = (io.BytesIO(b"2026-11-30 outbox: timeout after 30s\n"), "outbox.log")
    response = client.post(f"/farajaland/tickets/{reference}/escalation/up", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    assert read_ticket(reference)[1] == "L3"
    page = client.get(f"/farajaland/tickets/{reference}/escalation").get_data(as_text=True)
    assert "Level 3 (central team)" in page and "running" in page
    auth.logout()

    # The expert finds it in the console with country, version and severity, and answers L2.
    auth.login(staff["expert"], tenant=None)
    console = client.get("/expert/").get_data(as_text=True)
    assert reference in console and "1.8.1" in console and "high" in console
    step_link = console.split(f'">{reference}</a>')[0].rsplit('href="', 1)[1]
    detail = client.get(step_link).get_data(as_text=True)
    assert "Go offline, declare a birth" in detail and "outbox.log" in detail
    file_link = detail.split('">outbox.log</a>')[0].rsplit('href="', 1)[1]
    with client.get(file_link) as download:
        assert download.data.startswith(b"2026-11-30 outbox")
    sent_before = len(app.extensions.get("sent_mail", []))
    response = client.post(f"{step_link}/reply", data={"body": "Fixed in the next hotfix. Meanwhile, clear the outbox cache."})
    assert response.status_code == 302
    with app.app_context():
        notices = sent_mail()[sent_before:]
    assert any(m["To"] == "l2@farajaland.demo" and "central team answered" in m["Subject"] for m in notices)
    auth.logout()

    # The requester sees nothing of it yet: the answer is an internal note for L2.
    messages = read_ticket(reference)[2]
    assert (False, "Fixed in the next hotfix. Meanwhile, clear the outbox cache.") in messages
    assert not any(public and "hotfix" in body for public, body in messages)

    # L2 relays it, edited for the requester.
    auth.login(staff["far_l2"])
    page = client.get(f"/farajaland/tickets/{reference}/escalation").get_data(as_text=True)
    assert "Answers from the central team" in page
    relay_url = page.split('class="relay-form"')[0].rsplit('action="', 1)[1].split('"')[0]
    reply_id = relay_url.rsplit("/", 1)[1]
    response = client.post(relay_url, data={f"relay{reply_id}-body": "A fix is coming. Until then, please clear the outbox cache."})
    assert response.status_code == 302
    assert "sent to the requester" in client.get(f"/farajaland/tickets/{reference}/escalation").get_data(as_text=True)
    assert client.post(relay_url, data={}).status_code == 409  # only once
    messages = read_ticket(reference)[2]
    assert (True, "A fix is coming. Until then, please clear the outbox cache.") in messages
    with app.app_context():
        work_once()  # the relayed answer leaves through the outbox
        assert any(m["To"] == "clerk@example.org" and "clear the outbox cache" in m.get_body(preferencelist=("plain",)).get_content() for m in sent_mail())


def test_deescalation_needs_a_reason_and_is_shown_in_the_tier_history(client, auth, staff, to_l3, read_ticket):
    reference, step = to_l3()
    auth.login(staff["expert"], tenant=None)
    assert client.post(f"/expert/escalations/{step}/return", data={"down-reason": ""}).status_code == 422
    assert client.post(f"/expert/escalations/{step}/return", data={"down-reason": "Configuration issue: the SMS gateway key expired."}).status_code == 302
    assert read_ticket(reference)[1] == "L2"
    assert reference not in client.get("/expert/").get_data(as_text=True)
    assert reference in client.get("/expert/?status=returned").get_data(as_text=True)
    auth.logout()
    auth.login(staff["far_l2"])
    assert client.post(f"/farajaland/tickets/{reference}/escalation/down", data={"down-reason": "First line can guide the user."}).status_code == 302
    status, tier, _ = read_ticket(reference)
    assert (status, tier) == ("open", "L1")
    page = client.get(f"/farajaland/tickets/{reference}/escalation").get_data(as_text=True)
    assert page.count("sent back") == 2
    assert "the SMS gateway key expired" in page and "First line can guide the user." in page


def test_l1_cannot_send_a_ticket_to_the_central_team(client, auth, staff, open_ticket, move_up):
    reference = open_ticket(staff["far_req"])
    move_up(reference, staff["far_l1"])
    auth.login(staff["far_l1"])
    response = client.post(f"/farajaland/tickets/{reference}/escalation/up", data=_form("up", L3_DETAILS))
    assert response.status_code == 403


def test_api_escalation_explains_what_is_missing(client, staff, open_ticket, token_for, read_ticket):
    reference = open_ticket(staff["far_req"])
    headers = {"Authorization": f"Bearer {token_for(staff['far_l1'])}"}
    url = f"/farajaland/api/v1/tickets/{reference}/escalate"
    assert client.post(url, data="nonsense", headers=headers).status_code == 400
    missing = client.post(url, json={"details": {"severity": "high"}}, headers=headers)
    assert missing.status_code == 422
    assert "reason" in missing.get_json()["error"]["fields"]
    created = client.post(url, json={"reason": "Needs a technician", "details": {"severity": "medium"}}, headers=headers)
    assert created.status_code == 201 and created.get_json()["tier"] == "L2"
    assert client.post("/farajaland/api/v1/tickets/FAR-999999/escalate", json={}, headers=headers).status_code == 404
    l2 = {"Authorization": f"Bearer {token_for(staff['far_l2'])}"}
    bad_version = client.post(url, json={**L3_DETAILS, "opencrvs_version": "latest"}, headers=l2)
    assert bad_version.status_code == 422 and "opencrvs_version" in bad_version.get_json()["error"]["fields"]
    assert client.post(url, json=L3_DETAILS, headers=l2).status_code == 201
    assert read_ticket(reference)[1] == "L3"


def test_only_level_2_relays_the_central_teams_answers(app, client, auth, staff, to_l3, in_tenant, read_ticket):
    reference, step = to_l3()
    auth.login(staff["expert"], tenant=None)
    client.post(f"/expert/escalations/{step}/reply", data={"body": "Please send the server logs."})
    auth.logout()

    def reply_id(tenant):
        from portal.escalation.services import expert_replies
        from portal.tickets.services import get_ticket_by_reference

        return expert_replies(tenant, get_ticket_by_reference(tenant, reference))[0].id

    url = f"/farajaland/tickets/{reference}/escalation/relay/{in_tenant(reply_id)}"
    auth.login(staff["far_l1"])
    assert "Please send the server logs." in client.get(f"/farajaland/tickets/{reference}/escalation").get_data(as_text=True)
    assert client.post(url, data={}).status_code == 403
    assert not any(public and "server logs" in body for public, body in read_ticket(reference)[2])


def test_the_agent_given_a_ticket_sent_back_reads_why_in_the_mail(app, client, auth, staff, open_ticket, move_up):
    reference = open_ticket(staff["far_req"])
    move_up(reference, staff["far_l1"])
    auth.login(staff["far_l2"])
    with app.app_context():
        before = len(sent_mail())
    response = client.post(f"/farajaland/tickets/{reference}/escalation/down", data={"down-reason": "Ask them to restart the tablet first."})
    assert response.status_code == 302
    with app.app_context():
        [notice] = [m for m in sent_mail()[before:] if m["To"] == staff["far_l1"]]
    assert notice["Subject"] == f"[{reference}] Assigned to you"
    assert "Their reason: Ask them to restart the tablet first." in notice.get_content()


def test_level_2_sends_on_the_answer_it_reads_and_never_one_it_did_not_see(client, auth, staff, to_l3, read_ticket):
    reference, step = to_l3()
    auth.login(staff["expert"], tenant=None)
    client.post(f"/expert/escalations/{step}/reply", data={"body": "Root cause: the WebView quota is <= 50 MB; clear the outbox cache."})
    auth.logout()

    # The box to the requester starts with the central team's answer, to edit or send as it is.
    auth.login(staff["far_l2"])
    page = client.get(f"/farajaland/tickets/{reference}/escalation").get_data(as_text=True)
    relay_url = page.split('class="relay-form"')[0].rsplit('action="', 1)[1].split('"')[0]
    field = f"relay{relay_url.rsplit('/', 1)[1]}-body"
    form = page.split('class="relay-form"')[1].split("</form>")[0]
    assert f'name="{field}"' in form and "the WebView quota is &lt;= 50 MB; clear the outbox cache.</textarea>" in form

    # Emptied, it is refused with a reason, and the answer is back in the box; the requester gets nothing.
    for data in ({field: "   "}, {}):
        refused = client.post(relay_url, data=data)
        assert refused.status_code == 422
        text = refused.get_data(as_text=True)
        assert "Write the message to the requester" in text
        assert "the WebView quota is &lt;= 50 MB; clear the outbox cache.</textarea>" in text.split('class="relay-form"')[1]
    assert not any(public and "WebView" in body for public, body in read_ticket(reference)[2])

    # Sent as it reads in the box.
    assert client.post(relay_url, data={field: "Root cause: the WebView quota is <= 50 MB; clear the outbox cache."}).status_code == 302
    assert (True, "Root cause: the WebView quota is <= 50 MB; clear the outbox cache.") in read_ticket(reference)[2]


def test_level_2_is_told_when_the_central_team_sends_a_ticket_back(app, client, auth, staff, to_l3):
    reference, step = to_l3("kalondo", subject="Certificats vides")
    auth.login(staff["expert"], tenant=None)
    with app.app_context():
        before = len(sent_mail())
    assert client.post(f"/expert/escalations/{step}/return", data={"down-reason": "The SMS gateway key of your country expired."}).status_code == 302
    with app.app_context():
        notices = sent_mail()[before:]
    [notice] = notices  # the technician holding it, and nobody else
    assert (notice["To"], notice["Subject"]) == ("l2@kalondo.demo", f"[{reference}] Renvoyée par l’équipe centrale")
    text = notice.get_content()
    assert "The SMS gateway key of your country expired." in text and "Certificats vides" in text
    assert "Niveau 2 (techniciens nationaux)" in text  # in their language (Kalondo speaks French)
    assert f"/kalondo/tickets/{reference}/escalation" in text
    auth.logout()

    # Level 2 taking a ticket back itself is not told of it.
    reference, step = to_l3("kalondo")
    auth.login(staff["kal_l2"], tenant="kalondo")
    with app.app_context():
        before = len(sent_mail())
    client.post(f"/kalondo/tickets/{reference}/escalation/down", data={"down-reason": "We found it: a configuration issue."})
    with app.app_context():
        assert not [m for m in sent_mail()[before:] if "central team" in m["Subject"]]


def test_the_central_team_is_told_of_each_escalation_to_level_3(app, client, auth, staff, open_ticket, move_up, make_user):
    experts = [staff["expert"], make_user(email="expert.fr@crvs.demo", global_role="l3_expert", locale="fr"),
               make_user(email="gone@crvs.demo", global_role="l3_expert", is_active_account=False)]
    make_user(email="platform@crvs.demo", global_role="platform_admin")
    reference = open_ticket(staff["far_req"], subject="Outbox stuck: call me on +260 97 765 4321")
    move_up(reference, staff["far_l1"])
    with app.app_context():
        before = len(sent_mail())
        assert not [m for m in sent_mail() if m["To"] in experts]  # Level 2 is no business of theirs
    auth.login(staff["far_l2"])
    response = client.post(f"/farajaland/tickets/{reference}/escalation/up", data=_form("up", L3_DETAILS))
    assert response.status_code == 302
    with app.app_context():
        notices = {m["To"]: m for m in sent_mail()[before:] if m["To"].endswith("@crvs.demo")}
    assert sorted(notices) == ["expert.fr@crvs.demo", "expert@crvs.demo"]  # one each; not the inactive account, nor the platform admin
    english, french = notices["expert@crvs.demo"], notices["expert.fr@crvs.demo"]
    assert english["Subject"] == f"[{reference}] New escalation from Farajaland"
    text = english.get_content()
    assert "Farajaland" in text and reference in text and "High: a main task is blocked for many users" in text
    assert L3_DETAILS["reason"] in text and "Outbox stuck: call me on" in text
    assert "765 4321" not in text and "•••••21" in text  # contact details masked, as on the console
    step_link = text.split("http://localhost", 1)[1].split()[0]
    auth.logout()
    auth.login(staff["expert"], tenant=None)
    assert reference in client.get(step_link).get_data(as_text=True)
    assert "Élevée : une tâche principale est bloquée" in french.get_content()  # in the reader's language
