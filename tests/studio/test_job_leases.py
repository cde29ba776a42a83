"""Jobs survive crashes: leases, the reaper, fenced writes, exclusive claims, and a real worker process killed
mid-job (issue 11, requirement 11)."""
from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.db import open_store
from storage.models import Asset, AssetKind, Job, JobStatus, utcnow
from storage.repo import assets as assets_repo
from storage.repo import jobs as jobs_repo
from storage.repo import projects
from storage.repo.jobs import Lease
from studio.services.outputs import output_batch
from studio.services.runner import JobRunner, TaskOutcome, TaskSpec
from tests.media_factory import write_clip

ROOT = Path(__file__).resolve().parents[2]


def _expire(store, job_id: int, seconds: float = 120) -> None:
    """Make the job's last heartbeat ``seconds`` old, as if its worker had stopped renewing the lease."""
    with store.session() as s:
        s.get(Job, job_id).heartbeat_at = utcnow() - timedelta(seconds=seconds)


def _project(store, name="Leases") -> int:
    with store.session() as s:
        return projects.create_project(session=s, name=name).id


# --- the reaper ----------------------------------------------------------------------------------------------------
def test_reaper_requeues_an_expired_job_then_fails_it_when_out_of_attempts(store):
    with store.session() as s:
        job_id = jobs_repo.create_job(session=s, kind="k").id
        fresh_id = jobs_repo.create_job(session=s, kind="k").id
        stopping_id = jobs_repo.create_job(session=s, kind="k").id
        for jid, w in ((job_id, "w1"), (fresh_id, "w9"), (stopping_id, "w8")):
            assert jobs_repo.claim_job(session=s, job_id=jid, worker=w)
    with store.session() as s:
        jobs_repo.report_progress(session=s, job_id=job_id, progress=0.4, message="half way", worker="w1", attempt=1)
        jobs_repo.request_cancel(session=s, job_id=stopping_id)
    _expire(store, job_id)
    _expire(store, stopping_id)

    reap = dict(lease_s=60, max_attempts=2)
    with store.session() as s:
        first = jobs_repo.reap_expired(session=s, **reap)
    assert sorted((r.job_id, r.status) for r in first) == [(job_id, JobStatus.queued),
                                                           (stopping_id, JobStatus.cancelled)]
    with store.session() as s:
        job = jobs_repo.get_job(session=s, job_id=job_id)
        assert (job.status, job.attempts, job.worker, job.started_at) == (JobStatus.queued, 1, None, None)
        assert job.message == "Requeued after worker w1 stopped responding (attempt 1 of 2)."
        assert jobs_repo.get_job(session=s, job_id=fresh_id).status == JobStatus.running  # its lease is fresh
        assert jobs_repo.get_job(session=s, job_id=stopping_id).message.startswith("Cancelled (its worker w8")
        # the second attempt starts clean
        assert jobs_repo.claim_job(session=s, job_id=job_id, worker="w2")
    with store.session() as s:
        job = jobs_repo.get_job(session=s, job_id=job_id)
        assert (job.attempts, job.progress, job.worker) == (2, 0.0, "w2")
    _expire(store, job_id)
    with store.session() as s:
        assert [(r.job_id, r.status) for r in jobs_repo.reap_expired(session=s, **reap)] == \
            [(job_id, JobStatus.failed)]
        job = jobs_repo.get_job(session=s, job_id=job_id)
        assert job.status == JobStatus.failed and job.error == "lease_expired" and job.finished_at is not None
        assert job.message == ("Failed: worker w2 stopped responding during attempt 2 of 2, and no attempts are "
                               "left. Run it again.")
        assert jobs_repo.reap_expired(session=s, **reap) == []  # nothing left to do: idempotent


