"""Insights pages: the tenant dashboard, the printable monthly report, CSV exports, the cross-tenant
view for the central team, and the form that links a ticket to the article that answers it."""
from __future__ import annotations

import csv
import io

from flask import Blueprint, Flask, Response, flash, g, redirect, render_template, request, url_for
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.auth.loaders import require
from portal.auth.permissions import Permission
from portal.core.errors import error_response
from portal.core.spreadsheet import safe_cell
from portal.insights import models  # noqa: F401  (models for the metadata)
from portal.insights import services
from portal.insights.forms import ArticleLinkForm
from portal.tickets.services import get_ticket_by_reference

bp = Blueprint("insights", __name__, template_folder="templates")


def register(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.context_processor
    def _article_link_helpers():
        # Used by the ticket page (tickets/detail.html): the article an agent links to the ticket.
        return {"ticket_article_link": _ticket_article_link}


def _ticket_article_link(ticket) -> dict:
    """What insights/_ticket_article_link.html needs for `ticket`: the current link and the form."""
    link = services.article_link_of(ticket)
    suggestions = services.suggested_articles(g.tenant, ticket, linked=link.article_ref if link else None)
    return {"link": link, "form": ArticleLinkForm(formdata=None, obj=link), "suggestions": suggestions}


def _locale() -> str:
    return str(get_locale() or "en")


def _period():
    return services.parse_period(request.args.get("start"), request.args.get("end"))


def _csv(table: services.Table, name: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(table.columns)
    writer.writerows([safe_cell(value) for value in row] for row in table.rows)
    return Response(out.getvalue(), mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


@bp.errorhandler(services.InsightsError)
def _insights_error(error: services.InsightsError):
    return error_response(error.code, error.message)


@bp.get("/<tenant>/insights/")
@require(Permission.INSIGHTS_VIEW)
def dashboard():
    period = _period()
    board = services.tenant_dashboard(g.tenant, current_user, period, _locale())
    return render_template("insights/dashboard.html", board=board, export_endpoint="insights.export")


@bp.get("/<tenant>/insights/export/<table>.csv")
@require(Permission.INSIGHTS_VIEW)
def export(table: str):
    board = services.tenant_dashboard(g.tenant, current_user, _period(), _locale(), only=table)
    if table not in board.tables:
        return error_response(404)
    return _csv(board.tables[table], f"{g.tenant.slug}-{table}-{board.period.first}-{board.period.last}")


@bp.get("/<tenant>/insights/report")
@require(Permission.INSIGHTS_VIEW)
def report():
    period = services.parse_month(request.args.get("month"))
    board = services.tenant_dashboard(g.tenant, current_user, period, _locale())
    return render_template("insights/report.html", board=board, month=format_date(period.first, "LLLL y"), month_value=period.first.strftime("%Y-%m"))


@bp.route("/<tenant>/insights/tickets/<reference>/article", methods=["GET", "POST"])
@require(Permission.TICKETS_WORK)
def link_article(reference: str):
    ticket = get_ticket_by_reference(g.tenant, reference)
    if ticket is None:
        return error_response(404)
    link = services.article_link_of(ticket)
    form = ArticleLinkForm(obj=None if request.method == "POST" else link)
    if form.validate_on_submit():
        services.link_article(g.tenant, current_user, ticket, form.article_ref.data, form.article_title.data)
        flash(_("The article is linked to %(reference)s.", reference=ticket.reference), "success")
        return redirect(url_for("tickets.detail", reference=ticket.reference))
    return render_template("insights/article_link.html", ticket=ticket, link=link, form=form, titles=services.article_titles(g.tenant, _locale(), ticket.locale)), 422 if form.errors else 200


@bp.get("/expert/insights")
@login_required
def expert():
    if not current_user.can_cross_tenants:
        return error_response(403)
    board = services.expert_dashboard(current_user, _period(), _locale())
    return render_template("insights/dashboard.html", board=board, export_endpoint="insights.expert_export", expert=True)


@bp.get("/expert/insights/export/<table>.csv")
@login_required
def expert_export(table: str):
    if not current_user.can_cross_tenants:
        return error_response(403)
    board = services.expert_dashboard(current_user, _period(), _locale())
    if table not in board.tables:
        return error_response(404)
    return _csv(board.tables[table], f"all-countries-{table}-{board.period.first}-{board.period.last}")
