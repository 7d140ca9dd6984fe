"""What a country sees of the central team's work on its escalations, and what the central team sees
of the country's answers: the problem behind a ticket and the release that fixes it for the country's
version, what an upgrade would fix, escalations with news the experts have not answered (marked, and
mailed to the experts on them), and the version a ticket is escalated again with."""
from __future__ import annotations

import re

from portal.core.mail import sent_mail
from portal.escalation.services import expert_replies
from portal.tickets.services import change_status, get_ticket_by_reference

from .conftest import L3_DETAILS

INTERNAL = "Root cause: the retry timer is never armed after a 504 from the gateway."


def _problem(client, auth, staff, step_ids, title="Outbox does not retry after a timeout") -> int:
    """The expert records a problem from the first escalation and links the others; returns its id."""
    auth.login(staff["expert"], tenant=None)
    response = client.post("/expert/problems", data={"title": title, "description": INTERNAL, "severity": "high", "step_id": str(step_ids[0])})
    problem_id = int(response.headers["Location"].rsplit("/", 1)[1])
    for step in step_ids[1:]:
        assert client.post(f"/expert/escalations/{step}/link", data={"problem_id": str(problem_id)}).status_code == 302
    return problem_id


def _release(client, version, day, problem_id):
    assert client.post("/expert/releases", data={"version": version, "released_on": day, "problems": [str(problem_id)]}).status_code == 302


def _row(page: str, reference: str) -> str:
    return next(row for row in page.split("<tr>") if reference in row)


def test_country_staff_see_the_problem_behind_a_ticket_and_the_release_that_fixes_it_for_them(client, auth, staff, to_l3, token_for):
    far_ref, far_step = to_l3()
    kal_ref, kal_step = to_l3("kalondo", subject="La boîte d'envoi ne renvoie jamais")
    problem_id = _problem(client, auth, staff, [far_step, kal_step])
    auth.logout()

    auth.login(staff["far_l2"])
    page = client.get(f"/farajaland/tickets/{far_ref}").get_data(as_text=True)
    assert f"Problem #{problem_id}: Outbox does not retry after a timeout" in page
    assert "Open: the central team is working on it." in page
    auth.logout()

    # The fix is released on the 1.8 line (Farajaland's) and on the 1.9 line.
    auth.login(staff["expert"], tenant=None)
    _release(client, "1.8.2", "2026-12-01", problem_id)
    _release(client, "1.9.1", "2026-12-10", problem_id)
    auth.logout()
    for who in ("far_l1", "far_l2", "far_admin"):
        auth.login(staff[who])
        page = client.get(f"/farajaland/tickets/{far_ref}").get_data(as_text=True)
        assert "Fix released in OpenCRVS 1.8.2, 1.9.1." in page, who
        assert "OpenCRVS 1.8.1, which Farajaland runs, does not carry the fix: upgrading to 1.8.2 does." in page, who
        # Only the number, title, status and versions: not the central team's notes, nor Kalondo's ticket.
        assert INTERNAL not in page and kal_ref not in page and "Kalondo" not in page and "Théo" not in page
        auth.logout()
    auth.login(staff["far_req"])
    assert f"Problem #{problem_id}" not in client.get(f"/farajaland/tickets/{far_ref}").get_data(as_text=True)
    auth.logout()

    # Once the country runs the fix, its page says so.
    client.put("/farajaland/api/v1/deployment", json={"version": "1.8.2"}, headers={"Authorization": f"Bearer {token_for(staff['far_admin'])}"})
    auth.login(staff["far_l2"])
    page = client.get(f"/farajaland/tickets/{far_ref}").get_data(as_text=True)
    assert "Farajaland runs OpenCRVS 1.8.2, which carries the fix." in page and "upgrading to" not in page


