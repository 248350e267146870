from datetime import timedelta

import pytest
from sqlmodel import Session

from core import audit, users
from core.errors import InvalidInput, PermissionDenied
from core.roles import SYSTEM, Actor, Role


def _add(engine, now, name="pat", role="planner", password="correct horse"):
    with Session(engine) as session:
        users.add_user(session, actor=SYSTEM, username=name, role=role, password=password, now=now)
        session.commit()


def test_password_is_stored_as_argon2_hash(engine, now):
    _add(engine, now)
    with Session(engine) as session:
        user = users.get_user(session, "pat")
    assert user.password_hash.startswith("$argon2")
    assert "correct horse" not in user.password_hash


def test_sign_in_with_right_password(engine, now):
    _add(engine, now)
    with Session(engine) as session:
        result = users.authenticate(session, username="pat", password="correct horse", now=now)
    assert result.user is not None and result.user.as_actor() == Actor("pat", Role.PLANNER)


def test_repeated_failures_lock_the_account_and_are_audited(engine, now):
    _add(engine, now)
    for _ in range(3):
        with Session(engine) as session:
            result = users.authenticate(
                session, username="pat", password="nope", now=now, max_failures=3
            )
            session.commit()
        assert result.user is None
    with Session(engine) as session:
        locked = users.authenticate(
            session, username="pat", password="correct horse", now=now, max_failures=3
        )
        assert locked.user is None and "locked" in locked.message
        later = users.authenticate(
            session,
            username="pat",
            password="correct horse",
            now=now + timedelta(hours=1),
            max_failures=3,
        )
        assert later.user is not None
        assert [e.action for e in audit.search(session)] == ["user.locked", "user.add"]


def test_only_admins_add_users(engine, now):
    with Session(engine) as session, pytest.raises(PermissionDenied):
        users.add_user(
            session,
            actor=Actor("pat", Role.PLANNER),
            username="eve",
            role="admin",
            password="12345678",
            now=now,
        )


@pytest.mark.parametrize(
    ("name", "role", "password", "message"),
    [
        ("bob", "wizard", "long enough", "Unknown role"),
        ("bob", "planner", "short", "at least 8"),
        ("bad name!", "planner", "long enough", "username"),
    ],
)
def test_bad_accounts_are_refused(engine, now, admin, name, role, password, message):
    with Session(engine) as session, pytest.raises(InvalidInput, match=message):
        users.add_user(session, actor=admin, username=name, role=role, password=password, now=now)


def test_duplicate_username_is_refused(engine, now, admin):
    _add(engine, now)
    with Session(engine) as session, pytest.raises(InvalidInput, match="already exists"):
        users.add_user(
            session, actor=admin, username="pat", role="support", password="12345678", now=now
        )


def test_role_change_is_audited(engine, now, admin):
    _add(engine, now)
    with Session(engine) as session:
        users.set_role(
            session, actor=admin, username="pat", role="manager", reason="promoted", now=now
        )
        session.commit()
        assert users.get_user(session, "pat").role == "manager"
        event = audit.search(session, action="user.set_role")[0]
    assert event.before == '{"role":"planner"}' and event.after == '{"role":"manager"}'


def test_the_hash_is_slow_salted_and_verifies(engine, now):
    from argon2 import PasswordHasher, extract_parameters

    _add(engine, now)
    _add(engine, now, name="sue")
    with Session(engine) as session:
        pat, sue = users.get_user(session, "pat"), users.get_user(session, "sue")
    parameters = extract_parameters(pat.password_hash)
    # OWASP's floor for Argon2id: 19 MiB of memory and two passes.
    assert parameters.type.name == "ID"
    assert parameters.memory_cost >= 19 * 1024 and parameters.time_cost >= 2
    assert pat.password_hash != sue.password_hash  # same password, different salt
    assert PasswordHasher().verify(pat.password_hash, "correct horse")


def test_a_locked_account_is_refused_even_with_the_right_password_until_the_lock_ends(engine, now):
    _add(engine, now)
    for _ in range(2):
        with Session(engine) as session:
            users.authenticate(session, username="pat", password="nope", now=now, max_failures=2)
            session.commit()
    lock = timedelta(minutes=15)
    with Session(engine) as session:
        for moment, signed_in in ((now, False), (now + lock - timedelta(seconds=1), False)):
            result = users.authenticate(
                session, username="pat", password="correct horse", now=moment, max_failures=2
            )
            assert (result.user is not None) is signed_in
        assert (
            users.authenticate(
                session, username="pat", password="correct horse", now=now + lock, max_failures=2
            ).user
            is not None
        )
