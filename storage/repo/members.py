"""Who may do what in a project: roles per member, resolved with the instance's rules."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import InvalidValue, NotFound
from ..governance_models import ProjectMember, Role
from ..models import Project, User


def _role(value: Role | str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise InvalidValue(f"Roles are {', '.join(r.value for r in Role)}; got {value!r}.") from None


def set_role(*, session: Session, project_id: int, user_name: str, role: Role | str) -> ProjectMember:
    """Give a user a role in a project (replacing any earlier one). The user must exist on the instance."""
    role = _role(role)
    user = session.scalar(select(User).where(User.name == user_name))
    if user is None:
        raise NotFound(f"There is no user called '{user_name}' on this instance.")
    if session.get(Project, project_id) is None:
        raise NotFound(f"Project #{project_id} does not exist (it may have been deleted).")
    member = session.scalar(select(ProjectMember).where(ProjectMember.project_id == project_id,
                                                        ProjectMember.user_id == user.id))
    if member is None:
        member = ProjectMember(project_id=project_id, user_id=user.id, role=role)
        session.add(member)
    member.role = role
    session.flush()
    return member


def remove_member(*, session: Session, project_id: int, user_name: str) -> bool:
    member = session.scalar(select(ProjectMember).join(User, User.id == ProjectMember.user_id)
                            .where(ProjectMember.project_id == project_id, User.name == user_name))
    if member is None:
        return False
    session.delete(member)
    session.flush()
    return True


def list_members(*, session: Session, project_id: int) -> list[tuple[str, Role]]:
    rows = session.execute(select(User.name, ProjectMember.role).join(User, User.id == ProjectMember.user_id)
                           .where(ProjectMember.project_id == project_id).order_by(User.name))
    return [(name, role) for name, role in rows]


def role_of(*, session: Session, project_id: int | None, user_id: int | None, default: Role | str = Role.viewer
            ) -> Role:
    """The user's role in the project. Nobody signed in (a single-user studio) and instance admins are owners;
    then an explicit membership; then the project's creator is owner; anyone else gets ``default``."""
    if user_id is None:
        return Role.owner
    user = session.get(User, user_id)
    if user is None:
        return _role(default)
    if user.is_admin:
        return Role.owner
    if project_id is None:
        return _role(default)
    member = session.scalar(select(ProjectMember.role).where(ProjectMember.project_id == project_id,
                                                             ProjectMember.user_id == user_id))
    if member is not None:
        return member
    project = session.get(Project, project_id)
    if project is not None and project.owner_id == user_id:
        return Role.owner
    return _role(default)
