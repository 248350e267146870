"""People who sign in: accounts, password hashes, sign-in with lock-out."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Field, Session, SQLModel, select

from core import audit
from core.db import begin_write
from core.errors import InvalidInput, NotFound
from core.roles import LOGIN_ROLES, Actor, Permission, Role, require

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 8


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, index=True)
    role: str
    password_hash: str
    active: bool = True
    failed_logins: int = 0
    locked_until: datetime | None = None
    created_at: datetime

    def as_actor(self) -> Actor:
        return Actor(self.username, Role(self.role))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def generate_password() -> str:
    """A random password that is easy to type: four groups of letters and digits."""
    return "-".join(secrets.token_urlsafe(4).replace("_", "x").replace("-", "y") for _ in range(4))


def add_user(
    session: Session, *, actor: Actor, username: str, role: str, password: str, now: datetime
) -> User:
    """Create an account; only admins (or the system, when bootstrapping) may."""
    if actor.role != Role.SYSTEM:
        require(actor, Permission.MANAGE_USERS)
    begin_write(session)
    username = username.strip()
    if not username or not username.replace("_", "").replace(".", "").replace("-", "").isalnum():
        raise InvalidInput("A username is letters, digits, '.', '-' or '_'.")
    if role not in {r.value for r in LOGIN_ROLES}:
        raise InvalidInput(f"Unknown role {role!r}; choose one of {', '.join(LOGIN_ROLES)}.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"A password needs at least {MIN_PASSWORD_LENGTH} characters.")
    if session.exec(select(User).where(User.username == username)).first():
        raise InvalidInput(f"A user named {username!r} already exists.")
    user = User(username=username, role=role, password_hash=hash_password(password), created_at=now)
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="user.add",
        entity_type="user",
        entity_id=username,
        after={"username": username, "role": role},
        now=now,
    )
    return user


def set_role(
    session: Session, *, actor: Actor, username: str, role: str, reason: str, now: datetime
) -> User:
    """Change a person's role."""
    require(actor, Permission.MANAGE_USERS)
    begin_write(session)
    if role not in {r.value for r in LOGIN_ROLES}:
        raise InvalidInput(f"Unknown role {role!r}; choose one of {', '.join(LOGIN_ROLES)}.")
    user = get_user(session, username)
    before = {"role": user.role}
    user.role = role
    session.add(user)
    audit.record(
        session,
        actor=actor,
        action="user.set_role",
        entity_type="user",
        entity_id=username,
        before=before,
        after={"role": role},
        reason=reason,
        now=now,
    )
    return user


def get_user(session: Session, username: str) -> User:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(f"No user named {username!r}.")
    return user


def list_users(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(User.username)))


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in attempt: the user, or a message saying why not."""

    user: User | None
    message: str | None = None


def authenticate(
    session: Session,
    *,
    username: str,
    password: str,
    now: datetime,
    max_failures: int = 5,
    lockout: timedelta = timedelta(minutes=15),
) -> SignIn:
    """Check a password; repeated failures lock the account for a while (audited).

    Never raises for a wrong password: the caller commits either way, so that the count of
    failures is kept.
    """
    user = session.exec(select(User).where(User.username == username.strip())).first()
    refused = SignIn(None, "Unknown user name or wrong password.")
    if user is None or not user.active:
        return refused
    if user.locked_until is not None and user.locked_until > now:
        return SignIn(
            None,
            f"This account is locked after repeated failed sign-ins until "
            f"{user.locked_until:%H:%M} UTC.",
        )
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        user.failed_logins += 1
        if user.failed_logins >= max_failures:
            user.locked_until = now + lockout
            user.failed_logins = 0
            audit.record(
                session,
                actor=user.as_actor(),
                action="user.locked",
                entity_type="user",
                entity_id=user.username,
                after={"locked_until": user.locked_until},
                reason=f"{max_failures} failed sign-ins in a row",
                now=now,
            )
        session.add(user)
        return refused
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)
    return SignIn(user)
