"""Escalation pages: a ticket's tiers (inside a tenant), the tenant's deployed version, and the central
console at `/expert/` (outside every tenant); plus the escalation API."""
from __future__ import annotations

from functools import wraps
from types import EllipsisType

from flask import Blueprint, Flask, abort, flash, g, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.api.helpers import ApiError, api_caller, int_query_arg, json_body, ok, query_arg, register_api_errors
from portal.auth.loaders import can, require
from portal.auth.permissions import Permission
from portal.core.db import db, row_id
from portal.core.errors import error_response
from portal.core.security import keeps_raw_body
from portal.escalation import central, forms, models, notify, services  # noqa: F401  (notify connects subscribers)
from portal.escalation.models import ProblemStatus, Severity
from portal.extensions import csrf, login_manager
from portal.tickets import services as tickets
from portal.tickets.models import Tier
from portal.tickets.storage import AttachmentRejected, open_stored

bp = Blueprint("escalation", __name__, template_folder="templates")
api = Blueprint("escalation_api", __name__)
register_api_errors(api)
csrf.exempt(api)  # bearer tokens only, never cookies

ESCALATION_TEXT_FIELDS = ("reason", "severity", "opencrvs_version", "environment", *services.DETAIL_TEXT_FIELDS)
MAX_PAGE = 100_000  # beyond it, the row offset would not fit the database's integers
PROBLEM_LINKS_SHOWN = 200  # a problem's page lists its most recent tickets; ?links=all lists every one
NOBODY = "none"  # the owner form's value for nobody, as the API's `owner=none`


def register(app: Flask) -> None:
    app.register_blueprint(bp)
    app.register_blueprint(api)
    app.add_template_global(_release_notice, "release_notice")
    app.add_template_global(_ticket_tiers, "ticket_tiers")
    app.add_template_global(services.tier_label, "tier_label")
    app.add_template_filter(services.mask_text, "mask_contact")


def _ticket_tiers(ticket) -> dict:
    """For the ticket page (staff): the ticket's tiers with their service levels, who handles it on
    the central team while it is there, the way up or down (both lead to this domain's forms), the
    central team's answers still to relay, and the central problems the ticket is linked to, read
    against the version the country runs."""
    tenant = g.tenant
    step = services.current_l3_step(ticket)
    return dict(
        history=services.tier_history(tenant, ticket),
        central_owner=services.owner_of(step, ticket) if step is not None else None,
        next_tier=services.next_tier(ticket),
        previous_tier=services.previous_tier(ticket),
        can_escalate=services.can_escalate(tenant, current_user, ticket),
        can_deescalate=services.can_deescalate(tenant, current_user, ticket),
        to_relay=sum(1 for r in services.expert_replies(tenant, ticket) if r.relayed_message_id is None),
        problems=services.ticket_problems(tenant, ticket),
    )


def _release_notice(tenant):
    """Releases newer than the tenant's version, for its administrators' home page."""
    if tenant is None or not can(Permission.TENANT_MANAGE):
        return []
    return central.releases_newer_than(tenant)


def _files(field: str = "attachments"):
    return [(f.filename, f.stream) for f in request.files.getlist(field) if f and f.filename]


def _fail(form, exc: services.EscalationError | tickets.TicketError | AttachmentRejected):
    message = getattr(exc, "message", str(exc))
    for name, text in getattr(exc, "fields", {}).items():
        if form is not None and name in form:
            form[name].errors = list(form[name].errors) + [text]
    flash(message, "error")
    return getattr(exc, "code", 422)


# -- inside a tenant: a ticket's tiers ---------------------------------------------------------------


def _ticket_or_404(reference: str):
    ticket = tickets.get_ticket_by_reference(g.tenant, reference)
    if ticket is None:
        abort(404)
    return ticket


