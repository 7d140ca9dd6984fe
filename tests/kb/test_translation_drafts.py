"""A translation's draft: kept for its editors, never shown to readers, published as a new revision."""
import re

from portal.auth.permissions import GlobalRole, Role
from portal.kb import services
from tests.kb.conftest import draft

EN, FR = {"Accept-Language": "en"}, {"Accept-Language": "fr"}
FRENCH = "/farajaland/kb/manage/office-hours/fr"
# A word of the drafts only: wherever readers look, it must not be found.
MARKER = "Zanzibarique"


def bilingual(kb_edit):
    """Office hours, a Farajaland article published in English and French."""
    kb_edit("farajaland", services.save_article, None, "office-hours", "en", draft("Office hours", "Open at 8."))
    kb_edit("farajaland", services.save_article, None, "office-hours", "fr", draft("Heures d'ouverture", "Ouvert à 8 h."))


def form_of(page: str, **fields) -> dict:
    """What the edit form sends: its text and settings as the page has them, its hidden tokens, and `fields`."""
    def value(name):
        return re.search(rf'name="{name}" type="hidden" value="([^"]*)"', page).group(1)

    data = {"title": "Heures d'ouverture", "body": "", "tags": "", "category": "other", "audience": "public", "status": "published",
            "base": value("base"), "draft": value("draft")}
    return data | fields


def edit_page(client, url=FRENCH) -> str:
    response = client.get(url, headers=EN)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def save_draft(client, body, url=FRENCH, **fields):
    return client.post(url, data=form_of(edit_page(client, url), body=body, save_draft="Save draft", **fields), headers=EN)


def read(client, slug, headers):
    response = client.application.test_client().get(f"/farajaland/kb/articles/{slug}", headers=headers)  # signed out
    return response.status_code, response.get_data(as_text=True)


def found(client, query, headers) -> list[str]:
    """The slugs of the search results for `query`."""
    return re.findall(r"/kb/articles/([a-z0-9-]+)\?sid=", client.get(f"/farajaland/kb/search?q={query}", headers=headers).get_data(as_text=True))


def test_a_french_draft_leaves_the_english_and_the_published_french_to_readers(client, auth, make_user, library, kb_edit):
    bilingual(kb_edit)
    auth.login(make_user(role=Role.L1_AGENT, name="Fatou Translator"))
    saved = save_draft(client, "Ouvert à 8 h, à traduire…")
    assert saved.status_code == 302 and saved.headers["Location"].endswith(FRENCH)
    assert "Your draft was saved. Readers still get the published text" in client.get(FRENCH, headers=EN).get_data(as_text=True)

    status, english = read(client, "office-hours", EN)
    assert status == 200 and "Office hours" in english
    status, french = read(client, "office-hours", FR)
    assert status == 200 and "Ouvert à 8 h." in french and "à traduire" not in french
    # The editor reading the article gets what readers get, and the history has no new revision.
    assert "à traduire" not in client.get("/farajaland/kb/articles/office-hours", headers=FR).get_data(as_text=True)
    history = client.get(FRENCH + "/history", headers=EN).get_data(as_text=True)
    assert "Revision 1" in history and "Revision 2" not in history


def test_saving_a_draft_never_changes_the_status_of_the_article(client, auth, make_user, library, kb_edit):
    """The translator's case that used to withdraw the English article: Draft as the status, saved as a draft."""
    bilingual(kb_edit)
    auth.login(make_user(role=Role.L1_AGENT))
    saved = save_draft(client, "Ouvert à 8 h, à traduire…", status="draft", category="access-and-login")
    assert saved.status_code == 302
    page = client.get(FRENCH, headers=EN).get_data(as_text=True)
    assert "Category, audience and status were not changed" in page
    assert '<option selected value="published">' in page.split('id="status"')[1]
    assert read(client, "office-hours", EN)[0] == 200 and read(client, "office-hours", FR)[0] == 200


