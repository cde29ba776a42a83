"""Edit-tab tasks: shot detection, the silence rough cut and its exports, and the video enhancements
(stabilise, colour, interpolate). Results are stored as assets with provenance; timelines as JSON assets so a
person's clip toggles are kept (and recorded as human edits) until the export."""
from __future__ import annotations

import json
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from engines.errors import ReelsmithError
from storage.models import AssetKind
from storage.repo import assets as assets_repo

from .outputs import create_engine, output_batch, provenance
from .previews import add_rows, put, render
from .runner import JobContext, TaskOutcome, TaskSpec


def source_path(ctx: JobContext, asset_id: int):
    with ctx.store.session() as s:
        asset = assets_repo.get_asset(session=s, asset_id=asset_id)
        return asset, ctx.store.media.path_for(asset.content_hash, asset.ext)


@contextmanager
def named_errors(path: Path, name: str):
    """Engines name the file they read, which in the store is a hash: say the asset's name instead."""
    try:
        yield
    except ReelsmithError as exc:
        if path.name in exc.message:
            raise type(exc)(exc.message.replace(path.name, name)) from exc
        raise


def _scratch(ctx: JobContext) -> Path:
    return Path(tempfile.mkdtemp(dir=ctx.store.settings.tmp_dir))


def _cleanup(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


def shots(ctx: JobContext, params: dict[str, Any]) -> TaskOutcome:
    from engines.shots import ShotRequest

    asset, path = source_path(ctx, int(params["asset_id"]))
    engine = create_engine(ctx.store, "shots")
    with named_errors(path, asset.name):
        result = engine.run(ShotRequest(media=path), ctx)
    data = result.as_dict()
    with ctx.store.session() as s:
        assets_repo.update_media_info(session=s, asset_id=asset.id, duration_s=asset.duration_s, width=asset.width,
                                      height=asset.height, fps=asset.fps, meta={"shots": data})
    cuts = sum(1 for t in result.transitions if t.type == "cut")
    return TaskOutcome(message=f"{len(result.transitions)} transition(s) ({cuts} cut(s)) in {result.frames} frames.",
                       result=data)


def rough_cut(ctx: JobContext, params: dict[str, Any]) -> TaskOutcome:
    from engines.autoedit import AutoEditRequest

    asset, path = source_path(ctx, int(params["asset_id"]))
    engine = create_engine(ctx.store, "autoedit")
    shot_times = tuple(t["time"] for t in ((asset.meta or {}).get("shots") or {}).get("transitions", []))
    options = {k: params[k] for k in ("silence_db", "margin_s", "min_clip_s", "min_silence_s") if
               params.get(k) is not None}
    with named_errors(path, asset.name):
        result = engine.run(AutoEditRequest(media=path, shots=shot_times if params.get("snap_to_shots") else (),
                                            **options), ctx.sub(0.0, 0.9))
    timeline = result.timeline
    timeline.name = f"Rough cut of {Path(asset.name).stem}"
    data = json.dumps(timeline.as_dict(), indent=1).encode()
    with output_batch(ctx.store) as batch:
        stored = batch.put(data, ".json")
        with ctx.store.session() as s:
            row = assets_repo.add_asset(
                session=s, project_id=asset.project_id, stored=stored, kind=AssetKind.timeline,
                name=f"{timeline.name}.json", mime="application/json", duration_s=timeline.duration,
                meta={"purpose": "timeline", "source_asset_id": asset.id}, parents=[(asset.id, "source")],
                created_by_id=ctx.created_by_id,
                provenance=provenance(engine, source="derived", parameters=result.parameters))
            tid = row.id
    return TaskOutcome(message=f"Rough cut: keeps {result.kept_s:.1f} s, removes {result.removed_s:.1f} s of "
                               f"silence in {len(timeline.clips)} clip(s).",
                       result={"timeline_id": tid, "timeline": timeline.as_dict()}, output_asset_ids=[tid])


def export_timeline(ctx: JobContext, params: dict[str, Any]) -> TaskOutcome:
    """Write the chosen formats of a timeline (with the clips a person switched off left out) as assets."""
    from engines.autoedit import Timeline
    from engines.autoedit.export import render_mp4, write_edl, write_fcpxml, write_otio

    tl_asset, tl_path = source_path(ctx, int(params["timeline_id"]))
    timeline = Timeline.from_dict(json.loads(tl_path.read_text()))
    disabled = set(int(i) for i in params.get("disabled", []))
    for i, clip in enumerate(timeline.clips):
        clip.enabled = i not in disabled
    if not any(c.enabled for c in timeline.clips):
        from engines.errors import InvalidInput

        raise InvalidInput("Every clip is switched off: keep at least one.")
    formats = params.get("formats") or ["edl", "fcpxml", "otio", "mp4"]
    writers = {"edl": (write_edl, ".edl", AssetKind.timeline), "fcpxml": (write_fcpxml, ".fcpxml", AssetKind.timeline),
               "otio": (write_otio, ".otio", AssetKind.timeline), "mp4": (None, ".mp4", AssetKind.video)}
    work = _scratch(ctx)
    try:
        files = []
        for i, fmt in enumerate(formats):
            ctx.check()
            writer, ext, kind = writers[fmt]
            out = work / f"{timeline.name}{ext}"
            if fmt == "mp4":
                render_mp4(timeline, out, ctx.sub(0.1, 0.9))
            else:
                writer(timeline, out)
            files.append((fmt, out, kind))
            ctx.report((i + 1) / len(formats) * 0.9, f"Wrote {fmt.upper()}")
        engine_params = {"formats": formats, "disabled_clips": sorted(disabled), "timeline_asset_id": tl_asset.id}
        with output_batch(ctx.store) as batch:
            stored = [(fmt, batch.put_file(out, ext=out.suffix), kind, out) for fmt, out, kind in files]
            mp4 = next((st for fmt, st, _, _ in stored if fmt == "mp4"), None)
            shown = put(render(ctx.store, mp4.path), batch.put) if mp4 else None
            ids = []
            with ctx.store.session() as s:
                for fmt, st, kind, out in stored:
                    row = assets_repo.add_asset(
                        session=s, project_id=tl_asset.project_id, stored=st, kind=kind, name=out.name,
                        duration_s=timeline.duration, meta={"purpose": f"export_{fmt}"},
                        parents=[(tl_asset.id, "timeline")], created_by_id=ctx.created_by_id,
                        provenance={"source": "edited", "engine": "autoedit", "backend": "lite",
                                    "parameters": engine_params})
                    ids.append(row.id)
                    if disabled:
                        assets_repo.record_human_edit(session=s, asset_id=row.id, op="toggle_clips",
                                                      details={"disabled": sorted(disabled)})
                    if fmt == "mp4" and shown is not None:
                        ids += add_rows(session=s, project_id=tl_asset.project_id, parent_id=row.id, name=out.name,
                                        previews=shown, created_by_id=ctx.created_by_id)
    finally:
        _cleanup(work)
    return TaskOutcome(message=f"Exported {', '.join(f.upper() for f in formats)} ({timeline.duration:.1f} s).",
                       result={"asset_ids": ids}, output_asset_ids=ids)


def _enhance(ctx: JobContext, params: dict[str, Any], kind: str, label: str, build_request) -> TaskOutcome:
    asset, path = source_path(ctx, int(params["asset_id"]))
    engine = create_engine(ctx.store, kind)
    work = _scratch(ctx)
    try:
        out = work / f"{Path(asset.name).stem} ({label}).mp4"
        request = build_request(path, out, params)
        with named_errors(path, asset.name):
            result = engine.run(request, ctx.sub(0.0, 0.93))
        summary = result.summary() if hasattr(result, "summary") else _plain(result)
        summary = {**summary, **{f"quality_{k}": v for k, v in (summary.get("quality") or {}).items()}}
        metrics = {k: v for k, v in summary.items()
                   if k not in ("out", "media") and (isinstance(v, (int, float, str, bool)) or v is None)}
        with output_batch(ctx.store) as batch:
            stored = batch.put_file(out, ext=".mp4")
            shown = put(render(ctx.store, stored.path), batch.put)
            with ctx.store.session() as s:
                row = assets_repo.add_asset(
                    session=s, project_id=asset.project_id, stored=stored, kind=AssetKind.video, name=out.name,
                    duration_s=asset.duration_s, width=asset.width, height=asset.height, fps=asset.fps,
                    meta={"purpose": kind, "metrics": metrics}, parents=[(asset.id, "source")],
                    created_by_id=ctx.created_by_id,
                    provenance=provenance(engine, source="edited", parameters={
                        k: (str(v) if isinstance(v, Path) else v) for k, v in params.items()}))
                ids = [row.id, *add_rows(session=s, project_id=asset.project_id, parent_id=row.id, name=out.name,
                                         previews=shown, created_by_id=ctx.created_by_id)]
    finally:
        _cleanup(work)
    return TaskOutcome(message=f"{label.capitalize()}: done.", result={"asset_id": ids[0], "metrics": metrics},
                       output_asset_ids=ids)


def _plain(obj) -> dict[str, Any]:
    if isinstance(obj, dict):
        return obj
    if hasattr(obj, "as_dict"):
        return obj.as_dict()
    return {k: v for k, v in vars(obj).items() if not k.startswith("_")}


def stabilize(ctx: JobContext, params: dict[str, Any]) -> TaskOutcome:
    from engines.video.types import StabilizeRequest

    def request(path, out, p):
        return StabilizeRequest(media=path, out=out, smoothness=float(p.get("smoothness", 2000.0)),
                                crop_max=float(p.get("crop_max", 0.1)))
    return _enhance(ctx, params, "stabilize", "stabilised", request)


def colour(ctx: JobContext, params: dict[str, Any]) -> TaskOutcome:
    from engines.video.types import ColourRequest

    reference = None
    if params.get("reference_asset_id"):
        _, reference = source_path(ctx, int(params["reference_asset_id"]))

    def request(path, out, p):
        return ColourRequest(media=path, out=out, white_balance=bool(p.get("white_balance", True)),
                             auto_exposure=bool(p.get("auto_exposure", True)), reference=reference,
                             match=p.get("match", "reinhard"), lut=shipped_lut(p.get("lut")),
                             lut_strength=float(p.get("lut_strength", 1.0)))
    return _enhance(ctx, params, "colour", "graded", request)


LUT_DIR = Path(__file__).resolve().parents[2] / "assets" / "luts"


def shipped_lut(value) -> Path | None:
    """A look from the shipped LUT folder; any other path in a request is refused (no reading server files)."""
    if not value:
        return None
    from storage.paths import contained

    return contained(LUT_DIR, str(value))


def interpolate(ctx: JobContext, params: dict[str, Any]) -> TaskOutcome:
    from engines.video.types import InterpolateRequest

    slow = bool(params.get("slow_motion"))

    def request(path, out, p):
        return InterpolateRequest(media=path, out=out, factor=int(p.get("factor", 2)), slow_motion=slow)
    return _enhance(ctx, params, "interpolate", "slow motion" if slow else "interpolated", request)


SPECS = [TaskSpec("shots", shots, title="Shot detection"), TaskSpec("rough_cut", rough_cut, title="Rough cut"),
         TaskSpec("export_timeline", export_timeline, title="Export"),
         TaskSpec("stabilize", stabilize, title="Stabilise"), TaskSpec("colour", colour, title="Colour"),
         TaskSpec("interpolate", interpolate, title="Interpolate")]
