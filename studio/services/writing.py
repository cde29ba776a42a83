"""Write-tab tasks: draft a screenplay (streamed into the row as it grows), rewrite a scene, write dialogue.
Every result is saved as a new script version, so nothing a person typed is ever overwritten."""
from __future__ import annotations

from typing import Any

from engines.errors import InvalidInput
from engines.script import DialogueRequest, DraftRequest, RewriteRequest, parse
from storage.repo import scripts as scripts_repo

from .outputs import create_engine
from .runner import JobContext, TaskOutcome, TaskSpec


def latest_text(store, script_id: int) -> str:
    with store.session() as s:
        version = scripts_repo.latest_version(session=s, script_id=script_id)
        return version.text if version else ""


def _save(ctx: JobContext, script_id: int, text: str, note: str) -> int:
    with ctx.store.session() as s:
        return scripts_repo.save_version(session=s, script_id=script_id, text=text, note=note,
                                         created_by_id=ctx.created_by_id).number


def draft(ctx: JobContext, params: dict[str, Any]) -> TaskOutcome:
    engine = create_engine(ctx.store, "script")
    request = DraftRequest(**params["request"])
    text = ""
    for text in engine.stream_draft(request, ctx):
        ctx.publish({"partial": text})
    ctx.check()
    screenplay = parse(text)
    version = _save(ctx, int(params["script_id"]), text, f"draft · {engine.name}")
    return TaskOutcome(
        message=f"Drafted {len(screenplay.scenes)} scenes (about {screenplay.total_seconds / 60:.1f} min), "
                f"saved as version {version}.",
        result={"text": text, "version": version, "backend": engine.name, "model_id": engine.config.model_id})


def rewrite(ctx: JobContext, params: dict[str, Any]) -> TaskOutcome:
    engine = create_engine(ctx.store, "script")
    script_id = int(params["script_id"])
    text = params.get("text") or latest_text(ctx.store, script_id)
    if not text.strip():
        raise InvalidInput("The script is empty: write or draft something first.")
    result = engine.rewrite(RewriteRequest(fountain=text, scene_index=int(params["scene_index"]),
                                           instruction=params.get("instruction", ""),
                                           seed=int(params.get("seed", 0))), ctx)
    version = _save(ctx, script_id, result.fountain, f"rewrite scene {params['scene_index']}: "
                                                     f"{params.get('instruction', '')}"[:200])
    return TaskOutcome(message=f"Rewrote scene {params['scene_index']}, saved as version {version}.",
                       result={"text": result.fountain, "version": version})


def dialogue(ctx: JobContext, params: dict[str, Any]) -> TaskOutcome:
    engine = create_engine(ctx.store, "script")
    characters = tuple(c.strip().upper() for c in params.get("characters", []) if c.strip())
    result = engine.dialogue(DialogueRequest(situation=params.get("situation", ""), characters=characters,
                                             lines=int(params.get("lines", 6)), seed=int(params.get("seed", 0))),
                             ctx)
    return TaskOutcome(message=f"Wrote {len(result.lines)} lines of dialogue.", result={"text": result.fountain})


SPECS = [TaskSpec("draft", draft, title="Draft"), TaskSpec("rewrite", rewrite, title="Scene rewrite"),
         TaskSpec("dialogue", dialogue, title="Dialogue")]
