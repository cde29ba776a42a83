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