def _relay_forms(replies, failed=None):
    """One form per answer, its box filled in with the answer for L2 to edit or send as it is; `failed`
    is (reply id, submitted form) when a relay was refused: what was typed is kept with the error."""
    relay_forms = {r.id: forms.RelayForm(formdata=None, prefix=f"relay{r.id}", data={"body": r.message.body}) for r in replies}
    if failed is not None and failed[0] in relay_forms:
        reply_id, form = failed
        if not (form.body.data or "").strip():  # emptied: the answer again, to start from
            form.body.data = relay_forms[reply_id].body.data
        relay_forms[reply_id] = form
    return relay_forms


def _ticket_page(ticket, escalate_form=None, back_form=None, status=200, relay_failed=None):
    tenant = g.tenant
    if escalate_form is None:
        escalate_form = forms.EscalateForm(prefix="up")
        for name, value in services.details_so_far(tenant, ticket).items():
            if name in escalate_form and name not in ("reason", "attachments"):
                escalate_form[name].data = value
        escalate_form.opencrvs_version.data = escalate_form.opencrvs_version.data or ticket.opencrvs_version or tenant.opencrvs_version
    replies = services.expert_replies(tenant, ticket)
    context = dict(
        ticket=ticket,
        history=services.tier_history(tenant, ticket),
        next_tier=services.next_tier(ticket),
        previous_tier=services.previous_tier(ticket),
        can_escalate=services.can_escalate(tenant, current_user, ticket),
        can_deescalate=services.can_deescalate(tenant, current_user, ticket),
        escalate_form=escalate_form,
        back_form=back_form or forms.DeescalateForm(prefix="down"),
        replies=replies,
        relay_forms=_relay_forms(replies, relay_failed),
        can_relay=can(Permission.TICKETS_ESCALATE_L3),
        details_summary=services.details_summary,
    )
    return render_template("escalation/ticket.html", **context), status


@bp.get("/<tenant>/tickets/<reference>/escalation")
@require(Permission.TICKETS_WORK)
def ticket(reference: str):
    return _ticket_page(_ticket_or_404(reference))


@bp.post("/<tenant>/tickets/<reference>/escalation/up")
@require(Permission.TICKETS_WORK)
def escalate(reference: str):
    ticket = _ticket_or_404(reference)
    form = forms.EscalateForm(prefix="up")
    if not form.validate_on_submit():
        return _ticket_page(ticket, escalate_form=form, status=422)
    data = {name: form[name].data for name in ("reason", "severity", "opencrvs_version", "country_config_version", "environment", "device", "os", "browser", "steps", "expected", "actual", "impact", "regression")}
    try:
        step = services.escalate_ticket(g.tenant, current_user, ticket, data, _files("up-attachments"))
    except (services.EscalationError, tickets.TicketError, AttachmentRejected) as exc:
        return _ticket_page(ticket, escalate_form=form, status=_fail(form, exc))
    now_with = _("The ticket is now with %(tier)s.", tier=services.tier_label(step.to_tier))
    if step.to_tier == Tier.L2.value:  # the words the ticket page's "Hand to Level 2" always answered with
        now_with = _("%(reference)s is handed to Level 2.", reference=ticket.reference) + " " + now_with
    flash(now_with, "success")
    return redirect(url_for("escalation.ticket", reference=ticket.reference))


@bp.post("/<tenant>/tickets/<reference>/escalation/down")
@require(Permission.TICKETS_WORK)
def deescalate(reference: str):
    ticket = _ticket_or_404(reference)
    form = forms.DeescalateForm(prefix="down")
    if not form.validate_on_submit():
        return _ticket_page(ticket, back_form=form, status=422)
    try:
        step = services.deescalate_ticket(g.tenant, current_user, ticket, form.reason.data)
    except services.EscalationError as exc:
        return _ticket_page(ticket, back_form=form, status=_fail(form, exc))
    flash(_("The ticket is back with %(tier)s.", tier=services.tier_label(step.to_tier)), "success")
    return redirect(url_for("escalation.ticket", reference=ticket.reference))


