"""Tenant admins manage members and roles; API tokens from the CLI; the users CLI."""
import re

from portal.auth.permissions import Role
from portal.core.mail import sent_mail
from tests.conftest import PASSWORD, unused_port


def test_tenant_admin_adds_a_member_who_is_invited_by_email(app, client, auth, make_user):
    auth.login(make_user(tenant="farajaland", role=Role.TENANT_ADMIN))
    response = client.post("/farajaland/members", data={"email": "new.agent@example.org", "name": "New Agent", "role": "l1_agent", "office": "Ibombo District Office"})
    assert response.status_code == 302
    page = client.get("/farajaland/members").get_data(as_text=True)
    assert "new.agent@example.org" in page and "Ibombo District Office" in page
    with app.app_context():
        invite = sent_mail()[-1]
    assert invite["To"] == "new.agent@example.org"
    assert "/farajaland/password/reset/" in invite.get_content()


def test_tenant_admin_changes_a_role_and_suspends_a_member(client, auth, make_user):
    auth.login(make_user(tenant="farajaland", role=Role.TENANT_ADMIN))
    agent = make_user(tenant="farajaland", role=Role.L1_AGENT)
    page = client.get("/farajaland/members").get_data(as_text=True)
    import re

    member_id = re.search(rf"{re.escape(agent)}</td>.*?/farajaland/members/(\d+)", page, re.S).group(1)
    client.post(f"/farajaland/members/{member_id}", data={f"m{member_id}-role": "l2_technician"})
    page = client.get("/farajaland/members").get_data(as_text=True)
    assert re.search(rf'{re.escape(agent)}</td>.*?<option selected value="l2_technician">', page, re.S)


def test_a_large_country_s_members_come_in_pages_found_by_name_or_role_in_a_fixed_number_of_queries(app, client, auth, make_user):
    from sqlalchemy import event

    from portal.auth import services
    from portal.core.db import db

    auth.login(make_user(tenant="farajaland", role=Role.TENANT_ADMIN, name="Ada Admin"))
    for n in range(services.MEMBERS_PER_PAGE + 5):
        make_user(f"agent{n:03}@farajaland.example", role=Role.L1_AGENT if n % 2 else Role.REQUESTER, name=f"Agent {n:03}")
    statements = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    first = client.get("/farajaland/members").get_data(as_text=True)
    first_count = len(statements)
    assert "56 members" in first and "agent000@" in first and "agent054@" not in first
    assert 'href="/farajaland/members?page=2"' in first
    second = client.get("/farajaland/members?page=2").get_data(as_text=True)
    assert "agent054@" in second and "agent000@" not in second and "Previous page" in second
    statements.clear()
    found = client.get("/farajaland/members?q=AGENT 01&role=l1_agent").get_data(as_text=True)
    assert sorted(set(re.findall(r"agent01\d@", found))) == ["agent011@", "agent013@", "agent015@", "agent017@", "agent019@"]
    assert "5 members" in found
    assert len(statements) <= first_count  # not one query per member
    # A change made on a page of results comes back to that page.
    member_id = re.search(r"agent011@.*?/farajaland/members/(\d+)\?q=AGENT\+01&amp;role=l1_agent", found, re.S).group(1)
    response = client.post(f"/farajaland/members/{member_id}?q=AGENT+01&role=l1_agent", data={f"m{member_id}-role": "l2_technician"})
    assert response.headers["Location"] == "/farajaland/members?q=AGENT+01&role=l1_agent"
    assert "No member matches." in client.get("/farajaland/members?q=nobody-at-all").get_data(as_text=True)


def test_admin_cannot_demote_themselves(client, auth, make_user):
    admin = make_user(tenant="farajaland", role=Role.TENANT_ADMIN)
    auth.login(admin)
    import re

    page = client.get("/farajaland/members").get_data(as_text=True)
    member_id = re.search(rf"{re.escape(admin)}</td>.*?/farajaland/members/(\d+)", page, re.S).group(1)
    response = client.post(f"/farajaland/members/{member_id}", data={f"m{member_id}-role": "requester"}, follow_redirects=True)
    assert "cannot remove your own administrator rights" in response.get_data(as_text=True)


def test_members_page_is_for_admins_only(client, auth, make_user):
    assert client.get("/farajaland/members").status_code == 302  # to sign-in
    auth.login(make_user(tenant="farajaland", role=Role.L1_AGENT))
    assert client.get("/farajaland/members").status_code == 403


def test_admin_of_one_tenant_is_not_admin_of_another(client, auth, make_user):
    auth.login(make_user(tenant="farajaland", role=Role.TENANT_ADMIN))
    assert client.get("/kalondo/members").status_code == 403


