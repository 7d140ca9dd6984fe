"""The tickets API: `/<tenant>/api/v1/tickets`, authenticated by personal API tokens.

Send `Authorization: Bearer <token>` (`flask --app wsgi users token --email ...`). Bodies and
answers are JSON; errors are `{"error": {"code": 422, "message": "..."}}` with the HTTP status.
Tickets are addressed by their reference (`FAR-000123`). Support staff see and change every ticket
of the tenant; requesters see and reply to their own, and may close them.

- `GET    /<tenant>/api/v1/tickets` — list. Query: `view` (unassigned, mine, group, breaching,
  waiting, all), `status`, `category`, `priority`, `assignee` (user id or `none`), `q` (text),
  `page` (from 1), `per_page` (1-100, default 25). Answer: `{"tickets": [...], "page", "per_page", "has_more"}`.
- `POST   /<tenant>/api/v1/tickets` — create: `subject`, `body`, optional `category`, `priority`,
  `office`, `channel`; staff may open for someone else with `requester: {email, name, phone}`. 201.
- `GET    /<tenant>/api/v1/tickets/<reference>` — one ticket with its messages (internal notes and
  the audit trail for staff only).
- `PATCH  /<tenant>/api/v1/tickets/<reference>` — staff: `status`, `priority`, `category`,
  `assignee` (email or null), `group`, `office`; requesters: `{"status": "closed"}`. The tier
  changes only through `POST .../escalate` (portal/escalation), which asks for a reason; so does
  the status `escalated` (refused here with 422).
- `POST   /<tenant>/api/v1/tickets/<reference>/messages` — reply: `body`, `internal` (staff, default false). 201.
"""
from __future__ import annotations

from flask import Blueprint, Flask, g, request, url_for
from flask_babel import gettext as _

from portal.api.helpers import ApiError, api_caller, int_query_arg, json_body, ok, register_api_errors
from portal.auth.models import User
from portal.auth.permissions import Permission
from portal.auth.services import get_user_by_email
from portal.tickets import services
from portal.tickets.models import Message, Status, Ticket
from portal.extensions import csrf

bp = Blueprint("tickets_api", __name__)
register_api_errors(bp)
csrf.exempt(bp)  # bearer tokens only, never cookies: nothing to forge

MAX_PER_PAGE = 100


def register(app: Flask) -> None:
    app.register_blueprint(bp)


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def ticket_json(ticket: Ticket, staff: bool) -> dict:
    data = {
        "reference": ticket.reference,
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "category": ticket.category.key if ticket.category else None,
        "channel": ticket.channel,
        "office": ticket.office,
        "created_at": _iso(ticket.created_at),
        "last_activity_at": _iso(ticket.last_activity_at),
        "resolved_at": _iso(ticket.resolved_at),
        "rating": ticket.rating,
        "merged_into": ticket.merged_into.reference if ticket.merged_into_id else None,
        "url": url_for("tickets.detail", reference=ticket.reference, _external=True),
    }
    if staff:
        data.update(
            {
                "tier": ticket.tier,
                "group": ticket.group_key,
                "assignee": ticket.assignee.email if ticket.assignee else None,
                "requester": {"name": ticket.contact.name, "email": ticket.contact.email, "phone": ticket.contact.phone},
                "opencrvs_version": ticket.opencrvs_version,
                "first_response_due_at": _iso(ticket.first_response_due_at),
                "resolution_due_at": _iso(ticket.resolution_due_at),
                "first_responded_at": _iso(ticket.first_responded_at),
                "first_response_breached": ticket.first_response_breached,
                "resolution_breached": ticket.resolution_breached,
                "kb_suggestion_opened": ticket.kb_suggestion_opened,
            }
        )
    return data


def message_json(message: Message) -> dict:
    return {
        "id": message.id,
        "author": message.author_name,
        "from_staff": message.is_from_staff,
        "internal": not message.is_public,
        "channel": message.channel,
        "body": message.body,
        "created_at": _iso(message.created_at),
        "attachments": [
            {"filename": a.filename, "content_type": a.content_type, "size": a.size, "sha256": a.sha256, "url": url_for("tickets.attachment", attachment_id=a.id, _external=True)}
            for a in message.attachments
        ],
    }


def _caller() -> tuple[User, bool]:
    user = api_caller(Permission.TICKETS_OPEN)
    return user, services.is_staff(g.tenant, user)


def _load(reference: str, user: User) -> Ticket:
    ticket = services.ticket_for(g.tenant, user, reference)
    if ticket is None:
        raise ApiError(404, _("There is no ticket %(reference)s.", reference=reference))
    return ticket


def _require_text(data: dict, names: tuple[str, ...]) -> None:
    """ApiError 422 when one of `names` is present with something else than text (null means absent)."""
    wrong = [name for name in names if data.get(name) is not None and not isinstance(data[name], str)]
    if wrong:
        raise ApiError(422, _("Send these as text: %(fields)s.", fields=", ".join(wrong)))


def _service_error(exc: services.TicketError) -> ApiError:
    return ApiError(exc.code, exc.message)


