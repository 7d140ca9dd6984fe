"""A member deactivated by their administrator: their open work goes back to the team, the team is told
of what they still hold, saving a ticket of theirs keeps it theirs, and they open no more requests."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.auth.permissions import Role
from portal.auth.services import get_user_by_email
from portal.core.db import db
from portal.core.mail import sent_mail
from portal.tickets import services
from portal.tickets.models import Ticket
from tests.tickets.test_sla import make_overdue


@pytest.fixture
def stored_tickets(in_tenant):
    """The references of Farajaland's tickets, read afresh."""
    return lambda: in_tenant(lambda t: db.session.scalars(select(Ticket.reference)).all())


def _member_id(client, email: str) -> str:
    page = client.get("/farajaland/members").get_data(as_text=True)
    return re.search(rf"{re.escape(email)}</td>.*?/farajaland/members/(\d+)", page, re.S).group(1)


def _deactivate(client, email: str, role: str):
    """Untick "Active" in the members list (an unticked box is not sent), as the admin signed in."""
    member_id = _member_id(client, email)
    return client.post(f"/farajaland/members/{member_id}", data={f"m{member_id}-role": role}, follow_redirects=True)


def _history(page: str) -> str:
    return page.split('<ol class="audit-trail">', 1)[1].split("</ol>", 1)[0]


def test_deactivating_a_staff_member_returns_their_open_tickets_to_the_queue(client, auth, make_user, requester, l1, make_ticket, in_tenant):
    first = make_ticket(subject="Code never arrives", category="access-and-login")  # Lina's, of the first-line group
    second = make_ticket(subject="Password reset fails", category="access-and-login")
    solved = make_ticket(subject="Cannot log in", category="access-and-login")
    in_tenant(lambda t: services.change_status(t, None, services.get_ticket_by_reference(t, solved), "resolved"))
    colleague = make_user(role=Role.L1_AGENT)
    auth.login(make_user(role=Role.TENANT_ADMIN, name="Ada Admin"))

    moved = _deactivate(client, colleague, "l2_technician").get_data(as_text=True)  # holds nothing: nothing to say
    assert "The member is updated." in moved and "back in the queue" not in moved
    response = _deactivate(client, l1, "l1_agent").get_data(as_text=True)
    assert "The member is updated." in response
    assert "Their 2 open tickets are back in the queue, unassigned." in response

    unassigned = client.get("/farajaland/tickets/queue?view=unassigned").get_data(as_text=True)
    assert "Code never arrives" in unassigned and "Password reset fails" in unassigned
    for reference in (first, second):  # each ticket's history says who gave it back, and from whom
        history = _history(client.get(f"/farajaland/tickets/{reference}").get_data(as_text=True))
        assert re.search(r"<strong>Ada Admin</strong>\s*<span class=\"audit-field\">assigned to</span>: Lina First → —", history)
    # A resolved ticket keeps who resolved it.
    assert in_tenant(lambda t: services.get_ticket_by_reference(t, solved).assignee.email) == l1


def test_the_missed_target_notice_goes_to_the_group_when_the_assignee_has_left_the_desk(app, runner, client, auth, make_user, requester, l1, make_ticket, in_tenant):
    # Omar took two tickets of the first-line group's queue (one then taken out of any group); his
    # account was suspended since (the platform's suspension leaves his tickets with him): the group's
    # active members are told instead, or for the ticket of no group, those of its level's first group.
    in_group = make_ticket(subject="Code never arrives", category="access-and-login")
    no_group = make_ticket(subject="Password reset fails", category="access-and-login")
    omar = make_user(role=Role.L1_AGENT, name="Omar Other")
    auth.login(omar)
    for reference in (in_group, no_group):
        client.post(f"/farajaland/tickets/{reference}/take")

    def suspend(t):
        services.update_ticket(t, None, services.get_ticket_by_reference(t, no_group), group=None)
        get_user_by_email(omar).is_active_account = False
        db.session.commit()

    in_tenant(suspend)
    make_overdue(in_tenant)
    with app.app_context():
        before = len(sent_mail())
    assert runner.invoke(args=["tickets", "sla-check"]).exit_code == 0
    with app.app_context():
        notices = [(m["To"], m["Subject"]) for m in sent_mail()[before:] if "Service level missed" in m["Subject"]]
    # First reply and resolution of each, to Lina, none to Omar.
    assert sorted(notices) == sorted([(l1, f"[{reference}] Service level missed") for reference in (in_group, in_group, no_group, no_group)])


def test_the_missed_target_notice_says_the_priority_in_the_readers_language(app, runner, make_user, requester, make_ticket, in_tenant):
    make_user("l1@farajaland.demo", role=Role.L1_AGENT, locale="fr")
    make_ticket(category="access-and-login", priority="normal")
    make_overdue(in_tenant)
    runner.invoke(args=["tickets", "sla-check"])
    with app.app_context():
        notice = next(m for m in sent_mail() if m["To"] == "l1@farajaland.demo")
    assert "Priorité : Normale" in notice.get_content()


