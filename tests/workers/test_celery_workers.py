"""Jobs on Celery workers through a real Redis on loopback (issue 12, requirement 2): the same result as the local
runner, a worker killed mid-job, two workers draining a queue, cancel, and one run on PostgreSQL."""
from __future__ import annotations

import threading
import time

import pytest

from storage.models import JobStatus
from storage.repo import assets as assets_repo
from storage.repo import jobs as jobs_repo
from studio.services.app_state import make_runner
from studio.services.celery_app import task_id
from studio.services.runner import CeleryRunner, JobRunner, LocalRunner
from tests.workers.conftest import add_clip, site, with_mode

pytestmark = pytest.mark.slow


def _hashes(store, asset_ids) -> list[tuple[str, str, str]]:
    with store.session() as s:
        assets = [assets_repo.get_asset(session=s, asset_id=i) for i in asset_ids]
        return [(a.content_hash, a.ext, a.name) for a in assets]


def _comparable(store, snap) -> dict:
    """A finished loudness job's row, with asset ids replaced by the content of the assets they name and the timing
    left out (both differ between two stores; nothing else may)."""
    result = dict(snap.result)
    metrics = {k: v for k, v in result.pop("metrics").items() if k != "seconds"}
    named = {k: _hashes(store, [v])[0] for k, v in result.items()}
    return {"status": snap.status, "message": snap.message, "error": snap.error, "attempts": snap.attempts,
            "result": {**named, "metrics": metrics}, "outputs": _hashes(store, snap.output_asset_ids)}


def _outputs_of_project(store, pid) -> list:
    """Every asset of the project but the uploaded clip (the first one)."""
    with store.session() as s:
        return sorted(assets_repo.list_assets(session=s, project_id=pid), key=lambda a: a.id)[1:]


def _wait_progress(runner: JobRunner, job_id: int, at_least: float = 0.1, timeout_s: float = 60):
    for snap in runner.wait(job_id, poll_s=0.05, timeout_s=timeout_s):
        if snap.status == JobStatus.running and snap.progress >= at_least:
            return snap
        assert not snap.finished, snap.message
    raise AssertionError("never ran")


def test_the_same_job_gives_the_same_row_and_asset_with_local_processes_and_celery(tmp_path, clips, broker_url):
    rows = {}
    for mode in ("process", "celery"):
        with site(tmp_path / mode, broker_url=broker_url if mode == "celery" else None) as st:
            pid, aid = add_clip(st.store, clips["short"])
            settings = st.settings if mode == "celery" else with_mode(st.settings, "process")
            runner = make_runner(st.store, settings)
            assert isinstance(runner, CeleryRunner if mode == "celery" else LocalRunner)
            if mode == "celery":
                st.start_celery("w1")
                st.wait_ready("w1")
            runner.recover()
            runner.start()
            try:
                job_id = runner.submit("loudness", project_id=pid, params={"asset_id": aid, "target_lufs": -16.0})
                snap = runner.run_to_end(job_id, timeout_s=90)
                assert snap.status == JobStatus.done, snap.message
                with st.store.session() as s:
                    job = jobs_repo.get_job(session=s, job_id=job_id)
                    assert job.worker.split(":")[1] != str(__import__("os").getpid())  # run by another process
                rows[mode] = _comparable(st.store, snap)
            finally:
                runner.shutdown()
    assert rows["process"] == rows["celery"]
    assert rows["celery"]["attempts"] == 1 and len(rows["celery"]["outputs"]) == 4


