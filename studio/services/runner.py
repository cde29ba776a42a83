"""Job runner: long work off the request thread, its state in the job's row.

The row is the truth. ``submit`` only inserts a queued row and hands the job over; workers claim the job with a
conditional UPDATE (of two claimers one wins; a job already taken, finished or cancelled is left alone), run it,
and finish it. One ``JobExecutor`` runs every attempt whoever hands it over, and the studio sees one interface —
``submit``, ``cancel``, ``snapshot``, ``wait``, ``run_to_end`` — whichever runner it has (``app_state.make_runner``):

- ``LocalRunner`` (no broker; the default): ``python -m studio.services.worker`` processes started by the studio
  (one per GPU plus a CPU pool; see ``worker.WorkerSupervisor``), woken through their stdin when a job is
  submitted; or worker threads of this process (``workers="thread"``, what tests use); or none (``"none"``:
  workers started by hand pull jobs from the store). ``JobRunner`` is its base: the thread workers and the
  interface.
- ``CeleryRunner`` (``REELSMITH_BROKER_URL``): a Celery task per job carrying only its id, on ``cpu``/``gpu``
  queues; see ``celery_app``.

A small CPU pool runs beside a single GPU lane (one heavy job at a time per worker process).

While a job runs its worker renews a lease (``heartbeat_at``) every ``lease/3`` seconds, whatever the job reports. A
reaper, run by every runner periodically and at start-up, requeues running jobs whose lease ran out (their worker
crashed or hangs) until they have been started ``max_attempts`` times, then fails them with a message. Every write
of an attempt — progress, partial results, the rows of its outputs, the finish — is fenced on (worker, attempt), so
a worker whose lease ran out cannot overwrite the next attempt's work: its outputs are rolled back, never linked.

Retries start the task again from the top with the row's params. Assets an earlier attempt had already committed
(they are linked to the job as outputs in the same transaction) are deleted first, so a retried job leaves exactly
one set of outputs. What that means per task:

- one output transaction at the end, so a retry after a crash re-runs cleanly, and one after a crash between that
  commit and the finish replaces the earlier rows: ingest, url_import, scene_image, music, voice, animatic,
  rough_cut, export_timeline, stabilize, colour, interpolate, captions, captions_export, captions_burn, denoise,
  stems, loudness, transcript, transcript_cut, reframe, shorts;
- commits part by part, replaced as a whole on a retry: storyboard and voiceover (one commit per scene);
  sample_audience (removes an earlier sample itself when it starts);
- overwrites, so a rerun is harmless: shots (the asset's meta), audience_import of metrics (upserts); dialogue and
  shorts proposals write nothing;
- not idempotent in the window of milliseconds between their commit and the finish: audience_import of events
  (the events would be recorded twice) and draft/rewrite with a sampling (non-lite) backend (a second, different
  script version; an identical text is not saved twice).
"""
from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
import threading
import time
import traceback
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from sqlalchemy import event
from sqlalchemy.orm import Session

from engines.context import BaseContext
from engines.errors import Cancelled, ReelsmithError
from storage.db import Store
from storage.errors import Conflict, NotFound, StoreError
from storage.models import Asset, JobStatus
from storage.repo import assets as assets_repo
from storage.repo import audit
from storage.repo import jobs as jobs_repo
from storage.repo.jobs import Lease

from . import access

log = logging.getLogger("reelsmith.jobs")

QUEUES = ("cpu", "gpu")


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
    attempts: int = 0

    @property
    def finished(self) -> bool:
        return self.status.finished


class LeaseLost(Cancelled):
    """This attempt no longer owns its job (the lease ran out and the job was requeued or failed): stop, write
    nothing more."""

    def __init__(self, message: str = "This worker lost the job's lease; another attempt owns it now.") -> None:
        super().__init__(message)


def process_worker_id() -> str:
    """``host:pid:token`` — the token tells a restarted process that got the same pid (PID 1 in a container)."""
    global _WORKER_ID
    if _WORKER_ID is None:
        _WORKER_ID = f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(3)}"
    return _WORKER_ID


