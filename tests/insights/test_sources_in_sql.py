"""The self-service figures counted in the database give what the definitions say (the reference
implementations below are the plain Python readings of them), and a CSV export computes its table
alone, the same as on the page."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pytest
from sqlalchemy import select

from portal.auth import services as auth_services
from portal.auth.permissions import Role
from portal.core.db import db, tenant_scope
from portal.insights import services as insights
from portal.insights import sources
from portal.kb import importer
from portal.kb import services as kb
from portal.kb.models import SearchLog
from portal.tenancy.services import get_tenant
from portal.tickets.models import Ticket
from tests.insights.conftest import add_ticket
from tests.kb.conftest import draft, write_library

UTC = dt.timezone.utc


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def reference_deflection(first: dt.date, last: dt.date):
    """DEFLECTION read literally, row by row."""
    start, end = sources._window(first, last)
    logs = db.session.execute(select(SearchLog.user_id, SearchLog.created_at).where(SearchLog.created_at >= start, SearchLog.created_at < end)).all()
    visits = {(uid, created.date()) for uid, created in logs if uid is not None}
    opened = {(uid, created.date()) for uid, created in db.session.execute(select(Ticket.requester_user_id, Ticket.created_at))}
    deflected = sum(1 for uid, day in visits if (uid, day) not in opened and (uid, day + dt.timedelta(days=1)) not in opened)
    return len(visits), deflected, sum(1 for uid, _created in logs if uid is None)


def reference_gaps(first: dt.date, last: dt.date, limit: int = 10):
    start, end = sources._window(first, last)
    counts = {"no_result": defaultdict(int), "not_opened": defaultdict(int)}
    for locale, query, results, opened, created in db.session.execute(
        select(SearchLog.locale, SearchLog.query, SearchLog.result_count, SearchLog.opened_slug, SearchLog.created_at)
    ):
        if start <= created < end:
            if results == 0:
                counts["no_result"][(locale, query.strip().lower())] += 1
            elif opened is None:
                counts["not_opened"][(locale, query.strip().lower())] += 1
    out = {}
    for name, found in counts.items():
        rows = []
        for locale in sorted({locale for locale, _q in found}):
            mine = sorted(((q, n) for (loc, q), n in found.items() if loc == locale), key=lambda qn: (-qn[1], qn[0]))
            rows += [(locale, q, n) for q, n in mine[:limit]]
        out[name] = rows
    return out


def reference_outdated(tenant):
    return {row.slug: (row.title, row.outdated) for row in kb.translation_status(tenant) if row.outdated}


@pytest.fixture
def people(app):
    """Three signed-in users of Farajaland and one of Kalondo, by name: their ids."""
    with app.app_context():
        ids = {}
        for slug, names in (("farajaland", ("a", "b", "c")), ("kalondo", ("k",))):
            tenant = get_tenant(slug)
            with tenant_scope(db.session, tenant.id):
                for name in names:
                    user = auth_services.create_user(f"sql-{name}@example.org")
                    auth_services.add_membership(tenant, user, Role.REQUESTER, "Registrar", "Office")
                    db.session.commit()
                    ids[name] = user
        return {name: user.id for name, user in ids.items()}


def test_deflection_matches_the_definition_at_day_and_period_edges(app, people):
    searches = [
        ("a", "2026-10-05 23:59"),  # a ticket just after midnight: not deflected
        ("a", "2026-10-05 08:00"),  # the same visit
        ("a", "2026-10-08 10:00"),  # a ticket two days later only: deflected
        ("b", "2026-10-12 10:00"),  # a ticket the day before only: deflected
        ("b", "2026-10-18 22:00"),  # the last day, a ticket the day after the period: not deflected
        ("c", "2026-10-14 10:00"),  # someone else's ticket that day: deflected
        (None, "2026-10-14 11:00"),
        (None, "2026-10-04 23:59"),  # before the period
        ("a", "2026-10-19 00:00"),  # after it
        ("k", "2026-10-14 10:00"),  # Kalondo: never counted in Farajaland
    ]
    opened = [("a", "2026-10-06 00:01"), ("a", "2026-10-10 09:00"), ("b", "2026-10-11 09:00"), ("b", "2026-10-19 09:00"),
              ("a", "2026-10-14 09:00"), ("k", "2026-10-05 09:00")]
    with app.app_context():
        for slug in ("farajaland", "kalondo"):
            tenant = get_tenant(slug)
            with tenant_scope(db.session, tenant.id):
                for who, when in searches:
                    if (who == "k") == (slug == "kalondo") and (who is not None or slug == "farajaland"):
                        db.session.add(SearchLog(locale="en", query="q", result_count=1, user_id=people.get(who), created_at=_at(when)))
                for who, when in opened:
                    if (who == "k") == (slug == "kalondo"):
                        from portal.auth.models import User

                        add_ticket(tenant, db.session.get(User, people[who]), None, "Subject", "web", "L1", when)
                db.session.commit()
        faraja = get_tenant("farajaland")
        with tenant_scope(db.session, faraja.id):
            first, last = dt.date(2026, 10, 5), dt.date(2026, 10, 18)
            assert sources.deflection(first, last) == (5, 3, 1) == reference_deflection(first, last)
            for first, last in ((dt.date(2026, 10, 1), dt.date(2026, 10, 31)), (dt.date(2026, 10, 5), dt.date(2026, 10, 5)),
                                (dt.date(2026, 10, 19), dt.date(2026, 10, 19)), (dt.date(2026, 11, 1), dt.date(2026, 11, 30))):
                assert sources.deflection(first, last) == reference_deflection(first, last)


def test_search_gaps_keep_the_top_of_each_language(app):
    with app.app_context():
        tenant = get_tenant("farajaland")
        with tenant_scope(db.session, tenant.id):
            when = _at("2026-10-06 10:00")
            # 14 different English searches, several with the same count (ties go by the search), and French ones.
            for i in range(14):
                for _ in range(i % 4 + 1):
                    db.session.add(SearchLog(locale="en", query=f" Query {i:02d} ", result_count=0, created_at=when))
                    db.session.add(SearchLog(locale="en", query=f"opened {i:02d}", result_count=2, created_at=when))
            for query in ("imprimer", "Imprimer ", "acte"):
                db.session.add(SearchLog(locale="fr", query=query, result_count=0, created_at=when))
            db.session.add(SearchLog(locale="en", query="outside", result_count=0, created_at=_at("2026-10-20 10:00")))
            db.session.commit()
            gaps = sources.search_gaps(dt.date(2026, 10, 5), dt.date(2026, 10, 18))
            assert gaps == reference_gaps(dt.date(2026, 10, 5), dt.date(2026, 10, 18))
            assert [r for r in gaps["no_result"] if r[0] == "fr"] == [("fr", "imprimer", 2), ("fr", "acte", 1)]
            assert len([r for r in gaps["no_result"] if r[0] == "en"]) == 10
            assert gaps["no_result"][:3] == [("en", "query 03", 4), ("en", "query 07", 4), ("en", "query 11", 4)]
            assert sources.search_gaps(dt.date(2026, 10, 5), dt.date(2026, 10, 18), limit=1)["not_opened"] == [("en", "opened 03", 4)]


@pytest.fixture
def outdated_library(app, tmp_path):
    """The knowledge base test library, with outdated translations of every kind in Farajaland, one
    in a hidden generic article, and an article of Kalondo's own."""
    with app.app_context():
        report = importer.import_folder(write_library(tmp_path / "library"))
        db.session.commit()
        assert not report.problems, report.problems
        faraja = get_tenant("farajaland")
        with tenant_scope(db.session, faraja.id):
            kb.save_article(faraja, None, "password-reset", "en", draft("Our reset", "Local text.", "access-and-login"))
            kb.save_article(faraja, None, "printing-certificates", "fr", draft("Imprimer", "Texte.", "certificates-and-printing"))
            kb.save_article(faraja, None, "own-article", "en", draft("Our own", "English.", "other"))
            kb.save_article(faraja, None, "own-article", "fr", draft("Le nôtre", "Français.", "other"))
            kb.save_article(faraja, None, "own-article", "en", draft("Our own, again", "English, changed.", "other"))
            kb.save_article(faraja, None, "fresh-article", "en", draft("Fresh", "English.", "other"))
            kb.save_article(faraja, None, "fresh-article", "fr", draft("Frais", "Français.", "other"))
            db.session.commit()
        kb.save_generic_article(None, "staff-triage", "fr", draft("Tri", "Texte.", "other", audience="staff"))
        for slug, title, category in (("code-not-received", "The code never arrives", "access-and-login"),
                                      ("password-reset", "Resetting a password", "access-and-login"),
                                      ("printing-certificates", "Printing", "certificates-and-printing"),
                                      ("staff-triage", "Triage", "other")):
            kb.save_generic_article(None, slug, "en", draft(title, "Changed upstream.", category, audience="staff" if slug == "staff-triage" else "public"))
        db.session.commit()
        with tenant_scope(db.session, faraja.id):
            kb.set_hidden(faraja, None, "staff-triage", True)
            db.session.commit()
        kalondo = get_tenant("kalondo")
        with tenant_scope(db.session, kalondo.id):
            kb.save_article(kalondo, None, "kalondo-only", "fr", draft("À nous", "Texte.", "other"))
            db.session.commit()


