"""Searching a tenant's articles: stemming, title boost, typos, categories, snippets and the log."""
import re

import pytest
from flask_migrate import upgrade
from sqlalchemy import insert, select, text

from portal import create_app
from portal.core.db import SYSTEM, across_tenants, db
from portal.kb import services
from portal.kb.models import SearchDocument, SearchLog
from portal.kb.search import document_row
from portal.tenancy.models import Tenant
from portal.tenancy.services import sync_tenants
from tests.conftest import REPO, make_test_config
from tests.kb.conftest import draft


def results(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def found(client, url) -> list[str]:
    """The slugs of the results, in order."""
    text = results(client, url)
    return re.findall(r'/kb/articles/([a-z0-9-]+)\?sid=', text)


def test_stemming_finds_other_forms_of_a_word_in_english_and_french(client, library):
    assert found(client, "/farajaland/kb/search?q=printed+certificate") == ["printing-certificates"]
    assert found(client, "/kalondo/kb/search?q=codes+vérifications") == ["code-not-received"]


def test_title_matches_rank_first_and_snippets_are_highlighted_and_escaped(client, library, kb_edit):
    kb_edit("farajaland", services.save_article, None, "password-in-body", "en",
            draft("Other things", "Your password <b>must</b> be long; the password is personal.", "other"))
    text = results(client, "/farajaland/kb/search?q=password")
    assert text.index("Resetting a forgotten <mark>password</mark>") < text.index("Other things")
    assert "Your <mark>password</mark> &lt;b&gt;must&lt;/b&gt;" in text  # raw HTML is only ever text...
    assert "<b>must</b>" not in text  # ...and it is never sent as markup


def test_typos_are_corrected_against_the_tenants_words(client, library):
    assert found(client, "/farajaland/kb/search?q=pasword") == ["password-reset"]
    assert "Showing results for “password”" in results(client, "/farajaland/kb/search?q=pasword")


def test_words_no_article_uses_are_left_out_instead_of_widening_the_search(client, library):
    # "code" alone is in two articles, "password" and "code" together in one: the unknown word does
    # not turn the search into "any of these words".
    assert found(client, "/farajaland/kb/search?q=password+code+zqxwv") == ["password-reset"]
    assert found(client, "/farajaland/kb/search?q=zqxwv+vwxqz") == []


def test_category_filter_and_staff_articles(client, auth, make_user, library):
    from portal.auth.permissions import Role

    text = results(client, "/farajaland/kb/search?q=code&category=certificates-and-printing")
    assert "verification code never arrives" not in text
    assert found(client, "/farajaland/kb/search?q=triage") == []
    auth.login(make_user(role=Role.L1_AGENT))
    assert found(client, "/farajaland/kb/search?q=triage") == ["staff-triage"]


def test_search_is_per_tenant(client, library, kb_edit):
    kb_edit("kalondo", services.save_article, None, "kalondo-campagne", "fr", draft("Campagne mobile au Kalondo", "Les campagnes mobiles."))
    assert found(client, "/kalondo/kb/search?q=campagne") == ["kalondo-campagne"]
    assert found(client, "/farajaland/kb/search?q=campagne") == []


def test_every_search_and_the_article_opened_are_logged(app, client, library):
    text = results(client, "/farajaland/kb/search?q=password")
    link = text[text.index("/farajaland/kb/articles/password-reset?sid="):].split('"')[0]
    # A search number written by hand, or with another's signature, records nothing.
    with app.app_context(), across_tenants(db.session, SYSTEM):
        search_id = db.session.scalars(select(SearchLog.id)).one()
    for forged in (str(search_id), f"{search_id}.0123456789abcdef", link.split("sid=")[1].replace(f"{search_id}.", f"{search_id + 1}.")):
        assert client.get(f"/farajaland/kb/articles/password-reset?sid={forged}").status_code == 200
    with app.app_context(), across_tenants(db.session, SYSTEM):
        assert db.session.scalars(select(SearchLog)).one().opened_slug is None
    client.get(link)
    with app.app_context(), across_tenants(db.session, SYSTEM):
        log = db.session.scalars(select(SearchLog)).one()
    assert (log.query, log.locale, log.result_count, log.opened_slug) == ("password", "en", 1, "password-reset")
    assert log.opened_at is not None


def test_hidden_and_edited_articles_are_reindexed(client, library, kb_edit):
    kb_edit("farajaland", services.set_hidden, None, "password-reset", True)
    assert found(client, "/farajaland/kb/search?q=password") == []
    kb_edit("farajaland", services.set_hidden, None, "password-reset", False)
    kb_edit("farajaland", services.save_article, None, "password-reset", "en", draft("Lost passphrase help", "Ask your administrator."))
    text = results(client, "/farajaland/kb/search?q=passphrase")
    assert "Lost <mark>passphrase</mark> help" in text


def test_broad_queries_rank_a_bounded_set_with_title_matches_first(client, library, kb_edit, monkeypatch):
    from portal.kb import search

    for slug, title, body in (("stamp-one", "First notes", "A stamp on the form."), ("stamp-two", "Second notes", "The stamp again."),
                              ("stamp-rules", "Stamp rules", "Which ink to use.")):
        kb_edit("farajaland", services.save_article, None, slug, "en", draft(title, body))
    assert found(client, "/farajaland/kb/search?q=stamp")[0] == "stamp-rules"
    monkeypatch.setattr(search, "RANK_CANDIDATES", 1)
    text = results(client, "/farajaland/kb/search?q=stamp")
    # One body match is ranked, and the title match, indexed last, still comes first...
    assert found(client, "/farajaland/kb/search?q=stamp") == ["stamp-rules", "stamp-one"]
    # ...while the count still covers every match.
    assert "3 articles found." in text


def test_totals_past_the_count_limit_are_given_as_a_lower_bound(client, library, monkeypatch):
    from portal.kb import search

    exact = client.get("/farajaland/api/v1/kb/search?q=code").get_json()
    assert (exact["total"], exact["total_capped"]) == (2, False)
    monkeypatch.setattr(search, "COUNT_LIMIT", 1)
    capped = client.get("/farajaland/api/v1/kb/search?q=code").get_json()
    assert (capped["total"], capped["total_capped"]) == (1, True)
    assert len(capped["results"]) == 2  # every match is still ranked and listed
    assert "More than 1 articles found." in results(client, "/farajaland/kb/search?q=code")


def test_a_query_of_stop_words_never_matches_articles_without_them(client, library, kb_edit):
    # PostgreSQL drops stop words from a query: what is left must match nothing, not every article.
    kb_edit("farajaland", services.save_article, None, "zebra", "en", draft("Zebra crossing", "Zebra crossing."))
    assert "zebra" not in found(client, "/farajaland/kb/search?q=the+of")


def test_tenants_sync_brings_the_search_index_up_to_date(app, client, library, tmp_path):
    from portal.tenancy.services import sync_tenants
    from tests.conftest import REPO

    def api_search(q, lang="en"):
        return [r["slug"] for r in client.get(f"/farajaland/api/v1/kb/search?q={q}&lang={lang}").get_json()["results"]]

    assert api_search("0100") == ["code-not-received"] and api_search("0199") == []
    changed = tmp_path / "farajaland" / "tenant.toml"
    changed.parent.mkdir()
    toml = (REPO / "tenants" / "farajaland" / "tenant.toml").read_text()
    changed.write_text(toml.replace('whatsapp = "+260 97 555 0100"', 'whatsapp = "+260 97 555 0199"').replace('locales = ["en", "fr"]', 'locales = ["en", "fr", "es"]'))
    with app.app_context():
        report = sync_tenants(tmp_path)
    assert report.updated == ["farajaland"]
    assert api_search("0199") == ["code-not-received"] and api_search("0100") == []
    assert "code-not-received" in api_search("0199", lang="es")  # a new locale is indexed too (in the default language)


def test_a_query_is_read_as_staff_type_it_on_a_phone(client, library, kb_edit):
    # No accents, a chat abbreviation and grammar words the article does not use ("j", "ai", "mon"):
    # the search reads the words that matter, in the forms the article writes them.
    kb_edit("kalondo", services.save_article, None, "mot-de-passe-oublie", "fr",
            draft("Mot de passe oublié", "Vous avez oublié votre mot de passe ? Demandez-en un nouveau à l'administrateur."))
    kb_edit("kalondo", services.save_article, None, "nouveau-telephone", "fr",
            draft("Nouveau téléphone", "J'ai un nouveau téléphone : mon compte reste le même, il suffit de se connecter."))
    assert found(client, "/kalondo/kb/search?q=j+ai+oublie+mon+mdp") == ["mot-de-passe-oublie"]
    assert found(client, "/kalondo/kb/search?q=verification+du+code")[0] == "code-not-received"
    text = results(client, "/kalondo/kb/search?q=j+ai+oublie+mon+mdp")
    assert "Résultats pour" not in text  # nothing was guessed: no correction to show
    assert "<mark>oublié</mark>" in text  # the forms found are the ones marked
    assert "Résultats pour « j ai oublie mon mot de passe »" in results(client, "/kalondo/kb/search?q=j+ai+oublie+mon+mot+de+pase")


def test_a_ligature_and_its_two_letters_find_each_other(client, library, kb_edit):
    kb_edit("kalondo", services.save_article, None, "nouvelle-loi", "fr",
            draft("Mise en œuvre de la nouvelle loi", "La loi est mise en œuvre dans chaque bureau dès janvier."))
    assert found(client, "/kalondo/kb/search?q=oeuvre") == ["nouvelle-loi"]  # as most phones type it
    assert found(client, "/kalondo/kb/search?q=œuvre") == ["nouvelle-loi"]
    page = results(client, "/kalondo/kb/search?q=oeuvre+loi")
    assert "Résultats pour" not in page and "<mark>œuvre</mark>" in page  # not a guess: the same word


def test_rows_indexed_before_ligatures_were_written_out_are_rewritten_by_the_migration(empty_database, tmp_path):
    app = create_app(make_test_config(empty_database, tmp_path))
    with app.app_context():
        upgrade(revision="a41c2e7f9b10")  # the search documents' schema is the models' already: only the words change after it
        with db.engine.begin() as conn:  # the tenants' settings changed in the portal come later, but today's code reads them
            conn.execute(text("ALTER TABLE tenants ADD COLUMN overrides JSON NOT NULL DEFAULT '{}'"))
        sync_tenants(REPO / "tenants")
        with db.engine.begin() as conn:
            tenant_id = conn.execute(select(Tenant.id).where(Tenant.slug == "kalondo")).scalar_one()
            row = document_row(tenant_id, "fr", "nouvelle-loi", "fr", "other", "public", "Mise en œuvre", "La loi est mise en œuvre.")
            conn.execute(insert(SearchDocument.__table__).values(
                {**row, "title_index": "mis en œuvr", "body_index": "la loi est mis en œuvr"}))  # as they were written
            conn.execute(text("ALTER TABLE tenants DROP COLUMN overrides"))  # for its migration to add
        db.session.remove()
        upgrade()
        with db.engine.connect() as conn:
            assert conn.execute(select(SearchDocument.body_index)).scalar_one() == "la loi est mis en oeuvr"
            if db.engine.dialect.name == "sqlite":  # what the FTS5 table holds follows, by its trigger
                assert conn.execute(text("SELECT count(*) FROM kb_search_fts WHERE kb_search_fts MATCH 'oeuvr'")).scalar() == 1
        db.engine.dispose()


def test_a_word_of_a_brahmic_script_is_one_word_with_its_vowel_signs(app, client, library, kb_edit, tmp_path):
    # Bengali vowel signs are combining marks, which Python's \w and SQLite's tokenizer took for word
    # ends: "নিবন্ধন" (registration) was read as "ন" + "বন" + "ধন", and found an article about "বন" and "ধন".
    changed = tmp_path / "kalondo" / "tenant.toml"
    changed.parent.mkdir()
    toml = (REPO / "tenants" / "kalondo" / "tenant.toml").read_text()
    changed.write_text(toml.replace('locales = ["fr"]', 'locales = ["fr", "bn"]'))
    with app.app_context():
        assert sync_tenants(tmp_path).updated == ["kalondo"]
    kb_edit("kalondo", services.save_article, None, "jonmo-nibondhon", "bn",
            draft("জন্ম নিবন্ধন", "জন্ম নিবন্ধন সনদ পেতে ইউনিয়ন পরিষদে আবেদন করুন।"))
    kb_edit("kalondo", services.save_article, None, "bon-o-dhon", "bn", draft("বন ও ধন", "বন এবং ধন রক্ষা করুন।"))

    def search(q):
        return client.get(f"/kalondo/api/v1/kb/search?q={q}&lang=bn").get_json()["results"]

    assert [r["slug"] for r in search("নিবন্ধন")] == ["jonmo-nibondhon"]
    assert [r["slug"] for r in search("বন")] == ["bon-o-dhon"]
    assert "<mark>নিবন্ধন</mark>" in search("জন্ম নিবন্ধন")[0]["snippet"]
    assert [r["slug"] for r in search("নিবন্দন")] == ["jonmo-nibondhon"]  # a typo, corrected


def test_a_word_is_never_corrected_into_a_grammar_word(client, library):
    # "mdp" is "mot de passe"; no article of this library says "passe", and it must not become "pas",
    # which would match any French article with a negation.
    page = results(client, "/kalondo/kb/search?q=mdp")
    assert found(client, "/kalondo/kb/search?q=mdp") == [] and "Résultats pour" not in page


def test_a_countrys_own_words_find_the_articles_words(client, library, kb_edit, configure_tenant):
    kb_edit("kalondo", services.save_article, None, "signature-oec", "fr",
            draft("Signature de l'officier d'état civil", "L'officier d'état civil signe chaque acte."))
    assert found(client, "/kalondo/kb/search?q=OEC") == []
    configure_tenant("kalondo", "assistant", synonyms={"fr": [["OEC", "officier d'état civil"]]})
    assert found(client, "/kalondo/kb/search?q=signature+OEC") == ["signature-oec"]
    assert found(client, "/kalondo/kb/search?q=oec") == ["signature-oec"]


def test_words_another_process_added_are_known_once_the_content_changes(app, client, library, kb_edit, configure_tenant):
    # Each server process keeps the tenant's vocabulary; an article saved by another process adds
    # words this one's copy lacks. The content's version tokens tell it to read them again, even
    # for a query whose words are all too short to send it looking ("oec").
    from portal.kb import search

    if app.extensions.get("versions") is None:
        pytest.skip("no version tokens here (PostgreSQL without Redis): the copy is read again on an unknown word")
    configure_tenant("kalondo", "assistant", synonyms={"fr": [["OEC", "officier d'état civil"]]})
    assert found(client, "/kalondo/kb/search?q=oec") == []
    with app.app_context():
        stale = dict(search._vocabularies())
    kb_edit("kalondo", services.save_article, None, "signature-oec", "fr",
            draft("Signature de l'officier d'état civil", "L'officier d'état civil signe chaque acte."))
    with app.app_context():
        search._vocabularies().update(stale)  # as if the article had been saved by another process
    assert found(client, "/kalondo/kb/search?q=oec") == ["signature-oec"]


def test_a_query_of_grammar_words_only_is_searched_as_typed(client, library, kb_edit):
    # Nothing else to go on: "urgent" is a word, not a typo of one the articles use ("current").
    kb_edit("farajaland", services.save_article, None, "current-outages", "en", draft("Current outages", "The current status."))
    page = results(client, "/farajaland/kb/search?q=urgent")
    assert "Showing results for" not in page and found(client, "/farajaland/kb/search?q=urgent") == []
