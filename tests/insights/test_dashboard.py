"""Every figure of the insights page against the known answers of the data set in conftest.py."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest

from portal.auth.permissions import GlobalRole, Role
from portal.insights import services as insights

from .conftest import END, START

PERIOD = f"?start={START}&end={END}"


def rows_of(html: str, section: str) -> list[list[str]]:
    """The body rows of the table in the section with id `section`, as text."""
    block = re.search(rf'<section class="insight" id="{section}".*?</section>', html, re.S).group(0)
    body = re.search(r"<tbody>(.*?)</tbody>", block, re.S)
    if body is None:
        return []
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)]


@pytest.fixture
def admin_page(client, make_user, auth, insight_data):
    auth.login(make_user(role=Role.TENANT_ADMIN))
    response = client.get(f"/farajaland/insights/{PERIOD}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_demand_by_category_week_and_trend(admin_page):
    assert rows_of(admin_page, "weekly") == [["2026-10-05", "3", "3", "0"], ["2026-10-12", "5", "2", "3"]]
    assert rows_of(admin_page, "categories") == [
        ["Certificates and printing", "5", "1", "+400%", "Rising"],
        ["Access and login", "3", "2", "+50%", "Rising"],
    ]


def test_demand_by_channel_office_and_role(admin_page):
    assert rows_of(admin_page, "channels") == [["Portal", "4", "50.0%"], ["WhatsApp", "3", "37.5%"], ["Email", "1", "12.5%"]]
    assert rows_of(admin_page, "offices") == [["Ibombo District Office", "4", "50.0%"], ["Isamba District Office", "4", "50.0%"]]
    assert rows_of(admin_page, "roles") == [["Registrar", "4", "50.0%"], ["Registration agent", "4", "50.0%"]]


def test_times_and_service_levels_per_tier(admin_page):
    """Business hours, late by due time or by the SLA check's flag, resolution without the wait."""
    assert rows_of(admin_page, "sla") == [
        ["L1", "6", "2", "0", "66.7%", "4.0", "11.0", "24.0", "36.0"],
        ["L2", "2", "0", "1", "50.0%", "2.0", "2.8", "6.0", "6.0"],
        ["L3", "0", "0", "0", "–", "–", "–", "–", "–"],
    ]


def test_satisfaction_per_tier_and_category_and_article_links(admin_page):
    assert rows_of(admin_page, "satisfaction_tiers") == [
        ["L1", "2", "4.00", "50.0%"], ["L2", "1", "1.00", "0.0%"], ["L3", "0", "–", "–"], ["All", "3", "3.00", "33.3%"]]
    assert rows_of(admin_page, "satisfaction") == [
        ["Certificates and printing", "2", "4.00", "50.0%"], ["Access and login", "1", "1.00", "0.0%"], ["All", "3", "3.00", "33.3%"]]
    assert rows_of(admin_page, "articles") == [["reset-password", "Resetting your password", "2", "1"]]


def test_topics_and_ranked_recommendations_with_evidence(admin_page):
    topics = rows_of(admin_page, "topics")
    # four tickets, a search made twice with no result and two assistant hand-overs
    assert [t[1:4] for t in topics] == [["5", "2", "2"]]
    assert "certificate" in topics[0][0] and "Certificate printing question" in topics[0][4]
    recs = re.findall(r'<li class="recommendation recommendation-(\w+)">.*?<strong>(.*?)</strong>.*?score ([\d.]+)', admin_page, re.S)
    assert [(kind, score) for kind, _action, score in recs] == [("write", "9"), ("update", "3"), ("train", "1.5"), ("train", "1.5")]
    actions = [a for _k, a, _s in recs]
    assert actions[1] == "Update the article “Resetting your password”"
    assert "1 reader rated it not helpful; 2 tickets were answered with it" in admin_page
    assert actions[2] == "Train Registrar in Isamba District Office on Access and login"
    assert "3 tickets on Access and login" in admin_page and "predicts 1.5" in admin_page


def test_charts_are_svg_with_text_alternatives(admin_page):
    assert re.search(r"<script(?![^>]*\bsrc=)", admin_page) is None  # no inline script
    svg = re.search(r"<svg[^>]*>", admin_page).group(0)
    assert 'role="img"' in svg and 'aria-labelledby="chart-weekly-title chart-weekly-desc"' in svg
    assert '<title id="chart-weekly-title">' in admin_page and '<desc id="chart-weekly-desc">' in admin_page


