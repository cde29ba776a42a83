"""The watch page's server side without the web framework: validating viewing events and comments, pseudonymous
viewer ids, rate limiting, device/region from what the browser says, and the arm a page view is shown."""
from __future__ import annotations

import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
from sqlalchemy.exc import IntegrityError

from analytics.experiments import Arm, choose_arm
from storage.audience_models import EventKind, Publication
from storage.db import Store
from storage.errors import InvalidValue, NotFound
from storage.repo import audience, publications

MAX_EVENTS_PER_BATCH = 50
MAX_POSITION_S = 24 * 3600.0
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
SESSION_RE = re.compile(r"^[A-Za-z0-9_-]{8,40}$")
REGIONS = {"Africa", "America", "Antarctica", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific"}


class RateLimited(Exception):
    """Too many requests from one client; the caller answers 429."""


@dataclass
class TokenBucket:
    """Per-key token buckets: ``rate`` requests a second on average, bursts up to ``burst``."""

    rate: float
    burst: float
    _state: dict[str, tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._state.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            ok = tokens >= 1.0
            self._state[key] = (tokens - 1.0 if ok else tokens, now)
            if len(self._state) > 100_000:  # forget idle clients
                cutoff = now - self.burst / self.rate
                self._state = {k: v for k, v in self._state.items() if v[1] > cutoff}
            return ok


def device_from_user_agent(ua: str) -> str:
    ua = (ua or "").lower()
    if any(w in ua for w in ("smart-tv", "smarttv", "appletv", "googletv", "hbbtv", "roku")):
        return "tv"
    if "ipad" in ua or "tablet" in ua or ("android" in ua and "mobile" not in ua):
        return "tablet"
    if "mobi" in ua or "iphone" in ua:
        return "mobile"
    return "desktop" if ua else "unknown"


def region_from_timezone(tz: str | None) -> str:
    """A coarse region from the browser's IANA time zone (``Europe/Berlin`` → Europe); no IP lookup."""
    area = (tz or "").split("/", 1)[0]
    return area if area in REGIONS else "unknown"


def parse_events(raw: object) -> list[audience.Event]:
    """Validate a list of ``{"type", "position", "watched"}`` objects; raise InvalidValue naming the problem."""
    if not isinstance(raw, list) or not raw:
        raise InvalidValue("events must be a non-empty list")
    if len(raw) > MAX_EVENTS_PER_BATCH:
        raise InvalidValue(f"at most {MAX_EVENTS_PER_BATCH} events per request")
    now = datetime.now(timezone.utc)
    out = []
    for i, ev in enumerate(raw):
        if not isinstance(ev, dict):
            raise InvalidValue(f"event {i} is not an object")
        try:
            kind = EventKind(ev.get("type"))
        except ValueError:
            raise InvalidValue(f"event {i}: unknown type {ev.get('type')!r}") from None
        pos, watched = ev.get("position", 0.0), ev.get("watched", 0.0)
        for name, value in (("position", pos), ("watched", watched)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) \
                    or value < 0 or value > MAX_POSITION_S:
                raise InvalidValue(f"event {i}: {name} must be a number of seconds")
        out.append(audience.Event(kind=kind, position_s=float(pos), watched_s=float(watched), occurred_at=now))
    return out


@dataclass
class Viewing:
    """Bound to one store: what the watch page's endpoints call."""

    store: Store
    limiter: TokenBucket = field(default_factory=lambda: TokenBucket(rate=5.0, burst=40.0))
    ip_limiter: TokenBucket = field(default_factory=lambda: TokenBucket(rate=2000.0, burst=4000.0))
    rng: np.random.Generator = field(default_factory=np.random.default_rng)
    cache_s: float = 5.0  # how long a page's id and running test are remembered between event batches
    _targets: dict[str, tuple[float, int, frozenset]] = field(default_factory=dict)
    _salts: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _target(self, s, slug: str) -> tuple[int, frozenset]:
        """(publication id, arm ids of its running test) for a served slug, cached for ``cache_s`` seconds."""
        now = time.monotonic()
        with self._lock:
            hit = self._targets.get(slug)
        if hit and now - hit[0] < self.cache_s:
            return hit[1], hit[2]
        pub = publications.by_slug(session=s, slug=slug)
        exp = next((e for e in pub.experiments if e.status == "running"), None)
        arms = frozenset(a.id for a in exp.arms) if exp else frozenset()
        with self._lock:
            if len(self._targets) > 10_000:
                self._targets.clear()
            self._targets[slug] = (now, pub.id, arms)
        return pub.id, arms

    def _viewer(self, s, token: str) -> str:
        period = datetime.now(timezone.utc).strftime("%Y-%m")
        salt = self._salts.get(period)
        if salt is None:
            audience.viewer_id(session=s, token=token)  # creates the period's salt if needed
            from storage.audience_models import ViewerSalt
            salt = s.get(ViewerSalt, period).value
            self._salts[period] = salt
        return audience.pseudonym(salt, token)

    def check_rate(self, client_ip: str, token: str) -> None:
        if not self.ip_limiter.take(client_ip) or not self.limiter.take(f"{client_ip}|{token}"):
            raise RateLimited()

    def page(self, slug: str) -> tuple[Publication, dict]:
        """The publication and this page view's settings: a new session key and, in a test, the chosen arm."""
        with self.store.session() as s:
            pub = publications.by_slug(session=s, slug=slug)
            exp = next((e for e in pub.experiments if e.status == "running"), None)
            arm = None
            if exp is not None and exp.arms:
                idx = choose_arm([Arm(a.impressions, a.clicks) for a in exp.arms], self.rng)
                a = exp.arms[idx]
                arm = {"id": a.id, "label": a.label, "title": a.title, "thumbnail_asset_id": a.thumbnail_asset_id}
            s.expunge_all()
        return pub, {"session": secrets.token_urlsafe(18), "arm": arm}

    def ingest(self, payload: dict, *, client_ip: str, user_agent: str) -> int:
        """Store one batch of events from a watch page; return how many were accepted."""
        if not isinstance(payload, dict):
            raise InvalidValue("body must be a JSON object")
        token, key, slug = payload.get("token"), payload.get("session"), payload.get("video")
        if not isinstance(token, str) or not TOKEN_RE.match(token):
            raise InvalidValue("token must be 8–64 letters, digits, - or _")
        if not isinstance(key, str) or not SESSION_RE.match(key):
            raise InvalidValue("session must be 8–40 letters, digits, - or _")
        if not isinstance(slug, str) or len(slug) > 80:
            raise InvalidValue("video must be the page's slug")
        events = parse_events(payload.get("events"))
        self.check_rate(client_ip, token)
        arm_id = payload.get("arm")
        try:
            with self.store.session() as s:
                pub_id, arms = self._target(s, slug)
                if arm_id is not None and (not isinstance(arm_id, int) or arm_id not in arms):
                    arm_id = None  # a stale or forged arm is ignored, the events still count
                viewer = self._viewer(s, token)
                audience.record_events(session=s, publication_id=pub_id, session_key=key, viewer=viewer,
                                       events=events, device=device_from_user_agent(user_agent),
                                       region=region_from_timezone(payload.get("tz")), arm_id=arm_id)
        except IntegrityError:  # the page was deleted since it was cached
            with self._lock:
                self._targets.pop(slug, None)
            raise NotFound("No such video.") from None
        return len(events)

    def comment(self, payload: dict, *, client_ip: str) -> dict:
        if not isinstance(payload, dict):
            raise InvalidValue("body must be a JSON object")
        token, slug = payload.get("token"), payload.get("video")
        if not isinstance(token, str) or not TOKEN_RE.match(token):
            raise InvalidValue("token must be 8–64 letters, digits, - or _")
        text, author = payload.get("text"), payload.get("author") or ""
        if not isinstance(text, str) or not isinstance(author, str) or not isinstance(slug, str):
            raise InvalidValue("text, author and video must be strings")
        self.check_rate(client_ip, token)
        from analytics.sentiment import score_texts

        score = float(score_texts([text], method="vader")[0]) if text.strip() else None
        with self.store.session() as s:
            pub = publications.by_slug(session=s, slug=slug)
            viewer = audience.viewer_id(session=s, token=token)
            c = audience.add_comment(session=s, publication_id=pub.id, text=text, author=author, viewer=viewer,
                                     sentiment=score)
            return {"id": c.id, "author": c.author or "Viewer", "text": c.text}

    def comments(self, slug: str, limit: int = 50) -> list[dict]:
        with self.store.session() as s:
            pub = publications.by_slug(session=s, slug=slug)
            return [{"author": c.author or "Viewer", "text": c.text, "at": c.created_at.strftime("%Y-%m-%d")}
                    for c in audience.list_comments(session=s, publication_ids=[pub.id], limit=limit)]



