"""Animatic: a storyboard video from stills, voice-over, captions and a music bed.

    request = AnimaticRequest(scenes=(AnimaticScene(Path("1.png"), speech=Path("1.wav"),
                                                    captions=(Caption(0.6, 3.0, "Hello"),)), ...),
                              out=Path("film.mp4"), music=Path("bed.wav"))
    result = REGISTRY.create().run(request, ctx)      # result.path, result.scene_spans, result.srt

Backends: ``lite`` (PyAV + OpenCV + Pillow + numpy/scipy, CPU). CLI: ``python -m engines.animatic render SPEC.json
--out film.mp4``.
"""
from __future__ import annotations

from ..registry import registry_for
from .types import AnimaticRequest, AnimaticResult, AnimaticScene, Caption

REGISTRY = registry_for("animatic")
REGISTRY.register(
    "lite", "engines.animatic.lite:AnimaticRenderer",
    description="Ken Burns moves over stills, crossfades, burnt-in captions and music ducked under the voice; "
                "H.264/AAC MP4 (CPU, no model).",
)



def __getattr__(name: str):
    if name == "AnimaticRenderer":  # imported on first use: it pulls in PyAV, OpenCV and scipy
        from .lite import AnimaticRenderer

        return AnimaticRenderer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["REGISTRY", "AnimaticRenderer", "AnimaticRequest", "AnimaticResult", "AnimaticScene", "Caption"]