_WORKER_ID: str | None = None


class JobContext(BaseContext):
    """Progress and cancellation bound to one job row (to one attempt of it when ``worker``/``attempt`` are given).
    Writes are throttled to keep the store calm."""

    def __init__(self, store: Store, job_id: int, *, created_by_id: int | None = None, worker: str | None = None,
                 attempt: int | None = None, min_interval_s: float = 0.2) -> None:
        self.store = store
        self.job_id = job_id
        self.created_by_id = created_by_id
        self.worker = worker
        self.attempt = attempt
        self._event = threading.Event()      # stop: cancelled, lease lost or interrupted
        self._lost = threading.Event()       # another attempt owns the row now
        self._interrupted = threading.Event()  # this worker is shutting down: the job goes back to the queue
        self._min_interval = min_interval_s
        self._last_write = 0.0
        self._last_poll = 0.0
        self._last_publish = 0.0

    # --- what the runner and the keeper use ---------------------------------------------------------------------
    @property
    def fence(self) -> dict[str, Any]:
        return {"worker": self.worker, "attempt": self.attempt}

    @property
    def lost(self) -> bool:
        return self._lost.is_set()

    @property
    def interrupted(self) -> bool:
        return self._interrupted.is_set()

    def note(self, lease: Lease) -> None:
        if lease is Lease.lost and self.worker is not None:
            self._lost.set()
            self._event.set()
        elif lease is Lease.cancel:
            self._event.set()

    def interrupt(self) -> None:
        self._interrupted.set()
        self._event.set()

    def session(self) -> contextlib.AbstractContextManager[Session]:
        """A store session for this context's own bookkeeping (not fenced again by the commit guard)."""
        return _own_session(self.store)

    # --- what tasks and engines use ---------------------------------------------------------------------------------
    def report(self, fraction: float, message: str = "") -> None:
        now = time.monotonic()
        if now - self._last_write < self._min_interval and fraction < 1.0:
            return
        self._last_write = now
        with self.session() as s:
            self.note(jobs_repo.report_progress(session=s, job_id=self.job_id, progress=fraction, message=message,
                                                **self.fence))

    def publish(self, partial: dict[str, Any], *, force: bool = False) -> None:
        """Put partial output (e.g. the text drafted so far) in the row's result for the UI to show as it grows."""
        now = time.monotonic()
        if not force and now - self._last_publish < self._min_interval:
            return
        self._last_publish = now
        with self.session() as s:
            self.note(jobs_repo.set_partial_result(session=s, job_id=self.job_id, result=partial, **self.fence))

    def cancel(self) -> None:
        self._event.set()

    def cancelled(self) -> bool:
        if self._event.is_set():
            return True
        now = time.monotonic()
        if now - self._last_poll >= self._min_interval:  # another process (or the UI) may have set the flag
            self._last_poll = now
            with self.session() as s:
                self.note(jobs_repo.lease_state(session=s, job_id=self.job_id, **self.fence))
        return self._event.is_set()

    def check(self) -> None:
        if self.cancelled():
            raise LeaseLost() if self.lost else Cancelled()


# --- the commit guard: every transaction a task commits is fenced on its attempt ----------------------------------
# While a task runs, its worker thread carries its JobContext here. Any session that thread commits with writes in
# it first renews the lease with a fenced UPDATE in the same transaction (so the write and "this attempt still owns
# the job" are atomic: the reaper's UPDATE of the row is serialised against it) and links the assets it inserted
# to the job as outputs. A lost lease raises LeaseLost: the transaction rolls back and ``output_batch`` removes the
# files it had written.
_CURRENT: ContextVar[JobContext | None] = ContextVar("reelsmith_job_attempt", default=None)
_OWN = "reelsmith.job_bookkeeping"
_WROTE = "reelsmith.job_wrote"
_NEW_ASSETS = "reelsmith.job_new_assets"
_guard_lock = threading.Lock()
_guard_installed = False


