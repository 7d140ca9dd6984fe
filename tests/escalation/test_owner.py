"""Who on the central team owns an escalation: an expert takes it, releases it or hands it to a
colleague from the console; answering one nobody owns makes the expert its owner; the ownership ends
when the ticket leaves the central team. The console and the API show and filter by owner, and
Level 2's news goes to the owner."""
from __future__ import annotations

import re

from portal.auth import services as auth_services
from portal.core.db import SYSTEM, across_tenants, db
from portal.core.mail import sent_mail
from portal.escalation.models import TierStep
from portal.tickets import services as tickets
from portal.tickets.models import TicketEvent



def _row(page: str, reference: str) -> str:
    """The console's table row of the ticket (not a notice above the table that names it)."""
    return next(row for row in page.split("<tbody>", 1)[1].split("<tr>") if reference in row)


def _user_id(app, email: str) -> str:
    with app.app_context():
        return str(auth_services.get_user_by_email(email).id)


def _owner(app, step_id: int) -> str | None:
    """The email of the step's stored owner, read as the database holds it."""
    with app.app_context(), across_tenants(db.session, SYSTEM):
        step = db.session.get(TierStep, step_id)
        return step.owner.email if step.owner is not None else None


def _owner_events(app, step_id: int) -> list[tuple[str | None, str | None]]:
    with app.app_context(), across_tenants(db.session, SYSTEM):
        ticket_id = db.session.get(TierStep, step_id).ticket_id
        events = db.session.scalars(db.select(TicketEvent).where(TicketEvent.ticket_id == ticket_id, TicketEvent.field == "l3_owner").order_by(TicketEvent.id))
        return [(e.old_value, e.new_value) for e in events]


def _set(client, step_id: int, owner: str, seen: str | None = None):
    data = {"owner": owner} if seen is None else {"owner": owner, "seen": seen}
    return client.post(f"/expert/escalations/{step_id}/owner", data=data)


def test_an_expert_takes_an_escalation_hands_it_to_a_colleague_and_it_is_released(app, client, auth, staff, to_l3, make_user):
    colleague = make_user(email="expert.fr@crvs.demo", global_role="l3_expert", name="Félix Expert", locale="fr")
    reference, step = to_l3()
    expert_id, colleague_id = _user_id(app, staff["expert"]), _user_id(app, colleague)
    auth.login(staff["expert"], tenant=None)
    page = client.get(f"/expert/escalations/{step}").get_data(as_text=True)
    assert "Nobody yet." in page and ">Take</button>" in page and ">Release</button>" not in page
    assert f'<option value="{colleague_id}">Félix Expert</option>' in page  # whom to hand it to: the central team
    assert "Tom Tech" not in page.split('id="owner-title"')[1].split("</section>")[0]
    assert "Nobody" in _row(client.get("/expert/").get_data(as_text=True), reference)

    # Taken: the page and the console say who has it, and the ticket's history records it.
    response = _set(client, step, expert_id, seen="none")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/expert/escalations/{step}")
    page = client.get(f"/expert/escalations/{step}").get_data(as_text=True)
    assert f"You own {reference} now." in page
    assert "Eva Expert, since" in page and ">Take</button>" not in page and ">Release</button>" in page
    assert "Eva Expert" in _row(client.get("/expert/").get_data(as_text=True), reference)
    assert _owner(app, step) == staff["expert"]
    assert _set(client, step, expert_id).status_code == 302  # taking it again changes nothing
    assert _owner_events(app, step) == [(None, staff["expert"])]

    # Handed to a colleague, who is mailed the link to it.
    with app.app_context():
        before = len(sent_mail())
    response = _set(client, step, colleague_id, seen=expert_id)
    assert response.status_code == 302
    assert f"{reference} is handed to Félix Expert." in client.get(f"/expert/escalations/{step}").get_data(as_text=True)
    assert _owner(app, step) == colleague
    with app.app_context():
        [notice] = sent_mail()[before:]
    assert notice["To"] == colleague and reference in notice["Subject"] and "Eva Expert" in notice["Subject"]
    assert f"/expert/escalations/{step}" in notice.get_content() and "Farajaland" in notice.get_content()

    # Released: nobody's again; nobody is mailed for taking or releasing.
    with app.app_context():
        before = len(sent_mail())
    assert _set(client, step, "none", seen=colleague_id).status_code == 302
    assert f"Nobody owns {reference} now." in client.get(f"/expert/escalations/{step}").get_data(as_text=True)
    assert _owner(app, step) is None
    assert _owner_events(app, step) == [(None, staff["expert"]), (staff["expert"], colleague), (colleague, None)]
    with app.app_context():
        assert sent_mail()[before:] == []

    # The country's Level 2 reads the changes in the ticket's history, by name.
    auth.logout(tenant=None)
    auth.login(staff["far_l2"])
    history = client.get(f"/farajaland/tickets/{reference}").get_data(as_text=True)
    assert "central team owner" in history and "Félix Expert" in history and "l3_owner" not in history


