"""Grouping escalations into problems: duplicate suggestions and the GitHub issue of a problem."""
from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from portal.escalation.similarity import rank, tokens


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


class _FakeGitHub(BaseHTTPRequestHandler):
    calls: list = []

    def _answer(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("Content-Length", 0))
        self.calls.append(("POST", self.path, self.headers.get("Authorization"), json.loads(self.rfile.read(length))))
        self._answer(201, {"number": 42, "html_url": "https://github.example/opencrvs/core/issues/42", "state": "open"})

    def do_GET(self):  # noqa: N802
        self.calls.append(("GET", self.path, self.headers.get("Authorization"), None))
        self._answer(200, {"number": 42, "html_url": "https://github.example/opencrvs/core/issues/42", "state": "closed"})

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_github():
    """A local stand-in for the GitHub REST API, on a port of this branch's range (one per worker)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    base = 8600 + int("".join(c for c in worker if c.isdigit()) or 0) * 10
    server = None
    for port in range(base, base + 10):
        try:
            server = HTTPServer(("127.0.0.1", port), _FakeGitHub)
            break
        except OSError:
            continue
    assert server is not None, "no free port for the fake GitHub"
    _FakeGitHub.calls = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", _FakeGitHub.calls
    server.shutdown()
    server.server_close()


def test_a_problem_opens_and_follows_a_github_issue(make_app, make_user, fake_github, runner):
    base, calls = fake_github
    app = make_app(GITHUB_API_BASE=base, GITHUB_REPOSITORY="opencrvs/opencrvs-core", GITHUB_TOKEN="ghp_test")
    expert = make_user("expert@crvs.demo", tenant=None, role=None, global_role="l3_expert")
    client = app.test_client()
    client.post("/login", data={"email": expert, "password": "correct-horse-battery"})
    created = client.post("/expert/problems", data={"title": "Outbox does not retry", "description": "Seen in two countries"})
    problem_url = created.headers["Location"]
    assert "Open a GitHub issue" in client.get(problem_url).get_data(as_text=True)
    assert client.post(f"{problem_url}/github").status_code == 302
    method, path, authorization, payload = calls[0]
    assert (method, path, authorization) == ("POST", "/repos/opencrvs/opencrvs-core/issues", "Bearer ghp_test")
    assert payload["title"] == "Outbox does not retry" and "Seen in two countries" in payload["body"]
    page = client.get(problem_url).get_data(as_text=True)
    assert "GitHub #42" in page and "https://github.example/opencrvs/core/issues/42" in page
    assert client.post(f"{problem_url}/github").status_code == 302  # a second issue is refused
    assert len([c for c in calls if c[0] == "POST"]) == 1
    result = app.test_cli_runner().invoke(args=["escalation", "github-sync"])
    assert "is closed" in result.output
    assert calls[-1][:2] == ("GET", "/repos/opencrvs/opencrvs-core/issues/42")
    assert ">closed<" in client.get(problem_url).get_data(as_text=True)


def test_without_github_settings_the_console_says_so(client, auth, staff):
    auth.login(staff["expert"], tenant=None)
    created = client.post("/expert/problems", data={"title": "Outbox does not retry"})
    response = client.post(f"{created.headers['Location']}/github", follow_redirects=True)
    assert "GitHub is not configured" in response.get_data(as_text=True)
