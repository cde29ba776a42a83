"""Oversight: publishing through the review gate, AI disclosure, roles, the audit log and viewers' data.

Every function here checks the caller's role (``access.require``) before it changes anything, and writes its
audit line in the same transaction as the change.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from storage.audience_models import Publication
from storage.db import Store
from storage.errors import Forbidden, InvalidValue
from storage.governance_models import ReviewRequest, ReviewStatus
from storage.models import Project
from storage.repo import assets as assets_repo
from storage.repo import audit, lineage, members, publications, reviews, viewer_data

from . import access


@dataclass(frozen=True)
class PublishOutcome:
    publication: Publication | None = None
    request: ReviewRequest | None = None

    @property
    def pending(self) -> bool:
        return self.publication is None


def _publish(s, *, project_id: int, asset_id: int, payload: dict[str, Any], user_id: int | None) -> Publication:
    thumb = payload.get("thumbnail_asset_id")
    if thumb is None:
        poster = assets_repo.child_with_role(session=s, asset_id=asset_id, role="poster")
        thumb = poster.id if poster is not None else None
    pub = publications.publish(session=s, project_id=project_id, asset_id=asset_id, title=payload["title"],
                               description=payload.get("description") or "",
                               visibility=payload.get("visibility") or "public", thumbnail_asset_id=thumb,
                               created_by_id=user_id)
    share = lineage.contribution(lineage.lineage(session=s, asset_id=asset_id))
    pub.ai_generated, pub.ai_share = share.ai_generated, share.ai_share
    s.flush()
    return pub


def publish_or_request(store: Store, *, project_id: int, asset_id: int, title: str, description: str,
                       visibility: str, thumbnail_asset_id: int | None, user_id: int | None) -> PublishOutcome:
    """Publish now, or — when the project requires review — file a request another member must approve."""
    payload = {"title": title, "description": description, "visibility": visibility,
               "thumbnail_asset_id": thumbnail_asset_id}
    with store.session() as s:
        project = s.get(Project, project_id)
        if project is None:
            raise InvalidValue("Pick a project first.")
        access.require(store, user_id, project_id, "edit", session=s)
        if project.review_required:
            publications._clean_title(title)  # refuse a bad form now, not at approval time
            req = reviews.request_review(session=s, project_id=project_id, asset_id=asset_id, payload=payload,
                                         requested_by_id=user_id)
            audit.record(session=s, action="publish_requested", user_id=user_id, project_id=project_id,
                         target=f"asset:{asset_id}", detail={"request": req.id, "title": title})
            s.flush()
            s.expunge(req)
            return PublishOutcome(request=req)
        access.require(store, user_id, project_id, "publish", session=s)
        pub = _publish(s, project_id=project_id, asset_id=asset_id, payload=payload, user_id=user_id)
        audit.record(session=s, action="published", user_id=user_id, project_id=project_id,
                     target=f"publication:{pub.id}", detail={"asset": asset_id, "title": pub.title,
                                                              "ai_generated": pub.ai_generated})
        s.expunge(pub)
        return PublishOutcome(publication=pub)


def decide(store: Store, *, request_id: int, approve: bool, note: str, user_id: int | None) -> PublishOutcome:
    """Approve (which publishes, as the requester, with the form they sent) or reject a publish request."""
    with store.session() as s:
        req = reviews.get_request(session=s, request_id=request_id)
        access.require(store, user_id, req.project_id, "approve", session=s)
        reviews.decide(session=s, request_id=request_id, reviewer_id=user_id, approve=approve, note=note)
        audit.record(session=s, action="approved" if approve else "rejected", user_id=user_id,
                     project_id=req.project_id, target=f"review:{req.id}",
                     detail={"asset": req.asset_id, "note": note[:200], "requested_by": req.requested_by_id})
        pub = None
        if approve:
            pub = _publish(s, project_id=req.project_id, asset_id=req.asset_id, payload=req.payload,
                           user_id=req.requested_by_id)
            reviews.mark_published(session=s, request_id=req.id, publication_id=pub.id)
            audit.record(session=s, action="published", user_id=user_id, project_id=req.project_id,
                         target=f"publication:{pub.id}", detail={"asset": req.asset_id, "title": pub.title,
                                                                  "review": req.id,
                                                                  "ai_generated": pub.ai_generated})
            s.expunge(pub)
        s.flush()
        s.expunge(req)
        return PublishOutcome(publication=pub, request=req)


def pending_reviews(store: Store, project_id: int | None, user_id: int | None) -> list[list[Any]]:
    with store.session() as s:
        access.require(store, user_id, project_id, "view", session=s)
        rows = []
        for r in reviews.list_requests(session=s, project_id=project_id):
            rows.append([r.id, r.payload.get("title", ""), r.status.value,
                         r.requested_by.name if r.requested_by else "—", r.reviewer.name if r.reviewer else "",
                         r.created_at.strftime("%Y-%m-%d %H:%M"), r.note])
        return rows


def pending_ids(store: Store, project_id: int | None) -> list[tuple[str, int]]:
    with store.session() as s:
        return [(f"#{r.id} {r.payload.get('title', '')}", r.id)
                for r in reviews.list_requests(session=s, project_id=project_id, statuses=[ReviewStatus.pending])]


def set_review_required(store: Store, *, project_id: int, required: bool, user_id: int | None) -> None:
    with store.session() as s:
        access.require(store, user_id, project_id, "manage", session=s)
        reviews.set_review_required(session=s, project_id=project_id, required=required)
        audit.record(session=s, action="settings", user_id=user_id, project_id=project_id,
                     target=f"project:{project_id}", detail={"review_required": bool(required)})


def set_role(store: Store, *, project_id: int, user_name: str, role: str, user_id: int | None) -> None:
    with store.session() as s:
        access.require(store, user_id, project_id, "manage", session=s)
        if role == "none":
            members.remove_member(session=s, project_id=project_id, user_name=user_name)
        else:
            members.set_role(session=s, project_id=project_id, user_name=user_name, role=role)
        audit.record(session=s, action="role_changed", user_id=user_id, project_id=project_id,
                     target=f"user:{user_name}", detail={"role": role})


def member_rows(store: Store, project_id: int, user_id: int | None) -> list[list[str]]:
    with store.session() as s:
        access.require(store, user_id, project_id, "view", session=s)
        return [[name, role.value] for name, role in members.list_members(session=s, project_id=project_id)]


def audit_rows(store: Store, project_id: int | None, user_id: int | None, limit: int = 300) -> list[list[Any]]:
    with store.session() as s:
        access.require(store, user_id, project_id, "view", session=s)
        return [[e.at.strftime("%Y-%m-%d %H:%M:%S"), e.user_name or "—", e.action, e.target,
                 ", ".join(f"{k}={v}" for k, v in (e.detail or {}).items())[:200]]
                for e in audit.entries(session=s, project_id=project_id, limit=limit)]


def log(store: Store, action: str, *, user_id: int | None, project_id: int | None, target: str = "",
        detail: dict[str, Any] | None = None) -> None:
    with store.session() as s:
        audit.record(session=s, action=action, user_id=user_id, project_id=project_id, target=target,
                     detail=detail)


# --- viewers' data --------------------------------------------------------------------------------------------
def export_viewer(store: Store, viewer: str, user_id: int | None) -> dict[str, Any]:
    with store.session() as s:
        access.require(store, user_id, None, "viewer_data", session=s)
        data = viewer_data.export_viewer(session=s, viewer=viewer)
        audit.record(session=s, action="viewer_exported", user_id=user_id, target=f"viewer:{data['viewer']}",
                     detail={"views": len(data["views"]), "comments": len(data["comments"])})
        return data


def delete_viewer(store: Store, viewer: str, user_id: int | None) -> dict[str, int]:
    with store.session() as s:
        access.require(store, user_id, None, "viewer_data", session=s)
        counts = viewer_data.delete_viewer(session=s, viewer=viewer)
        audit.record(session=s, action="viewer_deleted", user_id=user_id, target=f"viewer:{viewer.strip()}",
                     detail=counts)
        return counts


def set_retention(store: Store, days: int | None, user_id: int | None) -> dict[str, int] | None:
    """Change how long raw viewing data is kept, and apply it at once."""
    with store.session() as s:
        access.require(store, user_id, None, "manage", session=s)
        viewer_data.set_retention_days(session=s, days=days)
        audit.record(session=s, action="settings", user_id=user_id, target="viewer_data",
                     detail={"retention_days": days})
    return purge_now(store)


def purge_now(store: Store) -> dict[str, int] | None:
    with store.session() as s:
        counts = viewer_data.purge_expired(session=s)
        if counts and any(counts.values()):
            audit.record(session=s, action="retention_purge", target="viewer_data", detail=counts)
        return counts


def can_see_raw(store: Store, user_id: int | None) -> bool:
    try:
        access.require(store, user_id, None, "viewer_data")
        return True
    except Forbidden:
        return False
