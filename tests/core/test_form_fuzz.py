"""Hostile input to the HTML forms and pages: a clear 4xx or the form again, never a 500 or lost data.

Each form route is posted, as a user allowed to use it, a valid submission with one field replaced
by what a careless client or an attacker may send: 100,000 characters, NUL characters and lone
surrogates (percent-encoded, as a browser cannot but a script can), bytes that are not UTF-8,
numbers no database holds, impossible dates, unknown choices, markup, right-to-left and zero-width
characters, the field missing or given twice. Pages with query arguments get odd ones too. Markup
always comes back escaped, and a valid but odd text (any Unicode a person can type) is stored as sent.
The webhooks (tests/channels/test_webhook_fuzz.py) and the JSON API (tests/e2e/test_api_contract.py)
are fuzzed on their own.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

import pytest
from argon2 import PasswordHasher
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from portal.auth import services as auth_services
from portal.auth.permissions import GlobalRole, Role
from portal.core.db import db, tenant_scope
from portal.escalation import services as escalation
from portal.kb import importer
from portal.kb import services as kb
from portal.tenancy.forms import SECTION_FORMS
from portal.tenancy.services import get_tenant
from portal.tickets import services as tickets
from portal.tickets.models import Category, Ticket
from tests.conftest import AuthActions
from tests.escalation.conftest import L3_DETAILS
from tests.kb.conftest import write_library

SCRIPT = "<script>alert('fuzz')</script>"
# Values put in one field at a time (urlencoded as any client would).
HOSTILE = [
    "x" * 100_000,
    str(2**63),  # one more than the largest row id
    "²",  # a digit to str.isdigit(), not to int()
    "-1",
    "9999-99-99",
    SCRIPT,
    "\u202eevil\u200b\u200f",
    "not-a-choice",
]
# Values only a raw body can carry: NUL, and a lone surrogate (CESU-8, as a script may send it).
RAW = ["a%00b", "%ED%A0%80"]
# Found by this module in code another change owns (portal/escalation): skipped here, pinned as
# expected failures below until fixed there.
# Once failing in portal/escalation (an unbounded LIKE, numbers read with type=int): fixed, kept as regressions.
ESCALATION_CASES = {("problems", "q", "x" * 100_000), ("problem-new", "step_id", str(2**63)), ("expert-link", "problem_id", str(2**63))}

FUZZ = settings(
    max_examples=10,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass
class Form:
    """One form (or page with query arguments): who may use it, where, and a valid submission."""

    role: str
    method: str
    path: str
    data: dict[str, str] = field(default_factory=dict)
    extra: tuple[str, ...] = ()  # fields the view reads that the valid submission leaves out
    before: object = None  # called with the client before each submission (what the form needs first)


class Desk:
    """Farajaland with people of every role, tickets, an escalation to L3, a problem and some content."""

    PEOPLE = {
        "requester": dict(email="clerk@example.org", role=Role.REQUESTER),
        "l1": dict(email="l1@farajaland.demo", role=Role.L1_AGENT),
        "l2": dict(email="l2@farajaland.demo", role=Role.L2_TECHNICIAN),
        "admin": dict(email="admin@farajaland.demo", role=Role.TENANT_ADMIN),
        "expert": dict(email="expert@crvs.demo", tenant=None, role=None, global_role=GlobalRole.L3_EXPERT),
        "platform": dict(email="platform@crvs.demo", tenant=None, role=None, global_role=GlobalRole.PLATFORM_ADMIN),
    }

    def __init__(self, app, make_user, tmp_path):
        self.app = app
        self.emails = {name: make_user(**person) for name, person in self.PEOPLE.items()}
        with app.app_context():
            importer.import_folder(write_library(tmp_path / "library"))
            tenant = get_tenant("farajaland")
            with tenant_scope(db.session, tenant.id):
                user = auth_services.get_user_by_email(self.emails["requester"])
                contact = tickets.find_or_create_contact(tenant, user=user)
                opened = [tickets.open_ticket(tenant, user, requester=contact, subject=f"Ticket {n}", body="The code never arrives.") for n in range(3)]
                self.ticket, self.other, self.escalated = (t.reference for t in opened)
                self.rating_token = tickets.rating_token(tenant, opened[0])
                for actor in ("l1", "l2"):
                    step = escalation.escalate_ticket(tenant, auth_services.get_user_by_email(self.emails[actor]), opened[2], dict(L3_DETAILS))
                self.step_id = step.id
                admin = auth_services.get_user_by_email(self.emails["admin"])
                self.canned_id = tickets.save_canned(tenant, admin, title="Hello", locale="en", body="Hello {{ country.name }}").id
                # A country's copy of a generic article, for "Use generic" to ask about (and drop).
                kb.save_article(tenant, admin, "password-reset", "en", kb.Draft("Our reset", "Call us.", "access-and-login", [], "public", "published"))
                self.category_id = db.session.scalar(select(Category.id).order_by(Category.id).limit(1))
                self.membership_id = auth_services.membership_for(user, tenant).id
                self.l1_id = auth_services.get_user_by_email(self.emails["l1"]).id
            self.reset_token = auth_services.make_reset_token(auth_services.get_user_by_email(self.emails["requester"]))
            db.session.commit()
        self.clients = {}

    def client(self, role: str):
        """A test client signed in as `role` (or anonymous), made once."""
        if role not in self.clients:
            client = self.app.test_client()
            if role != "anonymous":
                global_role = self.PEOPLE[role].get("global_role")
                AuthActions(client).login(self.emails[role], tenant=None if global_role else "farajaland")
            self.clients[role] = client
        return self.clients[role]

    def problem_id(self) -> int:
        client = self.client("expert")
        response = client.post("/expert/problems", data={"title": "Outbox stuck", "step_id": str(self.step_id)})
        assert response.status_code == 302, response.status_code
        return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])

    def settings_form(self, section: str) -> dict[str, str]:
        """A section of the country settings page as sent with its values now (the working days: Monday)."""
        with self.app.app_context():
            tenant = get_tenant("farajaland")
            values = SECTION_FORMS[section].initial(tenant.settings)
            data = {"section": section, f"{section}-version": tenant.row_version}
        for name, value in values.items():
            if value is not False:
                data[f"{section}-{name}"] = "y" if value is True else "mon" if isinstance(value, list) else value
        return data

    def forms(self) -> dict[str, Form]:
        t, ref = "/farajaland", self.ticket
        article = "code-not-received"
        escalate = {f"up-{k}": v for k, v in {**L3_DETAILS, "opencrvs_version": "1.9.0"}.items()}
        m, c = f"m{self.membership_id}", f"c{self.category_id}"
        problem = self.problem_id()
        return {
            "login": Form("anonymous", "POST", f"{t}/login", {"email": "nobody@example.org", "password": "wrong-password", "next": "/farajaland/"}, ("remember",)),
            "forgot": Form("anonymous", "POST", f"{t}/password/forgot", {"email": "nobody@example.org"}),
            "reset": Form("anonymous", "POST", f"{t}/password/reset/{self.reset_token}", {"password": "a-new-long-password", "confirm": "a-new-long-password"}),
            "language": Form("anonymous", "POST", f"{t}/language", {"lang": "fr", "next": "/farajaland/"}),
            "language-get": Form("anonymous", "GET", f"{t}/language", {"lang": "fr", "next": "/farajaland/"}),
            "language-signed-in": Form("requester", "POST", f"{t}/language", {"lang": "fr", "next": "/farajaland/"}),
            "kb-search": Form("anonymous", "GET", f"{t}/kb/search", {"q": "code", "category": "access-and-login"}),
            "kb-article": Form("anonymous", "GET", f"{t}/kb/articles/{article}", {"sid": "1"}),
            "kb-feedback": Form("anonymous", "POST", f"{t}/kb/articles/{article}/feedback", {"helpful": "no", "comment": "More detail."}),
            "assistant": Form("anonymous", "POST", f"{t}/assistant", {"message": "the verification code does not arrive"}),
            "assistant-handover": Form("anonymous", "POST", f"{t}/assistant/handover", {"handover-name": "Awa", "handover-email": "awa@example.org", "handover-phone": "+260 97 1"},
                                       before=lambda client: client.post(f"{t}/assistant", data={"message": "the code does not arrive"})),
            "assistant-solved": Form("anonymous", "POST", f"{t}/assistant/solved"),
            "assistant-new": Form("anonymous", "POST", f"{t}/assistant/new"),
            "logout": Form("anonymous", "POST", f"{t}/logout"),
            "rate-by-link": Form("anonymous", "POST", f"{t}/tickets/{ref}/rate/{self.rating_token}", {"rating": "4", "comment": "Quick."}),
            "ticket-new": Form("requester", "POST", f"{t}/tickets/new", {"subject": "Printer jams", "body": "It jams on page two.", "category": "", "office": "", "kb_suggestion_opened": "0"}),
            "reply": Form("requester", "POST", f"{t}/tickets/{ref}/reply", {"body": "Any news?"}, ("visibility", "status")),
            "rate": Form("requester", "POST", f"{t}/tickets/{ref}/rate", {"rating": "5", "comment": "Thanks."}),
            "close": Form("requester", "POST", f"{t}/tickets/{self.other}/close"),
            "profile": Form("requester", "POST", f"{t}/profile", {"profile-name": "Clara", "profile-phone": "+260 97 000", "profile-submit": "1"}),
            "password": Form("requester", "POST", f"{t}/profile", {"pw-current": "wrong", "pw-password": "another-long-one", "pw-confirm": "another-long-one", "pw-submit": "1"}),
            "token-new": Form("requester", "POST", f"{t}/profile/tokens", {"token-name": "deployment script"}),
            "token-revoke": Form("requester", "POST", f"{t}/profile/tokens/999999/revoke"),
            "sign-ins-end": Form("requester", "POST", f"{t}/profile/sign-ins/end"),
            "mine": Form("requester", "GET", f"{t}/tickets/mine", {"page": "1"}),
            "detail": Form("l1", "GET", f"{t}/tickets/{ref}", {"canned": str(self.canned_id)}),
            "queue": Form("l1", "GET", f"{t}/tickets/queue", {"view": "all", "status": "new", "category": "", "priority": "normal", "assignee": "none", "q": "code", "page": "1"}, ("sort", "per_page")),
            "update": Form("l1", "POST", f"{t}/tickets/{ref}/update", {"status": "open", "priority": "high", "category": "", "assignee": "", "group": "", "office": "HQ"}),
            "staff-reply": Form("l1", "POST", f"{t}/tickets/{ref}/reply", {"body": "Looking.", "visibility": "internal", "status": "pending"}),
            "bulk": Form("l1", "POST", f"{t}/tickets/bulk", {"refs": ref, "action": "priority", "value": "high", "back": "/farajaland/tickets/queue"}),
            "bulk-assign": Form("l1", "POST", f"{t}/tickets/bulk", {"refs": ref, "action": "assign", "value": "none"}),
            "merge": Form("l1", "POST", f"{t}/tickets/{ref}/merge", {"target": "FAR-999999"}),
            "take": Form("l1", "POST", f"{t}/tickets/{ref}/take"),
            "canned": Form("l1", "POST", f"{t}/tickets/canned", {"title": "Greeting", "locale": "en", "body": "Hello {{ country.name }}"}),
            "canned-edit": Form("l1", "POST", f"{t}/tickets/canned/{self.canned_id}", {"title": "Greeting", "locale": "en", "body": "Hi"}, ("retire",)),
            "kb-new": Form("l1", "POST", f"{t}/kb/manage/new?locale=en", {"locale": "en", "slug": "fuzz-article", "title": "Fuzz", "body": "Text", "category": "other", "tags": "a, b", "audience": "public", "status": "draft", "preview": "1"}),
            "kb-new-locale": Form("l1", "GET", f"{t}/kb/manage/new", {"locale": "en"}),
            "kb-edit": Form("l1", "POST", f"{t}/kb/manage/{article}/en", {"title": "Code", "body": "Wait.", "category": "other", "tags": "sms", "audience": "public", "status": "published", "preview": "1"}),
            "kb-revert": Form("l1", "POST", f"{t}/kb/manage/password-reset/revert", extra=("confirm",)),
            "kb-restore": Form("l1", "POST", f"{t}/kb/manage/{article}/en/restore/1"),
            "kb-visibility": Form("l1", "POST", f"{t}/kb/manage/{article}/visibility", {"hide": "0"}),
            "assistant-example": Form("l1", "POST", f"{t}/assistant/examples?article={article}", {"question": "the code never comes", "locale": "en"}),
            "assistant-gap": Form("l1", "POST", f"{t}/assistant/examples", {"question": "how do I register a marriage", "locale": "fr"}),
            "assistant-example-remove": Form("l1", "POST", f"{t}/assistant/examples/999999/remove"),
            "insights": Form("l1", "GET", f"{t}/insights/", {"start": "2024-01-01", "end": "2024-03-31"}),
            "insights-report": Form("l1", "GET", f"{t}/insights/report", {"month": "2024-01"}),
            "insights-export": Form("l1", "GET", f"{t}/insights/export/topics.csv", {"start": "2024-01-01", "end": "2024-03-31"}),
            "insights-link": Form("l1", "POST", f"{t}/insights/tickets/{ref}/article", {"article_ref": article, "article_title": ""}),
            "escalate": Form("l1", "POST", f"{t}/tickets/{ref}/escalation/up", escalate),
            "relay": Form("l2", "POST", f"{t}/tickets/{self.escalated}/escalation/relay/1", {"relay1-body": "Fixed in 1.9.1."}),
            "deescalate": Form("l2", "POST", f"{t}/tickets/{self.escalated}/escalation/down", {"down-reason": ""}),
            "members": Form("admin", "POST", f"{t}/members", {"email": "new@example.org", "name": "New", "role": "l1_agent", "job_title": "Clerk", "office": "HQ", "groups": "first-line"}),
            "member-edit": Form("admin", "POST", f"{t}/members/{self.membership_id}", {f"{m}-role": "requester", f"{m}-is_active": "y"}),
            "member-invitation": Form("admin", "POST", f"{t}/members/{self.membership_id}/invitation"),
            "member-details": Form("admin", "POST", f"{t}/members/{self.membership_id}/details", {"details-name": "Clerk One", "details-job_title": "Clerk", "details-office": "Ibombo District Office"}),
            "group-members": Form("admin", "POST", f"{t}/tickets/groups/first-line", {"group-first-line-members": str(self.l1_id)}),
            "category": Form("admin", "POST", f"{t}/tickets/categories/{self.category_id}", {f"{c}-group": "", f"{c}-is_active": "1", f"{c}-name-en": "Access"}),
            "deployment": Form("admin", "POST", f"{t}/deployment", {"version": "1.9.0"}),
            **{f"settings-{section}": Form("admin", "POST", f"{t}/settings", self.settings_form(section)) for section in SECTION_FORMS},
            "settings-reset": Form("admin", "POST", f"{t}/settings/reset", {"key": "support.phone", "version": self.settings_form("sla")["sla-version"]}),
            "console": Form("expert", "GET", "/expert/", {"tenant": "farajaland", "severity": "high", "status": "open", "q": "outbox", "sort": "due", "page": "1"}),
            "problems": Form("expert", "GET", "/expert/problems", {"status": "open", "q": "outbox"}),
            "problem-new": Form("expert", "POST", "/expert/problems", {"title": "Outbox", "description": "", "severity": "", "external_url": "", "step_id": str(self.step_id)}),
            "problem-edit": Form("expert", "POST", f"/expert/problems/{problem}", {"title": "Outbox", "description": "", "external_url": "", "status": "open"}),
            "releases": Form("expert", "POST", "/expert/releases", {"version": "1.9.1", "released_on": "2024-05-01", "notes": ""}, ("problems",)),
            "expert-link": Form("expert", "POST", f"/expert/escalations/{self.step_id}/link", {"problem_id": "0"}),
            "expert-reply": Form("expert", "POST", f"/expert/escalations/{self.step_id}/reply", {"body": ""}),
            "expert-return": Form("expert", "POST", f"/expert/escalations/{self.step_id}/return", {"down-reason": ""}),
            "expert-owner": Form("expert", "POST", f"/expert/escalations/{self.step_id}/owner", {"owner": "none", "seen": "none"}),
            "problem-github": Form("expert", "POST", f"/expert/problems/{problem}/github"),
            "problem-refresh": Form("expert", "POST", f"/expert/problems/{problem}/refresh"),
            "problem-unlink": Form("expert", "POST", f"/expert/problems/{problem}/unlink/1"),
            "problem-merge": Form("expert", "POST", f"/expert/problems/{problem}/merge", {"problem_id": "0"}),
            "expert-insights": Form("expert", "GET", "/expert/insights", {"start": "2024-01-01", "end": "2024-03-31"}),
            "library-edit": Form("platform", "POST", f"{t}/kb/library/{article}/en", {"title": "Code", "body": "Wait.", "category": "other", "tags": "", "audience": "public", "status": "published", "preview": "1"}),
            "library-restore": Form("platform", "POST", f"{t}/kb/library/{article}/en/restore/1"),
            "library-new": Form("platform", "POST", f"{t}/kb/library/new?locale=en", {"slug": "fuzz-generic", "title": "Fuzz", "body": "Text", "category": "other", "tags": "", "audience": "public", "status": "draft", "preview": "1"}),
        }


@pytest.fixture
def desk(make_app, make_user, tmp_path, monkeypatch):
    # Hashing is not what is fuzzed here: a cheap one keeps each sign-in attempt fast.
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(auth_services, "_hasher", cheap)
    monkeypatch.setattr(auth_services, "_DUMMY_HASH", cheap.hash("not-a-real-password"))
    app = make_app(ASSISTANT_SOURCE="folder", ASSISTANT_SEMANTIC=False)
    return Desk(app, make_user, tmp_path)


def _variants(form_name: str, form: Form):
    """(label, urlencoded body) for each hostile change to one field of the valid submission."""
    valid = list(form.data.items())
    yield "valid", urlencode(valid)
    for name in [*form.data, *form.extra]:
        rest = [(k, v) for k, v in valid if k != name]
        yield f"{name} missing", urlencode(rest)
        for value in HOSTILE:
            yield f"{name}={value[:20]!r}", urlencode(rest + [(name, value)])
        for raw in RAW:
            yield f"{name}={raw}", "&".join(filter(None, [urlencode(rest), f"{name}={raw}"]))
        # Given twice: the second value is read by getlist() and must be checked as well as the first.
        yield f"{name} twice", urlencode(rest + [(name, form.data.get(name, "1")), (name, "a\x00b")])


def _send(client, form: Form, body: str, content_type="application/x-www-form-urlencoded"):
    if form.method == "GET":
        separator = "&" if "?" in form.path else "?"
        return client.get(form.path + separator + body)
    return client.open(form.path, method=form.method, data=body, content_type=content_type)


def _check(response, label):
    assert response.status_code < 500, (label, response.status_code)
    if response.mimetype == "text/html":
        assert SCRIPT not in response.get_data(as_text=True), (label, "markup not escaped")


ROLES = ["anonymous", "requester", "l1", "l2", "admin", "expert", "platform"]


@pytest.mark.parametrize("role", ROLES)
def test_hostile_fields_never_break_a_form(desk, role):
    """Every form of one role (one desk per role: setting it up costs more than the requests)."""
    failures = []
    for name, form in desk.forms().items():
        if form.role != role:
            continue
        client = desk.client(role)
        for label, body in _variants(name, form):
            try:
                if form.before:
                    form.before(client)
                response = _send(client, form, body)
                _check(response, label)
            except Exception as exc:  # the test client re-raises what a server would answer with a 500
                failures.append(f"{name}: {form.method} {form.path} with {label}: {exc!r}"[:300])
    assert not failures, "\n".join(failures)


def test_every_form_route_is_fuzzed(app, desk):
    """A new form route joins Desk.forms (webhooks and the JSON API are fuzzed elsewhere)."""
    elsewhere = ("channels.", "tickets_api.", "kb_api.", "escalation_api.", "assistant.api_ask", "escalation.github_webhook")
    adapter = app.url_map.bind("localhost")
    fuzzed = {adapter.match(f.path.split("?")[0], method=f.method)[0] for f in desk.forms().values()}
    posting = {rule.endpoint for rule in app.url_map.iter_rules() if rule.methods & {"POST", "PUT", "PATCH"}}
    assert sorted(e for e in posting - fuzzed if not e.startswith(elsewhere)) == []


# -- what a person may type is kept as typed ---------------------------------------------------------

# Any character a browser sends (no NUL, no lone surrogate, which are refused above): scripts of every
# direction, combining marks, emoji, zero-width and direction marks, other controls.
TYPED = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), min_size=1, max_size=60).filter(lambda t: t.strip())


@FUZZ
@example(subject="\u202eFAR-000001\u200b", body=SCRIPT)
@example(subject="مرحبا \u200f123", body="a\r\nb\tc\x7f")
@given(subject=TYPED, body=TYPED)
def test_a_ticket_keeps_the_text_as_typed(desk, subject, body):
    client = desk.client("requester")
    response = client.post("/farajaland/tickets/new", data={"subject": subject, "body": body})
    assert response.status_code in (302, 400), response.status_code
    if response.status_code == 400:  # only a text the form refuses (say, blank once trimmed), with a message
        assert "error" in response.get_data(as_text=True)
        return
    reference = response.headers["Location"].rsplit("/", 1)[1]
    page = client.get(f"/farajaland/tickets/{reference}").get_data(as_text=True)
    assert SCRIPT not in page
    with desk.app.app_context():
        with tenant_scope(db.session, get_tenant("farajaland").id):
            ticket = db.session.scalar(select(Ticket).where(Ticket.reference == reference))
            assert ticket.subject.strip() == subject.strip()  # only surrounding blanks may go
            assert tickets.conversation(ticket, include_internal=True)[0].body.strip() == body.strip()


def test_an_upload_named_with_unstorable_characters_is_kept_under_a_clean_name(desk):
    client = desk.client("requester")
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    boundary = "fuzzboundary"
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"subject\"\r\n\r\nScreenshot\r\n"
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\nSee the file.\r\n"
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"attachments\"; filename=\"sc"
    ).encode() + b"\xed\xa0\x80\x00reen.png\"\r\nContent-Type: image/png\r\n\r\n" + png + f"\r\n--{boundary}--\r\n".encode()
    response = client.post("/farajaland/tickets/new", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code in (302, 400), response.status_code


# -- the defects this module found, one test each ----------------------------------------------------


@pytest.mark.parametrize("canned", [str(2**63), "9" * 30, "²", "-1"])
def test_a_canned_response_number_no_database_holds_is_ignored(desk, canned):
    assert desk.client("l1").get(f"/farajaland/tickets/{desk.ticket}?canned={canned}").status_code == 200


@pytest.mark.parametrize("value", ["²", str(2**63)])
def test_bulk_assignment_to_an_odd_number_is_refused_with_a_message(desk, value):
    client = desk.client("l1")
    response = client.post("/farajaland/tickets/bulk", data={"refs": desk.ticket, "action": "assign", "value": value})
    assert response.status_code == 303
    assert "support team" in client.get(response.headers["Location"]).get_data(as_text=True)


@pytest.mark.parametrize("sid", [str(2**63), "9" * 30, "²"])
def test_an_article_opened_from_an_odd_search_number_is_shown(desk, sid):
    assert desk.client("anonymous").get(f"/farajaland/kb/articles/code-not-received?sid={sid}").status_code == 200


@pytest.mark.parametrize("form_name, field, value", sorted(ESCALATION_CASES))
def test_escalation_numbers_and_searches_no_database_holds_are_refused_or_ignored(desk, form_name, field, value):
    form = desk.forms()[form_name]
    response = _send(desk.client(form.role), form, urlencode({**form.data, field: value}))
    assert response.status_code < 500
