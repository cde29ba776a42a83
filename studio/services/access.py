"""The access policy of a team instance, checked in the service functions every handler goes through (not only
by hiding controls): which role each action needs, and who counts as signed in.

Without configured users (a single-person studio) nobody is signed in and everything is allowed, as before.
With users: instance admins (the first user listed) act as owners everywhere; otherwise the project's
membership decides, the project's creator is its owner, and everyone else gets the instance's default role
(``viewer`` unless changed in Responsibility → Governance).
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from storage.db import Store
from storage.errors import Forbidden
from storage.governance_models import Role
from storage.models import User
from storage.repo import members
from storage.repo.preferences import get_preference, set_preference

NEEDS: dict[str, Role] = {
    "view": Role.viewer,          # open the project, see assets, aggregate dashboards
    "edit": Role.editor,          # upload, generate, edit, save scripts, request a publish
    "publish": Role.editor,       # publish directly (when the project does not require review)
    "approve": Role.editor,       # approve someone else's publish request
    "manage": Role.owner,         # rename/delete the project, members, review setting
    "viewer_data": Role.owner,    # raw viewing events, per-viewer views, export/delete a viewer's data
}
WHAT = {"view": "open this project", "edit": "change this project", "publish": "publish from this project",
        "approve": "approve publishes in this project", "manage": "manage this project",
        "viewer_data": "see or change individual viewers' data"}
# Jobs that act on the whole instance rather than one project need an admin (owner with no project).
INSTANCE_JOBS = {"sample_audience"}
DEFAULT_ROLE_KEY = "team.default_role"


def default_role(session: Session) -> Role:
    return Role(get_preference(session=session, key=DEFAULT_ROLE_KEY, default={"role": "viewer"})["role"])


def set_default_role(store: Store, role: str, *, user_id: int | None) -> None:
    with store.session() as s:
        _require(s, user_id, None, "manage")
        set_preference(session=s, key=DEFAULT_ROLE_KEY, value={"role": Role(role).value})


def role(store: Store, user_id: int | None, project_id: int | None) -> Role:
    with store.session() as s:
        return members.role_of(session=s, project_id=project_id, user_id=user_id, default=default_role(s))


def _a(r: Role) -> str:
    return f"{'an' if r.value[0] in 'aeiou' else 'a'} {r.value}"


def _require(session: Session, user_id: int | None, project_id: int | None, action: str) -> Role:
    have = members.role_of(session=session, project_id=project_id, user_id=user_id, default=default_role(session))
    need = NEEDS[action]
    if have.rank < need.rank:
        user = session.get(User, user_id)
        who = user.name if user is not None else "this user"
        where = "on this instance" if project_id is None else "in this project"
        raise Forbidden(f"{who} is {_a(have)} {where}; only {_a(need)} or above may "
                        f"{WHAT[action]}.")
    return have


def require(store: Store, user_id: int | None, project_id: int | None, action: str, *,
            session: Session | None = None) -> Role:
    """Raise ``Forbidden`` unless the user's role allows ``action`` (see ``NEEDS``); return the role."""
    if user_id is None:
        return Role.owner
    if session is not None:
        return _require(session, user_id, project_id, action)
    with store.session() as s:
        return _require(s, user_id, project_id, action)


def require_job(store: Store, kind: str, project_id: int | None, user_id: int | None) -> None:
    if user_id is None:
        return
    if kind in INSTANCE_JOBS or project_id is None:
        require(store, user_id, None, "manage")
    else:
        require(store, user_id, project_id, "edit")
