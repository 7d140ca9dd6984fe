"""Grouping escalations into problems: duplicate suggestions and the GitHub issue of a problem."""
from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import func, insert, select

from portal.core.db import db
from portal.escalation.models import Problem, ProblemTicket, TierStep
from portal.escalation.similarity import rank, tokens
from portal.tickets.models import Ticket
from tests.conftest import until_waiting


def test_similar_texts_rank_first_across_languages_and_word_forms():
    query = tokens("Declarations stuck in the outbox: failed to send after working offline")
    candidates = [
        tokens("Certificate preview is blank when printing"),
        tokens("Declaration stuck in outbox, sending failed after offline work"),
        tokens("Verification code SMS never arrives"),
    ]
    ranked = rank(query, candidates)
    assert ranked[0][0] == 1 and ranked[0][1] > 0.5
    assert all(index != 0 for index, _score in ranked)
    assert rank(tokens("Déclarations bloquées", "fr"), [tokens("déclaration bloquée", "fr")])[0][1] > 0.9


def test_the_console_suggests_duplicates_from_other_countries_and_links_them(client, auth, staff, to_l3):
    _far, far_step = to_l3(subject="Outbox never retries the declaration after a timeout", steps="Go offline; declare; reconnect", actual="The declaration stays in the outbox")
    kal_ref, kal_step = to_l3("kalondo", subject="Outbox never retries after timeout", steps="Offline declare reconnect", actual="Declaration stays in outbox")
    _other, _ = to_l3(subject="Certificate PDF does not open", steps="Print a certificate", actual="Blank page", expected="A PDF", impact="Printing stopped", reason="Printing defect")
    auth.login(staff["expert"], tenant=None)
    page = client.get(f"/expert/escalations/{far_step}").get_data(as_text=True)
    similar = page.split("Similar escalations")[1].split("</ul>")[0]
    assert kal_ref in similar and "Kalondo" in similar
    assert "Certificate PDF" not in similar

    response = client.post("/expert/problems", data={"title": "Outbox does not retry", "step_id": str(far_step)})
    assert response.status_code == 302
    problem_url = response.headers["Location"]
    page = client.get(f"/expert/escalations/{kal_step}").get_data(as_text=True)
    assert "Problems that look the same" in page and "Outbox does not retry" in page
    problem_id = problem_url.rstrip("/").rsplit("/", 1)[1]
    assert client.post(f"/expert/escalations/{kal_step}/link", data={"problem_id": problem_id}).status_code == 302
    detail = client.get(problem_url).get_data(as_text=True)
    assert "République du Kalondo" in detail and "Farajaland" in detail
    assert "not affected" not in detail



def test_an_escalation_sent_twice_as_a_new_problem_makes_one_problem(client, auth, staff, to_l3):
    _ref, step = to_l3(subject="Outbox never retries the declaration after a timeout")
    auth.login(staff["expert"], tenant=None)
    page = client.get(f"/expert/escalations/{step}").get_data(as_text=True)
    assert "New problem from this escalation" in page
    first = client.post("/expert/problems", data={"title": "Outbox does not retry", "step_id": str(step)})
    again = client.post("/expert/problems", data={"title": "Outbox does not retry", "step_id": str(step)}, follow_redirects=True)
    assert again.status_code == 200 and "already recorded as problem #" in again.get_data(as_text=True)
    problems = client.get("/expert/problems").get_data(as_text=True)
    assert problems.count("Outbox does not retry") == 1
    page = client.get(f"/expert/escalations/{step}").get_data(as_text=True)
    assert "New problem from this escalation" not in page and "unlink it on the problem" in page
    assert first.headers["Location"].rsplit("/", 1)[1] in page  # the problem it is recorded as


