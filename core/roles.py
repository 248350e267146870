"""Roles and what each may do: the one permission table."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.errors import PermissionDenied


class Role(StrEnum):
    PLANNER = "planner"
    SUPPORT = "support"
    MANAGER = "manager"
    ADMIN = "admin"
    SYSTEM = "system"  # the scheduler's jobs; never a login


class Permission(StrEnum):
    VIEW_CUSTOMERS = "view_customers"
    APPROVE_CAMPAIGNS = "approve_campaigns"
    APPROVE_LARGE_CAMPAIGNS = "approve_large_campaigns"
    OVERRIDE_OFFERS = "override_offers"
    PAUSE_OFFERS = "pause_offers"
    READ_AUDIT = "read_audit"
    MANAGE_USERS = "manage_users"
    IMPORT_DATA = "import_data"
    RUN_JOBS = "run_jobs"
    MANAGE_MODEL = "manage_model"
    EDIT_SETTINGS = "edit_settings"
    PROPOSE_SERVICE_RECOVERY = "propose_service_recovery"
    RESOLVE_SENDS = "resolve_sends"
    ERASE_CUSTOMERS = "erase_customers"


P = Permission

PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.PLANNER: frozenset(
        {
            P.VIEW_CUSTOMERS,
            P.APPROVE_CAMPAIGNS,
            P.OVERRIDE_OFFERS,
            P.PAUSE_OFFERS,
            P.PROPOSE_SERVICE_RECOVERY,
        }
    ),
    Role.SUPPORT: frozenset(
        {P.VIEW_CUSTOMERS, P.PAUSE_OFFERS, P.OVERRIDE_OFFERS, P.PROPOSE_SERVICE_RECOVERY}
    ),
    Role.MANAGER: frozenset(
        {
            P.VIEW_CUSTOMERS,
            P.APPROVE_CAMPAIGNS,
            P.APPROVE_LARGE_CAMPAIGNS,
            P.OVERRIDE_OFFERS,
            P.PAUSE_OFFERS,
            P.READ_AUDIT,
        }
    ),
    Role.ADMIN: frozenset(
        {
            P.VIEW_CUSTOMERS,
            P.PAUSE_OFFERS,
            P.READ_AUDIT,
            P.MANAGE_USERS,
            P.IMPORT_DATA,
            P.RUN_JOBS,
            P.MANAGE_MODEL,
            P.EDIT_SETTINGS,
            P.RESOLVE_SENDS,
            P.ERASE_CUSTOMERS,
        }
    ),
    Role.SYSTEM: frozenset(
        {P.VIEW_CUSTOMERS, P.PAUSE_OFFERS, P.IMPORT_DATA, P.RUN_JOBS, P.MANAGE_MODEL}
    ),
}

LOGIN_ROLES = (Role.PLANNER, Role.SUPPORT, Role.MANAGER, Role.ADMIN)


@dataclass(frozen=True)
class Actor:
    """Who is acting: a signed-in person or the system."""

    username: str
    role: Role

    def can(self, permission: Permission) -> bool:
        return permission in PERMISSIONS.get(self.role, frozenset())


SYSTEM = Actor("system", Role.SYSTEM)


def require(actor: Actor, permission: Permission) -> None:
    """Raise PermissionDenied unless the actor's role grants the permission."""
    if not actor.can(permission):
        raise PermissionDenied(
            f"{actor.username} ({actor.role}) may not {permission.value.replace('_', ' ')}."
        )
