"""Journeys through the portal in a real browser, as the people in DOMAIN.md would take them."""
import re
import uuid

from playwright.sync_api import expect

from tests.e2e.conftest import sign_in


def test_requester_signs_in_from_the_home_page_and_sees_their_profile(page):
    page.goto("/farajaland/")
    expect(page.get_by_role("heading", level=1)).to_have_text("How can we help?")
    page.get_by_role("link", name="Sign in").click()
    page.locator("input[name=email]").fill("agent@farajaland.demo")
    page.locator("input[name=password]").fill("demo-password")
    page.locator("main").get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.get_by_role("link", name="Profile").click()
    expect(page.locator("main")).to_contain_text("agent@farajaland.demo")


def test_switching_to_french_translates_the_interface_and_is_remembered(page):
    page.goto("/farajaland/")
    page.get_by_role("button", name="Français").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", level=1)).to_have_text("Comment pouvons-nous vous aider ?")
    page.goto("/farajaland/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("Se connecter")


def test_a_signed_in_agents_french_choice_follows_them_to_another_browser(new_page):
    first = new_page()
    sign_in(first, "l1@farajaland.demo")
    first.get_by_role("button", name="Français").click()
    expect(first.locator("html")).to_have_attribute("lang", "fr")
    second = new_page(locale="en-US")
    sign_in(second, "l1@farajaland.demo")
    expect(second.locator("html")).to_have_attribute("lang", "fr")
    # The choice is stored on the shared demo account: give it back for the other journeys.
    second.get_by_role("button", name="English").click()
    expect(second.locator("html")).to_have_attribute("lang", "en")


def test_the_portal_works_with_javascript_turned_off(new_page):
    page = new_page(javascript=False)
    page.goto("/farajaland/")
    page.get_by_role("link", name="Sign in").click()
    page.locator("input[name=email]").fill("admin@farajaland.demo")
    page.locator("input[name=password]").fill("demo-password")
    page.locator("main").get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Members", exact=True).click()
    expect(page.locator("main")).to_contain_text("agent@farajaland.demo")
    page.get_by_role("button", name="Français").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    page.get_by_role("button", name="English").click()  # the choice is kept on the shared demo account
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()


def test_requester_searches_from_home_reads_an_article_and_says_it_helped(page):
    page.goto("/farajaland/")
    page.get_by_label("Search the help articles").fill("forgot my password")
    page.get_by_role("search").get_by_role("button", name="Search").click()
    results = page.locator("main")
    expect(results).to_contain_text("password")
    results.get_by_role("link", name="I forgot my password").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("password")
    page.get_by_label("Yes").check()
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".flashes")).to_contain_text("Thank you for your feedback.")


def test_french_reader_gets_the_french_article(new_page):
    page = new_page(locale="fr-FR")
    page.goto("/farajaland/kb/")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    page.locator("main a[href*='/kb/articles/']").first.click()
    expect(page.locator("article.kb-article")).to_have_attribute("lang", "fr")


def test_requester_opens_a_ticket_and_an_l1_agent_replies_and_hands_it_to_level_2(new_page):
    requester = new_page()
    sign_in(requester, "agent@farajaland.demo")
    requester.goto("/farajaland/tickets/new")
    requester.get_by_label("Subject").fill("Verification code never arrives at Ibombo")
    requester.get_by_label("Describe the problem").fill("Since this morning no SMS code arrives when I sign in.")
    requester.get_by_role("button", name="Send the request").click()
    expect(requester.locator(".flashes")).to_contain_text("is sent")
    reference = re.search(r"FAR-\d+", requester.locator("main").inner_text() + requester.locator(".flashes").inner_text()).group(0)

    agent = new_page()
    sign_in(agent, "l1@farajaland.demo")
    agent.goto("/farajaland/tickets/queue")
    agent.get_by_role("link", name=re.compile(reference)).first.click()
    agent.get_by_label("Your message").fill("Thank you. Please check the phone number in your profile.")
    agent.locator("form").filter(has=agent.get_by_label("Your message")).get_by_role("button", name="Send").click()
    expect(agent.locator(".flashes")).to_contain_text("Your message is added.")
    agent.get_by_role("link", name="Hand to Level 2").click()
    agent.get_by_label("Why does it need the next level?").fill("The SMS gateway may be down: a technician should check it.")
    agent.get_by_label("Severity").select_option("high")
    agent.get_by_role("button", name="Escalate", exact=True).click()
    expect(agent.locator(".flashes")).to_contain_text("is handed to Level 2")
    expect(agent.locator("main")).to_contain_text("Now with Level 2")

    requester.goto(f"/farajaland/tickets/{reference}")
    expect(requester.locator("main")).to_contain_text("Please check the phone number in your profile.")