def test_the_deployment_page_names_what_each_newer_release_fixes_for_the_country(client, auth, staff, to_l3):
    steps = [to_l3()[1], to_l3(subject="Outbox stuck again")[1], to_l3("kalondo")[1]]
    other_steps = [to_l3(subject="Certificate preview is blank")[1]]
    problem_id = _problem(client, auth, staff, steps)
    other_id = _problem(client, auth, staff, other_steps, title="Certificate preview is blank")
    _release(client, "1.8.2", "2026-12-01", problem_id)
    _release(client, "1.9.0", "2026-11-15", other_id)  # before the 1.8.2 backport: it carries only its own fix
    auth.logout()

    auth.login(staff["far_admin"])
    page = client.get("/farajaland/deployment").get_data(as_text=True)
    upgrade_182 = page.split("OpenCRVS 1.8.2")[1].split("</li>\n")[0]
    upgrade_190 = page.split("OpenCRVS 1.9.0")[1].split("</li>\n")[0]
    assert "Upgrading to 1.8.2 fixes:" in upgrade_182
    assert f"#{problem_id} Outbox does not retry after a timeout (2 of your tickets)" in upgrade_182  # Kalondo's is not counted
    assert "Certificate preview" not in upgrade_182
    assert f"#{other_id} Certificate preview is blank (1 of your tickets)" in upgrade_190
    assert "Outbox does not retry" not in upgrade_190


def test_the_console_marks_escalations_with_news_from_the_country_until_the_experts_answer(client, auth, staff, to_l3, in_tenant, token_for):
    reference, step = to_l3()
    quiet, _quiet_step = to_l3(subject="Certificate preview is blank")
    auth.login(staff["expert"], tenant=None)
    page = client.get("/expert/").get_data(as_text=True)
    assert "New information from the country" not in page  # a new escalation is not news on it
    auth.logout()

    # Level 2 adds what it found: the row stands out, and the filter keeps it alone.
    auth.login(staff["far_l2"])
    client.post(f"/farajaland/tickets/{reference}/reply", data={"body": "It happens on 2G only.", "visibility": "internal"})
    auth.logout()
    auth.login(staff["expert"], tenant=None)
    page = client.get("/expert/").get_data(as_text=True)
    assert "New information from the country" in _row(page, reference)
    assert "New information from the country" not in _row(page, quiet)
    assert "Only new information from the country (1)" in page
    filtered = client.get("/expert/?news=1").get_data(as_text=True)
    assert reference in filtered and quiet not in filtered
    # The API carries the same mark and filter.
    headers = {"Authorization": f"Bearer {token_for(staff['expert'])}"}
    items = client.get("/api/v1/escalations", headers=headers).get_json()["items"]
    assert {item["reference"]: item["has_news"] for item in items} == {reference: True, quiet: False}
    assert [item["reference"] for item in client.get("/api/v1/escalations?news=1", headers=headers).get_json()["items"]] == [reference]
    assert client.get("/api/v1/escalations?news=yes", headers=headers).status_code == 400

    # The expert answers: no longer marked. Level 2 relaying that answer is no news either.
    client.post(f"/expert/escalations/{step}/reply", data={"body": "Please send the server logs."})
    assert "New information from the country" not in _row(client.get("/expert/").get_data(as_text=True), reference)
    auth.logout()
    reply_id = in_tenant(lambda t: expert_replies(t, get_ticket_by_reference(t, reference))[0].id)
    auth.login(staff["far_l2"])
    relayed = client.post(f"/farajaland/tickets/{reference}/escalation/relay/{reply_id}", data={f"relay{reply_id}-body": "Could you send the server logs?"})
    assert relayed.status_code == 302
    auth.logout()
    auth.login(staff["expert"], tenant=None)
    assert "New information from the country" not in _row(client.get("/expert/").get_data(as_text=True), reference)
    auth.logout()

    # The requester answers: news again.
    auth.login(staff["far_req"])
    client.post(f"/farajaland/tickets/{reference}/reply", data={"body": "Here are the logs."})
    auth.logout()
    auth.login(staff["expert"], tenant=None)
    assert "New information from the country" in _row(client.get("/expert/").get_data(as_text=True), reference)
    assert reference in client.get("/expert/?news=1").get_data(as_text=True)


