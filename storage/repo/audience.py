"""Viewing events in, aggregates out. Events update their session row as they arrive (sessionisation at
ingest), so every dashboard query is one GROUP BY over ``view_sessions`` — no per-event work at read time."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable, Sequence

from sqlalchemy import Integer, and_, case, cast, delete, distinct, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..audience_models import (Comment, EventKind, ImportedMetric, Publication, ViewerSalt, ViewEvent,
                               ViewSession)
from ..errors import InvalidValue
from ..models import utcnow
from .publications import count_arm

MAX_WATCHED_PER_EVENT = 60.0  # seconds one event may add; a client claiming more is clamped
BOUNCE_SECONDS = 10.0         # a play with less watch time than this is a bounce
VIEW_SECONDS = 10.0           # watched seconds after which a page view counts as a view
VIEW_REPEAT = timedelta(hours=1)  # at most one view per viewer and video in this window
POSITION_KINDS = {EventKind.play, EventKind.heartbeat, EventKind.pause, EventKind.ended, EventKind.leave}


@dataclass(frozen=True)
class Event:
    kind: EventKind
    position_s: float = 0.0
    watched_s: float = 0.0
    occurred_at: datetime | None = None


SALT_BYTES = 16


def day_salts(*, session: Session, today: date) -> tuple[bytes, bytes | None]:
    """(today's salt, yesterday's salt or None). Today's is created on first use, with 16 random bytes; creating
    it also deletes every salt older than yesterday, so old viewer ids can no longer be recomputed."""
    row = session.get(ViewerSalt, today)
    if row is None:
        try:
            with session.begin_nested():
                row = ViewerSalt(day=today, value=secrets.token_bytes(SALT_BYTES))
                session.add(row)
        except IntegrityError:  # another process created it first
            row = session.get(ViewerSalt, today)
        session.execute(delete(ViewerSalt).where(ViewerSalt.day < today - timedelta(days=1)))
    previous = session.get(ViewerSalt, today - timedelta(days=1))
    return bytes(row.value), (bytes(previous.value) if previous is not None else None)


def pseudonym(salt: bytes, *parts: str) -> str:
    """Keyed hash of ``parts`` (joined by newlines) with ``salt``: HMAC-SHA256, first 16 hex digits."""
    return hmac.new(salt, "\n".join(parts).encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:16]


def viewer_ids(salts: tuple[bytes, bytes | None], *, user_agent: str, ip: str, video: int | str) -> tuple[str, ...]:
    """A viewer's id under today's salt, then (when there is one) under yesterday's: the first is stored, both are
    checked when de-duplicating views across midnight."""
    return tuple(pseudonym(s, user_agent, ip, str(video)) for s in salts if s is not None)


@dataclass(frozen=True)
class SessionBatch:
    """Events of one page view to record, with what the page view is known by. ``also_viewer``: other ids of the
    same viewer to check when de-duplicating views (the id under yesterday's salt, to recognise a viewer across
    midnight); ``count_after_s``: watched seconds after which the page view counts as a view."""

    publication_id: int
    session_key: str
    viewer: str
    events: Sequence[Event]
    device: str = "unknown"
    region: str = "unknown"
    arm_id: int | None = None
    source: str = "watch"
    also_viewer: Sequence[str] = ()
    count_after_s: float = VIEW_SECONDS


def record_events(*, session: Session, publication_id: int, session_key: str, viewer: str,
                  events: Sequence[Event], device: str = "unknown", region: str = "unknown",
                  arm_id: int | None = None, source: str = "watch", also_viewer: Sequence[str] = (),
                  count_after_s: float = VIEW_SECONDS) -> ViewSession:
    """Store raw events and fold them into their viewing session (created on first sight, safely when another
    transaction creates it at the same time). See ``record_many`` for what counts as a view."""
    b = SessionBatch(publication_id, session_key, viewer, events, device, region, arm_id, source,
                     tuple(also_viewer), count_after_s)
    locked = _lock_rows(select(ViewSession).where(ViewSession.session_key == session_key))
    row = session.scalar(locked)
    if row is None:
        try:
            with session.begin_nested():
                row = _new_session(b)
                session.add(row)
        except IntegrityError:
            row = session.scalar(locked)
    return _record(session, [(row, b)])[0]


def _lock_rows(stmt):
    """The session rows are read, added to and written back: FOR UPDATE, so that two web processes folding events
    of the same page view into it at once (PostgreSQL, READ COMMITTED) do not lose one's additions. Rows are
    locked in key order, the same in every transaction. SQLite has no row locks and needs none: a writer whose
    snapshot is stale is refused (and retried) there."""
    return stmt.order_by(ViewSession.session_key).with_for_update()


def record_many(*, session: Session, batches: Sequence[SessionBatch]) -> list[ViewSession]:
    """``record_events`` for many page views in one transaction with a handful of statements: one SELECT for the
    sessions, one flush for the new and changed ones, one query for the hourly view check, multi-row INSERTs for
    the events. Batches of the same page view are applied in order. A session key created concurrently by another
    transaction makes this raise IntegrityError (the caller retries with ``record_events``).

    A page view becomes a counted view once ``count_after_s`` seconds are watched, unless a counted view of the
    same video by the same viewer (any of its ids) started less than an hour before or after it."""
    keys = sorted(set(b.session_key for b in batches))
    rows: dict[str, ViewSession] = {}
    for i in range(0, len(keys), 500):
        chunk = select(ViewSession).where(ViewSession.session_key.in_(keys[i:i + 500]))
        for r in session.scalars(_lock_rows(chunk)):
            rows[r.session_key] = r
    pairs = []
    for b in batches:
        row = rows.get(b.session_key)
        if row is None:
            row = rows[b.session_key] = _new_session(b)
            session.add(row)
        pairs.append((row, b))
    return _record(session, pairs)


def _new_session(b: SessionBatch) -> ViewSession:
    start = (b.events[0].occurred_at if b.events else None) or utcnow()
    return ViewSession(publication_id=b.publication_id, session_key=b.session_key, viewer=b.viewer,
                       device=b.device[:16], region=b.region[:32], arm_id=b.arm_id, source=b.source,
                       started_at=start, last_at=start, impressed=False, played=False, ended=False, counted=False,
                       max_position_s=0.0, watched_s=0.0, events=0)


def _record(session: Session, pairs: list[tuple[ViewSession, SessionBatch]]) -> list[ViewSession]:
    now = utcnow()
    candidates: dict[int, tuple[ViewSession, set[str], float]] = {}
    event_rows: list[dict[str, Any]] = []
    for row, b in pairs:
        if row.publication_id != b.publication_id:
            raise InvalidValue("This viewing session belongs to another video.")
        was_impressed, was_played = row.impressed, row.played
        for ev in b.events:
            if ev.kind == EventKind.impression:
                row.impressed = True
            elif ev.kind == EventKind.play:
                row.played = True
            elif ev.kind == EventKind.ended:
                row.ended = True
            if ev.kind in POSITION_KINDS:
                row.max_position_s = max(row.max_position_s, ev.position_s)
            row.watched_s += min(max(ev.watched_s, 0.0), MAX_WATCHED_PER_EVENT)
            row.last_at = max(_aware(row.last_at), ev.occurred_at or now)
            event_rows.append({"publication_id": b.publication_id, "session_key": b.session_key,
                               "kind": ev.kind, "position_s": ev.position_s, "watched_s": ev.watched_s,
                               "occurred_at": ev.occurred_at or now})
        if row.played:
            row.impressed = True  # a play implies the player was seen
        row.events += len(b.events)
        if not row.counted and row.played and row.watched_s >= b.count_after_s:
            _, ids, _ = candidates.get(id(row), (row, set(), 0.0))
            candidates[id(row)] = (row, ids | {row.viewer, b.viewer, *b.also_viewer}, 0.0)
        if row.arm_id is not None:
            count_arm(session=session, arm_id=row.arm_id, impressions=int(row.impressed and not was_impressed),
                      clicks=int(row.played and not was_played))
    session.flush()  # new sessions get their ids; the counted check below sees this transaction's rows
    if candidates:
        _mark_counted(session, [(row, ids) for row, ids, _ in candidates.values()])
    if event_rows:
        # RETURNING makes SQLAlchemy send "insertmanyvalues" pages (1000 rows per INSERT) rather than one row per
        # statement: many times faster on PostgreSQL; the ids are not needed
        table = ViewEvent.__table__
        session.connection().execute(insert(table).returning(table.c.id), event_rows).all()
    return [row for row, _ in pairs]


def _mark_counted(session: Session, candidates: list[tuple[ViewSession, set[str]]]) -> None:
    """Count each candidate unless a counted view of its video by one of its ids started within the hour around
    it; candidates are settled in start order, so the earliest of two close page views is the view."""
    vs = ViewSession
    starts = [_aware(r.started_at) for r, _ in candidates]
    pubs = sorted({r.publication_id for r, _ in candidates})
    viewers = sorted(set().union(*(ids for _, ids in candidates)))
    counted: list[tuple[int, str, datetime, int]] = []
    for i in range(0, len(viewers), 500):
        counted += [(p, v, _aware(t), n) for p, v, t, n in session.execute(
            select(vs.publication_id, vs.viewer, vs.started_at, vs.id).where(
                vs.counted.is_(True), vs.publication_id.in_(pubs), vs.viewer.in_(viewers[i:i + 500]),
                vs.started_at > min(starts) - VIEW_REPEAT, vs.started_at < max(starts) + VIEW_REPEAT))]
    for (row, ids), start in sorted(zip(candidates, starts), key=lambda c: (c[1], c[0][0].id)):
        near = any(p == row.publication_id and v in ids and n != row.id and abs(t - start) < VIEW_REPEAT
                   for p, v, t, n in counted)
        if not near:
            row.counted = True
            counted.append((row.publication_id, row.viewer, start, row.id))


def bulk_load(*, session: Session, sessions: list[dict[str, Any]], events: list[dict[str, Any]]) -> None:
    """Insert already-summarised sessions and their events in bulk (sample data, benchmarks, imports)."""
    if sessions:
        session.execute(insert(ViewSession), sessions)
    if events:
        session.execute(insert(ViewEvent), events)


def add_comment(*, session: Session, publication_id: int, text: str, author: str = "", viewer: str = "",
                sentiment: float | None = None, source: str = "watch", created_at: datetime | None = None
                ) -> Comment:
    text = (text or "").strip()
    if not text:
        raise InvalidValue("A comment cannot be empty.")
    if len(text) > 2000:
        raise InvalidValue("Comments are at most 2000 characters.")
    c = Comment(publication_id=publication_id, text=text, author=" ".join((author or "").split())[:60],
                viewer=viewer, sentiment=sentiment, source=source, created_at=created_at or utcnow())
    session.add(c)
    session.flush()
    return c


def list_comments(*, session: Session, publication_ids: Iterable[int] | None = None, visible_only: bool = True,
                  limit: int | None = None, start: date | None = None, end: date | None = None
                  ) -> list[Comment]:
    stmt = select(Comment).order_by(Comment.created_at.desc(), Comment.id.desc())
    if publication_ids is not None:
        stmt = stmt.where(Comment.publication_id.in_(list(publication_ids)))
    if visible_only:
        stmt = stmt.where(Comment.hidden.is_(False))
    if start is not None:
        stmt = stmt.where(Comment.created_at >= _day_start(start))
    if end is not None:
        stmt = stmt.where(Comment.created_at < _day_start(end + timedelta(days=1)))
    if limit:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


def upsert_imported_metric(*, session: Session, publication_id: int, platform: str, day: date,
                           values: dict[str, float]) -> None:
    row = session.scalar(select(ImportedMetric).where(ImportedMetric.publication_id == publication_id,
                                                      ImportedMetric.platform == platform,
                                                      ImportedMetric.day == day))
    if row is None:
        row = ImportedMetric(publication_id=publication_id, platform=platform, day=day)
        session.add(row)
    for key, value in values.items():
        setattr(row, key, value)
    session.flush()


# --- aggregation -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Filters:
    publication_ids: tuple[int, ...] | None = None
    start: date | None = None
    end: date | None = None  # inclusive

    def apply(self, stmt, col_time=ViewSession.started_at, col_pub=ViewSession.publication_id):
        if self.publication_ids is not None:
            stmt = stmt.where(col_pub.in_(self.publication_ids))
        if self.start is not None:
            stmt = stmt.where(col_time >= _day_start(self.start))
        if self.end is not None:
            stmt = stmt.where(col_time < _day_start(self.end + timedelta(days=1)))
        return stmt


def _day_start(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=timezone.utc)


def _aware(t: datetime) -> datetime:
    return t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t


def _day(session: Session, col):
    """The UTC day of a timestamp as 'YYYY-MM-DD' (on PostgreSQL converted to UTC first: to_char of a timestamptz
    would use the session's time zone)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", col), "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d", col)


def _floor(session: Session, col):
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.floor(col), Integer)
    return cast(col, Integer)  # SQLite truncates; positions are never negative


