"""A tenant admin corrects a member's name, job title and office on the members page."""
import re

from portal.auth import services
from portal.auth.permissions import Role
from portal.core.db import db, tenant_scope
from portal.tenancy.services import get_tenant


def _details_link(client, email: str, query: str = "") -> str:
    """The "Edit" link of `email`'s row on the members page (as searched with `query`)."""
    page = client.get("/farajaland/members" + query).get_data(as_text=True)
    return re.search(rf"{re.escape(email)}</td>.*?href=\"(/farajaland/members/\d+/details[^\"]*)\"", page, re.S).group(1).replace("&amp;", "&")


def _membership_id(app, email: str, tenant: str) -> int:
    with app.app_context():
        country = get_tenant(tenant)
        with tenant_scope(db.session, country.id):
            return services.membership_for(services.get_user_by_email(email), country).id


def test_admin_corrects_a_member_s_name_job_title_and_office_and_finds_them_by_the_new_name(client, auth, make_user):
    auth.login(make_user(tenant="farajaland", role=Role.TENANT_ADMIN))
    agent = make_user(tenant="farajaland", role=Role.L1_AGENT, name="Jon Bnada")
    link = _details_link(client, agent, "?q=bnada")
    form = client.get(link)
    page = form.get_data(as_text=True)
    assert form.status_code == 200 and f"Details of {agent}" in page and 'value="Jon Bnada"' in page
    assert len(re.findall(r'id="([^"]+)"', page)) == len(set(re.findall(r'id="([^"]+)"', page)))  # beside "Add a member", each label finds its field
    assert '<option value="Isamba District Office">Isamba District Office</option>' in page  # the country's offices to choose from
    response = client.post(link, data={"details-name": " John Banda ", "details-job_title": "Registrar", "details-office": "Isamba District Office"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/farajaland/members?q=bnada"  # back to the page the change was made on
    page = client.get("/farajaland/members").get_data(as_text=True)
    assert f"The details of {agent} are saved." in page
    row = re.search(rf"{re.escape(agent)}</td>.*?</tr>", page, re.S).group(0)
    assert "John Banda" in row and "Registrar" in row and "Isamba District Office" in row
    assert '<option selected value="l1_agent">' in row and 'checked' in row  # role and status as they were
    assert agent in client.get("/farajaland/members?q=john banda").get_data(as_text=True)
    assert "No member matches." in client.get("/farajaland/members?q=jon bnada").get_data(as_text=True)
    again = client.post(link, data={"details-name": "John Banda", "details-job_title": "Registrar", "details-office": "Isamba District Office"}, follow_redirects=True)
    assert "Nothing changed." in again.get_data(as_text=True)


def test_a_refused_correction_keeps_what_was_typed_and_says_why_in_the_reader_s_language(client, auth, make_user):
    auth.login(make_user(tenant="farajaland", role=Role.TENANT_ADMIN, locale="fr"))
    agent = make_user(tenant="farajaland", role=Role.L1_AGENT, name="Old Name")
    link = _details_link(client, agent)
    typed = {"details-name": "Nouveau Nom", "details-job_title": "x" * 101, "details-office": "Ibombo District Office"}
    response = client.post(link, data=typed)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Le champ ne peut pas contenir plus de 100 caractères." in page
    assert 'value="Nouveau Nom"' in page and f'value="{"x" * 101}"' in page
    assert '<option selected value="Ibombo District Office">' in page
    assert "Nouveau Nom" not in client.get("/farajaland/members").get_data(as_text=True)  # nothing saved
    unlisted = client.post(link, data={**typed, "details-job_title": "Clerk", "details-office": "Atlantis Office"})
    assert unlisted.status_code == 400 and 'value="Nouveau Nom"' in unlisted.get_data(as_text=True)


def test_without_a_list_of_offices_the_office_is_typed_and_an_office_no_longer_listed_is_kept(app, client, auth, make_user, configure_tenant):
    auth.login(make_user(tenant="farajaland", role=Role.TENANT_ADMIN))
    agent = make_user(tenant="farajaland", role=Role.L1_AGENT)
    link = _details_link(client, agent)
    configure_tenant("farajaland", "registration", offices=[])
    assert 'name="details-office" type="text"' in client.get(link).get_data(as_text=True)
    assert client.post(link, data={"details-name": "Ana", "details-job_title": "", "details-office": "Mobile unit 3"}).status_code == 302
    configure_tenant("farajaland", "registration", offices=["Ibombo District Office"])
    page = client.get(link).get_data(as_text=True)
    assert '<option selected value="Mobile unit 3">' in page  # correcting the name does not take it away
    assert client.post(link, data={"details-name": "Ana Phiri", "details-job_title": "", "details-office": "Mobile unit 3"}).status_code == 302
    row = re.search(rf"{re.escape(agent)}</td>.*?</tr>", client.get("/farajaland/members").get_data(as_text=True), re.S).group(0)
    assert "Ana Phiri" in row and "Mobile unit 3" in row


def test_another_country_s_member_is_not_found_and_only_admins_correct_members(app, client, auth, make_user):
    admin = make_user(tenant="farajaland", role=Role.TENANT_ADMIN)
    elsewhere = make_user(tenant="kalondo", role=Role.L1_AGENT, name="Kalondo Agent")
    theirs = _membership_id(app, elsewhere, "kalondo")
    auth.login(admin)
    assert client.get(f"/farajaland/members/{theirs}/details").status_code == 404
    assert client.post(f"/farajaland/members/{theirs}/details", data={"details-name": "Renamed", "details-job_title": "", "details-office": ""}).status_code == 404
    assert client.post(f"/kalondo/members/{theirs}/details", data={"details-name": "Renamed", "details-job_title": "", "details-office": ""}).status_code == 403
    with app.app_context():
        assert services.get_user_by_email(elsewhere).name == "Kalondo Agent"
    auth.logout()
    agent = make_user(tenant="farajaland", role=Role.L1_AGENT)
    mine = _membership_id(app, agent, "farajaland")
    auth.login(agent)
    assert client.get(f"/farajaland/members/{mine}/details").status_code == 403
    assert client.post(f"/farajaland/members/{mine}/details", data={"details-name": "Me", "details-job_title": "", "details-office": ""}).status_code == 403


def test_an_admin_corrects_their_own_name_and_office_and_stays_admin(app, client, auth, make_user):
    admin = make_user(tenant="farajaland", role=Role.TENANT_ADMIN)
    auth.login(admin)
    link = _details_link(client, admin)
    assert client.post(link, data={"details-name": "Ada Admin", "details-job_title": "Registrar general", "details-office": "Ibombo District Office"}).status_code == 302
    page = client.get("/farajaland/members?q=ada admin").get_data(as_text=True)
    assert admin in page and "Registrar general" in page
    assert re.search(rf'{re.escape(admin)}</td>.*?<option selected value="tenant_admin">', page, re.S)


def test_after_a_refused_form_every_row_still_shows_its_member_as_stored(client, auth, make_user):
    auth.login(make_user(tenant="farajaland", role=Role.TENANT_ADMIN))
    agent = make_user(tenant="farajaland", role=Role.L1_AGENT, name="Still Active")
    refused = client.post("/farajaland/members", data={"email": agent, "role": "l1_agent"})  # already a member
    row = re.search(rf"{re.escape(agent)}</td>.*?</tr>", refused.get_data(as_text=True), re.S).group(0)
    assert refused.status_code == 400
    assert "checked" in row and '<option selected value="l1_agent">' in row  # saving this row would not deactivate them
    bad = client.post(_details_link(client, agent), data={"details-name": "Still Active", "details-job_title": "x" * 101, "details-office": ""})
    row = re.search(rf"{re.escape(agent)}</td>.*?</tr>", bad.get_data(as_text=True), re.S).group(0)
    assert bad.status_code == 400 and "checked" in row


def test_a_new_member_s_office_is_chosen_from_the_country_s_list_when_it_has_one(app, client, auth, make_user, configure_tenant):
    auth.login(make_user(tenant="farajaland", role=Role.TENANT_ADMIN))
    configure_tenant("farajaland", "registration", offices=["Ibombo District Office", "Isamba District Office"])
    page = client.get("/farajaland/members").get_data(as_text=True)
    assert '<select id="office" name="office">' in page and '<option value="Isamba District Office">' in page
    typo = client.post("/farajaland/members", data={"email": "new.agent@example.org", "role": "l1_agent", "office": "Isamba Distrct Office"})
    assert typo.status_code == 400 and "Not a valid choice" in typo.get_data(as_text=True)
    added = client.post("/farajaland/members", data={"email": "new.agent@example.org", "role": "l1_agent", "office": "Isamba District Office"})
    assert added.status_code == 302
    row = re.search(r"new.agent@example.org</td>.*?</tr>", client.get("/farajaland/members").get_data(as_text=True), re.S).group(0)
    assert "Isamba District Office" in row

    configure_tenant("farajaland", "registration", offices=[])
    assert '<input id="office" maxlength="200" name="office" type="text" value="">' in client.get("/farajaland/members").get_data(as_text=True)
