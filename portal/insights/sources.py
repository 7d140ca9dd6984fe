"""Data access to the self-service sources (knowledge base, assistant), one small function each.

Each returns None while its source is not part of the application, so the dashboard leaves the
section out and says so instead of showing made-up figures. All run in the session's tenant scope.
"""
from __future__ import annotations

import datetime as dt
import importlib.util
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import Date, and_, case, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

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


def content_names(tenant) -> tuple[str, ...] | None:
    """The version names (portal.core.versions) that change with what the tenant's articles say,
    or None without the knowledge base."""
    if not _installed("kb"):
        return None
    from portal.kb.models import GENERIC_CONTENT, tenant_content
    from portal.tenancy.models import TENANTS

    return (GENERIC_CONTENT, tenant_content(tenant.id), TENANTS)


def search_gaps(first, last, limit: int = 10):
    """{"no_result": [...], "not_opened": [...]} of (locale, query, times), the top `limit` per locale.

    Queries are compared case-insensitively, with spaces trimmed. The top of each locale is taken in
    SQL (most frequent first, then by query), so only `limit` rows per locale leave the database."""
    if not _installed("kb"):
        return None
    from portal.kb.models import SearchLog

    start, end = _window(first, last)
    query = func.lower(func.trim(SearchLog.query))
    no_result, not_opened = SearchLog.result_count == 0, (SearchLog.result_count > 0) & SearchLog.opened_slug.is_(None)
    kind = case((no_result, "no_result"), else_="not_opened")
    # Both lists in one pass over the period's searches.
    counts = (
        select(kind.label("kind"), SearchLog.locale.label("locale"), query.label("query"), func.count().label("times"),
               func.row_number().over(partition_by=(kind, SearchLog.locale), order_by=(func.count().desc(), query)).label("place"))
        .where(SearchLog.created_at >= start, SearchLog.created_at < end, no_result | not_opened)
        .group_by(kind, SearchLog.locale, query)
        .subquery("counts")
    )
    per_locale: dict[str, dict[str, list]] = {"no_result": defaultdict(list), "not_opened": defaultdict(list)}
    for name, locale, q, n in db.session.execute(
        select(counts.c.kind, counts.c.locale, counts.c.query, counts.c.times).where(counts.c.place <= limit)
        .order_by(counts.c.kind, counts.c.locale, counts.c.place)
    ):
        per_locale[name][locale].append((locale, q, n))
    return {name: [row for locale in sorted(rows) for row in rows[locale]] for name, rows in per_locale.items()}


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
    from portal.kb.services import outdated_articles

    return outdated_articles(tenant)


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


class _next_day(FunctionElement):
    """The day after a date (of `func.date`): `date + 1` on PostgreSQL, `date(day, '+1 day')` on SQLite."""

    type = Date()
    name = "next_day"
    inherit_cache = True


@compiles(_next_day)
def _next_day_default(element, compiler, **kw):
    return f"({compiler.process(element.clauses, **kw)} + 1)"


@compiles(_next_day, "sqlite")
def _next_day_sqlite(element, compiler, **kw):
    return f"date({compiler.process(element.clauses, **kw)}, '+1 day')"


