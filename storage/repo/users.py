"""Team users: passwords stored as scrypt hashes (salted), never in clear."""
from __future__ import annotations

import base64
import hashlib
import hmac
import os

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import InvalidValue
from ..models import User, utcnow

_N, _R, _P = 2**14, 8, 1


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, stored: str | None) -> bool:
    if not stored:
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
        if not verify_password(password, user.password_hash):
            user.password_hash = hash_password(password)
        users.append(user)
    session.flush()
    return users


def authenticate(*, session: Session, name: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.name == name))
    if user is None or not verify_password(password, user.password_hash):
        return None
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
