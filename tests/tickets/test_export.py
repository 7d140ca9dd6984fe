"""Agents and tenant administrators take the queue they are looking at into a spreadsheet (CSV)."""
from __future__ import annotations

import csv
import html
import io
import re

from portal.auth.permissions import Role
from portal.auth.services import get_user_by_email
from portal.tickets import export, services
from portal.tickets.models import Status

HEADER = ["Reference", "Subject", "Status", "Priority", "Category", "Group", "Tier", "Channel", "Requester", "Requester email",
          "Office", "Assignee", "Created", "First response", "Resolved", "SLA missed", "Satisfaction rating"]
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def read_csv(response) -> list[list[str]]:
    text = response.get_data().decode("utf-8")
    assert text.startswith("\ufeff"), "no byte order mark: Excel would misread the accents"
    return list(csv.reader(io.StringIO(text[1:])))


def by_reference(rows: list[list[str]]) -> dict[str, list[str]]:
    return {row[0]: row for row in rows[1:]}


def queue_references(client, query: str) -> set[str]:
    return set(re.findall(r'name="refs" value="([A-Z]+-\d{6})"', client.get(f"/farajaland/tickets/queue?{query}").get_data(as_text=True)))


def open_for(in_tenant, tenant="farajaland", *, name="Walk In", email="walkin@example.org", subject="Outbox stuck", **kwargs) -> str:
    def run(t):
        contact = services.find_or_create_contact(t, email=email, name=name)
        return services.open_ticket(t, None, requester=contact, subject=subject, body="It does not send.", **kwargs).reference

    return in_tenant(run, tenant)


def test_the_export_holds_every_column_of_the_tickets_in_the_queue(client, auth, in_tenant, requester, l1, make_ticket):
    reference = make_ticket(subject="Certificate preview is blank", category="certificates-and-printing", priority="urgent",
                            office="Isamba District Office")

    def answer_resolve_and_rate(t):
        ticket = services.get_ticket_by_reference(t, reference)
        services.add_message(t, get_user_by_email(l1), ticket, body="Clear the cache, then print again.")
        services.change_status(t, get_user_by_email(l1), ticket, Status.RESOLVED)
        services.rate_ticket(t, get_user_by_email(requester), ticket, 4)

    in_tenant(answer_resolve_and_rate)
    auth.login(l1)
    response = client.get("/farajaland/tickets/export.csv?status=resolved")
    assert response.status_code == 200 and response.content_type == "text/csv; charset=utf-8"
    assert re.fullmatch(r'attachment; filename="farajaland-tickets-\d{4}-\d\d-\d\d\.csv"', response.headers["Content-Disposition"])
    rows = read_csv(response)
    assert rows[0] == HEADER
    row = dict(zip(HEADER, by_reference(rows)[reference]))
    assert {k: row[k] for k in HEADER if k not in ("Created", "First response", "Resolved")} == {
        "Reference": reference, "Subject": "Certificate preview is blank", "Status": "Resolved", "Priority": "Urgent",
        "Category": "Certificates and printing", "Group": "First-line support", "Tier": "L1", "Channel": "Portal",
        "Requester": "Clara Clerk", "Requester email": "clerk@example.org", "Office": "Isamba District Office",
        "Assignee": "Lina First", "SLA missed": "No", "Satisfaction rating": "4",
    }
    assert all(ISO_UTC.fullmatch(row[k]) for k in ("Created", "First response", "Resolved")), row
    assert row["Created"] <= row["First response"] <= row["Resolved"]


def test_the_export_honours_the_queue_filters(client, auth, requester, l1, make_ticket, in_tenant):
    blank = make_ticket(subject="Certificate preview is blank", body="The PDF opens empty on the tablet")
    locked = make_ticket(subject="Login locked", body="Too many attempts")
    closed = make_ticket(subject="Old question about the tablet")
    in_tenant(lambda t: services.change_status(t, get_user_by_email(l1), services.get_ticket_by_reference(t, closed), Status.CLOSED))
    auth.login(l1)
    for query, expected in [
        ("", {blank, locked}),  # active work, as on the page
        ("status=closed", {closed}),
        ("q=tablet", {blank, closed}),  # a search spans every status, as on the page
        ("q=tablet&status=new", {blank}),
        ("q=far-2", {locked}),
        ("view=mine", {blank, locked}),  # the first-line group hands them to its one agent
        ("view=waiting", set()),
    ]:
        exported = set(by_reference(read_csv(client.get(f"/farajaland/tickets/export.csv?{query}"))))
        assert exported == expected == queue_references(client, query), query


def test_the_queue_page_links_to_the_export_of_what_it_shows(client, auth, requester, l1, make_ticket):
    make_ticket(subject="Login locked")
    make_ticket(subject="Certificate preview is blank")
    auth.login(l1)
    page = client.get("/farajaland/tickets/queue?q=locked&priority=normal&page=1").get_data(as_text=True)
    link = html.unescape(re.search(r'href="([^"]*/tickets/export\.csv[^"]*)"', page).group(1))
    assert "q=locked" in link and "priority=normal" in link and "page=" not in link
    rows = read_csv(client.get(link))
    assert [row[1] for row in rows[1:]] == ["Login locked"]


def test_headers_and_labels_are_in_the_readers_language(client, auth, requester, make_ticket, make_user):
    make_ticket(subject="Déclaration bloquée", category="declarations")
    auth.login(make_user("agent-fr@farajaland.demo", role=Role.L1_AGENT, name="Awa Agent", locale="fr"))
    response = client.get("/farajaland/tickets/export.csv")
    assert response.get_data()[:3] == b"\xef\xbb\xbf"  # UTF-8 with its byte order mark, for Excel
    rows = read_csv(response)
    assert rows[0][1:5] == ["Objet", "Statut", "Priorité", "Catégorie"]
    assert rows[1][1:6] == ["Déclaration bloquée", "Nouvelle", "Normale", "Déclarations", "Assistance de niveau 1"]