@contextlib.contextmanager
def _own_session(store: Store) -> Iterator[Session]:
    """A store session for the runner's own bookkeeping of an attempt (the commit guard leaves it alone)."""
    with store.session() as s:
        s.info[_OWN] = True
        yield s


def _note_flush(session: Session, _flush_context) -> None:
    if _CURRENT.get() is None or session.info.get(_OWN):
        return
    session.info[_WROTE] = True
    session.info.setdefault(_NEW_ASSETS, []).extend(o for o in session.new if isinstance(o, Asset))


def _note_statement(state) -> None:
    if _CURRENT.get() is not None and (state.is_insert or state.is_update or state.is_delete):
        state.session.info[_WROTE] = True


def _fence_commit(session: Session) -> None:
    ctx = _CURRENT.get()
    if ctx is None or ctx.worker is None or session.info.get(_OWN):
        return
    if not (session.info.get(_WROTE) or session.new or session.dirty or session.deleted):
        return  # read-only: nothing to fence
    session.flush()
    session.info[_OWN] = True  # our own statements below are not the task's
    lease = jobs_repo.heartbeat(session=session, job_id=ctx.job_id, **ctx.fence)
    if lease is Lease.lost:
        ctx.note(lease)
        raise LeaseLost()
    made = [a.id for a in session.info.pop(_NEW_ASSETS, []) if a.id is not None]
    jobs_repo.link_outputs(session=session, job_id=ctx.job_id, asset_ids=made)


def _install_commit_guard() -> None:
    global _guard_installed
    with _guard_lock:
        if _guard_installed:
            return
        event.listen(Session, "after_flush", _note_flush)
        event.listen(Session, "do_orm_execute", _note_statement)
        event.listen(Session, "before_commit", _fence_commit)
        _guard_installed = True


@dataclass(frozen=True)
class Claim:
    """One attempt of a job this process now owns (as the claim left the row)."""

    job_id: int
    kind: str
    attempt: int
    params: dict[str, Any]
    created_by_id: int | None


