"""Data access to the self-service sources (knowledge base, assistant), one small function each.

Each returns None while its source is not part of the application, so the dashboard leaves the
section out and says so instead of showing made-up figures. All run in the session's tenant scope.
"""
from __future__ import annotations

import datetime as dt
import importlib.util
from collections import Counter, defaultdict

from sqlalchemy import func, select

from portal.core.db import db
from portal.insights.facts import start_of
from portal.tickets.models import Ticket


def _installed(domain: str) -> bool:
    try:
        return importlib.util.find_spec(f"portal.{domain}.models") is not None
    except ModuleNotFoundError:
        return False


def _window(first: dt.date, last: dt.date):
    return start_of(first), start_of(last + dt.timedelta(days=1))


def search_gaps(first, last, limit: int = 10):
    """{"no_result": [...], "not_opened": [...]} of (locale, query, times), the top `limit` per locale.

    Queries are compared case-insensitively, with spaces trimmed."""
    if not _installed("kb"):
        return None
    from portal.kb.models import SearchLog

    start, end = _window(first, last)
    query = func.lower(func.trim(SearchLog.query))
    out = {}
    for name, condition in (("no_result", SearchLog.result_count == 0), ("not_opened", (SearchLog.result_count > 0) & SearchLog.opened_slug.is_(None))):
        rows = db.session.execute(
            select(SearchLog.locale, query, func.count()).where(SearchLog.created_at >= start, SearchLog.created_at < end, condition)
            .group_by(SearchLog.locale, query).order_by(func.count().desc(), query)
        )
        per_locale: dict[str, list] = defaultdict(list)
        for locale, q, n in rows:
            if len(per_locale[locale]) < limit:
                per_locale[locale].append((locale, q, n))
        out[name] = [row for locale in sorted(per_locale) for row in per_locale[locale]]
    return out


def handover_questions(first, last, limit: int = 500):
    """Assistant questions that ended in a hand-over to a person, as (question, locale) pairs; a
    request for a person ("talk to someone") is not a question the content missed, and is left out."""
    if not _installed("assistant"):
        return None
    from portal.assistant.models import Outcome, Turn

    start, end = _window(first, last)
    rows = db.session.execute(
        select(Turn.question, Turn.locale).where(Turn.created_at >= start, Turn.created_at < end, Turn.outcome == Outcome.HANDED_OVER.value,
                                              Turn.asked_for_person.is_(False))
        .order_by(Turn.created_at.desc()).limit(limit)
    )
    return [(question, locale) for question, locale in rows]


def unhelpful_articles(first, last, limit: int = 10):
    """[(slug, not helpful, helpful, latest comments)] for articles with "not helpful" votes, worst first."""
    if not _installed("kb"):
        return None
    from portal.kb.models import ArticleFeedback

    start, end = _window(first, last)
    votes: dict[str, Counter] = defaultdict(Counter)
    comments: dict[str, list[str]] = defaultdict(list)
    rows = db.session.execute(
        select(ArticleFeedback.slug, ArticleFeedback.is_helpful, ArticleFeedback.comment)
        .where(ArticleFeedback.created_at >= start, ArticleFeedback.created_at < end).order_by(ArticleFeedback.created_at.desc())
    )
    for slug, helpful, comment in rows:
        votes[slug][bool(helpful)] += 1
        if not helpful and comment and len(comments[slug]) < 3:
            comments[slug].append(comment)
    ranked = sorted((slug for slug in votes if votes[slug][False]), key=lambda s: (-votes[s][False], s))
    return [(slug, votes[slug][False], votes[slug][True], comments[slug]) for slug in ranked[:limit]]


def outdated_translations(tenant):
    """{slug: (title, [outdated locales])} for the tenant's articles whose translation is outdated."""
    if not _installed("kb"):
        return None
    from portal.kb.services import translation_status

    return {row.slug: (row.title, row.outdated) for row in translation_status(tenant) if row.outdated}


def article_titles(tenant, locale: str, slugs) -> dict[str, str]:
    if not _installed("kb"):
        return {}
    from portal.kb.models import Audience
    from portal.kb.services import get_article

    titles = {}
    for slug in slugs:
        view = get_article(tenant, slug, locale, audience=Audience.STAFF)
        titles[slug] = view.title if view else slug
    return titles


def article_path(tenant, slug: str) -> str | None:
    if not _installed("kb"):
        return None
    from portal.kb.services import article_path as path

    return path(tenant.slug, slug)


def deflection(first, last):
    """(visits, deflected, anonymous searches): see DEFLECTION in services for the definition."""
    if not _installed("kb"):
        return None
    from portal.kb.models import SearchLog

    start, end = _window(first, last)
    visits = {(uid, day.date()) for uid, day in db.session.execute(
        select(SearchLog.user_id, SearchLog.created_at).where(SearchLog.created_at >= start, SearchLog.created_at < end, SearchLog.user_id.is_not(None)))}
    anonymous = db.session.scalar(select(func.count()).where(SearchLog.created_at >= start, SearchLog.created_at < end, SearchLog.user_id.is_(None)))
    users = {uid for uid, _day in visits}
    opened = set()
    if users:
        for uid, created in db.session.execute(
            select(Ticket.requester_user_id, Ticket.created_at).where(Ticket.created_at >= start, Ticket.created_at < end + dt.timedelta(days=1), Ticket.requester_user_id.in_(users))
        ):
            opened.add((uid, created.date()))
    deflected = sum(1 for uid, day in visits if (uid, day) not in opened and (uid, day + dt.timedelta(days=1)) not in opened)
    return len(visits), deflected, anonymous
