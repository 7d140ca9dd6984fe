"""An agent links, from the ticket page, the help article that answers a request (or would have);
the insights page counts the tickets answered with each article."""
from __future__ import annotations

import re

import pytest

from portal.auth.permissions import Role
from portal.core.db import db, tenant_scope
from portal.tenancy.services import get_tenant
from portal.tickets import services as tickets

from tests.kb.conftest import library, library_dir  # noqa: F401 (fixtures: the test library of articles)

from .test_dashboard import rows_of


@pytest.fixture
def people(make_user):
    return {"agent": make_user(role=Role.L1_AGENT, name="Lina Agent"), "requester": make_user(role=Role.REQUESTER, name="Clara Clerk"),
            "admin": make_user(role=Role.TENANT_ADMIN)}


@pytest.fixture
def ticket(app, people):
    with app.app_context():
        tenant = get_tenant("farajaland")
        with tenant_scope(db.session, tenant.id):
            from portal.auth.services import get_user_by_email

            user = get_user_by_email(people["requester"])
            return tickets.open_ticket(tenant, user, requester=tickets.find_or_create_contact(tenant, user=user),
                                       subject="The reset code never arrives", body="I tried twice.").reference


def test_agent_links_the_article_from_the_ticket_page_and_insights_count_it(client, auth, people, ticket, app, library):
    auth.login(people["agent"])
    page = client.get(f"/farajaland/tickets/{ticket}").get_data(as_text=True)
    assert 'id="article-link-h"' in page
    assert f'action="/farajaland/insights/tickets/{ticket}/article"' in page
    # The assistant's articles for the request are offered first, each linked with one button; the
    # page lists only their titles, and every title (staff articles too) is on the form's own page.
    suggested = page.split('class="suggested-articles"')[1].split("</ul>")[0]
    assert '<a href="/farajaland/kb/articles/code-not-received">The verification code never arrives</a>' in suggested
    assert '<input type="hidden" name="article_ref" value="/farajaland/kb/articles/code-not-received">' in suggested
    titles = page.split('<datalist id="kb-article-titles">')[1].split("</datalist>")[0]
    assert '<option value="The verification code never arrives">' in titles and "Triage checklist for agents" not in titles
    assert f'<a href="/farajaland/insights/tickets/{ticket}/article">Choose from all articles</a>' in page
    everything = client.get(f"/farajaland/insights/tickets/{ticket}/article").get_data(as_text=True)
    titles = everything.split('<datalist id="kb-article-titles">')[1].split("</datalist>")[0]
    assert '<option value="Resetting a forgotten password">' in titles and "Triage checklist for agents" in titles  # staff articles too

    # However the agent gives it (a whole address, a path, its title), the link is the article's address.
    response = client.post(f"/farajaland/insights/tickets/{ticket}/article",
                           data={"article_ref": "https://support.example.org/farajaland/kb/articles/password-reset?sid=4", "article_title": ""})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/farajaland/tickets/{ticket}")
    page = client.get(f"/farajaland/tickets/{ticket}").get_data(as_text=True)
    assert f"The article is linked to {ticket}." in page
    assert 'Linked: <a href="/farajaland/kb/articles/password-reset">Resetting a forgotten password</a>' in page
    assert 'value="/farajaland/kb/articles/password-reset"' in page  # the form shows the current link, to change it
    client.post(f"/farajaland/insights/tickets/{ticket}/article", data={"article_ref": "  resetting a FORGOTTEN password "})
    assert 'Linked: <a href="/farajaland/kb/articles/password-reset">' in client.get(f"/farajaland/tickets/{ticket}").get_data(as_text=True)

    # An address that leads nowhere is refused, and the link stays.
    wrong = client.post(f"/farajaland/insights/tickets/{ticket}/article", data={"article_ref": "/farajaland/help/reset-password"})
    assert wrong.status_code == 422 and "No article of Farajaland is at this address." in wrong.get_data(as_text=True)

    # The agent resolves the ticket; the insights page counts it under the article.
    resolved = client.post(f"/farajaland/tickets/{ticket}/update", data={"status": "resolved", "priority": "normal"})
    assert resolved.status_code == 302
    auth.login(people["admin"])
    board = client.get("/farajaland/insights/").get_data(as_text=True)
    assert rows_of(board, "articles") == [["/farajaland/kb/articles/password-reset", "Resetting a forgotten password", "1", "1"]]

    # Linking another article replaces the first one; an article still to write is named in words.
    auth.login(people["agent"])
    client.post(f"/farajaland/insights/tickets/{ticket}/article", data={"article_ref": "Registering twins"})
    auth.login(people["admin"])
    board = client.get("/farajaland/insights/").get_data(as_text=True)
    assert rows_of(board, "articles") == [["Registering twins", "", "1", "1"]]