def test_a_change_made_meanwhile_by_a_colleague_is_not_overridden_unknowingly(app, client, auth, staff, to_l3, make_user):
    colleague = make_user(email="expert.two@crvs.demo", global_role="l3_expert", name="Otto Other")
    _reference, step = to_l3()
    auth.login(colleague, tenant=None)
    assert _set(client, step, _user_id(app, colleague), seen="none").status_code == 302
    auth.logout()

    auth.login(staff["expert"], tenant=None)  # their page still said nobody owned it
    response = _set(client, step, _user_id(app, staff["expert"]), seen="none")
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Meanwhile this escalation went to Otto Other." in page and "Otto Other, since" in page
    assert _owner(app, step) == colleague


def test_the_console_filters_on_mine_and_nobodys_with_their_counts(app, client, auth, staff, to_l3, make_user):
    colleague = make_user(email="expert.two@crvs.demo", global_role="l3_expert", name="Otto Other")
    mine, _ = to_l3(subject="Outbox stuck in Ibombo")
    theirs, _ = to_l3(subject="Certificates print blank")
    nobodys, _ = to_l3("kalondo", subject="Les actes ne s'impriment pas")
    steps = {}
    auth.login(staff["expert"], tenant=None)
    console = client.get("/expert/").get_data(as_text=True)
    for reference in (mine, theirs, nobodys):
        steps[reference] = int(re.search(r'href="/expert/escalations/(\d+)"', _row(console, reference)).group(1))
    assert "Mine (0)" in console and "Nobody's (3)" in console
    _set(client, steps[mine], _user_id(app, staff["expert"]))
    _set(client, steps[theirs], _user_id(app, colleague))

    console = client.get("/expert/").get_data(as_text=True)
    assert "Mine (1)" in console and "Nobody's (1)" in console
    only_mine = client.get("/expert/?owner=me").get_data(as_text=True)
    assert mine in only_mine and theirs not in only_mine and nobodys not in only_mine
    assert "1 escalation" in only_mine and '<option value="me" selected>' in only_mine
    only_nobodys = client.get("/expert/?owner=none").get_data(as_text=True)
    assert nobodys in only_nobodys and mine not in only_nobodys and theirs not in only_nobodys
    assert all(ref in client.get("/expert/?owner=anyone").get_data(as_text=True) for ref in (mine, theirs, nobodys))  # forgiven: no filter
    auth.logout()

    auth.login(colleague, tenant=None)  # "mine" is the reader's
    only_mine = client.get("/expert/?owner=me").get_data(as_text=True)
    assert theirs in only_mine and mine not in only_mine


def test_answering_level_2_on_an_escalation_nobody_owns_makes_the_expert_its_owner(app, client, auth, staff, to_l3, make_user):
    colleague = make_user(email="expert.two@crvs.demo", global_role="l3_expert", name="Otto Other")
    _reference, step = to_l3()
    auth.login(staff["expert"], tenant=None)
    assert "Nobody owns this escalation yet: answering makes you its owner." in client.get(f"/expert/escalations/{step}").get_data(as_text=True)
    assert client.post(f"/expert/escalations/{step}/reply", data={"body": "Please send the server logs."}).status_code == 302
    assert _owner(app, step) == staff["expert"]
    page = client.get(f"/expert/escalations/{step}").get_data(as_text=True)
    assert "Eva Expert, since" in page and "answering makes you its owner" not in page
    auth.logout()

    auth.login(colleague, tenant=None)  # a colleague answering too takes nothing from the owner
    assert client.post(f"/expert/escalations/{step}/reply", data={"body": "The gateway logs too, please."}).status_code == 302
    assert _owner(app, step) == staff["expert"]
    assert _owner_events(app, step) == [(None, staff["expert"])]


