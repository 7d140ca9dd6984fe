"""Readers see the library filled with their country's values, in their language when it exists."""
from portal.auth.permissions import Role
from portal.kb import services
from tests.kb.conftest import draft


def test_article_page_shows_the_countrys_values(client, library):
    page = client.get("/farajaland/kb/articles/code-not-received", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "The verification code never arrives" in text
    assert "+260 97 555 0100" in text  # Farajaland's WhatsApp number from tenant.toml
    kalondo = client.get("/kalondo/kb/articles/code-not-received").get_data(as_text=True)
    assert "Le code de vérification n&#39;arrive pas" in kalondo or "Le code de vérification n'arrive pas" in kalondo
    assert "+260 97 555 0100" not in kalondo


def test_missing_translation_falls_back_to_the_tenant_default_with_a_notice(client, library):
    page = client.get("/farajaland/kb/articles/printing-certificates", headers={"Accept-Language": "fr"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Printing certificates" in text
    assert 'class="notice"' in text
    translated = client.get("/farajaland/kb/articles/code-not-received", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert 'class="notice"' not in translated


def test_index_lists_articles_by_category_in_library_order(client, library):
    text = client.get("/farajaland/kb/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert text.index("Access and login") < text.index("Certificates and printing")
    assert "Resetting a forgotten password" in text
    assert "Triage checklist" not in text  # staff only


def test_the_help_home_shows_a_category_s_first_articles_and_its_page_shows_them_all(client, library, kb_edit):
    for n in range(12):
        kb_edit("farajaland", lambda t, n=n: services.save_article(t, None, f"office-{n:02}", "en", draft(title=f"Office {n:02}", category="other")))
    home = client.get("/farajaland/kb/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Office 09" in home and "Office 10" not in home
    assert 'href="/farajaland/kb/?category=other"' in home and "All 12 articles in" in home
    page = client.get("/farajaland/kb/?category=other", headers={"Accept-Language": "en"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Office 11" in text and "All 12 articles in" not in text
    assert "The verification code never arrives" not in text  # another category's article
    assert 'value="other" selected' in text  # a search from here looks in this category
    assert client.get("/farajaland/kb/?category=nothing-like-this").status_code == 404
    assert "Office 10" not in client.get("/farajaland/kb/?category=").get_data(as_text=True)  # an empty choice is the home


def test_staff_articles_need_a_staff_member(client, auth, make_user, library):
    assert client.get("/farajaland/kb/articles/staff-triage").status_code == 404
    auth.login(make_user(role=Role.REQUESTER))
    assert client.get("/farajaland/kb/articles/staff-triage").status_code == 404
    auth.logout()
    auth.login(make_user(role=Role.L1_AGENT))
    assert "Triage checklist" in client.get("/farajaland/kb/articles/staff-triage").get_data(as_text=True)


def test_a_tenant_can_hide_override_and_add_articles_without_touching_another(client, library, kb_edit):
    kb_edit("farajaland", services.set_hidden, None, "code-not-received", True)
    kb_edit("farajaland", services.save_article, None, "password-reset", "en", draft("Our own reset page", "Call the Farajaland desk.", "access-and-login"))
    kb_edit("farajaland", services.save_article, None, "office-hours", "en", draft("Office hours in Farajaland", "Open at 8."))
    assert client.get("/farajaland/kb/articles/code-not-received").status_code == 404
    assert "Our own reset page" in client.get("/farajaland/kb/articles/password-reset", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Office hours in Farajaland" in client.get("/farajaland/kb/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    # Kalondo (French only) still sees the generic article, and nothing of Farajaland's own.
    assert client.get("/kalondo/kb/articles/code-not-received").status_code == 200
    assert client.get("/kalondo/kb/articles/office-hours").status_code == 404


def test_a_draft_local_copy_does_not_replace_the_published_article(client, library, kb_edit):
    kb_edit("farajaland", services.save_article, None, "code-not-received", "en", draft("Unfinished copy", status="draft"))
    text = client.get("/farajaland/kb/articles/code-not-received", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "The verification code never arrives" in text and "Unfinished copy" not in text


def test_the_feedback_form_is_sent_with_a_button_like_the_portal_s_others(client, library):
    page = client.get("/farajaland/kb/articles/password-reset", headers={"Accept-Language": "en"}).get_data(as_text=True)
    feedback = page.split('class="kb-feedback card"')[1].split("</form>")[0]
    assert '<button type="submit">Send</button>' in feedback
    assert 'type="submit"' not in feedback.replace('<button type="submit">', "")  # no unstyled native input


def test_feedback_is_recorded_and_counted_for_editors(client, auth, make_user, library):
    client.post("/farajaland/kb/articles/password-reset/feedback", data={"helpful": "yes"})
    client.post("/farajaland/kb/articles/password-reset/feedback", data={"helpful": "no", "comment": "The reset SMS never came"})
    bad = client.post("/farajaland/kb/articles/password-reset/feedback", data={}, follow_redirects=True)
    assert "Please choose yes or no." in bad.get_data(as_text=True)
    auth.login(make_user(role=Role.L1_AGENT))
    manage = client.get("/farajaland/kb/manage").get_data(as_text=True)
    assert "1 yes · 1 no" in manage
    comments = client.get("/farajaland/kb/manage/password-reset/feedback").get_data(as_text=True)
    assert "The reset SMS never came" in comments


def test_iter_published_articles_gives_the_assistant_filled_articles(app, library):
    from portal.core.db import db, tenant_scope
    from portal.tenancy.services import get_tenant

    with app.app_context():
        tenant = get_tenant("farajaland")
        with tenant_scope(db.session, tenant.id):
            public = {a.slug: a for a in services.iter_published_articles(tenant, "fr")}
            staff = {a.slug for a in services.iter_published_articles(tenant, "fr", audience="staff")}
    assert set(public) == {"code-not-received", "printing-certificates", "password-reset"}
    assert staff == set(public) | {"staff-triage"}
    code, printing = public["code-not-received"], public["printing-certificates"]
    assert (code.locale, code.fallback, printing.locale, printing.fallback) == ("fr", False, "en", True)
    assert "+260 97 555 0100" in code.body_markdown and "{{" not in code.body_markdown
    assert "<p>" in code.body_html and code.url == "/farajaland/kb/articles/code-not-received"
    assert code.category == "access-and-login" and code.tags == ["sms", "code"] and code.updated_at.tzinfo is not None


LINKS = "Forgot it? See [Resetting a forgotten password](password-reset).\n\nTo print, see [Printing certificates](printing-certificates)."


def test_a_link_to_an_article_readers_cannot_open_reads_as_plain_text_and_the_materials_status_lists_it(client, auth, make_user, library, kb_edit):
    kb_edit("farajaland", services.save_article, None, "office-help", "en", draft("Office help", LINKS))
    en = {"Accept-Language": "en"}
    assert '<a href="password-reset"' in client.get("/farajaland/kb/articles/office-help", headers=en).get_data(as_text=True)
    auth.login(make_user(role=Role.TENANT_ADMIN))
    hidden = client.post("/farajaland/kb/manage/password-reset/visibility", data={"hide": "1"}, headers=en, follow_redirects=True).get_data(as_text=True)
    assert "1 article links to it: its readers now see that link as plain text (Office help)." in hidden
    materials = client.get("/farajaland/kb/manage/materials", headers=en).get_data(as_text=True)
    links = materials.split('id="links-title"')[1].split("</section>")[0]
    assert 'href="/farajaland/kb/manage/office-help/en">office-help</a> (EN) → password-reset' in links
    assert "printing-certificates" not in links
    auth.logout()
    page = client.get("/farajaland/kb/articles/office-help", headers=en).get_data(as_text=True)
    assert "See Resetting a forgotten password." in page and 'href="password-reset"' not in page
    assert '<a href="printing-certificates"' in page
    handbook = client.get("/farajaland/kb/handbook", headers=en).get_data(as_text=True)
    assert "See Resetting a forgotten password." in handbook and "#article-password-reset" not in handbook
    assert 'href="#article-printing-certificates"' in handbook


def test_a_link_to_a_staff_article_or_a_draft_is_plain_text_for_readers_who_cannot_open_it(client, auth, make_user, library, kb_edit):
    body = "Agents: see [the triage checklist](staff-triage) and [our hours](office-hours)."
    kb_edit("farajaland", services.save_article, None, "office-hours", "en", draft("Office hours", "Open at 8.", status="draft"))
    kb_edit("farajaland", services.save_article, None, "office-help", "en", draft("Office help", body))
    reader = client.get("/farajaland/kb/articles/office-help", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Agents: see the triage checklist and our hours." in reader
    auth.login(make_user(role=Role.L1_AGENT))
    agent = client.get("/farajaland/kb/articles/office-help", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<a href="staff-triage"' in agent and '<a href="office-hours"' not in agent  # what readers get: a draft is not there yet
