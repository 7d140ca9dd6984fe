"""On a small Android phone (360 px wide), in French (longer words), no page scrolls sideways: wide
tables scroll inside their own box, form controls and long words stay inside the screen."""
import pytest

from tests.e2e.conftest import signed_in_browsers
from tests.e2e.test_accessibility import PAGES

PHONE = {"width": 360, "height": 740}

# The main pages of each role (those of the accessibility checks), plus Kalondo's, which is French only.
SMALL_SCREEN_PAGES = {email: list(paths) for email, paths in PAGES.items()}
SMALL_SCREEN_PAGES[None] += ["/kalondo/kb/handbook", "/kalondo/kb/", "/kalondo/assistant"]
SMALL_SCREEN_PAGES["l1@kalondo.demo"] = ["/kalondo/", "/kalondo/tickets/queue", "/kalondo/tickets/queue?view=all", "/kalondo/insights/"]
SMALL_SCREEN_PAGES["admin@kalondo.demo"] = [
    "/kalondo/", "/kalondo/tickets/queue", "/kalondo/members", "/kalondo/kb/manage", "/kalondo/kb/manage/new",
    "/kalondo/tickets/canned", "/kalondo/tickets/tiers", "/kalondo/deployment", "/kalondo/channels/inbox",
    "/kalondo/assistant/examples?article=forgotten-password",
]
SMALL_SCREEN_PAGES["agent@kalondo.demo"] = ["/kalondo/", "/kalondo/tickets/new", "/kalondo/tickets/mine", "/kalondo/profile"]

# The elements that stick out of the screen, to say what to fix.
OVERFLOWING = """(width => [...document.querySelectorAll('body *')]
  .filter(el => el.getBoundingClientRect().right > width + 0.5 && !el.closest('.table-wrap, .visually-hidden, .skip-link'))
  .slice(0, 8)
  .map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().replace(/\\s+/g, '.') : '')
             + ' ' + Math.round(el.getBoundingClientRect().right) + 'px'))"""


@pytest.fixture(scope="module")
def phone_pages(browser, live_server):
    """One signed-in phone per account, in French, for the whole module."""
    yield from signed_in_browsers(browser, live_server, SMALL_SCREEN_PAGES, locale="fr-FR", viewport=PHONE)


@pytest.mark.parametrize("email,path", [(e, p) for e, paths in SMALL_SCREEN_PAGES.items() for p in paths])
def test_no_page_scrolls_sideways_on_a_phone(phone_pages, email, path):
    page = phone_pages[email]
    response = page.goto(path, timeout=20000)  # the first search of a run builds the index
    assert response.ok or response.status == 404, f"{path}: {response.status}"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], (width, page.evaluate(OVERFLOWING, PHONE["width"]))


def test_the_queue_is_a_list_of_cards_on_a_phone_not_a_table_to_scroll(phone_pages):
    """An agent on a phone reads each ticket whole, its cells named, without scrolling the table."""
    page = phone_pages["l1@kalondo.demo"]
    page.goto("/kalondo/tickets/queue?view=all", timeout=20000)
    box = page.locator(".queue-table").locator("xpath=..")
    assert box.evaluate("el => el.scrollWidth <= el.clientWidth"), box.evaluate("el => [el.scrollWidth, el.clientWidth]")
    label = page.locator(".queue-table td[data-label]").first.evaluate("el => getComputedStyle(el, '::before').content")
    assert label.startswith('"Demandeur')
