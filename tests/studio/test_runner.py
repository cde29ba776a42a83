from __future__ import annotations

import threading
import time

import pytest

from engines.errors import InvalidInput
from storage.models import JobStatus
from storage.repo import jobs as jobs_repo
from studio.services.runner import JobRunner, TaskOutcome, TaskSpec


def _counting(ctx, params):
    steps = params.get("steps", 5)
    for i in range(steps):
        ctx.check()
        ctx.report((i + 1) / steps, f"step {i + 1} of {steps}")
        time.sleep(params.get("sleep", 0.05))
    return TaskOutcome(message=f"counted to {steps}", result={"steps": steps})


@pytest.fixture
def runner(store):
    r = JobRunner(store, cpu_workers=2)
    r.register(TaskSpec("count", _counting))
    yield r
    r.shutdown()


def test_progress_is_recorded_in_the_row(runner):
    job_id = runner.submit("count", params={"steps": 6, "sleep": 0.25})
    seen = [(snap.status, snap.progress, snap.message) for snap in runner.wait(job_id, poll_s=0.05, timeout_s=20)]
    final = seen[-1]
    assert final[0] == JobStatus.done and final[1] == 1.0 and final[2] == "counted to 6"
    partial = [p for st, p, _ in seen if st == JobStatus.running and 0 < p < 1]
    assert partial, "expected to observe intermediate progress"
    assert partial == sorted(partial)
    assert any(m.startswith("step ") for _, _, m in seen)
    with runner.store.session() as s:
        job = jobs_repo.get_job(session=s, job_id=job_id)
        assert job.started_at and job.finished_at and job.seconds > 1.0 and job.attempts == 1
        assert job.result == {"steps": 6}


def test_failure_is_recorded_with_a_readable_message(runner):
    def bad_input(ctx, params):
        raise InvalidInput("The script is empty: write or paste some text first.")

    def bug(ctx, params):
        return {}["missing"]

    runner.register(TaskSpec("bad", bad_input))
    runner.register(TaskSpec("bug", bug, title="Scene render"))
    a = runner.run_to_end(runner.submit("bad"), timeout_s=10)
    b = runner.run_to_end(runner.submit("bug"), timeout_s=10)
    assert a.status == JobStatus.failed and a.message == "The script is empty: write or paste some text first."
    assert b.status == JobStatus.failed and b.message.startswith("Scene render failed unexpectedly (KeyError")
    assert "Traceback" in b.error  # the details stay in the row for whoever debugs it


def test_cancel_a_running_job(runner):
    job_id = runner.submit("count", params={"steps": 200, "sleep": 0.02})
    for snap in runner.wait(job_id, poll_s=0.02, timeout_s=10):
        if snap.status == JobStatus.running and snap.progress > 0:
            break
    runner.cancel(job_id)
    final = runner.run_to_end(job_id, timeout_s=10)
    assert final.status == JobStatus.cancelled
    assert 0 < final.progress < 1


def test_cancel_from_another_process_through_the_row(runner, store):
    """The flag in the row alone (as another process or the UI of another worker would set it) stops the job."""
    job_id = runner.submit("count", params={"steps": 200, "sleep": 0.02})
    for snap in runner.wait(job_id, poll_s=0.02, timeout_s=10):
        if snap.progress > 0:
            break
    with store.session() as s:
        jobs_repo.request_cancel(session=s, job_id=job_id)
    assert runner.run_to_end(job_id, timeout_s=10).status == JobStatus.cancelled


def test_cancel_a_queued_job_never_runs_it(store):
    started = []
    r = JobRunner(store, cpu_workers=1)
    r.register(TaskSpec("count", _counting))
    r.register(TaskSpec("mark", lambda ctx, p: started.append(1) or TaskOutcome("ran")))
    try:
        blocker = r.submit("count", params={"steps": 10, "sleep": 0.05})
        queued = r.submit("mark")
        assert r.snapshot(queued).status == JobStatus.queued
        r.cancel(queued)
        r.run_to_end(blocker, timeout_s=10)
        time.sleep(0.2)
        assert r.snapshot(queued).status == JobStatus.cancelled and started == []
    finally:
        r.shutdown()


