"""The audit log: who generated, edited, approved, published or deleted what, and when."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..governance_models import AuditEntry
from ..models import User


def record(*, session: Session, action: str, user_id: int | None = None, project_id: int | None = None,
           target: str = "", detail: dict[str, Any] | None = None) -> AuditEntry:
    """Add one line to the log, in the caller's transaction (so the log and the change commit together)."""
    name = ""
    if user_id is not None:
        user = session.get(User, user_id)
        name = user.name if user is not None else ""
    entry = AuditEntry(action=action[:40], user_id=user_id, user_name=name, project_id=project_id,
                       target=target[:120], detail=dict(detail or {}))
    session.add(entry)
    session.flush()
    return entry


def entries(*, session: Session, project_id: int | None = None, since: datetime | None = None,
            actions: list[str] | None = None, limit: int = 500) -> list[AuditEntry]:
    """Newest first."""
    stmt = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    if project_id is not None:
        stmt = stmt.where(AuditEntry.project_id == project_id)
    if since is not None:
        stmt = stmt.where(AuditEntry.at >= since)
    if actions:
        stmt = stmt.where(AuditEntry.action.in_(actions))
    return list(session.scalars(stmt))
