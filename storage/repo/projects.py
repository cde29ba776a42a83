from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..errors import Conflict, InvalidValue, NotFound
from ..models import Asset, Project

MAX_NAME = 120


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise InvalidValue("A project needs a name.")
    if len(name) > MAX_NAME:
        raise InvalidValue(f"Project names are at most {MAX_NAME} characters.")
    return name


def _same_name(session: Session, name: str) -> list[int]:
    """Ids of the projects whose name equals ``name`` ignoring case. Compared in Python (casefold): SQL lower()
    folds only ASCII on SQLite and on a PostgreSQL database with the C locale, and all letters on one with a UTF-8
    locale — the same names must clash on every store. A studio holds hundreds of projects, not millions."""
    wanted = name.strip().casefold()
    return [pid for pid, existing in session.execute(select(Project.id, Project.name))
            if existing.casefold() == wanted]


def _check_unique(session: Session, name: str, exclude_id: int | None = None) -> None:
    if any(pid != exclude_id for pid in _same_name(session, name)):
        raise Conflict(f"A project called '{name}' already exists.")


def create_project(*, session: Session, name: str, description: str = "", owner_id: int | None = None) -> Project:
    name = _clean_name(name)
    _check_unique(session, name)
    project = Project(name=name, description=description or "", owner_id=owner_id)
    session.add(project)
    session.flush()
    return project


def get_project(*, session: Session, project_id: int) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound(f"Project #{project_id} does not exist (it may have been deleted).")
    return project


def list_projects(*, session: Session) -> list[Project]:
    return list(session.scalars(select(Project).order_by(Project.updated_at.desc(), Project.id.desc())))


def rename_project(*, session: Session, project_id: int, name: str) -> Project:
    project = get_project(session=session, project_id=project_id)
    name = _clean_name(name)
    _check_unique(session, name, exclude_id=project_id)
    project.name = name
    session.flush()
    return project


def delete_project(*, session: Session, project_id: int) -> list[tuple[str, str]]:
    """Delete the project with its scripts, assets and jobs. Returns the (hash, ext) of its files; the caller
    removes those no other row uses after the transaction commits (``assets.unreferenced``)."""
    project = get_project(session=session, project_id=project_id)
    files = [(h, e) for h, e in session.execute(
        select(Asset.content_hash, Asset.ext).where(Asset.project_id == project_id))]
    # Publications go first (with their audience data): their videos are protected from deletion otherwise.
    from ..audience_models import Publication
    session.execute(delete(Publication).where(Publication.project_id == project_id))
    session.delete(project)
    session.flush()
    return files


def find_project(*, session: Session, name: str) -> Project | None:
    ids = _same_name(session, name)
    return session.get(Project, ids[0]) if ids else None
