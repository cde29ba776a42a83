"""Real servers on loopback for the worker tests: a private ``redis-server`` (``tests/workers/redisserver.py``),
Celery worker processes and the studio's own worker processes against one shared data dir (SQLite, or PostgreSQL
from ``tests/pgserver.py``)."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterator

import pytest

from storage.config import Settings, sqlite_url
from storage.db import Store, open_store
from storage.models import AssetKind
from storage.repo import assets as assets_repo
from storage.repo import projects
from tests.media_factory import write_clip
from tests.workers.redisserver import redis_server

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


@pytest.fixture
def broker_url(redis_url) -> str:
    """The session's Redis, emptied for this test (queues, unacked messages, revokes of an earlier test)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    client.close()
    return redis_url


# --- a shared data dir and the processes that work on it ------------------------------------------------------------
CELERY = [sys.executable, "-m", "celery", "-A", "studio.services.celery_app", "worker", "-P", "solo", "-c", "1",
          "--prefetch-multiplier", "1", "--without-gossip", "--without-mingle", "--without-heartbeat",
          "--loglevel", "INFO"]


@dataclass
class Site:
    """One studio's store (SQLite in a temp data dir, or a PostgreSQL URL) and the worker processes started on it."""

    settings: Settings
    store: Store
    logs: Path
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    def env(self, **extra: str) -> dict[str, str]:
        env = {**os.environ, **self.settings.as_env(), "PYTHONUNBUFFERED": "1", **extra}
        env.pop("REELSMITH_USERS", None)
        return {k: v for k, v in env.items() if v != ""} | {"CUDA_VISIBLE_DEVICES": ""}

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def start_celery(self, name: str, queues: str = "cpu", **env: str) -> subprocess.Popen:
        with open(self.log(name), "ab") as fh:
            proc = subprocess.Popen([*CELERY, "-Q", queues, "-n", f"{name}@%h"], cwd=ROOT, stdout=fh,
                                    stderr=subprocess.STDOUT, env=self.env(**env))
        self.procs[name] = proc
        return proc

    def wait_ready(self, *names: str, timeout_s: float = 60) -> None:
        """Until each named Celery worker has opened the store and is consuming."""
        deadline = time.monotonic() + timeout_s
        for name in names:
            while "ready: store" not in self.log(name).read_text(errors="replace"):
                proc = self.procs[name]
                assert proc.poll() is None, f"{name} exited:\n{self.tail(name)}"
                assert time.monotonic() < deadline, f"{name} not ready:\n{self.tail(name)}"
                time.sleep(0.1)

    def tail(self, name: str, chars: int = 3000) -> str:
        path = self.log(name)
        return path.read_text(errors="replace")[-chars:] if path.exists() else "(no log)"

    def pid_of(self, worker_id: str) -> int:
        return int(worker_id.split(":")[1])

    def kill(self, name: str) -> None:
        proc = self.procs[name]
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for name, proc in self.procs.items():
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def make_site(root: Path, *, database_url: str | None = None, broker_url: str | None = None,
              lease_s: float = 3.0, visibility_s: float = 6.0, cpu_workers: int = 1,
              media_root: Path | None = None) -> Site:
    data = root / "data"
    settings = Settings(data_dir=data, database_url=database_url or sqlite_url(data), cpu_workers=cpu_workers,
                        job_lease_s=lease_s, job_max_attempts=3, local_workers="thread", broker_url=broker_url,
                        broker_visibility_s=visibility_s, media_root=media_root, worker_grace_s=1.0)
    logs = root / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    return Site(settings=settings, store=open_store(settings), logs=logs)


@contextlib.contextmanager
def site(root: Path, **kwargs) -> Iterator[Site]:
    s = make_site(root, **kwargs)
    try:
        yield s
    finally:
        s.stop_all()
        s.store.close()


def with_mode(settings: Settings, mode: str) -> Settings:
    return replace(settings, local_workers=mode)


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> dict[str, Path]:
    """A short clip with a tone (loudness: a fraction of a second) and a longer one (colour: a few seconds)."""
    folder = tmp_path_factory.mktemp("clips")
    return {"short": write_clip(folder / "tone.mp4", size=(64, 48), seconds=3.0),
            "long": write_clip(folder / "harbour.mp4", size=(320, 240), seconds=8.0)}


def add_clip(store: Store, path: Path, project: str = "Workers") -> tuple[int, int]:
    """(project id, asset id) of ``path`` stored in a new project."""
    import av

    with av.open(str(path)) as c:
        duration = float(c.duration / 1_000_000) if c.duration else 0.0
        v = c.streams.video[0]
        width, height = v.codec_context.width, v.codec_context.height
    with store.session() as s:
        pid = projects.create_project(session=s, name=project).id
        aid = assets_repo.add_asset(session=s, project_id=pid, stored=store.media.put_file(path),
                                    kind=AssetKind.video, name=path.name, duration_s=duration, width=width,
                                    height=height, fps=24.0).id
    return pid, aid