def test_requester_asks_the_assistant_and_gets_an_answer_with_its_article(page):
    page.goto("/farajaland/")
    page.get_by_role("link", name="Ask the assistant").first.click()
    page.get_by_label("Your question").fill("I forgot my password, how do I reset it?")
    page.locator("main").get_by_role("button", name="Ask").click()
    answer = page.locator("main")
    expect(answer).to_contain_text("password")
    expect(answer.locator("a[href*='/kb/articles/']").first).to_be_visible()


def test_the_assistant_works_with_javascript_turned_off(new_page):
    page = new_page(javascript=False)
    page.goto("/farajaland/assistant")
    page.get_by_label("Your question").fill("the verification code never arrives")
    page.locator("main").get_by_role("button", name="Ask").click()
    expect(page.locator("main")).to_contain_text("code")


def _open_ticket(page, subject: str, body: str) -> str:
    """Open a ticket through the form as the signed-in requester; returns its reference."""
    page.goto("/farajaland/tickets/new")
    page.get_by_label("Subject").fill(subject)
    page.get_by_label("Describe the problem").fill(body)
    page.get_by_role("button", name="Send the request").click()
    expect(page.locator(".flashes")).to_contain_text("is sent")
    return re.search(r"FAR-\d+", page.locator(".flashes").inner_text() + page.locator("main").inner_text()).group(0)


def _escalate(page, reason: str, severity: str, **details: str) -> None:
    """Fill the escalation form of the ticket page open in `page` and send it."""
    form = page.locator("form").filter(has=page.get_by_label("Why does it need the next level?"))
    form.get_by_label("Why does it need the next level?").fill(reason)
    form.get_by_label("Severity").select_option(label=severity)
    for label, value in details.items():
        field = form.get_by_label(label, exact=True)
        if field.evaluate("el => el.tagName") == "SELECT":
            field.select_option(label=value)
        else:
            field.fill(value)
    form.get_by_role("button", name="Escalate").click()


