"""Ticket pages: requesters open and follow their requests; agents work the queue; admins set tiers."""
from __future__ import annotations

from babel.lists import format_list
from flask import Blueprint, Flask, abort, current_app, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.auth.loaders import can, require
from portal.auth.models import User
from portal.auth.permissions import Permission, Role
from portal.core.db import db, row_id
from portal.core.errors import error_response
from portal.core.i18n import current_locale
from portal.extensions import limiter, public_rate_limit
from portal.tickets import models, notify, services  # noqa: F401  (models for the metadata; notify connects the default subscribers)
from portal.tickets.forms import CannedForm, CategoryForm, GroupMembersForm, MergeForm, NewTicketForm, RateForm, ReplyForm, TicketFieldsForm, assignee_choices, status_choices
from portal.tickets.models import HAND_PICKED_STATUSES, CannedResponse, Category, Priority, Status
from portal.tickets.storage import AttachmentRejected, open_stored, safe_filename
from portal.tickets.templating import init_templating

bp = Blueprint("tickets", __name__, template_folder="templates")
init_templating(bp)


def register(app: Flask) -> None:
    from portal.tickets import api, export  # noqa: F401  (export adds its view to bp: imported before bp is registered)

    app.register_blueprint(bp)
    api.register(app)


# -- loaders -------------------------------------------------------------------------------------


def load_ticket(reference: str) -> models.Ticket:
    """The ticket if the current user may see it, else 404 (never confirm that it exists)."""
    ticket = services.ticket_for(g.tenant, current_user if current_user.is_authenticated else None, reference)
    if ticket is None:
        abort(404)
    return ticket


def _uploads(field) -> list[tuple[str, object]]:
    return [(f.filename, f.stream) for f in (field.data or []) if getattr(f, "filename", "")]


def _category_choices(blank: str) -> list[tuple[str, str]]:
    locale = current_locale()
    return [("", blank)] + [(c.key, c.name(locale)) for c in services.list_categories(g.tenant)]


def _fail(exc: services.TicketError | AttachmentRejected, target: str):
    """Show a refused change as a flash on the page it came from (with the right status for non-browsers)."""
    flash(str(exc), "error")
    return redirect(target), 303


def _act(back: str, action, done: str):
    """Run one service call; go back with `done` flashed, or with the reason it was refused."""
    try:
        action()
    except (services.TicketError, AttachmentRejected) as exc:
        return _fail(exc, back)
    flash(done, "success")
    return redirect(back)


# -- requesters ----------------------------------------------------------------------------------


@bp.route("/<tenant>/tickets/new", methods=["GET", "POST"])
@require(Permission.TICKETS_OPEN)
def new():
    tenant = g.tenant
    form = NewTicketForm()
    form.category.choices = _category_choices(_("I am not sure"))
    offices = tenant.settings.registration.offices
    form.office.choices = [("", _("Not specific to one office"))] + [(o, o) for o in offices]
    if request.method == "GET" and not form.office.data:
        membership = services.membership_office(tenant, current_user)
        if membership in offices:
            form.office.data = membership
    if form.validate_on_submit():
        requester = services.find_or_create_contact(tenant, user=current_user, locale=current_locale())
        try:
            ticket = services.open_ticket(
                tenant,
                current_user,
                requester=requester,
                subject=form.subject.data,
                body=form.body.data,
                category=form.category.data or None,
                attachments=_uploads(form.attachments),
                locale=current_locale(),
                office=form.office.data,
                kb_suggestion_opened=form.kb_suggestion_opened.data == "1",
            )
        except (services.TicketError, AttachmentRejected) as exc:
            form.attachments.errors = [str(exc)] if isinstance(exc, AttachmentRejected) else []
            if not isinstance(exc, AttachmentRejected):
                form.body.errors = [str(exc)]
            return render_template("tickets/new.html", form=form, kb_search_url=_kb_search_url()), exc.code
        flash(_("Your request %(reference)s is sent. We will answer here and by email.", reference=ticket.reference), "success")
        return redirect(url_for("tickets.detail", reference=ticket.reference))
    return render_template("tickets/new.html", form=form, kb_search_url=_kb_search_url()), 400 if form.errors else 200


