"""Right-to-left: the Arabic interface mirrors the layout (logical CSS properties), in a real browser."""
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS


def box(locator):
    b = locator.bounding_box()
    return b["x"], b["x"] + b["width"]


def test_arabic_tenant_home_is_mirrored(page):
    page.set_viewport_size({"width": 1024, "height": 800})
    page.goto("/sahilia/")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("html")).to_have_attribute("lang", "ar")
    expect(page.get_by_role("heading", level=1)).to_have_text("كيف يمكننا مساعدتك؟")
    # The brand starts at the right, the navigation sits at the left, text is right-aligned.
    brand_left, brand_right = box(page.locator(".brand"))
    nav_left, nav_right = box(page.locator(".site-nav"))
    assert brand_left > nav_right
    heading = page.get_by_role("heading", level=1)
    main_left, main_right = box(page.locator("main"))
    assert main_right - box(heading)[1] < main_right - main_left - box(heading)[1] + box(heading)[0]
    assert page.evaluate("getComputedStyle(document.querySelector('h1')).direction") == "rtl"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "rtl-sahilia-home.png"), full_page=True)


def test_arabic_skip_link_appears_at_the_right_edge_when_focused(page):
    page.set_viewport_size({"width": 1024, "height": 800})
    page.goto("/sahilia/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="انتقل إلى المحتوى")
    expect(skip).to_be_focused()
    left, right = box(skip)
    assert right >= 1000 and left > 500


def test_arabic_sign_in_on_a_phone_keeps_fields_inside_the_screen(page):
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto("/sahilia/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("تسجيل الدخول")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    for name in ("email", "password"):
        left, right = box(page.locator(f"input[name={name}]"))
        assert left >= 0 and right <= 360
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "rtl-sahilia-login-phone.png"), full_page=True)


def test_switching_from_arabic_to_french_turns_the_page_left_to_right(page):
    page.goto("/sahilia/")
    page.get_by_role("button", name="Français").click()
    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    expect(page.get_by_role("heading", level=1)).to_have_text("Comment pouvons-nous vous aider ?")
