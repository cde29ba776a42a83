"""Team users: passwords stored as Argon2id hashes (argon2-cffi's defaults: salted, memory-hard), never in clear.
Older scrypt hashes still verify and are replaced by Argon2id at the next successful sign-in."""
from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import InvalidValue
from ..models import User, utcnow

_N, _R, _P = 2**14, 8, 1


def _argon2():
    from argon2 import PasswordHasher

    return PasswordHasher()


def hash_password(password: str) -> str:
    return _argon2().hash(password)


def needs_rehash(stored: str | None) -> bool:
    """True for hashes made with older settings or the former scrypt scheme."""
    if not stored or not stored.startswith("$argon2"):
        return True
    return _argon2().check_needs_rehash(stored)


def _scrypt_hash(password: str, *, salt: bytes | None = None) -> str:
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, stored: str | None) -> bool:
    """Constant-time check against an Argon2id hash (or a former scrypt one)."""
    if not stored:
        return False
    if stored.startswith("$argon2"):
        from argon2.exceptions import InvalidHashError, VerificationError

        try:
            return _argon2().verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False
    try:
        scheme, n, r, p, salt_b64, digest_b64 = stored.split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt_b64), n=int(n), r=int(r), p=int(p),
                                dklen=len(base64.b64decode(digest_b64)))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest, base64.b64decode(digest_b64))


def parse_users(spec: str) -> list[tuple[str, str]]:
    """``"alice:pw1,bob:pw2"`` → [("alice", "pw1"), ("bob", "pw2")]. Passwords may contain ':' but not ','."""
    pairs = []
    for item in (spec or "").split(","):
        item = item.strip()
        if not item:
            continue
        name, sep, password = item.partition(":")
        if not sep or not name.strip() or not password:
            raise InvalidValue(f"REELSMITH_USERS entries are user:password, got {item.split(':')[0]!r}…")
        pairs.append((name.strip(), password))
    return pairs


def sync_users(*, session: Session, pairs: list[tuple[str, str]]) -> list[User]:
    """Create or update the listed users (the first one is admin); others stay as they are."""
    users = []
    for i, (name, password) in enumerate(pairs):
        user = session.scalar(select(User).where(User.name == name))
        if user is None:
            user = User(name=name, is_admin=(i == 0))
            session.add(user)
        if not verify_password(password, user.password_hash) or needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        users.append(user)
    session.flush()
    return users


@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """An Argon2id hash of a random password, made once: unknown names are checked against it."""
    return hash_password(base64.b64encode(os.urandom(24)).decode())


def authenticate(*, session: Session, name: str, password: str) -> User | None:
    """The user if ``name`` and ``password`` match. An unknown name (or one without a password) costs one Argon2id
    verification too, against a dummy hash, so the answer time does not tell which names exist."""
    user = session.scalar(select(User).where(User.name == name))
    if user is None or not user.password_hash:
        verify_password(password, _dummy_hash())
        return None
    if not verify_password(password, user.password_hash):
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    session.flush()
    return user


def get_or_create_user(*, session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        user = User(name=name)
        session.add(user)
        session.flush()
    return user
