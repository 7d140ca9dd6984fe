"""An L1 agent works the queue: views, filters, search, replies, notes, mentions, bulk, merge, audit."""
from __future__ import annotations

import re

from portal.auth.permissions import Role
from portal.auth.services import get_user_by_email, issue_api_token
from portal.channels.services import work_once
from portal.core.db import db
from portal.core.mail import sent_mail
from portal.tickets import services


def test_new_tickets_are_routed_to_the_category_group_and_assigned_in_turn(client, auth, requester, l1, l2, make_ticket):
    make_ticket(subject="Outbox stuck", category="offline-and-sync")  # routed to "technical" (L2)
    make_ticket(subject="Code never arrives", category="access-and-login")  # routed to "first-line"
    auth.login(l1)
    mine = client.get("/farajaland/tickets/queue?view=mine").get_data(as_text=True)
    assert "Code never arrives" in mine and "Outbox stuck" not in mine
    page = client.get("/farajaland/tickets/FAR-000001").get_data(as_text=True)
    assert re.search(r'<option selected value="\d+">Tom Tech</option>', page)


def test_queue_views_and_filters(client, auth, requester, l1, make_ticket, make_user):
    make_ticket(subject="Certificate preview is blank", category="certificates-and-printing", priority="urgent")
    make_ticket(subject="Twins flagged as duplicates", category="validation-and-registration")  # no route: first-line
    auth.login(make_user(role=Role.L1_AGENT))  # not in a group: sees no "my group" tickets
    page = client.get("/farajaland/tickets/queue").get_data(as_text=True)
    assert "Certificate preview is blank" in page and "Twins flagged" in page
    urgent = client.get("/farajaland/tickets/queue?priority=urgent").get_data(as_text=True)
    assert "Certificate preview is blank" in urgent and "Twins flagged" not in urgent
    by_category = client.get("/farajaland/tickets/queue?category=validation-and-registration").get_data(as_text=True)
    assert "Twins flagged" in by_category and "Certificate preview" not in by_category
    assert "No tickets here." in client.get("/farajaland/tickets/queue?view=group").get_data(as_text=True)
    assert "No tickets here." in client.get("/farajaland/tickets/queue?view=waiting").get_data(as_text=True)
    assert "No tickets here." in client.get("/farajaland/tickets/queue?view=unassigned").get_data(as_text=True)  # both went to first-line


def test_text_search_finds_subjects_messages_and_references(client, auth, requester, l1, make_ticket):
    make_ticket(subject="Certificate preview is blank", body="The PDF opens empty on the tablet")
    make_ticket(subject="Login locked", body="Too many attempts")
    auth.login(l1)
    by_body = client.get("/farajaland/tickets/queue?q=tablet").get_data(as_text=True)
    assert "Certificate preview is blank" in by_body and "Login locked" not in by_body
    by_subject = client.get("/farajaland/tickets/queue?q=locked").get_data(as_text=True)
    assert "Login locked" in by_subject and "Certificate preview" not in by_subject
    by_reference = client.get("/farajaland/tickets/queue?q=far-000002").get_data(as_text=True)
    assert "Login locked" in by_reference and "Certificate preview" not in by_reference
    for typed in ("far-2", "FAR 2", "2"):  # as agents type a reference they were told on the phone
        found = client.get(f"/farajaland/tickets/queue?q={typed}").get_data(as_text=True)
        assert "Login locked" in found and "Certificate preview" not in found, typed
    assert client.get("/farajaland/tickets/FAR-2").status_code == 200
    # A reply adds its words and keeps those of the subject and the first message.
    reference = client.get("/farajaland/tickets/queue?q=locked").get_data(as_text=True)
    locked = re.search(r"FAR-\d{6}", reference.split("Login locked")[0][-400:]).group(0)
    client.post(f"/farajaland/tickets/{locked}/reply", data={"body": "Unlocked from the admin console.", "visibility": "public", "status": ""})
    for word in ("locked", "attempts", "console"):
        assert "Login locked" in client.get(f"/farajaland/tickets/queue?q={word}").get_data(as_text=True), word
    # Versions, file names and addresses are found whole, on both databases.
    make_ticket(subject="App crashes on 1.9.3", body="see photo.jpg from admin@registry.gov, it's urgent")
    for q in ("1.9.3", "photo.jpg", "admin@registry.gov", "it's", "100%", "a\\b"):
        page = client.get("/farajaland/tickets/queue", query_string={"q": q}).get_data(as_text=True)
        assert ("App crashes on 1.9.3" in page) == (q not in ("100%", "a\\b")), q
    # Accents or none, as phones type: "declaration" finds "Déclaration", and the other way round.
    make_ticket(subject="Déclaration bloquée", body="Le formulaire reste dans la boîte d'envoi")
    for q in ("declaration", "DÉCLARATION", "bloquee", "boite envoi"):
        assert "Déclaration bloquée" in client.get("/farajaland/tickets/queue", query_string={"q": q}).get_data(as_text=True), q
    # Words are found from their beginning and in any order, on both databases.
    by_prefix = client.get("/farajaland/tickets/queue?q=certif+empty").get_data(as_text=True)
    assert "Certificate preview is blank" in by_prefix and "Login locked" not in by_prefix


