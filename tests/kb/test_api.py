"""`/<tenant>/api/v1/kb`: search and articles as JSON; public without a token, staff with one."""
from portal.auth import services as auth_services
from portal.auth.permissions import Role
from portal.kb import services
from tests.kb.conftest import draft


def token_for(app, email):
    from portal.core.db import db

    with app.app_context():
        token = auth_services.issue_api_token(auth_services.get_user_by_email(email), "test")
        db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_search_returns_ranked_results_with_snippets(client, library):
    response = client.get("/farajaland/api/v1/kb/search?q=password&lang=en&limit=5")
    assert response.status_code == 200
    data = response.get_json()
    assert data["total"] == 1
    hit = data["results"][0]
    assert set(hit) == {"slug", "title", "locale", "snippet", "url", "score"}
    assert hit["slug"] == "password-reset" and hit["locale"] == "en" and "<mark>" in hit["snippet"]
    assert hit["url"].startswith("/farajaland/kb/articles/password-reset?sid=")
    filtered = client.get("/farajaland/api/v1/kb/search?q=code&category=certificates-and-printing").get_json()
    assert [r["slug"] for r in filtered["results"]] == []


def test_article_returns_filled_html_and_fallback(client, library):
    data = client.get("/farajaland/api/v1/kb/articles/printing-certificates?lang=fr").get_json()
    assert set(data) == {"slug", "title", "locale", "body_html", "category", "updated_at", "fallback"}
    assert data["fallback"] is True and data["locale"] == "en"
    assert "3 FRD" in data["body_html"] and '<blockquote class="kb-note">' in data["body_html"]
    assert client.get("/farajaland/api/v1/kb/articles/code-not-received?lang=fr").get_json()["fallback"] is False


def test_errors_are_json_with_a_message(client, library):
    for url, code in [("/farajaland/api/v1/kb/search", 400), ("/farajaland/api/v1/kb/search?q=x&lang=de", 400),
                      ("/farajaland/api/v1/kb/search?q=x&limit=500", 400), ("/farajaland/api/v1/kb/articles/nope", 404)]:
        response = client.get(url)
        assert response.status_code == code
        assert response.get_json()["error"]["message"]


def test_staff_articles_need_a_staff_token(app, client, make_user, library):
    url = "/farajaland/api/v1/kb/articles/staff-triage"
    assert client.get(url).status_code == 404
    assert client.get(url, headers=token_for(app, make_user(role=Role.REQUESTER))).status_code == 404
    assert client.get(url, headers=token_for(app, make_user(tenant="kalondo", role=Role.L1_AGENT))).status_code == 404
    staff = token_for(app, make_user(role=Role.L1_AGENT))
    assert client.get(url, headers=staff).get_json()["slug"] == "staff-triage"
    assert client.get("/farajaland/api/v1/kb/search?q=triage", headers=staff).get_json()["total"] == 1


def test_an_article_s_link_to_an_article_the_reader_cannot_open_is_its_text_alone(client, library, kb_edit):
    kb_edit("farajaland", services.save_article, None, "office-help", "en", draft("Office help", "See [the reset steps](password-reset) or [the checklist](staff-triage)."))
    kb_edit("farajaland", services.set_hidden, None, "password-reset", True)
    body = client.get("/farajaland/api/v1/kb/articles/office-help").get_json()["body_html"]
    assert "See the reset steps or the checklist." in body and "<a " not in body
