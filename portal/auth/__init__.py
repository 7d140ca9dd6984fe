"""Accounts, memberships in tenants, roles and permissions, login and API tokens."""