def test_requesters_neither_see_nor_use_the_form(client, auth, people, ticket):
    auth.login(people["requester"])
    page = client.get(f"/farajaland/tickets/{ticket}").get_data(as_text=True)
    assert "article-link-h" not in page
    response = client.post(f"/farajaland/insights/tickets/{ticket}/article", data={"article_ref": "reset-password"})
    assert response.status_code == 403


def test_bad_input_is_a_clear_4xx(client, auth, people, ticket, make_user):
    auth.login(people["agent"])
    response = client.post(f"/farajaland/insights/tickets/{ticket}/article", data={"article_ref": "  "})
    assert response.status_code == 422
    assert "This field is required." in response.get_data(as_text=True)
    assert client.post(f"/farajaland/insights/tickets/{ticket}/article", data={"article_ref": "x" * 301}).status_code == 422
    for broken in ("http://[broken", "//[x]y"):  # not even an address: refused, not a 500
        assert client.post(f"/farajaland/insights/tickets/{ticket}/article", data={"article_ref": broken}).status_code == 422
    assert client.post("/farajaland/insights/tickets/FAR-999999/article", data={"article_ref": "reset-password"}).status_code == 404
    # An agent of another country cannot reach this ticket.
    auth.login(make_user(role=Role.L1_AGENT, tenant="kalondo"), tenant="kalondo")
    assert client.post(f"/kalondo/insights/tickets/{ticket}/article", data={"article_ref": "reset-password"}).status_code == 404


def test_a_request_in_french_offers_the_french_titles_too(app, client, auth, people, library):
    with app.app_context():
        tenant = get_tenant("farajaland")
        with tenant_scope(db.session, tenant.id):
            contact = tickets.find_or_create_contact(tenant, email="awa@example.org", name="Awa")
            reference = tickets.open_ticket(tenant, None, requester=contact, subject="Le code n'arrive pas", body="Rien reçu.", locale="fr").reference
    auth.login(people["agent"])
    page = client.get(f"/farajaland/tickets/{reference}").get_data(as_text=True)
    suggested = page.split('class="suggested-articles"')[1].split("</ul>")[0]
    assert "Le code de vérification n&#39;arrive pas" in suggested  # the assistant reads the request in its language
    page = client.get(f"/farajaland/insights/tickets/{reference}/article").get_data(as_text=True)
    titles = page.split('<datalist id="kb-article-titles">')[1].split("</datalist>")[0]
    assert "Le code de vérification n&#39;arrive pas" in titles and "The verification code never arrives" in titles


def test_no_suggestions_where_the_assistant_is_off_and_none_for_the_linked_article(app, client, auth, people, ticket, library):
    auth.login(people["agent"])
    client.post(f"/farajaland/insights/tickets/{ticket}/article", data={"article_ref": "/farajaland/kb/articles/code-not-received"})
    page = client.get(f"/farajaland/tickets/{ticket}").get_data(as_text=True)
    suggested = page.split('class="suggested-articles"')[1].split("</ul>")[0]
    assert "code-not-received" not in suggested and "Resetting a forgotten password" in suggested  # the others stay

    with app.app_context():
        tenant = get_tenant("farajaland")
        tenant.config = {**tenant.config, "assistant": {**tenant.config.get("assistant", {}), "enabled": False}}
        db.session.commit()
    page = client.get(f"/farajaland/tickets/{ticket}").get_data(as_text=True)
    assert 'id="article-link-h"' in page and "suggested-articles" not in page and "Choose from all articles" in page


def test_suggestions_are_kept_between_views_until_the_articles_change(app, client, auth, people, ticket, library):
    from portal.kb import services as kb

    auth.login(people["agent"])
    def suggested() -> list[str]:
        page = client.get(f"/farajaland/tickets/{ticket}").get_data(as_text=True)
        return re.findall(r'<a href="([^"]+)"', page.split('class="suggested-articles"')[1].split("</ul>")[0])

    first = suggested()
    assert first and suggested() == first
    assert "/farajaland/kb/articles/reset-code-never-arrives" not in first
    with app.app_context():
        tenant = get_tenant("farajaland")
        with tenant_scope(db.session, tenant.id):
            kb.save_article(tenant, None, "reset-code-never-arrives", "en", kb.Draft(
                "The reset code never arrives", "If the reset code never arrives, check the phone number on your account and wait "
                "two minutes before asking for a new reset code.", None, ["reset", "code"], "public", "published"))
        db.session.commit()
    assert "/farajaland/kb/articles/reset-code-never-arrives" in suggested()  # the new article is found at once
