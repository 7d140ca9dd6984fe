"""What `tenants sync` tells an operator about a tenant.toml: one line per mistake, on the key at fault,
and warnings for what loads but will not work as the file may mean."""
import re
from pathlib import Path

import pytest

from portal.core.db import db
from portal.tenancy.models import Tenant
from portal.tenancy.services import sync_tenants

REPO = Path(__file__).resolve().parents[2]
KALONDO = (REPO / "tenants" / "kalondo" / "tenant.toml").read_text(encoding="utf-8")
FARAJALAND = (REPO / "tenants" / "farajaland" / "tenant.toml").read_text(encoding="utf-8")
HOURS = 'hours = "Du lundi au samedi, de 7 h 30 à 15 h 30"'


def write(folder: Path, slug: str, body: str | bytes) -> Path:
    path = folder / slug / "tenant.toml"
    path.parent.mkdir(parents=True)
    path.write_bytes(body if isinstance(body, bytes) else body.encode("utf-8"))
    return path


def country(slug: str, code: str, body: str = KALONDO) -> str:
    """Kalondo's file for another country (its own slug and ticket prefix)."""
    return body.replace('slug = "kalondo"', f'slug = "{slug}"').replace('code = "KAL"', f'code = "{code}"')


@pytest.mark.parametrize("change, line", [
    # a text in a language the country does not offer
    ((HOURS, 'hours = { en = "Monday to Saturday", fr = "Du lundi au samedi" }'),
     "support.hours: 'en' is not one of locales ['fr']"),
    (('name = "Équipe technique nationale"', 'name = { fr = "Équipe technique", pt = "Equipa técnica" }'),
     "tiers.groups.technique.name: 'pt' is not one of locales ['fr']"),
    (('capital = "Mbanga"', 'capital = { fr = "Mbanga", en = "Mbanga city" }'),
     "country.capital: 'en' is not one of locales ['fr']"),
    # pydantic's internals (the union's members, "Value error, ") never reach the operator
    ((HOURS, "hours = 5"), 'support.hours: must be a text, or one text per locale: { en = "...", fr = "..." }'),
    (('default_locale = "fr"', 'default_locale = "en"'), "default_locale: 'en' is not one of locales ['fr']"),
    (('timezone = "Africa/Douala"', 'timezone = "Africa/Nowhere"'), "timezone: 'Africa/Nowhere' is not a known time zone"),
    (("death_late_deadline_days = 365", "death_late_deadline_days = 10"),
     "registration.death_late_deadline_days: must not be shorter than death_deadline_days"),
    (('birth_deadline_days = 90', 'birth_deadline_days = 900'),
     "registration.birth_late_deadline_days: must not be shorter than birth_deadline_days"),
    (('app_secret_env = "KALONDO_WHATSAPP_APP_SECRET"', 'app_secret = "s3cr3t"'),
     "channels.whatsapp.app_secret: looks like a secret: name an environment variable with 'app_secret_env' instead"),
])
def test_a_mistake_is_one_line_on_the_key_at_fault(app, runner, tmp_path, change, line):
    assert change[0] in KALONDO
    path = write(tmp_path, "kalondo", KALONDO.replace(change[0], change[1], 1))

    result = runner.invoke(args=["tenants", "sync", str(tmp_path)])

    assert result.exit_code == 1
    errors = [out for out in result.output.splitlines() if out.startswith("error:")]
    assert errors == [f"error: {path}: {line}"]


def test_routing_to_an_unknown_group_names_the_category(app, tmp_path):
    path = write(tmp_path, "kalondo", KALONDO.replace("[tiers.routing]\n", '[tiers.routing]\nreports = "nobody"\n'))
    with app.app_context():
        report = sync_tenants(tmp_path)
    assert [str(p) for p in report.problems] == [f"{path}: tiers.routing.reports: 'nobody' is not one of the groups in [tiers.groups]"]


def test_a_text_may_leave_out_an_offered_locale_which_then_reads_the_default(app, client, tmp_path):
    body = re.sub(r"(?m)^hours = .*$", 'hours = { en = "Weekdays 8 to 5" }', FARAJALAND)
    write(tmp_path, "farajaland", body)
    with app.app_context():
        assert sync_tenants(tmp_path).problems == []

    page = client.get("/farajaland/", headers={"Accept-Language": "fr"}).get_data(as_text=True)

    assert "Weekdays 8 to 5" in page
    assert "{&#39;" not in page and "{'" not in page