def test_a_stale_attempt_cannot_write_over_the_next_one(store):
    with store.session() as s:
        job_id = jobs_repo.create_job(session=s, kind="k").id
        jobs_repo.claim_job(session=s, job_id=job_id, worker="slow")
    _expire(store, job_id)
    with store.session() as s:
        jobs_repo.reap_expired(session=s, lease_s=60, max_attempts=3)
        jobs_repo.claim_job(session=s, job_id=job_id, worker="next")
    stale, current = {"worker": "slow", "attempt": 1}, {"worker": "next", "attempt": 2}
    with store.session() as s:
        assert jobs_repo.heartbeat(session=s, job_id=job_id, **stale) is Lease.lost
        assert jobs_repo.report_progress(session=s, job_id=job_id, progress=0.9, message="stale", **stale) is Lease.lost
        assert jobs_repo.set_partial_result(session=s, job_id=job_id, result={"x": 1}, **stale) is Lease.lost
        assert not jobs_repo.finish_attempt(session=s, job_id=job_id, status=JobStatus.done, message="stale result",
                                            result={"who": "slow"}, **stale)
        assert not jobs_repo.requeue_attempt(session=s, job_id=job_id, message="stale", **stale)
        assert jobs_repo.report_progress(session=s, job_id=job_id, progress=0.5, message="mine", **current) \
            is Lease.held
        assert jobs_repo.finish_attempt(session=s, job_id=job_id, status=JobStatus.done, message="the real result",
                                        result={"who": "next"}, **current)
        assert not jobs_repo.finish_attempt(session=s, job_id=job_id, status=JobStatus.failed, **current)  # once
    with store.session() as s:
        job = jobs_repo.get_job(session=s, job_id=job_id)
        assert (job.status, job.message, job.result, job.attempts) == \
            (JobStatus.done, "the real result", {"who": "next"}, 2)


def test_claim_is_exclusive_under_eight_racing_threads(store):
    with store.session() as s:
        ids = [jobs_repo.create_job(session=s, kind="k", queue="cpu").id for _ in range(40)]
        jobs_repo.create_job(session=s, kind="other", queue="cpu")  # a kind none of them serves
        jobs_repo.create_job(session=s, kind="k", queue="gpu")      # a queue none of them takes
    claimed: dict[str, list[int]] = {}
    start = threading.Barrier(8)

    def worker(name):
        mine = claimed.setdefault(name, [])
        start.wait()
        while True:
            with store.session() as s:
                job = jobs_repo.claim_next(session=s, worker=name, queues=["cpu"], kinds=["k"])
                if job is None:
                    return
                mine.append(job.id)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    every = [j for js in claimed.values() for j in js]
    assert sorted(every) == ids  # each exactly once
    assert sum(1 for js in claimed.values() if js) >= 2  # they really raced
    with store.session() as s:
        rows = {j.id: j for j in s.scalars(select(Job))}
    for name, js in claimed.items():
        assert all(rows[j].worker == name and rows[j].attempts == 1 for j in js)
    assert sorted(j.kind + j.queue for j in rows.values() if j.status == JobStatus.queued) == ["kgpu", "othercpu"]


# --- fenced outputs and retries in the runner ------------------------------------------------------------------------
def _asset_task(made: list, release: threading.Event | None = None, crash_on_first: bool = False):
    """A task that stores one file and its asset row (as every generating task does), once per attempt."""

    class _WorkerDied(BaseException):
        """Stands for the worker dying right after its commit (a thread that ends without finishing)."""

    def task(ctx, params):
        if release is not None:
            release.wait(30)
        with output_batch(ctx.store) as batch:
            stored = batch.put(f"attempt {ctx.attempt} of job {ctx.job_id}".encode(), ".txt")
            with ctx.store.session() as s:
                asset = assets_repo.add_asset(session=s, project_id=params["project_id"], stored=stored,
                                              kind=AssetKind.other, name=f"out {ctx.attempt}")
                made.append((ctx.attempt, asset.id, stored))
        if crash_on_first and ctx.attempt == 1:
            raise _WorkerDied()
        return TaskOutcome(f"made asset {asset.id}", result={"asset_id": asset.id}, output_asset_ids=[asset.id])
    return task


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_retry_replaces_the_outputs_an_earlier_attempt_committed(store):
    """The worker dies between committing its outputs and finishing the job: the retry removes them and makes its
    own, so the job ends with exactly one set of outputs."""
    pid = _project(store)
    made: list = []
    runner = JobRunner(store, cpu_workers=2, lease_s=1.0)
    runner.register(TaskSpec("make", _asset_task(made, crash_on_first=True)))
    try:
        job_id = runner.submit("make", project_id=pid, params={"project_id": pid})
        snap = runner.run_to_end(job_id, timeout_s=30)
    finally:
        runner.shutdown()
    assert snap.status == JobStatus.done and snap.attempts == 2
    (a1, _, first_file), (a2, second_id, _) = made
    assert (a1, a2) == (1, 2)
    assert snap.output_asset_ids == (second_id,) and snap.result == {"asset_id": second_id}
    with store.session() as s:  # (SQLite may give the new row the id the removed one had)
        assert [(a.id, a.name) for a in assets_repo.list_assets(session=s, project_id=pid)] == [(second_id, "out 2")]
    assert not first_file.path.exists()  # the first attempt's file went with its row


