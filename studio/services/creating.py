"""Create-tab tasks: scene images and the storyboard, music beds, voice-over, and the animatic.

Each task runs its engine, writes the files into the media store and adds the asset rows with full provenance
(engine, backend, model, prompt, seed, parameters) in one transaction; a failure or a cancel removes the files it
had written. Assets made for a script carry ``meta.script_id`` and ``meta.scene_index`` so later steps find them.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from engines.animatic import AnimaticRequest, AnimaticScene, Caption
from engines.audio_io import AudioClip
from engines.errors import InvalidInput
from engines.music import MusicRequest
from engines.scene import SceneRequest
from engines.scene.pnginfo import png_bytes
from engines.script import parse
from engines.speech import SpeechRequest
from engines.speech.cast import assign_voices
from storage.models import AssetKind
from storage.repo import assets as assets_repo

from . import credentials
from .outputs import create_engine, output_batch, provenance
from .previews import add_rows, put, render
from .runner import JobContext, TaskOutcome, TaskSpec
from .writing import latest_text

STORYBOARD, VOICEOVER, MUSIC, ANIMATIC = "storyboard", "voiceover", "music", "animatic"


# --- looking things up -----------------------------------------------------------------------------------------
def script_assets(store, project_id: int, script_id: int, purpose: str) -> dict[int, Any]:
    """The newest asset per scene index made for ``purpose`` from a script."""
    found: dict[int, Any] = {}
    with store.session() as s:
        for a in assets_repo.list_assets(session=s, project_id=project_id):  # newest first
            meta = a.meta or {}
            if meta.get("purpose") == purpose and meta.get("script_id") == script_id:
                found.setdefault(int(meta.get("scene_index", 0)), a)
    return found


def _scenes(store, script_id: int):
    text = latest_text(store, script_id)
    play = parse(text)
    if not play.scenes:
        raise InvalidInput("The script has no scenes yet: add scene headings like 'INT. KITCHEN - DAY'.")
    return play


def _prompt_for(scene) -> str:
    words = " ".join(scene.action_text.split())
    return f"{scene.heading}. {words}"[:1500]


# --- images ----------------------------------------------------------------------------------------------------
def _store_images(ctx, engine, result, *, project_id, name, meta, parents=()) -> list[int]:
    ids = []
    with output_batch(ctx.store) as batch:
        files = []
        for i, (image, seed) in enumerate(zip(result.images, result.seeds)):
            params = result.image_parameters(i)
            # every generated picture carries the instance's invisible AI mark (detected again on upload)
            image, mark = credentials.watermark_image(ctx.store.settings, image)
            files.append((batch.put(png_bytes(image, params), ".png"), image, seed, params, mark))
        ctx.check()
        with ctx.store.session() as s:
            for i, (stored, image, seed, params, mark) in enumerate(files):
                a = assets_repo.add_asset(
                    session=s, project_id=project_id, stored=stored, kind=AssetKind.image,
                    name=name if len(files) == 1 else f"{name} ({i + 1})", mime="image/png", width=image.width,
                    height=image.height, meta={**meta, "watermark": mark}, parents=list(parents), created_by_id=ctx.created_by_id,
                    provenance=provenance(engine, prompt=params.get("prompt"),
                                          negative_prompt=params.get("negative_prompt"), seed=seed,
                                          parameters=params))
                ids.append(a.id)
    return ids


def scene_image(ctx: JobContext, params: dict[str, Any]) -> TaskOutcome:
    engine = create_engine(ctx.store, "scene")
    project_id = int(params["project_id"])
    request = dict(params["request"])
    parents = []
    if params.get("init_asset_id"):
        with ctx.store.session() as s:
            init = assets_repo.get_asset(session=s, asset_id=int(params["init_asset_id"]))
            request["init_image"] = ctx.store.media.path_for(init.content_hash, init.ext)
            parents = [(init.id, "init_image")]
    result = engine.run(SceneRequest(**request), ctx.sub(0.0, 0.9))
    ids = _store_images(ctx, engine, result, project_id=project_id, name=request["prompt"][:60],
                        meta={"purpose": "image"}, parents=parents)
    return TaskOutcome(message=f"Made {len(ids)} image(s) in {result.seconds:.1f} s.", result={"asset_ids": ids},
                       output_asset_ids=ids)


def storyboard(ctx: JobContext, params: dict[str, Any]) -> TaskOutcome:
    engine = create_engine(ctx.store, "scene")
    project_id, script_id = int(params["project_id"]), int(params["script_id"])
    play = _scenes(ctx.store, script_id)
    base = dict(params.get("request") or {})
    seed = int(base.pop("seed", 0))
    done = script_assets(ctx.store, project_id, script_id, STORYBOARD) if params.get("missing_only") else {}
    ids = []
    n = len(play.scenes)
    for i, scene in enumerate(play.scenes):
        ctx.check()
        if scene.index in done:  # resuming: this scene already has a frame
            continue
        sub = ctx.sub(i / n, (i + 1) / n)
        sub.report(0.0, f"Scene {i + 1} of {n}: {scene.heading}")
        # No caption bar in the frame (caption=""): the animatic's pan and zoom would crop it, and the animatic
        # draws the heading itself; the gallery and the asset name carry it too.
        request = SceneRequest(prompt=_prompt_for(scene), caption="", characters=tuple(scene.characters),
                               seed=seed + scene.index, interior=scene.int_ext.startswith("INT") or None,
                               mood=params.get("mood"), **base)  # time of day: read from the heading
        result = engine.run(request, sub)
        ids += _store_images(ctx, engine, result, project_id=project_id, name=f"Storyboard {scene.index}: "
                             f"{scene.heading}"[:120],
                             meta={"purpose": STORYBOARD, "script_id": script_id, "scene_index": scene.index})
    kept = f", {len(done)} kept" if done else ""
    return TaskOutcome(message=f"Storyboard: {len(ids)} frame(s) for {n} scene(s){kept}.", result={"asset_ids": ids},
                       output_asset_ids=ids)


# --- audio -----------------------------------------------------------------------------------------------------
def _store_audio(ctx, engine, clip: AudioClip, *, project_id, name, meta, prompt=None, seed=None,
                 parameters=None, parents=()) -> int:
    with output_batch(ctx.store) as batch:
        stored = batch.put(clip.wav_bytes(), ".wav")
        shown = put(render(ctx.store, stored.path), batch.put)  # waveform poster and sheet
        ctx.check()
        with ctx.store.session() as s:
            asset_id = assets_repo.add_asset(
                session=s, project_id=project_id, stored=stored, kind=AssetKind.audio, name=name,
                mime="audio/wav", duration_s=clip.duration_s, meta=meta, parents=list(parents),
                created_by_id=ctx.created_by_id,
                provenance=provenance(engine, prompt=prompt, seed=seed, parameters=parameters)).id
            add_rows(session=s, project_id=project_id, parent_id=asset_id, name=name, previews=shown,
                     created_by_id=ctx.created_by_id)
            return asset_id


def music(ctx: JobContext, params: dict[str, Any]) -> TaskOutcome:
    engine = create_engine(ctx.store, "music")
    request = MusicRequest(**params["request"])
    result = engine.run(request, ctx.sub(0.0, 0.95))
    label = request.prompt or request.mood or "music bed"
    asset_id = _store_audio(ctx, engine, result.clip, project_id=int(params["project_id"]),
                            name=f"Music: {label}"[:120], meta={"purpose": MUSIC}, prompt=request.prompt,
                            seed=request.seed, parameters={**request_dict(request), **result.parameters})
    return TaskOutcome(message=f"Composed {result.clip.duration_s:.1f} s of music.", result={"asset_id": asset_id},
                       output_asset_ids=[asset_id])


def voice(ctx: JobContext, params: dict[str, Any]) -> TaskOutcome:
    engine = create_engine(ctx.store, "speech")
    request = SpeechRequest(**params["request"])
    result = engine.run(request, ctx.sub(0.0, 0.95))
    asset_id = _store_audio(ctx, engine, result.clip, project_id=int(params["project_id"]),
                            name=f"Voice: {request.text[:50]}", meta={"purpose": "voice"}, prompt=request.text,
                            seed=request.seed, parameters={**request_dict(request), **result.parameters})
    return TaskOutcome(message=f"Spoke {result.clip.duration_s:.1f} s.", result={"asset_id": asset_id},
                       output_asset_ids=[asset_id])


def voiceover(ctx: JobContext, params: dict[str, Any]) -> TaskOutcome:
    """One WAV per scene: the action read by the narrator, each dialogue line in its character's voice."""
    import numpy as np

    engine = create_engine(ctx.store, "speech")
    project_id, script_id = int(params["project_id"]), int(params["script_id"])
    play = _scenes(ctx.store, script_id)
    voices = assign_voices(list(play.characters), backend=engine.name, narrator="NARRATOR")
    narrator = params.get("narrator") or voices["NARRATOR"]
    rate = int(params.get("rate_wpm", 165))
    include_action = bool(params.get("narrate_action", True))
    done = script_assets(ctx.store, project_id, script_id, VOICEOVER) if params.get("missing_only") else {}
    ids, n = [], len(play.scenes)
    for i, scene in enumerate(play.scenes):
        ctx.check()
        if scene.index in done:  # resuming: this scene already has its voice-over
            continue
        sub = ctx.sub(i / n, (i + 1) / n)
        parts: list[tuple[str, str]] = []
        if include_action and scene.action_text.strip():
            parts.append(("NARRATOR", " ".join(scene.action_text.split())))
        parts += [(line.character, line.text) for line in scene.dialogue]
        if not parts:
            continue
        pieces, captions, t = [], [], 0.0
        rate_hz = 24000
        for j, (who, text) in enumerate(parts):
            sub.report(j / len(parts), f"Scene {scene.index}: {who.title()}")
            voice_id = narrator if who == "NARRATOR" else voices.get(who, narrator)
            kwargs = {"voice": voice_id} if engine.name == "lite" else {"preset": voice_id}
            out = engine.run(SpeechRequest(text=text, rate_wpm=rate, sample_rate=rate_hz,
                                           seed=int(params.get("seed", 0)), **kwargs), None)
            mono = out.clip.mono()
            for seg in out.segments:
                label = seg.text if who == "NARRATOR" else f"{who.title()}: {seg.text}"
                captions.append([round(t + seg.start_s, 3), round(t + seg.end_s, 3), label])
            pieces += [mono, np.zeros(int(0.35 * rate_hz), np.float32)]
            t += len(mono) / rate_hz + 0.35
        clip = AudioClip(np.concatenate(pieces), rate_hz)
        ids.append(_store_audio(ctx, engine, clip, project_id=project_id,
                                name=f"Voice-over {scene.index}: {scene.heading}"[:120],
                                meta={"purpose": VOICEOVER, "script_id": script_id, "scene_index": scene.index,
                                      "captions": captions},
                                prompt="\n".join(f"{w}: {x}" for w, x in parts),
                                parameters={"voices": {w: (narrator if w == "NARRATOR" else voices.get(w, narrator))
                                                       for w, _ in parts}, "rate_wpm": rate}))
    kept = f", {len(done)} kept" if done else ""
    return TaskOutcome(message=f"Voice-over for {len(ids)} scene(s){kept}.", result={"asset_ids": ids},
                       output_asset_ids=ids)


