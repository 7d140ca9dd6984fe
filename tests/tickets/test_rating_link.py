"""The resolution message carries a link with which the requester rates the help from 1 to 5, without
signing in (requesters who write by email or WhatsApp often have no account)."""
from __future__ import annotations

import re
import time

import itsdangerous.timed

from portal.auth.services import get_user_by_email
from portal.channels.services import work_once
from portal.core.db import db, tenant_scope
from portal.core.mail import sent_mail
from portal.tenancy.services import get_tenant
from portal.tickets import services

RESOLVE = {"status": "resolved", "priority": "normal"}


def rating_link(client, reference) -> str:
    """Resolve the ticket as staff; the link from the notice the requester is sent."""
    client.post(f"/farajaland/tickets/{reference}/update", data=RESOLVE)
    page = client.get(f"/farajaland/tickets/{reference}").get_data(as_text=True)
    return re.search(rf"http://localhost(/farajaland/tickets/{reference}/rate/[\w.-]+)", page).group(1)


def test_a_walk_in_requester_rates_through_the_link_in_the_resolution_email(app, client, auth, l1, make_ticket):
    reference = make_ticket(requester_email=None)  # an email requester without an account
    auth.login(l1)
    link = rating_link(client, reference)
    with app.app_context():
        work_once()
        mail = sent_mail()[-1]
    assert mail["To"] == "walkin@example.org"
    assert f"http://localhost{link}" in mail.get_body(preferencelist=("plain",)).get_content()
    auth.logout()

    page = client.get(link)
    assert page.status_code == 200
    assert "How well was your problem solved?" in page.get_data(as_text=True)
    done = client.post(link, data={"rating": "2", "comment": "Took three days"})
    assert done.status_code == 200 and "Thank you for your rating." in done.get_data(as_text=True)
    # The desk sees the rating, and the link shows it for a change of mind.
    assert "You rated this request 2 out of 5" in client.get(link).get_data(as_text=True)
    auth.login(l1)
    page = client.get(f"/farajaland/tickets/{reference}").get_data(as_text=True)
    assert "2/5 Took three days" in page and "Walk In" in page


def test_insights_count_ratings_given_through_the_link(client, auth, l1, make_ticket, make_user):
    from portal.auth.permissions import Role

    reference = make_ticket(requester_email=None)
    auth.login(l1)
    link = rating_link(client, reference)
    auth.logout()
    client.post(link, data={"rating": "5"})
    auth.login(make_user(role=Role.TENANT_ADMIN))
    board = client.get("/farajaland/insights/").get_data(as_text=True)
    row = re.search(r'<section class="insight" id="satisfaction_tiers".*?<th scope="row">L1</th><td>(\d+)</td><td>([\d.–]+)</td><td>([\d.%–]+)</td>', board, re.S)
    assert row.groups() == ("1", "5.00", "100.0%")


def test_bad_links_and_bad_ratings_are_refused_clearly(app, client, auth, l1, make_ticket, monkeypatch):
    first, second = make_ticket(requester_email=None), make_ticket(requester_email=None, subject="Another problem")
    auth.login(l1)
    link = rating_link(client, first)
    auth.logout()
    token = link.rsplit("/", 1)[1]
    assert client.get(link[:-3] + "abc").status_code == 404  # tampered
    assert client.get(f"/farajaland/tickets/{second}/rate/{token}").status_code == 404  # another ticket's token
    assert client.get(f"/kalondo/tickets/{first}/rate/{token}").status_code == 404  # another country
    assert client.post(link, data={"rating": "9"}).status_code == 422
    assert client.post(link, data={}).status_code == 422
    # A reopened request cannot be rated until it is resolved again.
    auth.login(l1)
    client.post(f"/farajaland/tickets/{first}/update", data={**RESOLVE, "status": "open"})
    auth.logout()
    reopened = client.post(link, data={"rating": "4"})
    assert reopened.status_code == 409 and "once it is resolved" in reopened.get_data(as_text=True)
    # Links expire after 30 days.
    now = time.time()
    monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: int(now + 31 * 86400))
    assert client.get(link).status_code == 404


def test_a_job_outside_any_request_sends_full_links_once_the_public_host_is_set(make_app, make_ticket, l1):
    # A job (the outbox worker, a CLI roll-out) has no request to take the host from: SERVER_NAME gives it.
    reference = make_ticket(requester_email=None)
    job = make_app(SERVER_NAME="support.example.org")
    with job.app_context():
        tenant = get_tenant("farajaland")
        with tenant_scope(db.session, tenant.id):
            ticket = services.get_ticket_by_reference(tenant, reference)
            services.change_status(tenant, get_user_by_email("l1@farajaland.demo"), ticket, "resolved")
        work_once()
        body = sent_mail()[-1].get_body(preferencelist=("plain",)).get_content()
    assert f"http://support.example.org/farajaland/tickets/{reference}/rate/" in body


def test_the_desk_cannot_rate_through_the_requesters_link(client, auth, l1, make_ticket):
    reference = make_ticket(requester_email=None)
    auth.login(l1)
    link = rating_link(client, reference)  # the link is in the conversation the agent reads
    refused = client.post(link, data={"rating": "5"})
    assert refused.status_code == 403 and "the desk cannot rate it" in refused.get_data(as_text=True)
    assert client.get(link).status_code == 403
    assert "5/5" not in client.get(f"/farajaland/tickets/{reference}").get_data(as_text=True)
    auth.logout()
    assert client.get(link).status_code == 200  # the requester, who has no account, still can
