"""Accounts: creating users, checking passwords with lockout, memberships, API and reset tokens."""
from __future__ import annotations

import datetime as dt
import hmac
import secrets
from collections.abc import Iterable, Sequence

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from limits import parse as parse_limit
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import contains_eager

from portal.auth.models import ApiToken, LoginSession, Membership, User
from portal.auth.permissions import GlobalRole, Permission, Role
from portal.core.db import db, like_escaped, row_id, utcnow
from portal.tenancy.models import Tenant

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 8
# Verified against when the email is unknown, so a wrong address costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


class AccountError(ValueError):
    """A request about an account that cannot be honoured; the message is safe to show."""


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def hash_password(password: str) -> str:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AccountError(_("The password must be at least %(count)s characters long.", count=MIN_PASSWORD_LENGTH))
    return _hasher.hash(password)


def get_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalize_email(email)))


def create_user(
    email: str,
    password: str | None = None,
    name: str = "",
    global_role: GlobalRole | None = None,
    locale: str | None = None,
) -> User:
    email = normalize_email(email)
    if not email or "@" not in email:
        raise AccountError(_("A valid email address is needed."))
    if get_user_by_email(email):
        raise AccountError(_("A user with the email %(email)s already exists.", email=email))
    user = User(
        email=email,
        name=name,
        password_hash=hash_password(password) if password else None,
        global_role=GlobalRole(global_role).value if global_role else None,
        locale=locale,
    )
    db.session.add(user)
    db.session.flush()
    return user


def set_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None


class LoginResult:
    OK = "ok"
    INVALID = "invalid"
    LOCKED = "locked"
    INACTIVE = "inactive"


