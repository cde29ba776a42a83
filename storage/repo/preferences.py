from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ..models import Preference


def get_preference(*, session: Session, key: str, default: dict[str, Any] | None = None) -> dict[str, Any]:
    row = session.get(Preference, key)
    return dict(row.value) if row is not None else dict(default or {})


def set_preference(*, session: Session, key: str, value: dict[str, Any]) -> None:
    row = session.get(Preference, key)
    if row is None:
        session.add(Preference(key=key, value=dict(value)))
    else:
        row.value = dict(value)
    session.flush()


def engine_choice(*, session: Session, kind: str) -> dict[str, Any]:
    """The backend and model id chosen for an engine kind: {"backend": ..., "model_id": ...}."""
    return get_preference(session=session, key=f"engine.{kind}", default={"backend": "lite", "model_id": None})


def set_engine_choice(*, session: Session, kind: str, backend: str, model_id: str | None) -> None:
    set_preference(session=session, key=f"engine.{kind}",
                   value={"backend": backend, "model_id": (model_id or "").strip() or None})