def test_a_new_problem_sent_while_another_is_being_made_waits_and_makes_none(app, client, auth, staff, to_l3):
    """Two experts (or one form sent twice) on two app servers: the second waits for the first's
    commit on the ticket's row, then finds the problem made. (SQLite runs one writer at a time.)"""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("row locks are PostgreSQL's")
    _ref, step = to_l3(subject="Outbox never retries the declaration after a timeout")
    auth.login(staff["expert"], tenant=None)
    with app.app_context(), db.engine.connect() as first:
        tenant_id, ticket_id = first.execute(select(TierStep.tenant_id, TierStep.ticket_id).where(TierStep.id == step)).one()
        first.execute(select(Ticket.id).where(Ticket.id == ticket_id).with_for_update())  # the first sending holds the ticket
        answer = {}
        second = threading.Thread(target=lambda: answer.update(response=client.post("/expert/problems", data={"title": "Outbox again", "step_id": str(step)}, follow_redirects=True)))
        second.start()
        until_waiting(first, "the second sending")
        problem_id = first.execute(insert(Problem.__table__).values(title="Outbox does not retry").returning(Problem.__table__.c.id)).scalar()
        first.execute(insert(ProblemTicket.__table__).values(tenant_id=tenant_id, problem_id=problem_id, ticket_id=ticket_id))
        first.commit()
        second.join(timeout=30)
    assert f"already recorded as problem #{problem_id}" in answer["response"].get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Problem)) == 1


