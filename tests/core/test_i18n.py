"""Locale selection: explicit choice, then the browser's languages among the tenant's, then the default."""
import datetime as dt

import pytest
from flask import render_template_string

from tests.conftest import PASSWORD


def html_lang(response) -> str:
    import re

    return re.search(r'<html lang="([^"]+)" dir="(\w+)"', response.get_data(as_text=True)).groups()


def test_accept_language_picks_among_the_tenants_locales(client):
    assert html_lang(client.get("/farajaland/", headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"})) == ("fr", "ltr")
    assert html_lang(client.get("/farajaland/", headers={"Accept-Language": "de,en;q=0.5"})) == ("en", "ltr")
    # Kalondo offers only French: an English browser still gets French.
    assert html_lang(client.get("/kalondo/", headers={"Accept-Language": "en"})) == ("fr", "ltr")


def test_tenant_default_when_the_browser_says_nothing_useful(client):
    assert html_lang(client.get("/farajaland/", headers={"Accept-Language": "pt"})) == ("en", "ltr")


def test_switching_language_is_kept_in_a_cookie_and_beats_the_browser(client):
    response = client.post("/farajaland/language", data={"lang": "fr", "next": "/farajaland/"})
    assert response.status_code == 302 and response.headers["Location"] == "/farajaland/"
    page = client.get("/farajaland/", headers={"Accept-Language": "en"})
    assert html_lang(page) == ("fr", "ltr")
    assert "Comment pouvons-nous" in page.get_data(as_text=True) or "aider" in page.get_data(as_text=True)


def test_a_signed_in_users_choice_follows_them(client, make_user, app):
    email = make_user()
    client.post("/farajaland/login", data={"email": email, "password": PASSWORD})
    client.post("/farajaland/language", data={"lang": "fr"})
    other_browser = app.test_client()
    other_browser.post("/farajaland/login", data={"email": email, "password": PASSWORD})
    assert html_lang(other_browser.get("/farajaland/", headers={"Accept-Language": "en"})) == ("fr", "ltr")


def test_a_language_the_tenant_does_not_offer_is_refused(client):
    response = client.post("/kalondo/language", data={"lang": "en"})
    assert response.status_code == 400
    assert "langue" in response.get_data(as_text=True)


def test_every_page_has_the_switcher_when_there_is_a_choice(client):
    page = client.get("/farajaland/login").get_data(as_text=True)
    assert 'name="lang" value="fr"' in page and 'name="lang" value="en"' in page
    assert 'name="lang"' not in client.get("/kalondo/").get_data(as_text=True)


def test_error_pages_are_localized(client):
    response = client.get("/farajaland/no/such/page", headers={"Accept-Language": "fr"})
    assert response.status_code == 404
    assert "Page introuvable" in response.get_data(as_text=True)


def test_the_switcher_is_a_plain_get_form_that_needs_no_session(app):
    browser = app.test_client()
    landing = browser.get("/")
    assert 'class="lang-switch" method="get"' in landing.get_data(as_text=True)
    assert "Set-Cookie" not in landing.headers  # nothing on the page needs a session or a CSRF token
    response = browser.get("/farajaland/language?lang=fr&next=/farajaland/kb/")
    assert response.status_code == 302 and response.headers["Location"] == "/farajaland/kb/"
    assert html_lang(browser.get("/farajaland/kb/", headers={"Accept-Language": "en"})) == ("fr", "ltr")
    assert browser.get("/kalondo/language?lang=en").status_code == 400
    assert browser.get("/farajaland/language?lang=fr&next=https://evil.example/").headers["Location"] == "/farajaland/"


def test_a_link_from_another_site_cannot_change_a_signed_in_users_language(make_app, make_user):
    app = make_app(WTF_CSRF_ENABLED=True)
    email = make_user()
    browser = app.test_client()
    login_page = browser.get("/farajaland/login").get_data(as_text=True)
    csrf = login_page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    browser.post("/farajaland/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf})
    home = browser.get("/farajaland/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'class="lang-switch" method="post"' in home and 'name="csrf_token"' in home.split('class="lang-switch"')[1]
    browser.get("/farajaland/language?lang=fr")  # what a link elsewhere would do
    other_browser = app.test_client()
    other_login = other_browser.get("/farajaland/login").get_data(as_text=True)
    other_csrf = other_login.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    other_browser.post("/farajaland/login", data={"email": email, "password": PASSWORD, "csrf_token": other_csrf})
    assert html_lang(other_browser.get("/farajaland/", headers={"Accept-Language": "en"})) == ("en", "ltr")
    assert browser.post("/farajaland/language", data={"lang": "fr"}).status_code == 400  # no token
    token = home.split('class="lang-switch"')[1].split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert browser.post("/farajaland/language", data={"lang": "fr", "csrf_token": token}).status_code == 302
    assert html_lang(other_browser.get("/farajaland/", headers={"Accept-Language": "en"})) == ("fr", "ltr")


@pytest.mark.parametrize("locale,when,day", [
    ("en", "1 Dec 2026, 09:17", "1 Dec 2026"),
    ("fr", "1 déc. 2026, 09:17", "1 déc. 2026"),
    ("ar", "1 ديسمبر 2026، 09:17", "1 ديسمبر 2026"),
])
def test_dates_name_the_month_after_the_day_in_every_language(app, locale, when, day):
    """Never "12/1/26": every date filter of the templates writes the month's name, day first, 24 hours."""
    at = dt.datetime(2026, 12, 1, 9, 17, tzinfo=dt.timezone.utc)  # outside a country's pages, times are UTC
    template = "{{ at|local_time }}|{{ at|datetimeformat('short') }}|{{ at|datetimeformat }}|{{ at|dateformat('medium') }}|{{ at|dateformat }}"
    with app.test_request_context("/", headers={"Accept-Language": locale}):
        assert render_template_string(template, at=at).split("|") == [when, when, when, day, day]
        assert render_template_string("{{ at|datetimeformat('yyyy-MM-dd') }}", at=at) == "2026-12-01"  # a pattern is kept