def test_outdated_translations_as_the_knowledge_base_reports_them(app, outdated_library):
    with app.app_context():
        for slug in ("farajaland", "kalondo"):
            tenant = get_tenant(slug)
            with tenant_scope(db.session, tenant.id):
                found = sources.outdated_translations(tenant)
                db.session.expire_all()
                expected = reference_outdated(tenant)
                assert found == expected and list(found) == list(expected)
                locales = {key: outdated for key, (_title, outdated) in found.items()}
                if slug == "farajaland":
                    assert locales == {"code-not-received": ["fr"], "own-article": ["fr"], "password-reset": ["en"], "printing-certificates": ["fr"]}
                else:  # Farajaland hid the generic triage article; Kalondo did not
                    assert locales == {"code-not-received": ["fr"], "staff-triage": ["fr"]}


def test_each_export_computes_its_table_alone_with_the_same_rows(app, insight_data, outdated_library):
    with app.app_context():
        tenant = get_tenant("farajaland")
        with tenant_scope(db.session, tenant.id):
            admin = auth_services.create_user("insights-admin@example.org")
            auth_services.add_membership(tenant, admin, Role.TENANT_ADMIN)
            db.session.commit()
            period = insights.parse_period("2026-10-05", "2026-10-18")
            board = insights.tenant_dashboard(tenant, admin, period, "en")
            assert {"outdated", "unhelpful", "deflection", "topics", "recommendations", "weekly"} <= set(board.tables)
            assert board.tables["outdated"].rows
            for key, table in board.tables.items():
                alone = insights.tenant_dashboard(tenant, admin, period, "en", only=key)
                assert alone.tables == {key: table}, key
                if key == "recommendations":
                    assert alone.recommendations == board.recommendations
            assert insights.tenant_dashboard(tenant, admin, period, "en", only="nope").tables == {}