class JobExecutor:
    """Runs this process's attempts: claims jobs with the store's conditional UPDATE, runs each task with its
    ``JobContext`` under the commit guard, finishes it fenced on the attempt (and audits what it made), and keeps a
    keeper thread that renews the leases of the running attempts every lease/3 s and reaps expired jobs.

    The thread workers of ``JobRunner``, ``python -m studio.services.worker`` processes and the Celery task all run
    jobs through one of these, so a job runs the same way whoever hands it over. ``on_requeued`` hears of jobs this
    process put back in the queue (reaped, or given back on shutdown): a local runner wakes its workers, Celery sends
    the job again."""

    def __init__(self, store: Store, tasks: dict[str, TaskSpec], *, lease_s: float, max_attempts: int,
                 worker_id: str | None = None,
                 on_requeued: Callable[[list[int]], None] | None = None) -> None:
        self.store = store
        self.tasks = tasks  # shared with the runner: kinds registered later are seen here
        self.lease_s = float(lease_s)
        self.max_attempts = int(max_attempts)
        self.worker_id = worker_id or process_worker_id()
        self.on_requeued = on_requeued
        self.active: dict[int, JobContext] = {}
        self._keeper: threading.Thread | None = None
        self._keeper_stop = threading.Event()
        self._lock = threading.Lock()
        _install_commit_guard()

    # --- claiming ----------------------------------------------------------------------------------------------
    def claim_next(self, queues: Iterable[str]) -> Claim | None:
        """Claim the oldest queued job of ``queues`` this process can run (None: nothing to do)."""
        with self.store.session() as s:
            job = jobs_repo.claim_next(session=s, worker=self.worker_id, queues=list(queues), kinds=list(self.tasks))
            return self._as_claim(job) if job is not None else None

    def claim(self, job_id: int) -> Claim | None:
        """Claim this job if it is still queued (and of a kind this process runs); None when another worker has it,
        it finished, it was cancelled, or it is gone: a duplicate or redelivered message then does nothing."""
        with self.store.session() as s:
            if not jobs_repo.claim_job(session=s, job_id=job_id, worker=self.worker_id, kinds=list(self.tasks)):
                return None
            return self._as_claim(jobs_repo.get_job(session=s, job_id=job_id))

    @staticmethod
    def _as_claim(job) -> Claim:
        return Claim(job.id, job.kind, job.attempts, dict(job.params or {}), job.created_by_id)

    # --- the keeper: leases and the reaper ------------------------------------------------------------------------
    def reap(self) -> int:
        """Requeue (or fail, when out of attempts) running jobs whose worker stopped renewing its lease."""
        with _own_session(self.store) as s:
            reaped = jobs_repo.reap_expired(session=s, lease_s=self.lease_s, max_attempts=self.max_attempts)
        for r in reaped:
            log.warning("job %s: %s", r.job_id, r.message)
        self._requeued([r.job_id for r in reaped if r.status == JobStatus.queued])
        return len(reaped)

    def _requeued(self, job_ids: list[int]) -> None:
        if job_ids and self.on_requeued is not None:
            try:
                self.on_requeued(job_ids)
            except Exception:  # the broker is away: the next start's recover() sends them again
                log.exception("jobs %s were requeued but could not be handed to a worker", job_ids)

    def start_keeper(self) -> None:
        with self._lock:
            if self._keeper is None and not self._keeper_stop.is_set():
                self._keeper = threading.Thread(target=self._keep, name="job-keeper", daemon=True)
                self._keeper.start()

    def stop_keeper(self, wait: bool = True) -> None:
        self._keeper_stop.set()
        if wait and self._keeper is not None and self._keeper is not threading.current_thread():
            self._keeper.join()

    def _keep(self) -> None:
        """Renew the lease of every running attempt of this process every lease/3 s, and reap expired ones."""
        interval = max(0.2, self.lease_s / 3)
        while not self._keeper_stop.wait(interval):
            for job_id, ctx in list(self.active.items()):
                try:
                    with _own_session(self.store) as s:
                        lease = jobs_repo.heartbeat(session=s, job_id=job_id, **ctx.fence)
                    ctx.note(lease)
                    if lease is Lease.lost:
                        log.warning("job %s: attempt %s lost its lease; stopping it", job_id, ctx.attempt)
                except Exception:
                    log.exception("job %s: heartbeat failed", job_id)
            try:
                self.reap()
            except Exception:
                log.exception("reaping expired jobs failed")

    # --- stopping ----------------------------------------------------------------------------------------------
    def cancel_local(self, job_id: int) -> None:
        """Stop this process's attempt of the job now (without waiting for its next look at the row)."""
        ctx = self.active.get(job_id)
        if ctx is not None:
            ctx.cancel()

    def interrupt_all(self) -> None:
        """This process is stopping: every running attempt stops at its next check and goes back to the queue."""
        for ctx in list(self.active.values()):
            ctx.interrupt()

    # --- running one attempt -----------------------------------------------------------------------------------
    def execute(self, claim: Claim) -> None:
        """Run a claimed attempt to its end and record that end (fenced): done, failed, cancelled, or — when this
        process is stopping — back in the queue. An attempt that lost its lease records nothing."""
        job_id, kind, attempt = claim.job_id, claim.kind, claim.attempt
        spec = self.tasks[kind]
        ctx = JobContext(self.store, job_id, created_by_id=claim.created_by_id, worker=self.worker_id,
                         attempt=attempt)
        self.active[job_id] = ctx
        status, message, error, outcome = JobStatus.failed, "", None, None
        try:
            if attempt > 1:
                ctx.report(0.0, f"Retrying (attempt {attempt} of {self.max_attempts})")
                self._discard_earlier_attempts(ctx)
            token = _CURRENT.set(ctx)
            try:
                ctx.check()
                outcome = spec.fn(ctx, claim.params)
                status, message = JobStatus.done, outcome.message
            finally:
                _CURRENT.reset(token)
        except Cancelled as exc:
            status, message = JobStatus.cancelled, exc.message
        except (ReelsmithError, StoreError) as exc:
            status, message, error = JobStatus.failed, exc.message, type(exc).__name__
        except Exception as exc:  # a bug: keep the traceback in the row and the log, show a short message
            log.exception("job %s (%s) crashed", job_id, kind)
            status = JobStatus.failed
            message = f"{spec.title or kind} failed unexpectedly ({type(exc).__name__}: {exc})."
            error = traceback.format_exc()
        finally:
            self.active.pop(job_id, None)
        if ctx.lost:
            log.warning("job %s: attempt %s lost its lease; its work is discarded", job_id, attempt)
            return
        requeued = False
        with _own_session(self.store) as s:
            if ctx.interrupted and status == JobStatus.cancelled and not self._cancel_asked(s, job_id):
                requeued = jobs_repo.requeue_attempt(session=s, job_id=job_id, message=f"Requeued: worker "
                                                     f"{self.worker_id} stopped while running it.", **ctx.fence)
                if requeued:
                    log.info("job %s requeued (worker stopping)", job_id)
            else:
                ok = jobs_repo.finish_attempt(session=s, job_id=job_id, status=status, message=message, error=error,
                                              result=outcome.result if outcome else None,
                                              output_asset_ids=outcome.output_asset_ids if outcome else None,
                                              **ctx.fence)
                if not ok:
                    log.warning("job %s: attempt %s finished after losing its lease; result discarded", job_id,
                                attempt)
                elif status == JobStatus.done and outcome and outcome.output_asset_ids:
                    _audit_outputs(s, job_id, kind, outcome.output_asset_ids, claim.created_by_id)
        if requeued:
            self._requeued([job_id])

    @staticmethod
    def _cancel_asked(session: Session, job_id: int) -> bool:
        return jobs_repo.lease_state(session=session, job_id=job_id) is Lease.cancel

    def _discard_earlier_attempts(self, ctx: JobContext) -> None:
        """A retry starts from the top: remove the assets an earlier attempt of this job had committed (they were
        linked to the job as outputs when committed), and their files when nothing else uses them.

        Not covered: rows other than assets (see the module's docstring); published assets are kept."""
        with ctx.session() as s:
            if jobs_repo.heartbeat(session=s, job_id=ctx.job_id, **ctx.fence) is Lease.lost:
                ctx.note(Lease.lost)
                raise LeaseLost()
            files: list[tuple[str, str]] = []
            for asset_id in jobs_repo.output_ids(session=s, job_id=ctx.job_id):
                try:
                    files += assets_repo.delete_asset(session=s, asset_id=asset_id, with_previews=False)
                except (Conflict, NotFound):
                    continue
        if files:
            log.info("job %s: removed %d asset(s) of an earlier attempt", ctx.job_id, len(files))
            with self.store.session() as s:
                assets_repo.remove_unused_files(session=s, media=self.store.media, files=files)


