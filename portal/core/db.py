"""Database base classes and the one place where tenant isolation is enforced.

Every tenant-owned model inherits `TenantScoped`. For each ORM statement the session adds
`tenant_id = <current tenant>` to every tenant-scoped entity it touches (SELECT, UPDATE and DELETE,
joins and eager loads included), and new rows are stamped with, or checked against, the current
tenant at flush. Without a current tenant the statement is refused: scoping fails closed.

Crossing tenants is explicit and grep-able: `across_tenants(actor)`, allowed only to the central
team and to system jobs.
"""
from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, Iterator

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, ForeignKey, MetaData, event, inspect, types
from sqlalchemy.engine import Engine
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
    registry,
    with_loader_criteria,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


MAX_ROW_ID = 2**63 - 1  # the largest integer SQLite and PostgreSQL (bigint) accept


def like_escaped(text: str) -> str:
    """`text` for a LIKE pattern with `escape="\\"`: its own %, _ and backslashes match themselves."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def row_id(value: Any) -> int | None:
    """`value` as a row id if it is written with the digits 0-9 and fits the database; else None.

    (`str.isdigit` alone lets through "²", which `int()` refuses, and numbers no database can compare.)
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 <= value <= MAX_ROW_ID else None
    text = str(value) if value is not None else ""
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    number = int(text)
    return number if number <= MAX_ROW_ID else None


class UTCDateTime(types.TypeDecorator):
    """Timezone-aware UTC datetimes on every database (SQLite keeps no zone of its own)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.timezone.utc)


@event.listens_for(Engine, "connect")
def _sqlite_settings(dbapi_connection, connection_record) -> None:
    """SQLite checks foreign keys, as PostgreSQL does (it does not by default). Files use a
    write-ahead log: readers no longer wait for a writer, and a commit is one fsync of the log
    instead of several of the rollback journal (every channel message commits)."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        if cursor.execute("PRAGMA database_list").fetchone()[2]:  # a file, not :memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")  # each commit is on disk when it returns
    finally:
        cursor.close()


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={dt.datetime: UTCDateTime()},
    )


db = SQLAlchemy(model_class=Base)


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class TenantScoped:
    """Mixin for every row that belongs to one tenant; see the module docstring."""

    @declared_attr
    def tenant_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True, nullable=False)


class TenantScopeError(RuntimeError):
    """A tenant-owned table was touched without a tenant, or a row was written to another tenant."""


class CrossTenantDenied(PermissionError):
    """Someone outside the central team asked to cross tenants."""


_TENANT_KEY = "portal.tenant_id"
_ACROSS_KEY = "portal.across_tenants"


def set_current_tenant(session: Session, tenant_id: int | None) -> None:
    """Scope `session` to one tenant (None: no tenant, so tenant-owned tables are refused)."""
    session.info[_TENANT_KEY] = tenant_id


def current_tenant_id(session: Session) -> int | None:
    return session.info.get(_TENANT_KEY)


@contextmanager
def tenant_scope(session: Session, tenant_id: int) -> Iterator[None]:
    """Run a block of work (a CLI command, a job, a test) as one tenant."""
    previous = session.info.get(_TENANT_KEY)
    session.info[_TENANT_KEY] = tenant_id
    try:
        yield
    finally:
        session.info[_TENANT_KEY] = previous


_KEPT_KEY = "portal.kept_loaded"


@contextmanager
def keep_loaded(session: Session, obj: Any) -> Iterator[None]:
    """Commits in the block expire every object of the session as usual, except `obj`, which stays
    as loaded.

    For work that commits once per item for one tenant (the email inbox: one commit per message):
    the tenant would otherwise be read again after each commit, a SELECT per message for a row
    that does not change under it. Whoever holds `obj` across many such blocks expires it at its
    own boundary (the IMAP poller at each poll), so that a changed configuration is seen.
    """
    session = session() if callable(session) else session  # the scoped session's current one
    previous = session.expire_on_commit, session.info.get(_KEPT_KEY)
    session.expire_on_commit = False  # _expire_all_but_kept does the expiring instead
    session.info[_KEPT_KEY] = (obj, previous[0])
    try:
        yield
    finally:
        session.expire_on_commit = previous[0]
        session.info[_KEPT_KEY] = previous[1]


