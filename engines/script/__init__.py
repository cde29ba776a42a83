"""Screenplays: Fountain parsing and scene breakdown, drafting from a logline, scene rewrites, dialogue.

    from engines.script import REGISTRY, DraftRequest, parse
    writer = REGISTRY.create()                       # "lite": seeded beat-sheet generator, no model
    result = writer.draft(DraftRequest(logline="A retired lighthouse keeper must stop a smuggling ring.",
                                       genre="thriller", tone="tense", scenes=5, seed=1), ctx)
    play = parse(result.fountain)                    # scenes, characters, dialogue, screen time

Backends: ``lite`` (CPU, deterministic per seed) and ``neural`` (a causal LM through transformers, e.g.
``HuggingFaceTB/SmolLM2-360M-Instruct`` or a local folder). Both have ``draft``, ``stream_draft``, ``rewrite``,
``dialogue`` and ``run`` (dispatching on the request type). CLI: ``python -m engines.script breakdown FILE --json``
and ``python -m engines.script draft --logline "..."``.
"""
from __future__ import annotations

from ..registry import registry_for
from .fountain import (DialogueLine, Element, Scene, Screenplay, breakdown, format_cue, format_heading, parse,
                       replace_scene, scene_to_fountain, to_fountain)
from .lite import LiteWriter, dialogue_fountain
from .types import (DEFAULT_MODEL_ID, Beat, DialogueRequest, DialogueResult, DraftRequest, DraftResult,
                    RewriteRequest, RewriteResult, subtitle_chunks)

REGISTRY = registry_for("script")
REGISTRY.register(
    "lite", LiteWriter,
    description="Seeded beat-sheet screenplay writer with genre and tone grammars (CPU, no model, instant).",
)
REGISTRY.register(
    "neural", "engines.script.neural:TransformersWriter",
    description=f"A chat language model through transformers (default suggestion {DEFAULT_MODEL_ID}, or a "
                "local folder); streams Fountain as it writes.",
    requires=("transformers", "torch"),
)

__all__ = ["REGISTRY", "DEFAULT_MODEL_ID", "LiteWriter", "parse", "to_fountain", "replace_scene", "breakdown",
           "scene_to_fountain", "format_cue", "format_heading", "dialogue_fountain", "subtitle_chunks",
           "Element", "DialogueLine", "Scene", "Screenplay", "DraftRequest", "DraftResult", "Beat",
           "RewriteRequest", "RewriteResult", "DialogueRequest", "DialogueResult"]
