"""Ticket desk operations: opening, conversation, status, assignment, SLAs, queues and search.

Every function takes the tenant and the acting user (None for a channel or a system job) and never
reads the request. State changes are committed here with their audit events in the same
transaction; signals (notifications) are sent only after the commit, except `message_posted`, sent just
before it so that the channel outbox is written in the same transaction as the reply.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import EllipsisType
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import force_locale
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import and_, bindparam, false, func, insert, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, selectinload

from portal.auth.models import STAFF, Membership, User
from portal.auth.permissions import Permission, Role
from portal.auth.services import normalize_email, permissions_in
from portal.core import versions
from portal.core.db import db, like_escaped, row_id, tenant_scope, utcnow
from portal.core.placeholders import render_placeholders
from portal.core.urls import external_url
from portal.core.words import strip_accents
from portal.tenancy.models import Tenant, TenantSettingChange
from portal.tenancy.settings import TenantSettings
from portal.tickets import signals
from portal.tickets.business_time import add_business_hours, business_hours_between
from portal.tickets.models import (
    ACTIVE_STATUSES,
    GENERIC_CATEGORIES,
    TRANSITIONS,
    Attachment,
    CannedResponse,
    Category,
    Channel,
    Contact,
    Counter,
    GroupMember,
    Mention,
    Message,
    Priority,
    Status,
    Ticket,
    TicketEvent,
    Tier,
    groups_version,
)
from portal.tickets.storage import refusal as storage_refusal, store_file

STAFF_ROLES = (Role.L1_AGENT.value, Role.L2_TECHNICIAN.value, Role.TENANT_ADMIN.value)
# A reference as people type it: "far-98", "FAR 000098", "far-000098"; or, in one country, its number alone.
_TYPED_REFERENCE_RE = re.compile(r"^\s*([A-Za-z]{2,5})[-\s]0*(\d{1,9})\s*$")
_TYPED_NUMBER_RE = re.compile(r"^\s*0*(\d{1,9})\s*$")


def normal_reference(text: str | None) -> str | None:
    """A reference as typed, written as the desk writes it ("FAR-000098"); None if it is not one."""
    match = _TYPED_REFERENCE_RE.match(text or "")
    return f"{match[1].upper()}-{int(match[2]):06d}" if match else None


def typed_reference(tenant: Tenant, text: str | None) -> str | None:
    """A reference of `tenant` as people type it: as `normal_reference` reads it, or its number
    alone ("98", told on the phone, is "FAR-000098" in Farajaland); None if it is neither. Every
    place where a reference is typed (the queue's search, the merge form) reads it with this."""
    reference = normal_reference(text)
    if reference is None and (match := _TYPED_NUMBER_RE.match(text or "")):
        reference = format_reference(tenant, int(match[1]))
    return reference
MENTION_RE = re.compile(r"(?<![\w.])@([\w.+-]+@[\w-]+(?:\.[\w-]+)+)")


class TicketError(ValueError):
    """A change that cannot be made; the message is translated and safe to show."""

    def __init__(self, message: str, code: int = 400):
        super().__init__(message)
        self.message = message
        self.code = code


# -- helpers -----------------------------------------------------------------------------------


@dataclass
class _Pending:
    """Signals to send with the transaction: `message_posted` inside it (its subscribers write the
    channel outbox, which must commit or roll back with the reply), the others once it is committed."""

    items: list[tuple[Any, dict]] = field(default_factory=list)
    in_transaction: list[tuple[Any, dict]] = field(default_factory=list)

    def add(self, signal, **kwargs) -> None:
        self.items.append((signal, kwargs))

    def add_in_transaction(self, signal, **kwargs) -> None:
        self.in_transaction.append((signal, kwargs))

    def commit_and_send(self) -> None:
        app = current_app._get_current_object()
        for signal, kwargs in self.in_transaction:
            signal.send(app, **kwargs)
        db.session.commit()
        for signal, kwargs in self.items:
            signal.send(app, **kwargs)


def one_line(text: str | None) -> str:
    """`text` on one line, its runs of spaces and line breaks made one space: a subject goes into
    the Subject header of mail, where a line break would start another header."""
    return " ".join((text or "").split())


def is_staff(tenant: Tenant, user: User | None) -> bool:
    return user is not None and Permission.TICKETS_WORK in permissions_in(user, tenant)


def is_active_staff(tenant: Tenant, user: User | None) -> bool:
    """`user` works tickets in `tenant` now: a staff membership in force and an account not suspended."""
    return is_staff(tenant, user) and user.is_active_account


def _label(actor: User | None) -> str:
    return actor.display_name if actor is not None else "system"


def _record(ticket: Ticket, actor: User | None, name: str, old: Any, new: Any, label: str | None = None) -> None:
    db.session.add(TicketEvent(**_event_row(ticket, actor, name, old, new, label)))


def _event_row(ticket: Ticket, actor: User | None, name: str, old: Any, new: Any, label: str | None = None) -> dict[str, Any]:
    """The audit event `_record` adds, as the values of its row."""
    return {
        "tenant_id": ticket.tenant_id,
        "ticket_id": ticket.id,
        "actor_user_id": actor.id if actor is not None else None,
        "actor_label": label or _label(actor),
        "field": name,
        "old_value": None if old is None else str(old),
        "new_value": None if new is None else str(new),
    }


def next_number(tenant: Tenant, name: str) -> int:
    """Advance the tenant's counter `name` by one, atomically, and return the new value.

    One UPDATE ... RETURNING: PostgreSQL locks the counter row until the transaction ends and
    SQLite takes its write lock, so concurrent callers wait their turn and never share a number.
    It runs on the session's connection as plain SQL (the tenant is in its WHERE): the ORM's
    bulk-update path would cost more than the statement for every ticket opened.
    """
    params = {"counter_tenant_id": tenant.id, "counter_name": name}
    value = db.session.connection().execute(_ADVANCE_COUNTER, params).scalar()
    if value is not None:
        return value
    try:
        with db.session.begin_nested():
            db.session.execute(insert(Counter).values(tenant_id=tenant.id, name=name, value=0))
    except IntegrityError:
        pass  # created meanwhile by a concurrent transaction
    return db.session.connection().execute(_ADVANCE_COUNTER, params).scalar_one()


# Built once: the SQL of a statement is compiled once and cached anyway, but building the statement
# (columns, comparisons, clauses) would be repeated for every ticket opened.
_COUNTERS = Counter.__table__
_ADVANCE_COUNTER = (
    update(_COUNTERS)
    .where(_COUNTERS.c.tenant_id == bindparam("counter_tenant_id"), _COUNTERS.c.name == bindparam("counter_name"))
    .values(value=_COUNTERS.c.value + 1)
    .returning(_COUNTERS.c.value)
)


def format_reference(tenant: Tenant, number: int) -> str:
    return f"{tenant.settings.country.code}-{number:06d}"


# -- contacts and categories -------------------------------------------------------------------


def find_or_create_contact(
    tenant: Tenant,
    *,
    email: str | None = None,
    phone: str | None = None,
    name: str = "",
    user: User | None = None,
    locale: str | None = None,
    whatsapp_id: str | None = None,
    telegram_id: str | None = None,
    flush: bool = True,
) -> Contact:
    """The tenant's contact for this user, email, phone, WhatsApp or Telegram id (first match, in
    that order), completed with what is newly known; created if none matches. Flushed, not committed
    (`flush=False`: a new contact is left pending, for a caller that inserts it with its ticket)."""
    email = normalize_email(email or (user.email if user is not None else "")) or None
    phone = (phone or "").strip() or None
    keys = [
        ("user_id", user.id if user is not None else None),
        ("email", email),
        ("phone", phone),
        ("whatsapp_id", whatsapp_id),
        ("telegram_id", telegram_id),
    ]
    contact = _first_contact(keys)
    if contact is None and db.session.get_bind().dialect.name == "postgresql":
        # The same new person made by two requests at once (two agents, a mail and a chat, two
        # servers): the second waits, until the first commits, on a lock named by each of the
        # person's keys (always taken in the same order), then finds the first's contact.
        for column, value in keys:
            if value:
                db.session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": contact_lock_key(tenant.id, column, value)})
        contact = _first_contact(keys)
    if contact is None:
        contact = Contact(tenant_id=tenant.id)
        db.session.add(contact)
    if user is not None and contact.user_id is None:
        contact.user_id = user.id
    for attr, value in (("email", email), ("phone", phone), ("whatsapp_id", whatsapp_id), ("telegram_id", telegram_id)):
        if value and not getattr(contact, attr):
            setattr(contact, attr, value)
    name = name or (user.name if user is not None else "")
    if name and not contact.name:
        contact.name = name
    locale = locale or (user.locale if user is not None else None)
    if locale:
        contact.locale = tenant.best_locale(locale)
    if flush:
        db.session.flush()
    return contact


def _first_contact(keys: list[tuple[str, Any]]) -> Contact | None:
    for column, value in keys:
        if value:
            contact = db.session.scalar(_CONTACT_BY[column], {"value": value})
            if contact is not None:
                return contact
    return None


def contact_lock_key(tenant_id: int, column: str, value: Any) -> str:
    """The name of the PostgreSQL advisory lock under which a contact with this key is made."""
    return f"contact:{tenant_id}:{column}:{value}"


# The first contact with a given user id, email, phone, WhatsApp or Telegram id (built once, like _ADVANCE_COUNTER).
_CONTACT_BY = {
    name: select(Contact).where(getattr(Contact, name) == bindparam("value")).order_by(Contact.id).limit(1)
    for name in ("user_id", "email", "phone", "whatsapp_id", "telegram_id")
}


def seed_categories(tenant: Tenant) -> list[Category]:
    """Create (and commit) the generic categories the tenant does not have yet, routed as
    tenant.toml says. Called on first use, so a new tenant has categories without a setup step."""
    existing = {c.key for c in db.session.scalars(select(Category))}
    routing = tenant.settings.tiers.routing
    for position, (key, en, fr) in enumerate(GENERIC_CATEGORIES):
        if key not in existing:
            db.session.add(Category(tenant_id=tenant.id, key=key, names={"en": en, "fr": fr}, group_key=routing.get(key), position=position))
    try:
        db.session.commit()
    except IntegrityError:  # seeded meanwhile by a concurrent request
        db.session.rollback()
    return list_categories(tenant, active_only=False)


def list_categories(tenant: Tenant, active_only: bool = True) -> list[Category]:
    """The tenant's categories in their order (the generic ones are created on first use)."""
    ensure_categories(tenant)
    stmt = select(Category).order_by(Category.position, Category.key)
    if active_only:
        stmt = stmt.where(Category.is_active.is_(True))
    return list(db.session.scalars(stmt))


def get_category(tenant: Tenant, key: str | int | Category | None) -> Category | None:
    if key is None or key == "" or isinstance(key, Category):
        return key or None
    if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
        return db.session.get(Category, row_id(key)) if row_id(key) is not None else None
    return db.session.scalar(select(Category).where(Category.key == key))


def ensure_categories(tenant: Tenant) -> None:
    """Seed the generic categories if the tenant has none. Call it before changing anything:
    seeding commits. Categories are retired, never deleted, so once seen they are not counted
    again in the same session (a channel opening tickets in a loop asks once)."""
    seen = db.session.info.setdefault("tickets.tenants_with_categories", set())
    if tenant.id in seen:
        return
    if not db.session.scalar(select(func.count(Category.id))):
        seed_categories(tenant)
    seen.add(tenant.id)


def update_category(tenant: Tenant, actor: User, category: Category, *, names: dict[str, str], group_key: str | None, is_active: bool) -> None:
    """Rename a category, route it to another group or retire it."""
    if group_key and group_key not in tenant.settings.tiers.groups:
        raise TicketError(_("There is no group “%(group)s”.", group=group_key), 422)
    category.names = {**category.names, **{k: v for k, v in names.items() if v}}
    category.group_key = group_key or None
    category.is_active = is_active
    db.session.commit()


# -- groups and assignment ---------------------------------------------------------------------


def staff_members(tenant: Tenant) -> list[User]:
    """The tenant's active L1, L2 and administrator members, by name."""
    return list(
        db.session.scalars(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.role.in_(STAFF_ROLES), Membership.is_active.is_(True), User.is_active_account.is_(True))
            .order_by(User.name, User.email)
        )
    )


