"""The Celery app: Reelsmith jobs on Celery workers through a Redis broker (``REELSMITH_BROKER_URL``).

    CUDA_VISIBLE_DEVICES=0 REELSMITH_BROKER_URL=redis://HOST:6379/0 DATABASE_URL=... REELSMITH_MEDIA_DIR=/shared/media \\
        celery -A studio.services.celery_app worker -P solo -c 1 -Q gpu --prefetch-multiplier 1 -n gpu0@%h
    REELSMITH_BROKER_URL=... DATABASE_URL=... celery -A studio.services.celery_app worker -P solo -c 1 -Q cpu -n cpu1@%h

One worker per GPU, each pinned to its GPU with ``CUDA_VISIBLE_DEVICES`` and taking the ``gpu`` queue only; CPU
workers take ``cpu``. ``-P solo -c 1``: one job at a time in the worker's own process, so a model is loaded once per
process and stays loaded (the engines' model cache).

The row in the store is the truth; the broker only says "look at job N". A task carries the job's id and nothing
else. The worker claims the job with the store's conditional UPDATE — a duplicate or redelivered message that finds
it running, finished or cancelled does nothing — runs it with the same ``JobExecutor`` as the local runner (progress,
cancellation, lease, fenced finish, audit) and then acknowledges the message (``task_acks_late``). A worker that
dies mid-job (SIGKILL, power) leaves its message unacknowledged: the store's reaper (every worker and the web
process run one) requeues the job when its lease runs out and sends it again under a new task id; the old message,
when Redis hands it out again after ``visibility_timeout``, finds the job taken or done and does nothing. There is no
result backend: results live in the job's row.

Building the app reads settings and connects nowhere; the store is opened once per worker process, when it is ready.
"""
from __future__ import annotations

import logging
import threading
from typing import Any

from celery import Celery, signals
from kombu import Queue

from storage.config import Settings, load_settings
from storage.db import Store
from storage.repo import jobs as jobs_repo

from .runner import QUEUES

log = logging.getLogger("reelsmith.celery")
TASK = "reelsmith.run_job"


def task_id(job_id: int, attempt: int) -> str:
    """The id of the message that hands over attempt ``attempt`` of a job (a requeued job gets a new one)."""
    return f"reelsmith-job-{job_id}-{attempt}"


def celery_config(settings: Settings) -> dict[str, Any]:
    visibility = float(settings.broker_visibility_s)
    return {
        "broker_url": settings.broker_url or "redis://127.0.0.1:6379/0",
        "broker_connection_retry_on_startup": True,
        # Redis gives an unacknowledged message to another worker after this long: longer than the longest job.
        # The sweep that does so runs every few seconds (at most every 10 s) instead of kombu's ~100 s.
        "broker_transport_options": {"visibility_timeout": visibility,
                                     "unacked_restore_interval": int(min(10.0, max(1.0, visibility / 4))),
                                     "unacked_restore_throttle": 1},
        "task_serializer": "json", "accept_content": ["json"], "result_serializer": "json",
        "task_ignore_result": True, "result_backend": None, "task_store_errors_even_if_ignored": False,
        "task_acks_late": True, "task_reject_on_worker_lost": True, "worker_prefetch_multiplier": 1,
        "task_queues": [Queue(q, routing_key=q) for q in QUEUES], "task_default_queue": "cpu",
        "task_create_missing_queues": False,
        "task_publish_retry_policy": {"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5,
                                      "interval_max": 1.0},
        "worker_send_task_events": False, "task_send_sent_event": False,
    }


def make_app(settings: Settings) -> Celery:
    celery = Celery("reelsmith", set_as_current=False)
    celery.conf.update(celery_config(settings))
    return celery


