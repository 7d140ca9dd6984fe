"""Anonymous readers share one rendering of an article page, and every change shows at once."""
import re

import pytest

from portal.auth.permissions import Role
from portal.core.db import db, tenant_scope
from portal.kb import services
from portal.tenancy.services import get_tenant
from tests.kb.conftest import draft

ARTICLE = "/farajaland/kb/articles/password-reset"
EN = {"Accept-Language": "en"}


def page(client, url=ARTICLE, **kwargs):
    response = client.get(url, headers=EN, **kwargs)
    return response.status_code, response.get_data(as_text=True)


@pytest.fixture
def renders(monkeypatch):
    """How many times an article was built for a page (not served from the cache)."""
    calls = []
    original = services.get_article
    monkeypatch.setattr(services, "get_article", lambda *a, **k: calls.append(a[1]) or original(*a, **k))
    return calls


def test_the_second_reading_comes_from_the_cache(client, library, renders):
    first, second = page(client), page(client)
    assert first[0] == second[0] == 200 and "Resetting a forgotten password" in second[1]
    assert renders == ["password-reset"]
    # Another language, article or tenant is a page of its own.
    client.get(ARTICLE, headers={"Accept-Language": "fr"})
    client.get("/farajaland/kb/articles/code-not-received", headers=EN)
    client.get("/kalondo/kb/articles/password-reset")
    assert len(renders) == 4


def test_every_change_to_an_article_shows_at_once(app, client, library, kb_edit, renders):
    assert "Resetting a forgotten password" in page(client)[1]
    kb_edit("farajaland", services.save_article, None, "password-reset", "en", draft("Our own reset steps", "Call the desk."))
    assert "Our own reset steps" in page(client)[1]
    kb_edit("farajaland", services.save_article, None, "password-reset", "en", draft("Our own reset steps", "Call the desk on Monday."))
    assert "Call the desk on Monday." in page(client)[1]
    kb_edit("farajaland", services.revert_to_generic, None, "password-reset", confirmed=True)
    assert "Resetting a forgotten password" in page(client)[1]
    with app.app_context():
        services.save_generic_article(None, "password-reset", "en", draft("Resetting a password, new edition", "New steps.", "access-and-login"))
        db.session.commit()
    assert "Resetting a password, new edition" in page(client)[1]
    kb_edit("farajaland", services.set_hidden, None, "password-reset", True)
    assert page(client)[0] == 404
    kb_edit("farajaland", services.set_hidden, None, "password-reset", False)
    assert "Resetting a password, new edition" in page(client)[1]
    kb_edit("farajaland", services.save_article, None, "password-reset", "en", draft("Unpublished", status="draft"))
    assert "Unpublished" not in page(client)[1]


def test_a_change_of_the_countrys_values_shows_at_once(app, client, library):
    url = "/farajaland/kb/articles/code-not-received"
    assert "+260 97 555 0100" in page(client, url)[1]
    with app.app_context():
        tenant = get_tenant("farajaland")
        tenant.config = {**tenant.config, "support": {**tenant.config["support"], "whatsapp": "+260 97 555 0199"}}
        db.session.commit()
    text = page(client, url)[1]
    assert "+260 97 555 0199" in text and "+260 97 555 0100" not in text


def token(text: str) -> str:
    return re.search(r'<form method="post" action="[^"]*/feedback">\s*<input type="hidden" name="csrf_token" value="([^"]+)"', text).group(1)


def test_each_reader_gets_a_token_of_their_own_in_the_shared_page(make_app, library):
    app = make_app(WTF_CSRF_ENABLED=True)
    alice, bob = app.test_client(), app.test_client()
    alice_token, bob_token = token(page(alice)[1]), token(page(bob)[1])
    assert alice_token != bob_token
    assert "csrf-" not in page(bob)[1]  # no marker is ever sent
    assert alice.post(ARTICLE + "/feedback", data={"helpful": "yes", "csrf_token": bob_token}).status_code == 400
    sent = alice.post(ARTICLE + "/feedback", data={"helpful": "yes", "csrf_token": alice_token}, follow_redirects=True)
    assert "Thank you for your feedback." in sent.get_data(as_text=True)


def test_flashed_messages_and_signed_in_readers_are_never_served_a_shared_page(client, auth, make_user, library, renders):
    page(client)
    thanked = client.post(ARTICLE + "/feedback", data={"helpful": "yes"}, headers=EN, follow_redirects=True)
    assert "Thank you for your feedback." in thanked.get_data(as_text=True)
    assert "Thank you for your feedback." not in page(client)[1]
    auth.login(make_user(role=Role.L1_AGENT))
    staff = page(client)[1]
    assert "/manage/password-reset/en" in staff  # the editor's link, never put in the shared page
    assert "/manage/password-reset/en" not in page(client.application.test_client())[1]