def _kb_search_url() -> str | None:
    """The knowledge-base search API, when the KB offers one, for suggestions while typing."""
    for rule in current_app.url_map.iter_rules():
        if rule.rule == "/<tenant>/api/v1/kb/search":
            return url_for(rule.endpoint)
    return None


@bp.get("/<tenant>/tickets/mine")
@require(Permission.TICKETS_OPEN)
def mine():
    page = min(row_id(request.args.get("page")) or 1, 100_000)
    tickets, has_more = services.tickets_of_requester(g.tenant, current_user, page=page)
    return render_template("tickets/mine.html", tickets=tickets, page=page, has_more=has_more)


@bp.get("/<tenant>/tickets/<reference>")
@require(Permission.TICKETS_OPEN)
def detail(reference: str):
    ticket = load_ticket(reference)
    staff = can(Permission.TICKETS_WORK)
    reply = ReplyForm(formdata=None)
    canned_id = row_id(request.args.get("canned")) if staff else None
    if canned_id is not None:
        canned = db.session.get(CannedResponse, canned_id)
        if canned is not None and canned.is_active:
            reply.body.data = services.render_canned(g.tenant, canned, ticket)
    return _detail_page(ticket, staff, reply)


def _detail_page(ticket: models.Ticket, staff: bool, reply: ReplyForm, status: int = 200):
    """The ticket's page, with `reply` in its reply box (a draft kept when it could not be sent)."""
    reply.status.choices = status_choices(ticket.allowed_statuses())
    messages = services.conversation(ticket, include_internal=staff)
    newest = str(messages[-1].id) if messages else ""
    reply.seen.data, reply.seen.raw_data = newest, [newest]  # raw_data: a draft's form shows this, not what it was sent with
    context = dict(
        ticket=ticket,
        staff=staff,
        messages=messages,
        reply=reply,
        rate=RateForm(),
        # The ticket it was merged into, linked for whoever may open it (staff, or the same requester).
        merged_target_visible=ticket.merged_into is not None and services.may_see(g.tenant, current_user, ticket.merged_into),
    )
    if staff:
        colleagues = services.staff_members(g.tenant)
        context.update(
            fields=_fields_form(ticket, colleagues),
            merge=MergeForm(),
            events=services.audit_trail(ticket),
            merged=services.merged_into_this(ticket),
            canned=services.list_canned(g.tenant, ticket.locale) or services.list_canned(g.tenant),
            colleagues=colleagues,
        )
    return render_template("tickets/detail.html", **context), status


def _fields_form(ticket: models.Ticket, colleagues: list) -> TicketFieldsForm:
    form = TicketFieldsForm(
        data={
            "status": ticket.status,
            "priority": ticket.priority,
            "category": ticket.category.key if ticket.category else "",
            "assignee": str(ticket.assignee_id or ""),
            "group": ticket.group_key or "",
            "office": ticket.office,
        }
    )
    _fill_field_choices(form, ticket, colleagues)
    return form


def _fill_field_choices(form: TicketFieldsForm, ticket: models.Ticket, colleagues: list | None = None) -> None:
    locale = current_locale()
    current = Status(ticket.status)
    form.status.choices = [(current.value, current.label)] + [(s.value, s.label) for s in ticket.allowed_statuses()]
    form.category.choices = _category_choices(_("No category"))
    form.assignee.choices = assignee_choices(colleagues if colleagues is not None else services.staff_members(g.tenant), ticket.assignee)
    groups = g.tenant.settings.tiers.groups
    form.group.choices = [("", _("No group"))] + [(key, g.tenant.settings.localize(grp.name, locale) or key) for key, grp in groups.items()]


