import re
from pathlib import Path

import pytest

from core.errors import PermissionDenied
from core.roles import LOGIN_ROLES, PERMISSIONS, Actor, Permission, Role, require


@pytest.mark.parametrize(
    ("role", "permission", "allowed"),
    [
        (Role.PLANNER, Permission.APPROVE_CAMPAIGNS, True),
        (Role.PLANNER, Permission.READ_AUDIT, False),
        (Role.SUPPORT, Permission.PAUSE_OFFERS, True),
        (Role.SUPPORT, Permission.APPROVE_CAMPAIGNS, False),
        (Role.MANAGER, Permission.READ_AUDIT, True),
        (Role.MANAGER, Permission.MANAGE_USERS, False),
        (Role.ADMIN, Permission.IMPORT_DATA, True),
        (Role.ADMIN, Permission.APPROVE_CAMPAIGNS, False),
    ],
)
def test_permission_table(role, permission, allowed):
    actor = Actor("someone", role)
    assert actor.can(permission) is allowed
    if allowed:
        require(actor, permission)
    else:
        with pytest.raises(PermissionDenied, match="may not"):
            require(actor, permission)


def test_every_role_and_permission_is_documented():
    text = Path(__file__).resolve().parents[1].joinpath("docs", "roles.md").read_text()
    for role in LOGIN_ROLES:
        assert f"| {role.value} " in text
    for permission in Permission:
        assert f"`{permission.value}`" in text
    # and the table in the docs says the same as the code
    for role in LOGIN_ROLES:
        row = re.search(rf"^\| {role.value} \|(.*)$", text, re.M).group(1)
        documented = set(re.findall(r"`(\w+)`", row))
        assert documented == {p.value for p in PERMISSIONS[role]}, role
