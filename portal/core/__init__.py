"""Shared foundations: database base classes and tenancy scoping, i18n helpers, errors."""