def test_a_file_that_is_not_utf8_is_one_line_and_the_others_still_load(app, runner, tmp_path):
    latin1 = write(tmp_path, "latinia", country("latinia", "LAT").encode("latin-1"))
    write(tmp_path, "kalondo", KALONDO.replace('name = "République du Kalondo"', 'name = "Kalondo renamed"'))

    result = runner.invoke(args=["tenants", "sync", str(tmp_path)])

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # no UnicodeDecodeError
    assert f"error: {latin1}: not UTF-8 text (save the file as UTF-8)" in result.output.splitlines()
    assert "updated kalondo" in result.output


def test_a_country_code_taken_by_another_country_is_refused(app, runner, tmp_path):
    taken = write(tmp_path, "newland", country("newland", "FAR"))
    twin_a = write(tmp_path, "twina", country("twina", "TWN"))
    twin_b = write(tmp_path, "twinb", country("twinb", "TWN"))
    write(tmp_path, "kalondo", KALONDO)  # keeps its own code

    result = runner.invoke(args=["tenants", "sync", str(tmp_path)])

    assert result.exit_code == 1
    errors = [out for out in result.output.splitlines() if out.startswith("error:")]
    assert errors == [
        f"error: {taken}: country.code: 'FAR' is also the code of farajaland: ticket references (FAR-000123) must name one country",
        f"error: {twin_a}: country.code: 'TWN' is also the code of twinb: ticket references (TWN-000123) must name one country",
        f"error: {twin_b}: country.code: 'TWN' is also the code of twina: ticket references (TWN-000123) must name one country",
    ]
    assert "updated kalondo" in result.output  # its own file, read from another folder
    with app.app_context():
        assert {t.slug for t in db.session.query(Tenant)} == {"farajaland", "kalondo"}


def test_a_country_may_hand_its_code_to_another_in_one_sync(app, tmp_path):
    write(tmp_path, "kalondo", KALONDO.replace('code = "KAL"', 'code = "KLD"'))
    write(tmp_path, "kalnew", country("kalnew", "KAL"))
    with app.app_context():
        report = sync_tenants(tmp_path)
    assert report.problems == []
    assert report.created == ["kalnew"] and report.updated == ["kalondo"]


def test_a_channel_secret_not_set_here_is_a_warning_naming_file_key_and_variable(app, runner, tmp_path, monkeypatch):
    monkeypatch.delenv("MAROVIA_WHATSAPP_VERIFY_TOKEN", raising=False)
    for name in ("MAROVIA_WHATSAPP_APP_SECRET", "MAROVIA_WHATSAPP_ACCESS_TOKEN"):
        monkeypatch.setenv(name, "set")
    body = country("marovia", "MAR").replace("KALONDO_WHATSAPP_", "MAROVIA_WHATSAPP_")
    path = write(tmp_path, "marovia", body)

    result = runner.invoke(args=["tenants", "sync", str(tmp_path)])

    assert result.exit_code == 0, result.output
    assert "created marovia" in result.output
    warnings = [out for out in result.output.splitlines() if "channels." in out]
    assert warnings == [
        f"warning: {path}: channels.whatsapp.verify_token_env: environment variable MAROVIA_WHATSAPP_VERIFY_TOKEN "
        "is not set here (the whatsapp channel works only where it is set)"
    ]


def test_a_locale_without_an_interface_translation_is_a_warning(app, runner, tmp_path):
    path = write(tmp_path, "kalondo", KALONDO.replace('locales = ["fr"]', 'locales = ["fr", "pt", "fr_CA"]'))

    result = runner.invoke(args=["tenants", "sync", str(tmp_path)])

    assert result.exit_code == 0, result.output
    assert [out for out in result.output.splitlines() if ": locales:" in out] == [
        f"warning: {path}: locales: 'pt' has no interface translation in translations/: "
        "pages in it show the interface in English (the interface has ar, en, fr)"
    ]