@bp.get("/<tenant>/api/v1/tickets")
def list_tickets():
    """List tickets: the queue for staff (filters as the queue page), the caller's own for requesters."""
    user, staff = _caller()
    args = request.args
    page = int_query_arg("page", 1, 1, 100_000)
    per_page = int_query_arg("per_page", 25, 1, MAX_PER_PAGE)
    status = args.get("status")
    if status and status not in {s.value for s in Status}:
        raise ApiError(400, _("Unknown status."))
    view = args.get("view", "all")
    if view not in services.QUEUE_VIEWS:
        raise ApiError(400, _("Unknown view “%(view)s”.", view=view))
    filters = services.QueueFilters(
        view=view if staff else "all",
        status=status,
        category=args.get("category") or None,
        priority=args.get("priority") or None,
        assignee=args.get("assignee") or None,
        q=(args.get("q") or "").strip()[:200] or None,
        requester_user_id=None if staff else user.id,
    )
    tickets, has_more = services.list_queue(g.tenant, user, filters, page=page, per_page=per_page)
    return ok({"tickets": [ticket_json(t, staff) for t in tickets], "page": page, "per_page": per_page, "has_more": has_more})


@bp.post("/<tenant>/api/v1/tickets")
def create_ticket():
    """Open a ticket for the caller, or (staff) for the `requester` given by email or phone."""
    user, staff = _caller()
    data = json_body()
    for name in ("subject", "body"):
        if not isinstance(data.get(name), str) or not data[name].strip():
            raise ApiError(422, _("“%(name)s” is required and must be text.", name=name))
    _require_text(data, ("category", "priority", "office", "channel", "locale"))
    requester_data = data.get("requester")
    if requester_data is not None:
        if not staff:
            raise ApiError(403, _("Only the support team may open a ticket for someone else."))
        if not isinstance(requester_data, dict) or not (requester_data.get("email") or requester_data.get("phone")):
            raise ApiError(422, _("“requester” needs an “email” or a “phone”."))
        _require_text(requester_data, ("email", "phone", "name"))
        requester = services.find_or_create_contact(
            g.tenant,
            email=str(requester_data.get("email") or "") or None,
            phone=str(requester_data.get("phone") or "") or None,
            name=str(requester_data.get("name") or ""),
            user=get_user_by_email(str(requester_data.get("email") or "")) if requester_data.get("email") else None,
        )
    else:
        requester = services.find_or_create_contact(g.tenant, user=user)
    try:
        ticket = services.open_ticket(
            g.tenant,
            user,
            requester=requester,
            subject=data["subject"],
            body=data["body"],
            channel=str(data.get("channel") or "api"),
            category=data.get("category"),
            priority=str(data.get("priority") or "normal") if staff else "normal",
            office=str(data.get("office") or ""),
            locale=data.get("locale") if isinstance(data.get("locale"), str) else None,
        )
    except services.TicketError as exc:
        raise _service_error(exc) from None
    return ok(ticket_json(ticket, staff), 201)


@bp.get("/<tenant>/api/v1/tickets/<reference>")
def show_ticket(reference: str):
    """One ticket, its conversation, and (staff) its audit trail."""
    user, staff = _caller()
    ticket = _load(reference, user)
    data = ticket_json(ticket, staff)
    data["messages"] = [message_json(m) for m in services.conversation(ticket, include_internal=staff)]
    if staff:
        data["events"] = [
            {"at": _iso(e.created_at), "by": e.actor.email if e.actor else e.actor_label, "field": e.field, "old": e.old_value, "new": e.new_value}
            for e in services.audit_trail(ticket)
        ]
    return ok(data)


UPDATABLE = ("status", "priority", "category", "assignee", "group", "office")


@bp.patch("/<tenant>/api/v1/tickets/<reference>")
def update_ticket(reference: str):
    """Change fields of a ticket (staff), or close one's own ticket (requester)."""
    user, staff = _caller()
    ticket = _load(reference, user)
    data = json_body()
    if "tier" in data:
        raise ApiError(422, _("The tier changes only by escalation, with a reason: POST /%(tenant)s/api/v1/tickets/%(reference)s/escalate.", tenant=g.tenant.slug, reference=ticket.reference))
    unknown = set(data) - set(UPDATABLE)
    if unknown:
        raise ApiError(422, _("Unknown fields: %(fields)s.", fields=", ".join(sorted(unknown))))
    _require_text(data, UPDATABLE)
    try:
        if not staff:
            if set(data) != {"status"}:
                raise ApiError(403, _("You cannot change the status of this request."))
            services.change_status(g.tenant, user, ticket, data["status"])
            return ok(ticket_json(ticket, staff))
        changes = dict(data)
        if "assignee" in changes:
            email = changes["assignee"]
            assignee = get_user_by_email(email) if isinstance(email, str) and email else None
            if email and assignee is None:  # the same answer as for someone outside the team: no account is revealed
                raise ApiError(422, _("Tickets can only be assigned to the support team."))
            changes["assignee"] = assignee
        services.update_ticket(g.tenant, user, ticket, **changes)
    except services.TicketError as exc:
        raise _service_error(exc) from None
    return ok(ticket_json(ticket, staff))


@bp.post("/<tenant>/api/v1/tickets/<reference>/messages")
def reply(reference: str):
    """Add a message: a public reply, or (staff, `internal: true`) an internal note."""
    user, staff = _caller()
    ticket = _load(reference, user)
    data = json_body()
    body = data.get("body")
    if not isinstance(body, str) or not body.strip():
        raise ApiError(422, _("“%(name)s” is required and must be text.", name="body"))
    internal = data.get("internal", False)
    if not isinstance(internal, bool):
        raise ApiError(422, _("“internal” must be true or false."))
    try:
        message = services.add_message(g.tenant, user, ticket, body=body, public=not internal, channel="api")
    except services.TicketError as exc:
        raise _service_error(exc) from None
    return ok(message_json(message), 201)
