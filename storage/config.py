"""Settings from the environment, read once: data dir, database URL, limits, team users.

``REELSMITH_DATA`` (default ``./data``) holds the SQLite file, the media store and Gradio's temp files.
``DATABASE_URL`` overrides the SQLite default with any SQLAlchemy URL (e.g. ``postgresql+psycopg://...``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    max_upload_mb: int = 2048
    cpu_workers: int = 2
    users: str | None = None  # "alice:pw,bob:pw2" from REELSMITH_USERS
    # Jobs: a running job whose worker has not renewed its lease (heartbeat) for ``job_lease_s`` seconds is requeued,
    # until it has been started ``job_max_attempts`` times; then it is failed. ``local_workers`` False: this process
    # runs no job workers (``python -m studio.services.worker`` processes do the work).
    job_lease_s: float = 60.0
    job_max_attempts: int = 3
    local_workers: bool = True

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def tmp_dir(self) -> Path:
        return self.data_dir / "tmp"

    @property
    def gradio_tmp_dir(self) -> Path:
        return self.data_dir / "gradio-tmp"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def with_data_dir(self, data_dir: Path) -> "Settings":
        """Same settings with another data dir (and the SQLite default moved with it, unless a URL was given)."""
        data_dir = Path(data_dir).resolve()
        url = self.database_url
        if not os.environ.get("DATABASE_URL"):
            url = sqlite_url(data_dir)
        return replace(self, data_dir=data_dir, database_url=url)

    def safe_database_url(self) -> str:
        """The URL with any password masked, for display."""
        from sqlalchemy.engine import make_url

        return make_url(self.database_url).render_as_string(hide_password=True)


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{(Path(data_dir) / 'reelsmith.db').as_posix()}"


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, got {raw!r}") from None


def _float_env(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a number, got {raw!r}") from None


def load_settings() -> Settings:
    """Read the environment now (uncached; tests and the CLI use this)."""
    data_dir = Path(os.environ.get("REELSMITH_DATA", "./data")).resolve()
    return Settings(
        data_dir=data_dir,
        database_url=os.environ.get("DATABASE_URL") or sqlite_url(data_dir),
        max_upload_mb=_int_env("REELSMITH_MAX_UPLOAD_MB", 2048),
        cpu_workers=max(1, _int_env("REELSMITH_CPU_WORKERS", 2)),
        users=os.environ.get("REELSMITH_USERS") or None,
        job_lease_s=max(1.0, _float_env("REELSMITH_JOB_LEASE_S", 60.0)),
        job_max_attempts=max(1, _int_env("REELSMITH_JOB_MAX_ATTEMPTS", 3)),
        local_workers=_int_env("REELSMITH_LOCAL_WORKERS", 1) != 0,
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