def test_a_search_click_is_recorded_and_served_the_same_page(client, library, renders):
    text = client.get("/farajaland/kb/search?q=password", headers=EN).get_data(as_text=True)
    link = text[text.index("/farajaland/kb/articles/password-reset?sid="):].split('"')[0]
    page(client)
    status, clicked = page(client, link)
    assert status == 200 and "sid=" not in clicked.split("<footer")[1]  # links back to the page drop the search id
    assert len(renders) == 1


# -- several servers ------------------------------------------------------------------------------
# Each server keeps its own copies (tenant rows, rendered pages) and trusts them by version tokens
# kept where all servers see them: beside the SQLite file, or in Redis. Without either (PostgreSQL
# and no Redis) every request reads the database, which the same tests check.


def redis_settings() -> dict:
    """Settings that keep this test's version tokens in the local Redis, apart from other tests'."""
    import uuid

    import redis

    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except redis.RedisError:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    return {"REDIS_URL": url, "VERSION_TOKENS_PREFIX": f"test-{uuid.uuid4().hex}:"}


@pytest.fixture(params=["database", "redis"])
def two_servers(request, make_app, library):
    """Two apps on one database, as two servers (or two workers) of one deployment."""
    settings = redis_settings() if request.param == "redis" else {}
    return make_app(**settings), make_app(**settings)


@pytest.mark.parametrize("first_visits", [True, False], ids=["first-visits", "returning-reader"])
def test_a_change_made_on_one_server_shows_at_once_on_the_other(two_servers, renders, first_visits):
    reader_app, editor_app = two_servers
    reader = reader_app.test_client(use_cookies=not first_visits)
    assert "Resetting a forgotten password" in page(reader)[1]
    assert "Resetting a forgotten password" in page(reader)[1]
    with editor_app.app_context():
        tenant = get_tenant("farajaland")
        with tenant_scope(db.session, tenant.id):
            services.save_article(tenant, None, "password-reset", "en", draft("Reset at the district office", "Bring your ID."))
            db.session.commit()
    assert "Reset at the district office" in page(reader)[1]
    with editor_app.app_context():
        tenant = get_tenant("farajaland")
        tenant.name = "Farajaland Republic"
        db.session.commit()
    assert "Farajaland Republic" in page(reader)[1]
    with editor_app.app_context():
        get_tenant("farajaland").is_active = False
        db.session.commit()
    assert page(reader)[0] == 404


def test_a_known_tenant_and_an_unchanged_page_cost_no_query(two_servers):
    from sqlalchemy import event

    reader_app, _ = two_servers
    reader = reader_app.test_client()
    page(reader)
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    with reader_app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert page(reader)[0] == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    if reader_app.extensions.get("versions") is not None:
        assert statements == []
    else:  # PostgreSQL without Redis: the tenant row and the article's version, read each time
        assert len(statements) == 2


def test_a_rolled_back_change_keeps_the_copies(two_servers, renders):
    reader_app, editor_app = two_servers
    reader = reader_app.test_client()
    page(reader)
    with editor_app.app_context():
        get_tenant("farajaland").name = "Never saved"
        db.session.flush()
        db.session.rollback()
    assert "Never saved" not in page(reader)[1]
    assert renders == ["password-reset"]


# -- first visits, served from the shared copy in front of the application -----------------------


@pytest.fixture
def csrf_app(make_app, library, database_url):
    """An app that keeps version tokens: beside the SQLite file, or in Redis on PostgreSQL."""
    return make_app(WTF_CSRF_ENABLED=True, **({} if database_url.startswith("sqlite") else redis_settings()))


@pytest.fixture
def lookups(monkeypatch):
    """Each request looked up in the shared copies, in order: True when it was answered from one."""
    from portal.core.page_cache import SharedPages

    seen = []
    original = SharedPages._from_copy

    def spy(self, environ):
        response = original(self, environ)
        seen.append(response is not None)
        return response

    monkeypatch.setattr(SharedPages, "_from_copy", spy)
    return seen


def first_visit(app, url=ARTICLE, **headers):
    return app.test_client(use_cookies=False).get(url, headers={"Accept-Language": "en", **headers})


