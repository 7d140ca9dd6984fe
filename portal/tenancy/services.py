"""Loading tenant folders and finding tenants."""
from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app
from packaging.version import InvalidVersion, Version
from pydantic import ValidationError
from sqlalchemy import JSON, bindparam, inspect, select, text
from sqlalchemy.orm import make_transient_to_detached

from portal.config import REPO_ROOT
from portal.core import versions
from portal.core.db import db, utcnow
from portal.tenancy.models import TENANTS, Tenant
from portal.tenancy.settings import TenantSettings
from portal.tenancy.signals import tenant_settings_changed


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
