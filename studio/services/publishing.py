"""Publish tab services (no Gradio): publish a video, thumbnails, experiments, and the long audience tasks
(CSV import, sample audience) as jobs with progress, a row in the store and cancellation."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from storage.audience_models import Publication
from storage.db import Store
from storage.errors import InvalidValue
from storage.repo import assets as assets_repo
from storage.repo import publications

from . import audience_import, sample_audience
from .runner import JobContext, TaskOutcome, TaskSpec


def publish_video(store: Store, *, project_id: int, asset_id: int, title: str, description: str,
                  visibility: str, thumbnail_asset_id: int | None, user_id: int | None = None) -> Publication:
    """Publish; without a chosen thumbnail the video's own poster (made at upload) is used."""
    with store.session() as s:
        if thumbnail_asset_id is None:
            poster = assets_repo.child_with_role(session=s, asset_id=asset_id, role="poster")
            thumbnail_asset_id = poster.id if poster is not None else None
        pub = publications.publish(session=s, project_id=project_id, asset_id=asset_id, title=title,
                                   description=description, visibility=visibility,
                                   thumbnail_asset_id=thumbnail_asset_id, created_by_id=user_id)
        s.flush()
        s.expunge(pub)
        return pub


def parse_variants(titles_text: str, thumbnail_ids: list[int] | None) -> list[dict[str, Any]]:
    """Variants from one title per line and/or thumbnails; paired in order when both are given."""
    titles = [t.strip() for t in (titles_text or "").splitlines() if t.strip()]
    thumbs = list(thumbnail_ids or [])
    n = max(len(titles), len(thumbs))
    if n < 2:
        raise InvalidValue("Give at least two titles (one per line) or two thumbnails to test.")
    if titles and thumbs and len(titles) != len(thumbs):
        raise InvalidValue("Give as many titles as thumbnails (they are tested in pairs), or only one kind.")
    return [{"label": chr(ord("A") + i), "title": titles[i] if titles else None,
             "thumbnail_asset_id": thumbs[i] if thumbs else None} for i in range(n)]


def import_task(ctx: JobContext, params: dict[str, Any]) -> TaskOutcome:
    path = Path(params["path"])
    ctx.report(0.05, f"Reading {params.get('name') or path.name}")
    if params["layout"] == "metrics":
        report = audience_import.import_metrics(ctx.store, path, project_id=params.get("project_id"),
                                                platform=params.get("platform") or "import")
    else:
        report = audience_import.import_events(ctx.store, path, project_id=params.get("project_id"))
    ctx.store.media.unstage(path)
    ctx.check()
    return TaskOutcome(message=f"{report.accepted} rows imported, {report.rejected} rejected.",
                       result={"report": report.as_text(), "accepted": report.accepted,
                               "rejected": report.rejected})


def sample_task(ctx: JobContext, params: dict[str, Any]) -> TaskOutcome:
    counts = sample_audience.generate(ctx.store, viewers=int(params.get("viewers", 600)), ctx=ctx)
    return TaskOutcome(message=(f"Sample channel ready: {counts['publications']} videos, {counts['sessions']} "
                                f"viewing sessions, {counts['events']} events, {counts['comments']} comments."),
                       result=counts)


SPECS = [TaskSpec(kind="audience_import", fn=import_task, queue="cpu", title="Import audience data"),
         TaskSpec(kind="sample_audience", fn=sample_task, queue="cpu", title="Sample audience")]