class Dispatcher:
    """Hands jobs to the broker: ``send`` (the job's current row says which queue and which attempt comes next)
    and ``revoke`` (a queued job that was cancelled). Used by ``CeleryRunner`` and by the workers' reaper."""

    def __init__(self, store: Store, broker_url: str | None = None, celery: Celery | None = None) -> None:
        self.store = store
        if celery is None:
            from dataclasses import replace

            settings = store.settings if broker_url is None else replace(store.settings, broker_url=broker_url)
            celery = make_app(settings)
        self.celery = celery

    def send(self, job_id: int) -> str | None:
        """Send "run job N" to its queue; None (nothing sent) when the job is no longer queued."""
        with self.store.session() as s:
            job = jobs_repo.get_job(session=s, job_id=job_id)
            if job.status.value != "queued":
                return None
            queue, attempt = job.queue, job.attempts + 1
        tid = task_id(job_id, attempt)
        self.celery.send_task(TASK, args=[job_id], queue=queue if queue in QUEUES else "cpu", routing_key=queue,
                              task_id=tid)
        return tid

    def revoke(self, job_id: int, attempts: int) -> None:
        """Tell the workers to drop the message of a job cancelled while queued (the row says cancelled anyway)."""
        self.celery.control.revoke(task_id(job_id, attempts + 1))

    def close(self) -> None:
        try:
            self.celery.close()
        except Exception:  # pragma: no cover - closing pools of a broker that went away
            log.debug("closing the Celery app failed", exc_info=True)


# --- the worker side ------------------------------------------------------------------------------------------------
class WorkerState:
    """What one Celery worker process holds: its store (opened once), the tasks, and the executor whose keeper
    renews leases and reaps (sending requeued jobs again)."""

    def __init__(self, settings: Settings) -> None:
        from storage.db import open_store

        from .app_state import task_specs
        from .runner import JobExecutor

        for path in (settings.data_dir, settings.tmp_dir):
            path.mkdir(parents=True, exist_ok=True)
        self.settings = settings
        self.store = open_store(settings)
        self.dispatcher = Dispatcher(self.store, celery=app)
        self.executor = JobExecutor(self.store, {spec.kind: spec for spec in task_specs()},
                                    lease_s=settings.job_lease_s, max_attempts=settings.job_max_attempts,
                                    on_requeued=self._send_again)
        self.executor.reap()
        self.executor.start_keeper()
        log.info("worker %s ready: store %s, media %s, lease %.0f s", self.executor.worker_id,
                 settings.safe_database_url(), settings.media_dir, settings.job_lease_s)

    def _send_again(self, job_ids: list[int]) -> None:
        for job_id in job_ids:
            self.dispatcher.send(job_id)

    def close(self) -> None:
        self.executor.interrupt_all()
        self.executor.stop_keeper(wait=True)
        self.store.close()


_state: WorkerState | None = None
_state_lock = threading.Lock()


def worker_state() -> WorkerState:
    global _state
    with _state_lock:
        if _state is None:
            _state = WorkerState(load_settings())
        return _state


app = make_app(load_settings())


@app.task(name=TASK, bind=True, ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def run_job(self, job_id: int) -> str:
    """Run job ``job_id`` if it is still queued (see the module's docstring)."""
    try:
        state = worker_state()
    except Exception as exc:  # the store is unreachable for a moment: keep the message, try again
        log.exception("cannot open the store; job %s will be tried again", job_id)
        raise self.retry(exc=exc, countdown=5, max_retries=None) from exc
    try:
        claim = state.executor.claim(int(job_id))
    except Exception as exc:
        log.exception("cannot claim job %s; it will be tried again", job_id)
        raise self.retry(exc=exc, countdown=5, max_retries=None) from exc
    if claim is None:
        log.info("job %s is not queued any more (taken, finished or cancelled): nothing to do", job_id)
        return "skipped"
    state.executor.execute(claim)  # a failure to record the end: the lease runs out, the reaper sends it again
    return "ran"


@signals.worker_ready.connect
def _on_worker_ready(**_: Any) -> None:
    worker_state()  # open the store, reap what a crash left running, start the keeper — before the first task


@signals.worker_shutting_down.connect
def _on_worker_shutting_down(**_: Any) -> None:
    """SIGTERM (warm shutdown): Celery lets the running task finish; after ``REELSMITH_WORKER_GRACE_S`` seconds the
    job is interrupted instead, goes back to the queue and is sent again, as ``python -m studio.services.worker``
    does. (Runs inside the signal handler: it only starts a timer.)"""
    state = _state
    if state is not None and state.executor.active:
        timer = threading.Timer(state.settings.worker_grace_s, state.executor.interrupt_all)
        timer.daemon = True
        timer.start()


@signals.worker_shutdown.connect
def _on_worker_shutdown(**_: Any) -> None:
    global _state
    with _state_lock:
        state, _state = _state, None
    if state is not None:
        state.close()