@bp.post("/<tenant>/tickets/<reference>/escalation/relay/<int:reply_id>")
@require(Permission.TICKETS_ESCALATE_L3)
def relay(reference: str, reply_id: int):
    ticket = _ticket_or_404(reference)
    form = forms.RelayForm(prefix=f"relay{reply_id}")
    if not form.validate_on_submit():
        return _ticket_page(ticket, status=422, relay_failed=(reply_id, form))
    try:
        services.relay_expert_reply(g.tenant, current_user, ticket, reply_id, form.body.data)
    except (services.EscalationError, tickets.TicketError) as exc:
        if exc.code == 404:
            abort(404)
        return _ticket_page(ticket, status=_fail(form, exc), relay_failed=(reply_id, form))
    flash(_("The answer was sent to the requester."), "success")
    return redirect(url_for("escalation.ticket", reference=ticket.reference))


# -- inside a tenant: the deployed version ---------------------------------------------------------


@bp.route("/<tenant>/deployment", methods=["GET", "POST"])
@require(Permission.TENANT_MANAGE)
def deployment():
    tenant = g.tenant
    form = forms.DeploymentForm()
    status = 200
    if request.method == "GET":
        form.version.data = tenant.opencrvs_version
    elif form.validate_on_submit():
        try:
            row = services.report_deployment(tenant, current_user, form.version.data, "admin")
        except services.EscalationError as exc:
            status = _fail(form, exc)
        else:
            if row is None:
                flash(_("The version was already %(version)s.", version=tenant.opencrvs_version), "info")
            else:
                flash(_("%(country)s now runs OpenCRVS %(version)s.", country=tenant.name, version=row.version), "success")
            return redirect(url_for("escalation.deployment"))
    else:
        status = 422
    releases = central.releases_newer_than(tenant)
    return render_template("escalation/deployment.html", form=form, history=services.deployment_history(tenant), releases=releases,
                           fixes=services.upgrade_fixes(tenant, releases)), status


# -- the central console (outside every tenant) ----------------------------------------------------


def expert_only(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.is_expert:
            return error_response(403)
        return view(*args, **kwargs)

    return wrapped


def _filters(args) -> central.EscalationFilters:
    return central.EscalationFilters(
        tenant=args.get("tenant") or None,
        severity=args.get("severity") if args.get("severity") in {s.value for s in Severity} else None,
        status=args.get("status") if args.get("status") in central.CONSOLE_STATUSES else "open",
        q=(args.get("q") or "").strip()[:200] or None,
        sort=args.get("sort") if args.get("sort") in central.CONSOLE_ORDERS else "due",
        owner=args.get("owner") if args.get("owner") in central.CONSOLE_OWNERS else None,
        news=args.get("news") == "1",
    )


def _page_arg() -> int:
    return min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)


@bp.get("/expert/")
@expert_only
def console():
    filters = _filters(request.args)
    page = _page_arg()
    counts = central.console_counts(current_user)
    rows, total = central.list_escalations(current_user, filters, page=page, per_page=50, counts=counts)
    return render_template(
        "escalation/console.html", rows=rows, total=total, page=page, per_page=50, filters=filters,
        counts=counts, tenants=central.list_tenants(), severities=list(Severity),
    )


def _escalation_or_404(step_id: int):
    row = central.get_escalation(current_user, step_id)
    if row is None:
        abort(404)
    return row


