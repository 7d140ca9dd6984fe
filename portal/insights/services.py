"""Insights for one tenant (support team) or across tenants (central team): demand, self-service,
and a ranked list of recommendations, each with its evidence.

Every ticket figure comes from `facts.gather` (weekly rollup + live) or a bounded query on one period. The
dashboard is a list of `Table`s, so the page, the CSV export and the printable report show the same
numbers.

Recommendation scoring: every score is a number of tickets in the period that the action addresses,
(or failed searches and votes: each a user who did not get an answer), so the kinds compare on one scale and rank together (ties: write, then update, then train).
- write an article: the tickets and failed searches of one topic (a cluster of ticket subjects that
  no agent answered with an existing article and of searches with no result, see `topics`; a search
  counts as often as it was made); a topic needs a weight of at least `MIN_TOPIC`.
- update an article: its "not helpful" votes + the tickets an agent answered with it (users did not
  find it or it did not answer them) + one per outdated translation; at least `MIN_LINKS`.
- train a role in a district on a category: the excess of tickets over what the tenant's average
  predicts, `n - G * N_c / N`, where n is the tickets of that role, office and category, G all the
  tickets of that role and office, N_c the tenant's tickets of the category and N all of them; only
  when n >= `MIN_TRAIN` and n is at least `TRAIN_RATIO` times the expectation.
"""
from __future__ import annotations

import datetime as dt
import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from babel.lists import format_list
from flask_babel import format_decimal, format_percent, get_locale
from flask_babel import gettext as _
from flask_babel import ngettext, pgettext
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import select

from portal.auth.models import User
from portal.auth.permissions import Permission
from portal.auth.services import permissions_in
from portal.core import versions
from portal.core.db import across_tenants, db, utcnow
from portal.core.templating import format_date
from portal.insights import charts, sources
from portal.insights.facts import KINDS, Facts, Measures, gather
from portal.insights.models import TicketArticleLink
from portal.insights.topics import cluster
from portal.tickets.models import CHANNEL_LABELS, Category, Channel, Status, Ticket, Tier

DEFAULT_DAYS = 84  # twelve weeks, from a Monday
MAX_DAYS = 732
MIN_TOPIC = 3
MIN_LINKS = 2
MIN_TRAIN = 3
TRAIN_RATIO = 1.5
RISING_RATIO = 1.25
TOPIC_SAMPLE = 1000  # most recent ticket subjects clustered into topics


class InsightsError(ValueError):
    """Input the user must correct (a bad date, an unknown table); `code` is the HTTP status."""

    def __init__(self, message: str, code: int = 400):
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Period:
    first: dt.date
    last: dt.date  # inclusive

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def previous(self) -> "Period":
        """The period to compare with: the month before for a whole calendar month (a March report
        compares with February, not with the 31 days before it), else as many days just before."""
        last = self.first - dt.timedelta(days=1)
        if self.first.day == 1 and (self.last + dt.timedelta(days=1)).day == 1 and self.first.month == self.last.month:
            return Period(last.replace(day=1), last)
        return Period(self.first - dt.timedelta(days=self.days), last)


# Dates a support desk can have figures for; outside them, date arithmetic would overflow (year 1 or 9999).
EARLIEST, LATEST = dt.date(1970, 1, 1), dt.date(2999, 12, 31)


def _parse_day(value: str, name: str) -> dt.date:
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError:
        raise InsightsError(_("%(name)s must be a date written as YYYY-MM-DD.", name=name)) from None
    return _within(day)


def _within(day: dt.date) -> dt.date:
    if not EARLIEST <= day <= LATEST:
        raise InsightsError(_("Choose a date between %(first)s and %(last)s.", first=EARLIEST.isoformat(), last=LATEST.isoformat()))
    return day


def parse_period(start: str | None, end: str | None, today: dt.date | None = None) -> Period:
    """The period of the `start`/`end` filters (YYYY-MM-DD, inclusive); by default the twelve weeks
    (Monday to Sunday) up to the one of the end date, which the weekly rollup answers whole."""
    today = today or utcnow().date()
    last = _parse_day(end, _("End date")) if end else today
    # By default whole weeks: the week of `last` and the eleven before it.
    first = _parse_day(start, _("Start date")) if start else _week(last) - dt.timedelta(days=DEFAULT_DAYS - 7)
    if first > last:
        raise InsightsError(_("The start date must not be after the end date."))
    if (last - first).days + 1 > MAX_DAYS:
        raise InsightsError(_("Choose a period of at most %(days)s days.", days=MAX_DAYS))
    return Period(first, last)


def parse_month(value: str | None, today: dt.date | None = None) -> Period:
    """The calendar month `YYYY-MM` (the previous month by default)."""
    today = today or utcnow().date()
    if value:
        try:
            first = dt.date.fromisoformat(value.strip() + "-01")
        except ValueError:
            raise InsightsError(_("The month must be written as YYYY-MM.")) from None
        _within(first)
    else:
        first = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return Period(first, following - dt.timedelta(days=1))


