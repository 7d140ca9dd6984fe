"""A tenant administrator changes the country's settings in the portal, over its tenant.toml."""
import html
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from portal.auth.permissions import Role
from portal.core.db import db, tenant_scope
from portal.kb import services as kb
from portal.tenancy.forms import SECTION_FORMS
from portal.tenancy.models import Tenant, TenantSettingChange
from portal.tenancy.services import get_tenant, save_settings, sync_tenants
from tests.conftest import REPO

FILE = (REPO / "tenants" / "farajaland" / "tenant.toml").read_text()
PAGE = "/farajaland/settings"


@pytest.fixture
def admin(client, auth, make_user):
    email = make_user(tenant="farajaland", role=Role.TENANT_ADMIN, name="Ada Admin")
    auth.login(email)
    return email


def sent(app, section, version=None, **changes) -> dict:
    """What the section's form sends: the values it shows now, with `changes` typed over them."""
    with app.app_context():
        tenant = get_tenant("farajaland")
        values = {**SECTION_FORMS[section].initial(tenant.settings), **changes}
        version = version or tenant.row_version
    data = {"section": section, f"{section}-version": version}
    for name, value in values.items():
        if value is not False:
            data[f"{section}-{name}"] = "y" if value is True else value
    return data


def settings_of(app, slug="farajaland"):
    with app.app_context():
        return get_tenant(slug).settings


def history(app, slug="farajaland") -> list[tuple[str, object, object]]:
    with app.app_context():
        tenant = get_tenant(slug)
        with tenant_scope(db.session, tenant.id):
            rows = db.session.scalars(select(TenantSettingChange).order_by(TenantSettingChange.id))
            return [(row.key, row.old_value, row.new_value) for row in rows]


def sync_file(app, tmp_path: Path, text: str):
    folder = tmp_path / "synced" / "farajaland"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tenant.toml").write_text(text)
    with app.app_context():
        return sync_tenants(folder.parent)


def error_of(page: str, field_id: str) -> str:
    found = re.search(rf'<p class="error" id="{re.escape(field_id)}-err">(.*?)</p>', page, re.S)
    return html.unescape(found.group(1)) if found else ""


# -- each section, and where its values are used ---------------------------------------------------


def test_the_support_contacts_changed_here_show_on_the_home_page_in_each_language(app, client, admin):
    response = client.post(PAGE, data=sent(app, "contacts", email="helpdesk@farajaland.example", whatsapp="+260 97 555 0199",
                                            hours_fr="Du lundi au samedi, de 7 h à 19 h"))
    assert response.status_code == 302 and response.headers["Location"] == "/farajaland/settings#contacts"
    assert "3 settings changed." in client.get(PAGE).get_data(as_text=True)

    home = client.get("/farajaland/").get_data(as_text=True)
    assert "helpdesk@farajaland.example" in home and "support@farajaland.example" not in home
    assert "https://wa.me/260975550199" in home
    assert "Monday to Friday, 8:00 to 17:00" in home  # the English text is the file's still
    assert "Du lundi au samedi, de 7 h à 19 h" in client.get("/farajaland/", headers={"Accept-Language": "fr"}).get_data(as_text=True)


def test_an_article_citing_the_support_contacts_shows_the_new_ones_and_search_finds_them(app, client, admin):
    with app.app_context():
        tenant = get_tenant("farajaland")
        with tenant_scope(db.session, tenant.id):
            kb.save_article(tenant, None, "write-to-us", "en", kb.Draft(
                "Write to us", "Send the screenshot to {{ support.email }}, or on WhatsApp to {{ support.whatsapp }}.", "other", [], "public", "published"))
            db.session.commit()

    def search(q):
        return [r["slug"] for r in client.get(f"/farajaland/api/v1/kb/search?q={q}").get_json()["results"]]

    assert "support@farajaland.example" in client.get("/farajaland/kb/articles/write-to-us").get_data(as_text=True)
    assert search("0100") == ["write-to-us"] and search("0199") == []

    client.post(PAGE, data=sent(app, "contacts", email="helpdesk@farajaland.example", whatsapp="+260 97 555 0199"))

    article = client.get("/farajaland/kb/articles/write-to-us").get_data(as_text=True)
    assert "helpdesk@farajaland.example" in article and "support@farajaland.example" not in article
    # The search documents, which hold the values the articles cite, were rebuilt in the same change.
    assert search("0199") == ["write-to-us"] and search("0100") == []


