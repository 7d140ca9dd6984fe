"""Loading tenant folders and finding tenants; the settings their administrators change in the portal."""
from __future__ import annotations

import json
import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import current_app
from flask_babel import format_decimal
from flask_babel import gettext as _
from packaging.version import InvalidVersion, Version
from pydantic import ValidationError
from sqlalchemy import JSON, bindparam, inspect, select, text
from sqlalchemy.orm import make_transient_to_detached, selectinload

from portal.config import REPO_ROOT
from portal.core import versions
from portal.core.db import db, utcnow
from portal.tenancy.models import TENANTS, Tenant, TenantSettingChange
from portal.tenancy.overrides import (
    EDITABLE,
    Editable,
    deep_merge,
    error_path,
    get_path,
    has_path,
    override_paths,
    with_path,
    without_path,
)
from portal.tenancy.settings import PRIORITIES, TenantSettings
from portal.tenancy.signals import tenant_settings_changed

if TYPE_CHECKING:
    from portal.auth.models import User


@dataclass
class SyncProblem:
    path: str
    key: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.key}: {self.reason}" if self.key else f"{self.path}: {self.reason}"


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    problems: list[SyncProblem] = field(default_factory=list)
    # Loaded all the same, but worth a look (a channel secret not set on this server, say).
    warnings: list[SyncProblem] = field(default_factory=list)


def read_tenant_file(path: Path) -> tuple[TenantSettings | None, list[SyncProblem]]:
    """Parse and validate one tenant.toml; return the settings or the problems found."""
    try:
        data = tomllib.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        return None, [SyncProblem(str(path), "", "not UTF-8 text (save the file as UTF-8)")]
    except tomllib.TOMLDecodeError as exc:
        return None, [SyncProblem(str(path), "", f"not valid TOML ({exc})")]
    except OSError as exc:
        return None, [SyncProblem(str(path), "", f"cannot be read ({exc.strerror})")]
    folder = path.parent.name
    try:
        settings = TenantSettings.model_validate(data)
    except ValidationError as exc:
        return None, [SyncProblem(str(path), *_key_and_reason(error)) for error in exc.errors()]
    problems = [SyncProblem(str(path), key, reason) for key, reason in settings.key_problems()]
    if settings.slug != folder:
        problems.insert(0, SyncProblem(str(path), "slug", f"'{settings.slug}' does not match the folder name '{folder}'"))
    return (None, problems) if problems else (settings, [])


def _key_and_reason(error: dict) -> tuple[str, str]:
    """A pydantic error as the file's key and a reason an operator reads (without pydantic's words)."""
    location = [str(part) for part in error["loc"]]
    if error["type"] == "tenant_key":  # a check of the table about one of its keys (settings.key_error)
        location.append(error["ctx"]["key"])
    reason = error["msg"].removeprefix("Value error, ")
    return ".".join(location) or "(file)", reason


SYNC_LOCK = 0x1A4_0000  # PostgreSQL advisory lock key of `sync_tenants`


def sync_tenants(directory: Path) -> SyncReport:
    """Create or update a tenant for every `<slug>/tenant.toml` below `directory`.

    Idempotent: an unchanged file changes nothing. A bad file is reported and skipped; the other
    tenants still load. Tenants are never deleted here (their tickets and history stay).
    """
    report = SyncReport()
    if not directory.is_dir():
        report.problems.append(SyncProblem(str(directory), "", "is not a directory"))
        return report
    if db.session.get_bind().dialect.name == "postgresql":
        # One sync at a time (several servers starting at once): the next reads what the first made.
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SYNC_LOCK})
    loaded = []
    for path in sorted(directory.glob("*/tenant.toml")):
        settings, problems = read_tenant_file(path)
        if settings is None:
            report.problems.extend(problems)
        else:
            loaded.append((path, settings))
    clashes = _code_clashes(loaded)
    for path, settings in loaded:
        if path in clashes:
            report.problems.append(clashes[path])
            continue
        report.warnings.extend(tenant_file_warnings(path, settings))
        upsert_tenant(settings, source_path=str(path), report=report)
    db.session.commit()
    return report