def test_an_attempt_that_lost_its_lease_commits_nothing(store):
    """A worker that stalls past its lease and wakes up while the next attempt runs: its output transaction is
    refused (fenced), its new files are removed, and the next attempt's row is untouched."""
    pid = _project(store)
    made: list = []
    release = threading.Event()
    runner = JobRunner(store, cpu_workers=1, lease_s=600)
    runner.register(TaskSpec("make", _asset_task(made, release)))
    try:
        job_id = runner.submit("make", project_id=pid, params={"project_id": pid})
        for snap in runner.wait(job_id, poll_s=0.02, timeout_s=10):
            if snap.status == JobStatus.running:
                break
        # meanwhile the reaper of another process gave the job to another worker
        _expire(store, job_id, seconds=3600)
        with store.session() as s:
            assert jobs_repo.reap_expired(session=s, lease_s=600, max_attempts=3)[0].status == JobStatus.queued
            assert jobs_repo.claim_job(session=s, job_id=job_id, worker="other-host:1:abc")
        release.set()
    finally:
        runner.shutdown()  # waits for the stale attempt to wind down
    [(_, stale_id, _)] = made  # it did add its row, but the commit was refused and rolled back
    with store.session() as s:
        assert assets_repo.list_assets(session=s, project_id=pid) == [] and s.get(Asset, stale_id) is None
        job = jobs_repo.get_job(session=s, job_id=job_id)
        assert (job.status, job.worker, job.attempts) == (JobStatus.running, "other-host:1:abc", 2)
    assert not [p for p in store.media.root.rglob("*.txt")]  # the file it had written is gone again


# --- a real worker process, killed mid-job ---------------------------------------------------------------------------
def _start_worker(data: Path, log: Path, **env: str) -> subprocess.Popen:
    environ = {**os.environ, "REELSMITH_JOB_LEASE_S": "3", **env}
    environ.pop("DATABASE_URL", None)
    with open(log, "ab") as fh:
        return subprocess.Popen([sys.executable, "-m", "studio.services.worker", "--data-dir", str(data),
                                 "--queues", "cpu", "--concurrency", "1", "--grace-s", "0"],
                                cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, env=environ)


def _wait_running(runner: JobRunner, job_id: int, log: Path, timeout_s: float = 60):
    for snap in runner.wait(job_id, poll_s=0.05, timeout_s=timeout_s):
        if snap.status == JobStatus.running and snap.progress > 0.1:
            return snap
        assert not snap.finished, f"{snap.message}\n{log.read_text()[-2000:]}"


def _kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)


def _stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


def _row(store, job_id):
    with store.session() as s:
        job = jobs_repo.get_job(session=s, job_id=job_id)
        return job.status, job.attempts, job.worker, job.message, job.error


def _graded(store, pid):
    with store.session() as s:
        return [a for a in assets_repo.list_assets(session=s, project_id=pid)
                if (a.meta or {}).get("purpose") == "colour"]


def _store_is_consistent(store, data: Path) -> None:
    con = sqlite3.connect(data / "reelsmith.db")
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    con.close()
    with store.session() as s:
        assert assets_repo.missing_files(session=s, media=store.media) == []  # no row without its file
    for path in store.media.root.rglob("*"):  # every file outside .tmp is whole (named by its content)
        if path.is_file() and ".tmp" not in path.relative_to(store.media.root).parts:
            assert hashlib.sha256(path.read_bytes()).hexdigest() == path.name[:64], path