def test_l1_escalates_through_the_form_and_an_l3_expert_links_it_to_a_problem(new_page):
    subject = f"Birth declarations vanish from the outbox at Ibombo ({uuid.uuid4().hex[:6]})"
    requester = new_page()
    sign_in(requester, "agent@farajaland.demo")
    reference = _open_ticket(requester, subject, "Three declarations made offline on Monday never reached the office.")

    # Level 1 hands it to Level 2 through the escalation form, with a reason and what they know.
    agent = new_page()
    sign_in(agent, "l1@farajaland.demo")
    agent.goto(f"/farajaland/tickets/{reference}/escalation")
    expect(agent.get_by_role("heading", name="Escalate to Level 2 (national technicians)")).to_be_visible()
    _escalate(
        agent, "The outbox shows nothing to send but the office never received them.", "High: a main task is blocked for many users",
        **{"Device": "Tecno Spark 10", "Operating system": "Android 13", "Browser": "Chrome 120", "Steps to reproduce": "Declare a birth offline, reconnect."},
    )
    expect(agent.locator(".flashes")).to_contain_text("The ticket is now with Level 2 (national technicians).")
    expect(agent.get_by_role("table", name="Tier history")).to_contain_text("The outbox shows nothing to send")

    # Level 2 must give the central team every detail: what is missing is named next to its field.
    technician = new_page()
    sign_in(technician, "l2@farajaland.demo")
    technician.goto(f"/farajaland/tickets/{reference}/escalation")
    # The form starts from what first-line gave; what it did not give is asked for.
    expect(technician.get_by_label("Device")).to_have_value("Tecno Spark 10")
    expect(technician.get_by_label("Steps to reproduce", exact=True)).to_have_value("Declare a birth offline, reconnect.")
    _escalate(technician, "A core defect: the outbox drops declarations.", "High: a main task is blocked for many users")
    expected = technician.get_by_label("Expected result", exact=True)
    expect(expected).to_have_attribute("aria-invalid", "true")
    expect(technician.locator("main")).to_contain_text("Say what should happen.")
    _escalate(
        technician, "A core defect: the outbox drops declarations.", "High: a main task is blocked for many users",
        **{
            "Environment": "Production", "Did it work in an earlier version?": "Yes: it is a regression",
            "Steps to reproduce": "Go offline, declare a birth, reconnect after 20 minutes.", "Expected result": "The declaration is sent.",
            "Actual result": "It disappears from the outbox and never arrives.", "Impact": "Field agents of Ibombo district since Monday.",
        },
    )
    expect(technician.locator(".flashes")).to_contain_text("The ticket is now with Level 3 (central team).")

    # The central expert records the problem, finds the escalation in the console and links it.
    expert = new_page()
    sign_in(expert, "expert@crvs.demo", tenant=None)
    expert.goto("/expert/problems")
    title = f"Outbox drops offline declarations on reconnect ({reference})"
    new_problem = expert.locator("form").filter(has=expert.get_by_role("button", name="Save the problem"))
    new_problem.get_by_label("Title").fill(title)
    new_problem.get_by_role("button", name="Save the problem").click()
    expect(expert.locator(".flashes")).to_contain_text("is recorded")
    problem_id = re.search(r"/expert/problems/(\d+)", expert.url).group(1)

    expert.goto("/expert/")
    expert.get_by_role("search").get_by_label("Search").fill(reference)
    expert.get_by_role("search").get_by_role("button", name="Filter").click()
    expert.locator("main").get_by_role("link", name=reference).click()
    expect(expert.get_by_role("heading", level=1)).to_have_text(subject)
    expect(expert.locator("main")).to_contain_text("It disappears from the outbox and never arrives.")
    expert.get_by_label("Existing problem").select_option(label=f"#{problem_id} {title}")
    expert.get_by_role("button", name="Link to this problem").click()
    expect(expert.locator(".flashes")).to_contain_text("The ticket is linked to the problem.")
    expect(expert).to_have_url(re.compile(rf"/expert/problems/{problem_id}$"))
    countries = expert.get_by_role("table").filter(has_text="Farajaland")
    expect(countries).to_contain_text(reference)

    # The escalation page now names the problem.
    expert.locator("main").get_by_role("link", name=reference).click()
    expect(expert.locator("main")).to_contain_text(f"#{problem_id} {title}")


def test_a_file_over_the_limit_is_refused_when_picked_and_the_message_is_kept(new_page):
    """On a slow link an 11 MB photo would upload for minutes and then be refused: it is refused at
    once, said next to the field, and what was typed stays to be sent with a smaller file."""
    requester = new_page()
    sign_in(requester, "agent@farajaland.demo")
    requester.goto("/farajaland/tickets/new")
    requester.get_by_label("Subject").fill("Tablet screen cracked")
    requester.get_by_label("Describe the problem").fill("The screen cracked this morning; photo attached.")
    files = requester.get_by_label("Screenshots or files (optional)")
    files.set_input_files([{"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": b"\xff" * (11 * 1024 * 1024)}])
    expect(requester.locator("form#new-ticket [role=alert]")).to_contain_text("“photo.jpg” is larger than 10 MB.")
    assert files.evaluate("el => el.files.length") == 0
    files.set_input_files([{"name": "small.jpg", "mimeType": "image/jpeg", "buffer": b"\xff\xd8\xff\xe0" + b"\x00" * 1000}])
    expect(requester.locator("form#new-ticket [role=alert]")).to_be_hidden()
    assert requester.get_by_label("Describe the problem").input_value() == "The screen cracked this morning; photo attached."


