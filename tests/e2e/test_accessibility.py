"""Accessibility in a real browser: axe-core on every main page, keyboard use, visible focus, labels."""
import pytest
from playwright.sync_api import expect

from tests.e2e.axe import axe_violations, blocking, describe
from tests.e2e.conftest import sign_in

# Who is signed in (None: nobody), and the pages they see.
PAGES = {
    None: [
        "/", "/farajaland/", "/kalondo/", "/sahilia/", "/farajaland/login", "/farajaland/password/forgot",
        "/farajaland/no/such/page", "/farajaland/kb/", "/farajaland/kb/search?q=verification+code",
        "/farajaland/kb/search?q=zzqxv", "/farajaland/kb/articles/forgotten-password", "/sahilia/kb/",
        "/farajaland/kb/handbook",
    ],
    "agent@farajaland.demo": ["/farajaland/profile"],
    "admin@farajaland.demo": [
        "/farajaland/", "/farajaland/members", "/farajaland/kb/manage", "/farajaland/kb/manage/translations",
        "/farajaland/kb/manage/materials", "/farajaland/kb/articles/forgotten-password",
    ],
    "expert@crvs.demo": ["/profile"],
}


@pytest.fixture(scope="module")
def signed_in_pages(browser, live_server):
    """One signed-in browser per account for the whole module: signing in is deliberately slow."""
    pages = {}
    for email in PAGES:
        context = browser.new_context(base_url=live_server.url, locale="en-GB")
        context.set_default_timeout(5000)
        pages[email] = context.new_page()
        if email:
            sign_in(pages[email], email, tenant=None if email.endswith("@crvs.demo") else email.split("@")[1].split(".")[0])
    yield pages
    for page in pages.values():
        page.context.close()


@pytest.mark.parametrize("email,path", [(e, p) for e, paths in PAGES.items() for p in paths])
def test_no_serious_or_critical_axe_violation(signed_in_pages, email, path):
    page = signed_in_pages[email]
    page.goto(path)
    violations = axe_violations(page)
    assert not blocking(violations), describe(violations)


def test_skip_link_is_the_first_stop_and_moves_focus_to_the_content(page):
    page.goto("/farajaland/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()  # hidden until focused, then shown
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()


def test_tab_reaches_the_main_controls_in_order(page):
    page.goto("/farajaland/login")
    reached = []
    for _ in range(15):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("(el => el.tagName === 'BUTTON' || el.tagName === 'A' ? el.textContent.trim() : el.name)(document.activeElement)"))
    for control in ("email", "password", "remember", "Français"):
        assert control in reached, reached
    assert reached.index("email") < reached.index("password") < reached.index("remember")


def test_focused_controls_show_a_visible_outline(page):
    page.goto("/farajaland/login")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    outline = page.evaluate("(() => { const s = getComputedStyle(document.activeElement); return [s.outlineStyle, s.outlineWidth]; })()")
    assert outline[0] != "none" and float(outline[1].rstrip("px")) >= 2, outline


def test_every_form_control_has_a_label(page):
    sign_in(page, "admin@farajaland.demo")
    for path in ("/farajaland/login", "/farajaland/profile", "/farajaland/members", "/farajaland/password/forgot"):
        page.goto(path)
        unlabelled = page.evaluate(
            """[...document.querySelectorAll('input:not([type=hidden]):not([type=submit]):not([type=button]), select, textarea')]
                 .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
                 .map(el => el.outerHTML)"""
        )
        assert not unlabelled, (path, unlabelled)
