"""Problems shared by countries, releases, deployed versions, and the roll-out that resolves tickets."""
from __future__ import annotations

import datetime as dt

import pytest

from portal.channels.services import work_once
from portal.core.db import db
from portal.core.mail import sent_mail
from portal.escalation import central
from portal.escalation.models import Problem, ProblemStatus
from portal.escalation.versions import carries_fix, first_fix_for
from portal.tenancy.services import get_tenant, sync_tenants
from tests.conftest import REPO, until_waiting

from .conftest import L3_DETAILS


# The days releases were made on, as the central team records them.
RELEASED_ON = {
    "1.7.4": dt.date(2026, 6, 1), "1.8.1": dt.date(2026, 9, 1), "1.9.0": dt.date(2026, 11, 15),
    "1.8.2": dt.date(2026, 12, 1), "1.9.1": dt.date(2026, 12, 10), "1.10.0": dt.date(2027, 2, 1),
}


@pytest.mark.parametrize(
    ("deployed", "fixes", "expected"),
    [
        ("1.8.1", ["1.8.2"], False),
        ("1.8.2", ["1.8.2"], True),
        ("1.8.10", ["1.8.2"], True),
        ("1.9.0", ["1.8.2", "1.9.1"], False),  # its own line has the fix later
        ("1.9.1", ["1.8.2", "1.9.1"], True),
        ("1.10.0", ["1.8.2", "1.9.1"], True),  # a newer line released after the fix carries it forward
        ("1.7.4", ["1.8.2"], False),
        ("1.9.0", [], False),
        ("1.9.0", ["1.8.2"], False),  # released on 15 November, before the fix was backported to 1.8.2 on 1 December
        ("1.9", ["1.8.2"], False),  # the same version written short
        ("1.9.1", ["1.8.2"], True),  # released on 10 December, after the fix
        ("1.9.3", ["1.8.2"], True),  # not recorded, but later on a line that had the fix in 1.9.1
        ("1.11.0", ["1.8.2"], False),  # no release of its line is recorded: not known to carry it
    ],
)
def test_which_versions_carry_a_fix(deployed, fixes, expected):
    assert carries_fix(deployed, fixes, RELEASED_ON) is expected


def test_the_version_to_upgrade_to_is_on_the_tenants_line_when_there_is_one():
    assert first_fix_for("1.8.1", ["1.9.1", "1.8.2"], RELEASED_ON) == "1.8.2"
    assert first_fix_for("1.7.4", ["1.9.1", "1.8.2"], RELEASED_ON) == "1.8.2"
    assert first_fix_for("1.9.0", ["1.8.2"], RELEASED_ON) == "1.9.1"  # 1.9.0 came before the backport
    assert first_fix_for("1.10.0", ["1.10.0"], RELEASED_ON) is None  # it runs the fix: nothing newer to name


@pytest.fixture
def shared_problem(app, staff, to_l3, open_ticket, move_up):
    """One defect escalated from both countries and grouped in one problem, plus unrelated escalations."""
    far_ref, far_step = to_l3(subject="Outbox never retries after a timeout")
    kal_ref, kal_step = to_l3("kalondo", subject="La boîte d'envoi ne renvoie jamais après un délai")
    other_ref, _other_step = to_l3(subject="Certificate preview is blank")
    with app.app_context():
        from portal.auth.services import get_user_by_email

        expert = get_user_by_email(staff["expert"])
        problem = central.create_problem(expert, title="Outbox does not retry after a timeout", step_ids=[far_step, kal_step])
        problem_id = problem.id
    return {"far": far_ref, "kal": kal_ref, "other": other_ref, "problem": problem_id}


def _report(client, token, slug, version):
    return client.put(f"/{slug}/api/v1/deployment", json={"version": version}, headers={"Authorization": f"Bearer {token}"})


