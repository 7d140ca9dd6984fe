from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, String, inspect
from sqlalchemy.orm import Mapped, mapped_column

from portal.core import versions
from portal.core.db import TimestampMixin, db
from portal.tenancy.settings import TenantSettings


# Parsed settings per tenant row version: the JSON is validated once, not on every request.
# Parsed settings per tenant, with the row version they were parsed from; a newer version replaces them.
_settings_cache: dict[int, tuple[str, TenantSettings]] = {}


class Tenant(TimestampMixin, db.Model):
    """A country: its portal, languages and configuration (kept as loaded from tenant.toml)."""

    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    default_locale: Mapped[str] = mapped_column(String(16))
    locales: Mapped[list[str]] = mapped_column(JSON)
    timezone: Mapped[str] = mapped_column(String(64))
    opencrvs_version: Mapped[str] = mapped_column(String(40))
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    source_path: Mapped[str | None] = mapped_column(String(500))
    is_active: Mapped[bool] = mapped_column(default=True)
    synced_at: Mapped[dt.datetime | None]

    @property
    def settings(self) -> TenantSettings:
        if inspect(self).modified:
            # Changed in memory and not written yet: `updated_at` does not tell, so parse what it holds.
            return TenantSettings.model_validate(self.config)
        key = self.updated_at.isoformat() if self.updated_at else ""
        cached = _settings_cache.get(self.id)
        if cached is not None and cached[0] == key:
            return cached[1]
        settings = TenantSettings.model_validate(self.config)
        _settings_cache[self.id] = (key, settings)
        return settings

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


# The version name of every tenant row (portal.core.versions): tenants change rarely, so one for all.
TENANTS = "tenants"
versions.watch(Tenant, lambda row: (TENANTS,))
