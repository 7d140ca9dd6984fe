"""`kb import` and `kb export`: idempotent, bad files reported, and a round trip loses nothing."""
from sqlalchemy import select

from portal.core.db import SYSTEM, across_tenants, db
from portal.kb.models import Article, ArticleRevision, GenericArticle, GenericRevision
from tests.kb.conftest import article_file


def snapshot(app, model):
    """Every article of `model` with its translations, as comparable data."""
    with app.app_context(), across_tenants(db.session, SYSTEM):
        return sorted(
            (a.slug, a.category, a.audience, a.status, a.source_locale,
             sorted((t.locale, t.title, t.body, tuple(t.tags)) for t in a.translations))
            for a in db.session.scalars(select(model))
        )


def count(app, model):
    with app.app_context(), across_tenants(db.session, SYSTEM):
        return len(db.session.scalars(select(model)).all())


def test_generic_import_is_idempotent_and_a_change_adds_a_revision(app, runner, library_dir):
    first = runner.invoke(args=["kb", "import", "--generic", str(library_dir)])
    assert first.exit_code == 0, first.output
    assert "5 created, 0 updated, 0 unchanged" in first.output
    again = runner.invoke(args=["kb", "import", "--generic", str(library_dir)])
    assert "0 created, 0 updated, 5 unchanged" in again.output
    assert count(app, GenericRevision) == 5
    path = library_dir / "en" / "password-reset.md"
    path.write_text(path.read_text().replace("follow the steps", "follow the three steps"))
    changed = runner.invoke(args=["kb", "import", "--generic", str(library_dir)])
    assert "0 created, 1 updated, 4 unchanged" in changed.output
    assert count(app, GenericRevision) == 6


def test_a_bad_file_is_reported_with_its_path_and_reason_and_the_others_import(app, runner, library_dir):
    (library_dir / "en" / "broken.md").write_text("no front matter here")
    (library_dir / "en" / "wrong-category.md").write_text(article_file("wrong-category", "Wrong", "en", "nope", [], "public", "Body"))
    (library_dir / "en" / "bad-audience.md").write_text(article_file("bad-audience", "Bad", "en", "other", [], "everyone", "Body"))
    result = runner.invoke(args=["kb", "import", "--generic", str(library_dir)])
    assert result.exit_code == 1
    assert f"{library_dir / 'en' / 'broken.md'}: no YAML front matter" in result.output
    assert "wrong-category.md: category 'nope' is not one of the library's categories" in result.output
    assert "bad-audience.md: audience 'everyone' must be public or staff" in result.output
    assert "5 created" in result.output and count(app, GenericArticle) == 4


def test_export_then_import_into_an_empty_base_loses_nothing(app, runner, library_dir, tmp_path, make_app):
    runner.invoke(args=["kb", "import", "--generic", str(library_dir)])
    tenant_dir = tmp_path / "farajaland-kb"
    (tenant_dir / "en").mkdir(parents=True)
    (tenant_dir / "en" / "password-reset.md").write_text(article_file("password-reset", "Our reset: page", "en", "access-and-login", ["local"], "public", "Local **copy**.\n\n- a\n- b\n"))
    (tenant_dir / "en" / "office-hours.md").write_text(article_file("office-hours", "Office hours", "en", "other", [], "staff", "Open at 8.", status="draft"))
    assert runner.invoke(args=["kb", "import", "--tenant", "farajaland", str(tenant_dir)]).exit_code == 0
    generic_before, local_before = snapshot(app, GenericArticle), snapshot(app, Article)
    out = tmp_path / "export"
    assert "5 files" in runner.invoke(args=["kb", "export", "--generic", str(out / "generic")]).output
    assert "2 files" in runner.invoke(args=["kb", "export", "--tenant", "farajaland", str(out / "farajaland")]).output
    with app.app_context(), across_tenants(db.session, SYSTEM):
        for model in (ArticleRevision, Article, GenericRevision, GenericArticle):
            for row in db.session.scalars(select(model)):
                db.session.delete(row)
        db.session.commit()
    assert runner.invoke(args=["kb", "import", "--generic", str(out / "generic")]).exit_code == 0
    assert runner.invoke(args=["kb", "import", "--tenant", "farajaland", str(out / "farajaland")]).exit_code == 0
    assert snapshot(app, GenericArticle) == generic_before
    assert snapshot(app, Article) == local_before


def test_import_needs_exactly_one_target(runner, library_dir):
    assert runner.invoke(args=["kb", "import", str(library_dir)]).exit_code == 2
    assert "no tenant 'atlantis'" in runner.invoke(args=["kb", "import", "--tenant", "atlantis", str(library_dir)]).output


def test_demo_load_imports_the_library_and_tenant_articles(app, runner):
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        articles = db.session.scalars(select(GenericArticle)).all()
        locales = [t.locale for a in articles for t in a.translations]
    assert locales.count("en") >= 25 and locales.count("fr") >= 25
    assert count(app, Article) >= 2
    assert "0 created, 0 updated" in runner.invoke(args=["demo", "load"]).output


def test_an_article_saved_in_the_browser_goes_out_and_back_in_unchanged(app, client, auth, make_user, runner, library, tmp_path):
    """Browsers send CRLF line endings; the export and import of what they saved must change nothing."""
    from portal.auth.permissions import Role

    auth.login(make_user(role=Role.TENANT_ADMIN))
    form = {"slug": "office-hours", "title": "Office hours", "body": "Open at 8.\r\n\r\n- Monday\r\n- Friday", "category": "other",
            "tags": "hours", "audience": "public", "status": "published", "save": "Save"}
    assert client.post("/farajaland/kb/manage/new?locale=en", data=form).status_code == 302
    with app.app_context(), across_tenants(db.session, SYSTEM):
        assert db.session.scalar(select(Article).where(Article.slug == "office-hours")).translation("en").body == "Open at 8.\n\n- Monday\n- Friday"
    out = tmp_path / "farajaland"
    assert "1 files" in runner.invoke(args=["kb", "export", "--tenant", "farajaland", str(out)]).output
    assert b"\r" not in (out / "en" / "office-hours.md").read_bytes()
    again = runner.invoke(args=["kb", "import", "--tenant", "farajaland", str(out)])
    assert "0 created, 0 updated, 1 unchanged" in again.output
    assert count(app, ArticleRevision) == 1


def test_a_text_stored_with_crlf_before_the_fix_imports_back_unchanged(app, runner, library, tmp_path, kb_edit):
    from portal.kb import services
    from tests.kb.conftest import draft

    kb_edit("farajaland", services.save_article, None, "office-hours", "en", draft("Office hours", "Open at 8."))
    with app.app_context(), across_tenants(db.session, SYSTEM):  # as the browser's saves were stored
        db.session.scalar(select(Article).where(Article.slug == "office-hours")).translation("en").body = "Open at 8.\r\nClosed on Sunday.\r\n"
        db.session.commit()
    out = tmp_path / "farajaland"
    runner.invoke(args=["kb", "export", "--tenant", "farajaland", str(out)])
    assert "0 created, 0 updated, 1 unchanged" in runner.invoke(args=["kb", "import", "--tenant", "farajaland", str(out)]).output
    assert count(app, ArticleRevision) == 1