def test_a_problem_spanning_two_countries_is_closed_for_each_as_it_upgrades(app, client, auth, staff, shared_problem, read_ticket, token_for):
    problem = shared_problem["problem"]
    admins = staff["far_admin"], staff["kal_admin"]
    auth.login(staff["expert"], tenant=None)
    page = client.get(f"/expert/problems/{problem}").get_data(as_text=True)
    assert shared_problem["far"] in page and shared_problem["kal"] in page
    assert "No release fixes it yet." in page

    # The fix is released on the 1.9 line; nobody runs it yet.
    response = client.post("/expert/releases", data={"version": "1.9.0", "released_on": "2026-11-30", "notes": "Outbox retries.", "problems": [str(problem)]})
    assert response.status_code == 302
    page = client.get(f"/expert/problems/{problem}").get_data(as_text=True)
    assert page.count("behind: needs 1.9.0") == 2
    assert read_ticket(shared_problem["far"])[0] == "escalated"
    with app.app_context():
        mails = sent_mail()
        assert all(any(m["To"] == admin and "1.9.0" in m["Subject"] for m in mails) for admin in admins)
        notice = next(m for m in mails if m["To"] == staff["far_admin"] and "1.9.0" in m["Subject"])
        assert "It fixes 1 problem reported by countries." in notice.get_content()
        assert "was released on 30 Nov 2026." in notice.get_content()  # the month named, not 2026-11-30

    # Farajaland upgrades: only its linked ticket is resolved, with notices to requester and L2.
    with app.app_context():
        mails_before = len(sent_mail())
    assert _report(client, token_for(staff["far_admin"]), "farajaland", "1.9.0").status_code == 200
    status, _tier, messages = read_ticket(shared_problem["far"])
    assert status == "resolved"
    assert any(public and "fixed in OpenCRVS 1.9.0" in body for public, body in messages)
    assert any(not public and "Resolved by the roll-out" in body for public, body in messages)
    with app.app_context():
        work_once()  # the requester's notice leaves through the channel outbox
        mails = sent_mail()[mails_before:]
    to_l2 = [m for m in mails if m["To"] == staff["far_l2"]]
    assert len(to_l2) == 1 and shared_problem["far"] in to_l2[0]["Subject"] and "1.9.0" in to_l2[0]["Subject"]
    assert "Outbox does not retry after a timeout" in to_l2[0].get_body(preferencelist=("plain",)).get_content()
    assert any(m["To"] == staff["far_req"] and "fixed in OpenCRVS 1.9.0" in m.get_body(preferencelist=("plain",)).get_content() for m in mails)
    assert not any(m["To"] in (staff["kal_l2"], staff["kal_req"]) for m in mails)  # Kalondo is not told yet
    assert read_ticket(shared_problem["other"])[0] == "escalated"  # not linked: untouched
    assert read_ticket(shared_problem["kal"], "kalondo")[0] == "escalated"  # not upgraded: untouched
    page = client.get(f"/expert/problems/{problem}").get_data(as_text=True)
    assert "resolved in 1.9.0" in page and page.count("behind: needs 1.9.0") == 1
    with app.app_context():
        assert db.session.get(Problem, problem).status == ProblemStatus.FIX_RELEASED.value

    # Kalondo upgrades: its requester is told in French, and the problem closes.
    assert _report(client, token_for(staff["kal_admin"]), "kalondo", "1.9.0").status_code == 200
    status, _tier, messages = read_ticket(shared_problem["kal"], "kalondo")
    assert status == "resolved"
    assert any(public and "Bonne nouvelle" in body and "OpenCRVS 1.9.0" in body and "Kalondo" in body for public, body in messages)
    assert any(not public and "Résolue par le déploiement" in body for public, body in messages)  # the note for L2, in French
    with app.app_context():
        assert db.session.get(Problem, problem).status == ProblemStatus.CLOSED.value
    assert shared_problem["far"] not in client.get("/expert/").get_data(as_text=True)


def test_a_release_resolves_at_once_where_the_fix_already_runs(app, client, auth, staff, shared_problem, read_ticket, token_for):
    # Farajaland upgraded to 1.8.2 before the central team recorded that 1.8.2 fixes the problem.
    _report(client, token_for(staff["far_admin"]), "farajaland", "1.8.2")
    assert read_ticket(shared_problem["far"])[0] == "escalated"
    auth.login(staff["expert"], tenant=None)
    client.post("/expert/releases", data={"version": "1.8.2", "problems": [str(shared_problem["problem"])]})
    assert read_ticket(shared_problem["far"])[0] == "resolved"
    assert read_ticket(shared_problem["kal"], "kalondo")[0] == "escalated"  # Kalondo's 1.7 line has no fix
    board = client.get("/expert/upgrades").get_data(as_text=True)
    assert "Kalondo" in board and "Outbox does not retry" in board


