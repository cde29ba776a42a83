"""Edit by transcript: transcribe a clip (words, speakers, fillers, retakes) into a stored transcript document,
then turn the words a person deleted into the same ``Timeline`` the rough cut makes (so EDL/FCPXML/OTIO/MP4 export
works unchanged) and record the deletions as human edits."""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from engines.errors import InvalidInput, InvalidMedia
from storage.models import AssetKind
from storage.repo import assets as assets_repo

from .editing import named_errors, source_path
from .outputs import create_engine, output_batch, provenance
from .runner import JobContext, TaskOutcome, TaskSpec

log = logging.getLogger("reelsmith.transcript")
ANALYSIS_FPS = 25.0


def _embed():
    """Sentence embeddings for retakes: the bundled MiniLM (analytics.embeddings), or None if it cannot load."""
    try:
        from analytics.embeddings import get_embedder

        model = get_embedder()
        return lambda texts: model.encode(list(texts))
    except Exception:  # noqa: BLE001 - retakes then use text similarity alone (said in the result)
        log.exception("MiniLM unavailable; retakes use text similarity only")
        return None


def _speakers(ctx: JobContext, path: Path, name: str, speakers: int | None) -> tuple[list, str]:
    from engines.transcript.diarize import DiarizeRequest

    engine = create_engine(ctx.store, "diarize")
    with named_errors(path, name):
        result = engine.run(DiarizeRequest(media=path, speakers=speakers), ctx.sub(0.55, 0.8))
    return [(t.start, t.end, t.speaker) for t in result.segments], engine.name


def analyse(ctx: JobContext, params: dict[str, Any]) -> TaskOutcome:
    """Transcribe (keeping fillers), find speakers, fillers, pauses and retakes; store the document as JSON."""
    from engines.captions import CaptionRequest
    from engines.transcript import (VERBATIM_PROMPT, EditSession, Transcript, energy_curve, find_fillers,
                                    find_retakes)

    asset, path = source_path(ctx, int(params["asset_id"]))
    # 1. Words (Whisper with a verbatim prompt so it writes "um" and "uh")
    captioner = create_engine(ctx.store, "captions")
    with named_errors(path, asset.name):
        words = captioner.run(CaptionRequest(media=path, language=params.get("language") or "en",
                                             initial_prompt=VERBATIM_PROMPT if params.get("verbatim", True) else None),
                              ctx.sub(0.0, 0.55))
    if not words.words:
        raise InvalidMedia(f"No speech was recognised in {asset.name}.")
    # 2. Speakers
    turns, diarizer = ([], None)
    if params.get("diarize", True):
        turns, diarizer = _speakers(ctx, path, asset.name, params.get("speakers"))
    doc = Transcript.from_captions(words, speakers=turns or None)
    # 3. Fillers, pauses, retakes
    ctx.report(0.82, "Looking for fillers, pauses and retakes")
    energy = energy_curve(path, ANALYSIS_FPS, ctx=ctx.sub(0.82, 0.9))
    fillers = find_fillers(doc.words, pause_s=float(params.get("pause_s", 0.6)), media_energy=(energy, ANALYSIS_FPS))
    ctx.check()
    embed = _embed()
    retakes = find_retakes(doc.sentence_spans(), embed=embed)
    speakers = sorted({w.speaker for w in doc.words if w.speaker})
    data = {"source_asset_id": asset.id, "transcript": doc.as_dict(), "session": EditSession(doc).as_dict(),
            "fillers": [f.as_dict() for f in fillers], "retakes": [r.as_dict() for r in retakes],
            "speaker_names": {s: s for s in speakers}, "model": words.model, "diarizer": diarizer,
            "retakes_by": "MiniLM + text" if embed else "text only"}
    # 4. Store
    with output_batch(ctx.store) as batch:
        stored = batch.put(json.dumps(data).encode(), ".json")
        with ctx.store.session() as s:
            row = assets_repo.add_asset(
                session=s, project_id=asset.project_id, stored=stored, kind=AssetKind.other,
                name=f"{Path(asset.name).stem} transcript.json", mime="application/json", duration_s=asset.duration_s,
                meta={"purpose": "transcript"}, parents=[(asset.id, "source")], created_by_id=ctx.created_by_id,
                provenance=provenance(captioner, source="derived", parameters={
                    "model": words.model, "diarizer": diarizer, "verbatim": bool(params.get("verbatim", True))}))
            tid = row.id
    kinds = {k: sum(f["kind"] == k for f in data["fillers"]) for k in ("filler", "pause", "unheard")}
    msg = (f"Transcript: {len(doc.words)} words, {len(speakers) or 1} speaker(s), {kinds['filler']} filler(s), "
           f"{kinds['pause']} long pause(s), {len(retakes)} retake(s).")
    return TaskOutcome(message=msg, result={"transcript_id": tid, **data}, output_asset_ids=[tid])