def _expert_page(row, reply_form=None, back_form=None, status=200):
    similar, matching = central.suggest_duplicates(current_user, row)
    link_form = forms.LinkProblemForm()
    link_form.problem_id.choices = [(p.id, f"#{p.id} {p.title}") for p in central.problems_for_select(current_user)]
    # No title from the ticket's subject: the title goes to every country the problem touches
    # (their notes and mails), and a subject may name the requester or their office.
    problem_form = forms.ProblemForm(formdata=None, step_id=str(row.step.id), severity=row.step.severity or "")
    # Always as the escalation is now: after a refused change, the page shows who owns it meanwhile.
    owner = row.owner
    owner_form = forms.OwnerForm(formdata=None, seen=str(owner.id) if owner is not None else NOBODY)
    # Whom to hand it to: the central team but its owner and the reader (who has "Take" for that).
    not_listed = (current_user.id, owner.id if owner is not None else None)
    owner_form.owner.choices = [(str(u.id), u.display_name) for u in central.experts_for_select(current_user) if u.id not in not_listed]
    return render_template(
        "escalation/expert_ticket.html", view=central.expert_view(current_user, row), row=row, owner=owner, owner_form=owner_form,
        reply_form=reply_form or forms.ExpertReplyForm(), back_form=back_form or forms.DeescalateForm(prefix="down"),
        link_form=link_form, problem_form=problem_form, similar=similar, matching=matching,
    ), status


@bp.get("/expert/escalations/<int:step_id>")
@expert_only
def expert_ticket(step_id: int):
    return _expert_page(_escalation_or_404(step_id))


@bp.get("/expert/escalations/<int:step_id>/files/<int:attachment_id>")
@expert_only
def expert_file(step_id: int, attachment_id: int):
    attachment = central.expert_attachment(current_user, step_id, attachment_id)
    if attachment is None:
        abort(404)
    return send_file(open_stored(attachment.storage_path), mimetype=attachment.content_type, as_attachment=True, download_name=attachment.filename)


@bp.post("/expert/escalations/<int:step_id>/reply")
@expert_only
def expert_reply(step_id: int):
    row = _escalation_or_404(step_id)
    form = forms.ExpertReplyForm()
    if not form.validate_on_submit():
        return _expert_page(row, reply_form=form, status=422)
    try:
        central.reply_to_l2(current_user, step_id, form.body.data, _files())
    except (services.EscalationError, AttachmentRejected) as exc:
        return _expert_page(row, reply_form=form, status=_fail(form, exc))
    flash(_("Your answer was sent to the Level 2 team of %(country)s.", country=row.tenant.name), "success")
    return redirect(url_for("escalation.expert_ticket", step_id=step_id))


@bp.post("/expert/escalations/<int:step_id>/return")
@expert_only
def expert_return(step_id: int):
    row = _escalation_or_404(step_id)
    form = forms.DeescalateForm(prefix="down")
    if not form.validate_on_submit():
        return _expert_page(row, back_form=form, status=422)
    try:
        central.return_to_l2(current_user, step_id, form.reason.data)
    except services.EscalationError as exc:
        return _expert_page(row, back_form=form, status=_fail(form, exc))
    flash(_("The ticket is back with the Level 2 team of %(country)s.", country=row.tenant.name), "success")
    return redirect(url_for("escalation.console"))


def _person(value: str | None) -> int | None | EllipsisType:
    """A person in the owner form: None for nobody, a user's id, or ... when it names neither."""
    if value == NOBODY:
        return None
    number = row_id(value)
    return ... if number is None else number


@bp.post("/expert/escalations/<int:step_id>/owner")
@expert_only
def expert_owner(step_id: int):
    """Take the escalation (`owner` is the reader's id), hand it to a colleague (theirs), or release
    it (`none`); `seen` is whom it was with on the page the form was sent from."""
    row = _escalation_or_404(step_id)
    reference = row.ticket.reference  # read now: the change commits, and the ticket is read again only in its country
    form = forms.OwnerForm()
    owner_id = _person(form.owner.data)
    if not form.validate_on_submit() or owner_id is ...:
        flash(_("Choose a member of the central team."), "error")
        return _expert_page(row, status=422)
    try:
        owner = central.set_escalation_owner(current_user, step_id, owner_id, seen_owner_id=_person(form.seen.data) if form.seen.data else ...)
    except services.EscalationError as exc:
        flash(exc.message, "error")
        return _expert_page(_escalation_or_404(step_id), status=exc.code)
    if owner is None:
        flash(_("Nobody owns %(reference)s now.", reference=reference), "success")
    elif owner.id == current_user.id:
        flash(_("You own %(reference)s now.", reference=reference), "success")
    else:
        flash(_("%(reference)s is handed to %(name)s.", reference=reference, name=owner.display_name), "success")
    return redirect(url_for("escalation.expert_ticket", step_id=step_id))