def test_a_translation_not_written_yet_is_started_as_a_draft_and_readers_get_the_fallback_until_it_is_published(client, auth, make_user, library, kb_edit):
    auth.login(make_user(role=Role.L1_AGENT))
    url = "/farajaland/kb/manage/password-reset/fr"  # a generic article written in English only
    assert save_draft(client, "Touchez « Mot de passe oublié ».", url, title="Mot de passe oublié").status_code == 302
    status, french = read(client, "password-reset", FR)
    assert status == 200 and "Resetting a forgotten password" in french and "Mot de passe oublié" not in french
    assert kb_edit("farajaland", lambda tenant: services.get_local("password-reset")) is None  # no copy made for a draft
    page = edit_page(client, url)
    assert "FR has no published text yet: its readers get the article in another language" in page
    assert "Touchez « Mot de passe oublié »." in page.split('id="body"')[1]  # the form is the draft

    published = client.post(url, data=form_of(page, title="Mot de passe oublié", body="Touchez « Mot de passe oublié ».",
                                               category="access-and-login", save="Publish"), headers=EN)
    assert published.status_code == 302
    status, french = read(client, "password-reset", FR)
    assert status == 200 and "Mot de passe oublié" in french
    assert "Draft in progress" not in edit_page(client, url)
    assert "Revision 1" in client.get(url + "/history", headers=EN).get_data(as_text=True)


def test_publishing_a_draft_makes_it_live_as_a_new_revision_and_clears_it(client, auth, make_user, library, kb_edit):
    bilingual(kb_edit)
    auth.login(make_user(role=Role.L1_AGENT, name="Fatou Translator"))
    save_draft(client, "Ouvert de 8 h à 16 h.")
    page = edit_page(client)
    published = client.post(FRENCH, data=form_of(page, body="Ouvert de 8 h à 16 h.", save="Publish"), headers=EN)
    assert published.status_code == 302
    assert "Ouvert de 8 h à 16 h." in read(client, "office-hours", FR)[1]
    history = client.get(FRENCH + "/history", headers=EN).get_data(as_text=True)
    assert "Revision 2" in history and "Fatou Translator" in history
    assert "Draft in progress" not in edit_page(client)
    assert "Draft in progress: FR" not in client.get("/farajaland/kb/manage", headers=EN).get_data(as_text=True)


def test_a_draft_is_discarded_and_the_editor_starts_again_from_the_published_text(client, auth, make_user, library, kb_edit):
    bilingual(kb_edit)
    auth.login(make_user(role=Role.L1_AGENT))
    save_draft(client, "Une idée abandonnée.")
    page = edit_page(client)
    token = re.search(r'name="draft" value="([^"]+)"', page).group(1)  # the discard form's
    discarded = client.post(FRENCH, data={"draft": token, "discard_draft": "1"}, headers=EN, follow_redirects=True)
    text = discarded.get_data(as_text=True)
    assert discarded.status_code == 200 and "The draft was discarded." in text
    assert "Draft in progress" not in text and "Une idée abandonnée." not in text and "Ouvert à 8 h." in text
    assert "Revision 2" not in client.get(FRENCH + "/history", headers=EN).get_data(as_text=True)


def test_a_pending_draft_is_shown_with_its_author_its_age_and_what_it_changes(client, auth, make_user, library, kb_edit):
    bilingual(kb_edit)
    auth.login(make_user(role=Role.L1_AGENT, name="Fatou Translator"))
    save_draft(client, "Ouvert à 8 h.\nFermé le dimanche.")
    auth.logout()
    auth.login(make_user(role=Role.TENANT_ADMIN))  # a colleague opens the translation
    page = edit_page(client)
    section = page.split('class="notice kb-draft"')[1].split("</section>")[0]
    assert "Saved by Fatou Translator, " in section and " ago." in section
    assert "+Fermé le dimanche." in section and "--- published, revision 1" in section and "+++ draft" in section
    assert "Fermé le dimanche." in page.split('id="body"')[1]
    assert "Discard draft" in section

    manage = client.get("/farajaland/kb/manage", headers=EN).get_data(as_text=True)
    assert "Draft in progress: FR" in manage and "Drafts in progress (1)" in manage
    only = client.get("/farajaland/kb/manage?show=drafts", headers=EN).get_data(as_text=True)
    assert "/kb/articles/office-hours" in only and "/kb/articles/password-reset" not in only
    translations = client.get("/farajaland/kb/manage/translations", headers=EN).get_data(as_text=True)
    french = translations.split('id="loc-fr"')[1]
    assert "Drafts in progress" in french and "Fatou Translator" in french
    assert "Drafts in progress" not in translations.split('id="loc-fr"')[0]