def test_deployment_api_needs_a_tenant_admin_token_and_a_version(client, staff, token_for):
    assert _report(client, "crvs_nonsense", "farajaland", "1.9.0").status_code == 401
    assert _report(client, token_for(staff["far_l2"]), "farajaland", "1.9.0").status_code == 403
    assert _report(client, token_for(staff["far_admin"]), "kalondo", "1.9.0").status_code == 403
    admin = token_for(staff["far_admin"])
    bad = _report(client, admin, "farajaland", "the latest")
    assert bad.status_code == 422 and "version number" in bad.get_json()["error"]["message"]
    assert client.put("/farajaland/api/v1/deployment", json={"version": 190}, headers={"Authorization": f"Bearer {admin}"}).status_code == 400
    ok = _report(client, admin, "farajaland", "v1.9.0")
    assert ok.get_json() == {"tenant": "farajaland", "version": "1.9.0", "changed": True}
    assert _report(client, admin, "farajaland", "1.9.0").get_json()["changed"] is False


def test_a_reported_version_wins_over_an_older_tenant_file(app, client, auth, staff, token_for):
    _report(client, token_for(staff["far_admin"]), "farajaland", "1.9.0")
    with app.app_context():
        sync_tenants(REPO / "tenants")  # the file still says 1.8.1
        tenant = get_tenant("farajaland")
        assert tenant.opencrvs_version == "1.9.0" and tenant.settings.opencrvs_version == "1.9.0"
    auth.login(staff["far_admin"])
    page = client.get("/farajaland/deployment").get_data(as_text=True)
    assert "runs OpenCRVS 1.9.0" in page and "1.8.1" in page  # the history shows the upgrade


def test_tenant_admins_see_new_releases_on_their_home_page(app, client, auth, staff):
    with app.app_context():
        from portal.auth.services import get_user_by_email

        central.record_release(get_user_by_email(staff["expert"]), version="1.9.1", released_on=None, notes="Hotfix")
    auth.login(staff["far_admin"])
    assert "OpenCRVS 1.9.1 is available." in client.get("/farajaland/").get_data(as_text=True)
    response = client.post("/farajaland/deployment", data={"version": "1.9.1"})
    assert response.status_code == 302
    assert "is available" not in client.get("/farajaland/").get_data(as_text=True)
    auth.logout()
    auth.login(staff["far_l2"])
    assert "is available" not in client.get("/farajaland/").get_data(as_text=True)
    assert client.get("/farajaland/deployment").status_code == 403


def test_the_operator_rollout_command_resolves_what_is_due(app, client, runner, staff, shared_problem, read_ticket, token_for):
    _report(client, token_for(staff["far_admin"]), "farajaland", "1.8.2")
    with app.app_context():
        problem = db.session.get(Problem, shared_problem["problem"])
        from portal.escalation.models import Release

        # Written straight into the database: no roll-out ran.
        db.session.add(Release(version="1.8.2", released_on=dt.date(2026, 11, 1), problems=[problem]))
        db.session.commit()
    assert read_ticket(shared_problem["far"])[0] == "escalated"
    result = runner.invoke(args=["escalation", "rollout"])
    assert shared_problem["far"] in result.output
    assert read_ticket(shared_problem["far"])[0] == "resolved"


def _board_row(board: str, country: str) -> str:
    return board.split(f"<td>{country}</td>")[1].split("</tr>")[0]


def test_the_upgrade_board_shows_every_countrys_version_and_the_fixes_it_waits_for(client, auth, staff, shared_problem, token_for):
    auth.login(staff["expert"], tenant=None)
    client.post("/expert/releases", data={"version": "1.9.0", "problems": [str(shared_problem["problem"])]})
    _report(client, token_for(staff["far_admin"]), "farajaland", "1.9.0")
    board = client.get("/expert/upgrades").get_data(as_text=True)
    farajaland, kalondo = _board_row(board, "Farajaland"), _board_row(board, "République du Kalondo")
    assert "1.9.0" in farajaland and "up to date" in farajaland and "Outbox does not retry" not in farajaland
    assert "1.7.4" in kalondo and "behind" in kalondo and "Outbox does not retry" in kalondo
    assert "from the configuration file" in kalondo and "from the configuration file" not in farajaland  # Farajaland reported its upgrade
    assert board.index("République du Kalondo") < board.index("Farajaland")  # the furthest behind first