def group_members(tenant: Tenant, group_key: str | None) -> list[User]:
    """The active staff members of one of the tenant's groups, by email."""
    if not group_key or group_key not in tenant.settings.tiers.groups:
        return []
    return list(db.session.scalars(_GROUP_MEMBERS, {"group_key": group_key}))


_GROUP_MEMBERS = (  # built once, like _ADVANCE_COUNTER; the tenant's criteria are added at execution
    select(User)
    .join(GroupMember, GroupMember.user_id == User.id)
    .join(Membership, Membership.user_id == User.id)
    .where(GroupMember.group_key == bindparam("group_key"), Membership.role.in_(STAFF_ROLES), Membership.is_active.is_(True), User.is_active_account.is_(True))
    .order_by(User.email)
)


def tier_members(tenant: Tenant) -> list[Membership]:
    """Who works the desk: active L1, L2 and administrator memberships, by tier then email."""
    rows = db.session.scalars(
        select(Membership).join(Membership.user).options(contains_eager(Membership.user))
        .where(Membership.role.in_(STAFF_ROLES)).order_by(Membership.role, User.email)
    )
    return list(rows)


def membership_office(tenant: Tenant, user: User) -> str:
    membership = db.session.scalar(select(Membership).where(Membership.user_id == user.id))
    return membership.office if membership is not None else ""


def groups_of(tenant: Tenant, user: User) -> list[str]:
    """The keys of the groups `user` is in, in tenant.toml's order (whatever their role now)."""
    keys = set(db.session.scalars(select(GroupMember.group_key).where(GroupMember.user_id == user.id)))
    return [key for key in tenant.settings.tiers.groups if key in keys]


def group_placements(tenant: Tenant) -> dict[str, set[int]]:
    """Who is in each of the tenant's groups (user ids, active staff or not), by group key."""
    placed: dict[str, set[int]] = {key: set() for key in tenant.settings.tiers.groups}
    for key, user_id in db.session.execute(select(GroupMember.group_key, GroupMember.user_id)):
        if key in placed:  # a group since taken out of tenant.toml keeps its rows, unread
            placed[key].add(user_id)
    return placed


def default_group(tenant: Tenant, tier: str = Tier.L1.value) -> str | None:
    return next((key for key, g in tenant.settings.tiers.groups.items() if g.tier == tier), None)


def listed_groups(tenant: Tenant, user: User) -> list[str]:
    """The groups whose `members` in tenant.toml list `user`'s email: where they start, not where they are."""
    email = normalize_email(user.email)
    return [key for key, g in tenant.settings.tiers.groups.items() if email in {normalize_email(e) for e in g.members}]


def starting_groups(tenant: Tenant, user: User, role: Role) -> list[str]:
    """The groups a newcomer to the support desk joins when nobody chose: those tenant.toml lists them
    in, else the first group of their role's level (none for an administrator, who works at both)."""
    listed = listed_groups(tenant, user)
    if listed or Role(role).tier is None:
        return listed
    first = default_group(tenant, Role(role).tier)
    return [first] if first else []


def join_groups(tenant: Tenant, user: User, group_keys: Iterable[str]) -> list[str]:
    """Put `user` in the groups `group_keys` they are not in yet (never takes them out of one);
    returns the keys added. Flushed, not committed. A key tenant.toml does not define is refused."""
    keys = list(dict.fromkeys(group_keys))
    unknown = [key for key in keys if key not in tenant.settings.tiers.groups]
    if unknown:
        raise TicketError(_("There is no group “%(group)s”.", group=unknown[0]), 422)
    there = set(groups_of(tenant, user))
    added = [key for key in keys if key not in there]
    for key in added:
        db.session.add(GroupMember(tenant_id=tenant.id, group_key=key, user_id=user.id))
    db.session.flush()
    return added


@dataclass
class GroupChange:
    """What saving a group's members did: who joined, who left, and whether no active member is left."""

    added: list[User]
    removed: list[User]
    empty: bool


def set_group_members(tenant: Tenant, actor: User | None, group_key: str, user_ids: Iterable[int]) -> GroupChange:
    """Make the active support staff among `user_ids` the members of the group, and take the other
    active staff out of it; commit. Members not active now (deactivated, or moved off the desk) keep
    their place, which counts again if they come back: the page offers only active staff.

    Refused (TicketError), with nothing changed, for a group tenant.toml does not define (404) or an
    id that is not one of the tenant's active support staff (422): another country's people, say.
    A group left without members is allowed: its tickets wait in the queue (the caller warns)."""
    if group_key not in tenant.settings.tiers.groups:
        raise TicketError(_("There is no group “%(group)s”.", group=group_key), 404)
    staff = {user.id: user for user in staff_members(tenant)}
    wanted = set(user_ids)
    if not wanted <= staff.keys():
        raise TicketError(_("Only active support staff of %(country)s can be in its groups.", country=tenant.name), 422)
    rows = {row.user_id: row for row in db.session.scalars(select(GroupMember).where(GroupMember.group_key == group_key))}
    added = [user for user_id, user in staff.items() if user_id in wanted and user_id not in rows]
    removed = [user for user_id, user in staff.items() if user_id in rows and user_id not in wanted]
    for user in added:
        db.session.add(GroupMember(tenant_id=tenant.id, group_key=group_key, user_id=user.id))
    for user in removed:
        db.session.delete(rows[user.id])
    if added or removed:  # on the settings page's history, beside the other changes made in the portal
        db.session.add(TenantSettingChange(
            tenant_id=tenant.id, user_id=getattr(actor, "id", None), key=group_members_key(group_key),
            old_value=sorted(user.email for user_id, user in staff.items() if user_id in rows),
            new_value=sorted(user.email for user_id, user in staff.items() if user_id in wanted)))
    db.session.commit()
    return GroupChange(added, removed, empty=not wanted)


