"""Publications (watch pages) and their thumbnail/title experiments."""
from __future__ import annotations

import re
import unicodedata

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from ..audience_models import Experiment, ExperimentArm, Publication, Visibility
from ..errors import Conflict, InvalidValue, NotFound
from ..models import Asset, AssetKind, utcnow

MAX_TITLE = 200
MAX_DESCRIPTION = 5000


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:60].strip("-") or "video"


def _unique_slug(session: Session, wanted: str) -> str:
    slug, n = wanted, 2
    while session.scalar(select(Publication.id).where(Publication.slug == slug)) is not None:
        slug, n = f"{wanted}-{n}", n + 1
    return slug


def _clean_title(title: str) -> str:
    title = " ".join((title or "").split())
    if not title:
        raise InvalidValue("A publication needs a title.")
    if len(title) > MAX_TITLE:
        raise InvalidValue(f"Titles are at most {MAX_TITLE} characters.")
    return title


def _checked_asset(session: Session, asset_id: int | None, project_id: int, kind: AssetKind,
                   what: str) -> Asset | None:
    if asset_id is None:
        return None
    asset = session.get(Asset, asset_id)
    if asset is None or asset.project_id != project_id:
        raise InvalidValue(f"The {what} is not an asset of this project.")
    if asset.kind != kind:
        raise InvalidValue(f"The {what} must be {'an' if kind.value[0] in 'aeiou' else 'a'} {kind.value} asset.")
    return asset


def publish(*, session: Session, project_id: int, asset_id: int, title: str, description: str = "",
            visibility: Visibility | str = Visibility.public, thumbnail_asset_id: int | None = None,
            slug: str | None = None, is_sample: bool = False, created_by_id: int | None = None) -> Publication:
    """Publish a video asset of the project on its own watch page."""
    video = _checked_asset(session, asset_id, project_id, AssetKind.video, "published file")
    _checked_asset(session, thumbnail_asset_id, project_id, AssetKind.image, "thumbnail")
    if len(description or "") > MAX_DESCRIPTION:
        raise InvalidValue(f"Descriptions are at most {MAX_DESCRIPTION} characters.")
    try:
        visibility = Visibility(visibility)
    except ValueError:
        raise InvalidValue(f"Visibility must be one of: {', '.join(v.value for v in Visibility)}.") from None
    title = _clean_title(title)
    wanted = slugify(slug or title)
    if slug and session.scalar(select(Publication.id).where(Publication.slug == wanted)) is not None:
        raise Conflict(f"The address /watch/{wanted} is taken.")
    pub = Publication(project_id=project_id, asset_id=video.id, thumbnail_asset_id=thumbnail_asset_id,
                      slug=_unique_slug(session, wanted), title=title, description=description or "",
                      visibility=visibility, duration_s=float(video.duration_s or 0.0), is_sample=is_sample,
                      created_by_id=created_by_id)
    session.add(pub)
    session.flush()
    return pub


def update_publication(*, session: Session, publication_id: int, title: str | None = None,
                       description: str | None = None, visibility: Visibility | str | None = None,
                       thumbnail_asset_id: int | None = None) -> Publication:
    pub = get_publication(session=session, publication_id=publication_id)
    if title is not None:
        pub.title = _clean_title(title)
    if description is not None:
        if len(description) > MAX_DESCRIPTION:
            raise InvalidValue(f"Descriptions are at most {MAX_DESCRIPTION} characters.")
        pub.description = description
    if visibility is not None:
        pub.visibility = Visibility(visibility)
    if thumbnail_asset_id is not None:
        _checked_asset(session, thumbnail_asset_id, pub.project_id, AssetKind.image, "thumbnail")
        pub.thumbnail_asset_id = thumbnail_asset_id
    session.flush()
    return pub


def get_publication(*, session: Session, publication_id: int) -> Publication:
    pub = session.get(Publication, publication_id)
    if pub is None:
        raise NotFound(f"Publication #{publication_id} does not exist.")
    return pub