@bp.post("/<tenant>/tickets/<reference>/reply")
@require(Permission.TICKETS_OPEN)
def reply(reference: str):
    ticket = load_ticket(reference)
    staff = can(Permission.TICKETS_WORK)
    form = ReplyForm()
    form.status.choices = status_choices(ticket.allowed_statuses())
    back = url_for("tickets.detail", reference=ticket.reference)
    if not form.validate_on_submit():
        if form.body.errors:
            flash(_("Please write a message."), "error")
        else:
            flash(" ".join(e for errors in form.errors.values() for e in errors), "error")
        return redirect(back), 303
    public = not (staff and form.visibility.data == "internal")
    crossed = services.written_since(ticket, row_id(form.seen.data), current_user) if staff and form.seen.data else []
    if crossed:
        # Two agents answering one requester at once: the second sees the first's message before sending.
        names = format_list(list(dict.fromkeys(m.author_name for m in crossed)), locale=current_locale())
        flash(_("%(names)s wrote on this ticket after you opened it: read it below. Your message is not sent yet: it is kept in the box.",
                names=names) + (" " + _("Choose your files again.") if _uploads(form.attachments) else ""), "warning")
        return _detail_page(ticket, staff, form, 409)
    try:
        # One transaction: a public reply that resolves the ticket carries the resolution notice.
        services.add_message(g.tenant, current_user, ticket, body=form.body.data, public=public, attachments=_uploads(form.attachments),
                             status=(form.status.data or None) if staff else None)
    except (services.TicketError, AttachmentRejected) as exc:
        return _fail(exc, back)
    flash(_("Your message is added.") if public else _("Your internal note is added."), "success")
    return redirect(back + "#latest")


@bp.post("/<tenant>/tickets/<reference>/close")
@require(Permission.TICKETS_OPEN)
def close(reference: str):
    ticket = load_ticket(reference)
    back = url_for("tickets.detail", reference=ticket.reference)
    return _act(back, lambda: services.change_status(g.tenant, current_user, ticket, Status.CLOSED), _("The request is closed."))


@bp.post("/<tenant>/tickets/<reference>/rate")
@require(Permission.TICKETS_OPEN)
def rate(reference: str):
    ticket = load_ticket(reference)
    back = url_for("tickets.detail", reference=ticket.reference)
    form = RateForm()
    if not form.validate_on_submit():
        flash(_("Choose a rating from 1 to 5."), "error")
        return redirect(back), 303
    rating = int(form.rating.data)
    return _act(back, lambda: services.rate_ticket(g.tenant, current_user, ticket, rating, form.comment.data or ""), _("Thank you for your rating."))


@bp.route("/<tenant>/tickets/<reference>/rate/<token>", methods=["GET", "POST"])
@limiter.limit(public_rate_limit)
def rate_by_link(reference: str, token: str):
    """The rating page the resolution message links to: no sign-in, the signed token is the key."""
    ticket = services.ticket_for_rating_token(g.tenant, reference, token)
    if ticket is None:
        return error_response(404, _("This rating link is not valid any more. Sign in to rate your request on its page."))
    if current_user.is_authenticated and services.is_staff(g.tenant, current_user):
        # The link is in the conversation the desk reads: only the requester rates the help they got.
        return error_response(403, _("This link is for the requester to rate the help they got; the desk cannot rate it."))
    form = RateForm()
    if form.validate_on_submit():
        try:
            services.rate_ticket(g.tenant, None, ticket, int(form.rating.data), form.comment.data or "", token=token)
        except services.TicketError as exc:
            return render_template("tickets/rate.html", ticket=ticket, form=form, error=str(exc)), exc.code
        return render_template("tickets/rate.html", ticket=ticket, form=None, done=True)
    if request.method == "GET" and ticket.rating:
        form.rating.data, form.comment.data = str(ticket.rating), ticket.rating_comment
    return render_template("tickets/rate.html", ticket=ticket, form=form), 422 if form.errors else 200