def load(store, transcript_id: int) -> dict[str, Any]:
    with store.session() as s:
        asset = assets_repo.get_asset(session=s, asset_id=transcript_id)
        path = store.media.path_for(asset.content_hash, asset.ext)
    return json.loads(path.read_text())


def cut(ctx: JobContext, params: dict[str, Any]) -> TaskOutcome:
    """The kept media of a transcript edit as a Timeline asset (same format as the rough cut)."""
    from engines.media import probe
    from engines.transcript import Transcript, energy_curve, plan_transcript_cut, to_timeline

    t_asset, t_path = source_path(ctx, int(params["transcript_id"]))
    data = json.loads(t_path.read_text())
    doc = Transcript.from_dict(data["transcript"])
    deleted = sorted({int(i) for i in params.get("deleted", [])})
    spans = [tuple(map(float, s)) for s in params.get("remove_spans", [])]
    if not deleted and not spans:
        raise InvalidInput("Nothing is marked for removal: strike words in the transcript first.")
    src, path = source_path(ctx, int(data["source_asset_id"]))
    info = probe(path)
    fps = float(info.fps or ANALYSIS_FPS)
    ctx.report(0.1, "Finding the quiet frames between words")
    energy = energy_curve(path, fps, ctx=ctx.sub(0.1, 0.7))
    kept = plan_transcript_cut(doc.words, deleted, duration=float(info.duration_s or doc.duration_s), fps=fps,
                               energy_db=energy, remove_spans=spans)
    if not kept:
        raise InvalidInput("That would remove everything: keep at least one word.")
    timeline = to_timeline(str(path), kept, name=f"Transcript cut of {Path(src.name).stem}", fps=fps,
                           width=int(info.width or 0), height=int(info.height or 0), words=doc.words)
    removed = [doc.words[i].text for i in deleted]
    edit = {"deleted_words": len(deleted), "removed_spans": len(spans), "excerpt": " ".join(removed[:30]),
            "kept_s": round(timeline.duration, 3)}
    with output_batch(ctx.store) as batch:
        stored = batch.put(json.dumps(timeline.as_dict(), indent=1).encode(), ".json")
        with ctx.store.session() as s:
            row = assets_repo.add_asset(
                session=s, project_id=src.project_id, stored=stored, kind=AssetKind.timeline,
                name=f"{timeline.name}.json", mime="application/json", duration_s=timeline.duration,
                meta={"purpose": "timeline", "source_asset_id": src.id, "transcript_id": t_asset.id},
                parents=[(src.id, "source"), (t_asset.id, "transcript")], created_by_id=ctx.created_by_id,
                provenance={"source": "edited", "engine": "transcript", "backend": "lite",
                            "parameters": {"deleted": deleted, "remove_spans": spans}})
            assets_repo.record_human_edit(session=s, asset_id=row.id, op="transcript_delete", details=edit)
            tid = row.id
    removed_s = float(info.duration_s or 0) - timeline.duration
    return TaskOutcome(message=(f"Transcript cut: keeps {timeline.duration:.1f} s in {len(timeline.clips)} clip(s), "
                                f"removes {removed_s:.1f} s ({len(deleted)} word(s))."),
                       result={"timeline_id": tid, "timeline": timeline.as_dict()}, output_asset_ids=[tid])


SPECS = [TaskSpec("transcript", analyse, title="Transcript"), TaskSpec("transcript_cut", cut, title="Transcript cut")]
