from __future__ import annotations

import datetime as dt
import hashlib

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.auth.permissions import GLOBAL_PERMISSIONS, ROLE_PERMISSIONS, GlobalRole, Permission, Role
from portal.core import versions
from portal.core.db import TenantScoped, TimestampMixin, db, utcnow


class User(UserMixin, TimestampMixin, db.Model):
    """A person with a login. Users are global; a Membership gives them a role in a tenant."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str | None] = mapped_column(String(40))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    locale: Mapped[str | None] = mapped_column(String(16))
    global_role: Mapped[str | None] = mapped_column(String(32))
    is_active_account: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None]
    last_login_at: Mapped[dt.datetime | None]

    memberships: Mapped[list[Membership]] = relationship(back_populates="user", lazy="select")

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.is_active_account

    # The key of the sign-in this request belongs to (LoginSession), set when signing in or when the
    # cookie is read; never stored on the row.
    sign_in_key = None  # str | None

    def get_id(self) -> str:  # Flask-Login: what the session and the remember-me cookie carry
        return f"{self.id}.{self.session_stamp}.{self.sign_in_key or ''}"

    @property
    def session_stamp(self) -> str:
        """Changes with the password: a session or remember-me cookie made before a new password
        (a stolen one, or one left on a shared computer) no longer signs anyone in."""
        return hashlib.sha256((self.password_hash or "").encode()).hexdigest()[:16]

    @property
    def display_name(self) -> str:
        return self.name or self.email

    @property
    def global_permissions(self) -> frozenset[Permission]:
        if self.global_role:
            return GLOBAL_PERMISSIONS.get(GlobalRole(self.global_role), frozenset())
        return frozenset()

    @property
    def can_cross_tenants(self) -> bool:
        return Permission.TENANTS_ACROSS in self.global_permissions

    @property
    def is_expert(self) -> bool:
        return Permission.EXPERT_CONSOLE in self.global_permissions

    def is_locked(self, now: dt.datetime | None = None) -> bool:
        return self.locked_until is not None and self.locked_until > (now or utcnow())

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class Membership(TenantScoped, TimestampMixin, db.Model):
    """A user's role in one tenant, with the office and job they work in."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("tenant_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(32), default=Role.REQUESTER.value)
    job_title: Mapped[str] = mapped_column(String(100), default="")
    office: Mapped[str] = mapped_column(String(200), default="")
    is_active: Mapped[bool] = mapped_column(default=True)

    user: Mapped[User] = relationship(back_populates="memberships")
    tenant: Mapped["Tenant"] = relationship()  # noqa: F821 (portal.tenancy.models)

    @property
    def permissions(self) -> frozenset[Permission]:
        if not self.is_active:
            return frozenset()
        return ROLE_PERMISSIONS[Role(self.role)]


class ApiToken(TimestampMixin, db.Model):
    """A personal API token; only its SHA-256 digest is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship()

    @staticmethod
    def digest_of(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()


class LoginSession(db.Model):
    """One sign-in (a browser, a phone). The session and remember-me cookies carry its key, and a
    cookie counts only while its row exists: signing out deletes the row, so a copy of the cookie
    taken before (on a shared computer, from a stolen phone) signs nobody in afterwards. Only the
    key's SHA-256 digest is stored."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)

    @staticmethod
    def digest_of(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()


# Who may be assigned work changes with these rows (portal.core.versions): one name for all tenants,
# as a user may belong to several.
STAFF = "staff"
versions.watch(User, lambda row: (STAFF,))
versions.watch(Membership, lambda row: (STAFF,))
