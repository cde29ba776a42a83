"""Storyboard frames and scene images from a line of a script.

    result = REGISTRY.create().run(SceneRequest("EXT. HARBOUR - NIGHT — Mara waits by the water, tense",
                                                characters=("MARA", "JONAS"), seed=7), ctx)
    Path("frame.png").write_bytes(result.png(0))   # the picture with its generation parameters inside

Backends: ``lite`` (procedural storyboard renderer: NumPy + OpenCV + Pillow, CPU, no model) and ``neural``
(diffusers text-to-image / image-to-image, ``stabilityai/sd-turbo`` unless Settings name another model id or a
local folder; GPU lane). CLI: ``python -m engines.scene render "PROMPT" --out frame.png``.
"""
from __future__ import annotations

from ..registry import registry_for
from .lite import ProceduralRenderer, read_scene
from .pnginfo import parameters_text, png_bytes, read_parameters
from .types import SceneRequest, SceneResult

REGISTRY = registry_for("scene")
REGISTRY.register(
    "lite", ProceduralRenderer,
    description="Procedural storyboard frames from the scene's words: setting, time of day, mood palette and "
                "character silhouettes (CPU, no model, instant).",
)
REGISTRY.register(
    "neural", "engines.scene.neural:DiffusersRenderer",
    description="Diffusion text-to-image and image-to-image with diffusers (default stabilityai/sd-turbo, or a "
                "local model folder); fp16 on a GPU, float32 on the CPU.",
    requires=("diffusers", "torch", "transformers"),
)

__all__ = ["REGISTRY", "ProceduralRenderer", "SceneRequest", "SceneResult", "parameters_text", "png_bytes",
           "read_parameters", "read_scene"]
