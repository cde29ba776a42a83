"""Jobs in the store. The row is the truth: workers claim queued rows with a conditional UPDATE, renew a lease
(``heartbeat_at``) while they run, and finish fenced on their attempt; a reaper requeues the jobs whose worker
stopped renewing the lease."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from ..errors import NotFound
from ..models import Asset, Job, JobAsset, JobStatus, utcnow


def create_job(*, session: Session, kind: str, project_id: int | None = None, params: dict[str, Any] | None = None,
               queue: str = "cpu", input_asset_ids: list[int] | None = None, created_by_id: int | None = None,
               message: str = "Waiting for a free worker…") -> Job:
    job = Job(kind=kind, project_id=project_id, params=params or {}, queue=queue, status=JobStatus.queued,
              message=message, created_by_id=created_by_id)
    session.add(job)
    session.flush()
    for asset_id in input_asset_ids or []:
        session.add(JobAsset(job_id=job.id, asset_id=asset_id, direction="in"))
    session.flush()
    return job


def get_job(*, session: Session, job_id: int) -> Job:
    job = session.get(Job, job_id, populate_existing=True)
    if job is None:
        raise NotFound(f"Job #{job_id} does not exist.")
    return job


def list_jobs(*, session: Session, project_id: int | None = None, limit: int = 50,
              statuses: list[JobStatus] | None = None) -> list[Job]:
    stmt = select(Job).order_by(Job.id.desc()).limit(limit)
    if project_id is not None:
        stmt = stmt.where(Job.project_id == project_id)
    if statuses:
        stmt = stmt.where(Job.status.in_(statuses))
    return list(session.scalars(stmt))


def claim_job(*, session: Session, job_id: int, worker: str, kinds: list[str] | None = None) -> bool:
    """Move a queued job to running for ``worker``. Atomic: of two claimers only one gets True.

    A conditional UPDATE (``WHERE id = ? AND status = 'queued'``), so it holds on PostgreSQL as on SQLite; a job that
    is running, finished or cancelled is left alone (a duplicate or redelivered broker message claims nothing).
    ``kinds``: only a job of one of these kinds (those the claimer can run). Each claim is a new attempt:
    ``attempts`` goes up by one, and progress, result and error left by an earlier attempt go."""
    now = utcnow()
    where = [Job.id == job_id, Job.status == JobStatus.queued, Job.cancel_requested.is_(False)]
    if kinds is not None:
        where.append(Job.kind.in_(kinds))
    result = session.execute(
        update(Job).where(*where)
        .values(status=JobStatus.running, worker=worker[:100], started_at=now, heartbeat_at=now, finished_at=None,
                attempts=Job.attempts + 1, progress=0.0, result={}, error=None, message="Started")
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def claim_next(*, session: Session, worker: str, queues: list[str], kinds: list[str], scan: int = 8) -> Job | None:
    """Claim the oldest queued job of ``queues`` whose kind is one of ``kinds`` (those this worker can run).

    Candidates are read first, then claimed one by one with ``claim_job``; a candidate another worker took in between
    is skipped. Returns the claimed job (its params, kind and attempt number as the row holds them) or None."""
    if not queues or not kinds:
        return None
    candidates = session.scalars(
        select(Job.id).where(Job.status == JobStatus.queued, Job.queue.in_(queues), Job.kind.in_(kinds),
                             Job.cancel_requested.is_(False)).order_by(Job.id).limit(scan)).all()
    for job_id in candidates:
        if claim_job(session=session, job_id=job_id, worker=worker):
            return get_job(session=session, job_id=job_id)
    return None


class Lease(str, enum.Enum):
    """What a running attempt learns when it writes to its row."""

    held = "held"      # carry on
    cancel = "cancel"  # carry on only to stop: someone asked for the job to be cancelled
    lost = "lost"      # the row is no longer this attempt's (requeued after a missed heartbeat, or finished)


def _attempt_is(job_id: int, worker: str | None, attempt: int | None) -> list:
    """WHERE clauses of the fence: the job is running, and running as this worker's attempt ``attempt``."""
    where = [Job.id == job_id, Job.status == JobStatus.running]
    if worker is not None:
        where += [Job.worker == worker[:100], Job.attempts == attempt]
    return where


def _lease(session: Session, job_id: int, updated: int) -> Lease:
    if updated != 1:
        return Lease.lost
    return Lease.cancel if session.scalar(select(Job.cancel_requested).where(Job.id == job_id)) else Lease.held


