"""Sign-in: local accounts by default; an identity provider, when configured, mapped to our users."""

import pytest
from sqlmodel import Session

from core import identity, users
from core.roles import SYSTEM, Actor, Role
from tests import pages

PROVIDER = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "not-a-real-secret",
    "client_id": "easel",
    "client_secret": "not-a-real-secret",
    "server_metadata_url": "https://id.example.org/.well-known/openid-configuration",
}


@pytest.fixture
def people(engine, monkeypatch, now):
    pages.use_database(monkeypatch, engine)
    with Session(engine) as session:
        users.add_user(
            session, actor=SYSTEM, username="pat", role="planner", password="pat-secret", now=now
        )
        retired = users.add_user(
            session, actor=SYSTEM, username="old", role="manager", password="old-secret", now=now
        )
        retired.active = False
        session.add(retired)
        session.commit()
    return engine


def test_preferred_username_comes_before_the_email():
    claims = {"preferred_username": "pat", "email": "pat@example.org"}
    assert identity.usernames_for(claims) == ["pat", "pat@example.org"]


def test_an_email_maps_to_its_local_part_only_at_a_configured_domain():
    claims = {"email": "pat@example.org"}
    assert identity.usernames_for(claims, ["Example.org"]) == ["pat@example.org", "pat"]
    assert identity.usernames_for({"email": "pat@elsewhere.com"}, ["example.org"]) == [
        "pat@elsewhere.com"
    ]


def test_an_unverified_email_is_not_used():
    assert identity.usernames_for({"email": "pat@example.org", "email_verified": False}) == []


def test_find_user_takes_the_role_from_our_table(people):
    with Session(people) as session:
        user = identity.find_user(
            session, claims={"email": "pat@example.org"}, email_domains=["example.org"]
        )
        assert user.as_actor() == Actor("pat", Role.PLANNER)
        assert identity.find_user(session, claims={"preferred_username": "nobody"}) is None
        assert identity.find_user(session, claims={"preferred_username": "old"}) is None


def test_without_a_provider_the_login_page_shows_only_the_local_form(people):
    test = pages.app()
    test.run()
    assert not test.exception
    assert [t.label for t in test.text_input] == ["User name", "Password"]
    assert [b.label for b in test.button] == ["Sign in"]


def test_with_a_provider_the_login_page_offers_it_beside_the_local_form(people):
    test = pages.app()
    test.secrets["auth"] = PROVIDER
    test.run()
    assert not test.exception
    labels = [b.label for b in test.button]
    assert "Sign in with your company account" in labels and "Sign in" in labels


def test_a_provider_identity_known_to_us_is_signed_in_with_our_role(people):
    test = pages.app()
    test.secrets["auth"] = PROVIDER
    test.user = {"is_logged_in": True, "preferred_username": "pat", "email": "p@example.org"}
    test.run()
    assert not test.exception
    assert test.session_state["actor"] == Actor("pat", Role.PLANNER)
    assert test.title[0].value == "Overview"


def test_a_provider_identity_unknown_to_us_is_refused_with_a_message(people):
    test = pages.app()
    test.secrets["auth"] = PROVIDER
    test.user = {"is_logged_in": True, "email": "stranger@example.org"}
    test.run()
    assert "actor" not in test.session_state
    assert "has no Easel account" in test.error[0].value


def test_repeated_wrong_passwords_in_the_console_lock_the_account(people, monkeypatch):
    monkeypatch.setenv("EASEL_LOGIN_MAX_FAILURES", "3")
    for password in ("wrong-1", "wrong-2", "wrong-3", "pat-secret"):
        test = pages.app()
        test.run()
        test.text_input[0].input("pat")
        test.text_input[1].input(password)
        test.button[0].click()
        test.run()
        assert "actor" not in test.session_state
    assert "locked after repeated failed sign-ins" in test.error[0].value
