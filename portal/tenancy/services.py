"""Loading tenant folders and finding tenants."""
from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app
from packaging.version import InvalidVersion, Version
from pydantic import ValidationError
from sqlalchemy import JSON, bindparam, inspect, select, text
from sqlalchemy.orm import make_transient_to_detached

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


def read_tenant_file(path: Path) -> tuple[TenantSettings | None, list[SyncProblem]]:
    """Parse and validate one tenant.toml; return the settings or the problems found."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        return None, [SyncProblem(str(path), "", f"not valid TOML ({exc})")]
    except OSError as exc:
        return None, [SyncProblem(str(path), "", f"cannot be read ({exc.strerror})")]
    folder = path.parent.name
    try:
        settings = TenantSettings.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            key = ".".join(str(part) for part in error["loc"]) or "(file)"
            problems.append(SyncProblem(str(path), key, error["msg"]))
        return None, problems
    if settings.slug != folder:
        return None, [SyncProblem(str(path), "slug", f"'{settings.slug}' does not match the folder name '{folder}'")]
    return settings, []


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
    for path in sorted(directory.glob("*/tenant.toml")):
        settings, problems = read_tenant_file(path)
        if settings is None:
            report.problems.extend(problems)
            continue
        upsert_tenant(settings, source_path=str(path), report=report)
    db.session.commit()
    return report


def upsert_tenant(settings: TenantSettings, source_path: str | None = None, report: SyncReport | None = None) -> Tenant:
    config = settings.model_dump(mode="json")
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == settings.slug))
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