def group_members_key(group_key: str) -> str:
    """The key under which a change of the group's members is in the settings history."""
    return f"tiers.groups.{group_key}.members"


def seed_group_members(tenant: Tenant, settings: TenantSettings, previous: Mapping[str, Any] | None = None) -> int:
    """Put the support staff that tenant.toml's groups list (`members`) into those groups, when they
    are not there yet; never takes anyone out. Flushed, not committed; returns how many places were
    added. Called by a sync, with the tenant's new `settings` and, for a tenant that existed, its
    configuration before (`previous`): then only the emails listed since are seeded, so that someone
    an administrator took out of a group on the Tiers page stays out while the file is unchanged.

    People listed before they have a support role here join when they get one (`join_groups`, from
    `portal.auth.services.add_membership`)."""
    before = ((previous or {}).get("tiers") or {}).get("groups") or {}
    listed = {
        key: {normalize_email(e) for e in group.members} - {normalize_email(e) for e in (before.get(key) or {}).get("members") or []}
        for key, group in settings.tiers.groups.items()
    }
    emails = sorted(set().union(*listed.values()))
    if not emails:
        return 0
    with tenant_scope(db.session, tenant.id):  # a sync runs outside any tenant
        staff = dict(db.session.execute(
            select(User.email, User.id).join(Membership, Membership.user_id == User.id)
            .where(User.email.in_(emails), Membership.role.in_(STAFF_ROLES))
        ).all())
        if not staff:
            return 0
        there = set(db.session.execute(select(GroupMember.group_key, GroupMember.user_id).where(GroupMember.user_id.in_(staff.values()))).all())
        places = [(key, staff[email]) for key, group_emails in listed.items() for email in sorted(group_emails) if email in staff]
        new = [(key, user_id) for key, user_id in places if (key, user_id) not in there]
        db.session.add_all(GroupMember(tenant_id=tenant.id, group_key=key, user_id=user_id) for key, user_id in new)
        db.session.flush()
    return len(new)


@dataclass(frozen=True)
class Assignee:
    """Who a ticket goes to: what assigning needs of a user."""

    id: int
    email: str


def group_assignees(tenant: Tenant, group_key: str | None) -> tuple[Assignee, ...]:
    """`group_members` as assignees. Every new ticket asks, so each process keeps the answer while
    the version tokens (portal.core.versions) of the staff and of the tenant's groups, and the
    tenant's settings, are unchanged."""
    return versions.kept(
        "assignees", (tenant.id, group_key, tenant.updated_at), (STAFF, groups_version(tenant.id)),
        lambda: tuple(Assignee(user.id, user.email) for user in group_members(tenant, group_key)),
    )


def pick_assignee(tenant: Tenant, group_key: str | None) -> Assignee | None:
    """The next member of the group per `tiers.assignment` (None when manual or the group is empty)."""
    mode = tenant.settings.tiers.assignment
    if mode == "manual":
        return None
    members = group_assignees(tenant, group_key)
    if not members:
        return None
    if mode == "round_robin":
        turn = next_number(tenant, f"rr:{group_key}")
        return members[(turn - 1) % len(members)]
    loads = dict(
        db.session.execute(
            select(Ticket.assignee_id, func.count(Ticket.id))
            .where(Ticket.assignee_id.in_([m.id for m in members]), Ticket.status.in_(ACTIVE_STATUSES))
            .group_by(Ticket.assignee_id)
        ).all()
    )
    return min(members, key=lambda m: (loads.get(m.id, 0), m.email))


# -- SLA -------------------------------------------------------------------------------------


def _set_due_times(tenant: Tenant, ticket: Ticket) -> None:
    """Due times from the priority's targets, counted in business hours from the ticket's opening; the
    business hours it has already spent waiting on the requester are not on the resolution clock."""
    settings = tenant.settings
    target = getattr(settings.sla, ticket.priority)
    hours, tz = settings.support.business_hours, settings.tz
    start = ticket.created_at
    ticket.first_response_due_at = add_business_hours(start, target.first_response_hours, hours, tz)
    waited = ticket.waiting_hours or 0.0
    ticket.resolution_due_at = add_business_hours(start, target.resolution_hours + waited, hours, tz)


def _leave_waiting(tenant: Tenant, ticket: Ticket, now: dt.datetime) -> None:
    """The resolution clock stops while the requester is asked for something: move the due time."""
    if ticket.waiting_since is None:
        return
    settings = tenant.settings
    hours, tz = settings.support.business_hours, settings.tz
    paused = business_hours_between(ticket.waiting_since, now, hours, tz)
    ticket.waiting_hours = (ticket.waiting_hours or 0.0) + paused
    if ticket.resolution_due_at is not None and paused > 0 and not ticket.resolution_breached:
        ticket.resolution_due_at = add_business_hours(ticket.resolution_due_at, paused, hours, tz)
    ticket.waiting_since = None


# -- opening and the conversation ---------------------------------------------------------------


def _transcript_note(tenant: Tenant, transcript: Sequence[dict[str, Any]]) -> str:
    """The assistant conversation as an internal note, its speakers named in the country's language."""
    with force_locale(tenant.default_locale):
        names = {"user": _("Requester"), "assistant": _("Assistant")}
        lines = []
        for turn in transcript:
            who = str(turn.get("role") or turn.get("author") or "?")
            text = str(turn.get("text") or turn.get("content") or "").strip()
            if not text and turn.get("handoff"):
                text = _("No answer: a person was offered.")
            if turn.get("title"):
                text = f"{text}\n[{turn['title']}{' ' + turn['url'] if turn.get('url') else ''}]".strip()
            lines.append(_("%(label)s: %(value)s", label=names.get(who, who), value=text))
    return "\n\n".join(lines)


