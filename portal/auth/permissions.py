"""Roles and the one enumeration of permissions (`area:action`)."""
from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l


class Role(StrEnum):
    """A user's role inside one tenant (held through a Membership)."""

    REQUESTER = "requester"
    L1_AGENT = "l1_agent"
    L2_TECHNICIAN = "l2_technician"
    TENANT_ADMIN = "tenant_admin"

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])

    @property
    def tier(self) -> str | None:
        return {Role.L1_AGENT: "L1", Role.L2_TECHNICIAN: "L2"}.get(self)


class GlobalRole(StrEnum):
    """Roles that span every tenant: the central expert team and the platform's administrators."""

    L3_EXPERT = "l3_expert"
    PLATFORM_ADMIN = "platform_admin"

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])


ROLE_LABELS = {
    Role.REQUESTER: _l("Requester"),
    Role.L1_AGENT: _l("Level 1 agent"),
    Role.L2_TECHNICIAN: _l("Level 2 technician"),
    Role.TENANT_ADMIN: _l("Tenant administrator"),
    GlobalRole.L3_EXPERT: _l("Level 3 expert"),
    GlobalRole.PLATFORM_ADMIN: _l("Platform administrator"),
}


class Permission(StrEnum):
    KB_READ_STAFF = "kb:read_staff"
    KB_EDIT = "kb:edit"
    KB_EDIT_GENERIC = "kb:edit_generic"
    TICKETS_OPEN = "tickets:open"
    TICKETS_WORK = "tickets:work"
    TICKETS_ESCALATE_L3 = "tickets:escalate_l3"
    MEMBERS_MANAGE = "members:manage"
    TENANT_MANAGE = "tenant:manage"
    DEPLOYMENT_REPORT = "deployment:report"
    INSIGHTS_VIEW = "insights:view"
    EXPERT_CONSOLE = "expert:console"
    TENANTS_ACROSS = "tenants:across"
    PLATFORM_OPERATE = "platform:operate"  # how the platform's queues and workers stand


_REQUESTER = {Permission.TICKETS_OPEN}
_L1 = _REQUESTER | {Permission.KB_READ_STAFF, Permission.KB_EDIT, Permission.TICKETS_WORK, Permission.INSIGHTS_VIEW}
# Every agent may assign a ticket to any member of the support team (the queue hands work round its
# group, and an agent passes a ticket to a colleague): assigning is part of working tickets.
_L2 = _L1 | {Permission.TICKETS_ESCALATE_L3}
_ADMIN = _L2 | {Permission.MEMBERS_MANAGE, Permission.TENANT_MANAGE, Permission.DEPLOYMENT_REPORT}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.REQUESTER: frozenset(_REQUESTER),
    Role.L1_AGENT: frozenset(_L1),
    Role.L2_TECHNICIAN: frozenset(_L2),
    Role.TENANT_ADMIN: frozenset(_ADMIN),
}

# What a global role grants inside every tenant, and outside them.
GLOBAL_PERMISSIONS: dict[GlobalRole, frozenset[Permission]] = {
    GlobalRole.L3_EXPERT: frozenset({Permission.EXPERT_CONSOLE, Permission.TENANTS_ACROSS}),
    GlobalRole.PLATFORM_ADMIN: frozenset(
        _ADMIN | {Permission.KB_EDIT_GENERIC, Permission.EXPERT_CONSOLE, Permission.TENANTS_ACROSS, Permission.PLATFORM_OPERATE}
    ),
}
