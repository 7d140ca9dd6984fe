"""A requester opens a request on the portal, follows it, replies, closes it and rates it."""
from __future__ import annotations

import datetime as dt
import io
import re

from portal.auth.permissions import GlobalRole, Role
from portal.channels.services import work_once
from portal.core.db import db
from portal.tickets.services import get_ticket_by_reference
from portal.core.mail import sent_mail


def open_request(client, **data):
    form = {"subject": "Verification code never arrives", "category": "access-and-login", "office": "", "body": "No SMS since Monday.", "kb_suggestion_opened": "0"}
    form.update(data)
    return client.post("/farajaland/tickets/new", data=form, content_type="multipart/form-data")


def test_anonymous_visitor_must_sign_in_to_open_a_ticket(client):
    response = client.get("/farajaland/tickets/new")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


REQUEST_LINKS = re.compile(r'href="(/\w+/tickets/(?:new|mine))"')


def request_links(client, path):
    """The addresses of "Send a request" and "My requests" on a page."""
    return REQUEST_LINKS.findall(client.get(path, headers={"Accept-Language": "en"}).get_data(as_text=True))


def test_links_to_requests_are_shown_only_to_whom_they_open(client, auth, make_user, requester):
    assert request_links(client, "/farajaland/") == ["/farajaland/tickets/new"]  # a visitor signs in first
    for email, tenant, path in (
        (requester, "farajaland", "/farajaland/"),
        (make_user(global_role=GlobalRole.L3_EXPERT), None, "/farajaland/"),  # the central team works from /expert/
        (make_user(role=Role.L1_AGENT), "farajaland", "/kalondo/"),  # staff of another country
    ):
        auth.login(email, tenant=tenant)
        for link in request_links(client, path):
            assert client.get(link).status_code == 200, (email, path, link)
        auth.logout(tenant or "farajaland")
    auth.login(make_user(global_role=GlobalRole.L3_EXPERT), tenant=None)
    assert request_links(client, "/farajaland/") == []
    auth.logout()
    auth.login(make_user(role=Role.L1_AGENT), tenant="farajaland")
    kalondo = client.get("/kalondo/").get_data(as_text=True)
    assert "Envoyer une demande" not in kalondo and "/kalondo/tickets/" not in kalondo


def test_requesters_find_my_requests_in_the_navigation_of_every_page(client, auth, requester):
    auth.login(requester)
    for path in ("/farajaland/", "/farajaland/kb/", "/farajaland/tickets/new"):
        nav = client.get(path).get_data(as_text=True).split('<nav class="site-nav"', 1)[1].split("</nav>", 1)[0]
        assert '<a href="/farajaland/tickets/mine">My requests</a>' in nav, path
    auth.logout()
    anonymous_nav = client.get("/farajaland/").get_data(as_text=True).split('<nav class="site-nav"', 1)[1].split("</nav>", 1)[0]
    assert "My requests" not in anonymous_nav


def test_requester_opens_a_ticket_and_sees_it_in_my_requests(client, auth, requester, l1):
    auth.login(requester)
    page = client.get("/farajaland/tickets/new").get_data(as_text=True)
    assert "Access and login" in page and "Ibombo District Office" in page
    response = open_request(client, office="Ibombo District Office")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/farajaland/tickets/FAR-000001")
    detail = client.get("/farajaland/tickets/FAR-000001").get_data(as_text=True)
    assert "Verification code never arrives" in detail and "No SMS since Monday." in detail
    assert "Ibombo District Office" in detail
    mine = client.get("/farajaland/tickets/mine").get_data(as_text=True)
    assert "FAR-000001" in mine and "New" in mine


def test_a_requester_with_many_requests_reaches_every_one_page_by_page(client, auth, requester, make_ticket):
    for n in range(27):
        make_ticket(subject=f"Request number {n:02}")
    auth.login(requester)
    first = client.get("/farajaland/tickets/mine").get_data(as_text=True)
    assert "Request number 26" in first and "Request number 01" not in first  # latest first, 25 a page
    assert 'href="/farajaland/tickets/mine?page=2"' in first
    second = client.get("/farajaland/tickets/mine?page=2").get_data(as_text=True)
    assert "Request number 01" in second and "Request number 00" in second and "Request number 26" not in second
    assert 'href="/farajaland/tickets/mine?page=1"' in second and "?page=3" not in second
    assert "You have not sent any request yet." not in client.get("/farajaland/tickets/mine?page=9").get_data(as_text=True)