def test_first_reply_opens_the_ticket_and_stops_the_first_response_clock(client, auth, requester, l1, make_ticket):
    reference = make_ticket()
    auth.login(l1)
    client.post(f"/farajaland/tickets/{reference}/reply", data={"body": "Which phone number is in your profile?", "visibility": "public", "status": "waiting"})
    page = client.get(f"/farajaland/tickets/{reference}").get_data(as_text=True)
    assert "Waiting on requester" in page
    trail = page.split('class="audit-trail"')[1].split("</ol>")[0]
    assert "first reply</span>: — → " in trail and "first_response" not in trail and "+00:00" not in trail
    assert "<strong>automatic</strong>" in trail and "system" not in trail  # the share-out assigned it
    assert "assigned to</span>: — → Lina First" in trail  # a colleague by name, not by address
    waiting = client.get("/farajaland/tickets/queue?view=waiting").get_data(as_text=True)
    assert reference in waiting


def test_mentioning_a_colleague_emails_them(app, client, auth, requester, l1, l2, make_ticket):
    reference = make_ticket()
    auth.login(l1)
    client.post(f"/farajaland/tickets/{reference}/reply", data={"body": "@l2@farajaland.demo can you check the SMS gateway?", "visibility": "internal", "status": ""})
    with app.app_context():
        work_once()  # replies leave through the outbox
        mail = sent_mail()[-1]
    assert mail["To"] == "l2@farajaland.demo"
    assert reference in mail["Subject"] and "SMS gateway" in mail.get_content()