def by_slug(*, session: Session, slug: str, served_only: bool = True) -> Publication:
    """The publication at ``/watch/<slug>``; private ones are not served."""
    pub = session.scalar(select(Publication).where(Publication.slug == slug).options(
        selectinload(Publication.asset), selectinload(Publication.thumbnail),
        selectinload(Publication.experiments).selectinload(Experiment.arms)))
    if pub is None or (served_only and pub.visibility == Visibility.private):
        raise NotFound("No such video.")
    return pub


def list_publications(*, session: Session, project_id: int | None = None,
                      listed_only: bool = False) -> list[Publication]:
    stmt = select(Publication).order_by(Publication.created_at.desc(), Publication.id.desc())
    if project_id is not None:
        stmt = stmt.where(Publication.project_id == project_id)
    if listed_only:
        stmt = stmt.where(Publication.visibility == Visibility.public)
    return list(session.scalars(stmt))


def delete_publication(*, session: Session, publication_id: int) -> None:
    session.delete(get_publication(session=session, publication_id=publication_id))
    session.flush()


# --- experiments -------------------------------------------------------------------------------------------

def start_experiment(*, session: Session, publication_id: int, variants: list[dict], name: str = "") -> Experiment:
    """Start an A/B/n test; each variant is ``{"label", "title"?, "thumbnail_asset_id"?}`` (at least two)."""
    pub = get_publication(session=session, publication_id=publication_id)
    if running_experiment(session=session, publication_id=pub.id) is not None:
        raise Conflict("This video already has a running experiment; stop it first.")
    if len(variants) < 2:
        raise InvalidValue("An experiment needs at least two variants.")
    exp = Experiment(publication_id=pub.id, name=name or f"Test {utcnow():%Y-%m-%d}")
    for i, v in enumerate(variants):
        title = _clean_title(v["title"]) if v.get("title") else None
        thumb = v.get("thumbnail_asset_id")
        _checked_asset(session, thumb, pub.project_id, AssetKind.image, "variant thumbnail")
        if title is None and thumb is None:
            raise InvalidValue(f"Variant {i + 1} needs a title or a thumbnail.")
        exp.arms.append(ExperimentArm(label=(v.get("label") or chr(ord("A") + i))[:60], title=title,
                                      thumbnail_asset_id=thumb))
    session.add(exp)
    session.flush()
    return exp


def running_experiment(*, session: Session, publication_id: int) -> Experiment | None:
    return session.scalar(select(Experiment).where(Experiment.publication_id == publication_id,
                                                   Experiment.status == "running")
                          .options(selectinload(Experiment.arms)))


def stop_experiment(*, session: Session, experiment_id: int, winner_arm_id: int | None = None) -> Experiment:
    """Stop a test; with a winner, its title/thumbnail become the publication's own."""
    exp = session.get(Experiment, experiment_id)
    if exp is None:
        raise NotFound(f"Experiment #{experiment_id} does not exist.")
    exp.status, exp.ended_at, exp.winner_arm_id = "stopped", utcnow(), winner_arm_id
    if winner_arm_id is not None:
        arm = next((a for a in exp.arms if a.id == winner_arm_id), None)
        if arm is None:
            raise InvalidValue("The winner is not a variant of this experiment.")
        if arm.title:
            exp.publication.title = arm.title
        if arm.thumbnail_asset_id:
            exp.publication.thumbnail_asset_id = arm.thumbnail_asset_id
    session.flush()
    return exp


def count_arm(*, session: Session, arm_id: int, impressions: int = 0, clicks: int = 0) -> None:
    """Add to an arm's counters atomically (one UPDATE; safe with concurrent requests)."""
    session.execute(update(ExperimentArm).where(ExperimentArm.id == arm_id).values(
        impressions=ExperimentArm.impressions + impressions, clicks=ExperimentArm.clicks + clicks))
