"""Sign-in through an identity provider: which of our users an OIDC identity is.

The provider proves who someone is; the role still comes from our own users table, so that an
account at the provider gives no access until an admin has created the Easel user.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlmodel import Session, select

from core.users import User


def usernames_for(claims: Mapping[str, Any], email_domains: Iterable[str] = ()) -> list[str]:
    """Easel user names this identity may be, most specific first.

    The provider's preferred_username and the verified e-mail address as they are; and, for an
    address at one of `email_domains`, the part before the @ (Easel names hold no @).
    """
    names: list[str] = []
    preferred = str(claims.get("preferred_username") or "").strip()
    if preferred:
        names.append(preferred)
    email = str(claims.get("email") or "").strip()
    if email and claims.get("email_verified", True) is not False:
        names.append(email)
        local, _, domain = email.rpartition("@")
        if local and domain.lower() in {d.strip().lower() for d in email_domains}:
            names.append(local)
    return list(dict.fromkeys(names))


def find_user(
    session: Session, *, claims: Mapping[str, Any], email_domains: Iterable[str] = ()
) -> User | None:
    """The active user this identity maps to, or None (then the person is refused)."""
    for name in usernames_for(claims, email_domains):
        user = session.exec(select(User).where(User.username == name)).first()
        if user is not None and user.active:
            return user
    return None