def test_business_hours_and_service_levels_changed_here_are_those_of_the_tiers_page(app, client, admin):
    client.post(PAGE, data=sent(app, "business_hours", end="18:30", days=["mon", "tue", "wed", "thu", "fri", "sat"], holidays="2026-12-25\n2026-12-26"))
    client.post(PAGE, data=sent(app, "sla", urgent_first_response_hours="2,5", low_resolution_hours="120", on_breach="escalate"))

    tiers = client.get("/farajaland/tickets/tiers").get_data(as_text=True)
    assert "08:00 to 18:30, Monday, Tuesday, Wednesday, Thursday, Friday, Saturday" in tiers
    assert "When a target is missed: escalate." in tiers
    assert "<td>Urgent</td><td>2.5</td><td>8</td>" in tiers  # a decimal comma is read as a point
    assert 'href="/farajaland/settings#sla">Change the service levels and business hours</a>' in tiers
    assert "<td>Low</td><td>16</td><td>120</td>" in tiers
    settings = settings_of(app)
    assert [d.isoformat() for d in settings.support.business_hours.holidays] == ["2026-12-25", "2026-12-26"]
    assert settings.sla.urgent.first_response_hours == 2.5 and settings.sla.on_breach == "escalate"


def test_the_assistant_settings_changed_here_are_the_tenants(app, client, admin):
    from portal.assistant.sources import settings_stamp

    with app.app_context():
        stamp = settings_stamp(get_tenant("farajaland"))
    assert client.post(PAGE, data=sent(app, "assistant", threshold="0.6", enabled=False)).status_code == 302

    settings = settings_of(app)
    assert settings.assistant.threshold == 0.6 and settings.assistant.enabled is False
    assert 'href="/farajaland/assistant"' not in client.get("/farajaland/").get_data(as_text=True)
    with app.app_context():
        assert settings_stamp(get_tenant("farajaland")) != stamp  # the assistant's indexes are rebuilt


def test_the_registration_rules_changed_here_are_cited_by_articles(app, client, admin):
    with app.app_context():
        tenant = get_tenant("farajaland")
        with tenant_scope(db.session, tenant.id):
            kb.save_article(tenant, None, "fees", "en", kb.Draft("Fees", "A copy costs {{ registration.fees.certificate_copy }} {{ country.currency }}; "
                                                                 "late after {{ registration.birth_deadline_days }} days.", "other", [], "public", "published"))
            db.session.commit()
    response = client.post(PAGE, data=sent(app, "registration", birth_deadline_days="60", fee_certificate_copy="4.5", death_late_deadline_days="",
                                            offices="Ibombo District Office\nNew Town Office\n\nIbombo District Office"))
    assert response.status_code == 302

    registration = settings_of(app).registration
    assert registration.birth_deadline_days == 60 and registration.fees.certificate_copy == 4.5
    assert registration.death_late_deadline_days is None
    assert registration.offices == ["Ibombo District Office", "New Town Office"]
    assert "A copy costs 4.5 FRD; late after 60 days." in client.get("/farajaland/kb/articles/fees").get_data(as_text=True)


# -- the file, the changes made here, and putting them back -----------------------------------------


def test_a_sync_of_the_file_keeps_what_was_changed_here_and_brings_the_rest(app, client, admin, tmp_path):
    client.post(PAGE, data=sent(app, "contacts", email="helpdesk@farajaland.example"))

    report = sync_file(app, tmp_path, FILE.replace('email = "support@farajaland.example"', 'email = "new-file@farajaland.example"')
                       .replace('phone = "+260 21 555 0100"', 'phone = "+260 21 555 0111"'))

    assert report.updated == ["farajaland"]
    settings = settings_of(app)
    assert settings.support.email == "helpdesk@farajaland.example"  # changed here: kept
    assert settings.support.phone == "+260 21 555 0111"  # not changed here: the file's
    page = client.get(PAGE).get_data(as_text=True)
    changed = page.split('id="changed-title"', 1)[1].split("</section>", 1)[0]
    assert "Support email" in changed and "helpdesk@farajaland.example" in changed and "new-file@farajaland.example" in changed
    assert "Phone number" not in changed
    assert "In the file: new-file@farajaland.example" in page  # next to the field too


