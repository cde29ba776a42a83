"""Tables of the publishing side: publications (watch pages), viewing sessions and raw events, comments,
imported platform metrics, A/B/n experiments and the rotating salts that make viewer ids pseudonymous.

Raw events are kept as they arrive (``view_events``); each event also updates its viewing session
(``view_sessions``), one row per page view, so dashboards aggregate sessions rather than millions of events.
"""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (BigInteger, Boolean, Date, Float, ForeignKey, Index, Integer, LargeBinary, String, Text,
                        UniqueConstraint, false)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .models import Asset, Base, Project, _enum, utcnow

# BIGINT on PostgreSQL; INTEGER on SQLite so the column stays an auto-incrementing rowid alias.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Visibility(str, enum.Enum):
    public = "public"      # listed on /watch and served
    unlisted = "unlisted"  # served to whoever has the link, not listed
    private = "private"    # not served; studio only


class EventKind(str, enum.Enum):
    impression = "impression"
    play = "play"
    heartbeat = "heartbeat"
    pause = "pause"
    seek = "seek"
    ended = "ended"
    leave = "leave"


class Publication(Base):
    """A video published on a watch page (``/watch/<slug>``)."""

    __tablename__ = "publications"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="RESTRICT"), index=True)
    thumbnail_asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id", ondelete="SET NULL"))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    visibility: Mapped[Visibility] = mapped_column(_enum(Visibility, "visibility"), default=Visibility.public)
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    is_sample: Mapped[bool] = mapped_column(Boolean, default=False)
    # AI disclosure, computed from the video's lineage when it is published (see storage/repo/lineage.py)
    ai_generated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    ai_share: Mapped[float | None] = mapped_column(Float)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    project: Mapped[Project] = relationship()
    asset: Mapped[Asset] = relationship(foreign_keys=[asset_id])
    thumbnail: Mapped[Asset | None] = relationship(foreign_keys=[thumbnail_asset_id])
    experiments: Mapped[list["Experiment"]] = relationship(back_populates="publication",
                                                          cascade="all, delete-orphan", passive_deletes=True)


class ViewSession(Base):
    """One page view of a watch page, summarised from its events as they arrive. ``counted`` marks the page views
    that are *views*: 10 s watched (the whole video if shorter), at most one per viewer, video and hour."""

    __tablename__ = "view_sessions"
    __table_args__ = (Index("ix_view_sessions_pub_started", "publication_id", "started_at"),
                      # the "once per viewer per video per hour" check
                      Index("ix_view_sessions_pub_viewer_started", "publication_id", "viewer", "started_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    publication_id: Mapped[int] = mapped_column(ForeignKey("publications.id", ondelete="CASCADE"))
    session_key: Mapped[str] = mapped_column(String(40), unique=True)
    viewer: Mapped[str] = mapped_column(String(32), index=True)
    device: Mapped[str] = mapped_column(String(16), default="unknown")
    region: Mapped[str] = mapped_column(String(32), default="unknown")
    arm_id: Mapped[int | None] = mapped_column(ForeignKey("experiment_arms.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(12), default="watch")  # watch | import | sample
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_at: Mapped[datetime] = mapped_column(default=utcnow)
    impressed: Mapped[bool] = mapped_column(Boolean, default=False)
    played: Mapped[bool] = mapped_column(Boolean, default=False)
    ended: Mapped[bool] = mapped_column(Boolean, default=False)
    counted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    max_position_s: Mapped[float] = mapped_column(Float, default=0.0)
    watched_s: Mapped[float] = mapped_column(Float, default=0.0)
    events: Mapped[int] = mapped_column(Integer, default=0)


class ViewEvent(Base):
    """A raw viewing event as received (or imported), kept for audit and re-computation."""

    __tablename__ = "view_events"
    __table_args__ = (Index("ix_view_events_pub_at", "publication_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    publication_id: Mapped[int] = mapped_column(ForeignKey("publications.id", ondelete="CASCADE"))
    session_key: Mapped[str] = mapped_column(String(40), index=True)
    kind: Mapped[EventKind] = mapped_column(_enum(EventKind, "event_kind"))
    position_s: Mapped[float] = mapped_column(Float, default=0.0)
    watched_s: Mapped[float] = mapped_column(Float, default=0.0)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)


class Comment(Base):
    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    publication_id: Mapped[int] = mapped_column(ForeignKey("publications.id", ondelete="CASCADE"), index=True)
    viewer: Mapped[str] = mapped_column(String(32), default="")
    author: Mapped[str] = mapped_column(String(60), default="")
    text: Mapped[str] = mapped_column(Text)
    sentiment: Mapped[float | None] = mapped_column(Float)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(12), default="watch")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ImportedMetric(Base):
    """Per-video daily totals imported from a platform export (a second source beside our own events)."""

    __tablename__ = "imported_metrics"
    __table_args__ = (UniqueConstraint("publication_id", "day", "platform", name="uq_imported_metric"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    publication_id: Mapped[int] = mapped_column(ForeignKey("publications.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(40))
    day: Mapped[date] = mapped_column(Date)
    impressions: Mapped[int] = mapped_column(Integer, default=0)
    views: Mapped[int] = mapped_column(Integer, default=0)
    watch_time_s: Mapped[float] = mapped_column(Float, default=0.0)
    likes: Mapped[int] = mapped_column(Integer, default=0)
    comments: Mapped[int] = mapped_column(Integer, default=0)


class Experiment(Base):
    """A thumbnail/title A/B/n test on a publication, served by Thompson sampling."""

    __tablename__ = "experiments"

    id: Mapped[int] = mapped_column(primary_key=True)
    publication_id: Mapped[int] = mapped_column(ForeignKey("publications.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    status: Mapped[str] = mapped_column(String(12), default="running")  # running | stopped
    winner_arm_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]

    publication: Mapped[Publication] = relationship(back_populates="experiments")
    arms: Mapped[list["ExperimentArm"]] = relationship(back_populates="experiment", cascade="all, delete-orphan",
                                                       passive_deletes=True, order_by="ExperimentArm.id")


class ExperimentArm(Base):
    """One variant: a title and/or thumbnail. Counters are updated as impressions and plays arrive."""

    __tablename__ = "experiment_arms"

    id: Mapped[int] = mapped_column(primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(60))
    title: Mapped[str | None] = mapped_column(String(200))
    thumbnail_asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id", ondelete="SET NULL"))
    impressions: Mapped[int] = mapped_column(Integer, default=0)
    clicks: Mapped[int] = mapped_column(Integer, default=0)

    experiment: Mapped[Experiment] = relationship(back_populates="arms")
    thumbnail: Mapped[Asset | None] = relationship()


class ViewerSalt(Base):
    """The secret salt of one UTC day: 16 random bytes. A viewer id is an HMAC of (user agent, address, video) with
    it, so ids change every day and differ per video, and neither the address nor the user agent is kept. Today's
    and yesterday's salts are kept (a view that crosses midnight is still recognised); older ones are deleted, after
    which nobody — the studio included — can recompute an old id from an address."""

    __tablename__ = "viewer_salts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary(16))