def open_ticket(
    tenant: Tenant,
    actor: User | None,
    *,
    requester: Contact | User,
    subject: str,
    body: str,
    channel: str = "web",
    category: str | int | Category | None = None,
    priority: str = "normal",
    attachments: Iterable[tuple[str, Any]] = (),
    locale: str | None = None,
    office: str | None = None,
    transcript: Sequence[dict[str, Any]] | None = None,
    opencrvs_version: str | None = None,
    kb_suggestion_opened: bool = False,
    before_commit: Callable[[Ticket, Message], None] | None = None,
) -> Ticket:
    """Open a ticket for `requester` (a Contact, or a User whose contact is found or made).

    Numbers it, routes it to the category's group, assigns it per the tenant's policy, sets the SLA
    due times, stores the body as the requester's first message (and an assistant transcript as
    the first internal note), records the audit trail, commits and sends `ticket_opened`.
    `attachments` are (filename, binary stream) pairs. `before_commit(ticket, first_message)` runs
    inside the transaction just before the commit: what the caller writes there (a channel's inbox
    row, an acknowledgement in the outbox) commits with the ticket, or not at all.
    """
    subject = one_line(subject)
    body = (body or "").strip()
    if not subject:
        raise TicketError(_("Please give your request a subject."), 422)
    if not body:
        raise TicketError(_("Please describe the problem."), 422)
    try:
        priority = Priority(priority).value
        channel = Channel(channel).value
    except ValueError:
        raise TicketError(_("Unknown priority or channel."), 422) from None
    ensure_categories(tenant)
    if isinstance(requester, User):
        requester = find_or_create_contact(tenant, user=requester, locale=locale)
    # The lookups below read configuration (categories, group members) that nothing pending in this
    # transaction changes: they flush nothing, and one flush inserts the requester (if new), the
    # ticket, its first message and its audit trail together.
    with db.session.no_autoflush:
        cat = get_category(tenant, category)
    if category not in (None, "") and cat is None:
        raise TicketError(_("Unknown category."), 422)
    files = list(attachments)
    try:
        number = next_number(tenant, "reference")
        now = utcnow()
        group_key = (cat.group_key if cat else None) or default_group(tenant)
        with db.session.no_autoflush:
            assignee = pick_assignee(tenant, group_key)  # before the insert, which then carries it
        ticket = Ticket(
            tenant_id=tenant.id,
            number=number,
            reference=format_reference(tenant, number),
            subject=subject[:300],
            priority=priority,
            channel=channel,
            category_id=cat.id if cat else None,
            group_key=group_key,
            contact=requester,
            requester_user_id=requester.user_id,
            opencrvs_version=opencrvs_version or tenant.opencrvs_version,
            office=(office or "").strip()[:200],
            locale=tenant.best_locale(locale or requester.locale),
            transcript=list(transcript) if transcript else None,
            kb_suggestion_opened=bool(kb_suggestion_opened),
            assignee_id=assignee.id if assignee is not None else None,
            created_at=now,
            last_activity_at=now,
        )
        _set_due_times(tenant, ticket)
        _index_words(ticket, f"{ticket.subject}\n{body}", new=True)
        db.session.add(ticket)
        first = Message(
            tenant_id=tenant.id,
            ticket=ticket,
            author_contact=requester,
            author_user_id=requester.user_id,
            body=body,
            is_public=True,
            channel=channel,
            created_at=now,
        )
        db.session.add(first)
        db.session.flush()
        events = [_event_row(ticket, actor, "created", None, ticket.reference, label=None if actor else requester.display_name)]
        if assignee is not None:
            events.append(_event_row(ticket, None, "assignee", None, assignee.email))
        # The audit trail of a new ticket is only written here, never read back: one INSERT for all
        # of it, in the ticket's tenant (checked when the ticket was inserted just above).
        db.session.connection().execute(insert(TicketEvent.__table__), events)
        _attach(tenant, ticket, first, files)
        if transcript:
            db.session.add(
                Message(tenant_id=tenant.id, ticket_id=ticket.id, body=_transcript_note(tenant, transcript), is_public=False, channel=Channel.ASSISTANT.value, created_at=now)
            )
        if before_commit is not None:
            before_commit(ticket, first)
        pending = _Pending()
        pending.add(signals.ticket_opened, tenant=tenant, ticket=ticket)
        pending.commit_and_send()
    except BaseException:
        db.session.rollback()
        raise
    return ticket


def refused_file(filename: str, data: bytes) -> str | None:
    """Why the desk would not keep this file (its type or its size), or None: a channel keeps the
    rest of a message whose one file is refused (an Outlook winmail.dat) instead of losing it all."""
    refused = storage_refusal(filename, data)
    return str(refused) if refused is not None else None


def _attach(tenant: Tenant, ticket: Ticket, message: Message, files: Iterable[tuple[str, Any]]) -> list[Attachment]:
    stored = []
    for filename, stream in files:
        info = store_file(tenant.id, filename, stream)
        row = Attachment(
            tenant_id=tenant.id,
            ticket_id=ticket.id,
            message_id=message.id,
            filename=info.filename,
            content_type=info.content_type,
            size=info.size,
            sha256=info.sha256,
            storage_path=info.storage_path,
        )
        db.session.add(row)
        stored.append(row)
    db.session.flush()
    return stored


def _mentions(tenant: Tenant, body: str) -> list[User]:
    emails = {normalize_email(m) for m in MENTION_RE.findall(body)}
    if not emails:
        return []
    return [u for u in staff_members(tenant) if u.email in emails]


def add_message(
    tenant: Tenant,
    actor: User | None,
    ticket: Ticket,
    *,
    body: str,
    public: bool = True,
    channel: str | None = None,
    author_contact: Contact | None = None,
    attachments: Iterable[tuple[str, Any]] = (),
    in_reply_to: Message | None = None,
    before_commit: Callable[[Ticket, Message], None] | None = None,
    status: str | Status | None = None,
) -> Message:
    """Post to a ticket: a staff reply or internal note (actor is staff), or the requester's message
    (actor is the requester's user, or `author_contact` for a channel).

    A first staff reply stops the first-response clock and opens a new ticket; a requester's message
    reopens a ticket that was waiting on them or resolved. A closed ticket takes no more messages.
    Colleagues named as @email are mentioned. Sends `message_posted` for a staff public reply, and
    `requester_replied` for the requester's message to a ticket a colleague holds.
    `status`: staff then set this status, in the same transaction, and the requester is told as
    `change_status` tells them: a public reply carries the notice (a resolved ticket's rating link),
    so they get one message, not two.
    `before_commit(ticket, message)` runs inside the transaction just before the commit (see open_ticket).
    """
    body = (body or "").strip()
    if not body:
        raise TicketError(_("The message is empty."), 422)
    new_status = _status_by_hand(status) if status else None
    lock(ticket)
    status = Status(ticket.status)
    if status is Status.CLOSED:
        raise TicketError(_("This request is closed. Please open a new one."), 409)
    staff_actor = author_contact is None and actor is not None and is_staff(tenant, actor)
    staff = staff_actor and actor.id != ticket.requester_user_id  # a staff member on their own request writes as its requester
    if author_contact is None and not staff:
        if actor is None or actor.id != ticket.requester_user_id:
            raise TicketError(_("Only the requester and the support team can write here."), 403)
        author_contact = ticket.contact
    if not public and not staff:
        raise TicketError(_("Only the support team can write internal notes."), 403)
    # A staff member may set the status with their message even on a request of their own (written
    # as its requester): the status is the desk's, whoever asked.
    sets_status = new_status is not None and staff_actor
    if new_status is not None and not (staff or sets_status):
        raise TicketError(_("You cannot change the status of this request."), 403)
    now = utcnow()
    message = Message(
        tenant_id=tenant.id,
        ticket_id=ticket.id,
        author_user_id=actor.id if actor is not None else (author_contact.user_id if author_contact else None),
        author_contact_id=author_contact.id if author_contact is not None else None,
        body=body,
        is_public=public,
        is_from_staff=staff,
        channel=Channel(channel or (Channel.WEB if actor is not None else ticket.channel)).value,
        in_reply_to_id=in_reply_to.id if in_reply_to is not None else None,
        created_at=now,
    )
    pending = _Pending()
    try:
        db.session.add(message)
        db.session.flush()
        _attach(tenant, ticket, message, attachments)
        ticket.last_activity_at = now
        _index_words(ticket, body)
        if staff and public:
            if ticket.first_responded_at is None:
                ticket.first_responded_at = now
                _record(ticket, actor, "first_response", None, now.isoformat(timespec="seconds"))
            if status is Status.NEW:
                _set_status(tenant, actor, ticket, Status.OPEN, now)
            pending.add_in_transaction(signals.message_posted, tenant=tenant, ticket=ticket, message=message)
        elif not staff and status in (Status.WAITING, Status.RESOLVED):
            _set_status(tenant, actor, ticket, Status.OPEN, now, label=author_contact.display_name if actor is None else None)
        if not staff and ticket.assignee_id is not None and ticket.assignee_id != message.author_user_id:
            # Queued with the message (the notice to staff commits with it, in the system mail queue).
            pending.add_in_transaction(signals.requester_replied, tenant=tenant, ticket=ticket, message=message,
                                       reopened=status is Status.RESOLVED)
        if new_status is not None and (staff or sets_status):
            _change_status_telling_requester(tenant, actor, ticket, new_status, pending, notify=True, reply=message if public and staff else None)
        if staff:
            for user in _mentions(tenant, body):
                db.session.add(Mention(tenant_id=tenant.id, message_id=message.id, user_id=user.id))
                pending.add(signals.colleague_mentioned, tenant=tenant, ticket=ticket, message=message, user=user)
        if before_commit is not None:
            before_commit(ticket, message)
        pending.commit_and_send()
    except BaseException:
        db.session.rollback()
        raise
    return message


def lock(*tickets: Ticket) -> None:
    """Hold the tickets' rows until this transaction ends, and read them again.

    Every change to a ticket starts here, so that two requests changing the same ticket at once
    (two agents, two app servers, a reply and a job) take turns: the second waits for the first's
    commit and then checks the ticket as it is now, not as it was when its request began. Rows are
    locked in id order, so two merges of the same pair cannot wait for each other. PostgreSQL
    holds the rows; SQLite lets one writer in at a time and only reads them again."""
    db.session.flush()
    ids = sorted({ticket.id for ticket in tickets})
    db.session.execute(select(Ticket).where(Ticket.id.in_(ids)).order_by(Ticket.id).with_for_update(of=Ticket)
                       .execution_options(populate_existing=True)).all()


# -- status, assignment and fields ----------------------------------------------------------------


