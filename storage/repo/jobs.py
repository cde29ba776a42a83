from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..errors import NotFound
from ..models import Asset, Job, JobAsset, JobStatus, utcnow

INTERRUPTED = "Interrupted: the studio stopped while this job was {state}. Run it again."


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


def claim_job(*, session: Session, job_id: int, worker: str) -> bool:
    """Move a queued job to running for ``worker``. Atomic: of two claimers only one gets True."""
    now = utcnow()
    result = session.execute(
        update(Job).where(Job.id == job_id, Job.status == JobStatus.queued, Job.cancel_requested.is_(False))
        .values(status=JobStatus.running, worker=worker, started_at=now, heartbeat_at=now,
                attempts=Job.attempts + 1, message="Started")
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def report_progress(*, session: Session, job_id: int, progress: float, message: str) -> bool:
    """Record progress and a heartbeat; returns True when cancellation was requested."""
    session.execute(update(Job).where(Job.id == job_id, Job.status == JobStatus.running)
                    .values(progress=max(0.0, min(1.0, progress)), message=message[:500], heartbeat_at=utcnow())
                    .execution_options(synchronize_session=False))
    return bool(session.scalar(select(Job.cancel_requested).where(Job.id == job_id)))


def set_partial_result(*, session: Session, job_id: int, result: dict[str, Any]) -> None:
    """Partial output of a running job (the UI shows it while the job goes on)."""
    session.execute(update(Job).where(Job.id == job_id, Job.status == JobStatus.running)
                    .values(result=result, heartbeat_at=utcnow()).execution_options(synchronize_session=False))


def cancel_requested(*, session: Session, job_id: int) -> bool:
    return bool(session.scalar(select(Job.cancel_requested).where(Job.id == job_id)))


def request_cancel(*, session: Session, job_id: int) -> Job:
    """Ask a job to stop. A queued job is cancelled at once; a running one stops at its next check."""
    job = get_job(session=session, job_id=job_id)
    if job.status == JobStatus.queued:
        job.status, job.finished_at, job.message = JobStatus.cancelled, utcnow(), "Cancelled before it started."
        job.cancel_requested = True
    elif job.status == JobStatus.running:
        job.cancel_requested = True
        job.message = "Cancelling…"
    session.flush()
    return job


def finish_job(*, session: Session, job_id: int, status: JobStatus, message: str = "", error: str | None = None,
               result: dict[str, Any] | None = None, output_asset_ids: list[int] | None = None) -> Job:
    job = get_job(session=session, job_id=job_id)
    job.status = status
    job.message = message[:2000]
    job.error = error
    job.finished_at = utcnow()
    if status == JobStatus.done:
        job.progress = 1.0
    if result is not None:
        job.result = result
    for asset_id in output_asset_ids or []:
        if session.get(Asset, asset_id) is not None:
            session.add(JobAsset(job_id=job.id, asset_id=asset_id, direction="out"))
    session.flush()
    return job


def recover_interrupted(*, session: Session) -> int:
    """At start-up: jobs left queued or running by a previous process cannot be running now; mark them failed."""
    n = 0
    for job in session.scalars(select(Job).where(Job.status.in_([JobStatus.queued, JobStatus.running]))):
        job.message = INTERRUPTED.format(state=job.status.value)
        job.error = "interrupted"
        job.status = JobStatus.failed
        job.finished_at = utcnow()
        n += 1
    session.flush()
    return n
