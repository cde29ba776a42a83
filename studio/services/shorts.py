"""Auto-reframe and shorts as jobs: a clip reframed to 9:16 / 1:1 / 4:5, and the best 15–60 s parts of a long
clip proposed (sortable by score), then rendered as vertical MP4s with word-by-word captions, each also stored as
a timeline of the original media (EDL / FCPXML / OTIO)."""
from __future__ import annotations

import dataclasses
import shutil
import tempfile
from pathlib import Path
from typing import Any

from engines.errors import InvalidInput
from storage.models import AssetKind
from storage.repo import assets as assets_repo

from . import transcribing
from .editing import named_errors, source_path
from .outputs import create_engine, output_batch, provenance
from .previews import add_rows, put, render
from .runner import JobContext, TaskOutcome, TaskSpec


def _scratch(ctx: JobContext) -> Path:
    return Path(tempfile.mkdtemp(dir=ctx.store.settings.tmp_dir))


def _store_video(ctx: JobContext, batch, s, *, source, out: Path, name: str, purpose: str, engine, params: dict,
                 previews, width: int | None, height: int | None, duration: float | None) -> list[int]:
    stored = batch.put_file(out, ext=".mp4")
    row = assets_repo.add_asset(
        session=s, project_id=source.project_id, stored=stored, kind=AssetKind.video, name=name, mime="video/mp4",
        duration_s=duration, width=width, height=height, fps=source.fps, meta={"purpose": purpose},
        parents=[(source.id, "source")], created_by_id=ctx.created_by_id,
        provenance=provenance(engine, source="edited", parameters=params))
    return [row.id, *add_rows(session=s, project_id=source.project_id, parent_id=row.id, name=name,
                              previews=previews, created_by_id=ctx.created_by_id)]


def reframe(ctx: JobContext, params: dict[str, Any]) -> TaskOutcome:
    from engines.reframe import ReframeRequest

    asset, path = source_path(ctx, int(params["asset_id"]))
    engine = create_engine(ctx.store, "reframe")
    aspect, fill = params.get("aspect", "9:16"), params.get("fill", "auto")
    work = _scratch(ctx)
    try:
        out = work / "reframed.mp4"
        with named_errors(path, asset.name):
            result = engine.run(ReframeRequest(media=path, aspect=aspect, fill=fill, out=out), ctx.sub(0.0, 0.9))
        previews = render(ctx.store, out, ctx.sub(0.9, 0.97))
        name = f"{Path(asset.name).stem} {aspect.replace(':', 'x')}.mp4"
        settings = {"aspect": aspect, "fill": fill, "fills": result.fill_used, "shots": len(result.shots)}
        w, h = result.output_size
        with output_batch(ctx.store) as batch:
            put(previews, batch.put)
            with ctx.store.session() as s:
                ids = _store_video(ctx, batch, s, source=asset, out=out, name=name, purpose="reframe", engine=engine,
                                   params=settings, previews=previews, width=w, height=h,
                                   duration=asset.duration_s)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    crop = [[round(t, 3), round(x, 1), round(y, 1)] for t, x, y, _, _ in result.crop_path]
    return TaskOutcome(message=f"Reframed to {aspect} ({len(result.shots)} shot(s): {', '.join(result.fill_used)}).",
                       result={"video_id": ids[0], "crop": crop, "fills": result.fill_used}, output_asset_ids=ids)


def _words(ctx: JobContext, asset_id: int) -> list[dict[str, Any]]:
    """Words of the newest transcript made from this clip (Edit → Transcript)."""
    with ctx.store.session() as s:
        rows = [a for a in assets_repo.list_assets(session=s, project_id=assets_repo.get_asset(
            session=s, asset_id=asset_id).project_id, kinds=[AssetKind.other])
            if (a.meta or {}).get("purpose") == "transcript"]
        ids = [a.id for a in rows if any(p.id == asset_id for p in a.parents)]
    if not ids:
        raise InvalidInput("Transcribe this clip first (Edit → Transcript): shorts start and end on sentences.")
    data = transcribing.load(ctx.store, max(ids))
    return [{"start": w["start"], "end": w["end"], "text": w["text"]} for w in data["transcript"]["words"]]


def shorts(ctx: JobContext, params: dict[str, Any]) -> TaskOutcome:
    """Propose (``render`` false) or render shorts; rendered ones become video + timeline assets."""
    from engines.autoedit.export import write_edl, write_fcpxml, write_otio
    from engines.shorts import ShortsRequest

    asset, path = source_path(ctx, int(params["asset_id"]))
    words = _words(ctx, asset.id)
    engine = create_engine(ctx.store, "shorts")
    segments = [tuple(map(float, s)) for s in params.get("segments") or []] or None
    request = ShortsRequest(media=path, words=words, n=int(params.get("n", 3)), aspect=params.get("aspect", "9:16"),
                            min_s=float(params.get("min_s", 15)), max_s=float(params.get("max_s", 60)),
                            segments=segments, captions=bool(params.get("captions", True)))
    if not params.get("render"):
        with named_errors(path, asset.name):
            found = engine.propose_only(request, ctx)
        return TaskOutcome(message=f"{len(found)} short(s) proposed from {asset.name}.",
                           result={"candidates": [c.as_dict() for c in found]})
    work = _scratch(ctx)
    try:
        with named_errors(path, asset.name):
            done = engine.run(dataclasses.replace(request, out_dir=work), ctx.sub(0.0, 0.92))
        ids, shorts_out = [], []
        with output_batch(ctx.store) as batch:
            made = []
            for i, short in enumerate(done.shorts):
                ctx.check()
                previews = put(render(ctx.store, short.video), batch.put)
                short.timeline.name = short.candidate.title or f"Short {i + 1}"
                files = []
                for ext, writer in ((".edl", write_edl), (".fcpxml", write_fcpxml), (".otio", write_otio)):
                    out = work / f"short-{i + 1}{ext}"
                    writer(short.timeline, out)
                    files.append((ext, batch.put_file(out, ext=ext)))
                made.append((short, previews, files))
            with ctx.store.session() as s:
                for short, previews, files in made:
                    c = short.candidate
                    params_ = {"start": c.start, "end": c.end, "score": c.score, "title": c.title,
                               "reasons": c.reasons, "aspect": request.aspect, "captions": request.captions}
                    title = (c.title or "Short")[:80]
                    vid = _store_video(ctx, batch, s, source=asset, out=short.video, name=f"{title}.mp4",
                                       purpose="short", engine=engine, params=params_, previews=previews,
                                       width=None, height=None, duration=c.end - c.start)
                    tl_ids = []
                    for ext, stored in files:
                        row = assets_repo.add_asset(
                            session=s, project_id=asset.project_id, stored=stored, kind=AssetKind.timeline,
                            name=f"{title}{ext}", duration_s=c.end - c.start, meta={"purpose": f"short_{ext[1:]}",
                                                                                     "timeline": short.timeline.as_dict()},
                            parents=[(asset.id, "source")], created_by_id=ctx.created_by_id,
                            provenance=provenance(engine, source="edited", parameters=params_))
                        tl_ids.append(row.id)
                    ids += vid + tl_ids
                    shorts_out.append({"video_id": vid[0], "timeline_ids": tl_ids, **c.as_dict()})
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return TaskOutcome(message=f"Rendered {len(shorts_out)} short(s) in {done.seconds:.0f} s.",
                       result={"shorts": shorts_out}, output_asset_ids=ids)


SPECS = [TaskSpec("reframe", reframe, title="Reframe"), TaskSpec("shorts", shorts, title="Shorts")]