@pytest.mark.slow
def test_a_worker_killed_mid_job_is_requeued_then_finished_once_or_failed(tmp_path, settings):
    settings = replace(settings, job_lease_s=3.0, job_max_attempts=3)
    data = settings.data_dir
    store = open_store(settings)
    log = tmp_path / "workers.log"
    workers: list[subprocess.Popen] = []
    try:
        pid = _project(store, "Crash test")
        clip = write_clip(tmp_path / "harbour.mp4", size=(320, 240), seconds=8.0)
        stored = store.media.put_file(clip)
        with store.session() as s:
            source = assets_repo.add_asset(session=s, project_id=pid, stored=stored, kind=AssetKind.video,
                                           name="harbour.mp4", duration_s=8.0, width=320, height=240, fps=24.0).id
        from studio.services import editing

        web = JobRunner(store, local_workers=False)  # queues only, like a web process with REELSMITH_LOCAL_WORKERS=0
        for spec in editing.SPECS:
            web.register(spec)

        # 1. A worker takes the colour grade and dies (SIGKILL) half-way through.
        job_id = web.submit("colour", project_id=pid, params={"asset_id": source})
        workers.append(_start_worker(data, log))
        _wait_running(web, job_id, log)
        dead = _row(store, job_id)[2]
        _kill(workers[-1])
        status, attempts, worker, _, _ = _row(store, job_id)
        assert (status, attempts, worker) == (JobStatus.running, 1, dead)  # nothing lost, nothing half-written
        assert _graded(store, pid) == []
        _store_is_consistent(store, data)

        # 2. Past the lease the reaper (any runner's) requeues it, one attempt used.
        deadline = time.monotonic() + 15
        while web.reap() == 0:
            assert time.monotonic() < deadline, "the job was never requeued"
            time.sleep(0.25)
        assert _row(store, job_id)[:4] == (JobStatus.queued, 1, None, f"Requeued after worker {dead} stopped "
                                                                       "responding (attempt 1 of 3).")

        # 3. Another worker finishes it, exactly once, with exactly one set of outputs.
        workers.append(_start_worker(data, log))
        snap = web.run_to_end(job_id, timeout_s=60)
        assert snap.status == JobStatus.done and snap.attempts == 2, snap.message
        graded = _graded(store, pid)
        assert len(graded) == 1 and graded[0].id == snap.result["asset_id"]
        with store.session() as s:
            outputs = jobs_repo.output_ids(session=s, job_id=job_id)
            previews = [link.child_id for link in assets_repo.links_of(session=s, asset_id=graded[0].id)
                        if link.parent_id == graded[0].id]
        assert sorted(snap.output_asset_ids) == sorted(outputs) == sorted([graded[0].id, *previews])
        assert len(outputs) == 3  # the graded video, its poster and contact sheet

        # 3b. SIGTERM while a job runs: the worker exits cleanly and gives the job back to the queue.
        busy = web.submit("colour", project_id=pid, params={"asset_id": source})
        _wait_running(web, busy, log)
        assert _stop(workers[-1]) == 0
        status, attempts, worker, message, _ = _row(store, busy)
        assert (status, attempts, worker) == (JobStatus.queued, 1, None) and message.startswith("Requeued: worker")
        assert web.cancel(busy).status == JobStatus.cancelled  # (out of the way of the next part)
        assert len(_graded(store, pid)) == 1
        _store_is_consistent(store, data)

        # 4. With one attempt allowed, the same crash ends the job failed, with the reason, and no outputs.
        job_id = web.submit("colour", project_id=pid, params={"asset_id": source})
        one = {"REELSMITH_JOB_MAX_ATTEMPTS": "1"}
        workers.append(_start_worker(data, log, **one))
        _wait_running(web, job_id, log)
        dead = _row(store, job_id)[2]
        _kill(workers[-1])
        workers.append(_start_worker(data, log, **one))  # its keeper reaps the expired job
        snap = web.run_to_end(job_id, timeout_s=30)
        assert snap.status == JobStatus.failed and snap.attempts == 1 and snap.error == "lease_expired"
        assert snap.message == (f"Failed: worker {dead} stopped responding during attempt 1 of 1, and no attempts "
                                "are left. Run it again.")
        assert len(_graded(store, pid)) == 1 and snap.output_asset_ids == ()
        assert _stop(workers[-1]) == 0
        _store_is_consistent(store, data)
    finally:
        for proc in workers:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        store.close()
