"""Job runner: long work off the request thread, its state in the job's row.

The row is the truth. ``submit`` only inserts a queued row (and wakes this process's workers); workers — threads of
this process, or ``python -m studio.services.worker`` processes on this or another machine — pull work from the
store: each claims the oldest queued job of its queue with a conditional UPDATE, runs it, and finishes it. A small
CPU pool runs beside a single GPU lane (one heavy job at a time per worker process).

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


class JobRunner:
    """Queues jobs in the store and, when started, runs this process's workers (threads) that pull them from it.

    ``local_workers`` False: ``submit`` only queues (worker processes elsewhere do the work). Workers start on
    ``start()`` or the first submit, never at import."""

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
        self.worker_id = process_worker_id()
        self._tasks: dict[str, TaskSpec] = {}
        self._active: dict[int, JobContext] = {}
        self._lock = threading.Lock()
        self._wake = {q: threading.Event() for q in QUEUES}
        self._stop = threading.Event()
        self._keeper_stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._keeper: threading.Thread | None = None
        _install_commit_guard()

    # --- set-up ------------------------------------------------------------------------------------------------
    def register(self, spec: TaskSpec) -> None:
        self._tasks[spec.kind] = spec

    def reap(self) -> int:
        """Requeue (or fail, when out of attempts) running jobs whose worker stopped renewing its lease."""
        with _own_session(self.store) as s:
            reaped = jobs_repo.reap_expired(session=s, lease_s=self.lease_s, max_attempts=self.max_attempts)
        for r in reaped:
            log.warning("job %s: %s", r.job_id, r.message)
        if any(r.status == JobStatus.queued for r in reaped):
            for ev in self._wake.values():
                ev.set()
        return len(reaped)

    def recover(self) -> int:
        """At start-up: reap jobs a crashed process left running (queued ones are simply picked up again)."""
        return self.reap()

    def start(self) -> None:
        """Start this process's workers: ``cpu_workers`` threads on the CPU queue, one on the GPU lane, and the
        keeper that renews the leases of running jobs and reaps expired ones. Idempotent."""
        with self._lock:
            if self._threads or self._stop.is_set():
                return
            for queue in self.queues:
                for i in range(1 if queue == "gpu" else self.cpu_workers):
                    t = threading.Thread(target=self._loop, args=(queue,), name=f"job-{queue}-{i}", daemon=True)
                    self._threads.append(t)
            self._keeper = threading.Thread(target=self._keep, name="job-keeper", daemon=True)
            for t in [*self._threads, self._keeper]:
                t.start()

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
        if self.local_workers:
            self.start()
        self._wake[lane].set()
        return job_id

    def cancel(self, job_id: int) -> JobSnapshot:
        with self.store.session() as s:
            jobs_repo.request_cancel(session=s, job_id=job_id)
        ctx = self._active.get(job_id)
        if ctx is not None:
            ctx.cancel()
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
        for ev in self._wake.values():
            ev.set()
        deadline = time.monotonic() + grace_s
        while self._active and time.monotonic() < deadline:
            time.sleep(0.05)
        for ctx in list(self._active.values()):
            ctx.interrupt()
        if wait:
            for t in self._threads:
                t.join()
        self._keeper_stop.set()
        if wait and self._keeper is not None:
            self._keeper.join()

    # --- inside this process's workers -------------------------------------------------------------------------
    def _loop(self, queue: str) -> None:
        wake = self._wake[queue]
        while not self._stop.is_set():
            wake.clear()
            try:
                job = self._claim(queue)
            except Exception:  # the store is unreachable for a moment: try again later, never die
                log.exception("could not claim a %s job", queue)
                job = None
            if job is None:
                wake.wait(self.poll_s)
                continue
            try:
                self._execute(*job)
            except Exception:  # a failure to write the finish: the lease runs out and the reaper requeues it
                log.exception("job %s: could not record its end", job[0])

    def _claim(self, queue: str) -> tuple | None:
        with self.store.session() as s:
            job = jobs_repo.claim_next(session=s, worker=self.worker_id, queues=[queue], kinds=list(self._tasks))
            if job is None:
                return None
            return job.id, job.kind, job.attempts, dict(job.params or {}), job.created_by_id

    def _keep(self) -> None:
        """Renew the lease of every running job of this process every lease/3 s, and reap expired ones."""
        interval = max(0.2, self.lease_s / 3)
        while not self._keeper_stop.wait(interval):
            for job_id, ctx in list(self._active.items()):
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

    def _execute(self, job_id: int, kind: str, attempt: int, params: dict[str, Any],
                 created_by_id: int | None) -> None:
        spec = self._tasks[kind]
        ctx = JobContext(self.store, job_id, created_by_id=created_by_id, worker=self.worker_id, attempt=attempt)
        self._active[job_id] = ctx
        status, message, error, outcome = JobStatus.failed, "", None, None
        try:
            if attempt > 1:
                ctx.report(0.0, f"Retrying (attempt {attempt} of {self.max_attempts})")
                self._discard_earlier_attempts(ctx)
            token = _CURRENT.set(ctx)
            try:
                ctx.check()
                outcome = spec.fn(ctx, params)
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
            self._active.pop(job_id, None)
        if ctx.lost:
            log.warning("job %s: attempt %s lost its lease; its work is discarded", job_id, attempt)
            return
        with _own_session(self.store) as s:
            if ctx.interrupted and status == JobStatus.cancelled and not self._cancel_asked(s, job_id):
                if jobs_repo.requeue_attempt(session=s, job_id=job_id, message=f"Requeued: worker {self.worker_id} "
                                             "stopped while running it.", **ctx.fence):
                    log.info("job %s requeued (worker stopping)", job_id)
                return
            ok = jobs_repo.finish_attempt(session=s, job_id=job_id, status=status, message=message, error=error,
                                          result=outcome.result if outcome else None,
                                          output_asset_ids=outcome.output_asset_ids if outcome else None, **ctx.fence)
            if not ok:
                log.warning("job %s: attempt %s finished after losing its lease; result discarded", job_id, attempt)
                return
            if status == JobStatus.done and outcome and outcome.output_asset_ids:
                _audit_outputs(s, job_id, kind, outcome.output_asset_ids, created_by_id)

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
