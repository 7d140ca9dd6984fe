"""Who reaches what: the console is the central team's, and L3 sees only escalations to L3."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("who", ["far_l1", "far_l2", "far_admin", "far_req"])
def test_tenant_staff_cannot_reach_the_console(client, auth, staff, to_l3, who):
    _ref, step = to_l3()
    auth.login(staff[who])
    assert client.get("/expert/").status_code == 403
    assert client.get(f"/expert/escalations/{step}").status_code == 403
    assert client.get("/expert/problems").status_code == 403
    assert client.post("/expert/releases", data={"version": "9.9.9"}).status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/expert/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_console_lists_escalations_to_l3_from_every_country_and_nothing_else(client, auth, staff, to_l3, open_ticket, move_up):
    far_ref, _ = to_l3(subject="Outbox never retries")
    kal_ref, _ = to_l3("kalondo", subject="Déclaration bloquée dans la boîte d'envoi")
    at_l1 = open_ticket(staff["far_req"], subject="Forgot my PIN")
    at_l2 = open_ticket(staff["far_req"], subject="Printer misconfigured")
    l2_step = move_up(at_l2, staff["far_l1"])
    auth.login(staff["expert"], tenant=None)
    page = client.get("/expert/").get_data(as_text=True)
    assert far_ref in page and kal_ref in page
    assert "Farajaland" in page and "Kalondo" in page
    assert at_l1 not in page and at_l2 not in page
    assert "Forgot my PIN" not in page and "Printer misconfigured" not in page
    # A step that did not go to L3 is not reachable by id either.
    assert client.get(f"/expert/escalations/{l2_step}").status_code == 404
    only_kalondo = client.get("/expert/?tenant=kalondo").get_data(as_text=True)
    assert kal_ref in only_kalondo and far_ref not in only_kalondo
    searched = client.get("/expert/?q=bloquée").get_data(as_text=True)
    assert kal_ref in searched and far_ref not in searched
    short = kal_ref.split("-")[0].lower() + "-" + str(int(kal_ref.split("-")[1]))  # "kal-3", as said on the phone
    searched = client.get(f"/expert/?q={short}").get_data(as_text=True)
    assert kal_ref in searched and far_ref not in searched


def test_staff_cannot_see_another_countrys_escalation(client, auth, staff, to_l3):
    kal_ref, _ = to_l3("kalondo")
    auth.login(staff["far_l2"])
    assert client.get(f"/farajaland/tickets/{kal_ref}/escalation").status_code == 404
    assert client.get(f"/kalondo/tickets/{kal_ref}/escalation").status_code == 403
    assert client.post(f"/farajaland/tickets/{kal_ref}/escalation/up", data={"up-reason": "x"}).status_code == 404


def test_requesters_do_not_see_the_escalation_page(client, auth, staff, to_l3):
    ref, _ = to_l3()
    auth.login(staff["far_req"])
    assert client.get(f"/farajaland/tickets/{ref}/escalation").status_code == 403


def test_contact_details_are_masked_for_l3_unless_the_country_shares_them(app, client, auth, staff, to_l3, in_tenant, token_for):
    ref, step = to_l3(subject="Call me back on +260 97 765 4321", reason="The clerk (clerk@example.org) cannot send declarations.")
    auth.login(staff["expert"], tenant=None)
    page = client.get(f"/expert/escalations/{step}").get_data(as_text=True)
    assert "clerk@example.org" not in page and "123 4567" not in page and "765 4321" not in page
    assert "c•••@•••.org" in page and "•••••67" in page and "•••••21" in page
    console = client.get("/expert/").get_data(as_text=True)
    assert ref in console and "765 4321" not in console
    listed = client.get("/api/v1/escalations", headers={"Authorization": f"Bearer {token_for(staff['expert'])}"}).get_json()
    assert listed["items"][0]["subject"] == "Call me back on •••••21"

    def share(tenant):
        settings = dict(tenant.config)
        settings["privacy"] = {"share_contact_with_l3": True}
        tenant.config = settings
        from portal.core.db import db

        db.session.commit()

    in_tenant(share)
    page = client.get(f"/expert/escalations/{step}").get_data(as_text=True)
    assert "clerk@example.org" in page and "+260 97 765 4321" in page


def test_api_lists_escalations_for_l3_tokens_only(client, staff, to_l3, token_for):
    far_ref, _ = to_l3()
    kal_ref, _ = to_l3("kalondo", severity="critical")
    assert client.get("/api/v1/escalations").status_code == 401
    denied = client.get("/api/v1/escalations", headers={"Authorization": f"Bearer {token_for(staff['far_admin'])}"})
    assert denied.status_code == 403
    headers = {"Authorization": f"Bearer {token_for(staff['expert'])}"}
    data = client.get("/api/v1/escalations", headers=headers).get_json()
    assert {i["reference"] for i in data["items"]} == {far_ref, kal_ref}
    assert data["total"] == 2
    critical = client.get("/api/v1/escalations?severity=critical", headers=headers).get_json()
    assert [i["reference"] for i in critical["items"]] == [kal_ref]
    assert critical["items"][0]["tenant"] == "kalondo" and critical["items"][0]["opencrvs_version"] == "1.7.4"
    paged = client.get("/api/v1/escalations?per_page=1&page=2", headers=headers).get_json()
    assert len(paged["items"]) == 1 and paged["total"] == 2
    bad = client.get("/api/v1/escalations?severity=apocalyptic", headers=headers)
    assert bad.status_code == 400 and "severity" in bad.get_json()["error"]["message"]
    only_kalondo = client.get("/api/v1/escalations?tenant=kalondo", headers=headers).get_json()
    assert [i["reference"] for i in only_kalondo["items"]] == [kal_ref]
    searched = client.get(f"/api/v1/escalations?q={far_ref.lower()}", headers=headers).get_json()
    assert [i["reference"] for i in searched["items"]] == [far_ref]
    newest = client.get("/api/v1/escalations?sort=recent", headers=headers).get_json()
    assert [i["reference"] for i in newest["items"]] == [kal_ref, far_ref]
    for query in ("status=everything", "sort=random", "tenant=atlantis", "page=first", "per_page=0"):
        refused = client.get(f"/api/v1/escalations?{query}", headers=headers)
        assert refused.status_code == 400, query
    assert client.get("/api/v1/escalations?status=resolved", headers=headers).get_json()["total"] == 0


def test_api_status_filter_follows_escalations_sent_back_and_resolved(client, auth, staff, to_l3, token_for, in_tenant):
    returned_ref, returned_step = to_l3(subject="Sent back")
    resolved_ref, _ = to_l3(subject="Solved")
    open_ref, _ = to_l3(subject="Still with L3")
    auth.login(staff["expert"], tenant=None)
    client.post(f"/expert/escalations/{returned_step}/return", data={"down-reason": "Configuration, not a defect."})

    def resolve(t):
        from portal.auth.services import get_user_by_email
        from portal.tickets.services import change_status, get_ticket_by_reference

        change_status(t, get_user_by_email(staff["far_l2"]), get_ticket_by_reference(t, resolved_ref), "resolved")

    in_tenant(resolve)
    headers = {"Authorization": f"Bearer {token_for(staff['expert'])}"}
    by_status = {
        status: [i["reference"] for i in client.get(f"/api/v1/escalations?status={status}", headers=headers).get_json()["items"]]
        for status in ("open", "returned", "resolved", "all")
    }
    assert by_status["open"] == [open_ref] and by_status["returned"] == [returned_ref] and by_status["resolved"] == [resolved_ref]
    assert sorted(by_status["all"]) == sorted([open_ref, returned_ref, resolved_ref])


def test_the_central_team_does_not_reach_a_countrys_queue(client, auth, staff, to_l3, token_for, open_ticket):
    ref, step = to_l3()
    not_escalated = open_ticket(staff["far_req"], subject="Forgot my PIN")
    auth.login(staff["expert"], tenant=None)
    assert client.get(f"/expert/escalations/{step}").status_code == 200
    for path in ("/farajaland/tickets/queue", f"/farajaland/tickets/{ref}", f"/farajaland/tickets/{not_escalated}", f"/farajaland/tickets/{ref}/escalation"):
        assert client.get(path).status_code in (403, 404), path
    headers = {"Authorization": f"Bearer {token_for(staff['expert'])}"}
    assert client.get("/farajaland/api/v1/tickets", headers=headers).status_code == 403
    assert client.get(f"/farajaland/api/v1/tickets/{not_escalated}", headers=headers).status_code in (403, 404)


def test_platform_administrators_use_the_console(client, auth, make_user, to_l3):
    ref, step = to_l3()
    admin = make_user("root@crvs.demo", tenant=None, role=None, global_role="platform_admin")
    auth.login(admin, tenant=None)
    assert ref in client.get("/expert/").get_data(as_text=True)
    assert client.get(f"/expert/escalations/{step}").status_code == 200
    assert client.get("/expert/upgrades").status_code == 200


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Call me on +260 97 123 4567 or clerk@example.org", "Call me on •••••67 or c•••@•••.org"),
        ("Phone:0971234567, desk 123-4567", "Phone:•••••67, desk •••••67"),
        # What the central team needs stays: dates, times and versions are not phone numbers.
        ("Since 2026-11-30 10:15:02.123456 on OpenCRVS 1.8.1 (2024)", "Since 2026-11-30 10:15:02.123456 on OpenCRVS 1.8.1 (2024)"),
        ("30/11/2026 then 097 123 4567", "30/11/2026 then •••••67"),
        ("since 2026-11-30 097 123 4567", "since 2026-11-30 •••••67"),
    ],
)
def test_masking_hides_contacts_but_not_dates_or_versions(text, shown):
    from portal.escalation.services import mask_text

    assert mask_text(text) == shown


def test_an_escalation_resolved_in_time_is_met_however_long_ago(client, auth, staff, to_l3, token_for, in_tenant):
    """Level 2 solved it while it was with the central team: its time there ended then, for the
    console and the API as for the ticket's tier history."""
    import datetime as dt

    from portal.core.db import db, utcnow
    from portal.escalation.models import TierStep

    reference, step_id = to_l3(subject="Solved by Level 2")
    auth.login(staff["far_l2"])
    client.post(f"/farajaland/tickets/{reference}/reply", data={"body": "Clearing the cache fixed it.", "visibility": "public", "status": "resolved"})

    def long_ago(t):  # escalated five days ago with three days to solve it, solved after one
        now = utcnow()
        step = db.session.get(TierStep, step_id)
        step.created_at, step.due_at = now - dt.timedelta(days=5), now - dt.timedelta(days=2)
        step.ticket.resolved_at = now - dt.timedelta(days=4)
        db.session.commit()

    in_tenant(long_ago)
    auth.logout()
    auth.login(staff["expert"], tenant=None)
    row = client.get("/expert/?status=resolved").get_data(as_text=True).split(f">{reference}</a>")[1].split("</tr>")[0]
    assert "met" in row and "missed" not in row
    [item] = client.get("/api/v1/escalations?status=resolved", headers={"Authorization": f"Bearer {token_for(staff['expert'])}"}).get_json()["items"]
    assert (item["sla"], item["age_hours"]) == ("met", 24.0)