@bp.get("/<tenant>/tickets/attachments/<int:attachment_id>")
@require(Permission.TICKETS_OPEN)
def attachment(attachment_id: int):
    item = services.get_attachment(g.tenant, current_user, attachment_id)
    if item is None:
        abort(404)
    path = open_stored(item.storage_path)
    if not path.is_file():
        abort(404)
    # Pictures and PDF open in the browser; anything else downloads. nosniff is set for all.
    inline = item.content_type.startswith("image/") or item.content_type == "application/pdf"
    return send_file(path, mimetype=item.content_type, as_attachment=not inline, download_name=safe_filename(item.filename), max_age=0, etag=item.sha256)


# -- agents ------------------------------------------------------------------------------------


@bp.get("/<tenant>/tickets/queue")
@require(Permission.TICKETS_WORK)
def queue():
    filters = services.QueueFilters.from_args(request.args)
    page = request.args.get("page", "1")
    page = int(page) if page.isascii() and page.isdigit() and 0 < int(page) < 10_000 else 1
    tickets, has_more = services.list_queue(g.tenant, current_user, filters, page=page)
    return render_template(
        "tickets/queue.html",
        tickets=tickets,
        has_more=has_more,
        page=page,
        filters=filters,
        counts=services.queue_counts(g.tenant, current_user),
        categories=services.list_categories(g.tenant),
        staff=services.staff_members(g.tenant),
        statuses=list(Status),
        hand_picked_statuses=HAND_PICKED_STATUSES,
        priorities=list(Priority),
        views=services.QUEUE_VIEWS,
    )


@bp.post("/<tenant>/tickets/bulk")
@require(Permission.TICKETS_WORK)
def bulk():
    references = request.form.getlist("refs")
    action = request.form.get("action", "")
    value: object = request.form.get("value", "")
    back = request.form.get("back", "")
    back = back if back.startswith(f"/{g.tenant.slug}/tickets/queue") else url_for("tickets.queue")
    if not references:
        flash(_("Select at least one ticket."), "error")
        return redirect(back), 303
    if action == "assign":
        value = _staff_user(value) if value not in ("", "none") else None
        if value is False:
            flash(_("Tickets can only be assigned to the support team."), "error")
            return redirect(back), 303
    try:
        done, problems = services.bulk_update(g.tenant, current_user, references, action, value or None)
    except services.TicketError as exc:
        return _fail(exc, back)
    flash(_("%(count)s tickets changed.", count=done), "success")
    for problem in problems:
        flash(problem, "error")
    return redirect(back)


def _staff_user(value) -> User | None | bool:
    """The staff member with this id; False when it is not one."""
    user_id = row_id(value)
    if user_id is None:
        return False
    user = next((u for u in services.staff_members(g.tenant) if u.id == user_id), None)
    return user if user is not None else False


@bp.post("/<tenant>/tickets/<reference>/update")
@require(Permission.TICKETS_WORK)
def update(reference: str):
    ticket = load_ticket(reference)
    back = url_for("tickets.detail", reference=ticket.reference)
    form = TicketFieldsForm()
    _fill_field_choices(form, ticket)
    if not form.validate_on_submit():
        flash(" ".join(e for errors in form.errors.values() for e in errors), "error")
        return redirect(back), 303
    if form.assignee.data and form.assignee.data == str(ticket.assignee_id):
        assignee = ticket.assignee  # kept, even by someone no longer in the team (see assignee_choices)
    else:
        assignee = _staff_user(form.assignee.data) if form.assignee.data else None
    if assignee is False:
        flash(_("Tickets can only be assigned to the support team."), "error")
        return redirect(back), 303
    try:
        changed = services.update_ticket(
            g.tenant,
            current_user,
            ticket,
            status=form.status.data,
            priority=form.priority.data,
            category=form.category.data or None,
            assignee=assignee,
            group=form.group.data or None,
            office=form.office.data or "",
        )
    except services.TicketError as exc:
        return _fail(exc, back)
    flash(_("Saved.") if changed else _("Nothing changed."), "success")
    return redirect(back)