def _set_status(tenant: Tenant, actor: User | None, ticket: Ticket, new: Status, now: dt.datetime, label: str | None = None) -> None:
    old = Status(ticket.status)
    if new is old:
        return
    if new not in TRANSITIONS[old]:
        raise TicketError(_("A ticket that is “%(old)s” cannot become “%(new)s”.", old=old.label, new=new.label), 409)
    if old is Status.WAITING:
        _leave_waiting(tenant, ticket, now)
    if new is Status.WAITING:
        ticket.waiting_since = now
    if new is Status.RESOLVED:
        ticket.resolved_at = now
    if new is Status.CLOSED:
        ticket.closed_at = now
    if new is Status.OPEN and old in (Status.RESOLVED,):
        ticket.resolved_at = None
    ticket.status = new.value
    ticket.last_activity_at = now
    _record(ticket, actor, "status", old.value, new.value, label=label)


# What the requester is told when staff change the status without writing to them.
def _status_notice(status: Status, rating_link: str | None = None) -> str | None:
    if status is Status.RESOLVED and rating_link:
        return _("We consider this request solved. If the problem is still there, just reply and we will reopen it. "
                 "How well did we help? Rate us from 1 to 5: %(link)s", link=rating_link)
    if status is Status.RESOLVED:
        return _("We consider this request solved. If the problem is still there, just reply and we will reopen it. You can also rate our help on the request's page.")
    if status is Status.CLOSED:
        return _("This request is closed. If you need more help, please open a new request.")
    return None


def _status_by_hand(value: str | Status, current: str | None = None) -> Status:
    """The status a person asked for, by its value; refused when unknown, or when only a workflow
    sets it ("Escalated": see `Status.is_hand_picked`) and the ticket does not have it already."""
    try:
        status = Status(value)
    except ValueError:
        raise TicketError(_("Unknown status."), 422) from None
    if not status.is_hand_picked and status.value != current:
        raise TicketError(_("A ticket becomes “%(status)s” only when it is escalated, with a reason, from its escalation panel.", status=status.label), 422)
    return status


def change_status(tenant: Tenant, actor: User | None, ticket: Ticket, status: str | Status, *, notify: bool = True) -> None:
    """Move the ticket to `status` if the transition table allows it (never to "Escalated", which
    only an escalation sets). A requester may only close
    their ticket or reopen a resolved one; staff and the system (actor None) may make any allowed move. When staff resolve or close a ticket (and `notify`), the
    requester gets a short public notice in their language (sent as `message_posted`)."""
    new = _status_by_hand(status)
    lock(ticket)
    staff = actor is None or is_staff(tenant, actor)  # None: a system job or a channel
    if not staff:
        requester = actor.id == ticket.requester_user_id
        if not requester or new not in (Status.CLOSED, Status.OPEN):
            raise TicketError(_("You cannot change the status of this request."), 403)
        if new is Status.OPEN and ticket.status != Status.RESOLVED.value:
            raise TicketError(_("You cannot change the status of this request."), 403)
    pending = _Pending()
    try:
        _change_status_telling_requester(tenant, actor, ticket, new, pending, notify=staff and notify)
        pending.commit_and_send()
    except BaseException:
        db.session.rollback()
        raise


def _change_status_telling_requester(tenant: Tenant, actor: User | None, ticket: Ticket, new: Status, pending: _Pending, notify: bool,
                                     reply: Message | None = None) -> None:
    """Set the status and, when `notify` and the requester should know (resolved, closed), tell them:
    at the end of `reply` (a public staff reply about to be sent) so that they get one message with
    both, else in a notice of its own."""
    now = utcnow()
    old = ticket.status
    _set_status(tenant, actor, ticket, new, now)
    if not notify or old == new.value or _status_notice(new) is None:
        return
    with force_locale(ticket.locale or tenant.default_locale):
        text = _status_notice(new, _rating_link(tenant, ticket) if new is Status.RESOLVED else None)
    if reply is not None:
        reply.body = f"{reply.body}\n\n{text}"
        return
    message = Message(tenant_id=tenant.id, ticket_id=ticket.id, body=text, is_public=True, is_from_staff=True, channel=Channel.SYSTEM.value, created_at=now)
    db.session.add(message)
    db.session.flush()
    pending.add_in_transaction(signals.message_posted, tenant=tenant, ticket=ticket, message=message)


def assign(tenant: Tenant, actor: User | None, ticket: Ticket, user: User | None, *, seen_assignee_id: int | None | EllipsisType = ...) -> None:
    """Give the ticket to `user` (a staff member of the tenant) or to nobody (None).

    `seen_assignee_id`: whom the ticket was with on the page the actor acted from (None: nobody).
    If a colleague took it meanwhile, the actor is told instead of taking it from them unknowingly."""
    if user is not None and user.id not in {u.id for u in staff_members(tenant)}:
        raise TicketError(_("Tickets can only be assigned to the support team."), 422)
    lock(ticket)
    if (user.id if user else None) == ticket.assignee_id:
        return
    if seen_assignee_id is not ... and ticket.assignee_id != seen_assignee_id:
        holder = ticket.assignee.display_name if ticket.assignee else _("nobody")
        raise TicketError(_("Meanwhile this ticket was given to %(name)s. Look again before taking it.", name=holder), 409)
    old = ticket.assignee.email if ticket.assignee else None
    ticket.assignee_id = user.id if user else None
    _record(ticket, actor, "assignee", old, user.email if user else None)
    pending = _Pending()
    _tell_assignee(pending, tenant, actor, ticket, user)
    pending.commit_and_send()


def _tell_assignee(pending: _Pending, tenant: Tenant, actor: User | None, ticket: Ticket, user: User | None, reason: str | None = None) -> None:
    """A colleague gave the ticket to `user`: they are told once it is committed (not when they took it)."""
    if user is not None and actor is not None and user.id != actor.id:
        pending.add(signals.ticket_assigned, tenant=tenant, ticket=ticket, actor=actor, assignee=user, reason=reason)


def update_ticket(tenant: Tenant, actor: User | None, ticket: Ticket, **changes: Any) -> list[str]:
    """Change any of: status, priority, category, assignee (User or None), group, office, subject.
    Each change is checked and audited; the whole update is one transaction. Returns the names of
    the fields that changed.

    Not the tier: a ticket moves between tiers only through `portal.escalation.services`, which
    asks for a reason and records the step with its service level."""
    if "tier" in changes:
        raise TicketError(_("The tier changes only by escalating the ticket or sending it back, with a reason."), 422)
    return _update_ticket(tenant, actor, ticket, changes)


def change_tier(tenant: Tenant, actor: User | None, ticket: Ticket, tier: str, *, reason: str | None = None, **changes: Any) -> list[str]:
    """Move the ticket to `tier`, with any other change `update_ticket` accepts, in one transaction.

    For `portal.escalation.services` only: it adds the tier step (reason, details, service level)
    to the session first, so the step and the move commit together. The `reason` of the move is told
    to whoever the ticket is given to. The one way, with `route_to_l2`, to the status "Escalated"."""
    return _update_ticket(tenant, actor, ticket, {**changes, "tier": tier}, reason=reason, by_hand=False)


