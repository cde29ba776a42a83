"""Edit → Sound tasks: captions (transcribe, export edited cues, burn in), voice clean-up, stems and loudness.
Outputs are assets with provenance: subtitles as SRT/VTT (the cues also kept in the asset's meta so the table can
be edited and re-exported), sound as WAV, and — for a video source — the video with the new sound (picture
stream copied, not re-encoded)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from storage.models import AssetKind
from storage.repo import assets as assets_repo

from .editing import _cleanup, _scratch, named_errors, source_path
from .outputs import create_engine, output_batch, provenance
from .previews import add_rows, put, render
from .runner import JobContext, TaskOutcome, TaskSpec


def _prepare_audio(ctx: JobContext, batch, wav: Path) -> dict:
    """Store a WAV and its waveform previews (outside any database transaction: this takes a while)."""
    from engines.media import probe

    stored = batch.put_file(wav, ext=".wav")
    return {"stored": stored, "shown": put(render(ctx.store, stored.path), batch.put),
            "duration_s": probe(stored.path).duration_s}


def _audio_rows(ctx: JobContext, s, prepared: dict, *, source, label: str, purpose: str, engine, params: dict,
                role: str = "source", meta: dict | None = None) -> list[int]:
    """The rows of a prepared WAV made from ``source``: [asset id, preview ids...]."""
    row = assets_repo.add_asset(
        session=s, project_id=source.project_id, stored=prepared["stored"], kind=AssetKind.audio, name=label,
        mime="audio/wav", duration_s=prepared["duration_s"], meta={"purpose": purpose, **(meta or {})},
        parents=[(source.id, role)], created_by_id=ctx.created_by_id,
        provenance=provenance(engine, source="edited", parameters=params))
    return [row.id, *add_rows(session=s, project_id=source.project_id, parent_id=row.id, name=label,
                              previews=prepared["shown"], created_by_id=ctx.created_by_id)]


def _prepare_video(ctx: JobContext, batch, *, source_path: Path, wav: Path, out: Path):
    """The source video with ``wav`` as its sound (picture copied as it is), stored in the media store."""
    from engines.audio_io import read_wav
    from engines.media.mux import replace_audio

    clip = read_wav(wav)
    samples = clip.samples if clip.samples.shape[0] <= 2 else clip.samples.mean(axis=0, keepdims=True)
    replace_audio(source_path, samples, clip.sample_rate, out, ctx=ctx.sub(0.9, 0.97))
    return batch.put_file(out, ext=".mp4")


def _video_row(ctx: JobContext, s, stored, *, source, name: str, purpose: str, engine, params: dict) -> int:
    row = assets_repo.add_asset(
        session=s, project_id=source.project_id, stored=stored, kind=AssetKind.video, name=name,
        mime="video/mp4", duration_s=source.duration_s, width=source.width, height=source.height, fps=source.fps,
        meta={"purpose": purpose}, parents=[(source.id, "source")], created_by_id=ctx.created_by_id,
        provenance=provenance(engine, source="edited", parameters=params))
    return row.id


def _sound_outputs(ctx: JobContext, *, asset, path: Path, wav: Path, work: Path, suffix: str, purpose: str,
                   engine, params: dict, meta: dict) -> tuple[list[int], int | None]:
    """Store a processed WAV (and, for a video source, the video with it as its sound)."""
    with output_batch(ctx.store) as batch:
        audio = _prepare_audio(ctx, batch, wav)
        video = None
        if asset.kind == AssetKind.video:
            video = _prepare_video(ctx, batch, source_path=path, wav=wav, out=work / f"{_stem(asset.name)} "
                                                                                     f"({suffix}).mp4")
        with ctx.store.session() as s:
            ids = _audio_rows(ctx, s, audio, source=asset, label=wav.name, purpose=purpose, engine=engine,
                              params=params, meta=meta)
            video_id = None
            if video is not None:
                video_id = _video_row(ctx, s, video, source=asset, name=f"{_stem(asset.name)} ({suffix}).mp4",
                                      purpose=purpose, engine=engine, params=params)
                ids.append(video_id)
    return ids, video_id


def _stem(name: str) -> str:
    return Path(name).stem


def stems(ctx: JobContext, params: dict[str, Any]) -> TaskOutcome:
    from engines.audio.stems import StemsRequest

    asset, path = source_path(ctx, int(params["asset_id"]))
    engine = create_engine(ctx.store, "stems")
    work = _scratch(ctx)
    try:
        with named_errors(path, asset.name):
            result = engine.run(StemsRequest(media=path, out_dir=work), ctx.sub(0.0, 0.85))
        ids, shown = [], []
        with output_batch(ctx.store) as batch:
            prepared = []
            for name, wav in result.stems.items():
                ctx.check()
                prepared.append((name, result.labels.get(name, name), _prepare_audio(ctx, batch, wav)))
            with ctx.store.session() as s:
                for name, label, audio in prepared:
                    made = _audio_rows(ctx, s, audio, source=asset, label=f"{_stem(asset.name)} — {label}.wav",
                                       purpose="stem", engine=engine, role=f"stem:{name}",
                                       params={"model": result.model, "stem": name},
                                       meta={"stem": name, "labelled_lite": result.labelled_lite})
                    ids += made
                    shown.append({"label": label, "asset_id": made[0]})
    finally:
        _cleanup(work)
    kind = ("Lite split (harmonic/percussive + centre estimate — not a neural separation)"
            if result.labelled_lite else f"Demucs `{result.model}`")
    note = f"**{kind}** · {len(shown)} stems in {result.seconds:.1f} s." + "".join(f"\n- {n}" for n in result.notes)
    return TaskOutcome(message=f"Split into {len(shown)} stems.", result={"stems": shown, "note": note,
                                                                        "labelled_lite": result.labelled_lite},
                       output_asset_ids=ids)


def loudness(ctx: JobContext, params: dict[str, Any]) -> TaskOutcome:
    from engines.audio.loudness import LoudnessRequest

    asset, path = source_path(ctx, int(params["asset_id"]))
    engine = create_engine(ctx.store, "loudness")
    target, peak = float(params.get("target_lufs", -14.0)), float(params.get("true_peak_db", -1.0))
    work = _scratch(ctx)
    try:
        wav = work / f"{_stem(asset.name)} ({target:g} LUFS).wav"
        with named_errors(path, asset.name):
            result = engine.run(LoudnessRequest(media=path, out=wav, target_lufs=target, true_peak_db=peak),
                                ctx.sub(0.0, 0.8))
        metrics = {k: v for k, v in result.as_dict().items() if not isinstance(v, (list, tuple, dict)) and k != "out"}
        settings = {"target_lufs": target, "true_peak_db": peak}
        ids, video_id = _sound_outputs(ctx, asset=asset, path=path, wav=wav, work=work, suffix=f"{target:g} LUFS",
                                       purpose="loudness", engine=engine, params=settings, meta={"metrics": metrics})
    finally:
        _cleanup(work)
    return TaskOutcome(message=(f"Loudness {result.integrated_lufs:.1f} → {result.out_integrated_lufs:.1f} LUFS, "
                                f"true peak {result.out_true_peak_db:.1f} dBTP."),
                       result={"audio_id": ids[0], "video_id": video_id, "metrics": metrics}, output_asset_ids=ids)


def denoise(ctx: JobContext, params: dict[str, Any]) -> TaskOutcome:
    from engines.audio.denoise import DenoiseRequest

    asset, path = source_path(ctx, int(params["asset_id"]))
    engine = create_engine(ctx.store, "denoise")
    strength = float(params.get("strength", 1.0))
    work = _scratch(ctx)
    try:
        wav = work / f"{_stem(asset.name)} (cleaned).wav"
        with named_errors(path, asset.name):
            result = engine.run(DenoiseRequest(media=path, out=wav, strength=strength), ctx.sub(0.0, 0.85))
        metrics = {k: v for k, v in result.as_dict().items()
                   if isinstance(v, (int, float, str, bool)) and k not in ("out", "media")}
        settings = {"strength": strength}
        ids, video_id = _sound_outputs(ctx, asset=asset, path=path, wav=wav, work=work, suffix="cleaned",
                                       purpose="denoise", engine=engine, params=settings, meta={"metrics": metrics})
    finally:
        _cleanup(work)
    return TaskOutcome(message=f"Cleaned the voice ({engine.name}).",
                       result={"audio_id": ids[0], "video_id": video_id, "metrics": metrics}, output_asset_ids=ids)


def _clock(seconds: float) -> str:
    ms = int(round(max(0.0, seconds) * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    return f"{h:02d}:{m:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def _cue_rows(cues) -> list[dict[str, Any]]:
    return [{"start_s": c.start_s, "end_s": c.end_s, "start_tc": _clock(c.start_s), "end_tc": _clock(c.end_s),
             "text": c.text} for c in cues]


def _write_subtitles(ctx: JobContext, *, source_id: int, project_id: int, cues, name: str, engine_params: dict,
                     provenance_: dict, meta: dict, human_edit: dict | None = None) -> list[int]:
    """SRT and VTT files of ``cues`` as subtitle assets (cues kept in meta for editing)."""
    from engines.captions.formats import srt_text, vtt_text

    cue_meta = [c.as_dict() for c in cues]
    ids = []
    with output_batch(ctx.store) as batch:
        files = [(ext, batch.put(text.encode("utf-8"), ext)) for ext, text in ((".srt", srt_text(cues)),
                                                                              (".vtt", vtt_text(cues)))]
        with ctx.store.session() as s:
            for ext, stored in files:
                row = assets_repo.add_asset(
                    session=s, project_id=project_id, stored=stored, kind=AssetKind.subtitle, name=f"{name}{ext}",
                    mime="text/vtt" if ext == ".vtt" else "application/x-subrip",
                    duration_s=cues[-1].end_s if cues else 0.0,
                    meta={"purpose": "captions", "cues": cue_meta, **meta}, parents=[(source_id, "source")],
                    created_by_id=ctx.created_by_id, provenance={**provenance_, "parameters": engine_params})
                ids.append(row.id)
                if human_edit:
                    assets_repo.record_human_edit(session=s, asset_id=row.id, op="edit_captions", details=human_edit)
    return ids


def captions(ctx: JobContext, params: dict[str, Any]) -> TaskOutcome:
    from engines.captions import CaptionRequest
    from engines.captions.cues import cues_from_words

    asset, path = source_path(ctx, int(params["asset_id"]))
    engine = create_engine(ctx.store, "captions")
    language = params.get("language") or None
    with named_errors(path, asset.name):
        result = engine.run(CaptionRequest(media=path, language=language), ctx.sub(0.0, 0.9))
    cues = cues_from_words(result.words, duration_s=result.duration_s or None)
    if not cues:
        from engines.errors import InvalidMedia

        raise InvalidMedia(f"No speech was recognised in {asset.name}.")
    settings = {"language": result.language, "model": result.model, "rtf": round(result.rtf, 3)}
    ids = _write_subtitles(ctx, source_id=asset.id, project_id=asset.project_id, cues=cues,
                           name=f"{_stem(asset.name)} captions", engine_params=settings,
                           provenance_=provenance(engine, source="generated"),
                           meta={"language": result.language, "text": result.text})
    return TaskOutcome(message=(f"{len(cues)} captions from {result.duration_s:.0f} s of audio "
                                f"({result.model}, {result.rtf:.2f}× real time)."),
                       result={"subtitle_id": ids[0], "asset_ids": ids, "cues": _cue_rows(cues),
                               "text": result.text, "language": result.language}, output_asset_ids=ids)


def _edited_cues(ctx: JobContext, params: dict[str, Any]):
    """The source subtitle asset and the cues of the edited table (validated; errors name the row)."""
    from engines.captions.formats import cues_from_table

    sub, _ = source_path(ctx, int(params["subtitle_id"]))
    rows = params.get("rows") or []
    if not rows:
        from engines.errors import InvalidInput

        raise InvalidInput("The caption table is empty.")
    cues = cues_from_table(rows)
    before = [(c["start_s"], c["end_s"], c["text"]) for c in (sub.meta or {}).get("cues", [])]
    after = [(c.start_s, c.end_s, c.text) for c in cues]
    changed = [i + 1 for i, (a, b) in enumerate(zip(before, after)) if a != b] + \
        list(range(len(before) + 1, len(after) + 1))
    return sub, cues, ({"rows_changed": changed, "rows": len(after)} if changed or len(before) != len(after)
                       else None)


def captions_export(ctx: JobContext, params: dict[str, Any]) -> TaskOutcome:
    sub, cues, edit = _edited_cues(ctx, params)
    source_id = next((p.id for p in _parents(ctx, sub.id)), sub.id)
    ids = _write_subtitles(ctx, source_id=source_id, project_id=sub.project_id, cues=cues,
                           name=_stem(sub.name) + (" (edited)" if edit else ""),
                           engine_params={"from_subtitle_asset": sub.id},
                           provenance_={"source": "edited" if edit else "derived", "engine": "captions"},
                           meta={"language": (sub.meta or {}).get("language")}, human_edit=edit)
    return TaskOutcome(message=f"Exported {len(cues)} captions as SRT and VTT" + (" (with your edits)." if edit
                                                                                  else "."),
                       result={"asset_ids": ids}, output_asset_ids=ids)


def _parents(ctx: JobContext, asset_id: int):
    with ctx.store.session() as s:
        return list(assets_repo.get_asset(session=s, asset_id=asset_id).parents)


def captions_burn(ctx: JobContext, params: dict[str, Any]) -> TaskOutcome:
    from engines.captions.burn import burn_captions

    sub, cues, edit = _edited_cues(ctx, params)
    asset, path = source_path(ctx, int(params["source_id"]))
    if asset.kind != AssetKind.video:
        from engines.errors import InvalidInput

        raise InvalidInput(f"{asset.name} is not a video: captions can only be burned into a picture.")
    work = _scratch(ctx)
    try:
        out = work / f"{_stem(asset.name)} (captioned).mp4"
        with named_errors(path, asset.name):
            burn_captions(path, cues, out, ctx=ctx.sub(0.0, 0.85))
        with output_batch(ctx.store) as batch:
            stored = batch.put_file(out, ext=".mp4")
            shown = put(render(ctx.store, stored.path), batch.put)
            with ctx.store.session() as s:
                row = assets_repo.add_asset(
                    session=s, project_id=asset.project_id, stored=stored, kind=AssetKind.video, name=out.name,
                    mime="video/mp4", duration_s=asset.duration_s, width=asset.width, height=asset.height,
                    fps=asset.fps, meta={"purpose": "captions_burn"},
                    parents=[(asset.id, "source"), (sub.id, "subtitles")], created_by_id=ctx.created_by_id,
                    provenance={"source": "edited", "engine": "captions", "backend": "burn",
                                "parameters": {"cues": len(cues), "subtitle_asset": sub.id}})
                if edit:
                    assets_repo.record_human_edit(session=s, asset_id=row.id, op="edit_captions", details=edit)
                ids = [row.id, *add_rows(session=s, project_id=asset.project_id, parent_id=row.id, name=out.name,
                                         previews=shown, created_by_id=ctx.created_by_id)]
    finally:
        _cleanup(work)
    return TaskOutcome(message=f"Burned {len(cues)} captions into {asset.name}.", result={"asset_id": ids[0]},
                       output_asset_ids=ids)


SPECS = [TaskSpec("captions", captions, title="Captions"),
         TaskSpec("captions_export", captions_export, title="Export captions"),
         TaskSpec("captions_burn", captions_burn, title="Burn captions"),
         TaskSpec("denoise", denoise, title="Clean voice"), TaskSpec("stems", stems, title="Stems"),
         TaskSpec("loudness", loudness, title="Loudness")]