def deflection(first, last):
    """(visits, deflected, anonymous searches): see DEFLECTION in services for the definition.

    Counted in SQL: the distinct (user, UTC day) of the period's signed-in searches, each matched
    with the distinct (requester, UTC day) of tickets on that day and on the next."""
    if not _installed("kb"):
        return None
    from portal.kb.models import SearchLog

    start, end = _window(first, last)
    visits = (
        select(SearchLog.user_id.label("user_id"), func.date(SearchLog.created_at).label("day"))
        .where(SearchLog.created_at >= start, SearchLog.created_at < end, SearchLog.user_id.is_not(None))
        .distinct()
        .subquery("visits")
    )
    opened = (
        select(Ticket.requester_user_id.label("user_id"), func.date(Ticket.created_at).label("day"))
        .where(Ticket.created_at >= start, Ticket.created_at < end + dt.timedelta(days=1), Ticket.requester_user_id.is_not(None))
        .distinct()
        .cte("opened")
    )
    same_day, next_day = opened.alias("same_day"), opened.alias("next_day")
    visits_n, deflected = db.session.execute(
        select(func.count(), func.coalesce(func.sum(case((and_(same_day.c.user_id.is_(None), next_day.c.user_id.is_(None)), 1), else_=0)), 0))
        .select_from(visits)
        .outerjoin(same_day, and_(same_day.c.user_id == visits.c.user_id, same_day.c.day == visits.c.day))
        .outerjoin(next_day, and_(next_day.c.user_id == visits.c.user_id, next_day.c.day == _next_day(visits.c.day)))
    ).one()
    anonymous = db.session.scalar(select(func.count()).where(SearchLog.created_at >= start, SearchLog.created_at < end, SearchLog.user_id.is_(None)))
    return int(visits_n), int(deflected), anonymous


@dataclass
class ExpertSupport:
    """One country's escalations to the central team made in a period (see `expert_support`)."""

    escalated: int = 0
    answered: int = 0  # an expert answered while the escalation was with the central team
    first_answer_hours: list[float] = field(default_factory=list)
    with_target: int = 0  # ended (or overdue) escalations that had a target
    met: int = 0
    sent_back: int = 0  # returned to Level 2 (by an expert, or by a roll-out)


def expert_support(first, last) -> dict[int, ExpertSupport] | None:
    """Per tenant id, the escalations to Level 3 made from `first` to `last` (UTC days): how many, how
    many an expert answered while they were with the central team and how fast (clock hours to the
    first answer), how many ended within their target (or have passed it), and how many went back to
    Level 2. Run across tenants (the central team's view); None without the escalation domain."""
    if not _installed("escalation"):
        return None
    from portal.escalation.models import ExpertReply, TierStep
    from portal.escalation.services import TierPeriod, step_end

    start, end = _window(first, last)
    rows = db.session.execute(
        select(TierStep, Ticket).join(Ticket, Ticket.id == TierStep.ticket_id)
        .where(TierStep.to_tier == "L3", TierStep.is_escalation.is_(True), TierStep.created_at >= start, TierStep.created_at < end)
    ).all()
    answers: dict[int, list[dt.datetime]] = defaultdict(list)
    ticket_ids = sorted({ticket.id for _step, ticket in rows})
    for chunk in (ticket_ids[i:i + 500] for i in range(0, len(ticket_ids), 500)):
        for ticket_id, at in db.session.execute(
            select(ExpertReply.ticket_id, ExpertReply.created_at).where(ExpertReply.ticket_id.in_(chunk), ExpertReply.created_at >= start)
        ):
            answers[ticket_id].append(at)
    result: dict[int, ExpertSupport] = defaultdict(ExpertSupport)
    for step, ticket in rows:
        m = result[step.tenant_id]
        m.escalated += 1
        ended = step_end(step, ticket)
        during = [at for at in answers.get(ticket.id, ()) if at >= step.created_at and (ended is None or at <= ended)]
        if during:
            m.answered += 1
            m.first_answer_hours.append((min(during) - step.created_at).total_seconds() / 3600)
        state = TierPeriod(step.to_tier, step.created_at, ended, step.due_at, step).state
        if state in ("met", "breached"):
            m.with_target += 1
            m.met += state == "met"
        if step.ended_at is not None:
            m.sent_back += 1
    return dict(result)


def open_with_experts() -> dict[int, int] | None:
    """Per tenant id, the tickets with the central team now (their latest move was an escalation to
    Level 3, and they are still open). Run across tenants; None without the escalation domain."""
    if not _installed("escalation"):
        return None
    from portal.escalation.models import TierStep

    return dict(db.session.execute(
        select(TierStep.tenant_id, func.count(TierStep.id)).join(Ticket, Ticket.id == TierStep.ticket_id)
        .where(*TierStep.with_central_team())
        .group_by(TierStep.tenant_id)
    ).all())

