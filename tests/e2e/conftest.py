"""A real server and a real browser: one portal per test session, on its own database, with the demo
tenants, accounts and content loaded; Debian's Chromium driven by Playwright.

Browser tests skip, with the reason, where /usr/bin/chromium is missing (CI installs it). A failing
browser test leaves a screenshot in test-artifacts/.
"""
from __future__ import annotations

import re
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from werkzeug.serving import make_server

from portal import create_app
from portal.auth import services as auth_services
from portal.core.db import db
from portal.tenancy.services import sync_tenants
from tests.conftest import REPO, _worker, fresh_database, make_test_config

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE_JS = REPO / ".cache" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = REPO / "test-artifacts"
PORTS = range(8500, 8600)
TEST_TENANTS = Path(__file__).parent / "tenants"
DEMO_PASSWORD = "demo-password"
TIMEOUT_MS = 15000  # a loaded CI machine can take seconds for a page; a real failure still shows


@dataclass
class LiveServer:
    url: str
    app: object

    def api_token(self, email: str) -> str:
        """A new API token for a demo account."""
        with self.app.app_context():
            token = auth_services.issue_api_token(auth_services.get_user_by_email(email), name="e2e")
            db.session.commit()
            return token

    def __call__(self, path: str) -> str:
        return self.url + path


def _serve(app):
    """A threaded server on the first free port of our range (bound here: werkzeug exits on a taken one)."""
    for port in PORTS:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:  # taken by another test worker or another run
            sock.close()
            continue
        sock.listen(64)
        server = make_server("127.0.0.1", port, app, threaded=True, fd=sock.fileno())
        sock.detach()  # the server owns the descriptor now
        return server
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """The portal served over HTTP on 127.0.0.1, with CSRF on, like production, on a fresh database
    holding the demo tenants (plus the Arabic test tenant), accounts and content."""
    # Production-strength password hashing costs half a second per sign-in on a small CI machine;
    # the browser tests sign in dozens of times, so they hash cheaply (hashes record their own cost).
    auth_services._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    database = fresh_database(tmp_path_factory, "_e2e")
    url = next(database)
    config = make_test_config(url, tmp_path_factory.mktemp("e2e"), TESTING=False, WTF_CSRF_ENABLED=True)
    app = create_app(config)
    with app.app_context():
        db.create_all()
        for folder in (REPO / "tenants", TEST_TENANTS):
            report = sync_tenants(folder)
            assert not report.problems, report.problems
    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    server = _serve(app)
    thread = threading.Thread(target=server.serve_forever, name=f"e2e-server-{_worker()}", daemon=True)
    thread.start()
    yield LiveServer(f"http://127.0.0.1:{server.socket.getsockname()[1]}", app)
    server.shutdown()
    thread.join()
    with app.app_context():
        db.engine.dispose()
    next(database, None)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # Playwright gives every launch a new temporary profile (a fresh user-data dir).
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def new_page(browser, live_server, request):
    """Open pages in fresh browser contexts (a new browser profile each: cookies, language, JS on/off)."""
    contexts = []

    def factory(locale: str = "en-GB", javascript: bool = True, **options):
        context = browser.new_context(
            base_url=live_server.url, locale=locale, java_script_enabled=javascript, **options
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield factory
    failed = getattr(request.node, "report_call", None) is not None and request.node.report_call.failed
    for n, context in enumerate(contexts):
        if failed:
            ARTIFACTS.mkdir(exist_ok=True)
            name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)
            for m, page in enumerate(context.pages):
                page.screenshot(path=str(ARTIFACTS / f"{name}-{n}-{m}.png"), full_page=True)
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


def sign_in(page, email: str, tenant: str | None = "farajaland", password: str = DEMO_PASSWORD) -> None:
    """Sign in through the form, as a person would (tenant None: the central sign-in page)."""
    page.goto(f"/{tenant}/login" if tenant else "/login")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    assert "/login" not in page.url, page.locator("main").inner_text()


def signed_in_browsers(browser, live_server, emails, **context_options):
    """One browser page per demo account (None: signed out), each signed in where the account
    belongs (the central team outside any country), for a module to share: signing in is
    deliberately slow. A generator for a module fixture: it closes them after."""
    pages = {}
    for email in emails:
        context = browser.new_context(base_url=live_server.url, **context_options)
        context.set_default_timeout(TIMEOUT_MS)
        pages[email] = context.new_page()
        if email:
            sign_in(pages[email], email, tenant=None if email.endswith("@crvs.demo") else email.split("@")[1].split(".")[0])
    yield pages
    for page in pages.values():
        page.context.close()