def _code_clashes(loaded: list[tuple[Path, TenantSettings]]) -> dict[Path, SyncProblem]:
    """The files whose `country.code` another country has, in the database or in this sync: ticket
    references (`FAR-000123`) must name one country in the central console. A country that already
    has the code keeps it; a newcomer asking for it is refused (two newcomers: both)."""
    stored = {tenant.slug: (tenant.config.get("country") or {}).get("code") for tenant in db.session.scalars(select(Tenant))}
    wanted = {**stored, **{settings.slug: settings.country.code for _, settings in loaded}}
    clashes = {}
    for path, settings in loaded:
        code = settings.country.code
        others = sorted(slug for slug, other in wanted.items() if other == code and slug != settings.slug)
        if others and not (stored.get(settings.slug) == code and all(stored.get(slug) != code for slug in others)):
            reason = f"'{code}' is also the code of {', '.join(others)}: ticket references ({code}-000123) must name one country"
            clashes[path] = SyncProblem(str(path), "country.code", reason)
    return clashes


def interface_locales() -> list[str]:
    """The languages the interface is translated into (a catalog in translations/)."""
    return sorted(path.parent.parent.name for path in (REPO_ROOT / "translations").glob("*/LC_MESSAGES/messages.mo"))


def tenant_file_warnings(path: Path, settings: TenantSettings) -> list[SyncProblem]:
    """What loads but will not work as the file may mean: a language the interface is not translated
    into, a channel secret whose environment variable is not set on this server (it may be set only
    on the app servers, so this is a warning, not an error)."""
    warnings = []
    interface = interface_locales()
    for locale in settings.locales:
        if locale not in interface and locale.replace("-", "_").split("_")[0] not in interface:
            warnings.append(SyncProblem(str(path), "locales", f"'{locale}' has no interface translation in translations/: "
                                        f"pages in it show the interface in English (the interface has {', '.join(interface)})"))
    for name, channel in settings.channels:
        if channel is None or not channel.enabled:
            continue
        for key, variable in channel:
            if key.endswith("_env") and variable and not os.environ.get(variable):
                reason = f"environment variable {variable} is not set here (the {name} channel works only where it is set)"
                warnings.append(SyncProblem(str(path), f"channels.{name}.{key}", reason))
    return warnings


def upsert_tenant(settings: TenantSettings, source_path: str | None = None, report: SyncReport | None = None) -> Tenant:
    """Create the tenant of `settings` or bring it up to date. The people its support groups list
    are put in them (`portal.tickets.services.seed_group_members`): all of them for a new tenant,
    those newly listed for one that existed; a sync never takes anyone out of a group."""
    config = settings.model_dump(mode="json")
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == settings.slug))
    previous = tenant.config if tenant is not None else None
    if tenant is not None and not _newer_version(settings.opencrvs_version, tenant.opencrvs_version):
        # The deployed version reported by the country (API or its administrator) wins over the
        # file: a sync only sets it when the tenant is created or the file names a newer version.
        config["opencrvs_version"] = tenant.opencrvs_version
    values = dict(
        name=settings.name,
        default_locale=settings.default_locale,
        locales=list(settings.locales),
        timezone=settings.timezone,
        opencrvs_version=config["opencrvs_version"],
        config=config,
        source_path=source_path,
    )
    created = changed = tenant is None
    if tenant is None:
        tenant = Tenant(slug=settings.slug, synced_at=utcnow(), **values)
        db.session.add(tenant)
        if report:
            report.created.append(settings.slug)
    elif any(getattr(tenant, k) != v for k, v in values.items()):
        changed = True
        for key, value in values.items():
            setattr(tenant, key, value)
        tenant.synced_at = utcnow()
        if report:
            report.updated.append(settings.slug)
    elif report:
        report.unchanged.append(settings.slug)
    db.session.flush()
    if changed:
        # Imported here: the tickets domain builds on this one.
        from portal.tickets.services import seed_group_members

        seed_group_members(tenant, settings, previous)
        tenant_settings_changed.send(current_app._get_current_object(), tenant=tenant, created=created)
    return tenant


def _newer_version(candidate: str, current: str) -> bool:
    try:
        return Version(candidate) > Version(current)
    except InvalidVersion:
        return candidate != current


# Built once: every request under /<tenant>/ runs it.
_ACTIVE_BY_SLUG = select(Tenant).where(Tenant.slug == bindparam("slug"), Tenant.is_active.is_(True))
_TENANT_MAPPER = inspect(Tenant)
_JSON_COLUMNS = frozenset(column.key for column in Tenant.__table__.columns if isinstance(column.type, JSON))