@bp.post("/expert/escalations/<int:step_id>/link")
@expert_only
def expert_link(step_id: int):
    _escalation_or_404(step_id)
    problem_id = row_id(request.form.get("problem_id"))
    try:
        central.link_escalation(current_user, step_id, problem_id or 0)
    except services.EscalationError as exc:
        flash(exc.message, "error")
        return redirect(url_for("escalation.expert_ticket", step_id=step_id))
    flash(_("The ticket is linked to the problem."), "success")
    return redirect(url_for("escalation.problem", problem_id=problem_id))


@bp.get("/expert/problems")
@expert_only
def problems():
    status = request.args.get("status") or None
    return render_template(
        "escalation/problems.html", problems=central.list_problems(current_user, status, (request.args.get("q") or "")[:200]),
        status=status, statuses=list(ProblemStatus), form=forms.ProblemForm(formdata=None),
    )


@bp.post("/expert/problems")
@expert_only
def create_problem():
    form = forms.ProblemForm()
    step_id = row_id(request.form.get("step_id"))
    if form.validate_on_submit():
        try:
            problem = central.create_problem(
                current_user, title=form.title.data, description=form.description.data, severity=form.severity.data,
                external_url=form.external_url.data, step_ids=[step_id] if step_id else [],
            )
        except services.EscalationError as exc:
            _fail(form, exc)
        else:
            flash(_("Problem #%(id)s is recorded.", id=problem.id), "success")
            return redirect(url_for("escalation.problem", problem_id=problem.id))
    else:
        flash(_("Give the problem a title."), "error")
    return redirect(url_for("escalation.expert_ticket", step_id=step_id) if step_id else url_for("escalation.problems"))


def _problem_or_404(problem_id: int):
    problem = central.get_problem(current_user, problem_id)
    if problem is None:
        abort(404)
    return problem


@bp.route("/expert/problems/<int:problem_id>", methods=["GET", "POST"])
@expert_only
def problem(problem_id: int):
    problem = _problem_or_404(problem_id)
    form = forms.ProblemForm(obj=problem if request.method == "GET" else None)
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                central.update_problem(current_user, problem, title=form.title.data, description=form.description.data, external_url=form.external_url.data,
                                      severity=form.severity.data, status=form.status.data)
            except services.EscalationError as exc:
                status = _fail(form, exc)
            else:
                flash(_("The problem is saved."), "success")
                return redirect(url_for("escalation.problem", problem_id=problem.id))
        else:
            status = 422
    return render_template(
        "escalation/problem.html", form=form,
        detail=central.problem_detail(current_user, problem, limit=None if request.args.get("links") == "all" else PROBLEM_LINKS_SHOWN),
        github_ready=central.github.is_configured(), others=[o for o in central.problems_for_select(current_user) if o.id != problem.id],
    ), status


def _github_action(problem_id: int, act, outcome):
    """Run a GitHub action on a problem, then show its outcome (or the error) on the problem page."""
    problem = _problem_or_404(problem_id)
    try:
        act(current_user, problem)
    except services.EscalationError as exc:
        flash(exc.message, "error")
    else:
        flash(*outcome(problem))
    return redirect(url_for("escalation.problem", problem_id=problem.id))


@bp.post("/expert/problems/<int:problem_id>/github")
@expert_only
def problem_github(problem_id: int):
    return _github_action(
        problem_id, central.create_github_issue,
        lambda problem: (_("GitHub issue #%(number)s is open.", number=problem.github_number), "success"),
    )


