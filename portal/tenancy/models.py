from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, inspect, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core import versions
from portal.core.db import TenantScoped, TimestampMixin, db, utcnow
from portal.tenancy.overrides import override_paths, settings_with_overrides
from portal.tenancy.settings import TenantSettings

# Parsed settings per tenant, with the row version they were parsed from (the JSON is validated once,
# not on every request) and the overridden keys left out; a newer version replaces them.
_settings_cache: dict[int, tuple[str, TenantSettings, list[str]]] = {}


class Tenant(TimestampMixin, db.Model):
    """A country: its portal, languages and configuration: `config` as loaded from tenant.toml, and
    `overrides`, what its administrators changed in the portal (portal.tenancy.overrides)."""

    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    default_locale: Mapped[str] = mapped_column(String(16))
    locales: Mapped[list[str]] = mapped_column(JSON)
    timezone: Mapped[str] = mapped_column(String(64))
    opencrvs_version: Mapped[str] = mapped_column(String(40))
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Always replaced whole, never changed in place: the ORM sees only a new value.
    overrides: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default=text("'{}'"))
    source_path: Mapped[str | None] = mapped_column(String(500))
    is_active: Mapped[bool] = mapped_column(default=True)
    synced_at: Mapped[dt.datetime | None]

    @property
    def settings(self) -> TenantSettings:
        """The settings in force: the file's, with the changes made in the portal laid over them."""
        return self._parsed()[0]

    @property
    def ignored_overrides(self) -> list[str]:
        """Keys changed in the portal that the file (synced since) makes invalid: they are not applied."""
        return self._parsed()[1]

    @property
    def overridden(self) -> list[str]:
        """The keys changed in the portal and applied, in the settings page's order."""
        ignored = set(self.ignored_overrides)
        return [path for path in override_paths(self.overrides or {}) if path not in ignored]

    def _parsed(self) -> tuple[TenantSettings, list[str]]:
        if inspect(self).modified:
            # Changed in memory and not written yet: `updated_at` does not tell, so parse what it holds.
            return settings_with_overrides(self.config, self.overrides, self.slug)
        key = self.updated_at.isoformat() if self.updated_at else ""
        cached = _settings_cache.get(self.id)
        if cached is not None and cached[0] == key:
            return cached[1], cached[2]
        settings, ignored = settings_with_overrides(self.config, self.overrides, self.slug)
        _settings_cache[self.id] = (key, settings, ignored)
        return settings, ignored

    @property
    def row_version(self) -> str:
        """The row's version as a form carries it: another change to the tenant (a save on the
        settings page, a sync, a reported deployment) gives it a new one."""
        return self.updated_at.isoformat() if self.updated_at else ""

    def best_locale(self, wanted: str | None) -> str:
        """`wanted` if the tenant offers it (or its base language), else the tenant default. Language
        tags are compared as BCP 47 says, whatever their case or separator ("FR", "fr-fr", "fr_FR")."""
        if wanted:
            offered = {locale.replace("-", "_").lower(): locale for locale in self.locales}
            key = wanted.replace("-", "_").lower()
            found = offered.get(key) or offered.get(key.split("_")[0])
            if found:
                return found
        return self.default_locale

    def __repr__(self) -> str:
        return f"<Tenant {self.slug}>"


class TenantSettingChange(TenantScoped, db.Model):
    """One key changed on the settings page (or put back to the file's value): who, when, from what to what."""

    __tablename__ = "tenant_setting_changes"
    __table_args__ = (Index("ix_tenant_setting_changes_tenant_time", "tenant_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    key: Mapped[str] = mapped_column(String(200))  # `sla.urgent.first_response_hours`, `support.hours.fr`
    old_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    new_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    user: Mapped["User | None"] = relationship()  # noqa: F821


# The version name of every tenant row (portal.core.versions): tenants change rarely, so one for all.
TENANTS = "tenants"
versions.watch(Tenant, lambda row: (TENANTS,))
