"""Support groups: who is in them is kept in the database, chosen by the tenant administrator on the
members page (when adding someone) and on the Tiers page; tenant.toml's `members` lists only seed them."""
from __future__ import annotations

import re
import shutil

import pytest
from sqlalchemy import select

from portal.auth import services as auth_services
from portal.auth.permissions import Role
from portal.core.db import SYSTEM, across_tenants, db
from portal.tenancy.services import sync_tenants
from portal.tickets import services
from portal.tickets.models import GroupMember
from tests.conftest import PASSWORD, REPO


@pytest.fixture
def admin(make_user):
    return make_user("ada@farajaland.example", role=Role.TENANT_ADMIN, name="Ada Admin")


@pytest.fixture
def members_of(in_tenant):
    """The emails of a group's members as the desk reads them (active support staff only)."""
    return lambda key, slug="farajaland": in_tenant(lambda t: [u.email for u in services.group_members(t, key)], slug)


@pytest.fixture
def user_id(in_tenant):
    return lambda email: in_tenant(lambda t: auth_services.get_user_by_email(email).id)


def assignee_of(in_tenant, reference: str) -> str | None:
    def read(t):
        ticket = services.get_ticket_by_reference(t, reference)
        return ticket.assignee.email if ticket.assignee is not None else None

    return in_tenant(read)


def save_group(client, key: str, user_ids, **extra):
    return client.post(f"/farajaland/tickets/groups/{key}", data={f"group-{key}-members": [str(i) for i in user_ids], **extra}, follow_redirects=True)


