"""Signing in and out, lockout after repeated failures, rate limits, CSRF, cookies, password reset."""
import re
import threading

from portal.auth.permissions import Role
from portal.core.mail import sent_mail
from tests.conftest import PASSWORD


def test_sign_in_and_out(client, make_user):
    email = make_user(name="Amina")
    response = client.post("/farajaland/login", data={"email": email.upper(), "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/farajaland/"
    assert "Amina" in client.get("/farajaland/profile").get_data(as_text=True)
    signed_out = client.post("/farajaland/logout")
    assert signed_out.headers["Clear-Site-Data"] == '"storage"'  # the drafts kept on a shared phone go too
    assert client.get("/farajaland/profile").status_code == 302


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(client, make_user):
    email = make_user()
    wrong = client.post("/farajaland/login", data={"email": email, "password": "nope-nope-nope"})
    unknown = client.post("/farajaland/login", data={"email": "ghost@example.org", "password": "nope-nope-nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert "Incorrect email or password." in wrong.get_data(as_text=True)
    assert "Incorrect email or password." in unknown.get_data(as_text=True)


def test_account_locks_after_repeated_failures_even_with_the_right_password(client, make_user):
    email = make_user()
    for _ in range(5):
        response = client.post("/farajaland/login", data={"email": email, "password": "wrong-password"})
    assert response.status_code == 429
    assert "locked for 15 minutes" in response.get_data(as_text=True)
    right = client.post("/farajaland/login", data={"email": email, "password": PASSWORD})
    assert right.status_code == 429
    assert client.get("/farajaland/profile").status_code == 302


def test_a_burst_of_guesses_sent_at_once_gets_no_more_than_the_limit_checked(app, make_user, monkeypatch):
    """Twelve wrong passwords sent at the same moment (several app servers): each attempt is counted
    in one statement before its password is checked, so five are checked and the account locks."""
    from portal.auth import services

    email = make_user()
    checked = []

    class Counting:  # the hasher, counting the passwords it checks
        def __getattr__(self, name):
            return getattr(hasher, name)

        def verify(self, hash_, password):
            checked.append(password)
            return hasher.verify(hash_, password)

    hasher = services._hasher
    monkeypatch.setattr(services, "_hasher", Counting())
    start = threading.Barrier(12)
    answers = []

    def guess(n):
        client = app.test_client()
        start.wait()
        answers.append(client.post("/farajaland/login", data={"email": email, "password": f"guess-{n}"}).status_code)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len([p for p in checked if p.startswith("guess-")]) <= 5
    assert sorted(answers) == [401] * 4 + [429] * 8
    assert app.test_client().post("/farajaland/login", data={"email": email, "password": PASSWORD}).status_code == 429


def test_deactivated_account_cannot_sign_in(client, make_user):
    email = make_user(is_active_account=False)
    response = client.post("/farajaland/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 401
    assert "deactivated" in response.get_data(as_text=True)


def test_login_is_rate_limited_per_client(make_app, make_user):
    app = make_app(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    codes = [client.post("/login", data={"email": "x@example.org", "password": "whatever1"}).status_code for _ in range(4)]
    assert codes[:3] == [401, 401, 401]
    assert codes[3] == 429


def test_forms_need_a_csrf_token(make_app, make_user):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    email = make_user()
    refused = client.post("/farajaland/login", data={"email": email, "password": PASSWORD})
    assert refused.status_code == 400
    assert "form expired" in refused.get_data(as_text=True)
    page = client.get("/farajaland/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    accepted = client.post("/farajaland/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert accepted.status_code == 302


def test_session_cookie_is_httponly_samesite_and_secure_under_https(client, make_user):
    email = make_user()
    response = client.post("/farajaland/login", data={"email": email, "password": PASSWORD}, base_url="https://localhost")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    plain = client.post("/farajaland/login", data={"email": email, "password": PASSWORD})
    assert "Secure" not in plain.headers.get("Set-Cookie", "")


def test_open_redirects_are_refused_after_login(client, make_user):
    email = make_user()
    response = client.post("/login", data={"email": email, "password": PASSWORD, "next": "https://evil.example/x"})
    assert response.headers["Location"] == "/"


def test_password_reset_by_emailed_expiring_token(app, client, make_user):
    email = make_user()
    response = client.post("/farajaland/password/forgot", data={"email": email})
    assert response.status_code == 302
    with app.app_context():
        message = sent_mail()[-1]
    assert message["To"] == email
    link = re.search(r"http://localhost(/farajaland/password/reset/\S+)", message.get_content()).group(1)
    assert client.get(link).status_code == 200
    done = client.post(link, data={"password": "a-brand-new-pass", "confirm": "a-brand-new-pass"})
    assert done.status_code == 302
    # The link works once only, and the new password is the one that opens the account.
    assert client.post(link, data={"password": "another-pass-123", "confirm": "another-pass-123"}).headers["Location"].endswith("/password/forgot")
    assert client.post("/login", data={"email": email, "password": "a-brand-new-pass"}).status_code == 302


def test_a_password_reset_revokes_the_api_tokens_made_with_the_old_password(app, client, make_user):
    email = make_user()
    with app.app_context():
        from portal.auth import services
        from portal.core.db import db

        token = services.issue_api_token(services.get_user_by_email(email), "script")
        db.session.commit()
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    client.post("/farajaland/password/forgot", data={"email": email})
    with app.app_context():
        link = re.search(r"http://localhost(/farajaland/password/reset/\S+)", sent_mail()[-1].get_content()).group(1)
    done = client.post(link, data={"password": "a-brand-new-pass", "confirm": "a-brand-new-pass"}, follow_redirects=True)
    assert "Your API token was revoked with the old password" in done.get_data(as_text=True)
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_reset_mails_to_one_address_are_limited_whoever_asks(make_app, make_user):
    app = make_app(RATELIMIT_ENABLED=True)
    email = make_user()
    for number in range(6):  # from six different clients: the per-client limit never applies
        client = app.test_client()
        response = client.post("/password/forgot", data={"email": email}, environ_base={"REMOTE_ADDR": f"10.0.0.{number}"})
        assert response.status_code == 302  # the same answer every time: nothing tells whether a mail left
    with app.app_context():
        assert len([m for m in sent_mail() if m["To"] == email]) == 3


def test_password_reset_does_not_reveal_unknown_addresses(app, client):
    response = client.post("/password/forgot", data={"email": "nobody@example.org"}, follow_redirects=True)
    assert "If an account uses this address" in response.get_data(as_text=True)
    with app.app_context():
        assert sent_mail() == []


def test_expired_reset_token_is_refused(make_app, make_user):
    app = make_app(PASSWORD_RESET_MAX_AGE=-1)
    client = app.test_client()
    email = make_user()
    client.post("/password/forgot", data={"email": email})
    with app.app_context():
        link = re.search(r"http://localhost(/password/reset/\S+)", sent_mail()[-1].get_content()).group(1)
    assert client.get(link).status_code == 302


def test_bad_input_on_login_is_a_clear_400(client):
    response = client.post("/farajaland/login", data={"email": "not an email", "password": ""})
    assert response.status_code == 400
    assert "Invalid email address." in response.get_data(as_text=True)


def test_the_central_team_signing_in_outside_a_country_lands_on_its_console(client, make_user):
    from portal.auth.permissions import GlobalRole

    expert = make_user(global_role=GlobalRole.L3_EXPERT)
    response = client.post("/login", data={"email": expert, "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/expert/"
    client.post("/logout")
    requester = make_user()
    response = client.post("/login", data={"email": requester, "password": PASSWORD})
    assert response.headers["Location"] == "/"  # others choose their country there


def test_guesses_from_elsewhere_lock_the_account_but_not_the_owners_own_browser(app, make_user):
    """Anyone can type wrong passwords under a registrar's address; that must not keep the registrar
    out of the browser they always sign in from."""
    email = make_user()
    owner = app.test_client()
    assert owner.post("/farajaland/login", data={"email": email, "password": PASSWORD}).status_code == 302
    owner.post("/farajaland/logout")

    stranger = app.test_client()
    for _ in range(5):
        locked = stranger.post("/farajaland/login", data={"email": email, "password": "a-guess-123"})
    assert locked.status_code == 429
    assert stranger.post("/farajaland/login", data={"email": email, "password": PASSWORD}).status_code == 429

    wrong = owner.post("/farajaland/login", data={"email": email, "password": "typo-in-it"})
    assert wrong.status_code == 401 and "Incorrect email or password." in wrong.get_data(as_text=True)
    assert owner.post("/farajaland/login", data={"email": email, "password": PASSWORD}).status_code == 302
    assert owner.get("/farajaland/profile").status_code == 200


def test_a_forged_known_browser_cookie_is_ignored(app, make_user):
    email = make_user()
    stranger = app.test_client()
    stranger.set_cookie("known_accounts", "[1,2,3,4,5]")
    for _ in range(5):
        stranger.post("/farajaland/login", data={"email": email, "password": "a-guess-123"})
    assert stranger.post("/farajaland/login", data={"email": email, "password": PASSWORD}).status_code == 429


def test_an_address_without_an_account_locks_like_one_with_an_account(make_app, make_user):
    """Otherwise "locked" would say which addresses have an account."""
    app = make_app(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="100 per minute")
    client = app.test_client()
    real, ghost = make_user(), "ghost-address@example.org"
    for email in (real, ghost):
        answers = [client.post("/farajaland/login", data={"email": email, "password": "a-guess-123"}) for _ in range(5)]
        assert [a.status_code for a in answers] == [401, 401, 401, 401, 429], email
        assert "locked for 15 minutes" in answers[-1].get_data(as_text=True)