def test_a_worker_killed_mid_job_is_redelivered_and_finishes_once(tmp_path, clips, broker_url):
    with site(tmp_path, broker_url=broker_url, lease_s=3.0, visibility_s=6.0) as st:
        pid, aid = add_clip(st.store, clips["long"])
        web = make_runner(st.store, st.settings)
        st.start_celery("w1")
        st.start_celery("w2")
        st.wait_ready("w1", "w2")
        try:
            job_id = web.submit("colour", project_id=pid, params={"asset_id": aid})
            _wait_progress(web, job_id)
            with st.store.session() as s:
                first = jobs_repo.get_job(session=s, job_id=job_id).worker
            victim = next(n for n, p in st.procs.items() if p.pid == st.pid_of(first))
            survivor = "w2" if victim == "w1" else "w1"
            st.kill(victim)  # SIGKILL: its message stays unacknowledged in Redis, its lease runs out

            snap = web.run_to_end(job_id, timeout_s=90)
            assert snap.status == JobStatus.done and snap.attempts == 2, (snap.message, st.tail(survivor))
            with st.store.session() as s:
                job = jobs_repo.get_job(session=s, job_id=job_id)
                assert job.worker != first and st.pid_of(job.worker) == st.procs[survivor].pid
            made = _outputs_of_project(st.store, pid)
            assert sorted(a.id for a in made) == sorted(snap.output_asset_ids)  # one set, nothing of attempt 1
            assert len(made) == 3 and snap.result["asset_id"] in snap.output_asset_ids
            log = st.tail(survivor, 20000)
            assert f"reelsmith-job-{job_id}-2" in log  # the reaper sent it again under a new task id

            # Redis hands the dead worker's message out again after the visibility timeout: it does nothing
            deadline = time.monotonic() + 30
            while f"reelsmith-job-{job_id}-1] received" not in st.tail(survivor, 20000) or \
                    f"job {job_id} is not queued any more" not in st.tail(survivor, 20000):
                assert time.monotonic() < deadline, st.tail(survivor)
                time.sleep(0.25)
            assert web.snapshot(job_id) == snap and len(_outputs_of_project(st.store, pid)) == 3

            # SIGTERM mid-job: after its grace (1 s here) the worker gives the job back, sends it again and exits;
            # the other worker finishes it
            st.start_celery("w3")
            st.wait_ready("w3")
            job_id = web.submit("colour", project_id=pid, params={"asset_id": aid})
            _wait_progress(web, job_id, at_least=0.05)
            with st.store.session() as s:
                busy = st.pid_of(jobs_repo.get_job(session=s, job_id=job_id).worker)
            stopping = next(n for n, p in st.procs.items() if p.pid == busy)
            other = "w3" if stopping == survivor else survivor
            st.procs[stopping].terminate()
            assert st.procs[stopping].wait(30) == 0
            snap = web.run_to_end(job_id, timeout_s=90)
            assert snap.status == JobStatus.done and snap.attempts == 2, (snap.message, st.tail(stopping))
            with st.store.session() as s:
                assert st.pid_of(jobs_repo.get_job(session=s, job_id=job_id).worker) == st.procs[other].pid
            assert len(_outputs_of_project(st.store, pid)) == 6
        finally:
            web.shutdown()


def test_two_workers_drain_twenty_jobs_each_once_with_progress_seen(tmp_path, clips, broker_url):
    with site(tmp_path, broker_url=broker_url) as st:
        pid, aid = add_clip(st.store, clips["short"])
        web = make_runner(st.store, st.settings)
        st.start_celery("w1")
        st.start_celery("w2")
        st.wait_ready("w1", "w2")
        seen: dict[int, set] = {}
        done = threading.Event()
        ids: list[int] = []

        def poll():  # a client that polls the rows, as the UI does
            while not done.is_set():
                for job_id in list(ids):
                    snap = web.snapshot(job_id)
                    seen.setdefault(job_id, set()).add((snap.status, snap.progress, snap.message))
                time.sleep(0.01)

        watcher = threading.Thread(target=poll, daemon=True)
        watcher.start()
        try:
            for _ in range(20):
                ids.append(web.submit("loudness", project_id=pid, params={"asset_id": aid}))
            finals = [web.run_to_end(j, timeout_s=120) for j in ids]
        finally:
            done.set()
            watcher.join(10)
            web.shutdown()
        assert all(f.status == JobStatus.done and f.attempts == 1 for f in finals), [f.message for f in finals]
        assert all(len(f.output_asset_ids) == 4 for f in finals)
        made = _outputs_of_project(st.store, pid)
        assert sorted(a.id for a in made) == sorted(i for f in finals for i in f.output_asset_ids)  # 20 sets, once
        with st.store.session() as s:
            workers = {jobs_repo.get_job(session=s, job_id=j).worker for j in ids}
        assert len(workers) == 2  # both took jobs
        for job_id in ids:  # the client saw each one run and report a step before it finished
            steps = [(p, m) for status, p, m in seen[job_id] if status == JobStatus.running and m != "Started"]
            assert steps, (job_id, seen[job_id])