@bp.post("/<tenant>/tickets/<reference>/take")
@require(Permission.TICKETS_WORK)
def take(reference: str):
    ticket = load_ticket(reference)
    back = url_for("tickets.detail", reference=ticket.reference)
    seen = request.form.get("assignee")
    seen_id = ... if seen is None else row_id(seen)  # the page's holder: taking from whoever took it since is refused
    return _act(back, lambda: services.assign(g.tenant, current_user, ticket, current_user, seen_assignee_id=seen_id),
                _("%(reference)s is assigned to you.", reference=ticket.reference))


@bp.post("/<tenant>/tickets/<reference>/merge")
@require(Permission.TICKETS_WORK)
def merge(reference: str):
    ticket = load_ticket(reference)
    back = url_for("tickets.detail", reference=ticket.reference)
    form = MergeForm()
    target = services.get_ticket_by_reference(g.tenant, form.target.data or "") if form.validate_on_submit() else None
    if target is None:
        flash(_("There is no ticket %(reference)s.", reference=form.target.data or ""), "error")
        return redirect(back), 303
    try:
        other_requester = services.merge_tickets(g.tenant, current_user, ticket, target)
    except services.TicketError as exc:
        return _fail(exc, back)
    flash(_("%(duplicate)s is merged into %(target)s.", duplicate=ticket.reference, target=target.reference), "success")
    if other_requester:
        flash(_("The requester of %(duplicate)s, %(name)s, is not the requester of %(target)s: they were told that their request was "
                "closed, and that replying to it opens a new request. Replies on %(target)s reach only its own requester.",
                duplicate=ticket.reference, name=ticket.contact.display_name, target=target.reference), "warning")
    return redirect(url_for("tickets.detail", reference=target.reference))


# -- canned responses --------------------------------------------------------------------------------


@bp.route("/<tenant>/tickets/canned", methods=["GET", "POST"])
@require(Permission.TICKETS_WORK)
def canned():
    form = CannedForm()
    form.locale.choices = [(code, code) for code in g.tenant.locales]
    if form.validate_on_submit():
        try:
            services.save_canned(g.tenant, current_user, title=form.title.data, locale=form.locale.data, body=form.body.data)
        except services.TicketError as exc:
            form.body.errors = [str(exc)]
        else:
            flash(_("The canned response is saved."), "success")
            return redirect(url_for("tickets.canned"))
    items = services.list_canned(g.tenant)
    previews = {c.id: _preview(c) for c in items}
    return render_template("tickets/canned.html", form=form, items=items, previews=previews), 400 if form.errors else 200


def _preview(canned: CannedResponse) -> str:
    try:
        return services.render_canned(g.tenant, canned)
    except ValueError as exc:
        return str(exc)


@bp.route("/<tenant>/tickets/canned/<int:canned_id>", methods=["GET", "POST"])
@require(Permission.TICKETS_WORK)
def edit_canned(canned_id: int):
    item = db.session.get(CannedResponse, canned_id)
    if item is None or not item.is_active:
        abort(404)
    # Retiring reads nothing of the form: a response whose title or text would not save retires too.
    if request.method == "POST" and request.form.get("retire"):
        services.retire_canned(g.tenant, current_user, item)
        flash(_("The canned response is retired."), "success")
        return redirect(url_for("tickets.canned"))
    form = CannedForm(obj=item)
    form.locale.choices = [(code, code) for code in g.tenant.locales]
    if form.validate_on_submit():
        try:
            services.save_canned(g.tenant, current_user, title=form.title.data, locale=form.locale.data, body=form.body.data, canned=item)
        except services.TicketError as exc:
            form.body.errors = [str(exc)]
        else:
            flash(_("The canned response is saved."), "success")
            return redirect(url_for("tickets.canned"))
    return render_template("tickets/canned_edit.html", form=form, item=item, preview=_preview(item)), 400 if form.errors else 200


# -- tiers, groups and routing (tenant administrators) ---------------------------------------------------