def test_first_visits_share_one_rendering_each_with_a_token_and_session_of_their_own(csrf_app, renders):
    visits = [first_visit(csrf_app) for _ in range(3)]
    assert renders == ["password-reset"]  # rendered once, then served from the shared copy
    tokens = {token(v.get_data(as_text=True)) for v in visits}
    cookies = {v.headers["Set-Cookie"].split(";")[0] for v in visits}
    assert len(tokens) == 3 and len(cookies) == 3
    # The third reader's token works with the third reader's cookie, and only with it.
    reader = csrf_app.test_client()
    reader.set_cookie("session", visits[2].headers["Set-Cookie"].split(";")[0].split("=", 1)[1])
    assert reader.post(ARTICLE + "/feedback", data={"helpful": "yes", "csrf_token": token(visits[0].get_data(as_text=True))}).status_code == 400
    sent = reader.post(ARTICLE + "/feedback", data={"helpful": "yes", "csrf_token": token(visits[2].get_data(as_text=True))}, follow_redirects=True)
    assert "Thank you for your feedback." in sent.get_data(as_text=True)


def test_the_shared_copy_answers_with_the_applications_own_headers(csrf_app, renders):
    rendered, copied = first_visit(csrf_app), first_visit(csrf_app)
    assert renders == ["password-reset"]

    def comparable(response):
        return sorted((k, v) for k, v in response.headers.items() if k not in ("Set-Cookie", "Date"))

    assert comparable(rendered) == comparable(copied)
    assert copied.headers["Cache-Control"] == "no-store" and "HttpOnly" in copied.headers["Set-Cookie"]
    assert rendered.get_data(as_text=True).replace(token(rendered.get_data(as_text=True)), "T") == copied.get_data(as_text=True).replace(token(copied.get_data(as_text=True)), "T")


def test_the_shared_copy_is_compressed_for_readers_who_accept_it(csrf_app, renders):
    import gzip

    first_visit(csrf_app)
    copied = first_visit(csrf_app, **{"Accept-Encoding": "gzip"})
    assert renders == ["password-reset"]
    assert copied.headers["Content-Encoding"] == "gzip"
    assert "Resetting a forgotten password" in gzip.decompress(copied.get_data()).decode()


def test_each_language_has_its_own_shared_copy(csrf_app, renders):
    assert "Resetting a forgotten password" in first_visit(csrf_app).get_data(as_text=True)
    french = first_visit(csrf_app, **{"Accept-Language": "fr-FR,fr;q=0.9"}).get_data(as_text=True)
    assert 'lang="fr"' in french and len(renders) == 2
    assert 'lang="fr"' in first_visit(csrf_app, **{"Accept-Language": "fr"}).get_data(as_text=True)
    assert 'lang="en"' in first_visit(csrf_app, **{"Accept-Language": "de"}).get_data(as_text=True)  # the default
    assert len(renders) == 2


def test_requests_that_carry_anything_of_their_reader_go_to_the_application(csrf_app, lookups):
    first_visit(csrf_app)
    first_visit(csrf_app)
    assert len(lookups) == 2
    csrf_app.test_client(use_cookies=False).get(ARTICLE + "?sid=1")
    csrf_app.test_client(use_cookies=False).get(ARTICLE, headers={"Authorization": "Bearer x"})
    csrf_app.test_client(use_cookies=False).head(ARTICLE)
    with_cookie = csrf_app.test_client()
    with_cookie.set_cookie("lang", "fr")
    assert 'lang="fr"' in with_cookie.get(ARTICLE, headers=EN).get_data(as_text=True)
    assert len(lookups) == 2  # none of these was even looked up


def test_pages_are_served_from_the_database_while_the_token_store_is_down(make_app, library, kb_edit, renders):
    app = make_app(REDIS_URL="redis://127.0.0.1:9/0")  # nothing listens there
    reader = app.test_client(use_cookies=False)
    assert "Resetting a forgotten password" in reader.get(ARTICLE, headers=EN).get_data(as_text=True)
    with app.app_context():
        tenant = get_tenant("farajaland")
        with tenant_scope(db.session, tenant.id):
            services.save_article(tenant, None, "password-reset", "en", draft("Reset while Redis sleeps", "Call us."))
            db.session.commit()
    assert "Reset while Redis sleeps" in reader.get(ARTICLE, headers=EN).get_data(as_text=True)


