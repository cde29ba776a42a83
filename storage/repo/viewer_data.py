"""One viewer's data (export, delete) and the retention period after which raw viewing data is purged.

A viewer is known only by the pseudonymous id the watch page derived for them (storage/repo/audience.py); the
id is what a viewer quotes when asking for their data. Sample-channel rows are synthetic and follow the same rules.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from ..audience_models import Comment, ViewEvent, ViewSession
from ..errors import InvalidValue, NotFound
from ..models import utcnow
from .preferences import get_preference, set_preference

RETENTION_KEY = "viewer_data.retention"
DEFAULT_RETENTION_DAYS = 395  # thirteen months: a year-on-year comparison still works
MIN_DAYS, MAX_DAYS = 1, 3650


def retention_days(*, session: Session) -> int | None:
    """Days raw viewing data is kept; ``None`` = kept until deleted by hand."""
    value = get_preference(session=session, key=RETENTION_KEY, default={"days": DEFAULT_RETENTION_DAYS})
    return value.get("days")


def set_retention_days(*, session: Session, days: int | None) -> None:
    if days is not None and not (MIN_DAYS <= int(days) <= MAX_DAYS):
        raise InvalidValue(f"Keep viewing data between {MIN_DAYS} and {MAX_DAYS} days (or switch the limit off).")
    set_preference(session=session, key=RETENTION_KEY, value={"days": None if days is None else int(days)})


def _check_viewer(viewer: str) -> str:
    viewer = (viewer or "").strip()
    if not viewer or len(viewer) > 32 or not viewer.replace("-", "").replace("_", "").isalnum():
        raise InvalidValue("Give the viewer id exactly as shown (letters and digits, at most 32 characters).")
    return viewer


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t is not None else None


def export_viewer(*, session: Session, viewer: str) -> dict[str, Any]:
    """Everything stored about one viewer id: page views with their raw events, and comments."""
    viewer = _check_viewer(viewer)
    sessions = list(session.scalars(select(ViewSession).where(ViewSession.viewer == viewer)
                                    .order_by(ViewSession.started_at)))
    comments = list(session.scalars(select(Comment).where(Comment.viewer == viewer).order_by(Comment.created_at)))
    if not sessions and not comments:
        raise NotFound(f"Nothing is stored for viewer {viewer}.")
    keys = [v.session_key for v in sessions]
    events: dict[str, list[dict[str, Any]]] = {k: [] for k in keys}
    for i in range(0, len(keys), 500):
        for e in session.scalars(select(ViewEvent).where(ViewEvent.session_key.in_(keys[i:i + 500]))
                                 .order_by(ViewEvent.occurred_at, ViewEvent.id)):
            events[e.session_key].append({"kind": e.kind.value, "position_s": e.position_s,
                                          "watched_s": e.watched_s, "at": _iso(e.occurred_at)})
    return {
        "viewer": viewer, "exported_at": utcnow().isoformat(),
        "views": [{"publication_id": v.publication_id, "started_at": _iso(v.started_at), "last_at": _iso(v.last_at),
                   "device": v.device, "region": v.region, "played": v.played, "ended": v.ended,
                   "watched_s": v.watched_s, "max_position_s": v.max_position_s, "source": v.source,
                   "events": events.get(v.session_key, [])} for v in sessions],
        "comments": [{"publication_id": c.publication_id, "author": c.author, "text": c.text,
                      "at": _iso(c.created_at)} for c in comments],
    }


def _delete_sessions(session: Session, where) -> tuple[int, int]:
    keys = list(session.scalars(select(ViewSession.session_key).where(where)))
    events = 0
    for i in range(0, len(keys), 500):
        events += session.execute(delete(ViewEvent).where(ViewEvent.session_key.in_(keys[i:i + 500]))).rowcount
    views = session.execute(delete(ViewSession).where(where)).rowcount
    return views, events


def delete_viewer(*, session: Session, viewer: str) -> dict[str, int]:
    """Remove every view, raw event and comment of one viewer id. Returns what was removed."""
    viewer = _check_viewer(viewer)
    views, events = _delete_sessions(session, ViewSession.viewer == viewer)
    comments = session.execute(delete(Comment).where(Comment.viewer == viewer)).rowcount
    session.flush()
    return {"views": views, "events": events, "comments": comments}


def purge_older_than(*, session: Session, cutoff: datetime) -> dict[str, int]:
    """Delete page views (and their events) that ended before ``cutoff``, and stray events older than it;
    comments older than it lose their link to the viewer (the text stays, anonymous)."""
    views, events = _delete_sessions(session, ViewSession.last_at < cutoff)
    events += session.execute(delete(ViewEvent).where(ViewEvent.occurred_at < cutoff)).rowcount
    unlinked = session.execute(update(Comment).where(Comment.created_at < cutoff, Comment.viewer != "")
                               .values(viewer="")).rowcount
    session.flush()
    return {"views": views, "events": events, "comments_unlinked": unlinked}


def purge_expired(*, session: Session, now: datetime | None = None) -> dict[str, int] | None:
    """Apply the retention setting; ``None`` when data is kept without limit."""
    days = retention_days(session=session)
    if days is None:
        return None
    return purge_older_than(session=session, cutoff=(now or utcnow()) - timedelta(days=int(days)))


def oldest_view(*, session: Session) -> datetime | None:
    return session.scalar(select(func.min(ViewSession.started_at)))