def test_a_draft_over_a_text_published_meanwhile_is_compared_before_it_replaces_it(app, client, auth, make_user, library, kb_edit):
    bilingual(kb_edit)
    colleague = app.test_client()
    colleague.post("/farajaland/login", data={"email": make_user(role=Role.TENANT_ADMIN, name="Carl Colleague"), "password": "correct-horse-battery"})
    colleague_page = colleague.get(FRENCH, headers=EN).get_data(as_text=True)  # opened before the draft was saved
    auth.login(make_user(role=Role.L1_AGENT, name="Fatou Translator"))
    save_draft(client, "Ouvert à 8 h, à traduire…")
    published = colleague.post(FRENCH, data=form_of(colleague_page, body="Ouvert à 7 h 30.", save="Publish"), headers=EN)
    assert published.status_code == 302

    page = edit_page(client)
    assert "The published text changed after this draft was started." in page
    assert "+Ouvert à 7 h 30." in page  # what changed meanwhile...
    assert "+Ouvert à 8 h, à traduire…" in page  # ...and the draft against the text published now
    refused = client.post(FRENCH, data=form_of(page, body="Ouvert à 8 h, à traduire…", save="Publish"), headers=EN)
    text = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert "Carl Colleague published this translation after your draft was started." in text
    assert "Ouvert à 7 h 30." in read(client, "office-hours", FR)[1]  # nothing overwritten, the draft kept
    assert "Draft in progress" in text
    # Published again from the refused page, deliberately: it replaces the colleague's text.
    again = client.post(FRENCH, data=form_of(text, body="Ouvert à 8 h, traduit.", save="Publish"), headers=EN)
    assert again.status_code == 302
    assert "Ouvert à 8 h, traduit." in read(client, "office-hours", FR)[1]
    assert "Revision 3" in client.get(FRENCH + "/history", headers=EN).get_data(as_text=True)


def test_a_draft_saved_by_a_colleague_meanwhile_is_not_overwritten_without_a_word(app, client, auth, make_user, library, kb_edit):
    bilingual(kb_edit)
    auth.login(make_user(role=Role.L1_AGENT))
    mine = edit_page(client)
    colleague = app.test_client()
    colleague.post("/farajaland/login", data={"email": make_user(role=Role.L1_AGENT, name="Carl Colleague"), "password": "correct-horse-battery"})
    assert save_draft(colleague, "Le texte de Carl.").status_code == 302

    refused = client.post(FRENCH, data=form_of(mine, body="Mon texte.", save_draft="Save draft"), headers=EN)
    text = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert "Carl Colleague saved a draft of this translation after you opened it" in text
    assert "Le texte de Carl." in text and "Mon texte." in text  # theirs shown, mine kept
    # Nor thrown away from a page that did not show it.
    stale = client.post(FRENCH, data={"draft": "none", "discard_draft": "1"}, headers=EN, follow_redirects=True).get_data(as_text=True)
    assert "This draft was saved again after you opened the page, so it was not discarded." in stale and "Le texte de Carl." in stale
    # Saved again from the refused page, deliberately: mine replaces Carl's.
    assert client.post(FRENCH, data=form_of(text, body="Mon texte.", save_draft="Save draft"), headers=EN).status_code == 302
    assert "Mon texte." in edit_page(client).split('id="body"')[1]