def test_an_anonymous_reader_coming_back_is_served_from_the_shared_copy_with_their_own_token(csrf_app, renders, lookups):
    reader = csrf_app.test_client()
    first = reader.get(ARTICLE, headers=EN)  # rendered: the shared copy is kept
    again = reader.get(ARTICLE, headers=EN)
    assert renders == ["password-reset"] and sum(lookups) == 1
    assert "Set-Cookie" not in again.headers  # their session is unchanged
    assert again.headers["Cache-Control"] == "no-store" and "Cookie" in again.headers["Vary"]
    sent = reader.post(ARTICLE + "/feedback", data={"helpful": "no", "csrf_token": token(again.get_data(as_text=True))}, follow_redirects=True)
    assert "Thank you for your feedback." in sent.get_data(as_text=True)
    assert token(first.get_data(as_text=True))
    assert sum(lookups) == 1  # the thank-you message was in their session: the application showed it
    reader.get(ARTICLE, headers=EN)
    assert sum(lookups) == 2  # shown, it is gone: their session is anyone's again
    assert len(renders) == 3  # the feedback (its article looked up), then the page with their message, for them alone


def test_a_change_made_outside_the_application_shows_once_copies_age_out(csrf_app, monkeypatch):
    from sqlalchemy import text

    from portal.core import versions

    reader = csrf_app.test_client(use_cookies=False)
    assert "Resetting a forgotten password" in first_visit(csrf_app).get_data(as_text=True)
    with csrf_app.app_context():  # SQL by hand: no version token moves
        db.session.execute(text("UPDATE kb_generic_translations SET title = 'Edited by hand' WHERE locale = 'en' AND title = 'Resetting a forgotten password'"))
        db.session.execute(text("UPDATE tenants SET name = 'Farajaland by hand' WHERE slug = 'farajaland'"))
        db.session.commit()
    assert "Edited by hand" not in reader.get(ARTICLE, headers=EN).get_data(as_text=True)  # still the copies
    monkeypatch.setattr(versions, "MAX_AGE", 0.0)  # a minute later
    page_text = reader.get(ARTICLE, headers=EN).get_data(as_text=True)
    assert "Edited by hand" in page_text and "Farajaland by hand" in page_text


def test_a_change_inside_a_savepoint_shows_once_its_transaction_commits(csrf_app):
    assert "Resetting a forgotten password" in first_visit(csrf_app).get_data(as_text=True)
    with csrf_app.app_context():
        tenant = get_tenant("farajaland")
        with tenant_scope(db.session, tenant.id):
            services.set_hidden(tenant, None, "code-not-received", True)  # an earlier write, as an import makes
            with db.session.begin_nested():  # the importer keeps each article in a savepoint
                services.save_article(tenant, None, "password-reset", "en", draft("Saved in a savepoint", "Steps."))
            # Released, not committed: readers still see the old article, and must not keep it past the commit.
            assert "Saved in a savepoint" not in first_visit(csrf_app).get_data(as_text=True)
            db.session.commit()
    assert "Saved in a savepoint" in first_visit(csrf_app).get_data(as_text=True)


def test_a_page_under_another_script_root_is_a_page_of_its_own(csrf_app):
    mounted = csrf_app.test_client(use_cookies=False).get(ARTICLE, headers=EN, environ_overrides={"SCRIPT_NAME": "/elsewhere"})
    assert "/elsewhere/farajaland/" in mounted.get_data(as_text=True)
    assert "/elsewhere/" not in first_visit(csrf_app).get_data(as_text=True)


@pytest.mark.parametrize("tokens", ["kept", "down"])
def test_a_link_to_an_article_hidden_since_reads_as_plain_text_at_once(make_app, library, kb_edit, tokens):
    """The page of an article that links to another changes with the other's visibility, with version
    tokens or without (the database is read then)."""
    app = make_app(**({"REDIS_URL": "redis://127.0.0.1:9/0"} if tokens == "down" else {}))  # nothing listens there
    reader = app.test_client(use_cookies=False)
    kb_edit("farajaland", services.save_article, None, "office-help", "en", draft("Office help", "See [the reset steps](password-reset)."))
    assert '<a href="password-reset"' in reader.get("/farajaland/kb/articles/office-help", headers=EN).get_data(as_text=True)
    kb_edit("farajaland", services.set_hidden, None, "password-reset", True)
    assert "See the reset steps." in reader.get("/farajaland/kb/articles/office-help", headers=EN).get_data(as_text=True)
    kb_edit("farajaland", services.set_hidden, None, "password-reset", False)
    assert '<a href="password-reset"' in reader.get("/farajaland/kb/articles/office-help", headers=EN).get_data(as_text=True)