def test_saving_a_ticket_keeps_an_assignee_who_has_left_the_team(client, auth, make_user, requester, l1, l2, make_ticket, in_tenant):
    # Lina resolved the ticket, was deactivated (resolved tickets keep who resolved them), and the
    # requester wrote again: the ticket is open and still hers.
    reference = make_ticket(subject="Code never arrives", category="access-and-login")
    in_tenant(lambda t: services.change_status(t, None, services.get_ticket_by_reference(t, reference), "resolved"))
    auth.login(make_user(role=Role.TENANT_ADMIN))
    _deactivate(client, l1, "l1_agent")
    auth.logout()
    auth.login(requester)
    client.post(f"/farajaland/tickets/{reference}/reply", data={"body": "Still no code."})
    auth.logout()

    auth.login(l2)
    page = client.get(f"/farajaland/tickets/{reference}").get_data(as_text=True)
    lina_id = str(in_tenant(lambda t: get_user_by_email(l1).id))
    assert f'<option selected value="{lina_id}">Lina First (no longer in the support team)</option>' in page
    assignments = _history(page).count("assigned to")
    fields = {"status": "open", "priority": "high", "category": "access-and-login", "assignee": lina_id, "group": "first-line", "office": ""}
    saved = client.post(f"/farajaland/tickets/{reference}/update", data=fields, follow_redirects=True).get_data(as_text=True)
    assert "Saved." in saved
    assert "High" in _history(saved) and _history(saved).count("assigned to") == assignments
    assert in_tenant(lambda t: services.get_ticket_by_reference(t, reference).assignee.email) == l1
    # She is still no choice for another ticket, and this one can be given to someone on the team.
    other = make_ticket(subject="Printer jams", category="access-and-login")
    assert "Lina First" not in client.get(f"/farajaland/tickets/{other}").get_data(as_text=True).split('<select id="assignee"', 1)[1].split("</select>", 1)[0]
    tom_id = str(in_tenant(lambda t: get_user_by_email(l2).id))
    client.post(f"/farajaland/tickets/{reference}/update", data={**fields, "assignee": tom_id})
    assert in_tenant(lambda t: services.get_ticket_by_reference(t, reference).assignee.email) == l2


def test_a_deactivated_member_cannot_open_a_request_through_the_assistant(app, client, auth, make_user, requester, in_tenant, stored_tickets):
    auth.login(make_user(role=Role.TENANT_ADMIN))
    _deactivate(client, requester, "requester")
    auth.logout()
    auth.login(requester)
    assert client.get("/farajaland/tickets/new").status_code == 403
    client.post("/farajaland/assistant", data={"message": "my declaration is stuck in the outbox"})
    typed = client.post("/farajaland/assistant", data={"message": "talk to a person"}, follow_redirects=True).get_data(as_text=True)
    refused = "Your account cannot open requests in Farajaland. Ask your administrator for access, or contact the support team directly."
    assert refused in typed
    pressed = client.post("/farajaland/assistant/handover", headers={"Accept": "application/json"})
    assert pressed.status_code == 403 and pressed.get_json()["error"]["message"] == refused
    assert refused in client.post("/farajaland/assistant/handover", follow_redirects=True).get_data(as_text=True)
    assert stored_tickets() == []

    # Someone not signed in is still passed on to a person.
    auth.logout()
    client.post("/farajaland/assistant", data={"message": "my declaration is stuck in the outbox"})
    passed = client.post("/farajaland/assistant/handover", data={"handover-email": "visitor@example.org"}, headers={"Accept": "application/json"})
    assert passed.status_code == 200 and len(stored_tickets()) == 1


def test_a_request_reopened_after_its_agent_left_is_told_to_their_group(app, client, auth, make_user, requester, l1, make_ticket, in_tenant):
    """Omar resolved it and has left since: the requester's "still broken" reaches his group, not nobody."""
    reference = make_ticket(subject="Code never arrives", category="access-and-login")
    omar = make_user(role=Role.L1_AGENT, name="Omar Other")
    auth.login(omar)
    client.post(f"/farajaland/tickets/{reference}/take")
    client.post(f"/farajaland/tickets/{reference}/reply", data={"body": "Fixed: try again.", "visibility": "public", "status": "resolved"})
    auth.logout()

    def suspend(t):
        get_user_by_email(omar).is_active_account = False
        db.session.commit()

    in_tenant(suspend)
    with app.app_context():
        before = len(sent_mail())
    auth.login(requester)
    client.post(f"/farajaland/tickets/{reference}/reply", data={"body": "Still no code, sorry."})
    with app.app_context():
        told = [(m["To"], m["Subject"]) for m in sent_mail()[before:] if "Reopened" in m["Subject"]]
    assert told == [(l1, f"[{reference}] Reopened by the requester")]
