"""Editors write in the browser with a preview; copies of generic articles are flagged when it changes."""
from portal.auth.permissions import GlobalRole, Role
from portal.kb import services
from tests.conftest import until_waiting
from tests.kb.conftest import draft

FORM = {"title": "Resetting your password in Farajaland", "body": "Ask {{ support.email }} or {{ support.fax }}.",
        "category": "access-and-login", "tags": "password, reset", "audience": "public", "status": "published"}


def test_preview_shows_the_filled_text_and_unknown_placeholders_without_saving(client, auth, make_user, library):
    auth.login(make_user(role=Role.L1_AGENT))
    page = client.post("/farajaland/kb/manage/password-reset/en", data=FORM | {"preview": "Preview"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "support@farajaland.example" in text and '<mark class="kb-unknown">{{ support.fax }}</mark>' in text
    assert "Resetting a forgotten password" in client.get("/farajaland/kb/articles/password-reset", headers={"Accept-Language": "en"}).get_data(as_text=True)


def test_saving_a_generic_article_makes_a_local_copy_with_history_and_restore(client, auth, make_user, library):
    auth.login(make_user(role=Role.L1_AGENT, name="Lina Agent"))
    saved = client.post("/farajaland/kb/manage/password-reset/en", data=FORM | {"save": "Save"})
    assert saved.status_code == 302
    article = client.get("/farajaland/kb/articles/password-reset", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Resetting your password in Farajaland" in article and "support@farajaland.example" in article
    assert '<mark class="kb-unknown">{{ support.fax }}</mark>' in article  # editors see what is missing...
    auth.logout()
    reader = client.get("/farajaland/kb/articles/password-reset", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "{{" not in reader and "Ask support@farajaland.example or ." in reader  # ...readers see nothing broken
    auth.login(make_user(role=Role.L1_AGENT, name="Lina Agent"))
    client.post("/farajaland/kb/manage/password-reset/en", data=FORM | {"title": "Second title", "save": "Save"})
    history = client.get("/farajaland/kb/manage/password-reset/en/history").get_data(as_text=True)
    assert "Revision 2" in history and "Revision 1" in history and "Lina Agent" in history
    client.post("/farajaland/kb/manage/password-reset/en/restore/1")
    assert "Resetting your password in Farajaland" in client.get("/farajaland/kb/articles/password-reset", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Revision 3" in client.get("/farajaland/kb/manage/password-reset/en/history").get_data(as_text=True)
    assert "Local copy" in client.get("/farajaland/kb/manage").get_data(as_text=True)


def test_invalid_form_is_refused_with_a_message(client, auth, make_user, library):
    auth.login(make_user(role=Role.TENANT_ADMIN))
    page = client.post("/farajaland/kb/manage/new", data=FORM | {"slug": "Bad Slug!", "save": "Save"})
    assert page.status_code == 422
    assert "Use lowercase letters, digits and hyphens." in page.get_data(as_text=True)
    created = client.post("/farajaland/kb/manage/new?locale=fr", data=FORM | {"slug": "nos-bureaux", "title": "Nos bureaux", "save": "Save"})
    assert created.status_code == 302
    assert "Nos bureaux" in client.get("/farajaland/kb/articles/nos-bureaux", headers={"Accept-Language": "fr"}).get_data(as_text=True)


def test_requesters_cannot_edit_and_tenant_staff_cannot_edit_the_generic_library(client, auth, make_user, library):
    auth.login(make_user(role=Role.REQUESTER))
    assert client.get("/farajaland/kb/manage").status_code == 403
    assert client.post("/farajaland/kb/manage/password-reset/en", data=FORM | {"save": "Save"}).status_code == 403
    auth.logout()
    auth.login(make_user(role=Role.TENANT_ADMIN))
    assert client.post("/farajaland/kb/library/password-reset/en", data=FORM | {"save": "Save"}).status_code == 403


def test_a_generic_change_flags_copies_and_translations_outdated_with_a_diff(client, auth, make_user, library, kb_edit):
    kb_edit("farajaland", services.save_article, None, "password-reset", "en", draft("Our reset", "Local text.", "access-and-login"))
    kb_edit("farajaland", services.save_article, None, "printing-certificates", "fr", draft("Imprimer", "Texte.", "certificates-and-printing"))
    auth.login(make_user(global_role=GlobalRole.PLATFORM_ADMIN, tenant=None))
    body = "Tap **Forgot password** and follow the steps.\nA new line from the core team.\n"
    saved = client.post("/farajaland/kb/library/password-reset/en", data=FORM | {"title": "Resetting a forgotten password", "body": body, "save": "Save"})
    assert saved.status_code == 302
    client.post("/farajaland/kb/library/printing-certificates/en", data=FORM | {"title": "Printing", "body": "New upstream text", "category": "certificates-and-printing", "save": "Save"})
    edit = client.get("/farajaland/kb/manage/password-reset/en").get_data(as_text=True)
    assert "The generic article changed since this copy was made." in edit
    assert "+A new line from the core team." in edit
    materials = client.get("/farajaland/kb/manage/materials").get_data(as_text=True)
    assert "password-reset" in materials and "revision 1, now 2" in materials
    translations = client.get("/farajaland/kb/manage/translations").get_data(as_text=True)
    assert "Imprimer" in translations.split('id="loc-fr"')[1]  # the French copy follows an older English text
    # Updating the copy clears the flag.
    client.post("/farajaland/kb/manage/password-reset/en", data=FORM | {"save": "Save"})
    assert "The generic article changed" not in client.get("/farajaland/kb/manage/password-reset/en").get_data(as_text=True)


def test_materials_status_lists_unknown_placeholders(client, auth, make_user, library, kb_edit):
    kb_edit("farajaland", services.save_article, None, "fax-line", "en", draft("Fax us", "Fax: {{ support.fax_number }}"))
    auth.login(make_user(role=Role.TENANT_ADMIN))
    materials = client.get("/farajaland/kb/manage/materials").get_data(as_text=True)
    assert "fax-line" in materials and "{{ support.fax_number }}" in materials
    page = client.get("/farajaland/kb/articles/fax-line").get_data(as_text=True)
    assert '<mark class="kb-unknown">' in page  # editors see the marker on the article itself


def test_hiding_and_reverting_from_the_manage_page(client, auth, make_user, library, kb_edit):
    kb_edit("farajaland", services.save_article, None, "password-reset", "en", draft("Our reset", "Local text.", "access-and-login"))
    auth.login(make_user(role=Role.TENANT_ADMIN))
    client.post("/farajaland/kb/manage/password-reset/revert", data={"confirm": "y"})
    assert "Resetting a forgotten password" in client.get("/farajaland/kb/articles/password-reset").get_data(as_text=True)
    client.post("/farajaland/kb/manage/printing-certificates/visibility", data={"hide": "1"})
    auth.logout()
    assert client.get("/farajaland/kb/articles/printing-certificates").status_code == 404


def test_a_copy_made_again_after_a_revert_starts_a_history_of_its_own(client, auth, make_user, library, kb_edit):
    kb_edit("farajaland", services.save_article, None, "password-reset", "en", draft("First copy", "One."))
    kb_edit("farajaland", services.save_article, None, "password-reset", "en", draft("First copy, edited", "Two."))
    kb_edit("farajaland", services.revert_to_generic, None, "password-reset", confirmed=True)
    kb_edit("farajaland", services.save_article, None, "password-reset", "en", draft("Second copy", "Three."))
    auth.login(make_user(role=Role.L1_AGENT))
    history = client.get("/farajaland/kb/manage/password-reset/en/history").get_data(as_text=True)
    assert "Second copy" in history and "First copy" not in history and "Revision 2" not in history


def test_saving_a_placeholder_the_country_has_no_value_for_warns_and_the_editor_lists_the_right_ones(client, auth, make_user, library):
    auth.login(make_user(role=Role.TENANT_ADMIN))
    body = "On time: {{ registration.fees.birth_ontime }}. Write to {{ support.email }}."
    saved = client.post("/farajaland/kb/manage/new", data=FORM | {"slug": "fees-explained", "title": "Fees", "body": body, "save": "Save"}, follow_redirects=True)
    page = saved.get_data(as_text=True)
    assert "The article was saved." in page
    assert "Farajaland has no value for {{ registration.fees.birth_ontime }}: readers see nothing in its place." in page
    assert "support.email" not in page.split("has no value for")[1].split("</")[0]
    placeholders = page.split('class="kb-placeholders"')[1].split("</details>")[0]
    assert "{{ support.email }}" in placeholders and "support@farajaland.example" in placeholders
    assert "{{ registration.fees.birth_on_time }}" in placeholders  # what the author meant
    # Values as a reader writes them, not as the file stores them.
    assert "<code>{{ support.business_hours.start }}</code></td><td>08:00</td>" in placeholders
    assert "Monday, Tuesday, Wednesday, Thursday, Friday" in placeholders and "25 Dec 2026, 1 Jan 2027" in placeholders
    fine = client.post("/farajaland/kb/manage/fees-explained/en", data=FORM | {"title": "Fees", "body": "Write to {{ support.email }}.", "save": "Save"}, follow_redirects=True)
    assert "has no value for" not in fine.get_data(as_text=True)


def test_every_history_link_of_the_editor_leads_somewhere(client, auth, make_user, library):
    auth.login(make_user(role=Role.L1_AGENT))
    generic = client.get("/farajaland/kb/manage/password-reset/en").get_data(as_text=True)
    assert "/farajaland/kb/manage/password-reset/en/history" not in generic  # no copy yet: no history here
    client.post("/farajaland/kb/manage/password-reset/en", data=FORM | {"save": "Save"})
    copy = client.get("/farajaland/kb/manage/password-reset/en").get_data(as_text=True)
    assert "/farajaland/kb/manage/password-reset/en/history" in copy
    history = client.get("/farajaland/kb/manage/password-reset/en/history")
    assert history.status_code == 200 and "History of “Resetting your password in Farajaland”" in history.get_data(as_text=True)


def test_the_editor_labels_the_category_field_in_words(client, auth, make_user, library):
    auth.login(make_user(role=Role.TENANT_ADMIN))
    english = client.get("/farajaland/kb/manage/new", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<label for="category">Category</label>' in english and "ArticleCategory" not in english
    client.post("/farajaland/language", data={"lang": "fr", "next": "/farajaland/kb/manage/new"})
    assert '<label for="category">Catégorie</label>' in client.get("/farajaland/kb/manage/new").get_data(as_text=True)


def test_the_feedback_page_is_titled_with_the_article_even_when_it_is_hidden(client, auth, make_user, library):
    client.post("/farajaland/kb/articles/printing-certificates/feedback", data={"helpful": "no", "comment": "Which printer?"})
    auth.login(make_user(role=Role.TENANT_ADMIN))
    client.post("/farajaland/kb/manage/printing-certificates/visibility", data={"hide": "1"})
    page = client.get("/farajaland/kb/manage/printing-certificates/feedback", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "<h1>Feedback on “Printing certificates”</h1>" in page and "Feedback on “Printing certificates” ·" in page
    assert "Which printer?" in page and "printing-certificates</h1>" not in page
    assert client.get("/farajaland/kb/manage/no-such-article/feedback").status_code == 404


def _base(page: str) -> str:
    """The edit form's record of the article state it was made from."""
    import re

    return re.search(r'name="base" type="hidden" value="([^"]*)"', page).group(1)


def test_a_save_over_a_colleagues_newer_save_is_refused_with_their_name_and_the_text_kept(app, client, auth, make_user, library):
    """Two administrators open the same article; the second to save is told instead of wiping out the first's work."""
    auth.login(make_user(role=Role.TENANT_ADMIN, name="Ada Admin"))
    base = _base(client.get("/farajaland/kb/manage/password-reset/en").get_data(as_text=True))
    colleague = app.test_client()
    colleague.post("/farajaland/login", data={"email": make_user(role=Role.TENANT_ADMIN, name="Carl Colleague"), "password": "correct-horse-battery"})
    other_base = _base(colleague.get("/farajaland/kb/manage/password-reset/en").get_data(as_text=True))
    assert other_base == base
    assert colleague.post("/farajaland/kb/manage/password-reset/en", data=FORM | {"title": "Carl's title", "base": other_base, "save": "Save"}).status_code == 302

    refused = client.post("/farajaland/kb/manage/password-reset/en", data=FORM | {"title": "Ada's title", "base": base, "save": "Save"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert "Carl Colleague saved this article after you opened it" in page and "Ada&#39;s title" in page
    assert "Carl&#39;s title" in client.get("/farajaland/kb/manage/password-reset/en").get_data(as_text=True)
    # Saving again from the refused page is deliberate: it goes through.
    again = client.post("/farajaland/kb/manage/password-reset/en", data=FORM | {"title": "Ada's title", "base": _base(page), "save": "Save"})
    assert again.status_code == 302
    assert "Ada&#39;s title" in client.get("/farajaland/kb/manage/password-reset/en").get_data(as_text=True)


def test_the_same_new_article_created_by_two_editors_at_once_is_a_clear_refusal(app, client, auth, make_user, library):
    """The second insert waits for the first's, then meets the unique address name: a 409, not a 500."""
    import threading

    import pytest
    from sqlalchemy import insert, text

    from portal.core.db import db
    from portal.kb.models import Article

    auth.login(make_user(role=Role.TENANT_ADMIN))
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite lets one writer in at a time")
        with db.engine.connect() as first:
            tenant_id = first.execute(text("SELECT id FROM tenants WHERE slug = 'farajaland'")).scalar_one()
            first.execute(insert(Article.__table__).values(tenant_id=tenant_id, slug="our-offices", source_locale="en", category="other", audience="public", status="published"))
            answer = {}
            second = threading.Thread(target=lambda: answer.update(response=client.post("/farajaland/kb/manage/new", data=FORM | {"slug": "our-offices", "title": "Our offices", "base": "new", "save": "Save"})))
            second.start()
            until_waiting(first, "the second creation")
            first.commit()
            second.join(timeout=30)
    assert answer["response"].status_code == 409
    assert "An article with this address name exists already." in answer["response"].get_data(as_text=True)


def test_the_edit_page_says_category_audience_and_status_are_shared_by_every_language(client, auth, make_user, library):
    auth.login(make_user(role=Role.TENANT_ADMIN))
    page = client.get("/farajaland/kb/manage/code-not-received/fr", headers={"Accept-Language": "en"}).get_data(as_text=True)
    settings = page.split('<fieldset class="kb-article-settings"')[1].split("</fieldset>")[0]
    assert "<legend>Settings of the article in every language</legend>" in settings
    assert "changing them on this FR page changes them for readers of every language" in settings
    assert 'id="category"' in settings and 'id="audience"' in settings and 'id="status"' in settings
    assert "Draft hides the article from readers in every language, not only this one." in settings
    assert 'id="tags"' not in settings  # tags are each language's own


def test_a_translator_saving_a_draft_is_asked_before_the_other_languages_are_withdrawn(client, auth, make_user, library, kb_edit):
    """A French work in progress saved as Draft would unpublish the English article for every reader."""
    kb_edit("farajaland", services.save_article, None, "office-hours", "en", draft("Office hours", "Open at 8."))
    kb_edit("farajaland", services.save_article, None, "office-hours", "fr", draft("Heures d'ouverture", "Ouvert à 8 h."))
    auth.login(make_user(role=Role.L1_AGENT))
    french = FORM | {"title": "Heures d'ouverture", "body": "Ouvert à 8 h, à traduire…", "category": "other", "status": "draft", "save": "Save"}
    refused = client.post("/farajaland/kb/manage/office-hours/fr", data=french, headers={"Accept-Language": "en"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert "saving it as Draft also withdraws the published text in EN from readers" in page
    assert "Yes, withdraw the article from readers in every language" in page
    assert "à traduire" in page  # the translator's text is kept
    auth.logout()
    assert "Office hours" in client.get("/farajaland/kb/articles/office-hours", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "à traduire" not in client.get("/farajaland/kb/articles/office-hours", headers={"Accept-Language": "fr"}).get_data(as_text=True)

    # Kept published, the French text is saved and the English article stays.
    auth.login(make_user(role=Role.L1_AGENT))
    assert client.post("/farajaland/kb/manage/office-hours/fr", data=french | {"status": "published"}).status_code == 302
    # Confirmed, the article is withdrawn in every language, as the editor was told.
    assert client.post("/farajaland/kb/manage/office-hours/fr", data=french | {"unpublish": "y"}).status_code == 302
    auth.logout()
    assert client.get("/farajaland/kb/articles/office-hours", headers={"Accept-Language": "en"}).status_code == 404


def test_the_generic_library_asks_too_and_a_draft_of_a_single_language_article_needs_no_confirmation(client, auth, make_user, library):
    auth.login(make_user(global_role=GlobalRole.PLATFORM_ADMIN, tenant=None))
    french = FORM | {"title": "Le code n'arrive pas", "category": "access-and-login", "status": "draft", "save": "Save"}
    assert client.post("/farajaland/kb/library/code-not-received/fr", data=french).status_code == 409
    assert client.get("/kalondo/kb/articles/code-not-received").status_code == 200  # every country still has it
    # password-reset is written in English only: Draft withdraws no other language.
    assert client.post("/farajaland/kb/library/password-reset/en", data=FORM | {"status": "draft", "save": "Save"}).status_code == 302


def test_restoring_an_old_draft_revision_restores_its_text_not_its_status(client, auth, make_user, library, kb_edit):
    kb_edit("farajaland", services.save_article, None, "office-hours", "en", draft("Office hours", "Open at 8.", status="draft"))
    kb_edit("farajaland", services.save_article, None, "office-hours", "en", draft("Office hours", "Open at 9."))
    kb_edit("farajaland", services.save_article, None, "office-hours", "fr", draft("Heures d'ouverture", "Ouvert à 9 h."))
    auth.login(make_user(role=Role.L1_AGENT))
    client.post("/farajaland/kb/manage/office-hours/en/restore/1")
    auth.logout()
    english = client.get("/farajaland/kb/articles/office-hours", headers={"Accept-Language": "en"})
    assert english.status_code == 200 and "Open at 8." in english.get_data(as_text=True)
    assert client.get("/farajaland/kb/articles/office-hours", headers={"Accept-Language": "fr"}).status_code == 200


def test_a_language_the_country_changed_in_another_only_is_flagged_for_translation(client, auth, make_user, library):
    """French readers of an article Farajaland changed in English only still get the generic French text."""
    auth.login(make_user(role=Role.TENANT_ADMIN))
    before = client.get("/farajaland/kb/manage/translations", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "code-not-received" not in before.split('id="loc-fr"')[1]
    english = FORM | {"title": "The verification code never arrives", "category": "access-and-login",
                      "body": "Wait two minutes.\n\nOur offices in Farajaland can also send it.", "save": "Save"}
    assert client.post("/farajaland/kb/manage/code-not-received/en", data=english).status_code == 302

    status = client.get("/farajaland/kb/manage/translations", headers={"Accept-Language": "en"}).get_data(as_text=True)
    french = status.split('id="loc-fr"')[1]
    assert "Changed in another language only" in french and "readers in FR still get the generic text" in french
    assert "/farajaland/kb/manage/code-not-received/fr" in french
    assert "code-not-received" not in status.split('id="loc-fr"')[0].split('id="loc-en"')[1]  # English has the change
    # The French page shows what readers get, and the change to bring into it.
    page = client.get("/farajaland/kb/manage/code-not-received/fr", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Readers in FR still get the generic text: your country changed this article in EN only." in page
    assert "+Our offices in Farajaland can also send it." in page
    assert "Le code de vérification n&#39;arrive pas" in page  # the generic French text, to adapt
    # Saving the French adaptation clears the flag.
    client.post("/farajaland/kb/manage/code-not-received/fr", data=FORM | {
        "title": "Le code de vérification n'arrive pas", "category": "access-and-login",
        "body": "Attendez deux minutes.\n\nNos bureaux peuvent aussi l'envoyer.", "save": "Save"})
    cleared = client.get("/farajaland/kb/manage/translations", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "code-not-received" not in cleared.split('id="loc-fr"')[1]
    assert "Readers in FR still get" not in client.get("/farajaland/kb/manage/code-not-received/fr").get_data(as_text=True)


EN = {"Accept-Language": "en"}


def test_a_new_article_named_like_a_generic_one_is_refused_with_a_link_to_edit_the_generic_one(client, auth, make_user, library):
    """Not a false edit conflict, and no local copy in one language that French readers never get."""
    auth.login(make_user(role=Role.TENANT_ADMIN))
    new = FORM | {"slug": "password-reset", "title": "Our reset steps", "base": _base(client.get("/farajaland/kb/manage/new", headers=EN).get_data(as_text=True)), "save": "Save"}
    for _attempt in range(2):  # saving again is refused the same way
        refused = client.post("/farajaland/kb/manage/new", data=new, headers=EN)
        page = refused.get_data(as_text=True)
        assert refused.status_code == 422
        assert "An article with this address name exists already." in page
        assert "after you opened it" not in page
        assert 'href="/farajaland/kb/manage/password-reset/en"' in page  # where the country's copy is made
        assert "Our reset steps" in page  # the editor's text is kept
    auth.logout()
    assert "Resetting a forgotten password" in client.get("/farajaland/kb/articles/password-reset", headers=EN).get_data(as_text=True)


def test_a_conflict_with_a_save_nobody_signed_says_someone_with_a_capital(client, auth, make_user, library, kb_edit):
    auth.login(make_user(role=Role.TENANT_ADMIN))
    base = _base(client.get("/farajaland/kb/manage/password-reset/en").get_data(as_text=True))
    kb_edit("farajaland", services.save_article, None, "password-reset", "en", draft("Saved by a script", "Text.", "access-and-login"))
    refused = client.post("/farajaland/kb/manage/password-reset/en", data=FORM | {"base": base, "save": "Save"}, headers=EN)
    assert refused.status_code == 409
    assert "Someone saved this article after you opened it." in refused.get_data(as_text=True)


def test_using_the_generic_article_again_is_confirmed_first_with_what_is_lost(client, auth, make_user, library, kb_edit):
    kb_edit("farajaland", services.save_article, None, "password-reset", "en", draft("Our reset", "Local text.", "access-and-login"))
    kb_edit("farajaland", services.save_article, None, "password-reset", "en", draft("Our reset", "Local text, again.", "access-and-login"))
    kb_edit("farajaland", services.save_article, None, "password-reset", "fr", draft("Notre page", "Texte local.", "access-and-login"))
    auth.login(make_user(role=Role.TENANT_ADMIN))
    manage = client.get("/farajaland/kb/manage", headers=EN).get_data(as_text=True)
    assert 'action="/farajaland/kb/manage/password-reset/revert"' in manage
    asked = client.post("/farajaland/kb/manage/password-reset/revert", headers=EN)
    page = asked.get_data(as_text=True)
    assert asked.status_code == 409
    assert "EN (2 revisions), FR (1 revision)" in page and "cannot be undone" in page
    assert "Yes, delete our text in every language, with its history" in page
    assert "Local text, again." in client.get("/farajaland/kb/articles/password-reset", headers=EN).get_data(as_text=True)  # nothing lost yet
    # Sent again without the box ticked: still asked.
    assert client.post("/farajaland/kb/manage/password-reset/revert", data={"confirm": ""}, headers=EN).status_code == 409
    done = client.post("/farajaland/kb/manage/password-reset/revert", data={"confirm": "y"}, headers=EN)
    assert done.status_code == 302
    assert "Resetting a forgotten password" in client.get("/farajaland/kb/articles/password-reset", headers=EN).get_data(as_text=True)
    assert client.post("/farajaland/kb/manage/password-reset/revert", data={"confirm": "y"}).status_code == 404  # no copy left


def test_a_new_article_is_written_in_the_language_chosen_by_default_the_editors_own(client, auth, make_user, library):
    auth.login(make_user(role=Role.TENANT_ADMIN))
    client.post("/farajaland/language", data={"lang": "fr", "next": "/farajaland/kb/manage/new"})
    page = client.get("/farajaland/kb/manage/new").get_data(as_text=True)
    choice = page.split('<select id="locale" name="locale"')[1].split("</select>")[0]
    assert '<option selected value="fr">Français</option>' in choice and '<option value="en">English</option>' in choice
    created = client.post("/farajaland/kb/manage/new", data=FORM | {"slug": "nos-horaires", "title": "Nos horaires", "locale": "fr", "save": "Save"})
    assert created.status_code == 302 and created.headers["Location"].endswith("/farajaland/kb/manage/nos-horaires/fr")
    english = client.post("/farajaland/kb/manage/new", data=FORM | {"slug": "our-hours", "title": "Our hours", "locale": "en", "save": "Save"})
    assert english.status_code == 302 and english.headers["Location"].endswith("/farajaland/kb/manage/our-hours/en")
    auth.logout()
    assert "Nos horaires" in client.get("/farajaland/kb/articles/nos-horaires", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "Our hours" in client.get("/farajaland/kb/articles/our-hours", headers=EN).get_data(as_text=True)


def test_revision_notes_read_in_the_language_of_whoever_reads_the_history(app, client, auth, make_user, library, kb_edit):
    french = app.test_client()
    french.post("/farajaland/login", data={"email": make_user(role=Role.TENANT_ADMIN), "password": "correct-horse-battery"})
    french.post("/farajaland/language", data={"lang": "fr", "next": "/farajaland/"})
    assert french.post("/farajaland/kb/manage/password-reset/en", data=FORM | {"save": "Save"}).status_code == 302
    # A note stored in French before notes were stored in one language reads in English too.
    kb_edit("farajaland", services.save_article, None, "password-reset", "en", draft("Older", "Older text.", "access-and-login"), note="modifié dans le navigateur")
    auth.login(make_user(role=Role.TENANT_ADMIN))
    history = client.get("/farajaland/kb/manage/password-reset/en/history", headers=EN).get_data(as_text=True)
    assert history.count("· edited in the browser") == 2 and "modifié" not in history
    in_french = french.get("/farajaland/kb/manage/password-reset/en/history").get_data(as_text=True)
    assert in_french.count("· modifié dans le navigateur") == 2 and "edited in the browser" not in in_french