def _update_ticket(tenant: Tenant, actor: User | None, ticket: Ticket, changes: dict[str, Any], reason: str | None = None,
                   given: list[Ticket] | None = None, by_hand: bool = True) -> list[str]:
    """`update_ticket`'s work. `given`: a list the ticket joins when it is given to a colleague,
    instead of that colleague being told at once (a bulk change tells them once, of all).
    `by_hand`: a person chose the status (the escalation workflow is not, and may set "Escalated")."""
    changed: list[str] = []
    pending = _Pending()
    ensure_categories(tenant)
    lock(ticket)
    try:
        if "priority" in changes and changes["priority"] != ticket.priority:
            try:
                priority = Priority(changes["priority"]).value
            except ValueError:
                raise TicketError(_("Unknown priority."), 422) from None
            _record(ticket, actor, "priority", ticket.priority, priority)
            ticket.priority = priority
            _set_due_times(tenant, ticket)
            changed.append("priority")
        if "category" in changes:
            cat = get_category(tenant, changes["category"])
            if changes["category"] not in (None, "") and cat is None:
                raise TicketError(_("Unknown category."), 422)
            if (cat.id if cat else None) != ticket.category_id:
                _record(ticket, actor, "category", ticket.category.key if ticket.category else None, cat.key if cat else None)
                ticket.category_id = cat.id if cat else None
                ticket.category = cat
                changed.append("category")
        if "group" in changes and (changes["group"] or None) != ticket.group_key:
            group = changes["group"] or None
            if group is not None and group not in tenant.settings.tiers.groups:
                raise TicketError(_("There is no group “%(group)s”.", group=group), 422)
            _record(ticket, actor, "group", ticket.group_key, group)
            ticket.group_key = group
            changed.append("group")
        if "tier" in changes and changes["tier"] != ticket.tier:
            try:
                tier = Tier(changes["tier"]).value
            except ValueError:
                raise TicketError(_("Unknown tier."), 422) from None
            _record(ticket, actor, "tier", ticket.tier, tier)
            ticket.tier = tier
            changed.append("tier")
        for name, limit in (("office", 200), ("subject", 300)):
            if name in changes and one_line(changes[name]) != getattr(ticket, name):
                value = one_line(changes[name])[:limit]
                if name == "subject" and not value:
                    raise TicketError(_("Please give your request a subject."), 422)
                _record(ticket, actor, name, getattr(ticket, name), value)
                setattr(ticket, name, value)
                if name == "subject":
                    _index_words(ticket, value)
                changed.append(name)
        if "assignee" in changes:
            user = changes["assignee"]
            if (user.id if user else None) != ticket.assignee_id:
                if user is not None and user.id not in {u.id for u in staff_members(tenant)}:
                    raise TicketError(_("Tickets can only be assigned to the support team."), 422)
                _record(ticket, actor, "assignee", ticket.assignee.email if ticket.assignee else None, user.email if user else None)
                ticket.assignee_id = user.id if user else None
                if given is not None and user is not None and actor is not None and user.id != actor.id:
                    given.append(ticket)
                else:
                    _tell_assignee(pending, tenant, actor, ticket, user, reason)
                changed.append("assignee")
        if "status" in changes and changes["status"] and changes["status"] != ticket.status:
            new = _status_by_hand(changes["status"], ticket.status) if by_hand else Status(changes["status"])
            _change_status_telling_requester(tenant, actor, ticket, new, pending, notify=True)
            changed.append("status")
        pending.commit_and_send()
    except BaseException:
        db.session.rollback()
        raise
    return changed


def route_to_l2(tenant: Tenant, actor: User | None, ticket: Ticket) -> None:
    """Hand the ticket to the national technicians: tier L2, the first L2 group, next member.

    The routing half of an escalation to L2: only `portal.escalation.services` calls it, after
    adding the tier step (reason, service level) to the session; both commit here."""
    group = default_group(tenant, Tier.L2.value)
    try:
        if ticket.tier != Tier.L2.value:
            _record(ticket, actor, "tier", ticket.tier, Tier.L2.value)
            ticket.tier = Tier.L2.value
        if group and group != ticket.group_key:
            _record(ticket, actor, "group", ticket.group_key, group)
            ticket.group_key = group
        assignee = pick_assignee(tenant, group)
        if (assignee.id if assignee else None) != ticket.assignee_id:
            _record(ticket, actor, "assignee", ticket.assignee.email if ticket.assignee else None, assignee.email if assignee else None)
            ticket.assignee_id = assignee.id if assignee else None
        if ticket.status != Status.ESCALATED.value:
            _set_status(tenant, actor, ticket, Status.ESCALATED, utcnow())
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def rate_ticket(tenant: Tenant, actor: User | None, ticket: Ticket, rating: int, comment: str = "", *, token: str | None = None) -> None:
    """The requester rates a resolved or closed ticket from 1 to 5, with an optional comment: signed
    in (`actor` is the requester), or through the link of the resolution message (`token`, see
    `rating_token`), which also serves requesters who write by email or WhatsApp without an account."""
    by_link = token is not None and ticket_of_rating_token(tenant, token) == ticket.id
    if not by_link and (actor is None or actor.id != ticket.requester_user_id):
        raise TicketError(_("Only the requester can rate this request."), 403)
    if ticket.merged_into_id is not None:
        raise TicketError(_("This request was merged into %(reference)s; it cannot be rated any more.", reference=ticket.merged_into.reference), 409)
    if ticket.status not in (Status.RESOLVED.value, Status.CLOSED.value):
        raise TicketError(_("You can rate a request once it is resolved."), 409)
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise TicketError(_("Choose a rating from 1 to 5."), 422)
    _record(ticket, actor if not by_link else None, "rating", ticket.rating, rating, label=ticket.contact.display_name if by_link else None)
    ticket.rating = rating
    ticket.rating_comment = (comment or "").strip()[:2000]
    db.session.commit()


RATING_LINK_DAYS = 30


def _rating_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="ticket-rating")


def rating_token(tenant: Tenant, ticket: Ticket) -> str:
    """A signed token that lets whoever received the resolution message rate `ticket`, for RATING_LINK_DAYS."""
    return _rating_serializer().dumps([tenant.id, ticket.id])


def ticket_of_rating_token(tenant: Tenant, token: str) -> int | None:
    """The id of the ticket a valid, unexpired rating token of `tenant` names, else None."""
    try:
        tenant_id, ticket_id = _rating_serializer().loads(token, max_age=RATING_LINK_DAYS * 86400)
    except (BadSignature, SignatureExpired, ValueError, TypeError):
        return None
    return ticket_id if tenant_id == tenant.id and isinstance(ticket_id, int) else None


def ticket_for_rating_token(tenant: Tenant, reference: str, token: str) -> Ticket | None:
    """The ticket `reference` of `tenant` if `token` is a valid rating token for it."""
    ticket = get_ticket_by_reference(tenant, reference)
    return ticket if ticket is not None and ticket_of_rating_token(tenant, token) == ticket.id else None


def _rating_link(tenant: Tenant, ticket: Ticket) -> str | None:
    """The address of the rating page of `ticket`, or None when no address can be built (a job
    outside a request without SERVER_NAME)."""
    return external_url("tickets.rate_by_link", tenant=tenant.slug, reference=ticket.reference, token=rating_token(tenant, ticket))


def merge_tickets(tenant: Tenant, actor: User, duplicate: Ticket, target: Ticket) -> bool:
    """Close `duplicate` as merged into `target`; its first message is quoted on the target as an
    internal note. Nothing is deleted: the duplicate keeps its conversation and links to the target.

    The duplicate's requester is told, on their channel and in their language, that their request
    continues as the target (sent as `message_posted`, in the merge's transaction). Returns whether
    the two tickets have different requesters: the duplicate's is then not the target's, and the
    desk should know that two people wait for the answer."""
    if duplicate.id == target.id:
        raise TicketError(_("A ticket cannot be merged into itself."), 422)
    lock(duplicate, target)
    if target.merged_into_id is not None or target.status == Status.CLOSED.value:
        raise TicketError(_("Merge into an open ticket."), 409)
    if duplicate.merged_into_id is not None:
        raise TicketError(_("%(ref)s is already merged.", ref=duplicate.reference), 409)
    now = utcnow()
    other_requester = duplicate.contact_id != target.contact_id
    pending = _Pending()
    try:
        first = db.session.scalar(select(Message).where(Message.ticket_id == duplicate.id).order_by(Message.id).limit(1))
        quoted = "\n".join("> " + line for line in (first.body if first else "").splitlines())
        note = _("Merged %(ref)s (%(subject)s) into this ticket.", ref=duplicate.reference, subject=duplicate.subject)
        if other_requester:
            note += " " + _("Its requester, %(name)s, is not this ticket's: they were told that their request was closed, "
                            "and that replying to it opens a new request.", name=duplicate.contact.display_name)
        db.session.add(Message(tenant_id=tenant.id, ticket_id=target.id, author_user_id=actor.id, body=f"{note}\n\n{quoted}", is_public=False, is_from_staff=True, channel=Channel.SYSTEM.value, created_at=now))
        duplicate.merged_into_id = target.id
        _record(duplicate, actor, "merged_into", None, target.reference)
        _record(target, actor, "merged", None, duplicate.reference)
        if duplicate.status != Status.CLOSED.value:
            if Status.CLOSED not in TRANSITIONS[Status(duplicate.status)]:
                raise TicketError(_("%(ref)s cannot be closed.", ref=duplicate.reference), 409)
            _set_status(tenant, actor, duplicate, Status.CLOSED, now)
        target.last_activity_at = now
        with force_locale(duplicate.locale or tenant.default_locale):
            if other_requester:  # the target is someone else's: its replies will not reach this requester
                text = _("We are handling this request together with another one about the same problem, so this one is closed. "
                         "If you still need help, reply to this message: it opens a new request.")
            else:  # replies by mail or chat to either reference reach the target (portal.channels.routing)
                text = _("We are handling this request together with %(reference)s, which is about the same problem, so this one is closed: "
                         "your request continues as %(reference)s.", reference=target.reference)
        notice = Message(tenant_id=tenant.id, ticket_id=duplicate.id, body=text, is_public=True, is_from_staff=True, channel=Channel.SYSTEM.value, created_at=now)
        db.session.add(notice)
        db.session.flush()
        pending.add_in_transaction(signals.message_posted, tenant=tenant, ticket=duplicate, message=notice)
        pending.commit_and_send()
    except BaseException:
        db.session.rollback()
        raise
    return other_requester


