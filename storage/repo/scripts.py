from __future__ import annotations

import difflib

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import InvalidValue, NotFound
from ..models import Script, ScriptVersion
from .projects import get_project


def create_script(*, session: Session, project_id: int, title: str, text: str = "",
                  created_by_id: int | None = None) -> Script:
    title = " ".join((title or "").split())
    if not title:
        raise InvalidValue("A script needs a title.")
    get_project(session=session, project_id=project_id)
    script = Script(project_id=project_id, title=title[:200])
    session.add(script)
    session.flush()
    save_version(session=session, script_id=script.id, text=text, note="created", created_by_id=created_by_id)
    return script


def get_script(*, session: Session, script_id: int) -> Script:
    script = session.get(Script, script_id)
    if script is None:
        raise NotFound(f"Script #{script_id} does not exist.")
    return script


def list_scripts(*, session: Session, project_id: int) -> list[Script]:
    return list(session.scalars(select(Script).where(Script.project_id == project_id).order_by(Script.title)))


def latest_version(*, session: Session, script_id: int) -> ScriptVersion | None:
    return session.scalar(select(ScriptVersion).where(ScriptVersion.script_id == script_id)
                          .order_by(ScriptVersion.number.desc()).limit(1))


def save_version(*, session: Session, script_id: int, text: str, note: str = "",
                 created_by_id: int | None = None) -> ScriptVersion:
    """Save ``text`` as the next version, unless it equals the latest one (then that one is returned)."""
    script = get_script(session=session, script_id=script_id)
    last = latest_version(session=session, script_id=script.id)
    if last is not None and last.text == text:
        return last
    number = (session.scalar(select(func.max(ScriptVersion.number))
                             .where(ScriptVersion.script_id == script.id)) or 0) + 1
    version = ScriptVersion(script_id=script.id, number=number, text=text, note=note[:200],
                            created_by_id=created_by_id)
    session.add(version)
    session.flush()
    return version


def diff_versions(*, session: Session, script_id: int, old: int, new: int) -> str:
    """Unified diff between two version numbers of a script."""
    versions = {v.number: v for v in session.scalars(
        select(ScriptVersion).where(ScriptVersion.script_id == script_id, ScriptVersion.number.in_([old, new])))}
    if old not in versions or new not in versions:
        raise NotFound("One of those script versions does not exist.")
    return "".join(difflib.unified_diff(versions[old].text.splitlines(keepends=True),
                                        versions[new].text.splitlines(keepends=True),
                                        fromfile=f"v{old}", tofile=f"v{new}"))