def get_tenant(slug: str) -> Tenant | None:
    """The active tenant `slug`, or None.

    Every request under /<tenant>/ asks, so each process keeps the rows it read, and trusts them while
    the tenants' version token is unchanged (portal.core.versions): a change made on any server shows
    on the next request.
    """
    values = versions.kept("tenants", slug, (TENANTS,), lambda: _column_values(db.session.scalar(_ACTIVE_BY_SLUG, {"slug": slug})))
    return None if values is None else _attached(values)


def _column_values(tenant: Tenant | None) -> dict[str, Any] | None:
    """A tenant row as plain values; JSON columns as text, so no request can change the kept copy."""
    if tenant is None:
        return None
    return {
        column.key: json.dumps(getattr(tenant, column.key)) if column.key in _JSON_COLUMNS else getattr(tenant, column.key)
        for column in Tenant.__table__.columns
    }


def _attached(values: dict[str, Any]) -> Tenant:
    """The tenant in the request's session, as if just read from the database (no query)."""
    session = db.session()
    tenant = session.identity_map.get(_TENANT_MAPPER.identity_key_from_primary_key((values["id"],)))
    if tenant is None:
        tenant = _TENANT_MAPPER.class_manager.new_instance()
        tenant.__dict__.update({k: json.loads(v) if k in _JSON_COLUMNS else v for k, v in values.items()})
        make_transient_to_detached(tenant)
        session.add(tenant)
    return tenant


def list_tenants() -> list[Tenant]:
    return list(db.session.scalars(select(Tenant).where(Tenant.is_active.is_(True)).order_by(Tenant.name)))


# -- settings changed in the portal (portal.tenancy.overrides) -------------------------------------