def test_a_reported_version_is_filled_into_the_articles_search_finds(app, client, staff, token_for, tmp_path):
    from portal.kb import importer
    from tests.kb.conftest import CATEGORIES, article_file

    (tmp_path / "en").mkdir()
    (tmp_path / "categories.yaml").write_text(CATEGORIES, encoding="utf-8")
    (tmp_path / "en" / "which-version.md").write_text(article_file(
        "which-version", "Which version do we run", "en", "other", ["version"], "public",
        "The zanzibarite office runs OpenCRVS {{ tenant.opencrvs_version }} today.\n"), encoding="utf-8")
    with app.app_context():
        assert not importer.import_folder(tmp_path).problems
        db.session.commit()

    def snippet():
        [hit] = client.get("/farajaland/api/v1/kb/search?q=zanzibarite&lang=en").get_json()["results"]
        return hit["snippet"]

    assert "1.8.1" in snippet()
    assert _report(client, token_for(staff["far_admin"]), "farajaland", "1.9.0").status_code == 200
    assert "1.9.0" in snippet() and "1.8.1" not in snippet()


def test_a_version_reported_twice_at_once_resolves_each_ticket_once(app, staff, shared_problem, read_ticket, token_for):
    """The deployment script retries while its first report is still being applied: the second
    waits for the ticket's link, finds it done, and the requester hears of the fix once."""
    import threading

    from sqlalchemy import select, text, update

    from portal.core.db import utcnow
    from portal.escalation.models import Deployment, ProblemTicket

    with app.app_context():
        from portal.auth.services import get_user_by_email

        central.record_release(get_user_by_email(staff["expert"]), version="1.9.0", released_on=None, problem_ids=[shared_problem["problem"]])
        if db.engine.dialect.name != "postgresql":
            pytest.skip("row locks are PostgreSQL's")
    token = token_for(staff["far_admin"])
    with app.app_context(), db.engine.connect() as first_report:
        tenant_id = first_report.execute(text("SELECT id FROM tenants WHERE slug = 'farajaland'")).scalar_one()
        link_id = first_report.execute(select(ProblemTicket.id).where(ProblemTicket.tenant_id == tenant_id)).scalar_one()
        first_report.execute(select(ProblemTicket.id).where(ProblemTicket.id == link_id).with_for_update())
        answer = {}
        second = threading.Thread(target=lambda: answer.update(response=_report(app.test_client(), token, "farajaland", "1.9.0")))
        second.start()
        until_waiting(first_report, "the second report")
        first_report.execute(update(ProblemTicket).where(ProblemTicket.id == link_id).values(resolved_at=utcnow(), resolved_version="1.9.0"))
        first_report.commit()
        second.join(timeout=30)
    assert answer["response"].status_code == 200
    status, _tier, messages = read_ticket(shared_problem["far"])
    assert status == "escalated"  # the first report (here, the held transaction) resolves it, not the second
    assert not any("Good news" in body for _public, body in messages)
    with app.app_context(), db.engine.connect() as conn:
        assert conn.execute(select(Deployment.version).where(Deployment.tenant_id == tenant_id)).scalars().all() == ["1.9.0"]


def test_a_fix_backported_after_a_newer_line_was_released_is_not_in_that_release(client, auth, staff, shared_problem, read_ticket):
    """1.9.0 came out on 15 November; the fix was released for the 1.8 line in 1.8.2 on 1 December:
    a country upgrading to 1.9.0 does not have it, and is told to wait for a later 1.9 release."""
    problem = shared_problem["problem"]
    auth.login(staff["expert"], tenant=None)
    client.post("/expert/releases", data={"version": "1.9.0", "released_on": "2026-11-15"})
    client.post("/expert/releases", data={"version": "1.8.2", "released_on": "2026-12-01", "problems": [str(problem)]})
    auth.logout()

    auth.login(staff["far_admin"])
    assert client.post("/farajaland/deployment", data={"version": "1.9.0"}).status_code == 302
    status, _tier, messages = read_ticket(shared_problem["far"])
    assert status == "escalated" and not any("Good news" in body for _public, body in messages)
    auth.logout()
    auth.login(staff["expert"], tenant=None)
    farajaland = client.get(f"/expert/problems/{problem}").get_data(as_text=True).split("<td>Farajaland</td>")[1].split("</tr>")[0]
    assert "behind: no release of its line carries the fix yet" in farajaland and "needs 1.8.2" not in farajaland

    # 1.9.1, released after the backport, carries it forward.
    client.post("/expert/releases", data={"version": "1.9.1", "released_on": "2026-12-10"})
    farajaland = client.get(f"/expert/problems/{problem}").get_data(as_text=True).split("<td>Farajaland</td>")[1].split("</tr>")[0]
    assert "behind: needs 1.9.1" in farajaland
    auth.logout()
    auth.login(staff["far_admin"])
    client.post("/farajaland/deployment", data={"version": "1.9.1"})
    status, _tier, messages = read_ticket(shared_problem["far"])
    assert status == "resolved" and any(public and "fixed in OpenCRVS 1.9.1" in body for public, body in messages)