def test_gpu_jobs_run_one_at_a_time_cpu_jobs_in_parallel(runner):
    active = {"gpu": 0, "cpu": 0}
    peak = {"gpu": 0, "cpu": 0}
    lock = threading.Lock()

    def make(queue):
        def task(ctx, params):
            with lock:
                active[queue] += 1
                peak[queue] = max(peak[queue], active[queue])
            time.sleep(0.3)
            with lock:
                active[queue] -= 1
            return TaskOutcome("ok")
        return task

    runner.register(TaskSpec("heavy", make("gpu"), queue="gpu"))
    runner.register(TaskSpec("light", make("cpu"), queue="cpu"))
    ids = [runner.submit("heavy") for _ in range(3)] + [runner.submit("light") for _ in range(2)]
    for job_id in ids:
        assert runner.run_to_end(job_id, timeout_s=20).status == JobStatus.done
    assert peak == {"gpu": 1, "cpu": 2}


def test_jobs_a_crash_left_behind_are_run_again_at_start_up(store):
    """Running past its lease: requeued (one attempt used); queued: simply picked up; finished: left alone."""
    from datetime import timedelta

    from storage.models import Job, utcnow

    with store.session() as s:
        running = jobs_repo.create_job(session=s, kind="count", params={"steps": 2, "sleep": 0.01})
        queued = jobs_repo.create_job(session=s, kind="count", params={"steps": 2, "sleep": 0.01})
        done = jobs_repo.create_job(session=s, kind="count")
        jobs_repo.claim_job(session=s, job_id=running.id, worker="dead-process")
        jobs_repo.claim_job(session=s, job_id=done.id, worker="dead-process")
        jobs_repo.finish_job(session=s, job_id=done.id, status=JobStatus.done, message="fine")
        s.get(Job, running.id).heartbeat_at = utcnow() - timedelta(minutes=2)
    fresh = JobRunner(store)
    fresh.register(TaskSpec("count", _counting))
    try:
        assert fresh.recover() == 1
        snap = fresh.snapshot(running.id)
        assert snap.status == JobStatus.queued and snap.attempts == 1
        assert snap.message == "Requeued after worker dead-process stopped responding (attempt 1 of 3)."
        fresh.start()
        for job_id, attempts in ((running.id, 2), (queued.id, 1)):
            snap = fresh.run_to_end(job_id, timeout_s=20)
            assert (snap.status, snap.message, snap.attempts) == (JobStatus.done, "counted to 2", attempts)
        assert fresh.snapshot(done.id).message == "fine"
    finally:
        fresh.shutdown()


def test_partial_results_are_visible_while_running_and_queue_override(runner):
    def streaming(ctx, params):
        text = ""
        for word in ["INT.", "HARBOUR", "-", "NIGHT"]:
            text = f"{text} {word}".strip()
            ctx.publish({"partial": text}, force=True)
            time.sleep(0.15)
        return TaskOutcome("written", result={"text": text})

    runner.register(TaskSpec("stream", streaming))
    job_id = runner.submit("stream", queue="gpu")
    partials = [snap.result.get("partial") for snap in runner.wait(job_id, poll_s=0.03, timeout_s=10)
                if snap.status == JobStatus.running and snap.result.get("partial")]
    assert partials and partials[0] != "INT. HARBOUR - NIGHT" and "INT." in partials[0]
    final = runner.snapshot(job_id)
    assert final.result == {"text": "INT. HARBOUR - NIGHT"}
    with runner.store.session() as s:
        assert jobs_repo.get_job(session=s, job_id=job_id).queue == "gpu"