class JobRunner:
    """The job interface the studio uses — ``submit``, ``cancel``, ``snapshot``, ``wait``, ``run_to_end`` — over
    the job rows, and the thread workers of the local runner.

    ``submit`` inserts a queued row and hands the job over (``_dispatch``): here, by waking this process's worker
    threads (``local_workers`` True: they start on ``start()`` or the first submit, never at import) — or, with
    ``local_workers`` False, nobody: worker processes elsewhere pull the job from the store. ``LocalRunner`` (worker
    processes) and ``CeleryRunner`` (Celery workers) change only how a job is handed over. Every runner reaps:
    ``recover()`` at start-up, then its keeper every lease/3 s once started."""

    def __init__(self, store: Store, *, cpu_workers: int = 2, lease_s: float | None = None,
                 max_attempts: int | None = None, queues: Iterable[str] = QUEUES, local_workers: bool = True,
                 poll_s: float = 0.5) -> None:
        self.store = store
        self.cpu_workers = max(1, cpu_workers)
        self.lease_s = float(lease_s if lease_s is not None else store.settings.job_lease_s)
        self.max_attempts = int(max_attempts if max_attempts is not None else store.settings.job_max_attempts)
        self.queues = tuple(q for q in queues if q in QUEUES)
        self.local_workers = local_workers
        self.poll_s = poll_s
        self._tasks: dict[str, TaskSpec] = {}
        self.executor = JobExecutor(store, self._tasks, lease_s=self.lease_s, max_attempts=self.max_attempts,
                                    on_requeued=self._on_requeued)
        self.worker_id = self.executor.worker_id
        self._lock = threading.Lock()
        self._wake = {q: threading.Event() for q in QUEUES}
        self._stop = threading.Event()
        self._started = False
        self._threads: list[threading.Thread] = []

    # --- set-up ------------------------------------------------------------------------------------------------
    def register(self, spec: TaskSpec) -> None:
        self._tasks[spec.kind] = spec

    def reap(self) -> int:
        """Requeue (or fail, when out of attempts) running jobs whose worker stopped renewing its lease."""
        return self.executor.reap()

    def recover(self) -> int:
        """At start-up: reap jobs a crashed process left running (queued ones are simply picked up again)."""
        return self.reap()

    def start(self) -> None:
        """Start the keeper (leases of this process's running jobs, the reaper) and, with ``local_workers``, this
        process's workers: ``cpu_workers`` threads on the CPU queue and one on the GPU lane. Idempotent."""
        with self._lock:
            if self._started or self._stop.is_set():
                return
            self._started = True
            if self.local_workers:
                for queue in self.queues:
                    for i in range(1 if queue == "gpu" else self.cpu_workers):
                        t = threading.Thread(target=self._loop, args=(queue,), name=f"job-{queue}-{i}", daemon=True)
                        self._threads.append(t)
                for t in self._threads:
                    t.start()
            self._start_workers()
            self.executor.start_keeper()

    def wake(self, queue: str | None = None) -> None:
        """Tell this process's idle workers (of ``queue``, or all) to look for work now."""
        for q, ev in self._wake.items():
            if queue is None or q == queue:
                ev.set()

    # --- use ---------------------------------------------------------------------------------------------------
    def submit(self, kind: str, *, params: dict[str, Any] | None = None, project_id: int | None = None,
               input_asset_ids: list[int] | None = None, created_by_id: int | None = None,
               queue: str | None = None) -> int:
        """Queue a job. ``queue`` overrides the task's lane ("gpu" for a heavy backend, "cpu" otherwise)."""
        spec = self._tasks.get(kind)
        if spec is None:
            raise ReelsmithError(f"No task called '{kind}'.")
        access.require_job(self.store, kind, project_id, created_by_id)  # roles are enforced here, not in the UI
        lane = queue if queue in QUEUES else spec.queue
        with self.store.session() as s:
            job = jobs_repo.create_job(session=s, kind=kind, project_id=project_id, params=params or {},
                                       queue=lane, input_asset_ids=input_asset_ids, created_by_id=created_by_id)
            job_id = job.id
        self._dispatch(job_id, lane)
        return job_id

    def cancel(self, job_id: int) -> JobSnapshot:
        """Ask a job to stop: a queued one is cancelled at once (and withdrawn from a broker), a running one stops at
        its next ``ctx.cancelled()`` check, wherever it runs (the flag is in its row)."""
        with self.store.session() as s:
            withdrawn = jobs_repo.ask_to_stop(session=s, job_id=job_id)
            attempts = jobs_repo.get_job(session=s, job_id=job_id).attempts
        self.executor.cancel_local(job_id)
        if withdrawn:
            self._withdraw(job_id, attempts)
        return self.snapshot(job_id)

    def snapshot(self, job_id: int) -> JobSnapshot:
        with self.store.session() as s:
            job = jobs_repo.get_job(session=s, job_id=job_id)
            return JobSnapshot(job.id, job.kind, job.status, job.progress, job.message, job.error,
                               dict(job.result or {}), tuple(a.id for a in job.outputs), job.attempts)

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

    def shutdown(self, wait: bool = True, grace_s: float = 0.0) -> None:
        """Stop claiming. Running jobs get ``grace_s`` seconds to finish; the others are interrupted and go back to
        the queue (another worker, or this studio's next start, runs them again). ``wait``: until they have."""
        self._stop.set()
        self.wake()
        deadline = time.monotonic() + grace_s
        while self.executor.active and time.monotonic() < deadline:
            time.sleep(0.05)
        self.executor.interrupt_all()
        if wait:
            for t in self._threads:
                t.join()
        self._stop_workers(wait)
        self.executor.stop_keeper(wait)

    # --- how a job is handed over (what LocalRunner and CeleryRunner change) -------------------------------------
    def _dispatch(self, job_id: int, queue: str) -> None:
        """A new queued job: wake this process's workers of its queue."""
        if self.local_workers:
            self.start()
        self.wake(queue)

    def _on_requeued(self, job_ids: list[int]) -> None:
        """Jobs put back in the queue (by the reaper, or by a worker stopping): workers should look again."""
        self.wake()

    def _withdraw(self, job_id: int, attempts: int) -> None:
        """A queued job was cancelled (its row says so: no worker will claim it)."""

    def _start_workers(self) -> None:
        """Start workers beside this process's threads (worker processes of ``LocalRunner``)."""

    def _stop_workers(self, wait: bool) -> None:
        """Stop what ``_start_workers`` started."""

    # --- inside this process's worker threads --------------------------------------------------------------------
    def _loop(self, queue: str) -> None:
        wake = self._wake[queue]
        while not self._stop.is_set():
            wake.clear()
            try:
                claim = self.executor.claim_next([queue])
            except Exception:  # the store is unreachable for a moment: try again later, never die
                log.exception("could not claim a %s job", queue)
                claim = None
            if claim is None:
                wake.wait(self.poll_s)
                continue
            try:
                self.executor.execute(claim)
            except Exception:  # a failure to write the finish: the lease runs out and the reaper requeues it
                log.exception("job %s: could not record its end", claim.job_id)