def test_an_agent_added_on_the_members_page_joins_the_first_group_of_their_level_and_is_given_tickets(
        app, client, auth, admin, l1, requester, make_ticket, in_tenant, members_of):
    auth.login(admin)
    response = client.post("/farajaland/members", data={"email": "new.agent@example.org", "name": "Nia New", "role": "l1_agent"}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "new.agent@example.org is now a member." in page
    assert "new.agent@example.org is in: First-line support (L1)." in page
    assert members_of("first-line") == ["l1@farajaland.demo", "new.agent@example.org"]
    assert members_of("technical") == []

    # Round robin over the group: the newcomer has their turn.
    opened = [make_ticket(subject=f"Code never arrives {n}", category="access-and-login") for n in range(2)]
    assert sorted(assignee_of(in_tenant, reference) for reference in opened) == ["l1@farajaland.demo", "new.agent@example.org"]

    # Their "my groups" queue holds the group's tickets, once they have chosen a password.
    def choose_password(t):
        auth_services.set_password(auth_services.get_user_by_email("new.agent@example.org"), PASSWORD)
        db.session.commit()

    in_tenant(choose_password)
    auth.logout()
    auth.login("new.agent@example.org")
    queue = client.get("/farajaland/tickets/queue?view=group").get_data(as_text=True)
    assert "Code never arrives 0" in queue and "Code never arrives 1" in queue


def test_the_administrator_picks_the_groups_of_a_new_member_and_a_level_2_technician_may_work_level_1(client, auth, admin, members_of):
    auth.login(admin)
    client.post("/farajaland/members", data={"email": "tech@example.org", "name": "Tess Tech", "role": "l2_technician", "groups": ["first-line"]})
    assert members_of("first-line") == ["tech@example.org"] and members_of("technical") == []
    client.post("/farajaland/members", data={"email": "tech2@example.org", "role": "l2_technician"})  # none ticked: their level's first group
    assert members_of("technical") == ["tech2@example.org"]
    client.post("/farajaland/members", data={"email": "boss@example.org", "role": "tenant_admin"})  # works at both levels: no group
    assert "boss@example.org" not in members_of("first-line") + members_of("technical")

    page = client.get("/farajaland/tickets/tiers").get_data(as_text=True)
    assert "Their role is of the other level: Tess Tech." in page

    # Groups are for support staff: a requester with one is refused, and is not added.
    refused = client.post("/farajaland/members", data={"email": "clerk2@example.org", "role": "requester", "groups": ["first-line"]})
    assert refused.status_code == 400
    assert "Only support staff" in refused.get_data(as_text=True)
    assert "clerk2@example.org" not in client.get("/farajaland/members").get_data(as_text=True)


def test_the_administrator_changes_a_groups_members_on_the_tiers_page(client, auth, admin, l1, l2, requester, make_ticket, in_tenant, members_of, user_id):
    first = make_ticket(subject="Code never arrives", category="access-and-login")
    assert assignee_of(in_tenant, first) == l1  # what the desk read of the group is kept meanwhile
    auth.login(admin)
    page = client.get("/farajaland/tickets/tiers").get_data(as_text=True)
    assert "configuration file (tiers.groups); who is in each group is chosen here" in page
    ticked = re.findall(r'<input checked id="group-first-line-members-\d+" name="group-first-line-members" type="checkbox" value="(\d+)">', page)
    assert ticked == [str(user_id(l1))]

    response = save_group(client, "first-line", [user_id(l2)])
    assert "The members of First-line support are saved." in response.get_data(as_text=True)
    assert members_of("first-line") == [l2]
    assert assignee_of(in_tenant, make_ticket(subject="Password reset fails", category="access-and-login")) == l2

    # Leaving a group empty is allowed, with a warning; its tickets then wait in the queue.
    emptied = save_group(client, "first-line", []).get_data(as_text=True)
    assert "First-line support has no active member now" in emptied
    assert members_of("first-line") == []
    assert assignee_of(in_tenant, make_ticket(subject="Cannot log in", category="access-and-login")) is None
    assert "No active member: new tickets of this group are given to nobody." in client.get("/farajaland/tickets/tiers").get_data(as_text=True)

    assert "Nothing changed." in save_group(client, "first-line", []).get_data(as_text=True)

    # Each change is on the settings page's history: who, what the group held before and after.
    history = client.get("/farajaland/settings").get_data(as_text=True).split('id="history"')[1]
    rows = re.findall(r"<tr><td>[^<]*</td>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", history)
    assert [row[1:] for row in rows] == [("Members of the group First-line support", l2, "(none)"),
                                         ("Members of the group First-line support", l1, l2)]
    assert rows[0][0] not in ("", "—")  # the administrator who saved it


def test_only_tenant_administrators_change_groups(client, auth, l1, l2, requester, user_id, members_of):
    for email in (l1, l2, requester):
        auth.login(email)
        assert client.get("/farajaland/tickets/tiers").status_code == 403
        assert client.post("/farajaland/tickets/groups/first-line", data={"group-first-line-members": [str(user_id(l2))]}).status_code == 403
        auth.logout()
    assert client.post("/farajaland/tickets/groups/first-line", data={"group-first-line-members": [str(user_id(l2))]}).status_code in (302, 401, 403)
    assert members_of("first-line") == [l1]


def test_saving_a_group_needs_the_pages_csrf_token(make_app, make_user, user_id, members_of):
    app = make_app(WTF_CSRF_ENABLED=True)
    l1 = make_user("l1@farajaland.demo", role=Role.L1_AGENT)
    l2 = make_user("l2@farajaland.demo", role=Role.L2_TECHNICIAN)
    admin = make_user(role=Role.TENANT_ADMIN)
    client = app.test_client()
    login = client.get("/farajaland/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login).group(1)
    assert client.post("/farajaland/login", data={"email": admin, "password": PASSWORD, "csrf_token": token}).status_code == 302

    assert save_group(client, "first-line", [user_id(l2)]).status_code == 400
    assert members_of("first-line") == [l1]

    page = client.get("/farajaland/tickets/tiers").get_data(as_text=True)
    token = re.search(r'name="group-first-line-csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert save_group(client, "first-line", [user_id(l2)], **{"group-first-line-csrf_token": token}).status_code == 200
    assert members_of("first-line") == [l2]


def test_another_countrys_people_and_groups_cannot_be_used(app, client, auth, admin, l1, make_user, user_id, members_of):
    stranger = make_user("l1@kalondo.demo", tenant="kalondo", role=Role.L1_AGENT)  # in Kalondo's first group
    clerk = make_user(role=Role.REQUESTER)
    auth.login(admin)

    def rows():
        with app.app_context(), across_tenants(db.session, SYSTEM):
            return db.session.execute(select(GroupMember.tenant_id, GroupMember.group_key, GroupMember.user_id).order_by(GroupMember.id)).all()

    before = rows()
    assert save_group(client, "first-line", [user_id(l1), user_id(stranger)]).status_code == 400
    assert save_group(client, "first-line", [user_id(clerk)]).status_code == 400  # not support staff
    assert save_group(client, "first-line", ["not-a-number"]).status_code == 400
    assert save_group(client, "premier-niveau", [user_id(l1)]).status_code == 404  # Kalondo's group
    assert client.post("/kalondo/tickets/groups/premier-niveau", data={"group-premier-niveau-members": []}).status_code == 403
    assert rows() == before
    assert members_of("first-line") == [l1]
    assert members_of("premier-niveau", "kalondo") == [stranger]


def test_a_role_change_keeps_the_groups_and_says_so_and_a_deactivated_member_keeps_their_place(client, auth, admin, l1, members_of, in_tenant):
    auth.login(admin)
    member_id = in_tenant(lambda t: auth_services.membership_for(auth_services.get_user_by_email(l1), t).id)

    moved = client.post(f"/farajaland/members/{member_id}", data={f"m{member_id}-role": "l2_technician", f"m{member_id}-is_active": "y"}, follow_redirects=True)
    assert "l1@farajaland.demo is in: First-line support (L1)." in moved.get_data(as_text=True)
    assert members_of("first-line") == [l1] and members_of("technical") == []
    page = client.get("/farajaland/tickets/tiers").get_data(as_text=True)
    assert "Their role is of the other level: Lina First." in page

    client.post(f"/farajaland/members/{member_id}", data={f"m{member_id}-role": "l2_technician"})  # "Active" unticked
    assert members_of("first-line") == []
    assert in_tenant(lambda t: services.groups_of(t, auth_services.get_user_by_email(l1))) == ["first-line"]
    client.post(f"/farajaland/members/{member_id}", data={f"m{member_id}-role": "l2_technician", f"m{member_id}-is_active": "y"})
    assert members_of("first-line") == [l1]


def test_a_sync_keeps_the_groups_chosen_in_the_portal_and_adds_only_the_newly_listed(app, client, auth, admin, l1, l2, make_user, user_id, members_of, tmp_path):
    other = make_user("omar@example.org", role=Role.L1_AGENT)
    auth.login(admin)
    save_group(client, "first-line", [user_id(other)])  # Lina, listed in tenant.toml, taken out
    save_group(client, "technical", [user_id(l2), user_id(l1)])

    with app.app_context():
        assert not sync_tenants(REPO / "tenants").problems  # the files unchanged
    assert members_of("first-line") == ["omar@example.org"]
    assert members_of("technical") == [l1, l2]

    folder = tmp_path / "tenants"
    shutil.copytree(REPO / "tenants", folder, ignore=shutil.ignore_patterns("kb"))
    toml = folder / "farajaland" / "tenant.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('members = ["l2@farajaland.demo"]', 'members = ["l2@farajaland.demo", "Omar@example.org"]'), encoding="utf-8")
    with app.app_context():
        report = sync_tenants(folder)
    assert "farajaland" in report.updated and not report.problems
    assert members_of("technical") == [l1, l2, "omar@example.org"]  # newly listed: added
    assert members_of("first-line") == ["omar@example.org"]  # still without Lina: her listing is not new


def test_people_listed_in_tenant_toml_join_their_groups_when_they_get_a_support_role(make_user, in_tenant, members_of):
    # The demo accounts (portal/cli/demo.py) and the tests' staff get their roles after the tenants are synced.
    make_user("l1@farajaland.demo", role=Role.REQUESTER)
    assert members_of("first-line") == []

    def promote(t):
        auth_services.add_membership(t, auth_services.get_user_by_email("l1@farajaland.demo"), Role.L1_AGENT)
        db.session.commit()

    in_tenant(promote)
    assert members_of("first-line") == ["l1@farajaland.demo"]


def test_a_requester_promoted_to_the_desk_on_the_members_page_joins_the_first_group_of_their_level(client, auth, admin, make_user, members_of, in_tenant):
    clerk = make_user("clerk.promoted@example.org", role=Role.REQUESTER, name="Clara Promoted")
    auth.login(admin)
    member_id = in_tenant(lambda t: auth_services.membership_for(auth_services.get_user_by_email(clerk), t).id)
    page = client.post(f"/farajaland/members/{member_id}", data={f"m{member_id}-role": "l2_technician", f"m{member_id}-is_active": "y"},
                       follow_redirects=True).get_data(as_text=True)
    assert "clerk.promoted@example.org is in: National technical support (L2)." in page
    assert members_of("technical") == [clerk]
