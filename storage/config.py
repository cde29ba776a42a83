"""Settings from the environment, read once: data dir, database URL, limits, team users.

``REELSMITH_DATA`` (default ``./data``) holds the SQLite file, the media store and Gradio's temp files.
``DATABASE_URL`` overrides the SQLite default with any SQLAlchemy URL (e.g. ``postgresql+psycopg://...``).
``REELSMITH_MEDIA_DIR`` puts the media store elsewhere (a volume every worker host mounts; default ``<data>/media``).

Jobs: ``REELSMITH_LOCAL_WORKERS`` says who runs them when no broker is set — ``process`` (the default of
``python app.py``: the web process starts ``python -m studio.services.worker`` processes, one per GPU plus one CPU
pool), ``thread`` (worker threads inside the web process) or ``0`` (none: workers started by hand do the work).
``REELSMITH_BROKER_URL`` (e.g. ``redis://127.0.0.1:6379/0``) hands jobs to Celery workers instead
(``celery -A studio.services.celery_app worker ...``); ``REELSMITH_BROKER_VISIBILITY_S`` is how long Redis waits
before it gives an unacknowledged task to another worker (longer than the longest job; default 6 h).
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
    # until it has been started ``job_max_attempts`` times; then it is failed. ``local_workers``: "process",
    # "thread" or "none" (see the module's docstring); a Settings built in code runs threads unless told otherwise,
    # ``load_settings`` (what ``python app.py`` reads) starts processes. ``broker_url`` set: Celery runs the jobs.
    job_lease_s: float = 60.0
    job_max_attempts: int = 3
    local_workers: str = "thread"
    worker_grace_s: float = 8.0  # on SIGTERM a worker's running jobs get this long, then go back to the queue
    broker_url: str | None = None
    broker_visibility_s: float = 6 * 3600.0
    media_root: Path | None = None  # REELSMITH_MEDIA_DIR; None: <data_dir>/media

    def __post_init__(self) -> None:
        mode = self.local_workers
        if not isinstance(mode, str):  # True / False, as earlier versions took
            mode = "thread" if mode else "none"
        object.__setattr__(self, "local_workers", parse_worker_mode(mode))

    @property
    def media_dir(self) -> Path:
        return Path(self.media_root) if self.media_root else self.data_dir / "media"

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


    def as_env(self) -> dict[str, str]:
        """These settings as the environment variables ``load_settings`` reads: what a worker process started by
        this one needs to open the same store (team users are left out: workers do not log anyone in)."""
        env = {"REELSMITH_DATA": str(self.data_dir), "DATABASE_URL": self.database_url,
               "REELSMITH_MEDIA_DIR": str(self.media_dir), "REELSMITH_MAX_UPLOAD_MB": str(self.max_upload_mb),
               "REELSMITH_CPU_WORKERS": str(self.cpu_workers), "REELSMITH_JOB_LEASE_S": repr(self.job_lease_s),
               "REELSMITH_JOB_MAX_ATTEMPTS": str(self.job_max_attempts),
               "REELSMITH_WORKER_GRACE_S": repr(self.worker_grace_s),
               "REELSMITH_LOCAL_WORKERS": "0" if self.local_workers == "none" else self.local_workers,
               "REELSMITH_BROKER_VISIBILITY_S": repr(self.broker_visibility_s),
               "REELSMITH_BROKER_URL": self.broker_url or ""}
        return env


WORKER_MODES = ("process", "thread", "none")


def parse_worker_mode(raw: str) -> str:
    """``REELSMITH_LOCAL_WORKERS``: process (also 1, yes, on), thread (threads), or none (0, no, off)."""
    value = raw.strip().lower()
    aliases = {"": "process", "1": "process", "yes": "process", "on": "process", "true": "process",
               "processes": "process", "threads": "thread", "0": "none", "no": "none", "off": "none",
               "false": "none"}
    value = aliases.get(value, value)
    if value not in WORKER_MODES:
        raise ValueError(f"REELSMITH_LOCAL_WORKERS must be process, thread or 0, got {raw!r}")
    return value


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


def _worker_mode_env() -> str:
    try:
        return parse_worker_mode(os.environ.get("REELSMITH_LOCAL_WORKERS", "process"))
    except ValueError as exc:
        raise SystemExit(str(exc)) from None


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
        worker_grace_s=max(0.0, _float_env("REELSMITH_WORKER_GRACE_S", 8.0)),
        local_workers=_worker_mode_env(),
        broker_url=os.environ.get("REELSMITH_BROKER_URL") or None,
        broker_visibility_s=max(1.0, _float_env("REELSMITH_BROKER_VISIBILITY_S", 6 * 3600.0)),
        media_root=Path(os.environ["REELSMITH_MEDIA_DIR"]).resolve() if os.environ.get("REELSMITH_MEDIA_DIR")
        else None,
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