def _metric_columns():
    vs = ViewSession
    return [
        func.sum(case((vs.impressed, 1), else_=0)).label("impressions"),
        func.sum(case((vs.played, 1), else_=0)).label("plays"),
        func.sum(case((vs.counted, 1), else_=0)).label("views"),
        func.coalesce(func.sum(vs.watched_s), 0.0).label("watch_time_s"),
        func.sum(case((and_(vs.played, vs.watched_s < BOUNCE_SECONDS), 1), else_=0)).label("bounces"),
        func.sum(case((vs.ended, 1), else_=0)).label("completions"),
        func.count(distinct(vs.viewer)).label("viewers"),
    ]


def _finish(row: dict[str, Any]) -> dict[str, Any]:
    """Totals to plain numbers plus the rates. ``views`` are counted views (10 s watched, one per viewer, video and
    hour); ``plays`` are page views where play was pressed. CTR is plays per impression (the click the title and
    thumbnail earned, as in the title tests); average view duration and bounce rate are per play, because watch
    time includes the plays too short to count as a view."""
    imp, plays, views = int(row["impressions"] or 0), int(row["plays"] or 0), int(row["views"] or 0)
    watch = float(row["watch_time_s"] or 0.0)
    row.update(impressions=imp, plays=plays, views=views, watch_time_s=watch, bounces=int(row["bounces"] or 0),
               completions=int(row["completions"] or 0), viewers=int(row["viewers"] or 0),
               ctr=(plays / imp) if imp else 0.0, avg_view_duration_s=(watch / plays) if plays else 0.0,
               bounce_rate=(int(row["bounces"] or 0) / plays) if plays else 0.0)
    return row


