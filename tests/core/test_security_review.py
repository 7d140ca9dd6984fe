"""Findings of a security review, each kept as a story: sessions that start anew at sign-in and end
with the password, cookies that stay on HTTPS, a public form that is rate-limited, subjects that
cannot carry a mail header."""
import re

from sqlalchemy import select

from portal.auth.permissions import Role
from portal.core.db import SYSTEM, across_tenants, db
from portal.core.mail import sent_mail
from portal.tickets.models import Ticket
from tests.conftest import PASSWORD


def _reset_link(app, client, email: str) -> str:
    client.post("/farajaland/password/forgot", data={"email": email})
    with app.app_context():
        return re.search(r"http://localhost(/farajaland/password/reset/\S+)", sent_mail()[-1].get_content()).group(1)


# -- sessions ------------------------------------------------------------------------------------


def test_signing_in_starts_a_new_session(make_app, make_user):
    """What was in the session before sign-in (a CSRF token someone planted, say) does not carry over."""
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    email = make_user()
    page = client.get("/farajaland/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    assert client.post("/farajaland/login", data={"email": email, "password": PASSWORD, "csrf_token": token}).status_code == 302
    with client.session_transaction() as session:
        assert "_user_id" in session
        assert "planted" not in session
        assert session.get("csrf_token") != token


def test_signing_out_forgets_the_session(client, make_user, auth):
    auth.login(make_user())
    with client.session_transaction() as session:
        session["planted"] = "left behind"
    auth.logout()
    with client.session_transaction() as session:
        assert "planted" not in session and "_user_id" not in session


def test_a_new_password_ends_other_sessions_and_remember_me_cookies(app, make_user):
    email = make_user()
    elsewhere = app.test_client()  # a stolen session, or a forgotten shared computer
    elsewhere.post("/farajaland/login", data={"email": email, "password": PASSWORD, "remember": "y"})
    remembered = elsewhere.get_cookie("remember_token").value
    assert elsewhere.get("/farajaland/profile").status_code == 200

    owner = app.test_client()
    link = _reset_link(app, owner, email)
    assert owner.post(link, data={"password": "a-brand-new-pass", "confirm": "a-brand-new-pass"}).status_code == 302

    assert elsewhere.get("/farajaland/profile").status_code == 302
    only_cookie = app.test_client()
    only_cookie.set_cookie("remember_token", remembered)
    assert only_cookie.get("/farajaland/profile").status_code == 302


def test_signing_out_ends_the_sign_in_wherever_its_cookies_were_copied(app, make_user):
    email = make_user()
    browser = app.test_client()  # a shared computer: someone copies its cookies before the owner signs out
    browser.post("/farajaland/login", data={"email": email, "password": PASSWORD, "remember": "y"})
    session_cookie = browser.get_cookie("session").value
    remembered = browser.get_cookie("remember_token").value
    assert browser.get("/farajaland/profile").status_code == 200
    browser.post("/farajaland/logout")

    for name, value in (("session", session_cookie), ("remember_token", remembered)):
        copy = app.test_client()
        copy.set_cookie(name, value)
        assert copy.get("/farajaland/profile").status_code == 302, name


def test_signing_out_one_device_leaves_the_others_signed_in_until_asked(app, client, make_user, auth):
    email = make_user()
    phone = app.test_client()
    phone.post("/farajaland/login", data={"email": email, "password": PASSWORD})
    auth.login(email)
    page = client.get("/farajaland/profile").get_data(as_text=True)
    assert "also signed in on 1 other browser or phone" in page

    other = app.test_client()
    other.post("/farajaland/login", data={"email": email, "password": PASSWORD})
    other.post("/farajaland/logout")
    assert phone.get("/farajaland/profile").status_code == 200  # one sign-out ends that sign-in only

    response = client.post("/farajaland/profile/sign-ins/end", follow_redirects=True)
    assert "You are signed out on 1 other device." in response.get_data(as_text=True)
    assert "You are signed in here only." in response.get_data(as_text=True)
    assert phone.get("/farajaland/profile").status_code == 302
    assert client.get("/farajaland/profile").status_code == 200


def test_a_cookie_from_before_sign_ins_were_recorded_signs_nobody_in(app, make_user):
    from portal.auth.services import get_user_by_email

    email = make_user()
    with app.app_context():
        user = get_user_by_email(email)
        old_id = f"{user.id}.{user.session_stamp}"  # what cookies carried before: no sign-in key
    old = app.test_client()
    with old.session_transaction() as session:
        session["_user_id"] = old_id
        session["_fresh"] = True
    assert old.get("/farajaland/profile").status_code == 302


def test_changing_ones_own_password_keeps_one_signed_in_and_signs_out_the_others(app, client, make_user, auth):
    email = make_user()
    elsewhere = app.test_client()
    elsewhere.post("/farajaland/login", data={"email": email, "password": PASSWORD})
    auth.login(email)
    response = client.post("/farajaland/profile", data={
        "pw-current": PASSWORD, "pw-password": "a-brand-new-pass", "pw-confirm": "a-brand-new-pass", "pw-submit": "y"})
    assert response.status_code == 302
    assert client.get("/farajaland/profile").status_code == 200
    assert elsewhere.get("/farajaland/profile").status_code == 302


def test_remember_me_cookie_is_secure_under_https_even_without_the_https_setting(client, make_user):
    response = client.post("/farajaland/login", data={"email": make_user(), "password": PASSWORD, "remember": "y"},
                           base_url="https://localhost")
    cookies = {value.split("=", 1)[0]: value for value in response.headers.getlist("Set-Cookie")}
    assert "Secure" in cookies["remember_token"] and "HttpOnly" in cookies["remember_token"]
    assert "Secure" in cookies["session"]
    plain = client.post("/farajaland/login", data={"email": make_user(), "password": PASSWORD, "remember": "y"})
    assert all("Secure" not in value for value in plain.headers.getlist("Set-Cookie"))  # plain HTTP in development


# -- rate limits ---------------------------------------------------------------------------------


def test_handing_a_conversation_to_the_desk_is_rate_limited_per_client(make_app):
    """Anyone may hand a conversation over, and it opens a ticket: limited as the other public forms."""
    client = make_app(RATELIMIT_ENABLED=True, PUBLIC_RATE_LIMIT="1 per minute").test_client()
    assert client.post("/farajaland/assistant/handover", data={"handover-email": "a@example.org"}).status_code != 429
    assert client.post("/farajaland/assistant/handover", data={"handover-email": "a@example.org"}).status_code == 429
    other = client.post("/farajaland/assistant/handover", data={"handover-email": "a@example.org"},
                        environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code != 429


# -- mail headers --------------------------------------------------------------------------------


def test_a_subject_with_line_breaks_is_kept_on_one_line(app, client, auth, make_user, runner):
    """A ticket's subject goes into the Subject header of the replies: a line break there would add
    a header (or stop every mail about the ticket), so it is kept as one line."""
    requester = make_user(role=Role.REQUESTER)
    auth.login(requester)
    response = client.post("/farajaland/tickets/new", data={"subject": "Help\r\nBcc: victim@example.org\u2028now", "body": "Please."})
    assert response.status_code == 302
    reference = response.headers["Location"].rsplit("/", 1)[-1]
    token = runner.invoke(args=["users", "token", "--email", requester]).output.strip()
    by_api = client.post("/farajaland/api/v1/tickets", json={"subject": "Other\nTo: victim@example.org", "body": "Please."},
                         headers={"Authorization": f"Bearer {token}"})
    assert by_api.status_code == 201 and by_api.get_json()["subject"] == "Other To: victim@example.org"
    with app.app_context(), across_tenants(db.session, SYSTEM):
        subject = db.session.scalar(select(Ticket.subject).where(Ticket.reference == reference))
    assert subject == "Help Bcc: victim@example.org now"