class LocalRunner(JobRunner):
    """The default runner with no broker: jobs run in ``python -m studio.services.worker`` processes this process
    starts — spawned, never forked, so CUDA is never touched before a fork — one per visible GPU (its
    ``CUDA_VISIBLE_DEVICES`` pinned to that GPU, the ``gpu`` queue only) and one CPU pool (``cpu_workers`` jobs at a
    time; it takes the ``gpu`` lane too when there is no GPU). Models are loaded once per process (the engines' model
    cache). A worker that dies is started again; its job is requeued by the reaper once its lease runs out. Workers
    stop with ``shutdown`` (SIGTERM, then SIGKILL) and die with this process.

    ``workers="thread"``: worker threads in this process instead (what tests use); ``"none"``: nobody here runs
    jobs (workers started by hand, on this host or others, take them from the store)."""

    def __init__(self, store: Store, *, workers: str = "process", cpu_workers: int = 2, **kwargs: Any) -> None:
        if workers not in ("process", "thread", "none"):
            raise ValueError(f"workers must be process, thread or none, not {workers!r}")
        super().__init__(store, cpu_workers=cpu_workers, local_workers=workers == "thread", **kwargs)
        self.workers = workers
        self.supervisor = None
        if workers == "process":
            from .worker import WorkerSupervisor

            self.supervisor = WorkerSupervisor(store.settings, cpu_workers=self.cpu_workers)

    def _dispatch(self, job_id: int, queue: str) -> None:
        super()._dispatch(job_id, queue)
        if self.supervisor is not None:
            self.start()
            self.supervisor.notify(queue)

    def _on_requeued(self, job_ids: list[int]) -> None:
        super()._on_requeued(job_ids)
        if self.supervisor is not None:
            self.supervisor.notify(None)

    def _start_workers(self) -> None:
        if self.supervisor is not None:
            self.supervisor.start()

    def _stop_workers(self, wait: bool) -> None:
        if self.supervisor is not None:
            self.supervisor.stop()