# --- one executor, several runners --------------------------------------------------------------------------------
def test_a_duplicate_or_late_message_claims_nothing(store):
    """What a Celery worker does with a message: claim that job if it is still queued, else nothing."""
    from studio.services.runner import JobExecutor

    ex = JobExecutor(store, {"count": TaskSpec("count", _counting)}, lease_s=60, max_attempts=3, worker_id="w:1:a")
    with store.session() as s:
        job = jobs_repo.create_job(session=s, kind="count", params={"steps": 2, "sleep": 0.01}).id
        other = jobs_repo.create_job(session=s, kind="retired_kind").id
        cancelled = jobs_repo.create_job(session=s, kind="count").id
        jobs_repo.request_cancel(session=s, job_id=cancelled)
    claim = ex.claim(job)
    assert claim is not None and (claim.kind, claim.attempt, claim.params["steps"]) == ("count", 1, 2)
    assert ex.claim(job) is None  # the same message again (redelivered, or sent twice)
    ex.execute(claim)
    assert ex.claim(job) is None  # after it finished
    assert ex.claim(other) is None and ex.claim(cancelled) is None and ex.claim(9999) is None
    with store.session() as s:
        assert jobs_repo.get_job(session=s, job_id=job).status == JobStatus.done
        assert jobs_repo.get_job(session=s, job_id=other).status == JobStatus.queued  # left for a worker that can


def test_celery_runner_sends_revokes_and_sends_again(store, monkeypatch):
    """CeleryRunner's side of the broker, with the broker replaced by a recorder (tests/workers run real ones)."""
    from datetime import timedelta

    from storage.models import Job, utcnow
    from studio.services import celery_app
    from studio.services.runner import CeleryRunner

    sent, revoked = [], []

    class Recorder:
        def __init__(self, store, broker_url=None, celery=None):
            self.store = store

        def send(self, job_id):
            with self.store.session() as s:
                job = jobs_repo.get_job(session=s, job_id=job_id)
                sent.append((job_id, job.queue, celery_app.task_id(job_id, job.attempts + 1)))

        def revoke(self, job_id, attempts):
            revoked.append(celery_app.task_id(job_id, attempts + 1))

        def close(self):
            pass

    monkeypatch.setattr(celery_app, "Dispatcher", Recorder)
    runner = CeleryRunner(store, broker_url="redis://127.0.0.1:1/0", lease_s=60)
    runner.register(TaskSpec("count", _counting))
    runner.register(TaskSpec("heavy", _counting, queue="gpu"))
    try:
        a = runner.submit("count")
        b = runner.submit("heavy")
        assert sent == [(a, "cpu", f"reelsmith-job-{a}-1"), (b, "gpu", f"reelsmith-job-{b}-1")]
        assert runner.cancel(b).status == JobStatus.cancelled and revoked == [f"reelsmith-job-{b}-1"]
        # a worker took job a and died: the reaper requeues it and sends it again under a new task id
        with store.session() as s:
            jobs_repo.claim_job(session=s, job_id=a, worker="dead:1:x")
            s.get(Job, a).heartbeat_at = utcnow() - timedelta(minutes=5)
        assert runner.reap() == 1
        assert sent[-1] == (a, "cpu", f"reelsmith-job-{a}-2")
        # a running job is only flagged (its worker stops at its next check): nothing to revoke
        with store.session() as s:
            jobs_repo.claim_job(session=s, job_id=a, worker="live:1:x")
        runner.cancel(a)
        assert revoked == [f"reelsmith-job-{b}-1"]
        with store.session() as s:
            assert jobs_repo.get_job(session=s, job_id=a).cancel_requested
        # at start-up every queued job is sent again (one the broker lost would wait for ever)
        c = runner.submit("count")
        sent.clear()
        runner.recover()
        assert sent == [(c, "cpu", f"reelsmith-job-{c}-1")]
    finally:
        runner.shutdown()