def summary(*, session: Session, filters: Filters = Filters()) -> dict[str, Any]:
    """Totals: impressions, plays, views, CTR, watch time, average view duration, bounce rate, viewers (distinct
    ids: a viewer id changes every day and differs per video, so this counts viewer-video-days)."""
    stmt = filters.apply(select(*_metric_columns()))
    return _finish(dict(session.execute(stmt).mappings().one()))


GROUPS = ("video", "day", "device", "region")


def breakdown(*, session: Session, by: str, filters: Filters = Filters()) -> list[dict[str, Any]]:
    """The same metrics per video, day, device or region."""
    if by not in GROUPS:
        raise InvalidValue(f"Group by one of: {', '.join(GROUPS)}.")
    key = {"video": ViewSession.publication_id, "day": _day(session, ViewSession.started_at),
           "device": ViewSession.device, "region": ViewSession.region}[by]
    stmt = filters.apply(select(key.label("key"), *_metric_columns()).group_by(key).order_by(key))
    return [_finish(dict(r)) for r in session.execute(stmt).mappings()]


def new_vs_returning(*, session: Session, filters: Filters = Filters()) -> list[dict[str, Any]]:
    """Per day: viewers seen for the first time that day vs viewers who came back. Watch-page viewer ids rotate
    daily and differ per video, so for them "returning" means back to the same video the same day; imported and
    sample viewers keep their ids."""
    first = (select(ViewSession.viewer, func.min(ViewSession.started_at).label("first_at"))
             .group_by(ViewSession.viewer).subquery())
    day = _day(session, ViewSession.started_at)
    is_new = _day(session, first.c.first_at) == day
    stmt = (select(day.label("day"),
                   func.count(distinct(case((is_new, ViewSession.viewer)))).label("new_viewers"),
                   func.count(distinct(case((~is_new, ViewSession.viewer)))).label("returning_viewers"))
            .join(first, first.c.viewer == ViewSession.viewer).group_by(day).order_by(day))
    return [dict(r) for r in session.execute(filters.apply(stmt)).mappings()]