def test_level_2_writing_on_an_owned_escalation_mails_its_owner_only(app, client, auth, staff, to_l3, make_user):
    colleague = make_user(email="expert.two@crvs.demo", global_role="l3_expert", name="Otto Other")
    reference, step = to_l3()
    auth.login(staff["expert"], tenant=None)
    client.post(f"/expert/escalations/{step}/reply", data={"body": "Please send the server logs."})  # now its owner
    _set(client, step, _user_id(app, colleague))
    auth.logout()

    auth.login(staff["far_l2"])
    with app.app_context():
        before = len(sent_mail())
    client.post(f"/farajaland/tickets/{reference}/reply", data={"body": "Logs attached.", "visibility": "internal"})
    with app.app_context():
        [notice] = [m for m in sent_mail()[before:] if m["To"].endswith("@crvs.demo")]
    assert notice["To"] == colleague and notice["Subject"] == f"[{reference}] New information from Farajaland"


def test_the_ownership_ends_with_the_escalation_and_a_new_one_starts_unowned(app, client, auth, staff, to_l3, move_up, token_for, in_tenant):
    reference, step = to_l3()
    expert_id = _user_id(app, staff["expert"])
    headers = {"Authorization": f"Bearer {token_for(staff['expert'])}"}
    auth.login(staff["expert"], tenant=None)
    _set(client, step, expert_id)
    assert client.post(f"/expert/escalations/{step}/return", data={"down-reason": "Configuration issue: the SMS gateway key expired."}).status_code == 302

    # Sent back: nobody owns it, and it cannot be taken any more.
    [item] = client.get("/api/v1/escalations?status=returned", headers=headers).get_json()["items"]
    assert item["owner"] is None
    returned = _row(client.get("/expert/?status=returned").get_data(as_text=True), reference)
    assert "Eva Expert" not in returned and "Nobody" not in returned  # neither anyone's nor waiting for someone
    page = client.get(f"/expert/escalations/{step}").get_data(as_text=True)
    assert "Nobody: the ticket is no longer with the central team." in page and ">Take</button>" not in page
    response = _set(client, step, expert_id)
    assert response.status_code == 409 and "This ticket is no longer with the central team." in response.get_data(as_text=True)

    # Level 2 escalates it again: a new escalation, nobody's until an expert takes it.
    again = move_up(reference, staff["far_l2"])
    assert again != step and _owner(app, again) is None
    assert "Nobody" in _row(client.get("/expert/").get_data(as_text=True), reference)
    [item] = client.get("/api/v1/escalations", headers=headers).get_json()["items"]
    assert (item["id"], item["owner"]) == (again, None)

    # Taken, then resolved by Level 2 while with the central team: nobody owns it any more.
    _set(client, again, expert_id)
    in_tenant(lambda t: tickets.change_status(t, auth_services.get_user_by_email(staff["far_l2"]), tickets.get_ticket_by_reference(t, reference), "resolved"))
    [item] = client.get("/api/v1/escalations?status=resolved", headers=headers).get_json()["items"]
    assert item["owner"] is None
    assert "Mine (0)" in client.get("/expert/").get_data(as_text=True)
    assert _set(client, again, "none").status_code == 409