def test_a_changed_value_is_put_back_to_the_files(app, client, admin):
    client.post(PAGE, data=sent(app, "sla", normal_resolution_hours="60"))
    assert settings_of(app).sla.normal.resolution_hours == 60
    with app.app_context():
        version = get_tenant("farajaland").row_version

    response = client.post("/farajaland/settings/reset", data={"key": "sla.normal.resolution_hours", "version": version})

    assert response.status_code == 302
    assert settings_of(app).sla.normal.resolution_hours == 40
    page = client.get(PAGE).get_data(as_text=True)
    assert "Every setting has the value of the configuration file." in page
    assert history(app) == [("sla.normal.resolution_hours", 40.0, 60.0), ("sla.normal.resolution_hours", 60.0, 40.0)]
    with app.app_context():
        assert get_tenant("farajaland").overrides == {}


def test_a_value_put_back_from_a_page_loaded_before_another_change_is_a_409(app, client, admin):
    client.post(PAGE, data=sent(app, "contacts", phone="+260 21 555 0199"))
    with app.app_context():
        stale = get_tenant("farajaland").row_version
    client.post(PAGE, data=sent(app, "assistant", threshold="0.5"))

    response = client.post("/farajaland/settings/reset", data={"key": "support.phone", "version": stale})

    assert response.status_code == 409 and "changed since you opened this page" in response.get_data(as_text=True)
    assert settings_of(app).support.phone == "+260 21 555 0199"
    assert client.post("/farajaland/settings/reset", data={"key": "support.email", "version": stale}).status_code in (400, 409)


def test_typing_the_files_value_again_makes_it_the_files_once_more(app, client, admin, tmp_path):
    client.post(PAGE, data=sent(app, "contacts", phone="+260 21 555 0199"))
    client.post(PAGE, data=sent(app, "contacts", phone="+260 21 555 0100"))
    with app.app_context():
        assert get_tenant("farajaland").overrides == {}
    sync_file(app, tmp_path, FILE.replace('phone = "+260 21 555 0100"', 'phone = "+260 21 555 0111"'))
    assert settings_of(app).support.phone == "+260 21 555 0111"


def test_saving_a_section_unchanged_changes_nothing(app, client, admin):
    response = client.post(PAGE, data=sent(app, "registration"), follow_redirects=True)
    assert "Nothing changed." in response.get_data(as_text=True)
    assert history(app) == []
    with app.app_context():
        assert get_tenant("farajaland").overrides == {}


def test_a_change_the_file_no_longer_allows_is_left_out_and_the_pages_still_work(app, client, admin, tmp_path, caplog):
    client.post(PAGE, data=sent(app, "contacts", hours_fr="Du lundi au samedi"))
    client.post(PAGE, data=sent(app, "registration", birth_deadline_days="100"))

    # The file drops French, and shortens the late deadline below the on-time one changed here.
    report = sync_file(app, tmp_path, FILE.replace('locales = ["en", "fr"]', 'locales = ["en"]')
                       .replace('hours = { en = "Monday to Friday, 8:00 to 17:00 (Farajaland time)", fr = "Du lundi au vendredi, de 8 h à 17 h (heure du Farajaland)" }',
                                'hours = "Weekdays, 8:00 to 17:00"')
                       .replace('notification_method = { en = "SMS", fr = "SMS" }', 'notification_method = "SMS"')
                       .replace('name = { en = "First-line support", fr = "Assistance de niveau 1" }', 'name = "First-line support"')
                       .replace('name = { en = "National technical support", fr = "Assistance technique nationale" }', 'name = "National technical support"')
                       .replace("birth_late_deadline_days = 365", "birth_late_deadline_days = 90"))
    assert report.problems == [] and report.updated == ["farajaland"]

    with app.app_context():
        tenant = get_tenant("farajaland")
        assert tenant.settings.support.hours == "Weekdays, 8:00 to 17:00"
        assert tenant.settings.registration.birth_deadline_days == 30
        assert sorted(tenant.ignored_overrides) == ["registration.birth_deadline_days", "support.hours"]
    assert "no longer fit tenant.toml" in caplog.text
    assert "Weekdays, 8:00 to 17:00" in client.get("/farajaland/").get_data(as_text=True)
    page = client.get(PAGE).get_data(as_text=True)
    assert "Changes not applied" in page and "Birth registration deadline (days)" in page
    with app.app_context():
        version = get_tenant("farajaland").row_version
    assert client.post("/farajaland/settings/reset", data={"key": "support.hours", "version": version}).status_code == 302
    with app.app_context():
        assert get_tenant("farajaland").ignored_overrides == ["registration.birth_deadline_days"]


# -- what is refused -----------------------------------------------------------------------------------


