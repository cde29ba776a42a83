"""Publish reviews: a request waits until someone other than the requester approves or rejects it."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..errors import Conflict, Forbidden, InvalidValue, NotFound
from ..governance_models import ReviewRequest, ReviewStatus
from ..models import Asset, AssetKind, Project, utcnow


def set_review_required(*, session: Session, project_id: int, required: bool) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound(f"Project #{project_id} does not exist (it may have been deleted).")
    project.review_required = bool(required)
    session.flush()
    return project


def request_review(*, session: Session, project_id: int, asset_id: int, payload: dict[str, Any],
                   requested_by_id: int | None) -> ReviewRequest:
    asset = session.get(Asset, asset_id)
    if asset is None or asset.project_id != project_id or asset.kind != AssetKind.video:
        raise InvalidValue("Pick a video of this project to publish.")
    open_one = session.scalar(select(ReviewRequest).where(
        ReviewRequest.asset_id == asset_id, ReviewRequest.status.in_([ReviewStatus.pending, ReviewStatus.approved])))
    if open_one is not None:
        raise Conflict(f"'{asset.name}' already waits for review (request #{open_one.id}).")
    req = ReviewRequest(project_id=project_id, asset_id=asset_id, payload=dict(payload),
                        requested_by_id=requested_by_id)
    session.add(req)
    session.flush()
    return req


def get_request(*, session: Session, request_id: int) -> ReviewRequest:
    req = session.get(ReviewRequest, request_id)
    if req is None:
        raise NotFound(f"Review request #{request_id} does not exist.")
    return req


def decide(*, session: Session, request_id: int, reviewer_id: int | None, approve: bool, note: str = ""
           ) -> ReviewRequest:
    """Approve or reject a pending request. Nobody may decide their own request, and the decision needs a
    signed-in reviewer (a studio without users cannot run a two-person review)."""
    req = get_request(session=session, request_id=request_id)
    if req.status != ReviewStatus.pending:
        raise Conflict(f"Request #{req.id} is already {req.status.value}.")
    if reviewer_id is None:
        raise Forbidden("Reviews need signed-in users: start the studio with --users so a second person can "
                        "approve.")
    if req.requested_by_id is not None and reviewer_id == req.requested_by_id:
        raise Forbidden("You cannot approve or reject your own publish request; another team member must.")
    req.status = ReviewStatus.approved if approve else ReviewStatus.rejected
    req.reviewer_id = reviewer_id
    req.note = (note or "")[:2000]
    req.decided_at = utcnow()
    session.flush()
    return req


def mark_published(*, session: Session, request_id: int, publication_id: int) -> ReviewRequest:
    req = get_request(session=session, request_id=request_id)
    if req.status != ReviewStatus.approved:
        raise Conflict(f"Request #{req.id} is {req.status.value}, not approved.")
    req.status = ReviewStatus.published
    req.publication_id = publication_id
    session.flush()
    return req


def list_requests(*, session: Session, project_id: int | None = None,
                  statuses: list[ReviewStatus] | None = None) -> list[ReviewRequest]:
    stmt = (select(ReviewRequest).options(selectinload(ReviewRequest.requested_by),
                                          selectinload(ReviewRequest.reviewer))
            .order_by(ReviewRequest.created_at.desc(), ReviewRequest.id.desc()))
    if project_id is not None:
        stmt = stmt.where(ReviewRequest.project_id == project_id)
    if statuses:
        stmt = stmt.where(ReviewRequest.status.in_(statuses))
    return list(session.scalars(stmt))