# --- the animatic ----------------------------------------------------------------------------------------------
def animatic(ctx: JobContext, params: dict[str, Any]) -> TaskOutcome:
    engine = create_engine(ctx.store, "animatic")
    project_id, script_id = int(params["project_id"]), int(params["script_id"])
    play = _scenes(ctx.store, script_id)
    frames = script_assets(ctx.store, project_id, script_id, STORYBOARD)
    missing = [sc.index for sc in play.scenes if sc.index not in frames]
    if missing:
        raise InvalidInput(f"Scenes {', '.join(map(str, missing))} have no storyboard frame yet: "
                           "generate the storyboard first.")
    speech = script_assets(ctx.store, project_id, script_id, VOICEOVER)
    media = ctx.store.media
    parents, scenes = [], []
    for sc in play.scenes:
        frame = frames[sc.index]
        parents.append((frame.id, "frame"))
        vo = speech.get(sc.index)
        captions: tuple = ()
        if vo is not None:
            parents.append((vo.id, "voiceover"))
            captions = tuple(Caption(float(a), float(b), str(txt)) for a, b, txt in (vo.meta or {}).get("captions", []))
        scenes.append(AnimaticScene(image=media.path_for(frame.content_hash, frame.ext), title=sc.heading,
                                    speech=media.path_for(vo.content_hash, vo.ext) if vo else None,
                                    captions=captions))
    music_path = None
    if params.get("music_asset_id"):
        with ctx.store.session() as s:
            bed = assets_repo.get_asset(session=s, asset_id=int(params["music_asset_id"]))
        music_path = media.path_for(bed.content_hash, bed.ext)
        parents.append((bed.id, "music"))
    work = Path(tempfile.mkdtemp(dir=ctx.store.settings.tmp_dir))
    out = work / "animatic.mp4"
    try:
        request = AnimaticRequest(scenes=tuple(scenes), out=out, music=music_path,
                                  burn_subtitles=bool(params.get("burn_subtitles", True)),
                                  width=int(params.get("width", 1280)), height=int(params.get("height", 720)),
                                  fps=int(params.get("fps", 24)))
        result = engine.run(request, ctx.sub(0.0, 0.95))
        with output_batch(ctx.store) as batch:
            video = batch.put_file(result.path, ext=".mp4")
            srt_path = out.with_suffix(".srt")
            srt = batch.put_file(srt_path, ext=".srt") if srt_path.exists() else None
            shown = put(render(ctx.store, video.path, ctx.sub(0.95, 0.99)), batch.put)
            with ctx.store.session() as s:
                title = f"Animatic: {play.title or 'script'}"
                a = assets_repo.add_asset(
                    session=s, project_id=project_id, stored=video, kind=AssetKind.video, name=f"{title}.mp4",
                    mime="video/mp4", duration_s=result.duration_s, width=request.width, height=request.height,
                    fps=float(request.fps), meta={"purpose": ANIMATIC, "script_id": script_id,
                                                  "scene_spans": result.scene_spans},
                    parents=parents, created_by_id=ctx.created_by_id,
                    provenance=provenance(engine, source="derived", parameters=result.parameters))
                ids = [a.id, *add_rows(session=s, project_id=project_id, parent_id=a.id, name=f"{title}.mp4",
                                       previews=shown, created_by_id=ctx.created_by_id)]
                if srt is not None:
                    ids.append(assets_repo.add_asset(
                        session=s, project_id=project_id, stored=srt, kind=AssetKind.subtitle,
                        name=f"{title}.srt", mime="application/x-subrip", parents=[(a.id, "subtitles")],
                        meta={"purpose": "subtitles", "script_id": script_id}, created_by_id=ctx.created_by_id,
                        provenance=provenance(engine, source="derived")).id)
    finally:
        for p in work.glob("*"):
            p.unlink(missing_ok=True)
        work.rmdir()
    return TaskOutcome(message=f"Animatic: {result.duration_s:.1f} s, {len(play.scenes)} scenes, rendered in "
                               f"{result.seconds:.1f} s.", result={"asset_id": ids[0]}, output_asset_ids=ids)


def request_dict(request) -> dict[str, Any]:
    d = request.as_dict() if hasattr(request, "as_dict") else dict(vars(request))
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in d.items()}


SPECS = [TaskSpec("scene_image", scene_image, title="Scene image"),
         TaskSpec("storyboard", storyboard, title="Storyboard"),
         TaskSpec("music", music, title="Music"), TaskSpec("voice", voice, title="Voice"),
         TaskSpec("voiceover", voiceover, title="Voice-over"),
         TaskSpec("animatic", animatic, title="Animatic")]
