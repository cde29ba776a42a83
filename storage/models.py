"""The project store's tables (SQLAlchemy 2.0 typed models). Schema changes go through Alembic migrations."""
from __future__ import annotations

import enum
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (JSON, Boolean, CheckConstraint, DateTime, Enum, Float, ForeignKey, Integer, String, Text,
                        UniqueConstraint, false)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: DateTime(timezone=True)}


class AssetKind(str, enum.Enum):
    image = "image"
    audio = "audio"
    video = "video"
    subtitle = "subtitle"
    timeline = "timeline"
    other = "other"


class JobStatus(str, enum.Enum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"
    cancelled = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.done, JobStatus.failed, JobStatus.cancelled)


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    # Stored as plain strings with a CHECK constraint: portable between SQLite and PostgreSQL.
    return Enum(cls, name=name, native_enum=False, length=16, validate_strings=True,
                values_callable=lambda e: [m.value for m in e])


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    review_required: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    owner: Mapped[User | None] = relationship()
    scripts: Mapped[list["Script"]] = relationship(back_populates="project", cascade="all, delete-orphan",
                                                   passive_deletes=True)
    assets: Mapped[list["Asset"]] = relationship(back_populates="project", cascade="all, delete-orphan",
                                                 passive_deletes=True)
    jobs: Mapped[list["Job"]] = relationship(back_populates="project", cascade="all, delete-orphan",
                                             passive_deletes=True)


class Script(Base):
    """A script or screenplay; its text lives in numbered versions."""

    __tablename__ = "scripts"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    format: Mapped[str] = mapped_column(String(20), default="fountain")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    project: Mapped[Project] = relationship(back_populates="scripts")
    versions: Mapped[list["ScriptVersion"]] = relationship(
        back_populates="script", cascade="all, delete-orphan", passive_deletes=True,
        order_by="ScriptVersion.number")


class ScriptVersion(Base):
    __tablename__ = "script_versions"
    __table_args__ = (UniqueConstraint("script_id", "number", name="uq_script_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    script_id: Mapped[int] = mapped_column(ForeignKey("scripts.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    script: Mapped[Script] = relationship(back_populates="versions")


class AssetLink(Base):
    """A parent → child edge between assets (a poster made from a video, a cut made from clips, ...)."""

    __tablename__ = "asset_links"

    parent_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True,
                                          index=True)
    role: Mapped[str] = mapped_column(String(40), default="source")


class Asset(Base):
    """A media file in the content-addressed store plus what we know of it."""

    __tablename__ = "assets"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    kind: Mapped[AssetKind] = mapped_column(_enum(AssetKind, "asset_kind"))
    name: Mapped[str] = mapped_column(String(255))
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    ext: Mapped[str] = mapped_column(String(16))
    mime: Mapped[str | None] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    duration_s: Mapped[float | None] = mapped_column(Float)
    width: Mapped[int | None]
    height: Mapped[int | None]
    fps: Mapped[float | None] = mapped_column(Float)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    project: Mapped[Project] = relationship(back_populates="assets")
    provenance: Mapped["Provenance | None"] = relationship(back_populates="asset", cascade="all, delete-orphan",
                                                          passive_deletes=True, uselist=False)
    parents: Mapped[list["Asset"]] = relationship(
        secondary="asset_links", primaryjoin="Asset.id == AssetLink.child_id",
        secondaryjoin="Asset.id == AssetLink.parent_id", viewonly=True)
    children: Mapped[list["Asset"]] = relationship(
        secondary="asset_links", primaryjoin="Asset.id == AssetLink.parent_id",
        secondaryjoin="Asset.id == AssetLink.child_id", viewonly=True)

    @property
    def filename(self) -> str:
        """Name of the file in the media store."""
        return f"{self.content_hash}{self.ext}"


class Provenance(Base):
    """How an asset came to be: engine, backend, model, prompt, seed, parameters, and the human edits since."""

    __tablename__ = "provenance"

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), unique=True)
    source: Mapped[str] = mapped_column(String(20), default="upload")  # upload | generated | derived | edited
    engine: Mapped[str | None] = mapped_column(String(60))
    backend: Mapped[str | None] = mapped_column(String(60))
    model_id: Mapped[str | None] = mapped_column(String(300))
    prompt: Mapped[str | None] = mapped_column(Text)
    negative_prompt: Mapped[str | None] = mapped_column(Text)
    seed: Mapped[int | None] = mapped_column(Integer)
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    human_edits: Mapped[list[Any]] = mapped_column(default=list)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    asset: Mapped[Asset] = relationship(back_populates="provenance")
    created_by: Mapped[User | None] = relationship()


class JobAsset(Base):
    __tablename__ = "job_assets"
    __table_args__ = (CheckConstraint("direction IN ('in', 'out')", name="ck_job_asset_direction"),)

    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True,
                                          index=True)
    direction: Mapped[str] = mapped_column(String(3), primary_key=True)


class Job(Base):
    """A unit of long work. The row is the truth: the UI polls it, the runner writes it."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    queue: Mapped[str] = mapped_column(String(10), default="cpu")  # cpu | gpu
    status: Mapped[JobStatus] = mapped_column(_enum(JobStatus, "job_status"), default=JobStatus.queued,
                                              index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    worker: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    project: Mapped[Project | None] = relationship(back_populates="jobs")
    inputs: Mapped[list[Asset]] = relationship(
        secondary="job_assets", primaryjoin="and_(Job.id == JobAsset.job_id, JobAsset.direction == 'in')",
        secondaryjoin="Asset.id == JobAsset.asset_id", viewonly=True)
    outputs: Mapped[list[Asset]] = relationship(
        secondary="job_assets", primaryjoin="and_(Job.id == JobAsset.job_id, JobAsset.direction == 'out')",
        secondaryjoin="Asset.id == JobAsset.asset_id", viewonly=True)

    @property
    def seconds(self) -> float | None:
        if self.started_at is None:
            return None
        end = self.finished_at or utcnow()
        start = self.started_at
        if start.tzinfo is None:  # SQLite returns naive datetimes
            start = start.replace(tzinfo=timezone.utc)
        if end.tzinfo is None:
            end = end.replace(tzinfo=timezone.utc)
        return (end - start).total_seconds()


class Preference(Base):
    """Studio-wide settings chosen in the UI (backend and model per engine kind, upload limit, ...)."""

    __tablename__ = "preferences"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# The publishing and governance tables live in their own modules; importing them registers them on Base.metadata.
from . import audience_models, governance_models  # noqa: E402,F401