def authenticate(email: str, password: str, now: dt.datetime | None = None, known_here: frozenset[int] = frozenset()) -> tuple[str, User | None]:
    """Check a password. After LOGIN_MAX_FAILURES failures in a row the account locks for a while.

    Each attempt is counted in the database before the password is checked, in one statement: a
    burst of guesses sent at once (to several app servers) gets no more than LOGIN_MAX_FAILURES of
    them checked, where reading the count, adding one and writing it back would let them all through.

    The lock stops guessing from elsewhere, not the account's owner: a browser the account signed in
    from before (`known_here`, the ids its signed cookie names) checks the password whatever the
    lock, and its failures count for nothing (the route's per-client limit still holds), so nobody
    can keep a registrar out by typing wrong passwords under their address. An address with no
    account locks after as many failures as an account would, so the lock says nothing of which
    addresses have one."""
    now = now or utcnow()
    config = current_app.config
    user = get_user_by_email(email)
    if user is None or not user.password_hash:
        try:
            _hasher.verify(_DUMMY_HASH, password or "x")
        except VerificationError:
            pass
        if not _unknown_address_may_try(email):
            return LoginResult.LOCKED, None
        return LoginResult.INVALID, None
    if user.id in known_here:
        try:
            _hasher.verify(user.password_hash, password or "")
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return LoginResult.INVALID, user
        return _signed_in(user, password, now)
    attempt = db.session.execute(
        update(User).where(User.id == user.id, or_(User.locked_until.is_(None), User.locked_until <= now))
        .values(failed_logins=User.failed_logins + 1).returning(User.failed_logins),
        execution_options={"synchronize_session": False},
    ).scalar()
    db.session.commit()
    if attempt is None or attempt > config["LOGIN_MAX_FAILURES"]:  # locked, or past the limit in a burst
        db.session.refresh(user)
        return LoginResult.LOCKED, user
    try:
        _hasher.verify(user.password_hash, password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        if attempt >= config["LOGIN_MAX_FAILURES"]:
            db.session.execute(update(User).where(User.id == user.id).values(locked_until=now + dt.timedelta(minutes=config["LOGIN_LOCK_MINUTES"]), failed_logins=0),
                               execution_options={"synchronize_session": False})
            db.session.commit()
            db.session.refresh(user)
            return LoginResult.LOCKED, user
        db.session.refresh(user)
        return LoginResult.INVALID, user
    return _signed_in(user, password, now)


def _signed_in(user: User, password: str, now: dt.datetime) -> tuple[str, User]:
    """The end of a sign-in whose password was right: refused if the account is deactivated, else
    its failures forgotten and the hash brought up to date."""
    db.session.refresh(user)
    if not user.is_active_account:
        return LoginResult.INACTIVE, user
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    db.session.commit()
    return LoginResult.OK, user


def _unknown_address_may_try(email: str) -> bool:
    """Count a failure for an address with no account, in the rate-limit storage (shared through
    Redis by every server): False once it has failed as often as locks an account."""
    config = current_app.config
    if not config.get("RATELIMIT_ENABLED", True):
        return True
    from portal.extensions import limiter

    limit = parse_limit(f"{config['LOGIN_MAX_FAILURES'] - 1} per {config['LOGIN_LOCK_MINUTES']} minutes")
    return limiter.limiter.hit(limit, "login-unknown-address", normalize_email(email))


# -- sign-ins ------------------------------------------------------------------------------------


def sign_in_lifetime() -> dt.timedelta:
    """How long a sign-in may last at most: as long as the longer of its two cookies."""
    return max(current_app.permanent_session_lifetime, current_app.config["REMEMBER_COOKIE_DURATION"])


def start_sign_in(user: User, now: dt.datetime | None = None) -> None:
    """Record a new sign-in for `user` and give it its key (which `get_id` puts in the cookies).
    The user's sign-ins past their lifetime are cleared on the way."""
    now = now or utcnow()
    db.session.execute(delete(LoginSession).where(LoginSession.user_id == user.id, LoginSession.expires_at <= now))
    key = secrets.token_urlsafe(24)
    db.session.add(LoginSession(user_id=user.id, digest=LoginSession.digest_of(key), created_at=now, expires_at=now + sign_in_lifetime()))
    user.sign_in_key = key


def end_sign_in(user: User) -> None:
    """Sign out this sign-in: its cookies, wherever copies of them are, count no more."""
    if user.sign_in_key:
        db.session.execute(delete(LoginSession).where(LoginSession.digest == LoginSession.digest_of(user.sign_in_key)))
    user.sign_in_key = None


def end_other_sign_ins(user: User) -> int:
    """Sign `user` out everywhere but here (all of them when this request is not theirs). Returns how many."""
    query = delete(LoginSession).where(LoginSession.user_id == user.id)
    if user.sign_in_key:
        query = query.where(LoginSession.digest != LoginSession.digest_of(user.sign_in_key))
    return db.session.execute(query, execution_options={"synchronize_session": False}).rowcount or 0


def other_sign_ins(user: User, now: dt.datetime | None = None) -> int:
    """How many of the user's sign-ins, besides this one, are still in force."""
    query = select(func.count()).select_from(LoginSession).where(LoginSession.user_id == user.id, LoginSession.expires_at > (now or utcnow()))
    if user.sign_in_key:
        query = query.where(LoginSession.digest != LoginSession.digest_of(user.sign_in_key))
    return db.session.scalar(query) or 0


def user_for_sign_in(cookie_id: str, now: dt.datetime | None = None) -> User | None:
    """The user a session or remember-me cookie names, if that sign-in is still in force: the user
    active, the password unchanged since, and the sign-in neither ended nor expired."""
    user_id, _dot, rest = str(cookie_id).partition(".")
    stamp, _dot, key = rest.partition(".")
    if row_id(user_id) is None or not key:
        return None
    user = db.session.scalar(
        select(User).join(LoginSession, LoginSession.user_id == User.id)
        .where(User.id == row_id(user_id), LoginSession.digest == LoginSession.digest_of(key), LoginSession.expires_at > (now or utcnow()))
    )
    if user is None or not user.is_active_account or not hmac.compare_digest(stamp.encode(), user.session_stamp.encode()):
        return None
    user.sign_in_key = key
    return user


# -- memberships and permissions ---------------------------------------------------------------


def membership_for(user: User, tenant: Tenant) -> Membership | None:
    """The user's membership in `tenant` (the session must be scoped to that tenant)."""
    if not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(
        select(Membership).where(Membership.user_id == user.id, Membership.tenant_id == tenant.id)
    )


def permissions_in(user: User, tenant: Tenant | None) -> frozenset[Permission]:
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    granted = set(user.global_permissions)
    if tenant is not None:
        membership = membership_for(user, tenant)
        if membership is not None:
            granted |= membership.permissions
    return frozenset(granted)


def add_membership(tenant: Tenant, user: User, role: Role, job_title: str = "", office: str = "", groups: Iterable[str] | None = None) -> Membership:
    """Give `user` a role in `tenant`, or change the role they have there (for scripts and demo data:
    the members page adds people with `add_member`, which never changes a member). Someone who joins
    the support desk by it joins the support groups `groups` (keys of tenant.toml's groups), by
    default those tenant.toml lists them in."""
    # Imported here: the tickets domain builds on this one.
    from portal.tickets import services as tickets

    membership = membership_for(user, tenant)
    was_staff = membership is not None and membership.role in tickets.STAFF_ROLES
    if membership is None:
        membership = Membership(tenant_id=tenant.id, user_id=user.id)
        db.session.add(membership)
    membership.role = Role(role).value
    membership.is_active = True
    if job_title:
        membership.job_title = job_title
    if office:
        membership.office = office
    db.session.flush()
    if membership.role in tickets.STAFF_ROLES and not was_staff:
        tickets.join_groups(tenant, user, tickets.listed_groups(tenant, user) if groups is None else groups)
    return membership


def add_member(tenant: Tenant, email: str, role: Role, *, name: str = "", job_title: str = "", office: str = "",
               groups: Sequence[str] = ()) -> tuple[Membership, bool]:
    """The members page's "Add member": give the person with this email a role in `tenant`, making
    their account (without a password: they are invited to choose one) when they have none. Returns
    the membership and whether the account is new. Someone already a member, active or not, is
    refused: a member's role and status change only through `change_member`, which keeps an
    administrator from demoting or suspending themselves.

    A support role puts them in the support groups `groups`; none given, in those tenant.toml lists
    them in, else the first group of their role's level. Groups given with another role are refused."""
    from portal.tickets import services as tickets

    staff = Role(role).value in tickets.STAFF_ROLES
    if groups and not staff:
        raise AccountError(_("Only support staff (Level 1 agents, Level 2 technicians and administrators) are in groups: choose one of these roles, or no group."))
    unknown = [key for key in groups if key not in tenant.settings.tiers.groups]
    if unknown:
        raise AccountError(_("There is no group “%(group)s”.", group=unknown[0]))
    user = get_user_by_email(email)
    if user is not None and membership_for(user, tenant) is not None:
        raise AccountError(_("%(email)s is already a member: change their role in the list below.", email=user.email))
    invited = user is None
    if invited:
        user = create_user(email, name=name)
    chosen = list(groups) or (tickets.starting_groups(tenant, user, role) if staff else [])
    return add_membership(tenant, user, role, job_title, office, groups=chosen), invited


def invitation_pending(membership: Membership) -> bool:
    """Whether the member was invited and has never chosen a password (and may still use the
    portal), so that an invitation may be sent to them again."""
    return membership.is_active and membership.user.is_active_account and membership.user.password_hash is None


MEMBERS_PER_PAGE = 50


def list_members(tenant: Tenant, *, q: str = "", role: str = "", page: int = 1, per_page: int = MEMBERS_PER_PAGE) -> tuple[list[Membership], int]:
    """One page of the tenant's members by email, with their accounts (one query), and how many
    match: `q` is found in the email or the name, `role` is a role's value."""
    stmt = select(Membership).join(Membership.user).where(Membership.tenant_id == tenant.id)
    if q.strip():
        pattern = "%" + like_escaped(q.strip().casefold()[:200]) + "%"
        stmt = stmt.where(or_(func.lower(User.email).like(pattern, escape="\\"), func.lower(User.name).like(pattern, escape="\\")))
    if role in {r.value for r in Role}:
        stmt = stmt.where(Membership.role == role)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = db.session.scalars(stmt.options(contains_eager(Membership.user)).order_by(User.email)
                              .offset((max(page, 1) - 1) * per_page).limit(per_page))
    return list(rows), total


def get_membership(tenant: Tenant, membership_id: int) -> Membership | None:
    return db.session.scalar(
        select(Membership).where(Membership.id == membership_id, Membership.tenant_id == tenant.id)
    )


def change_member(actor: User, tenant: Tenant, membership: Membership, role: Role, is_active: bool) -> int:
    """Change a member's role or suspend them. Admins cannot demote or suspend themselves.

    Someone who no longer works tickets here afterwards keeps none still open: each goes back to the
    queue, unassigned, recorded on its history as the actor's change (resolved and closed ones keep
    who worked them). Returns how many went back."""
    # Imported here: the tickets domain builds on this one.
    from portal.tickets import services as tickets

    if membership.user_id == actor.id and (role != Role.TENANT_ADMIN or not is_active):
        raise AccountError(_("You cannot remove your own administrator rights."))
    membership.role = Role(role).value
    membership.is_active = is_active
    user = membership.user
    if membership.role in tickets.STAFF_ROLES and not tickets.groups_of(tenant, user):
        # Someone who joins the support desk, or works it in no group, starts where "Add member" puts
        # a newcomer; a member already in groups keeps them (the Tiers page moves people).
        tickets.join_groups(tenant, user, tickets.starting_groups(tenant, user, Role(role)))
    db.session.commit()
    if tickets.is_active_staff(tenant, user):
        return 0
    held = db.session.scalars(tickets.queue_query(tenant, user, tickets.QueueFilters(view="mine"))).all()  # their open ones
    returned, _problems = tickets.bulk_update(tenant, actor, [ticket.reference for ticket in held], "assign", None)
    return returned


def change_member_details(tenant: Tenant, membership: Membership, *, name: str, job_title: str, office: str) -> list[str]:
    """Correct a member's name, job title and office (surrounding blanks dropped); returns the names
    of the fields that changed. The job title and office are the membership's, in `tenant` only; the
    name is their account's, shown in every country they belong to, so it is changed only through
    a membership of `tenant`: an administrator renames nobody outside their own country."""
    if membership.tenant_id != tenant.id:
        raise ValueError("the membership belongs to another tenant")
    changed = []
    for row, field, value in ((membership.user, "name", name), (membership, "job_title", job_title), (membership, "office", office)):
        if getattr(row, field) != value.strip():
            setattr(row, field, value.strip())
            changed.append(field)
    db.session.flush()
    return changed


# -- API tokens -------------------------------------------------------------------------------


# "Last used" on the profile page is kept to the hour: a script calling every second writes once an hour.
TOKEN_USE_PRECISION = dt.timedelta(hours=1)


def issue_api_token(user: User, name: str = "") -> str:
    """Create a token and return it; only its digest is kept, so it is shown once."""
    token = "crvs_" + secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, name=name, digest=ApiToken.digest_of(token)))
    db.session.flush()
    return token