def test_cancel_stops_a_running_job_and_revokes_a_queued_one(tmp_path, clips, broker_url):
    with site(tmp_path, broker_url=broker_url) as st:
        pid, aid = add_clip(st.store, clips["long"])
        web = make_runner(st.store, st.settings)
        st.start_celery("w1")
        st.wait_ready("w1")
        try:
            running = web.submit("colour", project_id=pid, params={"asset_id": aid})
            _wait_progress(web, running, at_least=0.05)
            queued = web.submit("loudness", project_id=pid, params={"asset_id": aid})  # behind it: one worker
            snap = web.cancel(queued)
            assert snap.status == JobStatus.cancelled and snap.message == "Cancelled before it started."
            asked = time.monotonic()
            web.cancel(running)
            final = web.run_to_end(running, timeout_s=20)
            assert final.status == JobStatus.cancelled and final.progress < 1.0
            assert time.monotonic() - asked < 5.0
            # the worker drops the revoked message (or, had the revoke come late, finds the job cancelled)
            deadline = time.monotonic() + 20
            tid = task_id(queued, 1)
            while not any(line for line in st.tail("w1", 20000).splitlines() if tid in line and (
                    "revoked" in line.lower() or "skipped" in line or "not queued" in line)) and \
                    f"job {queued} is not queued any more" not in st.tail("w1", 20000):
                assert time.monotonic() < deadline, st.tail("w1")
                time.sleep(0.2)
            assert web.snapshot(queued).attempts == 0 and web.snapshot(queued).status == JobStatus.cancelled
            assert _outputs_of_project(st.store, pid) == []
            # the worker goes on working
            assert web.run_to_end(web.submit("loudness", project_id=pid, params={"asset_id": aid}),
                                  timeout_s=60).status == JobStatus.done
        finally:
            web.shutdown()


def test_celery_workers_on_postgresql(tmp_path, clips, broker_url):
    from tests.pgserver import postgres_server  # raises, saying what to install, where PostgreSQL is missing

    with postgres_server("reelsmith_workers", fast=True) as url:
        with site(tmp_path, broker_url=broker_url, database_url=url) as st:
            pid, aid = add_clip(st.store, clips["short"])
            web = make_runner(st.store, st.settings)
            st.start_celery("w1")
            st.start_celery("w2")
            st.wait_ready("w1", "w2")
            try:
                ids = [web.submit("loudness", project_id=pid, params={"asset_id": aid}) for _ in range(6)]
                finals = [web.run_to_end(j, timeout_s=90) for j in ids]
            finally:
                web.shutdown()
            assert all(f.status == JobStatus.done and f.attempts == 1 for f in finals), [f.message for f in finals]
            assert len(_outputs_of_project(st.store, pid)) == 6 * 4
            assert len({h for f in finals for h in _hashes(st.store, f.output_asset_ids)}) == 4  # same content


def test_a_web_process_with_two_celery_workers_started_by_hand(tmp_path, clips, broker_url):
    """``python app.py`` with REELSMITH_BROKER_URL, and two ``celery ... worker`` processes: an upload over the API
    is ingested by one of the workers; the studio itself starts no workers."""
    from gradio_client import Client, handle_file

    from tests.e2e.conftest import start_server, stop_server

    with site(tmp_path, broker_url=broker_url) as st:
        st.start_celery("w1")
        st.start_celery("w2")
        server = start_server(st.settings.data_dir, env={**st.env(), "REELSMITH_LOCAL_WORKERS": "process"})
        try:
            st.wait_ready("w1", "w2")
            client = Client(server.url, verbose=False)
            project_id = client.predict("Team film", api_name="/create_project")[0]["value"]
            status, _ = client.predict(project_id, [handle_file(str(clips["short"]))], api_name="/upload_media")
            assert "Added tone.mp4" in status, status
            with st.store.session() as s:
                [job] = jobs_repo.list_jobs(session=s)
                assert (job.kind, job.status, job.attempts) == ("ingest", JobStatus.done, 1)
                assert st.pid_of(job.worker) in {p.pid for p in st.procs.values()}
            log = server.log.read_text()
            assert "started worker process" not in log  # the broker wins over REELSMITH_LOCAL_WORKERS
        finally:
            stop_server(server)