def test_the_api_lists_the_owner_and_filters_on_it(app, client, auth, staff, to_l3, token_for, make_user):
    colleague = make_user(email="expert.two@crvs.demo", global_role="l3_expert", tenant=None, role=None)
    reference, step = to_l3()
    headers = {"Authorization": f"Bearer {token_for(staff['expert'])}"}
    [item] = client.get("/api/v1/escalations", headers=headers).get_json()["items"]
    assert item["owner"] is None
    auth.login(staff["expert"], tenant=None)
    _set(client, step, _user_id(app, staff["expert"]))

    [item] = client.get("/api/v1/escalations?owner=me", headers=headers).get_json()["items"]
    assert (item["reference"], item["owner"]) == (reference, {"email": staff["expert"], "name": "Eva Expert"})
    assert client.get("/api/v1/escalations?owner=none", headers=headers).get_json() == {"items": [], "page": 1, "per_page": 50, "total": 0}
    others = {"Authorization": f"Bearer {token_for(colleague)}"}
    assert client.get("/api/v1/escalations?owner=me", headers=others).get_json()["total"] == 0
    for odd in ("owner=anyone", "owner=", "owner=me&owner=none"):
        response = client.get(f"/api/v1/escalations?{odd}", headers=headers)
        assert response.status_code == 400 and response.get_json()["error"]["message"], odd


def test_only_the_central_team_changes_an_owner(app, client, auth, staff, to_l3, token_for):
    _reference, step = to_l3()
    auth.login(staff["far_admin"])  # holds every permission in Farajaland, none of the central team's
    assert _set(client, step, _user_id(app, staff["far_admin"])).status_code == 403
    assert _set(client, step, "none").status_code == 403
    auth.logout()
    assert client.get("/api/v1/escalations?owner=none", headers={"Authorization": f"Bearer {token_for(staff['far_admin'])}"}).status_code == 403
    assert _owner(app, step) is None and _owner_events(app, step) == []

    auth.login(staff["expert"], tenant=None)
    assert _set(client, 999_999, _user_id(app, staff["expert"])).status_code == 404  # no such escalation


def test_an_owner_outside_the_central_team_is_refused_and_nothing_changes(app, client, auth, staff, to_l3, make_user):
    retired = make_user(email="retired@crvs.demo", global_role="l3_expert", name="Rita Retired", is_active_account=False)
    _reference, step = to_l3()
    auth.login(staff["expert"], tenant=None)
    _set(client, step, _user_id(app, staff["expert"]))
    assert f'<option value="{_user_id(app, retired)}"' not in client.get(f"/expert/escalations/{step}").get_data(as_text=True)
    for owner in (_user_id(app, staff["far_l2"]), _user_id(app, retired), "999999", str(2**63), "²", "someone", ""):
        response = _set(client, step, owner)
        assert response.status_code == 422, owner
        page = response.get_data(as_text=True)
        assert "Only an active member of the central team can own an escalation." in page or "Choose a member of the central team." in page, owner
    assert _owner(app, step) == staff["expert"]
    assert _owner_events(app, step) == [(None, staff["expert"])]


def test_changing_the_owner_needs_the_forms_csrf_token(make_app, staff, to_l3):
    _reference, step = to_l3()
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    login = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login).group(1)
    assert client.post("/login", data={"email": staff["expert"], "password": "correct-horse-battery", "csrf_token": token}).status_code == 302
    page = client.get(f"/expert/escalations/{step}").get_data(as_text=True)
    take = page.split('id="owner-title"')[1].split(">Take</button>")[0]
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', take))

    refused = client.post(f"/expert/escalations/{step}/owner", data={k: v for k, v in fields.items() if k != "csrf_token"})
    assert refused.status_code == 400
    with client.application.app_context(), across_tenants(db.session, SYSTEM):
        assert db.session.get(TierStep, step).owner_id is None
    assert client.post(f"/expert/escalations/{step}/owner", data=fields).status_code == 302
    with client.application.app_context(), across_tenants(db.session, SYSTEM):
        assert db.session.get(TierStep, step).owner.email == staff["expert"]


def test_level_2_sees_who_on_the_central_team_handles_their_escalation(app, client, auth, staff, to_l3):
    reference, step = to_l3()
    auth.login(staff["far_l2"])
    assert "of the central team handles it" not in client.get(f"/farajaland/tickets/{reference}").get_data(as_text=True)
    auth.logout()
    auth.login(staff["expert"], tenant=None)
    assert _set(client, step, _user_id(app, staff["expert"]), seen="none").status_code == 302
    auth.logout(tenant=None)
    auth.login(staff["far_l2"])
    assert "Eva Expert of the central team handles it." in client.get(f"/farajaland/tickets/{reference}").get_data(as_text=True)