def heartbeat(*, session: Session, job_id: int, worker: str, attempt: int) -> Lease:
    """Renew the lease of a running attempt (only if it is still this worker's attempt)."""
    result = session.execute(update(Job).where(*_attempt_is(job_id, worker, attempt)).values(heartbeat_at=utcnow())
                             .execution_options(synchronize_session=False))
    return _lease(session, job_id, result.rowcount)


def lease_state(*, session: Session, job_id: int, worker: str | None = None, attempt: int | None = None) -> Lease:
    """Read-only: is the job still this attempt's, and was cancellation asked for?"""
    row = session.execute(select(Job.status, Job.worker, Job.attempts, Job.cancel_requested)
                          .where(Job.id == job_id)).first()
    if row is None:
        return Lease.lost
    if worker is not None and (row.status != JobStatus.running or row.worker != worker[:100]
                               or row.attempts != attempt):
        return Lease.lost
    return Lease.cancel if row.cancel_requested else Lease.held


def report_progress(*, session: Session, job_id: int, progress: float, message: str, worker: str | None = None,
                    attempt: int | None = None) -> Lease:
    """Record progress (and renew the lease). With ``worker`` and ``attempt`` the write is fenced: it only lands
    while the row is still that attempt's."""
    result = session.execute(update(Job).where(*_attempt_is(job_id, worker, attempt))
                             .values(progress=max(0.0, min(1.0, progress)), message=message[:500],
                                     heartbeat_at=utcnow())
                             .execution_options(synchronize_session=False))
    return _lease(session, job_id, result.rowcount)


def set_partial_result(*, session: Session, job_id: int, result: dict[str, Any], worker: str | None = None,
                       attempt: int | None = None) -> Lease:
    """Partial output of a running job (the UI shows it while the job goes on); fenced like ``report_progress``."""
    done = session.execute(update(Job).where(*_attempt_is(job_id, worker, attempt))
                           .values(result=result, heartbeat_at=utcnow()).execution_options(synchronize_session=False))
    return _lease(session, job_id, done.rowcount)


def cancel_requested(*, session: Session, job_id: int) -> bool:
    return bool(session.scalar(select(Job.cancel_requested).where(Job.id == job_id)))


def request_cancel(*, session: Session, job_id: int) -> Job:
    """Ask a job to stop. A queued job is cancelled at once; a running one stops at its next check."""
    ask_to_stop(session=session, job_id=job_id)
    return get_job(session=session, job_id=job_id)


def ask_to_stop(*, session: Session, job_id: int) -> bool:
    """``request_cancel``, saying whether the job was still queued (True: cancelled before it ever ran, so a broker
    message for it may be revoked). Conditional UPDATEs, so a worker claiming the job at the same moment wins or
    loses cleanly: either its claim finds the job cancelled, or the job is running and gets the flag."""
    get_job(session=session, job_id=job_id)  # NotFound for a job that does not exist
    withdrawn = session.execute(
        update(Job).where(Job.id == job_id, Job.status == JobStatus.queued)
        .values(status=JobStatus.cancelled, finished_at=utcnow(), message="Cancelled before it started.",
                cancel_requested=True).execution_options(synchronize_session=False)).rowcount == 1
    if not withdrawn:
        session.execute(update(Job).where(Job.id == job_id, Job.status == JobStatus.running)
                        .values(cancel_requested=True, message="Cancelling…")
                        .execution_options(synchronize_session=False))
    return withdrawn


def finish_job(*, session: Session, job_id: int, status: JobStatus, message: str = "", error: str | None = None,
               result: dict[str, Any] | None = None, output_asset_ids: list[int] | None = None) -> Job:
    """Finish a job whatever its state (no fence; workers use ``finish_attempt``)."""
    job = get_job(session=session, job_id=job_id)
    job.status = status
    job.message = message[:2000]
    job.error = error
    job.finished_at = utcnow()
    if status == JobStatus.done:
        job.progress = 1.0
    if result is not None:
        job.result = result
    session.flush()
    link_outputs(session=session, job_id=job_id, asset_ids=output_asset_ids or [])
    return job


