"""Who is using the studio in a request (the logged-in user of a team instance, or nobody)."""
from __future__ import annotations

import collections
import logging
import threading
import time

import gradio as gr

from storage.repo import users as users_repo

from .services.app_state import Studio

log = logging.getLogger("reelsmith.auth")


def user_id(studio: Studio, request: gr.Request | None) -> int | None:
    name = getattr(request, "username", None) if request is not None else None
    if not name:
        return None
    with studio.store.session() as s:
        return users_repo.get_or_create_user(session=s, name=name).id


class LoginThrottle:
    """At most ``limit`` failed sign-ins per user name in ``window_s`` seconds (about 15 per 5 minutes, like
    common login throttles); while a name is over it, every try is refused without checking the password."""

    def __init__(self, limit: int = 15, window_s: float = 300.0, clock=time.monotonic) -> None:
        self.limit, self.window_s, self.clock = limit, window_s, clock
        self._failures: dict[str, collections.deque] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str) -> collections.deque:
        q = self._failures.setdefault(key, collections.deque())
        now = self.clock()
        while q and now - q[0] > self.window_s:
            q.popleft()
        return q

    def blocked(self, name: str) -> bool:
        with self._lock:
            return len(self._recent(name.strip().lower())) >= self.limit

    def failed(self, name: str) -> None:
        with self._lock:
            self._recent(name.strip().lower()).append(self.clock())
            if len(self._failures) > 10_000:  # bounded: forget names with no recent failure
                for key in [k for k, q in self._failures.items() if not self._recent(k)]:
                    del self._failures[key]


def make_auth(studio: Studio, throttle: LoginThrottle | None = None):
    """A Gradio ``auth`` callable checking names and Argon2id hashes in the store, throttled per user name."""
    throttle = throttle or LoginThrottle()

    def check(username: str, password: str) -> bool:
        if throttle.blocked(username or ""):
            log.warning("sign-in for %r refused: too many failed tries", username)
            return False
        with studio.store.session() as s:
            ok = users_repo.authenticate(session=s, name=username, password=password) is not None
        if not ok:
            throttle.failed(username or "")
        return ok

    return check