def test_a_phone_photo_is_made_smaller_before_it_is_sent(new_page):
    """A 4000-pixel photo of several MB is redrawn at 1600 pixels in the browser before it is sent:
    the field says by how much, and the ticket receives the smaller picture, still a JPEG."""
    import io
    import os

    from PIL import Image

    photo = io.BytesIO()
    Image.frombytes("RGB", (4000, 3000), os.urandom(4000 * 3000 * 3)).reduce(4).resize((4000, 3000)).save(photo, "JPEG", quality=92)
    original = photo.getvalue()
    assert len(original) > 1024 * 1024
    requester = new_page()
    sign_in(requester, "agent@farajaland.demo")
    requester.goto("/farajaland/tickets/new")
    subject = f"Tablet screen cracked {uuid.uuid4().hex[:6]}"
    requester.get_by_label("Subject").fill(subject)
    requester.get_by_label("Describe the problem").fill("The screen cracked this morning; photo attached.")
    files = requester.get_by_label("Screenshots or files (optional)")
    files.set_input_files([{"name": "screen.jpg", "mimeType": "image/jpeg", "buffer": original}])
    expect(requester.locator("form#new-ticket [role=status]")).to_contain_text("“screen.jpg” was made smaller to send faster")
    sent = files.evaluate("el => [el.files.length, el.files[0].size, el.files[0].type, el.files[0].name]")
    assert sent[0] == 1 and sent[1] < len(original) / 2 and sent[2:] == ["image/jpeg", "screen.jpg"]
    requester.get_by_role("button", name="Send the request").click()
    expect(requester.locator(".flashes")).to_contain_text("is sent")
    link = requester.locator(".attachments a", has_text="screen.jpg")
    response = requester.request.get(link.get_attribute("href"))
    assert response.ok and len(response.body()) == sent[1]
    assert Image.open(io.BytesIO(response.body())).size == (1600, 1200)


def test_what_was_typed_survives_a_reload_and_is_forgotten_once_sent_or_by_another_account(new_page):
    """A phone's browser may reload a page while the request is written: the text comes back, with
    a way to clear it; sending forgets it, signing out forgets it, and the next account on the same phone never sees it."""
    page = new_page()
    sign_in(page, "agent@farajaland.demo")
    page.goto("/farajaland/tickets/new")
    page.get_by_label("Subject").fill("Birth declaration for twins")
    page.get_by_label("Describe the problem").fill("The form accepts only one child for the same mother and date.")
    page.wait_for_timeout(700)
    page.reload()
    expect(page.locator("form#new-ticket .draft-kept")).to_contain_text("What you had typed and not sent was kept on this device.")
    assert page.get_by_label("Subject").input_value() == "Birth declaration for twins"
    assert page.get_by_label("Describe the problem").input_value() == "The form accepts only one child for the same mother and date."
    page.get_by_role("button", name="Clear it").click()
    assert page.get_by_label("Subject").input_value() == "" and page.get_by_label("Describe the problem").input_value() == ""
    page.reload()
    expect(page.locator("form#new-ticket .draft-kept")).to_have_count(0)

    page.get_by_label("Subject").fill("Twins declaration")
    page.get_by_label("Describe the problem").fill("Only one child can be declared.")
    page.wait_for_timeout(700)
    page.get_by_role("button", name="Send the request").click()
    expect(page.locator(".flashes")).to_contain_text("is sent")
    page.goto("/farajaland/tickets/new")
    assert page.get_by_label("Describe the problem").input_value() == ""

    page.get_by_label("Describe the problem").fill("A private note about a child")
    page.wait_for_timeout(700)
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('crvs-draft:')).length") == 1
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator(".flashes")).to_contain_text("You are signed out")
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('crvs-draft:')).length") == 0  # gone at sign-out
    page.evaluate("localStorage.setItem('crvs-draft:999:new', JSON.stringify({at: Date.now(), values: {body: 'left by an old page'}}))")
    sign_in(page, "l1@farajaland.demo")
    page.goto("/farajaland/tickets/new")
    assert page.get_by_label("Describe the problem").input_value() == ""
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('crvs-draft:')).length") == 0


def test_a_canned_response_inserted_into_a_reply_is_kept_on_the_device_like_typed_text(new_page):
    requester = new_page()
    sign_in(requester, "agent@farajaland.demo")
    reference = _open_ticket(requester, "Printer jam", "The certificate printer jams on every second page.")
    page = new_page()
    sign_in(page, "l1@farajaland.demo")
    page.goto(f"/farajaland/tickets/{reference}")
    page.get_by_role("button", name="Insert").click()
    reply = page.locator(".reply-form textarea[name=body]")
    expect(reply).not_to_have_value("")
    inserted = reply.input_value()
    page.wait_for_timeout(700)
    page.reload()
    expect(page.locator(".reply-form .draft-kept")).to_contain_text("What you had typed and not sent was kept on this device.")
    assert page.locator(".reply-form textarea[name=body]").input_value() == inserted