@pytest.mark.parametrize("section, field, value, message", [
    ("business_hours", "end", "07:00", "The closing time must be after the opening time."),
    ("business_hours", "holidays", "2026-12-25\n2026-13-01", "Line 2 is not a date such as 2026-12-25."),
    ("business_hours", "days", [], "Choose at least one working day."),
    ("assistant", "threshold", "2", "Enter a number of at most 1."),
    ("registration", "fee_birth_late", "-5", "Enter a number of at least 0."),
    ("registration", "birth_late_deadline_days", "10", "A late registration deadline must not be shorter than the deadline on time."),
    ("registration", "verification_code_minutes", "ten", "Enter a whole number, such as 30."),
    ("contacts", "email", "not-an-address", "Enter an email address such as support@example.org."),
    ("sla", "urgent_first_response_hours", "0", "Enter a number greater than 0."),
    ("sla", "high_resolution_hours", "inf", "Enter a number no larger than 1,000,000."),
    ("sla", "normal_resolution_hours", "900000", "With the country's business hours, this target would be more than five years away."),
])
def test_a_value_the_settings_refuse_is_a_400_with_the_message_next_to_it_and_nothing_changes(app, client, admin, section, field, value, message):
    before = settings_of(app).model_dump()

    response = client.post(PAGE, data=sent(app, section, **{field: value}))

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    field_id = f"{section}-{field}"
    assert message in error_of(page, field_id), page[page.find("class=\"error\"") - 300:][:800]
    assert settings_of(app).model_dump() == before
    assert history(app) == []


def test_a_refused_form_keeps_what_was_typed(app, client, admin):
    page = client.post(PAGE, data=sent(app, "registration", birth_late_deadline_days="10", fee_birth_late="7")).get_data(as_text=True)
    assert 'name="registration-fee_birth_late" type="text" value="7"' in page
    assert 'name="registration-birth_late_deadline_days" type="text" value="10"' in page
    assert settings_of(app).registration.fees.birth_late == 5


def test_a_requester_or_an_agent_may_not_see_or_change_the_settings(app, client, auth, make_user):
    for role in (Role.REQUESTER, Role.L1_AGENT, Role.L2_TECHNICIAN):
        auth.login(make_user(tenant="farajaland", role=role))
        assert client.get(PAGE).status_code == 403
        assert client.post(PAGE, data=sent(app, "contacts", email="x@example.org")).status_code == 403
        assert client.post("/farajaland/settings/reset", data={"key": "support.email"}).status_code == 403
        assert 'href="/farajaland/settings"' not in client.get("/farajaland/").get_data(as_text=True)
        auth.logout()
    assert client.get(PAGE).status_code == 302  # signed out: to the sign-in page
    assert settings_of(app).support.email == "support@farajaland.example"


def test_another_countrys_administrator_may_not_see_or_change_them(app, client, auth, make_user):
    auth.login(make_user(tenant="kalondo", role=Role.TENANT_ADMIN), tenant="kalondo")
    assert client.get("/kalondo/settings").status_code == 200
    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE, data=sent(app, "contacts", email="x@example.org")).status_code == 403
    assert settings_of(app).support.email == "support@farajaland.example"


def test_each_country_sees_only_its_own_history(app, client, admin, make_user):
    kalondo_admin = make_user(tenant="kalondo", role=Role.TENANT_ADMIN, name="Kalondo Admin")
    with app.app_context():
        from portal.auth.services import get_user_by_email

        tenant = get_tenant("kalondo")
        with tenant_scope(db.session, tenant.id):
            save_settings(tenant, get_user_by_email(kalondo_admin), {"support.phone": "+237 600 00 00 99"}, tenant.row_version)
    page = client.get(PAGE).get_data(as_text=True)
    assert "No setting has been changed in the portal yet." in page and "+237 600 00 00 99" not in page


