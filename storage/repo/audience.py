"""Viewing events in, aggregates out. Events update their session row as they arrive (sessionisation at
ingest), so every dashboard query is one GROUP BY over ``view_sessions`` — no per-event work at read time."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable, Sequence

from sqlalchemy import Integer, and_, case, cast, distinct, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..audience_models import (Comment, EventKind, ImportedMetric, Publication, ViewerSalt, ViewEvent,
                               ViewSession)
from ..errors import InvalidValue
from ..models import utcnow
from .publications import count_arm

MAX_WATCHED_PER_EVENT = 60.0  # seconds one event may add; a client claiming more is clamped
BOUNCE_SECONDS = 10.0         # a view with less watch time than this is a bounce
POSITION_KINDS = {EventKind.play, EventKind.heartbeat, EventKind.pause, EventKind.ended, EventKind.leave}


@dataclass(frozen=True)
class Event:
    kind: EventKind
    position_s: float = 0.0
    watched_s: float = 0.0
    occurred_at: datetime | None = None


def viewer_id(*, session: Session, token: str, when: datetime | None = None) -> str:
    """Pseudonymous viewer id: HMAC of the browser's random token with this month's secret salt."""
    period = (when or utcnow()).strftime("%Y-%m")
    salt = session.get(ViewerSalt, period)
    if salt is None:
        try:
            with session.begin_nested():
                salt = ViewerSalt(period=period, value=secrets.token_hex(32))
                session.add(salt)
        except IntegrityError:  # another request created it first
            salt = session.get(ViewerSalt, period)
    return pseudonym(salt.value, token)


def pseudonym(salt: str, token: str) -> str:
    return hmac.new(salt.encode(), token.encode(), hashlib.sha256).hexdigest()[:16]


def record_events(*, session: Session, publication_id: int, session_key: str, viewer: str,
                  events: Sequence[Event], device: str = "unknown", region: str = "unknown",
                  arm_id: int | None = None, source: str = "watch") -> ViewSession:
    """Store raw events and fold them into their viewing session (created on first sight)."""
    now = utcnow()
    row = session.scalar(select(ViewSession).where(ViewSession.session_key == session_key))
    if row is None:
        try:
            with session.begin_nested():
                start = (events[0].occurred_at if events else None) or now
                row = ViewSession(publication_id=publication_id, session_key=session_key, viewer=viewer,
                                  device=device[:16], region=region[:32], arm_id=arm_id, source=source,
                                  started_at=start, last_at=start, impressed=False, played=False, ended=False,
                                  max_position_s=0.0, watched_s=0.0, events=0)
                session.add(row)
        except IntegrityError:
            row = session.scalar(select(ViewSession).where(ViewSession.session_key == session_key))
    if row.publication_id != publication_id:
        raise InvalidValue("This viewing session belongs to another video.")
    was_impressed, was_played = row.impressed, row.played
    for ev in events:
        if ev.kind == EventKind.impression:
            row.impressed = True
        elif ev.kind == EventKind.play:
            row.played = True
        elif ev.kind == EventKind.ended:
            row.ended = True
        if ev.kind in POSITION_KINDS:
            row.max_position_s = max(row.max_position_s, ev.position_s)
        row.watched_s += min(max(ev.watched_s, 0.0), MAX_WATCHED_PER_EVENT)
        when = ev.occurred_at or now
        row.last_at = max(_aware(row.last_at), when)
    if row.played:
        row.impressed = True  # a play implies the player was seen
    row.events += len(events)
    if events:
        session.execute(insert(ViewEvent), [dict(publication_id=publication_id, session_key=session_key,
                                                  kind=ev.kind, position_s=ev.position_s,
                                                  watched_s=ev.watched_s, occurred_at=ev.occurred_at or now)
                                             for ev in events])
    if row.arm_id is not None:
        count_arm(session=session, arm_id=row.arm_id, impressions=int(row.impressed and not was_impressed),
                  clicks=int(row.played and not was_played))
    return row


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
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(col, "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d", col)


def _floor(session: Session, col):
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.floor(col), Integer)
    return cast(col, Integer)  # SQLite truncates; positions are never negative


def _metric_columns():
    vs = ViewSession
    views = func.sum(case((vs.played, 1), else_=0))
    return [
        func.sum(case((vs.impressed, 1), else_=0)).label("impressions"),
        views.label("views"),
        func.coalesce(func.sum(vs.watched_s), 0.0).label("watch_time_s"),
        func.sum(case((and_(vs.played, vs.watched_s < BOUNCE_SECONDS), 1), else_=0)).label("bounces"),
        func.sum(case((vs.ended, 1), else_=0)).label("completions"),
        func.count(distinct(vs.viewer)).label("viewers"),
    ]


def _finish(row: dict[str, Any]) -> dict[str, Any]:
    imp, views = int(row["impressions"] or 0), int(row["views"] or 0)
    watch = float(row["watch_time_s"] or 0.0)
    row.update(impressions=imp, views=views, watch_time_s=watch, bounces=int(row["bounces"] or 0),
               completions=int(row["completions"] or 0), viewers=int(row["viewers"] or 0),
               ctr=(views / imp) if imp else 0.0, avg_view_duration_s=(watch / views) if views else 0.0,
               bounce_rate=(int(row["bounces"] or 0) / views) if views else 0.0)
    return row


def summary(*, session: Session, filters: Filters = Filters()) -> dict[str, Any]:
    """Totals: impressions, views, CTR, watch time, average view duration, bounce rate, unique viewers."""
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
    """Per day: viewers seen for the first time that day vs viewers who came back (pseudonymous ids rotate
    monthly, so a returning viewer is one seen earlier in the same salt period)."""
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
                   func.sum(case((vs.played, 1), else_=0)).label("views"),
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
    """Impressions → views → watched past half → completed."""
    vs, pub = ViewSession, Publication
    half = and_(vs.played, pub.duration_s > 0, vs.max_position_s >= pub.duration_s / 2)
    stmt = (select(func.sum(case((vs.impressed, 1), else_=0)).label("impressions"),
                   func.sum(case((vs.played, 1), else_=0)).label("views"),
                   func.sum(case((half, 1), else_=0)).label("halfway"),
                   func.sum(case((vs.ended, 1), else_=0)).label("completed"))
            .join(pub, pub.id == vs.publication_id))
    return {k: int(v or 0) for k, v in session.execute(filters.apply(stmt)).mappings().one().items()}