@pytest.fixture
def running_the_fix(client, auth, staff, shared_problem, token_for, read_ticket):
    """Farajaland upgraded to 1.9.0, the release that fixes the shared problem (its first ticket
    was resolved by the roll-out); the expert is signed in."""
    auth.login(staff["expert"], tenant=None)
    client.post("/expert/releases", data={"version": "1.9.0", "problems": [str(shared_problem["problem"])]})
    _report(client, token_for(staff["far_admin"]), "farajaland", "1.9.0")
    assert read_ticket(shared_problem["far"])[0] == "resolved"
    return shared_problem


def test_a_report_that_the_fix_does_not_work_is_left_to_the_central_team(client, auth, staff, running_the_fix, to_l3, read_ticket, in_tenant):
    from sqlalchemy import select

    from portal.escalation.models import TierStep
    from portal.tickets.models import Ticket

    problem = running_the_fix["problem"]
    still_stuck, stuck_step = to_l3(subject="Still stuck in the outbox after upgrading to 1.9.0")  # escalated on 1.9.0
    before_upgrade = running_the_fix["other"]  # escalated on 1.8.1, before the upgrade, and found to be the problem only after it
    before_step = in_tenant(lambda t: db.session.scalar(select(TierStep.id).join(Ticket, Ticket.id == TierStep.ticket_id)
                                                        .where(Ticket.reference == before_upgrade, TierStep.to_tier == "L3")))
    for step in (stuck_step, before_step):
        assert client.post(f"/expert/escalations/{step}/link", data={"problem_id": str(problem)}).status_code == 302

    # Anything that runs the roll-out: the administrator saving the version again, another release.
    auth.logout()
    auth.login(staff["far_admin"])
    saved = client.post("/farajaland/deployment", data={"version": "1.9.0"}, follow_redirects=True).get_data(as_text=True)
    assert "The version was already 1.9.0." in saved
    auth.logout()
    auth.login(staff["expert"], tenant=None)
    client.post("/expert/releases", data={"version": "1.9.1"})
    for reference in (still_stuck, before_upgrade):
        status, _tier, messages = read_ticket(reference)
        assert status == "escalated", reference
        assert not any("Good news" in body or "Resolved by the roll-out" in body for _public, body in messages)
    assert still_stuck in client.get("/expert/").get_data(as_text=True)


def test_a_ticket_reopened_after_the_roll_out_is_back_with_level_2(app, client, auth, staff, running_the_fix, read_ticket):
    reference = running_the_fix["far"]
    assert read_ticket(reference)[1] == "L2"  # the roll-out gave it back to the country
    auth.logout()
    auth.login(staff["far_req"])
    client.post(f"/farajaland/tickets/{reference}/reply", data={"body": "Sorry, it is still stuck in the outbox."})
    assert read_ticket(reference)[:2] == ("open", "L2")
    auth.logout()

    auth.login(staff["expert"], tenant=None)
    page = client.get(f"/expert/problems/{running_the_fix['problem']}").get_data(as_text=True)
    assert "reopened after the fix in 1.9.0" in page and "resolved in 1.9.0" not in page
    auth.logout()

    # Level 2 sees the move in the tier history, and can send it to the central team again.
    auth.login(staff["far_l2"])
    page = client.get(f"/farajaland/tickets/{reference}/escalation").get_data(as_text=True)
    assert "Resolved by the roll-out" in page and "Escalate to Level 3" in page
    with app.app_context():
        mails_before = len(sent_mail())
    data = {f"up-{key}": value for key, value in {**L3_DETAILS, "opencrvs_version": "1.9.0"}.items()}
    assert client.post(f"/farajaland/tickets/{reference}/escalation/up", data=data).status_code == 302
    assert read_ticket(reference)[:2] == ("escalated", "L3")
    with app.app_context():
        assert any(m["To"] == staff["expert"] and reference in m["Subject"] for m in sent_mail()[mails_before:])