@dataclass
class Table:
    key: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    chart: Markup | None = None
    note: str = ""


@dataclass
class Recommendation:
    kind: str  # write | update | train
    action: str
    evidence: str
    score: float
    anchor: str  # the table on the page that holds the evidence
    link: str | None = None  # an article address, when there is one
    examples: list[str] = field(default_factory=list)

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS[self.kind])


KIND_LABELS = {"write": _l("Write an article"), "update": _l("Update an article"), "train": _l("Train")}
KIND_ORDER = {"write": 0, "update": 1, "train": 2}


@dataclass
class Dashboard:
    period: Period
    tables: dict[str, Table]
    recommendations: list[Recommendation]
    missing: list[str]  # self-service sections whose data source is not available
    totals: Measures


def _share(part: int, whole: int) -> str:
    """`part` of `whole` as a percentage written the reader's way ("12.5%", "12,5 %"); a dash for none."""
    return format_percent(part / whole, _percent_pattern(1)) if whole else "–"


def _percent_pattern(decimals: int, signed: bool = False) -> str:
    """The reader's percent pattern ("#,##0%", "#,##0 %") with `decimals` places, and a sign on gains."""
    pattern = get_locale().percent_formats[None].pattern.split(";")[0]
    if decimals:
        pattern = re.sub(r"0(?!.*0)", "0." + "0" * decimals, pattern, count=1)
    return f"+{pattern};-{pattern}" if signed else pattern


def _hours(value: float | None) -> str:
    return format_decimal(value, "#,##0.0") if value is not None else "–"


def _distinct(texts: list[str], n: int = 3) -> list[str]:
    return list(dict.fromkeys(texts))[:n]