def test_drafts_never_reach_readers_search_the_assistant_the_handbook_or_the_export(client, auth, make_user, runner, library, kb_edit, tmp_path):
    auth.login(make_user(role=Role.L1_AGENT))
    code = "/farajaland/kb/manage/code-not-received/fr"
    assert save_draft(client, f"{MARKER} : le code arrive par pigeon.", code, title=f"Le code {MARKER}", category="access-and-login").status_code == 302
    assert save_draft(client, f"{MARKER} opening hours.", "/farajaland/kb/manage/printing-certificates/en",
                      title="Printing certificates", category="certificates-and-printing").status_code == 302
    auth.logout()

    for slug, headers in (("code-not-received", FR), ("printing-certificates", EN)):
        status, page = read(client, slug, headers)
        assert status == 200 and MARKER not in page
    for query, slug, headers in (("code", "code-not-received", FR), ("printing", "printing-certificates", EN)):
        assert found(client, MARKER, headers) == []
        assert slug in found(client, query, headers)
        assert MARKER not in client.get(f"/farajaland/kb/search?q={query}", headers=headers).get_data(as_text=True)
        assert MARKER not in client.get("/farajaland/kb/handbook", headers=headers).get_data(as_text=True)
    for lang in ("fr", "en"):
        answer = client.post("/farajaland/api/v1/assistant", json={"message": f"le code {MARKER} n'arrive pas", "lang": lang})
        assert answer.status_code == 200 and MARKER not in answer.get_data(as_text=True)
        assert answer.get_json()["articles"][0]["slug"] == "code-not-received"  # answered from the published text
    assert MARKER not in client.get("/farajaland/api/v1/kb/articles/code-not-received?lang=fr").get_data(as_text=True)
    # Staff readers too.
    auth.login(make_user(role=Role.L2_TECHNICIAN))
    assert MARKER not in client.get("/farajaland/kb/articles/code-not-received", headers=FR).get_data(as_text=True)
    assert found(client, MARKER, FR) == [] and MARKER not in client.get("/farajaland/kb/search?q=code", headers=FR).get_data(as_text=True)
    out = tmp_path / "export"
    runner.invoke(args=["kb", "export", "--tenant", "farajaland", str(out / "farajaland")])
    runner.invoke(args=["kb", "export", "--generic", str(out / "generic")])
    assert list(out.rglob("*.md")) and not any(MARKER in path.read_text(encoding="utf-8") for path in out.rglob("*.md"))

    # Once published, the same text is what readers, search and the assistant get.
    page = edit_page(client, code)
    assert client.post(code, data=form_of(page, title=f"Le code {MARKER}", body=f"{MARKER} : le code arrive par pigeon.",
                                          category="access-and-login", save="Publish"), headers=EN).status_code == 302
    auth.logout()
    assert found(client, MARKER, FR) == ["code-not-received"]
    answer = client.post("/farajaland/api/v1/assistant", json={"message": f"le code {MARKER} n'arrive pas", "lang": "fr"})
    assert MARKER in answer.get_data(as_text=True)


def test_the_generic_library_keeps_its_drafts_from_every_country_until_published(client, auth, make_user, library):
    auth.login(make_user(global_role=GlobalRole.PLATFORM_ADMIN, tenant=None))
    url = "/farajaland/kb/library/code-not-received/fr"
    saved = save_draft(client, f"{MARKER}, en cours.", url, title="Le code de vérification n'arrive pas", category="access-and-login")
    assert saved.status_code == 302
    kalondo = client.application.test_client().get("/kalondo/kb/articles/code-not-received").get_data(as_text=True)
    assert "Attendez deux minutes" in kalondo and MARKER not in kalondo
    assert "Generic draft in progress: FR" in client.get("/farajaland/kb/manage", headers=EN).get_data(as_text=True)
    # A country's editors do not get the library's draft on their page, which makes their own copy.
    assert MARKER not in client.get("/farajaland/kb/manage/code-not-received/fr", headers=EN).get_data(as_text=True)

    page = edit_page(client, url)
    assert client.post(url, data=form_of(page, title="Le code de vérification n'arrive pas", body=f"{MARKER}, publié.",
                                         category="access-and-login", save="Publish"), headers=EN).status_code == 302
    assert f"{MARKER}, publié." in client.application.test_client().get("/kalondo/kb/articles/code-not-received").get_data(as_text=True)


def test_another_countrys_editor_neither_sees_nor_touches_a_draft(app, client, auth, make_user, library, kb_edit):
    bilingual(kb_edit)
    auth.login(make_user(role=Role.L1_AGENT))
    save_draft(client, f"{MARKER}, à traduire.")
    save_draft(client, f"{MARKER}, générique.", "/farajaland/kb/manage/code-not-received/fr", title="Le code", category="access-and-login")
    auth.logout()

    other = app.test_client()
    other.post("/kalondo/login", data={"email": make_user(tenant="kalondo", role=Role.TENANT_ADMIN), "password": "correct-horse-battery"})
    assert other.get("/kalondo/kb/manage/office-hours/fr").status_code == 404
    assert other.post("/kalondo/kb/manage/office-hours/fr", data={"draft": "none", "discard_draft": "1"}).status_code == 404
    assert other.post("/kalondo/kb/manage/office-hours/fr", data={"title": "Pris", "category": "other", "audience": "public",
                                                                   "status": "published", "save_draft": "Save draft"}).status_code == 404
    # A generic article both countries show: Kalondo's page has its own text, and no draft of Farajaland's.
    page = other.get("/kalondo/kb/manage/code-not-received/fr").get_data(as_text=True)
    assert MARKER not in page and "Draft in progress" not in page
    other.post("/kalondo/kb/manage/code-not-received/fr", data={"draft": "none", "discard_draft": "1"})
    assert MARKER not in other.get("/kalondo/kb/manage?show=drafts").get_data(as_text=True)
    assert MARKER not in other.get("/kalondo/kb/manage/translations").get_data(as_text=True)

    auth.login(make_user(role=Role.L1_AGENT))
    assert f"{MARKER}, générique." in edit_page(client, "/farajaland/kb/manage/code-not-received/fr")  # still there