BULK_ACTIONS = ("assign", "status", "priority", "category")


def bulk_update(tenant: Tenant, actor: User, references: Sequence[str], action: str, value: Any) -> tuple[int, list[str]]:
    """Apply one change to several tickets; returns (how many changed, problems by reference)."""
    if action not in BULK_ACTIONS:
        raise TicketError(_("Unknown action."), 422)
    if action == "status":
        _status_by_hand(value)  # refused for all the tickets at once, not once per ticket
    done, problems = 0, []
    key = "assignee" if action == "assign" else action
    given: list[Ticket] = []
    for reference in references:
        ticket = get_ticket_by_reference(tenant, reference)
        if ticket is None:
            continue
        try:
            if _update_ticket(tenant, actor, ticket, {key: value}, given=given):
                done += 1
        except TicketError as exc:
            problems.append(f"{ticket.reference}: {exc.message}")
    if len(given) == 1:
        pending = _Pending()
        _tell_assignee(pending, tenant, actor, given[0], value)
        pending.commit_and_send()
    elif given:  # one mail for the lot, not one per ticket
        signals.tickets_assigned.send(current_app._get_current_object(), tenant=tenant, tickets=given, actor=actor, assignee=value)
    return done, problems


# -- reading ---------------------------------------------------------------------------------------


def get_ticket_by_reference(tenant: Tenant, reference: str) -> Ticket | None:
    """The tenant's ticket with this reference, as people type it (see `typed_reference`), or None."""
    reference = typed_reference(tenant, reference)
    if reference is None:
        return None
    return db.session.scalar(select(Ticket).where(Ticket.reference == reference))


def ticket_for(tenant: Tenant, user: User | None, reference: str) -> Ticket | None:
    """The ticket if `user` may see it: staff see every ticket of the tenant, requesters their own."""
    ticket = get_ticket_by_reference(tenant, reference)
    return ticket if ticket is not None and may_see(tenant, user, ticket) else None


def may_see(tenant: Tenant, user: User | None, ticket: Ticket) -> bool:
    """Whether `user` may see the ticket: staff see every ticket of the tenant, requesters their own."""
    return user is not None and (is_staff(tenant, user) or ticket.requester_user_id == user.id)


def conversation(ticket: Ticket, include_internal: bool) -> list[Message]:
    """The ticket's messages in order, with their attachments and authors (read in three queries,
    not three per message)."""
    stmt = (select(Message).where(Message.ticket_id == ticket.id).order_by(Message.created_at, Message.id)
            .options(selectinload(Message.attachments), selectinload(Message.author_user), selectinload(Message.author_contact)))
    if not include_internal:
        stmt = stmt.where(Message.is_public.is_(True))
    return list(db.session.scalars(stmt))


def written_since(ticket: Ticket, seen: int | None, reader: User) -> list[Message]:
    """The messages of `ticket` after message `seen` that someone other than `reader` wrote (the
    requester's new reply, a colleague's answer or note): what the reader had not seen while typing."""
    if seen is None:
        return []
    return list(db.session.scalars(
        select(Message).where(Message.ticket_id == ticket.id, Message.id > seen,
                              or_(Message.author_user_id.is_(None), Message.author_user_id != reader.id))
        .order_by(Message.created_at, Message.id).options(selectinload(Message.author_user), selectinload(Message.author_contact))
    ))


def audit_trail(ticket: Ticket) -> list[TicketEvent]:
    return list(db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.created_at, TicketEvent.id)))


def merged_into_this(ticket: Ticket) -> list[Ticket]:
    return list(db.session.scalars(select(Ticket).where(Ticket.merged_into_id == ticket.id).order_by(Ticket.number)))


def get_attachment(tenant: Tenant, user: User | None, attachment_id: int) -> Attachment | None:
    """The attachment if `user` may see its ticket and message (internal-note files: staff only)."""
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or user is None:
        return None
    ticket = attachment.ticket
    if is_staff(tenant, user):
        return attachment
    if ticket.requester_user_id == user.id and (attachment.message is None or attachment.message.is_public):
        return attachment
    return None


QUEUE_VIEWS = ("unassigned", "mine", "group", "breaching", "waiting", "all")


@dataclass
class QueueFilters:
    view: str = "all"
    status: str | None = None
    category: str | None = None
    priority: str | None = None
    assignee: str | None = None  # a user id, or "none"
    q: str | None = None
    requester_user_id: int | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> QueueFilters:
        """The filters of a queue page's query string (the page itself, its CSV export): a status or
        priority the desk does not know is ignored, as if it were not given."""
        return cls(
            view=args.get("view", "all"),
            status=args.get("status") if args.get("status") in {s.value for s in Status} else None,
            category=args.get("category") or None,
            priority=args.get("priority") if args.get("priority") in {p.value for p in Priority} else None,
            assignee=args.get("assignee") or None,
            q=(args.get("q") or "").strip()[:200] or None,
        )


def _on_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def search_text(text: str) -> str:
    """Text as the ticket search keeps and compares it: lower case, without accents, so that
    "declaration" finds "Déclaration" (phones often type without accents)."""
    return strip_accents(text.lower())


def _index_words(ticket: Ticket, text: str, new: bool = False) -> None:
    """Add `text` to the ticket's search document (set by SQL at flush, never read back)."""
    text = search_text(text)
    if _on_postgresql():
        words = func.to_tsvector("simple", text)
        ticket.search_document = words if new else func.coalesce(Ticket.search_document, func.to_tsvector("simple", "")).op("||")(words)
    else:
        # `||`, not `+`: the column's type is PostgreSQL's tsvector, for which `+` would mean a sum
        # (SQLite then stored 0, and a ticket with a reply could no longer be found by its words).
        ticket.search_document = text if new else func.coalesce(Ticket.search_document, "").op("||")(" " + text)


def _text_condition(tenant: Tenant, q: str):
    """Tickets whose words begin with the query's words (on either database), or whose reference it
    is as people type one ("far-98", or the number alone: see `typed_reference`)."""
    q = q.strip()
    options = []
    if (reference := typed_reference(tenant, q)) is not None:
        options.append(Ticket.reference == reference)
    if _on_postgresql():
        # Each word as a prefix ("certif" finds "certificate"), as the LIKE of SQLite does. A word is
        # quoted whole, so PostgreSQL's parser reads "1.9.3" or "photo.jpg" as it indexed them.
        terms = ["'" + word.replace("\\", "\\\\").replace("'", "''") + "':*" for word in search_text(q).split()]
        options.append(Ticket.search_document.op("@@")(func.to_tsquery("simple", " & ".join(terms))) if terms else false())
    else:
        words = search_text(q).split()
        options.append(and_(*(Ticket.search_document.like("%" + like_escaped(word) + "%", escape="\\") for word in words)) if words else false())
    return or_(*options)



def queue_query(tenant: Tenant, user: User, filters: QueueFilters, now: dt.datetime | None = None):
    """The SELECT for a queue view with filters (newest activity first; breaching: soonest due)."""
    now = now or utcnow()
    stmt = select(Ticket).where(Ticket.merged_into_id.is_(None))
    view = filters.view if filters.view in QUEUE_VIEWS else "all"
    if view == "unassigned":
        stmt = stmt.where(Ticket.assignee_id.is_(None))
    elif view == "mine":
        stmt = stmt.where(Ticket.assignee_id == user.id)
    elif view == "group":
        stmt = stmt.where(Ticket.group_key.in_(groups_of(tenant, user) or ["-"]))
    elif view == "breaching":
        stmt = stmt.where(
            or_(
                Ticket.first_response_breached.is_(True),
                Ticket.resolution_breached.is_(True),
                and_(Ticket.first_responded_at.is_(None), Ticket.first_response_due_at < now),
                Ticket.resolution_due_at < now,
            )
        )
    elif view == "waiting":
        stmt = stmt.where(Ticket.status == Status.WAITING.value)
    if filters.status:
        stmt = stmt.where(Ticket.status == filters.status)
    elif filters.requester_user_id is None and (view != "all" or not filters.q):
        # Agents see active work unless they search or ask for a status; requesters see everything of theirs.
        stmt = stmt.where(Ticket.status.in_(ACTIVE_STATUSES))
    if filters.category:
        cat = get_category(tenant, filters.category)
        stmt = stmt.where(Ticket.category_id == (cat.id if cat else -1))
    if filters.priority:
        stmt = stmt.where(Ticket.priority == filters.priority)
    if filters.assignee == "none":
        stmt = stmt.where(Ticket.assignee_id.is_(None))
    elif filters.assignee and str(filters.assignee).isdigit():
        stmt = stmt.where(Ticket.assignee_id == (row_id(filters.assignee) or -1))
    if filters.requester_user_id is not None:
        stmt = stmt.where(Ticket.requester_user_id == filters.requester_user_id)
    if filters.q and filters.q.strip():
        stmt = stmt.where(_text_condition(tenant, filters.q))
    if view == "breaching":
        return stmt.order_by(Ticket.resolution_due_at, Ticket.id)
    return stmt.order_by(Ticket.last_activity_at.desc(), Ticket.id.desc())