@bp.post("/expert/problems/<int:problem_id>/refresh")
@expert_only
def problem_refresh(problem_id: int):
    return _github_action(
        problem_id, central.refresh_github_states,
        lambda problem: (_("The GitHub issue is %(state)s.", state=problem.github_state_label), "info"),
    )


@bp.post("/expert/problems/<int:problem_id>/unlink/<int:link_id>")
@expert_only
def problem_unlink(problem_id: int, link_id: int):
    problem = _problem_or_404(problem_id)
    try:
        central.unlink_ticket(current_user, problem, link_id)
    except services.EscalationError as exc:
        abort(exc.code)
    flash(_("The ticket is no longer linked to the problem."), "success")
    return redirect(url_for("escalation.problem", problem_id=problem.id))


@bp.post("/expert/problems/<int:problem_id>/merge")
@expert_only
def problem_merge(problem_id: int):
    problem = _problem_or_404(problem_id)
    try:
        target = central.merge_problem(current_user, problem, row_id(request.form.get("problem_id")))
    except services.EscalationError as exc:
        flash(exc.message, "error")
        return redirect(url_for("escalation.problem", problem_id=problem.id))
    flash(_("Problem #%(old)s is merged into this one.", old=problem_id), "success")
    return redirect(url_for("escalation.problem", problem_id=target.id))


@bp.route("/expert/releases", methods=["GET", "POST"])
@expert_only
def releases():
    form = forms.ReleaseForm()
    form.problems.choices = [(p.id, f"#{p.id} {p.title}") for p in central.problems_for_select(current_user)]
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                release = central.record_release(current_user, version=form.version.data, released_on=form.released_on.data, notes=form.notes.data, problem_ids=form.problems.data or [])
            except services.EscalationError as exc:
                status = _fail(form, exc)
            else:
                flash(_("Release %(version)s is recorded.", version=release.version), "success")
                return redirect(url_for("escalation.releases"))
        else:
            status = 422
    return render_template("escalation/releases.html", form=form, releases=central.list_releases()), status


@bp.get("/expert/upgrades")
@expert_only
def upgrades():
    return render_template("escalation/upgrades.html", board=central.upgrade_board(current_user))


@bp.post("/expert/github/webhook")
@csrf.exempt  # authenticated by the X-Hub-Signature-256 signature (GITHUB_WEBHOOK_SECRET), not by a session
@keeps_raw_body
def github_webhook():
    """GitHub tells that an issue changed (an `issues` event): the problems following it move at once,
    as the next `escalation github-sync` would move them."""
    from portal.channels.base import valid_hmac_sha256
    from portal.escalation import github

    secret = github.webhook_secret()
    if not secret:
        return error_response(404, _("GitHub webhooks are not set up here (GITHUB_WEBHOOK_SECRET)."))
    if not valid_hmac_sha256(secret, request.get_data(cache=True), request.headers.get("X-Hub-Signature-256", "")):
        return error_response(401, _("The signature of this delivery does not match."))
    event = request.headers.get("X-GitHub-Event", "")
    payload = request.get_json(silent=True)
    if event == "ping":
        return jsonify(ok=True)
    repository = payload.get("repository") if isinstance(payload, dict) else None
    named = str(repository.get("full_name") or "") if isinstance(repository, dict) else ""
    # Only issue events of the one repository the problems' issues live in (GITHUB_REPOSITORY).
    if event != "issues" or not github.repository() or named.lower() != github.repository().lower():
        return jsonify(ignored=event or "unknown"), 202
    try:
        info = github.issue_of_event(payload)
    except github.GitHubError as exc:
        return error_response(400, str(exc))
    if github.is_configured():
        # Deliveries can come late, twice or out of order: the event only says which issue changed;
        # its state now is read from GitHub, as github-sync reads it. (Without a token, the payload's
        # own state is taken, and one older than the state kept is dropped: see central.)
        try:
            info = github.get_issue(info.number)
        except github.GitHubError as exc:
            return error_response(502, str(exc))
    elif payload.get("action") not in ("closed", "reopened"):
        return jsonify(ignored=f"issues.{payload.get('action')}"), 202
    moved = central.apply_github_issue(info)
    return jsonify(issue=info.number, problems=[problem.id for problem in moved])