def test_the_experts_on_an_escalation_are_mailed_when_level_2_writes_on_it(app, client, auth, staff, to_l3, make_user, in_tenant):
    colleague = make_user(email="expert.fr@crvs.demo", global_role="l3_expert", locale="fr")
    reference, step = to_l3()
    auth.login(staff["expert"], tenant=None)
    client.post(f"/expert/escalations/{step}/reply", data={"body": "Please send the server logs."})
    auth.logout()

    auth.login(staff["far_l2"])
    with app.app_context():
        before = len(sent_mail())
    client.post(f"/farajaland/tickets/{reference}/reply", data={"body": "Logs attached. The clerk is on +260 97 555 1234.", "visibility": "internal"})
    with app.app_context():
        mails = [m for m in sent_mail()[before:] if m["To"].endswith("@crvs.demo")]
    [notice] = mails  # the expert who answered; not their colleague, who has not worked on it
    assert notice["To"] == staff["expert"] and notice["Subject"] == f"[{reference}] New information from Farajaland"
    text = notice.get_content()
    assert "Tom Tech (Farajaland) wrote on" in text and "Logs attached." in text
    assert "555 1234" not in text and "•••••34" in text  # masked, as on the console
    assert f"/expert/escalations/{step}" in text

    # Relaying the expert's own answer to the requester tells them nothing.
    reply_id = in_tenant(lambda t: expert_replies(t, get_ticket_by_reference(t, reference))[0].id)
    with app.app_context():
        before = len(sent_mail())
    client.post(f"/farajaland/tickets/{reference}/escalation/relay/{reply_id}", data={f"relay{reply_id}-body": "Could you send the server logs?"})
    with app.app_context():
        assert not [m for m in sent_mail()[before:] if m["To"] in (staff["expert"], colleague)]


def test_an_escalation_again_after_a_roll_out_starts_from_the_version_the_country_runs(app, client, auth, staff, to_l3, token_for, read_ticket):
    reference, step = to_l3()  # escalated on 1.8.1
    problem_id = _problem(client, auth, staff, [step])
    _release(client, "1.9.0", "2026-11-30", problem_id)
    auth.logout()
    client.put("/farajaland/api/v1/deployment", json={"version": "1.9.0"}, headers={"Authorization": f"Bearer {token_for(staff['far_admin'])}"})
    assert read_ticket(reference)[:2] == ("resolved", "L2")  # the roll-out gave it back to the country
    auth.login(staff["far_req"])
    client.post(f"/farajaland/tickets/{reference}/reply", data={"body": "Still stuck in the outbox."})
    auth.logout()

    auth.login(staff["far_l2"])
    page = client.get(f"/farajaland/tickets/{reference}/escalation").get_data(as_text=True)
    field = re.search(r'<input[^>]*name="up-opencrvs_version"[^>]*>', page).group(0)
    assert 'value="1.9.0"' in field
    assert f'{L3_DETAILS["steps"]}</textarea>' in page  # the rest of what it said is kept


def test_the_country_s_queue_badges_the_tickets_that_are_with_the_central_team(client, auth, staff, to_l3, open_ticket, in_tenant):
    with_experts, _step = to_l3()
    at_home = open_ticket(staff["far_req"], "farajaland", subject="Printer jams")
    auth.login(staff["far_l2"])
    page = client.get("/farajaland/tickets/queue?view=all").get_data(as_text=True)
    assert "With the central team" in _row(page, with_experts)
    assert "With the central team" not in _row(page, at_home)
    french = client.get("/farajaland/tickets/queue?view=all", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "équipe centrale</span>" in _row(french, with_experts)
    # Resolved by the experts, it stays at Level 3 but is no longer with them.
    in_tenant(lambda tenant: change_status(tenant, None, get_ticket_by_reference(tenant, with_experts), "resolved", notify=False))
    assert "With the central team" not in _row(client.get("/farajaland/tickets/queue?view=all&status=resolved").get_data(as_text=True), with_experts)