def test_status_transitions_are_enforced_and_audited(client, auth, requester, l1, make_ticket):
    reference = make_ticket()
    auth.login(l1)
    client.post(f"/farajaland/tickets/{reference}/update", data={"status": "closed", "priority": "normal"})
    response = client.post(f"/farajaland/tickets/{reference}/update", data={"status": "open", "priority": "normal"}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Not a valid choice" in page or "cannot become" in page
    assert "Closed" in page
    assert re.search(r"status</span>: New → Closed", page)


def test_resolving_tells_the_requester_and_their_reply_reopens(app, client, auth, requester, l1, make_ticket):
    reference = make_ticket()
    auth.login(l1)
    client.post(f"/farajaland/tickets/{reference}/update", data={"status": "resolved", "priority": "normal"})
    with app.app_context():
        work_once()  # replies leave through the outbox
        notice = sent_mail()[-1]
    assert notice["To"] == "clerk@example.org" and "solved" in notice.get_body(preferencelist=("plain",)).get_content()
    auth.logout()
    auth.login(requester)
    client.post(f"/farajaland/tickets/{reference}/reply", data={"body": "Still no code, sorry."})
    assert "Open" in client.get("/farajaland/tickets/mine").get_data(as_text=True)


def test_bulk_assign_and_status(app, client, auth, requester, l1, l2, make_ticket):
    first, second = make_ticket(subject="One"), make_ticket(subject="Two")
    auth.login(l1)
    page = client.get("/farajaland/tickets/queue").get_data(as_text=True)
    l2_id = re.search(r'<option value="(\d+)">Tom Tech</option>', page).group(1)
    with app.app_context():
        before = len(sent_mail())
    response = client.post("/farajaland/tickets/bulk", data={"refs": [first, second], "action": "assign", "value": l2_id}, follow_redirects=True)
    assert "2 tickets changed." in response.get_data(as_text=True)
    with app.app_context():  # one mail for both, not one per ticket
        [notice] = [m for m in sent_mail()[before:] if m["To"] == l2]
    assert notice["Subject"] == "2 tickets assigned to you"
    text = notice.get_content()
    assert "Lina First gave you 2 tickets:" in text and f"{first} One" in text and f"{second} Two" in text
    response = client.post("/farajaland/tickets/bulk", data={"refs": [first, second], "action": "priority", "value": "high"}, follow_redirects=True)
    assert "2 tickets changed." in response.get_data(as_text=True)
    assert client.get("/farajaland/tickets/queue?priority=high").get_data(as_text=True).count("Tom Tech") >= 2


def test_a_colleague_who_is_given_a_ticket_is_told_by_mail_and_taking_one_tells_nobody(app, client, auth, requester, l1, l2, make_ticket, make_user):
    first, second = make_ticket(subject="One", body="The SMS never comes."), make_ticket(subject="Two")
    make_user("l2-fr@farajaland.demo", role=Role.L2_TECHNICIAN, name="Awa Tech", locale="fr")
    auth.login(l1)
    page = client.get("/farajaland/tickets/queue").get_data(as_text=True)
    tom = re.search(r'<option value="(\d+)">Tom Tech</option>', page).group(1)
    awa = re.search(r'<option value="(\d+)">Awa Tech</option>', page).group(1)
    with app.app_context():
        before = len(sent_mail())
    client.post("/farajaland/tickets/bulk", data={"refs": [first], "action": "assign", "value": tom})
    client.post("/farajaland/tickets/bulk", data={"refs": [second], "action": "assign", "value": awa})
    client.post(f"/farajaland/tickets/{second}/take")  # Lina takes it herself: no mail to anyone
    with app.app_context():
        notices = sent_mail()[before:]
    assert [m["To"] for m in notices] == ["l2@farajaland.demo", "l2-fr@farajaland.demo"]
    text = notices[0].get_content()
    assert notices[0]["Subject"] == f"[{first}] Assigned to you"
    assert "Lina First gave you" in text and "The SMS never comes." in text and f"/farajaland/tickets/{first}" in text
    assert notices[1]["Subject"] == f"[{second}] Vous est attribué"  # in the colleague's language


def test_merging_a_duplicate_closes_it_and_links_both(client, auth, requester, l1, make_ticket):
    kept = make_ticket(subject="No SMS code")
    duplicate = make_ticket(subject="SMS code again", body="Second time I write about it")
    auth.login(l1)
    response = client.post(f"/farajaland/tickets/{duplicate}/merge", data={"target": kept.lower()}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert f"{duplicate} is merged into {kept}" in page
    assert "Second time I write about it" in page  # quoted as a note on the kept ticket
    assert "This request was merged into" in client.get(f"/farajaland/tickets/{duplicate}").get_data(as_text=True)


def test_a_merge_target_is_read_as_the_queue_search_reads_a_reference(client, auth, requester, l1, make_ticket):
    kept = make_ticket(subject="No SMS code")  # FAR-000001
    duplicates = [make_ticket(subject=f"SMS code again {n}") for n in range(3)]
    auth.login(l1)
    missing = client.post(f"/farajaland/tickets/{duplicates[0]}/merge", data={"target": "99"}, follow_redirects=True)
    assert "There is no ticket 99." in missing.get_data(as_text=True)
    for duplicate, typed in zip(duplicates, ("1", " 000001 ", "far 1")):  # as told on the phone, as in the queue's search
        assert "No SMS code" in client.get("/farajaland/tickets/queue", query_string={"q": typed}).get_data(as_text=True), typed
        page = client.post(f"/farajaland/tickets/{duplicate}/merge", data={"target": typed}, follow_redirects=True).get_data(as_text=True)
        assert f"{duplicate} is merged into {kept}." in page, typed


def test_escalated_is_never_picked_by_hand_only_reached_by_escalating(client, auth, requester, l1, l2, make_ticket):
    reference, other = make_ticket(category="access-and-login"), make_ticket(subject="Other", category="access-and-login")
    auth.login(l1)
    page = client.get(f"/farajaland/tickets/{reference}").get_data(as_text=True)
    assert 'value="escalated"' not in page  # neither in the Details nor in the reply's "Then set the status to"
    assert 'value="resolved"' in page
    queue = client.get("/farajaland/tickets/queue").get_data(as_text=True)
    bulk_values = queue.split('id="bulk-value"')[1].split("</select>")[0]
    assert 'value="escalated"' not in bulk_values and 'value="resolved"' in bulk_values
    assert 'value="escalated"' in queue.split('id="f-status"')[1].split("</select>")[0]  # still found by the filter

    details = client.post(f"/farajaland/tickets/{reference}/update", data={"status": "escalated", "priority": "normal"}, follow_redirects=True)
    assert "Not a valid choice" in details.get_data(as_text=True)
    reply = client.post(f"/farajaland/tickets/{reference}/reply", data={"body": "Passing it on.", "visibility": "public", "status": "escalated"}, follow_redirects=True)
    assert "Not a valid choice" in reply.get_data(as_text=True) and "Passing it on." not in reply.get_data(as_text=True)
    bulk = client.post("/farajaland/tickets/bulk", data={"refs": [reference, other], "action": "status", "value": "escalated"})
    assert bulk.status_code == 303
    page = client.get(bulk.headers["Location"]).get_data(as_text=True)
    assert "A ticket becomes “Escalated” only when it is escalated, with a reason, from its escalation panel." in page
    for ref in (reference, other):
        assert "Now with Level 1 (first line)." in client.get(f"/farajaland/tickets/{ref}").get_data(as_text=True)
    assert "No tickets here." in client.get("/farajaland/tickets/queue?status=escalated").get_data(as_text=True)

    # The escalation sets it, with its reason; the Details form then saves other fields and keeps it.
    client.post(f"/farajaland/tickets/{reference}/escalation/up", data={"up-reason": "The SMS gateway needs a technician.", "up-severity": "medium"})
    saved = client.post(f"/farajaland/tickets/{reference}/update", data={"status": "escalated", "priority": "high"}, follow_redirects=True).get_data(as_text=True)
    assert "Saved." in saved and "Escalated" in saved and "Now with Level 2" in saved


def test_the_assignee_is_told_when_the_requester_replies_or_reopens(app, client, auth, requester, l1, make_ticket, in_tenant):
    reference = make_ticket(category="access-and-login")  # assigned to Lina, of the first-line group
    auth.login(l1)
    with app.app_context():
        before = len(sent_mail())
    client.post(f"/farajaland/tickets/{reference}/reply", data={"body": "Which number is in your profile?", "visibility": "public", "status": "waiting"})
    auth.logout()
    auth.login(requester)
    client.post(f"/farajaland/tickets/{reference}/reply", data={"body": "It is +260 97 000 1234."})
    with app.app_context():
        [answered] = [m for m in sent_mail()[before:] if m["To"] == l1]  # not for her own reply
    assert answered["Subject"] == f"[{reference}] The requester replied"
    assert "Clara Clerk replied to" in answered.get_content() and "It is +260 97 000 1234." in answered.get_content()
    auth.logout()
    auth.login(l1)
    client.post(f"/farajaland/tickets/{reference}/reply", data={"body": "The number is fixed: try again.", "visibility": "public", "status": "resolved"})
    auth.logout()
    with app.app_context():
        before = len(sent_mail())
    auth.login(requester)
    client.post(f"/farajaland/tickets/{reference}/reply", data={"body": "Still no code, sorry."})
    with app.app_context():
        [reopened] = [m for m in sent_mail()[before:] if m["To"] == l1]
    assert reopened["Subject"] == f"[{reference}] Reopened by the requester"
    assert "which was resolved: the ticket is open again" in reopened.get_content() and "Still no code, sorry." in reopened.get_content()
    assert f"/farajaland/tickets/{reference}" in reopened.get_content()

    # A requester who writes by email is heard the same way.
    def by_mail(t):
        ticket = services.get_ticket_by_reference(t, reference)
        services.add_message(t, None, ticket, body="Sent from my phone: still nothing.", author_contact=ticket.contact, channel="email")

    with app.app_context():
        before = len(sent_mail())
    in_tenant(by_mail)
    with app.app_context():
        assert [m["Subject"] for m in sent_mail()[before:] if m["To"] == l1] == [f"[{reference}] The requester replied"]

    # Once she is off the desk (suspended), the requester's words are no longer mailed to her.
    def suspend(t):
        from portal.auth.services import get_user_by_email

        get_user_by_email(l1).is_active_account = False
        db.session.commit()

    in_tenant(suspend)
    with app.app_context():
        before = len(sent_mail())
    in_tenant(by_mail)
    with app.app_context():
        assert [m for m in sent_mail()[before:] if m["To"] == l1] == []


def test_canned_responses_are_filled_with_the_countrys_values(client, auth, requester, l1, make_ticket):
    reference = make_ticket()
    auth.login(l1)
    client.post("/farajaland/tickets/canned", data={"title": "Code by SMS", "locale": "en", "body": "In {{ country.name }} codes last {{ registration.verification_code_minutes }} minutes. Ref {{ ticket.reference }}."})
    listing = client.get("/farajaland/tickets/canned").get_data(as_text=True)
    assert "In Farajaland codes last 10 minutes." in listing
    canned_id = re.search(r"/farajaland/tickets/canned/(\d+)", listing).group(1)
    page = client.get(f"/farajaland/tickets/{reference}?canned={canned_id}").get_data(as_text=True)
    assert f"In Farajaland codes last 10 minutes. Ref {reference}." in page
    bad = client.post("/farajaland/tickets/canned", data={"title": "Broken", "locale": "en", "body": "{{ country.name "})
    assert bad.status_code == 400 and "placeholder error" in bad.get_data(as_text=True)


def test_hand_to_level_2_escalates_and_routes(client, auth, requester, l1, l2, make_ticket):
    reference = make_ticket(category="access-and-login")
    auth.login(l1)
    # The ticket page leads to the escalation form, which asks why.
    ticket_page = client.get(f"/farajaland/tickets/{reference}").get_data(as_text=True)
    hand_off = re.search(r'<a class="button small" href="([^"#]+)#up-title">Hand to Level 2</a>', ticket_page)
    assert hand_off and hand_off.group(1) == f"/farajaland/tickets/{reference}/escalation"
    form = client.get(hand_off.group(1)).get_data(as_text=True)
    assert "Why does it need the next level?" in form
    refused = client.post(f"{hand_off.group(1)}/up", data={"up-reason": "", "up-severity": "medium"})
    assert refused.status_code == 422
    assert "Now with Level 1 (first line)." in client.get(f"/farajaland/tickets/{reference}").get_data(as_text=True)

    data = {"up-reason": "The SMS gateway needs a technician.", "up-severity": "medium"}
    page = client.post(f"{hand_off.group(1)}/up", data=data, follow_redirects=True).get_data(as_text=True)
    assert "is handed to Level 2" in page
    assert "Escalated" in page and "The SMS gateway needs a technician." in page  # in the tier history
    page = client.get(f"/farajaland/tickets/{reference}").get_data(as_text=True)
    assert "Escalated" in page and re.search(r'<option selected value="\d+">Tom Tech</option>', page)
    assert "The SMS gateway needs a technician." in page  # the reason, as an internal note
    trail = page.split('class="audit-trail"')[1].split("</ol>")[0]
    assert "team</span>: First-line support → National technical support" in trail  # teams by name, not key


def test_the_tier_changes_only_by_escalation(client, auth, requester, l1, l2, make_ticket, app):
    reference = make_ticket()
    auth.login(l2)
    page = client.get(f"/farajaland/tickets/{reference}").get_data(as_text=True)
    assert 'name="tier"' not in page  # no tier in the ticket's fields
    client.post(f"/farajaland/tickets/{reference}/update", data={"status": "open", "priority": "normal", "tier": "L3"})
    assert client.post(f"/farajaland/tickets/{reference}/escalate").status_code == 404  # the old shortcut is gone
    with app.app_context():
        token = issue_api_token(get_user_by_email(l2), "test")
        db.session.commit()
    patch = client.patch(f"/farajaland/api/v1/tickets/{reference}", json={"tier": "L2"}, headers={"Authorization": f"Bearer {token}"})
    assert patch.status_code == 422 and f"/farajaland/api/v1/tickets/{reference}/escalate" in patch.get_json()["error"]["message"]
    assert "Now with Level 1 (first line)." in client.get(f"/farajaland/tickets/{reference}").get_data(as_text=True)


def test_requesters_cannot_use_agent_pages(client, auth, requester, make_ticket, l1):
    reference = make_ticket()
    auth.login(requester)
    assert client.get("/farajaland/tickets/queue").status_code == 403
    assert client.post(f"/farajaland/tickets/{reference}/update", data={"status": "resolved"}).status_code == 403
    assert client.post("/farajaland/tickets/bulk", data={"refs": [reference], "action": "status", "value": "closed"}).status_code == 403


def test_tier_admin_page_shows_levels_groups_and_edits_routing(client, auth, make_user, l1, l2):
    auth.login(make_user(role=Role.TENANT_ADMIN))
    page = client.get("/farajaland/tickets/tiers").get_data(as_text=True)
    assert "First-line support" in page and "Lina First" in page and "Tom Tech" in page
    assert "Monday, Tuesday" in page and "mon, tue" not in page  # days and figures as the reader writes them
    french = client.get("/farajaland/tickets/tiers", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "lundi, mardi" in french and not re.search(r"<td>\d+\.0</td>", french)
    category_id = re.search(r"/farajaland/tickets/categories/(\d+)", page).group(1)
    response = client.post(f"/farajaland/tickets/categories/{category_id}", data={f"c{category_id}-group": "technical", f"c{category_id}-is_active": "1", f"c{category_id}-name-en": "Signing in"}, follow_redirects=True)
    assert "Signing in" in response.get_data(as_text=True)
    auth.logout()
    auth.login(l1)
    assert client.get("/farajaland/tickets/tiers").status_code == 403


def test_a_member_taken_off_the_desk_is_no_longer_assigned_from_the_next_ticket(in_tenant, requester, l1, make_ticket):
    from sqlalchemy import select

    from portal.auth.models import Membership
    from portal.tickets.models import Ticket

    def assignee_of(reference):
        return in_tenant(lambda t: db.session.scalar(select(Ticket.assignee_id).where(Ticket.reference == reference)))

    def set_active(active):
        def run(t):
            membership = db.session.scalar(select(Membership).where(Membership.user_id == get_user_by_email(l1).id))
            membership.is_active = active
            db.session.commit()

        in_tenant(run)

    l1_id = in_tenant(lambda t: get_user_by_email(l1).id)
    assert assignee_of(make_ticket(subject="Code never arrives", category="access-and-login")) == l1_id
    set_active(False)
    assert assignee_of(make_ticket(subject="Code still missing", category="access-and-login")) is None
    set_active(True)
    assert assignee_of(make_ticket(subject="Code missing again", category="access-and-login")) == l1_id


def test_the_migration_makes_again_every_search_text_without_accents_and_the_ones_a_reply_had_turned_into_0(empty_database, tmp_path):
    from flask_migrate import upgrade
    from sqlalchemy import text

    from portal import create_app
    from portal.core.db import tenant_scope
    from portal.tenancy.services import get_tenant, sync_tenants
    from portal.tickets import services
    from tests.conftest import REPO, make_test_config

    app = create_app(make_test_config(empty_database, tmp_path))
    with app.app_context():
        upgrade(revision="d4a7c2e9b815")
        with db.engine.begin() as conn:  # the tenants' settings changed in the portal come later, but today's code reads them
            conn.execute(text("ALTER TABLE tenants ADD COLUMN overrides JSON NOT NULL DEFAULT '{}'"))
        sync_tenants(REPO / "tenants")
        tenant = get_tenant("farajaland")
        # Tickets given to nobody: the support groups' members have no table yet at this revision.
        tenant.config = {**tenant.config, "tiers": {**tenant.config["tiers"], "assignment": "manual"}}
        db.session.commit()
        with tenant_scope(db.session, tenant.id):
            contact = services.find_or_create_contact(tenant, email="walkin@example.org", name="Walk In")
            ticket = services.open_ticket(tenant, None, requester=contact, subject="Déclaration bloquée", body="On page two.")
            services.add_message(tenant, None, ticket, body="Still JAMMING today", public=True, author_contact=contact)
            ticket_id = ticket.id
        db.session.remove()
        postgresql = db.engine.dialect.name == "postgresql"
        old = "to_tsvector('simple', 'déclaration bloquée on page two. still jamming today')" if postgresql else "'0'"
        with db.engine.begin() as conn:  # as texts were before: with accents, or 0 on SQLite after a reply
            conn.execute(text(f"UPDATE tickets SET search_document = {old} WHERE id = :id"), {"id": ticket_id})
            conn.execute(text("ALTER TABLE tenants DROP COLUMN overrides"))  # for its migration to add
        upgrade()
        with db.engine.connect() as conn:
            if postgresql:
                query = "SELECT search_document @@ to_tsquery('simple', 'declaration & jamming') FROM tickets WHERE id = :id"
                assert conn.execute(text(query), {"id": ticket_id}).scalar_one() is True
            else:
                document = conn.execute(text("SELECT search_document FROM tickets WHERE id = :id"), {"id": ticket_id}).scalar_one()
                assert document == "declaration bloquee\non page two.\nstill jamming today"
        db.engine.dispose()


def test_a_long_conversation_costs_the_ticket_page_no_more_queries_than_a_short_one(app, client, auth, requester, l1, make_ticket, in_tenant):
    """Attachments and authors are read with the messages, not one query per message."""
    import io

    from sqlalchemy import event

    from portal.auth.services import get_user_by_email
    from portal.core.db import db
    from portal.tickets import services

    png = b"\x89PNG\r\n\x1a\n" + bytes(100)
    short, long_ = make_ticket(subject="Short"), make_ticket(subject="Long")

    def talk(t, reference, turns):
        ticket = services.get_ticket_by_reference(t, reference)
        agent, clerk = get_user_by_email(l1), get_user_by_email(requester)
        for n in range(turns):
            services.add_message(t, agent, ticket, body=f"Question {n}", attachments=[(f"s{n}.png", io.BytesIO(png))])
            services.add_message(t, clerk, ticket, body=f"Answer {n}")

    in_tenant(lambda t: talk(t, short, 1))
    in_tenant(lambda t: talk(t, long_, 15))
    auth.login(l1)
    for reference in (short, long_):  # what a first view reads once (the country, the categories, the article suggestions) is read
        client.get(f"/farajaland/tickets/{reference}")
    statements = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    counts = []
    for reference in (short, long_):
        statements.clear()
        page = client.get(f"/farajaland/tickets/{reference}").get_data(as_text=True)
        counts.append(len(statements))
    assert "s14.png" in page and "Answer 14" in page
    assert counts[1] == counts[0], counts


def test_a_reply_written_while_a_colleague_answered_is_held_until_read(app, client, auth, requester, l1, make_user, make_ticket):
    """Two agents on one request: the second sees the first's answer before sending theirs, and
    keeps their draft; sending it after reading goes through."""
    reference = make_ticket(subject="No SMS code")
    auth.login(l1)
    page = client.get(f"/farajaland/tickets/{reference}").get_data(as_text=True)
    seen = re.search(r'name="seen" type="hidden" value="(\d+)"', page).group(1)

    colleague = app.test_client()
    colleague.post("/farajaland/login", data={"email": make_user(role=Role.L1_AGENT, name="Omar Other"), "password": "correct-horse-battery"})
    colleague.post(f"/farajaland/tickets/{reference}/reply", data={"body": "Omar here: your number is fixed.", "visibility": "public", "status": ""})

    draft = {"body": "Please check your phone number.", "visibility": "public", "status": "", "seen": seen}
    held = client.post(f"/farajaland/tickets/{reference}/reply", data=draft)
    page = held.get_data(as_text=True)
    assert held.status_code == 409
    assert "Omar Other wrote on this ticket after you opened it" in page and "Omar here: your number is fixed." in page
    assert "Please check your phone number.</textarea>" in page  # the draft is kept
    assert page.count("Please check your phone number.") == 1  # and not sent
    newest = re.search(r'name="seen" type="hidden" value="(\d+)"', page).group(1)
    assert newest != seen
    sent = client.post(f"/farajaland/tickets/{reference}/reply", data={**draft, "seen": newest}, follow_redirects=True)
    assert "Your message is added." in sent.get_data(as_text=True)
    # One's own messages since never hold a reply back.
    again = client.post(f"/farajaland/tickets/{reference}/reply", data={**draft, "body": "And one more thing.", "seen": newest})
    assert again.status_code == 302