@event.listens_for(Session, "after_commit")
def _expire_all_but_kept(session: Session) -> None:
    kept = session.info.get(_KEPT_KEY)
    if kept is None or not kept[1] or session.in_nested_transaction():
        return  # not kept, or the session does not expire on commit, or a savepoint was released
    for obj in list(session.identity_map.values()):
        if obj is not kept[0]:
            session.expire(obj)


SYSTEM = object()  # the actor for jobs started by the operator (CLI, cron), never by a web request


@contextmanager
def across_tenants(session: Session, actor: Any) -> Iterator[None]:
    """Lift tenant scoping for the block. Only the central team and system jobs may do this.

    `actor` is `SYSTEM` or a user whose `can_cross_tenants` is true; anyone else raises
    CrossTenantDenied before any query runs.
    """
    if actor is not SYSTEM and not getattr(actor, "can_cross_tenants", False):
        raise CrossTenantDenied("crossing tenants is reserved to the central team")
    previous = session.info.get(_ACROSS_KEY, False)
    session.info[_ACROSS_KEY] = True
    try:
        yield
    finally:
        session.info[_ACROSS_KEY] = previous


def _touches_tenant_tables(state: ORMExecuteState) -> bool:
    return any(issubclass(m.class_, TenantScoped) for m in state.all_mappers)


@event.listens_for(Session, "do_orm_execute")
def _scope_statement(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load or state.is_relationship_load:
        # Loads that follow from an object already read under the same criteria.
        return
    session = state.session
    if session.info.get(_ACROSS_KEY) or state.execution_options.get("across_tenants"):
        return
    tenant_id = session.info.get(_TENANT_KEY)
    if tenant_id is None:
        if _touches_tenant_tables(state):
            raise TenantScopeError("query on tenant-owned data without a current tenant")
        # Tenant tables reached only through a join are not listed in all_mappers: match no row.
        state.statement = state.statement.options(_NO_TENANT)
        return
    # Always applied, because a tenant table may appear only in a join or a subquery.
    state.statement = state.statement.options(_tenant_criteria(tenant_id))


_NO_TENANT = with_loader_criteria(TenantScoped, lambda cls: cls.tenant_id.is_(None), include_aliases=True)


@lru_cache(maxsize=1024)
def _tenant_criteria(tenant_id: int):
    """The criteria option of one tenant, built once (the option is immutable; building it, lambda
    analysis included, would otherwise be repeated for every query). Its closure's `tenant_id` is
    tracked, so it is a bound parameter: one compiled statement serves every tenant."""
    return with_loader_criteria(
        TenantScoped,
        lambda cls: cls.tenant_id == tenant_id,
        include_aliases=True,
        track_closure_variables=True,
    )


@event.listens_for(Session, "before_flush")
def _stamp_tenant(session: Session, flush_context, instances) -> None:
    across = session.info.get(_ACROSS_KEY, False)
    tenant_id = session.info.get(_TENANT_KEY)
    for obj in session.new:
        if not isinstance(obj, TenantScoped):
            continue
        if obj.tenant_id is None:
            if tenant_id is None:
                raise TenantScopeError(f"new {type(obj).__name__} without a tenant")
            obj.tenant_id = tenant_id
        elif not across and obj.tenant_id != tenant_id:
            raise TenantScopeError(f"new {type(obj).__name__} written to another tenant")
    for obj in session.dirty:
        if isinstance(obj, TenantScoped) and not across:
            history = inspect(obj).attrs.tenant_id.history
            if history.deleted:
                raise TenantScopeError(f"{type(obj).__name__} moved to another tenant")


@event.listens_for(TenantScoped, "load", propagate=True)
def _check_loaded(obj: TenantScoped, context) -> None:
    # Defence in depth: a row from another tenant must never come back, whatever the statement.
    session = context.session
    if session.info.get(_ACROSS_KEY) or context.execution_options.get("across_tenants"):
        return
    tenant_id = session.info.get(_TENANT_KEY)
    if tenant_id is not None and obj.tenant_id != tenant_id:
        raise TenantScopeError(f"{type(obj).__name__} of another tenant loaded")
