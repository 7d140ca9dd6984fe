"""Security headers on every kind of response, and cookies scripts cannot read or send cross-site."""
import pytest

from tests.conftest import PASSWORD

PAGES = ["/", "/farajaland/", "/farajaland/login", "/farajaland/no/such/page", "/api/v1/me", "/static/css/portal.css"]


def directives(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: " ".join(part.split()[1:]) for part in policy.split(";") if part.strip()}


@pytest.mark.parametrize("path", PAGES)
def test_every_response_carries_the_security_headers(client, path):
    with client.get(path) as response:
        csp = directives(response)
        assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
        assert "unsafe-eval" not in response.headers["Content-Security-Policy"]
        assert csp["default-src"] == "'self'" and csp["script-src"] == "'self'" and csp["style-src"] == "'self'"
        assert csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/farajaland/").headers
    secure = client.get("/farajaland/", base_url="https://localhost")
    hsts = secure.headers["Strict-Transport-Security"]
    assert "max-age=31536000" in hsts and "includeSubDomains" in hsts


def _cookies(response) -> dict[str, str]:
    return {value.split("=", 1)[0]: value for value in response.headers.getlist("Set-Cookie")}


def test_session_cookie_is_httponly_and_samesite(client, make_user):
    email = make_user()
    response = client.post("/farajaland/login", data={"email": email, "password": PASSWORD})
    cookie = _cookies(response)["session"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain HTTP in development would otherwise lose the session


def test_cookies_are_secure_under_https(client, make_user):
    email = make_user()
    response = client.post("/farajaland/login", data={"email": email, "password": PASSWORD}, base_url="https://localhost")
    cookie = _cookies(response)["session"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    lang = _cookies(client.post("/farajaland/language", data={"lang": "fr"}, base_url="https://localhost"))["lang"]
    assert "Secure" in lang and "HttpOnly" in lang and "SameSite=Lax" in lang


def test_language_cookie_is_httponly_and_samesite(client):
    cookie = _cookies(client.post("/farajaland/language", data={"lang": "fr"}))["lang"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_pages_for_signed_in_users_are_not_stored_by_caches(client, make_user, auth):
    auth.login(make_user())
    assert client.get("/farajaland/profile").headers["Cache-Control"] == "no-store"


def test_remember_me_cookie_is_httponly_and_samesite(client, make_user):
    email = make_user()
    response = client.post("/farajaland/login", data={"email": email, "password": PASSWORD, "remember": "y"})
    cookie = _cookies(response)["remember_token"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


# -- rate limits on what anyone may call -----------------------------------------------------------

PUBLIC_CALLS = [
    ("get", "/farajaland/kb/search?q=birth"),
    ("get", "/farajaland/api/v1/kb/search?q=birth"),
    ("post", "/farajaland/kb/articles/any-article/feedback"),
    ("get", "/farajaland/kb/handbook.pdf"),
    ("get", "/farajaland/tickets/FAR-1/rate/not-a-token"),
]


@pytest.mark.parametrize(("method", "url"), PUBLIC_CALLS)
def test_public_endpoints_that_cost_work_are_rate_limited_per_client(make_app, method, url):
    app = make_app(RATELIMIT_ENABLED=True, PUBLIC_RATE_LIMIT="1 per minute")
    client = app.test_client()
    first = getattr(client, method)(url, headers={"Accept-Language": "fr"})
    assert first.status_code != 429
    refused = getattr(client, method)(url, headers={"Accept-Language": "fr"})
    assert refused.status_code == 429
    if "/api/" in url:
        assert refused.is_json and refused.get_json()["error"]
    else:
        assert "Trop de requêtes" in refused.get_data(as_text=True)
    # Another client is counted apart.
    other = getattr(client, method)(url, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code != 429


def test_reading_pages_is_not_rate_limited(make_app):
    app = make_app(RATELIMIT_ENABLED=True, PUBLIC_RATE_LIMIT="1 per minute")
    client = app.test_client()
    assert {client.get("/farajaland/kb/").status_code for _ in range(5)} == {200}


def test_a_page_that_hands_a_new_reader_a_session_cookie_is_never_stored_by_a_cache(make_app):
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    response = client.get("/farajaland/login")  # a form: a CSRF token, so a new session cookie
    assert "session=" in response.headers.get("Set-Cookie", "")
    assert response.headers["Cache-Control"] == "no-store"


def test_trusted_hosts_turn_away_a_forged_host(make_app):
    app = make_app(TRUSTED_HOSTS=["support.example.org"])
    client = app.test_client()
    assert client.get("/farajaland/", base_url="https://support.example.org").status_code == 200
    forged = client.get("/farajaland/", base_url="https://attacker.example")
    assert forged.status_code == 400 and b"Traceback" not in forged.data
    assert client.get("/farajaland/kb/", base_url="https://attacker.example").status_code == 400