def test_sources_not_yet_recorded_are_named_not_faked(admin_page):
    assert 'id="missing-h"' not in admin_page  # every source is wired in now


def test_search_gaps_feedback_and_deflection(admin_page):
    assert rows_of(admin_page, "no_result") == [["en", "birth certificate printer", "2"], ["fr", "imprimer acte", "1"]]
    assert rows_of(admin_page, "not_opened") == [["en", "print certificate", "1"]]
    assert rows_of(admin_page, "unhelpful") == [["reset-password", "reset-password", "1", "1", "Code never arrives"]]
    assert rows_of(admin_page, "deflection") == [["2", "1", "50.0%", "3"]]
    handovers = rows_of(admin_page, "handovers")
    assert [h[1] for h in handovers] == ["2"] and "My certificate printer prints blank" in handovers[0][2]


def test_other_tenant_never_appears(admin_page):
    assert "Kalondo secret" not in admin_page and "Mbanga" not in admin_page and "Declarations" not in admin_page


def test_date_filter_narrows_the_figures(client, make_user, auth, insight_data):
    auth.login(make_user(role=Role.L1_AGENT))
    html = client.get("/farajaland/insights/?start=2026-10-12&end=2026-10-12").get_data(as_text=True)
    assert "1 ticket from 12 Oct 2026 to 12 Oct 2026" in html
    assert rows_of(html, "channels") == [["Portal", "1", "100.0%"]]


def test_the_default_period_is_twelve_whole_weeks():
    period = insights.parse_period(None, None, today=dt.date(2026, 11, 26))  # a Thursday
    assert (period.first, period.last, period.first.weekday()) == (dt.date(2026, 9, 7), dt.date(2026, 11, 26), 0)
    assert insights.parse_period(None, "2026-11-29").first == dt.date(2026, 9, 7)


