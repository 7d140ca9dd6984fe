"""In the app the assistant answers from the knowledge base: tenant copies, hidden and tenant-only
articles are respected, and an edit is picked up without a restart."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from portal.core.db import db, tenant_scope
from portal.kb import importer
from portal.kb import services as kb
from portal.tenancy.services import get_tenant

REPO = Path(__file__).resolve().parents[2]
ARTICLES = ["forgotten-password", "too-many-login-attempts", "verification-code-not-received"]


@pytest.fixture
def app(make_app, tmp_path):
    """Three generic articles (en, fr) imported into the knowledge base; Kalondo has one of its own."""
    library = tmp_path / "library"
    library.mkdir()
    shutil.copy(REPO / "library/kb/categories.yaml", library)
    for locale in ("en", "fr"):
        (library / locale).mkdir()
        for slug in ARTICLES:
            shutil.copy(REPO / f"library/kb/{locale}/{slug}.md", library / locale)
    app = make_app(ASSISTANT_SOURCE="kb", ASSISTANT_VERSION_TTL=0)
    with app.app_context():
        assert not importer.import_folder(library).problems
        kalondo = get_tenant("kalondo")
        with tenant_scope(db.session, kalondo.id):
            assert not importer.import_folder(REPO / "tenants/kalondo/kb", kalondo).problems
        db.session.commit()
    return app


def ask(client, message, tenant="farajaland", **extra):
    response = client.post(f"/{tenant}/api/v1/assistant", json={"message": message, **extra})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_answers_from_the_knowledge_base_with_its_article_urls(client):
    data = ask(client, "forgot my password")
    assert data["articles"][0] == {"slug": "forgotten-password", "title": data["articles"][0]["title"],
                                   "url": "/farajaland/kb/articles/forgotten-password"}
    assert "{{" not in data["answer"] and not data["handoff"]


def test_a_hidden_article_is_no_longer_answered(app, client):
    assert ask(client, "too many login attempts")["articles"][0]["slug"] == "too-many-login-attempts"
    with app.app_context():
        tenant = get_tenant("farajaland")
        with tenant_scope(db.session, tenant.id):
            kb.set_hidden(tenant, None, "too-many-login-attempts", True)
        db.session.commit()
    slugs = [a["slug"] for a in ask(client, "too many login attempts")["articles"]]
    assert "too-many-login-attempts" not in slugs


def test_a_tenant_copy_replaces_the_generic_text(app, client):
    with app.app_context():
        tenant = get_tenant("farajaland")
        with tenant_scope(db.session, tenant.id):
            draft = kb.Draft("I forgot my password", "Call the district registrar Mrs Banda to reset your password.",
                             "access-and-login", ["password"], "public", "published")
            kb.save_article(tenant, None, "forgotten-password", "en", draft)
        db.session.commit()
    data = ask(client, "forgot my password")
    assert data["articles"][0]["slug"] == "forgotten-password"
    assert "Mrs Banda" in data["answer"]


def test_another_tenants_own_articles_are_never_answered(client):
    kalondo = ask(client, "campagne d'enregistrement mobile", tenant="kalondo")
    assert kalondo["articles"][0]["slug"] == "kalondo-mobile-registration-campaigns"
    farajaland = ask(client, "campagne d'enregistrement mobile", lang="fr")
    assert "kalondo-mobile-registration-campaigns" not in [a["slug"] for a in farajaland["articles"]]



def test_the_text_of_a_link_to_another_article_is_not_indexed_as_the_sections_own(client):
    """"Forgot the current one? See [Mot de passe oublié](forgotten-password)" names what another
    article answers. Indexed as the section's own words, it put a password-change section first for
    "mot de passe oublié" in French-only Kalondo."""
    from portal.assistant.index import PassageIndex
    from portal.assistant.text import stem
    from portal.assistant.sources import Article

    change = Article("changing-password", "Changer votre mot de passe", "fr",
                     "## Dans les paramètres\n\nChoisissez **Mot de passe**, puis saisissez l'actuel. Sinon, suivez "
                     "[Mot de passe oublié](forgotten-password) ou lisez [la note du ministère](https://example.org/note).",
                     url="/kalondo/kb/articles/changing-password")
    index = PassageIndex("fr", [change])
    forgotten, ministry = stem("oublie", "fr"), stem("ministere", "fr")
    assert forgotten not in index.passage_bm25.postings and forgotten not in index.articles.postings
    assert ministry in index.passage_bm25.postings  # a link to a web page is text of the section like any other
    for question in ("mot de passe oublié", "mdp oublie"):
        data = ask(client, question, tenant="kalondo")
        assert data["articles"][0]["slug"] == "forgotten-password", (question, data["articles"])


def test_an_answer_links_no_article_its_reader_cannot_open(app, client):
    """The knowledge base shows a link to a hidden article as its text; so does the assistant."""
    question = "I don't remember my password and I am locked, what should I do instead of guessing"
    before = ask(client, question)["answer"]
    assert "[Forgotten password](/farajaland/kb/articles/forgotten-password)" in before
    with app.app_context():
        tenant = get_tenant("farajaland")
        with tenant_scope(db.session, tenant.id):
            kb.set_hidden(tenant, None, "forgotten-password", True)
        db.session.commit()
    after = ask(client, question)["answer"]
    assert "follow Forgotten password" in after and "forgotten-password)" not in after