class _FakeGitHub(BaseHTTPRequestHandler):
    """Issues of one repository, kept in memory: POST opens one, GET reads it; a test closes or
    reopens them by changing `issues` (as people would on GitHub)."""

    calls: list = []
    issues: dict = {}

    def _answer(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _issue(self, number: int) -> dict:
        return {"number": number, "html_url": f"https://github.example/opencrvs/core/issues/{number}", **self.issues[number]}

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("Content-Length", 0))
        self.calls.append(("POST", self.path, self.headers.get("Authorization"), json.loads(self.rfile.read(length))))
        number = 42 + len(self.issues)
        self.issues[number] = {"state": "open", "state_reason": None}
        self._answer(201, self._issue(number))

    def do_GET(self):  # noqa: N802
        self.calls.append(("GET", self.path, self.headers.get("Authorization"), None))
        number = int(self.path.rsplit("/", 1)[1])
        if number not in self.issues:
            self._answer(404, {"message": "Not Found"})
        else:
            self._answer(200, self._issue(number))

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_github():
    """A local stand-in for the GitHub REST API, on this branch's ports 8650-8659 (five per test worker)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    base = 8650 + (int("".join(c for c in worker if c.isdigit()) or 0) % 2) * 5
    server = None
    for port in range(base, base + 5):
        try:
            server = HTTPServer(("127.0.0.1", port), _FakeGitHub)
            break
        except OSError:
            continue
    assert server is not None, "no free port for the fake GitHub"
    _FakeGitHub.calls, _FakeGitHub.issues = [], {}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", _FakeGitHub
    server.shutdown()
    server.server_close()


@pytest.fixture
def github(app, fake_github):
    """The app talks to the fake GitHub; returns the fake (its `calls` and `issues`)."""
    base, hub = fake_github
    app.config.update(GITHUB_API_BASE=base, GITHUB_REPOSITORY="opencrvs/opencrvs-core", GITHUB_TOKEN="ghp_test")
    return hub


def test_a_problem_opens_and_follows_a_github_issue(app, client, auth, staff, to_l3, github, read_ticket, token_for):
    far_ref, far_step = to_l3(subject="Outbox never retries after a timeout")
    kal_ref, kal_step = to_l3("kalondo", subject="La boîte d'envoi ne renvoie jamais")
    auth.login(staff["expert"], tenant=None)
    created = client.post("/expert/problems", data={"title": "Outbox does not retry", "description": "Seen in two countries", "step_id": str(far_step)})
    problem_url = created.headers["Location"]
    problem_id = problem_url.rsplit("/", 1)[1]
    client.post(f"/expert/escalations/{kal_step}/link", data={"problem_id": problem_id})
    assert "Open a GitHub issue" in client.get(problem_url).get_data(as_text=True)
    assert client.post(f"{problem_url}/github").status_code == 302
    method, path, authorization, payload = github.calls[0]
    assert (method, path, authorization) == ("POST", "/repos/opencrvs/opencrvs-core/issues", "Bearer ghp_test")
    assert payload["title"] == "Outbox does not retry" and "Seen in two countries" in payload["body"]
    assert "Farajaland" in payload["body"] and "clerk@example.org" not in payload["body"]  # countries, never requesters
    page = client.get(problem_url).get_data(as_text=True)
    assert "GitHub #42" in page and "https://github.example/opencrvs/core/issues/42" in page and "GitHub #42: open" in page
    assert client.post(f"{problem_url}/github").status_code == 302  # a second issue is refused
    assert len([c for c in github.calls if c[0] == "POST"]) == 1

    # Nothing changed on GitHub: the sync says so and the problem stays open.
    result = app.test_cli_runner().invoke(args=["escalation", "github-sync"])
    assert "0 changed" in result.output

    # The core team merges the fix and closes the issue: the problem waits for a release.
    github.issues[42] = {"state": "closed", "state_reason": "completed"}
    result = app.test_cli_runner().invoke(args=["escalation", "github-sync"])
    assert "GitHub issue #42 is closed" in result.output and "Fixed, awaiting a release" in result.output
    assert github.calls[-1][:2] == ("GET", "/repos/opencrvs/opencrvs-core/issues/42")
    page = client.get(problem_url).get_data(as_text=True)
    assert AWAITING in page and "GitHub #42: closed" in page
    listing = client.get("/expert/problems").get_data(as_text=True)
    assert AWAITING in listing and "GitHub #42: closed" in listing
    console = client.get("/expert/").get_data(as_text=True)
    assert console.count("GitHub #42: closed") == 2  # on both countries' escalations
    api = client.get("/api/v1/escalations", headers={"Authorization": f"Bearer {token_for(staff['expert'])}"}).get_json()
    assert {(i["reference"], i["problems"][0]["status"], i["problems"][0]["github_state"]) for i in api["items"]} == {
        (far_ref, "awaiting_release", "closed"), (kal_ref, "awaiting_release", "closed")
    }
    # A closed issue resolves no ticket: only a country running a fixing release does.
    assert read_ticket(far_ref)[0] == "escalated" and read_ticket(kal_ref, "kalondo")[0] == "escalated"

    # The release that carries the fix is recorded: the problem follows the countries' upgrades.
    client.post("/expert/releases", data={"version": "1.9.0", "problems": [problem_id]})
    assert '<span class="badge problem-fix_released">Fix released</span>' in client.get(problem_url).get_data(as_text=True)
    assert read_ticket(far_ref)[0] == "escalated"  # Farajaland still runs 1.8.1


AWAITING = '<span class="badge problem-awaiting_release">Fixed, awaiting a release</span>'
OPEN = '<span class="badge problem-open">Open</span>'


def test_a_reopened_or_abandoned_issue_puts_the_problem_back_under_investigation(client, auth, staff, github):
    auth.login(staff["expert"], tenant=None)
    problem_url = client.post("/expert/problems", data={"title": "Outbox does not retry"}).headers["Location"]
    client.post(f"{problem_url}/github")
    github.issues[42] = {"state": "closed", "state_reason": "completed"}
    refreshed = client.post(f"{problem_url}/refresh", follow_redirects=True).get_data(as_text=True)
    assert "The GitHub issue is closed." in refreshed and AWAITING in refreshed

    github.issues[42] = {"state": "open", "state_reason": "reopened"}
    page = client.post(f"{problem_url}/refresh", follow_redirects=True).get_data(as_text=True)
    assert AWAITING not in page and OPEN in page and "GitHub #42: open" in page

    github.issues[42] = {"state": "closed", "state_reason": "not_planned"}
    page = client.post(f"{problem_url}/refresh", follow_redirects=True).get_data(as_text=True)
    assert "GitHub #42: closed, not planned" in page and OPEN in page

    # A status the central team sets by hand stays until the issue moves again.
    client.post(problem_url, data={"title": "Outbox does not retry", "status": "awaiting_release"})
    page = client.post(f"{problem_url}/refresh", follow_redirects=True).get_data(as_text=True)
    assert AWAITING in page


def test_github_failures_are_shown_not_raised(client, auth, staff, github, app):
    auth.login(staff["expert"], tenant=None)
    problem_url = client.post("/expert/problems", data={"title": "Outbox does not retry"}).headers["Location"]
    client.post(f"{problem_url}/github")
    github.issues.clear()  # the issue was deleted on GitHub
    page = client.post(f"{problem_url}/refresh", follow_redirects=True)
    assert page.status_code == 200 and "GitHub refused the request (HTTP 404)." in page.get_data(as_text=True)
    result = app.test_cli_runner().invoke(args=["escalation", "github-sync"])
    assert result.exit_code != 0 and "HTTP 404" in result.output


def test_without_github_settings_the_console_says_so(client, auth, staff):
    auth.login(staff["expert"], tenant=None)
    created = client.post("/expert/problems", data={"title": "Outbox does not retry"})
    response = client.post(f"{created.headers['Location']}/github", follow_redirects=True)
    assert "GitHub is not configured" in response.get_data(as_text=True)


def test_level_2_hears_when_the_fix_is_done_and_waits_for_a_release(app, client, auth, staff, to_l3, github, read_ticket):
    from portal.core.mail import sent_mail

    far_ref, far_step = to_l3(subject="Outbox never retries after a timeout")
    kal_ref, kal_step = to_l3("kalondo", subject="La boîte d'envoi ne renvoie jamais")
    auth.login(staff["expert"], tenant=None)
    problem_url = client.post("/expert/problems", data={"title": "Outbox does not retry", "step_id": str(far_step)}).headers["Location"]
    client.post(f"/expert/escalations/{kal_step}/link", data={"problem_id": problem_url.rsplit("/", 1)[1]})
    client.post(f"{problem_url}/github")
    github.issues[42] = {"state": "closed", "state_reason": "completed"}
    with app.app_context():
        before = len(sent_mail())
    assert "Fixed, awaiting a release" in app.test_cli_runner().invoke(args=["escalation", "github-sync"]).output

    status, _tier, far_messages = read_ticket(far_ref)
    assert status == "escalated"  # still open: only a release that the country runs resolves it
    assert (False, f"The fix for problem #{problem_url.rsplit('/', 1)[1]} “Outbox does not retry” is done and waits for "
                   "a release of OpenCRVS. This request will be resolved when Farajaland runs that release.") in far_messages
    _status, _tier, kal_messages = read_ticket(kal_ref, "kalondo")
    assert any(not public and "attend une version" in body for public, body in kal_messages)  # in Kalondo's French
    with app.app_context():
        mails = sent_mail()[before:]
    subjects = {(m["To"], m["Subject"]) for m in mails}
    assert (staff["far_l2"], f"[{far_ref}] Fixed, waiting for a release") in subjects
    assert any(to == staff["kal_l2"] and kal_ref in subject for to, subject in subjects)

    # Another sync with nothing new tells no one again.
    app.test_cli_runner().invoke(args=["escalation", "github-sync"])
    with app.app_context():
        assert len(sent_mail()) == before + len(mails)


def test_a_problem_set_by_hand_to_awaiting_release_tells_level_2_too(client, auth, staff, to_l3, read_ticket):
    far_ref, far_step = to_l3(subject="Printer driver crash")
    auth.login(staff["expert"], tenant=None)
    problem_url = client.post("/expert/problems", data={"title": "Printer driver crash", "step_id": str(far_step)}).headers["Location"]
    client.post(problem_url, data={"title": "Printer driver crash", "status": "awaiting_release"})
    _status, _tier, messages = read_ticket(far_ref)
    assert [body for public, body in messages if not public and "waits for a release" in body]


def _delivery(client, payload, secret="whsec_test", event="issues"):
    import json

    from tests.channels.conftest import sign

    body = json.dumps(payload).encode()
    return client.post("/expert/github/webhook", data=body, content_type="application/json",
                       headers={"X-GitHub-Event": event, "X-Hub-Signature-256": sign(body, secret)})


def test_the_github_webhook_moves_the_problem_at_once_when_signed(app, client, auth, staff, to_l3, github, read_ticket):
    far_ref, far_step = to_l3(subject="Outbox never retries after a timeout")
    auth.login(staff["expert"], tenant=None)
    problem_url = client.post("/expert/problems", data={"title": "Outbox does not retry", "step_id": str(far_step)}).headers["Location"]
    client.post(f"{problem_url}/github")
    auth.logout()
    closed = {"action": "closed", "repository": {"full_name": "opencrvs/opencrvs-core"},
              "issue": {"number": 42, "html_url": "https://github.example/opencrvs/core/issues/42", "state": "closed",
                        "state_reason": "completed"}}

    assert _delivery(client, closed).status_code == 404  # no GITHUB_WEBHOOK_SECRET: not set up
    app.config["GITHUB_WEBHOOK_SECRET"] = "whsec_test"
    assert _delivery(client, closed, secret="forged").status_code == 401
    assert _delivery(client, {"zen": "Keep it simple."}, event="ping").status_code == 200
    other_repository = {**closed, "repository": {"full_name": "someone/else"}}
    assert _delivery(client, other_repository).status_code == 202
    assert _delivery(client, {"action": "closed", "repository": closed["repository"]}).status_code == 400  # no issue
    _status, _tier, messages = read_ticket(far_ref)
    assert not [body for public, body in messages if "waits for a release" in body]  # nothing moved yet

    github.issues[42] = {"state": "closed", "state_reason": "completed"}  # what GitHub says when it tells us
    response = _delivery(client, closed)
    assert response.status_code == 200 and response.get_json()["issue"] == 42
    notes = lambda: [body for public, body in read_ticket(far_ref)[2] if not public and "waits for a release" in body]  # noqa: E731
    assert len(notes()) == 1
    # A late delivery of an older event (the issue still open then) changes nothing: the state is
    # read from GitHub, not from the delivery; a redelivery tells no one twice.
    stale = {**closed, "action": "labeled", "issue": {**closed["issue"], "state": "open", "state_reason": None}}
    assert _delivery(client, stale).status_code == 200
    assert _delivery(client, closed).status_code == 200
    assert len(notes()) == 1
    auth.login(staff["expert"], tenant=None)
    assert AWAITING in client.get(problem_url).get_data(as_text=True)


def test_without_the_github_api_the_webhook_acts_on_closing_and_reopening_only(app, client, auth, staff, to_l3, github, read_ticket):
    far_ref, far_step = to_l3(subject="Outbox never retries after a timeout")
    auth.login(staff["expert"], tenant=None)
    problem_url = client.post("/expert/problems", data={"title": "Outbox does not retry", "step_id": str(far_step)}).headers["Location"]
    client.post(f"{problem_url}/github")
    app.config.update(GITHUB_TOKEN="", GITHUB_WEBHOOK_SECRET="whsec_test")  # the secret and the repository only
    issue = {"number": 42, "html_url": "https://github.example/opencrvs/core/issues/42"}
    event = {"repository": {"full_name": "opencrvs/opencrvs-core"}}
    labeled = _delivery(client, {**event, "action": "labeled", "issue": {**issue, "state": "closed", "state_reason": "completed"}})
    assert labeled.status_code == 202
    assert OPEN in client.get(problem_url).get_data(as_text=True)
    closed = {**issue, "state": "closed", "state_reason": "completed", "updated_at": "2026-11-30T10:00:00Z"}
    assert _delivery(client, {**event, "action": "closed", "issue": closed}).status_code == 200
    assert AWAITING in client.get(problem_url).get_data(as_text=True)
    # Reopened at 10:05; the closing of 10:00 delivered again late (GitHub retries) is older news.
    reopened = {**issue, "state": "open", "state_reason": "reopened", "updated_at": "2026-11-30T10:05:00Z"}
    assert _delivery(client, {**event, "action": "reopened", "issue": reopened}).status_code == 200
    assert OPEN in client.get(problem_url).get_data(as_text=True)
    assert _delivery(client, {**event, "action": "closed", "issue": closed}).status_code == 200
    assert OPEN in client.get(problem_url).get_data(as_text=True)


def test_one_country_failing_to_hear_of_the_fix_does_not_keep_it_from_the_others(client, auth, staff, to_l3, read_ticket, monkeypatch):
    from portal.escalation import services

    far_ref, far_step = to_l3(subject="Printer driver crash")
    kal_ref, kal_step = to_l3("kalondo", subject="Le pilote de l'imprimante plante")
    auth.login(staff["expert"], tenant=None)
    problem_url = client.post("/expert/problems", data={"title": "Printer driver crash", "step_id": str(far_step)}).headers["Location"]
    client.post(f"/expert/escalations/{kal_step}/link", data={"problem_id": problem_url.rsplit("/", 1)[1]})
    real = services.note_fix_awaiting_release

    def flaky(tenant, problem_ids):
        if tenant.slug == "farajaland":
            raise RuntimeError("mail server down")
        return real(tenant, problem_ids)

    monkeypatch.setattr(services, "note_fix_awaiting_release", flaky)
    response = client.post(problem_url, data={"title": "Printer driver crash", "status": "awaiting_release"})
    assert response.status_code in (302, 303)
    assert [body for public, body in read_ticket(kal_ref, "kalondo")[2] if not public and "attend une version" in body]


def test_two_problems_found_to_be_one_defect_are_merged_with_their_tickets(client, auth, staff, to_l3):
    far_ref, far_step = to_l3(subject="Outbox never retries after a timeout")
    kal_ref, kal_step = to_l3("kalondo", subject="La boîte d'envoi ne renvoie jamais")
    auth.login(staff["expert"], tenant=None)
    keep = client.post("/expert/problems", data={"title": "Outbox does not retry", "step_id": str(far_step)}).headers["Location"]
    copy = client.post("/expert/problems", data={"title": "Boîte d'envoi bloquée", "step_id": str(kal_step)}).headers["Location"]
    keep_id, copy_id = keep.rsplit("/", 1)[1], copy.rsplit("/", 1)[1]
    page = client.get(copy).get_data(as_text=True)
    assert "Same defect as another problem?" in page and f'<option value="{keep_id}">' in page
    itself = client.post(f"{copy}/merge", data={"problem_id": copy_id}, follow_redirects=True).get_data(as_text=True)
    assert "Choose another problem to merge this one into." in itself
    merged = client.post(f"{copy}/merge", data={"problem_id": keep_id}, follow_redirects=True)
    page = merged.get_data(as_text=True)
    assert f"Problem #{copy_id} is merged into this one." in page
    assert far_ref in page and kal_ref in page  # both countries' tickets, on the problem kept
    assert client.get(copy).status_code == 404
    assert "Boîte d'envoi bloquée" not in client.get("/expert/problems").get_data(as_text=True)
    auth.logout()
    auth.login(staff["far_l1"])
    assert client.post(f"{keep}/merge", data={"problem_id": keep_id}).status_code in (302, 403, 404)
    assert client.get(keep).status_code in (302, 403, 404)


def test_a_new_problem_is_not_titled_with_the_countrys_ticket_subject(client, auth, staff, to_l3):
    """The problem's title reaches every country whose tickets are linked: it starts empty, with a
    reminder, rather than as one country's subject (which may name a requester or an office)."""
    _ref, step = to_l3(subject="Birth of Amani Banda at Ilanga office stuck in the outbox")
    auth.login(staff["expert"], tenant=None)
    page = client.get(f"/expert/escalations/{step}").get_data(as_text=True)
    form = page.split('action="/expert/problems"')[1].split("</form>")[0]
    title = next(tag for tag in form.split("<input")[1:] if 'name="title"' in tag).split(">")[0]
    assert "Amani" not in title and "outbox" not in title
    assert "no names or other personal data" in form


def test_a_problems_severity_is_shown_in_words_and_can_be_changed(client, auth, staff, to_l3):
    _ref, step = to_l3(subject="Outbox never retries after a timeout")  # escalated as "high"
    auth.login(staff["expert"], tenant=None)
    assert 'sev-high">High</span>' in client.get("/expert/").get_data(as_text=True)
    url = client.post("/expert/problems", data={"title": "Outbox does not retry", "severity": "high", "step_id": str(step)}).headers["Location"]
    assert 'sev-high">High</span>' in client.get(url).get_data(as_text=True)
    response = client.post(url, data={"title": "Outbox does not retry", "severity": "critical", "status": "open"})
    assert response.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert 'sev-critical">Critical</span>' in page and "sev-high" not in page
