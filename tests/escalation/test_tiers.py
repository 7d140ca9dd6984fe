"""A ticket's tiers as the ticket page shows them: every move recorded, each tier with its service level."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from portal.core.db import db, utcnow
from portal.escalation.models import TierStep
from portal.tickets import services as tickets
from portal.tickets.models import Ticket


def _panel(page: str) -> str:
    return page.split('class="escalation-panel')[1].split("</section>")[0]


def test_the_ticket_page_shows_each_tier_with_its_service_level(client, auth, staff, to_l3, in_tenant):
    reference, step_id = to_l3()

    def l2_was_late(t):  # the L2 period ended after its target
        first_up = db.session.scalar(db.select(TierStep).where(TierStep.to_tier == "L2"))
        first_up.due_at = first_up.created_at - dt.timedelta(minutes=1)
        db.session.commit()

    in_tenant(l2_was_late)
    auth.login(staff["far_l2"])
    panel = _panel(client.get(f"/farajaland/tickets/{reference}").get_data(as_text=True))
    assert "Now with Level 3 (central team)." in panel
    rows = panel.split("<tbody>")[1].split("</tr>")
    assert "L1" in rows[0] and "met" in rows[0]
    assert "L2" in rows[1] and "missed" in rows[1]
    assert "L3" in rows[2] and "running" in rows[2]
    assert "Send back to Level 2 (national technicians)" in panel  # L2 may take it back
    assert "answer from the central team" not in panel
    auth.logout()

    # An answer of the central team waits for L2 on the ticket page, until L2 relays it.
    auth.login(staff["expert"], tenant=None)
    client.post(f"/expert/escalations/{step_id}/reply", data={"body": "Please send the server logs."})
    auth.logout()
    auth.login(staff["far_l2"])
    panel = _panel(client.get(f"/farajaland/tickets/{reference}").get_data(as_text=True))
    assert "1 answer from the central team to relay" in panel
    page = client.get(f"/farajaland/tickets/{reference}/escalation").get_data(as_text=True)
    relay_url = page.split('class="relay-form"')[0].rsplit('action="', 1)[1].split('"')[0]
    client.post(relay_url, data={f"relay{relay_url.rsplit('/', 1)[1]}-body": "Could you send us the server logs?"})
    assert "to relay" not in _panel(client.get(f"/farajaland/tickets/{reference}").get_data(as_text=True))


def test_the_panel_offers_only_the_moves_the_reader_may_make(client, auth, staff, open_ticket, move_up):
    reference = open_ticket(staff["far_req"])
    auth.login(staff["far_l1"])
    panel = _panel(client.get(f"/farajaland/tickets/{reference}").get_data(as_text=True))
    assert "Hand to Level 2" in panel and "Send back" not in panel
    move_up(reference, staff["far_l1"])
    panel = _panel(client.get(f"/farajaland/tickets/{reference}").get_data(as_text=True))
    assert "Hand to Level 2" not in panel and "Escalate to" not in panel  # L1 does not send to L3
    assert client.get(f"/farajaland/tickets/{reference}").get_data(as_text=True).count('class="escalation-panel') == 1
    auth.logout()
    auth.login(staff["far_req"])
    assert "escalation-panel" not in client.get(f"/farajaland/tickets/{reference}").get_data(as_text=True)


def test_a_missed_target_hands_the_ticket_to_level_2_as_a_recorded_step(app, configure_tenant, client, auth, staff, open_ticket, in_tenant, read_ticket):
    reference = open_ticket(staff["far_req"])
    staff["far_l2"]  # the technician the ticket goes to
    configure_tenant("farajaland", "sla", on_breach="escalate")

    def overdue_then_check(t):
        db.session.execute(update(Ticket).values(first_response_due_at=utcnow() - dt.timedelta(hours=1)))
        db.session.commit()
        tickets.check_sla(t)

    in_tenant(overdue_then_check)
    status, tier, messages = read_ticket(reference)
    assert (status, tier) == ("escalated", "L2")
    assert any(not public and "The first-reply target was missed" in body for public, body in messages)
    assert not any(public and "target was missed" in body for public, body in messages)
    auth.login(staff["far_l2"])
    page = client.get(f"/farajaland/tickets/{reference}/escalation").get_data(as_text=True)
    history = page.split("<tbody>")[1].split("</tbody>")[0]
    assert "Level 2 (national technicians)" in history and "handed to Level 2 automatically" in history
    # Like any step, it can be undone with a reason.
    assert client.post(f"/farajaland/tickets/{reference}/escalation/down", data={"down-reason": "First line can answer this."}).status_code == 302
    assert read_ticket(reference)[:2] == ("open", "L1")


def test_tier_times_are_the_countrys_time_as_on_the_ticket_and_utc_on_central_pages(client, auth, staff, to_l3, in_tenant):
    reference, step_id = to_l3()

    def first_target(_t):  # Farajaland is UTC+2 (Africa/Lusaka)
        ticket = db.session.scalar(db.select(Ticket).where(Ticket.reference == reference))
        return ticket.resolution_due_at

    due = in_tenant(first_target)
    local, utc = (due + dt.timedelta(hours=2)).strftime("%H:%M"), due.strftime("%H:%M")  # 24-hour, as pages write it
    auth.login(staff["far_l2"])
    ticket_page = client.get(f"/farajaland/tickets/{reference}").get_data(as_text=True)
    history = client.get(f"/farajaland/tickets/{reference}/escalation").get_data(as_text=True)
    first_row = history.split("<tbody>")[1].split("</tr>")[0]
    assert local in first_row and local in ticket_page.split("Resolution due")[1].split("</dd>")[0]
    assert "UTC" not in history
    auth.logout()
    auth.login(staff["expert"], tenant=None)
    central = client.get(f"/expert/escalations/{step_id}").get_data(as_text=True)
    assert utc in central.split("<tbody>")[1].split("</tr>")[0] and "times in UTC" in central
    assert "times in UTC" in client.get("/expert/").get_data(as_text=True)


def test_level_2_starts_the_next_escalation_from_what_first_line_gave(client, auth, staff, open_ticket, move_up):
    reference = open_ticket(staff["far_req"])
    move_up(reference, staff["far_l1"], device="Itel A70", steps="Open the outbox; tap retry", severity="low", reason="Stuck for three days")
    auth.login(staff["far_l2"])
    page = client.get(f"/farajaland/tickets/{reference}/escalation").get_data(as_text=True)
    form = page.split('action="/farajaland/tickets/' + reference + '/escalation/up"')[1].split("</form>")[0]
    assert 'value="Itel A70"' in form and "Open the outbox; tap retry</textarea>" in form
    assert '<option selected value="low">' in form
    assert "Stuck for three days" not in form  # the reason to go further is Level 2's own


def test_a_ticket_routed_to_a_level_2_group_is_with_level_2_from_its_opening(client, auth, staff, in_tenant, read_ticket):
    staff["far_l1"], staff["far_l2"]

    def open_in_category(t):  # "Offline and sync" goes to the group "technical" (L2) in tenant.toml
        ticket = tickets.open_ticket(t, None, requester=tickets.find_or_create_contact(t, email="walkin@example.org", name="Walk In"),
                                     subject="Outbox stuck since the update", body="Nothing leaves the tablet.", category="offline-and-sync")
        return ticket.reference

    reference = in_tenant(open_in_category)
    status, tier, _messages = read_ticket(reference)
    assert (status, tier) == ("new", "L2")

    # The technician it went to sees it with Level 2 since its opening, and is offered the next level,
    # not a hand-off to their own tier.
    auth.login(staff["far_l2"])
    panel = _panel(client.get(f"/farajaland/tickets/{reference}").get_data(as_text=True))
    assert "Now with Level 2 (national technicians)." in panel
    assert "Hand to Level 2" not in panel and "Escalate to Level 3 (central team)" in panel
    page = client.get(f"/farajaland/tickets/{reference}/escalation").get_data(as_text=True)
    rows = page.split("<tbody>")[1].split("</tbody>")[0].split("</tr>")[:-1]
    assert len(rows) == 1 and "Level 2 (national technicians)" in rows[0] and "running" in rows[0]
    assert "Routed to Level 2 when it was opened: the category “Offline and sync” goes to National technical support." in rows[0]
    auth.logout()

    # First line neither holds it nor may hand it on; Level 2 may still send it down with a reason.
    auth.login(staff["far_l1"])
    panel = _panel(client.get(f"/farajaland/tickets/{reference}").get_data(as_text=True))
    assert "Hand to Level 2" not in panel and "Escalate to" not in panel
    auth.logout()
    auth.login(staff["far_l2"])
    assert client.post(f"/farajaland/tickets/{reference}/escalation/down", data={"down-reason": "A password question, for first line."}).status_code == 302
    assert read_ticket(reference)[:2] == ("open", "L1")


def test_a_ticket_of_a_first_line_category_stays_with_first_line(client, auth, staff, in_tenant, read_ticket):
    def open_in_category(t):
        ticket = tickets.open_ticket(t, None, requester=tickets.find_or_create_contact(t, email="walkin@example.org", name="Walk In"),
                                     subject="Code never arrives", body="No SMS.", category="access-and-login")
        return ticket.reference

    reference = in_tenant(open_in_category)
    assert read_ticket(reference)[:2] == ("new", "L1")
    auth.login(staff["far_l1"])
    page = client.get(f"/farajaland/tickets/{reference}/escalation").get_data(as_text=True)
    assert "Now with Level 1 (first line)." in page and "Routed to" not in page