def list_queue(tenant: Tenant, user: User, filters: QueueFilters, page: int = 1, per_page: int = 25) -> tuple[list[Ticket], bool]:
    """One page of the queue, and whether there is a next page (no COUNT over the whole queue)."""
    page = max(1, page)
    stmt = (
        queue_query(tenant, user, filters)
        .options(selectinload(Ticket.assignee), selectinload(Ticket.category), selectinload(Ticket.contact))
        .offset((page - 1) * per_page)
        .limit(per_page + 1)
    )
    rows = list(db.session.scalars(stmt))
    return rows[:per_page], len(rows) > per_page


def queue_counts(tenant: Tenant, user: User) -> dict[str, int]:
    """How many active tickets each view holds (for the tabs)."""
    now = utcnow()
    active = Ticket.status.in_(ACTIVE_STATUSES) & Ticket.merged_into_id.is_(None)
    mine_groups = groups_of(tenant, user) or ["-"]
    overdue = or_(
        Ticket.first_response_breached.is_(True),
        Ticket.resolution_breached.is_(True),
        and_(Ticket.first_responded_at.is_(None), Ticket.first_response_due_at < now),
        Ticket.resolution_due_at < now,
    )
    # count(*) and columns all in ix_tickets_queue: an index-only scan on PostgreSQL.
    row = db.session.execute(
        select(
            func.count().filter(Ticket.assignee_id.is_(None)),
            func.count().filter(Ticket.assignee_id == user.id),
            func.count().filter(Ticket.group_key.in_(mine_groups)),
            func.count().filter(overdue),
            func.count().filter(Ticket.status == Status.WAITING.value),
            func.count(),
        )
        .select_from(Ticket)
        .where(active)
    ).one()
    return dict(zip(QUEUE_VIEWS, row))


def tickets_of_requester(tenant: Tenant, user: User, page: int = 1, per_page: int = 25) -> tuple[list[Ticket], bool]:
    """One page of the requests `user` sent, latest activity first, and whether there is a next page."""
    stmt = (select(Ticket).where(Ticket.requester_user_id == user.id).order_by(Ticket.last_activity_at.desc(), Ticket.id.desc())
            .offset((max(1, page) - 1) * per_page).limit(per_page + 1))
    rows = list(db.session.scalars(stmt))
    return rows[:per_page], len(rows) > per_page


# -- canned responses ------------------------------------------------------------------------------


def list_canned(tenant: Tenant, locale: str | None = None) -> list[CannedResponse]:
    stmt = select(CannedResponse).where(CannedResponse.is_active.is_(True)).order_by(CannedResponse.title)
    if locale:
        stmt = stmt.where(CannedResponse.locale == locale)
    return list(db.session.scalars(stmt))


def save_canned(tenant: Tenant, actor: User, *, title: str, locale: str, body: str, canned: CannedResponse | None = None) -> CannedResponse:
    """Create or change a canned response. Refused (TicketError) when a placeholder names no value of
    the country in `locale` nor of the ticket: a misspelt one would reach requesters as a blank."""
    from flask_babel import ngettext

    from portal.core.placeholders import check_placeholders
    from portal.kb.rendering import unknown_placeholders

    if locale not in tenant.locales:
        raise TicketError(_("This language is not offered here."), 422)
    problem = check_placeholders(body)
    if problem:
        raise TicketError(_("The text has a placeholder error: %(problem)s", problem=problem), 422)
    # The ticket's names, as render_canned fills them.
    values = tenant.settings.placeholder_values(locale) | {"ticket": dict.fromkeys(("reference", "subject", "requester"), "-")}
    unknown = unknown_placeholders(body, values)
    if unknown:
        raise TicketError(ngettext(
            "%(country)s has no value for %(names)s: requesters would see nothing in its place. Check the spelling.",
            "%(country)s has no value for %(names)s: requesters would see nothing in their place. Check the spelling.",
            len(unknown), country=tenant.name, names=", ".join("{{ %s }}" % name for name in unknown)), 422)
    if canned is None:
        canned = CannedResponse(tenant_id=tenant.id)
        db.session.add(canned)
    canned.title, canned.locale, canned.body = title.strip()[:200], locale, body
    db.session.commit()
    return canned


def retire_canned(tenant: Tenant, actor: User, canned: CannedResponse) -> None:
    canned.is_active = False  # kept: replies already sent cite it
    db.session.commit()


def render_canned(tenant: Tenant, canned: CannedResponse, ticket: Ticket | None = None) -> str:
    """The canned text filled with the country's values in its language (and the ticket's)."""
    values = tenant.settings.placeholder_values(canned.locale)
    if ticket is not None:
        values["ticket"] = {"reference": ticket.reference, "subject": ticket.subject, "requester": ticket.contact.display_name}
    return render_placeholders(canned.body, values)


# -- SLA check ---------------------------------------------------------------------------------------


def check_sla(tenant: Tenant, now: dt.datetime | None = None) -> list[tuple[Ticket, str]]:
    """Mark tickets whose first response or resolution is overdue, and act per `sla.on_breach`.

    Each flag is set by a conditional UPDATE (`... WHERE breached = false`): when several servers run
    this at once, only the one whose UPDATE changed the row acts on it, so nobody is told twice.
    """
    now = now or utcnow()
    found: list[tuple[Ticket, str]] = []
    escalated: set[int] = set()  # handed to Level 2 by the breach: its holder is told by the escalation
    checks = (
        ("first_response", Ticket.first_response_breached, Ticket.first_response_due_at, Ticket.first_responded_at.is_(None)),
        ("resolution", Ticket.resolution_breached, Ticket.resolution_due_at, Ticket.status != Status.WAITING.value),
    )
    for kind, flag, due, extra in checks:
        candidates = db.session.scalars(
            select(Ticket.id).where(Ticket.status.in_(ACTIVE_STATUSES), flag.is_(False), due < now, extra, Ticket.merged_into_id.is_(None))
        ).all()
        for ticket_id in candidates:
            result = db.session.execute(
                update(Ticket).where(Ticket.id == ticket_id, flag.is_(False)).values({flag.key: True}),
                execution_options={"synchronize_session": False},
            )
            # Commit the claim at once: a transaction never holds one ticket's lock while it waits
            # for another's, so checkers running side by side cannot deadlock.
            db.session.commit()
            if result.rowcount != 1:
                continue
            ticket = db.session.get(Ticket, ticket_id, populate_existing=True)
            _record(ticket, None, f"{kind}_breached", "false", "true")
            tier = ticket.tier
            if tenant.settings.sla.on_breach == "escalate":
                _escalate_on_breach(tenant, ticket, kind, now)
            db.session.commit()
            found.append((ticket, kind))
            if ticket.tier != tier:
                escalated.add(ticket.id)
    app = current_app._get_current_object()
    for ticket, kind in found:
        signals.sla_breached.send(app, tenant=tenant, ticket=ticket, kind=kind, escalated=ticket.id in escalated)
    return found


def _escalate_on_breach(tenant: Tenant, ticket: Ticket, kind: str, now: dt.datetime) -> None:
    """Raise the priority one step and, at L1, hand the ticket to L2."""
    order = [p.value for p in Priority]
    index = order.index(ticket.priority)
    if index > 0:
        _record(ticket, None, "priority", ticket.priority, order[index - 1])
        ticket.priority = order[index - 1]
    if ticket.tier == Tier.L1.value:
        # The tier moves only through the escalation workflow, which records the step and its
        # service level (imported here: the escalation domain builds on this one).
        from portal.escalation.services import escalate_on_breach

        escalate_on_breach(tenant, ticket, kind)
    elif Status.ESCALATED in TRANSITIONS[Status(ticket.status)]:
        _set_status(tenant, None, ticket, Status.ESCALATED, now)
