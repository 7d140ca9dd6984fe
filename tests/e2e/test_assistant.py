"""The assistant in a real browser: the panel answers in place with JavaScript, and by a page
load without it."""
from playwright.sync_api import expect


def test_the_panel_answers_without_reloading_the_page_and_the_solved_button_thanks(page):
    page.goto("/farajaland/")
    panel = page.locator(".assistant-panel")
    panel.locator("summary").click()
    panel.get_by_label("Your question").fill("forgot my password")
    panel.get_by_role("button", name="Ask").click()
    expect(panel.locator(".assistant-turn")).to_contain_text("forgot my password")
    expect(panel.locator(".assistant-answer")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("How can we help?")  # still on the home page
    panel.get_by_role("button", name="This solved it").click()
    expect(panel).to_contain_text("glad it helped")


def test_without_javascript_the_panel_posts_to_the_chat_page(new_page):
    page = new_page(javascript=False)
    page.goto("/farajaland/")
    panel = page.locator(".assistant-panel")
    panel.locator("summary").click()
    panel.get_by_label("Your question").fill("how do I register a marriage")
    panel.get_by_role("button", name="Ask").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ask the assistant")
    expect(page.locator("main")).to_contain_text("I am not sure I can answer this correctly")
    expect(page.locator("main")).to_contain_text("Talk to a person")