def test_users_cli_and_api_token(runner, client):
    created = runner.invoke(args=["users", "create", "--email", "cli@example.org", "--password", "long-password", "--tenant", "kalondo", "--role", "l1_agent"])
    assert created.exit_code == 0, created.output
    token = runner.invoke(args=["users", "token", "--email", "cli@example.org"]).output.strip()
    assert token.startswith("crvs_")
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.get_json()["memberships"] == [{"tenant": "kalondo", "role": "l1_agent", "active": True}]
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer crvs_wrong"}).status_code == 401


def _token_form_key(client) -> str:
    page = client.get("/farajaland/profile").get_data(as_text=True)
    return re.search(r'name="token-once" type="hidden" value="([^"]+)"', page).group(1)


def test_reloading_the_page_that_shows_a_new_token_makes_no_second_one(client, auth, make_user):
    auth.login(make_user(role=Role.L1_AGENT))
    sent = {"token-name": "monitoring", "token-once": _token_form_key(client)}
    assert client.post("/farajaland/profile/tokens", data=sent).status_code == 200
    again = client.post("/farajaland/profile/tokens", data=sent, follow_redirects=True)  # the browser's "resend the form?"
    page = again.get_data(as_text=True)
    assert "This token was made already and shown once." in page and '<code class="token">' not in page
    assert page.count("monitoring</td>") == 1
    assert client.post("/farajaland/profile/tokens", data={"token-name": "another", "token-once": _token_form_key(client)}).status_code == 200


def test_a_user_makes_lists_and_revokes_their_own_api_tokens_on_the_profile_page(client, auth, make_user):
    admin, other = make_user(role=Role.TENANT_ADMIN), make_user(role=Role.L1_AGENT)
    auth.login(admin)
    once = _token_form_key(client)
    assert client.post("/farajaland/profile/tokens", data={"token-name": "", "token-once": once}).status_code == 400  # say what it is for
    made = client.post("/farajaland/profile/tokens", data={"token-name": "deployment script", "token-once": once})
    page = made.get_data(as_text=True)
    assert made.status_code == 200 and made.headers["Cache-Control"] == "no-store"
    token = re.search(r'<code class="token">(crvs_[^<]+)</code>', page).group(1)
    assert "Copy this token now" in page and "deployment script" in page
    assert "“Authorization: Bearer &lt;token&gt;”" in page  # written out, not taken for a tag
    assert token not in client.get("/farajaland/profile").get_data(as_text=True)  # shown once
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    listed = client.get("/farajaland/profile").get_data(as_text=True)
    assert "never" not in listed.split("deployment script")[1].split("</tr>")[0]  # its last use is shown
    revoke = re.search(r'action="(/farajaland/profile/tokens/\d+/revoke)"', listed).group(1)
    auth.logout()
    auth.login(other)
    assert client.post(revoke).status_code == 404  # nobody revokes another's token
    auth.logout()
    auth.login(admin)
    assert client.post(revoke, follow_redirects=True).status_code == 200
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert "You have no API token." in client.get("/farajaland/profile").get_data(as_text=True)
    assert client.post(revoke).status_code == 404


def test_users_cli_reports_bad_input_in_one_line(runner):
    out = runner.invoke(args=["users", "create", "--email", "x@example.org", "--password", "short", "--global-role", "l3_expert"])
    assert out.exit_code == 1
    assert out.output.strip() == "Error: The password must be at least 8 characters long."
    missing = runner.invoke(args=["users", "create", "--email", "x@example.org", "--password", "long-enough", "--tenant", "atlantis", "--role", "l1_agent"])
    assert missing.exit_code == 1 and "no tenant 'atlantis'" in missing.output
    assert runner.invoke(args=["users", "token", "--email", "nobody@example.org"]).exit_code == 1


