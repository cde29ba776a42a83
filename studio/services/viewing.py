"""The watch page's server side without the web framework: validating viewing events and comments, pseudonymous
viewer ids, bot filtering, rate limiting, device/region from what the browser says, the arm a page view is shown,
and the buffer that writes accepted events in batches.

Privacy: a viewer id is an HMAC of (user agent, address, video) with a salt that rotates every UTC day
(``storage.repo.audience.day_salts``); the address, the user agent and the browser's random token (used only as a
rate-limit key, in memory) are never stored. Only the device class is derived from the user agent.

Load: ``ingest`` validates a request and puts it in a bounded in-memory buffer (``EventWriter``); one thread
writes the buffer in transactions of many requests. A full buffer is refused (``Busy`` → 503 with Retry-After),
never dropped silently; ``close()`` writes everything still buffered.
"""
from __future__ import annotations

import atexit
import logging
import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Callable

import numpy as np
from sqlalchemy.exc import DataError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from analytics.experiments import Arm, choose_arm
from storage.audience_models import EventKind, Publication
from storage.db import Store
from storage.errors import InvalidValue, NotFound
from storage.repo import audience, publications

log = logging.getLogger("reelsmith.watch")

MAX_EVENTS_PER_BATCH = 50
MAX_POSITION_S = 24 * 3600.0
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
SESSION_RE = re.compile(r"^[A-Za-z0-9_-]{8,40}$")
REGIONS = {"Africa", "America", "Antarctica", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific"}


# Crawlers, link previewers, HTTP libraries and headless/automated browsers: their events are dropped (answered
# 202 with nothing accepted, so a bot learns nothing). Matched case-insensitively anywhere in the user agent.
BOT_USER_AGENTS = (
    "bot", "crawl", "spider", "slurp", "archiver", "scraper", "headless", "phantomjs", "puppeteer", "selenium",
    "webdriver", "lighthouse", "pagespeed", "gtmetrix", "facebookexternalhit", "embedly", "quora link preview",
    "whatsapp", "curl", "wget", "python-requests", "python-urllib", "python-httpx", "aiohttp", "httpie",
    "go-http-client", "java/", "okhttp", "apache-httpclient", "libwww", "lwp::", "scrapy", "node-fetch", "axios",
    "postmanruntime", "insomnia", "httpclient", "monitor", "uptime", "pingdom",
)
_BOT_RE = re.compile("|".join(re.escape(w) for w in BOT_USER_AGENTS), re.IGNORECASE)


def is_bot(user_agent: str | None) -> bool:
    """A crawler, script or headless browser (or no user agent at all: every real browser sends one)."""
    ua = (user_agent or "").strip()
    return not ua or _BOT_RE.search(ua) is not None


class RateLimited(Exception):
    """Too many requests from one client, or for one video; the caller answers 429."""


class Busy(Exception):
    """The event buffer is full (the database is not keeping up); the caller answers 503 with Retry-After."""

    def __init__(self, retry_after_s: int = 1) -> None:
        super().__init__(f"busy; retry after {retry_after_s} s")
        self.retry_after_s = retry_after_s


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


def parse_events(raw: object, now: datetime | None = None) -> list[audience.Event]:
    """Validate a list of ``{"type", "position", "watched"}`` objects; raise InvalidValue naming the problem."""
    if not isinstance(raw, list) or not raw:
        raise InvalidValue("events must be a non-empty list")
    if len(raw) > MAX_EVENTS_PER_BATCH:
        raise InvalidValue(f"at most {MAX_EVENTS_PER_BATCH} events per request")
    now = now or datetime.now(timezone.utc)
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


class EventWriter:
    """A bounded in-memory buffer of accepted requests and the one thread that writes them: every ``interval_s``
    seconds (sooner once ``batch_events`` events wait) it takes what is waiting and writes it in one transaction.

    ``submit`` raises ``Busy`` when ``max_events`` are already waiting. A transaction refused for a data reason (a
    video deleted meanwhile, a forged session key) is retried request by request so only the bad ones are left out
    (counted in ``failed_events`` and logged); a database that is down is retried with back-off while the buffer
    fills up and new requests get 503. ``flush()`` waits until everything submitted so far is written; ``close()``
    writes the rest and stops the thread (also registered with ``atexit`` while the thread runs)."""

    def __init__(self, store: Store, *, max_events: int = 20_000, interval_s: float = 0.25,
                 batch_events: int = 5_000, retry_after_s: int = 1) -> None:
        self.store, self.max_events, self.interval_s = store, max_events, interval_s
        self.batch_events, self.retry_after_s = batch_events, retry_after_s
        self._cond = threading.Condition()
        self._items: deque[audience.SessionBatch] = deque()
        self._pending = 0      # events buffered or being written
        self._submitted = 0    # requests accepted so far
        self._done = 0         # requests written (or refused by the database)
        self._flush_target = 0
        self._closing = False
        self._thread: threading.Thread | None = None
        self.transactions = 0
        self.written_requests = 0
        self.written_events = 0
        self.failed_events = 0

    @property
    def pending_events(self) -> int:
        return self._pending

    def submit(self, item: audience.SessionBatch) -> None:
        n = len(item.events)
        with self._cond:
            if self._closing or self._pending + n > self.max_events:
                raise Busy(self.retry_after_s)
            self._items.append(item)
            self._pending += n
            self._submitted += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="reelsmith-event-writer", daemon=True)
                self._thread.start()
                atexit.register(self.close)
            if len(self._items) == 1 or self._pending >= self.batch_events:
                self._cond.notify_all()  # wake an idle writer, or one waiting out its interval with a full batch

    def flush(self, timeout: float = 60.0) -> bool:
        """Wait until every request submitted before this call is written; False on timeout."""
        with self._cond:
            target = self._submitted
            self._flush_target = max(self._flush_target, target)
            self._cond.notify_all()
            return self._cond.wait_for(lambda: self._done >= target, timeout)

    def close(self, timeout: float = 60.0) -> None:
        """Refuse new requests, write everything buffered, stop the thread. Safe to call twice."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                log.error("event writer: %d buffered events not written within %.0f s of shutdown",
                          self._pending, timeout)
        atexit.unregister(self.close)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._items or self._closing)
                if not self._items:
                    return  # closing, nothing left
                deadline = time.monotonic() + self.interval_s
                while not (self._closing or self._flush_target > self._done or self._pending >= self.batch_events):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                take, n = [], 0
                while self._items and (not take or n + len(self._items[0].events) <= self.batch_events):
                    item = self._items.popleft()
                    take.append(item)
                    n += len(item.events)
            try:
                self._write(take)
            finally:
                with self._cond:
                    self._pending -= n
                    self._done += len(take)
                    self._cond.notify_all()

    def _write(self, items: list[audience.SessionBatch]) -> None:
        attempt = 0
        while True:
            try:
                with self.store.session() as s:
                    if len(items) > 1:
                        audience.record_many(session=s, batches=items)
                    else:  # alone (or retried alone): the path that copes with a concurrent writer
                        it = items[0]
                        audience.record_events(session=s, publication_id=it.publication_id,
                                               session_key=it.session_key, viewer=it.viewer, events=it.events,
                                               device=it.device, region=it.region, arm_id=it.arm_id,
                                               source=it.source, also_viewer=it.also_viewer,
                                               count_after_s=it.count_after_s)
            except (OperationalError, InterfaceError, PoolTimeout):
                # the database is unreachable, locked or out of connections: keep the events, retry with back-off
                # (meanwhile the buffer fills and new requests get 503)
                attempt += 1
                if self._closing and attempt > 5:
                    self.failed_events += sum(len(it.events) for it in items)
                    log.exception("event writer: %d events lost at shutdown (database unavailable)",
                                  sum(len(it.events) for it in items))
                    return
                log.exception("event writer: write failed (attempt %d); retrying", attempt)
                time.sleep(min(5.0, 0.2 * 2 ** attempt))
                continue
            except Exception as exc:  # refused data (a video deleted meanwhile, a forged session key) or a bug
                if len(items) > 1:  # find the bad request(s): write the others one by one
                    for it in items:
                        self._write([it])
                    return
                self.failed_events += len(items[0].events)
                level = logging.WARNING if isinstance(exc, (IntegrityError, DataError, InvalidValue, NotFound)) \
                    else logging.ERROR
                log.log(level, "event writer: %d events of a page view refused: %s", len(items[0].events), exc,
                        exc_info=level == logging.ERROR)
                return
            self.transactions += 1
            self.written_requests += len(items)
            self.written_events += sum(len(it.events) for it in items)
            return


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Viewing:
    """Bound to one store: what the watch page's endpoints call. Call ``close()`` at shutdown (it writes the
    events still buffered); ``flush()`` waits until the events accepted so far are in the database."""

    store: Store
    limiter: TokenBucket = field(default_factory=lambda: TokenBucket(rate=5.0, burst=40.0))
    ip_limiter: TokenBucket = field(default_factory=lambda: TokenBucket(rate=2000.0, burst=4000.0))
    # per video, on top of the per-client limits: a flood on one page cannot inflate it or starve the others
    video_limiter: TokenBucket = field(default_factory=lambda: TokenBucket(rate=1000.0, burst=5000.0))
    rng: np.random.Generator = field(default_factory=np.random.default_rng)
    cache_s: float = 5.0  # how long a page's id and running test are remembered between event batches
    clock: Callable[[], datetime] = _utcnow  # UTC now; tests move it across midnight
    max_buffered_events: int = 20_000
    flush_interval_s: float = 0.25
    _targets: dict[str, tuple[float, int, frozenset, float]] = field(default_factory=dict)
    _salts: dict[date, tuple[bytes, bytes | None]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _writer: EventWriter | None = None

    @property
    def writer(self) -> EventWriter:
        with self._lock:
            if self._writer is None:
                self._writer = EventWriter(self.store, max_events=self.max_buffered_events,
                                           interval_s=self.flush_interval_s)
            return self._writer

    def flush(self, timeout: float = 60.0) -> bool:
        return self._writer.flush(timeout) if self._writer is not None else True

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()

    def _target(self, slug: str) -> tuple[int, frozenset, float]:
        """(publication id, arm ids of its running test, duration) for a served slug, cached ``cache_s`` seconds."""
        now = time.monotonic()
        with self._lock:
            hit = self._targets.get(slug)
        if hit and now - hit[0] < self.cache_s:
            return hit[1], hit[2], hit[3]
        with self.store.session() as s:
            pub = publications.by_slug(session=s, slug=slug)
            exp = next((e for e in pub.experiments if e.status == "running"), None)
            arms = frozenset(a.id for a in exp.arms) if exp else frozenset()
            pub_id, duration = pub.id, float(pub.duration_s or 0.0)
        with self._lock:
            if len(self._targets) > 10_000:
                self._targets.clear()
            self._targets[slug] = (now, pub_id, arms, duration)
        return pub_id, arms, duration

    def salts(self) -> tuple[bytes, bytes | None]:
        """Today's and yesterday's salt (today's made, and older ones deleted, on the first request of a day)."""
        today = self.clock().astimezone(timezone.utc).date()
        with self._lock:
            hit = self._salts.get(today)
        if hit is None:
            with self.store.session() as s:
                hit = audience.day_salts(session=s, today=today)
            with self._lock:
                self._salts = {today: hit}
        return hit

    def viewer_ids(self, *, user_agent: str, client_ip: str, publication_id: int) -> tuple[str, ...]:
        """The viewer's id today (stored) and, when yesterday's salt exists, yesterday's (checked only)."""
        return audience.viewer_ids(self.salts(), user_agent=user_agent or "", ip=client_ip or "",
                                   video=publication_id)

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
        """Validate one batch of events from a watch page and buffer it; return how many were accepted (0 for a
        bot). Raises InvalidValue (400), NotFound (404), RateLimited (429) or Busy (503)."""
        # 1. Check the request
        if not isinstance(payload, dict):
            raise InvalidValue("body must be a JSON object")
        token, key, slug = payload.get("token"), payload.get("session"), payload.get("video")
        if not isinstance(token, str) or not TOKEN_RE.match(token):
            raise InvalidValue("token must be 8–64 letters, digits, - or _")
        if not isinstance(key, str) or not SESSION_RE.match(key):
            raise InvalidValue("session must be 8–40 letters, digits, - or _")
        if not isinstance(slug, str) or len(slug) > 80:
            raise InvalidValue("video must be the page's slug")
        events = parse_events(payload.get("events"), now=self.clock())
        # 2. Bots are answered as if counted, and nothing is kept
        if is_bot(user_agent):
            return 0
        # 3. Limits: per address, per browser, per video
        self.check_rate(client_ip, token)
        pub_id, arms, duration = self._target(slug)
        if not self.video_limiter.take(str(pub_id)):
            raise RateLimited()
        arm_id = payload.get("arm")
        if arm_id is not None and (not isinstance(arm_id, int) or isinstance(arm_id, bool) or arm_id not in arms):
            arm_id = None  # a stale or forged arm is ignored, the events still count
        # 4. Pseudonymous viewer, then into the buffer
        ids = self.viewer_ids(user_agent=user_agent, client_ip=client_ip, publication_id=pub_id)
        count_after = min(audience.VIEW_SECONDS, 0.9 * duration) if duration > 0 else audience.VIEW_SECONDS
        self.writer.submit(audience.SessionBatch(
            publication_id=pub_id, session_key=key, viewer=ids[0], also_viewer=ids[1:], events=tuple(events),
            device=device_from_user_agent(user_agent), region=region_from_timezone(payload.get("tz")),
            arm_id=arm_id, count_after_s=count_after))
        return len(events)

    def comment(self, payload: dict, *, client_ip: str, user_agent: str = "") -> dict:
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
        salts = self.salts()
        with self.store.session() as s:
            pub = publications.by_slug(session=s, slug=slug)
            viewer = audience.viewer_ids(salts, user_agent=user_agent or "", ip=client_ip or "", video=pub.id)[0]
            c = audience.add_comment(session=s, publication_id=pub.id, text=text, author=author, viewer=viewer,
                                     sentiment=score, created_at=self.clock())
            return {"id": c.id, "author": c.author or "Viewer", "text": c.text}

    def comments(self, slug: str, limit: int = 50) -> list[dict]:
        with self.store.session() as s:
            pub = publications.by_slug(session=s, slug=slug)
            return [{"author": c.author or "Viewer", "text": c.text, "at": c.created_at.strftime("%Y-%m-%d")}
                    for c in audience.list_comments(session=s, publication_ids=[pub.id], limit=limit)]
