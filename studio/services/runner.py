"""Job runner: long work off the request thread, its state in the job's row.

Jobs are queued in the store, claimed atomically, run in a small CPU pool or the single GPU lane (one heavy job at
a time), and report progress and check for cancellation through a ``JobContext`` bound to their row. The UI polls
the row (``wait``) and shows the same progress whichever process ran the job.
"""
from __future__ import annotations

import logging
import os
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from engines.context import BaseContext
from engines.errors import Cancelled, ReelsmithError
from storage.db import Store
from storage.errors import StoreError
from storage.models import JobStatus
from storage.repo import audit
from storage.repo import jobs as jobs_repo

from . import access

log = logging.getLogger("reelsmith.jobs")


@dataclass
class TaskOutcome:
    message: str
    result: dict[str, Any] = field(default_factory=dict)
    output_asset_ids: list[int] = field(default_factory=list)


TaskFn = Callable[["JobContext", dict[str, Any]], TaskOutcome]


@dataclass(frozen=True)
class TaskSpec:
    kind: str
    fn: TaskFn
    queue: str = "cpu"  # "cpu" or "gpu"
    title: str = ""


@dataclass(frozen=True)
class JobSnapshot:
    id: int
    kind: str
    status: JobStatus
    progress: float
    message: str
    error: str | None
    result: dict[str, Any]
    output_asset_ids: tuple[int, ...]

    @property
    def finished(self) -> bool:
        return self.status.finished


class JobContext(BaseContext):
    """Progress and cancellation bound to one job row. Writes are throttled to keep the store calm."""

    def __init__(self, store: Store, job_id: int, *, created_by_id: int | None = None,
                 min_interval_s: float = 0.2) -> None:
        self.store = store
        self.job_id = job_id
        self.created_by_id = created_by_id
        self._event = threading.Event()
        self._min_interval = min_interval_s
        self._last_write = 0.0
        self._last_poll = 0.0
        self._last_publish = 0.0

    def report(self, fraction: float, message: str = "") -> None:
        now = time.monotonic()
        if now - self._last_write < self._min_interval and fraction < 1.0:
            return
        self._last_write = now
        with self.store.session() as s:
            if jobs_repo.report_progress(session=s, job_id=self.job_id, progress=fraction, message=message):
                self._event.set()

    def publish(self, partial: dict[str, Any], *, force: bool = False) -> None:
        """Put partial output (e.g. the text drafted so far) in the row's result for the UI to show as it grows."""
        now = time.monotonic()
        if not force and now - self._last_publish < self._min_interval:
            return
        self._last_publish = now
        with self.store.session() as s:
            jobs_repo.set_partial_result(session=s, job_id=self.job_id, result=partial)

    def cancel(self) -> None:
        self._event.set()

    def cancelled(self) -> bool:
        if self._event.is_set():
            return True
        now = time.monotonic()
        if now - self._last_poll >= self._min_interval:  # another process (or the UI) may have set the flag
            self._last_poll = now
            with self.store.session() as s:
                if jobs_repo.cancel_requested(session=s, job_id=self.job_id):
                    self._event.set()
        return self._event.is_set()