def test_system_mail_waits_in_the_queue_while_the_mail_server_is_down(make_app, make_user):
    # Password resets and invitations never wait for the mail server in the request, and are not lost
    # when it is down: the outbox workers send them, retrying, once it is back.
    from aiosmtpd.controller import Controller
    from sqlalchemy import select, update

    from portal.channels.services import work_once
    from portal.core.db import db, utcnow
    from portal.core.mail import QueuedMail
    from tests.channels.conftest import RecordingHandler
    from tests.conftest import PASSWORD

    port = unused_port()
    app = make_app(MAIL_SUPPRESS_SEND=False, MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    client = app.test_client()
    admin = make_user(tenant="farajaland", role=Role.TENANT_ADMIN)
    response = client.post("/farajaland/password/forgot", data={"email": admin}, follow_redirects=True)
    assert response.status_code == 200 and "If an account uses this address" in response.get_data(as_text=True)
    client.post("/login", data={"email": admin, "password": PASSWORD})
    response = client.post("/farajaland/members", data={"email": "late.agent@example.org", "role": "l1_agent"},
                           follow_redirects=True)
    assert response.status_code == 200 and "late.agent@example.org is now a member." in response.get_data(as_text=True)
    recipients = [admin, "late.agent@example.org"]

    def queued():
        return db.session.scalars(select(QueuedMail).where(QueuedMail.recipient.in_(recipients)).order_by(QueuedMail.id)).all()

    with app.app_context():
        work_once()  # the server is down: each message is tried once, and waits for its next turn
        rows = queued()
        assert [row.recipient for row in rows] == recipients
        assert all(row.status == "pending" and row.attempts == 1 and "Connection" in row.last_error for row in rows)
        assert all(row.next_attempt_at > utcnow() for row in rows)
    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()  # the mail server is back
    try:
        with app.app_context():
            db.session.execute(update(QueuedMail).values(next_attempt_at=utcnow()))  # their turn has come
            db.session.commit()
            assert work_once().get("sent") == 2
            assert not work_once().get("sent")  # never twice
            assert [(row.status, row.message) for row in queued()] == [("sent", ""), ("sent", "")]  # no live link kept
    finally:
        controller.stop()
    assert sorted(rcpt for envelope in handler.messages for rcpt in envelope.rcpt_tos) == sorted(recipients)
    reset = next(e for e in handler.messages if e.rcpt_tos == [admin]).content.decode()
    assert "/farajaland/password/reset/" in reset


def test_a_password_link_not_sent_in_time_is_dropped_and_an_unexpected_error_is_retried(make_app, make_user, monkeypatch):
    from sqlalchemy import select, update

    from portal.channels.services import work_once
    from portal.core import mail
    from portal.core.db import db, utcnow

    app = make_app(MAIL_SUPPRESS_SEND=False, MAIL_SERVER="127.0.0.1", MAIL_PORT=unused_port())
    client = app.test_client()
    first, second = make_user(), make_user()
    for address in (first, second):
        client.post("/password/forgot", data={"email": address})

    def row(address):
        return db.session.scalars(select(mail.QueuedMail).where(mail.QueuedMail.recipient == address)).one()

    with app.app_context():
        db.session.execute(update(mail.QueuedMail).where(mail.QueuedMail.recipient == first)
                           .values(expires_at=utcnow()))  # its link has stopped working
        db.session.commit()

        def broken(message):
            raise UnicodeEncodeError("ascii", "é", 0, 1, "a password the server cannot take")

        monkeypatch.setattr(mail, "send_prepared", broken)
        work_once()  # neither crashes the worker
        expired, retried = row(first), row(second)
        assert (expired.status, expired.message, expired.attempts) == ("expired", "", 1)
        assert retried.status == "pending" and "UnicodeEncodeError" in retried.last_error and retried.message


def test_an_operator_sees_system_mail_that_could_not_be_sent(make_app, make_user):
    # System mail belongs to no country: `flask outbox status` is where a failing mail server shows.
    from sqlalchemy import update

    from portal.channels.services import work_once
    from portal.core import queue
    from portal.core.db import db
    from portal.core.mail import QueuedMail

    app = make_app(MAIL_SUPPRESS_SEND=False, MAIL_SERVER="127.0.0.1", MAIL_PORT=unused_port())
    address = make_user()
    app.test_client().post("/password/forgot", data={"email": address})
    with app.app_context():
        db.session.execute(update(QueuedMail).values(attempts=queue.MAX_ATTEMPTS - 1))  # its last try is due
        db.session.commit()
        work_once()
    result = app.test_cli_runner().invoke(args=["outbox", "status"])
    assert result.exit_code == 0, result.output
    assert "system mail: failed 1" in result.output
    line = next(line for line in result.output.splitlines() if address in line)
    assert f"system mail  to {address}: failed after {queue.MAX_ATTEMPTS} attempts: " in line and "Connection" in line


def _member_row(page: str, email: str) -> str:
    """The members page's row of `email`, from its address to the end of the row."""
    return page.split(f"<td>{email}</td>", 1)[1].split("</tr>", 1)[0]


def test_adding_someone_who_is_already_a_member_is_refused_and_changes_nothing(app, client, auth, make_user):
    # The form adds people; a member's role and status change only in the list, where an admin cannot
    # demote or suspend themselves.
    admin = make_user(tenant="farajaland", role=Role.TENANT_ADMIN)
    auth.login(admin)
    refused = client.post("/farajaland/members", data={"email": admin, "role": "requester"})
    assert refused.status_code == 400
    assert f"{admin} is already a member: change their role in the list below." in refused.get_data(as_text=True)
    page = client.get("/farajaland/members")
    assert page.status_code == 200  # still their administrator
    assert '<option selected value="tenant_admin">' in _member_row(page.get_data(as_text=True), admin)

    agent = make_user(tenant="farajaland", role=Role.L1_AGENT)
    page = client.get("/farajaland/members").get_data(as_text=True)
    member_id = re.search(rf"{re.escape(agent)}</td>.*?/farajaland/members/(\d+)", page, re.S).group(1)
    client.post(f"/farajaland/members/{member_id}", data={f"m{member_id}-role": "l1_agent"})  # "Active" unticked
    with app.app_context():
        mails_before = len(sent_mail())
    refused = client.post("/farajaland/members", data={"email": agent.upper(), "role": "requester", "job_title": "Clerk"})
    assert refused.status_code == 400 and "already a member" in refused.get_data(as_text=True)
    row = _member_row(client.get("/farajaland/members").get_data(as_text=True), agent)
    assert '<option selected value="l1_agent">' in row and "checked" not in row and "Clerk" not in row  # still deactivated
    with app.app_context():
        assert len(sent_mail()) == mails_before

    # Someone with an account who is not a member of this country is added, without an invitation.
    elsewhere = make_user(tenant="kalondo", role=Role.L1_AGENT)
    added = client.post("/farajaland/members", data={"email": elsewhere, "role": "requester"}, follow_redirects=True)
    assert f"{elsewhere} is now a member." in added.get_data(as_text=True)
    assert '<option selected value="requester">' in _member_row(added.get_data(as_text=True), elsewhere)
    with app.app_context():
        assert len(sent_mail()) == mails_before


def test_an_invitation_not_used_yet_can_be_sent_again(app, client, auth, make_user):
    admin = make_user(tenant="farajaland", role=Role.TENANT_ADMIN)
    auth.login(admin)
    client.post("/farajaland/members", data={"email": "slow.agent@example.org", "role": "l1_agent"})
    page = client.get("/farajaland/members").get_data(as_text=True)
    assert "Send the invitation again" not in _member_row(page, admin)  # they chose a password long ago
    resend = re.search(r'action="(/farajaland/members/\d+/invitation)"', _member_row(page, "slow.agent@example.org")).group(1)
    with app.app_context():
        before = len(sent_mail())
    response = client.post(resend, follow_redirects=True)
    assert "A new invitation is on its way to slow.agent@example.org." in response.get_data(as_text=True)
    with app.app_context():
        [again] = sent_mail()[before:]
    assert again["To"] == "slow.agent@example.org" and again["Subject"] == "You are invited to the Farajaland support portal"
    link = re.search(r"https?://\S+(/farajaland/password/reset/\S+)", again.get_content()).group(1)

    # Once the invitee has chosen a password, there is nothing to send again.
    app.test_client().post(link, data={"password": "a-long-new-password", "confirm": "a-long-new-password"})
    page = client.get("/farajaland/members").get_data(as_text=True)
    assert "Send the invitation again" not in page
    with app.app_context():
        before = len(sent_mail())
    refused = client.post(resend, follow_redirects=True)
    assert "There is no invitation to send to slow.agent@example.org: they have chosen a password already" in refused.get_data(as_text=True)
    with app.app_context():
        assert len(sent_mail()) == before
    auth.logout()
    auth.login(make_user(tenant="kalondo", role=Role.TENANT_ADMIN), tenant="kalondo")
    assert client.post(resend.replace("/farajaland/", "/kalondo/")).status_code == 404  # another country's member


def test_invitations_sent_again_to_one_address_are_limited(make_app, make_user):
    app = make_app(RATELIMIT_ENABLED=True)
    client = app.test_client()
    client.post("/farajaland/login", data={"email": make_user(tenant="farajaland", role=Role.TENANT_ADMIN), "password": PASSWORD})
    client.post("/farajaland/members", data={"email": "slow.agent@example.org", "role": "l1_agent"})
    page = client.get("/farajaland/members").get_data(as_text=True)
    resend = re.search(r'action="(/farajaland/members/\d+/invitation)"', _member_row(page, "slow.agent@example.org")).group(1)
    for _ in range(3):
        assert client.post(resend).status_code == 302
    refused = client.post(resend)
    assert refused.status_code == 429
    assert "slow.agent@example.org was sent several invitations in the last hour." in refused.get_data(as_text=True)
    with app.app_context():
        assert len([m for m in sent_mail() if m["To"] == "slow.agent@example.org"]) == 4  # the first one, and three again