def test_a_draft_form_without_its_csrf_token_is_refused(make_app, make_user, library, kb_edit):
    bilingual(kb_edit)
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    login = client.get("/farajaland/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login).group(1)
    client.post("/farajaland/login", data={"email": make_user(role=Role.L1_AGENT), "password": "correct-horse-battery", "csrf_token": token})
    page = edit_page(client)
    data = form_of(page, body="Sans jeton.", save_draft="Save draft")
    assert client.post(FRENCH, data=data).status_code == 400
    assert client.post(FRENCH, data={"draft": "none", "discard_draft": "1"}).status_code == 400
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post(FRENCH, data=data | {"csrf_token": csrf}).status_code == 302


def test_requesters_may_not_keep_drafts(client, auth, make_user, library, kb_edit):
    bilingual(kb_edit)
    auth.login(make_user(role=Role.REQUESTER))
    assert client.get(FRENCH).status_code == 403
    assert client.post(FRENCH, data={"title": "T", "category": "other", "audience": "public", "status": "published",
                                     "save_draft": "Save draft"}).status_code == 403
    assert client.post(FRENCH, data={"draft": "none", "discard_draft": "1"}).status_code == 403
    assert client.get("/farajaland/kb/manage?show=drafts").status_code == 403
    auth.logout()
    auth.login(make_user(role=Role.TENANT_ADMIN))  # nor may a country's administrator keep one of the generic library
    assert client.post("/farajaland/kb/library/code-not-received/fr", data={"title": "T", "category": "other", "audience": "public",
                                                                              "status": "published", "save_draft": "Save draft"}).status_code == 403


def test_a_french_draft_of_a_generic_article_is_published_after_a_colleague_published_the_english(client, auth, make_user, library, kb_edit):
    """Publishing the English makes the country's copy of the article; the French readers still get
    the generic French, which is what the draft started from: no conflict to compare."""
    auth.login(make_user(role=Role.L1_AGENT))
    url = "/farajaland/kb/manage/password-reset/fr"
    assert save_draft(client, "Touchez « Mot de passe oublié ».", url, title="Mot de passe oublié").status_code == 302
    english = "/farajaland/kb/manage/password-reset/en"
    page = edit_page(client, english)
    title = re.search(r'id="title"[^>]*value="([^"]*)"', page).group(1)
    body = page.split('id="body"')[1].split(">", 1)[1].split("</textarea>")[0]
    assert client.post(english, data=form_of(page, title=title, body=body.replace("&#34;", '"') + "\n\nCall us if it fails.",
                                              category="access-and-login", save="Publish"), headers=EN).status_code == 302
    assert kb_edit("farajaland", lambda tenant: services.get_local("password-reset")) is not None

    page = edit_page(client, url)
    published = client.post(url, data=form_of(page, title="Mot de passe oublié", body="Touchez « Mot de passe oublié ».",
                                               category="access-and-login", save="Publish"), headers=EN)
    assert published.status_code == 302, published.get_data(as_text=True)
    assert "Mot de passe oublié" in read(client, "password-reset", FR)[1]
    assert "Draft in progress" not in edit_page(client, url)


def test_a_draft_that_says_what_is_published_is_not_kept(client, auth, make_user, library, kb_edit):
    bilingual(kb_edit)
    auth.login(make_user(role=Role.L1_AGENT))
    save_draft(client, "Ouvert à 9 h.")
    assert "Draft in progress" in edit_page(client)
    back = save_draft(client, "Ouvert à 8 h.\n")  # brought back to the published text
    assert back.status_code == 302
    page = edit_page(client)
    assert "Your text is the same as the published one, so there is no draft to keep." in page
    assert "Draft in progress" not in page
    assert "Draft in progress: FR" not in client.get("/farajaland/kb/manage", headers=EN).get_data(as_text=True)
