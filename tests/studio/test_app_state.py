from __future__ import annotations

from storage.db import open_store
from storage.models import JobStatus
from storage.repo import jobs as jobs_repo
from storage.repo import users as users_repo
from studio.services.app_state import start_studio


def test_start_up_migrates_recovers_jobs_sweeps_temp_and_syncs_users(settings):
    from datetime import timedelta

    from storage.models import Job, utcnow

    store = open_store(settings)
    with store.session() as s:  # a kind no task serves, so the studio's workers leave it in the queue
        job = jobs_repo.create_job(session=s, kind="retired_kind")
        jobs_repo.claim_job(session=s, job_id=job.id, worker="crashed-host:1")
        s.get(Job, job.id).heartbeat_at = utcnow() - timedelta(minutes=5)
    stale = store.media.tmp_dir / "put-stale.part"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_bytes(b"half a file")
    import os
    import time
    old = time.time() - 3 * 24 * 3600
    os.utime(stale, (old, old))
    store.close()

    from dataclasses import replace
    studio = start_studio(replace(settings, users="ann:pw1"))
    try:
        snap = studio.runner.snapshot(job.id)
        assert snap.status == JobStatus.queued and snap.attempts == 1
        assert snap.message.startswith("Requeued after worker crashed-host:1 stopped responding")
        assert not stale.exists()
        assert settings.gradio_tmp_dir.is_dir()
        with studio.store.session() as s:
            assert users_repo.authenticate(session=s, name="ann", password="pw1") is not None
    finally:
        studio.close()


def test_worker_settings_from_the_environment_and_back(monkeypatch, tmp_path):
    from pathlib import Path

    import pytest

    from storage.config import Settings, load_settings

    for name in ("REELSMITH_LOCAL_WORKERS", "REELSMITH_BROKER_URL", "REELSMITH_MEDIA_DIR", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REELSMITH_DATA", str(tmp_path / "data"))
    defaults = load_settings()
    assert defaults.local_workers == "process" and defaults.broker_url is None  # what `python app.py` does
    assert defaults.media_dir == (tmp_path / "data" / "media").resolve()
    assert defaults.broker_visibility_s == 6 * 3600
    for raw, mode in (("thread", "thread"), ("0", "none"), ("1", "process"), ("process", "process")):
        monkeypatch.setenv("REELSMITH_LOCAL_WORKERS", raw)
        assert load_settings().local_workers == mode
    monkeypatch.setenv("REELSMITH_LOCAL_WORKERS", "fork")
    with pytest.raises(SystemExit, match="process, thread or 0"):
        load_settings()
    monkeypatch.setenv("REELSMITH_LOCAL_WORKERS", "thread")
    monkeypatch.setenv("REELSMITH_MEDIA_DIR", str(tmp_path / "shared" / "media"))
    monkeypatch.setenv("REELSMITH_BROKER_URL", "redis://127.0.0.1:6390/0")
    monkeypatch.setenv("REELSMITH_BROKER_VISIBILITY_S", "7200")
    settings = load_settings()
    assert settings.media_dir == (tmp_path / "shared" / "media").resolve()
    assert settings.with_data_dir(tmp_path / "other").media_dir == settings.media_dir  # a shared volume stays
    assert (settings.broker_url, settings.broker_visibility_s) == ("redis://127.0.0.1:6390/0", 7200.0)
    # what a worker process started by the studio reads back is the same
    for name, value in settings.as_env().items():
        monkeypatch.setenv(name, value)
    assert load_settings() == settings
    assert Settings(data_dir=Path("d"), database_url="sqlite://", local_workers=False).local_workers == "none"


def test_the_runner_follows_the_settings(settings):
    from dataclasses import replace

    from studio.services.app_state import make_runner
    from studio.services.runner import CeleryRunner, LocalRunner

    store = open_store(settings)
    try:
        runners = {mode: make_runner(store, replace(settings, local_workers=mode))
                   for mode in ("process", "thread", "none")}
        assert all(isinstance(r, LocalRunner) for r in runners.values())
        assert runners["process"].supervisor is not None and not runners["process"].local_workers
        assert runners["thread"].supervisor is None and runners["thread"].local_workers
        assert runners["none"].supervisor is None and not runners["none"].local_workers
        celery = make_runner(store, replace(settings, broker_url="redis://127.0.0.1:6390/0"))
        assert isinstance(celery, CeleryRunner) and "loudness" in celery._tasks
        celery.dispatcher.close()
    finally:
        store.close()
