"""Setting up a real country: `demo load` stays in the demo countries, and the library loads without it."""
from pathlib import Path

from sqlalchemy import func, select

from portal.auth.models import Membership, User
from portal.core.db import db, tenant_scope
from portal.kb.models import GenericArticle
from portal.tenancy.services import get_tenant, sync_tenants
from portal.tickets.models import Ticket

REPO = Path(__file__).resolve().parents[2]
KALONDO = (REPO / "tenants" / "kalondo" / "tenant.toml").read_text(encoding="utf-8")


def real_country(folder: Path) -> Path:
    """tenants/marovia/tenant.toml: a real country, written from Kalondo's file without its demo flag."""
    body = KALONDO.replace('slug = "kalondo"', 'slug = "marovia"').replace('code = "KAL"', 'code = "MAR"')
    body = "\n".join(line for line in body.splitlines() if not line.startswith("demo ="))
    (folder / "marovia").mkdir(parents=True)
    (folder / "marovia" / "tenant.toml").write_text(body, encoding="utf-8")
    return folder


def test_demo_load_leaves_a_real_country_synced_before_it_alone(app, runner, tmp_path):
    with app.app_context():
        assert not sync_tenants(real_country(tmp_path)).problems

    result = runner.invoke(args=["demo", "load"])

    assert result.exit_code == 0, result.output
    assert "demo tickets in farajaland" in result.output
    assert "marovia" not in result.output
    with app.app_context():
        marovia = get_tenant("marovia")
        with tenant_scope(db.session, marovia.id):
            assert db.session.scalar(select(func.count()).select_from(Membership)) == 0
            assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0
        assert db.session.scalar(select(User).where(User.email.like("%@marovia.demo"))) is None
        farajaland = get_tenant("farajaland")
        with tenant_scope(db.session, farajaland.id):
            assert db.session.scalar(select(func.count()).select_from(Ticket)) > 0


def test_demo_load_refuses_in_production_with_one_line(make_app):
    app = make_app(PORTAL_ENV="production")

    result = app.test_cli_runner().invoke(args=["demo", "load"])

    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1
    assert "refuses to run when PORTAL_ENV=production" in result.output
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email.like("%.demo"))) is None


def test_demo_load_without_demo_countries_says_how_they_come(make_app, runner, app):
    with app.app_context():
        for slug in ("farajaland", "kalondo"):
            tenant = get_tenant(slug)
            tenant.config = {**tenant.config, "demo": False}
        db.session.commit()

    result = runner.invoke(args=["demo", "load"])

    assert result.exit_code == 1
    assert "no demo countries (tenant.toml with demo = true)" in result.output


def test_sync_points_to_the_library_step_until_the_library_is_loaded(app, runner):
    first = runner.invoke(args=["tenants", "sync"])
    assert first.exit_code == 0, first.output
    assert "note: the central library of generic articles is empty: load it with 'flask --app wsgi kb import --generic" in first.output

    loaded = runner.invoke(args=["kb", "import", "--generic", str(REPO / "library" / "kb")])

    assert loaded.exit_code == 0, loaded.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(GenericArticle)) >= 25
    assert "library" not in runner.invoke(args=["tenants", "sync"]).output
