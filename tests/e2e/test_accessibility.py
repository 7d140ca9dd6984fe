"""Accessibility in a real browser: axe-core on every main page, keyboard use, visible focus, labels."""
import json
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.e2e.axe import axe_violations, blocking, describe
from tests.e2e.conftest import sign_in, signed_in_browsers

# Who is signed in (None: nobody), and the pages they see.
PAGES = {
    None: [
        "/", "/farajaland/", "/kalondo/", "/sahilia/", "/farajaland/login", "/farajaland/password/forgot",
        "/farajaland/no/such/page", "/farajaland/kb/", "/farajaland/kb/search?q=verification+code",
        "/farajaland/kb/search?q=zzqxv", "/farajaland/kb/articles/forgotten-password", "/sahilia/kb/",
        "/farajaland/kb/handbook", "/farajaland/assistant", "/sahilia/assistant", "/login",
    ],
    "agent@farajaland.demo": ["/farajaland/profile", "/farajaland/tickets/new", "/farajaland/tickets/mine"],
    "l1@farajaland.demo": [
        "/farajaland/tickets/queue", "/farajaland/tickets/queue?view=all", "/farajaland/insights/", "/farajaland/insights/report",
    ],
    "l2@farajaland.demo": ["/farajaland/tickets/queue?view=all&status=escalated"],
    "admin@farajaland.demo": [
        "/farajaland/", "/farajaland/members", "/farajaland/kb/manage", "/farajaland/kb/manage/translations",
        "/farajaland/kb/manage/materials", "/farajaland/kb/manage/new", "/farajaland/kb/manage/forgotten-password/en",
        "/farajaland/kb/manage/farajaland-district-office-opening-days/en",
        "/farajaland/kb/manage/farajaland-district-office-opening-days/en/history", "/farajaland/kb/manage/forgotten-password/feedback",
        "/farajaland/kb/articles/forgotten-password", "/farajaland/tickets/canned", "/farajaland/tickets/tiers",
        "/farajaland/deployment", "/farajaland/settings", "/farajaland/insights/", "/farajaland/insights/report",
        "/farajaland/channels/inbox", "/farajaland/channels/inbox?status=all",
        "/farajaland/assistant/examples", "/farajaland/assistant/examples?article=forgotten-password",
    ],
    "expert@crvs.demo": [
        "/profile", "/expert/", "/expert/?status=all", "/expert/problems", "/expert/releases", "/expert/upgrades", "/expert/insights",
    ],
    "platform@crvs.demo": [
        "/farajaland/kb/library/new", "/farajaland/kb/library/forgotten-password/en", "/farajaland/kb/library/forgotten-password/en/history",
        "/expert/delivery",
    ],
}
ERROR_PAGES = {"/farajaland/no/such/page"}

# Most requesters use a small Android phone: wide tables scroll there, and must still be reachable.
VIEWPORTS = {"desktop": {"width": 1280, "height": 720}, "phone": {"width": 360, "height": 740}}


@pytest.fixture(scope="module")
def signed_in_pages(browser, live_server):
    """One signed-in browser per account for the whole module: signing in is deliberately slow."""
    yield from signed_in_browsers(browser, live_server, PAGES, locale="en-GB")


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("email,path", [(e, p) for e, paths in PAGES.items() for p in paths])
def test_no_serious_or_critical_axe_violation(signed_in_pages, email, path, viewport):
    page = signed_in_pages[email]
    page.set_viewport_size(VIEWPORTS[viewport])
    response = page.goto(path)
    assert response.ok or path in ERROR_PAGES, f"{path}: {response.status}"  # we check the page, not an error
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


# What the focused element looks like: its id (or name, or text), and whether a focus ring shows.
# `own` is false when focus is not on a page element of ours: past the last stop (the browser's own
# controls), or on a built-in part of a control (the calendar button of a date field), drawn by the browser.
FOCUS_STATE = """(() => {
  const el = document.activeElement, s = getComputedStyle(el);
  return {
    key: el.id || el.name || el.textContent.trim().slice(0, 40) || el.tagName,
    own: el !== document.body && el.matches(':focus'),
    ring: (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) || s.boxShadow !== 'none',
  };
})()"""


def tab_through(page, stops: int) -> list[dict]:
    """Press Tab `stops` times from the top of the page; what was focused at each stop."""
    page.locator("body").focus()
    reached = []
    for _ in range(stops):
        page.keyboard.press("Tab")
        state = page.evaluate(FOCUS_STATE)
        if state["own"]:
            reached.append(state)
    return reached