def retention_bins(*, session: Session, publication_id: int, filters: Filters = Filters()
                   ) -> list[dict[str, Any]]:
    """Views of one video binned by the whole second reached and whether they reached the end."""
    sec = _floor(session, ViewSession.max_position_s)
    stmt = (select(sec.label("second"), ViewSession.ended.label("ended"), func.count().label("count"))
            .where(ViewSession.publication_id == publication_id, ViewSession.played.is_(True))
            .group_by(sec, ViewSession.ended).order_by(sec))
    return [dict(r) for r in session.execute(filters.apply(stmt)).mappings()]


def viewer_features(*, session: Session, filters: Filters = Filters()) -> list[dict[str, Any]]:
    """Per viewer: views, watch time, completion, active days, device mix, arrival hour (for segments)."""
    vs, pub = ViewSession, Publication
    completion = case((pub.duration_s > 0, func.min(vs.max_position_s / pub.duration_s, 1.0)), else_=0.0)
    if session.get_bind().dialect.name == "postgresql":
        completion = case((pub.duration_s > 0, func.least(vs.max_position_s / pub.duration_s, 1.0)), else_=0.0)
    stmt = (select(vs.viewer.label("viewer"),
                   func.sum(case((vs.counted, 1), else_=0)).label("views"),
                   func.sum(vs.watched_s).label("watch_time_s"),
                   func.avg(case((vs.played, completion))).label("avg_completion"),
                   func.count(distinct(_day(session, vs.started_at))).label("active_days"),
                   func.avg(case((vs.device.in_(("mobile", "tablet")), 1.0), else_=0.0)).label("mobile_share"),
                   func.avg(case((vs.played, 1.0), else_=0.0)).label("play_rate"))
            .join(pub, pub.id == vs.publication_id).group_by(vs.viewer))
    return [dict(r) for r in session.execute(filters.apply(stmt)).mappings()]