class SettingsError(Exception):
    """A change of settings refused, with nothing changed: `status` 400 with a message per key in
    `errors`, or 409 when the tenant changed since the page was loaded."""

    def __init__(self, message: str, status: int = 400, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.errors = errors or {}


# The largest number a setting takes from the page: days, hours, minutes and fees beyond it are
# typing mistakes, and infinity (which pydantic accepts as a float) is not a number JSON can keep.
MAX_NUMBER = 1_000_000


def save_settings(tenant: Tenant, actor: User | None, values: dict[str, Any], version: str) -> list[TenantSettingChange]:
    """Change the keys of `values` (keys of `overrides.EDITABLE`, with values as typed) over the
    tenant's file, record each change with `actor`, and commit; returns the changes recorded.

    The values are checked by the settings' own model, merged with the rest of the settings:
    SettingsError 400 names each key refused, with a message in the reader's language. `version` is
    the tenant's `row_version` when the values were shown: valid values are refused all the same
    (SettingsError 409) if the tenant changed since (another administrator saved, a sync ran). A
    value equal to the file's is no longer an override, so that a later change of the file applies
    to it again.
    """
    unknown = sorted(set(values) - set(EDITABLE))
    if unknown:
        raise ValueError(f"not editable: {', '.join(unknown)}")
    _lock(tenant)
    before, ignored = tenant.settings, tenant.ignored_overrides
    stored = tenant.overrides or {}
    active = stored
    for path in ignored:
        active = without_path(active, path)
    candidate = active
    for path, value in values.items():
        candidate = with_path(candidate, path, value)
    try:
        settings = _checked(tenant.config, candidate, list(values))
    except SettingsError:
        db.session.rollback()  # lets the row go
        raise
    _check_version(tenant, version)
    after = settings.model_dump(mode="json")
    overrides = stored
    for path in values:
        value = get_path(after, path)
        if has_path(tenant.config, path) and _same(EDITABLE[path], value, get_path(tenant.config, path), settings):
            overrides = without_path(overrides, path)
        else:
            overrides = with_path(overrides, path, value)
    return _commit_overrides(tenant, actor, overrides, _changes(before.model_dump(mode="json"), after, list(values), before, settings))


def reset_setting(tenant: Tenant, actor: User | None, path: str, version: str) -> list[TenantSettingChange]:
    """Put `path` back to the value of the tenant's file (drop its override), record it and commit.
    Refused (SettingsError 400) when the file's value does not fit the other values changed in the
    portal (a late deadline kept shorter than the file's on-time one, say): change that one first."""
    _lock(tenant)
    _check_version(tenant, version)
    if path not in override_paths(tenant.overrides or {}):
        db.session.rollback()
        raise SettingsError(_("This setting is not changed in the portal."), 400)
    before = tenant.settings
    overrides = without_path(tenant.overrides or {}, path)
    active = overrides
    for ignored in tenant.ignored_overrides:
        active = without_path(active, ignored)
    if path in tenant.ignored_overrides:
        settings = before  # it was not applied: the settings in force stay as they are
    else:
        try:
            settings = _checked(tenant.config, active, [path])
        except SettingsError as exc:
            db.session.rollback()
            reasons = " ".join(message for messages in exc.errors.values() for message in messages)
            raise SettingsError(_("The file's value does not fit the other settings changed in the portal: %(reason)s", reason=reasons), 400) from None
    changed = [path] if path in EDITABLE else []
    return _commit_overrides(tenant, actor, overrides, _changes(before.model_dump(mode="json"), settings.model_dump(mode="json"), changed, before, settings))


def setting_changes(tenant: Tenant, limit: int = 50) -> list[TenantSettingChange]:
    """The latest changes of the tenant's settings made in the portal, newest first."""
    query = (select(TenantSettingChange).options(selectinload(TenantSettingChange.user))
             .order_by(TenantSettingChange.created_at.desc(), TenantSettingChange.id.desc()).limit(limit))
    return list(db.session.scalars(query))


def _lock(tenant: Tenant) -> None:
    """Hold the tenant's row until the commit (or rollback), and read it as it is now: two
    administrators saving at once save one after the other, the second told of the first."""
    db.session.scalar(select(Tenant).where(Tenant.id == tenant.id).with_for_update().execution_options(populate_existing=True))


def _check_version(tenant: Tenant, version: str) -> None:
    """SettingsError 409 if the tenant is no longer at `version` (the row is let go)."""
    if tenant.row_version != version:
        db.session.rollback()  # lets the row go
        raise SettingsError(_("The settings were changed since you opened this page, by another administrator or by an update of "
                              "the configuration file. What you typed is below, and the page now shows the other values as "
                              "they are: check them, then save again."), 409)


def _checked(config: dict[str, Any], overrides: dict[str, Any], paths: list[str]) -> TenantSettings:
    """The settings of `config` with `overrides`, checked as tenant.toml is, and for sense; the
    errors about `paths` as SettingsError 400 (one about another key is put on the first of them)."""
    errors: dict[str, list[str]] = {}

    def blame(problem: str, message: str) -> None:
        path = next((p for p in paths if problem == p or problem.startswith(p + ".")), paths[0])
        if message not in errors.setdefault(path, []):
            errors[path].append(message)

    try:
        settings = TenantSettings.model_validate(deep_merge(config, overrides))
    except ValidationError as exc:
        for error in exc.errors():
            blame(_error_key(error), _error_message(error))
        raise SettingsError(_("Some values are not accepted: see the messages next to them."), 400, errors) from None
    for key, _reason in settings.key_problems():
        if any(key == p or p.startswith(key + ".") or key.startswith(p + ".") for p in paths):
            blame(key, _("This text is for a language the country does not offer."))
    for path in paths:
        if path in EDITABLE and EDITABLE[path].kind == "number":
            number = _attribute(settings, path)
            if number is not None and not (math.isfinite(number) and number <= MAX_NUMBER):
                blame(path, _("Enter a number no larger than %(max)s.", max=format_decimal(MAX_NUMBER)))
    if not errors and any(p.startswith(("sla.", "support.business_hours.")) for p in paths):
        _check_reachable(settings, paths, blame)
    if errors:
        raise SettingsError(_("Some values are not accepted: see the messages next to them."), 400, errors)
    return settings


def _check_reachable(settings: TenantSettings, paths: list[str], blame) -> None:
    """Service level targets must be met within the business hours (the tickets' due times are
    counted in them, up to five years ahead)."""
    from portal.tickets.business_time import add_business_hours  # the tickets domain builds on this one

    targets = {f"sla.{p}.{k}": getattr(getattr(settings.sla, p), k) for p in PRIORITIES for k in ("first_response_hours", "resolution_hours")}
    longest = max(targets, key=targets.get)
    try:
        add_business_hours(utcnow(), targets[longest], settings.support.business_hours, settings.tz)
    except ValueError:
        if longest in paths:
            blame(longest, _("With the country's business hours, this target would be more than five years away."))
        else:
            hours = format_decimal(targets[longest], "#,##0.##")
            blame("support.business_hours.days",
                  _("With these business hours, the longest service level target (%(hours)s hours) would be more than five years away.", hours=hours))


def _error_key(error: dict) -> str:
    """The key a pydantic error is about; the business hours' check of the whole table blames the
    closing time (before the opening time) or the days (none)."""
    key = error_path(error)
    if key == "support.business_hours":
        return key + (".days" if "working day" in str((error.get("ctx") or {}).get("error", "")) else ".end")
    return key


def _error_message(error: dict) -> str:
    """A pydantic error as a message in the reader's language (pydantic's own words are English)."""
    kind, ctx, key = error["type"], error.get("ctx") or {}, error_path(error)
    if kind == "tenant_key":
        return _("A late registration deadline must not be shorter than the deadline on time.")
    if kind == "value_error":
        reason = str(ctx.get("error", ""))
        if "end must be after start" in reason:
            return _("The closing time must be after the opening time.")
        if "working day" in reason:
            return _("Choose at least one working day.")
        if key == "support.email":
            return _("Enter an email address such as support@example.org.")
    if kind in ("missing", "string_too_short"):
        return _("This value is needed.")
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        limit = format_decimal(next(iter(ctx.values())), "#,##0.##")
        return {
            "greater_than": _("Enter a number greater than %(limit)s.", limit=limit),
            "greater_than_equal": _("Enter a number of at least %(limit)s.", limit=limit),
            "less_than": _("Enter a number smaller than %(limit)s.", limit=limit),
            "less_than_equal": _("Enter a number of at most %(limit)s.", limit=limit),
        }[kind]
    if kind.startswith("int_"):
        return _("Enter a whole number, such as 30.")
    if kind.startswith("float_") or kind == "finite_number":
        return _("Enter a number, such as 8 or 0.5.")
    if kind.startswith("time_"):
        return _("Enter a time on the 24-hour clock, such as 08:00.")
    if kind.startswith("date_"):
        position = error["loc"][-1]
        return _("Line %(line)s is not a date such as 2026-12-25.", line=position + 1 if isinstance(position, int) else 1)
    if kind == "literal_error":
        return _("Choose one of the options offered.")
    return _("This value is not accepted.")


def _attribute(settings: TenantSettings, path: str) -> Any:
    value: Any = settings
    for part in path.split("."):
        value = getattr(value, part, None)
    return value


def _same(item: Editable, a: Any, b: Any, settings: TenantSettings) -> bool:
    """Whether two values of a key show the same: a text per locale is compared as each locale reads it."""
    if item.kind == "localized":
        return all(settings.localize(a, code) == settings.localize(b, code) for code in settings.locales)
    return a == b


def _changes(old: dict[str, Any], new: dict[str, Any], paths: list[str], before: TenantSettings, after: TenantSettings) -> list[tuple[str, Any, Any]]:
    """(key, from, to) of each value of `paths` that changed; a text per locale, each language's
    (`support.hours.fr`), as written for it."""
    changes = []
    for path in paths:
        was, now = get_path(old, path), get_path(new, path)
        if EDITABLE[path].kind == "localized":
            codes = list(dict.fromkeys([*after.locales, *before.locales]))
            for code in codes:
                a, b = _text_for(was, code), _text_for(now, code)
                if a != b:
                    changes.append((f"{path}.{code}", a, b))
        elif was != now:
            changes.append((path, was, now))
    return changes


def _text_for(value: Any, code: str) -> str:
    if isinstance(value, dict):
        return value.get(code, "")
    return value or ""


def _commit_overrides(tenant: Tenant, actor: User | None, overrides: dict[str, Any], changes: list[tuple[str, Any, Any]]) -> list[TenantSettingChange]:
    if overrides == (tenant.overrides or {}) and not changes:
        db.session.rollback()  # nothing to write: let the row go
        return []
    tenant.overrides = overrides
    rows = [TenantSettingChange(tenant_id=tenant.id, user_id=actor.id if actor else None, key=key, old_value=old, new_value=new)
            for key, old, new in changes]
    try:
        db.session.add_all(rows)
        db.session.flush()
        if changes:
            # Articles cite these values, and search and the assistant hold them: they follow.
            tenant_settings_changed.send(current_app._get_current_object(), tenant=tenant, created=False)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return rows
