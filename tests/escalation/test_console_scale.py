"""The central pages read a fixed number of statements, however many problems, links, releases and
escalations there are (no query per row)."""
from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

from sqlalchemy import event, insert, select

from portal.core.db import db
from portal.escalation import views
from portal.escalation.models import Problem, ProblemTicket, Release, ReleaseFix, TierStep

PAGES = ("/expert/", "/expert/?status=all", "/expert/?status=resolved", "/expert/problems", "/expert/upgrades")


@contextmanager
def statements(app):
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _statements_per_page(app, client, paths) -> dict[str, int]:
    counts = {}
    for path in paths:
        assert client.get(path).status_code == 200  # warm: the first request of a kind loads more
        with statements(app) as seen:
            assert client.get(path).status_code == 200
        counts[path] = len(seen)
    return counts


def _add_problems(app, steps: list[int], n: int, first_version: int) -> list[int]:
    """n problems, each linked to every escalated ticket given and fixed by a release of its own."""
    ids = []
    with app.app_context():
        links = db.session.execute(select(TierStep.tenant_id, TierStep.ticket_id).where(TierStep.id.in_(steps)).execution_options(across_tenants=True)).all()
        for i in range(n):
            problem_id = db.session.execute(insert(Problem.__table__).values(title=f"Defect {first_version + i}").returning(Problem.__table__.c.id)).scalar()
            release_id = db.session.execute(
                insert(Release.__table__).values(version=f"9.{first_version + i}.0", released_on=dt.date(2030, 1, 1), notes="").returning(Release.__table__.c.id)
            ).scalar()
            db.session.execute(insert(ReleaseFix.__table__).values(release_id=release_id, problem_id=problem_id))
            for tenant_id, ticket_id in links:
                db.session.execute(insert(ProblemTicket.__table__).values(tenant_id=tenant_id, problem_id=problem_id, ticket_id=ticket_id))
            ids.append(problem_id)
        db.session.commit()
    return ids


def test_the_central_pages_do_not_query_per_problem_link_or_escalation(app, client, auth, staff, to_l3):
    steps = [to_l3()[1], to_l3("kalondo")[1]]
    [problem_id] = _add_problems(app, steps, 1, first_version=0)
    auth.login(staff["expert"], tenant=None)
    paths = (*PAGES, f"/expert/problems/{problem_id}")
    few = _statements_per_page(app, client, paths)

    steps += [to_l3()[1], to_l3(subject="Certificate preview is blank")[1], to_l3("kalondo")[1]]
    _add_problems(app, steps, 6, first_version=1)
    with app.app_context():  # the first problem gets the new tickets too
        for tenant_id, ticket_id in db.session.execute(select(TierStep.tenant_id, TierStep.ticket_id).where(TierStep.id.in_(steps[2:])).execution_options(across_tenants=True)).all():
            db.session.execute(insert(ProblemTicket.__table__).values(tenant_id=tenant_id, problem_id=problem_id, ticket_id=ticket_id))
        db.session.commit()
    many = _statements_per_page(app, client, paths)
    assert many == few


def test_a_problem_page_lists_the_most_recent_tickets_and_counts_every_one(app, client, auth, staff, to_l3, monkeypatch):
    references, steps = zip(*(to_l3() for _ in range(3)))
    [problem_id] = _add_problems(app, list(steps), 1, first_version=0)
    auth.login(staff["expert"], tenant=None)
    monkeypatch.setattr(views, "PROBLEM_LINKS_SHOWN", 2)
    page = client.get(f"/expert/problems/{problem_id}").get_data(as_text=True)
    assert sum(ref in page for ref in references) == 2 and f'/expert/problems/{problem_id}?links=all">All (3)</a>' in page
    page = client.get(f"/expert/problems/{problem_id}?links=all").get_data(as_text=True)
    assert all(ref in page for ref in references) and "All (3)</a>" not in page
