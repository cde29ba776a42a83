from __future__ import annotations

from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session, selectinload

from ..errors import Conflict, InvalidValue, NotFound
from ..media import MediaStore, StoredFile
from ..models import Asset, AssetKind, AssetLink, Provenance, utcnow
from .projects import get_project


def add_asset(*, session: Session, project_id: int, stored: StoredFile, kind: AssetKind | str, name: str,
              mime: str | None = None, duration_s: float | None = None, width: int | None = None,
              height: int | None = None, fps: float | None = None, meta: dict[str, Any] | None = None,
              parents: list[tuple[int, str]] | None = None, provenance: dict[str, Any] | None = None,
              created_by_id: int | None = None) -> Asset:
    """Add a row for a file already in the media store (write the file first, then call this).

    ``parents`` is a list of (asset id, role); ``provenance`` holds the keys of ``Provenance`` (engine, backend,
    model_id, prompt, negative_prompt, seed, parameters, source).
    """
    if not stored.path.is_file():
        raise InvalidValue(f"The file for '{name}' is not in the media store.")
    project = get_project(session=session, project_id=project_id)
    asset = Asset(project_id=project.id, kind=AssetKind(kind), name=name[:255] or stored.sha256[:12],
                  content_hash=stored.sha256, ext=stored.ext, mime=mime, size_bytes=stored.size,
                  duration_s=duration_s, width=width, height=height, fps=fps, meta=meta or {},
                  created_by_id=created_by_id)
    session.add(asset)
    session.flush()
    for parent_id, role in parents or []:
        parent = session.get(Asset, parent_id)
        if parent is None or parent.project_id != project.id:
            raise InvalidValue(f"Parent asset #{parent_id} is not in this project.")
        session.add(AssetLink(parent_id=parent_id, child_id=asset.id, role=role))
    prov = dict(provenance or {})
    prov.setdefault("source", "upload")
    allowed = {"source", "engine", "backend", "model_id", "prompt", "negative_prompt", "seed", "parameters"}
    unknown = set(prov) - allowed
    if unknown:
        raise InvalidValue(f"Unknown provenance fields: {', '.join(sorted(unknown))}")
    session.add(Provenance(asset_id=asset.id, created_by_id=created_by_id, **prov))
    session.flush()
    return asset


def get_asset(*, session: Session, asset_id: int) -> Asset:
    asset = session.get(Asset, asset_id, options=[selectinload(Asset.provenance)])
    if asset is None:
        raise NotFound(f"Asset #{asset_id} does not exist (it may have been deleted).")
    return asset


def list_assets(*, session: Session, project_id: int, kinds: list[AssetKind] | None = None,
                top_level_only: bool = False) -> list[Asset]:
    """Assets of a project, newest first. ``top_level_only`` hides derived previews (posters, contact sheets)."""
    stmt = select(Asset).where(Asset.project_id == project_id).order_by(Asset.created_at.desc(), Asset.id.desc())
    if kinds:
        stmt = stmt.where(Asset.kind.in_(kinds))
    if top_level_only:
        preview = select(AssetLink.child_id).where(AssetLink.role.in_(PREVIEW_ROLES))
        stmt = stmt.where(Asset.id.not_in(preview))
    return list(session.scalars(stmt))


PREVIEW_ROLES = ("poster", "contact_sheet", "thumbnail")


def child_with_role(*, session: Session, asset_id: int, role: str) -> Asset | None:
    return session.scalar(select(Asset).join(AssetLink, and_(AssetLink.child_id == Asset.id))
                          .where(AssetLink.parent_id == asset_id, AssetLink.role == role)
                          .order_by(Asset.id.desc()).limit(1))


def links_of(*, session: Session, asset_id: int) -> list[AssetLink]:
    return list(session.scalars(select(AssetLink).where(
        (AssetLink.parent_id == asset_id) | (AssetLink.child_id == asset_id))))


def update_media_info(*, session: Session, asset_id: int, duration_s: float | None = None,
                      width: int | None = None, height: int | None = None, fps: float | None = None,
                      meta: dict[str, Any] | None = None) -> Asset:
    asset = get_asset(session=session, asset_id=asset_id)
    asset.duration_s, asset.width, asset.height, asset.fps = duration_s, width, height, fps
    if meta is not None:
        asset.meta = {**(asset.meta or {}), **meta}
    session.flush()
    return asset


def record_human_edit(*, session: Session, asset_id: int, op: str, details: dict[str, Any] | None = None,
                      user: str | None = None) -> Provenance:
    """Append a human edit (what a person changed by hand) to the asset's provenance."""
    asset = get_asset(session=session, asset_id=asset_id)
    prov = asset.provenance
    if prov is None:
        prov = Provenance(asset_id=asset.id, source="upload")
        session.add(prov)
    prov.human_edits = [*(prov.human_edits or []),
                        {"op": op, "details": details or {}, "by": user, "at": utcnow().isoformat()}]
    session.flush()
    return prov


def delete_asset(*, session: Session, asset_id: int, with_previews: bool = True) -> list[tuple[str, str]]:
    """Delete an asset (its provenance and links go with it) and, by default, the previews made from it.
    Returns the (hash, ext) of the files that may now be unused; see ``unreferenced``."""
    asset = get_asset(session=session, asset_id=asset_id)
    from ..audience_models import Publication
    published = session.scalar(select(Publication.title).where(Publication.asset_id == asset_id))
    if published is not None:
        raise Conflict(f"'{asset.name}' is published as '{published}'; delete that publication first.")
    doomed = [asset]
    if with_previews:
        doomed += list(session.scalars(select(Asset).join(AssetLink, AssetLink.child_id == Asset.id).where(
            AssetLink.parent_id == asset_id, AssetLink.role.in_(PREVIEW_ROLES))))
    files = [(a.content_hash, a.ext) for a in doomed]
    for a in doomed:
        session.delete(a)
    session.flush()
    return files


def unreferenced(*, session: Session, files: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Those of ``files`` that no asset row refers to any more."""
    out = []
    for sha, ext in dict.fromkeys(files):
        used = session.scalar(select(Asset.id).where(Asset.content_hash == sha, Asset.ext == ext).limit(1))
        if used is None:
            out.append((sha, ext))
    return out


def remove_unused_files(*, session: Session, media: MediaStore, files: list[tuple[str, str]]) -> int:
    """Remove the files of ``files`` no row uses. Call after the deleting transaction has committed."""
    return sum(media.remove(sha, ext) for sha, ext in unreferenced(session=session, files=files))


def missing_files(*, session: Session, media: MediaStore) -> list[Asset]:
    """Rows whose file is gone from disk (should never happen; shown by the health check)."""
    return [a for a in session.scalars(select(Asset)) if not media.exists(a.content_hash, a.ext)]
