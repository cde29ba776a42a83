"""The local runner's worker processes (issue 12, requirement 2): spawned by the studio, one per GPU plus a CPU pool,
woken at once when a job is submitted, started again when they die, stopped with the studio and with its death;
outputs go to the configured media store (requirement 3)."""
from __future__ import annotations

from dataclasses import replace

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from storage.models import JobStatus
from storage.repo import assets as assets_repo
from storage.repo import jobs as jobs_repo
from studio.services.app_state import make_runner
from studio.services.runner import LocalRunner
from studio.services.worker import plan_workers, visible_gpus
from tests.workers.conftest import ROOT, add_clip, site, with_mode


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead too
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def _wait_dead(pid: int, timeout_s: float = 15) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return False


def test_one_pinned_worker_per_gpu_and_a_cpu_pool(monkeypatch):
    gpu0, gpu1, *cpu = plan_workers(3, ["0", "1"])
    assert (gpu0.queues, gpu0.concurrency, gpu0.env) == (("gpu",), 1, {"CUDA_VISIBLE_DEVICES": "0"})
    assert gpu1.env == {"CUDA_VISIBLE_DEVICES": "1"}
    assert [(c.queues, c.concurrency, c.env) for c in cpu] == [(("cpu",), 1, {"CUDA_VISIBLE_DEVICES": ""})] * 3
    first, second = plan_workers(2, [])  # no GPU: one CPU process also runs the heavy lane, one job at a time
    assert (first.queues, first.concurrency, second.queues) == (("cpu", "gpu"), 1, ("cpu",))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1,GPU-5d2c")
    assert visible_gpus() == ["1", "GPU-5d2c"]
    for none in ("", "-1"):
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", none)
        assert visible_gpus() == []


@pytest.mark.slow
def test_worker_processes_run_jobs_restart_when_killed_and_stop_with_the_studio(tmp_path, clips):
    shared = tmp_path / "shared-media"  # REELSMITH_MEDIA_DIR: a volume every host mounts
    with site(tmp_path / "studio", lease_s=2.0, media_root=shared) as st:
        pid, aid = add_clip(st.store, clips["long"])
        runner = make_runner(st.store, with_mode(replace(st.settings, cpu_workers=1), "process"))
        assert isinstance(runner, LocalRunner) and runner.supervisor is not None
        runner.recover()
        runner.start()
        try:
            assert runner.supervisor.wait_started()
            [first] = runner.supervisor.pids().values()

            # 1. A job runs in the worker process; one submitted to an idle worker starts at once (woken, no poll).
            job = runner.submit("loudness", project_id=pid, params={"asset_id": aid})
            snap = runner.run_to_end(job, timeout_s=60)
            assert snap.status == JobStatus.done, snap.message
            with st.store.session() as s:
                assert int(jobs_repo.get_job(session=s, job_id=job).worker.split(":")[1]) == first
            time.sleep(1.0)  # idle
            submitted = time.monotonic()
            job = runner.submit("loudness", project_id=pid, params={"asset_id": aid})
            for snap in runner.wait(job, poll_s=0.01, timeout_s=30):
                if snap.status != JobStatus.queued:
                    break
            latency = time.monotonic() - submitted
            assert latency < 0.4, latency  # the worker polls every 0.5 s; the wake byte beats it
            runner.run_to_end(job, timeout_s=60)

            # 2. SIGKILL the worker mid-job: the supervisor starts another, which finishes the job (attempt 2).
            job = runner.submit("colour", project_id=pid, params={"asset_id": aid})
            for snap in runner.wait(job, poll_s=0.05, timeout_s=60):
                if snap.status == JobStatus.running and snap.progress > 0.05:
                    break
            os.kill(first, signal.SIGKILL)
            snap = runner.run_to_end(job, timeout_s=90)
            assert snap.status == JobStatus.done and snap.attempts == 2, snap.message
            [second] = runner.supervisor.pids().values()
            assert second and second != first

            # 3. Outputs live in the configured media store, nowhere else in the data dir.
            with st.store.session() as s:
                paths = [st.store.media.path_for(a.content_hash, a.ext)
                         for a in assets_repo.list_assets(session=s, project_id=pid)]
            assert paths and all(p.is_file() and p.is_relative_to(shared) for p in paths)
            assert not (st.settings.data_dir / "media").exists()
        finally:
            runner.shutdown()
        # 4. Stopped with the studio.
        assert _wait_dead(second, 2)
        assert runner.supervisor.pids() == {"cpu0": None}


PARENT = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {root!r})
    from pathlib import Path
    from storage.config import Settings, sqlite_url
    from storage.db import open_store
    from studio.services.runner import LocalRunner
    data = Path({data!r})
    store = open_store(Settings(data_dir=data, database_url=sqlite_url(data)))
    runner = LocalRunner(store, workers="process")
    runner.start()
    assert runner.supervisor.wait_started()
    print(list(runner.supervisor.pids().values())[0], flush=True)
    time.sleep(120)
""")


@pytest.mark.slow
def test_worker_processes_die_with_the_studio(tmp_path):
    script = PARENT.format(root=str(ROOT), data=str(tmp_path / "data"))
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        child = int(parent.stdout.readline())
        assert _alive(child)
        parent.kill()  # SIGKILL: no clean-up runs in the studio
        parent.wait(10)
        assert _wait_dead(child, 15), "the worker outlived its studio"
    finally:
        if parent.poll() is None:
            parent.kill()
