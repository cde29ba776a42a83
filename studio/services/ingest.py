"""The ``ingest`` task: an uploaded file → checked, probed, previewed → an asset with poster and contact sheet.

Nothing is stored unless every step succeeds: the file is checked and probed where it lies, the previews are made,
and only then are the files written into the media store and the rows committed in one transaction. If that
transaction fails, files it had newly written are removed again.
"""
from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from engines.errors import InvalidMedia, MediaTooLarge
from engines.media import check_type, probe
from storage.models import AssetKind
from storage.paths import uploaded_file
from storage.repo import assets as assets_repo
from storage.repo import preferences

from . import credentials
from .outputs import output_batch
from .previews import add_rows, put, render
from .runner import JobContext, TaskOutcome, TaskSpec

UPLOAD_LIMIT_KEY = "uploads"


def upload_limit_mb(*, session, hard_cap_mb: int) -> int:
    """The limit chosen in Settings, never above the server's hard cap."""
    chosen = preferences.get_preference(session=session, key=UPLOAD_LIMIT_KEY).get("max_mb")
    return min(int(chosen), hard_cap_mb) if chosen else hard_cap_mb


def ingest(ctx: JobContext, params: dict[str, Any]) -> TaskOutcome:
    store = ctx.store
    name = Path(params.get("name") or str(params["path"])).name
    src = uploaded_file(store.settings, params["path"], name)
    project_id = int(params["project_id"])

    # 1. Check size and type (by extension, then content)
    ctx.report(0.02, f"Checking {name}")
    if not src.is_file():
        raise InvalidMedia(f"{name}: the uploaded file is gone; upload it again.")
    with store.session() as s:
        limit_mb = upload_limit_mb(session=s, hard_cap_mb=store.settings.max_upload_mb)
    size = src.stat().st_size
    if size > limit_mb * 1024 * 1024:
        shown = f"{size / 1048576:.1f}" if size < 10 * 1048576 else f"{size / 1048576:.0f}"
        raise MediaTooLarge(f"{name} is {shown} MB; the upload limit is {limit_mb} MB (Settings → Uploads).")
    check_type(src, name)

    # 2. Probe streams
    ctx.report(0.08, f"Probing {name}")
    info = probe(src)
    ctx.check()

    # 3. Poster and contact sheet; an AI watermark or content credentials on the file
    previews = render(store, src, ctx.sub(0.1, 0.8))
    ctx.report(0.82, f"Looking for content credentials and an AI watermark in {name}")
    found = credentials.upload_meta(store.settings, src, info.kind)
    thumbs = previews.result
    ctx.check()

    # 4. Files into the media store (temp file, then rename); 5. rows in one transaction
    ctx.report(0.88, "Saving to the project")
    with output_batch(store) as batch:
        stored = batch.put_file(src, ext=src.suffix.lower() or Path(name).suffix.lower())
        put(previews, batch.put)
        ctx.check()
        with store.session() as s:
            existing = [a for a in assets_repo.list_assets(session=s, project_id=project_id)
                        if a.content_hash == stored.sha256 and a.ext == stored.ext]
            if existing:
                store.media.unstage(src)
                return TaskOutcome(message=f"{name} is already in this project as '{existing[0].name}'.",
                                   result={"asset_id": existing[0].id, "duplicate": True},
                                   output_asset_ids=[existing[0].id])
            asset = assets_repo.add_asset(
                session=s, project_id=project_id, stored=stored, kind=AssetKind(info.kind), name=name,
                mime=mimetypes.guess_type(name)[0], duration_s=info.duration_s, width=info.width,
                height=info.height, fps=info.fps, created_by_id=ctx.created_by_id,
                meta={"probe": {k: v for k, v in info.as_dict().items() if k != "path"},
                      "thumb_times": [round(t.time_s, 3) for t in thumbs.thumbs], **found},
                provenance={"source": "upload", "parameters": {"original_name": name}})
            ids = [asset.id, *add_rows(session=s, project_id=project_id, parent_id=asset.id, name=name,
                                       previews=previews, created_by_id=ctx.created_by_id)]

    store.media.unstage(src)  # the upload handed over through the media volume is stored now
    ctx.report(1.0, "Done")
    summary = _summary(info)
    if found.get("watermark", {}).get("found"):
        summary += "; AI-generated mark found (payload " + found["watermark"]["payload"] + ")"
    if found.get("credentials"):
        cred = found["credentials"]
        summary += "; content credentials " + ("valid" if cred["ok"] else "NOT valid") + (
            ", declaring AI-generated content" if cred["ai_generated"] else "")
    return TaskOutcome(message=f"Added {name}: {summary}.",
                       result={"asset_id": ids[0], "poster_id": ids[1], "sheet_id": ids[2], "summary": summary,
                               "seconds": round(thumbs.seconds, 3)},
                       output_asset_ids=ids)


def _summary(info) -> str:
    parts = [info.kind]
    if info.width and info.height:
        parts.append(f"{info.width}×{info.height}")
    if info.fps:
        parts.append(f"{info.fps:.3g} fps")
    if info.duration_s:
        parts.append(f"{info.duration_s:.1f} s")
    if info.audio is not None:
        parts.append(f"audio {info.audio.sample_rate} Hz × {info.audio.channels}")
    return ", ".join(parts)


SPEC = TaskSpec(kind="ingest", fn=ingest, queue="cpu", title="Upload")