def test_a_save_over_a_change_made_since_the_page_was_loaded_is_a_409_keeping_what_was_typed(app, client, admin, make_user):
    stale = sent(app, "sla", urgent_resolution_hours="12")
    other = app.test_client()
    other.post("/farajaland/login", data={"email": make_user(tenant="farajaland", role=Role.TENANT_ADMIN), "password": "correct-horse-battery"})
    assert other.post(PAGE, data=sent(app, "sla", urgent_resolution_hours="10")).status_code == 302

    response = client.post(PAGE, data=stale)

    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "changed since you opened this page" in page
    assert 'id="sla-urgent_resolution_hours"' in page and re.search(r'name="sla-urgent_resolution_hours" type="text" value="12"', page)
    assert "Saved meanwhile: 10" in page
    assert settings_of(app).sla.urgent.resolution_hours == 10
    # Sent again from the page as it is now, it goes through.
    version = re.search(r'name="sla-version" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post(PAGE, data={**stale, "sla-version": version}).status_code == 302
    assert settings_of(app).sla.urgent.resolution_hours == 12


def test_two_administrators_saving_at_once_save_one_after_the_other_and_the_second_is_told(app, client, admin):
    """On PostgreSQL a save holds the tenant's row: one that comes while another is being written
    waits for it, then finds the settings changed."""
    import threading

    from sqlalchemy import text, update

    from portal.core.db import utcnow
    from tests.conftest import until_waiting

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("row locks are PostgreSQL's; SQLite has one writer at a time")
    data = sent(app, "assistant", threshold="0.5")
    with app.app_context(), db.engine.connect() as first:
        first.execute(text("SELECT id FROM tenants WHERE slug = 'farajaland' FOR UPDATE"))
        first.execute(update(Tenant.__table__).where(Tenant.slug == "farajaland").values(
            overrides={"assistant": {"threshold": 0.4}}, updated_at=utcnow()))
        outcome = {}
        thread = threading.Thread(target=lambda: outcome.setdefault("response", client.post(PAGE, data=data)))
        thread.start()
        until_waiting(first, "the second save")
        first.commit()
        thread.join(timeout=30)
    assert outcome["response"].status_code == 409
    assert settings_of(app).assistant.threshold == 0.4


def test_the_history_lists_who_changed_what_from_what_to_what(app, client, admin):
    client.post(PAGE, data=sent(app, "contacts", hours_fr="Du lundi au samedi"))
    client.post(PAGE, data=sent(app, "sla", urgent_first_response_hours="2"))

    assert history(app) == [("support.hours.fr", "Du lundi au vendredi, de 8 h à 17 h (heure du Farajaland)", "Du lundi au samedi"),
                            ("sla.urgent.first_response_hours", 1.0, 2.0)]
    page = client.get(PAGE).get_data(as_text=True)
    rows = page.split('id="history-title"', 1)[1]
    assert re.search(r"<td>Ada Admin</td>\s*<td>Urgent: first reply within \(hours\)</td><td>1</td><td>2</td>", rows)
    assert "<td>Opening hours in French</td><td>Du lundi au vendredi, de 8 h à 17 h (heure du Farajaland)</td><td>Du lundi au samedi</td>" in rows
    assert rows.index("Urgent: first reply") < rows.index("Opening hours in French")  # newest first


def test_a_change_shows_at_once_in_another_app_process(app, make_app, client, admin):
    elsewhere = make_app().test_client()
    assert "support@farajaland.example" in elsewhere.get("/farajaland/").get_data(as_text=True)  # its copy of the tenant is made

    client.post(PAGE, data=sent(app, "contacts", email="helpdesk@farajaland.example"))

    assert "helpdesk@farajaland.example" in elsewhere.get("/farajaland/").get_data(as_text=True)


# -- the page ------------------------------------------------------------------------------------------


def test_the_page_shows_the_files_other_settings_as_set_by_the_operator(client, admin):
    page = client.get(PAGE).get_data(as_text=True)
    assert 'href="/farajaland/settings">Settings</a>' in page  # in the navigation
    assert "set in tenant.toml by the server's operator" in page
    fixed = page.split('id="file-title"', 1)[1].split("</section>", 1)[0]
    for text in ("<code>farajaland</code>", "Africa/Lusaka", "<code>FAR</code>", "1.8.1", "@FarajalandSupportBot", "First-line support (L1)"):
        assert text in fixed
    assert "FARAJALAND_WHATSAPP" not in page  # the names of the secrets' variables are not shown
    assert 'name="contacts-slug"' not in page and 'name="timezone"' not in page


def test_the_page_in_french(client, admin):
    page = client.get(PAGE, headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert '<html lang="fr" dir="ltr">' in page
    assert 'value="mon"' in page and "lundi" in page and "samedi" in page  # the working days, named in French
    assert "anglais" in page  # the opening hours of each language, the language named in the reader's


def test_every_change_of_a_tenant_gives_it_a_new_row_version(app, client, admin):
    with app.app_context():
        before = get_tenant("farajaland").row_version
    client.post(PAGE, data=sent(app, "assistant", threshold="0.5"))
    with app.app_context():
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == "farajaland"))
        assert tenant.row_version != before and tenant.overrides == {"assistant": {"threshold": 0.5}}