def api_tokens_of(user: User) -> list[ApiToken]:
    """The user's tokens still in force, newest first."""
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                                   .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def revoke_api_token(user: User, token_id: int | None) -> bool:
    """Revoke one of the user's own tokens; False when it is not theirs or not in force."""
    row = db.session.get(ApiToken, token_id) if token_id else None
    if row is None or row.user_id != user.id or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    return True


def revoke_all_api_tokens(user: User) -> int:
    """Revoke every token of the user still in force (after a password reset: whoever knew the old
    password may have made one). Returns how many."""
    tokens = api_tokens_of(user)
    for row in tokens:
        row.revoked_at = utcnow()
    return len(tokens)


def user_for_api_token(token: str) -> User | None:
    if not token or not token.startswith("crvs_"):
        return None
    row = db.session.scalar(
        select(ApiToken).where(ApiToken.digest == ApiToken.digest_of(token), ApiToken.revoked_at.is_(None))
    )
    if row is None or not row.user.is_active_account:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > TOKEN_USE_PRECISION:
        # Read when the request starts, before it changes anything: committing here writes this alone.
        row.last_used_at = now
        db.session.commit()
    return row.user


# -- password reset ---------------------------------------------------------------------------


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="password-reset")


def make_reset_token(user: User) -> str:
    # The hash's tail is part of the token, so a token stops working once the password changes.
    return _reset_serializer().dumps({"uid": user.id, "pw": (user.password_hash or "")[-12:]})


def user_for_reset_token(token: str) -> User | None:
    try:
        data = _reset_serializer().loads(token, max_age=current_app.config["PASSWORD_RESET_MAX_AGE"])
    except (SignatureExpired, BadSignature):
        return None
    if not isinstance(data, dict):
        return None
    user = db.session.get(User, data.get("uid"))
    if user is None or (user.password_hash or "")[-12:] != data.get("pw"):
        return None
    return user
