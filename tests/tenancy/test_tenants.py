"""Tenant folders, sync, resolution from the URL, landing and home pages."""
from pathlib import Path

import pytest

from portal.core.db import db
from portal.tenancy.models import Tenant
from portal.tenancy.services import sync_tenants
from tests.conftest import until_waiting

REPO = Path(__file__).resolve().parents[2]


def test_landing_lists_every_country_portal(client):
    page = client.get("/").get_data(as_text=True)
    assert 'href="/farajaland/"' in page
    assert 'href="/kalondo/"' in page
    assert "République du Kalondo" in page


def test_tenant_home_shows_contacts_and_hours_from_the_tenant_file(client):
    page = client.get("/farajaland/").get_data(as_text=True)
    assert "+260 97 555 0100" in page
    assert "https://wa.me/260975550100" in page
    assert "support@farajaland.example" in page
    assert "Monday to Friday, 8:00 to 17:00" in page


def test_french_default_tenant_speaks_french_to_a_new_visitor(client):
    response = client.get("/kalondo/")
    page = response.get_data(as_text=True)
    assert '<html lang="fr" dir="ltr">' in page
    assert "Du lundi au samedi" in page
    assert "Contacter l" in page  # "Contacter l'équipe d'assistance" from the French catalog


def test_unknown_tenant_is_a_localized_404(client):
    response = client.get("/atlantis/", headers={"Accept-Language": "fr"})
    assert response.status_code == 404
    assert "Page introuvable" in response.get_data(as_text=True)
    api = client.get("/atlantis/api/v1/kb/search?q=x")
    assert api.status_code == 404
    assert api.get_json()["error"]["code"] == 404


def test_sync_is_idempotent(app, runner):
    first = runner.invoke(args=["tenants", "sync"])
    assert first.exit_code == 0, first.output
    assert "unchanged farajaland" in first.output
    with app.app_context():
        assert db.session.query(Tenant).count() == 2


def _write(folder: Path, slug: str, body: str) -> None:
    (folder / slug).mkdir(parents=True)
    (folder / slug / "tenant.toml").write_text(body)


GOOD = (REPO / "tenants" / "kalondo" / "tenant.toml").read_text()


def test_bad_tenant_files_are_reported_with_path_key_and_reason_and_the_others_still_load(app, runner, tmp_path):
    _write(tmp_path, "kalondo", GOOD.replace('name = "République du Kalondo"', 'name = "Kalondo renamed"'))
    _write(tmp_path, "badmail", GOOD.replace('slug = "kalondo"', 'slug = "badmail"').replace(
        'email = "assistance@etatcivil.kalondo.example"', 'email = "not-an-address"', 1))
    _write(tmp_path, "broken", "slug = 'broken'\nname = [unclosed")
    _write(tmp_path, "leaky", GOOD.replace('slug = "kalondo"', 'slug = "leaky"').replace(
        'app_secret_env = "KALONDO_WHATSAPP_APP_SECRET"', 'app_secret = "s3cr3t"'))
    _write(tmp_path, "api", GOOD.replace('slug = "kalondo"', 'slug = "api"'))

    result = runner.invoke(args=["tenants", "sync", str(tmp_path)])

    assert result.exit_code == 1
    out = result.output
    assert "updated kalondo" in out
    assert f"{tmp_path / 'badmail' / 'tenant.toml'}: support.email:" in out
    assert f"{tmp_path / 'broken' / 'tenant.toml'}: not valid TOML" in out
    assert "leaky" in out and "looks like a secret" in out
    assert "'api' is reserved" in out
    with app.app_context():
        assert db.session.query(Tenant).filter_by(slug="kalondo").one().name == "Kalondo renamed"
        assert db.session.query(Tenant).filter_by(slug="badmail").count() == 0


def test_folder_and_slug_must_agree(app, tmp_path):
    _write(tmp_path, "elsewhere", GOOD)
    with app.app_context():
        report = sync_tenants(tmp_path)
    assert [str(p) for p in report.problems] == [
        f"{tmp_path / 'elsewhere' / 'tenant.toml'}: slug: 'kalondo' does not match the folder name 'elsewhere'"
    ]


def test_default_locale_must_be_offered(app, tmp_path):
    _write(tmp_path, "kalondo", GOOD.replace('default_locale = "fr"', 'default_locale = "en"'))
    with app.app_context():
        report = sync_tenants(tmp_path)
    assert [str(p) for p in report.problems] == [
        f"{tmp_path / 'kalondo' / 'tenant.toml'}: default_locale: 'en' is not one of locales ['fr']"
    ]


@pytest.mark.parametrize("table, problem", [
    ('[assistant.synonyms]\nde = [["Urkunde", "acte"]]', "assistant.synonyms: 'de' is not one of locales ['fr']"),
    ('[assistant.synonyms]\nfr = [["acte"]]', "assistant.synonyms.fr.0: List should have at least 2 items"),
    ('[assistant.synonyms]\nfr = [["acte", "x: y"]]', "assistant.synonyms.fr.0.1: String should match pattern"),
    ("[assistant.synonyms]\nfr = [" + ", ".join(['["acte", "extrait"]'] * 501) + "]",
     "assistant.synonyms.fr: List should have at most 500 items"),
])
def test_a_countrys_synonyms_are_checked(app, tmp_path, table, problem):
    _write(tmp_path, "kalondo", GOOD + "\n" + table + "\n")
    with app.app_context():
        report = sync_tenants(tmp_path)
    assert problem in str(report.problems[0])


def test_health_endpoint(client):
    assert client.get("/health").get_json() == {"status": "ok"}


def test_two_syncs_at_once_take_turns_and_the_second_finds_the_first_s_tenants(app, tmp_path):
    """Several servers starting together each run `tenants sync`: the second waits for the first
    and updates what it created, instead of failing on the tenant's unique name."""
    import shutil
    import threading

    from sqlalchemy import insert, select, text

    from portal.tenancy.services import SYNC_LOCK

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("advisory locks are PostgreSQL's; SQLite has one writer at a time")
    folder = tmp_path / "tenants" / "newland"
    folder.mkdir(parents=True)
    shutil.copy(REPO / "tenants" / "farajaland" / "tenant.toml", folder / "tenant.toml")
    toml = (folder / "tenant.toml").read_text(encoding="utf-8").replace('slug = "farajaland"', 'slug = "newland"').replace('code = "FAR"', 'code = "NEW"')
    (folder / "tenant.toml").write_text(toml, encoding="utf-8")
    with app.app_context(), db.engine.connect() as first_sync:
        first_sync.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SYNC_LOCK})
        row = first_sync.execute(select(Tenant.__table__).where(Tenant.slug == "farajaland")).mappings().one()
        first_sync.execute(insert(Tenant.__table__).values({**{k: v for k, v in row.items() if k != "id"}, "slug": "newland"}))
        outcome = {}

        def second_sync():
            with app.app_context():
                try:
                    outcome["report"] = sync_tenants(tmp_path / "tenants")
                except Exception as exc:  # reported below
                    outcome["error"] = exc

        thread = threading.Thread(target=second_sync)
        thread.start()
        until_waiting(first_sync, "the second sync")
        first_sync.commit()
        thread.join(timeout=30)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["report"].created == []