def test_times_on_a_request_are_written_day_first_with_the_months_name(client, auth, requester, make_ticket, in_tenant):
    reference = make_ticket()

    def opened_at_7_17_utc(tenant):
        ticket = get_ticket_by_reference(tenant, reference)
        ticket.created_at = dt.datetime(2026, 12, 1, 7, 17, tzinfo=dt.timezone.utc)
        db.session.commit()

    in_tenant(opened_at_7_17_utc)
    auth.login(requester)
    english = client.get(f"/farajaland/tickets/{reference}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Opened 1 Dec 2026, 09:17" in english and "12/1/26" not in english  # 09:17 in Lusaka
    client.post("/farajaland/language", data={"lang": "fr", "next": "/"})
    assert "1 déc. 2026, 09:17" in client.get(f"/farajaland/tickets/{reference}").get_data(as_text=True)


def test_a_missing_subject_is_a_clear_400(client, auth, requester):
    auth.login(requester)
    response = open_request(client, subject="")
    assert response.status_code == 400
    assert "This field is required" in response.get_data(as_text=True)


def test_the_form_records_that_a_suggested_article_was_opened(app, client, auth, requester, l1, in_tenant):
    auth.login(requester)
    open_request(client, kb_suggestion_opened="1")
    from portal.tickets.services import get_ticket_by_reference

    assert in_tenant(lambda t: get_ticket_by_reference(t, "FAR-000001").kb_suggestion_opened) is True


def test_requester_is_emailed_an_agent_reply_in_their_language(app, client, auth, make_user, l1, make_ticket):
    make_user("french.clerk@example.org", name="Claire", locale="fr")
    reference = make_ticket(requester_email="french.clerk@example.org", locale="fr")
    auth.login(l1)
    client.post(f"/farajaland/tickets/{reference}/reply", data={"body": "Please check the phone number in your profile.", "visibility": "public", "status": ""})
    with app.app_context():
        work_once()  # replies leave through the outbox
        mail = sent_mail()[-1]
    assert mail["To"] == "french.clerk@example.org"
    assert reference in mail["Subject"]
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "Please check the phone number" in text
    assert "Bonjour" in text or "Votre demande" in text or reference in text


def test_internal_notes_are_never_shown_to_the_requester(client, auth, requester, l1, make_ticket):
    reference = make_ticket()
    auth.login(l1)
    client.post(f"/farajaland/tickets/{reference}/reply", data={"body": "Looks like the SMS gateway again", "visibility": "internal", "status": ""})
    assert "SMS gateway again" in client.get(f"/farajaland/tickets/{reference}").get_data(as_text=True)
    auth.logout()
    auth.login(requester)
    page = client.get(f"/farajaland/tickets/{reference}").get_data(as_text=True)
    assert "SMS gateway again" not in page
    assert "Internal note" not in page


def test_requester_replies_closes_and_rates(client, auth, requester, l1, make_ticket):
    reference = make_ticket()
    auth.login(requester)
    client.post(f"/farajaland/tickets/{reference}/reply", data={"body": "It happened again this morning."})
    page = client.get(f"/farajaland/tickets/{reference}").get_data(as_text=True)
    assert "It happened again this morning." in page
    assert "up to 10 MB each" in page  # the limit is said before a slow upload, not after
    # Closing is asked twice, apart from Send: one tap on a phone must not end the request.
    closing = page.split('<details class="close-request">')[1].split("</details>")[0]
    assert "<summary>My problem is solved</summary>" in closing and f'action="/farajaland/tickets/{reference}/close"' in closing
    client.post(f"/farajaland/tickets/{reference}/close")
    page = client.get(f"/farajaland/tickets/{reference}").get_data(as_text=True)
    assert "This request is closed" in page
    response = client.post(f"/farajaland/tickets/{reference}/rate", data={"rating": "4", "comment": "Quick help"})
    assert response.status_code == 302
    page = client.get(f"/farajaland/tickets/{reference}").get_data(as_text=True)
    assert "You rated this request 4 out of 5" in page


def test_a_request_waiting_for_the_requester_says_so_in_their_words_until_they_answer(client, auth, requester, l1, make_ticket):
    reference = make_ticket()
    auth.login(l1)
    client.post(f"/farajaland/tickets/{reference}/reply", data={"body": "Which district office are you in?", "visibility": "public", "status": "waiting"})
    auth.logout()
    auth.login(requester)
    mine = client.get("/farajaland/tickets/mine").get_data(as_text=True)
    assert "The support team is waiting for your answer on 1 request." in mine
    assert '<span class="badge badge-warn">Your answer is needed</span>' in mine and "Waiting on requester" not in mine
    page = client.get(f"/farajaland/tickets/{reference}").get_data(as_text=True)
    assert "The support team is waiting for your answer: write it here." in page and "Your answer is needed" in page
    client.post(f"/farajaland/tickets/{reference}/reply", data={"body": "Ibombo district office."})
    mine = client.get("/farajaland/tickets/mine").get_data(as_text=True)
    assert "waiting for your answer" not in mine and "Your answer is needed" not in mine
    auth.logout()
    auth.login(l1)
    assert "Waiting on requester" not in client.get(f"/farajaland/tickets/{reference}").get_data(as_text=True).split("</h1>")[1].split("</p>")[0]


def test_a_requester_cannot_see_someone_elses_ticket(client, auth, make_user, l1, make_ticket):
    reference = make_ticket(requester_email=make_user("other.clerk@example.org"))
    auth.login(make_user("nosy@example.org"))
    assert client.get(f"/farajaland/tickets/{reference}").status_code == 404
    assert client.post(f"/farajaland/tickets/{reference}/reply", data={"body": "hi"}).status_code == 404


def test_attachments_are_checked_by_content_and_downloads_by_permission(client, auth, requester, make_user, l1):
    auth.login(requester)
    png = b"\x89PNG\r\n\x1a\n" + bytes(100)
    response = open_request(client, attachments=[(io.BytesIO(png), "screen.png")])
    assert response.status_code == 302
    page = client.get("/farajaland/tickets/FAR-000001").get_data(as_text=True)
    link = re.search(r'href="(/farajaland/tickets/attachments/\d+)"', page).group(1)
    with client.get(link) as download:
        assert download.status_code == 200 and download.data == png and download.mimetype == "image/png"
    # A program renamed as a picture is refused, with the reason.
    refused = open_request(client, attachments=[(io.BytesIO(b"MZ\x90\x00" + bytes(100)), "holiday.png")])
    assert refused.status_code == 415
    assert "is not a file type we accept" in refused.get_data(as_text=True)
    auth.logout()
    auth.login(make_user("stranger@example.org"))
    assert client.get(link).status_code == 404


def test_a_file_name_with_line_breaks_is_kept_readable_and_downloads(app, client, auth, requester):
    from portal.tickets.models import Attachment
    from portal.tickets.storage import safe_filename

    # A mailed file's name may hold line breaks: it is kept without them.
    assert safe_filename("a\r\nX-Injected: 1\tshot.png") == "a X-Injected: 1 shot.png"
    auth.login(requester)
    png = b"\x89PNG\r\n\x1a\n" + bytes(100)
    assert open_request(client, attachments=[(io.BytesIO(png), "screen.png")]).status_code == 302
    page = client.get("/farajaland/tickets/FAR-000001").get_data(as_text=True)
    link = re.search(r'href="(/farajaland/tickets/attachments/(\d+))"', page)
    # A name stored before with a line break in it downloads too: not a 500.
    with app.app_context():
        from portal.core.db import tenant_scope
        from portal.tenancy.services import get_tenant

        with tenant_scope(db.session, get_tenant("farajaland").id):
            db.session.get(Attachment, int(link.group(2))).filename = "b\r\nX-Injected: 2.png"
            db.session.commit()
    with client.get(link.group(1)) as download:
        assert download.status_code == 200 and download.data == png
        assert "\n" not in download.headers["Content-Disposition"] and "X-Injected" not in download.headers


def test_attachments_over_the_size_limit_are_refused(make_app, make_user, auth):
    app = make_app(ATTACHMENT_MAX_BYTES=1000)
    client = app.test_client()
    email = make_user("big@example.org")
    client.post("/farajaland/login", data={"email": email, "password": "correct-horse-battery"})
    response = open_request(client, attachments=[(io.BytesIO(b"a" * 5000), "log.txt")])
    assert response.status_code == 413
    assert "is larger than" in response.get_data(as_text=True)


def test_a_merged_request_shows_where_it_continues_and_asks_for_no_rating(client, auth, requester, l1, make_ticket, make_user):
    kept = make_ticket(subject="No SMS code")
    mine = make_ticket(subject="SMS code again")
    other = make_user("other@example.org", name="Otto Other")
    theirs = make_ticket(requester_email=other, subject="No SMS for me either")
    auth.login(l1)
    for duplicate in (mine, theirs):
        client.post(f"/farajaland/tickets/{duplicate}/merge", data={"target": kept})
    auth.logout()

    auth.login(requester)  # the kept ticket is theirs too: linked
    page = client.get(f"/farajaland/tickets/{mine}").get_data(as_text=True)
    assert f"This request was merged into {kept}." in page and f'<a href="/farajaland/tickets/{kept}">Open it</a>' in page
    assert "Rate our help" not in page and 'name="rating"' not in page
    refused = client.post(f"/farajaland/tickets/{mine}/rate", data={"rating": "5"}, follow_redirects=True)
    assert f"This request was merged into {kept}; it cannot be rated any more." in refused.get_data(as_text=True)
    auth.logout()

    auth.login(other)  # someone else's ticket: its reference only
    page = client.get(f"/farajaland/tickets/{theirs}").get_data(as_text=True)
    assert f"This request was merged into {kept}." in page and f"/farajaland/tickets/{kept}" not in page
    assert "Rate our help" not in page
    assert client.get(f"/farajaland/tickets/{kept}").status_code == 404


def test_a_request_past_the_servers_limit_gets_a_page_that_says_nothing_was_saved(make_app, make_user):
    """Past MAX_CONTENT_LENGTH the server reads nothing of the request; the page says so, in the
    reader's language, and that going back keeps what was typed."""
    app = make_app(MAX_CONTENT_LENGTH=2000)
    client = app.test_client()
    client.post("/farajaland/login", data={"email": make_user(), "password": "correct-horse-battery"})
    page = client.get("/farajaland/tickets/new").get_data(as_text=True)
    assert 'data-max-bytes="' in page and "is larger than" in page
    response = open_request(client, attachments=[(io.BytesIO(b"a" * 5000), "log.txt")])
    assert response.status_code == 413
    assert "nothing was saved" in response.get_data(as_text=True)