class CeleryRunner(JobRunner):
    """Jobs run by Celery workers (``celery -A studio.services.celery_app worker -P solo -c 1 -Q cpu|gpu``) through a
    broker (``REELSMITH_BROKER_URL``, Redis). The row stays the truth: a task carries only the job's id, the worker
    claims the row with the same conditional UPDATE (a duplicate or redelivered message finds it taken and does
    nothing) and runs it with the same ``JobExecutor``. Cancel sets the row's flag and revokes a task still queued;
    jobs the reaper requeues (their worker died) are sent again, under a new task id."""

    def __init__(self, store: Store, *, broker_url: str | None = None, **kwargs: Any) -> None:
        kwargs.pop("local_workers", None)
        super().__init__(store, local_workers=False, **kwargs)
        from .celery_app import Dispatcher

        self.dispatcher = Dispatcher(store, broker_url or store.settings.broker_url)

    def recover(self) -> int:
        """Reap, then send every queued job again: one queued while the broker was away (or under a local runner)
        would otherwise wait for ever; a job whose message is still in the broker gets a second one, which finds
        the job taken and does nothing."""
        reaped = self.reap()
        with self.store.session() as s:
            queued = [j.id for j in jobs_repo.list_jobs(session=s, limit=10_000, statuses=[JobStatus.queued])]
        for job_id in reversed(queued):  # oldest first
            try:
                self.dispatcher.send(job_id)
            except Exception:
                log.exception("job %s: could not be sent to the broker", job_id)
                break
        return reaped

    def _dispatch(self, job_id: int, queue: str) -> None:
        try:
            self.dispatcher.send(job_id)
        except Exception as exc:
            with self.store.session() as s:
                jobs_repo.finish_job(session=s, job_id=job_id, status=JobStatus.failed, error=type(exc).__name__,
                                     message=f"Could not hand the job to the workers (broker unreachable: {exc}).")
            raise ReelsmithError("The job broker cannot be reached; the job was not started. Try again later.") \
                from exc

    def _on_requeued(self, job_ids: list[int]) -> None:
        for job_id in job_ids:
            self.dispatcher.send(job_id)

    def _withdraw(self, job_id: int, attempts: int) -> None:
        try:
            self.dispatcher.revoke(job_id, attempts)
        except Exception:  # the row says cancelled: the message, when it comes, does nothing
            log.exception("job %s: could not revoke its task", job_id)

    def shutdown(self, wait: bool = True, grace_s: float = 0.0) -> None:
        super().shutdown(wait=wait, grace_s=grace_s)
        self.dispatcher.close()


_VERB = {"generated": "generated", "upload": "uploaded", "edited": "edited", "derived": "edited"}


def _audit_outputs(session, job_id: int, kind: str, asset_ids: list[int], user_id: int | None) -> None:
    """One audit line per finished job that made assets: generated, uploaded or edited (by their provenance)."""
    assets = [a for a in (session.get(Asset, i) for i in asset_ids) if a is not None]
    if not assets:
        return
    first = assets[0]  # a job's main output comes first (its previews after it)
    verb = _VERB.get(first.provenance.source if first.provenance else "upload", "edited")
    audit.record(session=session, action=verb, user_id=user_id, project_id=assets[0].project_id,
                 target=", ".join(f"asset:{a.id}" for a in assets)[:120],
                 detail={"job": job_id, "kind": kind, "names": [a.name for a in assets][:5]})