def test_the_upgrade_board_waits_for_no_fix_a_country_runs(client, auth, staff, running_the_fix, to_l3):
    _ref, step = to_l3(subject="Still stuck in the outbox after upgrading to 1.9.0")
    client.post(f"/expert/escalations/{step}/link", data={"problem_id": str(running_the_fix["problem"])})  # left open: see above
    board = client.get("/expert/upgrades").get_data(as_text=True)
    assert "Outbox does not retry" not in _board_row(board, "Farajaland")
    assert "Outbox does not retry" in _board_row(board, "République du Kalondo")
    page = client.get(f"/expert/problems/{running_the_fix['problem']}").get_data(as_text=True)
    assert "runs a fixing version" in page.split("<td>Farajaland</td>")[1].split("</tr>")[0]


def test_merging_a_released_problem_into_an_open_one_rolls_the_fix_out(client, auth, staff, to_l3, read_ticket, token_for):
    far_ref, far_step = to_l3(subject="Outbox never retries after a timeout")
    kal_ref, kal_step = to_l3("kalondo", subject="La boîte d'envoi ne renvoie jamais")
    auth.login(staff["expert"], tenant=None)
    keep = client.post("/expert/problems", data={"title": "Outbox does not retry", "step_id": str(far_step)}).headers["Location"]
    copy = client.post("/expert/problems", data={"title": "Outbox stuck", "step_id": str(kal_step)}).headers["Location"]
    client.post("/expert/releases", data={"version": "1.9.0", "problems": [copy.rsplit("/", 1)[1]]})
    _report(client, token_for(staff["far_admin"]), "farajaland", "1.9.0")
    assert read_ticket(far_ref)[0] == "escalated"  # its problem had no release yet

    page = client.post(f"{copy}/merge", data={"problem_id": keep.rsplit("/", 1)[1]}, follow_redirects=True).get_data(as_text=True)
    assert "Fix released" in page and "1.9.0" in page.split("Fixed in")[1]
    assert read_ticket(far_ref)[0] == "resolved"  # Farajaland runs the fix the merged problem brought
    assert read_ticket(kal_ref, "kalondo")[0] == "escalated"  # Kalondo does not


def test_the_requester_hears_of_the_fix_in_the_language_of_their_request(app, staff, in_tenant, move_up, read_ticket, token_for, client):
    from portal.auth.services import get_user_by_email
    from portal.tickets import services as tickets

    def open_in_french(t):  # the requester's profile says English; they wrote this request in French
        user = get_user_by_email(staff["far_req"])
        contact = tickets.find_or_create_contact(t, user=user, locale="en")
        return tickets.open_ticket(t, user, requester=contact, subject="Déclaration bloquée", body="Elle reste dans la boîte d'envoi.", locale="fr").reference

    reference = in_tenant(open_in_french)
    move_up(reference, staff["far_l1"])
    step = move_up(reference, staff["far_l2"])
    with app.app_context():
        expert = get_user_by_email(staff["expert"])
        problem = central.create_problem(expert, title="Outbox does not retry", step_ids=[step])
        central.record_release(expert, version="1.9.0", released_on=None, problem_ids=[problem.id])
    _report(client, token_for(staff["far_admin"]), "farajaland", "1.9.0")
    status, _tier, messages = read_ticket(reference)
    public = [body for is_public, body in messages if is_public][1:]  # after the requester's own message
    assert status == "resolved" and len(public) == 2
    assert "Bonne nouvelle" in public[0] and "Good news" not in public[0]
    assert "Nous considérons" in public[1]


def test_a_release_written_short_is_the_same_release(client, auth, staff):
    auth.login(staff["expert"], tenant=None)
    assert client.post("/expert/releases", data={"version": "1.9.0"}).status_code == 302
    again = client.post("/expert/releases", data={"version": "1.9"})
    assert again.status_code == 409 and "Release 1.9.0 is already recorded." in again.get_data(as_text=True)
    assert client.get("/expert/releases").get_data(as_text=True).count("OpenCRVS 1.9") == 1