def implicit_ratings(*, session: Session, filters: Filters = Filters()) -> list[dict[str, Any]]:
    """(viewer, publication, rating 1–5) from how much of each video a viewer watched at most."""
    vs, pub = ViewSession, Publication
    reached = func.max(vs.max_position_s)
    stmt = (select(vs.viewer.label("user"), vs.publication_id.label("item"), reached.label("reached"),
                   func.max(pub.duration_s).label("duration"))
            .join(pub, pub.id == vs.publication_id).where(vs.played.is_(True))
            .group_by(vs.viewer, vs.publication_id))
    out = []
    for r in session.execute(filters.apply(stmt)).mappings():
        frac = min(1.0, float(r["reached"]) / float(r["duration"])) if r["duration"] else 0.0
        out.append({"user": r["user"], "item": int(r["item"]), "rating": 1.0 + 4.0 * frac})
    return out


def session_rows(*, session: Session, filters: Filters = Filters(), limit: int = 50_000) -> list[dict[str, Any]]:
    """The newest sessions with their video's features, for the watch-time and click-through models."""
    vs, pub = ViewSession, Publication
    stmt = (select(vs.viewer, vs.device, vs.region, vs.started_at, vs.impressed, vs.played, vs.watched_s,
                   vs.arm_id, pub.duration_s, pub.title, pub.id.label("publication_id"))
            .join(pub, pub.id == vs.publication_id).order_by(vs.id.desc()).limit(limit))
    return [dict(r) for r in session.execute(filters.apply(stmt)).mappings()]


def imported_daily(*, session: Session, filters: Filters = Filters()) -> list[dict[str, Any]]:
    m = ImportedMetric
    stmt = select(m.day, func.sum(m.impressions).label("impressions"), func.sum(m.views).label("views"),
                  func.sum(m.watch_time_s).label("watch_time_s")).group_by(m.day).order_by(m.day)
    if filters.publication_ids is not None:
        stmt = stmt.where(m.publication_id.in_(filters.publication_ids))
    if filters.start is not None:
        stmt = stmt.where(m.day >= filters.start)
    if filters.end is not None:
        stmt = stmt.where(m.day <= filters.end)
    return [dict(r) for r in session.execute(stmt).mappings()]


def event_count(*, session: Session, filters: Filters = Filters()) -> int:
    stmt = filters.apply(select(func.count(ViewEvent.id)), col_time=ViewEvent.occurred_at,
                         col_pub=ViewEvent.publication_id)
    return int(session.scalar(stmt) or 0)


def funnel(*, session: Session, filters: Filters = Filters()) -> dict[str, int]:
    """Impressions → plays → views (counted) → views past half → views to the end (each stage within the last)."""
    vs, pub = ViewSession, Publication
    half = and_(vs.counted, pub.duration_s > 0, vs.max_position_s >= pub.duration_s / 2)
    stmt = (select(func.sum(case((vs.impressed, 1), else_=0)).label("impressions"),
                   func.sum(case((vs.played, 1), else_=0)).label("plays"),
                   func.sum(case((vs.counted, 1), else_=0)).label("views"),
                   func.sum(case((half, 1), else_=0)).label("halfway"),
                   func.sum(case((and_(vs.counted, vs.ended), 1), else_=0)).label("completed"))
            .join(pub, pub.id == vs.publication_id))
    return {k: int(v or 0) for k, v in session.execute(filters.apply(stmt)).mappings().one().items()}