class JobRunner:
    """Runs registered tasks. Executors start on the first submit, never at import."""

    def __init__(self, store: Store, *, cpu_workers: int = 2) -> None:
        self.store = store
        self.cpu_workers = cpu_workers
        self.worker_id = f"{os.uname().nodename}:{os.getpid()}"
        self._tasks: dict[str, TaskSpec] = {}
        self._pools: dict[str, ThreadPoolExecutor] = {}
        self._contexts: dict[int, JobContext] = {}
        self._lock = threading.Lock()

    # --- set-up ------------------------------------------------------------------------------------------------
    def register(self, spec: TaskSpec) -> None:
        self._tasks[spec.kind] = spec

    def recover(self) -> int:
        """Mark jobs left queued/running by a previous process as failed (call once at start-up)."""
        with self.store.session() as s:
            n = jobs_repo.recover_interrupted(session=s)
        if n:
            log.warning("marked %d interrupted job(s) as failed", n)
        return n

    def _pool(self, queue: str) -> ThreadPoolExecutor:
        with self._lock:
            if queue not in self._pools:
                workers = 1 if queue == "gpu" else self.cpu_workers
                self._pools[queue] = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"job-{queue}")
            return self._pools[queue]

    # --- use ---------------------------------------------------------------------------------------------------
    def submit(self, kind: str, *, params: dict[str, Any] | None = None, project_id: int | None = None,
               input_asset_ids: list[int] | None = None, created_by_id: int | None = None,
               queue: str | None = None) -> int:
        """Queue a job. ``queue`` overrides the task's lane ("gpu" for a heavy backend, "cpu" otherwise)."""
        spec = self._tasks.get(kind)
        if spec is None:
            raise ReelsmithError(f"No task called '{kind}'.")
        access.require_job(self.store, kind, project_id, created_by_id)  # roles are enforced here, not in the UI
        if queue is not None and queue != spec.queue:
            spec = TaskSpec(spec.kind, spec.fn, queue, spec.title)
        with self.store.session() as s:
            job = jobs_repo.create_job(session=s, kind=kind, project_id=project_id, params=params or {},
                                       queue=spec.queue, input_asset_ids=input_asset_ids,
                                       created_by_id=created_by_id)
            job_id = job.id
        self._pool(spec.queue).submit(self._execute, job_id, spec, dict(params or {}), created_by_id)
        return job_id

    def cancel(self, job_id: int) -> JobSnapshot:
        with self.store.session() as s:
            jobs_repo.request_cancel(session=s, job_id=job_id)
        ctx = self._contexts.get(job_id)
        if ctx is not None:
            ctx.cancel()
        return self.snapshot(job_id)

    def snapshot(self, job_id: int) -> JobSnapshot:
        with self.store.session() as s:
            job = jobs_repo.get_job(session=s, job_id=job_id)
            return JobSnapshot(job.id, job.kind, job.status, job.progress, job.message, job.error,
                               dict(job.result or {}), tuple(a.id for a in job.outputs))

    def wait(self, job_id: int, *, poll_s: float = 0.2, timeout_s: float | None = None) -> Iterator[JobSnapshot]:
        """Yield the job's state every ``poll_s`` until it finishes (the last snapshot is the final one)."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            snap = self.snapshot(job_id)
            yield snap
            if snap.finished:
                return
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {snap.status.value} after {timeout_s} s")
            time.sleep(poll_s)

    def run_to_end(self, job_id: int, *, timeout_s: float | None = None) -> JobSnapshot:
        snap = None
        for snap in self.wait(job_id, timeout_s=timeout_s):
            pass
        assert snap is not None
        return snap

    def shutdown(self, wait: bool = True) -> None:
        for ctx in list(self._contexts.values()):
            ctx.cancel()
        for pool in self._pools.values():
            pool.shutdown(wait=wait, cancel_futures=True)
        self._pools.clear()

    # --- inside a worker thread --------------------------------------------------------------------------------
    def _execute(self, job_id: int, spec: TaskSpec, params: dict[str, Any], created_by_id: int | None) -> None:
        with self.store.session() as s:
            if not jobs_repo.claim_job(session=s, job_id=job_id, worker=self.worker_id):
                return  # cancelled while queued, or taken by another worker
        ctx = JobContext(self.store, job_id, created_by_id=created_by_id)
        self._contexts[job_id] = ctx
        status, message, error, outcome = JobStatus.failed, "", None, None
        try:
            ctx.check()
            outcome = spec.fn(ctx, params)
            status, message = JobStatus.done, outcome.message
        except Cancelled as exc:
            status, message = JobStatus.cancelled, exc.message
        except (ReelsmithError, StoreError) as exc:
            status, message, error = JobStatus.failed, exc.message, type(exc).__name__
        except Exception as exc:  # a bug: keep the traceback in the row and the log, show a short message
            log.exception("job %s (%s) crashed", job_id, spec.kind)
            status = JobStatus.failed
            message = f"{spec.title or spec.kind} failed unexpectedly ({type(exc).__name__}: {exc})."
            error = traceback.format_exc()
        finally:
            self._contexts.pop(job_id, None)
        with self.store.session() as s:
            jobs_repo.finish_job(session=s, job_id=job_id, status=status, message=message, error=error,
                                 result=outcome.result if outcome else None,
                                 output_asset_ids=outcome.output_asset_ids if outcome else None)
            if status == JobStatus.done and outcome and outcome.output_asset_ids:
                _audit_outputs(s, job_id, spec.kind, outcome.output_asset_ids, created_by_id)


_VERB = {"generated": "generated", "upload": "uploaded", "edited": "edited", "derived": "edited"}


def _audit_outputs(session, job_id: int, kind: str, asset_ids: list[int], user_id: int | None) -> None:
    """One audit line per finished job that made assets: generated, uploaded or edited (by their provenance)."""
    from storage.models import Asset

    assets = [a for a in (session.get(Asset, i) for i in asset_ids) if a is not None]
    if not assets:
        return
    first = assets[0]  # a job's main output comes first (its previews after it)
    verb = _VERB.get(first.provenance.source if first.provenance else "upload", "edited")
    audit.record(session=session, action=verb, user_id=user_id, project_id=assets[0].project_id,
                 target=", ".join(f"asset:{a.id}" for a in assets)[:120],
                 detail={"job": job_id, "kind": kind, "names": [a.name for a in assets][:5]})
