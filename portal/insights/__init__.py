"""Insights: what users ask for, where self-service fails, and what each country should do about it."""

from portal.insights import tracking  # noqa: E402,F401  (whoever loads insights also marks the weeks that ticket changes make stale)