def finish_attempt(*, session: Session, job_id: int, worker: str, attempt: int, status: JobStatus,
                   message: str = "", error: str | None = None, result: dict[str, Any] | None = None,
                   output_asset_ids: list[int] | None = None) -> bool:
    """Finish a job as attempt ``attempt`` of ``worker``. Fenced: False (and nothing written) when the row is no
    longer that attempt's, so a worker whose lease ran out cannot overwrite the next attempt's result."""
    now = utcnow()
    values: dict[str, Any] = {"status": status, "message": message[:2000], "error": error, "finished_at": now,
                              "heartbeat_at": now}
    if status == JobStatus.done:
        values["progress"] = 1.0
    if result is not None:
        values["result"] = result
    done = session.execute(update(Job).where(*_attempt_is(job_id, worker, attempt)).values(**values)
                           .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        return False
    link_outputs(session=session, job_id=job_id, asset_ids=output_asset_ids or [])
    return True


def requeue_attempt(*, session: Session, job_id: int, worker: str, attempt: int, message: str) -> bool:
    """Give a running attempt's job back to the queue (its worker is shutting down). Fenced like ``finish_attempt``."""
    done = session.execute(update(Job).where(*_attempt_is(job_id, worker, attempt))
                           .values(status=JobStatus.queued, worker=None, started_at=None, heartbeat_at=None,
                                   message=message[:2000])
                           .execution_options(synchronize_session=False))
    return done.rowcount == 1


def link_outputs(*, session: Session, job_id: int, asset_ids: list[int]) -> None:
    """Record ``asset_ids`` as outputs of the job (those already recorded, or gone, are skipped)."""
    if not asset_ids:
        return
    linked = set(session.scalars(select(JobAsset.asset_id).where(JobAsset.job_id == job_id,
                                                                 JobAsset.direction == "out")))
    for asset_id in dict.fromkeys(asset_ids):
        if asset_id not in linked and session.get(Asset, asset_id) is not None:
            session.add(JobAsset(job_id=job_id, asset_id=asset_id, direction="out"))
    session.flush()


def output_ids(*, session: Session, job_id: int) -> list[int]:
    return list(session.scalars(select(JobAsset.asset_id).where(JobAsset.job_id == job_id,
                                                                JobAsset.direction == "out")
                                .order_by(JobAsset.asset_id)))


REQUEUED = "Requeued after worker {worker} stopped responding (attempt {n} of {m})."
GAVE_UP = ("Failed: worker {worker} stopped responding during attempt {n} of {m}, and no attempts are left. "
           "Run it again.")
CANCELLED_LOST = "Cancelled (its worker {worker} stopped responding while it was cancelling)."


@dataclass(frozen=True)
class Reaped:
    job_id: int
    status: JobStatus  # queued again, failed or cancelled
    message: str


def reap_expired(*, session: Session, lease_s: float, max_attempts: int, now: datetime | None = None) -> list[Reaped]:
    """Running jobs whose worker has not renewed the lease for ``lease_s`` seconds: requeue each while it has been
    started fewer than ``max_attempts`` times, otherwise fail it (a cancel that was asked for is honoured instead).

    Each change is a conditional UPDATE on the row as it was read (same attempt, same worker, heartbeat still old), so
    a worker that renews its lease in between, or another reaper, wins cleanly."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=lease_s)
    rows = session.execute(select(Job.id, Job.worker, Job.attempts, Job.cancel_requested).where(
        Job.status == JobStatus.running, or_(Job.heartbeat_at.is_(None), Job.heartbeat_at < cutoff))
        .order_by(Job.id)).all()
    reaped = []
    for job_id, worker, attempts, cancel in rows:
        who = worker or "?"
        if cancel:
            status, values = JobStatus.cancelled, {"message": CANCELLED_LOST.format(worker=who), "finished_at": now}
        elif attempts < max_attempts:
            status, values = JobStatus.queued, {"message": REQUEUED.format(worker=who, n=attempts, m=max_attempts),
                                                "worker": None, "started_at": None, "heartbeat_at": None}
        else:
            status, values = JobStatus.failed, {"message": GAVE_UP.format(worker=who, n=attempts, m=max_attempts),
                                                "error": "lease_expired", "finished_at": now}
        same_worker = Job.worker.is_(None) if worker is None else Job.worker == worker
        done = session.execute(
            update(Job).where(Job.id == job_id, Job.status == JobStatus.running, Job.attempts == attempts, same_worker,
                              or_(Job.heartbeat_at.is_(None), Job.heartbeat_at < cutoff))
            .values(status=status, **values).execution_options(synchronize_session=False))
        if done.rowcount == 1:
            reaped.append(Reaped(job_id, status, values["message"]))
    return reaped