def tab_to(page, selector: str, limit: int = 80) -> None:
    """Press Tab until the element matching `selector` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


@pytest.fixture
def ticket_at_level_1(live_server):
    """A new ticket of Farajaland (opened through the API by an L1 agent for a requester)."""
    request = urllib.request.Request(
        live_server("/farajaland/api/v1/tickets"), method="POST",
        data=json.dumps({"subject": "Tablet cannot print certificates", "body": "The preview is blank.", "requester": {"email": "clerk@farajaland.example"}}).encode(),
        headers={"Authorization": f"Bearer {live_server.api_token('l1@farajaland.demo')}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        return json.load(response)["reference"]


def test_the_escalation_form_is_usable_by_keyboard_alone_with_a_visible_focus(signed_in_pages, ticket_at_level_1):
    page = signed_in_pages["l1@farajaland.demo"]
    page.set_viewport_size(VIEWPORTS["desktop"])
    page.goto(f"/farajaland/tickets/{ticket_at_level_1}/escalation")
    form = page.locator("form").filter(has=page.get_by_label("Why does it need the next level?"))
    controls = form.locator("textarea, select, input:not([type=hidden])").evaluate_all("els => els.map(el => el.id)")
    reached = tab_through(page, 60)
    keys = list(dict.fromkeys(stop["key"] for stop in reached))  # first visits, in order
    assert [k for k in keys if k in controls] == controls, keys  # every control, in reading order
    assert all(stop["ring"] for stop in reached), [stop["key"] for stop in reached if not stop["ring"]]
    # Filled and sent with the keyboard only: Tab to the reason and type it, a severity chosen with the
    # arrow keys, then Tab on to the button and Enter.
    tab_to(page, "#up-reason")
    page.keyboard.type("The requester's tablet needs a technician.")
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowDown")
    tab_to(page, "form:has(#up-reason) button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.locator(".flashes")).to_contain_text("The ticket is now with Level 2 (national technicians).")


@pytest.mark.parametrize("email,path", [
    (None, "/farajaland/"), ("expert@crvs.demo", "/expert/"), ("expert@crvs.demo", "/expert/problems"),
    ("l1@farajaland.demo", "/farajaland/insights/"), ("admin@farajaland.demo", "/farajaland/members"),
])
def test_every_keyboard_stop_shows_a_focus_ring(signed_in_pages, email, path):
    page = signed_in_pages[email]
    page.set_viewport_size(VIEWPORTS["desktop"])
    page.goto(path)
    reached = tab_through(page, 30)
    assert len({stop["key"] for stop in reached}) > 5, reached  # focus moves on, it is not trapped
    assert all(stop["ring"] for stop in reached), [stop["key"] for stop in reached if not stop["ring"]]


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


# Pages reached from a list (their addresses hold ids): who, the list, the link to follow, and the
# address to check made from the link's (the escalation and article-link pages of a listed ticket).
DETAIL_PAGES = {
    "ticket (agent)": ("l1@farajaland.demo", "/farajaland/tickets/queue", "/tickets/FAR-", "{href}"),
    "ticket (requester)": ("agent@farajaland.demo", "/farajaland/tickets/mine", "/tickets/FAR-", "{href}"),
    "ticket escalation": ("l2@farajaland.demo", "/farajaland/tickets/queue?view=all&status=escalated", "/tickets/FAR-", "{href}/escalation"),
    "ticket article link": ("l1@farajaland.demo", "/farajaland/tickets/queue", "/tickets/FAR-", "/farajaland/insights/tickets/{reference}/article"),
    "canned reply": ("admin@farajaland.demo", "/farajaland/tickets/canned", "/tickets/canned/", "{href}"),
    "quarantined message": ("admin@farajaland.demo", "/farajaland/channels/inbox", "/channels/inbox/", "{href}"),
    "central escalation": ("expert@crvs.demo", "/expert/?status=all", "/expert/escalations/", "{href}"),
    "central problem": ("expert@crvs.demo", "/expert/problems", "/expert/problems/", "{href}"),
}

# A mail without a sender: the desk cannot answer it, so it waits in the quarantine of the inbox.
QUARANTINED_MAIL = b"To: support@farajaland.example\r\nSubject: Who am I?\r\nMessage-ID: <a11y-nosender@farajaland.example>\r\n\r\nNobody wrote this.\r\n"


@pytest.fixture(scope="module")
def quarantined_mail(live_server):
    result = live_server.app.test_cli_runner().invoke(args=["channels", "email-ingest", "--tenant", "farajaland"], input=QUARANTINED_MAIL)
    assert result.exit_code == 0 and "quarantined" in result.output or "duplicate" in result.output, result.output


@pytest.mark.usefixtures("quarantined_mail")
@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("name", DETAIL_PAGES)
def test_no_serious_or_critical_axe_violation_on_a_detail_page(signed_in_pages, name, viewport):
    email, listing, link_to, target = DETAIL_PAGES[name]
    page = signed_in_pages[email]
    page.set_viewport_size(VIEWPORTS[viewport])
    page.goto(listing)
    link = page.locator(f"main a[href*='{link_to}']").first
    expect(link).to_be_attached()  # the demo data has one
    href = link.get_attribute("href")
    response = page.goto(target.format(href=href, reference=href.rsplit("/", 1)[-1]))
    assert response.ok, f"{page.url}: {response.status}"
    violations = axe_violations(page)
    assert not blocking(violations), describe(violations)
