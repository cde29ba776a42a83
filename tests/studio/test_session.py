"""Team sign-in: Argon2id-checked passwords (former scrypt hashes upgraded at sign-in), throttled per user name
(15 failures in 5 minutes)."""
from __future__ import annotations

import pytest

from studio.session import LoginThrottle, make_auth
from tests.studio.conftest import open_studio


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    st = open_studio(tmp_path_factory, "auth", users="ann:right-pass,bob:bobs-pass")
    yield st
    st.close()


def test_passwords_are_argon2id_and_old_scrypt_hashes_are_upgraded_at_sign_in(team):
    from sqlalchemy import select

    from storage.models import User
    from storage.repo import users

    with team.store.session() as s:
        bob = s.scalar(select(User).where(User.name == "bob"))
        assert bob.password_hash.startswith("$argon2id$") and "bobs-pass" not in bob.password_hash
        bob.password_hash = users._scrypt_hash("bobs-pass")  # as stored before Argon2id
    check = make_auth(team, LoginThrottle())
    assert not check("bob", "wrong") and check("bob", "bobs-pass")
    with team.store.session() as s:
        assert s.scalar(select(User.password_hash).where(User.name == "bob")).startswith("$argon2id$")
    assert users.verify_password("bobs-pass", users._scrypt_hash("bobs-pass"))
    assert not users.verify_password("bobs-pass", "$argon2id$v=19$m=65536,t=3,p=4$broken")


def test_fifteen_failures_lock_the_name_for_five_minutes(team):
    now = [1000.0]
    check = make_auth(team, LoginThrottle(limit=15, window_s=300, clock=lambda: now[0]))
    assert check("ann", "right-pass")
    for _ in range(15):
        assert not check("ann", "guess")
    assert not check("ann", "right-pass")  # locked: even the right password is refused
    assert not check("ANN ", "right-pass")  # the same name however it is typed
    assert check("bob", "bobs-pass")  # other users are not affected
    now[0] += 301
    assert check("ann", "right-pass")  # the window has passed


def test_failures_spread_over_time_do_not_lock(team):
    now = [0.0]
    check = make_auth(team, LoginThrottle(limit=15, window_s=300, clock=lambda: now[0]))
    for _ in range(30):
        assert not check("bob", "typo")
        now[0] += 30  # one failure every 30 s: never 15 within 5 minutes
    assert check("bob", "bobs-pass")


def test_unknown_names_are_throttled_and_old_entries_are_forgotten():
    now = [0.0]
    throttle = LoginThrottle(limit=2, window_s=300, clock=lambda: now[0])
    for i in range(10_001):
        throttle.failed(f"nobody{i}")
    assert len(throttle._failures) == 10_001 and not throttle.blocked("nobody7")
    throttle.failed("nobody7")
    assert throttle.blocked("nobody7")  # a name that does not exist is locked like any other
    now[0] = 400.0  # every failure so far is older than the window
    throttle.failed("late")
    assert len(throttle._failures) == 1 and not throttle.blocked("nobody7")