def test_cells_that_a_spreadsheet_would_run_are_neutralised(client, auth, in_tenant, l1):
    # Subjects and names come from anyone who writes to the desk (email, WhatsApp).
    open_for(in_tenant, subject='=HYPERLINK("http://evil.example/","Open me")', name="@SUM(1+1)", email="evil@example.org")
    open_for(in_tenant, subject="+cmd|' /C calc'!A0", name="-2+3", email="minus@example.org")
    auth.login(l1)
    rows = read_csv(client.get("/farajaland/tickets/export.csv"))
    cells = [cell for row in rows[1:] for cell in row]
    assert not [cell for cell in cells if cell.startswith(("=", "+", "-", "@"))], rows
    assert "'=HYPERLINK(\"http://evil.example/\",\"Open me\")" in cells and "'@SUM(1+1)" in cells
    assert "'+cmd|' /C calc'!A0" in cells and "'-2+3" in cells


def test_another_countrys_tickets_never_appear(app, client, auth, in_tenant, l1, make_user):
    ours = open_for(in_tenant, subject="Outbox stuck in Ibombo")
    theirs = open_for(in_tenant, "kalondo", subject="Outbox stuck in Mbanga", email="clerk@kalondo.example")
    again = open_for(in_tenant, "kalondo", subject="Outbox stuck again", email="clerk@kalondo.example", priority="urgent")
    auth.login(l1)
    for query in ("", "q=outbox", "q=mbanga", "status=new", "priority=urgent", "view=unassigned", "q=" + theirs):
        text = client.get(f"/farajaland/tickets/export.csv?{query}").get_data(as_text=True)
        assert "Mbanga" not in text and "kalondo" not in text and "again" not in text, query
    assert set(by_reference(read_csv(client.get("/farajaland/tickets/export.csv?q=outbox")))) == {ours}
    assert client.get("/kalondo/tickets/export.csv").status_code == 403  # no role there
    auth.logout()
    auth.login(make_user("admin@kalondo.example", tenant="kalondo", role=Role.TENANT_ADMIN), tenant="kalondo")
    rows = read_csv(client.get("/kalondo/tickets/export.csv?q=outbox"))
    assert set(by_reference(rows)) == {theirs, again}
    assert "Ibombo" not in str(rows)


def test_requesters_are_refused_and_strangers_sent_to_sign_in(client, auth, requester, make_ticket):
    make_ticket()
    anonymous = client.get("/farajaland/tickets/export.csv?status=new")
    assert anonymous.status_code == 302 and "/farajaland/login" in anonymous.headers["Location"]
    auth.login(requester)
    assert client.get("/farajaland/tickets/export.csv").status_code == 403
    assert "export.csv" not in client.get("/farajaland/tickets/mine").get_data(as_text=True)


def test_a_filter_value_the_queue_does_not_know_is_ignored_as_on_the_page(client, auth, requester, l1, make_ticket):
    make_ticket(subject="Login locked")
    auth.login(l1)
    for query in ("status=bogus", "priority=%F0%9F%92%A5", "assignee=abc", "assignee=%C2%B2", "assignee=99999999999999999999999",
                  "category=nope", "view=everything", "q=" + "x" * 5000, "q=%27%22%3A*%20%26%20!", "page=-3", "status=new&status=closed"):
        response = client.get(f"/farajaland/tickets/export.csv?{query}")
        assert response.status_code == 200, (query, response.status_code)
        assert set(by_reference(read_csv(response))) == queue_references(client, query), query


def test_rows_are_read_and_sent_in_batches_with_no_query_per_ticket(app, client, auth, in_tenant, make_user, l1, monkeypatch):
    from sqlalchemy import event

    from portal.core.db import db

    monkeypatch.setattr(export, "BATCH", 3)
    agents = [make_user(role=Role.L1_AGENT, name=f"Agent {n}") for n in range(4)]

    def open_assigned(count):
        def run(t):
            for n in range(count):
                contact = services.find_or_create_contact(t, email=f"clerk{n}-{count}@example.org", name=f"Clerk {n}")
                ticket = services.open_ticket(t, None, requester=contact, subject=f"Ticket {n}", body="Help", category=["declarations", "reports"][n % 2])
                services.assign(t, None, ticket, get_user_by_email(agents[n % 4]))

        in_tenant(run)

    auth.login(l1)
    client.get("/farajaland/tickets/export.csv")  # what any first request reads once (the country) is read
    statements = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    counts, chunks = [], []
    for count in (2, 8):
        open_assigned(count)
        statements.clear()
        response = client.get("/farajaland/tickets/export.csv")
        chunks.append(list(response.response))  # as the server sends it: one piece per batch
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
    assert len(chunks[1]) == 1 + 4  # the header, then 10 tickets by 3
    assert "Agent 3" in "".join(c.decode() if isinstance(c, bytes) else c for c in chunks[1])


def test_the_export_is_rate_limited(make_app, make_user):
    app = make_app(RATELIMIT_ENABLED=True, EXPORT_RATE_LIMIT="2 per minute")
    client = app.test_client()
    email = make_user(role=Role.L1_AGENT)
    client.post("/farajaland/login", data={"email": email, "password": "correct-horse-battery"})
    codes = [client.get("/farajaland/tickets/export.csv").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert client.get("/farajaland/tickets/queue").status_code == 200  # the page itself is not limited