@pytest.mark.parametrize("query, message", [
    ("?start=2026-13-01", "Start date must be a date"),
    ("?start=2026-10-10&end=2026-10-01", "must not be after"),
    ("?start=2020-01-01&end=2026-01-01", "at most 732 days"),
    ("?end=0001-01-01", "Choose a date between 1970-01-01 and 2999-12-31"),  # no overflow in date arithmetic
    ("?start=9999-12-30&end=9999-12-31", "Choose a date between"),
])
def test_bad_dates_are_a_clear_400(client, make_user, auth, query, message):
    auth.login(make_user(role=Role.L2_TECHNICIAN))
    response = client.get(f"/farajaland/insights/{query}")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_figures_are_written_the_readers_way(client, make_user, auth, insight_data):
    auth.login(make_user(role=Role.TENANT_ADMIN))
    page = client.get(f"/farajaland/insights/{PERIOD}", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert rows_of(page, "channels")[0] == ["Portail", "4", "50,0\xa0%"]
    assert rows_of(page, "satisfaction")[0] == ["Actes et impression", "2", "4,00", "50,0\xa0%"]


def test_csv_export_of_a_table(client, make_user, auth, insight_data):
    auth.login(make_user(role=Role.TENANT_ADMIN))
    response = client.get(f"/farajaland/insights/export/channels.csv{PERIOD}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert list(csv.reader(io.StringIO(response.get_data(as_text=True)))) == [
        ["Channel", "Tickets", "Share"], ["Portal", "4", "50.0%"], ["WhatsApp", "3", "37.5%"], ["Email", "1", "12.5%"]]
    recs = client.get(f"/farajaland/insights/export/recommendations.csv{PERIOD}").get_data(as_text=True)
    assert "Train Registrar in Isamba District Office on Access and login" in recs
    assert client.get(f"/farajaland/insights/export/nope.csv{PERIOD}").status_code == 404


def test_csv_cells_never_run_as_formulas(app, client, make_user, auth, insight_data):
    # Anyone can search the help centre: what they type reaches the exports the team opens in a spreadsheet.
    for query in ('=HYPERLINK("http://evil.example/","zzqx")', "@SUM(1+1)", "-2+3 birth", "+cmd"):
        client.get("/farajaland/kb/search", query_string={"q": query})
    auth.login(make_user(role=Role.TENANT_ADMIN))
    rows = list(csv.reader(io.StringIO(client.get(f"/farajaland/insights/export/no_result.csv?start={START}&end={dt.date.today() + dt.timedelta(days=1)}").get_data(as_text=True))))
    queries = [row[1] for row in rows[1:]]
    assert queries and all(not q.startswith(("=", "+", "-", "@")) for q in queries), queries
    assert any(q.startswith("'=hyperlink(") for q in queries)
    trend = list(csv.reader(io.StringIO(client.get(f"/farajaland/insights/export/categories.csv{PERIOD}").get_data(as_text=True))))
    assert ["Certificates and printing", "5", "1", "+400%", "Rising"] in trend  # a signed figure stays a figure


def test_monthly_report_is_printable(client, make_user, auth, insight_data):
    auth.login(make_user(role=Role.TENANT_ADMIN))
    html = client.get("/farajaland/insights/report?month=2026-10").get_data(as_text=True)
    assert "Support report for Farajaland, October 2026" in html
    assert 'name="month" value="2026-10"' in html  # the field can be sent again as it is
    assert "8 tickets from 1 Oct 2026 to 31 Oct 2026" in html
    assert client.get("/farajaland/insights/report?month=October").status_code == 400
    assert client.get("/farajaland/insights/report?month=9999-12").status_code == 400


def test_requesters_are_refused(client, make_user, auth):
    auth.login(make_user(role=Role.REQUESTER))
    assert client.get("/farajaland/insights/").status_code == 403
    assert client.get("/farajaland/insights/export/channels.csv").status_code == 403
    assert client.get("/expert/insights").status_code == 403


def test_expert_sees_every_country(client, make_user, auth, insight_data):
    auth.login(make_user(global_role=GlobalRole.L3_EXPERT, tenant=None), tenant=None)
    response = client.get(f"/expert/insights{PERIOD}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert rows_of(html, "tenants") == [["Farajaland", "8", "3", "62.5%", "3.00"], ["République du Kalondo", "1", "0", "100.0%", "–"]]
    assert ["Declarations", "1", "0", "new", ""] in rows_of(html, "categories")
    exported = client.get(f"/expert/insights/export/tenants.csv{PERIOD}").get_data(as_text=True)
    assert "République du Kalondo,1,0" in exported


def test_a_topic_an_article_answers_asks_to_make_it_findable_not_to_write_another(app, client, make_user, auth, insight_data):
    """Tickets no agent linked an article to may still be answered by one: the recommendation is then
    to bring readers to it (with the words they used), not to write a second article. The answer is
    kept between views, until the articles change."""
    from portal.core.db import db, tenant_scope
    from portal.kb import services as kb
    from portal.tenancy.services import get_tenant

    auth.login(make_user(role=Role.TENANT_ADMIN))
    before = client.get(f"/farajaland/insights/{PERIOD}").get_data(as_text=True)
    assert re.search(r'<li class="recommendation recommendation-write">', before)  # no article answers yet
    with app.app_context():
        tenant = get_tenant("farajaland")
        with tenant_scope(db.session, tenant.id):
            kb.save_article(tenant, None, "printing-birth-certificates", "en", kb.Draft(
                "Printing birth certificates",
                "## When the certificate does not print\n\nIf the printer will not print a birth certificate, or the page "
                "comes out blank, check that the printer is on and has paper, then print the certificate again from "
                "the record. Certificate printing needs the certificate template installed on the printer.",
                "certificates-and-printing", ["printing", "certificate"], "public", "published"))
        db.session.commit()
    html = client.get(f"/farajaland/insights/{PERIOD}").get_data(as_text=True)  # the answer kept before is stale now
    recs = re.findall(r'<li class="recommendation recommendation-(\w+)">.*?<strong>(.*?)</strong>', html, re.S)
    assert ("update", "Make the article “Printing birth certificates” easier to find") in recs
    assert not [action for kind, action in recs if kind == "write"]
    assert 'href="/farajaland/kb/articles/printing-birth-certificates"' in html


def test_french_figures_are_written_the_french_way(client, make_user, auth, insight_data):
    auth.login(make_user(role=Role.TENANT_ADMIN, locale="fr"))
    html = client.get(f"/farajaland/insights/{PERIOD}").get_data(as_text=True)
    assert "prévoit 1,5" in html and "score 1,5" in html
    assert "1.5" not in re.sub(r'<svg.*?</svg>|(?:x|y|width|height|viewBox)="[^"]*"', "", html, flags=re.S)
    assert "<th scope=\"col\">Nombre de fois</th>" in html or "Nombre de fois" in html


def test_a_month_compares_with_the_month_before():
    march = insights.Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    assert march.previous() == insights.Period(dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    fortnight = insights.Period(dt.date(2026, 10, 5), dt.date(2026, 10, 18))
    assert fortnight.previous() == insights.Period(dt.date(2026, 9, 21), dt.date(2026, 10, 4))