# -- API -------------------------------------------------------------------------------------------


@api.get("/api/v1/escalations")
def api_escalations():
    """Escalations to L3 from every country (L3 token): filters tenant, severity, status, owner, news, q; pages."""
    user = api_caller(Permission.EXPERT_CONSOLE)
    # The console page forgives odd filters; the API refuses them, as its description says.
    if query_arg("severity") and query_arg("severity") not in {s.value for s in Severity}:
        raise ApiError(400, _("Unknown severity: use one of %(values)s.", values=", ".join(s.value for s in Severity)))
    for name, allowed in (("status", central.CONSOLE_STATUSES), ("sort", central.CONSOLE_ORDERS), ("owner", central.CONSOLE_OWNERS),
                          ("news", ("0", "1")), ("tenant", None), ("q", None)):
        query_arg(name, allowed)
    page = int_query_arg("page", 1, 1, MAX_PAGE)
    per_page = int_query_arg("per_page", 50, 1, 200)
    tenant = query_arg("tenant")
    if tenant and tenant not in {t.slug for t in central.list_tenants()}:
        raise ApiError(400, _("There is no country “%(slug)s”.", slug=tenant[:40]))
    rows, total = central.list_escalations(user, _filters(request.args), page=page, per_page=per_page)
    return ok({"items": [r.as_json() for r in rows], "page": page, "per_page": per_page, "total": total})


@api.post("/<tenant>/api/v1/tickets/<reference>/escalate")
def api_escalate(reference: str):
    """Escalate one level up (L1 or L2 token); JSON: reason, severity and details (flat or in `details`)."""
    user = api_caller(Permission.TICKETS_WORK)
    ticket = tickets.get_ticket_by_reference(g.tenant, reference)
    if ticket is None:
        raise ApiError(404, _("There is no ticket %(reference)s here.", reference=reference[:20]))
    body = json_body()
    details = body.get("details", {})
    if not isinstance(details, dict):
        raise ApiError(400, _("Send “details” as a JSON object."))
    data = {**details, **{k: v for k, v in body.items() if k != "details"}}
    # The form sends text only; the API says so too rather than reading 5 as "5".
    wrong = [k for k in ESCALATION_TEXT_FIELDS if data.get(k) is not None and not isinstance(data[k], str)]
    if data.get("regression") is not None and not isinstance(data["regression"], (bool, str)):
        wrong.append("regression")
    if wrong:
        raise ApiError(400, _("Send these as text: %(fields)s.", fields=", ".join(wrong)))
    try:
        step = services.escalate_ticket(g.tenant, user, ticket, data)
    except services.EscalationError as exc:
        raise ApiError(exc.code, exc.message, fields=exc.fields) from None
    except tickets.TicketError as exc:
        raise ApiError(exc.code, exc.message) from None
    return ok({"reference": ticket.reference, "tier": ticket.tier, "status": ticket.status, "step": step.id, "due_at": step.due_at.isoformat() if step.due_at else None}, 201)


@api.put("/<tenant>/api/v1/deployment")
def api_deployment():
    """A deployment reports the OpenCRVS version it now runs: `{"version": "1.9.0"}`."""
    user = api_caller(Permission.DEPLOYMENT_REPORT)
    version = json_body().get("version")
    if not isinstance(version, str):
        raise ApiError(400, _("Send the version as text, e.g. {\"version\": \"1.9.0\"}."))
    try:
        row = services.report_deployment(g.tenant, user, version, "api")
    except services.EscalationError as exc:
        raise ApiError(exc.code, exc.message, fields=exc.fields) from None
    return ok({"tenant": g.tenant.slug, "version": g.tenant.opencrvs_version, "changed": row is not None})