def _week(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _category_names(locale: str) -> dict[int | None, str]:
    names: dict[int | None, str] = {None: _("No category")}
    for cat in db.session.scalars(select(Category)):
        names[cat.id] = cat.name(locale)
    return names


def _channel_label(channel: str) -> str:
    try:
        return str(CHANNEL_LABELS[Channel(channel)])
    except ValueError:
        return channel


def _count_table(key: str, title: str, label: str, counts: dict[str, int], chart_desc: str) -> Table:
    total = sum(counts.values())
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    rows = [[name, n, _share(n, total)] for name, n in ordered]
    chart = charts.bar_chart(f"chart-{key}", title, chart_desc, [(name, n) for name, n in ordered[:12]]) if ordered else None
    return Table(key, title, [label, _("Tickets"), _("Share")], rows, chart)


def _satisfaction_row(label: str, m: Measures) -> list:
    return [label, m.rating_count, format_decimal(m.rating_average, "0.00") if m.rating_count else "–", _share(m.rating_satisfied, m.rating_count)]


def demand_tables(period: Period, category_names: dict, facts: Facts, previous_facts: Facts, category_key=lambda cid: cid) -> tuple[dict[str, Table], Measures]:
    """Volume by week and category, categories against the previous period, channels, offices,
    requester roles, service levels per tier and satisfaction per tier and category."""
    tables: dict[str, Table] = {}

    def category(cid) -> str:
        return category_names.get(category_key(cid), category_names.get(None))

    weeks = sorted({_week(day) for day in (period.first + dt.timedelta(days=i) for i in range(period.days))})
    per_week: dict[Any, Counter] = defaultdict(Counter)
    current: Counter = Counter()
    for (week, cid), m in facts.by("week", "category_id").items():
        per_week[category(cid)][week] += m.tickets
        current[category(cid)] += m.tickets
    previous: Counter = Counter()
    prev = period.previous()
    for (cid,), m in previous_facts.by("category_id").items():
        previous[category(cid)] += m.tickets
    top = [name for name, _n in current.most_common()]
    week_labels = [w.isoformat() for w in weeks]
    totals_per_week = [sum(per_week[name][w] for name in top) for w in weeks]
    tables["weekly"] = Table(
        "weekly",
        _("Tickets per week and category"),
        [_("Week starting"), _("All")] + top,
        [[label, totals_per_week[i]] + [per_week[name][w] for name in top] for i, (label, w) in enumerate(zip(week_labels, weeks))],
        charts.line_chart(
            "chart-weekly",
            _("Tickets per week"),
            _("Tickets opened each week from %(first)s to %(last)s, in all and for the biggest categories.", first=format_date(period.first), last=format_date(period.last)),
            week_labels,
            [(_("All"), totals_per_week)] + [(name, [per_week[name][w] for w in weeks]) for name in top[:4]],
        ),
        note=_("Weeks start on Monday; the first and last weeks may be partial."),
    )
    rows = []
    for name in sorted(set(current) | set(previous), key=lambda n: (-current[n], n)):
        now, before = current[name], previous[name]
        change = format_percent((now - before) / before, _percent_pattern(0, signed=True)) if before else (_("new") if now else "–")
        rising = now >= MIN_TOPIC and (before == 0 or now >= RISING_RATIO * before)
        rows.append([name, now, before, change, _("Rising") if rising else ""])
    tables["categories"] = Table(
        "categories",
        _("Categories against the previous period"),
        [_("Category"), _("Tickets"), _("Previous period"), _("Change"), _("Trend")],
        rows,
        charts.bar_chart("chart-categories", _("Tickets per category"), _("Tickets per category from %(first)s to %(last)s.", first=format_date(period.first), last=format_date(period.last)), [(n, current[n]) for n in top[:12]]),
        note=_("Previous period: %(first)s to %(last)s. Rising: at least %(n)s tickets and 25%% more than before.", first=format_date(prev.first), last=format_date(prev.last), n=MIN_TOPIC),
    )
    channels: Counter = Counter()
    for (ch,), m in facts.by("channel").items():
        channels[_channel_label(ch)] += m.tickets
    tables["channels"] = _count_table("channels", _("Tickets by channel"), _("Channel"), channels, _("Tickets per channel in the period."))
    offices: Counter = Counter()
    roles: Counter = Counter()
    for (office, role), m in facts.by("office", "role").items():
        offices[office or _("Not given")] += m.tickets
        roles[role or _("Not known")] += m.tickets
    tables["offices"] = _count_table("offices", _("Tickets by office or district"), _("Office"), offices, _("Tickets per office in the period."))
    tables["roles"] = _count_table("roles", _("Tickets by requester role"), _("Role"), roles, _("Tickets per requester job title in the period."))

    by_tier = facts.by("tier")
    totals = Measures()
    sla_rows = []
    for tier in [t.value for t in Tier]:
        m = by_tier.get((tier,), Measures())
        totals.add(m)
        sla_rows.append([tier, m.tickets, m.response_breached, m.resolution_breached, _share(m.sla_met, m.tickets)]
                        + [_hours(facts.time_percentile(tier, kind, p)) for kind in KINDS for p in (0.5, 0.9)])
    tables["sla"] = Table(
        "sla",
        _("Response, resolution and service levels per tier"),
        [_("Tier"), _("Tickets"), _("First response late"), _("Resolution late"), _("Within targets"),
         _("Median first response (h)"), _("90th percentile first response (h)"), _("Median resolution (h)"), _("90th percentile resolution (h)")],
        sla_rows,
        charts.bar_chart("chart-sla", _("Share of tickets within targets per tier"), _("Percentage of tickets that breached neither target, per tier."),
                         [(r[0], round(100 * by_tier.get((r[0],), Measures()).sla_met / r[1], 1) if r[1] else 0) for r in sla_rows]),
        note=_("Times are business hours (the country's opening hours, as for the targets) from opening to the first reply, and to the resolution "
               "less the time spent waiting for the requester. A reply or resolution is late when it came after its due time or the service-level "
               "check flagged it; a ticket is within targets when neither was late. Tier is the ticket's current tier."),
    )
    tables["satisfaction_tiers"] = Table(
        "satisfaction_tiers", _("Satisfaction per tier"), [_("Tier"), _("Ratings"), _("Average (1 to 5)"), _("Satisfied (4 or 5)")],
        [_satisfaction_row(tier, by_tier.get((tier,), Measures())) for tier in [t.value for t in Tier]] + [_satisfaction_row(_("All"), totals)],
        charts.bar_chart("chart-satisfaction-tiers", _("Average rating per tier"), _("Average rating from 1 to 5 that requesters gave their resolved requests, per tier."),
                         [(tier, round(by_tier[(tier,)].rating_average, 2)) for tier in [t.value for t in Tier] if (tier,) in by_tier and by_tier[(tier,)].rating_count]),
        note=_("Requesters rate a request from 1 to 5 once it is resolved, on its page or through the link in the resolution message."),
    )
    rated: dict[str, Measures] = defaultdict(Measures)
    for (cid,), m in facts.by("category_id").items():
        rated[category(cid)].add(m)
    sat_rows = [_satisfaction_row(name, m) for name, m in sorted(rated.items(), key=lambda kv: (-kv[1].rating_count, kv[0])) if m.rating_count]
    sat_rows.append(_satisfaction_row(_("All"), totals))
    tables["satisfaction"] = Table("satisfaction", _("Satisfaction per category"), [_("Category"), _("Ratings"), _("Average (1 to 5)"), _("Satisfied (4 or 5)")], sat_rows)
    return tables, totals


def _article_links(period: Period) -> list[tuple[str, str, int, int]]:
    """(article, title, tickets linked, of which resolved) for tickets opened in the period."""
    start = dt.datetime.combine(period.first, dt.time(), dt.timezone.utc)
    end = dt.datetime.combine(period.last + dt.timedelta(days=1), dt.time(), dt.timezone.utc)
    rows = db.session.execute(
        select(TicketArticleLink.article_ref, TicketArticleLink.article_title, Ticket.status)
        .join(Ticket, Ticket.id == TicketArticleLink.ticket_id)
        .where(Ticket.created_at >= start, Ticket.created_at < end)
    )
    counts: dict[str, list] = {}
    for ref, title, status in rows:
        entry = counts.setdefault(ref, [ref, title, 0, 0])
        entry[1] = entry[1] or title
        entry[2] += 1
        entry[3] += status in (Status.RESOLVED.value, Status.CLOSED.value)
    return sorted((tuple(v) for v in counts.values()), key=lambda v: (-v[2], v[0]))


def _unanswered_topics(period: Period, locale: str, no_result: list[tuple[str, str, int]], handovers: list[tuple[str, str]]):
    """Topics of the period's tickets that no agent linked to an article, together with the searches
    that found nothing, biggest first. Each item is weighted (a search by how often it was made)."""
    start = dt.datetime.combine(period.first, dt.time(), dt.timezone.utc)
    end = dt.datetime.combine(period.last + dt.timedelta(days=1), dt.time(), dt.timezone.utc)
    linked = select(TicketArticleLink.ticket_id)
    rows = db.session.execute(
        select(Ticket.subject, Ticket.reference)
        .where(Ticket.created_at >= start, Ticket.created_at < end, Ticket.id.not_in(linked), Ticket.merged_into_id.is_(None))
        .order_by(Ticket.created_at.desc())
        .limit(TOPIC_SAMPLE)
    ).all()
    items = [(subject, ("ticket", reference), 1) for subject, reference in rows]
    items += [(query, ("search", query), n) for _locale, query, n in no_result]
    items += [(question, ("handover", question), 1) for question, _locale in handovers]
    return cluster(items, locale)


def _topic_counts(topic) -> tuple[int, int, int]:
    """(tickets, searches with no result, assistant hand-overs) behind a topic."""
    tickets = sum(1 for kind, _ in topic.keys if kind == "ticket")
    handovers = sum(1 for kind, _ in topic.keys if kind == "handover")
    return tickets, topic.weight - tickets - handovers, handovers


# Deflection, precisely: a self-service visit is one signed-in user's UTC day with at least one
# knowledge-base search; it is deflected when that user opened no ticket that day or the next.
# Anonymous searches cannot be followed to a ticket and are counted apart.
DEFLECTION = _l("A visit is a signed-in user's day with at least one search of the help articles; it is deflected when that user opened no ticket that day or the next.")


# The tables of each part of the dashboard, so that a CSV export computes only the part it shows.
DEMAND_TABLES = ("weekly", "categories", "channels", "offices", "roles", "sla", "satisfaction_tiers", "satisfaction")
SELF_SERVICE_TABLES = ("articles", "no_result", "not_opened", "handovers", "topics", "unhelpful", "outdated", "deflection")
# What each self-service table needs; the recommendations need the evidence of all but the deflection.
_NEEDS = {
    "links": {"articles", "recommendations"},
    "gaps": {"no_result", "not_opened", "topics", "recommendations"},
    "handovers": {"handovers", "topics", "recommendations"},
    "topics": {"topics", "recommendations"},
    "unhelpful": {"unhelpful", "recommendations"},
    "outdated": {"outdated", "recommendations"},
    "deflection": {"deflection"},
}


def self_service_tables(tenant, period: Period, locale: str, wanted: set[str] | None = None) -> tuple[dict[str, Table], list[str], dict]:
    """The self-service tables, the sections whose source is missing and the evidence of the
    recommendations; with `wanted` (table keys), only what those tables need is read."""
    tables: dict[str, Table] = {}
    missing = []
    evidence: dict[str, Any] = {}

    def needed(part: str) -> bool:
        return wanted is None or bool(_NEEDS[part] & wanted)

    if needed("links"):
        links = _article_links(period)
        evidence["links"] = links
        tables["articles"] = Table(
            "articles",
            _("Tickets answered with an article"),
            [_("Article"), _("Title"), _("Tickets"), _("Resolved")],
            [list(row) for row in links],
            note=_("Articles that agents linked to a ticket as the answer: users did not find them or they did not help."),
        )
    if needed("gaps"):
        gaps = sources.search_gaps(period.first, period.last)
        if gaps is None:
            missing.append(_("Searches with no result or no article opened"))
        else:
            tables["no_result"] = Table("no_result", _("Top searches with no result"), [_("Language"), pgettext("the words searched for", "Search"), pgettext("how often", "Times")], [list(r) for r in gaps["no_result"]])
            tables["not_opened"] = Table("not_opened", _("Top searches where no article was opened"), [_("Language"), pgettext("the words searched for", "Search"), pgettext("how often", "Times")], [list(r) for r in gaps["not_opened"]])
    if needed("handovers"):
        handovers = sources.handover_questions(period.first, period.last)
        if handovers is None:
            missing.append(_("Assistant questions handed over to a person"))
        elif wanted is None or "handovers" in wanted:
            grouped = cluster([(q, q, 1) for q, _locale in handovers], tenant.default_locale)
            tables["handovers"] = Table("handovers", _("Assistant questions handed over to a person, by topic"), [_("Topic"), _("Questions"), _("Examples")],
                                        [[t.label, t.size, " · ".join(_distinct(t.texts))] for t in grouped])
    if needed("topics"):
        topics = [t for t in _unanswered_topics(period, tenant.default_locale, gaps["no_result"] if gaps else [], handovers or []) if t.weight >= MIN_TOPIC]
        evidence["topics"] = topics
        tables["topics"] = Table(
            "topics",
            _("Topics no article answers"),
            [_("Topic"), _("Tickets"), _("Searches with no result"), _("Assistant hand-overs"), _("Examples")],
            [[t.label, *_topic_counts(t), " · ".join(_distinct(t.texts))] for t in topics],
            note=_("Subjects of the period's tickets that no agent answered with an article, and searches that found nothing, grouped by similar words (at least %(n)s in all).", n=MIN_TOPIC),
        )
    if needed("unhelpful"):
        unhelpful = sources.unhelpful_articles(period.first, period.last)
        if unhelpful is None:
            missing.append(_("Articles rated not helpful"))
        else:
            titles = sources.article_titles(tenant, locale, [slug for slug, *_ in unhelpful])
            evidence["unhelpful"] = [(slug, titles.get(slug, slug), no, yes, comments) for slug, no, yes, comments in unhelpful]
            tables["unhelpful"] = Table("unhelpful", _("Articles rated not helpful"), [_("Article"), _("Title"), _("Not helpful"), _("Helpful"), _("Latest comments")],
                                        [[slug, title, no, yes, " · ".join(comments)] for slug, title, no, yes, comments in evidence["unhelpful"]])
    if needed("outdated"):
        outdated = sources.outdated_translations(tenant)
        if outdated is not None:
            evidence["outdated"] = outdated
            tables["outdated"] = Table("outdated", _("Outdated translations"), [_("Article"), _("Title"), _("Outdated languages")],
                                       [[slug, title, ", ".join(locales)] for slug, (title, locales) in sorted(outdated.items())])
    if needed("deflection"):
        flow = sources.deflection(period.first, period.last)
        if flow is None:
            missing.append(_("Deflection rate"))
        else:
            visits, deflected, anonymous = flow
            tables["deflection"] = Table("deflection", _("Deflection rate"), [_("Visits"), _("Without a ticket"), _("Deflection rate"), _("Anonymous searches (not counted)")],
                                         [[visits, deflected, _share(deflected, visits), anonymous]], note=str(DEFLECTION))
    return tables, missing, evidence


TOPIC_PROBES = 3  # a topic's texts put to the assistant, to see whether an article answers them


def _answering_article(tenant, topic):
    """The article that answers most of the topic's texts (at least half of those tried) with the
    assistant's confidence, or None: tickets no agent linked an article to and searches with no
    result may still be about something the knowledge base covers under other words."""
    if not tenant.settings.assistant.enabled:
        return None
    texts = tuple(_distinct(topic.texts, TOPIC_PROBES))
    names = sources.content_names(tenant)
    if names is None:
        return _ask_about(tenant, texts) or None
    # Every view of the dashboard and the report asks again: each process keeps the answer while
    # the articles and the settings are unchanged (None, a failure, is never kept).
    return versions.kept("insights_topic_answers", (tenant.id, texts), names, lambda: _ask_about(tenant, texts)) or None


def _ask_about(tenant, texts: tuple[str, ...]):
    """The article answering most of `texts` (see `_answering_article`), False if none, None if the
    assistant failed."""
    from portal.assistant.services import get_answerer

    threshold = tenant.settings.assistant.threshold
    votes: Counter = Counter()
    hits = {}
    for text in texts:
        try:
            found = get_answerer().answer(tenant, text)
        except Exception:  # a help to the recommendation, never a reason for the page to fail
            current_app.logger.exception("insights: the assistant failed on a topic text")
            return None
        if found.best is not None and not found.small_talk and found.confidence >= threshold:
            votes[found.best.slug] += 1
            hits.setdefault(found.best.slug, found.best)
    if not votes:
        return False
    slug, n = votes.most_common(1)[0]
    return hits[slug] if 2 * n >= len(texts) else False


def _train_recommendations(cells: dict, category_names: dict) -> list[Recommendation]:
    total = sum(m.tickets for m in cells.values())
    by_cat: Counter = Counter()
    by_group: Counter = Counter()
    for (office, role, cid), m in cells.items():
        by_cat[cid] += m.tickets
        by_group[(office, role)] += m.tickets
    recs = []
    for (office, role, cid), m in cells.items():
        if not office or m.tickets < MIN_TRAIN or cid is None:
            continue
        expected = by_group[(office, role)] * by_cat[cid] / total
        if m.tickets < TRAIN_RATIO * expected:
            continue
        category = category_names.get(cid, category_names[None])
        who = role or _("requesters")
        recs.append(Recommendation(
            "train",
            _("Train %(role)s in %(office)s on %(category)s", role=who, office=office, category=category),
            _("%(n)s tickets on %(category)s from %(role)s in %(office)s where the country's average predicts %(expected)s (%(ratio)s times as many).",
              n=m.tickets, category=category, role=who, office=office, expected=format_decimal(expected, "0.0"),
              ratio=format_decimal(m.tickets / expected, "0.0")),
            round(m.tickets - expected, 1),
            "offices",
        ))
    return recs


def recommendations(tenant, evidence: dict, cells: dict, category_names: dict) -> list[Recommendation]:
    """The ranked actions; see the module docstring for the scoring."""
    recs = []
    for t in evidence["topics"]:
        tickets_n, searches_n, handovers_n = _topic_counts(t)
        counts = format_list([ngettext("%(num)d ticket", "%(num)d tickets", tickets_n),
                              ngettext("%(num)d search with no result", "%(num)d searches with no result", searches_n),
                              ngettext("%(num)d assistant hand-over", "%(num)d assistant hand-overs", handovers_n)], locale=get_locale())
        found = _answering_article(tenant, t)
        if found is not None:  # the answer exists: its readers did not reach it, so writing another would not help
            recs.append(Recommendation(
                "update", _("Make the article “%(title)s” easier to find", title=found.title),
                _("%(counts)s on “%(topic)s”, which this article seems to answer: add the words people used (below) to it, "
                  "and show it to the agents who answer these tickets.", counts=counts, topic=t.label),
                t.weight, "topics", link=found.url, examples=_distinct(t.texts)))
            continue
        recs.append(Recommendation("write", _("Write an article about “%(topic)s”", topic=t.label),
                                   _("%(counts)s on this topic; no article answered them.", counts=counts),
                                   t.weight, "topics", examples=_distinct(t.texts)))
    # One update recommendation per article, adding up every sign that it fails its readers.
    articles: dict[str, dict] = {}
    for ref, title, n, _resolved in evidence["links"]:
        slug = ref.rstrip("/").rsplit("/", 1)[-1]
        entry = articles.setdefault(slug, {"title": title or slug, "links": 0, "no": 0, "outdated": [], "comments": [], "ref": ref})
        entry["links"] += n
    for slug, title, no, _yes, comments in evidence.get("unhelpful", []):
        entry = articles.setdefault(slug, {"title": title, "links": 0, "no": 0, "outdated": [], "comments": [], "ref": None})
        entry.update(no=no, comments=comments)
        if title != slug:
            entry["title"] = title
    for slug, (title, locales) in (evidence.get("outdated") or {}).items():
        if slug in articles or len(locales):
            entry = articles.setdefault(slug, {"title": title, "links": 0, "no": 0, "outdated": [], "comments": [], "ref": None})
            entry["outdated"] = locales
    for slug, e in articles.items():
        score = e["links"] + e["no"] + len(e["outdated"])
        if score < MIN_LINKS:
            continue
        parts = []
        if e["no"]:
            parts.append(ngettext("%(num)s reader rated it not helpful", "%(num)s readers rated it not helpful", e["no"]))
        if e["links"]:
            parts.append(ngettext("%(num)s ticket was answered with it (users did not find it or it did not help)",
                                  "%(num)s tickets were answered with it (users did not find it or it did not help)", e["links"]))
        if e["outdated"]:
            parts.append(_("its translation is outdated in %(locales)s", locales=", ".join(e["outdated"])))
        link = e["ref"] if e["ref"] and e["ref"].startswith(("/", "http")) else sources.article_path(tenant, slug)
        recs.append(Recommendation("update", _("Update the article “%(title)s”", title=e["title"]), "; ".join(parts) + ".", score,
                                   "unhelpful" if e["no"] else "articles", link=link, examples=_distinct(e["comments"])))
    recs += _train_recommendations(cells, category_names)
    recs.sort(key=lambda r: (-r.score, KIND_ORDER[r.kind], r.action))
    return recs


def tenant_dashboard(tenant, actor: User, period: Period, locale: str, only: str | None = None) -> Dashboard:
    """Everything the insights page of `tenant` shows for `period` (session scoped to the tenant).

    With `only` (a table key, for its CSV export), just that table is computed, the very same way: the
    dashboard's `tables` then holds it alone (or nothing, for an unknown key or a missing source), and
    `missing` and `totals` are left empty."""
    if Permission.INSIGHTS_VIEW not in permissions_in(actor, tenant):
        raise InsightsError(_("You do not have permission to see this page."), 403)
    wanted = None if only is None else {only}
    tables: dict[str, Table] = {}
    totals = Measures()
    facts = None
    names = None
    if wanted is None or wanted & (set(DEMAND_TABLES) | {"recommendations"}):
        names = _category_names(locale)
        facts = gather(period.first, period.last)
    if wanted is None or wanted & set(DEMAND_TABLES):
        prev = period.previous()
        tables, totals = demand_tables(period, names, facts, gather(prev.first, prev.last, people=False, times=False))
    missing: list[str] = []
    recs: list[Recommendation] = []
    if wanted is None or wanted & (set(SELF_SERVICE_TABLES) | {"recommendations"}):
        more, missing, evidence = self_service_tables(tenant, period, locale, wanted)
        tables.update(more)
        if wanted is None or "recommendations" in wanted:
            cells = facts.by("office", "role", "category_id")
            recs = recommendations(tenant, evidence, cells, names)
            tables["recommendations"] = Table(
                "recommendations", _("Recommendations"), [_("Rank"), _("Action"), _("Kind"), _("Evidence"), _("Score")],
                [[i + 1, r.action, r.kind_label, r.evidence, r.score] for i, r in enumerate(recs)],
            )
    if wanted is not None:
        tables = {key: table for key, table in tables.items() if key in wanted}
        missing = []
    return Dashboard(period, tables, recs, missing, totals)


def expert_dashboard(actor: User, period: Period, locale: str) -> Dashboard:
    """The same demand figures across every tenant, plus one row per tenant (central team only)."""
    from portal.tenancy.models import Tenant

    with across_tenants(db.session, actor):
        cats = db.session.scalars(select(Category)).all()
        key_of = {c.id: c.key for c in cats}
        names: dict[Any, str] = {None: _("No category")}
        for c in cats:
            names.setdefault(c.key, c.name(locale))
        prev = period.previous()
        facts, previous_facts = gather(period.first, period.last), gather(prev.first, prev.last, people=False, times=False)
        demand, totals = demand_tables(period, names, facts, previous_facts, category_key=lambda cid: key_of.get(cid))
        tenants = {t.id: t.name for t in db.session.scalars(select(Tenant))}
        now, before = facts.by("tenant_id"), previous_facts.by("tenant_id")
    rows = []
    for tid, name in sorted(tenants.items(), key=lambda kv: kv[1]):
        m = now.get((tid,), Measures())
        rows.append([name, m.tickets, before.get((tid,), Measures()).tickets, _share(m.sla_met, m.tickets),
                     format_decimal(m.rating_average, "0.00") if m.rating_count else "–"])
    tables = {"tenants": Table("tenants", _("Countries"), [_("Country"), _("Tickets"), _("Previous period"), _("Within targets"), _("Average rating")], rows,
                               charts.bar_chart("chart-tenants", _("Tickets per country"), _("Tickets per country in the period."), [(r[0], r[1]) for r in rows]))}
    expert = _expert_support_table(actor, period, tenants)
    missing = [] if expert is not None else [_("Expert support")]
    return Dashboard(period, tables | ({"expert_support": expert} if expert else {}) | demand, [], missing, totals)


def _expert_support_table(actor: User, period: Period, tenants: dict[int, str]) -> Table | None:
    """Level 3's own figures per country: the escalations made in the period and how the central
    team answered them, and what is with it now."""
    prev = period.previous()
    with across_tenants(db.session, actor):
        now, before, open_now = (sources.expert_support(period.first, period.last), sources.expert_support(prev.first, prev.last),
                                 sources.open_with_experts())
    if now is None or before is None or open_now is None:
        return None
    rows = []
    for tid, name in sorted(tenants.items(), key=lambda kv: kv[1]):
        m = now.get(tid, sources.ExpertSupport())
        rows.append([name, m.escalated, before.get(tid, sources.ExpertSupport()).escalated, _share(m.answered, m.escalated),
                     _hours(statistics.median(m.first_answer_hours) if m.first_answer_hours else None),
                     _share(m.met, m.with_target), m.sent_back, open_now.get(tid, 0)])
    return Table(
        "expert_support", _("Expert support (Level 3)"),
        [_("Country"), _("Escalated to Level 3"), _("Previous period"), _("Answered by an expert"), _("Median hours to the first expert answer"),
         _("Within the Level 3 target"), _("Sent back to Level 2"), _("With the experts now")],
        rows,
        charts.bar_chart("chart-expert-support", _("Escalations per country"), _("Escalations to Level 3 per country in the period."), [(r[0], r[1]) for r in rows]),
        note=_("Escalations are counted in the period they were made. Hours are clock hours from the escalation to the first expert answer; "
               "the target share counts the escalations that ended, or passed their target, in time. “With the experts now” is today's count, whatever the period."),
    )


def link_article(tenant, actor: User, ticket: Ticket, article_ref: str, article_title: str = "") -> TicketArticleLink:
    """Record (or replace) the article that answers `ticket`, set by a member of the support team."""
    if Permission.TICKETS_WORK not in permissions_in(actor, tenant):
        raise InsightsError(_("Only the support team can link articles to tickets."), 403)
    ref = (article_ref or "").strip()
    if not ref:
        raise InsightsError(_("Give the address or the name of the article."), 422)
    found = find_article(tenant, ref, ticket.locale or tenant.default_locale)
    if found is not None:  # one reference per article, however it was given, so insights count it once
        ref, article_title = found.url, found.title
    elif ref.startswith(("/", "http://", "https://")) or "/kb/" in ref:
        raise InsightsError(_("No article of %(country)s is at this address. Choose one from the list, or give the name of an article still to write.", country=tenant.name), 422)
    link = db.session.scalar(select(TicketArticleLink).where(TicketArticleLink.ticket_id == ticket.id))
    if link is None:
        link = TicketArticleLink(tenant_id=tenant.id, ticket_id=ticket.id)
        db.session.add(link)
    link.article_ref = ref[:300]
    link.article_title = (article_title or "").strip()[:300]
    link.linked_by_id = actor.id
    link.created_at = utcnow()
    db.session.commit()
    return link


def find_article(tenant, ref: str, locale: str):
    """The tenant's article `ref` names, read for staff in `locale`: by its address (the path, or a
    whole URL, with or without a query), its address name, or its title (any case); else None."""
    from portal.kb import services as kb

    try:
        path = urlsplit(ref.strip()).path.rstrip("/")
    except ValueError:  # not an address at all ("http://[broken"): perhaps a title
        path = ""
    prefix = f"/{tenant.slug}/kb/articles/"
    slug = path[len(prefix):] if path.startswith(prefix) else path if "/" not in path else ""
    if slug and (article := kb.get_article(tenant, slug, locale, audience=kb.Audience.STAFF)) is not None:
        return article
    wanted = " ".join(ref.split()).casefold()
    for code in dict.fromkeys([locale, *tenant.locales]):
        # Titles from the search documents (one query), not from every article built.
        for listed in kb.reading_list(tenant, code, audience=kb.Audience.STAFF):
            if " ".join(listed.title.split()).casefold() == wanted:
                return kb.get_article(tenant, listed.slug, code, audience=kb.Audience.STAFF)
    return None


def article_titles(tenant, *locales: str) -> list[str]:
    """The titles of the tenant's articles as support staff read them in each of `locales` (the
    agent's language and the request's), for the form's list."""
    from portal.kb import services as kb

    return sorted({title for locale in dict.fromkeys(filter(None, locales))
                   for title in kb.article_titles(tenant, locale, audience=kb.Audience.STAFF)}, key=str.casefold)


@dataclass(frozen=True)
class Suggestion:
    title: str
    url: str


SUGGESTIONS = 3
# What the assistant reads of a request: its subject and the start of its first message (a long mail
# or a chat transcript says what it is about early; the rest would only slow the answer).
SUGGESTION_TEXT = 1500


def suggested_articles(tenant, ticket: Ticket, linked: str | None = None) -> list[Suggestion]:
    """The articles the assistant finds for `ticket` (its subject and first message, in its
    language), best first, for the agent to check and link: whatever the assistant's confidence,
    since an agent reads them, not the requester. None when the country's assistant is off, or
    for the article already linked (`linked`, its address)."""
    if not tenant.settings.assistant.enabled:
        return []
    from portal.assistant.services import get_answerer
    from portal.tickets.models import Message

    first = db.session.scalar(select(Message.body).where(Message.ticket_id == ticket.id, Message.is_public.is_(True))
                              .order_by(Message.created_at, Message.id).limit(1))
    text = f"{ticket.subject}\n{first or ''}"[:SUGGESTION_TEXT].strip()
    if not text:
        return []

    def ask() -> tuple[Suggestion, ...] | None:
        try:
            found = get_answerer().answer(tenant, text, lang=ticket.locale or None)
        except Exception:  # suggestions are a help: a failing answerer must not take the ticket page down
            current_app.logger.exception("article suggestions failed for ticket %s", ticket.reference)
            return None
        return () if found.small_talk else tuple(Suggestion(hit.title, hit.url) for hit in found.hits[:SUGGESTIONS + 1])

    # The page is opened again and again while the ticket is worked: each process keeps the
    # suggestions for the same text while the articles and settings are unchanged.
    names = sources.content_names(tenant)
    hits = ask() if names is None else versions.kept("ticket_suggestions", (tenant.id, ticket.locale, text), names, ask)
    return [hit for hit in hits or () if hit.url != linked][:SUGGESTIONS]


def article_link_of(ticket: Ticket) -> TicketArticleLink | None:
    return db.session.scalar(select(TicketArticleLink).where(TicketArticleLink.ticket_id == ticket.id))