@bp.get("/<tenant>/tickets/tiers")
@require(Permission.TENANT_MANAGE)
def tiers():
    tenant = g.tenant
    locale = current_locale()
    settings = tenant.settings
    staff = services.staff_members(tenant)
    memberships = services.tier_members(tenant)
    roles = {m.user_id: m.role for m in memberships}
    placed = services.group_placements(tenant)
    groups = []
    for key, group in settings.tiers.groups.items():
        members = [u for u in staff if u.id in placed[key]]
        form = GroupMembersForm(prefix=_group_prefix(key), formdata=None, data={"members": [u.id for u in members]})
        form.members.choices = _staff_choices(staff)
        groups.append(
            {
                "key": key,
                "name": settings.localize(group.name, locale) or key,
                "tier": group.tier,
                "members": members,
                "form": form,
                # Members whose role is of the other level (moved since they joined, say): allowed, and shown.
                "other_level": [u for u in members if Role(roles[u.id]).tier not in (None, group.tier)],
            }
        )
    names = {gr["key"]: gr["name"] for gr in groups}
    categories = services.list_categories(tenant, active_only=False)
    forms = {}
    for c in categories:
        form = CategoryForm(prefix=f"c{c.id}", data={"group": c.group_key or "", "is_active": "1" if c.is_active else "0"})
        form.group.choices = [("", _("Default (first Level 1 group)"))] + [(gr["key"], gr["name"]) for gr in groups]
        forms[c.id] = form
    return render_template(
        "tickets/tiers.html",
        members=memberships,
        groups_of={user_id: [names[key] for key in names if user_id in placed[key]] for user_id in roles},
        roles=roles,
        groups=groups,
        categories=categories,
        forms=forms,
        assignment=settings.tiers.assignment,
        sla=settings.sla,
        hours=settings.support.business_hours,
    )


def _group_prefix(key: str) -> str:
    return f"group-{key}"


def _staff_choices(staff: list[User]) -> list[tuple[int, str]]:
    return [(u.id, u.display_name) for u in staff]


@bp.post("/<tenant>/tickets/groups/<group_key>")
@require(Permission.TENANT_MANAGE)
def edit_group(group_key: str):
    """Save who is in one support group (the groups themselves are tenant.toml's)."""
    group = g.tenant.settings.tiers.groups.get(group_key)
    if group is None:
        abort(404)
    form = GroupMembersForm(prefix=_group_prefix(group_key))
    form.members.choices = _staff_choices(services.staff_members(g.tenant))
    if not form.validate_on_submit():
        return error_response(400)
    try:
        change = services.set_group_members(g.tenant, current_user, group_key, form.members.data or [])
    except services.TicketError as exc:
        return _fail(exc, url_for("tickets.tiers"))
    name = g.tenant.settings.localize(group.name, current_locale()) or group_key
    if change.added or change.removed:
        flash(_("The members of %(group)s are saved.", group=name), "success")
    else:
        flash(_("Nothing changed."), "info")
    if change.empty:
        flash(_("%(group)s has no active member now: its new tickets wait in the queue, given to nobody, until someone takes them.", group=name), "warning")
    return redirect(url_for("tickets.tiers", _anchor="groups"))


@bp.post("/<tenant>/tickets/categories/<int:category_id>")
@require(Permission.TENANT_MANAGE)
def edit_category(category_id: int):
    category = db.session.get(Category, category_id)
    if category is None:
        abort(404)
    form = CategoryForm(prefix=f"c{category.id}")
    form.group.choices = [("", "")] + [(key, key) for key in g.tenant.settings.tiers.groups]
    if not form.validate_on_submit():
        return error_response(400)
    names = {code: (request.form.get(f"c{category.id}-name-{code}") or "").strip()[:100] for code in g.tenant.locales}
    try:
        services.update_category(g.tenant, current_user, category, names=names, group_key=form.group.data or None, is_active=form.is_active.data == "1")
    except services.TicketError as exc:
        return _fail(exc, url_for("tickets.tiers"))
    flash(_("The category is saved."), "success")
    return redirect(url_for("tickets.tiers"))
